//! Field teams' reports, recorded offline and sent in batches. One transaction per batch; each
//! event is applied at most once (its phone-side id is unique per account); an event about a
//! stop no longer on the reporter's routes is stored with the conflict and reported back.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::events::Actor;
use super::outbox;
use super::requests::RequestRow;
use super::routes::{language_of, set_status};
use super::schema::{field_events, route_stops, routes, team_members, teams, visit_requests};
use super::{lock_account, lock_region, now, DbConnection, DbResult};
use crate::domain::{FieldEventKind, PushKind, RequestStatus};
use crate::push::messages::Notices;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventResult {
    Applied,
    /// Already received: nothing changed this time.
    Duplicate,
    /// Kept, but not applied; the text says why.
    Conflict(String),
}

/// Record and apply a batch in order. `local` shows a UTC time as the citizen reads it.
pub fn record_batch(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    batch: &[FieldEvent],
    notices: &dyn Notices,
    local: &dyn Fn(NaiveDateTime) -> String,
) -> DbResult<Vec<EventResult>> {
    let teams: Vec<i64> = team_members::table
        .filter(team_members::account_id.eq(account_id))
        .select(team_members::team_id)
        .load(conn)?;
    // Reports change routes and schedules: the regions' locks first (ascending, the one
    // order every writer uses), then the phone's own, so a batch replayed at once waits for
    // the first and finds its events already received.
    let mut regions: Vec<i64> = teams::table
        .filter(teams::id.eq_any(&teams))
        .select(teams::region_id)
        .load(conn)?;
    regions.sort_unstable();
    regions.dedup();
    for region in regions {
        lock_region(conn, region)?;
    }
    lock_account(conn, account_id)?;
    let mut results = Vec::with_capacity(batch.len());
    for event in batch {
        let seen: Option<i64> = field_events::table
            .filter(field_events::account_id.eq(account_id))
            .filter(field_events::client_event_id.eq(&event.client_event_id))
            .select(field_events::id)
            .first(conn)
            .optional()?;
        if seen.is_some() {
            results.push(EventResult::Duplicate);
            continue;
        }
        // A request that does not exist is this event's problem alone: it is kept (without the
        // reference) and answered as a conflict, and the rest of the batch goes on.
        let known_request = match event.request_id {
            Some(id) => visit_requests::table
                .find(id)
                .select(visit_requests::id)
                .first::<i64>(conn)
                .optional()?,
            None => None,
        };
        let result = match (event.request_id, known_request) {
            (Some(id), None) => {
                EventResult::Conflict(format!("unknown_request: there is no request {id}"))
            }
            (Some(request_id), Some(_)) if event.kind != FieldEventKind::Position => {
                apply(conn, actor, &teams, request_id, event, notices, local)?
            }
            _ => EventResult::Applied,
        };
        let conflict = match &result {
            EventResult::Conflict(why) => Some(why.clone()),
            _ => None,
        };
        diesel::insert_into(field_events::table)
            .values((
                field_events::account_id.eq(account_id),
                field_events::client_event_id.eq(&event.client_event_id),
                field_events::kind.eq(event.kind),
                field_events::request_id.eq(known_request),
                field_events::reason.eq(&event.reason),
                field_events::lat.eq(event.position.map(|p| p.0)),
                field_events::lon.eq(event.position.map(|p| p.1)),
                field_events::client_at.eq(event.client_at),
                field_events::received_at.eq(now()),
                field_events::conflict.eq(conflict),
            ))
            .execute(conn)?;
        results.push(result);
    }
    Ok(results)
}

