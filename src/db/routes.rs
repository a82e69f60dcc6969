//! Published routes and their stops as typed rows, and the writes the workflows build on:
//! storing a route's next version (conditional on the version it was worked out from) and
//! moving a request to a status (conditional on its version, with its event).

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::catalog::{ServiceKindRow, TeamRow};
use super::events::{self, Actor, Change};
use super::requests::RequestRow;
use super::schema::{
    accounts, route_stops, routes, service_kinds, team_members, teams, visit_requests,
};
use super::{is_unique_violation, now, DbConnection, DbError, DbResult};
use crate::domain::ErrorCode;
use crate::domain::EventAction;
use crate::domain::{Language, RequestStatus};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = routes)]
pub struct RouteRow {
    pub id: i64,
    pub region_id: i64,
    pub team_id: i64,
    pub date: NaiveDate,
    pub version: i32,
    pub plan_id: Option<i64>,
    pub distance_m: f64,
    pub leave_at: NaiveDateTime,
    pub back_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// No plan changes a locked route; coordinators still may, by hand.
    pub locked: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = route_stops)]
pub struct StopRow {
    pub id: i64,
    pub route_id: i64,
    pub position: i32,
    pub request_id: i64,
    pub planned_start: NaiveDateTime,
    pub planned_end: NaiveDateTime,
    pub window_start: NaiveDateTime,
    pub window_end: NaiveDateTime,
    /// Plans keep a pinned stop on its team and date.
    pub pinned: bool,
}

/// One stop to publish; times in UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishStop {
    pub request_id: i64,
    pub planned_start: NaiveDateTime,
    pub planned_end: NaiveDateTime,
    pub window_start: NaiveDateTime,
    pub window_end: NaiveDateTime,
    /// Keep it on this team and date when plans are made again.
    pub pinned: bool,
}

#[derive(Debug, Clone)]
pub struct PublishRoute {
    pub team_id: i64,
    pub date: NaiveDate,
    pub distance_m: f64,
    pub leave_at: NaiveDateTime,
    pub back_at: NaiveDateTime,
    pub stops: Vec<PublishStop>,
}

/// A finished plan, ready to go live.
#[derive(Debug, Clone)]
pub struct Publication {
    pub plan_id: i64,
    pub dates: Vec<NaiveDate>,
    pub routes: Vec<PublishRoute>,
    /// Requests the plan considered but could not place.
    pub unassigned: Vec<i64>,
}

fn refused(code: ErrorCode, message: String) -> DbError {
    DbError::Refused { code, message }
}

/// Which route a write goes to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteTarget {
    pub region_id: i64,
    pub team_id: i64,
    pub date: NaiveDate,
    /// The plan the content comes from; None for a coordinator's change by hand.
    pub plan_id: Option<i64>,
}

fn route_changed(target: RouteTarget) -> DbError {
    refused(
        ErrorCode::VersionConflict,
        format!(
            "the route of team {} on {} changed meanwhile: reload and try again",
            target.team_id, target.date
        ),
    )
}

/// Store `content` as the next version of `existing` (its stops replaced), or as a new route
/// at version 1. An absent `content` empties an existing route and creates nothing. A stop
/// is pinned when it was pinned on this same team and date before. Returns the new version.
pub(crate) fn store_route(
    conn: &mut DbConnection,
    target: RouteTarget,
    existing: Option<&RouteRow>,
    content: Option<&PublishRoute>,
    pinned_before: &HashSet<(i64, i64, NaiveDate)>,
    at: NaiveDateTime,
) -> DbResult<Option<i32>> {
    let route_id = match existing {
        Some(route) => {
            let (distance, leave, back) = content
                .map_or((0.0, route.leave_at, route.leave_at), |r| {
                    (r.distance_m, r.leave_at, r.back_at)
                });
            // Only from the version the change was worked out from: another writer that got
            // there first leaves zero rows here, and this change is refused whole.
            let bumped = diesel::update(
                routes::table
                    .find(route.id)
                    .filter(routes::version.eq(route.version)),
            )
            .set((
                routes::version.eq(route.version.saturating_add(1)),
                routes::plan_id.eq(target.plan_id.or(route.plan_id)),
                routes::distance_m.eq(distance),
                routes::leave_at.eq(leave),
                routes::back_at.eq(back),
                routes::updated_at.eq(at),
            ))
            .execute(conn)?;
            if bumped == 0 {
                return Err(route_changed(target));
            }
            diesel::delete(route_stops::table.filter(route_stops::route_id.eq(route.id)))
                .execute(conn)?;
            route.id
        }
        None => {
            let Some(route) = content else {
                return Ok(None);
            };
            diesel::insert_into(routes::table)
                .values((
                    routes::region_id.eq(target.region_id),
                    routes::team_id.eq(target.team_id),
                    routes::date.eq(target.date),
                    routes::version.eq(1),
                    routes::plan_id.eq(target.plan_id),
                    routes::distance_m.eq(route.distance_m),
                    routes::leave_at.eq(route.leave_at),
                    routes::back_at.eq(route.back_at),
                    routes::updated_at.eq(at),
                    routes::locked.eq(false),
                ))
                .returning(routes::id)
                .get_result(conn)
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        route_changed(target)
                    } else {
                        e.into()
                    }
                })?
        }
    };
    for (position, stop) in content
        .map(|r| r.stops.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let pinned =
            stop.pinned || pinned_before.contains(&(stop.request_id, target.team_id, target.date));
        diesel::insert_into(route_stops::table)
            .values((
                route_stops::route_id.eq(route_id),
                route_stops::position.eq(position as i32),
                route_stops::request_id.eq(stop.request_id),
                route_stops::planned_start.eq(stop.planned_start),
                route_stops::planned_end.eq(stop.planned_end),
                route_stops::window_start.eq(stop.window_start),
                route_stops::window_end.eq(stop.window_end),
                route_stops::pinned.eq(pinned),
            ))
            .execute(conn)?;
    }
    Ok(Some(existing.map_or(1, |r| r.version.saturating_add(1))))
}

