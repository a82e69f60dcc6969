//! Several instances of the service on one database: planning jobs and pushes are claimed by
//! one instance at a time, under leases; a job is never solved twice into the table and a push
//! never sent twice while the instances live; a dead instance's job is taken over by another
//! when its lease runs out, and a restarted instance takes its own claims back at once.
//!
//! Two instances running side by side are tested on PostgreSQL only: several instances need
//! it (SQLite's single writer is serialised per process, see the README). A restart of one
//! instance is tested on both backends.

use std::collections::BTreeMap;

use jemput::db::events::{self, EventRow};
use jemput::db::outbox::{self, OutboxRow};
use jemput::db::plans::{self, NewPlan, PlanRow};
use jemput::domain::{EventAction, OutboxStatus, PlanStatus, PushKind};
use jemput::push::messages::JemputNotices;
use jemput::push::messages::Notices;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    spawn_crashable, spawn_second_instance, spawn_with, Backend, Region, TestApp,
};
use crate::plans::{days, finished, team};
use crate::push::{sent, settled, FakeFcm};

async fn plan_row(app: &TestApp, id: i64) -> PlanRow {
    app.db
        .read(move |conn| plans::find(conn, id))
        .await
        .unwrap()
}

async fn plan_events(app: &TestApp, id: i64) -> Vec<EventRow> {
    app.db
        .read(move |conn| events::for_entity(conn, "plan", id))
        .await
        .unwrap()
}

/// The events of `action`, each as the instance named in its `after`.
fn by_instance(events: &[EventRow], action: EventAction) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.action == action)
        .map(|e| {
            let after: Value = serde_json::from_str(e.after_json.as_deref().unwrap()).unwrap();
            after["claimed_by"].as_str().unwrap().to_string()
        })
        .collect()
}

/// A region with one team and one request to plan.
async fn region_with_work(app: &TestApp, phone: &str) -> Region {
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    team(app, &region, "Tim Wates", json!(["adminduk"])).await;
    let citizen = app.citizen(phone).await;
    app.create_request(&citizen, &region).await;
    region
}