fn apply(
    conn: &mut DbConnection,
    actor: &Actor,
    teams: &[i64],
    request_id: i64,
    event: &FieldEvent,
    notices: &dyn Notices,
    local: &dyn Fn(NaiveDateTime) -> String,
) -> DbResult<EventResult> {
    // The route the visit is on now: the latest day that holds it (earlier days keep a missed
    // attempt as history). Only that route's team may report on it.
    let stop: Option<(i64, i64, i32, NaiveDateTime)> = route_stops::table
        .inner_join(routes::table)
        .filter(route_stops::request_id.eq(request_id))
        .order((routes::date.desc(), routes::id.desc()))
        .select((
            routes::id,
            routes::team_id,
            route_stops::position,
            route_stops::planned_end,
        ))
        .first(conn)
        .optional()?;
    let Some((route_id, _, position, planned_end)) = stop.filter(|s| teams.contains(&s.1)) else {
        return Ok(EventResult::Conflict(
            "stop_moved: the visit is not on your team's route now".to_string(),
        ));
    };
    let request = visit_requests::table
        .find(request_id)
        .select(RequestRow::as_select())
        .first(conn)?;
    if matches!(
        request.status,
        RequestStatus::Completed | RequestStatus::Cancelled
    ) {
        return Ok(EventResult::Conflict(format!(
            "request_closed: the request is already {}",
            request.status
        )));
    }
    let (status, stop_done) = match event.kind {
        FieldEventKind::Arrived | FieldEventKind::Started => (RequestStatus::InProgress, false),
        FieldEventKind::Completed => (RequestStatus::Completed, true),
        FieldEventKind::CitizenAbsent | FieldEventKind::CouldNotComplete => {
            (RequestStatus::Missed, true)
        }
        FieldEventKind::Position => return Ok(EventResult::Applied),
    };
    if request.status != status {
        set_status(
            conn,
            actor,
            &request,
            status,
            event.kind.as_str(),
            serde_json::json!({"reason": event.reason, "client_at": event.client_at}),
        )?;
        let language = language_of(conn, request.citizen_id)?;
        let push = match event.kind {
            FieldEventKind::Completed => Some((
                PushKind::Completed,
                notices.visit_done(&language, request.id),
            )),
            FieldEventKind::CitizenAbsent => Some((
                PushKind::CitizenAbsent,
                notices.visit_missed(&language, request.id),
            )),
            FieldEventKind::CouldNotComplete => Some((
                PushKind::CouldNotComplete,
                notices.visit_missed(&language, request.id),
            )),
            _ => None,
        };
        if let Some((kind, message)) = push {
            outbox::enqueue_for_account(conn, kind, request.citizen_id, &message)?;
        }
    }
    if stop_done {
        tell_next_citizen(
            conn,
            route_id,
            position,
            event.client_at - planned_end,
            notices,
            local,
        )?;
    }
    Ok(EventResult::Applied)
}

/// The next citizen on the route hears the team is coming, with the plan's time shifted by
/// however late (never early) the team is running.
fn tell_next_citizen(
    conn: &mut DbConnection,
    route_id: i64,
    position: i32,
    delay: chrono::Duration,
    notices: &dyn Notices,
    local: &dyn Fn(NaiveDateTime) -> String,
) -> DbResult<()> {
    let next: Option<(i64, NaiveDateTime)> = route_stops::table
        .inner_join(visit_requests::table)
        .filter(route_stops::route_id.eq(route_id))
        .filter(route_stops::position.gt(position))
        .filter(visit_requests::status.eq(RequestStatus::Scheduled))
        .order(route_stops::position.asc())
        .select((visit_requests::id, route_stops::planned_start))
        .first(conn)
        .optional()?;
    let Some((request_id, planned_start)) = next else {
        return Ok(());
    };
    let citizen: i64 = visit_requests::table
        .find(request_id)
        .select(visit_requests::citizen_id)
        .first(conn)?;
    let language = language_of(conn, citizen)?;
    let eta = local(planned_start + delay.max(chrono::Duration::zero()));
    outbox::enqueue_for_account(
        conn,
        PushKind::VisitOnTheWay,
        citizen,
        &notices.visit_on_the_way(&language, request_id, &eta),
    )?;
    Ok(())
}
