//! Promised windows in re-plans: kept whenever they can be, otherwise broken by as little as
//! can be (the more urgent visit keeps its promise first), and reported the same way by the
//! solver, the checker and `evaluate`.
#![expect(clippy::unwrap_used, reason = "tests")]

use jemput_planner::checker::check;
use jemput_planner::{evaluate, solve, Problem, Solution, SolveOptions, Stop, Unlimited};
use serde_json::{json, Value};

const DAY: &str = "2026-11-23";

fn team(id: &str) -> Value {
    json!({"id": id, "start": {"x": 0, "y": 0},
           "shifts": [{"date": DAY, "start": 0, "end": 600}]})
}

fn promised(id: &str, x: f64, y: f64, window: (f64, f64)) -> Value {
    json!({"id": id, "location": {"x": x, "y": y}, "service_minutes": 10,
           "promised_window": {"start": window.0, "end": window.1}})
}

fn problem(teams: Vec<Value>, jobs: Vec<Value>) -> Problem {
    Problem::from_json(
        &json!({"travel": {"model": "euclidean"}, "teams": teams, "jobs": jobs}).to_string(),
    )
    .unwrap()
}

fn run(problem: &Problem) -> Solution {
    let options = SolveOptions {
        iteration_limit: Some(2_000),
        ..SolveOptions::default()
    };
    let solution = solve(problem, &options, &Unlimited).unwrap();
    let report = check(problem, &solution);
    assert!(report.is_feasible(), "{:#?}", report.violations);
    assert_eq!(report.late_visits, solution.late.len());
    solution
}

fn starts(solution: &Solution) -> Vec<(String, f64)> {
    solution
        .routes
        .iter()
        .flat_map(|r| &r.stops)
        .filter_map(|s| match s {
            Stop::Visit { job, start, .. } => Some((job.clone(), *start)),
            Stop::Break { .. } => None,
        })
        .collect()
}

/// Every route evaluated on its own reports the same late visits as the solution.
fn evaluate_agrees(problem: &Problem, solution: &Solution) {
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
        let evaluation = evaluate(problem, &route.team, &route.date, &jobs).unwrap();
        assert!(evaluation.issues.is_empty(), "{:#?}", evaluation.issues);
        late.extend(evaluation.late);
    }
    let key = |l: &jemput_planner::LateVisit| (l.job.clone(), (l.minutes * 1e6).round() as i64);
    let mut from_evaluate: Vec<_> = late.iter().map(key).collect();
    let mut from_solver: Vec<_> = solution.late.iter().map(key).collect();
    from_evaluate.sort();
    from_solver.sort();
    assert_eq!(from_evaluate, from_solver);
}

#[test]
fn after_a_team_goes_absent_every_promise_that_can_be_kept_is_kept() {
    // Team a had the west, team b the east, each with a promise every two hours. Team b is
    // off: team a can drive between the two sides in 40 minutes, so every promise still fits,
    // though a route by distance alone would do each side in one sweep and break half of them.
    let mut jobs = Vec::new();
    for k in 0..4 {
        let opens = 30.0 + 120.0 * f64::from(k);
        jobs.push(promised(
            &format!("west{k}"),
            -20.0,
            f64::from(k),
            (opens, opens + 30.0),
        ));
        jobs.push(promised(
            &format!("east{k}"),
            20.0,
            f64::from(k),
            (opens + 60.0, opens + 90.0),
        ));
    }
    let p = problem(vec![team("a")], jobs);
    let solution = run(&p);
    assert!(solution.unassigned.is_empty(), "{:#?}", solution.unassigned);
    assert!(solution.late.is_empty(), "{:#?}", solution.late);
    for (job, start) in starts(&solution) {
        let promise = p
            .jobs
            .iter()
            .find(|j| j.id == job)
            .unwrap()
            .promised_window
            .unwrap();
        assert!(
            start >= promise.start.0 && start <= promise.end.0,
            "{job} at {start}"
        );
    }
    evaluate_agrees(&p, &solution);
}

#[test]
fn a_promise_that_cannot_be_kept_is_broken_by_the_least_and_reported() {
    // Both were promised 100..110, 40 minutes apart: one of them cannot be kept. The urgent
    // one keeps its promise; the other is served late rather than left out.
    let mut urgent = promised("urgent", 0.0, 30.0, (100.0, 110.0));
    urgent["priority"] = json!("urgent");
    let p = problem(
        vec![team("a")],
        vec![urgent, promised("normal", 40.0, 30.0, (100.0, 110.0))],
    );
    let solution = run(&p);
    assert!(solution.unassigned.is_empty());
    assert_eq!(solution.late.len(), 1, "{:#?}", solution.late);
    let late = &solution.late[0];
    assert_eq!(late.job, "normal");
    // Urgent starts at 100 (its promise opens), ends at 110, drives 40: normal starts at 150.
    assert!((late.minutes - 40.0).abs() < 1e-6, "{late:?}");
    assert_eq!(solution.kpis.late_visits, 1);
    evaluate_agrees(&p, &solution);
}

#[test]
fn no_visit_starts_before_its_promise_opens() {
    let p = problem(
        vec![team("a")],
        vec![promised("p", 5.0, 0.0, (200.0, 230.0))],
    );
    let solution = run(&p);
    assert_eq!(starts(&solution), vec![("p".to_string(), 200.0)]);
}

#[test]
fn the_checker_holds_the_late_list_to_the_routes() {
    let p = problem(
        vec![team("a")],
        vec![
            promised("x", 0.0, 30.0, (100.0, 110.0)),
            promised("y", 40.0, 30.0, (100.0, 110.0)),
        ],
    );
    let mut solution = run(&p);
    assert_eq!(solution.late.len(), 1);
    solution.late.clear();
    let codes: Vec<&str> = check(&p, &solution)
        .violations
        .iter()
        .map(|v| v.code)
        .collect();
    assert_eq!(codes, vec!["late_report"]);

    let mut early = run(&p);
    for route in &mut early.routes {
        for stop in &mut route.stops {
            if let Stop::Visit {
                start,
                arrival,
                wait,
                ..
            } = stop
            {
                if *start <= 110.0 {
                    *start -= 50.0;
                    *arrival = (*arrival).min(*start);
                    *wait = *start - *arrival;
                }
            }
        }
    }
    assert!(check(&p, &early)
        .violations
        .iter()
        .any(|v| v.code == "before_promise"));
}
