//! Live tracking through HTTP: officers' position batches (idempotent, also when ten copies
//! race) and the region's server-sent event stream (route changes, field reports, positions;
//! resumable with `Last-Event-ID`; one region's events never reach another's console).

use std::time::Duration;

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn, spawn_second_instance, Backend, TestApp, WATES};
use crate::plans::{days, finished, team};
use crate::rebalancing::{change, crew, day_routes, route_of, stop_ids};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    id: i64,
    kind: String,
    data: Value,
}

/// A console's open stream, read event by event.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(
        app: &TestApp,
        region_id: i64,
        token: &str,
        last_event_id: Option<i64>,
    ) -> Stream {
        let mut request = app
            .client
            .get(format!("{}/v1/regions/{region_id}/stream", app.base))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.expect("stream opens");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped); None when none comes within five seconds.
    async fn next(&mut self) -> Option<Event> {
        self.next_within(Duration::from_secs(5)).await
    }

    /// True when no event comes for two seconds (the stream polls four times a second).
    async fn is_quiet(&mut self) -> bool {
        self.next_within(Duration::from_secs(2)).await.is_none()
    }

    async fn next_within(&mut self, wait: Duration) -> Option<Event> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, None, None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        kind = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(v).expect("data is JSON"));
                    }
                }
                if let (Some(id), Some(kind), Some(data)) = (id, kind, data) {
                    return Some(Event { id, kind, data });
                }
                continue;
            }
            match tokio::time::timeout(wait, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                _ => return None,
            }
        }
    }

    /// True when the server ends the stream within `wait` (events before the end are skipped).
    async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) => return true,
                Ok(Err(_)) | Err(_) => return false,
            }
        }
    }

    /// Events until one of `kind` has arrived (it included).
    async fn until(&mut self, kind: &str) -> Vec<Event> {
        let mut seen = Vec::new();
        while let Some(event) = self.next().await {
            let done = event.kind == kind;
            seen.push(event);
            if done {
                return seen;
            }
        }
        panic!("no {kind} event; got {seen:?}");
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

async fn positions(app: &TestApp, officer: &str, batch: Value) -> crate::helpers::Response {
    app.post(
        "/v1/me/positions",
        Some(officer),
        json!({ "positions": batch }),
    )
    .await
}

fn results(r: &crate::helpers::Response) -> Vec<String> {
    r.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {}", r.body))
        .iter()
        .map(|x| x["result"].as_str().unwrap().to_string())
        .collect()
}

async fn stream_carries_route_changes_reports_and_positions_and_resumes(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 3).await;
    let region = crew.region.id;
    let mut console = Stream::open(&app, region, &crew.region.coordinator, None).await;
    let ready = console.next().await.expect("ready");
    assert_eq!(ready.kind, "ready");
    assert_eq!(ready.data["region_id"], region);
    // The publish happened before: the stream starts after it.
    assert!(ready.id >= 1, "{ready:?}");

    // A coordinator moves a stop to team B.
    let day = day_routes(&app, &crew, &crew.day).await;
    let a = route_of(&day, crew.team_a);
    let stops = stop_ids(&a);
    let r = change(
        &app,
        &crew,
        a["id"].as_i64().unwrap(),
        "\"1\"",
        false,
        json!({"op": "move", "request_id": stops[2], "to_team_id": crew.team_b}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let moved = console.until("route_changed").await;
    let moved = moved.last().unwrap();
    assert_eq!(moved.id, ready.id + 1);
    assert_eq!(moved.data["action"], "stop_moved");
    assert_eq!(moved.data["dates"], json!([crew.day]));
    let teams: Vec<i64> = moved.data["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["team_id"].as_i64().unwrap())
        .collect();
    assert!(
        teams.contains(&crew.team_a) && teams.contains(&crew.team_b),
        "{moved:?}"
    );

    // Team A finishes its first stop: a field report, and the next citizen's "on the way".
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.region.officer),
            json!({"events": [{"id": "ev-1", "kind": "completed", "request_id": stops[0], "at": now()}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let report = console.until("on_the_way").await;
    assert_eq!(report.len(), 2, "{report:?}");
    assert_eq!(report[0].kind, "field_report");
    assert_eq!(report[0].data["report"], "completed");
    assert_eq!(report[0].data["status"], "completed");
    assert_eq!(report[0].data["request_id"], stops[0]);
    assert_eq!(report[0].data["team_id"], crew.team_a);
    assert_eq!(report[1].data["request_id"], stops[1]);

    // The officer's phone sends two positions: the console hears of the newer one.
    let r = positions(
        &app,
        &crew.region.officer,
        json!([
            {"client_position_id": "p-2", "at": "2026-11-23T02:10:00Z", "lat": -7.8620, "lon": 110.1600, "accuracy_m": 8.0},
            {"client_position_id": "p-1", "at": "2026-11-23T02:00:00Z", "lat": -7.8610, "lon": 110.1590}
        ]),
    )
    .await;
    assert_eq!(results(&r), ["stored", "stored"]);
    let position = console.until("position").await;
    let position = position.last().unwrap();
    assert_eq!(position.data["lat"], -7.862);
    assert_eq!(position.data["team_ids"], json!([crew.team_a]));
    assert_eq!(position.data["at"], "2026-11-23T02:10:00Z");
    assert_eq!(position.id, ready.id + 4);
    // An older batch arriving late stores its position but does not move the marker back.
    let r = positions(
        &app,
        &crew.region.officer,
        json!([{"client_position_id": "p-0", "at": "2026-11-23T01:50:00Z", "lat": -7.86, "lon": 110.158}]),
    )
    .await;
    assert_eq!(results(&r), ["stored"]);
    assert!(
        console.is_quiet().await,
        "nothing after the newest position"
    );
    drop(console);

    // A console that lost its connection after `ready` resumes: the same events, in order.
    let mut again = Stream::open(&app, region, &crew.region.coordinator, Some(ready.id)).await;
    assert_eq!(again.next().await.unwrap().kind, "ready");
    let mut replayed = Vec::new();
    for _ in 0..4 {
        replayed.push(again.next().await.expect("a replayed event"));
    }
    let kinds: Vec<&str> = replayed.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["route_changed", "field_report", "on_the_way", "position"]
    );
    let ids: Vec<i64> = replayed.iter().map(|e| e.id).collect();
    assert_eq!(ids, (ready.id + 1..=ready.id + 4).collect::<Vec<_>>());
    assert_eq!(replayed[3], *position);
    assert!(again.is_quiet().await);

    // Resuming from the newest event sends nothing old; a malformed id is refused.
    let mut current = Stream::open(&app, region, &crew.region.coordinator, Some(position.id)).await;
    let first = current.next().await.unwrap();
    assert_eq!((first.kind.as_str(), first.id), ("ready", position.id));
    assert!(current.is_quiet().await);
    app.call(
        Method::GET,
        &format!("/v1/regions/{region}/stream"),
        Some(&crew.region.coordinator),
        None,
        &[("Last-Event-ID", "yesterday")],
    )
    .await
    .assert_error(400, "missing_header", Some("Last-Event-ID"));
}

async fn a_region_stream_is_for_that_regions_staff_only(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let one = app.region(&admin, "Kulon Progo").await;
    let two = app.region(&admin, "Kulon Progo Dua").await;

    // Only coordinators of the region and admins; another region's id does not exist for them.
    let path = format!("/v1/regions/{}/stream", one.id);
    app.get(&format!("/v1/regions/{}/stream", one.id), &two.coordinator)
        .await
        .assert_error(404, "not_found", None);
    app.get(&path, &one.officer)
        .await
        .assert_error(403, "forbidden", None);
    app.call(Method::GET, &path, None, None, &[])
        .await
        .assert_error(401, "unauthenticated", None);
    app.get("/v1/regions/999999/stream", &admin)
        .await
        .assert_error(404, "not_found", None);

    let mut console_one = Stream::open(&app, one.id, &one.coordinator, None).await;
    let mut console_admin = Stream::open(&app, two.id, &admin, None).await;
    assert_eq!(console_one.next().await.unwrap().kind, "ready");
    assert_eq!(console_admin.next().await.unwrap().kind, "ready");
    let at = now();
    for officer in [&two.officer, &one.officer] {
        let r = positions(
            &app,
            officer,
            json!([{"at": at, "lat": WATES.0, "lon": WATES.1}]),
        )
        .await;
        assert_eq!(results(&r), ["stored"]);
    }
    let seen = console_one.next().await.unwrap();
    assert_eq!(seen.data["account_id"], one.officer_id);
    assert!(console_one.is_quiet().await, "region two's position leaked");
    let seen = console_admin.next().await.unwrap();
    assert_eq!(seen.data["account_id"], two.officer_id);
    assert!(console_admin.is_quiet().await);
}

async fn position_batches_are_idempotent_and_checked(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;

    // Ten copies of one offline batch at once: each position stored once, no error.
    let batch = json!([
        {"client_position_id": "fix-1", "at": "2026-11-23T01:00:00Z", "lat": -7.8606, "lon": 110.1583},
        {"at": "2026-11-23T01:00:10Z", "lat": -7.8610, "lon": 110.1590, "accuracy_m": 12.5},
        {"client_position_id": "fix-3", "at": "2026-11-23T01:00:20Z", "lat": -7.8615, "lon": 110.1597}
    ]);
    let answers = futures_util::future::join_all(
        (0..10).map(|_| positions(&app, &region.officer, batch.clone())),
    )
    .await;
    let mut stored = [0; 3];
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
        for (i, result) in results(answer).iter().enumerate() {
            match result.as_str() {
                "stored" => stored[i] += 1,
                "duplicate" => {}
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(
        stored,
        [1, 1, 1],
        "{answers:?}",
        answers = answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    assert_eq!(
        answers[0].body["results"][1]["id"],
        "at:2026-11-23T01:00:10.000Z"
    );
    let (rows, feed) = stored_positions(&app, region.id).await;
    assert_eq!(rows, 3);
    assert_eq!(feed, 1, "one position event for the batch");

    // A position outside the region is refused alone; the rest of the batch is kept.
    let r = positions(
        &app,
        &region.officer,
        json!([
            {"client_position_id": "jakarta", "at": now(), "lat": -6.2, "lon": 106.8},
            {"client_position_id": "fix-4", "at": now(), "lat": WATES.0, "lon": WATES.1}
        ]),
    )
    .await;
    assert_eq!(results(&r), ["outside_region", "stored"]);
    assert_eq!(stored_positions(&app, region.id).await.0, 4);

    // Malformed batches are refused whole, naming the field.
    positions(&app, &region.officer, json!([]))
        .await
        .assert_error(422, "required", Some("positions"));
    let many: Vec<Value> = (0..501)
        .map(|i| json!({"client_position_id": format!("m-{i}"), "at": now(), "lat": WATES.0, "lon": WATES.1}))
        .collect();
    positions(&app, &region.officer, json!(many))
        .await
        .assert_error(422, "too_many", Some("positions"));
    positions(
        &app,
        &region.officer,
        json!([{"at": now(), "lat": 91.0, "lon": 110.0}]),
    )
    .await
    .assert_error(422, "out_of_range", Some("positions[0].lat"));
    positions(
        &app,
        &region.officer,
        json!([{"client_position_id": "x", "at": "2099-01-01T00:00:00Z", "lat": WATES.0, "lon": WATES.1}]),
    )
    .await
    .assert_error(422, "out_of_range", Some("positions[0].at"));
    positions(
        &app,
        &region.officer,
        json!([{"client_position_id": "", "at": now(), "lat": WATES.0, "lon": WATES.1}]),
    )
    .await
    .assert_error(
        422,
        "invalid_format",
        Some("positions[0].client_position_id"),
    );
    positions(&app, &region.coordinator, batch)
        .await
        .assert_error(403, "forbidden", None);
    assert_eq!(stored_positions(&app, region.id).await.0, 4);
}

/// Positions stored for the region, and position events in its feed.
async fn stored_positions(app: &TestApp, region_id: i64) -> (i64, usize) {
    app.db
        .read(move |conn| {
            use jemput::db::schema::team_positions;
            let rows: i64 = team_positions::table
                .filter(team_positions::region_id.eq(region_id))
                .count()
                .get_result(conn)?;
            let feed = jemput::db::feed::after(conn, region_id, 0, 1000)?
                .into_iter()
                .filter(|e| e.kind == jemput::domain::LiveEventKind::Position)
                .count();
            Ok((rows, feed))
        })
        .await
        .unwrap()
}

/// A console connected to one instance hears what is written through another, and resumes
/// from the other after losing the first: the feed lives in the database, not in a process.
async fn a_console_on_one_instance_hears_another(backend: Backend) {
    let first = spawn(backend).await;
    let admin = first.admin().await;
    let region = first.region(&admin, "Kulon Progo").await;
    let second = spawn_second_instance(&first, |_| {}).await;
    let mut console = Stream::open(&second, region.id, &region.coordinator, None).await;
    let ready = console.next().await.unwrap();
    let r = positions(
        &first,
        &region.officer,
        json!([{"client_position_id": "via-first", "at": now(), "lat": WATES.0, "lon": WATES.1}]),
    )
    .await;
    assert_eq!(results(&r), ["stored"]);
    let heard = console
        .next()
        .await
        .expect("the position, through the other instance");
    assert_eq!((heard.kind.as_str(), heard.id), ("position", ready.id + 1));
    drop(console);
    let mut resumed = Stream::open(&first, region.id, &region.coordinator, Some(ready.id)).await;
    assert_eq!(resumed.next().await.unwrap().kind, "ready");
    assert_eq!(resumed.next().await.unwrap(), heard);
}

/// The stream ends when the access token that opened it expires: a signed-out coordinator
/// stops watching, and the console reconnects with a fresh token and `Last-Event-ID`.
async fn the_stream_ends_when_its_token_expires(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    // A token of three seconds, signed as the service signs (settings allow 60 s at least).
    let me = app.get("/v1/me", &region.coordinator).await.body["id"]
        .as_i64()
        .unwrap();
    let short = jemput::auth::TokenKeys::new(&app.settings.auth.jwt_secret, 3)
        .issue(me, jemput::domain::Role::Coordinator, Some(region.id), 1)
        .unwrap();
    let mut console = Stream::open(&app, region.id, &short, None).await;
    assert_eq!(console.next().await.unwrap().kind, "ready");
    assert!(console.ends_within(Duration::from_secs(8)).await);
}

/// A running plan reports its search on the region's stream: `plan_progress` events with the
/// time spent, the best cost so far (falling) and the visits it places, the last one being the
/// plan the draft holds.
async fn a_running_plan_streams_its_progress(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    team(&app, &region, "Tim Wates", json!(["adminduk"])).await;
    let citizen = app.citizen("081200000141").await;
    for _ in 0..4 {
        app.create_request(&citizen, &region).await;
    }
    let mut console = Stream::open(&app, region.id, &region.coordinator, None).await;
    assert_eq!(console.next().await.unwrap().kind, "ready");
    let r = app
        .post(
            "/v1/plans",
            Some(&region.coordinator),
            json!({"dates": days(2, 4), "time_limit_seconds": 1}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let plan_id = r.id();
    let plan = finished(&app, &region.coordinator, plan_id).await;
    assert_eq!(plan["status"], "done", "{plan}");

    let mut reports = Vec::new();
    while let Some(event) = console.next_within(Duration::from_secs(2)).await {
        assert_eq!(event.kind, "plan_progress", "{event:?}");
        reports.push(event.data);
    }
    assert!(!reports.is_empty());
    for report in &reports {
        assert_eq!(report["plan_id"], plan_id, "{report}");
        assert_eq!(report["requests"], 4, "{report}");
        assert!(report["elapsed_ms"].as_u64().is_some(), "{report}");
    }
    for pair in reports.windows(2) {
        assert!(pair[1]["elapsed_ms"].as_u64() >= pair[0]["elapsed_ms"].as_u64());
        assert!(pair[1]["best_cost"].as_f64() < pair[0]["best_cost"].as_f64());
    }
    let last = reports.last().unwrap();
    assert_eq!(last["assigned"], plan["draft"]["kpis"]["visits"], "{last}");
    assert_eq!(last["assigned"], 4, "{last}");
}

/// An officer's position re-estimates the arrivals at the team's remaining stops of the day
/// (`eta_update`, late ones flagged); the citizen's page of the team's next visit shows it.
async fn positions_re_estimate_arrivals_and_the_visit_page_shows_them(backend: Backend) {
    use jemput::db::schema::{route_stops, routes};

    let app = spawn(backend).await;
    let crew = crew(&app, 4).await;
    let region = crew.region.id;
    let route = route_of(&day_routes(&app, &crew, &crew.day).await, crew.team_a).clone();
    let stops = stop_ids(&route);
    // The route is today's (the plan put it on a later day; positions are of now).
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let route_id = route["id"].as_i64().unwrap();
    app.db
        .write(move |conn| {
            diesel::update(routes::table.find(route_id))
                .set(routes::date.eq(today))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let mut console = Stream::open(&app, region, &crew.region.coordinator, None).await;
    assert_eq!(console.next().await.unwrap().kind, "ready");

    let r = positions(
        &app,
        &crew.region.officer,
        json!([{"client_position_id": "p1", "at": now(), "lat": WATES.0, "lon": WATES.1}]),
    )
    .await;
    assert_eq!(results(&r), ["stored"]);
    let update = console.until("eta_update").await.pop().unwrap().data;
    assert_eq!(update["team_id"], crew.team_a, "{update}");
    assert_eq!(update["date"], today.to_string(), "{update}");
    let estimated: Vec<i64> = update["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["request_id"].as_i64().unwrap())
        .collect();
    assert_eq!(estimated, stops, "{update}");
    let etas: Vec<String> = update["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["eta"].as_str().unwrap().to_string())
        .collect();
    assert!(etas.windows(2).all(|w| w[0] <= w[1]), "{update}");
    // The windows are days ahead: nothing is late yet.
    assert!(update["stops"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["late"] == false));

    // The last stop's window closed an hour ago: the next estimate flags it.
    let last = *stops.last().unwrap();
    let closed = chrono::Utc::now().naive_utc() - chrono::Duration::hours(1);
    app.db
        .write(move |conn| {
            diesel::update(route_stops::table.filter(route_stops::request_id.eq(last)))
                .set(route_stops::window_end.eq(closed))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let r = positions(
        &app,
        &crew.region.officer,
        json!([{"client_position_id": "p2", "at": now(), "lat": WATES.0, "lon": WATES.1}]),
    )
    .await;
    assert_eq!(results(&r), ["stored"]);
    let update = console.until("eta_update").await.pop().unwrap().data;
    let flags: Vec<bool> = update["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["late"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, false, false, true], "{update}");

    // The first visit is done: the next citizen hears the team is coming. The estimate it
    // gave was of the plan's day; the page shows the one from the team's position instead.
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.region.officer),
            json!({"events": [{"id": "done-1", "kind": "completed", "request_id": stops[0], "at": now()}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = positions(
        &app,
        &crew.region.officer,
        json!([{"client_position_id": "p3", "at": now(), "lat": -7.8700, "lon": 110.1700}]),
    )
    .await;
    assert_eq!(results(&r), ["stored"]);
    let update = console.until("eta_update").await.pop().unwrap().data;
    assert_eq!(update["stops"][0]["request_id"], stops[1], "{update}");
    let eta: chrono::DateTime<chrono::Utc> =
        update["stops"][0]["eta"].as_str().unwrap().parse().unwrap();
    let local = eta
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .format("%H:%M")
        .to_string();
    let link = app
        .get(
            &format!("/v1/requests/{}/visit-link", stops[1]),
            &crew.citizen,
        )
        .await;
    let url = link.body["url"].as_str().unwrap();
    let html = app
        .client
        .get(format!("{}{url}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Perkiraan tiba"), "{html}");
    assert!(html.contains(&format!("{local} WIB")), "{local}: {html}");
}

both_backends!(
    positions_re_estimate_arrivals_and_the_visit_page_shows_them,
    a_running_plan_streams_its_progress,
    the_stream_ends_when_its_token_expires,
    a_console_on_one_instance_hears_another,
    stream_carries_route_changes_reports_and_positions_and_resumes,
    a_region_stream_is_for_that_regions_staff_only,
    position_batches_are_idempotent_and_checked,
);
