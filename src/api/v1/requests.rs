//! Visit requests: citizens create and change their own; coordinators list and read their
//! region's, with the event history.

use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::views::{etag, EventView, VisitRequestPage, VisitRequestView};
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{IdempotencyKey, IfMatch, Principal, ValidJson};
use crate::api::AppState;
use crate::db::catalog::{RegionRow, ServiceKindRow};
use crate::db::requests::{self, Created, NewRequest, RequestChange, RequestFilter};
use crate::db::{self, catalog, events, DbError};
use crate::domain::ErrorCode;
use crate::domain::{
    bounded_text, AccessibilityNeed, BoundaryCache, Coordinates, Invalid, PreferredWindow,
    Priority, RequestStatus, Role,
};
use crate::push::messages::JemputNotices;
use crate::workflow;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVisitRequest {
    pub region_id: i64,
    pub service_kind_id: i64,
    /// The map pin: where the team should come.
    pub location: Coordinates,
    /// Address as the citizen would tell it (street, RT/RW, dusun, landmarks); 5-300 characters.
    pub address: String,
    /// Anything the team should know; at most 1000 characters.
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub accessibility_needs: Vec<AccessibilityNeed>,
    /// First day the visit may happen (region's calendar); not in the past.
    pub earliest_date: NaiveDate,
    /// Last day; not before `earliest_date`, at most a year ahead.
    pub deadline: NaiveDate,
    /// Days (and parts of days) that suit; each within earliest_date..deadline.
    #[serde(default)]
    pub preferred_windows: Vec<PreferredWindow>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why (optional, at most 300 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferredWindowsChange {
    pub preferred_windows: Vec<PreferredWindow>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityChange {
    pub priority: Priority,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    /// Admins only: the region to list (coordinators always see their own).
    pub region_id: Option<i64>,
    /// Comma-separated statuses, e.g. `submitted,scheduled`.
    pub status: Option<String>,
    pub service_kind_id: Option<i64>,
    /// Comma-separated priorities, e.g. `urgent,high`.
    pub priority: Option<String>,
    /// Requests whose allowed dates reach this day or later.
    pub from: Option<NaiveDate>,
    /// Requests whose allowed dates start this day or earlier.
    pub to: Option<NaiveDate>,
    /// `min_lon,min_lat,max_lon,max_lat`.
    pub bbox: Option<String>,
    /// 1..=200, default 50.
    pub limit: Option<i64>,
    /// Default 0.
    pub offset: Option<i64>,
}

fn today_in(time_zone: &str) -> Result<NaiveDate, ApiError> {
    let tz: chrono_tz::Tz = time_zone
        .parse()
        .map_err(|_| ApiError::internal(format!("stored zone {time_zone} unknown")))?;
    Ok(chrono::Utc::now().with_timezone(&tz).date_naive())
}

/// Checks the dates against today in the region's zone: no past days, deadline after start,
/// at most a year ahead.
fn check_dates(earliest: NaiveDate, deadline: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    if earliest < today {
        return Err(Invalid::new(
            "earliest_date",
            ErrorCode::DateInPast,
            "must be today or later (in the region's time zone)",
        ));
    }
    if deadline < earliest {
        return Err(Invalid::new(
            "deadline",
            ErrorCode::DeadlineBeforeEarliest,
            "must not be before earliest_date",
        ));
    }
    if deadline > today + chrono::Duration::days(365) {
        return Err(Invalid::new(
            "deadline",
            ErrorCode::TooFarAhead,
            "must be within a year",
        ));
    }
    Ok(())
}

fn not_found_as_field(field: &'static str, what: &'static str) -> impl FnOnce(DbError) -> ApiError {
    move |e| match e {
        DbError::NotFound => ApiError::from(Invalid::new(
            field,
            ErrorCode::UnknownReference,
            format!("no such {what}"),
        )),
        other => other.into(),
    }
}

/// A new request, parsed, waiting for the checks that need its region and service kind.
struct Admission {
    citizen_id: i64,
    location: Coordinates,
    address: String,
    notes: Option<String>,
    needs: Vec<AccessibilityNeed>,
    earliest_date: NaiveDate,
    deadline: NaiveDate,
    preferred_windows: Vec<PreferredWindow>,
    idempotency_key: Option<String>,
    fingerprint: String,
}

impl Admission {
    /// The row to store, once the service kind belongs to the region and is active, the pin is
    /// inside the region's boundary, and the dates suit the region's calendar.
    fn admit(
        self,
        boundaries: &BoundaryCache,
        region: RegionRow,
        kind: Option<ServiceKindRow>,
    ) -> Result<NewRequest, ApiError> {
        let kind = kind.filter(|k| k.active).ok_or_else(|| {
            Invalid::new(
                "service_kind_id",
                ErrorCode::UnknownReference,
                "no such service in this region",
            )
        })?;
        if let Some(geojson) = &region.boundary_geojson {
            let boundary = boundaries
                .get(region.id, geojson)
                .map_err(|e| ApiError::internal(format!("stored boundary: {e}")))?;
            if !boundary.contains(self.location) {
                return Err(Invalid::new(
                    "location",
                    ErrorCode::OutsideRegion,
                    "the pin is outside the region's boundary",
                )
                .into());
            }
        }
        check_dates(
            self.earliest_date,
            self.deadline,
            today_in(&region.time_zone)?,
        )?;
        let windows = PreferredWindow::validate_all(
            "preferred_windows",
            self.preferred_windows,
            self.earliest_date,
            self.deadline,
        )?;
        // Bedridden citizens cannot wait long: they start one step up.
        let priority = if self.needs.contains(&AccessibilityNeed::Bedridden) {
            Priority::High
        } else {
            Priority::Normal
        };
        let now = db::now();
        Ok(NewRequest {
            citizen_id: self.citizen_id,
            region_id: region.id,
            service_kind_id: kind.id,
            lat: self.location.lat,
            lon: self.location.lon,
            address: self.address,
            notes: self.notes,
            accessibility_needs: serde_json::to_string(&self.needs).map_err(ApiError::internal)?,
            priority,
            earliest_date: self.earliest_date,
            deadline: self.deadline,
            preferred_windows: serde_json::to_string(&windows).map_err(ApiError::internal)?,
            status: RequestStatus::Submitted,
            version: 1,
            idempotency_fingerprint: self.idempotency_key.as_ref().map(|_| self.fingerprint),
            idempotency_key: self.idempotency_key,
            created_at: now,
            updated_at: now,
        })
    }
}

/// Request a visit.
///
/// Send an `Idempotency-Key` (e.g. a UUID made when the citizen pressed "send"): retrying with the
/// same key and body returns the first result (with `Idempotent-Replayed: true`), never a duplicate.
#[utoipa::path(
    tag = "citizen",
    request_body = CreateVisitRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, body = VisitRequestView, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "too_many_open_requests", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[post("/requests")]
pub async fn create(
    state: web::Data<AppState>,
    who: Principal,
    key: IdempotencyKey,
    body: ValidJson<CreateVisitRequest>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Citizen])?;
    let input = body.0;
    let fingerprint = serde_json::to_vec(&input)
        .map(|bytes| hex::encode(Sha256::digest(bytes)))
        .map_err(ApiError::internal)?;
    let location = Coordinates::parse(input.location.lat, input.location.lon)
        .map_err(|e| e.within("location"))?;
    let address = bounded_text("address", &input.address, 5, 300)?;
    let notes = match &input.notes {
        Some(n) => Some(bounded_text("notes", n, 0, 1000)?).filter(|n| !n.is_empty()),
        None => None,
    };
    if input.accessibility_needs.len() > AccessibilityNeed::ALL.len() {
        return Err(Invalid::new(
            "accessibility_needs",
            ErrorCode::TooMany,
            "each need at most once",
        )
        .into());
    }
    let mut needs = input.accessibility_needs.clone();
    needs.sort_by_key(|n| n.as_str());
    needs.dedup();

    let (region_id, kind_id) = (input.region_id, input.service_kind_id);
    let admission = Admission {
        citizen_id: who.account_id,
        location,
        address,
        notes,
        needs,
        earliest_date: input.earliest_date,
        deadline: input.deadline,
        preferred_windows: input.preferred_windows,
        idempotency_key: key.0.clone(),
        fingerprint: fingerprint.clone(),
    };
    let actor = who.actor();
    let app = state.clone();
    let (citizen_id, open_cap) = (
        who.account_id,
        state.settings.limits.open_requests_per_citizen,
    );
    // One transaction: the region and service kind read, the checks that need them, the
    // idempotency lookup and the insert (a request that fails a check commits nothing).
    let outcome = state
        .db
        .write(move |conn| {
            requests::check_open_cap(
                conn,
                citizen_id,
                admission.idempotency_key.as_deref(),
                open_cap,
            )?;
            let (region, kind) = catalog::region_with_kind(conn, region_id, kind_id)?;
            match admission.admit(&app.boundaries, region, kind) {
                Ok(new) => requests::insert(conn, &actor, new).map(Ok),
                Err(refused) => Ok(Err(refused)),
            }
        })
        .await;
    let created = match outcome {
        Ok(Ok(created)) => created,
        Ok(Err(refused)) => return Err(refused),
        // Two concurrent creates with one key: the loser answers with the winner's row.
        Err(DbError::Duplicate(_)) if key.0.is_some() => {
            let (citizen, k, fp) = (
                who.account_id,
                key.0.clone().unwrap_or_default(),
                fingerprint.clone(),
            );
            state
                .db
                .read(move |conn| requests::resolve_key_race(conn, citizen, &k, Some(&fp)))
                .await?
        }
        Err(e) => return Err(not_found_as_field("region_id", "region")(e)),
    };
    let (row, replayed) = match created {
        Created::New(row) => (row, false),
        Created::Replayed(row) => (row, true),
        Created::KeyReused => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request",
            )
            .with_field("Idempotency-Key"))
        }
    };
    if !replayed {
        tracing::info!(
            request_id = row.id,
            region_id = row.region_id,
            "visit request created"
        );
    }
    let view = VisitRequestView::try_from(row)?;
    let mut response = HttpResponse::Created();
    response
        .insert_header(etag(view.version))
        .insert_header(("Location", format!("/v1/requests/{}", view.id)));
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(response.json(view))
}

