//! Planning jobs and what the planner reads: queued by a coordinator, claimed by the runner,
//! finished with a draft or an error. Claiming is a compare-and-set on the status, so two
//! runners (or two service instances) never solve one job twice.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::events::{self, Actor, Change};
use super::requests::RequestRow;
use super::schema::{plans, route_stops, routes, team_absences, teams, visit_requests};
use super::{now, DbConnection, DbError, DbResult};
use crate::domain::RequestStatus;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = plans)]
pub struct PlanRow {
    pub id: i64,
    pub region_id: i64,
    /// JSON array of dates.
    pub dates: String,
    pub status: String,
    pub time_limit_ms: i64,
    pub seed: i64,
    pub requested_by: Option<i64>,
    pub draft_json: Option<String>,
    pub error: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = plans)]
pub struct NewPlan {
    pub region_id: i64,
    pub dates: String,
    pub status: String,
    pub time_limit_ms: i64,
    pub seed: i64,
    pub requested_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

pub fn insert(conn: &mut DbConnection, actor: &Actor, new: NewPlan) -> DbResult<PlanRow> {
    let id: i64 = diesel::insert_into(plans::table)
        .values(&new)
        .returning(plans::id)
        .get_result(conn)?;
    events::record(
        conn,
        actor,
        Change {
            entity: "plan",
            entity_id: id,
            region_id: Some(new.region_id),
            action: "requested",
            before: None,
            after: Some(serde_json::json!({
                "dates": serde_json::from_str::<serde_json::Value>(&new.dates).unwrap_or_default(),
                "time_limit_ms": new.time_limit_ms,
            })),
        },
    )?;
    find(conn, id)
}

pub fn find(conn: &mut DbConnection, id: i64) -> DbResult<PlanRow> {
    plans::table
        .find(id)
        .select(PlanRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// Take the oldest queued job, marking it running; None when nothing waits (or another runner
/// took it first).
pub fn claim_next(conn: &mut DbConnection) -> DbResult<Option<PlanRow>> {
    let next: Option<i64> = plans::table
        .filter(plans::status.eq(QUEUED))
        .order(plans::id.asc())
        .select(plans::id)
        .first(conn)
        .optional()?;
    let Some(id) = next else { return Ok(None) };
    let claimed = diesel::update(plans::table.find(id).filter(plans::status.eq(QUEUED)))
        .set((plans::status.eq(RUNNING), plans::started_at.eq(Some(now()))))
        .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    find(conn, id).map(Some)
}

/// Record the outcome of a running job.
pub fn finish(conn: &mut DbConnection, id: i64, outcome: Result<String, String>) -> DbResult<()> {
    let (status, draft, error) = match outcome {
        Ok(draft) => (DONE, Some(draft), None),
        Err(error) => (FAILED, None, Some(error)),
    };
    diesel::update(plans::table.find(id).filter(plans::status.eq(RUNNING)))
        .set((
            plans::status.eq(status),
            plans::draft_json.eq(draft),
            plans::error.eq(error),
            plans::finished_at.eq(Some(now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Jobs a stopped process left running go back to the queue (at start-up).
pub fn requeue_running(conn: &mut DbConnection) -> DbResult<usize> {
    Ok(
        diesel::update(plans::table.filter(plans::status.eq(RUNNING)))
            .set((
                plans::status.eq(QUEUED),
                plans::started_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
    )
}

/// Where a request sits on a published route, as a plan must respect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub team_id: i64,
    pub date: NaiveDate,
    pub position: i32,
    /// A coordinator pinned the stop to this team and date.
    pub pinned: bool,
    /// A coordinator locked the whole route.
    pub locked: bool,
    /// The window promised to the citizen (UTC).
    pub window: (NaiveDateTime, NaiveDateTime),
}

/// The request's current route stop, if it is on one inside the planned dates.
pub type Placed = Option<Placement>;

/// Requests of a region a plan of `first..=last` may place: those waiting for a visit whose
/// allowed dates meet the range, and those on a route inside it: scheduled ones (re-planned,
/// preferably where they are), and ones the team has started or finished (kept where they are:
/// the route's fixed beginning).
pub fn plannable_requests(
    conn: &mut DbConnection,
    region_id: i64,
    first: NaiveDate,
    last: NaiveDate,
) -> DbResult<Vec<(RequestRow, Placed)>> {
    type Row = (
        i64,
        i64,
        NaiveDate,
        i32,
        bool,
        bool,
        NaiveDateTime,
        NaiveDateTime,
    );
    let stops: Vec<Row> = route_stops::table
        .inner_join(routes::table)
        .filter(routes::region_id.eq(region_id))
        .filter(routes::date.between(first, last))
        .select((
            route_stops::request_id,
            routes::team_id,
            routes::date,
            route_stops::position,
            route_stops::pinned,
            routes::locked,
            route_stops::window_start,
            route_stops::window_end,
        ))
        .load(conn)?;
    let placed: std::collections::HashMap<i64, Placement> = stops
        .into_iter()
        .map(
            |(request, team_id, date, position, pinned, locked, start, end)| {
                (
                    request,
                    Placement {
                        team_id,
                        date,
                        position,
                        pinned,
                        locked,
                        window: (start, end),
                    },
                )
            },
        )
        .collect();
    let waiting: Vec<RequestRow> = visit_requests::table
        .filter(visit_requests::region_id.eq(region_id))
        .filter(visit_requests::status.eq_any([RequestStatus::Submitted, RequestStatus::Missed]))
        .filter(visit_requests::earliest_date.le(last))
        .filter(visit_requests::deadline.ge(first))
        .select(RequestRow::as_select())
        .load(conn)?;
    let on_routes: Vec<RequestRow> = visit_requests::table
        .filter(visit_requests::id.eq_any(placed.keys().copied().collect::<Vec<_>>()))
        .filter(visit_requests::status.eq_any([
            RequestStatus::Scheduled,
            RequestStatus::InProgress,
            RequestStatus::Completed,
        ]))
        .select(RequestRow::as_select())
        .load(conn)?;
    let mut all: Vec<(RequestRow, Placed)> = waiting
        .into_iter()
        .map(|r| (r, None))
        .chain(on_routes.into_iter().map(|r| {
            let at = placed.get(&r.id).copied();
            (r, at)
        }))
        .collect();
    all.sort_by_key(|(r, _)| r.id);
    all.dedup_by_key(|(r, _)| r.id);
    Ok(all)
}

/// Teams taken off a day, within `first..=last`: (team, date).
pub fn absences_between(
    conn: &mut DbConnection,
    region_id: i64,
    first: NaiveDate,
    last: NaiveDate,
) -> DbResult<Vec<(i64, NaiveDate)>> {
    Ok(team_absences::table
        .inner_join(teams::table)
        .filter(teams::region_id.eq(region_id))
        .filter(team_absences::date.between(first, last))
        .select((team_absences::team_id, team_absences::date))
        .load(conn)?)
}
