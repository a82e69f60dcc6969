//! Races, through HTTP. Each write is fired many times at the same moment with the same input;
//! every answer must be the one a serial run would give (one winner, the rest a documented
//! 4xx, never a 5xx), and what is stored must equal one serial run. SQLite's single writer
//! makes these pass trivially; PostgreSQL's READ COMMITTED is what they are here for.

use diesel::prelude::*;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::dispatch::{done, outbox_rows, plan};
use crate::helpers::{spawn, Backend, Response, TestApp};
use crate::rebalancing::{crew, day_routes, route_of, stop_ids, Crew};

/// Fires `n` copies of one request at once.
async fn at_once(
    app: &TestApp,
    n: usize,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Vec<Response> {
    join_all((0..n).map(|_| app.call(method.clone(), path, Some(token), body.clone(), headers)))
        .await
}

/// Fires `n` copies of one request at once, spread over several instances of the service.
async fn at_once_on(
    apps: &[&TestApp],
    n: usize,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Vec<Response> {
    join_all((0..n).map(|i| {
        apps[i % apps.len()].call(method.clone(), path, Some(token), body.clone(), headers)
    }))
    .await
}

/// How many answers had each status, as "200×1 409×9".
fn tally(answers: &[Response]) -> String {
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    let mut out = Vec::new();
    for status in statuses
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
    {
        let n = statuses.iter().filter(|s| **s == status).count();
        out.push(format!("{status}×{n}"));
    }
    out.join(" ")
}

/// Exactly one answer is `winner`; every other one is a 409 with one of `codes`.
fn one_winner(answers: &[Response], winner: u16, codes: &[&str]) {
    let tally = tally(answers);
    assert_eq!(
        answers
            .iter()
            .filter(|r| r.status.as_u16() == winner)
            .count(),
        1,
        "{tally}"
    );
    for r in answers.iter().filter(|r| r.status.as_u16() != winner) {
        assert_eq!(r.status.as_u16(), 409, "{tally}: {}", r.body);
        assert!(
            codes.contains(&r.body["code"].as_str().unwrap_or_default()),
            "{tally}: {}",
            r.body
        );
    }
}

async fn db_count(app: &TestApp, sql: &'static str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        diesel::sql_query(sql)
            .get_result::<Count>(&mut db.get().unwrap())
            .unwrap()
            .n
    })
    .await
    .unwrap()
}

async fn publishing_one_plan_at_once_publishes_it_once(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 3).await;
    // A new request gives the second plan something to publish.
    let extra = app.create_request(&crew.citizen, &crew.region).await.id();
    let id = plan(&app, &crew.region.coordinator).await;
    done(&app, &crew.region.coordinator, id).await;
    let before = outbox_rows(&app).await.len();
    let answers = at_once(
        &app,
        8,
        Method::POST,
        &format!("/v1/plans/{id}/publish"),
        &crew.region.coordinator,
        Some(json!({})),
        &[],
    )
    .await;
    one_winner(&answers, 200, &["plan_already_published"]);
    let winner = answers.iter().find(|r| r.status == 200).unwrap();
    // Exactly what one publish wrote: its pushes, and the new request scheduled once.
    assert_eq!(
        outbox_rows(&app).await.len() - before,
        winner.body["pushes"].as_u64().unwrap() as usize
    );
    let r = app
        .get(&format!("/v1/requests/{extra}/events"), &crew.citizen)
        .await;
    let scheduled = r.body.as_array().map_or(0, |events| {
        events.iter().filter(|e| e["action"] == "scheduled").count()
    });
    assert!(scheduled <= 1, "{}", r.body);
    assert_eq!(
        db_count(
            &app,
            "SELECT COUNT(*) AS n FROM plans WHERE published_at IS NOT NULL"
        )
        .await,
        2
    );
}

