//! Every validation path: a clear 4xx with a stable code and the offending field, and nothing
//! stored. Plus garbage bodies never produce a 500.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn, Backend};

fn with(mut body: Value, path: &[&str], value: Value) -> Value {
    let mut cursor = &mut body;
    for key in &path[..path.len() - 1] {
        cursor = cursor.get_mut(*key).unwrap();
    }
    cursor[path[path.len() - 1]] = value;
    body
}

async fn bad_visit_requests_are_rejected_and_nothing_is_stored(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000020").await;
    let good = app.request_body(&region);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let day = |n: i64| json!((today + chrono::Duration::days(n)).to_string());

    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            with(good.clone(), &["location", "lat"], json!(95.0)),
            422,
            "out_of_range",
            Some("location.lat"),
        ),
        (
            with(good.clone(), &["location", "lon"], json!(-190.0)),
            422,
            "out_of_range",
            Some("location.lon"),
        ),
        (
            with(good.clone(), &["location", "lat"], json!(-6.2)),
            422,
            "outside_region",
            Some("location"),
        ),
        (
            with(good.clone(), &["location", "lat"], json!("south")),
            400,
            "invalid_json",
            Some("location.lat"),
        ),
        (
            with(good.clone(), &["address"], json!("abc")),
            422,
            "too_short",
            Some("address"),
        ),
        (
            with(good.clone(), &["address"], json!("x".repeat(301))),
            422,
            "too_long",
            Some("address"),
        ),
        (
            with(good.clone(), &["address"], json!("Jalan\u{0007} Wates")),
            422,
            "invalid_characters",
            Some("address"),
        ),
        (
            with(good.clone(), &["notes"], json!("n".repeat(1001))),
            422,
            "too_long",
            Some("notes"),
        ),
        (
            with(good.clone(), &["earliest_date"], day(-1)),
            422,
            "date_in_past",
            Some("earliest_date"),
        ),
        (
            with(good.clone(), &["deadline"], day(1)),
            422,
            "deadline_before_earliest",
            Some("deadline"),
        ),
        (
            with(good.clone(), &["deadline"], day(400)),
            422,
            "too_far_ahead",
            Some("deadline"),
        ),
        (
            with(good.clone(), &["earliest_date"], json!("2026-02-30")),
            400,
            "invalid_json",
            Some("earliest_date"),
        ),
        (
            with(good.clone(), &["service_kind_id"], json!(999_999)),
            422,
            "unknown_reference",
            Some("service_kind_id"),
        ),
        (
            with(good.clone(), &["region_id"], json!(999_999)),
            422,
            "unknown_reference",
            Some("region_id"),
        ),
        (
            with(good.clone(), &["accessibility_needs"], json!(["flying"])),
            400,
            "invalid_json",
            Some("accessibility_needs[0]"),
        ),
        (
            with(
                good.clone(),
                &["preferred_windows"],
                json!([{"date": day(30), "start": "08:00", "end": "10:00"}]),
            ),
            422,
            "outside_allowed_dates",
            Some("preferred_windows[0].date"),
        ),
        (
            with(
                good.clone(),
                &["preferred_windows"],
                json!([{"date": day(3), "start": "11:00", "end": "10:00"}]),
            ),
            422,
            "invalid_range",
            Some("preferred_windows[0].end"),
        ),
        (
            with(
                good.clone(),
                &["preferred_windows"],
                json!([{"date": day(3), "start": "25:00"}]),
            ),
            400,
            "invalid_json",
            Some("preferred_windows[0].start"),
        ),
        (
            with(good.clone(), &["priority"], json!("urgent")),
            400,
            "invalid_json",
            Some("priority"),
        ),
        (
            with(good.clone(), &["location", "alt"], json!(10)),
            400,
            "invalid_json",
            Some("location.alt"),
        ),
    ];
    for (body, status, code, field) in cases {
        let r = app.post("/v1/requests", Some(&citizen), body.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{body}\n→ {}", r.body);
        r.assert_error(status, code, field);
    }
    // A missing required field.
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("deadline");
    app.post("/v1/requests", Some(&citizen), missing)
        .await
        .assert_error(400, "invalid_json", None);

    // Malformed JSON, wrong content type, a body over the limit.
    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(format!("{}/v1/requests", app.base))
            .bearer_auth(&citizen)
            .header("content-type", content_type)
            .body(body)
    };
    let r = raw("{\"region_id\": ", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_json");
    let r = raw("region_id=1", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "unsupported_media_type"
    );
    let huge = with(good.clone(), &["notes"], json!("x".repeat(200_000)));
    let r = app.post("/v1/requests", Some(&citizen), huge).await;
    r.assert_error(413, "payload_too_large", None);

    // Nothing of the above was stored.
    assert_eq!(app.get("/v1/me/requests", &citizen).await.body["total"], 0);
    assert_eq!(
        app.get("/v1/requests", &region.coordinator).await.body["total"],
        0
    );
}

