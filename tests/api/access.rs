//! Roles and regions: a citizen sees only their own requests, a coordinator only their region,
//! an officer none of the request lists.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn, Backend};

async fn citizens_see_only_their_own_requests(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let alice = app.citizen("081200000001").await;
    let bob = app.citizen("081200000002").await;
    let created = app.create_request(&alice, &region).await;
    let id = created.id();

    assert_eq!(
        app.get(&format!("/v1/requests/{id}"), &alice).await.status,
        200
    );
    app.get(&format!("/v1/requests/{id}"), &bob)
        .await
        .assert_error(404, "not_found", None);
    let r = app
        .call(
            Method::POST,
            &format!("/v1/requests/{id}/cancel"),
            Some(&bob),
            Some(json!({})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    r.assert_error(404, "not_found", None);
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/requests/{id}/preferred-windows"),
            Some(&bob),
            Some(json!({"preferred_windows": []})),
            &[("If-Match", "1")],
        )
        .await;
    r.assert_error(404, "not_found", None);

    let mine = app.get("/v1/me/requests", &bob).await;
    assert_eq!(mine.body["total"], 0);
    let mine = app.get("/v1/me/requests", &alice).await;
    assert_eq!(mine.body["total"], 1);
    assert_eq!(mine.body["items"][0]["id"], id);

    // Citizens cannot list a region's requests, nor read their history.
    app.get("/v1/requests", &alice)
        .await
        .assert_error(403, "forbidden", None);
    app.get(&format!("/v1/requests/{id}/events"), &alice)
        .await
        .assert_error(403, "forbidden", None);
}

async fn coordinators_see_only_their_region(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let a = app.region(&admin, "Region A").await;
    let b = app.region(&admin, "Region B").await;
    let citizen = app.citizen("081200000003").await;
    let in_a = app.create_request(&citizen, &a).await.id();
    let in_b = app.create_request(&citizen, &b).await.id();

    let list = app.get("/v1/requests", &a.coordinator).await;
    assert_eq!(list.status, 200);
    let ids: Vec<i64> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![in_a]);
    app.get(&format!("/v1/requests/{in_b}"), &a.coordinator)
        .await
        .assert_error(404, "not_found", None);
    app.get(&format!("/v1/requests/{in_b}/events"), &a.coordinator)
        .await
        .assert_error(404, "not_found", None);
    app.get(&format!("/v1/requests?region_id={}", b.id), &a.coordinator)
        .await
        .assert_error(403, "forbidden", None);
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/requests/{in_b}"),
            Some(&a.coordinator),
            Some(json!({"priority": "urgent"})),
            &[("If-Match", "1")],
        )
        .await;
    r.assert_error(404, "not_found", None);

    // Teams and service kinds are region-scoped too.
    let team = app
        .post(
            "/v1/teams",
            Some(&b.coordinator),
            json!({"name": "Tim B", "depot": {"lat": -7.86, "lon": 110.15}, "vehicle_profile": "motorbike", "max_visits_per_day": 8}),
        )
        .await;
    assert_eq!(team.status, 201, "{}", team.body);
    app.get(&format!("/v1/teams/{}", team.id()), &a.coordinator)
        .await
        .assert_error(404, "not_found", None);
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/service-kinds/{}", b.kind_id),
            Some(&a.coordinator),
            Some(json!({"name_en": "x"})),
            &[("If-Match", "1")],
        )
        .await;
    r.assert_error(404, "not_found", None);

    // Admins see every region, naming it.
    let all_b = app
        .get(&format!("/v1/requests?region_id={}", b.id), &admin)
        .await;
    assert_eq!(all_b.body["total"], 1);
    app.get("/v1/requests", &admin)
        .await
        .assert_error(400, "invalid_query", Some("region_id"));
}

async fn officers_and_citizens_cannot_manage(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000004").await;
    app.get("/v1/requests", &region.officer)
        .await
        .assert_error(403, "forbidden", None);
    let kind = json!({"code": "x", "name_id": "x", "name_en": "x", "default_duration_minutes": 10});
    app.post("/v1/service-kinds", Some(&region.officer), kind.clone())
        .await
        .assert_error(403, "forbidden", None);
    app.post("/v1/service-kinds", Some(&citizen), kind)
        .await
        .assert_error(403, "forbidden", None);
    let region_body = json!({"name": "X", "time_zone": "Asia/Jakarta"});
    app.post("/v1/admin/regions", Some(&region.coordinator), region_body)
        .await
        .assert_error(403, "forbidden", None);
    // Staff cannot file requests as citizens.
    app.post(
        "/v1/requests",
        Some(&region.coordinator),
        app.request_body(&region),
    )
    .await
    .assert_error(403, "forbidden", None);
    // Officers see their own account and team ids.
    let me = app.get("/v1/me", &region.officer).await;
    assert_eq!(me.body["role"], "officer");
}

both_backends!(
    citizens_see_only_their_own_requests,
    coordinators_see_only_their_region,
    officers_and_citizens_cannot_manage
);
