//! Planning jobs through HTTP: queued, solved in the background, read back as a draft.

use std::time::Duration;

use diesel::RunQueryDsl;
use jemput::db::plans::{self, NewPlan};
use jemput::db::Claimant;
use jemput::domain::PlanStatus;
use jemput::planning::runner::PlanRunner;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn, Backend, Region, TestApp, WATES};

fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive()
}

pub fn days(from: i64, to: i64) -> Vec<String> {
    (from..=to)
        .map(|d| (today() + chrono::Duration::days(d)).to_string())
        .collect()
}

pub async fn team(app: &TestApp, region: &Region, name: &str, skills: Value) -> i64 {
    let r = app
        .post(
            "/v1/teams",
            Some(&region.coordinator),
            json!({"name": name, "depot": {"lat": WATES.0, "lon": WATES.1},
                   "vehicle_profile": "motorbike", "skills": skills, "max_visits_per_day": 8}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

/// Poll a plan until it leaves the queue and the runner (or time out).
pub async fn finished(app: &TestApp, token: &str, id: i64) -> Value {
    for _ in 0..300 {
        let r = app.get(&format!("/v1/plans/{id}"), token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"] == "done" || r.body["status"] == "failed" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("plan {id} did not finish");
}

async fn planning_produces_a_draft_with_routes_and_reasons(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let skilled = team(&app, &region, "Tim Wates", json!(["adminduk"])).await;
    team(&app, &region, "Tim Kesehatan", json!(["imunisasi"])).await;
    let r = app
        .post(
            "/v1/service-kinds",
            Some(&region.coordinator),
            json!({"code": "bpjs", "name_id": "Pendaftaran BPJS", "name_en": "Health insurance",
                   "default_duration_minutes": 20, "required_skill": "bpjs"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let orphan_kind = r.id();

    let citizen = app.citizen("081200000101").await;
    let mut served = Vec::new();
    for _ in 0..3 {
        served.push(app.create_request(&citizen, &region).await.id());
    }
    let mut body = app.request_body(&region);
    body["service_kind_id"] = json!(orphan_kind);
    let r = app.post("/v1/requests", Some(&citizen), body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let orphan = r.id();

    let r = app
        .post(
            "/v1/plans",
            Some(&region.coordinator),
            json!({"dates": days(2, 8), "time_limit_seconds": 1}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "queued");
    assert_eq!(r.body["dates"].as_array().unwrap().len(), 7);
    let plan = finished(&app, &region.coordinator, r.id()).await;
    assert_eq!(plan["status"], "done", "{plan}");
    let draft = &plan["draft"];
    assert_eq!(draft["time_zone"], "Asia/Jakarta");
    let visited: Vec<i64> = draft["routes"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|route| assert_eq!(route["team_id"], skilled))
        .flat_map(|route| route["stops"].as_array().unwrap().clone())
        .filter(|stop| stop["type"] == "visit")
        .map(|stop| stop["request_id"].as_i64().unwrap())
        .collect();
    let mut sorted = visited.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, served, "{draft}");
    // Every visit starts inside the citizen's preferred hours (08:00–11:00).
    for route in draft["routes"].as_array().unwrap() {
        for stop in route["stops"].as_array().unwrap() {
            if stop["type"] == "visit" {
                let start = stop["start"].as_str().unwrap();
                assert!(("08:00"..="11:00").contains(&start), "{stop}");
            }
        }
    }
    assert_eq!(
        draft["unassigned"],
        json!([{"request_id": orphan, "reason": "no_skilled_team",
                "detail": "no team has every skill the visit needs"}])
    );
    assert_eq!(draft["kpis"]["visits"], 3);
    assert_eq!(draft["kpis"]["requests"], 4);
}

async fn plans_are_for_coordinators_and_checked(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let other = app.region(&admin, "Sleman").await;
    let citizen = app.citizen("081200000102").await;
    let body = json!({"dates": days(1, 2)});

    app.post("/v1/plans", Some(&citizen), body.clone())
        .await
        .assert_error(403, "forbidden", None);
    app.post("/v1/plans", Some(&region.officer), body.clone())
        .await
        .assert_error(403, "forbidden", None);
    app.post("/v1/plans", Some(&region.coordinator), json!({"dates": []}))
        .await
        .assert_error(422, "required", Some("dates"));
    app.post(
        "/v1/plans",
        Some(&region.coordinator),
        json!({"dates": days(-1, 0)}),
    )
    .await
    .assert_error(422, "date_in_past", Some("dates"));
    app.post(
        "/v1/plans",
        Some(&region.coordinator),
        json!({"dates": days(1, 15)}),
    )
    .await
    .assert_error(422, "too_many", Some("dates"));
    app.post(
        "/v1/plans",
        Some(&region.coordinator),
        json!({"dates": days(1, 1), "time_limit_seconds": 0}),
    )
    .await
    .assert_error(422, "out_of_range", Some("time_limit_seconds"));
    app.post(
        "/v1/plans",
        Some(&region.coordinator),
        json!({"dates": ["2026-02-30"]}),
    )
    .await
    .assert_error(400, "invalid_json", Some("dates[0]"));
    app.post(
        "/v1/plans",
        Some(&region.coordinator),
        json!({"dates": days(1, 1), "region_id": other.id}),
    )
    .await
    .assert_error(403, "forbidden", None);
    app.post(
        "/v1/plans",
        Some(&admin),
        json!({"dates": days(1, 1), "region_id": 999_999}),
    )
    .await
    .assert_error(422, "unknown_reference", Some("region_id"));

    let r = app.post("/v1/plans", Some(&region.coordinator), body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.id();
    app.get(&format!("/v1/plans/{id}"), &other.coordinator)
        .await
        .assert_error(404, "not_found", None);
    app.get("/v1/plans/424242", &region.coordinator)
        .await
        .assert_error(404, "not_found", None);
    // An empty region still plans: no routes, nothing unassigned.
    let plan = finished(&app, &admin, id).await;
    assert_eq!(plan["status"], "done", "{plan}");
    assert_eq!(plan["draft"]["routes"], json!([]));
}

async fn a_job_left_running_by_a_crash_is_planned_again(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    team(&app, &region, "Tim Wates", json!(["adminduk"])).await;
    let citizen = app.citizen("081200000103").await;
    app.create_request(&citizen, &region).await;

    // A process of this instance died in the middle of planning: the row says running, under a
    // lease of ten minutes, and nobody works on it. (Queued and claimed in one transaction, so
    // the live runner never sees it queued.)
    let dates = serde_json::to_string(&days(2, 8)).unwrap();
    let region_id = region.id;
    let dead = Claimant {
        instance_id: app.claimant.instance_id.clone(),
        boot_id: "a-process-that-died".into(),
    };
    let stuck = app
        .db
        .write(move |conn| {
            let plan = plans::insert(
                conn,
                &Default::default(),
                NewPlan {
                    region_id,
                    dates,
                    status: PlanStatus::Queued,
                    time_limit_ms: 500,
                    seed: 1,
                    requested_by: None,
                    created_at: jemput::db::now(),
                },
            )?;
            let claimed = plans::claim_next(conn, &dead, 600)?.unwrap();
            assert_eq!(claimed.id, plan.id);
            Ok(plan.id)
        })
        .await
        .unwrap();

    // A new process of the instance starts: its runner queues the job again at once (long
    // before the lease would run out) and plans it.
    let restarted = PlanRunner::spawn(
        app.db.clone(),
        app.settings.planning.clone(),
        Claimant::new(&app.claimant.instance_id),
    );
    let plan = finished(&app, &region.coordinator, stuck).await;
    restarted.shutdown().await;
    assert_eq!(plan["status"], "done", "{plan}");
    assert_eq!(plan["draft"]["kpis"]["visits"], 1, "{plan}");
}

/// A draft as the first format stored it: local `HH:MM` text, no `format`.
const FIRST_FORMAT_DRAFT: &str = r#"{"time_zone":"Asia/Jakarta","routes":[{"team_id":1,
    "team_name":"Tim Wates","date":"2026-11-23","leave":"08:00","back":"09:10","distance_km":3.0,
    "travel_minutes":10.0,"stops":[{"type":"visit","request_id":1,"arrival":"08:05",
    "start":"08:05","end":"08:35","promised_window":{"start":"08:00","end":"09:30"}}]}],
    "unassigned":[],"hotspots":[],"kpis":{"requests":1,"visits":1,"unassigned":0,"routes":1,
    "distance_km":3.0,"travel_hours":0.2,"service_hours":0.5,"teams":[]}}"#;

async fn a_draft_stored_in_the_first_format_is_refused_as_outdated(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    team(&app, &region, "Tim Wates", json!(["adminduk"])).await;
    let citizen = app.citizen("081200000104").await;
    app.create_request(&citizen, &region).await;
    let r = app
        .post(
            "/v1/plans",
            Some(&region.coordinator),
            json!({"dates": days(2, 3), "time_limit_seconds": 1}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.id();
    let plan = finished(&app, &region.coordinator, id).await;
    assert_eq!(plan["status"], "done", "{plan}");
    // Local times in the view, read from the stored instants.
    let leave = plan["draft"]["routes"][0]["leave"].as_str().unwrap();
    assert!(("08:00"..="09:00").contains(&leave), "{plan}");

    // As an earlier version of Jemput left it, before it was published.
    let mut conn = app.db.get().unwrap();
    diesel::sql_query(format!(
        "UPDATE plans SET draft_json = '{FIRST_FORMAT_DRAFT}' WHERE id = {id}"
    ))
    .execute(&mut *conn)
    .unwrap();
    drop(conn);

    let r = app
        .get(&format!("/v1/plans/{id}"), &region.coordinator)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["draft"], Value::Null, "{}", r.body);
    assert!(
        r.body["error"].as_str().unwrap().contains("plan again"),
        "{}",
        r.body
    );
    let r = app
        .post(
            &format!("/v1/plans/{id}/publish"),
            Some(&region.coordinator),
            json!({}),
        )
        .await;
    r.assert_error(409, "plan_outdated", None);
}

both_backends!(
    a_draft_stored_in_the_first_format_is_refused_as_outdated,
    planning_produces_a_draft_with_routes_and_reasons,
    plans_are_for_coordinators_and_checked,
    a_job_left_running_by_a_crash_is_planned_again,
);
