//! The changes a coordinator makes by hand to one route: move a stop (to another team or
//! date), reorder, swap two stops, pin a stop, lock the route. Each is checked against the
//! state it was read from (versions, visits made, locks, absences), then timed.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;

use super::preview::{proposal, Outcome};
use super::timing::{issues_now, time_sequence, Timed};
use super::{conflict, made, EditError, Proposal, RouteOp, Work};
use crate::db::dispatch::{LiveRoute, LiveStop, Snapshot};
use crate::domain::EventAction;
use crate::domain::{ErrorCode, Invalid};

impl RouteOp {
    fn action(&self) -> EventAction {
        match self {
            RouteOp::Move { .. } => EventAction::StopMoved,
            RouteOp::Reorder { .. } => EventAction::StopsReordered,
            RouteOp::Swap { .. } => EventAction::StopsSwapped,
            RouteOp::Pin { pinned: true, .. } => EventAction::StopPinned,
            RouteOp::Pin { pinned: false, .. } => EventAction::StopUnpinned,
            RouteOp::Lock { locked: true } => EventAction::RouteLocked,
            RouteOp::Lock { locked: false } => EventAction::RouteUnlocked,
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

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::propose_route_op;
    use crate::db::dispatch::Snapshot;
    use crate::domain::ErrorCode;
    use crate::planning::dispatch::fixtures::{code, monday, Day, TEAM_A, TEAM_B};
    use crate::planning::dispatch::{EditError, Proposal, RouteKey, RouteOp};

    /// Team A: 101 at 09:00, 102 at 10:00 (route 1); team B: 201 at 09:00 (route 2).
    fn two_routes() -> Day {
        Day::new()
            .route(1, TEAM_A, &[(101, "09:00"), (102, "10:00")])
            .route(2, TEAM_B, &[(201, "09:00")])
    }

    fn on_route_1(snapshot: &Snapshot, op: RouteOp) -> Result<Proposal, EditError> {
        propose_route_op(snapshot, 1, 1, &op, monday())
    }

    fn move_102(to_team_id: i64, to_date: NaiveDate, target_version: Option<i32>) -> RouteOp {
        RouteOp::Move {
            request_id: 102,
            to_team_id,
            to_date,
            position: None,
            target_version,
        }
    }

    fn stops_of(proposal: &Proposal, team_id: i64) -> Vec<i64> {
        let change = proposal
            .edit
            .routes
            .iter()
            .find(|c| c.team_id == team_id)
            .unwrap();
        change.content.stops.iter().map(|s| s.request_id).collect()
    }

    #[test]
    fn a_move_to_another_team_changes_both_routes_and_keeps_the_promise() {
        let proposal =
            on_route_1(&two_routes().build(), move_102(TEAM_B, monday(), Some(1))).unwrap();
        let versions: Vec<(i64, Option<i32>)> = proposal
            .edit
            .routes
            .iter()
            .map(|c| (c.team_id, c.expected_version))
            .collect();
        assert_eq!(versions, vec![(TEAM_A, Some(1)), (TEAM_B, Some(1))]);
        assert!(proposal.edit.routes.iter().all(|c| c.tell_team));
        assert_eq!(stops_of(&proposal, TEAM_A), vec![101]);
        assert_eq!(stops_of(&proposal, TEAM_B), vec![201, 102]);
        // Same day, still inside its window: the citizen hears nothing.
        let moved = proposal.preview.routes[1]
            .stops
            .iter()
            .find(|s| s.request_id == 102)
            .unwrap();
        assert_eq!(
            moved.moved_from,
            Some(RouteKey {
                team_id: TEAM_A,
                date: monday()
            })
        );
        assert!(!moved.window_changed);
        assert_eq!(proposal.preview.citizens_told, 0);
    }

    #[test]
    fn a_move_to_another_day_tells_the_citizen() {
        let tuesday = monday().succ_opt().unwrap();
        let proposal = on_route_1(&two_routes().build(), move_102(TEAM_B, tuesday, None)).unwrap();
        let new_route = proposal
            .edit
            .routes
            .iter()
            .find(|c| c.date == tuesday)
            .unwrap();
        assert_eq!(new_route.expected_version, None);
        assert_eq!(new_route.tell_citizens, vec![102]);
        assert_eq!(proposal.preview.citizens_told, 1);
    }

    #[test]
    fn a_move_onto_an_existing_route_needs_its_version() {
        let snapshot = two_routes().build();
        let missing = on_route_1(&snapshot, move_102(TEAM_B, monday(), None)).unwrap_err();
        assert_eq!(code(&missing), Some(ErrorCode::Required));
        let stale = on_route_1(&snapshot, move_102(TEAM_B, monday(), Some(7))).unwrap_err();
        assert_eq!(code(&stale), Some(ErrorCode::VersionConflict));
    }

    #[test]
    fn a_move_to_a_team_off_that_day_is_refused() {
        let snapshot = two_routes().absent(TEAM_B).build();
        let err = on_route_1(&snapshot, move_102(TEAM_B, monday(), Some(1))).unwrap_err();
        assert_eq!(code(&err), Some(ErrorCode::TeamAbsent));
    }

    #[test]
    fn a_change_read_from_an_old_version_is_refused() {
        let err = propose_route_op(
            &two_routes().build(),
            1,
            0,
            &RouteOp::Lock { locked: true },
            monday(),
        )
        .unwrap_err();
        assert_eq!(code(&err), Some(ErrorCode::VersionConflict));
    }

    #[test]
    fn a_reorder_must_list_every_stop_exactly_once() {
        let snapshot = two_routes().build();
        for request_ids in [
            vec![102],
            vec![102, 102],
            vec![101, 102, 102],
            vec![102, 101, 201],
        ] {
            let err = on_route_1(&snapshot, RouteOp::Reorder { request_ids }).unwrap_err();
            assert_eq!(code(&err), Some(ErrorCode::InvalidOrder));
        }
        let proposal = on_route_1(
            &snapshot,
            RouteOp::Reorder {
                request_ids: vec![102, 101],
            },
        )
        .unwrap();
        assert_eq!(stops_of(&proposal, TEAM_A), vec![102, 101]);
    }

    #[test]
    fn a_visited_stop_stays_where_it_is() {
        let snapshot = two_routes().visited(101).build();
        let reorder = on_route_1(
            &snapshot,
            RouteOp::Reorder {
                request_ids: vec![102, 101],
            },
        )
        .unwrap_err();
        assert_eq!(code(&reorder), Some(ErrorCode::StopVisited));
        let moved = on_route_1(
            &snapshot,
            RouteOp::Move {
                request_id: 101,
                to_team_id: TEAM_B,
                to_date: monday(),
                position: None,
                target_version: Some(1),
            },
        )
        .unwrap_err();
        assert_eq!(code(&moved), Some(ErrorCode::StopVisited));
    }

    #[test]
    fn a_stop_moved_within_its_route_never_goes_before_a_visit_made() {
        let snapshot = two_routes().visited(101).build();
        let proposal = on_route_1(
            &snapshot,
            RouteOp::Move {
                request_id: 102,
                to_team_id: TEAM_A,
                to_date: monday(),
                position: Some(0),
                target_version: None,
            },
        )
        .unwrap();
        assert_eq!(stops_of(&proposal, TEAM_A), vec![101, 102]);
    }

    #[test]
    fn stops_on_a_locked_route_do_not_move() {
        let snapshot = two_routes().locked(1).build();
        let err = on_route_1(&snapshot, move_102(TEAM_B, monday(), Some(1))).unwrap_err();
        assert_eq!(code(&err), Some(ErrorCode::RouteLocked));
        let err = propose_route_op(
            &snapshot,
            2,
            1,
            &RouteOp::Move {
                request_id: 201,
                to_team_id: TEAM_A,
                to_date: monday(),
                position: None,
                target_version: Some(1),
            },
            monday(),
        )
        .unwrap_err();
        assert_eq!(code(&err), Some(ErrorCode::RouteLocked));
    }

    #[test]
    fn a_pin_on_a_locked_route_keeps_it_locked_and_its_times() {
        let snapshot = two_routes().locked(1).build();
        let proposal = on_route_1(
            &snapshot,
            RouteOp::Pin {
                request_id: 102,
                pinned: true,
            },
        )
        .unwrap();
        let [change] = proposal.edit.routes.as_slice() else {
            panic!("a pin changes one route: {:?}", proposal.edit.routes);
        };
        assert!(change.locked);
        assert!(!change.tell_team);
        let pins: Vec<bool> = change.content.stops.iter().map(|s| s.pinned).collect();
        assert_eq!(pins, vec![false, true]);
        let before = &snapshot.routes[0].stops;
        assert!(change
            .content
            .stops
            .iter()
            .zip(before)
            .all(|(after, before)| after.planned_start == before.stop.planned_start));
    }

    #[test]
    fn unlocking_a_locked_route_changes_only_the_lock() {
        let snapshot = two_routes().locked(1).build();
        let proposal = on_route_1(&snapshot, RouteOp::Lock { locked: false }).unwrap();
        let [change] = proposal.edit.routes.as_slice() else {
            panic!("a lock changes one route: {:?}", proposal.edit.routes);
        };
        assert!(!change.locked);
        assert!(!change.tell_team);
        assert_eq!(
            proposal.edit.action,
            crate::domain::EventAction::RouteUnlocked
        );
    }
}
