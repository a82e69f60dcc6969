//! What-if for one route: a dispatcher moves, reorders or swaps stops by hand and wants to see
//! what the day would then look like before publishing it. [`evaluate`] never refuses an order
//! because it breaks rules: it schedules the visits as a team would drive them and lists every
//! rule broken, so the dispatcher can decide. Like the checker it reads the problem as written
//! and asks the travel model itself; it does not use the solver.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::error::ProblemError;
use crate::problem::{Date, Job, Problem, Shift, Team};
use crate::solution::{LateVisit, RoutePlan, Stop};
use crate::travel::model_for;

/// Slack for floating-point noise, the checker's.
const EPSILON: f64 = 1e-6;

/// One broken rule of an evaluated route; `job` names the stop when the rule is about one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouteIssue {
    /// Stable code, named like the checker's violations: `time_window`, `break_window`,
    /// `missing_skill`, `outside_dates`, `pin`, `pin_position`, `locked_route`, `group_split`
    /// (about a job); `shift_end`, `max_route_minutes`, `max_route_distance`, `max_visits`,
    /// `capacity` (about the route).
    pub code: &'static str,
    pub job: Option<String>,
    pub message: String,
}

/// The route as the team would drive it, and every rule it breaks (none: it can be published).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evaluation {
    pub route: RoutePlan,
    pub issues: Vec<RouteIssue>,
    /// Visits that would start after their promised window (not a broken rule: a promise
    /// that cannot be kept is kept as nearly as can be).
    pub late: Vec<LateVisit>,
}

/// Schedule `jobs` (ids, in this order) for `team` on `date`.
///
/// The team leaves its start when the shift starts, waits for a visit's time window when early
/// and serves it on arrival when every window has closed. Breaks are taken between stops, in
/// order of their earliest start: as soon as one is open, or before a stop that would otherwise
/// end after the break's latest start. That greedy choice gives way only when it alone would
/// make the rest of the route break a rule: an open break is then put off to a later stop, or
/// one not yet due is taken at once, waiting for it to open. A break still due after the last
/// visit is skipped when the team is back before it opens.
///
/// Errors only when the problem is invalid, the team or a job is unknown, the team has no
/// shift on `date`, or a job id repeats (codes `unknown_team`, `no_shift`, `unknown_job`,
/// `duplicate_job`).
pub fn evaluate(
    problem: &Problem,
    team: &str,
    date: &Date,
    jobs: &[String],
) -> Result<Evaluation, ProblemError> {
    problem.validate()?;
    let Some(team) = problem.teams.iter().find(|t| t.id == team) else {
        return Err(ProblemError::new(
            "unknown_team",
            "team".into(),
            format!("no team {team:?}"),
        ));
    };
    let Some(shift) = team.shifts.iter().find(|s| s.date == *date) else {
        return Err(ProblemError::new(
            "no_shift",
            "date".into(),
            format!("team {:?} has no shift on {date}", team.id),
        ));
    };
    let by_id: HashMap<&str, &Job> = problem.jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    let mut seen = HashSet::new();
    let mut route = Vec::with_capacity(jobs.len());
    for (i, id) in jobs.iter().enumerate() {
        let Some(&job) = by_id.get(id.as_str()) else {
            return Err(ProblemError::new(
                "unknown_job",
                format!("jobs[{i}]"),
                format!("no job {id:?}"),
            ));
        };
        if !seen.insert(id.as_str()) {
            return Err(ProblemError::new(
                "duplicate_job",
                format!("jobs[{i}]"),
                format!("job {id:?} appears twice"),
            ));
        }
        route.push(job);
    }

    let day = Day::new(problem, team, shift, route);
    let (stops, time, mut issues) = day.schedule();
    let arrival_home = time + day.legs[day.route.len()].1;
    let distance: f64 = day.legs.iter().map(|leg| leg.0).sum();
    let travel_minutes: f64 = day.legs.iter().map(|leg| leg.1).sum();
    issues.extend(group_issues(problem, &day.route));
    issues.extend(route_issues(&day, arrival_home, distance));
    let late = day.late_visits(&stops);
    Ok(Evaluation {
        route: RoutePlan {
            team: team.id.clone(),
            date: date.clone(),
            start: shift.start.0,
            end: arrival_home,
            stops,
            distance,
            travel_minutes,
            duration_minutes: arrival_home - shift.start.0,
            visits: day.route.len(),
        },
        issues,
        late,
    })
}