/// Move a request to `status` (new version) and record `action` in its event trail, with
/// `detail`'s fields beside the new status. Only from the version in `request`: refused with
/// `version_conflict` when the stored request moved on since it was read.
pub(crate) fn set_status(
    conn: &mut DbConnection,
    actor: &Actor,
    request: &RequestRow,
    status: RequestStatus,
    action: EventAction,
    detail: serde_json::Value,
) -> DbResult<()> {
    let changed = diesel::update(
        visit_requests::table
            .find(request.id)
            .filter(visit_requests::version.eq(request.version)),
    )
    .set((
        visit_requests::status.eq(status),
        visit_requests::version.eq(request.version.saturating_add(1)),
        visit_requests::updated_at.eq(now()),
    ))
    .execute(conn)?;
    events::record_versioned(
        conn,
        actor,
        changed,
        refused(
            ErrorCode::VersionConflict,
            format!(
                "request {} changed meanwhile (the citizen, or a report from the field): reload and try again",
                request.id
            ),
        ),
        Change {
            entity: "visit_request",
            entity_id: request.id,
            region_id: Some(request.region_id),
            action,
            before: Some(serde_json::json!({"status": request.status})),
            after: Some(with_status(status, detail)),
        },
    )
}

fn with_status(status: RequestStatus, detail: serde_json::Value) -> serde_json::Value {
    let mut after = serde_json::Map::new();
    after.insert("status".to_string(), status.as_str().into());
    if let serde_json::Value::Object(extra) = detail {
        after.extend(extra);
    }
    serde_json::Value::Object(after)
}

/// The region's routes on `dates`.
pub fn of_region_on(
    conn: &mut DbConnection,
    region_id: i64,
    dates: &[NaiveDate],
) -> DbResult<Vec<RouteRow>> {
    Ok(routes::table
        .filter(routes::region_id.eq(region_id))
        .filter(routes::date.eq_any(dates))
        .select(RouteRow::as_select())
        .load(conn)?)
}

/// The stops of `route_ids`, by route, in order.
pub fn stops_of(conn: &mut DbConnection, route_ids: &[i64]) -> DbResult<Vec<StopRow>> {
    Ok(route_stops::table
        .filter(route_stops::route_id.eq_any(route_ids))
        .order((route_stops::route_id, route_stops::position))
        .select(StopRow::as_select())
        .load(conn)?)
}

pub(crate) fn members_of(conn: &mut DbConnection, team_id: i64) -> DbResult<Vec<i64>> {
    Ok(team_members::table
        .filter(team_members::team_id.eq(team_id))
        .order(team_members::account_id)
        .select(team_members::account_id)
        .load(conn)?)
}

pub(crate) fn language_of(conn: &mut DbConnection, account_id: i64) -> DbResult<Language> {
    Ok(accounts::table
        .find(account_id)
        .select(accounts::language)
        .first(conn)
        .optional()?
        .unwrap_or(Language::Id))
}

/// A stop with what the team needs to know about it.
#[derive(Debug, Clone)]
pub struct StopDetail {
    pub stop: StopRow,
    pub request: RequestRow,
    pub kind: ServiceKindRow,
    pub citizen_name: String,
    pub citizen_phone: Option<String>,
}

/// The route of one of the officer's teams on `date`, with its stops in order.
pub fn of_officer(
    conn: &mut DbConnection,
    account_id: i64,
    date: NaiveDate,
) -> DbResult<(RouteRow, TeamRow, Vec<StopDetail>)> {
    let team_ids: Vec<i64> = team_members::table
        .filter(team_members::account_id.eq(account_id))
        .select(team_members::team_id)
        .load(conn)?;
    let route: RouteRow = routes::table
        .filter(routes::team_id.eq_any(&team_ids))
        .filter(routes::date.eq(date))
        .order(routes::team_id)
        .select(RouteRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)?;
    let team: TeamRow = teams::table
        .find(route.team_id)
        .select(TeamRow::as_select())
        .first(conn)?;
    let stops: Vec<StopRow> = route_stops::table
        .filter(route_stops::route_id.eq(route.id))
        .order(route_stops::position)
        .select(StopRow::as_select())
        .load(conn)?;
    let mut details = Vec::with_capacity(stops.len());
    for stop in stops {
        let request: RequestRow = visit_requests::table
            .find(stop.request_id)
            .select(RequestRow::as_select())
            .first(conn)?;
        let kind: ServiceKindRow = service_kinds::table
            .find(request.service_kind_id)
            .select(ServiceKindRow::as_select())
            .first(conn)?;
        let (citizen_name, citizen_phone): (String, super::personal::OptionalPersonal) =
            accounts::table
                .find(request.citizen_id)
                .select((accounts::display_name, accounts::phone))
                .first(conn)?;
        let citizen_phone = citizen_phone.into();
        details.push(StopDetail {
            stop,
            request,
            kind,
            citizen_name,
            citizen_phone,
        });
    }
    Ok((route, team, details))
}
