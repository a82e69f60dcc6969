//! What a region offers and who delivers it: regions (read), service kinds and teams (managed by
//! the region's coordinators).

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::{etag, RegionView, ServiceKindView, TeamView};
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{IfMatch, Principal, ValidJson};
use crate::api::AppState;
use crate::db::catalog::{self, NewServiceKind, NewTeam, ServiceKindChanges, TeamChanges};
use crate::db::{self, accounts, DbError};
use crate::domain::ErrorCode;
use crate::domain::{
    bounded_text, skill_set, slug, Coordinates, Invalid, Role, VehicleProfile, WeeklyShiftPattern,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegionQuery {
    /// The region; coordinators may omit it (their own), citizens and admins must give it.
    pub region_id: Option<i64>,
}

fn not_found(what: &'static str) -> impl FnOnce(DbError) -> ApiError {
    move |e| match e {
        DbError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

/// Regions (any signed-in caller: citizens pick theirs).
#[utoipa::path(tag = "catalog", responses((status = 200, body = Vec<RegionView>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/regions")]
pub async fn list_regions(
    state: web::Data<AppState>,
    _who: Principal,
) -> Result<HttpResponse, ApiError> {
    let rows = state.db.read(catalog::regions_all).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(RegionView::from).collect::<Vec<_>>()))
}

/// Service kinds of a region. Citizens see the active ones; staff see all.
#[utoipa::path(
    tag = "catalog",
    params(RegionQuery),
    responses((status = 200, body = Vec<ServiceKindView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/service-kinds")]
pub async fn list_service_kinds(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<RegionQuery>,
) -> Result<HttpResponse, ApiError> {
    let region_id = match who.role {
        Role::Citizen => query.region_id.ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidQuery, "give region_id").with_field("region_id")
        })?,
        Role::Officer => who.region_id.ok_or_else(ApiError::forbidden)?,
        _ => who.managed_region(query.region_id)?,
    };
    let rows = state
        .db
        .read(move |conn| catalog::service_kinds_of_region(conn, region_id))
        .await?;
    let only_active = who.role == Role::Citizen;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .filter(|k| k.active || !only_active)
            .map(ServiceKindView::from)
            .collect::<Vec<_>>(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceKind {
    /// Admins only; coordinators create in their own region.
    #[serde(default)]
    pub region_id: Option<i64>,
    /// Stable code, e.g. `ktp_elderly` (a-z, 0-9, `_`, `-`).
    pub code: String,
    pub name_id: String,
    pub name_en: String,
    /// 5..=480 minutes on site.
    pub default_duration_minutes: i32,
    /// The skill a team needs to deliver it.
    #[serde(default)]
    pub required_skill: Option<String>,
}

fn duration(field: &str, minutes: i32) -> Result<i32, Invalid> {
    if (5..=480).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(Invalid::new(
            field,
            ErrorCode::OutOfRange,
            "must be between 5 and 480 minutes",
        ))
    }
}

/// Add a service kind to the region.
#[utoipa::path(
    tag = "catalog",
    request_body = CreateServiceKind,
    responses((status = 201, body = ServiceKindView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/service-kinds")]
pub async fn create_service_kind(
    state: web::Data<AppState>,
    who: Principal,
    body: ValidJson<CreateServiceKind>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let region_id = who.managed_region(b.region_id)?;
    let now = db::now();
    let new = NewServiceKind {
        region_id,
        code: slug("code", &b.code)?,
        name_id: bounded_text("name_id", &b.name_id, 1, 120)?,
        name_en: bounded_text("name_en", &b.name_en, 1, 120)?,
        default_duration_minutes: duration("default_duration_minutes", b.default_duration_minutes)?,
        required_skill: b
            .required_skill
            .as_deref()
            .map(|s| slug("required_skill", s))
            .transpose()?,
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = who.actor();
    let row = state
        .db
        .write(move |conn| {
            catalog::region_find(conn, region_id)?;
            catalog::service_kind_insert(conn, &actor, new)
        })
        .await
        .map_err(|e| match e {
            DbError::NotFound => {
                Invalid::new("region_id", ErrorCode::UnknownReference, "no such region").into()
            }
            other => ApiError::from(other),
        })?;
    Ok(HttpResponse::Created()
        .insert_header(etag(row.version))
        .json(ServiceKindView::from(row)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateServiceKind {
    pub name_id: Option<String>,
    pub name_en: Option<String>,
    pub default_duration_minutes: Option<i32>,
    /// `null` removes the requirement.
    #[serde(default, deserialize_with = "crate::api::extract::double_option")]
    #[schema(value_type = Option<String>)]
    pub required_skill: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Change a service kind.
#[utoipa::path(
    tag = "catalog",
    params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = UpdateServiceKind,
    responses((status = 200, body = ServiceKindView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 428, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/service-kinds/{id}")]
pub async fn update_service_kind(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    version: IfMatch,
    body: ValidJson<UpdateServiceKind>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let id = path.into_inner();
    let b = body.0;
    let changes = ServiceKindChanges {
        name_id: b
            .name_id
            .as_deref()
            .map(|s| bounded_text("name_id", s, 1, 120))
            .transpose()?,
        name_en: b
            .name_en
            .as_deref()
            .map(|s| bounded_text("name_en", s, 1, 120))
            .transpose()?,
        default_duration_minutes: b
            .default_duration_minutes
            .map(|m| duration("default_duration_minutes", m))
            .transpose()?,
        required_skill: b
            .required_skill
            .map(|inner| {
                inner
                    .as_deref()
                    .map(|s| slug("required_skill", s))
                    .transpose()
            })
            .transpose()?,
        active: b.active,
    };
    let existing = state
        .db
        .read(move |conn| catalog::service_kind_find(conn, id))
        .await
        .map_err(not_found("service kind"))?;
    if !who.sees_region(existing.region_id) {
        return Err(ApiError::not_found("service kind"));
    }
    let actor = who.actor();
    let row = state
        .db
        .write(move |conn| catalog::service_kind_update(conn, &actor, id, version.0, changes))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(row.version))
        .json(ServiceKindView::from(row)))
}

/// Teams of the region (coordinators, admins).
#[utoipa::path(
    tag = "catalog",
    params(RegionQuery),
    responses((status = 200, body = Vec<TeamView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/teams")]
pub async fn list_teams(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<RegionQuery>,
) -> Result<HttpResponse, ApiError> {
    let region_id = who.managed_region(query.region_id)?;
    let rows = state
        .db
        .read(move |conn| catalog::teams_of_region(conn, region_id))
        .await?;
    let views = rows
        .into_iter()
        .map(|t| TeamView::from_row(t, None))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    /// Admins only.
    #[serde(default)]
    pub region_id: Option<i64>,
    pub name: String,
    /// Where the team starts and ends its day.
    pub depot: Coordinates,
    pub vehicle_profile: VehicleProfile,
    #[serde(default)]
    pub skills: Vec<String>,
    /// Weekly pattern; omitted means the standard civil-service week (Mon-Thu 08:00-15:00,
    /// Fri 08:00-15:30 with a 90-minute Friday-prayer break).
    #[serde(default)]
    pub shifts: Option<WeeklyShiftPattern>,
    /// 1..=60.
    pub max_visits_per_day: i32,
}

fn max_visits(v: i32) -> Result<i32, Invalid> {
    if (1..=60).contains(&v) {
        Ok(v)
    } else {
        Err(Invalid::new(
            "max_visits_per_day",
            ErrorCode::OutOfRange,
            "must be between 1 and 60",
        ))
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

/// Create a team.
#[utoipa::path(
    tag = "catalog",
    request_body = CreateTeam,
    responses((status = 201, body = TeamView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/teams")]
pub async fn create_team(
    state: web::Data<AppState>,
    who: Principal,
    body: ValidJson<CreateTeam>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let region_id = who.managed_region(b.region_id)?;
    let depot = Coordinates::parse(b.depot.lat, b.depot.lon).map_err(|e| e.within("depot"))?;
    let shifts = b
        .shifts
        .unwrap_or_else(WeeklyShiftPattern::standard_civil_service)
        .validate("shifts")?;
    let now = db::now();
    let new = NewTeam {
        region_id,
        name: bounded_text("name", &b.name, 1, 100)?,
        depot_lat: depot.lat,
        depot_lon: depot.lon,
        vehicle_profile: b.vehicle_profile.as_str().into(),
        skills: to_json(&skill_set("skills", &b.skills)?)?,
        shift_pattern: to_json(&shifts)?,
        max_visits_per_day: max_visits(b.max_visits_per_day)?,
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = who.actor();
    let row = state
        .db
        .write(move |conn| {
            catalog::region_find(conn, region_id)?;
            catalog::team_insert(conn, &actor, new)
        })
        .await
        .map_err(|e| match e {
            DbError::NotFound => {
                Invalid::new("region_id", ErrorCode::UnknownReference, "no such region").into()
            }
            other => ApiError::from(other),
        })?;
    Ok(HttpResponse::Created()
        .insert_header(etag(row.version))
        .json(TeamView::from_row(row, Some(Vec::new()))?))
}

pub(crate) async fn visible_team(
    state: &AppState,
    who: &Principal,
    id: i64,
) -> Result<catalog::TeamRow, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let team = state
        .db
        .read(move |conn| catalog::team_find(conn, id))
        .await
        .map_err(not_found("team"))?;
    if who.sees_region(team.region_id) {
        Ok(team)
    } else {
        Err(ApiError::not_found("team"))
    }
}

/// One team with its members.
#[utoipa::path(
    tag = "catalog",
    params(("id" = i64, Path)),
    responses((status = 200, body = TeamView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/teams/{id}")]
pub async fn get_team(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let team = visible_team(&state, &who, path.into_inner()).await?;
    let id = team.id;
    let members = state
        .db
        .read(move |conn| catalog::team_members(conn, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(team.version))
        .json(TeamView::from_row(team, Some(members))?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    pub name: Option<String>,
    pub depot: Option<Coordinates>,
    pub vehicle_profile: Option<VehicleProfile>,
    pub skills: Option<Vec<String>>,
    pub shifts: Option<WeeklyShiftPattern>,
    pub max_visits_per_day: Option<i32>,
    pub active: Option<bool>,
}

/// Change a team: name, depot, vehicle, skills, weekly shifts and breaks, limits, active.
#[utoipa::path(
    tag = "catalog",
    params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = UpdateTeam,
    responses((status = 200, body = TeamView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 428, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/teams/{id}")]
pub async fn update_team(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    version: IfMatch,
    body: ValidJson<UpdateTeam>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let depot = b
        .depot
        .map(|d| Coordinates::parse(d.lat, d.lon).map_err(|e| e.within("depot")))
        .transpose()?;
    let changes = TeamChanges {
        name: b
            .name
            .as_deref()
            .map(|n| bounded_text("name", n, 1, 100))
            .transpose()?,
        depot_lat: depot.map(|d| d.lat),
        depot_lon: depot.map(|d| d.lon),
        vehicle_profile: b.vehicle_profile.map(|v| v.as_str().to_string()),
        skills: b
            .skills
            .as_deref()
            .map(|s| skill_set("skills", s))
            .transpose()?
            .map(|s| to_json(&s))
            .transpose()?,
        shift_pattern: b
            .shifts
            .map(|s| s.validate("shifts"))
            .transpose()?
            .map(|s| to_json(&s))
            .transpose()?,
        max_visits_per_day: b.max_visits_per_day.map(max_visits).transpose()?,
        active: b.active,
    };
    let team = visible_team(&state, &who, path.into_inner()).await?;
    let (id, actor) = (team.id, who.actor());
    let row = state
        .db
        .write(move |conn| catalog::team_update(conn, &actor, id, version.0, changes))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(row.version))
        .json(TeamView::from_row(row, None)?))
}

/// Add an officer of the region to the team (idempotent).
#[utoipa::path(
    tag = "catalog",
    params(("id" = i64, Path), ("account_id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/teams/{id}/members/{account_id}")]
pub async fn add_member(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (team_id, account_id) = path.into_inner();
    let team = visible_team(&state, &who, team_id).await?;
    let actor = who.actor();
    let outcome = state
        .db
        .write(move |conn| {
            let account = match accounts::find(conn, account_id) {
                Ok(a) => a,
                Err(DbError::NotFound) => return Ok(false),
                Err(e) => return Err(e),
            };
            if account.role != Role::Officer || account.region_id != Some(team.region_id) {
                return Ok(false);
            }
            catalog::team_member_add(conn, &actor, &team, account_id)?;
            Ok(true)
        })
        .await?;
    if !outcome {
        return Err(Invalid::new(
            "account_id",
            ErrorCode::UnknownReference,
            "no officer with this id in the team's region",
        )
        .into());
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a member from the team.
#[utoipa::path(
    tag = "catalog",
    params(("id" = i64, Path), ("account_id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/teams/{id}/members/{account_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (team_id, account_id) = path.into_inner();
    let team = visible_team(&state, &who, team_id).await?;
    let actor = who.actor();
    state
        .db
        .write(move |conn| catalog::team_member_remove(conn, &actor, &team, account_id))
        .await
        .map_err(not_found("team member"))?;
    Ok(HttpResponse::NoContent().finish())
}