/// Start intervals in both lists (each sorted by start; they may overlap among themselves).
fn overlap(a: &[(f64, f64)], b: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = a
        .iter()
        .flat_map(|x| b.iter().map(move |y| (x.0.max(y.0), x.1.min(y.1))))
        .filter(|w| w.0 <= w.1)
        .collect();
    out.sort_by(|x, y| x.0.total_cmp(&y.0));
    if out.is_empty() {
        // No common start: a window that any arrival misses, so the issue is reported.
        out.push((f64::NEG_INFINITY, f64::NEG_INFINITY));
    }
    out
}

#[derive(Debug, Clone, Copy)]
struct Rest {
    earliest: f64,
    latest: f64,
    minutes: f64,
}

/// One team's shift with the visits in the order asked for.
struct Day<'a> {
    team: &'a Team,
    shift: &'a Shift,
    date: &'a Date,
    route: Vec<&'a Job>,
    /// Per visit, its time windows sorted by start.
    windows: Vec<Vec<(f64, f64)>>,
    /// (distance, minutes) from the place after `i` visits to visit `i`; the last leg goes to
    /// the end location.
    legs: Vec<(f64, f64)>,
    rests: Vec<Rest>,
    /// Whether a break may be taken after `i` visits: not inside a group, served as one stop.
    may_rest: Vec<bool>,
}

