//! `TestApp`: the real service on a random port against a fresh database (a temp SQLite file,
//! or a new PostgreSQL database per test), with a local fake SMS gateway that speaks the Twilio
//! Messages protocol, so sign-in goes through the real client.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::prelude::*;
use jemput::auth;
use jemput::config::Settings;
use jemput::db::accounts::{self, NewAccount};
use jemput::db::events::Actor;
use jemput::db::{self, Claimant, Db};
use jemput::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const ADMIN_PASSWORD: &str = "admin-password-123";
pub const STAFF_PASSWORD: &str = "staff-password-123";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub sms: MockServer,
    pub db: Db,
    /// What the service was started with (to start it again on the same database).
    pub settings: Settings,
    /// Who the running process's claims name (instance and boot id).
    pub claimant: Claimant,
    /// Where `/metrics` is served, when `metrics.address` was set.
    pub metrics_port: Option<u16>,
    /// A service started with [`spawn_crashable`] runs here, so a test can kill it.
    runtime: Option<tokio::runtime::Runtime>,
    _dir: Option<tempfile::TempDir>,
    pg_database: Option<String>,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    /// Asserts an error response's status, code and (optionally) field.
    pub fn assert_error(&self, status: u16, code: &str, field: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "body: {}",
            self.body
        );
        if let Some(field) = field {
            assert_eq!(self.body["field"], field, "body: {}", self.body);
        }
    }

    pub fn id(&self) -> i64 {
        self.body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("JEMPUT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh database for one test: (settings URL, temp dir to keep, Postgres database name).
pub fn fresh_database(backend: Backend) -> (String, Option<tempfile::TempDir>, Option<String>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("jemput.db").display());
            (url, Some(dir), None)
        }
        Backend::Postgres => {
            let name = format!(
                "jemput_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst),
                uuid::Uuid::new_v4().simple()
            );
            let admin = postgres_admin_url();
            let mut conn = diesel::PgConnection::establish(&format!("{admin}/postgres"))
                .expect("PostgreSQL must be running for the tests (see README)");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .expect("create test database");
            (format!("{admin}/{name}"), None, Some(name))
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(name) = self.pg_database.take() {
            if let Ok(mut conn) =
                diesel::PgConnection::establish(&format!("{}/postgres", postgres_admin_url()))
            {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

/// The development keys, for tests that write personal data without starting the service.
pub fn install_development_keys() {
    let ring =
        jemput::privacy::KeyRing::from_settings(&jemput::config::PrivacySettings::development())
            .expect("development keys");
    jemput::privacy::install(&ring).expect("install keys");
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, customise: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_inner(backend, customise, false).await
}

/// Like [`spawn_with`], but the service runs in a runtime of its own that
/// [`TestApp::crash`] drops at once, as a killed process would stop: no graceful shutdown,
/// nothing finished.
pub async fn spawn_crashable(backend: Backend, customise: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_inner(backend, customise, true).await
}

/// A fake SMS gateway speaking the Twilio Messages protocol.
async fn fake_sms() -> MockServer {
    let sms = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/2010-04-01/Accounts/[^/]+/Messages\.json$"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"sid": "SM1", "status": "queued"})),
        )
        .mount(&sms)
        .await;
    sms
}

/// Another instance of the service on `first`'s database (same settings, so the same signing
/// secret and fakes, unless `customise` changes them), named `instance-b` unless `customise`
/// names it otherwise, with its own fake SMS gateway. Dropping it leaves the database alone.
pub async fn spawn_second_instance(
    first: &TestApp,
    customise: impl FnOnce(&mut Settings),
) -> TestApp {
    let sms = fake_sms().await;
    let mut settings = first.settings.clone();
    settings.sms.base_url = sms.uri();
    settings.server.instance_id = "instance-b".into();
    customise(&mut settings);
    settings.validate().expect("test settings valid");
    let app = Application::build(settings.clone())
        .await
        .expect("second instance builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let claimant = app.claimant().clone();
    let metrics_port = app.metrics_port();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base,
        client: reqwest::Client::new(),
        sms,
        db,
        settings,
        claimant,
        metrics_port,
        runtime: None,
        _dir: None,
        pg_database: None,
    }
}

/// Limits out of the way of tests that sign in often from one address, as one user.
fn relax_limits(settings: &mut Settings) {
    settings.rate_limit.auth_per_minute = 10_000;
    settings.rate_limit.auth_burst = 1_000;
    settings.rate_limit.codes_per_minute = 10_000;
    settings.rate_limit.codes_burst = 1_000;
    settings.rate_limit.per_identity_per_minute = 10_000;
    settings.rate_limit.per_identity_burst = 1_000;
    settings.auth.otp_max_per_phone_per_day = 100;
    settings.limits.open_requests_per_citizen = 100_000;
    settings.limits.plans_per_region = 100;
    settings.limits.day_replans_at_once = 64;
}

async fn spawn_inner(
    backend: Backend,
    customise: impl FnOnce(&mut Settings),
    crashable: bool,
) -> TestApp {
    let sms = fake_sms().await;
    let (url, dir, pg_database) = fresh_database(backend);
    let mut settings = Settings::defaults().expect("defaults");
    settings.server.instance_id = "instance-a".into();
    settings.server.port = 0;
    settings.database.url = url;
    settings.database.pool_size = 4;
    settings.auth.jwt_secret = "test-secret-test-secret-test-secret-0000".into();
    settings.sms.provider = "twilio".into();
    settings.sms.base_url = sms.uri();
    settings.sms.account_sid = "ACtest".into();
    settings.sms.auth_token = "token".into();
    settings.sms.from = "JEMPUT".into();
    relax_limits(&mut settings);
    settings.privacy = jemput::config::PrivacySettings::development();
    customise(&mut settings);
    settings.validate().expect("test settings valid");
    let (base, db, claimant, metrics_port, runtime) = if crashable {
        let start = settings.clone();
        let (runtime, port, db, claimant) = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            let (port, db, claimant) = runtime.block_on(async move {
                let app = Application::build(start).await.expect("app builds");
                let port = app.port();
                let db = app.db().clone();
                let claimant = app.claimant().clone();
                tokio::spawn(app.run_until(std::future::pending()));
                (port, db, claimant)
            });
            (runtime, port, db, claimant)
        })
        .join()
        .expect("service thread");
        (
            format!("http://127.0.0.1:{port}"),
            db,
            claimant,
            None,
            Some(runtime),
        )
    } else {
        let app = Application::build(settings.clone())
            .await
            .expect("app builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        let claimant = app.claimant().clone();
        let metrics_port = app.metrics_port();
        tokio::spawn(app.run_until(std::future::pending()));
        (base, db, claimant, metrics_port, None)
    };

    // An admin to bootstrap everything else through the API.
    let hash = auth::hash_password(ADMIN_PASSWORD).expect("hash");
    let seed_db = db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = seed_db.get().expect("conn");
        seed_admin(&mut conn, hash);
    })
    .await
    .expect("seed");

    TestApp {
        base,
        client: reqwest::Client::new(),
        sms,
        db,
        settings,
        claimant,
        metrics_port,
        runtime,
        _dir: dir,
        pg_database,
    }
}

