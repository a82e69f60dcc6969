//! What every answer carries (no caching of tokens and personal data, security headers, no
//! CORS), and what the logs must never carry: the phone numbers, addresses and notes citizens
//! send, even inside a request that was refused.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn, spawn_process, Backend};

async fn answers_are_not_cached_and_carry_security_headers(backend: Backend) {
    let app = spawn(backend).await;
    let r = app.login("root", crate::helpers::ADMIN_PASSWORD).await;
    assert_eq!(r.status, 200);
    let admin = r.body["access_token"].as_str().unwrap().to_string();
    let citizen = app.citizen("081266660001").await;
    for r in [
        r,
        app.get("/v1/me", &citizen).await,
        app.get("/v1/me/requests", &citizen).await,
        app.get("/v1/requests", &admin).await,
        app.call(Method::GET, "/v1/nothing-here", None, None, &[])
            .await,
    ] {
        let header = |name: &str| {
            r.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(header("cache-control"), "no-store", "{}", r.body);
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
        assert!(
            r.headers.get("access-control-allow-origin").is_none(),
            "CORS is off"
        );
    }
    let docs = app
        .client
        .get(format!("{}/docs/", app.base))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let policy = docs.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(docs.headers().get("access-control-allow-origin").is_none());
    // A CORS preflight gets no permission either.
    let preflight = app
        .client
        .request(Method::OPTIONS, format!("{}/v1/me", app.base))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

const PHONE: &str = "081248891416";
const ADDRESS: &str = "Jalan Kenanga Tujuh, RT 05 / RW 02, Dusun Bendungan";
const NOTES: &str = "Bapak memakai kursi roda sejak stroke";

/// A representative set of requests, accepted and refused, with personal values in the places
/// citizens put them; then the service's own log (the process's stderr, at debug level for our
/// code) is searched for each value: none may appear.
async fn logs_never_hold_phone_numbers_addresses_or_notes(backend: Backend) {
    let service = spawn_process(backend, "debug,h2=info,hyper=info,reqwest=info").await;
    let app = &service.app;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;

    // The phone as a number, not a string: the parser's own message quotes it.
    app.post(
        "/v1/auth/otp/request",
        None,
        json!({"phone": 81248891416_i64}),
    )
    .await
    .assert_error(400, "invalid_json", Some("phone"));
    app.post(
        "/v1/auth/otp/request",
        None,
        json!({"phone": "+1 81248891416"}),
    )
    .await
    .assert_error(422, "invalid_phone", Some("phone"));
    app.post(
        "/v1/auth/otp/verify",
        None,
        json!({"phone": PHONE, "code": "000000"}),
    )
    .await;
    app.login(PHONE, NOTES).await;
    let citizen = app.citizen(PHONE).await;

    let mut body = app.request_body(&region);
    body["address"] = json!(ADDRESS);
    body["notes"] = json!(NOTES);
    let created = app.post("/v1/requests", Some(&citizen), body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.id();
    // Refused bodies that carry the same values in odd places.
    let mut wrong = body.clone();
    wrong["address"] = json!(12);
    wrong["notes"] = json!({"text": NOTES});
    app.post("/v1/requests", Some(&citizen), wrong).await;
    let mut unknown = body.clone();
    unknown["phone"] = json!(PHONE);
    app.post("/v1/requests", Some(&citizen), unknown).await;
    let mut long = body.clone();
    long["notes"] = json!(format!("{NOTES} {}", "x".repeat(5000)));
    app.post("/v1/requests", Some(&citizen), long).await;
    app.call(
        Method::POST,
        "/v1/requests",
        Some(&citizen),
        Some(json!({"region_id": PHONE, "address": ADDRESS})),
        &[],
    )
    .await;
    app.call(
        Method::GET,
        &format!("/v1/requests?status={PHONE}"),
        Some(&region.coordinator),
        None,
        &[],
    )
    .await;
    app.get(&format!("/v1/requests/{id}"), &region.coordinator)
        .await;
    app.get("/v1/me", &citizen).await;
    app.get("/v1/me/requests", &citizen).await;

    // Let the last lines reach the log.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logs = service.logs();
    assert!(
        logs.contains("sign-in code sent"),
        "the log was captured: {logs}"
    );
    for value in [
        "81248891416",
        "Kenanga Tujuh",
        "Bendungan",
        "kursi roda",
        "stroke",
    ] {
        assert!(
            !logs.contains(value),
            "the log holds {value:?}:\n{}",
            logs.lines()
                .filter(|l| l.contains(value))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

both_backends!(
    answers_are_not_cached_and_carry_security_headers,
    logs_never_hold_phone_numbers_addresses_or_notes,
);
