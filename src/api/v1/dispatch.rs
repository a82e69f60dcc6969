//! Coordinator rebalancing: the region's routes of a day, and changes to them. Every change
//! takes the version it was made from (`If-Match`: a route's version, or a day's tag for a
//! re-plan of the whole day), answers 409 on a stale copy, and can be previewed first
//! (`?preview=true`: what changes, nothing stored). Applied, it writes the new route versions,
//! the event trail and the pushes to every team phone and citizen concerned in one transaction.

use std::time::Duration;

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::visible_team;
use super::views::etag;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{IfMatch, IfMatchTag, Principal, ValidJson};
use crate::api::AppState;
use crate::db::dispatch::{self, LiveRoute, Snapshot};
use crate::db::DbError;
use crate::domain::ErrorCode;
use crate::domain::{bounded_text, Coordinates, Invalid, RegionClock, Role, TimeOfDay};
use crate::planning::dispatch::{
    day_tag, propose_replan, propose_route_op, region_clock, replan_problem, ChangePreview,
    DayReplan, Proposal, RouteOp,
};
use crate::push::messages::JemputNotices;
use crate::workflow::rebalance;

/// Planning time a re-plan may take, in seconds.
const REPLAN_LIMITS: std::ops::RangeInclusive<u32> = 1..=30;
const DEFAULT_REPLAN_SECONDS: u32 = 2;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DispatchStopView {
    pub request_id: i64,
    pub position: i32,
    /// The request's status: scheduled, in_progress, completed, missed, cancelled.
    pub status: String,
    pub priority: String,
    pub pinned: bool,
    pub location: Coordinates,
    pub address: String,
    /// Local `HH:MM`.
    pub planned_start: String,
    pub planned_end: String,
    /// The window promised to the citizen, local `HH:MM`.
    pub window: [String; 2],
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DispatchRouteView {
    pub id: i64,
    pub team_id: i64,
    pub team_name: String,
    pub date: NaiveDate,
    /// Send as `If-Match` when changing this route.
    pub version: i32,
    pub locked: bool,
    pub leave: String,
    pub back: String,
    pub distance_km: f64,
    pub stops: Vec<DispatchStopView>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DayRoutesView {
    pub date: NaiveDate,
    pub time_zone: String,
    /// The day's tag (also the `ETag`): send as `If-Match` to re-plan the day or take a team
    /// off it.
    pub tag: String,
    pub routes: Vec<DispatchRouteView>,
    /// Teams off that day.
    pub absent_team_ids: Vec<i64>,
}

fn route_view(snapshot: &Snapshot, route: &LiveRoute, clock: RegionClock) -> DispatchRouteView {
    let team_name = snapshot
        .teams
        .iter()
        .find(|t| t.id == route.route.team_id)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    DispatchRouteView {
        id: route.route.id,
        team_id: route.route.team_id,
        team_name,
        date: route.route.date,
        version: route.route.version,
        locked: route.route.locked,
        leave: clock.local(route.route.leave_at),
        back: clock.local(route.route.back_at),
        distance_km: (route.route.distance_m / 100.0).round() / 10.0,
        stops: route
            .stops
            .iter()
            .map(|s| DispatchStopView {
                request_id: s.request.id,
                position: s.stop.position,
                status: s.request.status.to_string(),
                priority: s.request.priority.to_string(),
                pinned: s.stop.pinned,
                location: Coordinates {
                    lat: s.request.lat,
                    lon: s.request.lon,
                },
                address: s.request.address.clone(),
                planned_start: clock.local(s.stop.planned_start),
                planned_end: clock.local(s.stop.planned_end),
                window: [
                    clock.local(s.stop.window_start),
                    clock.local(s.stop.window_end),
                ],
            })
            .collect(),
    }
}

fn clock_of(snapshot: &Snapshot) -> Result<RegionClock, ApiError> {
    Ok(region_clock(snapshot)?)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The day (region's calendar), `YYYY-MM-DD`.
    pub date: NaiveDate,
    /// Admins name the region; coordinators see their own.
    pub region_id: Option<i64>,
}

/// The region's routes of a day, with their stops, pins, locks and versions (coordinators).
#[utoipa::path(
    tag = "dispatch",
    params(DayQuery),
    responses((status = 200, body = DayRoutesView, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/routes")]
pub async fn day_routes(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<DayQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let region_id = who.managed_region(query.region_id)?;
    let date = query.date;
    let snapshot = state
        .db
        .read_consistent(move |conn| dispatch::snapshot(conn, region_id, &[date]))
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("region"),
            other => other.into(),
        })?;
    let clock = clock_of(&snapshot)?;
    let tag = day_tag(&snapshot, date);
    let view = DayRoutesView {
        date,
        time_zone: snapshot.region.time_zone.clone(),
        tag: tag.clone(),
        routes: snapshot
            .routes
            .iter()
            .map(|r| route_view(&snapshot, r, clock))
            .collect(),
        absent_team_ids: snapshot.absences.iter().map(|a| a.team_id).collect(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, format!("\"{tag}\"")))
        .json(view))
}

/// A route the caller may change: a coordinator's own region, or any for an admin.
async fn visible_route(
    state: &AppState,
    who: &Principal,
    id: i64,
) -> Result<crate::db::routes::RouteRow, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let route = state
        .db
        .read(move |conn| dispatch::route_find(conn, id))
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("route"),
            other => other.into(),
        })?;
    if !who.sees_region(route.region_id) {
        return Err(ApiError::not_found("route"));
    }
    Ok(route)
}

