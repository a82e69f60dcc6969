//! Coordinator rebalancing through HTTP: move, reorder, swap, pin, lock, a team off for the
//! day, re-planning the rest of a day; previews store nothing; stale copies get 409; applied
//! changes bump versions and tell the phones concerned.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::dispatch::{done, outbox_rows, plan};
use crate::helpers::{spawn, Backend, Region, TestApp, STAFF_PASSWORD, WATES};

/// A region with two teams (each with an officer and a phone), a citizen with a phone and
/// four published visits.
pub struct Crew {
    pub region: Region,
    pub team_a: i64,
    pub team_b: i64,
    pub officer_b: String,
    pub citizen: String,
    pub requests: Vec<i64>,
    /// The day the plan put the visits on (team A's route).
    pub day: String,
    pub publish: Value,
}

pub async fn team(
    app: &TestApp,
    region: &Region,
    name: &str,
    depot: (f64, f64),
    officer: i64,
) -> i64 {
    let r = app
        .post(
            "/v1/teams",
            Some(&region.coordinator),
            json!({"name": name, "depot": {"lat": depot.0, "lon": depot.1},
                   "vehicle_profile": "motorbike", "skills": ["adminduk"], "max_visits_per_day": 8}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.id();
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/teams/{id}/members/{officer}"),
            Some(&region.coordinator),
            None,
            &[],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    id
}

async fn phone(app: &TestApp, token: &str, fcm_token: &str) {
    let r = app
        .post(
            "/v1/devices",
            Some(token),
            json!({"token": fcm_token, "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
}

pub async fn crew(app: &TestApp, requests: usize) -> Crew {
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let r = app
        .post(
            "/v1/admin/accounts",
            Some(&admin),
            json!({"role": "officer", "region_id": region.id, "username": "officer-b",
                   "password": STAFF_PASSWORD, "display_name": "Petugas B"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let officer_b_id = r.id();
    let officer_b = app.token("officer-b", STAFF_PASSWORD).await;
    let team_a = team(app, &region, "Tim Wates", WATES, region.officer_id).await;
    // Sentolo, some 10 km east of Wates.
    let team_b = team(
        app,
        &region,
        "Tim Sentolo",
        (-7.8370, 110.2190),
        officer_b_id,
    )
    .await;
    phone(app, &region.officer, "fcm-officer-a-phone-token-01").await;
    phone(app, &officer_b, "fcm-officer-b-phone-token-01").await;
    let citizen = app.citizen("081200000401").await;
    phone(app, &citizen, "fcm-citizen-phone-token-0401").await;
    let mut ids = Vec::new();
    for _ in 0..requests {
        ids.push(app.create_request(&citizen, &region).await.id());
    }
    let id = plan(app, &region.coordinator).await;
    let draft = done(app, &region.coordinator, id).await["draft"].clone();
    let r = app
        .post(
            &format!("/v1/plans/{id}/publish"),
            Some(&region.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(draft["routes"].as_array().unwrap().len(), 1, "{draft}");
    assert_eq!(draft["routes"][0]["team_id"], team_a, "{draft}");
    Crew {
        day: draft["routes"][0]["date"].as_str().unwrap().to_string(),
        region,
        team_a,
        team_b,
        officer_b,
        citizen,
        requests: ids,
        publish: r.body,
    }
}

/// The region's routes of `day` and the day's tag.
pub async fn day_routes(app: &TestApp, crew: &Crew, day: &str) -> Value {
    let r = app
        .get(&format!("/v1/routes?date={day}"), &crew.region.coordinator)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let etag = r.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", r.body["tag"].as_str().unwrap()));
    r.body
}

pub fn route_of(day: &Value, team: i64) -> Value {
    day["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["team_id"] == team)
        .cloned()
        .unwrap_or(Value::Null)
}

pub fn stop_ids(route: &Value) -> Vec<i64> {
    route["stops"]
        .as_array()
        .map(|stops| {
            stops
                .iter()
                .map(|s| s["request_id"].as_i64().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

pub async fn change(
    app: &TestApp,
    crew: &Crew,
    route_id: i64,
    version: &str,
    preview: bool,
    body: Value,
) -> crate::helpers::Response {
    app.call(
        Method::POST,
        &format!("/v1/routes/{route_id}/changes?preview={preview}"),
        Some(&crew.region.coordinator),
        Some(body),
        &[("If-Match", version)],
    )
    .await
}

async fn a_stop_moves_to_another_team_after_a_preview(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 4).await;
    let day = day_routes(&app, &crew, &crew.day).await;
    let a = route_of(&day, crew.team_a);
    let route_a = a["id"].as_i64().unwrap();
    assert_eq!(a["version"], 1);
    let moving = stop_ids(&a)[1];
    let rows_before = outbox_rows(&app).await.len();
    let body = json!({"op": "move", "request_id": moving, "to_team_id": crew.team_b});

    // A preview shows both routes and stores nothing.
    let r = change(&app, &crew, route_a, "\"1\"", true, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied"], false);
    assert_eq!(r.body["pushes"], 0);
    let diffs = r.body["routes"].as_array().unwrap();
    assert_eq!(diffs.len(), 2, "{}", r.body);
    let to_b = diffs.iter().find(|d| d["team_id"] == crew.team_b).unwrap();
    assert_eq!(to_b["stops"][0]["request_id"], moving);
    assert_eq!(to_b["stops"][0]["moved_from"]["team_id"], crew.team_a);
    assert!(to_b["distance_km_after"].as_f64().unwrap() > 0.0);
    assert!(
        to_b.get("route_id").is_none(),
        "team B had no route: {to_b}"
    );
    let from_a = diffs.iter().find(|d| d["team_id"] == crew.team_a).unwrap();
    assert_eq!(from_a["stops"].as_array().unwrap().len(), 3);
    assert!(from_a["added_km"].as_f64().unwrap() <= 0.0, "{from_a}");
    assert_eq!(outbox_rows(&app).await.len(), rows_before);
    assert_eq!(
        route_of(&day_routes(&app, &crew, &crew.day).await, crew.team_a)["version"],
        1
    );

    // Without If-Match, from a stale copy, or with a stop that is not there: refused.
    app.call(
        Method::POST,
        &format!("/v1/routes/{route_a}/changes"),
        Some(&crew.region.coordinator),
        Some(body.clone()),
        &[],
    )
    .await
    .assert_error(428, "precondition_required", None);
    change(&app, &crew, route_a, "\"2\"", false, body.clone())
        .await
        .assert_error(409, "version_conflict", None);
    change(
        &app,
        &crew,
        route_a,
        "\"1\"",
        false,
        json!({"op": "move", "request_id": 999_999, "to_team_id": crew.team_b}),
    )
    .await
    .assert_error(422, "not_on_route", Some("request_id"));
    change(
        &app,
        &crew,
        route_a,
        "\"1\"",
        false,
        json!({"op": "teleport"}),
    )
    .await
    .assert_error(400, "invalid_json", None);

    // Applied: both routes get a version, both phones are told, the citizen too when the
    // promised window moved.
    let r = change(&app, &crew, route_a, "\"1\"", false, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied"], true);
    let versions = r.body["versions"].as_array().unwrap();
    assert!(versions
        .iter()
        .any(|v| v["team_id"] == crew.team_a && v["version"] == 2));
    assert!(versions
        .iter()
        .any(|v| v["team_id"] == crew.team_b && v["version"] == 1));
    let rows = outbox_rows(&app).await;
    let added = &rows[rows_before..];
    let told = |token: &str, kind: &str| {
        added
            .iter()
            .filter(|r| r.fcm_token == token && r.kind.as_str() == kind)
            .count()
    };
    assert_eq!(told("fcm-officer-a-phone-token-01", "route_changed"), 1);
    assert_eq!(told("fcm-officer-b-phone-token-01", "route_changed"), 1);
    assert_eq!(
        told("fcm-citizen-phone-token-0401", "visit_scheduled") as u64,
        r.body["citizens_told"].as_u64().unwrap()
    );
    assert_eq!(added.len() as u64, r.body["pushes"].as_u64().unwrap());

    // The officer of team B now has the visit; team A's route lost it.
    let r = app
        .get(&format!("/v1/me/routes/{}", crew.day), &crew.officer_b)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(stop_ids(&r.body), vec![moving]);
    let day = day_routes(&app, &crew, &crew.day).await;
    assert!(!stop_ids(&route_of(&day, crew.team_a)).contains(&moving));
    let r = app
        .get(
            &format!("/v1/requests/{moving}/events"),
            &crew.region.coordinator,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Without a position the stop goes where it breaks the fewest rules, then adds the least
    // distance: no explicit position does better.
    let next = stop_ids(&route_of(&day, crew.team_a))[0];
    let score = |body: &Value| {
        let b = body["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["team_id"] == crew.team_b)
            .unwrap()
            .clone();
        let issues: usize = b["stops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["issues"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
            + b["issues"].as_array().map_or(0, Vec::len);
        (issues, b["distance_km_after"].as_f64().unwrap())
    };
    let route_b_version = route_of(&day, crew.team_b)["version"].as_i64().unwrap();
    let a_version = format!("\"{}\"", route_of(&day, crew.team_a)["version"]);
    let preview = |position: Option<usize>| {
        let mut body = json!({"op": "move", "request_id": next, "to_team_id": crew.team_b, "target_version": route_b_version});
        if let Some(p) = position {
            body["position"] = json!(p);
        }
        change(
            &app,
            &crew,
            route_of(&day, crew.team_a)["id"].as_i64().unwrap(),
            &a_version,
            true,
            body,
        )
    };
    let chosen = score(&preview(None).await.body);
    for position in [0, 1] {
        let other = score(&preview(Some(position)).await.body);
        assert!(
            chosen.0 < other.0 || (chosen.0 == other.0 && chosen.1 <= other.1 + 1e-9),
            "default {chosen:?} vs position {position} {other:?}"
        );
    }

    // The same change again from the old copy: refused, nothing written.
    let before = outbox_rows(&app).await.len();
    change(&app, &crew, route_a, "\"1\"", false, body)
        .await
        .assert_error(409, "version_conflict", None);
    // Moving to a route that exists needs its version.
    let route_b = route_of(&day, crew.team_b)["id"].as_i64().unwrap();
    let back = stop_ids(&route_of(&day, crew.team_b))[0];
    change(
        &app,
        &crew,
        route_b,
        "\"1\"",
        false,
        json!({"op": "move", "request_id": back, "to_team_id": crew.team_a}),
    )
    .await
    .assert_error(422, "required", Some("target_version"));
    assert_eq!(outbox_rows(&app).await.len(), before);
    let r = change(
        &app,
        &crew,
        route_b,
        "\"1\"",
        false,
        json!({"op": "move", "request_id": back, "to_team_id": crew.team_a, "position": 0, "target_version": 2}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let day = day_routes(&app, &crew, &crew.day).await;
    assert_eq!(stop_ids(&route_of(&day, crew.team_a))[0], back);
    assert!(stop_ids(&route_of(&day, crew.team_b)).is_empty());
}

async fn reorder_swap_pin_and_lock(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 3).await;
    let day = day_routes(&app, &crew, &crew.day).await;
    let a = route_of(&day, crew.team_a);
    let id = a["id"].as_i64().unwrap();
    let order = stop_ids(&a);

    let reversed: Vec<i64> = order.iter().rev().copied().collect();
    change(
        &app,
        &crew,
        id,
        "\"1\"",
        false,
        json!({"op": "reorder", "request_ids": &order[..2]}),
    )
    .await
    .assert_error(422, "invalid_order", Some("request_ids"));
    let r = change(
        &app,
        &crew,
        id,
        "\"1\"",
        false,
        json!({"op": "reorder", "request_ids": reversed}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .get(&format!("/v1/routes/{id}"), &crew.region.coordinator)
        .await;
    assert_eq!(r.headers["etag"], "\"2\"");
    assert_eq!(stop_ids(&r.body), reversed);

    let r = change(
        &app,
        &crew,
        id,
        "\"2\"",
        false,
        json!({"op": "swap", "request_id": reversed[0], "with_request_id": reversed[2]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .get(&format!("/v1/routes/{id}"), &crew.region.coordinator)
        .await;
    assert_eq!(stop_ids(&r.body), order);

    // A pin changes no times: the team's phone is not bothered.
    let before = outbox_rows(&app).await.len();
    let r = change(
        &app,
        &crew,
        id,
        "\"3\"",
        false,
        json!({"op": "pin", "request_id": order[1], "pinned": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["pushes"], 0);
    assert_eq!(outbox_rows(&app).await.len(), before);
    let r = app
        .get(&format!("/v1/routes/{id}"), &crew.region.coordinator)
        .await;
    assert_eq!(r.body["stops"][1]["pinned"], true);

    // A locked route refuses hand changes to its stops, and plans leave it as it is.
    let r = change(
        &app,
        &crew,
        id,
        "\"4\"",
        false,
        json!({"op": "lock", "locked": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    change(
        &app,
        &crew,
        id,
        "\"5\"",
        false,
        json!({"op": "move", "request_id": order[0], "to_team_id": crew.team_b}),
    )
    .await
    .assert_error(409, "route_locked", None);
    app.create_request(&crew.citizen, &crew.region).await;
    let again = plan(&app, &crew.region.coordinator).await;
    let draft = done(&app, &crew.region.coordinator, again).await["draft"].clone();
    let kept = draft["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["team_id"] == crew.team_a && r["date"] == crew.day.as_str())
        .expect("the locked route is in the plan");
    let visits: Vec<i64> = kept["stops"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["request_id"].as_i64())
        .collect();
    assert_eq!(visits, order, "{draft}");
    let r = app
        .post(
            &format!("/v1/plans/{again}/publish"),
            Some(&crew.region.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .get(&format!("/v1/routes/{id}"), &crew.region.coordinator)
        .await;
    assert_eq!(r.body["locked"], true);
    assert_eq!(
        r.body["version"], 5,
        "the plan left the locked route alone: {}",
        r.body
    );

    // The coordinator's region only.
    let admin = app.admin().await;
    let other = app.region(&admin, "Sleman").await;
    app.get(&format!("/v1/routes/{id}"), &other.coordinator)
        .await
        .assert_error(404, "not_found", None);
    app.get(&format!("/v1/routes/{id}"), &crew.region.officer)
        .await
        .assert_error(403, "forbidden", None);
}

async fn a_team_off_for_the_day_hands_its_visits_to_the_others(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 4).await;
    let day = day_routes(&app, &crew, &crew.day).await;
    let tag = format!("\"{}\"", day["tag"].as_str().unwrap());
    let path = format!("/v1/teams/{}/absences", crew.team_a);
    let body = json!({"date": crew.day, "reason": "Motor mogok", "time_limit_seconds": 1});
    let before = outbox_rows(&app).await.len();

    let r = app
        .call(
            Method::POST,
            &format!("{path}?preview=true"),
            Some(&crew.region.coordinator),
            Some(body.clone()),
            &[("If-Match", &tag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied"], false);
    assert_eq!(outbox_rows(&app).await.len(), before);
    app.call(
        Method::POST,
        &path,
        Some(&crew.region.coordinator),
        Some(body.clone()),
        &[("If-Match", "\"day-0000000000000000\"")],
    )
    .await
    .assert_error(409, "version_conflict", None);
    app.call(
        Method::POST,
        &path,
        Some(&crew.region.coordinator),
        Some(body.clone()),
        &[],
    )
    .await
    .assert_error(428, "precondition_required", None);

    let r = app
        .call(
            Method::POST,
            &path,
            Some(&crew.region.coordinator),
            Some(body.clone()),
            &[("If-Match", &tag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied"], true);
    let day = day_routes(&app, &crew, &crew.day).await;
    assert_eq!(day["absent_team_ids"], json!([crew.team_a]));
    assert!(stop_ids(&route_of(&day, crew.team_a)).is_empty());
    let mut on_b = stop_ids(&route_of(&day, crew.team_b));
    on_b.sort_unstable();
    assert_eq!(on_b, crew.requests, "team B took every visit: {day}");
    let rows = outbox_rows(&app).await;
    let added = &rows[before..];
    assert!(added.iter().any(
        |r| r.fcm_token == "fcm-officer-a-phone-token-01" && r.kind.as_str() == "route_changed"
    ));
    assert!(added.iter().any(
        |r| r.fcm_token == "fcm-officer-b-phone-token-01" && r.kind.as_str() == "route_changed"
    ));

    // Off once is enough; the absence is listed, then taken back.
    let tag = format!("\"{}\"", day["tag"].as_str().unwrap());
    app.call(
        Method::POST,
        &path,
        Some(&crew.region.coordinator),
        Some(body),
        &[("If-Match", &tag)],
    )
    .await
    .assert_error(409, "already_exists", None);
    let r = app.get(&path, &crew.region.coordinator).await;
    assert_eq!(r.body[0]["reason"], "Motor mogok", "{}", r.body);
    // Plans made meanwhile give the absent team nothing that day.
    let again = plan(&app, &crew.region.coordinator).await;
    let draft = done(&app, &crew.region.coordinator, again).await["draft"].clone();
    assert!(
        !draft["routes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["team_id"] == crew.team_a && r["date"] == crew.day.as_str()),
        "{draft}"
    );
    // Publishing never gives an absent team work that day (as a plan made before the
    // absence would), even where no route the plan read has changed since.
    let stale = plan(&app, &crew.region.coordinator).await;
    done(&app, &crew.region.coordinator, stale).await;
    let date = chrono::NaiveDate::parse_from_str(&crew.day, "%Y-%m-%d").unwrap();
    let (team_a, request) = (crew.team_a, crew.requests[0]);
    let refused = app
        .db
        .write(move |conn| {
            let at = jemput::db::now();
            jemput::workflow::publish::publish(
                conn,
                &jemput::db::events::Actor::default(),
                &jemput::db::routes::Publication {
                    plan_id: stale,
                    dates: vec![date],
                    routes: vec![jemput::db::routes::PublishRoute {
                        team_id: team_a,
                        date,
                        distance_m: 0.0,
                        leave_at: at,
                        back_at: at,
                        stops: vec![jemput::db::routes::PublishStop {
                            request_id: request,
                            planned_start: at,
                            planned_end: at,
                            window_start: at,
                            window_end: at,
                            pinned: false,
                        }],
                    }],
                    unassigned: Vec::new(),
                },
                &jemput::push::messages::JemputNotices,
            )
        })
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains(&format!("team {team_a} is off on {date}")),
        "{refused}"
    );

    let r = app
        .call(
            Method::DELETE,
            &format!("{path}/{}", crew.day),
            Some(&crew.region.coordinator),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    app.call(
        Method::DELETE,
        &format!("{path}/{}", crew.day),
        Some(&crew.region.coordinator),
        None,
        &[],
    )
    .await
    .assert_error(404, "not_found", None);
}

async fn replanning_the_rest_of_the_day_keeps_visits_made(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 4).await;
    let day = day_routes(&app, &crew, &crew.day).await;
    let a = route_of(&day, crew.team_a);
    let first = stop_ids(&a)[0];
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.region.officer),
            json!({"events": [{"id": "done-1", "kind": "completed", "request_id": first, "at": "2026-11-23T01:30:00Z"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The visit made stays where it is.
    let version = format!("\"{}\"", a["version"]);
    change(
        &app,
        &crew,
        a["id"].as_i64().unwrap(),
        &version,
        false,
        json!({"op": "move", "request_id": first, "to_team_id": crew.team_b}),
    )
    .await
    .assert_error(409, "stop_visited", None);

    let day = day_routes(&app, &crew, &crew.day).await;
    let tag = format!("\"{}\"", day["tag"].as_str().unwrap());
    let r = app
        .call(
            Method::POST,
            &format!("/v1/days/{}/replan", crew.day),
            Some(&crew.region.coordinator),
            Some(json!({"from": "10:00", "time_limit_seconds": 1})),
            &[("If-Match", &tag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied"], true);
    let day = day_routes(&app, &crew, &crew.day).await;
    let a = route_of(&day, crew.team_a);
    assert_eq!(stop_ids(&a)[0], first, "{day}");
    assert_eq!(a["stops"][0]["status"], "completed");
    let mut all: Vec<i64> = day["routes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(stop_ids)
        .chain(
            r.body["dropped"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["request_id"].as_i64().unwrap()),
        )
        .collect();
    all.sort_unstable();
    assert_eq!(
        all, crew.requests,
        "every visit is on a route or back in the queue"
    );
    // Visits still to make start at ten or later.
    for route in day["routes"].as_array().unwrap() {
        for stop in route["stops"].as_array().unwrap() {
            if stop["status"] == "scheduled" {
                assert!(
                    stop["planned_start"].as_str().unwrap() >= "10:00",
                    "{route}"
                );
            }
        }
    }
    // The day's tag changed: the old one is stale.
    app.call(
        Method::POST,
        &format!("/v1/days/{}/replan", crew.day),
        Some(&crew.region.coordinator),
        Some(json!({"time_limit_seconds": 1})),
        &[("If-Match", &tag)],
    )
    .await
    .assert_error(409, "version_conflict", None);
}

async fn a_cancelled_visit_leaves_the_route(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 2).await;
    let day = day_routes(&app, &crew, &crew.day).await;
    let a = route_of(&day, crew.team_a);
    let (gone, stays) = (stop_ids(&a)[0], stop_ids(&a)[1]);
    let before = outbox_rows(&app).await.len();
    let version = app
        .get(&format!("/v1/requests/{gone}"), &crew.citizen)
        .await
        .body["version"]
        .to_string();
    let r = app
        .call(
            Method::POST,
            &format!("/v1/requests/{gone}/cancel"),
            Some(&crew.citizen),
            Some(json!({"reason": "Sudah ke kantor"})),
            &[("If-Match", &format!("\"{version}\""))],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .get(&format!("/v1/me/routes/{}", crew.day), &crew.region.officer)
        .await;
    assert_eq!(r.headers["etag"], "\"2\"");
    assert_eq!(stop_ids(&r.body), vec![stays]);
    let rows = outbox_rows(&app).await;
    assert!(rows[before..].iter().any(
        |r| r.kind.as_str() == "route_changed" && r.fcm_token == "fcm-officer-a-phone-token-01"
    ));
}

/// History: a visit missed on team A's route is planned again onto team B's route of a later
/// day. Team A's phone, still holding the old copy, reports on it: that event is answered
/// `conflict`; team B's report applies.
async fn a_missed_visit_planned_onto_another_team_takes_reports_from_that_team_only(
    backend: Backend,
) {
    use chrono::Datelike;
    let app = spawn(backend).await;
    let crew = crew(&app, 2).await;
    let missed = crew.requests[0];
    let report = |id: &str, kind: &str| {
        json!({"events": [{"id": id, "kind": kind, "request_id": missed,
                           "at": "2026-11-23T02:00:00Z"}]})
    };
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.region.officer),
            report("a-1", "citizen_absent"),
        )
        .await;
    assert_eq!(r.body["results"][0]["result"], "applied", "{}", r.body);
    let r = app
        .get(&format!("/v1/requests/{missed}"), &crew.region.coordinator)
        .await;
    assert_eq!(r.body["status"], "missed", "{}", r.body);

    // The next working day, team A is off; a plan of that day gives the visit to team B.
    let first: chrono::NaiveDate = crew.day.parse().unwrap();
    let later = (1..=7)
        .map(|d| first + chrono::Duration::days(d))
        .find(|d| d.weekday().number_from_monday() <= 5)
        .unwrap()
        .to_string();
    let tag = format!(
        "\"{}\"",
        day_routes(&app, &crew, &later).await["tag"]
            .as_str()
            .unwrap()
    );
    let r = app
        .call(
            Method::POST,
            &format!("/v1/teams/{}/absences", crew.team_a),
            Some(&crew.region.coordinator),
            Some(json!({"date": later, "reason": "Pelatihan", "time_limit_seconds": 1})),
            &[("If-Match", &tag)],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = app
        .post(
            "/v1/plans",
            Some(&crew.region.coordinator),
            json!({"dates": [later], "time_limit_seconds": 1}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.id();
    let draft = done(&app, &crew.region.coordinator, id).await["draft"].clone();
    let r = app
        .post(
            &format!("/v1/plans/{id}/publish"),
            Some(&crew.region.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let day = day_routes(&app, &crew, &later).await;
    assert!(
        stop_ids(&route_of(&day, crew.team_b)).contains(&missed),
        "{draft}"
    );

    // Team A's copy still shows the visit (the missed attempt stays on its route as history).
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.region.officer),
            report("a-2", "completed"),
        )
        .await;
    assert_eq!(r.body["results"][0]["result"], "conflict", "{}", r.body);
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.officer_b),
            report("b-1", "completed"),
        )
        .await;
    assert_eq!(r.body["results"][0]["result"], "applied", "{}", r.body);
    let r = app
        .get(&format!("/v1/requests/{missed}"), &crew.region.coordinator)
        .await;
    assert_eq!(r.body["status"], "completed", "{}", r.body);
}

both_backends!(
    a_missed_visit_planned_onto_another_team_takes_reports_from_that_team_only,
    a_cancelled_visit_leaves_the_route,
    a_stop_moves_to_another_team_after_a_preview,
    reorder_swap_pin_and_lock,
    a_team_off_for_the_day_hands_its_visits_to_the_others,
    replanning_the_rest_of_the_day_keeps_visits_made,
);
