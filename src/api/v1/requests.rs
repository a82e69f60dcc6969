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
use crate::db::requests::{self, RequestFilter};
use crate::db::{events, DbError};
use crate::domain::ErrorCode;
use crate::domain::{
    bounded_text, AccessibilityNeed, Coordinates, Invalid, PreferredWindow, Priority,
    RequestStatus, Role,
};
use crate::push::messages::JemputNotices;
use crate::workflow;
use crate::workflow::intake::{Admission, Intake};

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

    let admission = Admission {
        citizen_id: who.account_id,
        region_id: input.region_id,
        service_kind_id: input.service_kind_id,
        location,
        address,
        notes,
        needs,
        earliest_date: input.earliest_date,
        deadline: input.deadline,
        preferred_windows: input.preferred_windows,
        idempotency: key.0.map(|key| (key, fingerprint)),
    };
    let intake = workflow::intake::submit(
        &state.db,
        state.boundaries.clone(),
        who.actor(),
        admission,
        state.settings.limits.open_requests_per_citizen,
    )
    .await?;
    let (row, replayed) = match intake {
        Intake::New(row) => (row, false),
        Intake::Replayed(row) => (row, true),
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
pub(crate) async fn visible(
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
    audit_staff_reads(&state, &who, "request", std::slice::from_ref(&view)).await?;
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
    let page = VisitRequestPage::from_rows(rows, total, limit, offset)?;
    audit_staff_reads(&state, &who, "request_list", &page.items).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Staff seeing a citizen's notes is recorded (`workflow::audit`) before the answer goes out.
async fn audit_staff_reads(
    state: &AppState,
    who: &Principal,
    via: &'static str,
    shown: &[VisitRequestView],
) -> Result<(), ApiError> {
    if who.role == Role::Citizen {
        return Ok(());
    }
    let shown = shown.iter().map(|v| workflow::audit::Shown {
        request_id: v.id,
        phone: false,
        notes: v.notes.is_some(),
    });
    workflow::audit::record_reads(&state.db, who.account_id, via, shown).await?;
    Ok(())
}

/// The answer to a change of a request: the request as it is now.
fn changed(req: &HttpRequest, updated: requests::RequestRow) -> Result<HttpResponse, ApiError> {
    let view = VisitRequestView::try_from(updated)?;
    tracing::info!(request_id = view.id, path = %req.path(), "visit request changed");
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
    let seen = visible(&state, &who, path.into_inner()).await?;
    let updated = workflow::requests::cancel(
        &state.db,
        who.actor(),
        &seen,
        version.0,
        reason,
        JemputNotices,
    )
    .await?;
    changed(&req, updated)
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
    let seen = visible(&state, &who, path.into_inner()).await?;
    let updated = workflow::requests::set_preferred_windows(
        &state.db,
        who.actor(),
        &seen,
        version.0,
        body.0.preferred_windows,
        JemputNotices,
    )
    .await?;
    changed(&req, updated)
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
    let seen = visible(&state, &who, path.into_inner()).await?;
    let updated = workflow::requests::set_priority(
        &state.db,
        who.actor(),
        &seen,
        version.0,
        body.0.priority,
        JemputNotices,
    )
    .await?;
    changed(&req, updated)
}

#[cfg(test)]
mod tests {
    use super::*;

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
