//! A region's KPIs over some days (`GET /v1/regions/{id}/kpis`), for the console's KPI tab.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::Principal;
use crate::api::AppState;
use crate::db::DbError;
use crate::domain::{ErrorCode, Role};
use crate::workflow::kpis::{self, KpiReport};
use crate::workflow::WorkflowError;

/// The longest range one report covers.
const MAX_DAYS: i64 = 92;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// First day (region's calendar), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last day, included; at most 92 days after `from`.
    pub to: NaiveDate,
}

/// The region's KPIs from `from` to `to` (coordinators of the region, admins): per day, in
/// total and per district, visits served, days waited from request to visit (mean, 90th
/// percentile), deadlines missed, km per visit; the newest plan's unassigned requests by
/// reason. A served visit is a completed request on a route of the day; a missed deadline is a
/// request due on a past day and not served by then; districts are those of the embedded place
/// data (null: outside them).
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "the region"), KpiQuery),
    responses(
        (status = 200, body = KpiReport),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/regions/{id}/kpis")]
pub async fn region_kpis(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    query: web::Query<KpiQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let region_id = path.into_inner();
    if !who.sees_region(region_id) {
        return Err(ApiError::not_found("region"));
    }
    let KpiQuery { from, to } = query.into_inner();
    if to < from {
        return Err(
            ApiError::new(ErrorCode::OutOfRange, "to must not be before from").with_field("to"),
        );
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::new(
            ErrorCode::OutOfRange,
            format!("one report covers at most {MAX_DAYS} days"),
        )
        .with_field("to"));
    }
    let report = kpis::region_kpis(&state.db, region_id, from, to)
        .await
        .map_err(|e| match e {
            WorkflowError::Db(DbError::NotFound) => ApiError::not_found("region"),
            other => other.into(),
        })?;
    Ok(HttpResponse::Ok().json(report))
}