async fn the_same_route_change_at_once_applies_once(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 4).await;
    let day = day_routes(&app, &crew, &crew.day).await;
    let route = route_of(&day, crew.team_a);
    let route_id = route["id"].as_i64().unwrap();
    let stop = stop_ids(&route)[1];
    let before = outbox_rows(&app).await.len();
    let answers = at_once(
        &app,
        10,
        Method::POST,
        &format!("/v1/routes/{route_id}/changes"),
        &crew.region.coordinator,
        Some(json!({"op": "pin", "request_id": stop, "pinned": true})),
        &[("If-Match", "\"1\"")],
    )
    .await;
    one_winner(&answers, 200, &["version_conflict"]);
    let day = day_routes(&app, &crew, &crew.day).await;
    assert_eq!(route_of(&day, crew.team_a)["version"], 2, "{day}");
    let winner = answers.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(
        outbox_rows(&app).await.len() - before,
        winner.body["pushes"].as_u64().unwrap() as usize
    );

    // A move at once: one stop leaves once, and lands on team B's route once.
    let moving = stop_ids(&route)[0];
    let answers = at_once(
        &app,
        10,
        Method::POST,
        &format!("/v1/routes/{route_id}/changes"),
        &crew.region.coordinator,
        Some(json!({"op": "move", "request_id": moving, "to_team_id": crew.team_b})),
        &[("If-Match", "\"2\"")],
    )
    .await;
    one_winner(&answers, 200, &["version_conflict"]);
    let day = day_routes(&app, &crew, &crew.day).await;
    assert_eq!(
        stop_ids(&route_of(&day, crew.team_b)),
        vec![moving],
        "{day}"
    );
    assert!(!stop_ids(&route_of(&day, crew.team_a)).contains(&moving));
}

async fn day_wide_changes_at_once_apply_once(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 4).await;
    let day = day_routes(&app, &crew, &crew.day).await;
    let tag = format!("\"{}\"", day["tag"].as_str().unwrap());
    let answers = at_once(
        &app,
        8,
        Method::POST,
        &format!("/v1/teams/{}/absences", crew.team_a),
        &crew.region.coordinator,
        Some(json!({"date": crew.day, "reason": "Motor mogok", "time_limit_seconds": 1})),
        &[("If-Match", &tag)],
    )
    .await;
    one_winner(&answers, 200, &["version_conflict", "already_exists"]);
    assert_eq!(
        db_count(&app, "SELECT COUNT(*) AS n FROM team_absences").await,
        1
    );
    // Every visit team A had is now with team B or back in the queue, each exactly once.
    let day = day_routes(&app, &crew, &crew.day).await;
    assert!(stop_ids(&route_of(&day, crew.team_a)).is_empty(), "{day}");
    let on_b = stop_ids(&route_of(&day, crew.team_b));
    let mut seen = on_b.clone();
    seen.dedup();
    assert_eq!(seen.len(), on_b.len(), "{day}");

    // The day re-planned at once from one tag: at most one re-plan changes anything.
    let tag = format!("\"{}\"", day["tag"].as_str().unwrap());
    let answers = at_once(
        &app,
        6,
        Method::POST,
        &format!("/v1/days/{}/replan", crew.day),
        &crew.region.coordinator,
        Some(json!({"region_id": crew.region.id, "time_limit_seconds": 1})),
        &[("If-Match", &tag)],
    )
    .await;
    let tally = tally(&answers);
    let changed = answers
        .iter()
        .filter(|r| r.status == 200 && !r.body["versions"].as_array().unwrap().is_empty())
        .count();
    assert!(changed <= 1, "{tally}");
    for r in &answers {
        assert!(
            r.status == 200 || r.body["code"] == "version_conflict",
            "{tally}: {}",
            r.body
        );
    }
}

