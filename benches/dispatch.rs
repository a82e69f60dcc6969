//! Dispatch figures: the real service (HTTP on port 0, fresh database) planning and publishing
//! 500 requests for 15 teams, the outbox worker's push rate against a local fake FCM, and the
//! size of a 30-stop route as an officer's phone downloads it. A figures printer, not a test:
//! nothing here asserts on time.
//!
//! `cargo bench --bench dispatch [-- --backend sqlite|postgres|both] [--pushes N]`
//! (default: both when PostgreSQL answers at `JEMPUT_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432`, else SQLite only).

// A benchmark harness may abort on setup failure: a panic with the reason is the right outcome
// here, and unwrap/expect keep the setup readable.
#![expect(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use jemput::config::Settings;
use jemput::db::accounts::{self, NewAccount};
use jemput::db::events::Actor;
use jemput::db::requests::{self, NewRequest};
use jemput::db::schema::outbox as outbox_table;
use jemput::db::{self, outbox, Db, DbError};
use jemput::demo::{self, Rng, Village};
use jemput::domain::{
    Boundary, Coordinates, Language, OutboxStatus, PreferredWindow, Priority, RequestStatus,
    TimeOfDay,
};
use jemput::push::fcm::{AndroidPriority, FcmClient, Message, Outcome};
use jemput::push::messages::JemputNotices;
use jemput::push::messages::Notices;
use jemput::startup::Application;
use reqwest::Method;
use serde_json::{json, Value};

const PRIVATE_KEY: &str = include_str!("../tests/fixtures/fake-fcm-test-key.pem");
const REGENCY: &str = include_str!("../assets/kulon_progo_regency.geojson");
const PROJECT: &str = "jemput-bench";
const ACCESS_TOKEN: &str = "fake-bench-access-token";
const ADMIN_PASSWORD: &str = "admin-password-123";
const STAFF_PASSWORD: &str = "staff-password-123";
/// Wates, the regency seat.
const WATES: (f64, f64) = (-7.8606, 110.1583);

const REQUESTS: usize = 500;
const TEAMS: usize = 15;
const CITIZENS: usize = 300;
const PLAN_DAYS: usize = 5;
const PLAN_SECONDS: u32 = 10;
const ROUTE_STOPS: usize = 30;
const DEFAULT_PUSHES: usize = 2_000;

// Outbox worker knobs (src/config.rs `push.*`): look often, claim a good batch, a lease far
// longer than a batch takes to send.
const POLL_INTERVAL_MS: u64 = 20;
const BATCH_SIZE: i64 = 100;
/// Phones the worker sends to at once (the service's default).
const CONCURRENCY: usize = 8;
const LEASE_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

// ---------------------------------------------------------------------------------------------
// Fake FCM servers

/// Where a fake FCM listens and how many messages it accepted.
struct FakeFcm {
    label: &'static str,
    base: String,
    sends: Arc<AtomicU64>,
    stop: FakeStop,
}

enum FakeStop {
    Actix(actix_web::dev::ServerHandle),
    Wiremock(Box<wiremock::MockServer>),
}

impl FakeFcm {
    async fn stop(self) {
        match self.stop {
            FakeStop::Actix(handle) => handle.stop(false).await,
            FakeStop::Wiremock(server) => drop(server),
        }
    }
}

fn token_reply() -> Value {
    json!({"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"})
}

/// The send endpoint's checks, shared by both fakes: the bearer token and a message with a
/// token and string-only data. Returns (status, body).
fn answer_send(
    authorization: Option<&str>,
    body: &[u8],
    project: &str,
    n: &AtomicU64,
) -> (u16, Value) {
    let expected = format!("Bearer {ACCESS_TOKEN}");
    if authorization != Some(expected.as_str()) {
        return (
            401,
            json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
        );
    }
    let parsed: Value = serde_json::from_slice(body).unwrap_or_default();
    let message = &parsed["message"];
    let well_formed = message["token"].is_string()
        && message["data"]
            .as_object()
            .is_none_or(|d| d.values().all(Value::is_string));
    if !well_formed {
        return (
            400,
            json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "bad message"}}),
        );
    }
    let id = n.fetch_add(1, Ordering::Relaxed);
    (
        200,
        json!({"name": format!("projects/{project}/messages/{id}")}),
    )
}

/// A small actix-web fake FCM (one worker thread): the OAuth token endpoint (the assertion is
/// not verified here; the tests do that) and `messages:send`.
async fn actix_fake_fcm() -> FakeFcm {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

    async fn token() -> HttpResponse {
        HttpResponse::Ok().json(token_reply())
    }

    async fn send(
        request: HttpRequest,
        project: web::Path<String>,
        body: web::Bytes,
        sends: web::Data<AtomicU64>,
    ) -> HttpResponse {
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let (status, reply) = answer_send(authorization, &body, &project, &sends);
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(reply)
    }

    let sends = web::Data::new(AtomicU64::new(0));
    let counter = sends.clone().into_inner();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(sends.clone())
            .route("/token", web::post().to(token))
            .route("/v1/projects/{project}/messages:send", web::post().to(send))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    FakeFcm {
        label: "actix-web fake",
        base: format!("http://127.0.0.1:{port}"),
        sends: counter,
        stop: FakeStop::Actix(handle),
    }
}