/// The officer's phones: `n` registered FCM tokens on the officer's account.
async fn officer_phones(app: &TestApp, region: &Region, n: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for i in 0..n {
        let token = format!("fcm-officer-phone-{i:02}-token");
        let r = app
            .post(
                "/v1/devices",
                Some(&region.officer),
                json!({"token": token, "platform": "android"}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        tokens.push(token);
    }
    tokens
}

/// Versions 1..=`versions` of a route, for every phone of the officer.
fn route_pushes(
    conn: &mut jemput::db::DbConnection,
    officer: i64,
    versions: i32,
) -> jemput::db::DbResult<()> {
    for version in 1..=versions {
        let message = JemputNotices.route_changed(
            7,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            version,
        );
        outbox::enqueue_for_account(conn, PushKind::RouteChanged, officer, &message)?;
    }
    Ok(())
}

/// How many times the fake FCM received each (token, route version).
async fn sends_per_message(fcm: &FakeFcm) -> BTreeMap<(String, String), usize> {
    let mut count = BTreeMap::new();
    for m in fcm.messages().await {
        let key = (
            m["token"].as_str().unwrap().to_string(),
            m["data"]["version"].as_str().unwrap().to_string(),
        );
        *count.entry(key).or_insert(0) += 1;
    }
    count
}

async fn two_instances_never_solve_a_plan_or_send_a_push_twice(backend: Backend) {
    let fcm = FakeFcm::start(vec![sent("m")]).await;
    let a = spawn_with(backend, |s| {
        fcm.configure(s);
        // Small batches, so the two workers take turns on the outbox.
        s.push.batch_size = 3;
        s.push.poll_interval_ms = 10;
    })
    .await;
    let b = spawn_second_instance(&a, |_| {}).await;
    let region = region_with_work(&a, "081200000601").await;
    let tokens = officer_phones(&b, &region, 8).await;

    // Six plans, asked of both instances in turn; 96 pushes queued at once.
    let mut ids = Vec::new();
    for n in 0..6 {
        let app = if n % 2 == 0 { &a } else { &b };
        let r = app
            .post(
                "/v1/plans",
                Some(&region.coordinator),
                json!({"dates": days(2, 4), "time_limit_seconds": 1, "seed": n + 1}),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        ids.push(r.id());
    }
    let officer = region.officer_id;
    a.db.write(move |conn| route_pushes(conn, officer, 12))
        .await
        .unwrap();

    for &id in &ids {
        let plan = finished(&b, &region.coordinator, id).await;
        assert_eq!(plan["status"], "done", "{plan}");
        let row = plan_row(&a, id).await;
        assert_eq!(row.attempts, 1, "plan {id} started once: {row:?}");
        let events = plan_events(&a, id).await;
        let started = by_instance(&events, EventAction::PlanningStarted);
        let planned = by_instance(&events, EventAction::Planned);
        assert_eq!(started.len(), 1, "plan {id}: {events:?}");
        assert_eq!(planned, started, "plan {id} solved once, by its claimant");
    }
    let rows: Vec<OutboxRow> = settled(&a).await;
    assert_eq!(rows.len(), 96);
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "{rows:?}"
    );
    let sends = sends_per_message(&fcm).await;
    assert_eq!(sends.len(), 96, "every push reached FCM");
    assert!(
        sends.values().all(|&n| n == 1),
        "a push was sent twice: {sends:?}"
    );
    for token in &tokens {
        assert_eq!(
            sends.keys().filter(|(t, _)| t == token).count(),
            12,
            "{token}"
        );
    }
}

async fn a_dead_instances_running_plan_is_taken_over_after_its_lease(backend: Backend) {
    let mut a = spawn_crashable(backend, |s| s.planning.lease_secs = 2).await;
    let region = region_with_work(&a, "081200000602").await;
    let r = a
        .post(
            "/v1/plans",
            Some(&region.coordinator),
            json!({"dates": days(2, 4), "time_limit_seconds": 5}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.id();
    // Instance A is solving it when it dies.
    let mut running = plan_row(&a, id).await;
    for _ in 0..100 {
        if running.status == PlanStatus::Running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        running = plan_row(&a, id).await;
    }
    assert_eq!(running.status, PlanStatus::Running, "{running:?}");
    assert_eq!(running.claimed_by.as_deref(), Some("instance-a"));
    a.crash();
    let still = plan_row(&a, id).await;
    assert_eq!(
        still.status,
        PlanStatus::Running,
        "A died mid-solve: {still:?}"
    );

    // Instance B, running on the same database, takes the job once A's lease runs out.
    let b = spawn_second_instance(&a, |_| {}).await;
    let plan = finished(&b, &region.coordinator, id).await;
    assert_eq!(plan["status"], "done", "{plan}");
    assert_eq!(plan["draft"]["kpis"]["visits"], 1, "{plan}");
    let row = plan_row(&b, id).await;
    assert_eq!(row.claimed_by.as_deref(), Some("instance-b"));
    assert_eq!(row.attempts, 2);
    let events = plan_events(&b, id).await;
    assert_eq!(
        by_instance(&events, EventAction::PlanningStarted),
        ["instance-a", "instance-b"]
    );
    assert_eq!(by_instance(&events, EventAction::Planned), ["instance-b"]);
}

async fn a_restarted_instance_takes_back_its_claims_at_once(backend: Backend) {
    let fcm = FakeFcm::start(vec![sent("m")]).await;
    // Leases of ten minutes: whatever goes out in this test was taken back, not waited for.
    let mut a = spawn_crashable(backend, |s| {
        fcm.configure(s);
        s.push.lease_secs = 600;
        s.planning.lease_secs = 600;
    })
    .await;
    let region = region_with_work(&a, "081200000603").await;
    let tokens = officer_phones(&a, &region, 3).await;

    // The instance queues a plan and pushes and claims them, as its runner and worker would,
    // then dies before solving or sending anything. (One transaction: nothing else sees them
    // unclaimed.)
    let (me, officer, region_id) = (a.claimant.clone(), region.officer_id, region.id);
    let dates = serde_json::to_string(&days(2, 4)).unwrap();
    let (plan_id, claimed) =
        a.db.write(move |conn| {
            let plan = plans::insert(
                conn,
                &Default::default(),
                NewPlan {
                    region_id,
                    dates,
                    status: PlanStatus::Queued,
                    time_limit_ms: 1000,
                    seed: 1,
                    requested_by: None,
                    created_at: jemput::db::now(),
                },
            )?;
            let running = plans::claim_next(conn, &me, 600)?.unwrap();
            assert_eq!(running.id, plan.id);
            route_pushes(conn, officer, 3)?;
            Ok((plan.id, outbox::claim(conn, &me, 50, 600)?))
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 9);
    a.crash();
    assert!(fcm.messages().await.is_empty());

    // The same instance starts again: its claims are due at once, not in ten minutes.
    a.restart(|_| {}).await;
    let rows = settled(&a).await;
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "{rows:?}"
    );
    let sends = sends_per_message(&fcm).await;
    assert_eq!(sends.len(), 9, "{sends:?}");
    assert!(sends.values().all(|&n| n == 1), "{sends:?}");
    assert!(sends.keys().all(|(t, _)| tokens.contains(t)));
    let plan = finished(&a, &region.coordinator, plan_id).await;
    assert_eq!(plan["status"], "done", "{plan}");
    let row = plan_row(&a, plan_id).await;
    assert_eq!(row.attempts, 2);
    assert_eq!(
        row.claimed_boot.as_deref(),
        Some(a.claimant.boot_id.as_str())
    );
}

/// A writer whose lease ran out and whose claim was taken over stores nothing: not a push
/// outcome over the new owner's, not a plan's result.
async fn a_late_writer_never_overwrites_the_new_owner(backend: Backend) {
    let app = spawn_with(backend, |s| s.push.lease_secs = 600).await;
    let region = region_with_work(&app, "081200000604").await;
    officer_phones(&app, &region, 1).await;
    let (officer, region_id) = (region.officer_id, region.id);
    let dates = serde_json::to_string(&days(2, 4)).unwrap();
    let (row_id, plan_id) = app
        .db
        .write(move |conn| {
            let slow = jemput::db::Claimant::new("instance-slow");
            let other = jemput::db::Claimant::new("instance-other");
            // The slow owner's leases are already over (negative), so the other takes over.
            route_pushes(conn, officer, 1)?;
            let first = outbox::claim(conn, &slow, 10, -1)?;
            let second = outbox::claim(conn, &other, 10, 600)?;
            assert_eq!((first.len(), second.len()), (1, 1));
            let (row, old, new) = (
                first[0].id,
                first[0].claim_token.clone().unwrap(),
                second[0].claim_token.clone().unwrap(),
            );
            assert!(!outbox::still_held(conn, row, &old)?);
            assert!(outbox::still_held(conn, row, &new)?);
            assert!(outbox::mark_sent(
                conn,
                row,
                &new,
                "projects/p/messages/new"
            )?);
            assert!(!outbox::mark_retry(
                conn,
                row,
                &old,
                jemput::db::now(),
                "late"
            )?);
            assert!(!outbox::mark_sent(
                conn,
                row,
                &old,
                "projects/p/messages/old"
            )?);

            let plan = plans::insert(
                conn,
                &Default::default(),
                NewPlan {
                    region_id,
                    dates,
                    status: PlanStatus::Queued,
                    time_limit_ms: 1000,
                    seed: 1,
                    requested_by: None,
                    created_at: jemput::db::now(),
                },
            )?;
            assert_eq!(plans::claim_next(conn, &slow, -1)?.unwrap().id, plan.id);
            assert_eq!(plans::claim_next(conn, &other, 600)?.unwrap().id, plan.id);
            assert!(!plans::renew(conn, plan.id, &slow, 600)?);
            assert!(plans::finish(
                conn,
                plan.id,
                &other,
                Ok(plans::Solved {
                    draft_json: "{}".into(),
                    basis_json: "{}".into(),
                })
            )?);
            assert!(!plans::finish(conn, plan.id, &slow, Err("late".into()))?);
            Ok((row, plan.id))
        })
        .await
        .unwrap();
    let row = app
        .db
        .read(move |conn| outbox::find(conn, row_id))
        .await
        .unwrap();
    assert_eq!(row.status, OutboxStatus::Sent);
    assert_eq!(row.claimed_by.as_deref(), Some("instance-other"));
    assert_eq!(
        row.fcm_message_name.as_deref(),
        Some("projects/p/messages/new")
    );
    let plan = plan_row(&app, plan_id).await;
    assert_eq!(plan.status, PlanStatus::Done);
    assert_eq!(plan.error, None);
    assert_eq!(plan.claimed_by.as_deref(), Some("instance-other"));
}

mod postgres_only {
    use super::*;

    #[tokio::test]
    async fn two_instances_never_solve_a_plan_or_send_a_push_twice() {
        super::two_instances_never_solve_a_plan_or_send_a_push_twice(Backend::Postgres).await
    }

    #[tokio::test]
    async fn a_dead_instances_running_plan_is_taken_over_after_its_lease() {
        super::a_dead_instances_running_plan_is_taken_over_after_its_lease(Backend::Postgres).await
    }
}

/// An instance asked to stop (the shutdown future given to `run_until`) stops serving and
/// returns; before, awaiting the server's stop without driving the server never finished.
async fn an_instance_asked_to_stop_returns(backend: Backend) {
    let first = spawn_with(backend, |_| {}).await;
    let mut settings = first.settings.clone();
    settings.server.instance_id = "instance-stopping".into();
    let app = jemput::startup::Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let live = client
        .get(format!("{base}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    stop.send(()).unwrap();
    // A guard against hanging forever, not a measure of speed.
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(60), running).await;
    assert!(matches!(outcome, Ok(Ok(Ok(())))), "{outcome:?}");
    assert!(reqwest::Client::new()
        .get(format!("{base}/health/live"))
        .send()
        .await
        .is_err());
}

both_backends!(
    an_instance_asked_to_stop_returns,
    a_restarted_instance_takes_back_its_claims_at_once,
    a_late_writer_never_overwrites_the_new_owner,
);
