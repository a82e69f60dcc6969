//! The field team's view: its published route for a day, compact for a slow link, cached by
//! version (`ETag`; `If-None-Match` answers 304 with no body).

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::etag;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::Principal;
use crate::api::AppState;
use crate::db::{catalog, routes, DbError};
use crate::domain::{time_zone, Coordinates, Role};

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TeamRouteView {
    pub team_id: i64,
    pub team_name: String,
    pub date: NaiveDate,
    pub version: i32,
    /// Times below are local to this zone, `HH:MM`.
    pub time_zone: String,
    pub leave: String,
    pub back: String,
    pub distance_km: f64,
    pub stops: Vec<TeamStopView>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TeamStopView {
    pub request_id: i64,
    /// Service kind code and its name in Bahasa Indonesia.
    pub service: String,
    pub service_name: String,
    pub minutes: i32,
    pub location: Coordinates,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// The window promised to the citizen.
    pub window: [String; 2],
    /// When the plan expects the team to start here.
    pub planned: String,
    pub citizen: String,
    /// Only on the day of the visit and the day before (to call ahead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// The caller's team route for a date (officers).
#[utoipa::path(
    tag = "team",
    params(("date" = String, Path, description = "YYYY-MM-DD"), ("If-None-Match" = Option<String>, Header, description = "the ETag of the copy held")),
    responses((status = 200, body = TeamRouteView, headers(("ETag" = String))), (status = 304, description = "the copy held is current"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/me/routes/{date}")]
pub async fn my_route(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<NaiveDate>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Officer])?;
    let date = path.into_inner();
    let account = who.account_id;
    let (route, team, stops, region) = state
        .db
        .read(move |conn| {
            let (route, team, stops) = routes::of_officer(conn, account, date)?;
            let region = catalog::region_find(conn, route.region_id)?;
            Ok((route, team, stops, region))
        })
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("route"),
            other => other.into(),
        })?;
    let tag = etag(route.version);
    let held = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if held.is_some_and(|h| h.split(',').any(|t| t.trim() == tag.1)) {
        return Ok(HttpResponse::NotModified().insert_header(tag).finish());
    }
    let zone = time_zone(&region.time_zone)
        .map_err(|e| ApiError::internal(format!("stored time zone unreadable: {e}")))?;
    let local = |t: NaiveDateTime| {
        DateTime::<Utc>::from_naive_utc_and_offset(t, Utc)
            .with_timezone(&zone)
            .format("%H:%M")
            .to_string()
    };
    let today = Utc::now().with_timezone(&zone).date_naive();
    let phone_allowed = date == today || date == today.succ_opt().unwrap_or(today);
    let mut views = Vec::with_capacity(stops.len());
    for s in stops {
        let needs: Vec<String> = serde_json::from_str(&s.request.accessibility_needs)
            .map_err(|e| ApiError::internal(format!("stored needs unreadable: {e}")))?;
        views.push(TeamStopView {
            request_id: s.request.id,
            service: s.kind.code,
            service_name: s.kind.name_id,
            minutes: s.kind.default_duration_minutes,
            location: Coordinates {
                lat: s.request.lat,
                lon: s.request.lon,
            },
            address: s.request.address,
            notes: s.request.notes,
            needs,
            window: [local(s.stop.window_start), local(s.stop.window_end)],
            planned: local(s.stop.planned_start),
            citizen: s.citizen_name,
            phone: s.citizen_phone.filter(|_| phone_allowed),
        });
    }
    Ok(HttpResponse::Ok().insert_header(tag).json(TeamRouteView {
        team_id: team.id,
        team_name: team.name,
        date,
        version: route.version,
        time_zone: region.time_zone,
        leave: local(route.leave_at),
        back: local(route.back_at),
        distance_km: (route.distance_m / 100.0).round() / 10.0,
        stops: views,
    }))
}
