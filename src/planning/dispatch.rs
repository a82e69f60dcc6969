//! Coordinator rebalancing, worked out: a change by hand (move a stop to another team or date,
//! reorder a route, swap two stops, pin a stop, lock a route) or a re-plan of one day (a team
//! taken off the day, or the rest of the day planned again) becomes the new content of every
//! route it touches, with what changes for whom: added distance, shifted windows, newly broken
//! rules, visits dropped. Nothing here writes; the caller previews the result or stores it with
//! `db::dispatch::apply_edit`, which refuses it when anything it was worked out from changed.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Timelike};
use jemput_planner as planner;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{
    build_problem, clock, made_on_route, minutes_of, planner_date, planner_job, planner_team,
    preferred_windows, promised, shift_on, PlanInput,
};
use crate::db::catalog::{ServiceKindRow, TeamRow};
use crate::db::dispatch::{DayState, LiveRoute, LiveStop, RouteChange, RouteEdit, Snapshot};
use crate::db::plans::Placement;
use crate::db::requests::RequestRow;
use crate::db::routes::{PublishRoute, PublishStop};
use crate::domain::{ErrorCode, Invalid, RequestStatus};

/// Why a change cannot be worked out; `api::error` maps each to HTTP.
#[derive(Debug)]
pub enum EditError {
    NotFound(&'static str),
    /// The state refuses the change (a 409 with a stable code).
    Conflict {
        code: ErrorCode,
        message: String,
    },
    Invalid(Invalid),
    /// Stored data we cannot read back: a fault on our side.
    Internal(String),
}

impl From<Invalid> for EditError {
    fn from(e: Invalid) -> Self {
        EditError::Invalid(e)
    }
}

fn conflict(code: ErrorCode, message: impl Into<String>) -> EditError {
    EditError::Conflict {
        code,
        message: message.into(),
    }
}

fn internal(message: impl std::fmt::Display) -> EditError {
    EditError::Internal(message.to_string())
}

/// A coordinator's change to one route (the route named in the path).
#[derive(Debug, Clone, PartialEq)]
pub enum RouteOp {
    /// Put the stop on another team's route and/or another date, at `position` (default: last).
    Move {
        request_id: i64,
        to_team_id: i64,
        to_date: NaiveDate,
        position: Option<usize>,
        /// The target route's version as the coordinator saw it (required when it exists).
        target_version: Option<i32>,
    },
    /// The route's stops in a new order (each exactly once).
    Reorder { request_ids: Vec<i64> },
    /// Exchange two stops' places (on one route, or across routes).
    Swap {
        request_id: i64,
        with_request_id: i64,
        /// The other route's version, when the other stop is on another route.
        other_version: Option<i32>,
    },
    /// Keep (or stop keeping) the stop on its team and date when plans are made again.
    Pin { request_id: i64, pinned: bool },
    /// Keep (or stop keeping) the whole route as it is when plans are made again.
    Lock { locked: bool },
}

impl RouteOp {
    fn action(&self) -> &'static str {
        match self {
            RouteOp::Move { .. } => "stop_moved",
            RouteOp::Reorder { .. } => "stops_reordered",
            RouteOp::Swap { .. } => "stops_swapped",
            RouteOp::Pin { pinned: true, .. } => "stop_pinned",
            RouteOp::Pin { pinned: false, .. } => "stop_unpinned",
            RouteOp::Lock { locked: true } => "route_locked",
            RouteOp::Lock { locked: false } => "route_unlocked",
        }
    }
}

/// A rule a stop or route breaks after the change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IssueView {
    /// Stable code: time_window, break_window, missing_skill, outside_dates, shift_end,
    /// max_visits, max_route_minutes, max_route_distance.
    pub code: String,
    pub message: String,
    /// Broken by this change (it was not before).
    pub new: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StopDiff {
    pub request_id: i64,
    pub pinned: bool,
    /// The team has been there: it stays where it is.
    pub visited: bool,
    /// Where the stop was, when it was on another route before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<RouteKey>,
    /// Planned start before and after (local `HH:MM`); before is absent for a stop new here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_before: Option<String>,
    pub planned_after: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_before: Option<[String; 2]>,
    pub window_after: [String; 2],
    /// The citizen is told the new day or window.
    pub window_changed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<IssueView>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RouteKey {
    pub team_id: i64,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RouteDiff {
    pub team_id: i64,
    pub team_name: String,
    pub date: NaiveDate,
    /// Absent for a route the change creates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_before: Option<i32>,
    pub locked: bool,
    pub distance_km_before: f64,
    pub distance_km_after: f64,
    pub added_km: f64,
    /// Back at the depot, local `HH:MM`, before and after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back_before: Option<String>,
    pub back_after: String,
    pub stops: Vec<StopDiff>,
    /// Rules the route as a whole breaks (shift end, most visits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<IssueView>,
    /// The team's phones are told (stops, order or times changed).
    pub team_told: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DroppedStop {
    pub request_id: i64,
    pub team_id: i64,
    /// Stable reason code (see the plan draft's unassigned reasons).
    pub reason: String,
    pub detail: String,
}

/// What a change does, route by route.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ChangePreview {
    pub routes: Vec<RouteDiff>,
    /// Visits taken off the day: back in the queue, their citizens told.
    pub dropped: Vec<DroppedStop>,
    /// Stops breaking a rule they did not break before the change.
    pub newly_infeasible: Vec<i64>,
    /// Citizens told of a new day or window.
    pub citizens_told: usize,
}

/// A worked-out change: what to store, and what to show.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub edit: RouteEdit,
    pub preview: ChangePreview,
}

/// Local time of region `zone`, both ways.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub zone: chrono_tz::Tz,
}

