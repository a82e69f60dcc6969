//! Admins create regions and staff accounts, deactivate and reactivate accounts (staff and
//! citizens), and reset staff passwords.

use crate::workflow::accounts as account_admin;
use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::RegionView;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{Principal, ValidJson};
use crate::api::AppState;
use crate::db::accounts::NewAccount;
use crate::db::catalog::{self, NewRegion};
use crate::db::{self, accounts, DbError};
use crate::domain::ErrorCode;
use crate::domain::{
    bounded_text, new_password, time_zone, username, Boundary, Invalid, Language, Role,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRegion {
    pub name: String,
    /// IANA zone: Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT).
    pub time_zone: String,
    /// GeoJSON Polygon or MultiPolygon (bare, Feature or FeatureCollection). Requests pinned
    /// outside it are refused.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<serde_json::Value>,
}

/// Create a region.
#[utoipa::path(
    tag = "admin",
    request_body = CreateRegion,
    responses((status = 201, body = RegionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/admin/regions")]
pub async fn create_region(
    state: web::Data<AppState>,
    who: Principal,
    body: ValidJson<CreateRegion>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Admin])?;
    let b = body.0;
    let name = bounded_text("name", &b.name, 2, 120)?;
    let tz = time_zone(&b.time_zone)?;
    let boundary = match b.boundary {
        Some(value) => {
            let text = value.to_string();
            if text.len() > 2_000_000 {
                return Err(
                    Invalid::new("boundary", ErrorCode::TooLong, "simplify the boundary").into(),
                );
            }
            Boundary::parse("boundary", &text)?;
            Some(text)
        }
        None => None,
    };
    let new = NewRegion {
        name,
        time_zone: tz.name().to_string(),
        boundary_geojson: boundary,
        created_at: db::now(),
    };
    let actor = who.actor();
    let row = state
        .db
        .write(move |conn| catalog::region_insert(conn, &actor, new))
        .await?;
    Ok(HttpResponse::Created().json(RegionView::from(row)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    /// officer, coordinator or admin.
    pub role: Role,
    /// Required for officers and coordinators.
    #[serde(default)]
    pub region_id: Option<i64>,
    pub username: String,
    /// 10-128 characters.
    pub password: String,
    pub display_name: String,
    #[serde(default)]
    pub language: Option<Language>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct StaffView {
    pub id: i64,
    pub role: Role,
    pub region_id: Option<i64>,
    pub username: String,
    pub display_name: String,
}

/// Create a staff account.
#[utoipa::path(
    tag = "admin",
    request_body = CreateStaff,
    responses((status = 201, body = StaffView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/admin/accounts")]
pub async fn create_staff(
    state: web::Data<AppState>,
    who: Principal,
    body: ValidJson<CreateStaff>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Admin])?;
    let b = body.0;
    if b.role == Role::Citizen {
        return Err(Invalid::new(
            "role",
            ErrorCode::InvalidFormat,
            "citizens sign up by phone, not here",
        )
        .into());
    }
    let region_id = match (b.role, b.region_id) {
        (Role::Admin, _) => None,
        (_, Some(r)) => Some(r),
        (_, None) => {
            return Err(Invalid::new(
                "region_id",
                ErrorCode::Required,
                "officers and coordinators belong to a region",
            )
            .into())
        }
    };
    let username = username(&b.username)?;
    let password = new_password(&b.password)?;
    let display_name = bounded_text("display_name", &b.display_name, 1, 100)?;
    let hash = state.hashing.hash(password).await?;
    let new = NewAccount {
        role: b.role,
        region_id,
        phone: None,
        username: Some(username),
        password_hash: Some(hash),
        display_name,
        language: b.language.unwrap_or(Language::Id),
        active: true,
        created_at: db::now(),
    };
    let actor = who.actor();
    let row = state
        .db
        .write(move |conn| {
            if let Some(r) = region_id {
                catalog::region_find(conn, r)?;
            }
            accounts::insert(conn, &actor, new)
        })
        .await
        .map_err(|e| match e {
            DbError::NotFound => {
                Invalid::new("region_id", ErrorCode::UnknownReference, "no such region").into()
            }
            DbError::Duplicate(_) => {
                ApiError::new(ErrorCode::AlreadyExists, "this username is taken")
                    .with_field("username")
            }
            other => ApiError::from(other),
        })?;
    Ok(HttpResponse::Created().json(StaffView {
        id: row.id,
        role: b.role,
        region_id: row.region_id,
        username: row.username.unwrap_or_default(),
        display_name: row.display_name,
    }))
}

/// An account's standing after an administrator changed it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AccountStatusView {
    pub id: i64,
    pub role: Role,
    pub region_id: Option<i64>,
    pub active: bool,
}

impl From<accounts::AccountRow> for AccountStatusView {
    fn from(row: accounts::AccountRow) -> Self {
        Self {
            id: row.id,
            role: row.role,
            region_id: row.region_id,
            active: row.active,
        }
    }
}

async fn set_active(
    state: &AppState,
    who: &Principal,
    id: i64,
    active: bool,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Admin])?;
    let row = account_admin::set_active(&state.db, who.actor(), id, active)
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("account"),
            other => other.into(),
        })?;
    state.sessions.forget(id);
    Ok(HttpResponse::Ok().json(AccountStatusView::from(row)))
}

/// Deactivate an account (staff or citizen): it can no longer sign in, its refresh tokens are
/// revoked and its access tokens stop working within `auth.session_cache_ms`. Idempotent.
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = AccountStatusView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "invalid_state: an admin's own account", body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/admin/accounts/{id}/deactivate")]
pub async fn deactivate_account(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    set_active(&state, &who, id.into_inner(), false).await
}

/// Reactivate a deactivated account. Idempotent.
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = AccountStatusView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/admin/accounts/{id}/reactivate")]
pub async fn reactivate_account(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    set_active(&state, &who, id.into_inner(), true).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// 10-128 characters.
    pub password: String,
}

/// Set a staff member's password; every session of theirs ends.
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    request_body = PasswordReset,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "invalid_state: a citizen's account", body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/admin/accounts/{id}/password")]
pub async fn reset_password(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: ValidJson<PasswordReset>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Admin])?;
    let id = id.into_inner();
    let password = new_password(&body.0.password)?;
    let hash = state.hashing.hash(password).await?;
    account_admin::set_password(&state.db, who.actor(), id, hash, None)
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("account"),
            other => other.into(),
        })?;
    state.sessions.forget(id);
    Ok(HttpResponse::NoContent().finish())
}
