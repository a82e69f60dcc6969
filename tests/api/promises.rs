//! A day re-planned after a team goes off keeps the windows citizens were promised whenever
//! they can be kept, even where a shorter route would break them.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::dispatch::{done, plan};
use crate::helpers::{spawn, Backend, STAFF_PASSWORD, WATES};
use crate::rebalancing::{route_of, team};

/// Put the request `east` and `north` kilometres from Wates (negative: west, south).
fn place(body: &mut Value, (east, north): (f64, f64)) {
    // A degree is about 110 km either way this close to the equator.
    body["location"] = json!({"lat": WATES.0 + north / 110.0, "lon": WATES.1 + east / 110.0});
}

/// Promised windows by request id, from a route as `GET /v1/routes?date=` shows it.
fn windows(route: &Value) -> Vec<(i64, Value)> {
    let mut out: Vec<(i64, Value)> = route["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["request_id"].as_i64().unwrap(), s["window"].clone()))
        .collect();
    out.sort_by_key(|w| w.0);
    out
}

async fn a_team_off_for_the_day_leaves_the_promises_kept(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let team_a = team(&app, &region, "Tim Wates", WATES, region.officer_id).await;
    let citizen = app.citizen("081200000501").await;
    // Three visits in the morning on a line from 3 km west to 4 km east of Wates, one in the
    // afternoon north-east: team A is shortest west to east, and team B, coming from Sentolo
    // in the east, is shortest the other way round, which breaks the morning promises.
    let mut ids = Vec::new();
    for (at, afternoon) in [
        ((-3.0, 0.0), false),
        ((1.0, 0.0), false),
        ((4.0, 0.0), false),
        ((5.0, 4.0), true),
    ] {
        let mut body = app.request_body(&region);
        place(&mut body, at);
        if afternoon {
            let date = body["preferred_windows"][0]["date"].clone();
            body["preferred_windows"] = json!([{"date": date, "start": "13:00", "end": "15:00"}]);
        }
        let r = app.post("/v1/requests", Some(&citizen), body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.id());
    }
    let id = plan(&app, &region.coordinator).await;
    let draft = done(&app, &region.coordinator, id).await["draft"].clone();
    assert_eq!(draft["routes"].as_array().unwrap().len(), 1, "{draft}");
    let day = draft["routes"][0]["date"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/v1/plans/{id}/publish"),
            Some(&region.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Team B, in Sentolo some 10 km east, joins after the plan was published.
    let r = app
        .post(
            "/v1/admin/accounts",
            Some(&admin),
            json!({"role": "officer", "region_id": region.id, "username": "officer-b",
                   "password": STAFF_PASSWORD, "display_name": "Petugas B"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let team_b = team(&app, &region, "Tim Sentolo", (-7.8370, 110.2190), r.id()).await;

    let r = app
        .get(&format!("/v1/routes?date={day}"), &region.coordinator)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let promised = windows(&route_of(&r.body, team_a));
    assert_eq!(promised.len(), 4, "{}", r.body);
    let tag = format!("\"{}\"", r.body["tag"].as_str().unwrap());

    let r = app
        .call(
            Method::POST,
            &format!("/v1/teams/{team_a}/absences"),
            Some(&region.coordinator),
            Some(json!({"date": day, "reason": "Sakit", "time_limit_seconds": 1})),
            &[("If-Match", &tag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .get(&format!("/v1/routes?date={day}"), &region.coordinator)
        .await;
    let on_b = windows(&route_of(&r.body, team_b));
    assert_eq!(on_b, promised, "team B keeps every promise: {}", r.body);
}

both_backends!(a_team_off_for_the_day_leaves_the_promises_kept);