/// Loads a request the caller may see: its citizen, staff of its region (officers only through
/// their routes, which come later), admins. Anyone else gets 404, not 403, so ids reveal nothing.
async fn visible(
    state: &AppState,
    who: &Principal,
    id: i64,
) -> Result<requests::RequestRow, ApiError> {
    let row = state
        .db
        .read(move |conn| requests::find(conn, id))
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("visit request"),
            other => other.into(),
        })?;
    let allowed = match who.role {
        Role::Citizen => row.citizen_id == who.account_id,
        Role::Coordinator | Role::Admin => who.sees_region(row.region_id),
        Role::Officer => false,
    };
    if allowed {
        Ok(row)
    } else {
        Err(ApiError::not_found("visit request"))
    }
}

/// Read one visit request.
#[utoipa::path(
    tag = "citizen",
    params(("id" = i64, Path)),
    responses((status = 200, body = VisitRequestView, headers(("ETag" = String))), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/requests/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let row = visible(&state, &who, path.into_inner()).await?;
    let view = VisitRequestView::try_from(row)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(view.version))
        .json(view))
}

/// The change history of a visit request (coordinators and admins).
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<EventView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/requests/{id}/events")]
pub async fn request_events(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let row = visible(&state, &who, path.into_inner()).await?;
    let trail = state
        .db
        .read(move |conn| events::for_entity(conn, "visit_request", row.id))
        .await?;
    Ok(HttpResponse::Ok().json(trail.into_iter().map(EventView::from).collect::<Vec<_>>()))
}

