//! A day planned again (the rest of the day, or with a team taken off it): the planner's
//! problem for the day, and its solution turned into a proposal. Visits made stay at the
//! front of their own route; routes the re-plan leaves as they were get no new version.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use jemput_planner as planner;

use super::preview::{proposal, Outcome};
use super::timing::{Timed, Times};
use super::{conflict, internal, made, DayReplan, DroppedStop, EditError, Proposal, Work};
use crate::db::dispatch::{DayState, LiveRoute, LiveStop, Snapshot};
use crate::db::plans::Placement;
use crate::domain::clock::hh_mm;
use crate::domain::EventAction;
use crate::domain::RegionClock;
use crate::domain::{ErrorCode, RequestStatus};
use crate::planning::{build_problem, promised_window_minutes, PlanInput};

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
    let mut problem = build_problem(&input, &[date], replan.from).map_err(internal)?;
    keep_promises(&mut problem, &input, replan.from).map_err(internal)?;
    Ok(problem)
}

/// Citizens on the day's routes were told a window: the re-plan keeps it (the planner breaks
/// one only when it cannot be kept at all, then as little as it can), rather than the
/// preferred hours. Visits made and locked routes keep their places already.
fn keep_promises(
    problem: &mut planner::Problem,
    input: &PlanInput,
    from: Option<f64>,
) -> Result<(), String> {
    let told: HashMap<String, &Placement> = input
        .requests
        .iter()
        .filter_map(|(request, placed)| placed.as_ref().map(|p| (request.id.to_string(), p)))
        .collect();
    let clock = RegionClock::of_zone(&input.region.time_zone)
        .map_err(|e| format!("stored time zone unreadable: {}", e.message))?;
    for job in &mut problem.jobs {
        if job.pin.as_ref().is_some_and(|p| p.position.is_some()) {
            continue;
        }
        let Some(at) = told.get(&job.id) else {
            continue;
        };
        job.promised_window = Some(promised_window_minutes(&clock, at));
        // Only the rest of the day is left; the promise itself says the rest.
        job.time_windows = from
            .map(|from| planner::TimeWindow {
                start: planner::Minutes(from),
                end: planner::Minutes(24.0 * 60.0),
            })
            .into_iter()
            .collect();
    }
    Ok(())
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
            EventAction::TeamAbsent,
            serde_json::json!({"op": "team_absent", "team_id": team, "reason": reason}),
        ),
        None => (
            EventAction::DayReplanned,
            serde_json::json!({"op": "day_replanned", "from": replan.from.map(hh_mm)}),
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

#[cfg(test)]
mod tests {
    use jemput_planner as planner;

    use super::{propose_replan, replan_problem};
    use crate::db::dispatch::{DayState, Snapshot};
    use crate::domain::ErrorCode;
    use crate::planning::dispatch::fixtures::{code, monday, Day, TEAM_A, TEAM_B};
    use crate::planning::dispatch::{DayReplan, Proposal};
    use crate::planning::planner_date;

    /// Team A: 101 done at 09:00, then 102 and 103; team B: 201.
    fn day() -> Day {
        Day::new()
            .route(1, TEAM_A, &[(101, "09:00"), (102, "10:00"), (103, "11:00")])
            .route(2, TEAM_B, &[(201, "09:00")])
            .visited(101)
    }

    fn a_off() -> DayReplan {
        DayReplan {
            date: monday(),
            from: None,
            absent: Some((TEAM_A, "motor rusak".to_string())),
        }
    }

    /// Re-plan with the real planner, a fixed seed and a fixed number of iterations.
    fn replanned(snapshot: &Snapshot, replan: &DayReplan) -> Proposal {
        let problem = replan_problem(snapshot, replan).unwrap();
        let options = planner::SolveOptions {
            iteration_limit: Some(50),
            ..Default::default()
        };
        let solution = planner::solve(&problem, &options, &planner::Unlimited).unwrap();
        propose_replan(snapshot, replan, &solution).unwrap()
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
    fn a_team_off_keeps_its_visit_made_and_hands_the_rest_over() {
        let snapshot = day().build();
        let proposal = replanned(&snapshot, &a_off());
        assert_eq!(stops_of(&proposal, TEAM_A), vec![101]);
        let mut b = stops_of(&proposal, TEAM_B);
        b.sort_unstable();
        assert_eq!(b, vec![102, 103, 201]);
        assert!(proposal.preview.dropped.is_empty());
        assert_eq!(
            proposal.edit.absence,
            Some((TEAM_A, monday(), "motor rusak".to_string()))
        );
        assert_eq!(proposal.edit.day, Some(DayState::of(&snapshot, monday())));
    }

    #[test]
    fn a_pin_does_not_follow_a_visit_to_another_team() {
        let snapshot = day().pinned(102).build();
        let proposal = replanned(&snapshot, &a_off());
        let b = proposal
            .edit
            .routes
            .iter()
            .find(|c| c.team_id == TEAM_B)
            .unwrap();
        let moved = b
            .content
            .stops
            .iter()
            .find(|s| s.request_id == 102)
            .unwrap();
        assert!(!moved.pinned);
    }

    #[test]
    fn a_visit_made_stays_first_whatever_the_planner_returns() {
        let snapshot = day().build();
        let replan = DayReplan {
            date: monday(),
            from: None,
            absent: None,
        };
        let visit = |job: &str, start: f64| planner::Stop::Visit {
            job: job.to_string(),
            arrival: start,
            wait: 0.0,
            start,
            end: start + 30.0,
        };
        // The planner left 101 out and put 103 before 102.
        let solution = planner::Solution {
            routes: vec![planner::RoutePlan {
                team: TEAM_A.to_string(),
                date: planner_date(monday()).unwrap(),
                start: 600.0,
                end: 760.0,
                stops: vec![visit("103", 620.0), visit("102", 680.0)],
                distance: 4000.0,
                travel_minutes: 40.0,
                duration_minutes: 160.0,
                visits: 2,
            }],
            unassigned: Vec::new(),
            hotspots: Vec::new(),
            kpis: planner::Kpis::default(),
            search: planner::SearchStats::default(),
            late: Vec::new(),
        };
        let proposal = propose_replan(&snapshot, &replan, &solution).unwrap();
        assert_eq!(stops_of(&proposal, TEAM_A), vec![101, 103, 102]);
        // Team B had no plan that day: its visit goes back in the queue.
        assert_eq!(stops_of(&proposal, TEAM_B), Vec::<i64>::new());
        let dropped: Vec<(i64, &str)> = proposal
            .preview
            .dropped
            .iter()
            .map(|d| (d.request_id, d.reason.as_str()))
            .collect();
        assert_eq!(dropped, vec![(201, "routes_full")]);
    }

    #[test]
    fn a_team_already_off_cannot_be_taken_off_again() {
        let snapshot = day().absent(TEAM_A).build();
        let err = replan_problem(&snapshot, &a_off()).unwrap_err();
        assert_eq!(code(&err), Some(ErrorCode::AlreadyExists));
    }
}
