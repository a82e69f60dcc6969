//! Field teams' reports, recorded offline and sent in batches. One transaction per batch; each
//! event is applied at most once (its phone-side id is unique per account); an event about a
//! stop no longer on the reporter's routes is stored with the conflict and reported back. A
//! report moves the visit's request on (with its event), tells its citizen, and tells the next
//! citizen on the route that the team is on its way.

use super::{live, notify};
use crate::db::events::Actor;
use crate::db::fieldwork::{self, CurrentStop, FieldEvent};
use crate::db::routes::set_status;
use crate::db::{
    accounts, catalog, lock_account, lock_region, requests, Db, DbConnection, DbResult,
};
use crate::domain::EventAction;
use crate::domain::{FieldEventKind, PushKind, RegionClock, RequestStatus};
use crate::push::messages::Notices;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventResult {
    Applied,
    /// Already received: nothing changed this time.
    Duplicate,
    /// Kept, but not applied; the text says why.
    Conflict(String),
}

/// Record and apply the batch of the officer `account_id` (of region `region_id`, whose clock
/// the citizens read) in order, in one transaction. One result per event.
pub async fn record<N>(
    db: &Db,
    actor: Actor,
    account_id: i64,
    region_id: i64,
    batch: Vec<FieldEvent>,
    notices: N,
) -> DbResult<Vec<EventResult>>
where
    N: Notices + Send + 'static,
{
    db.write(move |conn| {
        let clock = catalog::region_clock(conn, region_id)?;
        record_batch(conn, &actor, account_id, &batch, &notices, &clock)
    })
    .await
}

/// Record and apply a batch in order. `clock` shows a UTC time as the citizen reads it.
fn record_batch(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    batch: &[FieldEvent],
    notices: &dyn Notices,
    clock: &RegionClock,
) -> DbResult<Vec<EventResult>> {
    let teams = accounts::team_ids(conn, account_id)?;
    // Reports change routes and schedules: the regions' locks first (ascending, the one
    // order every writer uses), then the phone's own, so a batch replayed at once waits for
    // the first and finds its events already received.
    for region in fieldwork::regions_of_teams(conn, &teams)? {
        lock_region(conn, region)?;
    }
    lock_account(conn, account_id)?;
    let mut results = Vec::with_capacity(batch.len());
    for event in batch {
        if fieldwork::seen(conn, account_id, &event.client_event_id)? {
            results.push(EventResult::Duplicate);
            continue;
        }
        // A request that does not exist is this event's problem alone: it is kept (without the
        // reference) and answered as a conflict, and the rest of the batch goes on.
        let known_request = match event.request_id {
            Some(id) => fieldwork::known_request(conn, id)?,
            None => None,
        };
        let result = match (event.request_id, known_request) {
            (Some(id), None) => {
                EventResult::Conflict(format!("unknown_request: there is no request {id}"))
            }
            (Some(request_id), Some(_)) if event.kind != FieldEventKind::Position => {
                apply(conn, actor, &teams, request_id, event, notices, clock)?
            }
            _ => EventResult::Applied,
        };
        let conflict = match &result {
            EventResult::Conflict(why) => Some(why.clone()),
            _ => None,
        };
        fieldwork::insert(conn, account_id, event, known_request, conflict)?;
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
    clock: &RegionClock,
) -> DbResult<EventResult> {
    // Only the team of the route the visit is on now may report on it.
    let Some(stop) =
        fieldwork::current_stop(conn, request_id)?.filter(|s| teams.contains(&s.team_id))
    else {
        return Ok(EventResult::Conflict(
            "stop_moved: the visit is not on your team's route now".to_string(),
        ));
    };
    let request = requests::find(conn, request_id)?;
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
            EventAction::from(event.kind),
            serde_json::json!({"reason": event.reason, "client_at": event.client_at}),
        )?;
        let push = match event.kind {
            FieldEventKind::Completed => Some(PushKind::Completed),
            FieldEventKind::CitizenAbsent => Some(PushKind::CitizenAbsent),
            FieldEventKind::CouldNotComplete => Some(PushKind::CouldNotComplete),
            _ => None,
        };
        live::field_report(
            conn,
            stop.region_id,
            stop.team_id,
            request.id,
            event.kind,
            status,
            event.client_at,
        )?;
        if let Some(kind) = push {
            notify::citizen(conn, kind, request.citizen_id, |language| {
                if kind == PushKind::Completed {
                    notices.visit_done(language, request.id)
                } else {
                    notices.visit_missed(language, request.id)
                }
            })?;
        }
    }
    if stop_done {
        tell_next_citizen(
            conn,
            stop,
            event.client_at - stop.planned_end,
            notices,
            clock,
        )?;
    }
    Ok(EventResult::Applied)
}

/// The next citizen on the route hears the team is coming, with the plan's time shifted by
/// however late (never early) the team is running.
fn tell_next_citizen(
    conn: &mut DbConnection,
    stop: CurrentStop,
    delay: chrono::Duration,
    notices: &dyn Notices,
    clock: &RegionClock,
) -> DbResult<()> {
    let Some((request_id, citizen, planned_start)) =
        fieldwork::next_scheduled(conn, stop.route_id, stop.position)?
    else {
        return Ok(());
    };
    let eta_at = planned_start + delay.max(chrono::Duration::zero());
    live::on_the_way(conn, stop.region_id, stop.team_id, request_id, eta_at)?;
    let eta = clock.local(eta_at);
    notify::citizen(conn, PushKind::VisitOnTheWay, citizen, |language| {
        notices.visit_on_the_way(language, request_id, &eta)
    })?;
    Ok(())
}
