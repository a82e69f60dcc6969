//! Planning jobs and what the planner reads: queued by a coordinator, claimed by a runner (of
//! any instance sharing the database) under a lease it renews while solving, finished with a
//! draft or an error. A claim names its owner (instance and boot id); the result is stored only
//! while the owner still holds the job, so a job is never solved twice into the table, and a
//! job whose owner died is taken by another runner when its lease runs out.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::events::{self, Actor, Change};
use super::requests::RequestRow;
use super::schema::{plans, route_stops, routes, team_absences, teams, visit_requests};
use super::{now, Claimant, DbConnection, DbError, DbResult};
use crate::domain::EventAction;
use crate::domain::{PlanStatus, RequestStatus};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = plans)]
pub struct PlanRow {
    pub id: i64,
    pub region_id: i64,
    /// JSON array of dates.
    pub dates: String,
    pub status: PlanStatus,
    pub time_limit_ms: i64,
    pub seed: i64,
    pub requested_by: Option<i64>,
    pub draft_json: Option<String>,
    pub error: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
    /// The instance running (or that last ran) the job.
    pub claimed_by: Option<String>,
    /// The process of that instance, by boot id.
    pub claimed_boot: Option<String>,
    /// Until when the job is reserved to its owner; renewed while it is solved.
    pub lease_until: Option<NaiveDateTime>,
    /// How many times the job was started.
    pub attempts: i32,
    /// JSON [`PlanBasis`]: what the planner read.
    pub basis_json: Option<String>,
}

/// What a plan was worked out from, read in one consistent snapshot: the version of every
/// request the planner considered and of every route on the planned dates, and the teams
/// off. Publishing compares it with what is stored then: only a change to something the planner
/// read makes the plan stale, never a request filed while it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanBasis {
    /// (request, version).
    pub requests: Vec<(i64, i32)>,
    /// (team, date, version) of the routes that existed.
    pub routes: Vec<(i64, NaiveDate, i32)>,
    /// (team, date) taken off.
    pub absences: Vec<(i64, NaiveDate)>,
}

impl PlanRow {
    pub fn basis(&self) -> DbResult<Option<PlanBasis>> {
        self.basis_json
            .as_deref()
            .map(|json| {
                serde_json::from_str(json)
                    .map_err(|e| DbError::Corrupt(format!("basis of plan {}: {e}", self.id)))
            })
            .transpose()
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = plans)]
pub struct NewPlan {
    pub region_id: i64,
    pub dates: String,
    pub status: PlanStatus,
    pub time_limit_ms: i64,
    pub seed: i64,
    pub requested_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

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
            action: EventAction::Requested,
            before: None,
            after: Some(serde_json::json!({
                "dates": serde_json::from_str::<serde_json::Value>(&new.dates).unwrap_or_default(),
                "time_limit_ms": new.time_limit_ms,
            })),
        },
    )?;
    find(conn, id)
}

