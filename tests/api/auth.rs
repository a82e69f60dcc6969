//! Sign-in: SMS codes (expiry, single use, attempts, per-phone limit), passwords, refresh-token
//! rotation and revocation, and the per-IP rate limit.

use diesel::prelude::*;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn, spawn_with, Backend, ADMIN_PASSWORD};

async fn citizen_signs_in_with_an_sms_code(backend: Backend) {
    let app = spawn(backend).await;
    let r = app
        .post(
            "/v1/auth/otp/request",
            None,
            json!({"phone": "0812-3456-7890"}),
        )
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body["expires_in"], 300);
    let code = app
        .sms_codes("+6281234567890")
        .await
        .pop()
        .expect("code sent to the normalised number");
    let r = app
        .post(
            "/v1/auth/otp/verify",
            None,
            json!({"phone": "+6281234567890", "code": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["account"]["role"], "citizen");
    let token = r.body["access_token"].as_str().unwrap().to_string();
    let me = app.get("/v1/me", &token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["phone"], "+62812******90", "phone shown masked");
    // Single use: the same code again fails.
    let again = app
        .post(
            "/v1/auth/otp/verify",
            None,
            json!({"phone": "081234567890", "code": code}),
        )
        .await;
    again.assert_error(401, "code_expired", None);
    // Signing in again reaches the same account.
    let second = app.citizen("081234567890").await;
    assert_eq!(app.get("/v1/me", &second).await.body["id"], me.body["id"]);
}

async fn wrong_codes_are_limited(backend: Backend) {
    let app = spawn(backend).await;
    app.post(
        "/v1/auth/otp/request",
        None,
        json!({"phone": "081311112222"}),
    )
    .await;
    let code = app.sms_codes("+6281311112222").await.pop().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        let r = app
            .post(
                "/v1/auth/otp/verify",
                None,
                json!({"phone": "081311112222", "code": wrong}),
            )
            .await;
        r.assert_error(401, "invalid_code", None);
    }
    let r = app
        .post(
            "/v1/auth/otp/verify",
            None,
            json!({"phone": "081311112222", "code": wrong}),
        )
        .await;
    r.assert_error(429, "too_many_attempts", None);
    // Even the right code no longer works: a new one must be requested.
    let r = app
        .post(
            "/v1/auth/otp/verify",
            None,
            json!({"phone": "081311112222", "code": code}),
        )
        .await;
    r.assert_error(429, "too_many_attempts", None);
}

async fn codes_expire(backend: Backend) {
    let app = spawn(backend).await;
    app.post(
        "/v1/auth/otp/request",
        None,
        json!({"phone": "081355556666"}),
    )
    .await;
    let code = app.sms_codes("+6281355556666").await.pop().unwrap();
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        use jemput::db::schema::otp_codes;
        let mut conn = db.get().unwrap();
        let past = jemput::db::now() - chrono::Duration::minutes(1);
        diesel::update(otp_codes::table)
            .set(otp_codes::expires_at.eq(past))
            .execute(&mut *conn)
            .unwrap();
    })
    .await
    .unwrap();
    let r = app
        .post(
            "/v1/auth/otp/verify",
            None,
            json!({"phone": "081355556666", "code": code}),
        )
        .await;
    r.assert_error(401, "code_expired", None);
}