/// The same protocol on wiremock (request recording off, as a load test would).
async fn wiremock_fake_fcm() -> FakeFcm {
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    struct Send(Arc<AtomicU64>);
    impl Respond for Send {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let authorization = request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            let project = request
                .url
                .path()
                .trim_start_matches("/v1/projects/")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let (status, reply) = answer_send(authorization, &request.body, &project, &self.0);
            ResponseTemplate::new(status).set_body_json(reply)
        }
    }

    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_reply()))
        .mount(&server)
        .await;
    let sends = Arc::new(AtomicU64::new(0));
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/projects/[^/]+/messages:send$"))
        .respond_with(Send(sends.clone()))
        .mount(&server)
        .await;
    FakeFcm {
        label: "wiremock fake",
        base: server.uri(),
        sends,
        stop: FakeStop::Wiremock(Box::new(server)),
    }
}

/// A service-account key file whose `token_uri` points at the fake.
fn key_file_json(fake_base: &str) -> String {
    json!({"type": "service_account", "project_id": PROJECT,
           "client_email": format!("jemput@{PROJECT}.iam.gserviceaccount.com"),
           "private_key": PRIVATE_KEY, "token_uri": format!("{fake_base}/token")})
    .to_string()
}

/// A typical citizen push ("your visit is scheduled"), as FCM receives it.
fn sample_message(i: usize) -> Message {
    let push = JemputNotices.visit_scheduled(
        Language::Id,
        i as i64 + 1,
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        &("09:30".to_string(), "11:00".to_string()),
    );
    Message {
        token: format!("bench-device-token-{i:06}-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        data: push.data,
        notification: push.notification,
        collapse_key: push.collapse_key,
        priority: if push.high_priority {
            AndroidPriority::High
        } else {
            AndroidPriority::Normal
        },
        ttl: Duration::from_secs(push.ttl_secs),
    }
}

struct FakeCapacity {
    sequential_per_s: f64,
    sequential_each: Duration,
    concurrent_per_s: f64,
}

/// What a fake can serve through the service's own FCM client: one send at a time (as the
/// outbox worker sends), and 8 at a time (its ceiling, for comparison).
async fn fake_capacity(fake: &FakeFcm) -> FakeCapacity {
    let client =
        Arc::new(FcmClient::from_key_file(&key_file_json(&fake.base), &fake.base).unwrap());
    for i in 0..100 {
        assert!(matches!(
            client.send(&sample_message(i)).await,
            Outcome::Sent(_)
        ));
    }
    let n = 2_000;
    let started = Instant::now();
    for i in 0..n {
        let outcome = client.send(&sample_message(i)).await;
        assert!(matches!(outcome, Outcome::Sent(_)), "{outcome:?}");
    }
    let sequential = started.elapsed();
    let concurrency = 8;
    let per_task = 500;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_task {
                let outcome = client.send(&sample_message(t * per_task + i)).await;
                assert!(matches!(outcome, Outcome::Sent(_)), "{outcome:?}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent = started.elapsed();
    FakeCapacity {
        sequential_per_s: n as f64 / sequential.as_secs_f64(),
        sequential_each: sequential / n as u32,
        concurrent_per_s: (concurrency * per_task) as f64 / concurrent.as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------------------------
// The service under test

fn postgres_admin_url() -> String {
    std::env::var("JEMPUT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn postgres_answers() -> bool {
    diesel::PgConnection::establish(&format!("{}/postgres", postgres_admin_url())).is_ok()
}

struct Service {
    base: String,
    http: reqwest::Client,
    db: Db,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pg_database: Option<String>,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

impl Service {
    /// The real service on port 0 against a fresh database, pushing to `fake`, with an admin
    /// account seeded to bootstrap everything else through the API.
    async fn start(backend: Backend, fake: &FakeFcm) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("jemput.db").display()),
                None,
            ),
            Backend::Postgres => {
                let name = format!(
                    "jemput_bench_{}_{}",
                    std::process::id(),
                    uuid::Uuid::new_v4().simple()
                );
                let admin = postgres_admin_url();
                let mut conn =
                    diesel::PgConnection::establish(&format!("{admin}/postgres")).unwrap();
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .unwrap();
                (format!("{admin}/{name}"), Some(name))
            }
        };
        let key_file = dir.path().join("service-account.json");
        std::fs::write(&key_file, key_file_json(&fake.base)).unwrap();

        let mut settings = Settings::defaults().unwrap();
        settings.server.port = 0;
        settings.database.url = url;
        settings.auth.jwt_secret = "bench-secret-bench-secret-bench-secret-00".into();
        settings.privacy = jemput::config::PrivacySettings::development();
        settings.rate_limit.auth_per_minute = 10_000;
        settings.rate_limit.auth_burst = 1_000;
        settings.rate_limit.per_identity_per_minute = 10_000;
        settings.rate_limit.per_identity_burst = 1_000;
        settings.limits.open_requests_per_citizen = 1_000_000;
        settings.limits.plans_per_region = 100;
        settings.limits.day_replans_at_once = 64;
        settings.push.fcm_key_file = key_file.to_string_lossy().to_string();
        settings.push.fcm_base_url = fake.base.clone();
        settings.push.poll_interval_ms = POLL_INTERVAL_MS;
        settings.push.batch_size = BATCH_SIZE;
        settings.push.concurrency = CONCURRENCY;
        settings.push.lease_secs = LEASE_SECS;
        settings.validate().unwrap();

        let app = Application::build(settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));

        let hash = jemput::auth::hash_password(ADMIN_PASSWORD).unwrap();
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
                    language: Language::En,
                    active: true,
                    created_at: db::now(),
                },
            )
        })
        .await
        .unwrap();

        Service {
            base,
            http: reqwest::Client::new(),
            db,
            stop: Some(stop),
            running: Some(running),
            pg_database,
            _dir: dir,
        }
    }

    /// Stops the service gracefully and drops its PostgreSQL database.
    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), running).await;
        }
        if let Some(name) = self.pg_database.take() {
            if let Ok(mut conn) =
                diesel::PgConnection::establish(&format!("{}/postgres", postgres_admin_url()))
            {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap().to_vec();
        Reply {
            status,
            headers,
            bytes,
        }
    }

    /// A call that must answer `expect`; its JSON body.
    async fn must(
        &self,
        expect: u16,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let r = self
            .call(method.clone(), path, token, body.as_ref(), &[])
            .await;
        assert_eq!(
            r.status,
            expect,
            "{method} {path}: {}",
            String::from_utf8_lossy(&r.bytes)
        );
        r.json()
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let expect = if path.ends_with("/publish") || path.starts_with("/v1/auth") {
            200
        } else if path == "/v1/plans" {
            202
        } else {
            201
        };
        self.must(expect, Method::POST, path, token, Some(body))
            .await
    }

    async fn token(&self, username: &str, password: &str) -> String {
        let r = self
            .post(
                "/v1/auth/login",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        r["access_token"].as_str().unwrap().to_string()
    }

    /// A staff account made by the admin; its id.
    async fn staff(&self, admin: &str, role: &str, region: i64, username: &str, name: &str) -> i64 {
        self.post(
            "/v1/admin/accounts",
            Some(admin),
            json!({"role": role, "region_id": region, "username": username,
                   "password": STAFF_PASSWORD, "display_name": name}),
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    /// A region with the Kulon Progo outline and its coordinator; (region id, coordinator token).
    async fn region(&self, admin: &str, name: &str) -> (i64, String) {
        let boundary: Value = serde_json::from_str(REGENCY).unwrap();
        let id = self
            .post(
                "/v1/admin/regions",
                Some(admin),
                json!({"name": name, "time_zone": "Asia/Jakarta", "boundary": boundary}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        let username = format!("koordinator-{id}");
        self.staff(admin, "coordinator", id, &username, "Koordinator")
            .await;
        let coordinator = self.token(&username, STAFF_PASSWORD).await;
        (id, coordinator)
    }

    async fn service_kind(
        &self,
        coordinator: &str,
        code: &str,
        name: &str,
        minutes: i32,
        skill: &str,
    ) -> i64 {
        self.post(
            "/v1/service-kinds",
            Some(coordinator),
            json!({"code": code, "name_id": name, "name_en": name,
                   "default_duration_minutes": minutes, "required_skill": skill}),
        )
        .await["id"]
            .as_i64()
            .unwrap()
    }

    /// A team with one officer (signed in, phone registered); (team id, officer token).
    async fn team(
        &self,
        admin: &str,
        coordinator: &str,
        region: i64,
        body: Value,
        n: usize,
    ) -> (i64, String) {
        let team = self.post("/v1/teams", Some(coordinator), body).await["id"]
            .as_i64()
            .unwrap();
        let username = format!("petugas-{region}-{n}");
        let officer = self
            .staff(admin, "officer", region, &username, &format!("Petugas {n}"))
            .await;
        let r = self
            .call(
                Method::PUT,
                &format!("/v1/teams/{team}/members/{officer}"),
                Some(coordinator),
                None,
                &[],
            )
            .await;
        assert!(
            (200..300).contains(&r.status),
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
        let token = self.token(&username, STAFF_PASSWORD).await;
        let r = self
            .call(
                Method::POST,
                "/v1/devices",
                Some(&token),
                Some(&json!({"token": format!("fcm-officer-{region}-{n}-{}", uuid::Uuid::new_v4().simple()),
                             "platform": "android"})),
                &[],
            )
            .await;
        assert!(
            (200..300).contains(&r.status),
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
        (team, token)
    }

    /// Starts a plan and polls it every 100 ms until done; (plan id, wall time, plan body).
    async fn plan(
        &self,
        coordinator: &str,
        dates: &[NaiveDate],
        seconds: u32,
    ) -> (i64, Duration, Reply) {
        let started = Instant::now();
        let dates: Vec<String> = dates.iter().map(|d| d.to_string()).collect();
        let id = self
            .post(
                "/v1/plans",
                Some(coordinator),
                json!({"dates": dates, "time_limit_seconds": seconds}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        loop {
            let r = self
                .call(
                    Method::GET,
                    &format!("/v1/plans/{id}"),
                    Some(coordinator),
                    None,
                    &[],
                )
                .await;
            let body = r.json();
            match body["status"].as_str() {
                Some("done") => return (id, started.elapsed(), r),
                Some("failed") => panic!("plan {id} failed: {body}"),
                _ => {}
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "plan {id} did not finish"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn outbox_max_id(&self) -> i64 {
        self.db
            .read(|conn| {
                Ok(outbox_table::table
                    .select(diesel::dsl::max(outbox_table::id))
                    .first::<Option<i64>>(conn)?
                    .unwrap_or(0))
            })
            .await
            .unwrap()
    }

    /// Rows after `after_id`: (all, sent, still pending or sending).
    async fn outbox_counts(&self, after_id: i64) -> (i64, i64, i64) {
        self.db
            .read(move |conn| {
                let mine = || outbox_table::table.filter(outbox_table::id.gt(after_id));
                let all: i64 = mine().count().get_result(conn)?;
                let sent: i64 = mine()
                    .filter(outbox_table::status.eq(OutboxStatus::Sent))
                    .count()
                    .get_result(conn)?;
                let open: i64 = mine()
                    .filter(
                        outbox_table::status.eq_any([OutboxStatus::Pending, OutboxStatus::Sending]),
                    )
                    .count()
                    .get_result(conn)?;
                Ok((all, sent, open))
            })
            .await
            .unwrap()
    }

    /// Waits until no row after `after_id` is pending or sending; the time it took.
    async fn drain(&self, after_id: i64, limit: Duration) -> Duration {
        let started = Instant::now();
        while self.outbox_counts(after_id).await.2 > 0 && started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started.elapsed()
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario data

/// The region's date today.
fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive()
}

/// The next `n` working days (Mon-Fri, the standard civil-service week) after today.
fn working_days(n: usize) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut day = today();
    while out.len() < n {
        day = day.succ_opt().unwrap();
        if day.weekday().number_from_monday() <= 5 {
            out.push(day);
        }
    }
    out
}

/// A point within ~`spread_deg`/2 of `at`, inside the regency.
fn near(rng: &mut Rng, boundary: &Boundary, at: Coordinates, spread_deg: f64) -> Coordinates {
    loop {
        let p = Coordinates {
            lat: at.lat + (rng.unit() - 0.5) * spread_deg,
            lon: at.lon + (rng.unit() - 0.5) * spread_deg,
        };
        if boundary.contains(p) {
            return p;
        }
    }
}

fn hm(h: u16, m: u16) -> Option<TimeOfDay> {
    TimeOfDay::from_minutes(h * 60 + m)
}

#[expect(clippy::too_many_arguments)]
fn new_request(
    citizen_id: i64,
    region_id: i64,
    service_kind_id: i64,
    at: Coordinates,
    village: &Village,
    rng: &mut Rng,
    priority: Priority,
    needs: &[&str],
    earliest: NaiveDate,
    deadline: NaiveDate,
    windows: Vec<PreferredWindow>,
) -> NewRequest {
    let now = db::now();
    let notes = (rng.below(10) < 3).then(|| {
        "Rumah cat hijau di sebelah masjid; mohon telepon dulu sebelum datang.".to_string()
    });
    NewRequest {
        citizen_id,
        region_id,
        service_kind_id,
        lat: at.lat,
        lon: at.lon,
        address: format!(
            "Dusun {}, RT {:02} / RW {:02}, Desa {}, Kec. {}",
            1 + rng.below(12),
            1 + rng.below(8),
            1 + rng.below(4),
            village.name,
            village.district
        ),
        notes,
        accessibility_needs: serde_json::to_string(needs).unwrap(),
        priority,
        earliest_date: earliest,
        deadline,
        preferred_windows: serde_json::to_string(&windows).unwrap(),
        status: RequestStatus::Submitted,
        version: 1,
        idempotency_key: None,
        idempotency_fingerprint: None,
        created_at: now,
        updated_at: now,
    }
}

/// Citizens (each with a registered phone) and their requests, written through the db layer
/// in one transaction; the citizens' account ids.
async fn insert_citizens_and_requests(
    svc: &Service,
    phone_prefix: &str,
    citizens: usize,
    build: impl FnOnce(&[i64]) -> Vec<NewRequest> + Send + 'static,
) -> Vec<i64> {
    let prefix = phone_prefix.to_string();
    svc.db
        .write(move |conn| {
            let mut ids = Vec::with_capacity(citizens);
            for i in 0..citizens {
                let phone = format!("{prefix}{i:05}");
                let citizen = accounts::find_or_create_citizen(conn, &phone)?;
                accounts::device_upsert(
                    conn,
                    citizen.id,
                    &format!("fcm-citizen-{phone}-{}", uuid::Uuid::new_v4().simple()),
                    "android",
                )?;
                ids.push(citizen.id);
            }
            for new in build(&ids) {
                match requests::insert(conn, &Actor::default(), new)? {
                    requests::Created::New(_) => {}
                    _ => return Err(DbError::Corrupt("request not created".into())),
                }
            }
            Ok(ids)
        })
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The three measurements

#[derive(Default)]
struct PlanFigures {
    plan_wall: Duration,
    solver: Option<Duration>,
    plan_body_bytes: usize,
    requests: u64,
    visits: u64,
    unassigned: u64,
    routes: u64,
    publish_wall: Duration,
    routes_changed: u64,
    requests_scheduled: u64,
    pushes_reported: u64,
    outbox_rows: i64,
    drained: Duration,
    drained_sent: i64,
}

/// Plan and publish 500 requests for 15 teams; returns the figures and the citizens (with
/// phones) for the push measurement.
async fn plan_and_publish(svc: &Service) -> (PlanFigures, Vec<i64>) {
    let admin = svc.token("root", ADMIN_PASSWORD).await;
    let (region, coordinator) = svc.region(&admin, "Kabupaten Kulon Progo").await;
    let ktp = svc
        .service_kind(
            &coordinator,
            "ktp_elderly",
            "Perekaman KTP-el lansia",
            30,
            "adminduk",
        )
        .await;
    let birth = svc
        .service_kind(
            &coordinator,
            "birth_certificate",
            "Akta kelahiran",
            20,
            "adminduk",
        )
        .await;
    let bpjs = svc
        .service_kind(
            &coordinator,
            "bpjs_enrolment",
            "Pendaftaran BPJS Kesehatan",
            25,
            "bpjs",
        )
        .await;

    let villages = demo::villages().unwrap();
    let boundary = Boundary::parse("boundary", REGENCY).unwrap();
    for i in 0..TEAMS {
        // Depots at village centroids spread over the regency (the CSV runs district by
        // district), most teams with both skills.
        let village = &villages[(i * villages.len()) / TEAMS + 2];
        let skills: Vec<&str> = match i % 5 {
            3 => vec!["adminduk"],
            4 => vec!["bpjs"],
            _ => vec!["adminduk", "bpjs"],
        };
        let body = json!({"name": format!("Tim {} {}", village.name, i + 1),
                          "depot": {"lat": village.at.lat, "lon": village.at.lon},
                          "vehicle_profile": if i % 4 == 0 { "car" } else { "motorbike" },
                          "skills": skills, "max_visits_per_day": 10});
        svc.team(&admin, &coordinator, region, body, i + 1).await;
    }

    let dates = working_days(PLAN_DAYS);
    let plan_dates = dates.clone();
    let citizens = insert_citizens_and_requests(svc, "+6281300", CITIZENS, move |citizens| {
        let mut rng = Rng(0x4A45_4D50_5554);
        let kinds = [ktp, ktp, birth, bpjs];
        (0..REQUESTS)
            .map(|i| {
                let village = &villages[rng.below(villages.len())];
                let at = near(&mut rng, &boundary, village.at, 0.022);
                let first = rng.below(PLAN_DAYS);
                let last = (first + rng.below(3)).min(PLAN_DAYS - 1);
                let (earliest, deadline) = (dates[first], dates[last]);
                let bedridden = rng.below(5) == 0;
                let priority = match rng.below(20) {
                    0 => Priority::Urgent,
                    _ if bedridden => Priority::High,
                    1..=4 => Priority::High,
                    5..=16 => Priority::Normal,
                    _ => Priority::Low,
                };
                let needs: &[&str] = if bedridden { &["bedridden"] } else { &[] };
                let day = dates[first + rng.below(last - first + 1)];
                let windows = match rng.below(10) {
                    0..=3 => Vec::new(),
                    4..=6 => vec![PreferredWindow {
                        date: day,
                        start: None,
                        end: None,
                    }],
                    7 => vec![PreferredWindow {
                        date: day,
                        start: hm(8, 0),
                        end: hm(11, 0),
                    }],
                    8 => vec![PreferredWindow {
                        date: day,
                        start: hm(10, 0),
                        end: hm(13, 0),
                    }],
                    _ => vec![PreferredWindow {
                        date: day,
                        start: hm(12, 30),
                        end: hm(15, 0),
                    }],
                };
                new_request(
                    citizens[i % citizens.len()],
                    region,
                    kinds[rng.below(kinds.len())],
                    at,
                    village,
                    &mut rng,
                    priority,
                    needs,
                    earliest,
                    deadline,
                    windows,
                )
            })
            .collect()
    })
    .await;

    let before = svc.outbox_max_id().await;
    let (plan, plan_wall, reply) = svc.plan(&coordinator, &plan_dates, PLAN_SECONDS).await;
    let body = reply.json();
    let kpis = &body["draft"]["kpis"];
    let at = |field: &str| {
        body[field]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    let solver = match (at("started_at"), at("finished_at")) {
        (Some(s), Some(f)) => (f - s).to_std().ok(),
        _ => None,
    };
    let started = Instant::now();
    let published = svc
        .post(
            &format!("/v1/plans/{plan}/publish"),
            Some(&coordinator),
            json!({}),
        )
        .await;
    let publish_wall = started.elapsed();
    let (outbox_rows, _, _) = svc.outbox_counts(before).await;
    let drained = svc.drain(before, Duration::from_secs(120)).await;
    let (_, drained_sent, _) = svc.outbox_counts(before).await;
    let n = |v: &Value| v.as_u64().unwrap_or_default();
    (
        PlanFigures {
            plan_wall,
            solver,
            plan_body_bytes: reply.bytes.len(),
            requests: n(&kpis["requests"]),
            visits: n(&kpis["visits"]),
            unassigned: n(&kpis["unassigned"]),
            routes: n(&kpis["routes"]),
            publish_wall,
            routes_changed: n(&published["routes_changed"]),
            requests_scheduled: n(&published["requests_scheduled"]),
            pushes_reported: n(&published["pushes"]),
            outbox_rows,
            drained,
            drained_sent,
        },
        citizens,
    )
}

struct PushFigures {
    fake: &'static str,
    queued: i64,
    sent: i64,
    /// Commit of the queueing transaction until the poll saw no row pending (10 ms polls).
    wall: Duration,
    /// Commit until the first and the last row's `sent_at` (the service's own clock).
    first_sent: Duration,
    last_sent: Duration,
    fake_received: u64,
}

impl PushFigures {
    /// Pushes per second from the commit to the last `sent_at`.
    fn rate(&self) -> f64 {
        self.sent as f64 / self.last_sent.as_secs_f64().max(1e-9)
    }

    /// Pushes per second between the first and the last send (without the wait for the
    /// worker's next poll).
    fn steady_rate(&self) -> f64 {
        (self.sent - 1).max(0) as f64
            / (self.last_sent.saturating_sub(self.first_sent))
                .as_secs_f64()
                .max(1e-9)
    }
}

/// Queues `n` pushes (one transaction) for accounts with phones and times the worker until
/// every one is `sent`.
async fn push_rate(svc: &Service, fake: &FakeFcm, accounts: &[i64], n: usize) -> PushFigures {
    svc.drain(0, Duration::from_secs(120)).await;
    let before = svc.outbox_max_id().await;
    let received_before = fake.sends.load(Ordering::Relaxed);
    let accounts = accounts.to_vec();
    let (queued, committed) = svc
        .db
        .write(move |conn| {
            let mut queued = 0;
            let mut i = 0;
            while queued < n {
                let account = accounts[i % accounts.len()];
                let message = JemputNotices.visit_scheduled(
                    Language::Id,
                    i as i64 + 1,
                    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                    &("09:30".to_string(), "11:00".to_string()),
                );
                queued += outbox::enqueue_for_account(
                    conn,
                    jemput::domain::PushKind::VisitScheduled,
                    account,
                    &message,
                )?;
                i += 1;
            }
            // Just before the commit: the rows become visible to the worker right after.
            Ok((queued as i64, db::now()))
        })
        .await
        .unwrap();
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(180) {
        let (_, s, open) = svc.outbox_counts(before).await;
        sent = s;
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let wall = started.elapsed();
    let (first, last) = svc
        .db
        .read(move |conn| {
            Ok(outbox_table::table
                .filter(outbox_table::id.gt(before))
                .select((
                    diesel::dsl::min(outbox_table::sent_at),
                    diesel::dsl::max(outbox_table::sent_at),
                ))
                .first::<(Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>)>(conn)?)
        })
        .await
        .unwrap();
    let since = |t: Option<chrono::NaiveDateTime>| {
        t.and_then(|t| (t - committed).to_std().ok())
            .unwrap_or(wall)
    };
    PushFigures {
        fake: fake.label,
        queued,
        sent,
        wall,
        first_sent: since(first),
        last_sent: since(last),
        fake_received: fake.sends.load(Ordering::Relaxed) - received_before,
    }
}

/// What recording one outcome costs: one `db.write` transaction with the worker's conditional
/// "mark sent under this claim" update, 300 times one after another (as the worker records).
/// The rows are already sent, so the update matches none; the cost is the transaction.
async fn record_cost(svc: &Service) -> Duration {
    let rows: Vec<(i64, Option<String>)> = svc
        .db
        .read(|conn| {
            Ok(outbox_table::table
                .filter(outbox_table::status.eq(OutboxStatus::Sent))
                .order(outbox_table::id.desc())
                .limit(300)
                .select((outbox_table::id, outbox_table::claim_token))
                .load(conn)?)
        })
        .await
        .unwrap();
    let started = Instant::now();
    for (id, claim) in &rows {
        let (id, claim) = (*id, claim.clone().unwrap_or_default());
        svc.db
            .write(move |conn| {
                outbox::mark_sent(conn, id, &claim, "projects/jemput-bench/messages/again")
            })
            .await
            .unwrap();
    }
    started.elapsed() / rows.len().max(1) as u32
}

struct RouteFigures {
    stops: usize,
    visits_planned: u64,
    raw_bytes: usize,
    server_encoding: Option<String>,
    server_gzip_bytes: usize,
    local_gzip_bytes: Option<usize>,
    stops_bytes: usize,
    with_phone: bool,
}

/// One team, 30 requests close to Wates on one day, planned and published; the officer's
/// download of that route.
async fn route_payload(svc: &Service) -> RouteFigures {
    let admin = svc.token("root", ADMIN_PASSWORD).await;
    let (region, coordinator) = svc.region(&admin, "Kulon Progo (rute 30)").await;
    let kind = svc
        .service_kind(
            &coordinator,
            "ktp_elderly",
            "Perekaman KTP-el lansia",
            15,
            "adminduk",
        )
        .await;
    let all_week: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|day| json!({"day": day, "start": "07:00", "end": "20:00",
                          "breaks": [{"window_start": "11:45", "window_end": "13:00", "duration_minutes": 30}]}))
        .collect();
    let body = json!({"name": "Tim Wates Keliling", "depot": {"lat": WATES.0, "lon": WATES.1},
                      "vehicle_profile": "motorbike", "skills": ["adminduk"],
                      "shifts": all_week, "max_visits_per_day": 40});
    let (_team, officer) = svc.team(&admin, &coordinator, region, body, 1).await;

    // Tomorrow: the route as the phone fetches it the day before (citizens' phones included).
    let date = today().succ_opt().unwrap();
    let villages = demo::villages().unwrap();
    let boundary = Boundary::parse("boundary", REGENCY).unwrap();
    let wates = villages
        .iter()
        .min_by(|a, b| {
            let d = |v: &Village| (v.at.lat - WATES.0).powi(2) + (v.at.lon - WATES.1).powi(2);
            d(a).total_cmp(&d(b))
        })
        .unwrap()
        .clone();
    insert_citizens_and_requests(svc, "+6281400", ROUTE_STOPS, move |citizens| {
        let mut rng = Rng(30);
        (0..ROUTE_STOPS)
            .map(|i| {
                let at = near(
                    &mut rng,
                    &boundary,
                    Coordinates {
                        lat: WATES.0,
                        lon: WATES.1,
                    },
                    0.025,
                );
                let needs: &[&str] = if i % 3 == 0 { &["bedridden"] } else { &[] };
                new_request(
                    citizens[i],
                    region,
                    kind,
                    at,
                    &wates,
                    &mut rng,
                    if i % 3 == 0 {
                        Priority::High
                    } else {
                        Priority::Normal
                    },
                    needs,
                    date,
                    date,
                    Vec::new(),
                )
            })
            .collect()
    })
    .await;

    let (plan, _, reply) = svc.plan(&coordinator, &[date], 2).await;
    let visits_planned = reply.json()["draft"]["kpis"]["visits"]
        .as_u64()
        .unwrap_or_default();
    svc.post(
        &format!("/v1/plans/{plan}/publish"),
        Some(&coordinator),
        json!({}),
    )
    .await;

    let path = format!("/v1/me/routes/{date}");
    let plain = svc
        .call(
            Method::GET,
            &path,
            Some(&officer),
            None,
            &[("accept-encoding", "identity")],
        )
        .await;
    assert_eq!(
        plain.status,
        200,
        "{}",
        String::from_utf8_lossy(&plain.bytes)
    );
    let route = plain.json();
    let stops = route["stops"].as_array().map_or(0, Vec::len);
    let stops_bytes = serde_json::to_string(&route["stops"]).unwrap().len();
    let with_phone = route["stops"][0]["phone"].is_string();
    let gz = svc
        .call(
            Method::GET,
            &path,
            Some(&officer),
            None,
            &[("accept-encoding", "gzip")],
        )
        .await;
    let server_encoding = gz
        .headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let local_gzip_bytes = if server_encoding.is_none() {
        Some(gzip_locally(plain.bytes.clone()).await)
    } else {
        None
    };
    RouteFigures {
        stops,
        visits_planned,
        raw_bytes: plain.bytes.len(),
        server_encoding,
        server_gzip_bytes: gz.bytes.len(),
        local_gzip_bytes,
        stops_bytes,
        with_phone,
    }
}

/// The gzip size of `body` as actix-web's own `Compress` middleware (already a dependency:
/// actix-web's default `compress-gzip` feature) would send it; no new crate needed.
async fn gzip_locally(body: Vec<u8>) -> usize {
    use actix_web::{middleware::Compress, test, web, App, HttpResponse};
    let app = test::init_service(App::new().wrap(Compress::default()).route(
        "/",
        web::get().to(move || {
            let body = body.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(body)
            }
        }),
    ))
    .await;
    let request = test::TestRequest::get()
        .uri("/")
        .insert_header(("accept-encoding", "gzip"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(
        response
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    test::read_body(response).await.len()
}

// ---------------------------------------------------------------------------------------------
// Driver

struct BackendFigures {
    backend: Backend,
    plan: PlanFigures,
    pushes: PushFigures,
    record: Duration,
    wiremock_pushes: PushFigures,
    route: RouteFigures,
}

fn describe_pushes(name: &str, p: &PushFigures) {
    println!(
        "[{name}] worker vs {}: {} of {} queued sent (fake received {}); by sent_at: first {} and last {} after the commit → {:.0} pushes/s ({:.0}/s between first and last send); poll saw the outbox empty after {}",
        p.fake,
        p.sent,
        p.queued,
        p.fake_received,
        ms(p.first_sent),
        ms(p.last_sent),
        p.rate(),
        p.steady_rate(),
        ms(p.wall)
    );
}

async fn run_backend(
    backend: Backend,
    pushes: usize,
    fast: &FakeFcm,
    wire: &FakeFcm,
) -> BackendFigures {
    let name = backend.name();
    println!("\n== {name} ==");
    let svc = Service::start(backend, fast).await;

    println!("[{name}] planning {REQUESTS} requests for {TEAMS} teams over {PLAN_DAYS} working days ({PLAN_SECONDS} s limit)…");
    let (plan, citizens) = plan_and_publish(&svc).await;
    println!(
        "[{name}] plan: {} wall from POST /v1/plans to done (solver {}; plan body {} B); {} requests → {} visits, {} unassigned, {} routes",
        secs(plan.plan_wall),
        plan.solver.map_or("?".into(), secs),
        thousands(plan.plan_body_bytes as u64),
        plan.requests,
        plan.visits,
        plan.unassigned,
        plan.routes
    );
    println!(
        "[{name}] publish: {} wall; {} routes changed, {} requests scheduled, {} pushes reported, {} outbox rows written",
        secs(plan.publish_wall),
        plan.routes_changed,
        plan.requests_scheduled,
        plan.pushes_reported,
        plan.outbox_rows
    );
    println!(
        "[{name}] the worker delivered those {} rows ({} sent) {} after publish answered",
        plan.outbox_rows,
        plan.drained_sent,
        secs(plan.drained)
    );

    let push = push_rate(&svc, fast, &citizens, pushes).await;
    describe_pushes(name, &push);
    let record = record_cost(&svc).await;
    println!(
        "[{name}] recording one outcome (db.write + mark_sent, sequential): {}",
        ms(record)
    );

    let route = route_payload(&svc).await;
    println!(
        "[{name}] route of {} stops (planned {}): {} B as JSON ({} B/stop; stops array {} B/stop); phones included: {}",
        route.stops,
        route.visits_planned,
        thousands(route.raw_bytes as u64),
        route.raw_bytes / route.stops.max(1),
        route.stops_bytes / route.stops.max(1),
        route.with_phone
    );
    match (&route.server_encoding, route.local_gzip_bytes) {
        (Some(enc), _) => println!(
            "[{name}] with Accept-Encoding: gzip the server sends {enc}: {} B",
            thousands(route.server_gzip_bytes as u64)
        ),
        (None, Some(local)) => println!(
            "[{name}] with Accept-Encoding: gzip the server does not compress ({} B, identity); actix Compress would send {} B gzip",
            thousands(route.server_gzip_bytes as u64),
            thousands(local as u64)
        ),
        (None, None) => {}
    }
    svc.shutdown().await;

    // The same push measurement against wiremock, on a fresh service pointed at it.
    let svc = Service::start(backend, wire).await;
    let accounts = insert_citizens_and_requests(&svc, "+6281500", CITIZENS, |_| Vec::new()).await;
    let wiremock_pushes = push_rate(&svc, wire, &accounts, pushes).await;
    describe_pushes(name, &wiremock_pushes);
    svc.shutdown().await;

    BackendFigures {
        backend,
        plan,
        pushes: push,
        record,
        wiremock_pushes,
        route,
    }
}

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix(&format!("{name}="))
            .map(String::from)
            .or_else(|| (a == name).then(|| args.get(i + 1).cloned()).flatten())
    })
}

fn main() {
    // `cargo bench` adds `--bench`; other unknown arguments are ignored too.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let choice = arg_value(&args, "--backend").unwrap_or_else(|| "default".into());
    let pushes: usize = arg_value(&args, "--pushes")
        .map(|v| v.parse().expect("--pushes takes a number"))
        .unwrap_or(DEFAULT_PUSHES);
    let postgres = postgres_answers();
    let backends = match choice.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => {
            assert!(
                postgres,
                "PostgreSQL does not answer at {}",
                postgres_admin_url()
            );
            vec![Backend::Postgres]
        }
        "both" => {
            assert!(
                postgres,
                "PostgreSQL does not answer at {}",
                postgres_admin_url()
            );
            vec![Backend::Sqlite, Backend::Postgres]
        }
        "default" if postgres => vec![Backend::Sqlite, Backend::Postgres],
        "default" => {
            println!(
                "note: PostgreSQL does not answer at {}: SQLite only (start it: see README)",
                postgres_admin_url()
            );
            vec![Backend::Sqlite]
        }
        other => panic!("--backend takes sqlite, postgres or both, not {other:?}"),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        println!(
            "dispatch bench: {} logical CPUs; outbox worker: poll_interval_ms {POLL_INTERVAL_MS}, batch_size {BATCH_SIZE}, concurrency {CONCURRENCY}, lease_secs {LEASE_SECS}; {pushes} pushes per run",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let fast = actix_fake_fcm().await;
        let wire = wiremock_fake_fcm().await;
        let mut capacity = Vec::new();
        for fake in [&fast, &wire] {
            let c = fake_capacity(fake).await;
            println!(
                "{} FCM through the service's FcmClient: one at a time {:.0} sends/s ({} each); 8 at a time {:.0} sends/s",
                fake.label,
                c.sequential_per_s,
                ms(c.sequential_each),
                c.concurrent_per_s
            );
            capacity.push((fake.label, c));
        }

        let mut all = Vec::new();
        for backend in backends {
            all.push(run_backend(backend, pushes, &fast, &wire).await);
        }

        println!("\n== summary ==");
        for f in &all {
            let p = &f.plan;
            let r = &f.route;
            let gzip = match (&r.server_encoding, r.local_gzip_bytes) {
                (Some(enc), _) => format!(", {} B {enc} from the server", thousands(r.server_gzip_bytes as u64)),
                (None, Some(local)) => format!(
                    ", server sends it uncompressed (gzip would be {} B)",
                    thousands(local as u64)
                ),
                (None, None) => String::new(),
            };
            println!(
                "{}: plan {REQUESTS} requests/{TEAMS} teams: {} ({} visits, {} unassigned, {} routes); publish: {} ({} pushes queued); worker: {:.0} pushes/s over {} (wiremock fake: {:.0}/s); route {} stops: {} B ({} B/stop){gzip}",
                f.backend.name(),
                secs(p.plan_wall),
                p.visits,
                p.unassigned,
                p.routes,
                secs(p.publish_wall),
                p.outbox_rows,
                f.pushes.rate(),
                f.pushes.sent,
                f.wiremock_pushes.rate(),
                r.stops,
                thousands(r.raw_bytes as u64),
                r.raw_bytes / r.stops.max(1),
            );
        }
        let fast_seq = capacity[0].1.sequential_each;
        for f in &all {
            let per_push = Duration::from_secs_f64(1.0 / f.pushes.steady_rate().max(f64::MIN_POSITIVE));
            println!(
                "{}: per push the worker spends {} (first to last send); measured alone (separately, so they overlap and need not add up): one FCM send through FcmClient, one at a time, {}; recording one outcome in its own write transaction {}",
                f.backend.name(),
                ms(per_push),
                ms(fast_seq),
                ms(f.record),
            );
            let limit = if capacity[0].1.concurrent_per_s > 1.5 * f.pushes.steady_rate() {
                if f.record > fast_seq {
                    "the worker, not the fake: mostly recording each outcome in its own write transaction"
                } else {
                    "the worker, not the fake: mostly waiting on FCM round trips"
                }
            } else {
                "the fake FCM server: it serves little more than the worker sends"
            };
            println!(
                "{}: bottleneck: {limit}; the actix fake takes {:.0} sends/s from 8 concurrent senders ({:.1}x the worker's {:.0}/s), wiremock {:.0}/s; against wiremock the worker managed {:.0}/s ({:.0} % of its rate against the actix fake)",
                f.backend.name(),
                capacity[0].1.concurrent_per_s,
                capacity[0].1.concurrent_per_s / f.pushes.steady_rate().max(1e-9),
                f.pushes.steady_rate(),
                capacity[1].1.concurrent_per_s,
                f.wiremock_pushes.steady_rate(),
                100.0 * f.wiremock_pushes.steady_rate() / f.pushes.steady_rate().max(1e-9)
            );
        }
        println!(
            "the worker claims {BATCH_SIZE} rows at a time and sends to {CONCURRENCY} phones at once (each phone's pushes in order); each outcome is one write transaction"
        );

        fast.stop().await;
        wire.stop().await;
    });
}