impl<'a> Day<'a> {
    fn new(problem: &Problem, team: &'a Team, shift: &'a Shift, route: Vec<&'a Job>) -> Day<'a> {
        let travel = model_for(&problem.travel);
        let profile = &team.vehicle;
        let places: Vec<_> = std::iter::once(&team.start)
            .chain(route.iter().map(|j| &j.location))
            .chain(std::iter::once(team.end.as_ref().unwrap_or(&team.start)))
            .collect();
        let legs = places
            .windows(2)
            .map(|pair| {
                (
                    travel.distance(pair[0], pair[1], profile),
                    travel.duration(pair[0], pair[1], profile),
                )
            })
            .collect();
        let windows = route
            .iter()
            .map(|job| {
                let mut own: Vec<(f64, f64)> = job
                    .time_windows
                    .iter()
                    .map(|w| (w.start.0, w.end.0))
                    .collect();
                own.sort_by(|a, b| a.0.total_cmp(&b.0));
                let own = match job.windows_on(&shift.date) {
                    // Not a day it may be served: its issue is `outside_dates`, and its time
                    // is what the other windows say.
                    None | Some([]) => own,
                    Some(dated) => {
                        let mut dated: Vec<(f64, f64)> =
                            dated.iter().map(|w| (w.start.0, w.end.0)).collect();
                        dated.sort_by(|a, b| a.0.total_cmp(&b.0));
                        if own.is_empty() {
                            dated
                        } else {
                            overlap(&own, &dated)
                        }
                    }
                };
                match &job.promised_window {
                    // Never before the promise opens.
                    Some(promise) if own.is_empty() => vec![(promise.start.0, f64::INFINITY)],
                    Some(promise) => {
                        let opens = promise.start.0;
                        let clipped: Vec<(f64, f64)> = own
                            .iter()
                            .filter(|w| w.1 >= opens)
                            .map(|w| (w.0.max(opens), w.1))
                            .collect();
                        if clipped.is_empty() {
                            vec![(opens, opens)]
                        } else {
                            clipped
                        }
                    }
                    None => own,
                }
            })
            .collect();
        // As in the solver: a break that closes before the shift starts or opens after it
        // ends never applies.
        let mut rests: Vec<Rest> = shift
            .breaks
            .iter()
            .filter(|b| b.latest.0 >= shift.start.0 && b.earliest.0 < shift.end.0)
            .map(|b| Rest {
                earliest: b.earliest.0,
                latest: b.latest.0,
                minutes: b.minutes,
            })
            .collect();
        rests.sort_by(|a, b| a.earliest.total_cmp(&b.earliest));
        let n = route.len();
        let may_rest = (0..=n)
            .map(|i| i == 0 || i == n || !same_group(route[i - 1], route[i]))
            .collect();
        Day {
            team,
            shift,
            date: &shift.date,
            route,
            windows,
            legs,
            rests,
            may_rest,
        }
    }

    /// Start of service for an arrival at visit `i`; None when every window has closed.
    fn service_start(&self, i: usize, arrival: f64) -> Option<f64> {
        let windows = &self.windows[i];
        if windows.is_empty() {
            return Some(arrival);
        }
        windows
            .iter()
            .find(|w| arrival <= w.1 + EPSILON)
            .map(|w| arrival.max(w.0))
    }

    /// Latest arrival at visit `i` from which service starts by `bound`.
    fn latest_arrival(&self, i: usize, bound: f64) -> f64 {
        let windows = &self.windows[i];
        if windows.is_empty() {
            return bound;
        }
        windows
            .iter()
            .take_while(|w| w.0 <= bound)
            .map(|w| (w.1 + EPSILON).min(bound))
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// When the stop starting with visit `i` (all of its group) ends, leaving at `time`.
    fn stop_end(&self, i: usize, mut time: f64) -> f64 {
        let mut k = i;
        loop {
            let arrival = time + self.legs[k].1;
            time =
                self.service_start(k, arrival).unwrap_or(arrival) + self.route[k].service_minutes;
            k += 1;
            if k == self.route.len() || self.may_rest[k] {
                return time;
            }
        }
    }

    /// `latest[i][b]`: the latest time at which the team, done with `i` visits and `b` breaks,
    /// can still finish the route inside every window, break and `latest_home` (−∞: it
    /// cannot). Later is never better, so one bound per state says it all.
    fn latest_times(&self, latest_home: f64) -> Vec<Vec<f64>> {
        let n = self.route.len();
        let k = self.rests.len();
        let mut latest = vec![vec![f64::NEG_INFINITY; k + 1]; n + 1];
        let home = self.legs[n].1;
        latest[n][k] = latest_home - home;
        for b in (0..k).rev() {
            let skip = (self.rests[b].earliest - home).min(latest[n][b + 1]);
            latest[n][b] = skip.max(rest_bound(self.rests[b], latest[n][b + 1]));
        }
        for i in (0..n).rev() {
            for b in (0..=k).rev() {
                let rest = if b < k && self.may_rest[i] {
                    rest_bound(self.rests[b], latest[i][b + 1])
                } else {
                    f64::NEG_INFINITY
                };
                latest[i][b] = self.go_bound(&latest, i, b).max(rest);
            }
        }
        latest
    }

    /// Latest time to leave for visit `i` with `b` breaks taken and still finish in time.
    fn go_bound(&self, latest: &[Vec<f64>], i: usize, b: usize) -> f64 {
        self.latest_arrival(i, latest[i + 1][b] - self.route[i].service_minutes) - self.legs[i].1
    }

    /// Drive the route: the stops, when the team leaves the last one, and the issues met on
    /// the way.
    fn schedule(&self) -> (Vec<Stop>, f64, Vec<RouteIssue>) {
        let n = self.route.len();
        let start = self.shift.start.0;
        let mut latest = self.latest_times(self.latest_home());
        if start > latest[0][0] {
            // Late home whatever the breaks: place them to keep windows and breaks at least.
            latest = self.latest_times(f64::INFINITY);
        }
        let mut stops = Vec::with_capacity(n + self.rests.len());
        let mut issues = Vec::new();
        let mut time = start;
        let mut next = 0;
        for i in 0..n {
            while self.may_rest[i] && next < self.rests.len() {
                let rest = self.rests[next];
                let due = time >= rest.earliest || self.stop_end(i, time) > rest.latest;
                let begin = time.max(rest.earliest);
                let now_fits =
                    begin <= rest.latest + EPSILON && begin + rest.minutes <= latest[i][next + 1];
                let later_fits = time <= self.go_bound(&latest, i, next);
                // The greedy choice, unless only the other one keeps the route within its rules.
                let take = if due {
                    now_fits || !later_fits
                } else {
                    now_fits && !later_fits
                };
                if !take {
                    break;
                }
                time = take_rest(rest, time, &mut stops, &mut issues);
                next += 1;
            }
            let job = self.route[i];
            issues.extend(self.job_issues(i));
            let arrival = time + self.legs[i].1;
            let begin = match self.service_start(i, arrival) {
                Some(begin) => begin,
                None => {
                    let closes = self.windows[i]
                        .iter()
                        .map(|w| w.1)
                        .fold(f64::NEG_INFINITY, f64::max);
                    let late = arrival - closes;
                    let by = if late < 0.5 {
                        "less than a minute".to_string()
                    } else {
                        format!("{} min", late.round())
                    };
                    let message = if closes.is_finite() {
                        format!(
                            "arrives at {}, {by} after its last time window closes at {}",
                            clock(arrival),
                            clock(closes)
                        )
                    } else {
                        format!(
                            "its windows on {} and its other windows have no time in common",
                            self.date
                        )
                    };
                    issues.push(RouteIssue {
                        code: "time_window",
                        job: Some(job.id.clone()),
                        message,
                    });
                    arrival
                }
            };
            let end = begin + job.service_minutes;
            stops.push(Stop::Visit {
                job: job.id.clone(),
                arrival,
                wait: begin - arrival,
                start: begin,
                end,
            });
            time = end;
        }
        let home = self.legs[n].1;
        for &rest in &self.rests[next..] {
            if n > 0 && time + home > rest.earliest {
                time = take_rest(rest, time, &mut stops, &mut issues);
            }
        }
        (stops, time, issues)
    }

    /// The visits among `stops` that start after their promised window.
    fn late_visits(&self, stops: &[Stop]) -> Vec<LateVisit> {
        let visits = stops.iter().filter_map(|stop| match stop {
            Stop::Visit { start, .. } => Some(*start),
            Stop::Break { .. } => None,
        });
        self.route
            .iter()
            .zip(visits)
            .filter_map(|(job, start)| {
                let promise = job.promised_window.as_ref()?;
                (start > promise.end.0 + EPSILON).then(|| LateVisit {
                    job: job.id.clone(),
                    promised_end: promise.end.0,
                    start,
                    minutes: start - promise.end.0,
                })
            })
            .collect()
    }

    /// The shift's end or the route-length limit, whichever comes first (with the slack).
    fn latest_home(&self) -> f64 {
        let limit = self.team.max_route_minutes.unwrap_or(f64::INFINITY);
        self.shift.end.0.min(self.shift.start.0 + limit) + EPSILON
    }

    /// Rules about visit `i` that do not depend on the schedule.
    fn job_issues(&self, i: usize) -> Vec<RouteIssue> {
        let job = self.route[i];
        let mut issues = Vec::new();
        let mut issue = |code: &'static str, message: String| {
            issues.push(RouteIssue {
                code,
                job: Some(job.id.clone()),
                message,
            });
        };
        let missing: Vec<&str> = job
            .skills
            .iter()
            .filter(|k| !self.team.skills.contains(k))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            issue(
                "missing_skill",
                format!(
                    "team {} lacks the skill {}",
                    self.team.id,
                    missing.join(", ")
                ),
            );
        }
        if let Some(earliest) = job.earliest_date.as_ref().filter(|e| self.date < *e) {
            issue(
                "outside_dates",
                format!("may not be visited before {earliest}"),
            );
        }
        if job.windows_on(self.date).is_none() {
            issue(
                "outside_dates",
                format!("has windows only on other dates than {}", self.date),
            );
        }
        if let Some(deadline) = job.deadline.as_ref().filter(|d| self.date > *d) {
            issue(
                "outside_dates",
                format!("is due by {deadline}, before {}", self.date),
            );
        }
        match &job.pin {
            Some(pin) if pin.team != self.team.id || pin.date != *self.date => issue(
                "pin",
                format!("is pinned to team {} on {}", pin.team, pin.date),
            ),
            Some(pin) => {
                if let Some(position) = pin.position.filter(|&p| p != i) {
                    issue(
                        "pin_position",
                        format!(
                            "is pinned to be visit {} of the route, not visit {}",
                            position + 1,
                            i + 1
                        ),
                    );
                }
            }
            None if self.shift.locked => issue(
                "locked_route",
                format!(
                    "the route of team {} on {} is locked",
                    self.team.id, self.date
                ),
            ),
            None => {}
        }
        issues
    }
}

