//! `evaluate` against the solver and the checker: the solver's routes replay without an issue,
//! and on any order of any jobs, "no issues" means the checker accepts the route while every
//! timing or limit rule the checker finds broken shows up as an issue.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::HashSet;

use jemput_planner::checker::{check, Report};
use jemput_planner::{
    evaluate, solve, Date, Evaluation, Kpis, Problem, RoutePlan, SearchStats, Solution,
    SolveOptions, Stop, UnassignedJob, UnassignedReason, Unlimited,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

const DATES: [&str; 3] = ["2026-11-23", "2026-11-24", "2026-11-25"];
const SKILLS: [&str; 2] = ["dukcapil", "kesehatan"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

/// Checker codes about timing and route limits: when the checker finds one, `evaluate` must
/// have reported an issue.
const TIMING_AND_LIMITS: [&str; 8] = [
    "time_window",
    "break_window",
    "break_missing",
    "shift_end",
    "max_route_minutes",
    "max_route_distance",
    "max_visits",
    "capacity",
];

fn job_strategy() -> impl Strategy<Value = Value> {
    (
        (0.0..100.0f64, 0.0..100.0f64),
        5.0..40.0f64,
        prop::collection::vec((0.0..500.0f64, 10.0..200.0f64), 0..3),
        prop::option::of((0usize..3, 0usize..3)),
        prop::collection::vec(0usize..2, 0..2),
        0usize..4,
        (
            0.0..8.0f64,
            prop::option::of(0usize..4),
            prop::option::of(0usize..6),
        ),
    )
        .prop_map(
            |(at, service, windows, dates, skills, priority, (demand, group, pin))| {
                let mut job = json!({
                    "id": "",
                    "location": {"x": at.0, "y": at.1},
                    "service_minutes": service,
                    "time_windows": windows.iter()
                        .map(|(s, len)| json!({"start": s, "end": s + len}))
                        .collect::<Vec<_>>(),
                    "skills": skills.iter().map(|&k| SKILLS[k]).collect::<Vec<_>>(),
                    "priority": PRIORITIES[priority],
                    "demand": demand.floor(),
                });
                if let Some((a, b)) = dates {
                    job["earliest_date"] = json!(DATES[a.min(b)]);
                    job["deadline"] = json!(DATES[a.max(b)]);
                }
                if let Some(day) = pin.filter(|&d| d < DATES.len()) {
                    job["pin"] = json!({"team": "t0", "date": DATES[day]});
                }
                if let Some(g) = group {
                    job["group"] = json!(format!("g{g}"));
                }
                job
            },
        )
}

/// Breaks of a shift: none, one, or two that do not overlap (so that the checker's matching of
/// breaks taken to breaks owed is unambiguous).
fn breaks_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!([])),
        Just(json!([{"earliest": 200, "latest": 260, "minutes": 30}])),
        (50.0..350.0f64, 0.0..80.0f64, 5.0..45.0f64).prop_map(|(earliest, slack, minutes)| {
            json!([{"earliest": earliest, "latest": earliest + slack, "minutes": minutes}])
        }),
        (100.0..200.0f64, 0.0..40.0f64, 250.0..400.0f64).prop_map(|(first, slack, second)| {
            json!([
                {"earliest": second, "latest": second + slack, "minutes": 15},
                {"earliest": first, "latest": first + slack, "minutes": 30}
            ])
        }),
    ]
}

fn team_strategy() -> impl Strategy<Value = Value> {
    (
        (0.0..100.0f64, 0.0..100.0f64),
        prop::option::of((0.0..100.0f64, 0.0..100.0f64)),
        prop::collection::vec(
            (0usize..3, breaks_strategy(), prop::bool::weighted(0.1)),
            1..3,
        ),
        prop::collection::vec(0usize..2, 0..3),
        prop::option::of(1usize..6),
        prop::option::of(100.0..400.0f64),
        prop::option::of(150.0..600.0f64),
    )
        .prop_map(
            |(at, end, days, skills, max_visits, max_distance, max_minutes)| {
                let mut seen = HashSet::new();
                let shifts: Vec<Value> = days
                    .iter()
                    .filter(|(d, _, _)| seen.insert(*d))
                    .map(|(d, breaks, locked)| {
                        json!({"date": DATES[*d], "start": 0, "end": 600, "breaks": breaks,
                               "locked": locked})
                    })
                    .collect();
                let mut team = json!({
                    "id": "",
                    "start": {"x": at.0, "y": at.1},
                    "shifts": shifts,
                    "skills": skills.iter().map(|&k| SKILLS[k]).collect::<Vec<_>>(),
                    "capacity": 30,
                });
                if let Some((x, y)) = end {
                    team["end"] = json!({"x": x, "y": y});
                }
                if let Some(m) = max_visits {
                    team["max_visits"] = json!(m);
                }
                if let Some(d) = max_distance {
                    team["max_route_distance"] = json!(d);
                }
                if let Some(m) = max_minutes {
                    team["max_route_minutes"] = json!(m);
                }
                team
            },
        )
}