/// How many plans there are in each status.
pub fn count_by_status(conn: &mut DbConnection) -> DbResult<Vec<(PlanStatus, i64)>> {
    Ok(plans::table
        .group_by(plans::status)
        .select((plans::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// The region's plans still queued or running, oldest first.
pub fn active_in_region(conn: &mut DbConnection, region_id: i64) -> DbResult<Vec<i64>> {
    Ok(plans::table
        .filter(plans::region_id.eq(region_id))
        .filter(plans::status.eq_any([PlanStatus::Queued, PlanStatus::Running]))
        .order(plans::id)
        .select(plans::id)
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, id: i64) -> DbResult<PlanRow> {
    plans::table
        .find(id)
        .select(PlanRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// Take the oldest job waiting (queued, or running under a lease that ran out: its owner
/// died), marking it running for `lease_secs` on behalf of `by`; None when nothing waits.
/// Mark the plan published at `at`; false when it already was.
pub fn mark_published(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> DbResult<bool> {
    let marked = diesel::update(plans::table.find(id).filter(plans::published_at.is_null()))
        .set(plans::published_at.eq(Some(at)))
        .execute(conn)?;
    Ok(marked > 0)
}

pub fn claim_next(
    conn: &mut DbConnection,
    by: &Claimant,
    lease_secs: i64,
) -> DbResult<Option<PlanRow>> {
    let at = now();
    let waiting = plans::status.eq(PlanStatus::Queued).or(plans::status
        .eq(PlanStatus::Running)
        .and(plans::lease_until.lt(at)));
    let next: Option<i64> = match conn {
        // Runners of other instances skip the job this one is taking instead of waiting for it,
        // and never take it too.
        DbConnection::Postgresql(pg) => plans::table
            .filter(waiting)
            .order(plans::id.asc())
            .select(plans::id)
            .for_update()
            .skip_locked()
            .first(pg)
            .optional()?,
        // SQLite has one writer at a time: `Db::write` serialises this process's writes, and
        // the database lock another process's (the update below re-checks that it waits).
        DbConnection::Sqlite(lite) => plans::table
            .filter(waiting)
            .order(plans::id.asc())
            .select(plans::id)
            .first(lite)
            .optional()?,
    };
    let Some(id) = next else { return Ok(None) };
    let before = find(conn, id)?;
    let claimed = diesel::update(plans::table.find(id).filter(waiting))
        .set((
            plans::status.eq(PlanStatus::Running),
            plans::started_at.eq(Some(at)),
            plans::claimed_by.eq(Some(&by.instance_id)),
            plans::claimed_boot.eq(Some(&by.boot_id)),
            plans::lease_until.eq(Some(at + chrono::Duration::seconds(lease_secs))),
            plans::attempts.eq(plans::attempts + 1),
        ))
        .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    let plan = find(conn, id)?;
    events::record(
        conn,
        &Actor::default(),
        Change {
            entity: "plan",
            entity_id: id,
            region_id: Some(plan.region_id),
            action: EventAction::PlanningStarted,
            before: Some(serde_json::json!({
                "status": before.status,
                "claimed_by": before.claimed_by,
            })),
            after: Some(serde_json::json!({
                "status": PlanStatus::Running,
                "claimed_by": by.instance_id,
                "boot_id": by.boot_id,
                "attempt": plan.attempts,
            })),
        },
    )?;
    Ok(Some(plan))
}

/// A finished plan: the draft and what it was worked out from (both JSON).
#[derive(Debug, Clone)]
pub struct Solved {
    pub draft_json: String,
    pub basis_json: String,
}

/// Extends the lease of a job `by` is solving; false when the job is no longer its own (the
/// lease ran out and another instance took it): the solve should stop.
pub fn renew(conn: &mut DbConnection, id: i64, by: &Claimant, lease_secs: i64) -> DbResult<bool> {
    let n = diesel::update(
        plans::table
            .find(id)
            .filter(plans::status.eq(PlanStatus::Running))
            .filter(plans::claimed_by.eq(&by.instance_id))
            .filter(plans::claimed_boot.eq(&by.boot_id)),
    )
    .set(plans::lease_until.eq(Some(now() + chrono::Duration::seconds(lease_secs))))
    .execute(conn)?;
    Ok(n > 0)
}

/// Records the outcome of a job `by` ran; false (nothing written) when the job is no longer
/// its own: another instance took it over, and only that one's result is stored.
pub fn finish(
    conn: &mut DbConnection,
    id: i64,
    by: &Claimant,
    outcome: Result<Solved, String>,
) -> DbResult<bool> {
    let (status, draft, basis, error) = match outcome {
        Ok(solved) => (
            PlanStatus::Done,
            Some(solved.draft_json),
            Some(solved.basis_json),
            None,
        ),
        Err(error) => (PlanStatus::Failed, None, None, Some(error)),
    };
    let n = diesel::update(
        plans::table
            .find(id)
            .filter(plans::status.eq(PlanStatus::Running))
            .filter(plans::claimed_by.eq(&by.instance_id))
            .filter(plans::claimed_boot.eq(&by.boot_id)),
    )
    .set((
        plans::status.eq(status),
        plans::draft_json.eq(draft),
        plans::basis_json.eq(basis),
        plans::error.eq(&error),
        plans::finished_at.eq(Some(now())),
        plans::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    let region_id = find(conn, id)?.region_id;
    events::record(
        conn,
        &Actor::default(),
        Change {
            entity: "plan",
            entity_id: id,
            region_id: Some(region_id),
            action: if status == PlanStatus::Done {
                EventAction::Planned
            } else {
                EventAction::PlanningFailed
            },
            before: Some(serde_json::json!({"status": PlanStatus::Running})),
            after: Some(serde_json::json!({
                "status": status,
                "claimed_by": by.instance_id,
                "boot_id": by.boot_id,
                "error": error,
            })),
        },
    )?;
    Ok(true)
}

/// Puts back in the queue, to be taken at once by any runner: the job `id` when `by` stops
/// without finishing it, or (`id` None, at start) every job a previous process of `by`'s
/// instance left running. Returns how many.
pub fn release(conn: &mut DbConnection, id: Option<i64>, by: &Claimant) -> DbResult<usize> {
    let mine = plans::table
        .filter(plans::status.eq(PlanStatus::Running))
        .filter(plans::claimed_by.eq(&by.instance_id))
        .into_boxed();
    let mine = match id {
        Some(id) => mine
            .filter(plans::id.eq(id))
            .filter(plans::claimed_boot.eq(&by.boot_id)),
        None => mine.filter(plans::claimed_boot.ne(&by.boot_id)),
    };
    let ids: Vec<i64> = mine.select(plans::id).load(conn)?;
    for &job in &ids {
        let plan = find(conn, job)?;
        diesel::update(
            plans::table
                .find(job)
                .filter(plans::status.eq(PlanStatus::Running)),
        )
        .set((
            plans::status.eq(PlanStatus::Queued),
            plans::started_at.eq(None::<NaiveDateTime>),
            plans::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        events::record(
            conn,
            &Actor::default(),
            Change {
                entity: "plan",
                entity_id: job,
                region_id: Some(plan.region_id),
                action: EventAction::PlanningRequeued,
                before: Some(serde_json::json!({
                    "status": PlanStatus::Running,
                    "claimed_by": plan.claimed_by,
                    "boot_id": plan.claimed_boot,
                })),
                after: Some(serde_json::json!({"status": PlanStatus::Queued})),
            },
        )?;
    }
    Ok(ids.len())
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

/// The version of every route of the region within `first..=last`: (team, date, version).
pub fn route_versions(
    conn: &mut DbConnection,
    region_id: i64,
    first: NaiveDate,
    last: NaiveDate,
) -> DbResult<Vec<(i64, NaiveDate, i32)>> {
    Ok(routes::table
        .filter(routes::region_id.eq(region_id))
        .filter(routes::date.between(first, last))
        .order((routes::date, routes::team_id))
        .select((routes::team_id, routes::date, routes::version))
        .load(conn)?)
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
