//! Planning jobs: a coordinator asks for a draft plan of some dates; the runner solves it in the
//! background and the draft appears on the job when it is done.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{Principal, ValidJson};
use crate::api::AppState;
use crate::db::plans::{self, PlanRow};
use crate::db::DbError;
use crate::domain::ErrorCode;
use crate::domain::{Invalid, PlanStatus, Role};
use crate::planning::draft::{
    Draft, DraftHotspot, DraftKpis, DraftRoute, DraftStop, DraftUnassigned, Span, StoredDraftError,
};
use crate::push::messages::JemputNotices;
use crate::workflow;
use crate::workflow::plans::{Enqueued, PlanOrder};

/// Most dates one plan may cover.
const MAX_DATES: usize = 14;
/// Planning time a coordinator may ask for, in seconds.
const TIME_LIMITS: std::ops::RangeInclusive<u32> = 1..=120;
const DEFAULT_TIME_LIMIT: u32 = 10;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlan {
    /// The region; coordinators may omit it (their own).
    pub region_id: Option<i64>,
    /// Dates to plan (the region's calendar), today or later; at most 14.
    pub dates: Vec<NaiveDate>,
    /// How long the planner may search, 1..=120 seconds (default 10).
    pub time_limit_seconds: Option<u32>,
    /// Seed of the planner's random choices (default 1): the same seed and inputs give the
    /// same plan when the search is not cut short by time.
    pub seed: Option<u32>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub region_id: i64,
    pub dates: Vec<NaiveDate>,
    pub status: PlanStatus,
    pub time_limit_seconds: f64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why planning failed, when it did.
    pub error: Option<String>,
    /// The plan, when done.
    pub draft: Option<DraftView>,
}

/// A finished plan as coordinators see it. Times are local to the region (`time_zone`), as
/// `HH:MM`.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = Draft)]
pub struct DraftView {
    pub time_zone: String,
    pub routes: Vec<DraftRouteView>,
    pub unassigned: Vec<DraftUnassigned>,
    /// Places where many requests sit close together: candidates for a pop-up service.
    pub hotspots: Vec<DraftHotspot>,
    pub kpis: DraftKpis,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = DraftRoute)]
