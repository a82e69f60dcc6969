//! The field team's view: its published route for a day, compact for a slow link, cached by
//! version and whether citizens' phones show (`ETag`; `If-None-Match` answers 304 with no
//! body), and the reports it sends back.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::region_clock;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{IfNoneMatch, Principal, ValidJson};
use crate::api::AppState;
use crate::db::fieldwork::FieldEvent;
use crate::db::{catalog, routes, DbError};
use crate::domain::ErrorCode;
use crate::domain::{bounded_text, Coordinates, FieldEventKind, Invalid, Role};
use crate::push::messages::JemputNotices;
use crate::workflow;
use crate::workflow::field_reports::{self, EventResult};

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
    responses((status = 200, body = TeamRouteView, headers(("ETag" = String, description = "the route version, `\"7\"`; `\"7-phones\"` once citizens' phones show (the day before the visits and the day itself)"))), (status = 304, description = "the copy held is current"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/me/routes/{date}")]
pub async fn my_route(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<NaiveDate>,
    held: IfNoneMatch,
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
    let clock = region_clock(&region.time_zone)?;
    let today = clock.today();
    let phone_allowed = date == today || date == today.succ_opt().unwrap_or(today);
    // The same version reads differently once citizens' phones show: a copy from before must
    // not be answered 304.
    let phones_shown = phone_allowed && stops.iter().any(|s| s.citizen_phone.is_some());
    let tag = route_etag(route.version, phones_shown);
    if held.matches(&tag.1) {
        return Ok(HttpResponse::NotModified().insert_header(tag).finish());
    }
    let local = |t: NaiveDateTime| clock.local(t);
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
    let shown = views.iter().map(|v| workflow::audit::Shown {
        request_id: v.request_id,
        phone: v.phone.is_some(),
        notes: v.notes.is_some(),
    });
    workflow::audit::record_reads(&state.db, who.account_id, "team_route", shown).await?;
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

/// The team route's entity tag: its version, marked when citizens' phones are in it (the day
/// before the visits and the day itself), e.g. `"7"` then `"7-phones"`.
fn route_etag(version: i32, phones_shown: bool) -> (header::HeaderName, String) {
    let tag = if phones_shown {
        format!("\"{version}-phones\"")
    } else {
        format!("\"{version}\"")
    };
    (header::ETAG, tag)
}

/// One report from the phone, possibly recorded hours ago without signal.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldEventIn {
    /// The phone's own id for the event (1–64 characters), unique per account: sending it again
    /// changes nothing.
    pub id: String,
    pub kind: FieldEventKind,
    /// The visit request; required except for `position`.
    pub request_id: Option<i64>,
    /// Why a visit could not be completed (free text, up to 500 characters).
    pub reason: Option<String>,
    /// Where the phone was; required for `position`.
    pub position: Option<Coordinates>,
    /// When it happened, by the phone's clock.
    pub at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldEventBatch {
    /// 1 to 500 events, applied in order.
    pub events: Vec<FieldEventIn>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    Applied,
    Duplicate,
    Conflict,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventResultView {
    pub id: String,
    pub result: EventOutcome,
    /// Why a conflicting event was kept but not applied (e.g. `stop_moved: …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventBatchResult {
    pub results: Vec<EventResultView>,
}

const MAX_EVENTS: usize = 500;

fn parse_event(i: usize, e: FieldEventIn, latest: DateTime<Utc>) -> Result<FieldEvent, ApiError> {
    let at = |field: &str| format!("events[{i}].{field}");
    let id = e.id.trim().to_string();
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Invalid::new(
            at("id"),
            ErrorCode::InvalidFormat,
            "1 to 64 visible ASCII characters",
        )
        .into());
    }
    if e.kind != FieldEventKind::Position && e.request_id.is_none() {
        return Err(Invalid::new(
            at("request_id"),
            ErrorCode::Required,
            "give the visit request",
        )
        .into());
    }
    let position = match e.position {
        Some(p) => {
            Some(Coordinates::parse(p.lat, p.lon).map_err(|err| err.within(&at("position")))?)
        }
        None if e.kind == FieldEventKind::Position => {
            return Err(Invalid::new(
                at("position"),
                ErrorCode::Required,
                "a position event needs a position",
            )
            .into())
        }
        None => None,
    };
    let reason = e
        .reason
        .map(|r| bounded_text(&at("reason"), &r, 1, 500))
        .transpose()?;
    if e.at > latest {
        return Err(Invalid::new(
            at("at"),
            ErrorCode::OutOfRange,
            "more than a day in the future",
        )
        .into());
    }
    Ok(FieldEvent {
        client_event_id: id,
        kind: e.kind,
        request_id: e.request_id,
        reason,
        position: position.map(|p| (p.lat, p.lon)),
        client_at: e.at.naive_utc(),
    })
}

/// A batch of the team's reports (arrived, started, completed, citizen absent, could not
/// complete, position), often recorded offline. Replaying a batch changes nothing twice; events
/// about stops moved away meanwhile are kept and answered as conflicts. A missed visit goes
/// back to the queue; citizens hear "done", "missed" and, for the next stop, "on the way".
#[utoipa::path(
    tag = "team",
    request_body = FieldEventBatch,
    responses((status = 200, body = EventBatchResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/me/events")]
pub async fn record_events(
    state: web::Data<AppState>,
    who: Principal,
    body: ValidJson<FieldEventBatch>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Officer])?;
    let batch = body.0.events;
    if batch.is_empty() {
        return Err(Invalid::new("events", ErrorCode::Required, "give at least one event").into());
    }
    if batch.len() > MAX_EVENTS {
        return Err(Invalid::new(
            "events",
            ErrorCode::TooMany,
            format!("at most {MAX_EVENTS} events"),
        )
        .into());
    }
    let latest = Utc::now() + chrono::Duration::days(1);
    let events: Vec<FieldEvent> = batch
        .into_iter()
        .enumerate()
        .map(|(i, e)| parse_event(i, e, latest))
        .collect::<Result<_, _>>()?;
    let ids: Vec<String> = events.iter().map(|e| e.client_event_id.clone()).collect();
    let region_id = who.region_id.ok_or_else(ApiError::forbidden)?;
    let results = field_reports::record(
        &state.db,
        who.actor(),
        who.account_id,
        region_id,
        events,
        JemputNotices,
    )
    .await?;
    Ok(HttpResponse::Ok().json(EventBatchResult {
        results: ids
            .into_iter()
            .zip(results)
            .map(|(id, result)| {
                let (result, conflict) = match result {
                    EventResult::Applied => (EventOutcome::Applied, None),
                    EventResult::Duplicate => (EventOutcome::Duplicate, None),
                    EventResult::Conflict(why) => (EventOutcome::Conflict, Some(why)),
                };
                EventResultView {
                    id,
                    result,
                    conflict,
                }
            })
            .collect(),
    }))
}
