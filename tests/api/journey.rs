//! The product's main job end to end, through HTTP, with a local fake FCM server speaking the
//! v1 protocol: requests → plan → publish → the phones get the right pushes → the team fetches
//! its route → offline reports replayed twice → a coordinator moves a stop → both teams' phones
//! and the citizen are told. And crash safety: a service killed between writing the outbox and
//! sending sends every push once after a restart.

use chrono::{Datelike, NaiveDate, Weekday};
use jemput::domain::OutboxStatus;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::dispatch::outbox_rows;
use crate::helpers::{spawn_crashable, spawn_with, Backend};
use crate::push::{sent, settled, FakeFcm};
use crate::rebalancing::{change, crew, day_routes, route_of, stop_ids};

const OFFICER_A: &str = "fcm-officer-a-phone-token-01";
const OFFICER_B: &str = "fcm-officer-b-phone-token-01";
const CITIZEN: &str = "fcm-citizen-phone-token-0401";

fn to(messages: &[Value], token: &str) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| m["token"] == token)
        .cloned()
        .collect()
}

/// The next working day (Monday to Friday) after `day`.
fn next_working_day(day: &str) -> String {
    let mut date = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    loop {
        date = date.succ_opt().unwrap();
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            return date.to_string();
        }
    }
}

async fn from_request_to_rebalanced_route(backend: Backend) {
    let fcm = FakeFcm::start(vec![sent("m")]).await;
    let app = spawn_with(backend, |s| fcm.configure(s)).await;
    let crew = crew(&app, 3).await;
    assert_eq!(crew.publish["requests_scheduled"], 3, "{}", crew.publish);

    // Publishing told the team's phone and the citizen, through FCM.
    settled(&app).await;
    let messages = fcm.messages().await;
    let team = to(&messages, OFFICER_A);
    assert_eq!(team.len(), 1, "{messages:?}");
    assert_eq!(team[0]["data"]["type"], "route_changed");
    assert_eq!(team[0]["data"]["date"], crew.day.as_str());
    assert_eq!(team[0]["data"]["version"], "1");
    assert_eq!(
        team[0]["android"]["collapse_key"],
        format!("route-{}-{}", crew.team_a, crew.day)
    );
    assert!(
        team[0].get("notification").is_none(),
        "a silent data message"
    );
    let citizen = to(&messages, CITIZEN);
    assert_eq!(citizen.len(), 3, "{messages:?}");
    assert!(citizen
        .iter()
        .all(|m| m["data"]["type"] == "visit_scheduled"
            && m["notification"]["body"]
                .as_str()
                .unwrap()
                .starts_with("Tim kami akan datang pada ")));
    assert!(to(&messages, OFFICER_B).is_empty());

    // The team fetches its route, then revalidates it for free.
    let path = format!("/v1/me/routes/{}", crew.day);
    let r = app.get(&path, &crew.region.officer).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["etag"], "\"1\"");
    let stops = stop_ids(&r.body);
    assert_eq!(stops.len(), 3);
    let r = app
        .call(
            Method::GET,
            &path,
            Some(&crew.region.officer),
            None,
            &[("If-None-Match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 304);
    // On a slow link the phone asks for gzip and gets it.
    let fetch = |encoding: Option<&'static str>| {
        let mut request = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&crew.region.officer);
        if let Some(encoding) = encoding {
            request = request.header("Accept-Encoding", encoding);
        }
        request.send()
    };
    let plain = fetch(None).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap().len();
    let packed = fetch(Some("gzip")).await.unwrap();
    assert_eq!(packed.headers()["content-encoding"], "gzip");
    let packed = packed.bytes().await.unwrap().len();
    assert!(packed < plain, "gzip {packed} B, plain {plain} B");

    // Reports recorded offline arrive twice: applied once, then duplicates.
    let batch = json!({"events": [
        {"id": "off-1", "kind": "arrived", "request_id": stops[0], "at": "2026-11-23T01:10:00Z"},
        {"id": "off-2", "kind": "completed", "request_id": stops[0], "at": "2026-11-23T01:40:00Z"},
        {"id": "off-3", "kind": "position", "position": {"lat": -7.86, "lon": 110.16}, "at": "2026-11-23T01:41:00Z"}
    ]});
    let r = app
        .post("/v1/me/events", Some(&crew.region.officer), batch.clone())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["result"] == "applied"));
    let rows = outbox_rows(&app).await.len();
    let r = app
        .post("/v1/me/events", Some(&crew.region.officer), batch)
        .await;
    assert!(r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["result"] == "duplicate"));
    assert_eq!(
        outbox_rows(&app).await.len(),
        rows,
        "a replay pushes nothing"
    );
    settled(&app).await;
    let kinds: Vec<String> = to(&fcm.messages().await, CITIZEN)
        .iter()
        .map(|m| m["data"]["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "visit_done").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "visit_on_the_way").count(),
        1,
        "{kinds:?}"
    );

    // The coordinator moves the last stop to team B on the next working day.
    let day = day_routes(&app, &crew, &crew.day).await;
    let route_a = route_of(&day, crew.team_a);
    let moving = stops[2];
    let later = next_working_day(&crew.day);
    let before = fcm.messages().await.len();
    let r = change(
        &app,
        &crew,
        route_a["id"].as_i64().unwrap(),
        "\"1\"",
        false,
        json!({"op": "move", "request_id": moving, "to_team_id": crew.team_b, "to_date": later}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["citizens_told"], 1, "{}", r.body);
    settled(&app).await;
    let messages = fcm.messages().await;
    let new = &messages[before..];
    let a = to(new, OFFICER_A);
    assert_eq!(a.len(), 1, "{new:?}");
    assert_eq!(a[0]["data"]["version"], "2");
    assert_eq!(a[0]["data"]["date"], crew.day.as_str());
    let b = to(new, OFFICER_B);
    assert_eq!(b.len(), 1, "{new:?}");
    assert_eq!(b[0]["data"]["version"], "1");
    assert_eq!(b[0]["data"]["date"], later.as_str());
    let c = to(new, CITIZEN);
    assert_eq!(c.len(), 1, "{new:?}");
    assert_eq!(c[0]["data"]["type"], "visit_scheduled");
    assert_eq!(c[0]["data"]["date"], later.as_str());
    assert_eq!(c[0]["data"]["request_id"], moving.to_string());

    // Each team's phone now fetches what changed.
    let r = app.get(&path, &crew.region.officer).await;
    assert_eq!(r.headers["etag"], "\"2\"");
    assert_eq!(stop_ids(&r.body), stops[..2]);
    let r = app
        .get(&format!("/v1/me/routes/{later}"), &crew.officer_b)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(stop_ids(&r.body), vec![moving]);
    // A report about the moved stop from team A's phone is kept as a conflict.
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.region.officer),
            json!({"events": [{"id": "off-4", "kind": "arrived", "request_id": moving, "at": "2026-11-23T03:00:00Z"}]}),
        )
        .await;
    assert_eq!(r.body["results"][0]["result"], "conflict", "{}", r.body);
}

