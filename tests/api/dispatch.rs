//! Publishing a plan and the team's route: requests → plan → publish (one transaction: routes,
//! schedules, outbox rows) → the officer fetches the route (ETag / 304); stale plans refused.

use std::time::Duration;

use jemput::db::outbox;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn, Backend, TestApp, WATES};

pub fn day(offset: i64) -> String {
    (chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive()
        + chrono::Duration::days(offset))
    .to_string()
}

pub async fn done(app: &TestApp, token: &str, id: i64) -> Value {
    for _ in 0..300 {
        let r = app.get(&format!("/v1/plans/{id}"), token).await;
        if r.body["status"] == "done" {
            return r.body;
        }
        assert_ne!(r.body["status"], "failed", "{}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("plan {id} did not finish");
}

pub async fn plan(app: &TestApp, token: &str) -> i64 {
    let dates: Vec<String> = (2..=8).map(day).collect();
    let r = app
        .post(
            "/v1/plans",
            Some(token),
            json!({"dates": dates, "time_limit_seconds": 1}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.id()
}

pub async fn outbox_rows(app: &TestApp) -> Vec<outbox::OutboxRow> {
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || outbox::all(&mut db.get().unwrap()).unwrap())
        .await
        .unwrap()
}

async fn publish_schedules_requests_tells_phones_and_serves_the_route(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let r = app
        .post(
            "/v1/teams",
            Some(&region.coordinator),
            json!({"name": "Tim Wates", "depot": {"lat": WATES.0, "lon": WATES.1},
                   "vehicle_profile": "motorbike", "skills": ["adminduk"], "max_visits_per_day": 8}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let team = r.id();
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/teams/{team}/members/{}", region.officer_id),
            Some(&region.coordinator),
            None,
            &[],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = app
        .post(
            "/v1/devices",
            Some(&region.officer),
            json!({"token": "fcm-officer-phone-token-0001", "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let citizen = app.citizen("081200000201").await;
    let r = app
        .post(
            "/v1/devices",
            Some(&citizen),
            json!({"token": "fcm-citizen-phone-token-0001", "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let first = app.create_request(&citizen, &region).await.id();
    let second = app.create_request(&citizen, &region).await.id();

    let stale = plan(&app, &region.coordinator).await;
    let fresh = plan(&app, &region.coordinator).await;
    let draft = done(&app, &region.coordinator, fresh).await["draft"].clone();
    done(&app, &region.coordinator, stale).await;

    let r = app
        .post(
            &format!("/v1/plans/{fresh}/publish"),
            Some(&region.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["requests_scheduled"], 2, "{}", r.body);
    let routes_changed = r.body["routes_changed"].as_u64().unwrap();
    assert!(routes_changed >= 1);
    assert_eq!(r.body["pushes"].as_u64().unwrap(), routes_changed + 2);

    // One transaction wrote the pushes: the team's phone per route, the citizen per visit.
    let rows = outbox_rows(&app).await;
    assert_eq!(rows.len() as u64, routes_changed + 2);
    // Pushes transit Google: no name, phone number, address or note in any of them.
    for row in &rows {
        for personal in ["81200000201", "Bendungan", "tidak bisa berjalan", "Petugas"] {
            assert!(!row.message_json.contains(personal), "{}", row.message_json);
        }
    }
    let to_team: Vec<&outbox::OutboxRow> = rows
        .iter()
        .filter(|r| r.kind.as_str() == "route_changed")
        .collect();
    assert!(to_team
        .iter()
        .all(|r| r.fcm_token == "fcm-officer-phone-token-0001"));
    let message: Value = serde_json::from_str(&to_team[0].message_json).unwrap();
    assert_eq!(message["data"]["version"], "1");
    assert!(message["collapse_key"]
        .as_str()
        .unwrap()
        .starts_with(&format!("route-{team}-")));
    let to_citizen: Vec<&outbox::OutboxRow> = rows
        .iter()
        .filter(|r| r.kind.as_str() == "visit_scheduled")
        .collect();
    assert_eq!(to_citizen.len(), 2);
    let message: Value = serde_json::from_str(&to_citizen[0].message_json).unwrap();
    let body = message["notification"][1].as_str().unwrap();
    assert!(body.starts_with("Tim kami akan datang pada "), "{body}");

    let r = app.get(&format!("/v1/requests/{first}"), &citizen).await;
    assert_eq!(r.body["status"], "scheduled", "{}", r.body);

    // The officer fetches the route of the visits' day, then revalidates it for free.
    let route_day = draft["routes"][0]["date"].as_str().unwrap().to_string();
    let r = app
        .get(&format!("/v1/me/routes/{route_day}"), &region.officer)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let etag = r.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, "\"1\"");
    assert_eq!(r.body["team_id"], team);
    let on_route: Vec<i64> = r.body["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["request_id"].as_i64().unwrap())
        .collect();
    assert!(on_route.iter().all(|id| [first, second].contains(id)));
    assert_eq!(r.body["stops"][0]["service"], "ktp_elderly");
    assert_eq!(r.body["stops"][0]["needs"], json!(["bedridden"]));
    let r = app
        .call(
            Method::GET,
            &format!("/v1/me/routes/{route_day}"),
            Some(&region.officer),
            None,
            &[("If-None-Match", &etag)],
        )
        .await;
    assert_eq!(r.status, 304);
    app.get(&format!("/v1/me/routes/{}", day(30)), &region.officer)
        .await
        .assert_error(404, "not_found", None);
    app.get(&format!("/v1/me/routes/{route_day}"), &region.coordinator)
        .await
        .assert_error(403, "forbidden", None);

    // Publishing twice, or a plan made before this publication, is refused.
    app.post(
        &format!("/v1/plans/{fresh}/publish"),
        Some(&region.coordinator),
        json!({}),
    )
    .await
    .assert_error(409, "plan_already_published", None);
    let r = app
        .post(
            &format!("/v1/plans/{stale}/publish"),
            Some(&region.coordinator),
            json!({}),
        )
        .await;
    r.assert_error(409, "plan_outdated", None);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("routes changed"),
        "{}",
        r.body
    );
    assert_eq!(outbox_rows(&app).await.len() as u64, routes_changed + 2);

    // Planning again keeps the published visits where they are: nothing to tell anyone.
    let again = plan(&app, &region.coordinator).await;
    done(&app, &region.coordinator, again).await;
    let r = app
        .post(
            &format!("/v1/plans/{again}/publish"),
            Some(&region.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["requests_scheduled"], 0, "{}", r.body);
    assert_eq!(r.body["requests_unscheduled"], 0, "{}", r.body);
}

/// A team with the region's officer, a citizen with a phone and two published visits; returns
/// the citizen's token, the route's date and its stops in order.
async fn published_route(
    app: &TestApp,
    region: &crate::helpers::Region,
) -> (String, String, Vec<i64>) {
    let r = app
        .post(
            "/v1/teams",
            Some(&region.coordinator),
            json!({"name": "Tim Wates", "depot": {"lat": WATES.0, "lon": WATES.1},
                   "vehicle_profile": "motorbike", "skills": ["adminduk"], "max_visits_per_day": 8}),
        )
        .await;
    let team = r.id();
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/teams/{team}/members/{}", region.officer_id),
            Some(&region.coordinator),
            None,
            &[],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let citizen = app.citizen("081200000202").await;
    let r = app
        .post(
            "/v1/devices",
            Some(&citizen),
            json!({"token": "fcm-citizen-phone-token-0002", "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    app.create_request(&citizen, region).await;
    app.create_request(&citizen, region).await;
    let id = plan(app, &region.coordinator).await;
    let draft = done(app, &region.coordinator, id).await["draft"].clone();
    assert_eq!(draft["routes"].as_array().unwrap().len(), 1, "{draft}");
    let r = app
        .post(
            &format!("/v1/plans/{id}/publish"),
            Some(&region.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let day = draft["routes"][0]["date"].as_str().unwrap().to_string();
    let r = app
        .get(&format!("/v1/me/routes/{day}"), &region.officer)
        .await;
    let stops = r.body["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["request_id"].as_i64().unwrap())
        .collect();
    (citizen, day, stops)
}

async fn offline_events_apply_once_and_conflicts_are_kept(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let (citizen, _day, stops) = published_route(&app, &region).await;
    let (a, b) = (stops[0], stops[1]);
    let unplanned = app.create_request(&citizen, &region).await.id();
    let before = outbox_rows(&app).await.len();

    let batch = json!({"events": [
        {"id": "ev-1", "kind": "arrived", "request_id": a, "at": "2026-11-23T01:30:00Z"},
        {"id": "ev-2", "kind": "completed", "request_id": a, "at": "2026-11-23T02:00:00Z"},
        {"id": "ev-3", "kind": "position", "position": {"lat": -7.86, "lon": 110.16}, "at": "2026-11-23T02:05:00Z"},
        {"id": "ev-4", "kind": "citizen_absent", "request_id": b, "reason": "Rumah kosong", "at": "2026-11-23T02:30:00Z"},
        {"id": "ev-5", "kind": "arrived", "request_id": unplanned, "at": "2026-11-23T02:40:00Z"}
    ]});
    let r = app
        .post("/v1/me/events", Some(&region.officer), batch.clone())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let results: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        ["applied", "applied", "applied", "applied", "conflict"]
    );
    assert!(r.body["results"][4]["conflict"]
        .as_str()
        .unwrap()
        .starts_with("stop_moved"));
    assert_eq!(
        app.get(&format!("/v1/requests/{a}"), &citizen).await.body["status"],
        "completed"
    );
    // The missed visit is back in the queue, with its history.
    assert_eq!(
        app.get(&format!("/v1/requests/{b}"), &citizen).await.body["status"],
        "missed"
    );
    let r = app
        .get(&format!("/v1/requests/{b}/events"), &region.coordinator)
        .await;
    assert!(r.body.to_string().contains("citizen_absent"), "{}", r.body);
    let kinds: Vec<&str> = outbox_rows(&app).await[before..]
        .iter()
        .map(|r| r.kind.as_str())
        .collect();
    assert_eq!(kinds, ["completed", "visit_on_the_way", "citizen_absent"]);

    // The phone did not hear back and sends the same batch again: nothing changes twice.
    let r = app
        .post("/v1/me/events", Some(&region.officer), batch)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["result"] == "duplicate"));
    assert_eq!(outbox_rows(&app).await.len(), before + 3);

    app.post(
        "/v1/me/events",
        Some(&region.officer),
        json!({"events": []}),
    )
    .await
    .assert_error(422, "required", Some("events"));
    app.post(
        "/v1/me/events",
        Some(&region.officer),
        json!({"events": [{"id": "x", "kind": "completed", "at": "2026-11-23T02:00:00Z"}]}),
    )
    .await
    .assert_error(422, "required", Some("events[0].request_id"));
    app.post(
        "/v1/me/events",
        Some(&region.officer),
        json!({"events": [{"id": "x", "kind": "teleported", "request_id": a, "at": "2026-11-23T02:00:00Z"}]}),
    )
    .await
    .assert_error(400, "invalid_json", Some("events[0].kind"));
    app.post("/v1/me/events", Some(&citizen), json!({"events": []}))
        .await
        .assert_error(403, "forbidden", None);
}

both_backends!(
    publish_schedules_requests_tells_phones_and_serves_the_route,
    offline_events_apply_once_and_conflicts_are_kept,
);
