//! Coordinator rebalancing in storage: what the region's routes look like on some dates (a
//! snapshot the planning layer works a change out from), team absences, and the typed change
//! (`RouteEdit`) that `workflow::rebalance` stores in one transaction, refused whole when any
//! route, request or day it was worked out from changed.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::catalog::{self, RegionRow, ServiceKindRow, TeamRow};
use super::requests::RequestRow;
use super::routes::{PublishRoute, RouteRow, StopRow};
use super::schema::{route_stops, routes, team_absences, teams, visit_requests};
use super::{duplicate_of, now, DbConnection, DbError, DbResult};
use crate::domain::EventAction;

#[derive(Debug, Clone)]
pub struct LiveStop {
    pub stop: StopRow,
    pub request: RequestRow,
}

#[derive(Debug, Clone)]
pub struct LiveRoute {
    pub route: RouteRow,
    pub stops: Vec<LiveStop>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = team_absences)]
pub struct AbsenceRow {
    pub id: i64,
    pub team_id: i64,
    pub date: NaiveDate,
    pub reason: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// A region's published routes on some dates, with everything needed to time them.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub region: RegionRow,
    pub kinds: Vec<ServiceKindRow>,
    pub teams: Vec<TeamRow>,
    pub absences: Vec<AbsenceRow>,
    /// Ordered by date, then team.
    pub routes: Vec<LiveRoute>,
}

impl Snapshot {
    pub fn route(&self, team_id: i64, date: NaiveDate) -> Option<&LiveRoute> {
        self.routes
            .iter()
            .find(|r| r.route.team_id == team_id && r.route.date == date)
    }

    pub fn is_absent(&self, team_id: i64, date: NaiveDate) -> bool {
        self.absences
            .iter()
            .any(|a| a.team_id == team_id && a.date == date)
    }
}

pub fn snapshot(
    conn: &mut DbConnection,
    region_id: i64,
    dates: &[NaiveDate],
) -> DbResult<Snapshot> {
    let region = catalog::region_find(conn, region_id)?;
    let kinds = catalog::service_kinds_of_region(conn, region_id)?;
    let teams = catalog::teams_of_region(conn, region_id)?;
    let absences: Vec<AbsenceRow> = team_absences::table
        .inner_join(teams::table)
        .filter(teams::region_id.eq(region_id))
        .filter(team_absences::date.eq_any(dates))
        .order((team_absences::date, team_absences::team_id))
        .select(AbsenceRow::as_select())
        .load(conn)?;
    let route_rows: Vec<RouteRow> = routes::table
        .filter(routes::region_id.eq(region_id))
        .filter(routes::date.eq_any(dates))
        .order((routes::date, routes::team_id))
        .select(RouteRow::as_select())
        .load(conn)?;
    let stops: Vec<(StopRow, RequestRow)> = route_stops::table
        .inner_join(visit_requests::table)
        .filter(route_stops::route_id.eq_any(route_rows.iter().map(|r| r.id).collect::<Vec<_>>()))
        .order((route_stops::route_id, route_stops::position))
        .select((StopRow::as_select(), RequestRow::as_select()))
        .load(conn)?;
    let mut by_route: HashMap<i64, Vec<LiveStop>> = HashMap::new();
    for (stop, request) in stops {
        by_route
            .entry(stop.route_id)
            .or_default()
            .push(LiveStop { stop, request });
    }
    let routes = route_rows
        .into_iter()
        .map(|route| LiveRoute {
            stops: by_route.remove(&route.id).unwrap_or_default(),
            route,
        })
        .collect();
    Ok(Snapshot {
        region,
        kinds,
        teams,
        absences,
        routes,
    })
}

