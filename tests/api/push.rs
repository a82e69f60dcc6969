//! The outbox worker against a local fake FCM server speaking the v1 protocol: an OAuth token
//! endpoint that verifies the signed assertion, and a send endpoint that checks the payload
//! and answers as scripted (success, 503 then success, UNREGISTERED).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jemput::db::outbox::{self, OutboxRow};
use jemput::db::Claimant;
use jemput::domain::{Language, OutboxStatus, PushKind};
use jemput::push::messages::JemputNotices;
use jemput::push::messages::Notices;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::both_backends;
use crate::helpers::{spawn, spawn_with, Backend, TestApp};

const PRIVATE_KEY: &str = include_str!("../fixtures/fake-fcm-test-key.pem");
const PUBLIC_KEY: &str = include_str!("../fixtures/fake-fcm-test-key.pub.pem");
const PROJECT: &str = "jemput-test";
const SEND_PATH: &str = "/v1/projects/jemput-test/messages:send";

/// Issues an access token only for a correctly signed JWT-bearer assertion.
struct TokenEndpoint {
    audience: String,
}

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[self.audience.as_str()]);
        let key = DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
        let valid = form.get("grant_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
            && form.get("assertion").is_some_and(|a| {
                jsonwebtoken::decode::<Value>(a, &key, &validation).is_ok_and(|d| {
                    d.claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
                })
            });
        if valid {
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "fake-access-token", "expires_in": 3600, "token_type": "Bearer"}),
            )
        } else {
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}))
        }
    }
}

/// The send endpoint: checks auth and payload, then answers from a script (last entry repeats).
struct SendEndpoint {
    script: Vec<(u16, Value)>,
    calls: Arc<AtomicUsize>,
}

impl Respond for SendEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let authorised = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some("Bearer fake-access-token");
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let message = &body["message"];
        let well_formed = message["token"].is_string()
            && message["data"]
                .as_object()
                .is_some_and(|d| d.values().all(Value::is_string))
            && request.body.len() <= 4096;
        if !authorised {
            return ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}));
        }
        if !well_formed {
            return ResponseTemplate::new(400).set_body_json(
                json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "bad message"}}),
            );
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let (status, reply) = self.script[n.min(self.script.len() - 1)].clone();
        let mut template = ResponseTemplate::new(status).set_body_json(reply);
        if status == 503 {
            template = template.insert_header("Retry-After", "0");
        }
        template
    }
}

pub fn sent(name: &str) -> (u16, Value) {
    (
        200,
        json!({"name": format!("projects/{PROJECT}/messages/{name}")}),
    )
}

/// A local fake FCM: the OAuth token endpoint and the v1 send endpoint answering `script`.
pub struct FakeFcm {
    pub server: MockServer,
    pub calls: Arc<AtomicUsize>,
    key_file: String,
    _dir: tempfile::TempDir,
}

impl FakeFcm {
    pub async fn start(script: Vec<(u16, Value)>) -> FakeFcm {
        let server = MockServer::start().await;
        let token_uri = format!("{}/token", server.uri());
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(TokenEndpoint {
                audience: token_uri.clone(),
            })
            .mount(&server)
            .await;
        let calls = Arc::new(AtomicUsize::new(0));
        Mock::given(method("POST"))
            .and(path(SEND_PATH))
            .respond_with(SendEndpoint {
                script,
                calls: calls.clone(),
            })
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("service-account.json");
        std::fs::write(
            &key_file,
            json!({"type": "service_account", "project_id": PROJECT,
                   "client_email": "jemput@jemput-test.iam.gserviceaccount.com",
                   "private_key": PRIVATE_KEY, "token_uri": token_uri})
            .to_string(),
        )
        .unwrap();
        FakeFcm {
            server,
            calls,
            key_file: key_file.to_string_lossy().to_string(),
            _dir: dir,
        }
    }

    /// Point a service's pushes at this fake, polling the outbox often.
    pub fn configure(&self, s: &mut jemput::config::Settings) {
        s.push.fcm_key_file = self.key_file.clone();
        s.push.fcm_base_url = self.server.uri();
        s.push.poll_interval_ms = 20;
        s.push.lease_secs = 5;
    }