/// One route with its stops (coordinators); `ETag` = its version.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path)),
    responses((status = 200, body = DispatchRouteView, headers(("ETag" = String))), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/routes/{id}")]
pub async fn get_route(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let route = visible_route(&state, &who, path.into_inner()).await?;
    let (region_id, date, id) = (route.region_id, route.date, route.id);
    let snapshot = state
        .db
        .read_consistent(move |conn| dispatch::snapshot(conn, region_id, &[date]))
        .await?;
    let clock = clock_of(&snapshot)?;
    let live = snapshot
        .routes
        .iter()
        .find(|r| r.route.id == id)
        .ok_or_else(|| ApiError::not_found("route"))?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(live.route.version))
        .json(route_view(&snapshot, live, clock)))
}

/// A change to a route. `move`: to another team and/or date (`to_team_id`, `to_date`,
/// optional `position`, by default where it breaks the fewest rules and adds the least
/// distance; `target_version` = the target route's version when it exists).
/// `reorder`: every stop in a new order. `swap`: two stops exchange places (`other_version`
/// when the other stop is on another route). `pin` / `lock`: kept as they are by later plans.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum RouteChangeIn {
    Move {
        request_id: i64,
        to_team_id: Option<i64>,
        to_date: Option<NaiveDate>,
        position: Option<usize>,
        target_version: Option<i32>,
    },
    Reorder {
        request_ids: Vec<i64>,
    },
    Swap {
        request_id: i64,
        with_request_id: i64,
        other_version: Option<i32>,
    },
    Pin {
        request_id: i64,
        pinned: bool,
    },
    Lock {
        locked: bool,
    },
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// Work the change out and show it; store nothing.
    pub preview: Option<bool>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RouteVersionView {
    pub team_id: i64,
    pub date: NaiveDate,
    pub version: i32,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ChangeResult {
    /// False for a preview.
    pub applied: bool,
    #[serde(flatten)]
    pub preview: ChangePreview,
    /// The new version of every route changed (empty for a preview).
    pub versions: Vec<RouteVersionView>,
    /// Push messages written to the outbox (0 for a preview).
    pub pushes: usize,
}

/// Store `proposal` (unless previewing) and answer with what it did.
async fn finish(
    state: &AppState,
    who: &Principal,
    proposal: Proposal,
    preview: bool,
) -> Result<HttpResponse, ApiError> {
    if preview {
        return Ok(HttpResponse::Ok().json(ChangeResult {
            applied: false,
            preview: proposal.preview,
            versions: Vec::new(),
            pushes: 0,
        }));
    }
    let applied = rebalance::apply(&state.db, who.actor(), proposal.edit, JemputNotices).await?;
    Ok(HttpResponse::Ok().json(ChangeResult {
        applied: true,
        preview: proposal.preview,
        versions: applied
            .versions
            .into_iter()
            .map(|(team_id, date, version)| RouteVersionView {
                team_id,
                date,
                version,
            })
            .collect(),
        pushes: applied.pushes,
    }))
}

/// Change a route by hand: move, reorder, swap, pin or lock. `If-Match` = the route's version.
/// With `?preview=true` nothing is stored: the answer shows what would change (added km,
/// shifted windows, stops that newly break a rule). Applied, the routes get new versions and
/// the teams' phones and the citizens whose day or window changed are told.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path), PreviewQuery, ("If-Match" = String, Header, description = "the route's version")),
    request_body = RouteChangeIn,
    responses((status = 200, body = ChangeResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 428, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/routes/{id}/changes")]
pub async fn change_route(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    query: web::Query<PreviewQuery>,
    if_match: IfMatch,
    body: ValidJson<RouteChangeIn>,
) -> Result<HttpResponse, ApiError> {
    let route = visible_route(&state, &who, path.into_inner()).await?;
    let op = match body.0 {
        RouteChangeIn::Move {
            request_id,
            to_team_id,
            to_date,
            position,
            target_version,
        } => RouteOp::Move {
            request_id,
            to_team_id: to_team_id.unwrap_or(route.team_id),
            to_date: to_date.unwrap_or(route.date),
            position,
            target_version,
        },
        RouteChangeIn::Reorder { request_ids } => RouteOp::Reorder { request_ids },
        RouteChangeIn::Swap {
            request_id,
            with_request_id,
            other_version,
        } => RouteOp::Swap {
            request_id,
            with_request_id,
            other_version,
        },
        RouteChangeIn::Pin { request_id, pinned } => RouteOp::Pin { request_id, pinned },
        RouteChangeIn::Lock { locked } => RouteOp::Lock { locked },
    };
    let mut dates = vec![route.date];
    match &op {
        RouteOp::Move { to_date, .. } => dates.push(*to_date),
        RouteOp::Swap {
            with_request_id, ..
        } => {
            let other = *with_request_id;
            if let Some(r) = state
                .db
                .read(move |conn| dispatch::route_of_request(conn, other))
                .await?
                .filter(|r| r.region_id == route.region_id)
            {
                dates.push(r.date);
            }
        }
        _ => {}
    }
    dates.sort_unstable();
    dates.dedup();
    let region_id = route.region_id;
    let snapshot = state
        .db
        .read_consistent(move |conn| dispatch::snapshot(conn, region_id, &dates))
        .await?;
    let today = clock_of(&snapshot)?.today();
    let proposal = propose_route_op(&snapshot, route.id, if_match.0, &op, today)?;
    finish(&state, &who, proposal, query.preview.unwrap_or(false)).await
}

/// Plan a day again and work out the change (solving on a blocking thread, never an HTTP
/// worker).
async fn replan(
    state: &AppState,
    region_id: i64,
    tag: &str,
    replan: DayReplan,
    seconds: u32,
) -> Result<Proposal, ApiError> {
    let date = replan.date;
    let snapshot = state
        .db
        .read_consistent(move |conn| dispatch::snapshot(conn, region_id, &[date]))
        .await?;
    let current = day_tag(&snapshot, date);
    if current != tag {
        return Err(ApiError::new(
            ErrorCode::VersionConflict,
            format!(
                "the routes of {date} changed since you read them (now {current}): reload and try again"
            ),
        ));
    }
    let problem = replan_problem(&snapshot, &replan)?;
    // Each solve takes a core for up to its time limit: only `limits.day_replans_at_once` at once.
    let _slot = state.replan_slots.try_acquire().map_err(|_| {
        ApiError::new(
            ErrorCode::TooManyRequests,
            "other day re-plans are being worked out; retry when they are done",
        )
        .with_retry_after(u64::from(seconds))
    })?;
    let limit = Duration::from_secs(u64::from(seconds));
    let solution = tokio::task::spawn_blocking(move || {
        let budget = crate::planning::budget::Deadline::new(limit, None);
        let options = jemput_planner::SolveOptions {
            seed: 1,
            time_limit_ms: Some(limit.as_millis() as u64),
            ..Default::default()
        };
        jemput_planner::solve(&problem, &options, &budget)
    })
    .await
    .map_err(|e| ApiError::internal(format!("the planner stopped abnormally: {e}")))?
    .map_err(|e| ApiError::internal(format!("the planner refused a re-plan: {e}")))?;
    Ok(propose_replan(&snapshot, &replan, &solution)?)
}

fn replan_seconds(asked: Option<u32>) -> Result<u32, ApiError> {
    let seconds = asked.unwrap_or(DEFAULT_REPLAN_SECONDS);
    if REPLAN_LIMITS.contains(&seconds) {
        Ok(seconds)
    } else {
        Err(Invalid::new(
            "time_limit_seconds",
            ErrorCode::OutOfRange,
            format!(
                "between {} and {} seconds",
                REPLAN_LIMITS.start(),
                REPLAN_LIMITS.end()
            ),
        )
        .into())
    }
}

/// The time a re-plan starts from: as asked, or now when re-planning today.
fn replan_from(
    from: Option<TimeOfDay>,
    date: NaiveDate,
    clock: RegionClock,
) -> Result<Option<f64>, ApiError> {
    let today = clock.today();
    if date < today {
        return Err(Invalid::new("date", ErrorCode::DateInPast, "that day is over").into());
    }
    Ok(match from {
        Some(t) => Some(f64::from(t.minutes())),
        None if date == today => Some(clock.minutes_now().floor()),
        None => None,
    })
}

async fn clock_of_region(state: &AppState, region_id: i64) -> Result<RegionClock, ApiError> {
    let region = state
        .db
        .read(move |conn| crate::db::catalog::region_find(conn, region_id))
        .await?;
    RegionClock::of_zone(&region.time_zone)
        .map_err(|e| ApiError::internal(format!("stored time zone unreadable: {}", e.message)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplanDay {
    /// Admins name the region; coordinators re-plan their own.
    pub region_id: Option<i64>,
    /// Plan visits still to make from this local time on (`HH:MM`); default: now when the day
    /// is today, else the whole day.
    pub from: Option<TimeOfDay>,
    /// How long the planner may search, 1..=30 seconds (default 2).
    pub time_limit_seconds: Option<u32>,
}

/// Re-plan the rest of a day: visits made stay where they are, locked routes and pinned stops
/// are kept, the rest is planned again across the day's teams with as little change as
/// possible; visits no team can still make go back to the queue. `If-Match` = the day's tag
/// (`GET /v1/routes?date=`). `?preview=true` stores nothing.
#[utoipa::path(
    tag = "dispatch",
    params(("date" = String, Path, description = "YYYY-MM-DD"), PreviewQuery, ("If-Match" = String, Header, description = "the day's tag")),
    request_body = ReplanDay,
    responses((status = 200, body = ChangeResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 428, body = ErrorBody), (status = 429, description = "too_many_requests: other re-plans are being solved", body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/days/{date}/replan")]
pub async fn replan_day(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<NaiveDate>,
    query: web::Query<PreviewQuery>,
    if_match: IfMatchTag,
    body: ValidJson<ReplanDay>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let region_id = who.managed_region(body.0.region_id)?;
    let date = path.into_inner();
    let seconds = replan_seconds(body.0.time_limit_seconds)?;
    let clock = clock_of_region(&state, region_id).await?;
    let from = replan_from(body.0.from, date, clock)?;
    let proposal = replan(
        &state,
        region_id,
        &if_match.0,
        DayReplan {
            date,
            from,
            absent: None,
        },
        seconds,
    )
    .await?;
    finish(&state, &who, proposal, query.preview.unwrap_or(false)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAbsence {
    /// The day the team is off.
    pub date: NaiveDate,
    /// Why (sick, broken motorbike…), 1–200 characters.
    pub reason: String,
    /// Re-plan its visits from this local time on (`HH:MM`); default: now when the day is
    /// today, else the whole day.
    pub from: Option<TimeOfDay>,
    /// How long the planner may search, 1..=30 seconds (default 2).
    pub time_limit_seconds: Option<u32>,
}

/// Take a team off a day (sick, broken motorbike) and re-plan its visits still to make onto
/// the other teams of that day; those no team can take go back to the queue, their citizens
/// told. `If-Match` = the day's tag (`GET /v1/routes?date=`). `?preview=true` stores nothing.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path), PreviewQuery, ("If-Match" = String, Header, description = "the day's tag")),
    request_body = CreateAbsence,
    responses((status = 200, body = ChangeResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 428, body = ErrorBody), (status = 429, description = "too_many_requests: other re-plans are being solved", body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/teams/{id}/absences")]
pub async fn create_absence(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    query: web::Query<PreviewQuery>,
    if_match: IfMatchTag,
    body: ValidJson<CreateAbsence>,
) -> Result<HttpResponse, ApiError> {
    let team = visible_team(&state, &who, path.into_inner()).await?;
    let b = body.0;
    let reason = bounded_text("reason", &b.reason, 1, 200)?;
    let seconds = replan_seconds(b.time_limit_seconds)?;
    let clock = clock_of_region(&state, team.region_id).await?;
    let from = replan_from(b.from, b.date, clock)?;
    let proposal = replan(
        &state,
        team.region_id,
        &if_match.0,
        DayReplan {
            date: b.date,
            from,
            absent: Some((team.id, reason)),
        },
        seconds,
    )
    .await?;
    finish(&state, &who, proposal, query.preview.unwrap_or(false)).await
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AbsenceView {
    pub team_id: i64,
    pub date: NaiveDate,
    pub reason: String,
}

/// The days a team is off.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AbsenceView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/teams/{id}/absences")]
pub async fn list_absences(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let team = visible_team(&state, &who, path.into_inner()).await?;
    let id = team.id;
    let rows = state
        .db
        .read(move |conn| dispatch::absences_of_team(conn, id))
        .await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(|a| AbsenceView {
                team_id: a.team_id,
                date: a.date,
                reason: a.reason,
            })
            .collect::<Vec<_>>(),
    ))
}

/// The team works that day after all. Its routes are not re-planned by this: plan again.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path), ("date" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/teams/{id}/absences/{date}")]
pub async fn remove_absence(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(i64, NaiveDate)>,
) -> Result<HttpResponse, ApiError> {
    let (id, date) = path.into_inner();
    let team = visible_team(&state, &who, id).await?;
    rebalance::remove_absence(&state.db, who.actor(), team.region_id, id, date)
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("absence"),
            other => other.into(),
        })?;
    Ok(HttpResponse::NoContent().finish())
}
