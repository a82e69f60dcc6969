//! Visit requests: create, read, idempotent retries, versioned changes and the 409 race, the
//! event trail, filtered listing.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn, Backend};

async fn citizen_requests_a_visit_and_coordinator_lists_it(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000010").await;
    let r = app.create_request(&citizen, &region).await;
    assert_eq!(r.body["status"], "submitted");
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["priority"], "high", "bedridden starts one step up");
    assert_eq!(r.headers.get("etag").unwrap(), "\"1\"");
    assert_eq!(
        r.headers.get("location").unwrap().to_str().unwrap(),
        format!("/v1/requests/{}", r.id())
    );
    assert!(r.headers.get("x-request-id").is_some());

    let list = app
        .get(
            "/v1/requests?status=submitted&priority=high,urgent",
            &region.coordinator,
        )
        .await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(
        list.body["items"][0]["address"],
        "Dusun Bendungan, RT 02 / RW 01, Wates"
    );
    let none = app
        .get("/v1/requests?status=cancelled", &region.coordinator)
        .await;
    assert_eq!(none.body["total"], 0);
    let inside = app
        .get(
            "/v1/requests?bbox=110.1,-7.9,110.2,-7.8",
            &region.coordinator,
        )
        .await;
    assert_eq!(inside.body["total"], 1);
    let outside = app
        .get(
            "/v1/requests?bbox=110.2,-7.9,110.3,-7.8",
            &region.coordinator,
        )
        .await;
    assert_eq!(outside.body["total"], 0);
    let kind = app
        .get(
            &format!("/v1/requests?service_kind_id={}", region.kind_id + 1000),
            &region.coordinator,
        )
        .await;
    assert_eq!(kind.body["total"], 0);
    let today = chrono::Utc::now().date_naive();
    let far = app
        .get(
            &format!("/v1/requests?from={}", today + chrono::Duration::days(30)),
            &region.coordinator,
        )
        .await;
    assert_eq!(far.body["total"], 0);
}

