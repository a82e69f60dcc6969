//! Thin: CLI → config → telemetry → run.

use std::process::ExitCode;

use clap::Parser;
use jemput::cli::{Cli, Command};
use jemput::config::{PrivacySettings, Settings};
use jemput::db::Db;
use jemput::startup::Application;
use jemput::{api, db, demo, privacy, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(result) = planner_command(&cli.command) {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Openapi = cli.command {
        return match serde_json::to_string_pretty(&api::openapi()) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Serve { demo } = cli.command {
        if let Err(e) = settings.check_production(demo) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    telemetry::init(&settings.log);
    let mut settings = settings;
    // The demo, and a service explicitly in development, may run on the development key.
    let development_run = matches!(cli.command, Command::Serve { demo: true } | Command::Demo)
        || (matches!(cli.command, Command::Serve { .. }) && settings.server.development);
    if development_run && settings.privacy.is_unset() {
        tracing::warn!("privacy.keys is not set: the development key is used (not for real data)");
        settings.privacy = PrivacySettings::development();
    }
    // Personal data is sealed with these keys from the first row the process writes (the demo
    // seeds before the service starts); `serve` without them refuses, naming the setting.
    if matches!(
        cli.command,
        Command::Serve { .. } | Command::Demo | Command::RotateKey { .. }
    ) {
        if let Err(e) = privacy::KeyRing::from_settings(&settings.privacy)
            .and_then(|ring| privacy::install(&ring))
        {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Serve { demo } => serve(settings, demo),
        Command::Migrate { revert_all } => migrate(&settings, revert_all),
        Command::Demo => seed_demo(&settings).map(|_| ()),
        Command::RotateKey { batch } => rotate_key(&settings, batch),
        Command::Healthcheck => healthcheck(&settings),
        Command::Openapi
        | Command::Plan { .. }
        | Command::Bench { .. }
        | Command::Generate { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The planner's commands need neither settings nor a database.
fn planner_command(command: &Command) -> Option<anyhow::Result<()>> {
    let result = match command {
        Command::Plan {
            problem,
            time_limit,
            seed,
            threads,
            no_early_stop,
            output,
        } => jemput_bench::plan_command(
            problem,
            *time_limit,
            &search_options(*seed, *threads, *no_early_stop),
            output.as_deref(),
            &mut std::io::stderr(),
        ),
        Command::Bench {
            dir,
            time_limit,
            seed,
            threads,
            no_early_stop,
            only,
        } => jemput_bench::bench_command(
            dir,
            *time_limit,
            &search_options(*seed, *threads, *no_early_stop),
            only.as_deref(),
            &mut std::io::stdout(),
        )
        .map(|_| ()),
        Command::Generate {
            requests,
            teams,
            days,
            seed,
        } => {
            let problem = jemput_bench::generate::generate(*requests, *teams, *days, *seed);
            serde_json::to_string_pretty(&problem)
                .map(|json| println!("{json}"))
                .map_err(Into::into)
        }
        _ => return None,
    };
    Some(result)
}

fn search_options(seed: u64, threads: usize, no_early_stop: bool) -> jemput_planner::SolveOptions {
    jemput_planner::SolveOptions {
        seed,
        threads,
        stop_when_stalled: !no_early_stop,
        ..Default::default()
    }
}

fn migrate(settings: &Settings, revert_all: bool) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database)?;
    let mut conn = db.get()?;
    if revert_all {
        db::revert_all_migrations(&mut conn)?;
        tracing::info!("all migrations reverted");
    } else {
        db::run_migrations(&mut conn)?;
        tracing::info!("migrations applied");
    }
    Ok(())
}

fn seed_demo(settings: &Settings) -> anyhow::Result<demo::DemoSummary> {
    let db = Db::connect(&settings.database)?;
    let mut conn = db.get()?;
    db::run_migrations(&mut conn)?;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let summary = demo::seed(&mut conn, today)?;
    if summary.created {
        tracing::info!(
            region_id = summary.region_id,
            requests = summary.requests,
            "demo region seeded"
        );
    } else {
        tracing::info!(
            region_id = summary.region_id,
            "demo region already present; left as it is"
        );
    }
    Ok(summary)
}

fn rotate_key(settings: &Settings, batch: i64) -> anyhow::Result<()> {
    let ring = privacy::KeyRing::from_settings(&settings.privacy)?;
    let db = Db::connect(&settings.database)?;
    let mut conn = db.get()?;
    db::run_migrations(&mut conn)?;
    let active = ring.active_key_id().to_string();
    println!("re-encrypting personal data under key {active:?}, {batch} rows per batch");
    let done = db::personal::reseal(
        &mut conn,
        &ring,
        db::personal::Scope::NotActiveKey,
        batch,
        |so_far| {
            println!(
                "  accounts {}, requests {} re-encrypted",
                so_far.accounts, so_far.requests
            )
        },
    )?;
    let left = db::personal::count_not_under(&mut conn, &ring)?;
    println!(
        "done: {} accounts and {} requests re-encrypted",
        done.accounts, done.requests
    );
    if left > 0 {
        // Rows the service changed between this job's read and its write keep the service's
        // write; another pass takes them.
        println!("{left} rows are still not under {active:?}: run rotate-key again");
    } else {
        println!("nothing is left under other keys: they may be removed from privacy.keys");
    }
    Ok(())
}

fn healthcheck(settings: &Settings) -> anyhow::Result<()> {
    let host = match settings.server.host.as_str() {
        "0.0.0.0" | "::" => "127.0.0.1",
        other => other,
    };
    let url = format!("http://{host}:{}/health/ready", settings.server.port);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(3))
            .build()?;
        let status = client.get(&url).send().await?.status();
        anyhow::ensure!(status.is_success(), "{url} answered {status}");
        Ok(())
    })
}

fn serve(settings: Settings, with_demo: bool) -> anyhow::Result<()> {
    if with_demo {
        seed_demo(&settings)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let host = settings.server.host.clone();
        let backend = settings.database.backend();
        let app = Application::build(settings).await?;
        let base = format!("http://{host}:{}", app.port());
        tracing::info!(address = %base, backend = ?backend, "jemput listening");
        if with_demo {
            println!("{}", demo::sign_in_help(&base));
        }
        app.run_until(std::future::pending()).await?;
        Ok(())
    })
}