impl Clock {
    /// The clock of a stored IANA zone name.
    pub fn of_zone(stored: &str) -> Result<Clock, EditError> {
        Ok(Clock {
            zone: crate::domain::time_zone(stored)
                .map_err(|e| internal(format!("stored time zone unreadable: {}", e.message)))?,
        })
    }

    pub fn local(&self, utc: NaiveDateTime) -> String {
        chrono::Utc
            .from_utc_datetime(&utc)
            .with_timezone(&self.zone)
            .format("%H:%M")
            .to_string()
    }

    /// The local date and minutes after its midnight of a UTC time.
    pub fn local_minutes(&self, utc: NaiveDateTime) -> (NaiveDate, f64) {
        let local = chrono::Utc
            .from_utc_datetime(&utc)
            .with_timezone(&self.zone)
            .naive_local();
        let minutes = f64::from(local.time().num_seconds_from_midnight()) / 60.0;
        (local.date(), minutes)
    }

    /// Minutes after local midnight of `date` as UTC.
    pub fn utc(&self, date: NaiveDate, minutes: f64) -> Result<NaiveDateTime, EditError> {
        let local = date.and_time(chrono::NaiveTime::MIN)
            + chrono::Duration::seconds((minutes * 60.0).round() as i64);
        self.zone
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.naive_utc())
            .ok_or_else(|| internal(format!("{local} does not exist in {}", self.zone)))
    }
}

/// The ETag of a region's day: changes whenever any route of that day, or the day's team
/// absences, change. Re-plans of a day take it as `If-Match`.
pub fn day_tag(snapshot: &Snapshot, date: NaiveDate) -> String {
    let mut hash = Sha256::new();
    hash.update(date.to_string());
    for route in snapshot.routes.iter().filter(|r| r.route.date == date) {
        hash.update(format!(
            "|r{}:{}:{}",
            route.route.id, route.route.version, route.route.locked
        ));
    }
    for absence in snapshot.absences.iter().filter(|a| a.date == date) {
        hash.update(format!("|a{}", absence.team_id));
    }
    format!("day-{}", &hex::encode(hash.finalize())[..16])
}

/// One stop of a route being worked on.
#[derive(Debug, Clone)]
struct Work<'s> {
    stop: &'s LiveStop,
    pinned: bool,
}

fn made(stop: &LiveStop) -> bool {
    made_on_route(stop.request.status)
}

fn team_of(snapshot: &Snapshot, team_id: i64) -> Result<&TeamRow, EditError> {
    snapshot
        .teams
        .iter()
        .find(|t| t.id == team_id)
        .ok_or_else(|| internal(format!("team {team_id} of a route is missing")))
}

fn kind_of<'s>(
    snapshot: &'s Snapshot,
    request: &RequestRow,
) -> Result<&'s ServiceKindRow, EditError> {
    snapshot
        .kinds
        .iter()
        .find(|k| k.id == request.service_kind_id)
        .ok_or_else(|| internal(format!("service kind of request {} is missing", request.id)))
}

/// A one-team problem to time `stops` in order on `date`, with the requests' own dates,
/// windows and skills, so that every rule a hand-made order breaks is seen.
fn timing(
    snapshot: &Snapshot,
    team: &TeamRow,
    date: NaiveDate,
    stops: &[&LiveStop],
) -> Result<planner::Evaluation, EditError> {
    let Some(shift) = shift_on(team, date).map_err(internal)? else {
        return Err(EditError::Invalid(Invalid::new(
            "to_date",
            ErrorCode::NoShift,
            format!("team {} does not work on {date}", team.name),
        )));
    };
    let clock = region_clock(snapshot)?;
    let mut jobs = Vec::with_capacity(stops.len());
    for stop in stops {
        let request = &stop.request;
        let (promised_day, from) = clock.local_minutes(stop.stop.window_start);
        let (_, to) = clock.local_minutes(stop.stop.window_end);
        let windows = if made(stop) {
            Vec::new()
        } else if promised_day == date {
            // The citizen was told this window: the team keeps to it (waits if early).
            vec![planner::TimeWindow {
                start: planner::Minutes(from),
                end: planner::Minutes(to),
            }]
        } else {
            preferred_windows(request).map_err(internal)?
        };
        jobs.push(
            planner_job(
                request,
                kind_of(snapshot, request)?,
                windows,
                (request.earliest_date, request.deadline),
                None,
            )
            .map_err(internal)?,
        );
    }
    let problem = planner::Problem {
        jobs,
        teams: vec![planner_team(team, vec![shift]).map_err(internal)?],
        travel: planner::TravelSpec::GreatCircle,
        objective: planner::ObjectiveWeights::default(),
        previous: Vec::new(),
    };
    let ids: Vec<String> = stops.iter().map(|s| s.request.id.to_string()).collect();
    planner::evaluate(
        &problem,
        &team.id.to_string(),
        &planner_date(date).map_err(internal)?,
        &ids,
    )
    .map_err(|e| internal(format!("timing a route: {e}")))
}

