//! Coordinators manage service kinds, teams (with weekly shifts and breaks) and members;
//! anyone signed in manages their phones' push tokens.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn, Backend};

async fn coordinator_manages_service_kinds(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let c = &region.coordinator;
    let body = json!({"code": "ktp_elderly", "name_id": "Duplikat", "name_en": "Duplicate", "default_duration_minutes": 30});
    app.post("/v1/service-kinds", Some(c), body)
        .await
        .assert_error(409, "already_exists", None);

    let path = format!("/v1/service-kinds/{}", region.kind_id);
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(c),
            Some(json!({"default_duration_minutes": 45, "required_skill": null})),
            &[("If-Match", "1")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["default_duration_minutes"], 45);
    assert!(r.body["required_skill"].is_null());
    assert_eq!(r.body["version"], 2);
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(c),
            Some(json!({"active": false})),
            &[("If-Match", "1")],
        )
        .await;
    r.assert_error(409, "version_conflict", None);
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(c),
            Some(json!({"active": false})),
            &[("If-Match", "2")],
        )
        .await;
    assert_eq!(r.status, 200);

    // Citizens see only active kinds, and cannot request an inactive one.
    let citizen = app.citizen("081200000030").await;
    let kinds = app
        .get(
            &format!("/v1/service-kinds?region_id={}", region.id),
            &citizen,
        )
        .await;
    assert_eq!(kinds.body.as_array().unwrap().len(), 0);
    let staff_view = app.get("/v1/service-kinds", c).await;
    assert_eq!(staff_view.body.as_array().unwrap().len(), 1);
    let r = app
        .post("/v1/requests", Some(&citizen), app.request_body(&region))
        .await;
    r.assert_error(422, "unknown_reference", Some("service_kind_id"));
}

async fn coordinator_manages_teams_shifts_and_members(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let c = &region.coordinator;
    let r = app
        .post(
            "/v1/teams",
            Some(c),
            json!({"name": "Tim Wates", "depot": {"lat": -7.8606, "lon": 110.1583}, "vehicle_profile": "motorbike",
                   "skills": ["bpjs", "adminduk", "bpjs"], "max_visits_per_day": 10}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let team = r.id();
    assert_eq!(r.body["skills"], json!(["adminduk", "bpjs"]));
    assert_eq!(
        r.body["shifts"].as_array().unwrap().len(),
        5,
        "standard week by default"
    );
    assert_eq!(
        r.body["shifts"][4]["breaks"][0]["duration_minutes"], 90,
        "Friday prayer break"
    );

    let shifts = json!([
        {"day": "mon", "start": "07:30", "end": "14:00", "breaks": [{"window_start": "11:30", "window_end": "13:00", "duration_minutes": 30}]},
        {"day": "sat", "start": "08:00", "end": "12:00"}
    ]);
    let path = format!("/v1/teams/{team}");
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(c),
            Some(json!({"shifts": shifts, "active": false})),
            &[("If-Match", "1")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut expected = shifts.clone();
    expected[1]["breaks"] = json!([]);
    assert_eq!(r.body["shifts"], expected);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.headers.get("etag").unwrap(), "\"2\"");

    let member = format!("/v1/teams/{team}/members/{}", region.officer_id);
    assert_eq!(
        app.call(Method::PUT, &member, Some(c), None, &[])
            .await
            .status,
        204
    );
    assert_eq!(
        app.call(Method::PUT, &member, Some(c), None, &[])
            .await
            .status,
        204,
        "idempotent"
    );
    let r = app.get(&path, c).await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["members"][0]["role"], "officer");
    let me = app.get("/v1/me", &region.officer).await;
    assert_eq!(me.body["team_ids"], json!([team]));

    // Only officers of the region can join.
    let citizen = app.citizen("081200000031").await;
    let citizen_id = app.get("/v1/me", &citizen).await.body["id"]
        .as_i64()
        .unwrap();
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/teams/{team}/members/{citizen_id}"),
            Some(c),
            None,
            &[],
        )
        .await;
    r.assert_error(422, "unknown_reference", Some("account_id"));

    assert_eq!(
        app.call(Method::DELETE, &member, Some(c), None, &[])
            .await
            .status,
        204
    );
    app.call(Method::DELETE, &member, Some(c), None, &[])
        .await
        .assert_error(404, "not_found", None);
    let r = app.post("/v1/teams", Some(c), json!({"name": "Tim Wates", "depot": {"lat": -7.86, "lon": 110.15}, "vehicle_profile": "car", "max_visits_per_day": 5})).await;
    r.assert_error(409, "already_exists", None);
}

async fn devices_register_refresh_and_remove(backend: Backend) {
    let app = spawn(backend).await;
    let alice = app.citizen("081200000032").await;
    let bob = app.citizen("081200000033").await;
    let token = "fcm-token-".to_string() + &"a".repeat(140);
    let r = app
        .post(
            "/v1/devices",
            Some(&alice),
            json!({"token": token, "platform": "android"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.id();
    let again = app
        .post(
            "/v1/devices",
            Some(&alice),
            json!({"token": token, "platform": "android"}),
        )
        .await;
    assert_eq!(again.id(), id, "the same token refreshes, not duplicates");
    assert_eq!(
        app.get("/v1/devices", &alice)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.call(
        Method::DELETE,
        &format!("/v1/devices/{id}"),
        Some(&bob),
        None,
        &[],
    )
    .await
    .assert_error(404, "not_found", None);
    // The phone changes hands: the token moves to the new account.
    let moved = app
        .post(
            "/v1/devices",
            Some(&bob),
            json!({"token": token, "platform": "android"}),
        )
        .await;
    assert_eq!(moved.id(), id);
    assert_eq!(
        app.get("/v1/devices", &alice)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/v1/devices/{id}"),
            Some(&bob),
            None,
            &[]
        )
        .await
        .status,
        204
    );
    app.post(
        "/v1/devices",
        Some(&bob),
        json!({"token": "short", "platform": "android"}),
    )
    .await
    .assert_error(422, "invalid_format", Some("token"));
    app.post(
        "/v1/devices",
        Some(&bob),
        json!({"token": token, "platform": "symbian"}),
    )
    .await
    .assert_error(400, "invalid_json", Some("platform"));
}

both_backends!(
    coordinator_manages_service_kinds,
    coordinator_manages_teams_shifts_and_members,
    devices_register_refresh_and_remove
);