    /// The `message` of every send request received, oldest first.
    pub async fn messages(&self) -> Vec<Value> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == SEND_PATH)
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .map(|body| body["message"].clone())
            .collect()
    }
}

/// An app whose worker talks to a fake FCM answering `script`; returns the send counter.
async fn app_with_fcm(
    backend: Backend,
    script: Vec<(u16, Value)>,
) -> (TestApp, FakeFcm, Arc<AtomicUsize>) {
    let fcm = FakeFcm::start(script).await;
    let app = spawn_with(backend, |s| fcm.configure(s)).await;
    let calls = fcm.calls.clone();
    (app, fcm, calls)
}

/// A citizen with one phone, and a push queued for them.
async fn queue_push(app: &TestApp, phone: &str) -> i64 {
    let citizen = app.citizen(phone).await;
    let r = app
        .post(
            "/v1/devices",
            Some(&citizen),
            json!({"token": format!("fcm-token-of-{phone}"), "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let me = app.get("/v1/me", &citizen).await.id();
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let message = JemputNotices.visit_unscheduled(Language::Id, 42);
        outbox::enqueue_for_account(&mut conn, PushKind::VisitUnscheduled, me, &message).unwrap();
    })
    .await
    .unwrap();
    me
}

async fn rows(app: &TestApp) -> Vec<OutboxRow> {
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || outbox::all(&mut db.get().unwrap()).unwrap())
        .await
        .unwrap()
}

