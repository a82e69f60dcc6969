//! The planner's harness without building the service:
//! `cargo run -p jemput-bench --release --example quick -- bench <dir> [seconds] [prefix]`
//! `cargo run -p jemput-bench --release --example quick -- plan <problem.json> [seconds] [solution.json]`
//! `cargo run -p jemput-bench --release --example quick -- generate <requests> <teams> <days>`

use std::path::Path;
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = |i: usize, default: f64| {
        Duration::from_secs_f64(args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default))
    };
    match args.first().map(String::as_str) {
        Some("bench") if args.len() > 1 => {
            jemput_bench::bench_command(
                Path::new(&args[1]),
                seconds(2, 1.0),
                1,
                args.get(3).map(String::as_str),
                &mut std::io::stdout(),
            )?;
        }
        Some("plan") if args.len() > 1 => {
            jemput_bench::plan_command(
                Path::new(&args[1]),
                seconds(2, 10.0),
                1,
                args.get(3).map(Path::new),
                &mut std::io::stderr(),
            )?;
        }
        Some("iterations") if args.len() > 2 => {
            // Deterministic run of a fixed number of iterations, timed.
            let text = std::fs::read_to_string(&args[1])?;
            let problem = jemput_planner::Problem::from_json(&text)?;
            let options = jemput_planner::SolveOptions {
                iteration_limit: args[2].parse().ok(),
                ..Default::default()
            };
            let started = std::time::Instant::now();
            let solution = jemput_planner::solve(&problem, &options, &jemput_planner::Unlimited)?;
            println!(
                "iterations={} cost={:.0} initial={:.0} unassigned={} wall_s={:.2}",
                solution.search.iterations,
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
