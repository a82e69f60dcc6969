//! Field teams' reports as stored: each report a `field_events` row (its phone-side id is
//! unique per account, so it is applied at most once), and the queries recording a batch
//! needs. The rules of applying a report live in `workflow::field_reports`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{field_events, route_stops, routes, teams, visit_requests};
use super::{now, DbConnection, DbResult};
use crate::domain::{FieldEventKind, RequestStatus};

/// One report, as parsed from the phone.
#[derive(Debug, Clone)]
pub struct FieldEvent {
    pub client_event_id: String,
    pub kind: FieldEventKind,
    pub request_id: Option<i64>,
    pub reason: Option<String>,
    pub position: Option<(f64, f64)>,
    pub client_at: NaiveDateTime,
}

/// Where a stop stands on its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentStop {
    pub route_id: i64,
    pub region_id: i64,
    pub team_id: i64,
    pub position: i32,
    pub planned_end: NaiveDateTime,
}

/// The regions of `team_ids`, ascending, each once.
pub fn regions_of_teams(conn: &mut DbConnection, team_ids: &[i64]) -> DbResult<Vec<i64>> {
    let mut regions: Vec<i64> = teams::table
        .filter(teams::id.eq_any(team_ids))
        .select(teams::region_id)
        .load(conn)?;
    regions.sort_unstable();
    regions.dedup();
    Ok(regions)
}

/// True when the account's report `client_event_id` is stored already.
pub fn seen(conn: &mut DbConnection, account_id: i64, client_event_id: &str) -> DbResult<bool> {
    let seen: Option<i64> = field_events::table
        .filter(field_events::account_id.eq(account_id))
        .filter(field_events::client_event_id.eq(client_event_id))
        .select(field_events::id)
        .first(conn)
        .optional()?;
    Ok(seen.is_some())
}

/// `request_id` when such a request exists.
pub fn known_request(conn: &mut DbConnection, request_id: i64) -> DbResult<Option<i64>> {
    Ok(visit_requests::table
        .find(request_id)
        .select(visit_requests::id)
        .first::<i64>(conn)
        .optional()?)
}

/// Store one report from `account_id`, with the request it names when that exists, and why
/// it was not applied when it was not.
pub fn insert(
    conn: &mut DbConnection,
    account_id: i64,
    event: &FieldEvent,
    request_id: Option<i64>,
    conflict: Option<String>,
) -> DbResult<()> {
    diesel::insert_into(field_events::table)
        .values((
            field_events::account_id.eq(account_id),
            field_events::client_event_id.eq(&event.client_event_id),
            field_events::kind.eq(event.kind),
            field_events::request_id.eq(request_id),
            field_events::reason.eq(&event.reason),
            field_events::lat.eq(event.position.map(|p| p.0)),
            field_events::lon.eq(event.position.map(|p| p.1)),
            field_events::client_at.eq(event.client_at),
            field_events::received_at.eq(now()),
            field_events::conflict.eq(conflict),
        ))
        .execute(conn)?;
    Ok(())
}

/// The stop the visit is on now: on the latest day that holds it (earlier days keep a missed
/// attempt as history).
pub fn current_stop(conn: &mut DbConnection, request_id: i64) -> DbResult<Option<CurrentStop>> {
    let stop: Option<(i64, i64, i64, i32, NaiveDateTime)> = route_stops::table
        .inner_join(routes::table)
        .filter(route_stops::request_id.eq(request_id))
        .order((routes::date.desc(), routes::id.desc()))
        .select((
            routes::id,
            routes::region_id,
            routes::team_id,
            route_stops::position,
            route_stops::planned_end,
        ))
        .first(conn)
        .optional()?;
    Ok(stop.map(
        |(route_id, region_id, team_id, position, planned_end)| CurrentStop {
            route_id,
            region_id,
            team_id,
            position,
            planned_end,
        },
    ))
}

/// The first stop after `position` on the route whose visit is still scheduled: (request,
/// citizen, planned start).
pub fn next_scheduled(
    conn: &mut DbConnection,
    route_id: i64,
    position: i32,
) -> DbResult<Option<(i64, i64, NaiveDateTime)>> {
    Ok(route_stops::table
        .inner_join(visit_requests::table)
        .filter(route_stops::route_id.eq(route_id))
        .filter(route_stops::position.gt(position))
        .filter(visit_requests::status.eq(RequestStatus::Scheduled))
        .order(route_stops::position.asc())
        .select((
            visit_requests::id,
            visit_requests::citizen_id,
            route_stops::planned_start,
        ))
        .first(conn)
        .optional()?)
}

/// A visit still to come on a team's route, in route order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemainingStop {
    pub request_id: i64,
    pub lat: f64,
    pub lon: f64,
    pub planned_start: NaiveDateTime,
    pub planned_end: NaiveDateTime,
    pub window_start: NaiveDateTime,
    pub window_end: NaiveDateTime,
}

/// The team's vehicle profile and the visits of its route of `date` still to come (scheduled),
/// in route order; None when the team has no route that day.
pub fn remaining_stops(
    conn: &mut DbConnection,
    team_id: i64,
    date: chrono::NaiveDate,
) -> DbResult<Option<(String, Vec<RemainingStop>)>> {
    let route: Option<i64> = routes::table
        .filter(routes::team_id.eq(team_id))
        .filter(routes::date.eq(date))
        .select(routes::id)
        .first(conn)
        .optional()?;
    let Some(route_id) = route else {
        return Ok(None);
    };
    let profile: String = teams::table
        .find(team_id)
        .select(teams::vehicle_profile)
        .first(conn)?;
    let stops = route_stops::table
        .inner_join(visit_requests::table)
        .filter(route_stops::route_id.eq(route_id))
        .filter(visit_requests::status.eq(RequestStatus::Scheduled))
        .order(route_stops::position.asc())
        .select((
            visit_requests::id,
            visit_requests::lat,
            visit_requests::lon,
            route_stops::planned_start,
            route_stops::planned_end,
            route_stops::window_start,
            route_stops::window_end,
        ))
        .load::<(
            i64,
            f64,
            f64,
            NaiveDateTime,
            NaiveDateTime,
            NaiveDateTime,
            NaiveDateTime,
        )>(conn)?
        .into_iter()
        .map(
            |(request_id, lat, lon, planned_start, planned_end, window_start, window_end)| {
                RemainingStop {
                    request_id,
                    lat,
                    lon,
                    planned_start,
                    planned_end,
                    window_start,
                    window_end,
                }
            },
        )
        .collect();
    Ok(Some((profile, stops)))
}