async fn a_request_changed_at_once_changes_once(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000501").await;

    // One Idempotency-Key sent ten times at once: one request, every answer about it.
    let key = uuid::Uuid::new_v4().to_string();
    let body = app.request_body(&region);
    let answers = at_once(
        &app,
        10,
        Method::POST,
        "/v1/requests",
        &citizen,
        Some(body),
        &[("Idempotency-Key", &key)],
    )
    .await;
    let tally = tally(&answers);
    assert!(answers.iter().all(|r| r.status.is_success()), "{tally}");
    let id = answers[0].id();
    assert!(answers.iter().all(|r| r.id() == id), "{tally}");
    assert_eq!(
        db_count(&app, "SELECT COUNT(*) AS n FROM visit_requests").await,
        1
    );

    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let windows = json!({"preferred_windows": [
        {"date": (today + chrono::Duration::days(4)).to_string(), "start": "13:00", "end": "15:00"}
    ]});
    let answers = at_once(
        &app,
        10,
        Method::PUT,
        &format!("/v1/requests/{id}/preferred-windows"),
        &citizen,
        Some(windows),
        &[("If-Match", "\"1\"")],
    )
    .await;
    one_winner(&answers, 200, &["version_conflict"]);
    let answers = at_once(
        &app,
        10,
        Method::POST,
        &format!("/v1/requests/{id}/cancel"),
        &citizen,
        Some(json!({"reason": "Sudah ke kantor"})),
        &[("If-Match", "\"2\"")],
    )
    .await;
    one_winner(&answers, 200, &["version_conflict"]);
    let r = app.get(&format!("/v1/requests/{id}"), &citizen).await;
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["version"], 3);
    let events = app
        .get(&format!("/v1/requests/{id}/events"), &region.coordinator)
        .await;
    assert_eq!(events.body.as_array().unwrap().len(), 3, "{}", events.body);
}

async fn a_replayed_batch_at_once_is_applied_once(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 3).await;
    let (a, b) = (crew.requests[0], crew.requests[1]);
    let before = outbox_rows(&app).await.len();
    let batch = json!({"events": [
        {"id": "ev-1", "kind": "arrived", "request_id": a, "at": "2026-11-23T01:30:00Z"},
        {"id": "ev-2", "kind": "completed", "request_id": a, "at": "2026-11-23T02:00:00Z"},
        {"id": "ev-3", "kind": "citizen_absent", "request_id": b, "at": "2026-11-23T02:30:00Z"},
        {"id": "ev-4", "kind": "arrived", "request_id": 987_654, "at": "2026-11-23T02:40:00Z"}
    ]});
    let answers = at_once(
        &app,
        6,
        Method::POST,
        "/v1/me/events",
        &crew.region.officer,
        Some(batch),
        &[],
    )
    .await;
    let tally = tally(&answers);
    assert!(answers.iter().all(|r| r.status == 200), "{tally}");
    for event in 0..3 {
        let results: Vec<&str> = answers
            .iter()
            .map(|r| r.body["results"][event]["result"].as_str().unwrap())
            .collect();
        assert_eq!(
            results.iter().filter(|r| **r == "applied").count(),
            1,
            "event {event}: {results:?}"
        );
        assert_eq!(
            results.iter().filter(|r| **r == "duplicate").count(),
            5,
            "event {event}: {results:?}"
        );
    }
    // The unknown request is this event's problem alone: answered, kept once, never a 500.
    let unknown: Vec<&str> = answers
        .iter()
        .map(|r| r.body["results"][3]["result"].as_str().unwrap())
        .collect();
    assert_eq!(unknown.iter().filter(|r| **r == "conflict").count(), 1);
    assert_eq!(
        db_count(&app, "SELECT COUNT(*) AS n FROM field_events").await,
        4
    );
    // completed → the citizen; the next citizen → on the way; absent → the citizen.
    let kinds: Vec<String> = outbox_rows(&app).await[before..]
        .iter()
        .map(|r| r.kind.as_str().to_string())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "completed").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "citizen_absent").count(),
        1,
        "{kinds:?}"
    );
}

async fn reports_only_from_the_team_the_visit_is_on_now(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 3).await;
    let day = day_routes(&app, &crew, &crew.day).await;
    let route = route_of(&day, crew.team_a);
    let moving = stop_ids(&route)[2];
    let r = app
        .call(
            Method::POST,
            &format!("/v1/routes/{}/changes", route["id"]),
            Some(&crew.region.coordinator),
            Some(json!({"op": "move", "request_id": moving, "to_team_id": crew.team_b})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Team A's officer still has the old copy; team B's officer has the visit now.
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.region.officer),
            json!({"events": [{"id": "a-1", "kind": "completed", "request_id": moving, "at": "2026-11-23T02:00:00Z"}]}),
        )
        .await;
    assert_eq!(r.body["results"][0]["result"], "conflict", "{}", r.body);
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.officer_b),
            json!({"events": [{"id": "b-1", "kind": "completed", "request_id": moving, "at": "2026-11-23T02:00:00Z"}]}),
        )
        .await;
    assert_eq!(r.body["results"][0]["result"], "applied", "{}", r.body);
}

