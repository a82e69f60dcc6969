//! Harness around the pure planner: file I/O, wall-clock limits, benchmark tables and a
//! generator of Jemput-scale problems. The `jemput plan`, `jemput bench` and `jemput generate`
//! commands call these functions.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use jemput_planner::checker;
use jemput_planner::scientific::read_solomon;
use jemput_planner::{Budget, Problem, Solution, SolveOptions, StopReason};

pub mod generate;

/// A wall-clock budget with an optional cancel flag: the clock lives here, not in the planner.
pub struct Deadline<'a> {
    started: Instant,
    limit: Duration,
    cancel: Option<&'a AtomicBool>,
}

impl<'a> Deadline<'a> {
    pub fn new(limit: Duration, cancel: Option<&'a AtomicBool>) -> Deadline<'a> {
        Deadline {
            started: Instant::now(),
            limit,
            cancel,
        }
    }
}

impl Budget for Deadline<'_> {
    fn used(&self) -> f64 {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return 1.0;
        }
        self.started.elapsed().as_secs_f64() / self.limit.as_secs_f64().max(1e-9)
    }
}

/// Solve within a wall-clock limit (and the options' iteration limit, if any).
pub fn solve_for(
    problem: &Problem,
    options: &SolveOptions,
    time_limit: Duration,
) -> anyhow::Result<Solution> {
    let mut options = options.clone();
    options.time_limit_ms = Some(time_limit.as_millis() as u64);
    let deadline = Deadline::new(time_limit, None);
    Ok(jemput_planner::solve(problem, &options, &deadline)?)
}

/// The stop reason as the solution JSON spells it.
pub fn stop_name(reason: StopReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Peak resident memory of this process in MiB (Linux), if known.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// `jemput plan`: read problem JSON, solve, verify with the checker, write solution JSON to
/// `output` (stdout when None), and a summary to `summary`.
pub fn plan_command(
    path: &Path,
    time_limit: Duration,
    options: &SolveOptions,
    output: Option<&Path>,
    summary: &mut dyn Write,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let problem = Problem::from_json(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: {} ({}): {}",
            path.display(),
            e.code,
            e.field,
            e.message
        )
    })?;
    let started = Instant::now();
    let solution = solve_for(&problem, options, time_limit)?;
    let wall = started.elapsed().as_secs_f64();
    let report = checker::check(&problem, &solution);
    let json = serde_json::to_string_pretty(&solution)?;
    match output {
        Some(out) => {
            std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?
        }
        None => println!("{json}"),
    }
    let routes_full = solution
        .unassigned
        .iter()
        .filter(|u| u.reason == jemput_planner::UnassignedReason::RoutesFull)
        .count();
    let serviceable = problem.jobs.len() - (solution.unassigned.len() - routes_full);
    writeln!(
        summary,
        "jobs={} assigned={} unassigned={} (routes_full={}, {:.2}% of {} serviceable) routes={} \
         distance_km={:.1} iterations={} threads={} stopped={} wall_s={:.2} peak_mib={} \
         feasible={}",
        problem.jobs.len(),
        solution.kpis.assigned,
        solution.unassigned.len(),
        routes_full,
        100.0 * routes_full as f64 / serviceable.max(1) as f64,
        serviceable,
        solution.routes.len(),
        solution.kpis.distance / 1000.0,
        solution.search.iterations,
        solution.search.threads,
        stop_name(solution.search.stopped),
        wall,
        peak_memory_mib().map_or("?".to_string(), |m| format!("{m:.0}")),
        report.is_feasible(),
    )?;
    for violation in report.violations.iter().take(20) {
        writeln!(
            summary,
            "violation {}: {}",
            violation.code, violation.message
        )?;
    }
    if !report.is_feasible() {
        bail!("the checker found {} violations", report.violations.len());
    }
    Ok(())
}

/// Totals of a benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchSummary {
    pub instances: usize,
    pub feasible: usize,
    pub mean_gap_pct: f64,
    pub max_gap_pct: f64,
    pub mean_wall_s: f64,
}

/// `jemput bench`: solve every instance listed in `dir/bks.csv` (optionally only names
/// starting with `filter`), check each solution, print one row per instance and the summary
/// line last.
pub fn bench_command(
    dir: &Path,
    time_limit: Duration,
    options: &SolveOptions,
    filter: Option<&str>,
    out: &mut dyn Write,
) -> anyhow::Result<BenchSummary> {
    let bks_path = dir.join("bks.csv");
    let bks = std::fs::read_to_string(&bks_path)
        .with_context(|| format!("reading {}", bks_path.display()))?;
    writeln!(
        out,
        "{:<10} {:>8} {:>12} {:>12} {:>8} {:>7} {:>9} {:>15}",
        "instance", "vehicles", "distance", "bks", "gap_pct", "wall_s", "feasible", "stopped"
    )?;
    let (mut instances, mut feasible) = (0, 0);
    let (mut gap_sum, mut gap_max, mut wall_sum) = (0.0, f64::NEG_INFINITY, 0.0);
    for line in bks.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [name, _vehicles, best] = fields[..] else {
            bail!("{}: bad row {line:?}", bks_path.display());
        };
        if filter.is_some_and(|f| !name.starts_with(f)) {
            continue;
        }
        let best: f64 = best
            .parse()
            .with_context(|| format!("{}: bad distance in {line:?}", bks_path.display()))?;
        let path = dir.join(format!("{name}.txt"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let problem =
            read_solomon(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e))?;
        let started = Instant::now();
        let solution = solve_for(&problem, options, time_limit)?;
        let wall = started.elapsed().as_secs_f64();
        let report = checker::check(&problem, &solution);
        let ok = report.is_feasible() && solution.unassigned.is_empty();
        let gap = 100.0 * (report.distance - best) / best;
        let mut row = format!(
            "{:<10} {:>8} {:>12.4} {:>12.4} {:>8} {:>7.2} {:>9} {:>15}",
            name,
            report.routes,
            report.distance,
            best,
            if ok {
                format!("{gap:.2}")
            } else {
                "-".to_string()
            },
            wall,
            ok,
            stop_name(solution.search.stopped)
        );
        if !ok {
            let _ = write!(
                row,
                "  ({} unassigned, {} violations{})",
                solution.unassigned.len(),
                report.violations.len(),
                report
                    .violations
                    .first()
                    .map_or(String::new(), |v| format!(": {}", v.message))
            );
        }
        writeln!(out, "{row}")?;
        instances += 1;
        wall_sum += wall;
        if ok {
            feasible += 1;
            gap_sum += gap;
            gap_max = gap_max.max(gap);
        }
    }
    if instances == 0 {
        bail!("no instances in {}", bks_path.display());
    }
    let summary = BenchSummary {
        instances,
        feasible,
        mean_gap_pct: if feasible > 0 {
            gap_sum / feasible as f64
        } else {
            f64::NAN
        },
        max_gap_pct: if feasible > 0 { gap_max } else { f64::NAN },
        mean_wall_s: wall_sum / instances as f64,
    };
    writeln!(
        out,
        "summary: instances={} feasible={} mean_gap_pct={:.2} max_gap_pct={:.2} mean_wall_s={:.2}",
        summary.instances,
        summary.feasible,
        summary.mean_gap_pct,
        summary.max_gap_pct,
        summary.mean_wall_s
    )?;
    Ok(summary)
}
