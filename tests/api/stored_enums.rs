//! Statuses, priorities, roles, languages, event kinds and actions are enums stored as text: they
//! round-trip through both backends, and text no variant spells is reported as corrupt data,
//! never a panic.

use diesel::RunQueryDsl;
use jemput::db::plans::{self, NewPlan};
use jemput::db::{accounts, events, outbox, requests, DbError};
use jemput::domain::{EventAction, Language, PlanStatus, Priority, RequestStatus};

use crate::both_backends;
use crate::helpers::{spawn, Backend};

async fn a_stored_status_reads_back_as_its_enum_and_unknown_text_is_corrupt(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000090").await;
    let id = app.create_request(&citizen, &region).await.id();
    let mut conn = app.db.get().unwrap();
    let stored = requests::find(&mut conn, id).unwrap();
    assert_eq!(stored.status, RequestStatus::Submitted);
    assert_eq!(
        stored.priority,
        Priority::High,
        "bedridden starts one step up"
    );

    diesel::sql_query(format!(
        "UPDATE visit_requests SET status = 'teleported' WHERE id = {id}"
    ))
    .execute(&mut *conn)
    .unwrap();
    match requests::find(&mut conn, id) {
        Err(DbError::Corrupt(why)) => {
            assert!(
                why.contains("RequestStatus") && why.contains("teleported"),
                "{why}"
            )
        }
        other => panic!("expected corrupt data, got {other:?}"),
    }
}

/// `sql` makes the stored text of one enum column unknown; `read` must then report corrupt data
/// naming the enum.
fn assert_corrupt_after<T: std::fmt::Debug>(
    conn: &mut jemput::db::DbConnection,
    sql: &str,
    type_name: &str,
    read: impl FnOnce(&mut jemput::db::DbConnection) -> Result<T, DbError>,
) {
    diesel::sql_query(sql).execute(conn).unwrap();
    match read(conn) {
        Err(DbError::Corrupt(why)) => assert!(why.contains(type_name), "{why}"),
        other => panic!("expected corrupt data naming {type_name}, got {other:?}"),
    }
}

async fn plan_and_outbox_statuses_languages_and_event_actions_are_stored_enums(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000091").await;
    let request = requests::find(
        &mut app.db.get().unwrap(),
        app.create_request(&citizen, &region).await.id(),
    )
    .unwrap();
    let region_id = region.id;
    // Done already: no runner takes it while the test rewrites it.
    let plan = app
        .db
        .write(move |conn| {
            plans::insert(
                conn,
                &Default::default(),
                NewPlan {
                    region_id,
                    dates: "[]".into(),
                    status: PlanStatus::Done,
                    time_limit_ms: 1000,
                    seed: 1,
                    requested_by: None,
                    created_at: jemput::db::now(),
                },
            )
        })
        .await
        .unwrap();
    let mut conn = app.db.get().unwrap();
    let conn = &mut *conn;

    assert_eq!(plans::find(conn, plan.id).unwrap().status, PlanStatus::Done);
    // Both schemas also refuse a plan status no variant spells.
    assert!(diesel::sql_query(format!(
        "UPDATE plans SET status = 'paused' WHERE id = {}",
        plan.id
    ))
    .execute(conn)
    .is_err());

    let account = request.citizen_id;
    assert_eq!(
        accounts::find(conn, account).unwrap().language,
        Language::Id
    );
    assert_corrupt_after(
        conn,
        &format!("UPDATE accounts SET language = 'jv' WHERE id = {account}"),
        "Language",
        |c| accounts::find(c, account),
    );

    let trail = events::for_entity(conn, "visit_request", request.id).unwrap();
    assert_eq!(trail[0].action, EventAction::Created);
    // The trail is append-only: an unknown action can only arrive by insert.
    assert_corrupt_after(
        conn,
        "INSERT INTO events (entity, entity_id, action, created_at) \
         VALUES ('request', 987654, 'teleported', CURRENT_TIMESTAMP)",
        "EventAction",
        |c| events::for_entity(c, "request", 987654),
    );

    assert_corrupt_after(
        conn,
        &format!(
            "INSERT INTO outbox (kind, account_id, fcm_token, message_json, status, attempts, \
             next_attempt_at, created_at) VALUES ('route_changed', {account}, 'token', '{{}}', \
             'lost', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        "OutboxStatus",
        outbox::all,
    );
}

both_backends!(
    a_stored_status_reads_back_as_its_enum_and_unknown_text_is_corrupt,
    plan_and_outbox_statuses_languages_and_event_actions_are_stored_enums,
);