fn problem_strategy() -> impl Strategy<Value = Problem> {
    (
        prop::collection::vec(job_strategy(), 1..25),
        prop::collection::vec(team_strategy(), 1..4),
    )
        .prop_map(|(mut jobs, mut teams)| {
            for (i, job) in jobs.iter_mut().enumerate() {
                job["id"] = json!(format!("j{i}"));
            }
            // Jobs of one group share an address.
            for i in 0..jobs.len() {
                if let Some(group) = jobs[i].get("group").cloned() {
                    let first = jobs
                        .iter()
                        .position(|j| j.get("group") == Some(&group))
                        .unwrap();
                    jobs[i]["location"] = jobs[first]["location"].clone();
                }
            }
            for (i, team) in teams.iter_mut().enumerate() {
                team["id"] = json!(format!("t{i}"));
            }
            let value = json!({"travel": {"model": "euclidean"}, "jobs": jobs, "teams": teams});
            Problem::from_json(&value.to_string()).unwrap()
        })
}

fn visit_order(route: &RoutePlan) -> Vec<String> {
    route
        .stops
        .iter()
        .filter_map(|s| match s {
            Stop::Visit { job, .. } => Some(job.clone()),
            Stop::Break { .. } => None,
        })
        .collect()
}

/// The routes, with every other job of the problem unassigned, as the checker reads them.
fn solution_of(problem: &Problem, routes: Vec<RoutePlan>) -> Solution {
    let served: HashSet<String> = routes.iter().flat_map(visit_order).collect();
    let unassigned = problem
        .jobs
        .iter()
        .filter(|j| !served.contains(&j.id))
        .map(|j| UnassignedJob {
            job: j.id.clone(),
            reason: UnassignedReason::RoutesFull,
            detail: String::new(),
        })
        .collect();
    Solution {
        routes,
        unassigned,
        hotspots: Vec::new(),
        kpis: Kpis::default(),
        search: SearchStats::default(),
        late: Vec::new(),
    }
}

/// Evaluate every route of a solution from its visit order alone; each must come back clean,
/// as long and in the same order, and the evaluated routes must pass the checker.
fn replay(problem: &Problem, solution: &Solution) -> Result<(), String> {
    let mut routes = Vec::new();
    for planned in &solution.routes {
        let order = visit_order(planned);
        let evaluation = evaluate(problem, &planned.team, &planned.date, &order)
            .map_err(|e| format!("{}: {e}", planned.team))?;
        if !evaluation.issues.is_empty() {
            return Err(format!(
                "solver route {} {} {order:?}: {:#?}",
                planned.team, planned.date, evaluation.issues
            ));
        }
        let route = evaluation.route;
        if visit_order(&route) != order
            || (route.distance - planned.distance).abs() > 1e-6 * planned.distance.max(1.0)
        {
            return Err(format!("{planned:#?} evaluated as {route:#?}"));
        }
        routes.push(route);
    }
    let report = check(problem, &solution_of(problem, routes));
    if report.is_feasible() {
        Ok(())
    } else {
        Err(format!("{:#?}", report.violations))
    }
}

fn problem(value: Value) -> Problem {
    Problem::from_json(&value.to_string()).unwrap()
}

fn solved(problem: &Problem, seed: u64) -> Solution {
    let options = SolveOptions {
        iteration_limit: Some(300),
        seed,
        ..SolveOptions::default()
    };
    let solution = solve(problem, &options, &Unlimited).unwrap();
    assert!(check(problem, &solution).is_feasible());
    solution
}