async fn a_push_written_before_a_crash_goes_out_once_after_restart(backend: Backend) {
    let fcm = FakeFcm::start(vec![sent("m")]).await;
    // The worker looks at the outbox when the service starts, then not for a minute: the
    // publication's pushes are written but not sent when the process dies.
    let mut app = spawn_crashable(backend, |s| {
        fcm.configure(s);
        s.push.poll_interval_ms = 60_000;
    })
    .await;
    let crew = crew(&app, 2).await;
    let written = outbox_rows(&app).await;
    assert_eq!(written.len(), 3, "one route push and two citizen pushes");
    assert!(written.iter().all(|r| r.status == OutboxStatus::Pending));
    assert_eq!(fcm.messages().await.len(), 0);

    app.crash();
    app.restart(|s| s.push.poll_interval_ms = 20).await;
    let rows = settled(&app).await;
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "{rows:?}"
    );
    // Give a second send, if there were one, time to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let messages = fcm.messages().await;
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(to(&messages, OFFICER_A).len(), 1);
    assert_eq!(to(&messages, CITIZEN).len(), 2);
    // The restarted service serves the same data.
    let r = app
        .get(&format!("/v1/me/routes/{}", crew.day), &crew.region.officer)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

both_backends!(
    from_request_to_rebalanced_route,
    a_push_written_before_a_crash_goes_out_once_after_restart,
);
