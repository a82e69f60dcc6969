//! Published routes and their stops, and publishing a plan: in ONE transaction the routes get
//! new versions, the requests their schedule, and the outbox a push for every affected phone.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::catalog::{ServiceKindRow, TeamRow};
use super::events::{self, Actor, Change};
use super::outbox::{self, PushMessage};
use super::plans::{self, PlanRow};
use super::requests::RequestRow;
use super::schema::{
    accounts, plans as plans_table, route_stops, routes, service_kinds, team_absences,
    team_members, teams, visit_requests,
};
use super::{is_unique_violation, lock_region, now, DbConnection, DbError, DbResult};
use crate::domain::ErrorCode;
use crate::domain::{PushKind, RequestStatus};

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

/// One stop to publish; times in UTC, plus the window as the citizen reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishStop {
    pub request_id: i64,
    pub planned_start: NaiveDateTime,
    pub planned_end: NaiveDateTime,
    pub window_start: NaiveDateTime,
    pub window_end: NaiveDateTime,
    /// Local `HH:MM` of the window, for the citizen's message.
    pub window_local: (String, String),
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

/// The words of each push; written by the push layer, in the reader's language.
pub trait Notices {
    /// To a team member's phones: the route of `date` is now at `version`.
    fn route_changed(&self, team_id: i64, date: NaiveDate, version: i32) -> PushMessage;
    /// To a citizen: the visit is on `date` between `window`.
    fn visit_scheduled(
        &self,
        language: &str,
        request_id: i64,
        date: NaiveDate,
        window: &(String, String),
    ) -> PushMessage;
    /// To a citizen: the planned visit is off; it will be planned again.
    fn visit_unscheduled(&self, language: &str, request_id: i64) -> PushMessage;
    /// To a citizen: the team is on its way, expected at `eta` (local `HH:MM`).
    fn visit_on_the_way(&self, language: &str, request_id: i64, eta: &str) -> PushMessage;
    /// To a citizen: the visit is done.
    fn visit_done(&self, language: &str, request_id: i64) -> PushMessage;
    /// To a citizen: the team could not serve them; the visit will be planned again.
    fn visit_missed(&self, language: &str, request_id: i64) -> PushMessage;
}

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

