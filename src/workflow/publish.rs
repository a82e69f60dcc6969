//! Publishing a plan: in ONE transaction the routes get new versions, the requests their
//! schedule, and the outbox a push for every affected phone. The plan is re-read under the
//! region's lock and refused as outdated when anything it was made from changed since.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};

use super::{live, notify};
use crate::db::catalog;
use crate::db::dispatch as db_dispatch;
use crate::db::events::{self, Actor, Change};
use crate::db::plans::{self, PlanRow};
use crate::db::requests::{self, RequestRow};
use crate::db::routes::{
    self as db_routes, store_route, Publication, PublishRoute, RouteRow, RouteTarget, StopRow,
};
use crate::db::{lock_region, now, Db, DbConnection, DbError, DbResult};
use crate::domain::EventAction;
use crate::domain::{ErrorCode, PlanStatus, RequestStatus};
use crate::planning::draft::{Draft, StoredDraftError};
use crate::push::messages::Notices;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub routes_changed: usize,
    pub requests_scheduled: usize,
    pub requests_unscheduled: usize,
    pub pushes: usize,
}

fn refused(code: ErrorCode, message: String) -> DbError {
    DbError::Refused { code, message }
}

/// A route or request that changed under a publish (a writer that does not take the region's
/// lock, such as a citizen's edit, committed meanwhile) makes the plan stale.
fn outdated(error: DbError) -> DbError {
    match error {
        DbError::Refused {
            code: ErrorCode::VersionConflict,
            message,
        } => refused(
            ErrorCode::PlanOutdated,
            format!("this plan was made before newer changes; {message}. Plan again."),
        ),
        other => other,
    }
}

/// Make plan `plan_id` live, in one transaction of its own. Refused (409) when the plan has no
/// draft yet, is not done, is already published, or routes or requests it read changed after
/// it was made.
pub async fn publish_plan<N>(db: &Db, actor: Actor, plan_id: i64, notices: N) -> DbResult<Published>
where
    N: Notices + Send + 'static,
{
    db.write(move |conn| {
        // A draft, once there, never changes: it may be read before the region's lock.
        let plan = plans::find(conn, plan_id)?;
        let Some(publication) = publication_of(&plan)? else {
            return Err(refused(
                ErrorCode::InvalidState,
                "the plan has no draft yet: wait until it is done".to_string(),
            ));
        };
        publish(conn, &actor, &publication, &notices)
    })
    .await
}

/// The plan's draft as routes to store; None while it has no draft. A draft stored by an
/// earlier version of Jemput (another format) is not re-interpreted: planning again is the
/// honest way to publish those dates.
fn publication_of(plan: &PlanRow) -> DbResult<Option<Publication>> {
    let Some(draft_json) = plan.draft_json.as_deref() else {
        return Ok(None);
    };
    let dates: Vec<NaiveDate> = serde_json::from_str(&plan.dates)
        .map_err(|e| DbError::Corrupt(format!("stored plan dates unreadable: {e}")))?;
    match Draft::from_stored(draft_json) {
        Ok(draft) => Ok(Some(draft.publication(plan.id, dates))),
        Err(StoredDraftError::Outdated { .. }) if plan.published_at.is_some() => Err(refused(
            ErrorCode::PlanAlreadyPublished,
            "the plan is already published".to_string(),
        )),
        Err(StoredDraftError::Outdated { found }) => Err(refused(
            ErrorCode::PlanOutdated,
            format!(
                "this plan was stored by an earlier version of Jemput (draft format {found}): \
                 plan again"
            ),
        )),
        Err(StoredDraftError::Corrupt(e)) => Err(DbError::Corrupt(format!(
            "stored draft of plan {}: {e}",
            plan.id
        ))),
    }
}