/// Hand-made problems in the shape of `constraints.rs`: a plane where 1 unit takes 1 minute.
fn fixed_problems() -> Vec<Problem> {
    let day = DATES[0];
    let shift = |breaks: Value| json!({"date": day, "start": 0, "end": 600, "breaks": breaks});
    let line = |n: usize, service: f64| -> Vec<Value> {
        (0..n)
            .map(|i| {
                json!({"id": format!("j{i}"), "location": {"x": 10.0 * (i + 1) as f64, "y": 0},
                       "service_minutes": service})
            })
            .collect()
    };

    // Windows around a break: the solver serves b before the break even though the break is
    // open when a is done.
    let windows_and_break = problem(json!({
        "travel": {"model": "euclidean"},
        "teams": [{"id": "t", "start": {"x": 0, "y": 0},
                   "shifts": [shift(json!([{"earliest": 30, "latest": 100, "minutes": 30}]))]}],
        "jobs": [
            {"id": "a", "location": {"x": 10, "y": 0}, "service_minutes": 20,
             "time_windows": [{"start": 0, "end": 15}]},
            {"id": "b", "location": {"x": 20, "y": 0}, "service_minutes": 10,
             "time_windows": [{"start": 0, "end": 45}]},
            {"id": "c", "location": {"x": 30, "y": 0}, "service_minutes": 10,
             "time_windows": [{"start": 100, "end": 140}]}
        ]
    }));

    // Two teams, three days, breaks, skills, a group, a pin, a locked day, limits.
    let mut jobs = line(12, 15.0);
    jobs[0]["group"] = json!("house");
    jobs[1]["group"] = json!("house");
    jobs[1]["location"] = jobs[0]["location"].clone();
    jobs[2]["skills"] = json!(["kesehatan"]);
    jobs[3]["pin"] = json!({"team": "a", "date": DATES[1]});
    jobs[4]["time_windows"] = json!([{"start": 0, "end": 60}, {"start": 300, "end": 330}]);
    jobs[5]["earliest_date"] = json!(DATES[2]);
    jobs[6]["deadline"] = json!(DATES[0]);
    jobs[7]["time_windows"] = json!([{"start": 240, "end": 250}]);
    let mixed = problem(json!({
        "travel": {"model": "euclidean"},
        "teams": [
            {"id": "a", "start": {"x": 0, "y": 0}, "max_visits": 4,
             "shifts": [shift(json!([{"earliest": 60, "latest": 90, "minutes": 30}])),
                        {"date": DATES[1], "start": 0, "end": 300},
                        {"date": DATES[2], "start": 0, "end": 600, "locked": true}]},
            {"id": "b", "start": {"x": 120, "y": 0}, "end": {"x": 0, "y": 0},
             "skills": ["kesehatan"], "max_route_minutes": 350,
             "shifts": [shift(json!([
                            {"earliest": 120, "latest": 150, "minutes": 20},
                            {"earliest": 240, "latest": 270, "minutes": 10}])),
                        {"date": DATES[2], "start": 60, "end": 400,
                         "breaks": [{"earliest": 0, "latest": 30, "minutes": 10}]}]}
        ],
        "jobs": jobs
    }));

    // Great-circle travel around Wates, with a lunch break.
    let villages: Vec<Value> = (0..10)
        .map(|i| {
            let f = i as f64;
            let closes = if i % 3 == 0 { "10:00" } else { "15:00" };
            json!({"id": format!("v{i}"),
                   "location": {"lat": -7.86 + 0.01 * (f % 4.0), "lon": 110.15 + 0.012 * f},
                   "service_minutes": 30,
                   "time_windows": [{"start": "08:00", "end": closes}]})
        })
        .collect();
    let kulon_progo = problem(json!({
        "teams": [{"id": "t", "start": {"lat": -7.8576, "lon": 110.1588},
                   "shifts": [{"date": day, "start": "07:30", "end": "16:00",
                               "breaks": [{"earliest": "11:30", "latest": "12:30",
                                           "minutes": 45}]}]}],
        "jobs": villages
    }));

    vec![windows_and_break, mixed, kulon_progo]
}

#[test]
fn solver_routes_evaluate_without_issues() {
    for (p, problem) in fixed_problems().iter().enumerate() {
        for seed in [1, 7, 42] {
            let solution = solved(problem, seed);
            assert!(!solution.routes.is_empty(), "problem {p}");
            if let Err(message) = replay(problem, &solution) {
                panic!("problem {p}, seed {seed}: {message}");
            }
        }
    }
}

#[test]
fn the_break_is_put_off_as_the_solver_does() {
    let problem = &fixed_problems()[0];
    let solution = solved(problem, 1);
    assert_eq!(visit_order(&solution.routes[0]), ["a", "b", "c"]);
    let order: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let route = &solution.routes[0];
    let evaluation = evaluate(problem, "t", &route.date, &order).unwrap();
    assert_eq!(evaluation.issues, vec![]);
    assert!(matches!(evaluation.route.stops[2], Stop::Break { start, .. } if start == 50.0));
}