pub fn route_find(conn: &mut DbConnection, id: i64) -> DbResult<RouteRow> {
    routes::table
        .find(id)
        .select(RouteRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// The route a request is on, latest date first.
pub fn route_of_request(conn: &mut DbConnection, request_id: i64) -> DbResult<Option<RouteRow>> {
    Ok(routes::table
        .inner_join(route_stops::table)
        .filter(route_stops::request_id.eq(request_id))
        .order(routes::date.desc())
        .select(RouteRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn absences_of_team(conn: &mut DbConnection, team_id: i64) -> DbResult<Vec<AbsenceRow>> {
    Ok(team_absences::table
        .filter(team_absences::team_id.eq(team_id))
        .order(team_absences::date)
        .select(AbsenceRow::as_select())
        .load(conn)?)
}

/// Teams off on any of `dates`, in every region: (team, date).
pub fn absent_on(conn: &mut DbConnection, dates: &[NaiveDate]) -> DbResult<Vec<(i64, NaiveDate)>> {
    Ok(team_absences::table
        .filter(team_absences::date.eq_any(dates))
        .select((team_absences::team_id, team_absences::date))
        .load(conn)?)
}

/// Take the team off `date`; `Duplicate` when it is off already.
pub fn absence_insert(
    conn: &mut DbConnection,
    created_by: Option<i64>,
    team_id: i64,
    date: NaiveDate,
    reason: &str,
) -> DbResult<()> {
    diesel::insert_into(team_absences::table)
        .values((
            team_absences::team_id.eq(team_id),
            team_absences::date.eq(date),
            team_absences::reason.eq(reason),
            team_absences::created_by.eq(created_by),
            team_absences::created_at.eq(now()),
        ))
        .execute(conn)
        .map_err(duplicate_of("team absence on that date"))?;
    Ok(())
}

/// The team works on `date` again; false when it was not off.
pub fn absence_delete(conn: &mut DbConnection, team_id: i64, date: NaiveDate) -> DbResult<bool> {
    let removed = diesel::delete(
        team_absences::table
            .filter(team_absences::team_id.eq(team_id))
            .filter(team_absences::date.eq(date)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}

/// The route of `team_id` on `date`, if it has one.
pub fn route_on(
    conn: &mut DbConnection,
    team_id: i64,
    date: NaiveDate,
) -> DbResult<Option<RouteRow>> {
    Ok(routes::table
        .filter(routes::team_id.eq(team_id))
        .filter(routes::date.eq(date))
        .select(RouteRow::as_select())
        .first(conn)
        .optional()?)
}

/// Lock or unlock the route of `team_id` on `date`; returns its id.
pub fn set_locked(
    conn: &mut DbConnection,
    team_id: i64,
    date: NaiveDate,
    locked: bool,
) -> DbResult<i64> {
    let route_id: i64 = routes::table
        .filter(routes::team_id.eq(team_id))
        .filter(routes::date.eq(date))
        .select(routes::id)
        .first(conn)?;
    diesel::update(routes::table.find(route_id))
        .set(routes::locked.eq(locked))
        .execute(conn)?;
    Ok(route_id)
}

/// One route as a change leaves it.
#[derive(Debug, Clone)]
pub struct RouteChange {
    pub team_id: i64,
    pub date: NaiveDate,
    /// The version the change was worked out from; None when the route did not exist yet.
    pub expected_version: Option<i32>,
    pub locked: bool,
    pub content: PublishRoute,
    /// What the team sees changed (stops, order or times): its phones are told.
    pub tell_team: bool,
    /// Requests whose citizens must hear their new day or window.
    pub tell_citizens: Vec<i64>,
}

/// A worked-out change, ready to store.
#[derive(Debug, Clone)]
pub struct RouteEdit {
    pub region_id: i64,
    /// What the coordinator did, for the event trail (`stop_moved`, `team_absent`, …).
    pub action: EventAction,
    pub detail: serde_json::Value,
    pub routes: Vec<RouteChange>,
    /// Every request on the touched routes, with the version the change was worked out from.
    pub request_versions: Vec<(i64, i32)>,
    /// Requests taken off their route and back in the queue.
    pub unscheduled: Vec<i64>,
    /// A team taken off a day with this change: (team, date, reason).
    pub absence: Option<(i64, NaiveDate, String)>,
    /// For a change worked out from a whole day (a re-plan, a team taken off): the day as it
    /// was read. Any other route of that day changed, locked or a team off since refuses it.
    pub day: Option<DayState>,
}

/// What a day-wide change depends on: every route of the day with its version and lock, and
/// the teams off. The day's tag (`ETag`) is a hash of the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayState {
    pub date: NaiveDate,
    /// (route, version, locked), by route id.
    pub routes: Vec<(i64, i32, bool)>,
    /// Teams off that day, by id.
    pub absent: Vec<i64>,
}

impl DayState {
    pub fn of(snapshot: &Snapshot, date: NaiveDate) -> DayState {
        let mut routes: Vec<(i64, i32, bool)> = snapshot
            .routes
            .iter()
            .filter(|r| r.route.date == date)
            .map(|r| (r.route.id, r.route.version, r.route.locked))
            .collect();
        routes.sort_unstable();
        let mut absent: Vec<i64> = snapshot
            .absences
            .iter()
            .filter(|a| a.date == date)
            .map(|a| a.team_id)
            .collect();
        absent.sort_unstable();
        DayState {
            date,
            routes,
            absent,
        }
    }

    /// The day as stored now (read it under the region's lock).
    pub fn current(conn: &mut DbConnection, region_id: i64, date: NaiveDate) -> DbResult<DayState> {
        let routes: Vec<(i64, i32, bool)> = routes::table
            .filter(routes::region_id.eq(region_id))
            .filter(routes::date.eq(date))
            .order(routes::id)
            .select((routes::id, routes::version, routes::locked))
            .load(conn)?;
        let absent: Vec<i64> = team_absences::table
            .inner_join(teams::table)
            .filter(teams::region_id.eq(region_id))
            .filter(team_absences::date.eq(date))
            .order(team_absences::team_id)
            .select(team_absences::team_id)
            .load(conn)?;
        Ok(DayState {
            date,
            routes,
            absent,
        })
    }
}