async fn one_phone_registered_at_once_is_one_device(backend: Backend) {
    let app = spawn(backend).await;
    let citizen = app.citizen("081200000502").await;
    let answers = at_once(
        &app,
        10,
        Method::POST,
        "/v1/devices",
        &citizen,
        Some(json!({"token": "fcm-raced-phone-token-000001", "platform": "android"})),
        &[],
    )
    .await;
    let tally = tally(&answers);
    assert!(answers.iter().all(|r| r.status.is_success()), "{tally}");
    let r = app.get("/v1/devices", &citizen).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1, "{}", r.body);
    assert_eq!(db_count(&app, "SELECT COUNT(*) AS n FROM devices").await, 1);
}

async fn one_member_added_at_once_is_added_once(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let r = app
        .post(
            "/v1/teams",
            Some(&region.coordinator),
            json!({"name": "Tim Wates", "depot": {"lat": crate::helpers::WATES.0, "lon": crate::helpers::WATES.1},
                   "vehicle_profile": "motorbike", "skills": ["adminduk"], "max_visits_per_day": 8}),
        )
        .await;
    let team = r.id();
    let answers = at_once(
        &app,
        10,
        Method::PUT,
        &format!("/v1/teams/{team}/members/{}", region.officer_id),
        &region.coordinator,
        None,
        &[],
    )
    .await;
    let tally = tally(&answers);
    assert!(answers.iter().all(|r| r.status.is_success()), "{tally}");
    assert_eq!(
        db_count(&app, "SELECT COUNT(*) AS n FROM team_members").await,
        1
    );
    assert_eq!(
        db_count(
            &app,
            "SELECT COUNT(*) AS n FROM events WHERE action = 'member_added'"
        )
        .await,
        1
    );
}

