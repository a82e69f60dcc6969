//! An independent check of a solution against its problem. It shares no code with the solver:
//! it reads the problem as written, asks the travel model itself, replays every route from the
//! reported order and times, and lists each broken rule. Tests and the benchmark run it on every
//! result.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::problem::{Date, Location, Problem, Team};
use crate::solution::{Solution, Stop};
use crate::travel::model_for;

/// Slack for floating-point noise in times and distances.
const EPSILON: f64 = 1e-6;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Violation {
    /// Stable code: `unknown_job`, `duplicate_job`, `missing_job`, `unknown_route`,
    /// `duplicate_route`, `missing_skill`, `outside_dates`, `arrival_too_early`, `time_window`,
    /// `before_shift`, `short_service`, `break_window`, `break_missing`, `shift_end`, `max_route_minutes`,
    /// `max_route_distance`, `max_visits`, `capacity`, `pin`, `pin_position`, `group_split`,
    /// `locked_route`, `reported_distance`, `before_promise` (a visit starts before its promised
    /// window opens), `late_report` (the solution's `late` list disagrees with the routes).
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Report {
    pub violations: Vec<Violation>,
    /// Total distance of all routes, recomputed from the travel model.
    pub distance: f64,
    pub routes: usize,
    pub assigned: usize,
    /// Visits that start after their promised window, and by how many minutes in all.
    pub late_visits: usize,
    pub late_minutes: f64,
}

impl Report {
    pub fn is_feasible(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Check every constraint of `solution` for `problem`.
pub fn check(problem: &Problem, solution: &Solution) -> Report {
    let mut report = Report::default();
    let mut fail = |code: &'static str, message: String| {
        report.violations.push(Violation { code, message });
    };
    let travel = model_for(&problem.travel);
    let jobs: HashMap<&str, usize> = problem
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.as_str(), i))
        .collect();
    let teams: HashMap<&str, &Team> = problem.teams.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut placed: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut routes_seen: HashSet<(&str, &Date)> = HashSet::new();
    let mut total_distance = 0.0;
    let mut assigned = 0;
    // Recomputed lateness per job, to hold against what the solution reports.
    let mut late: HashMap<usize, f64> = HashMap::new();

    for (r, route) in solution.routes.iter().enumerate() {
        let name = format!("route {} {}", route.team, route.date);
        if !routes_seen.insert((route.team.as_str(), &route.date)) {
            fail("duplicate_route", format!("{name} appears twice"));
        }
        let Some(team) = teams.get(route.team.as_str()) else {
            fail("unknown_route", format!("{name}: no such team"));
            continue;
        };
        let Some(shift) = team.shifts.iter().find(|s| s.date == route.date) else {
            fail(
                "unknown_route",
                format!("{name}: the team has no shift that day"),
            );
            continue;
        };
        let profile = &team.vehicle;
        let end_location = team.end.as_ref().unwrap_or(&team.start);
        let mut here: Location = team.start;
        let mut time = shift.start.0;
        let mut distance = 0.0;
        let mut load = 0.0;
        let mut visits = 0;
        let mut breaks_taken = vec![false; shift.breaks.len()];
        for (s, stop) in route.stops.iter().enumerate() {
            match stop {
                Stop::Visit {
                    job: id,
                    arrival,
                    start,
                    end,
                    ..
                } => {
                    let Some(&j) = jobs.get(id.as_str()) else {
                        fail("unknown_job", format!("{name}: job {id} does not exist"));
                        continue;
                    };
                    if !seen.insert(j) {
                        fail(
                            "duplicate_job",
                            format!("job {id} is served more than once"),
                        );
                    }
                    placed.insert(j, (r, s));
                    let job = &problem.jobs[j];
                    let driven = travel.distance(&here, &job.location, profile);
                    let earliest_arrival = time + travel.duration(&here, &job.location, profile);
                    distance += driven;
                    here = job.location;
                    if *arrival < earliest_arrival - EPSILON {
                        fail(
                            "arrival_too_early",
                            format!("{name}: job {id} reported at {arrival}, reachable at {earliest_arrival}"),
                        );
                    }
                    let begin = start.max(earliest_arrival);
                    if *start < earliest_arrival - EPSILON {
                        fail(
                            "arrival_too_early",
                            format!("{name}: job {id} starts at {start} before arriving at {earliest_arrival}"),
                        );
                    }
                    if begin < shift.start.0 - EPSILON {
                        fail(
                            "before_shift",
                            format!("{name}: job {id} starts before the shift"),
                        );
                    }
                    let in_window = job.time_windows.is_empty()
                        || job
                            .time_windows
                            .iter()
                            .any(|w| begin >= w.start.0 - EPSILON && begin <= w.end.0 + EPSILON);
                    if !in_window {
                        fail(
                            "time_window",
                            format!("{name}: job {id} starts at {begin}, outside its time windows"),
                        );
                    }
                    match job.windows_on(&route.date) {
                        None => fail(
                            "outside_dates",
                            format!("{name}: job {id} has no windows on {}", route.date),
                        ),
                        Some(windows)
                            if !windows.is_empty()
                                && !windows.iter().any(|w| {
                                    begin >= w.start.0 - EPSILON && begin <= w.end.0 + EPSILON
                                }) =>
                        {
                            fail(
                                "time_window",
                                format!(
                                    "{name}: job {id} starts at {begin}, outside its windows on {}",
                                    route.date
                                ),
                            )
                        }
                        Some(_) => {}
                    }
                    if let Some(promise) = &job.promised_window {
                        if begin < promise.start.0 - EPSILON {
                            fail(
                                "before_promise",
                                format!("{name}: job {id} starts at {begin}, before its promised window opens"),
                            );
                        }
                        if begin > promise.end.0 + EPSILON {
                            late.insert(j, begin - promise.end.0);
                        }
                    }
                    if *end < begin + job.service_minutes - EPSILON {
                        fail(
                            "short_service",
                            format!("{name}: job {id} ends before its service time is over"),
                        );
                    }
                    time = begin + job.service_minutes;
                    load += job.demand;
                    visits += 1;
                    if job.skills.iter().any(|k| !team.skills.contains(k)) {
                        fail(
                            "missing_skill",
                            format!("{name}: team lacks a skill job {id} needs"),
                        );
                    }
                    if job.earliest_date.as_ref().is_some_and(|e| route.date < *e)
                        || job.deadline.as_ref().is_some_and(|d| route.date > *d)
                    {
                        fail(
                            "outside_dates",
                            format!("{name}: job {id} is outside its allowed dates"),
                        );
                    }
                    if let Some(pin) = &job.pin {
                        if pin.team != route.team || pin.date != route.date {
                            fail("pin", format!("{name}: job {id} is pinned elsewhere"));
                        }
                        if pin.position.is_some_and(|p| p != visits - 1) {
                            fail(
                                "pin_position",
                                format!("{name}: job {id} is not at its pinned position"),
                            );
                        }
                    } else if shift.locked {
                        fail(
                            "locked_route",
                            format!("{name}: job {id} was added to a locked route"),
                        );
                    }
                }
                Stop::Break { start, end } => {
                    let unmatched = shift.breaks.iter().enumerate().position(|(b, rest)| {
                        !breaks_taken[b]
                            && *start >= rest.earliest.0 - EPSILON
                            && *start <= rest.latest.0 + EPSILON
                            && end - start >= rest.minutes - EPSILON
                    });
                    match unmatched {
                        Some(b) => breaks_taken[b] = true,
                        None => fail(
                            "break_window",
                            format!(
                                "{name}: a break at {start}..{end} matches no break of the shift"
                            ),
                        ),
                    }
                    if *start < time - EPSILON {
                        fail(
                            "break_window",
                            format!("{name}: a break starts at {start}, before the team is free at {time}"),
                        );
                    }
                    time = time.max(*end);
                }
            }
        }
        distance += travel.distance(&here, end_location, profile);
        let arrival_at_end = time + travel.duration(&here, end_location, profile);
        // A break is owed when the team is still out once it opens.
        let owed = shift.breaks.iter().zip(&breaks_taken).any(|(rest, taken)| {
            !taken
                && visits > 0
                && rest.latest.0 >= shift.start.0
                && arrival_at_end > rest.earliest.0 + EPSILON
        });
        if owed {
            fail(
                "break_missing",
                format!("{name}: a break of the shift is not taken"),
            );
        }
        if arrival_at_end > shift.end.0 + EPSILON {
            fail(
                "shift_end",
                format!(
                    "{name}: back at {arrival_at_end}, after the shift ends at {}",
                    shift.end.0
                ),
            );
        }
        if let Some(limit) = team.max_route_minutes {
            if arrival_at_end - shift.start.0 > limit + EPSILON {
                fail(
                    "max_route_minutes",
                    format!("{name}: longer than {limit} minutes"),
                );
            }
        }
        if let Some(limit) = team.max_route_distance {
            if distance > limit + EPSILON {
                fail(
                    "max_route_distance",
                    format!("{name}: {distance} over {limit}"),
                );
            }
        }
        if let Some(limit) = team.max_visits {
            if visits > limit {
                fail(
                    "max_visits",
                    format!("{name}: {visits} visits, limit {limit}"),
                );
            }
        }
        if let Some(capacity) = team.capacity {
            if load > capacity + EPSILON {
                fail("capacity", format!("{name}: load {load} over {capacity}"));
            }
        }
        if (distance - route.distance).abs() > 1e-6 * distance.max(1.0) {
            fail(
                "reported_distance",
                format!(
                    "{name}: reported {} but the route is {distance}",
                    route.distance
                ),
            );
        }
        total_distance += distance;
        assigned += visits;
    }

    let mut unassigned_seen = HashSet::new();
    for entry in &solution.unassigned {
        match jobs.get(entry.job.as_str()) {
            None => fail(
                "unknown_job",
                format!("unassigned job {} does not exist", entry.job),
            ),
            Some(&j) => {
                if seen.contains(&j) || !unassigned_seen.insert(j) {
                    fail(
                        "duplicate_job",
                        format!(
                            "job {} is both served and unassigned, or listed twice",
                            entry.job
                        ),
                    );
                }
            }
        }
    }
    for (j, job) in problem.jobs.iter().enumerate() {
        if !seen.contains(&j) && !unassigned_seen.contains(&j) {
            fail(
                "missing_job",
                format!("job {} is neither served nor unassigned", job.id),
            );
        }
    }

    // Jobs of one group: one route, one after another, or all unassigned.
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, job) in problem.jobs.iter().enumerate() {
        if let Some(group) = &job.group {
            groups.entry(group.as_str()).or_default().push(j);
        }
    }
    for (group, members) in groups {
        let spots: Vec<Option<(usize, usize)>> =
            members.iter().map(|j| placed.get(j).copied()).collect();
        if spots.iter().all(Option::is_none) {
            continue;
        }
        let Some(Some((route, _))) = spots.first() else {
            fail("group_split", format!("group {group} is partly unassigned"));
            continue;
        };
        let mut indices: Vec<usize> = Vec::new();
        for spot in &spots {
            match spot {
                Some((r, s)) if r == route => indices.push(*s),
                _ => {
                    fail("group_split", format!("group {group} is split"));
                    indices.clear();
                    break;
                }
            }
        }
        indices.sort_unstable();
        if indices.windows(2).any(|w| w[1] != w[0] + 1) {
            fail(
                "group_split",
                format!("group {group} is not served in one stop"),
            );
        }
    }

    let mut reported_late: HashMap<&str, f64> = HashMap::new();
    for entry in &solution.late {
        reported_late.insert(entry.job.as_str(), entry.minutes);
    }
    for (&j, &minutes) in &late {
        let id = problem.jobs[j].id.as_str();
        match reported_late.remove(id) {
            Some(reported) if (reported - minutes).abs() <= 1e-6 * minutes.max(1.0) => {}
            Some(reported) => fail(
                "late_report",
                format!("job {id} is {minutes} min late, reported {reported}"),
            ),
            None => fail(
                "late_report",
                format!("job {id} is {minutes} min late but not reported"),
            ),
        }
    }
    for id in reported_late.keys() {
        fail(
            "late_report",
            format!("job {id} is reported late but is not"),
        );
    }
    report.late_visits = late.len();
    report.late_minutes = late.values().sum();
    report.distance = total_distance;
    report.routes = solution.routes.len();
    report.assigned = assigned;
    report
}