fn same_group(a: &Job, b: &Job) -> bool {
    a.group.is_some() && a.group == b.group
}

/// Latest time a break can be taken from so that the team is free again by `after`.
fn rest_bound(rest: Rest, after: f64) -> f64 {
    if rest.earliest + rest.minutes <= after {
        (rest.latest + EPSILON).min(after - rest.minutes)
    } else {
        f64::NEG_INFINITY
    }
}

/// Take a break from `time` (waiting for it to open); returns when it ends.
fn take_rest(rest: Rest, time: f64, stops: &mut Vec<Stop>, issues: &mut Vec<RouteIssue>) -> f64 {
    let start = time.max(rest.earliest);
    let end = start + rest.minutes;
    if start > rest.latest + EPSILON {
        issues.push(RouteIssue {
            code: "break_window",
            job: None,
            message: format!(
                "the break due to start between {} and {} starts at {}",
                clock(rest.earliest),
                clock(rest.latest),
                clock(start)
            ),
        });
    }
    stops.push(Stop::Break { start, end });
    end
}

/// A group's jobs must all be on the route, one after another, or none of them.
fn group_issues(problem: &Problem, route: &[&Job]) -> Vec<RouteIssue> {
    let mut issues = Vec::new();
    let mut done = HashSet::new();
    for (i, job) in route.iter().enumerate() {
        let Some(group) = &job.group else { continue };
        if !done.insert(group) {
            continue;
        }
        let here: Vec<usize> = (i..route.len())
            .filter(|&k| route[k].group.as_ref() == Some(group))
            .collect();
        let members = problem
            .jobs
            .iter()
            .filter(|j| j.group.as_ref() == Some(group))
            .count();
        let mut issue = |message: String| {
            issues.push(RouteIssue {
                code: "group_split",
                job: Some(job.id.clone()),
                message,
            });
        };
        if here.len() < members {
            issue(format!(
                "only {} of the {members} jobs of group {group} are on this route",
                here.len()
            ));
        }
        if here.windows(2).any(|w| w[1] != w[0] + 1) {
            issue(format!(
                "the jobs of group {group} are not served one after another"
            ));
        }
    }
    issues
}