/// Make `publication` live inside the caller's transaction: the body of [`publish_plan`].
/// Refused (409) when the plan is not done, already published, or routes or requests it read
/// changed after it was made.
pub fn publish(
    conn: &mut DbConnection,
    actor: &Actor,
    publication: &Publication,
    notices: &dyn Notices,
) -> DbResult<Published> {
    // The region's lock first, then everything is read again under it: two publishes of one
    // plan, or a publish and a coordinator's change, take turns, and the second sees the first.
    let region_id = plans::find(conn, publication.plan_id)?.region_id;
    lock_region(conn, region_id)?;
    let plan: PlanRow = plans::find(conn, publication.plan_id)?;
    if plan.published_at.is_some() {
        return Err(refused(
            ErrorCode::PlanAlreadyPublished,
            "the plan is already published".to_string(),
        ));
    }
    if plan.status != PlanStatus::Done {
        return Err(refused(
            ErrorCode::InvalidState,
            format!("the plan is {}, not done", plan.status),
        ));
    }
    let Some(basis) = plan.basis()? else {
        return Err(refused(
            ErrorCode::PlanOutdated,
            "this plan does not record what it was made from: plan again".to_string(),
        ));
    };
    let at = now();
    let existing: Vec<RouteRow> =
        db_routes::of_region_on(conn, plan.region_id, &publication.dates)?;
    let read_routes: HashMap<(i64, NaiveDate), i32> = basis
        .routes
        .iter()
        .map(|&(team, date, version)| ((team, date), version))
        .collect();
    let changed_routes: Vec<String> = existing
        .iter()
        .filter(|r| read_routes.get(&(r.team_id, r.date)) != Some(&r.version))
        .map(|r| {
            format!(
                "team {} on {} (now version {})",
                r.team_id, r.date, r.version
            )
        })
        .collect();
    let considered: Vec<i64> = publication
        .routes
        .iter()
        .flat_map(|r| r.stops.iter().map(|s| s.request_id))
        .chain(publication.unassigned.iter().copied())
        .collect();
    let requests: Vec<RequestRow> = requests::find_many(conn, &considered)?;
    let read_requests: HashMap<i64, i32> = basis.requests.iter().copied().collect();
    let changed_requests: Vec<String> = requests
        .iter()
        .filter(|r| {
            read_requests.get(&r.id) != Some(&r.version) || r.status == RequestStatus::Cancelled
        })
        .map(|r| format!("{} ({})", r.id, r.status))
        .collect();
    let keys: Vec<(i64, NaiveDate)> = publication
        .routes
        .iter()
        .filter(|r| !r.stops.is_empty())
        .map(|r| (r.team_id, r.date))
        .collect();
    let absent = db_dispatch::absent_on(conn, &publication.dates)?;
    let changed_routes: Vec<String> = changed_routes
        .into_iter()
        .chain(
            absent
                .iter()
                .filter(|a| keys.contains(a))
                .map(|(team, date)| format!("team {team} is off on {date}")),
        )
        .collect();
    if !changed_routes.is_empty() || !changed_requests.is_empty() {
        let mut what = Vec::new();
        if !changed_routes.is_empty() {
            what.push(format!("routes changed: {}", changed_routes.join(", ")));
        }
        if !changed_requests.is_empty() {
            what.push(format!("requests changed: {}", changed_requests.join(", ")));
        }
        return Err(refused(
            ErrorCode::PlanOutdated,
            format!(
                "this plan was made before newer changes; {}. Plan again.",
                what.join("; ")
            ),
        ));
    }
    let requests: HashMap<i64, RequestRow> = requests.into_iter().map(|r| (r.id, r)).collect();

    // What the live routes said before, per request: (team, date, window start).
    let existing_by_key: HashMap<(i64, NaiveDate), &RouteRow> =
        existing.iter().map(|r| ((r.team_id, r.date), r)).collect();
    let old_stops: Vec<StopRow> =
        db_routes::stops_of(conn, &existing.iter().map(|r| r.id).collect::<Vec<_>>())?;
    let route_key: HashMap<i64, (i64, NaiveDate)> = existing
        .iter()
        .map(|r| (r.id, (r.team_id, r.date)))
        .collect();
    let pinned_before: HashSet<(i64, i64, NaiveDate)> = old_stops
        .iter()
        .filter(|s| s.pinned)
        .filter_map(|s| {
            route_key
                .get(&s.route_id)
                .map(|&(t, d)| (s.request_id, t, d))
        })
        .collect();
    let mut old_place: HashMap<i64, (i64, NaiveDate, NaiveDateTime)> = HashMap::new();
    let mut old_sequence: BTreeMap<(i64, NaiveDate), Vec<(i64, NaiveDateTime)>> = BTreeMap::new();
    for stop in &old_stops {
        if let Some(&(team, date)) = route_key.get(&stop.route_id) {
            old_place.insert(stop.request_id, (team, date, stop.window_start));
            old_sequence
                .entry((team, date))
                .or_default()
                .push((stop.request_id, stop.planned_start));
        }
    }

    let mut result = Published::default();
    let mut new_place: HashMap<i64, (i64, NaiveDate)> = HashMap::new();
    let mut touched: BTreeSet<(i64, NaiveDate)> = BTreeSet::new();
    let mut new_versions: Vec<(i64, NaiveDate, i32)> = Vec::new();
    let new_routes: BTreeMap<(i64, NaiveDate), &PublishRoute> = publication
        .routes
        .iter()
        .map(|r| ((r.team_id, r.date), r))
        .collect();
    let keys: BTreeSet<(i64, NaiveDate)> = new_routes
        .keys()
        .copied()
        .chain(existing_by_key.keys().copied())
        .collect();
    for key in keys {
        let planned = new_routes.get(&key);
        let sequence: Vec<(i64, NaiveDateTime)> = planned
            .map(|r| {
                r.stops
                    .iter()
                    .map(|s| (s.request_id, s.planned_start))
                    .collect()
            })
            .unwrap_or_default();
        for (request, _) in &sequence {
            new_place.insert(*request, key);
        }
        // Same visits at the same times (or still no route and nothing to put on one): the
        // phones' copy stays current, so no new version and no push.
        let unchanged =
            old_sequence.get(&key).map_or(&[][..], Vec::as_slice) == sequence.as_slice();
        if unchanged && (existing_by_key.contains_key(&key) || sequence.is_empty()) {
            continue;
        }
        let Some(version) = store_route(
            conn,
            RouteTarget {
                region_id: plan.region_id,
                team_id: key.0,
                date: key.1,
                plan_id: Some(plan.id),
            },
            existing_by_key.get(&key).copied(),
            planned.copied(),
            &pinned_before,
            at,
        )
        .map_err(outdated)?
        else {
            continue;
        };
        touched.insert(key);
        new_versions.push((key.0, key.1, version));
        result.routes_changed += 1;
        result.pushes += notify::team(conn, notices, key.0, key.1, version)?;
    }

    // Citizens whose visit moved (or is new) hear when; those taken off hear that too.
    let clock = catalog::region_clock(conn, plan.region_id)?;
    for route in &publication.routes {
        for stop in &route.stops {
            let Some(request) = requests.get(&stop.request_id) else {
                continue;
            };
            // The team has been there already: the citizen has nothing new to hear.
            if request.status.is_visited() {
                continue;
            }
            let unchanged = old_place.get(&stop.request_id)
                == Some(&(route.team_id, route.date, stop.window_start))
                && request.status == RequestStatus::Scheduled;
            if unchanged {
                continue;
            }
            result.pushes += notify::scheduled(
                conn,
                actor,
                notices,
                request,
                EventAction::Scheduled,
                notify::Slot {
                    team_id: route.team_id,
                    date: route.date,
                    window: (stop.window_start, stop.window_end),
                },
                &clock,
            )
            .map_err(outdated)?;
            result.requests_scheduled += 1;
        }
    }
    for (&request_id, &(team, date, _)) in &old_place {
        if new_place.contains_key(&request_id) || !touched.contains(&(team, date)) {
            continue;
        }
        let request = requests::find(conn, request_id)?;
        if request.status != RequestStatus::Scheduled {
            continue;
        }
        result.pushes += notify::unscheduled(
            conn,
            actor,
            notices,
            &request,
            serde_json::json!({"schedule": {"unscheduled": true}}),
        )
        .map_err(outdated)?;
        result.requests_unscheduled += 1;
    }

    live::routes_changed(
        conn,
        plan.region_id,
        EventAction::Published,
        &publication.dates,
        &new_versions,
    )?;
    if !plans::mark_published(conn, plan.id, at)? {
        return Err(refused(
            ErrorCode::PlanAlreadyPublished,
            "the plan is already published".to_string(),
        ));
    }
    events::record(
        conn,
        actor,
        Change {
            entity: "plan",
            entity_id: plan.id,
            region_id: Some(plan.region_id),
            action: EventAction::Published,
            before: None,
            after: Some(serde_json::json!({
                "routes_changed": result.routes_changed,
                "requests_scheduled": result.requests_scheduled,
                "requests_unscheduled": result.requests_unscheduled,
            })),
        },
    )?;
    Ok(result)
}