/// Kulon Progo's regency outline, as the demo uses.
pub const KULON_PROGO: &str = include_str!("../../assets/kulon_progo_regency.geojson");
/// A point in Wates, inside Kulon Progo.
pub const WATES: (f64, f64) = (-7.8606, 110.1583);

pub struct Region {
    pub id: i64,
    pub coordinator: String,
    pub officer: String,
    pub officer_id: i64,
    pub kind_id: i64,
}

impl TestApp {
    /// Kill a service started with [`spawn_crashable`] mid-flight.
    pub fn crash(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Start the service again on the same database (after [`TestApp::crash`]).
    pub async fn restart(&mut self, customise: impl FnOnce(&mut Settings)) {
        customise(&mut self.settings);
        let app = Application::build(self.settings.clone())
            .await
            .expect("app builds again");
        self.base = format!("http://127.0.0.1:{}", app.port());
        self.db = app.db().clone();
        self.claimant = app.claimant().clone();
        tokio::spawn(app.run_until(std::future::pending()));
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        assert!(status.as_u16() != 500, "server error {status}: {body}");
        if status.is_client_error() {
            assert!(
                body.get("code").is_some(),
                "4xx without JSON code: {status} {body}"
            );
        }
        Response {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.call(Method::POST, path, token, Some(body), &[]).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post(
            "/v1/auth/login",
            None,
            json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn token(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["access_token"].as_str().expect("token").to_string()
    }

    pub async fn admin(&self) -> String {
        self.token("root", ADMIN_PASSWORD).await
    }

    /// The codes the fake gateway received for a phone (E.164), oldest first.
    pub async fn sms_codes(&self, phone_e164: &str) -> Vec<String> {
        let requests = self.sms.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter_map(|r| {
                let form: Vec<(String, String)> =
                    url::form_urlencoded::parse(&r.body).into_owned().collect();
                let to = form.iter().find(|(k, _)| k == "To")?.1.clone();
                let body = form.iter().find(|(k, _)| k == "Body")?.1.clone();
                (to == phone_e164)
                    .then(|| body.split("Jemput: ").nth(1).map(|s| s[..6].to_string()))
                    .flatten()
            })
            .collect()
    }

    /// Signs a citizen in by SMS code; returns the access token.
    pub async fn citizen(&self, phone_local: &str) -> String {
        let r = self
            .post("/v1/auth/otp/request", None, json!({"phone": phone_local}))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        let e164 = format!("+62{}", &phone_local[1..]);
        let code = self.sms_codes(&e164).await.pop().expect("a code was sent");
        let r = self
            .post(
                "/v1/auth/otp/verify",
                None,
                json!({"phone": phone_local, "code": code}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["access_token"].as_str().expect("token").to_string()
    }

    /// A region (Kulon Progo outline) with a coordinator, an officer and one service kind.
    pub async fn region(&self, admin: &str, name: &str) -> Region {
        let boundary: Value = serde_json::from_str(KULON_PROGO).expect("geojson");
        let r = self
            .post(
                "/v1/admin/regions",
                Some(admin),
                json!({"name": name, "time_zone": "Asia/Jakarta", "boundary": boundary}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.id();
        let coord_name = format!("coord-{id}");
        let r = self
            .post(
                "/v1/admin/accounts",
                Some(admin),
                json!({"role": "coordinator", "region_id": id, "username": coord_name, "password": STAFF_PASSWORD, "display_name": "Koordinator"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let officer_name = format!("officer-{id}");
        let r = self
            .post(
                "/v1/admin/accounts",
                Some(admin),
                json!({"role": "officer", "region_id": id, "username": officer_name, "password": STAFF_PASSWORD, "display_name": "Petugas"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let officer_id = r.id();
        let coordinator = self.token(&coord_name, STAFF_PASSWORD).await;
        let r = self
            .post(
                "/v1/service-kinds",
                Some(&coordinator),
                json!({"code": "ktp_elderly", "name_id": "Perekaman KTP-el lansia", "name_en": "ID card for the elderly", "default_duration_minutes": 30, "required_skill": "adminduk"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let kind_id = r.id();
        let officer = self.token(&officer_name, STAFF_PASSWORD).await;
        Region {
            id,
            coordinator,
            officer,
            officer_id,
            kind_id,
        }
    }

    /// A valid visit-request body for `region`, a few days from now.
    pub fn request_body(&self, region: &Region) -> Value {
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Jakarta)
            .date_naive();
        json!({
            "region_id": region.id,
            "service_kind_id": region.kind_id,
            "location": {"lat": WATES.0, "lon": WATES.1},
            "address": "Dusun Bendungan, RT 02 / RW 01, Wates",
            "notes": "Ibu sudah tidak bisa berjalan",
            "accessibility_needs": ["bedridden"],
            "earliest_date": (today + chrono::Duration::days(2)).to_string(),
            "deadline": (today + chrono::Duration::days(14)).to_string(),
            "preferred_windows": [{"date": (today + chrono::Duration::days(3)).to_string(), "start": "08:00", "end": "11:00"}]
        })
    }

    pub async fn create_request(&self, citizen: &str, region: &Region) -> Response {
        let r = self
            .post("/v1/requests", Some(citizen), self.request_body(region))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r
    }
}

/// Runs a test body on both backends as two separate tests.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )+
        }
    };
}

/// The service as its own process (the `jemput` binary, `serve`), so a test can read exactly
/// what it logs. The logs gathered so far are in [`ServiceProcess::logs`]; dropping it kills
/// the process.
pub struct ServiceProcess {
    pub app: TestApp,
    child: std::process::Child,
    logs: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ServiceProcess {
    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `jemput serve` on a fresh database with the fake SMS gateway, an admin seeded as in
/// [`spawn`], logging at `log_filter`.
pub async fn spawn_process(backend: Backend, log_filter: &str) -> ServiceProcess {
    use std::io::Read;

    let sms = fake_sms().await;
    let (url, dir, pg_database) = fresh_database(backend);
    let mut settings = Settings::defaults().expect("defaults");
    settings.database.url = url.clone();
    settings.database.pool_size = 4;
    let db = Db::connect(&settings.database).expect("database");
    let seed_db = db.clone();
    let hash = auth::hash_password(ADMIN_PASSWORD).expect("hash");
    tokio::task::spawn_blocking(move || {
        let mut conn = seed_db.get().expect("conn");
        db::run_migrations(&mut conn).expect("migrations");
        seed_admin(&mut conn, hash);
    })
    .await
    .expect("seed");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let work_dir = tempfile::tempdir().expect("temp dir");
    let dev_keys = jemput::config::PrivacySettings::development();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jemput"))
        .arg("serve")
        .current_dir(work_dir.path())
        .env_clear()
        .env("JEMPUT__SERVER__PORT", port.to_string())
        .env("JEMPUT__SERVER__INSTANCE_ID", "process")
        .env("JEMPUT__DATABASE__URL", &url)
        .env(
            "JEMPUT__AUTH__JWT_SECRET",
            "test-secret-test-secret-test-secret-0000",
        )
        .env("JEMPUT__SMS__PROVIDER", "twilio")
        .env("JEMPUT__SMS__BASE_URL", sms.uri())
        .env("JEMPUT__SMS__ACCOUNT_SID", "ACtest")
        .env("JEMPUT__SMS__AUTH_TOKEN", "token")
        .env("JEMPUT__SMS__FROM", "JEMPUT")
        // The same keys the in-process services use, so this test can read what it stored.
        .env("JEMPUT__PRIVACY__KEYS__DEV", &dev_keys.keys["dev"])
        .env("JEMPUT__PRIVACY__ACTIVE_KEY_ID", &dev_keys.active_key_id)
        .env("JEMPUT__PRIVACY__LOOKUP_KEY", &dev_keys.lookup_key)
        .env("JEMPUT__RATE_LIMIT__AUTH_BURST", "1000")
        .env("JEMPUT__RATE_LIMIT__CODES_BURST", "1000")
        .env("JEMPUT__RATE_LIMIT__PER_IDENTITY_BURST", "1000")
        .env("JEMPUT__LOG__FILTER", log_filter)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("jemput serve starts");
    let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    if let Some(mut stderr) = child.stderr.take() {
        let sink = logs.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                if let Ok(mut logs) = sink.lock() {
                    logs.push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            }
        });
    }
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if client
            .get(format!("{base}/health/live"))
            .send()
            .await
            .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        ready,
        "jemput serve did not answer: {}",
        logs.lock().unwrap()
    );
    settings.server.instance_id = "process".into();
    ServiceProcess {
        app: TestApp {
            base,
            client,
            sms,
            claimant: Claimant::new("process"),
            metrics_port: None,
            db,
            settings,
            runtime: None,
            _dir: dir,
            pg_database,
        },
        child,
        logs,
    }
}

/// The `root` admin every test app starts with, signed in with `ADMIN_PASSWORD` (`hash`).
fn seed_admin(conn: &mut jemput::db::DbConnection, hash: String) {
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
    .expect("seed admin");
}
