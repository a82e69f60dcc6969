//! How the search runs: threads, stopping on its own, and why it stopped.
#![expect(clippy::unwrap_used, reason = "tests")]

use jemput_planner::checker::check;
use jemput_planner::{solve, Problem, SolveOptions, StopReason, Unlimited, STALL_MIN_ITERATIONS};
use serde_json::{json, Value};

const DAY: &str = "2026-11-23";

/// `jobs` visits scattered over a 100 × 100 plane for three teams.
fn scattered(jobs: usize) -> Problem {
    let teams: Vec<Value> = (0..3)
        .map(|t| {
            json!({"id": format!("t{t}"), "start": {"x": 50, "y": 50}, "capacity": 40,
                   "shifts": [{"date": DAY, "start": 0, "end": 1000}]})
        })
        .collect();
    let jobs: Vec<Value> = (0..jobs)
        .map(|i| {
            json!({"id": format!("j{i}"), "service_minutes": 5, "demand": 1 + i % 4,
                   "location": {"x": (i * 37 % 101) as f64, "y": (i * 61 % 97) as f64}})
        })
        .collect();
    Problem::from_json(
        &json!({"travel": {"model": "euclidean"}, "teams": teams, "jobs": jobs}).to_string(),
    )
    .unwrap()
}

#[test]
fn threads_give_one_plan_per_seed_and_thread_count() {
    let problem = scattered(40);
    let options = SolveOptions {
        seed: 7,
        threads: 2,
        iteration_limit: Some(3_000),
        stop_when_stalled: false,
        ..SolveOptions::default()
    };
    let a = solve(&problem, &options, &Unlimited).unwrap();
    let b = solve(&problem, &options, &Unlimited).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.search.threads, 2);
    assert_eq!(a.search.iterations, 2 * 3_000);
    assert_eq!(a.search.stopped, StopReason::IterationLimit);
    assert!(check(&problem, &a).is_feasible());
    assert!(a.search.final_cost <= a.search.initial_cost);
}

#[test]
fn each_thread_runs_to_the_iteration_limit() {
    let problem = scattered(40);
    let options = SolveOptions {
        threads: 3,
        iteration_limit: Some(2_500),
        stop_when_stalled: false,
        ..SolveOptions::default()
    };
    let solution = solve(&problem, &options, &Unlimited).unwrap();
    assert_eq!(solution.search.iterations, 3 * 2_500);
    assert_eq!(solution.search.stopped, StopReason::IterationLimit);
    assert!(check(&problem, &solution).is_feasible());
}

#[test]
fn a_search_that_stopped_improving_stops_on_its_own() {
    let problem = scattered(12);
    for threads in [1, 2] {
        let options = SolveOptions {
            threads,
            iteration_limit: Some(10_000_000),
            ..SolveOptions::default()
        };
        let solution = solve(&problem, &options, &Unlimited).unwrap();
        assert_eq!(solution.search.stopped, StopReason::Stalled, "{threads}");
        let per_thread = solution.search.iterations / threads as u64;
        assert!(per_thread >= STALL_MIN_ITERATIONS, "{per_thread}");
        assert!(per_thread < 10_000_000 / 10, "{per_thread}");
        assert!(check(&problem, &solution).is_feasible());
    }
}

#[test]
fn without_the_stall_rule_the_limit_ends_the_search() {
    let problem = scattered(12);
    let options = SolveOptions {
        iteration_limit: Some(3 * STALL_MIN_ITERATIONS),
        stop_when_stalled: false,
        ..SolveOptions::default()
    };
    let solution = solve(&problem, &options, &Unlimited).unwrap();
    assert_eq!(solution.search.stopped, StopReason::IterationLimit);
    assert_eq!(solution.search.iterations, 3 * STALL_MIN_ITERATIONS);
}

#[test]
fn a_spent_budget_is_reported_as_the_time_limit() {
    let problem = scattered(12);
    let spent = || 1.0;
    for threads in [1, 2] {
        let options = SolveOptions {
            threads,
            ..SolveOptions::default()
        };
        let solution = solve(&problem, &options, &spent).unwrap();
        assert_eq!(solution.search.stopped, StopReason::TimeLimit);
        assert_eq!(solution.search.iterations, 0);
        assert!(check(&problem, &solution).is_feasible());
    }
}

#[test]
fn nothing_to_move_is_said() {
    let mut problem = scattered(2);
    problem.teams.clear();
    let solution = solve(&problem, &SolveOptions::default(), &Unlimited).unwrap();
    assert_eq!(solution.search.stopped, StopReason::NothingToSearch);
}
