//! Command line: `serve`, `migrate`, `demo`, `rotate-key`, `openapi`, `healthcheck`, and the planner's
//! `plan`, `bench` and `generate`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "jemput",
    version,
    about = "Schedules jemput bola field service"
)]
pub struct Cli {
    /// A TOML settings file (default: ./jemput.toml if present). Environment variables
    /// JEMPUT__SECTION__KEY override it, e.g. JEMPUT__DATABASE__URL.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (migrates the database first).
    Serve {
        /// Seed the demo region (Kulon Progo: villages, teams, staff, ~200 open requests).
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        /// Revert every migration instead (destroys all data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Seed the demo region into the configured database and exit.
    Demo,
    /// Re-encrypt every personal value under `privacy.active_key_id`, in batches (each its own
    /// short transaction; safe while the service runs). Keep the old key configured until it
    /// reports nothing left.
    RotateKey {
        /// Rows per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch: i64,
    },
    /// Print the OpenAPI document (what mobile-api-spec/openapi.json must equal).
    Openapi,
    /// Exit 0 if the service configured here answers /health/ready (for container health checks).
    Healthcheck,
    /// Plan a problem JSON file and write the solution JSON (checked by the independent checker).
    Plan {
        problem: PathBuf,
        /// Wall-clock limit, e.g. 5s or 500ms.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        time_limit: Duration,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Searches side by side (one per core is the most that helps).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Run to the time limit even when the search has stopped improving.
        #[arg(long)]
        no_early_stop: bool,
        /// Write the solution here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Run every Solomon-format instance listed in <dir>/bks.csv and compare with the
    /// best-known solutions; the last line is the summary.
    Bench {
        dir: PathBuf,
        #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
        time_limit: Duration,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Searches side by side (one per core is the most that helps).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Run to the time limit even when the search has stopped improving.
        #[arg(long)]
        no_early_stop: bool,
        /// Only instances whose name starts with this (e.g. R1).
        #[arg(long)]
        only: Option<String>,
    },
    /// Print a Jemput-scale problem JSON around the Kulon Progo villages.
    Generate {
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        #[arg(long, default_value_t = 40)]
        teams: usize,
        #[arg(long, default_value_t = 5)]
        days: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}