async fn bad_catalog_input_is_rejected(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let c = &region.coordinator;
    let team = json!({"name": "Tim Wates", "depot": {"lat": -7.86, "lon": 110.15}, "vehicle_profile": "motorbike", "max_visits_per_day": 8});
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        (
            "/v1/teams",
            with(team.clone(), &["max_visits_per_day"], json!(0)),
            422,
            "out_of_range",
            Some("max_visits_per_day"),
        ),
        (
            "/v1/teams",
            with(team.clone(), &["vehicle_profile"], json!("helicopter")),
            400,
            "invalid_json",
            Some("vehicle_profile"),
        ),
        (
            "/v1/teams",
            with(team.clone(), &["skills"], json!(["Bad Skill"])),
            422,
            "invalid_format",
            Some("skills[0]"),
        ),
        (
            "/v1/teams",
            with(team.clone(), &["depot", "lat"], json!(-100)),
            422,
            "out_of_range",
            Some("depot.lat"),
        ),
        (
            "/v1/teams",
            with(
                team.clone(),
                &["shifts"],
                json!([{"day": "mon", "start": "08:00", "end": "12:00", "breaks": [{"window_start": "11:00", "window_end": "13:00", "duration_minutes": 30}]}]),
            ),
            422,
            "outside_shift",
            Some("shifts[0].breaks[0]"),
        ),
        (
            "/v1/teams",
            with(
                team.clone(),
                &["shifts"],
                json!([{"day": "mon", "start": "08:00", "end": "12:00"}, {"day": "mon", "start": "13:00", "end": "15:00"}]),
            ),
            422,
            "duplicate_day",
            Some("shifts[1]"),
        ),
        (
            "/v1/service-kinds",
            json!({"code": "KTP Lansia", "name_id": "a", "name_en": "b", "default_duration_minutes": 30}),
            422,
            "invalid_format",
            Some("code"),
        ),
        (
            "/v1/service-kinds",
            json!({"code": "ktp", "name_id": "a", "name_en": "b", "default_duration_minutes": 1000}),
            422,
            "out_of_range",
            Some("default_duration_minutes"),
        ),
        (
            "/v1/service-kinds",
            json!({"code": "ktp", "name_id": "", "name_en": "b", "default_duration_minutes": 30}),
            422,
            "required",
            Some("name_id"),
        ),
    ];
    for (path, body, status, code, field) in cases {
        let r = app.post(path, Some(c), body.clone()).await;
        r.assert_error(status, code, field);
    }
    let r = app
        .post(
            "/v1/admin/regions",
            Some(&admin),
            json!({"name": "Xland", "time_zone": "Asia/Atlantis"}),
        )
        .await;
    r.assert_error(422, "unknown_time_zone", Some("time_zone"));
    let r = app
        .post("/v1/admin/regions", Some(&admin), json!({"name": "Xland", "time_zone": "Asia/Jakarta", "boundary": {"type": "Point", "coordinates": [110.0, -7.8]}}))
        .await;
    r.assert_error(422, "invalid_boundary", Some("boundary"));
    let staff = json!({"role": "coordinator", "username": "ok.name", "password": "short", "display_name": "X", "region_id": region.id});
    app.post("/v1/admin/accounts", Some(&admin), staff)
        .await
        .assert_error(422, "too_short", Some("password"));
    let staff = json!({"role": "officer", "username": "ok.name", "password": "long-enough-pass", "display_name": "X"});
    app.post("/v1/admin/accounts", Some(&admin), staff)
        .await
        .assert_error(422, "required", Some("region_id"));
    let r = app.get("/v1/teams", c).await;
    assert_eq!(r.body.as_array().unwrap().len(), 0, "no team half-created");
}

async fn garbage_never_causes_a_server_error(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000021").await;
    let good = app.request_body(&region);
    let odd_values = [
        json!(null),
        json!(-1),
        json!(1e308),
        json!(i64::MAX),
        json!(""),
        json!("💥".repeat(50)),
        json!([]),
        json!({}),
        json!(true),
        json!("9999-99-99"),
    ];
    let keys: Vec<String> = good.as_object().unwrap().keys().cloned().collect();
    for key in &keys {
        for value in &odd_values {
            let body = with(good.clone(), &[key.as_str()], value.clone());
            let r = app.post("/v1/requests", Some(&citizen), body).await;
            assert!(
                r.status.is_client_error() || r.status.is_success(),
                "{key}={value}: {} {}",
                r.status,
                r.body
            );
        }
    }
    for path in [
        "/v1/requests/abc",
        "/v1/requests/99999999999999999999",
        "/v1/teams/-1",
        "/v1/nowhere",
    ] {
        let r = app
            .call(Method::GET, path, Some(&region.coordinator), None, &[])
            .await;
        r.assert_error(404, "not_found", None);
    }
    // A method the path does not serve is a JSON 405 naming the ones it does.
    let r = app
        .call(Method::DELETE, "/v1/requests", Some(&citizen), None, &[])
        .await;
    r.assert_error(405, "method_not_allowed", None);
    assert_eq!(r.headers["allow"], "GET, POST");
}

both_backends!(
    bad_visit_requests_are_rejected_and_nothing_is_stored,
    bad_catalog_input_is_rejected,
    garbage_never_causes_a_server_error
);