async fn codes_per_phone_are_limited(backend: Backend) {
    let app = spawn(backend).await;
    for _ in 0..5 {
        let r = app
            .post(
                "/v1/auth/otp/request",
                None,
                json!({"phone": "081377778888"}),
            )
            .await;
        assert_eq!(r.status, 202);
    }
    let r = app
        .post(
            "/v1/auth/otp/request",
            None,
            json!({"phone": "081377778888"}),
        )
        .await;
    r.assert_error(429, "too_many_codes", None);
    assert!(r.headers.get("retry-after").is_some());
    // Only the latest code works.
    let codes = app.sms_codes("+6281377778888").await;
    assert_eq!(codes.len(), 5);
    if codes[0] != codes[4] {
        let r = app
            .post(
                "/v1/auth/otp/verify",
                None,
                json!({"phone": "081377778888", "code": codes[0]}),
            )
            .await;
        r.assert_error(401, "invalid_code", None);
    }
    let r = app
        .post(
            "/v1/auth/otp/verify",
            None,
            json!({"phone": "081377778888", "code": codes[4]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn bad_phone_numbers_are_rejected(backend: Backend) {
    let app = spawn(backend).await;
    for phone in ["12345", "0274 123456", "+1 555 0100", ""] {
        let r = app
            .post("/v1/auth/otp/request", None, json!({"phone": phone}))
            .await;
        r.assert_error(422, "invalid_phone", Some("phone"));
    }
    assert!(
        app.sms
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "no SMS for invalid numbers"
    );
}

async fn staff_sign_in_refresh_and_logout(backend: Backend) {
    let app = spawn(backend).await;
    app.login("root", "wrong-password")
        .await
        .assert_error(401, "unauthenticated", None);
    app.login("nobody", ADMIN_PASSWORD)
        .await
        .assert_error(401, "unauthenticated", None);
    let r = app.login("root", ADMIN_PASSWORD).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token_type"], "Bearer");
    let refresh = r.body["refresh_token"].as_str().unwrap().to_string();

    // Rotation: the refresh token works once.
    let r2 = app
        .post("/v1/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(r2.status, 200, "{}", r2.body);
    let refresh2 = r2.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh, refresh2);
    // Reusing the old one is refused and, as a sign of theft, revokes the newer one too.
    app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh}))
        .await
        .assert_error(401, "invalid_refresh_token", None);
    app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh2}))
        .await
        .assert_error(401, "invalid_refresh_token", None);

    // Logout revokes.
    let r3 = app.login("root", ADMIN_PASSWORD).await;
    let refresh3 = r3.body["refresh_token"].as_str().unwrap().to_string();
    let out = app
        .post("/v1/auth/logout", None, json!({"refresh_token": refresh3}))
        .await;
    assert_eq!(out.status, 204);
    app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh3}))
        .await
        .assert_error(401, "invalid_refresh_token", None);
}

async fn tokens_are_checked(backend: Backend) {
    let app = spawn(backend).await;
    let r = app
        .call(reqwest::Method::GET, "/v1/me", None, None, &[])
        .await;
    r.assert_error(401, "unauthenticated", None);
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    app.get("/v1/me", "not-a-token")
        .await
        .assert_error(401, "unauthenticated", None);
    // A token signed with another secret.
    let forged = jemput::auth::TokenKeys::new("some-other-secret-some-other-secret-0", 900)
        .issue(1, jemput::domain::Role::Admin, None, 1)
        .unwrap();
    app.get("/v1/me", &forged)
        .await
        .assert_error(401, "unauthenticated", None);
}

async fn sign_in_is_rate_limited_per_address(backend: Backend) {
    let app = spawn_with(backend, |s| {
        s.rate_limit.auth_per_minute = 1;
        s.rate_limit.auth_burst = 3;
    })
    .await;
    for _ in 0..3 {
        let r = app.login("root", "wrong-password").await;
        assert_eq!(r.status, 401);
    }
    let r = app.login("root", ADMIN_PASSWORD).await;
    r.assert_error(429, "rate_limited", None);
    assert!(r.headers.get("retry-after").is_some());
}

async fn sms_gateway_failures_are_reported(backend: Backend) {
    let app = spawn_with(backend, |s| s.sms.base_url = "http://127.0.0.1:9".into()).await;
    let r = app
        .post(
            "/v1/auth/otp/request",
            None,
            json!({"phone": "081299998888"}),
        )
        .await;
    r.assert_error(503, "sms_unavailable", None);
}

both_backends!(
    citizen_signs_in_with_an_sms_code,
    wrong_codes_are_limited,
    codes_expire,
    codes_per_phone_are_limited,
    bad_phone_numbers_are_rejected,
    staff_sign_in_refresh_and_logout,
    tokens_are_checked,
    sign_in_is_rate_limited_per_address,
    sms_gateway_failures_are_reported,
);
