//! Statuses, priorities, roles and event kinds are enums stored as text: they round-trip through
//! both backends, and text no variant spells is reported as corrupt data, never a panic.

use diesel::RunQueryDsl;
use jemput::db::{requests, DbError};
use jemput::domain::{Priority, RequestStatus};

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

both_backends!(a_stored_status_reads_back_as_its_enum_and_unknown_text_is_corrupt);