/// Make `publication` live. Refused (409) when the plan is not done, already published, or
/// routes or requests it read changed after it was made.
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
    if plan.status != plans::DONE {
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
    let existing: Vec<RouteRow> = routes::table
        .filter(routes::region_id.eq(plan.region_id))
        .filter(routes::date.eq_any(&publication.dates))
        .select(RouteRow::as_select())
        .load(conn)?;
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
    let requests: Vec<RequestRow> = visit_requests::table
        .filter(visit_requests::id.eq_any(&considered))
        .select(RequestRow::as_select())
        .load(conn)?;
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
    let absent: Vec<(i64, NaiveDate)> = team_absences::table
        .filter(team_absences::date.eq_any(&publication.dates))
        .select((team_absences::team_id, team_absences::date))
        .load(conn)?;
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
    let old_stops: Vec<StopRow> = route_stops::table
        .filter(route_stops::route_id.eq_any(existing.iter().map(|r| r.id).collect::<Vec<_>>()))
        .order((route_stops::route_id, route_stops::position))
        .select(StopRow::as_select())
        .load(conn)?;
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
        result.routes_changed += 1;
        for member in members_of(conn, key.0)? {
            result.pushes += outbox::enqueue_for_account(
                conn,
                PushKind::RouteChanged,
                member,
                &notices.route_changed(key.0, key.1, version),
            )?;
        }
    }

    // Citizens whose visit moved (or is new) hear when; those taken off hear that too.
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
            set_status(
                conn,
                actor,
                request,
                RequestStatus::Scheduled,
                "scheduled",
                serde_json::json!({"schedule": {
                    "team_id": route.team_id, "date": route.date,
                    "window": [stop.window_local.0, stop.window_local.1],
                }}),
            )
            .map_err(outdated)?;
            result.requests_scheduled += 1;
            let language = language_of(conn, request.citizen_id)?;
            result.pushes += outbox::enqueue_for_account(
                conn,
                PushKind::VisitScheduled,
                request.citizen_id,
                &notices.visit_scheduled(&language, request.id, route.date, &stop.window_local),
            )?;
        }
    }
    for (&request_id, &(team, date, _)) in &old_place {
        if new_place.contains_key(&request_id) || !touched.contains(&(team, date)) {
            continue;
        }
        let request: RequestRow = visit_requests::table
            .find(request_id)
            .select(RequestRow::as_select())
            .first(conn)?;
        if request.status != RequestStatus::Scheduled {
            continue;
        }
        set_status(
            conn,
            actor,
            &request,
            RequestStatus::Submitted,
            "unscheduled",
            serde_json::json!({"schedule": {"unscheduled": true}}),
        )
        .map_err(outdated)?;
        result.requests_unscheduled += 1;
        let language = language_of(conn, request.citizen_id)?;
        result.pushes += outbox::enqueue_for_account(
            conn,
            PushKind::VisitUnscheduled,
            request.citizen_id,
            &notices.visit_unscheduled(&language, request.id),
        )?;
    }

    let marked = diesel::update(
        plans_table::table
            .find(plan.id)
            .filter(plans_table::published_at.is_null()),
    )
    .set(plans_table::published_at.eq(Some(at)))
    .execute(conn)?;
    if marked == 0 {
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
            action: "published",
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

/// A cancelled visit leaves its route: the other stops keep their times, the route gets a new
/// version and the team's phones are told. Returns the pushes written.
pub fn take_off_route(
    conn: &mut DbConnection,
    actor: &Actor,
    request_id: i64,
    notices: &dyn Notices,
) -> DbResult<usize> {
    let route: Option<RouteRow> = routes::table
        .inner_join(route_stops::table)
        .filter(route_stops::request_id.eq(request_id))
        .order(routes::date.desc())
        .select(RouteRow::as_select())
        .first(conn)
        .optional()?;
    let Some(route) = route else { return Ok(0) };
    let stops: Vec<StopRow> = route_stops::table
        .filter(route_stops::route_id.eq(route.id))
        .order(route_stops::position)
        .select(StopRow::as_select())
        .load(conn)?;
    let kept: Vec<PublishStop> = stops
        .iter()
        .filter(|s| s.request_id != request_id)
        .map(|s| PublishStop {
            request_id: s.request_id,
            planned_start: s.planned_start,
            planned_end: s.planned_end,
            window_start: s.window_start,
            window_end: s.window_end,
            window_local: (String::new(), String::new()),
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
            action: "stop_cancelled",
            before: Some(
                serde_json::json!({"version": route.version, "stops": stops.iter().map(|s| s.request_id).collect::<Vec<_>>()}),
            ),
            after: Some(
                serde_json::json!({"version": version, "stops": content.stops.iter().map(|s| s.request_id).collect::<Vec<_>>()}),
            ),
        },
    )?;
    let mut pushes = 0;
    for member in members_of(conn, route.team_id)? {
        pushes += outbox::enqueue_for_account(
            conn,
            PushKind::RouteChanged,
            member,
            &notices.route_changed(route.team_id, route.date, version),
        )?;
    }
    Ok(pushes)
}

/// Move a request to `status` (new version) and record `action` in its event trail, with
/// `detail`'s fields beside the new status. Only from the version in `request`: refused with
/// `version_conflict` when the stored request moved on since it was read.
pub(crate) fn set_status(
    conn: &mut DbConnection,
    actor: &Actor,
    request: &RequestRow,
    status: RequestStatus,
    action: &str,
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
    if changed == 0 {
        return Err(refused(
            ErrorCode::VersionConflict,
            format!(
                "request {} changed meanwhile (the citizen, or a report from the field): reload and try again",
                request.id
            ),
        ));
    }
    events::record(
        conn,
        actor,
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

pub(crate) fn members_of(conn: &mut DbConnection, team_id: i64) -> DbResult<Vec<i64>> {
    Ok(team_members::table
        .filter(team_members::team_id.eq(team_id))
        .order(team_members::account_id)
        .select(team_members::account_id)
        .load(conn)?)
}

pub(crate) fn language_of(conn: &mut DbConnection, account_id: i64) -> DbResult<String> {
    Ok(accounts::table
        .find(account_id)
        .select(accounts::language)
        .first(conn)
        .optional()?
        .unwrap_or_else(|| "id".to_string()))
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
        let (citizen_name, citizen_phone): (String, Option<String>) = accounts::table
            .find(request.citizen_id)
            .select((accounts::display_name, accounts::phone))
            .first(conn)?;
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