pub struct DraftRouteView {
    pub team_id: i64,
    pub team_name: String,
    pub date: NaiveDate,
    pub leave: String,
    pub back: String,
    pub distance_km: f64,
    pub travel_minutes: f64,
    pub stops: Vec<DraftStopView>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = DraftStop)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DraftStopView {
    Visit {
        request_id: i64,
        arrival: String,
        start: String,
        end: String,
        /// The hour promised to the citizen: the planned start rounded down to the half hour,
        /// and an hour and a half after.
        promised_window: PromisedWindow,
    },
    Break {
        start: String,
        end: String,
    },
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PromisedWindow {
    pub start: String,
    pub end: String,
}

impl DraftView {
    /// The stored draft in the region's local time, each time read on its route's day (a
    /// shift ending at midnight reads `24:00`).
    fn of(draft: Draft) -> Result<DraftView, ApiError> {
        let clock = super::views::region_clock(&draft.time_zone)?;
        let routes = draft
            .routes
            .into_iter()
            .map(|route: DraftRoute| {
                let local = |at| clock.local_on(route.date, at);
                let window = |span: Span| PromisedWindow {
                    start: local(span.start),
                    end: local(span.end),
                };
                DraftRouteView {
                    team_id: route.team_id,
                    team_name: route.team_name.clone(),
                    date: route.date,
                    leave: local(route.leave),
                    back: local(route.back),
                    distance_km: route.distance_km,
                    travel_minutes: route.travel_minutes,
                    stops: route
                        .stops
                        .iter()
                        .map(|stop| match *stop {
                            DraftStop::Visit {
                                request_id,
                                arrival,
                                visit,
                                promised,
                            } => DraftStopView::Visit {
                                request_id,
                                arrival: local(arrival),
                                start: local(visit.start),
                                end: local(visit.end),
                                promised_window: window(promised),
                            },
                            DraftStop::Break(span) => DraftStopView::Break {
                                start: local(span.start),
                                end: local(span.end),
                            },
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(DraftView {
            time_zone: draft.time_zone,
            routes,
            unassigned: draft.unassigned,
            hotspots: draft.hotspots,
            kpis: draft.kpis,
        })
    }
}

fn utc(t: chrono::NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

impl PlanView {
    fn from_row(row: PlanRow) -> Result<PlanView, ApiError> {
        let corrupt = |what: &str, e: serde_json::Error| {
            ApiError::internal(format!("stored plan {what} unreadable: {e}"))
        };
        let (draft, error) = match row.draft_json.as_deref().map(Draft::from_stored) {
            None => (None, row.error),
            Some(Ok(draft)) => (Some(DraftView::of(draft)?), row.error),
            // Shown as what it is rather than guessed at; publishing it is refused the same way.
            Some(Err(StoredDraftError::Outdated { found })) => (
                None,
                Some(format!(
                    "this draft was stored by an earlier version of Jemput (format {found}): \
                     plan again"
                )),
            ),
            Some(Err(StoredDraftError::Corrupt(e))) => {
                return Err(ApiError::internal(format!(
                    "stored plan draft unreadable: {e}"
                )))
            }
        };
        Ok(PlanView {
            id: row.id,
            region_id: row.region_id,
            dates: serde_json::from_str(&row.dates).map_err(|e| corrupt("dates", e))?,
            status: row.status,
            time_limit_seconds: row.time_limit_ms as f64 / 1000.0,
            created_at: utc(row.created_at),
            started_at: row.started_at.map(utc),
            finished_at: row.finished_at.map(utc),
            error,
            draft,
        })
    }
}

/// Start planning some dates of a region. Answers at once (202); poll the job for the draft.
#[utoipa::path(
    tag = "plans",
    request_body = CreatePlan,
    responses((status = 202, body = PlanView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, description = "plan_in_progress: `Location` names the region's plan still queued or running", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/plans")]
pub async fn create(
    state: web::Data<AppState>,
    who: Principal,
    body: ValidJson<CreatePlan>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let b = body.0;
    let region_id = who.managed_region(b.region_id)?;
    let mut dates = b.dates;
    dates.sort_unstable();
    dates.dedup();
    if dates.is_empty() {
        return Err(Invalid::new("dates", ErrorCode::Required, "give at least one date").into());
    }
    if dates.len() > MAX_DATES {
        return Err(Invalid::new(
            "dates",
            ErrorCode::TooMany,
            format!("at most {MAX_DATES} dates in one plan"),
        )
        .into());
    }
    let limit = b.time_limit_seconds.unwrap_or(DEFAULT_TIME_LIMIT);
    if !TIME_LIMITS.contains(&limit) {
        return Err(Invalid::new(
            "time_limit_seconds",
            ErrorCode::OutOfRange,
            format!(
                "between {} and {} seconds",
                TIME_LIMITS.start(),
                TIME_LIMITS.end()
            ),
        )
        .into());
    }
    let order = PlanOrder {
        region_id,
        dates,
        time_limit_ms: i64::from(limit) * 1000,
        seed: i64::from(b.seed.unwrap_or(1)),
    };
    let plans_at_once = state.settings.limits.plans_per_region;
    let plan = match workflow::plans::enqueue(&state.db, who.actor(), order, plans_at_once).await? {
        Enqueued::Queued(plan) => *plan,
        Enqueued::Busy(active) => {
            return Err(ApiError::new(
                ErrorCode::PlanInProgress,
                format!("plan {active} of this region is still queued or running: wait for it"),
            )
            .with_location(format!("/v1/plans/{active}")))
        }
    };
    let id = plan.id;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/plans/{id}")))
        .json(PlanView::from_row(plan)?))
}

/// A plan the caller (a coordinator of its region, or an admin) may see; 404 otherwise.
async fn visible_plan(state: &AppState, who: &Principal, id: i64) -> Result<PlanRow, ApiError> {
    who.require(&[Role::Coordinator, Role::Admin])?;
    let plan = state
        .db
        .read(move |conn| plans::find(conn, id))
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("plan"),
            other => other.into(),
        })?;
    if !who.sees_region(plan.region_id) {
        return Err(ApiError::not_found("plan"));
    }
    Ok(plan)
}

/// A planning job: its state and, when done, the draft.
#[utoipa::path(
    tag = "plans",
    params(("id" = i64, Path)),
    responses((status = 200, body = PlanView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/plans/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let plan = visible_plan(&state, &who, id).await?;
    Ok(HttpResponse::Ok().json(PlanView::from_row(plan)?))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PublishedView {
    /// Routes that got a new version (teams' phones are told).
    pub routes_changed: usize,
    /// Requests newly scheduled or moved (their citizens are told).
    pub requests_scheduled: usize,
    /// Requests taken off a route and waiting again (their citizens are told).
    pub requests_unscheduled: usize,
    /// Push messages written to the outbox.
    pub pushes: usize,
}

/// Make a finished plan live: in one transaction the routes get new versions, the requests
/// move to "scheduled" with their promised window, and every affected team phone and citizen
/// gets a push. Refused (409 `plan_outdated`) when routes or requests changed after the plan
/// was made, saying which.
#[utoipa::path(
    tag = "plans",
    params(("id" = i64, Path)),
    responses((status = 200, body = PublishedView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/plans/{id}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    visible_plan(&state, &who, id).await?;
    let published =
        workflow::publish::publish_plan(&state.db, who.actor(), id, JemputNotices).await?;
    Ok(HttpResponse::Ok().json(PublishedView {
        routes_changed: published.routes_changed,
        requests_scheduled: published.requests_scheduled,
        requests_unscheduled: published.requests_unscheduled,
        pushes: published.pushes,
    }))
}
