//! The harness end to end on the repository's copies of the benchmark instances.

use std::path::Path;
use std::time::Duration;

use jemput_bench::{bench_command, generate::generate, plan_command};
use jemput_planner::SolveOptions;

fn solomon() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/solomon"))
}

#[test]
fn bench_prints_a_row_per_instance_and_the_summary_last() {
    let mut out = Vec::new();
    let summary = bench_command(
        solomon(),
        Duration::from_millis(200),
        &SolveOptions::default(),
        Some("C10"),
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(summary.instances, 9);
    assert_eq!(summary.feasible, 9, "{text}");
    assert_eq!(lines.len(), 1 + 9 + 1, "{text}");
    assert!(lines[1].starts_with("C101 "), "{text}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("summary: instances=9 feasible=9 mean_gap_pct="),
        "{last}"
    );
    for key in ["max_gap_pct=", "mean_wall_s="] {
        assert!(last.contains(key), "{last}");
    }
    // How close it gets in a fifth of a second depends on how busy the machine is: quality is
    // measured by `jemput bench` (README, Performance), not asserted here.
    assert!(summary.mean_gap_pct.is_finite(), "{text}");
}

#[test]
fn plan_writes_a_checked_solution() {
    let dir = tempfile::tempdir().unwrap();
    let problem = dir.path().join("problem.json");
    let solution = dir.path().join("solution.json");
    let generated = generate(60, 3, 2, 5);
    std::fs::write(&problem, serde_json::to_string(&generated).unwrap()).unwrap();
    let mut summary = Vec::new();
    plan_command(
        &problem,
        Duration::from_millis(300),
        &SolveOptions::default(),
        Some(&solution),
        &mut summary,
    )
    .unwrap();
    let summary = String::from_utf8(summary).unwrap();
    assert!(summary.contains("feasible=true"), "{summary}");
    let written: jemput_planner::Solution =
        serde_json::from_str(&std::fs::read_to_string(&solution).unwrap()).unwrap();
    assert_eq!(
        written.kpis.assigned + written.unassigned.len(),
        generated.jobs.len()
    );
}

#[test]
fn plan_names_the_bad_field() {
    let dir = tempfile::tempdir().unwrap();
    let problem = dir.path().join("problem.json");
    std::fs::write(
        &problem,
        r#"{"jobs": [{"id": "a", "location": {"lat": -7.8, "lon": 110.1}, "service_minutes": -5}],
            "teams": []}"#,
    )
    .unwrap();
    let error = plan_command(
        &problem,
        Duration::from_millis(10),
        &SolveOptions::default(),
        None,
        &mut Vec::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("jobs[0].service_minutes"), "{error}");
}

#[test]
fn a_generated_regency_week_plans_feasibly() {
    // 16 teams × 5 days = 80 routes: enough for the solver to look only at nearby routes.
    let problem = generate(400, 16, 5, 3);
    let options = jemput_planner::SolveOptions {
        iteration_limit: Some(300),
        ..Default::default()
    };
    let solution = jemput_planner::solve(&problem, &options, &jemput_planner::Unlimited).unwrap();
    let report = jemput_planner::checker::check(&problem, &solution);
    assert!(report.is_feasible(), "{:#?}", report.violations);
    assert!(solution.unassigned.len() <= 4, "{:#?}", solution.unassigned);
    assert!(!solution.hotspots.is_empty());
}

#[test]
fn a_backlog_far_beyond_the_routes_plans_the_urgent_first() {
    // Two teams for one day and 20,000 open requests, one in twenty urgent: the routes hold a
    // few dozen, so only the most pressing are considered and every visit planned is urgent.
    let problem = generate(20_000, 2, 1, 11);
    let options = SolveOptions {
        iteration_limit: Some(200),
        ..SolveOptions::default()
    };
    let solution = jemput_planner::solve(&problem, &options, &jemput_planner::Unlimited).unwrap();
    let report = jemput_planner::checker::check(&problem, &solution);
    assert!(report.is_feasible(), "{:#?}", report.violations);
    assert_eq!(
        solution.search.considered,
        jemput_planner::CONSIDER_AT_LEAST
    );
    assert_eq!(
        solution.kpis.assigned + solution.unassigned.len(),
        problem.jobs.len()
    );
    assert!(solution.kpis.assigned > 10, "{:?}", solution.kpis);
    let urgent: std::collections::HashSet<&str> = problem
        .jobs
        .iter()
        .filter(|j| j.priority == jemput_planner::Priority::Urgent)
        .map(|j| j.id.as_str())
        .collect();
    for route in &solution.routes {
        for stop in &route.stops {
            if let jemput_planner::Stop::Visit { job, .. } = stop {
                assert!(urgent.contains(job.as_str()), "{job} is not urgent");
            }
        }
    }
}