fn parse_list<T: std::str::FromStr<Err = String>>(
    field: &str,
    value: &Option<String>,
) -> Result<Vec<T>, ApiError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(|s| {
            s.trim().parse::<T>().map_err(|e| {
                ApiError::new(ErrorCode::InvalidQuery, e).with_field(field.to_string())
            })
        })
        .collect()
}

fn parse_bbox(value: &Option<String>) -> Result<Option<(f64, f64, f64, f64)>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let bad = || {
        ApiError::new(
            ErrorCode::InvalidQuery,
            "bbox is min_lon,min_lat,max_lon,max_lat in degrees",
        )
        .with_field("bbox")
    };
    let parts: Vec<f64> = value
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let [min_lon, min_lat, max_lon, max_lat] = parts[..] else {
        return Err(bad());
    };
    let sw = Coordinates::parse(min_lat, min_lon).map_err(|_| bad())?;
    let ne = Coordinates::parse(max_lat, max_lon).map_err(|_| bad())?;
    if sw.lat > ne.lat || sw.lon > ne.lon {
        return Err(bad());
    }
    Ok(Some((sw.lon, sw.lat, ne.lon, ne.lat)))
}

/// List the region's visit requests, filtered and paginated (coordinators, admins).
#[utoipa::path(
    tag = "requests",
    params(RequestQuery),
    responses((status = 200, body = VisitRequestPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/requests")]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<RequestQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let region_id = who.managed_region(q.region_id)?;
    let (limit, offset) = crate::api::extract::Page {
        limit: q.limit,
        offset: q.offset,
    }
    .bounds()?;
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from > to {
            return Err(
                ApiError::new(ErrorCode::InvalidQuery, "from must not be after to")
                    .with_field("from"),
            );
        }
    }
    let filter = RequestFilter {
        region_id,
        statuses: parse_list::<RequestStatus>("status", &q.status)?,
        service_kind_id: q.service_kind_id,
        priorities: parse_list::<Priority>("priority", &q.priority)?,
        from: q.from,
        to: q.to,
        bbox: parse_bbox(&q.bbox)?,
    };
    let (rows, total) = state
        .db
        .read(move |conn| requests::list(conn, &filter, limit, offset))
        .await?;
    Ok(HttpResponse::Ok().json(VisitRequestPage::from_rows(rows, total, limit, offset)?))
}