/// Rules about the whole route.
fn route_issues(day: &Day, arrival_home: f64, distance: f64) -> Vec<RouteIssue> {
    let team = day.team;
    let shift = day.shift;
    let mut issues = Vec::new();
    let mut issue = |code: &'static str, message: String| {
        issues.push(RouteIssue {
            code,
            job: None,
            message,
        });
    };
    if arrival_home > shift.end.0 + EPSILON {
        issue(
            "shift_end",
            format!(
                "back at {}, {} min after the shift ends at {}",
                clock(arrival_home),
                (arrival_home - shift.end.0).round(),
                clock(shift.end.0)
            ),
        );
    }
    if let Some(limit) = team.max_route_minutes {
        let minutes = arrival_home - shift.start.0;
        if minutes > limit + EPSILON {
            issue(
                "max_route_minutes",
                format!(
                    "the route takes {} min, over the team's {limit} min",
                    minutes.round()
                ),
            );
        }
    }
    if let Some(limit) = team.max_route_distance {
        if distance > limit + EPSILON {
            issue(
                "max_route_distance",
                format!(
                    "the route is {} long, over the team's {limit}",
                    distance.round()
                ),
            );
        }
    }
    let visits = day.route.len();
    if let Some(limit) = team.max_visits {
        if visits > limit {
            issue(
                "max_visits",
                format!("{visits} visits, over the team's {limit}"),
            );
        }
    }
    if let Some(capacity) = team.capacity {
        let load: f64 = day.route.iter().map(|j| j.demand).sum();
        if load > capacity + EPSILON {
            issue(
                "capacity",
                format!("a load of {load}, over the vehicle's {capacity}"),
            );
        }
    }
    issues
}

