//! The changes a coordinator makes by hand to one route: move a stop (to another team or
//! date), reorder, swap two stops, pin a stop, lock the route. Each is checked against the
//! state it was read from (versions, visits made, locks, absences), then timed.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;

use super::preview::{proposal, Outcome};
use super::timing::{issues_now, time_sequence, Timed};
use super::{conflict, made, EditError, Proposal, RouteOp, Work};
use crate::db::dispatch::{LiveRoute, LiveStop, Snapshot};
use crate::domain::{ErrorCode, Invalid};

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
