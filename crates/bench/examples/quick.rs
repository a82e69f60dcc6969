//! The planner's harness without building the service:
//! `cargo run -p jemput-bench --release --example quick -- bench <dir> [seconds] [prefix]`
//! Options anywhere after the command: `--threads N`, `--no-early-stop`.
//! `cargo run -p jemput-bench --release --example quick -- plan <problem.json> [seconds] [solution.json]`
//! `cargo run -p jemput-bench --release --example quick -- generate <requests> <teams> <days>`

use std::path::Path;
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut options = jemput_planner::SolveOptions::default();
    if let Some(at) = args.iter().position(|a| a == "--threads") {
        options.threads = args.get(at + 1).and_then(|n| n.parse().ok()).unwrap_or(1);
        args.drain(at..(at + 2).min(args.len()));
    }
    if let Some(at) = args.iter().position(|a| a == "--no-early-stop") {
        options.stop_when_stalled = false;
        args.remove(at);
    }
    let seconds = |i: usize, default: f64| {
        Duration::from_secs_f64(args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default))
    };
    match args.first().map(String::as_str) {
        Some("bench") if args.len() > 1 => {
            jemput_bench::bench_command(
                Path::new(&args[1]),
                seconds(2, 1.0),
                &options,
                args.get(3).map(String::as_str),
                &mut std::io::stdout(),
            )?;
        }
        Some("plan") if args.len() > 1 => {
            jemput_bench::plan_command(
                Path::new(&args[1]),
                seconds(2, 10.0),
                &options,
                args.get(3).map(Path::new),
                &mut std::io::stderr(),
            )?;
        }
        Some("iterations") if args.len() > 2 => {
            // Deterministic run of a fixed number of iterations, timed.
            let text = std::fs::read_to_string(&args[1])?;
            let problem = jemput_planner::Problem::from_json(&text)?;
            options.iteration_limit = args[2].parse().ok();
            let started = std::time::Instant::now();
            let solution = jemput_planner::solve(&problem, &options, &jemput_planner::Unlimited)?;
            println!(
                "iterations={} stopped={} cost={:.0} initial={:.0} unassigned={} wall_s={:.2}",
                solution.search.iterations,
                jemput_bench::stop_name(solution.search.stopped),
                solution.search.final_cost,
                solution.search.initial_cost,
                solution.unassigned.len(),
                started.elapsed().as_secs_f64()
            );
        }
        Some("generate") => {
            let n = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
            let problem = jemput_bench::generate::generate(n(1, 2000), n(2, 40), n(3, 5), 1);
            println!("{}", serde_json::to_string(&problem)?);
        }
        _ => anyhow::bail!("usage: quick bench <dir> [seconds] [prefix] | plan <file> [seconds] | generate [requests teams days]"),
    }
    Ok(())
}
