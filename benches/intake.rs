//! Intake cost: what `POST /v1/requests` takes on PostgreSQL next to what the database alone
//! takes for the same two inserts. A figures printer, not a test: nothing here asserts on time.
//!
//! `cargo bench --bench intake [-- --seconds 20 --clients 8]`
//!
//! 1. The real service (release build, HTTP on port 0, default settings: pool of 8) on a fresh
//!    PostgreSQL database at `JEMPUT_TEST_POSTGRES_URL` (default
//!    `postgres://postgres@127.0.0.1:5432`), with a region (the Kulon Progo outline), a service
//!    kind and one citizen per client seeded.
//! 2. `--clients` concurrent clients (reqwest, in this process) post visit requests for
//!    `--seconds`, each with a new `Idempotency-Key`: requests/s, latency p50/p99, and
//!    transactions per request from `pg_stat_database` (read once the service has stopped and
//!    its connections are ended, so every backend has reported; the outbox worker's and
//!    planning runner's polls are included).
//! 3. `pgbench` (`PGBENCH`, else the newest `/usr/lib/postgresql/*/bin/pgbench`) runs
//!    `bench/intake/pgbench.sql` (the request row and its event in one transaction) on the
//!    same database with the same client count and duration.

// A benchmark harness may abort on setup failure: a panic with the reason is the right outcome
// here, and unwrap/expect keep the setup readable.
#![expect(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use diesel::prelude::*;
use jemput::auth::TokenKeys;
use jemput::config::Settings;
use jemput::db::accounts::{self, NewAccount};
use jemput::db::catalog::{self, NewRegion, NewServiceKind};
use jemput::db::events::Actor;
use jemput::db::{self, DbError};
use jemput::domain::Role;
use jemput::startup::Application;
use serde_json::{json, Value};