/// A stop's new times, in minutes after local midnight.
#[derive(Debug, Clone, Copy)]
struct Times {
    start: f64,
    end: f64,
}

/// A route's new content, timed.
struct Timed<'s> {
    key: (i64, NaiveDate),
    stops: Vec<(Work<'s>, Option<Times>)>,
    leave: f64,
    back: f64,
    distance_m: f64,
    issues: Vec<planner::RouteIssue>,
}

/// Everything a change worked out needs to become a [`Proposal`].
struct Outcome<'s> {
    timed: Vec<Timed<'s>>,
    locked: HashMap<(i64, NaiveDate), bool>,
    /// Issues per (request, code) and per (team, date, code) before the change.
    issues_before: HashSet<(String, String)>,
    dropped: Vec<DroppedStop>,
    action: &'static str,
    detail: serde_json::Value,
    absence: Option<(i64, NaiveDate, String)>,
}

fn issue_key(key: (i64, NaiveDate), issue: &planner::RouteIssue) -> (String, String) {
    match &issue.job {
        Some(job) => (job.clone(), issue.code.to_string()),
        None => (format!("route {} {}", key.0, key.1), issue.code.to_string()),
    }
}

/// Issues the current routes already have, so a preview can tell old from new.
fn issues_now(
    snapshot: &Snapshot,
    keys: &[(i64, NaiveDate)],
) -> Result<HashSet<(String, String)>, EditError> {
    let mut seen = HashSet::new();
    for &key in keys {
        let Some(route) = snapshot.route(key.0, key.1) else {
            continue;
        };
        if route.stops.is_empty() {
            continue;
        }
        let team = team_of(snapshot, key.0)?;
        let stops: Vec<&LiveStop> = route.stops.iter().collect();
        if let Ok(evaluation) = timing(snapshot, team, key.1, &stops) {
            seen.extend(evaluation.issues.iter().map(|i| issue_key(key, i)));
        }
    }
    Ok(seen)
}

fn time_sequence<'s>(
    snapshot: &'s Snapshot,
    key: (i64, NaiveDate),
    work: Vec<Work<'s>>,
) -> Result<Timed<'s>, EditError> {
    let team = team_of(snapshot, key.0)?;
    let stops: Vec<&LiveStop> = work.iter().map(|w| w.stop).collect();
    let evaluation = timing(snapshot, team, key.1, &stops)?;
    let times: HashMap<String, Times> = evaluation
        .route
        .stops
        .iter()
        .filter_map(|s| match s {
            planner::Stop::Visit {
                job, start, end, ..
            } => Some((
                job.clone(),
                Times {
                    start: *start,
                    end: *end,
                },
            )),
            planner::Stop::Break { .. } => None,
        })
        .collect();
    Ok(Timed {
        key,
        stops: work
            .into_iter()
            .map(|w| {
                let t = times.get(&w.stop.request.id.to_string()).copied();
                (w, t)
            })
            .collect(),
        leave: evaluation.route.start,
        back: evaluation.route.end,
        distance_m: evaluation.route.distance,
        issues: evaluation.issues,
    })
}