async fn guesses_at_once_check_at_most_the_allowed_attempts(backend: Backend) {
    let app = spawn(backend).await;
    let r = app
        .post(
            "/v1/auth/otp/request",
            None,
            json!({"phone": "081200000503"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let code = app.sms_codes("+6281200000503").await.pop().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let answers = join_all((0..20).map(|_| {
        app.post(
            "/v1/auth/otp/verify",
            None,
            json!({"phone": "081200000503", "code": wrong}),
        )
    }))
    .await;
    let tally = tally(&answers);
    let wrong_answers = answers
        .iter()
        .filter(|r| r.body["code"] == "invalid_code")
        .count();
    // The fifth wrong guess already answers that no attempt is left.
    assert_eq!(wrong_answers, 4, "{tally}");
    for r in &answers {
        assert!(
            ["invalid_code", "too_many_attempts"].contains(&r.body["code"].as_str().unwrap()),
            "{tally}: {}",
            r.body
        );
    }
    assert_eq!(
        db_count(
            &app,
            "SELECT CAST(MAX(attempts) AS BIGINT) AS n FROM otp_codes"
        )
        .await,
        5
    );
    // Spent: even the right code is refused now.
    app.post(
        "/v1/auth/otp/verify",
        None,
        json!({"phone": "081200000503", "code": code}),
    )
    .await
    .assert_error(429, "too_many_attempts", None);
}

async fn code_requests_at_once_never_pass_the_hourly_cap(backend: Backend) {
    let app = spawn(backend).await;
    let cap = app.settings.auth.otp_max_per_phone_per_hour;
    let answers = join_all((0..20).map(|_| {
        app.post(
            "/v1/auth/otp/request",
            None,
            json!({"phone": "081200000504"}),
        )
    }))
    .await;
    let tally = tally(&answers);
    let sent = answers.iter().filter(|r| r.status == 202).count();
    assert_eq!(i64::try_from(sent).unwrap(), cap, "{tally}");
    for r in answers.iter().filter(|r| r.status != 202) {
        r.assert_error(429, "too_many_codes", None);
    }
    // Codes are stored under the phone's keyed hash, not its number.
    let hash = jemput::privacy::ring()
        .unwrap()
        .phone_hash("+6281200000504");
    let db = app.db.clone();
    let stored: i64 = tokio::task::spawn_blocking(move || {
        use jemput::db::schema::otp_codes;
        otp_codes::table
            .filter(otp_codes::phone_hash.eq(hash))
            .count()
            .get_result(&mut *db.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(stored, cap);
    assert_eq!(
        i64::try_from(app.sms_codes("+6281200000504").await.len()).unwrap(),
        cap
    );
}

/// Is `request` a stop of any route the team would drive (a route of today or later)?
async fn on_a_route(app: &TestApp, request: i64) -> bool {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        diesel::sql_query("SELECT COUNT(*) AS n FROM route_stops WHERE request_id = $1")
            .bind::<diesel::sql_types::BigInt, _>(request)
            .get_result::<Count>(&mut db.get().unwrap())
            .unwrap()
            .n
            > 0
    })
    .await
    .unwrap()
}

/// A citizen calls a visit off while the coordinator publishes the plan that schedules it.
/// Whoever comes first, a cancelled visit never ends on a route and a scheduled one always does.
async fn a_cancel_racing_a_publish_never_leaves_a_cancelled_visit_on_a_route(backend: Backend) {
    let app = spawn(backend).await;
    let crew: Crew = crew(&app, 1).await;
    let rounds = 4;
    for round in 0..rounds {
        let request = app.create_request(&crew.citizen, &crew.region).await.id();
        let id = plan(&app, &crew.region.coordinator).await;
        done(&app, &crew.region.coordinator, id).await;
        let (cancel_path, publish_path) = (
            format!("/v1/requests/{request}/cancel"),
            format!("/v1/plans/{id}/publish"),
        );
        let cancel = app.call(
            Method::POST,
            &cancel_path,
            Some(&crew.citizen),
            Some(json!({})),
            &[("If-Match", "\"1\"")],
        );
        let publish = app.post(&publish_path, Some(&crew.region.coordinator), json!({}));
        let (cancel, publish) = tokio::join!(cancel, publish);
        let status = app
            .get(&format!("/v1/requests/{request}"), &crew.citizen)
            .await
            .body["status"]
            .as_str()
            .unwrap()
            .to_string();
        let on_route = on_a_route(&app, request).await;
        match (cancel.status.as_u16(), publish.status.as_u16()) {
            (200, 409) => {
                assert_eq!(publish.body["code"], "plan_outdated", "{}", publish.body);
                assert_eq!(status, "cancelled");
                assert!(!on_route, "round {round}: a cancelled visit is on a route");
            }
            (409, 200) => {
                assert_eq!(cancel.body["code"], "version_conflict", "{}", cancel.body);
                assert_eq!(status, "scheduled");
                assert!(on_route, "round {round}: a scheduled visit is on no route");
            }
            other => panic!(
                "round {round}: cancel/publish answered {other:?}: {} / {}",
                cancel.body, publish.body
            ),
        }
    }
}

/// Citizens keep filing requests for the planned dates while the plan runs: the plan still
/// publishes (only what the planner read can make it stale), and what was filed meanwhile and
/// left out of the plan simply waits for the next one.
async fn a_plan_publishes_while_citizens_keep_filing(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 2).await;
    let id = plan(&app, &crew.region.coordinator).await;
    let mut filed = Vec::new();
    loop {
        filed.push(app.create_request(&crew.citizen, &crew.region).await.id());
        let r = app
            .get(&format!("/v1/plans/{id}"), &crew.region.coordinator)
            .await;
        if r.body["status"] == "done" {
            break;
        }
        assert_ne!(r.body["status"], "failed", "{}", r.body);
    }
    let r = app
        .post(
            &format!("/v1/plans/{id}/publish"),
            Some(&crew.region.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for request in filed {
        let status = app
            .get(&format!("/v1/requests/{request}"), &crew.citizen)
            .await
            .body["status"]
            .clone();
        assert!(status == "scheduled" || status == "submitted", "{status}");
    }
}

/// Two service instances on one PostgreSQL database: the same write sent to both at once still
/// has one winner.
#[tokio::test]
async fn two_instances_agree_on_one_winner() {
    let app = spawn(Backend::Postgres).await;
    let crew = crew(&app, 4).await;
    let other = crate::helpers::spawn_second_instance(&app, |_| {}).await;
    let both = [&app, &other];
    let day = day_routes(&app, &crew, &crew.day).await;
    let route = route_of(&day, crew.team_a);
    let route_id = route["id"].as_i64().unwrap();
    let answers = at_once_on(
        &both,
        10,
        Method::POST,
        &format!("/v1/routes/{route_id}/changes"),
        &crew.region.coordinator,
        Some(json!({"op": "lock", "locked": true})),
        &[("If-Match", "\"1\"")],
    )
    .await;
    one_winner(&answers, 200, &["version_conflict"]);

    app.create_request(&crew.citizen, &crew.region).await;
    let id = plan(&app, &crew.region.coordinator).await;
    done(&app, &crew.region.coordinator, id).await;
    let answers = at_once_on(
        &both,
        8,
        Method::POST,
        &format!("/v1/plans/{id}/publish"),
        &crew.region.coordinator,
        Some(json!({})),
        &[],
    )
    .await;
    one_winner(&answers, 200, &["plan_already_published"]);

    let answers = at_once_on(
        &both,
        6,
        Method::POST,
        "/v1/me/events",
        &crew.region.officer,
        Some(json!({"events": [
            {"id": "two-1", "kind": "arrived", "request_id": crew.requests[0], "at": "2026-11-23T01:30:00Z"}
        ]})),
        &[],
    )
    .await;
    let applied = answers
        .iter()
        .filter(|r| r.body["results"][0]["result"] == "applied")
        .count();
    assert_eq!(applied, 1, "{}", tally(&answers));
}

both_backends!(
    a_plan_publishes_while_citizens_keep_filing,
    publishing_one_plan_at_once_publishes_it_once,
    the_same_route_change_at_once_applies_once,
    day_wide_changes_at_once_apply_once,
    a_request_changed_at_once_changes_once,
    a_replayed_batch_at_once_is_applied_once,
    reports_only_from_the_team_the_visit_is_on_now,
    one_phone_registered_at_once_is_one_device,
    one_member_added_at_once_is_added_once,
    guesses_at_once_check_at_most_the_allowed_attempts,
    code_requests_at_once_never_pass_the_hourly_cap,
    a_cancel_racing_a_publish_never_leaves_a_cancelled_visit_on_a_route,
);

/// Two processes on one SQLite file are two `Db`s, each with its own in-process writer lock.
/// A write that reads, then writes, must still take turns with the other process's: begun
/// deferred, both would read, and the second to write would fail with "database is locked".
#[tokio::test]
async fn two_processes_on_one_sqlite_file_take_turns_to_write() {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let (url, _dir, _) = crate::helpers::fresh_database(Backend::Sqlite);
    let settings = jemput::config::DatabaseSettings {
        url,
        url_file: String::new(),
        pool_size: 4,
    };
    let one = jemput::db::Db::connect(&settings).unwrap();
    let two = jemput::db::Db::connect(&settings).unwrap();
    diesel::sql_query("CREATE TABLE tally (seen BIGINT NOT NULL)")
        .execute(&mut *one.get().unwrap())
        .unwrap();
    let writes = (0..16).map(|i| {
        let db = if i % 2 == 0 { one.clone() } else { two.clone() };
        async move {
            db.write(|conn| {
                let seen = diesel::sql_query("SELECT COUNT(*) AS n FROM tally")
                    .get_result::<Count>(conn)?
                    .n;
                // Widen the window between the read and the write.
                std::thread::sleep(std::time::Duration::from_millis(5));
                diesel::sql_query(format!("INSERT INTO tally (seen) VALUES ({seen})"))
                    .execute(conn)?;
                Ok(seen)
            })
            .await
        }
    });
    let mut seen: Vec<i64> = join_all(writes)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    seen.sort_unstable();
    // Each write saw every write before it: one serial order.
    assert_eq!(seen, (0..16).collect::<Vec<i64>>());
}
