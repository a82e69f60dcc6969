//! Coordinator rebalancing, stored: a change worked out by `planning::dispatch` (a stop moved,
//! a route reordered, a team taken off a day, the rest of a day re-planned) goes live in ONE
//! transaction: new route versions, the event trail, citizens' schedules and the outbox.
//! Every route, request and day the change was worked out from must be unchanged, or the
//! whole change is refused as stale. Also: a team's absence taken back.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::{live, notify};
use crate::db::catalog;
use crate::db::dispatch::{self, DayState, RouteEdit};
use crate::db::events::{self, Actor, Change};
use crate::db::requests::{self, RequestRow};
use crate::db::routes::{self as db_routes, store_route, RouteTarget, StopRow};
use crate::db::{lock_region, now, Db, DbConnection, DbError, DbResult};
use crate::domain::ErrorCode;
use crate::domain::EventAction;
use crate::push::messages::Notices;

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

/// Store `edit` in a transaction of its own: refused whole (409 `version_conflict`, saying
/// what changed) when a route or request it was worked out from changed meanwhile.
pub async fn apply<N>(db: &Db, actor: Actor, edit: RouteEdit, notices: N) -> DbResult<EditApplied>
where
    N: Notices + Send + 'static,
{
    db.write(move |conn| apply_edit(conn, &actor, &edit, &notices))
        .await
}

/// The team works on `date` again (its routes are not re-planned by this; plan again).
/// `NotFound` when it was not off that day.
pub async fn remove_absence(
    db: &Db,
    actor: Actor,
    region_id: i64,
    team_id: i64,
    date: NaiveDate,
) -> DbResult<()> {
    db.write(move |conn| {
        lock_region(conn, region_id)?;
        if !dispatch::absence_delete(conn, team_id, date)? {
            return Err(DbError::NotFound);
        }
        live::routes_changed(conn, region_id, EventAction::AbsenceRemoved, &[date], &[])?;
        events::record(
            conn,
            &actor,
            Change {
                entity: "team",
                entity_id: team_id,
                region_id: Some(region_id),
                action: EventAction::AbsenceRemoved,
                before: Some(serde_json::json!({ "absent": date })),
                after: None,
            },
        )
    })
    .await
}

fn apply_edit(
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
    let clock = catalog::region_clock(conn, edit.region_id)?;
    let mut current = Vec::with_capacity(edit.routes.len());
    for change in &edit.routes {
        let route = dispatch::route_on(conn, change.team_id, change.date)?;
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
    let requests: HashMap<i64, RequestRow> = requests::find_many(conn, &ids)?
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
        dispatch::absence_insert(conn, actor.account_id, *team_id, *date, reason)?;
        events::record(
            conn,
            actor,
            Change {
                entity: "team",
                entity_id: *team_id,
                region_id: Some(edit.region_id),
                action: EventAction::Absent,
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
            Some(route) => db_routes::stops_of(conn, &[route.id])?,
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
        let route_id = dispatch::set_locked(conn, change.team_id, change.date, change.locked)?;
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
            applied.pushes += notify::team(conn, notices, change.team_id, change.date, version)?;
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
            let request = requests::find(conn, *request_id)?;
            applied.pushes += notify::scheduled(
                conn,
                actor,
                notices,
                &request,
                EventAction::Rescheduled,
                notify::Slot {
                    team_id: change.team_id,
                    date: change.date,
                    window: (stop.window_start, stop.window_end),
                },
                &clock,
            )?;
        }
    }
    let dates: Vec<NaiveDate> = edit.routes.iter().map(|r| r.date).collect();
    live::routes_changed(conn, edit.region_id, edit.action, &dates, &applied.versions)?;
    for request_id in &edit.unscheduled {
        let request = requests::find(conn, *request_id)?;
        applied.pushes += notify::unscheduled(
            conn,
            actor,
            notices,
            &request,
            serde_json::json!({"schedule": {"unscheduled": true}, "change": edit.action}),
        )?;
    }
    Ok(applied)
}
