//! Command line: `serve`, `migrate`, `demo`, `openapi`.

use std::path::PathBuf;

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
    /// Print the OpenAPI document (what mobile-api-spec/openapi.json must equal).
    Openapi,
    /// Exit 0 if the service configured here answers /health/ready (for container health checks).
    Healthcheck,
}
