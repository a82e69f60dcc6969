//! Coordinator rebalancing in storage: what the region's routes look like on some dates (a
//! snapshot the planning layer works a change out from), team absences, and storing a worked
//! out change in ONE transaction: new route versions, the event trail, citizens' schedules and
//! the outbox. Every route and request the change was worked out from must be unchanged, or
//! the whole change is refused as stale.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::catalog::{self, RegionRow, ServiceKindRow, TeamRow};
use super::events::{self, Actor, Change};
use super::outbox;
use super::requests::RequestRow;
use super::routes::{
    language_of, members_of, set_status, store_route, PublishRoute, RouteRow, RouteTarget, StopRow,
};
use super::schema::{route_stops, routes, team_absences, teams, visit_requests};
use super::{is_unique_violation, lock_region, now, DbConnection, DbError, DbResult};
use crate::domain::ErrorCode;
use crate::domain::{PushKind, RequestStatus};
use crate::push::messages::Notices;

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

/// The team works on `date` again (its routes are not re-planned by this; plan again).
pub fn absence_remove(
    conn: &mut DbConnection,
    actor: &Actor,
    region_id: i64,
    team_id: i64,
    date: NaiveDate,
) -> DbResult<()> {
    lock_region(conn, region_id)?;
    let removed = diesel::delete(
        team_absences::table
            .filter(team_absences::team_id.eq(team_id))
            .filter(team_absences::date.eq(date)),
    )
    .execute(conn)?;
    if removed == 0 {
        return Err(DbError::NotFound);
    }
    events::record(
        conn,
        actor,
        Change {
            entity: "team",
            entity_id: team_id,
            region_id: Some(region_id),
            action: "absence_removed",
            before: Some(serde_json::json!({ "absent": date })),
            after: None,
        },
    )
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
    pub action: &'static str,
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

    /// The day as stored now, read under the region's lock.
    fn current(conn: &mut DbConnection, region_id: i64, date: NaiveDate) -> DbResult<DayState> {
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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditApplied {
    /// The new version of each changed route: (team, date, version).
    pub versions: Vec<(i64, NaiveDate, i32)>,
    pub pushes: usize,
}

fn stale(message: String) -> DbError {
    DbError::Refused {
        code: ErrorCode::VersionConflict,
        message,
    }
}

fn stop_ids(stops: &[StopRow]) -> Vec<i64> {
    stops.iter().map(|s| s.request_id).collect()
}

/// Store `edit`: refused whole (409 `version_conflict`, saying what changed) when a route or
/// request it was worked out from changed meanwhile.
pub fn apply_edit(
    conn: &mut DbConnection,
    actor: &Actor,
    edit: &RouteEdit,
    notices: &dyn Notices,
) -> DbResult<EditApplied> {
    // Under the region's lock the checks below stay true until this transaction commits.
    lock_region(conn, edit.region_id)?;
    if let Some(day) = &edit.day {
        if DayState::current(conn, edit.region_id, day.date)? != *day {
            return Err(stale(format!(
                "the routes of {} changed meanwhile: reload and try again",
                day.date
            )));
        }
    }
    let mut current: Vec<Option<RouteRow>> = Vec::with_capacity(edit.routes.len());
    for change in &edit.routes {
        let route: Option<RouteRow> = routes::table
            .filter(routes::team_id.eq(change.team_id))
            .filter(routes::date.eq(change.date))
            .select(RouteRow::as_select())
            .first(conn)
            .optional()?;
        let now_version = route.as_ref().map(|r| r.version);
        if now_version != change.expected_version {
            return Err(stale(format!(
                "the route of team {} on {} changed meanwhile (now {}): reload and try again",
                change.team_id,
                change.date,
                now_version.map_or("created".to_string(), |v| format!("version {v}")),
            )));
        }
        current.push(route);
    }
    let ids: Vec<i64> = edit.request_versions.iter().map(|(id, _)| *id).collect();
    let requests: HashMap<i64, RequestRow> = visit_requests::table
        .filter(visit_requests::id.eq_any(&ids))
        .select(RequestRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    for (id, version) in &edit.request_versions {
        if requests.get(id).map(|r| r.version) != Some(*version) {
            return Err(stale(format!(
                "request {id} changed meanwhile (a report from the field, or the citizen): reload and try again"
            )));
        }
    }
    if let Some((team_id, date, reason)) = &edit.absence {
        diesel::insert_into(team_absences::table)
            .values((
                team_absences::team_id.eq(team_id),
                team_absences::date.eq(date),
                team_absences::reason.eq(reason),
                team_absences::created_by.eq(actor.account_id),
                team_absences::created_at.eq(now()),
            ))
            .execute(conn)
            .map_err(|e| {
                if is_unique_violation(&e) {
                    DbError::Duplicate("team absence on that date")
                } else {
                    e.into()
                }
            })?;
        events::record(
            conn,
            actor,
            Change {
                entity: "team",
                entity_id: *team_id,
                region_id: Some(edit.region_id),
                action: "absent",
                before: None,
                after: Some(serde_json::json!({ "absent": date, "reason": reason })),
            },
        )?;
    }

    let at = now();
    let mut applied = EditApplied::default();
    let no_pins = HashSet::new();
    for (change, existing) in edit.routes.iter().zip(&current) {
        let before_stops: Vec<StopRow> = match existing {
            Some(route) => route_stops::table
                .filter(route_stops::route_id.eq(route.id))
                .order(route_stops::position)
                .select(StopRow::as_select())
                .load(conn)?,
            None => Vec::new(),
        };
        let target = RouteTarget {
            region_id: edit.region_id,
            team_id: change.team_id,
            date: change.date,
            plan_id: None,
        };
        let Some(version) = store_route(
            conn,
            target,
            existing.as_ref(),
            Some(&change.content),
            &no_pins,
            at,
        )?
        else {
            continue;
        };
        let route_id: i64 = routes::table
            .filter(routes::team_id.eq(change.team_id))
            .filter(routes::date.eq(change.date))
            .select(routes::id)
            .first(conn)?;
        diesel::update(routes::table.find(route_id))
            .set(routes::locked.eq(change.locked))
            .execute(conn)?;
        events::record(
            conn,
            actor,
            Change {
                entity: "route",
                entity_id: route_id,
                region_id: Some(edit.region_id),
                action: edit.action,
                before: existing.as_ref().map(|r| {
                    serde_json::json!({
                        "version": r.version, "locked": r.locked, "stops": stop_ids(&before_stops),
                    })
                }),
                after: Some(serde_json::json!({
                    "version": version,
                    "locked": change.locked,
                    "stops": change.content.stops.iter().map(|s| s.request_id).collect::<Vec<_>>(),
                    "pinned": change.content.stops.iter().filter(|s| s.pinned).map(|s| s.request_id).collect::<Vec<_>>(),
                    "change": edit.detail,
                })),
            },
        )?;
        applied
            .versions
            .push((change.team_id, change.date, version));
        if change.tell_team {
            for member in members_of(conn, change.team_id)? {
                applied.pushes += outbox::enqueue_for_account(
                    conn,
                    PushKind::RouteChanged,
                    member,
                    &notices.route_changed(change.team_id, change.date, version),
                )?;
            }
        }
        for request_id in &change.tell_citizens {
            let Some(stop) = change
                .content
                .stops
                .iter()
                .find(|s| s.request_id == *request_id)
            else {
                continue;
            };
            let request = find_request(conn, *request_id)?;
            set_status(
                conn,
                actor,
                &request,
                RequestStatus::Scheduled,
                "rescheduled",
                serde_json::json!({"schedule": {
                    "team_id": change.team_id, "date": change.date,
                    "window": [stop.window_local.0, stop.window_local.1],
                }}),
            )?;
            let language = language_of(conn, request.citizen_id)?;
            applied.pushes += outbox::enqueue_for_account(
                conn,
                PushKind::VisitScheduled,
                request.citizen_id,
                &notices.visit_scheduled(&language, request.id, change.date, &stop.window_local),
            )?;
        }
    }
    for request_id in &edit.unscheduled {
        let request = find_request(conn, *request_id)?;
        set_status(
            conn,
            actor,
            &request,
            RequestStatus::Submitted,
            "unscheduled",
            serde_json::json!({"schedule": {"unscheduled": true}, "change": edit.action}),
        )?;
        let language = language_of(conn, request.citizen_id)?;
        applied.pushes += outbox::enqueue_for_account(
            conn,
            PushKind::VisitUnscheduled,
            request.citizen_id,
            &notices.visit_unscheduled(&language, request.id),
        )?;
    }
    Ok(applied)
}

fn find_request(conn: &mut DbConnection, id: i64) -> DbResult<RequestRow> {
    visit_requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}