const PGBENCH_SCRIPT: &str = include_str!("../bench/intake/pgbench.sql");
const REGENCY: &str = include_str!("../assets/kulon_progo_regency.geojson");
const SECRET: &str = "bench-secret-bench-secret-bench-secret-00";
/// Wates, the regency seat.
const WATES: (f64, f64) = (-7.8606, 110.1583);

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn postgres_admin_url() -> String {
    std::env::var("JEMPUT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn admin_connection() -> diesel::PgConnection {
    diesel::PgConnection::establish(&format!("{}/postgres", postgres_admin_url())).unwrap_or_else(
        |e| {
            panic!(
                "PostgreSQL does not answer at {}: {e}",
                postgres_admin_url()
            )
        },
    )
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Transactions (committed and rolled back) the database `name` has counted.
fn transactions(admin: &mut diesel::PgConnection, name: &str) -> i64 {
    diesel::sql_query(
        "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = $1",
    )
    .bind::<diesel::sql_types::Text, _>(name)
    .get_result::<Count>(admin)
    .unwrap()
    .n
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

/// Ends every connection to the database `name` (looked up first, then ended one by one, so
/// nothing else is touched); returns their process ids.
fn terminate_backends(admin: &mut diesel::PgConnection, name: &str) -> Vec<i32> {
    let pids: Vec<i32> = diesel::sql_query("SELECT pid FROM pg_stat_activity WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .load::<Pid>(admin)
        .unwrap()
        .into_iter()
        .map(|p| p.pid)
        .collect();
    for pid in &pids {
        diesel::sql_query("SELECT pg_terminate_backend($1)")
            .bind::<diesel::sql_types::Integer, _>(*pid)
            .execute(admin)
            .unwrap();
    }
    pids
}

fn still_running(admin: &mut diesel::PgConnection, pids: &[i32]) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1)")
        .bind::<diesel::sql_types::Array<diesel::sql_types::Integer>, _>(pids)
        .get_result::<Count>(admin)
        .unwrap()
        .n
}

fn pgbench_path() -> String {
    if let Ok(path) = std::env::var("PGBENCH") {
        return path;
    }
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(Result::ok)
                .map(|d| d.path().join("bin/pgbench"))
                .filter(|p| p.exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
        .pop()
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_else(|| "pgbench".into())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Seeded {
    region: i64,
    kind: i64,
    citizens: Vec<(i64, String)>,
}

async fn seed(db: &db::Db, clients: usize) -> Seeded {
    let (region, kind, ids) = db
        .write(move |conn| {
            let at = db::now();
            let region = catalog::region_insert(
                conn,
                &Actor::default(),
                NewRegion {
                    name: "Kulon Progo".into(),
                    time_zone: "Asia/Jakarta".into(),
                    boundary_geojson: Some(REGENCY.into()),
                    created_at: at,
                },
            )?;
            let kind = catalog::service_kind_insert(
                conn,
                &Actor::default(),
                NewServiceKind {
                    region_id: region.id,
                    code: "ktp_elderly".into(),
                    name_id: "Perekaman KTP-el lansia".into(),
                    name_en: "ID card for the elderly".into(),
                    default_duration_minutes: 30,
                    required_skill: Some("adminduk".into()),
                    active: true,
                    version: 1,
                    created_at: at,
                    updated_at: at,
                },
            )?;
            let mut ids = Vec::new();
            for i in 0..clients {
                let citizen = accounts::insert(
                    conn,
                    &Actor::default(),
                    NewAccount {
                        role: jemput::domain::Role::Citizen,
                        region_id: None,
                        phone: Some(format!("+62812{:08}", 90_000_000 + i)),
                        username: None,
                        password_hash: None,
                        display_name: format!("Warga {i}"),
                        language: jemput::domain::Language::Id,
                        active: true,
                        created_at: at,
                    },
                )?;
                ids.push(citizen.id);
            }
            Ok::<_, DbError>((region.id, kind.id, ids))
        })
        .await
        .unwrap();
    let keys = TokenKeys::new(SECRET, 24 * 3600);
    let citizens = ids
        .into_iter()
        .map(|id| (id, keys.issue(id, Role::Citizen, None, 1).unwrap()))
        .collect();
    Seeded {
        region,
        kind,
        citizens,
    }
}

fn request_body(seeded: &Seeded) -> Value {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    json!({
        "region_id": seeded.region,
        "service_kind_id": seeded.kind,
        "location": {"lat": WATES.0, "lon": WATES.1},
        "address": "Dusun Bendungan RT 02/RW 01, Wates",
        "notes": "Ibu sudah tidak bisa berjalan",
        "accessibility_needs": ["bedridden"],
        "earliest_date": (today + chrono::Duration::days(2)).to_string(),
        "deadline": (today + chrono::Duration::days(12)).to_string(),
        "preferred_windows": [{"date": (today + chrono::Duration::days(3)).to_string(), "start": "08:00", "end": "11:00"}]
    })
}

struct Load {
    created: u64,
    failed: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// `clients` loops posting requests with new keys until `seconds` have passed.
async fn drive(base: &str, seeded: &Seeded, seconds: u64) -> Load {
    let body = serde_json::to_vec(&request_body(seeded)).unwrap();
    let url = format!("{base}/v1/requests");
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = seeded
        .citizens
        .iter()
        .map(|(_, token)| {
            let (client, url, body, token) = (
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap(),
                url.clone(),
                body.clone(),
                token.clone(),
            );
            tokio::spawn(async move {
                let (mut created, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
                while Instant::now() < until {
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                        .body(body.clone())
                        .send()
                        .await;
                    let ok = match response {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let _ = r.bytes().await;
                            status == 201
                        }
                        Err(_) => false,
                    };
                    latencies.push(sent.elapsed());
                    if ok {
                        created += 1;
                    } else {
                        failed += 1;
                    }
                }
                (created, failed, latencies)
            })
        })
        .collect();
    let mut load = Load {
        created: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        let (created, failed, latencies) = task.await.unwrap();
        load.created += created;
        load.failed += failed;
        load.latencies.extend(latencies);
    }
    load.elapsed = started.elapsed();
    load.latencies.sort_unstable();
    load
}

/// pgbench's transactions per second (excluding connection set-up) for the intake script.
fn pgbench(url: &str, seeded: &Seeded, clients: usize, seconds: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("intake.sql");
    std::fs::write(&script, PGBENCH_SCRIPT).unwrap();
    let first = seeded.citizens.iter().map(|(id, _)| *id).min().unwrap();
    let output = std::process::Command::new(pgbench_path())
        .args(["-n", "-c", &clients.to_string(), "-j", "2"])
        .args(["-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .args(["-D", &format!("citizen_first={first}")])
        .args(["-D", &format!("citizens={}", seeded.citizens.len())])
        .args(["-D", &format!("region={}", seeded.region)])
        .args(["-D", &format!("kind={}", seeded.kind)])
        .arg(url)
        .output()
        .expect("run pgbench (set PGBENCH to its path)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench output: {text}"))
}

fn main() {
    // `cargo bench` adds `--bench`; other unknown arguments are ignored too.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: u64 = arg_value(&args, "--seconds")
        .map(|v| v.parse().expect("--seconds takes a number"))
        .unwrap_or(20);
    let clients: usize = arg_value(&args, "--clients")
        .map(|v| v.parse().expect("--clients takes a number"))
        .unwrap_or(8);

    let name = format!(
        "jemput_bench_intake_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let mut admin = admin_connection();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap();
    let url = format!("{}/{name}", postgres_admin_url());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (seeded, load, service_transactions) = runtime.block_on(async {
        let mut settings = Settings::defaults().unwrap();
        settings.server.port = 0;
        settings.database.url = url.clone();
        settings.auth.jwt_secret = SECRET.into();
        // Each client files as one citizen for the whole run.
        settings.limits.open_requests_per_citizen = 1_000_000;
        settings.privacy = jemput::config::PrivacySettings::development();
        settings.validate().unwrap();
        println!(
            "intake bench: {} logical CPUs; {clients} clients for {seconds} s; service: {} HTTP workers, pool of {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            settings.database.pool_size,
        );
        let app = Application::build(settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let seeded = seed(&db, clients).await;
        drop(db);
        let before = transactions(&mut admin, &name);
        let load = drive(&base, &seeded, seconds).await;
        eprintln!("load done; stopping the service");
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(20), running).await;
        // A backend reports its counts when it ends at the latest: end the pool's connections
        // (whatever still holds the pool) and wait until they are gone.
        let ended = terminate_backends(&mut admin, &name);
        while still_running(&mut admin, &ended) > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let after = transactions(&mut admin, &name);
        (seeded, load, after - before)
    });

    let rate = load.created as f64 / load.elapsed.as_secs_f64();
    println!(
        "service POST /v1/requests: {} created, {} failed in {:.1} s: {rate:.0} requests/s; latency p50 {}, p99 {}",
        load.created,
        load.failed,
        load.elapsed.as_secs_f64(),
        ms(percentile(&load.latencies, 50.0)),
        ms(percentile(&load.latencies, 99.0)),
    );
    let per_request = service_transactions as f64 / (load.created + load.failed).max(1) as f64;
    println!(
        "database transactions: {service_transactions} for {} requests: {per_request:.2} per request",
        load.created + load.failed
    );
    let tps = pgbench(&url, &seeded, clients, seconds);
    println!(
        "pgbench, the same two inserts in one transaction, {clients} clients, {seconds} s: {tps:.0} transactions/s"
    );
    println!(
        "service / pgbench: {:.1} %",
        100.0 * rate / tps.max(f64::MIN_POSITIVE)
    );
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin);
}
