//! The checker as the oracle: whatever the random problem, every plan the solver returns breaks
//! no rule, and every job is either in a route or explained.
#![expect(clippy::unwrap_used, reason = "tests")]

use jemput_planner::checker::check;
use std::sync::Mutex;

use jemput_planner::{
    evaluate, solve, solve_with_progress, Improvement, Problem, SolveOptions, Stop, Unlimited,
};
use proptest::prelude::*;
use serde_json::{json, Value};

const DATES: [&str; 3] = ["2026-11-23", "2026-11-24", "2026-11-25"];
const SKILLS: [&str; 2] = ["dukcapil", "kesehatan"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

fn job_strategy() -> impl Strategy<Value = Value> {
    (
        (0.0..100.0f64, 0.0..100.0f64),
        5.0..40.0f64,
        prop::collection::vec((0.0..500.0f64, 10.0..200.0f64), 0..3),
        prop::option::of((0usize..3, 0usize..3)),
        prop::collection::vec(0usize..2, 0..2),
        0usize..4,
        (0.0..8.0f64, prop::option::of(0usize..4), prop::option::of(0usize..6)),
        (
            prop::collection::vec(
                (0usize..3, prop::option::of((0.0..500.0f64, 20.0..200.0f64))),
                0..3,
            ),
            prop::option::of((0.0..500.0f64, 5.0..120.0f64)),
        ),
    )
        .prop_map(|(at, service, windows, dates, skills, priority, (demand, group, pin), (dated, promise))| {
            let mut job = json!({
                "id": "",
                "location": {"x": at.0, "y": at.1},
                "service_minutes": service,
                "time_windows": windows.iter().map(|(s, len)| json!({"start": s, "end": s + len}))
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
            // Per-date windows ("Tuesday morning or Thursday afternoon"), one entry per date.
            let mut days_seen = Vec::new();
            let dated: Vec<Value> = dated
                .iter()
                .filter(|(day, _)| {
                    let first = !days_seen.contains(day);
                    days_seen.push(*day);
                    first
                })
                .map(|(day, window)| match window {
                    Some((s, len)) => json!({"date": DATES[*day],
                                             "windows": [{"start": s, "end": s + len}]}),
                    None => json!({"date": DATES[*day]}),
                })
                .collect();
            if !dated.is_empty() {
                job["dated_windows"] = json!(dated);
            }
            if let Some((s, len)) = promise {
                job["promised_window"] = json!({"start": s, "end": s + len});
            }
            job
        })
}

fn team_strategy() -> impl Strategy<Value = Value> {
    (
        (0.0..100.0f64, 0.0..100.0f64),
        prop::collection::vec(0usize..3, 1..3),
        prop::collection::vec(0usize..2, 0..3),
        prop::option::of(1usize..6),
        prop::option::of(100.0..400.0f64),
        prop::bool::ANY,
    )
        .prop_map(|(at, days, skills, max_visits, max_distance, with_break)| {
            let mut days = days;
            days.sort_unstable();
            days.dedup();
            let shifts: Vec<Value> = days
                .iter()
                .map(|&d| {
                    let mut shift = json!({"date": DATES[d], "start": 0, "end": 600});
                    if with_break {
                        shift["breaks"] = json!([{"earliest": 200, "latest": 260, "minutes": 30}]);
                    }
                    shift
                })
                .collect();
            let mut team = json!({
                "id": "",
                "start": {"x": at.0, "y": at.1},
                "shifts": shifts,
                "skills": skills.iter().map(|&k| SKILLS[k]).collect::<Vec<_>>(),
                "capacity": 30,
            });
            if let Some(m) = max_visits {
                team["max_visits"] = json!(m);
            }
            if let Some(d) = max_distance {
                team["max_route_distance"] = json!(d);
            }
            team
        })
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_plan_passes_the_checker(problem in problem_strategy(), seed in 0u64..1000) {
        let options = SolveOptions { iteration_limit: Some(150), seed, ..SolveOptions::default() };
        let solution = solve(&problem, &options, &Unlimited).unwrap();
        let report = check(&problem, &solution);
        prop_assert!(report.is_feasible(), "{:#?}", report.violations);
        prop_assert_eq!(
            solution.kpis.assigned + solution.unassigned.len(),
            problem.jobs.len()
        );
        prop_assert_eq!(report.late_visits, solution.late.len());
    }

    /// `evaluate`, given each planned route's order, finds no broken rule, and the checker
    /// agrees with the late visits it reports for the routes as it timed them.
    #[test]
    fn checker_and_evaluate_agree_on_windows_and_lateness(
        problem in problem_strategy(),
        seed in 0u64..1000,
    ) {
        let options = SolveOptions { iteration_limit: Some(100), seed, ..SolveOptions::default() };
        let mut solution = solve(&problem, &options, &Unlimited).unwrap();
        let mut routes = Vec::new();
        let mut late = Vec::new();
        for route in &solution.routes {
            let jobs: Vec<String> = route
                .stops
                .iter()
                .filter_map(|s| match s {
                    Stop::Visit { job, .. } => Some(job.clone()),
                    Stop::Break { .. } => None,
                })
                .collect();
            let evaluation = evaluate(&problem, &route.team, &route.date, &jobs).unwrap();
            prop_assert!(evaluation.issues.is_empty(), "{:#?}", evaluation.issues);
            routes.push(evaluation.route);
            late.extend(evaluation.late);
        }
        solution.routes = routes;
        solution.late = late;
        let report = check(&problem, &solution);
        prop_assert!(report.is_feasible(), "{:#?}", report.violations);
    }

    #[test]
    fn a_progress_listener_sees_each_better_plan_and_changes_nothing(
        problem in problem_strategy(),
        seed in 0u64..1000,
    ) {
        let options = SolveOptions { iteration_limit: Some(150), seed, ..SolveOptions::default() };
        let seen: Mutex<Vec<Improvement>> = Mutex::new(Vec::new());
        let listened = solve_with_progress(&problem, &options, &Unlimited, &|i: &Improvement| {
            seen.lock().unwrap().push(*i);
        })
        .unwrap();
        let plain = solve(&problem, &options, &Unlimited).unwrap();
        prop_assert_eq!(&listened, &plain);
        let seen = seen.into_inner().unwrap();
        prop_assert!(!seen.is_empty());
        prop_assert_eq!(seen[0].iteration, 0);
        for pair in seen.windows(2) {
            prop_assert!(pair[1].cost < pair[0].cost);
            prop_assert!(pair[1].iteration > pair[0].iteration);
        }
        let last = seen[seen.len() - 1];
        prop_assert!((last.cost - listened.search.final_cost).abs() < 1e-9);
        prop_assert_eq!(last.assigned, listened.kpis.assigned);
    }
}