async fn apply_change(
    state: &AppState,
    who: &Principal,
    req: &HttpRequest,
    id: i64,
    version: i32,
    allowed: fn(RequestStatus) -> bool,
    change: RequestChange,
) -> Result<HttpResponse, ApiError> {
    let row = visible(state, who, id).await?;
    let updated = workflow::requests::change(
        &state.db,
        who.actor(),
        &row,
        version,
        allowed,
        change,
        JemputNotices,
    )
    .await?;
    let view = VisitRequestView::try_from(updated)?;
    tracing::info!(request_id = id, path = %req.path(), "visit request changed");
    Ok(HttpResponse::Ok()
        .insert_header(etag(view.version))
        .json(view))
}

/// Cancel a visit request (its citizen, or a coordinator of the region).
#[utoipa::path(
    tag = "citizen",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "The version being cancelled")),
    request_body = CancelRequest,
    responses(
        (status = 200, body = VisitRequestView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "version_conflict or invalid_state", body = ErrorBody), (status = 422, body = ErrorBody), (status = 428, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[post("/requests/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<i64>,
    version: IfMatch,
    body: ValidJson<CancelRequest>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Citizen, Role::Coordinator, Role::Admin])?;
    let reason = match &body.0.reason {
        Some(r) => Some(bounded_text("reason", r, 0, 300)?).filter(|r| !r.is_empty()),
        None => None,
    };
    apply_change(
        &state,
        &who,
        &req,
        path.into_inner(),
        version.0,
        RequestStatus::is_cancellable,
        RequestChange::Cancel { reason },
    )
    .await
}

/// Replace the days that suit the citizen.
#[utoipa::path(
    tag = "citizen",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "The version being changed")),
    request_body = PreferredWindowsChange,
    responses(
        (status = 200, body = VisitRequestView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 428, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[put("/requests/{id}/preferred-windows")]
pub async fn set_preferred_windows(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<i64>,
    version: IfMatch,
    body: ValidJson<PreferredWindowsChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Citizen, Role::Coordinator, Role::Admin])?;
    let id = path.into_inner();
    let row = visible(&state, &who, id).await?;
    let windows = PreferredWindow::validate_all(
        "preferred_windows",
        body.0.preferred_windows,
        row.earliest_date,
        row.deadline,
    )?;
    let json = serde_json::to_string(&windows).map_err(ApiError::internal)?;
    apply_change(
        &state,
        &who,
        &req,
        id,
        version.0,
        RequestStatus::accepts_preference_changes,
        RequestChange::PreferredWindows(json),
    )
    .await
}

/// Set a request's priority (coordinators, admins).
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "The version being changed")),
    request_body = PriorityChange,
    responses(
        (status = 200, body = VisitRequestView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 428, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[patch("/requests/{id}")]
pub async fn set_priority(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<i64>,
    version: IfMatch,
    body: ValidJson<PriorityChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let change = RequestChange::Priority(body.0.priority);
    apply_change(
        &state,
        &who,
        &req,
        path.into_inner(),
        version.0,
        |s| !matches!(s, RequestStatus::Completed | RequestStatus::Cancelled),
        change,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_against_today() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let today = d("2026-11-22");
        assert!(check_dates(d("2026-11-22"), d("2026-11-30"), today).is_ok());
        assert_eq!(
            check_dates(d("2026-11-21"), d("2026-11-30"), today)
                .unwrap_err()
                .code,
            ErrorCode::DateInPast
        );
        assert_eq!(
            check_dates(d("2026-11-25"), d("2026-11-24"), today)
                .unwrap_err()
                .code,
            ErrorCode::DeadlineBeforeEarliest
        );
        assert_eq!(
            check_dates(d("2026-11-25"), d("2027-12-24"), today)
                .unwrap_err()
                .code,
            ErrorCode::TooFarAhead
        );
    }

    #[test]
    fn bbox_must_be_ordered_and_in_range() {
        assert!(parse_bbox(&Some("110,-8,110.3,-7.6".into()))
            .unwrap()
            .is_some());
        assert!(parse_bbox(&Some("110.3,-8,110,-7.6".into())).is_err());
        assert!(parse_bbox(&Some("1,2,3".into())).is_err());
        assert!(parse_bbox(&Some("200,-8,210,-7".into())).is_err());
    }
}