fn current_work(route: Option<&LiveRoute>) -> Vec<Work<'_>> {
    route
        .map(|r| {
            r.stops
                .iter()
                .map(|stop| Work {
                    stop,
                    pinned: stop.stop.pinned,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Work out a change to the route `route_id`, which the coordinator read at `version`.
/// `today` is the region's date now: nothing is moved into the past.
pub fn propose_route_op(
    snapshot: &Snapshot,
    route_id: i64,
    version: i32,
    op: &RouteOp,
    today: NaiveDate,
) -> Result<Proposal, EditError> {
    let route = snapshot
        .routes
        .iter()
        .find(|r| r.route.id == route_id)
        .ok_or(EditError::NotFound("route"))?;
    if route.route.version != version {
        return Err(conflict(
            ErrorCode::VersionConflict,
            format!(
                "the route changed since you read it (now version {}): reload and try again",
                route.route.version
            ),
        ));
    }
    let here = (route.route.team_id, route.route.date);
    let on_route = |request_id: i64, field: &str| -> Result<usize, EditError> {
        route
            .stops
            .iter()
            .position(|s| s.request.id == request_id)
            .ok_or_else(|| {
                EditError::Invalid(Invalid::new(
                    field,
                    ErrorCode::NotOnRoute,
                    format!("request {request_id} is not on this route"),
                ))
            })
    };
    let movable = |stop: &LiveStop, locked: bool| -> Result<(), EditError> {
        if made(stop) {
            return Err(conflict(
                ErrorCode::StopVisited,
                format!(
                    "the team has already been to request {} ({}): it stays where it is",
                    stop.request.id, stop.request.status
                ),
            ));
        }
        if locked {
            return Err(conflict(
                ErrorCode::RouteLocked,
                "the route is locked: unlock it first",
            ));
        }
        Ok(())
    };
    let mut locked: HashMap<(i64, NaiveDate), bool> = HashMap::new();
    locked.insert(here, route.route.locked);
    let mut sequences: BTreeMap<(i64, NaiveDate), Vec<Work<'_>>> = BTreeMap::new();
    let mut retime = true;
    match op {
        RouteOp::Lock { locked: lock } => {
            locked.insert(here, *lock);
            sequences.insert(here, current_work(Some(route)));
            retime = false;
        }
        RouteOp::Pin { request_id, pinned } => {
            let at = on_route(*request_id, "request_id")?;
            let mut work = current_work(Some(route));
            work[at].pinned = *pinned;
            sequences.insert(here, work);
            retime = false;
        }
        RouteOp::Reorder { request_ids } => {
            let mut wanted = request_ids.clone();
            let mut have: Vec<i64> = route.stops.iter().map(|s| s.request.id).collect();
            wanted.sort_unstable();
            have.sort_unstable();
            if wanted != have {
                return Err(EditError::Invalid(Invalid::new(
                    "request_ids",
                    ErrorCode::InvalidOrder,
                    "list every stop of the route exactly once",
                )));
            }
            let mut work = Vec::with_capacity(request_ids.len());
            for (index, id) in request_ids.iter().enumerate() {
                let from = on_route(*id, "request_ids")?;
                let stop = &route.stops[from];
                if from != index {
                    movable(stop, route.route.locked)?;
                }
                work.push(Work {
                    stop,
                    pinned: stop.stop.pinned,
                });
            }
            sequences.insert(here, work);
        }
        RouteOp::Move {
            request_id,
            to_team_id,
            to_date,
            position,
            target_version,
        } => {
            let from = on_route(*request_id, "request_id")?;
            let stop = &route.stops[from];
            movable(stop, route.route.locked)?;
            let to = (*to_team_id, *to_date);
            let team = snapshot
                .teams
                .iter()
                .find(|t| t.id == *to_team_id && t.active)
                .ok_or_else(|| {
                    Invalid::new(
                        "to_team_id",
                        ErrorCode::UnknownReference,
                        "no such active team in this region",
                    )
                })?;
            if *to_date < today {
                return Err(Invalid::new(
                    "to_date",
                    ErrorCode::DateInPast,
                    format!("move it to today ({today}) or later"),
                )
                .into());
            }
            if snapshot.is_absent(to.0, to.1) {
                return Err(conflict(
                    ErrorCode::TeamAbsent,
                    format!("team {} is off on {to_date}", team.name),
                ));
            }
            let target = snapshot.route(to.0, to.1);
            if to != here {
                if let Some(target) = target {
                    match target_version {
                        None => {
                            return Err(EditError::Invalid(Invalid::new(
                                "target_version",
                                ErrorCode::Required,
                                format!(
                                    "give the version of the target route you read (now {})",
                                    target.route.version
                                ),
                            )))
                        }
                        Some(v) if *v != target.route.version => {
                            return Err(conflict(
                                ErrorCode::VersionConflict,
                                format!(
                                    "the target route changed since you read it (now version {}): reload and try again",
                                    target.route.version
                                ),
                            ))
                        }
                        Some(_) => {}
                    }
                    if target.route.locked {
                        return Err(conflict(
                            ErrorCode::RouteLocked,
                            "the target route is locked: unlock it first",
                        ));
                    }
                    locked.insert(to, target.route.locked);
                } else {
                    locked.insert(to, false);
                }
            }
            let mut source = current_work(Some(route));
            let moving = source.remove(from);
            let mut destination = if to == here {
                source.clone()
            } else {
                current_work(target)
            };
            // Never before a stop already made: those are the route's past.
            let first_free = destination
                .iter()
                .rposition(|w| made(w.stop))
                .map_or(0, |i| i + 1);
            let at = match position {
                Some(p) => (*p).clamp(first_free, destination.len()),
                None => best_position(snapshot, to, &destination, &moving, first_free)?,
            };
            destination.insert(at, moving);
            if to == here {
                sequences.insert(here, destination);
            } else {
                sequences.insert(here, source);
                sequences.insert(to, destination);
            }
        }
        RouteOp::Swap {
            request_id,
            with_request_id,
            other_version,
        } => {
            let a = on_route(*request_id, "request_id")?;
            movable(&route.stops[a], route.route.locked)?;
            let other = snapshot
                .routes
                .iter()
                .find(|r| r.stops.iter().any(|s| s.request.id == *with_request_id))
                .ok_or_else(|| {
                    Invalid::new(
                        "with_request_id",
                        ErrorCode::NotOnRoute,
                        format!("request {with_request_id} is on no route"),
                    )
                })?;
            let there = (other.route.team_id, other.route.date);
            let b = other
                .stops
                .iter()
                .position(|s| s.request.id == *with_request_id)
                .unwrap_or_default();
            movable(&other.stops[b], other.route.locked)?;
            if there == here {
                let mut work = current_work(Some(route));
                work.swap(a, b);
                sequences.insert(here, work);
            } else {
                match other_version {
                    Some(v) if *v == other.route.version => {}
                    Some(_) => {
                        return Err(conflict(
                            ErrorCode::VersionConflict,
                            format!(
                                "the other route changed since you read it (now version {}): reload and try again",
                                other.route.version
                            ),
                        ))
                    }
                    None => {
                        return Err(EditError::Invalid(Invalid::new(
                            "other_version",
                            ErrorCode::Required,
                            format!(
                                "give the version of the other route you read (now {})",
                                other.route.version
                            ),
                        )))
                    }
                }
                if other.route.date < today {
                    return Err(Invalid::new(
                        "with_request_id",
                        ErrorCode::DateInPast,
                        "the other stop's day is over",
                    )
                    .into());
                }
                let mut mine = current_work(Some(route));
                let mut theirs = current_work(Some(other));
                std::mem::swap(&mut mine[a], &mut theirs[b]);
                locked.insert(there, other.route.locked);
                sequences.insert(here, mine);
                sequences.insert(there, theirs);
            }
        }
    }
    if route.route.date < today && retime {
        return Err(Invalid::new("date", ErrorCode::DateInPast, "this route's day is over").into());
    }
    let keys: Vec<(i64, NaiveDate)> = sequences.keys().copied().collect();
    let issues_before = if retime {
        issues_now(snapshot, &keys)?
    } else {
        HashSet::new()
    };
    let mut timed = Vec::with_capacity(sequences.len());
    for (key, work) in sequences {
        if retime {
            timed.push(time_sequence(snapshot, key, work)?);
        } else {
            timed.push(as_stored(route, key, work));
        }
    }
    let detail = serde_json::json!({ "op": op.action(), "route_id": route_id });
    proposal(
        snapshot,
        Outcome {
            timed,
            locked,
            issues_before,
            dropped: Vec::new(),
            action: op.action(),
            detail,
            absence: None,
        },
    )
}

/// Where a stop fits best in a route: the place that breaks the fewest rules, then adds the
/// least distance (the last such place on a tie, so an unordered route keeps its order).
fn best_position<'s>(
    snapshot: &'s Snapshot,
    key: (i64, NaiveDate),
    route: &[Work<'s>],
    stop: &Work<'s>,
    first_free: usize,
) -> Result<usize, EditError> {
    let mut best: Option<((usize, f64), usize)> = None;
    for at in first_free..=route.len() {
        let mut candidate = route.to_vec();
        candidate.insert(at, stop.clone());
        let timed = time_sequence(snapshot, key, candidate)?;
        let score = (timed.issues.len(), timed.distance_m);
        if best.is_none_or(|(b, _)| score.0 < b.0 || (score.0 == b.0 && score.1 <= b.1)) {
            best = Some((score, at));
        }
    }
    Ok(best.map_or(route.len(), |(_, at)| at))
}

/// The route as stored (a pin or a lock changes no times).
fn as_stored<'s>(route: &'s LiveRoute, key: (i64, NaiveDate), work: Vec<Work<'s>>) -> Timed<'s> {
    Timed {
        key,
        stops: work.into_iter().map(|w| (w, None)).collect(),
        leave: f64::NAN,
        back: f64::NAN,
        distance_m: route.route.distance_m,
        issues: Vec::new(),
    }
}

/// A re-plan of one day: which team leaves (if any), and from what time on.
#[derive(Debug, Clone)]
pub struct DayReplan {
    pub date: NaiveDate,
    /// Minutes after local midnight: visits still to make start no earlier.
    pub from: Option<f64>,
    /// A team taken off the day with this re-plan, and why.
    pub absent: Option<(i64, String)>,
}

/// The planner's problem for re-planning `replan.date`: the day's stops (those made stay put,
/// locked routes and pins are kept, an absent team's visits go to the others).
pub fn replan_problem(
    snapshot: &Snapshot,
    replan: &DayReplan,
) -> Result<planner::Problem, EditError> {
    let date = replan.date;
    if let Some((team_id, _)) = &replan.absent {
        if snapshot.is_absent(*team_id, date) {
            return Err(conflict(
                ErrorCode::AlreadyExists,
                format!("team {team_id} is already off on {date}"),
            ));
        }
    }
    let mut requests = Vec::new();
    for route in snapshot.routes.iter().filter(|r| r.route.date == date) {
        for stop in &route.stops {
            if stop.request.status == RequestStatus::Cancelled {
                continue;
            }
            requests.push((
                stop.request.clone(),
                Some(Placement {
                    team_id: route.route.team_id,
                    date,
                    position: stop.stop.position,
                    pinned: stop.stop.pinned,
                    locked: route.route.locked,
                    window: (stop.stop.window_start, stop.stop.window_end),
                }),
            ));
        }
    }
    let mut absences: Vec<(i64, NaiveDate)> = snapshot
        .absences
        .iter()
        .filter(|a| a.date == date)
        .map(|a| (a.team_id, a.date))
        .collect();
    if let Some((team_id, _)) = &replan.absent {
        absences.push((*team_id, date));
    }
    let input = PlanInput {
        region: snapshot.region.clone(),
        kinds: snapshot.kinds.clone(),
        teams: snapshot.teams.clone(),
        requests,
        absences,
    };
    build_problem(&input, &[date], replan.from).map_err(internal)
}

/// Turn the planner's re-plan of the day into a proposal.
pub fn propose_replan(
    snapshot: &Snapshot,
    replan: &DayReplan,
    solution: &planner::Solution,
) -> Result<Proposal, EditError> {
    let date = replan.date;
    let absent_team = replan.absent.as_ref().map(|(t, _)| *t);
    let stops: HashMap<i64, (&LiveRoute, &LiveStop)> = snapshot
        .routes
        .iter()
        .filter(|r| r.route.date == date)
        .flat_map(|r| r.stops.iter().map(move |s| (s.request.id, (r, s))))
        .collect();
    let mut planned: BTreeMap<i64, &planner::RoutePlan> = BTreeMap::new();
    for route in &solution.routes {
        let team: i64 = route
            .team
            .parse()
            .map_err(|_| internal(format!("planner returned team {:?}", route.team)))?;
        planned.insert(team, route);
    }
    let mut teams: Vec<i64> = snapshot
        .routes
        .iter()
        .filter(|r| r.route.date == date)
        .map(|r| r.route.team_id)
        .chain(planned.keys().copied())
        .collect();
    teams.sort_unstable();
    teams.dedup();
    let mut timed = Vec::new();
    let mut locked = HashMap::new();
    let mut placed: HashSet<i64> = HashSet::new();
    for team in teams {
        let key = (team, date);
        let existing = snapshot.route(team, date);
        locked.insert(key, existing.is_some_and(|r| r.route.locked));
        let Some(plan) = planned.get(&team) else {
            // Nothing left for this team that day.
            if existing.is_some_and(|r| !r.stops.is_empty()) {
                timed.push(Timed {
                    key,
                    stops: Vec::new(),
                    leave: f64::NAN,
                    back: f64::NAN,
                    distance_m: 0.0,
                    issues: Vec::new(),
                });
            }
            continue;
        };
        let mut work = Vec::new();
        for stop in &plan.stops {
            let planner::Stop::Visit {
                job, start, end, ..
            } = stop
            else {
                continue;
            };
            let id: i64 = job
                .parse()
                .map_err(|_| internal(format!("planner returned job {job:?}")))?;
            let Some(&(from_route, live)) = stops.get(&id) else {
                return Err(internal(format!("planner returned unknown job {id}")));
            };
            placed.insert(id);
            // Pins to a team that left the day do not follow the visit.
            let stays = from_route.route.team_id == team;
            let times = if made(live) {
                None
            } else {
                Some(Times {
                    start: *start,
                    end: *end,
                })
            };
            work.push((
                Work {
                    stop: live,
                    pinned: live.stop.pinned
                        && (stays || Some(from_route.route.team_id) != absent_team),
                },
                times,
            ));
        }
        timed.push(Timed {
            key,
            stops: work,
            leave: plan.start,
            back: plan.end,
            distance_m: plan.distance,
            issues: Vec::new(),
        });
    }
    // Visits made are history: whatever the planner did with them, they stay at the front of
    // their own route.
    for route in snapshot.routes.iter().filter(|r| r.route.date == date) {
        let missing: Vec<&LiveStop> = route
            .stops
            .iter()
            .filter(|s| made(s) && !placed.contains(&s.request.id))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let key = (route.route.team_id, date);
        let index = match timed.iter().position(|t| t.key == key) {
            Some(index) => index,
            None => {
                timed.push(Timed {
                    key,
                    stops: Vec::new(),
                    leave: f64::NAN,
                    back: f64::NAN,
                    distance_m: route.route.distance_m,
                    issues: Vec::new(),
                });
                timed.len() - 1
            }
        };
        for (at, stop) in missing.into_iter().enumerate() {
            placed.insert(stop.request.id);
            timed[index].stops.insert(
                at,
                (
                    Work {
                        stop,
                        pinned: stop.stop.pinned,
                    },
                    None,
                ),
            );
        }
    }
    let reasons: HashMap<&str, &planner::UnassignedJob> = solution
        .unassigned
        .iter()
        .map(|u| (u.job.as_str(), u))
        .collect();
    let mut dropped = Vec::new();
    for (id, (route, stop)) in &stops {
        if placed.contains(id) || made(stop) || stop.request.status != RequestStatus::Scheduled {
            continue;
        }
        let why = reasons.get(id.to_string().as_str());
        dropped.push(DroppedStop {
            request_id: *id,
            team_id: route.route.team_id,
            reason: why.map_or("routes_full", |u| u.reason.as_str()).to_string(),
            detail: why.map_or_else(
                || "no route that day can take it".to_string(),
                |u| u.detail.clone(),
            ),
        });
    }
    dropped.sort_by_key(|d| d.request_id);
    let (action, detail) = match &replan.absent {
        Some((team, reason)) => (
            "team_absent",
            serde_json::json!({"op": "team_absent", "team_id": team, "reason": reason}),
        ),
        None => (
            "day_replanned",
            serde_json::json!({"op": "day_replanned", "from": replan.from.map(clock)}),
        ),
    };
    let mut proposal = proposal(
        snapshot,
        Outcome {
            timed,
            locked,
            issues_before: HashSet::new(),
            dropped,
            action,
            detail,
            absence: replan
                .absent
                .as_ref()
                .map(|(team, reason)| (*team, date, reason.clone())),
        },
    )?;
    // Routes the re-plan left exactly as they were need no new version.
    proposal.edit.routes.retain(|change| {
        let before = snapshot.route(change.team_id, change.date);
        let same = before.is_some_and(|r| {
            r.stops.len() == change.content.stops.len()
                && r.stops.iter().zip(&change.content.stops).all(|(a, b)| {
                    a.request.id == b.request_id
                        && a.stop.planned_start == b.planned_start
                        && a.stop.pinned == b.pinned
                })
        });
        !same
    });
    let kept: HashSet<(i64, NaiveDate)> = proposal
        .edit
        .routes
        .iter()
        .map(|c| (c.team_id, c.date))
        .collect();
    proposal
        .preview
        .routes
        .retain(|r| kept.contains(&(r.team_id, r.date)));
    // A day-wide change was worked out from the whole day: it applies only to that same day.
    proposal.edit.day = Some(DayState::of(snapshot, date));
    Ok(proposal)
}

/// The clock of the snapshot's region.
pub fn region_clock(snapshot: &Snapshot) -> Result<Clock, EditError> {
    Clock::of_zone(&snapshot.region.time_zone)
}

/// Build the edit and its preview from routes worked out.
fn proposal(snapshot: &Snapshot, outcome: Outcome<'_>) -> Result<Proposal, EditError> {
    let clock_of = region_clock(snapshot)?;
    // Where each request was before: (team, date) and its stored stop.
    let mut before: HashMap<i64, ((i64, NaiveDate), &LiveStop)> = HashMap::new();
    for route in &snapshot.routes {
        for stop in &route.stops {
            before.insert(
                stop.request.id,
                ((route.route.team_id, route.route.date), stop),
            );
        }
    }
    let mut changes = Vec::new();
    let mut diffs = Vec::new();
    let mut request_versions: BTreeMap<i64, i32> = BTreeMap::new();
    let mut newly_infeasible: Vec<i64> = Vec::new();
    let mut citizens_told = 0;
    for timed in &outcome.timed {
        let key = timed.key;
        let existing = snapshot.route(key.0, key.1);
        let team = team_of(snapshot, key.0)?;
        for stop in existing.map(|r| r.stops.as_slice()).unwrap_or_default() {
            request_versions.insert(stop.request.id, stop.request.version);
        }
        let mut stops = Vec::with_capacity(timed.stops.len());
        let mut stop_diffs = Vec::with_capacity(timed.stops.len());
        let mut tell_citizens = Vec::new();
        for (work, times) in &timed.stops {
            let live = work.stop;
            request_versions.insert(live.request.id, live.request.version);
            let was = before.get(&live.request.id);
            let same_route = was.is_some_and(|(k, _)| *k == key);
            let (planned_start, planned_end) = match times {
                Some(t) => (clock_of.utc(key.1, t.start)?, clock_of.utc(key.1, t.end)?),
                None => (live.stop.planned_start, live.stop.planned_end),
            };
            // The promise holds while the visit still starts inside it on the same day (and
            // always when the change gave it no new time).
            let keeps_window = times.is_none()
                || made(live)
                || was.is_some_and(|(k, s)| {
                    k.1 == key.1
                        && planned_start >= s.stop.window_start
                        && planned_start <= s.stop.window_end
                });
            let (window_start, window_end, window_local) = if keeps_window {
                (
                    live.stop.window_start,
                    live.stop.window_end,
                    (
                        clock_of.local(live.stop.window_start),
                        clock_of.local(live.stop.window_end),
                    ),
                )
            } else if let Some(t) = times {
                let window = promised(t.start);
                (
                    clock_of.utc(key.1, clock_minutes(&window.start)?)?,
                    clock_of.utc(key.1, clock_minutes(&window.end)?)?,
                    (window.start, window.end),
                )
            } else {
                return Err(internal("a stop without times and without a window"));
            };
            let window_changed = !keeps_window;
            if window_changed && live.request.status == RequestStatus::Scheduled {
                tell_citizens.push(live.request.id);
            }
            let issues: Vec<IssueView> = timed
                .issues
                .iter()
                .filter(|i| i.job.as_deref() == Some(live.request.id.to_string().as_str()))
                .map(|i| {
                    let new = !outcome.issues_before.contains(&issue_key(key, i));
                    IssueView {
                        code: i.code.to_string(),
                        message: i.message.clone(),
                        new,
                    }
                })
                .collect();
            if issues.iter().any(|i| i.new) {
                newly_infeasible.push(live.request.id);
            }
            stop_diffs.push(StopDiff {
                request_id: live.request.id,
                pinned: work.pinned,
                visited: made(live),
                moved_from: was.filter(|(k, _)| *k != key).map(|(k, _)| RouteKey {
                    team_id: k.0,
                    date: k.1,
                }),
                planned_before: was
                    .filter(|_| same_route)
                    .map(|(_, s)| clock_of.local(s.stop.planned_start)),
                planned_after: clock_of.local(planned_start),
                window_before: was.map(|(_, s)| {
                    [
                        clock_of.local(s.stop.window_start),
                        clock_of.local(s.stop.window_end),
                    ]
                }),
                window_after: [window_local.0.clone(), window_local.1.clone()],
                window_changed,
                issues,
            });
            stops.push(PublishStop {
                request_id: live.request.id,
                planned_start,
                planned_end,
                window_start,
                window_end,
                window_local,
                pinned: work.pinned,
            });
        }
        let (leave_at, back_at) = if timed.leave.is_finite() {
            (
                clock_of.utc(key.1, timed.leave)?,
                clock_of.utc(key.1, timed.back)?,
            )
        } else {
            match existing {
                Some(r) if !stops.is_empty() => (r.route.leave_at, r.route.back_at),
                Some(r) => (r.route.leave_at, r.route.leave_at),
                None => return Err(internal("a new route without times")),
            }
        };
        let old_sequence: Vec<(i64, NaiveDateTime)> = existing
            .map(|r| {
                r.stops
                    .iter()
                    .map(|s| (s.request.id, s.stop.planned_start))
                    .collect()
            })
            .unwrap_or_default();
        let new_sequence: Vec<(i64, NaiveDateTime)> = stops
            .iter()
            .map(|s| (s.request_id, s.planned_start))
            .collect();
        let tell_team = old_sequence != new_sequence;
        let route_issues: Vec<IssueView> = timed
            .issues
            .iter()
            .filter(|i| i.job.is_none())
            .map(|i| IssueView {
                code: i.code.to_string(),
                message: i.message.clone(),
                new: !outcome.issues_before.contains(&issue_key(key, i)),
            })
            .collect();
        let locked = outcome.locked.get(&key).copied().unwrap_or(false);
        let distance_before = existing.map_or(0.0, |r| r.route.distance_m) / 1000.0;
        let distance_after = timed.distance_m / 1000.0;
        citizens_told += tell_citizens.len();
        diffs.push(RouteDiff {
            team_id: key.0,
            team_name: team.name.clone(),
            date: key.1,
            route_id: existing.map(|r| r.route.id),
            version_before: existing.map(|r| r.route.version),
            locked,
            distance_km_before: round2(distance_before),
            distance_km_after: round2(distance_after),
            added_km: round2(distance_after - distance_before),
            back_before: existing.map(|r| clock_of.local(r.route.back_at)),
            back_after: clock_of.local(back_at),
            stops: stop_diffs,
            issues: route_issues,
            team_told: tell_team,
        });
        changes.push(RouteChange {
            team_id: key.0,
            date: key.1,
            expected_version: existing.map(|r| r.route.version),
            locked,
            content: PublishRoute {
                team_id: key.0,
                date: key.1,
                distance_m: timed.distance_m,
                leave_at,
                back_at,
                stops,
            },
            tell_team,
            tell_citizens,
        });
    }
    for dropped in &outcome.dropped {
        if let Some((_, stop)) = before.get(&dropped.request_id) {
            request_versions.insert(stop.request.id, stop.request.version);
        }
    }
    newly_infeasible.sort_unstable();
    newly_infeasible.dedup();
    Ok(Proposal {
        edit: RouteEdit {
            region_id: snapshot.region.id,
            action: outcome.action,
            detail: outcome.detail,
            routes: changes,
            request_versions: request_versions.into_iter().collect(),
            unscheduled: outcome.dropped.iter().map(|d| d.request_id).collect(),
            absence: outcome.absence,
            day: None,
        },
        preview: ChangePreview {
            routes: diffs,
            dropped: outcome.dropped,
            newly_infeasible,
            citizens_told,
        },
    })
}

fn clock_minutes(text: &str) -> Result<f64, EditError> {
    minutes_of(text).map(|m| m as f64).map_err(internal)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
