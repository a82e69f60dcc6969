//! The planner's harness without building the service:
//! `cargo run -p jemput-bench --release --example quick -- bench <dir> [seconds] [prefix]`
//! `cargo run -p jemput-bench --release --example quick -- plan <problem.json> [seconds]`
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
                Some(Path::new("/dev/null")),
                &mut std::io::stderr(),
            )?;
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
