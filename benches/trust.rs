//! What the trust limits cost and save. A figures printer, not a test: nothing here asserts.
//!
//! `cargo bench --bench trust [-- --logins 300 --clients 32 --requests 2000]`
//!
//! 1. Memory under a flood of wrong passwords: the real `jemput serve` process (SQLite in a
//!    temp dir, this machine's default `limits.password_hashes_at_once`, loopback trusted as a
//!    proxy so every login names its own client address in `X-Forwarded-For`) gets `--logins`
//!    wrong logins from `--clients` concurrent clients; its resident memory (VmRSS) and peak
//!    (VmHWM) from `/proc/<pid>/status`, before and after, and how the logins were answered.
//! 2. The per-request session check: `GET /v1/me` `--requests` times one after another against
//!    the service in this process, with the session state read from the database on every
//!    request (`auth.session_cache_ms = 0`) and with the default cache; the mean per request of
//!    each and the difference.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::time::{Duration, Instant};

use jemput::config::Settings;
use jemput::db::accounts::{self, NewAccount};
use jemput::db::events::Actor;
use jemput::db::{self, Db};
use jemput::startup::Application;
use serde_json::json;

const SECRET: &str = "bench-secret-bench-secret-bench-secret-00";

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (VmRSS, VmHWM) of a process, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn wrong_password_flood(logins: usize, clients: usize) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jemput"))
        .arg("serve")
        .current_dir(dir.path())
        .env("JEMPUT__SERVER__DEVELOPMENT", "true")
        .env("JEMPUT__SERVER__PORT", port.to_string())
        .env("JEMPUT__SERVER__INSTANCE_ID", "bench")
        .env("JEMPUT__AUTH__JWT_SECRET", SECRET)
        .env("JEMPUT__RATE_LIMIT__TRUSTED_PROXIES", "127.0.0.1")
        .env("JEMPUT__RATE_LIMIT__PER_IDENTITY_BURST", "100000")
        .env("JEMPUT__LOG__FILTER", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || for _ in std::io::BufReader::new(stderr).lines() {});
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..400 {
        if client
            .get(format!("{base}/health/live"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (rss_before, _) = memory_mib(pid);
    let started = Instant::now();
    let per_client = logins.div_ceil(clients);
    let answers: Vec<Vec<u16>> = futures_util::future::join_all((0..clients).map(|c| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let mut statuses = Vec::new();
            for i in 0..per_client {
                let n = c * per_client + i;
                if n >= logins {
                    break;
                }
                let address = format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256);
                let status = client
                    .post(format!("{base}/v1/auth/login"))
                    .header("x-forwarded-for", address)
                    .json(&json!({"username": format!("someone-{n}"), "password": "not-the-password"}))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                statuses.push(status);
            }
            statuses
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let (rss_after, peak) = memory_mib(pid);
    let all: Vec<u16> = answers.into_iter().flatten().collect();
    let count = |s: u16| all.iter().filter(|&&x| x == s).count();
    println!(
        "wrong-password flood: {logins} logins from {logins} addresses, {clients} clients at once, {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  answered: {} × 401, {} × 429 (hashing threads busy), {} other",
        count(401),
        count(429),
        all.len() - count(401) - count(429)
    );
    println!(
        "  service RSS: {rss_before:.0} MiB before, {rss_after:.0} MiB after, peak {peak:.0} MiB"
    );
    let _ = child.kill();
    let _ = child.wait();
}

async fn session_check_cost(requests: usize) {
    let mut means = Vec::new();
    for cache_ms in [0u64, 5000] {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::defaults().unwrap();
        settings.server.port = 0;
        settings.server.instance_id = "bench".into();
        settings.database.url = format!("sqlite://{}", dir.path().join("j.db").display());
        settings.auth.jwt_secret = SECRET.into();
        settings.auth.session_cache_ms = cache_ms;
        settings.rate_limit.auth_burst = 1000;
        let app = Application::build(settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let db: Db = app.db().clone();
        // Left running until the bench exits.
        tokio::spawn(app.run_until(std::future::pending()));
        let hash = jemput::auth::hash_password("bench-password-1").unwrap();
        db.write(move |conn| {
            accounts::insert(
                conn,
                &Actor::default(),
                NewAccount {
                    role: jemput::domain::Role::Admin,
                    region_id: None,
                    phone: None,
                    username: Some("root".into()),
                    password_hash: Some(hash),
                    display_name: "Root".into(),
                    language: jemput::domain::Language::En,
                    active: true,
                    created_at: db::now(),
                },
            )
        })
        .await
        .unwrap();
        let client = reqwest::Client::new();
        let tokens: serde_json::Value = client
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"username": "root", "password": "bench-password-1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = tokens["access_token"].as_str().unwrap().to_string();
        // Warm up the connection and the pool.
        for _ in 0..50 {
            client
                .get(format!("{base}/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
        }
        let started = Instant::now();
        for _ in 0..requests {
            let status = client
                .get(format!("{base}/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_success());
        }
        let mean = started.elapsed().as_secs_f64() * 1e6 / requests as f64;
        println!(
            "GET /v1/me × {requests}, one at a time, SQLite, auth.session_cache_ms = {cache_ms}: {mean:.0} µs per request"
        );
        means.push(mean);
    }
    println!(
        "  the session check read from the database on every request costs {:.0} µs per request more than with the cache",
        means[0] - means[1]
    );
}

fn main() {
    let logins = arg("--logins", 300);
    let clients = arg("--clients", 32);
    let requests = arg("--requests", 2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "trust bench: {} logical CPUs",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        wrong_password_flood(logins, clients).await;
        session_check_cost(requests).await;
    });
}
