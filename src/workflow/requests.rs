//! Changing a visit request after intake: called off, new preferred windows, a new priority.
//! The change applies only to the version the caller read (409 otherwise) and only in the
//! states the change allows. A scheduled visit that is called off also leaves its team's
//! route, in the same transaction and under the region's lock, and the team's phones hear so.

use std::collections::HashSet;

use super::WorkflowResult;
use super::{live, notify};
use crate::db::dispatch::route_of_request;
use crate::db::events::{self, Actor, Change};
use crate::db::requests::{self, RequestChange, RequestRow};
use crate::db::routes::{self as db_routes, store_route, PublishRoute, PublishStop};
use crate::db::routes::{RouteTarget, StopRow};
use crate::db::{lock_region, now, Db, DbConnection, DbError, DbResult};
use crate::domain::EventAction;
use crate::domain::{ErrorCode, PreferredWindow, Priority, RequestStatus};
use crate::push::messages::Notices;

/// Call off `seen` (the request as the caller read it, and may see) from `version`, until
/// the team has started the visit.
pub async fn cancel<N>(
    db: &Db,
    actor: Actor,
    seen: &RequestRow,
    version: i32,
    reason: Option<String>,
    notices: N,
) -> DbResult<RequestRow>
where
    N: Notices + Send + 'static,
{
    let allowed = RequestStatus::is_cancellable;
    change(
        db,
        actor,
        seen,
        version,
        allowed,
        RequestChange::Cancel { reason },
        notices,
    )
    .await
}

/// New preferred days for `seen` from `version`, each within its allowed dates, while the
/// visit is not yet made.
pub async fn set_preferred_windows<N>(
    db: &Db,
    actor: Actor,
    seen: &RequestRow,
    version: i32,
    windows: Vec<PreferredWindow>,
    notices: N,
) -> WorkflowResult<RequestRow>
where
    N: Notices + Send + 'static,
{
    let windows = PreferredWindow::validate_all(
        "preferred_windows",
        windows,
        seen.earliest_date,
        seen.deadline,
    )?;
    let json = serde_json::to_string(&windows)
        .map_err(|e| DbError::Corrupt(format!("windows not storable: {e}")))?;
    let allowed = RequestStatus::accepts_preference_changes;
    let change_windows = RequestChange::PreferredWindows(json);
    Ok(change(db, actor, seen, version, allowed, change_windows, notices).await?)
}

/// A coordinator's new priority for `seen` from `version`, until it is done or called off.
pub async fn set_priority<N>(
    db: &Db,
    actor: Actor,
    seen: &RequestRow,
    version: i32,
    priority: Priority,
    notices: N,
) -> DbResult<RequestRow>
where
    N: Notices + Send + 'static,
{
    let allowed = |s| !matches!(s, RequestStatus::Completed | RequestStatus::Cancelled);
    let change_priority = RequestChange::Priority(priority);
    change(db, actor, seen, version, allowed, change_priority, notices).await
}

/// Apply `change` to `seen` (the request as the caller read it, and may see) from `version`.
/// Refused with `version_conflict` when `version` is not the one read or the request moved
/// on meanwhile, and with `invalid_state` when its status is not `allowed`.
async fn change<N>(
    db: &Db,
    actor: Actor,
    seen: &RequestRow,
    version: i32,
    allowed: fn(RequestStatus) -> bool,
    change: RequestChange,
    notices: N,
) -> DbResult<RequestRow>
where
    N: Notices + Send + 'static,
{
    let status = seen.status;
    if seen.version != version {
        return Err(DbError::VersionConflict {
            current: seen.version,
        });
    }
    if !allowed(status) {
        return Err(DbError::Refused {
            code: ErrorCode::InvalidState,
            message: format!("a {status} request cannot be changed this way"),
        });
    }
    // A scheduled visit that is called off leaves the team's route (and the team hears so).
    let leaves_route =
        status == RequestStatus::Scheduled && matches!(change, RequestChange::Cancel { .. });
    let (id, region_id) = (seen.id, seen.region_id);
    db.write(move |conn| {
        // The route it leaves is written too: the region's lock comes first, as for every
        // route write (one lock order, so no deadlock with a publish).
        if leaves_route {
            lock_region(conn, region_id)?;
        }
        let updated = requests::change(conn, &actor, id, version, change)?;
        if leaves_route {
            take_off_route(conn, &actor, id, &notices)?;
        }
        Ok(updated)
    })
    .await
}

/// A cancelled visit leaves its route: the other stops keep their times, the route gets a new
/// version and the team's phones are told. Returns the pushes written.
fn take_off_route(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    notices: &dyn Notices,
) -> DbResult<usize> {
    let Some(route) = route_of_request(conn, request_id)? else {
        return Ok(0);
    };
    let stops: Vec<StopRow> = db_routes::stops_of(conn, &[route.id])?;
    let kept: Vec<PublishStop> = stops
        .iter()
        .filter(|s| s.request_id != request_id)
        .map(|s| PublishStop {
            request_id: s.request_id,
            planned_start: s.planned_start,
            planned_end: s.planned_end,
            window_start: s.window_start,
            window_end: s.window_end,
            pinned: s.pinned,
        })
        .collect();
    let content = PublishRoute {
        team_id: route.team_id,
        date: route.date,
        distance_m: route.distance_m,
        leave_at: route.leave_at,
        back_at: route.back_at,
        stops: kept,
    };
    let target = RouteTarget {
        region_id: route.region_id,
        team_id: route.team_id,
        date: route.date,
        plan_id: None,
    };
    let Some(version) = store_route(
        conn,
        target,
        Some(&route),
        Some(&content),
        &HashSet::new(),
        now(),
    )?
    else {
        return Ok(0);
    };
    events::record(
        conn,
        actor,
        Change {
            entity: "route",
            entity_id: route.id,
            region_id: Some(route.region_id),
            action: EventAction::StopCancelled,
            before: Some(
                serde_json::json!({"version": route.version, "stops": stops.iter().map(|s| s.request_id).collect::<Vec<_>>()}),
            ),
            after: Some(
                serde_json::json!({"version": version, "stops": content.stops.iter().map(|s| s.request_id).collect::<Vec<_>>()}),
            ),
        },
    )?;
    live::routes_changed(
        conn,
        route.region_id,
        EventAction::StopCancelled,
        &[],
        &[(route.team_id, route.date, version)],
    )?;
    notify::team(conn, notices, route.team_id, route.date, version)
}
