//! HTTP details: 405 with `Allow` on a known path, weak `If-None-Match`, the team route's tag
//! when citizens' phones start to show, `If-Match` numbers past a version, and a fresh start
//! whose pool opens without an error.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::dispatch::{day, done};
use crate::helpers::{postgres_admin_url, spawn, spawn_with, Backend, Region, TestApp, WATES};

async fn wrong_method_on_a_known_path_is_405_with_allow(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    for (method, path, allow) in [
        (Method::DELETE, "/v1/requests", "GET, POST"),
        (Method::POST, "/v1/requests/7", "GET, PATCH"),
        (Method::GET, "/v1/requests/7/cancel", "POST"),
        (Method::GET, "/v1/auth/login", "POST"),
        (Method::PUT, "/v1/teams/3/absences", "GET, POST"),
        (Method::POST, "/v1/me/routes/2026-11-23", "GET"),
        (Method::POST, "/health/live", "GET"),
    ] {
        let r = app
            .call(method.clone(), path, Some(&admin), None, &[])
            .await;
        r.assert_error(405, "method_not_allowed", None);
        assert_eq!(r.headers["allow"], allow, "{method} {path}");
    }
    // A path nothing serves stays 404, whatever the method.
    for method in [Method::GET, Method::POST] {
        let r = app
            .call(method, "/v1/nothing-here", Some(&admin), None, &[])
            .await;
        r.assert_error(404, "not_found", None);
        assert!(r.headers.get("allow").is_none());
    }
    // The right method still reaches the handler.
    let r = app.get("/v1/regions", &admin).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A region with a team that works every day, one citizen (with a phone) and one visit on the
/// day `offset` days from now, planned and published. Returns the region and the route's day.
pub(crate) async fn one_visit_route(app: &TestApp, offset: i64) -> (Region, String) {
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let every_day: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "08:00", "end": "15:00"}))
        .collect();
    let r = app
        .post(
            "/v1/teams",
            Some(&region.coordinator),
            json!({"name": "Tim Wates", "depot": {"lat": WATES.0, "lon": WATES.1},
                   "vehicle_profile": "motorbike", "skills": ["adminduk"],
                   "shifts": every_day, "max_visits_per_day": 8}),
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
    let citizen = app.citizen("081200000901").await;
    let date = day(offset);
    let mut body = app.request_body(&region);
    body["earliest_date"] = json!(date);
    body["deadline"] = json!(date);
    body["preferred_windows"] = json!([]);
    let r = app.post("/v1/requests", Some(&citizen), body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .post(
            "/v1/plans",
            Some(&region.coordinator),
            json!({"dates": [date], "time_limit_seconds": 1}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let plan = r.id();
    done(app, &region.coordinator, plan).await;
    let r = app
        .post(
            &format!("/v1/plans/{plan}/publish"),
            Some(&region.coordinator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["requests_scheduled"], 1, "{}", r.body);
    (region, date)
}

async fn route_fetch(app: &TestApp, officer: &str, date: &str, held: &str) -> (u16, Value) {
    let r = app
        .call(
            Method::GET,
            &format!("/v1/me/routes/{date}"),
            Some(officer),
            None,
            &[("If-None-Match", held)],
        )
        .await;
    (r.status.as_u16(), r.body)
}

async fn if_none_match_compares_weakly(backend: Backend) {
    let app = spawn(backend).await;
    let (region, date) = one_visit_route(&app, 3).await;
    let r = app
        .get(&format!("/v1/me/routes/{date}"), &region.officer)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Three days ahead the citizen's phone is not shown, and the tag is the bare version.
    assert_eq!(r.headers["etag"], "\"1\"");
    assert!(r.body["stops"][0].get("phone").is_none(), "{}", r.body);
    for held in ["\"1\"", "W/\"1\"", "*", "\"0\", W/\"1\"", "\"7\",\"1\""] {
        let (status, body) = route_fetch(&app, &region.officer, &date, held).await;
        assert_eq!(status, 304, "If-None-Match: {held}");
        assert_eq!(body, Value::Null, "no body with a 304");
    }
    for held in ["\"2\"", "W/\"10\"", "\"0\", \"2\"", "\"1-phones\""] {
        let (status, body) = route_fetch(&app, &region.officer, &date, held).await;
        assert_eq!(status, 200, "If-None-Match: {held}");
        assert_eq!(body["version"], 1);
    }
}

async fn route_tag_changes_when_phones_show(backend: Backend) {
    let app = spawn(backend).await;
    let (region, date) = one_visit_route(&app, 1).await;
    let r = app
        .get(&format!("/v1/me/routes/{date}"), &region.officer)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 1);
    // The day before the visit the team may call ahead: the phone is in, and the tag says so.
    assert_eq!(r.body["stops"][0]["phone"], "+6281200000901", "{}", r.body);
    assert_eq!(r.headers["etag"], "\"1-phones\"");
    // A copy fetched earlier (version 1, no phones) is not current any more.
    let (status, body) = route_fetch(&app, &region.officer, &date, "\"1\"").await;
    assert_eq!(status, 200);
    assert_eq!(body["stops"][0]["phone"], "+6281200000901", "{body}");
    let (status, _) = route_fetch(&app, &region.officer, &date, "W/\"1-phones\"").await;
    assert_eq!(status, 304);

    // Each answer that showed the phone and notes is in the admins' trail; the 304 showed none.
    let admin = app.admin().await;
    let officer_id = app.get("/v1/me", &region.officer).await.body["id"].clone();
    let trail = app.get("/v1/admin/audit", &admin).await;
    let route_reads: Vec<&Value> = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["via"] == "team_route")
        .collect();
    assert_eq!(route_reads.len(), 2, "{}", trail.body);
    for read in route_reads {
        assert_eq!(read["account_id"], officer_id);
        assert_eq!(read["request_id"], r.body["stops"][0]["request_id"]);
        assert_eq!(read["fields"], json!(["phone", "notes"]));
    }
}

async fn if_match_past_any_version_is_a_conflict(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000902").await;
    let request = app.create_request(&citizen, &region).await.id();
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
    let stale = [
        "2147483647",
        "\"2147483647\"",
        "W/\"2147483647\"",
        "2147483648",
        "\"99999999999999999999999\"",
    ];
    for tag in stale {
        let r = app
            .call(
                Method::POST,
                &format!("/v1/requests/{request}/cancel"),
                Some(&citizen),
                Some(json!({})),
                &[("If-Match", tag)],
            )
            .await;
        r.assert_error(409, "version_conflict", None);
        let r = app
            .call(
                Method::PATCH,
                &format!("/v1/requests/{request}"),
                Some(&region.coordinator),
                Some(json!({"priority": "urgent"})),
                &[("If-Match", tag)],
            )
            .await;
        r.assert_error(409, "version_conflict", None);
        let r = app
            .call(
                Method::PATCH,
                &format!("/v1/service-kinds/{}", region.kind_id),
                Some(&region.coordinator),
                Some(json!({"default_duration_minutes": 45})),
                &[("If-Match", tag)],
            )
            .await;
        r.assert_error(409, "version_conflict", None);
        let r = app
            .call(
                Method::PATCH,
                &format!("/v1/teams/{team}"),
                Some(&region.coordinator),
                Some(json!({"max_visits_per_day": 9})),
                &[("If-Match", tag)],
            )
            .await;
        r.assert_error(409, "version_conflict", None);
    }
    for tag in ["\"-1\"", "0", "\"1.5\"", "+1", "\"abc\"", "W/\"\""] {
        let r = app
            .call(
                Method::POST,
                &format!("/v1/requests/{request}/cancel"),
                Some(&citizen),
                Some(json!({})),
                &[("If-Match", tag)],
            )
            .await;
        r.assert_error(400, "missing_header", Some("If-Match"));
    }
    // Nothing changed, and the current version still works.
    let r = app
        .call(
            Method::POST,
            &format!("/v1/requests/{request}/cancel"),
            Some(&citizen),
            Some(json!({})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 2);
}

async fn fresh_start_opens_the_pool_without_errors(backend: Backend) {
    let app = spawn_with(backend, |s| s.database.pool_size = 8).await;
    if backend == Backend::Sqlite {
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        let mut conn = diesel::SqliteConnection::establish(app.settings.database.sqlite_path())
            .expect("open the file");
        conn.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
        let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(mode.journal_mode, "wal");
    }
    // Many first requests at once, each on a connection of the pool.
    let admin = app.admin().await;
    let calls = (0..16).map(|i| {
        let (app, admin) = (&app, admin.clone());
        async move {
            if i % 2 == 0 {
                app.call(Method::GET, "/health/ready", None, None, &[])
                    .await
                    .status
            } else {
                app.get("/v1/regions", &admin).await.status
            }
        }
    });
    for status in futures_util::future::join_all(calls).await {
        assert_eq!(status, 200);
    }
    assert_eq!(
        app.db.connect_errors(),
        0,
        "the pool logged connection errors"
    );
}

/// The pool does not test connections on check-out: one the server killed must fail once and
/// be dropped, never be lent out again.
#[tokio::test]
async fn postgres_connections_the_server_killed_are_replaced() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let app = spawn(Backend::Postgres).await;
    let r = app
        .call(Method::GET, "/health/ready", None, None, &[])
        .await;
    assert_eq!(r.status, 200);
    let name = app
        .settings
        .database
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let mut admin =
        diesel::PgConnection::establish(&format!("{}/postgres", postgres_admin_url())).unwrap();
    let pids: Vec<i32> = diesel::sql_query(format!(
        "SELECT pid FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .load::<Pid>(&mut admin)
    .unwrap()
    .into_iter()
    .map(|b| b.pid)
    .collect();
    assert!(!pids.is_empty());
    let list = pids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ({list})"
    ))
    .execute(&mut admin)
    .unwrap();
    while !diesel::sql_query(format!(
        "SELECT pid FROM pg_stat_activity WHERE pid IN ({list})"
    ))
    .load::<Pid>(&mut admin)
    .unwrap()
    .is_empty()
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Rounds of as many requests at once as the pool holds, so the dead connections are
    // reached: each may fail one request (503), none more than once.
    let pool_size = app.settings.database.pool_size as usize;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let round = (0..pool_size).map(|_| app.call(Method::GET, "/health/ready", None, None, &[]));
        for r in futures_util::future::join_all(round).await {
            statuses.push(r.status.as_u16());
        }
    }
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "{statuses:?}"
    );
    let failed = statuses.iter().filter(|s| **s == 503).count();
    assert!(failed <= pool_size, "{failed} failed: {statuses:?}");
}

both_backends!(
    wrong_method_on_a_known_path_is_405_with_allow,
    if_none_match_compares_weakly,
    route_tag_changes_when_phones_show,
    if_match_past_any_version_is_a_conflict,
    fresh_start_opens_the_pool_without_errors,
);