/// Wait until every row has left pending/sending.
pub async fn settled(app: &TestApp) -> Vec<OutboxRow> {
    for _ in 0..200 {
        let all = rows(app).await;
        if !all.is_empty()
            && all
                .iter()
                .all(|r| r.status != OutboxStatus::Pending && r.status != OutboxStatus::Sending)
        {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox did not settle: {:?}", rows(app).await);
}

async fn a_push_is_sent_once_and_recorded(backend: Backend) {
    let (app, _fcm, calls) = app_with_fcm(backend, vec![sent("m-1")]).await;
    queue_push(&app, "081200000301").await;
    let all = settled(&app).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, OutboxStatus::Sent);
    assert_eq!(
        all[0].fcm_message_name.as_deref(),
        Some("projects/jemput-test/messages/m-1")
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

async fn unavailable_is_retried_then_sent(backend: Backend) {
    let script = vec![
        (
            503,
            json!({"error": {"code": 503, "status": "UNAVAILABLE"}}),
        ),
        sent("m-2"),
    ];
    let (app, _fcm, calls) = app_with_fcm(backend, script).await;
    queue_push(&app, "081200000302").await;
    let all = settled(&app).await;
    assert_eq!(all[0].status, OutboxStatus::Sent, "{:?}", all[0]);
    assert_eq!(all[0].attempts, 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

async fn an_unregistered_token_is_forgotten(backend: Backend) {
    let script = vec![(
        404,
        json!({"error": {"code": 404, "status": "NOT_FOUND", "message": "Requested entity was not found.",
               "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}),
    )];
    let (app, _fcm, _calls) = app_with_fcm(backend, script).await;
    let citizen_id = queue_push(&app, "081200000303").await;
    let all = settled(&app).await;
    assert_eq!(all[0].status, OutboxStatus::TokenDropped);
    let db = app.db.clone();
    let devices = tokio::task::spawn_blocking(move || {
        jemput::db::accounts::devices_of(&mut db.get().unwrap(), citizen_id).unwrap()
    })
    .await
    .unwrap();
    assert!(devices.is_empty());
}

async fn nothing_more_goes_to_a_token_once_dropped(backend: Backend) {
    let script = vec![(
        404,
        json!({"error": {"code": 404, "status": "NOT_FOUND", "message": "Requested entity was not found.",
               "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}),
    )];
    let (app, fcm, _calls) = app_with_fcm(backend, script).await;
    let citizen = app.citizen("081200000306").await;
    let r = app
        .post(
            "/v1/devices",
            Some(&citizen),
            json!({"token": "fcm-token-of-081200000306", "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let me = app.get("/v1/me", &citizen).await.id();
    // Four pushes to the phone, claimed in one batch.
    app.db
        .write(move |conn| {
            for request in 1..=4 {
                let message = JemputNotices.visit_unscheduled(Language::Id, request);
                outbox::enqueue_for_account(conn, PushKind::VisitUnscheduled, me, &message)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let all = settled(&app).await;
    assert_eq!(all.len(), 4);
    assert!(
        all.iter().all(|r| r.status == OutboxStatus::TokenDropped),
        "{all:?}"
    );
    // FCM heard of the token once: the send that told us it is dead.
    assert_eq!(fcm.messages().await.len(), 1);
}

async fn without_fcm_pushes_wait_as_undeliverable(backend: Backend) {
    let app = spawn(backend).await;
    queue_push(&app, "081200000304").await;
    let all = settled(&app).await;
    assert_eq!(all[0].status, OutboxStatus::Undeliverable);
    assert_eq!(all[0].last_error.as_deref(), Some("no FCM configured"));
}

async fn a_push_claimed_by_a_crashed_worker_goes_out_once(backend: Backend) {
    let (app, _fcm, calls) = app_with_fcm(backend, vec![sent("m-3")]).await;
    // Claim the row as a worker would, then "crash": nothing records an outcome. Claiming in
    // the same transaction as the enqueue keeps the live worker from seeing it first.
    let citizen = app.citizen("081200000305").await;
    let r = app
        .post(
            "/v1/devices",
            Some(&citizen),
            json!({"token": "fcm-token-of-crash-test", "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let me = app.get("/v1/me", &citizen).await.id();
    let claimed = app
        .db
        .write(move |conn| {
            outbox::enqueue_for_account(
                conn,
                PushKind::VisitUnscheduled,
                me,
                &JemputNotices.visit_unscheduled(Language::En, 7),
            )?;
            let crashed = Claimant {
                instance_id: "an-instance-that-died".into(),
                boot_id: "its-last-boot".into(),
            };
            outbox::claim(conn, &crashed, 10, 1)
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(rows(&app).await[0].status, OutboxStatus::Sending);
    // After the one-second lease the live worker takes it over and sends it, once.
    let all = settled(&app).await;
    assert_eq!(all[0].status, OutboxStatus::Sent);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

async fn each_phones_pushes_go_out_in_the_order_written(backend: Backend) {
    let (app, fcm, _calls) = app_with_fcm(backend, vec![sent("m")]).await;
    let mut accounts = Vec::new();
    for phone in ["081200000311", "081200000312", "081200000313"] {
        let citizen = app.citizen(phone).await;
        let r = app
            .post(
                "/v1/devices",
                Some(&citizen),
                json!({"token": format!("fcm-token-of-{phone}"), "platform": "android"}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        accounts.push(app.get("/v1/me", &citizen).await.id());
    }
    // Versions 1..=6 of one team route for every phone, interleaved, in one transaction.
    app.db
        .write(move |conn| {
            for version in 1..=6 {
                for &account in &accounts {
                    let message = JemputNotices.route_changed(
                        7,
                        chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                        version,
                    );
                    outbox::enqueue_for_account(conn, PushKind::RouteChanged, account, &message)?;
                }
            }
            Ok(())
        })
        .await
        .unwrap();
    let all = settled(&app).await;
    assert!(
        all.iter().all(|r| r.status == OutboxStatus::Sent),
        "{all:?}"
    );
    let messages = fcm.messages().await;
    assert_eq!(messages.len(), 18);
    for phone in ["081200000311", "081200000312", "081200000313"] {
        let token = format!("fcm-token-of-{phone}");
        let versions: Vec<&str> = messages
            .iter()
            .filter(|m| m["token"] == token.as_str())
            .map(|m| m["data"]["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["1", "2", "3", "4", "5", "6"], "{token}");
    }
}

/// A wrong project or key file (403, 404 without UNREGISTERED, SENDER_ID_MISMATCH) is our
/// fault, not the phone's: the token is kept, the push waits to be retried, readiness says so.
async fn a_broken_fcm_setup_keeps_tokens_and_shows_on_readiness(backend: Backend) {
    for reply in [
        json!({"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "SenderId mismatch",
               "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "SENDER_ID_MISMATCH"}]}}),
        json!({"error": {"code": 404, "status": "NOT_FOUND", "message": "Requested entity was not found."}}),
    ] {
        let status = reply["error"]["code"].as_u64().unwrap() as u16;
        let (app, _fcm, calls) = app_with_fcm(backend, vec![(status, reply)]).await;
        let ready = app
            .call(reqwest::Method::GET, "/health/ready", None, None, &[])
            .await;
        assert_eq!(ready.body["push"], "ok", "{}", ready.body);
        let citizen_id = queue_push(&app, "081200000321").await;
        for _ in 0..100 {
            if calls.load(Ordering::SeqCst) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let ready = app
            .call(reqwest::Method::GET, "/health/ready", None, None, &[])
            .await;
        assert_eq!(ready.status, 200);
        assert_eq!(ready.body["push"], "misconfigured", "{}", ready.body);
        assert!(ready.body["push_error"]
            .as_str()
            .is_some_and(|e| e.contains(&status.to_string())));
        let all = rows(&app).await;
        assert!(
            all.iter()
                .all(|r| r.status == OutboxStatus::Pending || r.status == OutboxStatus::Sending),
            "{all:?}"
        );
        let db = app.db.clone();
        let devices = tokio::task::spawn_blocking(move || {
            jemput::db::accounts::devices_of(&mut db.get().unwrap(), citizen_id).unwrap()
        })
        .await
        .unwrap();
        assert_eq!(devices.len(), 1, "the token is kept");
    }
}

/// Pushes queued for a phone that was removed, or whose token moved to another account, are
/// not sent to it.
async fn pushes_queued_for_a_removed_device_are_dropped(backend: Backend) {
    // The worker looks at the outbox once at start, then not for a minute: what settles the
    // rows below is the removal, not a send.
    let app = spawn_with(backend, |s| s.push.poll_interval_ms = 60_000).await;
    let citizen = app.citizen("081200000331").await;
    let device = app
        .post(
            "/v1/devices",
            Some(&citizen),
            json!({"token": "fcm-token-shared-phone", "platform": "android"}),
        )
        .await;
    assert!(device.status.is_success(), "{}", device.body);
    let me = app.get("/v1/me", &citizen).await.id();
    let enqueue = |account: i64| {
        app.db.write(move |conn| {
            let message = JemputNotices.visit_unscheduled(Language::Id, 42);
            outbox::enqueue_for_account(conn, PushKind::VisitUnscheduled, account, &message)
        })
    };
    enqueue(me).await.unwrap();
    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/devices/{}", device.id()),
            Some(&citizen),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // The phone is handed to someone else: what was queued for its first owner stays unsent.
    let first = app.citizen("081200000332").await;
    let r = app
        .post(
            "/v1/devices",
            Some(&first),
            json!({"token": "fcm-token-of-a-handed-on-phone", "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let first_id = app.get("/v1/me", &first).await.id();
    enqueue(first_id).await.unwrap();
    let second = app.citizen("081200000333").await;
    let r = app
        .post(
            "/v1/devices",
            Some(&second),
            json!({"token": "fcm-token-of-a-handed-on-phone", "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let all = rows(&app).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all.iter().all(|r| r.status == OutboxStatus::DeviceRemoved),
        "{all:?}"
    );
}

both_backends!(
    a_broken_fcm_setup_keeps_tokens_and_shows_on_readiness,
    pushes_queued_for_a_removed_device_are_dropped,
    each_phones_pushes_go_out_in_the_order_written,
    a_push_is_sent_once_and_recorded,
    unavailable_is_retried_then_sent,
    an_unregistered_token_is_forgotten,
    nothing_more_goes_to_a_token_once_dropped,
    without_fcm_pushes_wait_as_undeliverable,
    a_push_claimed_by_a_crashed_worker_goes_out_once,
);
