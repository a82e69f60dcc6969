//! Migrations are code under test: up → down → up on both backends, and the append-only trail.

use diesel::prelude::*;
use jemput::config::DatabaseSettings;
use jemput::db::{self, Db};

use crate::helpers::{fresh_database, Backend};

fn up_down_up(backend: Backend) {
    let (url, _dir, name) = fresh_database(backend);
    let db = Db::connect(&DatabaseSettings {
        url: url.clone(),
        url_file: String::new(),
        pool_size: 1,
    })
    .unwrap();
    let mut conn = db.get().unwrap();
    db::run_migrations(&mut conn).unwrap();
    let count = |conn: &mut db::DbConnection| db::catalog::regions_all(conn).map(|r| r.len());
    assert_eq!(count(&mut conn).unwrap(), 0);
    db::revert_all_migrations(&mut conn).unwrap();
    assert!(count(&mut conn).is_err(), "tables are gone after down");
    db::run_migrations(&mut conn).unwrap();
    assert_eq!(count(&mut conn).unwrap(), 0);

    // The event trail refuses edits.
    diesel::sql_query("INSERT INTO events (entity, entity_id, action, created_at) VALUES ('x', 1, 'created', '2026-01-01 00:00:00')")
        .execute(&mut conn)
        .unwrap();
    assert!(diesel::sql_query("UPDATE events SET action = 'forged'")
        .execute(&mut conn)
        .is_err());
    assert!(diesel::sql_query("DELETE FROM events")
        .execute(&mut conn)
        .is_err());
    drop(conn);
    drop(db);
    if let Some(name) = name {
        let mut admin = diesel::PgConnection::establish(&format!(
            "{}/postgres",
            crate::helpers::postgres_admin_url()
        ))
        .unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
    }
}

#[test]
fn sqlite_migrations_go_up_down_up() {
    up_down_up(Backend::Sqlite);
}

#[test]
fn postgres_migrations_go_up_down_up() {
    up_down_up(Backend::Postgres);
}

#[test]
fn demo_seed_is_idempotent_and_inside_the_regency() {
    crate::helpers::install_development_keys();
    let (url, _dir, _) = fresh_database(Backend::Sqlite);
    let db = Db::connect(&DatabaseSettings {
        url,
        url_file: String::new(),
        pool_size: 1,
    })
    .unwrap();
    let mut conn = db.get().unwrap();
    db::run_migrations(&mut conn).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let first = jemput::demo::seed(&mut conn, today).unwrap();
    assert!(first.created);
    assert_eq!(first.requests, 200);
    let again = jemput::demo::seed(&mut conn, today).unwrap();
    assert!(!again.created);
    assert_eq!(jemput::demo::villages().unwrap().len(), 88);
    let filter = db::requests::RequestFilter {
        region_id: first.region_id,
        ..Default::default()
    };
    let (_, total) = db::requests::list(&mut conn, &filter, 1, 0).unwrap();
    assert_eq!(total, 200);
}