async fn pagination_is_bounded_and_stable(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000011").await;
    for _ in 0..5 {
        app.create_request(&citizen, &region).await;
    }
    let page1 = app.get("/v1/requests?limit=2", &region.coordinator).await;
    let page3 = app
        .get("/v1/requests?limit=2&offset=4", &region.coordinator)
        .await;
    assert_eq!(page1.body["total"], 5);
    assert_eq!(page1.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(page3.body["items"].as_array().unwrap().len(), 1);
    app.get("/v1/requests?limit=0", &region.coordinator)
        .await
        .assert_error(400, "invalid_query", Some("limit"));
    app.get("/v1/requests?limit=201", &region.coordinator)
        .await
        .assert_error(400, "invalid_query", Some("limit"));
    app.get("/v1/requests?limit=abc", &region.coordinator)
        .await
        .assert_error(400, "invalid_query", None);
    app.get("/v1/requests?status=lost", &region.coordinator)
        .await
        .assert_error(400, "invalid_query", Some("status"));
    app.get("/v1/requests?bbox=1,2", &region.coordinator)
        .await
        .assert_error(400, "invalid_query", Some("bbox"));
    app.get(
        "/v1/requests?from=2026-12-10&to=2026-12-01",
        &region.coordinator,
    )
    .await
    .assert_error(400, "invalid_query", Some("from"));
}

async fn a_retried_create_returns_the_first_result(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000012").await;
    let body = app.request_body(&region);
    let key = [("Idempotency-Key", "7d6f0c7e-2b1a-4c1e-9a53-1f0f5f9d2a11")];
    let first = app
        .call(
            Method::POST,
            "/v1/requests",
            Some(&citizen),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, 201);
    let again = app
        .call(
            Method::POST,
            "/v1/requests",
            Some(&citizen),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");

    // Concurrent retries (a flaky connection): still one request.
    let key2 = [("Idempotency-Key", "second-key")];
    let futures: Vec<_> = (0..6)
        .map(|_| {
            app.call(
                Method::POST,
                "/v1/requests",
                Some(&citizen),
                Some(body.clone()),
                &key2,
            )
        })
        .collect();
    let results = futures_util::future::join_all(futures).await;
    let ids: std::collections::BTreeSet<i64> = results.iter().map(|r| r.id()).collect();
    assert_eq!(ids.len(), 1, "one request for one key");
    assert_eq!(app.get("/v1/me/requests", &citizen).await.body["total"], 2);

    // The same key with another body is a client bug, not a retry.
    let mut other = body.clone();
    other["address"] = json!("Somewhere else entirely, Sentolo");
    let r = app
        .call(
            Method::POST,
            "/v1/requests",
            Some(&citizen),
            Some(other),
            &key,
        )
        .await;
    r.assert_error(422, "idempotency_key_reused", Some("Idempotency-Key"));
    // Keys are per citizen: another citizen's identical key is a new request.
    let other_citizen = app.citizen("081200000013").await;
    let r = app
        .call(
            Method::POST,
            "/v1/requests",
            Some(&other_citizen),
            Some(body),
            &key,
        )
        .await;
    assert_eq!(r.status, 201);
    assert_ne!(r.id(), first.id());
    let bad_key = [("Idempotency-Key", "has spaces in it")];
    let r = app
        .call(
            Method::POST,
            "/v1/requests",
            Some(&citizen),
            Some(app.request_body(&region)),
            &bad_key,
        )
        .await;
    r.assert_error(400, "missing_header", Some("Idempotency-Key"));
}

async fn two_writes_from_one_version_one_wins(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000014").await;
    let created = app.create_request(&citizen, &region).await;
    let id = created.id();
    let date = created.body["earliest_date"].as_str().unwrap().to_string();
    let path = format!("/v1/requests/{id}/preferred-windows");

    let change = |start: &'static str| json!({"preferred_windows": [{"date": date, "start": start, "end": "12:00"}]});
    let a = app.call(
        Method::PUT,
        &path,
        Some(&citizen),
        Some(change("08:00")),
        &[("If-Match", "\"1\"")],
    );
    let request_path = format!("/v1/requests/{id}");
    let b = app.call(
        Method::PATCH,
        &request_path,
        Some(&region.coordinator),
        Some(json!({"priority": "urgent"})),
        &[("If-Match", "\"1\"")],
    );
    let (a, b) = tokio::join!(a, b);
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 409], "a: {} b: {}", a.body, b.body);
    let loser = if a.status == 409 { &a } else { &b };
    loser.assert_error(409, "version_conflict", None);

    let now = app.get(&format!("/v1/requests/{id}"), &citizen).await;
    assert_eq!(now.body["version"], 2);
    // A stale copy is refused; the current one works.
    app.call(
        Method::PUT,
        &path,
        Some(&citizen),
        Some(change("09:00")),
        &[("If-Match", "1")],
    )
    .await
    .assert_error(409, "version_conflict", None);
    let ok = app
        .call(
            Method::PUT,
            &path,
            Some(&citizen),
            Some(change("09:00")),
            &[("If-Match", "2")],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["preferred_windows"][0]["start"], "09:00");
    // No If-Match at all.
    app.call(
        Method::PUT,
        &path,
        Some(&citizen),
        Some(change("10:00")),
        &[],
    )
    .await
    .assert_error(428, "precondition_required", None);
    app.call(
        Method::PUT,
        &path,
        Some(&citizen),
        Some(change("10:00")),
        &[("If-Match", "abc")],
    )
    .await
    .assert_error(400, "missing_header", Some("If-Match"));
}

async fn cancelling_records_history(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000015").await;
    let id = app.create_request(&citizen, &region).await.id();
    let path = format!("/v1/requests/{id}/cancel");
    let r = app
        .call(
            Method::POST,
            &path,
            Some(&citizen),
            Some(json!({"reason": "Sudah ke kantor sendiri"})),
            &[("If-Match", "1")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    // Cancelling twice: the state no longer allows it.
    let r = app
        .call(
            Method::POST,
            &path,
            Some(&citizen),
            Some(json!({})),
            &[("If-Match", "2")],
        )
        .await;
    r.assert_error(409, "invalid_state", None);

    let events = app
        .get(&format!("/v1/requests/{id}/events"), &region.coordinator)
        .await;
    assert_eq!(events.status, 200);
    let actions: Vec<&str> = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["created", "cancelled"]);
    let cancelled = &events.body[1];
    assert_eq!(cancelled["before"]["status"], "submitted");
    assert_eq!(cancelled["after"]["status"], "cancelled");
    assert_eq!(cancelled["after"]["reason"], "Sudah ke kantor sendiri");
    assert!(cancelled["actor_id"].is_i64());
    assert!(
        events.body[0]["after"].get("notes").is_none(),
        "notes stay out of the trail"
    );
}

both_backends!(
    citizen_requests_a_visit_and_coordinator_lists_it,
    pagination_is_bounded_and_stable,
    a_retried_create_returns_the_first_result,
    two_writes_from_one_version_one_wins,
    cancelling_records_history,
);
