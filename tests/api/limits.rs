//! Limits: bounded password hashing, sign-in and code buckets per address (the client's, as a
//! trusted proxy reports it) and per phone or username, refresh and sign-out outside them, and
//! a daily cap on codes per phone.

use diesel::prelude::*;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn_with, Backend, TestApp, ADMIN_PASSWORD};

async fn login_from(app: &TestApp, address: &str, username: &str, password: &str) -> u16 {
    app.call(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
        &[("x-forwarded-for", address)],
    )
    .await
    .status
    .as_u16()
}

async fn forwarded_addresses_count_only_behind_a_trusted_proxy(backend: Backend) {
    let app = spawn_with(backend, |s| {
        s.rate_limit.auth_per_minute = 1;
        s.rate_limit.auth_burst = 2;
        s.rate_limit.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    assert_eq!(
        login_from(&app, "203.0.113.1", "a-user", "wrong-pass").await,
        401
    );
    assert_eq!(
        login_from(&app, "203.0.113.1", "b-user", "wrong-pass").await,
        401
    );
    assert_eq!(
        login_from(&app, "203.0.113.1", "c-user", "wrong-pass").await,
        429
    );
    // Another client behind the same proxy has its own bucket.
    assert_eq!(
        login_from(&app, "203.0.113.2", "root", ADMIN_PASSWORD).await,
        200
    );

    // Without a trusted proxy the header is the client's own text: ignored.
    let app = spawn_with(backend, |s| {
        s.rate_limit.auth_per_minute = 1;
        s.rate_limit.auth_burst = 2;
    })
    .await;
    assert_eq!(
        login_from(&app, "198.51.100.1", "a-user", "wrong-pass").await,
        401
    );
    assert_eq!(
        login_from(&app, "198.51.100.2", "b-user", "wrong-pass").await,
        401
    );
    assert_eq!(
        login_from(&app, "198.51.100.3", "c-user", "wrong-pass").await,
        429
    );
}

async fn one_username_is_limited_whatever_the_address(backend: Backend) {
    let app = spawn_with(backend, |s| {
        s.rate_limit.per_identity_per_minute = 1;
        s.rate_limit.per_identity_burst = 3;
        s.rate_limit.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    for i in 0..3 {
        let address = format!("2001:db8::{i}");
        assert_eq!(login_from(&app, &address, "root", "wrong-pass").await, 401);
    }
    let r = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"username": "ROOT", "password": ADMIN_PASSWORD})),
            &[("x-forwarded-for", "2001:db8::99")],
        )
        .await;
    r.assert_error(429, "rate_limited", None);
    assert!(r.headers.get("retry-after").is_some());
    // Another user is untouched.
    assert_eq!(
        login_from(&app, "2001:db8::1", "someone", "wrong-pass").await,
        401
    );
}

async fn codes_and_sign_ins_have_separate_buckets_and_refresh_has_none(backend: Backend) {
    let app = spawn_with(backend, |s| {
        s.rate_limit.codes_per_minute = 1;
        s.rate_limit.codes_burst = 2;
        s.rate_limit.auth_per_minute = 1;
        s.rate_limit.auth_burst = 2;
    })
    .await;
    for phone in ["081200000011", "081200000012"] {
        let r = app
            .post("/v1/auth/otp/request", None, json!({"phone": phone}))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    app.post(
        "/v1/auth/otp/request",
        None,
        json!({"phone": "081200000013"}),
    )
    .await
    .assert_error(429, "rate_limited", None);
    // Sign-ins are counted apart from code requests.
    let r = app.login("root", ADMIN_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut refresh = r.body["refresh_token"].as_str().unwrap().to_string();
    // Refreshing is not signing in: many in a row are fine.
    for _ in 0..5 {
        let r = app
            .post("/v1/auth/refresh", None, json!({"refresh_token": refresh}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        refresh = r.body["refresh_token"].as_str().unwrap().to_string();
    }
    let out = app
        .post("/v1/auth/logout", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(out.status, 204);
}

async fn a_phone_gets_a_bounded_number_of_codes_a_day(backend: Backend) {
    let app = spawn_with(backend, |s| {
        s.auth.otp_max_per_phone_per_hour = 2;
        s.auth.otp_max_per_phone_per_day = 3;
    })
    .await;
    // Two codes sent earlier today, more than an hour ago.
    let earlier = jemput::db::now() - chrono::Duration::hours(3);
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        use jemput::db::schema::otp_codes;
        let mut conn = db.get().unwrap();
        for _ in 0..2 {
            diesel::insert_into(otp_codes::table)
                .values((
                    otp_codes::phone.eq("+6281200000021"),
                    otp_codes::code_hash.eq("0"),
                    otp_codes::attempts.eq(0),
                    otp_codes::expires_at.eq(earlier),
                    otp_codes::consumed_at.eq(Some(earlier)),
                    otp_codes::created_at.eq(earlier),
                ))
                .execute(&mut conn)
                .unwrap();
        }
    })
    .await
    .unwrap();
    let r = app
        .post(
            "/v1/auth/otp/request",
            None,
            json!({"phone": "081200000021"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = app
        .post(
            "/v1/auth/otp/request",
            None,
            json!({"phone": "081200000021"}),
        )
        .await;
    r.assert_error(429, "too_many_codes", None);
    assert_eq!(r.headers.get("retry-after").unwrap(), "86400");
}

/// With one hashing thread and almost no wait, a burst of sign-ins is partly refused with 429
/// `too_many_requests`, never a 5xx, and the ones let through are answered right.
async fn password_hashing_is_bounded(backend: Backend) {
    let app = spawn_with(backend, |s| {
        s.limits.password_hashes_at_once = 1;
        s.limits.password_hash_wait_ms = 1;
    })
    .await;
    let answers = join_all((0..12).map(|_| app.login("root", ADMIN_PASSWORD))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    assert!(
        statuses.iter().all(|s| [200, 429].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    let busy = answers
        .iter()
        .find(|r| r.status == 429)
        .unwrap_or_else(|| panic!("none refused: {statuses:?}"));
    busy.assert_error(429, "too_many_requests", None);
    assert!(busy.headers.get("retry-after").is_some());
}

both_backends!(
    forwarded_addresses_count_only_behind_a_trusted_proxy,
    one_username_is_limited_whatever_the_address,
    codes_and_sign_ins_have_separate_buckets_and_refresh_has_none,
    a_phone_gets_a_bounded_number_of_codes_a_day,
    password_hashing_is_bounded,
);
