//! What the coordinators' consoles see happen live: each use case that changes routes or hears
//! from the field appends to the region's feed (`db::feed`) inside its own transaction, under
//! the region's lock it already holds, so an event is visible exactly when its change is. The
//! payloads carry ids, times and places of teams, never citizens' personal data.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use crate::db::{feed, DbConnection, DbResult};
use crate::domain::{Coordinates, EventAction, FieldEventKind, LiveEventKind, RequestStatus};
use crate::planning::eta::StopEta;

/// Routes of the region changed: `action` says how (`published`, `move`, `absent`,
/// `stop_cancelled`…); `routes` are the new `(team, date, version)`s; `dates` the days touched.
pub fn routes_changed(
    conn: &mut DbConnection,
    region_id: i64,
    action: EventAction,
    dates: &[NaiveDate],
    routes: &[(i64, NaiveDate, i32)],
) -> DbResult<()> {
    let mut dates: Vec<NaiveDate> = dates
        .iter()
        .copied()
        .chain(routes.iter().map(|r| r.1))
        .collect();
    dates.sort_unstable();
    dates.dedup();
    let routes: Vec<serde_json::Value> = routes
        .iter()
        .map(|(team_id, date, version)| json!({"team_id": team_id, "date": date, "version": version}))
        .collect();
    feed::append(
        conn,
        region_id,
        LiveEventKind::RouteChanged,
        &json!({"action": action.as_str(), "dates": dates, "routes": routes}),
    )?;
    Ok(())
}

/// A team reported from a stop (arrived, started, done, citizen absent, could not complete).
pub fn field_report(
    conn: &mut DbConnection,
    region_id: i64,
    team_id: i64,
    request_id: i64,
    kind: FieldEventKind,
    status: RequestStatus,
    at: NaiveDateTime,
) -> DbResult<()> {
    feed::append(
        conn,
        region_id,
        LiveEventKind::FieldReport,
        &json!({"team_id": team_id, "request_id": request_id, "report": kind, "status": status,
                "at": utc(at)}),
    )?;
    Ok(())
}

/// A team is on its way to its next stop, expected at `eta` (UTC).
pub fn on_the_way(
    conn: &mut DbConnection,
    region_id: i64,
    team_id: i64,
    request_id: i64,
    eta: NaiveDateTime,
) -> DbResult<()> {
    feed::append(
        conn,
        region_id,
        LiveEventKind::OnTheWay,
        &json!({"team_id": team_id, "request_id": request_id, "eta": utc(eta)}),
    )?;
    Ok(())
}

/// An officer's newest position.
pub fn position(
    conn: &mut DbConnection,
    region_id: i64,
    account_id: i64,
    team_ids: &[i64],
    at: NaiveDateTime,
    location: Coordinates,
    accuracy_m: Option<f64>,
) -> DbResult<()> {
    feed::append(
        conn,
        region_id,
        LiveEventKind::Position,
        &json!({"account_id": account_id, "team_ids": team_ids, "at": utc(at),
                "lat": location.lat, "lon": location.lon, "accuracy_m": accuracy_m}),
    )?;
    Ok(())
}

/// A team's remaining stops of `date`, their arrivals re-estimated from its newest position;
/// `late`: after the promised window.
pub fn eta_update(
    conn: &mut DbConnection,
    region_id: i64,
    team_id: i64,
    date: NaiveDate,
    from_position_at: NaiveDateTime,
    etas: &[StopEta],
) -> DbResult<()> {
    let stops: Vec<serde_json::Value> = etas
        .iter()
        .map(|e| json!({"request_id": e.request_id, "eta": utc(e.arrival), "late": e.late}))
        .collect();
    feed::append(
        conn,
        region_id,
        LiveEventKind::EtaUpdate,
        &json!({"team_id": team_id, "date": date, "at": utc(from_position_at), "stops": stops}),
    )?;
    Ok(())
}

/// A stored UTC time as RFC 3339 with its `Z`, as every view shows instants.
fn utc(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
