//! Limits: bounded password hashing, sign-in and code buckets per address (the client's, as a
//! trusted proxy reports it) and per phone or username, refresh and sign-out outside them, a
//! daily cap on codes per phone, open requests per citizen, one plan per region at a time, and
//! day re-plans solved a few at once.

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
    // Codes are stored under the phone's keyed hash, not its number.
    let hash = jemput::privacy::ring()
        .unwrap()
        .phone_hash("+6281200000021");
    tokio::task::spawn_blocking(move || {
        use jemput::db::schema::otp_codes;
        let mut conn = db.get().unwrap();
        for _ in 0..2 {
            diesel::insert_into(otp_codes::table)
                .values((
                    otp_codes::phone_hash.eq(&hash),
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

async fn a_citizen_has_a_bounded_number_of_open_requests(backend: Backend) {
    let app = spawn_with(backend, |s| s.limits.open_requests_per_citizen = 3).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000041").await;
    // Ten at once, each with its own key: the cap counts them all.
    let keys: Vec<String> = (0..10).map(|i| format!("open-cap-key-{i:02}")).collect();
    let headers: Vec<[(&str, &str); 1]> = keys
        .iter()
        .map(|key| [("Idempotency-Key", key.as_str())])
        .collect();
    let body = app.request_body(&region);
    let answers = join_all(headers.iter().map(|h| {
        app.call(
            Method::POST,
            "/v1/requests",
            Some(&citizen),
            Some(body.clone()),
            h,
        )
    }))
    .await;
    let created: Vec<&crate::helpers::Response> =
        answers.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        created.len(),
        3,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != 201) {
        r.assert_error(429, "too_many_open_requests", None);
    }
    // A retry of a request that was created still answers with it.
    let first = answers.iter().position(|r| r.status == 201).unwrap();
    let replay = app
        .call(
            Method::POST,
            "/v1/requests",
            Some(&citizen),
            Some(app.request_body(&region)),
            &[(
                "Idempotency-Key",
                format!("open-cap-key-{first:02}").as_str(),
            )],
        )
        .await;
    assert!(replay.status.is_success(), "{}", replay.body);
    assert_eq!(replay.body["id"], answers[first].body["id"]);
    // A cancelled request is no longer open.
    let id = created[0].id();
    let r = app
        .call(
            Method::POST,
            &format!("/v1/requests/{id}/cancel"),
            Some(&citizen),
            Some(json!({"reason": "Sudah ke kantor"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    app.create_request(&citizen, &region).await;
}

async fn one_plan_per_region_at_a_time(backend: Backend) {
    let app = spawn_with(backend, |s| s.limits.plans_per_region = 1).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    // A plan being solved (running, under a lease no runner will take over).
    let region_id = region.id;
    let running = app
        .db
        .write(move |conn| {
            jemput::db::plans::insert(
                conn,
                &jemput::db::events::Actor::default(),
                jemput::db::plans::NewPlan {
                    region_id,
                    dates: "[]".into(),
                    status: jemput::domain::PlanStatus::Running,
                    time_limit_ms: 1000,
                    seed: 1,
                    requested_by: None,
                    created_at: jemput::db::now(),
                },
            )
        })
        .await
        .unwrap()
        .id;
    let dates = crate::plans::days(2, 4);
    let answers = join_all((0..5).map(|_| {
        app.post(
            "/v1/plans",
            Some(&region.coordinator),
            json!({"dates": dates, "time_limit_seconds": 1}),
        )
    }))
    .await;
    for r in &answers {
        r.assert_error(409, "plan_in_progress", None);
        assert_eq!(
            r.headers.get("location").unwrap(),
            &format!("/v1/plans/{running}")
        );
    }
    // Another region plans meanwhile.
    let other = app.region(&admin, "Kulon Progo Barat").await;
    let r = app
        .post(
            "/v1/plans",
            Some(&other.coordinator),
            json!({"dates": dates, "time_limit_seconds": 1}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    app.db
        .write(move |conn| {
            use diesel::prelude::*;
            use jemput::db::schema::plans;
            diesel::update(plans::table.find(running))
                .set(plans::status.eq(jemput::domain::PlanStatus::Failed))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    // Once it is done, the first region plans again; asked six times at once, exactly one
    // plan is queued (the region's lock orders them) and the rest are told which.
    let answers = join_all((0..6).map(|_| {
        app.post(
            "/v1/plans",
            Some(&region.coordinator),
            json!({"dates": dates, "time_limit_seconds": 1}),
        )
    }))
    .await;
    let statuses: Vec<_> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 202).count(),
        1,
        "{statuses:?}"
    );
    for r in answers.iter().filter(|r| r.status != 202) {
        r.assert_error(409, "plan_in_progress", None);
    }
}

/// With one re-plan slot, previews asked at once beyond it are refused with 429 while the
/// first is solved (each solve runs to its time limit), never a 5xx.
async fn day_replans_are_solved_a_bounded_number_at_once(backend: Backend) {
    let app = spawn_with(backend, |s| s.limits.day_replans_at_once = 1).await;
    let crew = crate::rebalancing::crew(&app, 4).await;
    let day = crate::rebalancing::day_routes(&app, &crew, &crew.day).await;
    let tag = format!("\"{}\"", day["tag"].as_str().unwrap());
    let path = format!("/v1/days/{}/replan?preview=true", crew.day);
    let headers = [("If-Match", tag.as_str())];
    let answers = join_all((0..3).map(|_| {
        app.call(
            Method::POST,
            &path,
            Some(&crew.region.coordinator),
            Some(json!({"from": "10:00", "time_limit_seconds": 2})),
            &headers,
        )
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.contains(&200), "{statuses:?}");
    let refused = answers
        .iter()
        .find(|r| r.status == 429)
        .unwrap_or_else(|| panic!("none refused: {statuses:?}"));
    refused.assert_error(429, "too_many_requests", None);
    assert!(
        statuses.iter().all(|s| [200, 429].contains(s)),
        "{statuses:?}"
    );
}

both_backends!(
    forwarded_addresses_count_only_behind_a_trusted_proxy,
    one_username_is_limited_whatever_the_address,
    codes_and_sign_ins_have_separate_buckets_and_refresh_has_none,
    a_phone_gets_a_bounded_number_of_codes_a_day,
    password_hashing_is_bounded,
    a_citizen_has_a_bounded_number_of_open_requests,
    one_plan_per_region_at_a_time,
    day_replans_are_solved_a_bounded_number_at_once,
);