/// Every rule the checker finds broken on an evaluated route, as (code, message).
fn violations(report: &Report) -> Vec<(&'static str, &str)> {
    report
        .violations
        .iter()
        .map(|v| (v.code, v.message.as_str()))
        .collect()
}

fn order_strategy() -> impl Strategy<Value = (Problem, Index, Index, Vec<String>)> {
    problem_strategy().prop_flat_map(|problem| {
        let ids: Vec<String> = problem.jobs.iter().map(|j| j.id.clone()).collect();
        let most = ids.len().min(10);
        (
            Just(problem),
            any::<Index>(),
            any::<Index>(),
            prop::sample::subsequence(ids, 0..=most).prop_shuffle(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn solver_routes_of_random_problems_evaluate_without_issues(
        problem in problem_strategy(),
        seed in 0u64..1000,
    ) {
        let options = SolveOptions { iteration_limit: Some(150), seed, ..SolveOptions::default() };
        let solution = solve(&problem, &options, &Unlimited).unwrap();
        prop_assert!(check(&problem, &solution).is_feasible());
        if let Err(message) = replay(&problem, &solution) {
            return Err(TestCaseError::fail(message));
        }
    }
}

/// Evaluate `order` for `team` on `date` and hold it against the checker: no issues means the
/// checker accepts the route; a broken timing or limit rule means some issue; rules both name
/// alike are found by both; and the schedule itself never gives the checker a reason to object.
fn agrees_with_the_checker(
    problem: &Problem,
    team: &str,
    date: &Date,
    order: &[String],
) -> Result<(), TestCaseError> {
    let Evaluation { route, issues, .. } = evaluate(problem, team, date, order).unwrap();
    prop_assert_eq!(visit_order(&route), order);
    let report = check(problem, &solution_of(problem, vec![route]));
    let found = violations(&report);
    if issues.is_empty() {
        prop_assert!(
            found.is_empty(),
            "no issues, but the checker finds {:#?}",
            found
        );
    }
    if found.iter().any(|v| TIMING_AND_LIMITS.contains(&v.0)) {
        prop_assert!(!issues.is_empty(), "the checker finds {:#?}", found);
    }
    let unexpected: Vec<_> = found
        .iter()
        .filter(|v| {
            [
                "arrival_too_early",
                "before_shift",
                "short_service",
                "reported_distance",
            ]
            .contains(&v.0)
        })
        .collect();
    prop_assert!(unexpected.is_empty(), "{:#?}", unexpected);
    for (code, message) in &found {
        let named = match *code {
            // The checker may match breaks taken to breaks owed differently.
            "break_window" | "break_missing" => true,
            "pin_position" => issues
                .iter()
                .any(|i| i.code == "pin" || i.code == "pin_position"),
            _ => issues.iter().any(|i| i.code == *code),
        };
        prop_assert!(
            named,
            "checker: {} {}, evaluate: {:#?}",
            code,
            message,
            issues
        );
    }
    for issue in &issues {
        let agreed = issue.code == "break_window" || found.iter().any(|v| v.0 == issue.code);
        prop_assert!(agreed, "evaluate: {:?}, checker: {:#?}", issue, found);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn evaluate_agrees_with_the_checker_on_any_order(
        (problem, team, shift, order) in order_strategy(),
    ) {
        let team = &problem.teams[team.index(problem.teams.len())];
        let date = &team.shifts[shift.index(team.shifts.len())].date;
        agrees_with_the_checker(&problem, &team.id, date, &order)?;
    }

    /// A dispatcher's edit of a good plan: one stop moved elsewhere in its route, often still
    /// feasible, often just not.
    #[test]
    fn evaluate_agrees_with_the_checker_on_a_moved_stop(
        problem in problem_strategy(),
        route in any::<Index>(),
        from in any::<Index>(),
        to in any::<Index>(),
    ) {
        let options = SolveOptions { iteration_limit: Some(50), ..SolveOptions::default() };
        let solution = solve(&problem, &options, &Unlimited).unwrap();
        prop_assume!(!solution.routes.is_empty());
        let route = &solution.routes[route.index(solution.routes.len())];
        let mut order = visit_order(route);
        let moved = order.remove(from.index(order.len()));
        order.insert(to.index(order.len() + 1), moved);
        agrees_with_the_checker(&problem, &route.team, &route.date, &order)?;
    }
}