/// Minutes after midnight as `HH:MM`.
fn clock(minutes: f64) -> String {
    let total = minutes.round() as i64;
    format!("{:02}:{:02}", total.div_euclid(60), total.rem_euclid(60))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    const DAY: &str = "2026-11-23";

    /// A team at the origin of a plane (1 unit = 1 minute) working 0..600.
    fn team() -> Value {
        json!({"id": "t", "start": {"x": 0, "y": 0}, "skills": ["dukcapil"],
               "shifts": [{"date": DAY, "start": 0, "end": 600}]})
    }

    fn job(id: &str, x: f64, service: f64) -> Value {
        json!({"id": id, "location": {"x": x, "y": 0}, "service_minutes": service})
    }

    fn problem(teams: Vec<Value>, jobs: Vec<Value>) -> Problem {
        Problem::from_json(
            &json!({"travel": {"model": "euclidean"}, "teams": teams, "jobs": jobs}).to_string(),
        )
        .unwrap()
    }

    fn ids(jobs: &[&str]) -> Vec<String> {
        jobs.iter().map(|j| j.to_string()).collect()
    }

    fn run(problem: &Problem, jobs: &[&str]) -> Evaluation {
        evaluate(problem, "t", &Date::parse(DAY).unwrap(), &ids(jobs)).unwrap()
    }

    fn codes(evaluation: &Evaluation) -> Vec<(&'static str, Option<&str>)> {
        evaluation
            .issues
            .iter()
            .map(|i| (i.code, i.job.as_deref()))
            .collect()
    }

    fn visit(job: &str, arrival: f64, start: f64, end: f64) -> Stop {
        Stop::Visit {
            job: job.to_string(),
            arrival,
            wait: start - arrival,
            start,
            end,
        }
    }

    #[test]
    fn an_early_team_waits_for_the_window() {
        let mut a = job("a", 10.0, 10.0);
        a["time_windows"] = json!([{"start": 300, "end": 400}, {"start": 50, "end": 60}]);
        let evaluation = run(&problem(vec![team()], vec![a]), &["a"]);
        assert_eq!(evaluation.issues, vec![]);
        let route = &evaluation.route;
        assert_eq!(route.stops, vec![visit("a", 10.0, 50.0, 60.0)]);
        assert_eq!(
            (route.start, route.end, route.duration_minutes),
            (0.0, 70.0, 70.0)
        );
        assert_eq!(
            (route.distance, route.travel_minutes, route.visits),
            (20.0, 20.0, 1)
        );
    }

    #[test]
    fn a_later_window_serves_when_the_first_has_closed() {
        let mut a = job("a", 10.0, 10.0);
        a["time_windows"] = json!([{"start": 0, "end": 5}, {"start": 100, "end": 120}]);
        let evaluation = run(&problem(vec![team()], vec![a]), &["a"]);
        assert_eq!(evaluation.issues, vec![]);
        assert_eq!(evaluation.route.stops, vec![visit("a", 10.0, 100.0, 110.0)]);
    }

    #[test]
    fn a_late_arrival_is_served_and_reported_with_the_minutes_late() {
        let mut a = job("a", 20.0, 10.0);
        a["time_windows"] = json!([{"start": 0, "end": 5}]);
        let evaluation = run(
            &problem(vec![team()], vec![a, job("b", 30.0, 10.0)]),
            &["a", "b"],
        );
        assert_eq!(codes(&evaluation), vec![("time_window", Some("a"))]);
        assert!(
            evaluation.issues[0].message.contains("15 min"),
            "{}",
            evaluation.issues[0].message
        );
        assert_eq!(
            evaluation.route.stops,
            vec![visit("a", 20.0, 20.0, 30.0), visit("b", 40.0, 40.0, 50.0)]
        );
    }

    #[test]
    fn a_break_is_taken_before_a_stop_that_would_end_after_its_latest_start() {
        let mut t = team();
        t["shifts"][0]["breaks"] = json!([{"earliest": 30, "latest": 40, "minutes": 10}]);
        let p = problem(vec![t], vec![job("a", 10.0, 15.0), job("b", 20.0, 15.0)]);
        let evaluation = run(&p, &["a", "b"]);
        assert_eq!(evaluation.issues, vec![]);
        // Done with a at 25: b would end at 50, after the break's latest start, so the team
        // waits for the break to open at 30 and takes it before driving on.
        assert_eq!(
            evaluation.route.stops,
            vec![
                visit("a", 10.0, 10.0, 25.0),
                Stop::Break {
                    start: 30.0,
                    end: 40.0
                },
                visit("b", 50.0, 50.0, 65.0),
            ]
        );
        assert_eq!(evaluation.route.end, 85.0);
    }

    #[test]
    fn an_open_break_is_taken_at_the_next_stop_boundary() {
        let mut t = team();
        t["shifts"][0]["breaks"] = json!([{"earliest": 20, "latest": 100, "minutes": 10}]);
        let p = problem(
            vec![t],
            vec![
                job("a", 10.0, 15.0),
                job("b", 20.0, 15.0),
                job("c", 30.0, 15.0),
            ],
        );
        let evaluation = run(&p, &["a", "b", "c"]);
        assert_eq!(evaluation.issues, vec![]);
        // Open since 20 while serving a (10..25): taken on leaving a, not later.
        assert_eq!(
            evaluation.route.stops[1],
            Stop::Break {
                start: 25.0,
                end: 35.0
            }
        );
    }

    #[test]
    fn an_open_break_is_put_off_when_taking_it_would_miss_the_next_window() {
        let mut t = team();
        t["shifts"][0]["breaks"] = json!([{"earliest": 30, "latest": 100, "minutes": 30}]);
        let mut b = job("b", 20.0, 10.0);
        b["time_windows"] = json!([{"start": 0, "end": 45}]);
        let p = problem(vec![t], vec![job("a", 10.0, 20.0), b]);
        let evaluation = run(&p, &["a", "b"]);
        assert_eq!(evaluation.issues, vec![]);
        assert_eq!(
            evaluation.route.stops,
            vec![
                visit("a", 10.0, 10.0, 30.0),
                visit("b", 40.0, 40.0, 50.0),
                Stop::Break {
                    start: 50.0,
                    end: 80.0
                },
            ]
        );
        assert_eq!(evaluation.route.end, 100.0);
    }

    #[test]
    fn an_open_break_is_taken_when_a_later_window_still_fits() {
        let mut t = team();
        t["shifts"][0]["breaks"] = json!([{"earliest": 30, "latest": 100, "minutes": 30}]);
        let mut b = job("b", 20.0, 10.0);
        b["time_windows"] = json!([{"start": 0, "end": 45}, {"start": 60, "end": 200}]);
        let p = problem(vec![t], vec![job("a", 10.0, 20.0), b]);
        let evaluation = run(&p, &["a", "b"]);
        assert_eq!(evaluation.issues, vec![]);
        assert_eq!(
            evaluation.route.stops[1..],
            [
                Stop::Break {
                    start: 30.0,
                    end: 60.0
                },
                visit("b", 70.0, 70.0, 80.0),
            ]
        );
    }

    #[test]
    fn a_break_not_yet_due_fills_a_wait_when_the_shift_would_end_late_otherwise() {
        let mut t = team();
        t["shifts"][0]["end"] = json!(80);
        t["shifts"][0]["breaks"] = json!([{"earliest": 10, "latest": 100, "minutes": 30}]);
        let mut b = job("b", 10.0, 10.0);
        b["time_windows"] = json!([{"start": 40, "end": 60}]);
        let evaluation = run(&problem(vec![t], vec![b]), &["b"]);
        assert_eq!(evaluation.issues, vec![]);
        // Serving b first (40..50) would leave the break for 50..80 and the team home at 90.
        assert_eq!(
            evaluation.route.stops,
            vec![
                Stop::Break {
                    start: 10.0,
                    end: 40.0
                },
                visit("b", 50.0, 50.0, 60.0),
            ]
        );
        assert_eq!(evaluation.route.end, 70.0);
    }

    #[test]
    fn a_break_that_cannot_start_in_time_is_reported() {
        let mut t = team();
        t["shifts"][0]["breaks"] = json!([
            {"earliest": 0, "latest": 100, "minutes": 50},
            {"earliest": 20, "latest": 30, "minutes": 10}
        ]);
        let p = problem(vec![t], vec![job("a", 10.0, 10.0)]);
        let evaluation = run(&p, &["a"]);
        assert_eq!(codes(&evaluation), vec![("break_window", None)]);
        assert_eq!(
            evaluation.route.stops[..2],
            [
                Stop::Break {
                    start: 0.0,
                    end: 50.0
                },
                Stop::Break {
                    start: 50.0,
                    end: 60.0
                },
            ]
        );
    }

    #[test]
    fn a_trailing_break_is_skipped_when_the_team_is_home_before_it_opens() {
        let mut t = team();
        // Home at 30, just as it opens.
        t["shifts"][0]["breaks"] = json!([{"earliest": 30, "latest": 330, "minutes": 60}]);
        let p = problem(vec![t], vec![job("a", 10.0, 10.0)]);
        let evaluation = run(&p, &["a"]);
        assert_eq!(evaluation.issues, vec![]);
        assert_eq!(evaluation.route.stops, vec![visit("a", 10.0, 10.0, 20.0)]);
        assert_eq!(evaluation.route.end, 30.0);
    }

    #[test]
    fn a_trailing_break_is_taken_when_the_team_is_still_out() {
        let mut t = team();
        t["shifts"][0]["breaks"] = json!([{"earliest": 20, "latest": 100, "minutes": 10}]);
        let p = problem(vec![t], vec![job("a", 10.0, 20.0)]);
        let evaluation = run(&p, &["a"]);
        assert_eq!(evaluation.issues, vec![]);
        assert_eq!(
            evaluation.route.stops,
            vec![
                visit("a", 10.0, 10.0, 30.0),
                Stop::Break {
                    start: 30.0,
                    end: 40.0
                }
            ]
        );
        assert_eq!(evaluation.route.end, 50.0);
    }

    #[test]
    fn an_empty_route_has_no_visits_and_skips_its_breaks() {
        let mut t = team();
        t["shifts"][0]["breaks"] = json!([{"earliest": 0, "latest": 100, "minutes": 10}]);
        let evaluation = run(&problem(vec![t], vec![job("a", 10.0, 10.0)]), &[]);
        assert_eq!(evaluation.issues, vec![]);
        assert_eq!(evaluation.route.stops, vec![]);
        assert_eq!((evaluation.route.visits, evaluation.route.end), (0, 0.0));
    }

    #[test]
    fn job_rules_are_reported_on_the_job() {
        let mut skilled = job("skilled", 10.0, 10.0);
        skilled["skills"] = json!(["dukcapil", "kesehatan"]);
        let mut early = job("early", 10.0, 10.0);
        early["earliest_date"] = json!("2026-11-24");
        let mut overdue = job("overdue", 10.0, 10.0);
        overdue["deadline"] = json!("2026-11-22");
        let mut elsewhere = job("elsewhere", 10.0, 10.0);
        elsewhere["pin"] = json!({"team": "u", "date": DAY});
        let mut first = job("first", 10.0, 10.0);
        first["pin"] = json!({"team": "t", "date": DAY, "position": 0});
        let mut other = team();
        other["id"] = json!("u");
        let p = problem(
            vec![team(), other],
            vec![skilled, early, overdue, elsewhere, first],
        );
        let evaluation = run(&p, &["skilled", "early", "overdue", "elsewhere", "first"]);
        assert_eq!(
            codes(&evaluation),
            vec![
                ("missing_skill", Some("skilled")),
                ("outside_dates", Some("early")),
                ("outside_dates", Some("overdue")),
                ("pin", Some("elsewhere")),
                ("pin_position", Some("first")),
            ]
        );
        assert!(evaluation.issues[0].message.contains("kesehatan"));
    }

    #[test]
    fn a_locked_route_and_a_split_group_are_reported() {
        let mut t = team();
        t["shifts"][0]["locked"] = json!(true);
        let mut a = job("a", 10.0, 10.0);
        a["group"] = json!("house");
        let mut b = job("b", 10.0, 10.0);
        b["group"] = json!("house");
        let p = problem(vec![t], vec![a, b, job("c", 20.0, 10.0)]);
        let evaluation = run(&p, &["a", "c", "b"]);
        let found = codes(&evaluation);
        assert!(found.contains(&("locked_route", Some("c"))), "{found:?}");
        assert!(found.contains(&("group_split", Some("a"))), "{found:?}");
        let evaluation = run(&p, &["a"]);
        assert!(codes(&evaluation).contains(&("group_split", Some("a"))));
    }

    #[test]
    fn no_break_splits_a_group() {
        let mut t = team();
        t["shifts"][0]["breaks"] = json!([{"earliest": 15, "latest": 100, "minutes": 10}]);
        let mut a = job("a", 10.0, 10.0);
        a["group"] = json!("house");
        let mut b = job("b", 10.0, 10.0);
        b["group"] = json!("house");
        let evaluation = run(&problem(vec![t], vec![a, b]), &["a", "b"]);
        assert_eq!(evaluation.issues, vec![]);
        assert_eq!(
            evaluation.route.stops,
            vec![
                visit("a", 10.0, 10.0, 20.0),
                visit("b", 20.0, 20.0, 30.0),
                Stop::Break {
                    start: 30.0,
                    end: 40.0
                },
            ]
        );
    }

    #[test]
    fn route_limits_are_reported_on_the_route() {
        let mut t = team();
        t["max_visits"] = json!(1);
        t["max_route_minutes"] = json!(500);
        t["max_route_distance"] = json!(550);
        t["capacity"] = json!(5);
        let mut far = job("far", 300.0, 10.0);
        far["demand"] = json!(4);
        let mut near = job("near", 290.0, 10.0);
        near["demand"] = json!(4);
        let evaluation = run(&problem(vec![t], vec![far, near]), &["far", "near"]);
        // Back at 300 + 10 + 10 + 10 + 290 = 620.
        assert_eq!(evaluation.route.end, 620.0);
        assert_eq!(
            codes(&evaluation),
            vec![
                ("shift_end", None),
                ("max_route_minutes", None),
                ("max_route_distance", None),
                ("max_visits", None),
                ("capacity", None),
            ]
        );
        assert!(
            evaluation.issues[0].message.contains("20 min"),
            "{}",
            evaluation.issues[0].message
        );
    }

    #[test]
    fn unknown_or_repeated_input_is_an_error() {
        let p = problem(vec![team()], vec![job("a", 10.0, 10.0)]);
        let day = Date::parse(DAY).unwrap();
        let error = evaluate(&p, "nobody", &day, &ids(&["a"])).unwrap_err();
        assert_eq!((error.code, error.field.as_str()), ("unknown_team", "team"));
        let error =
            evaluate(&p, "t", &Date::parse("2026-11-24").unwrap(), &ids(&["a"])).unwrap_err();
        assert_eq!((error.code, error.field.as_str()), ("no_shift", "date"));
        let error = evaluate(&p, "t", &day, &ids(&["a", "zz"])).unwrap_err();
        assert_eq!(
            (error.code, error.field.as_str()),
            ("unknown_job", "jobs[1]")
        );
        let error = evaluate(&p, "t", &day, &ids(&["a", "a"])).unwrap_err();
        assert_eq!(
            (error.code, error.field.as_str()),
            ("duplicate_job", "jobs[1]")
        );
        let mut invalid = p.clone();
        invalid.jobs[0].service_minutes = -1.0;
        let error = evaluate(&invalid, "t", &day, &ids(&["a"])).unwrap_err();
        assert_eq!(
            (error.code, error.field.as_str()),
            ("invalid", "jobs[0].service_minutes")
        );
    }
}
