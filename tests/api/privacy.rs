//! Personal data (UU 27/2022): sealed at rest, found by keyed hash, rows from before encryption
//! sealed on upgrade, keys rotated while the service runs.

use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use jemput::config::PrivacySettings;
use jemput::db::schema::{
    accounts, otp_codes, outbox, region_feed, team_positions, visit_requests,
};
use jemput::db::{self, DbConnection};

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn, spawn_second_instance, spawn_with, Backend, TestApp};

const PHONE_LOCAL: &str = "081234567001";
const PHONE_E164: &str = "+6281234567001";

type StoredRequest = (String, Option<String>, String);

async fn stored_request(app: &TestApp, id: i64) -> StoredRequest {
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        visit_requests::table
            .find(id)
            .select((
                visit_requests::address,
                visit_requests::notes,
                visit_requests::accessibility_needs,
            ))
            .first(&mut *conn)
            .unwrap()
    })
    .await
    .unwrap()
}

async fn stored_phones(app: &TestApp) -> (Vec<Option<String>>, Vec<String>) {
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let phones = accounts::table
            .select(accounts::phone)
            .load(&mut *conn)
            .unwrap();
        let codes = otp_codes::table
            .select(otp_codes::phone_hash)
            .load(&mut *conn)
            .unwrap();
        (phones, codes)
    })
    .await
    .unwrap()
}

async fn personal_data_is_sealed_at_rest(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen(PHONE_LOCAL).await;
    let id = app.create_request(&citizen, &region).await.id();

    let (address, notes, needs) = stored_request(&app, id).await;
    for stored in [&address, notes.as_ref().unwrap(), &needs] {
        // (another test in this process may have made its own key the active one)
        assert!(stored.starts_with("pdp1:"), "{stored}");
    }
    assert!(!address.contains("Bendungan") && !needs.contains("bedridden"));
    let (phones, codes) = stored_phones(&app).await;
    assert!(phones.iter().flatten().all(|p| p.starts_with("pdp1:")));
    assert!(codes.iter().all(|c| !c.contains("81234567001")));

    // What people are shown is the plaintext.
    let r = app.get(&format!("/v1/requests/{id}"), &citizen).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["address"], "Dusun Bendungan, RT 02 / RW 01, Wates");
    assert_eq!(r.body["notes"], "Ibu sudah tidak bisa berjalan");
    assert_eq!(r.body["accessibility_needs"][0], "bedridden");
    let me = app.get("/v1/me", &citizen).await;
    // (shown masked, so only readable through a working decryption)
    assert!(me.body["phone"].is_string(), "{}", me.body);

    // Signing in again finds the same account through the keyed hash.
    let again = app.citizen(PHONE_LOCAL).await;
    let me_again = app.get("/v1/me", &again).await;
    assert_eq!(me_again.body["id"], me.body["id"]);
}

/// A database written before encryption (plaintext columns, no hash column) keeps working
/// after the upgrade: the citizen signs in to the same account and sees their request.
async fn a_database_from_before_encryption_still_works(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen(PHONE_LOCAL).await;
    let id = app.create_request(&citizen, &region).await.id();
    let account_id = app.get("/v1/me", &citizen).await.body["id"]
        .as_i64()
        .unwrap();

    // Back to the schema before encryption, with the data as it was stored then.
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let conn: &mut DbConnection = &mut conn;
        // Revert down to (and including) the migration that brought encryption.
        loop {
            let reverted = match &mut *conn {
                DbConnection::Postgresql(c) => c
                    .revert_last_migration(db::POSTGRES_MIGRATIONS)
                    .map(|v| v.to_string()),
                DbConnection::Sqlite(c) => c
                    .revert_last_migration(db::SQLITE_MIGRATIONS)
                    .map(|v| v.to_string()),
            }
            .unwrap();
            if reverted.contains("500001") {
                break;
            }
        }
        diesel::sql_query(format!(
            "UPDATE accounts SET phone = '{PHONE_E164}' WHERE id = {account_id}"
        ))
        .execute(conn)
        .unwrap();
        diesel::sql_query(format!(
            "UPDATE visit_requests SET address = 'Jl. Lama 7, Wates', notes = 'pagar biru', \
             accessibility_needs = '[\"wheelchair\"]' WHERE id = {id}"
        ))
        .execute(conn)
        .unwrap();
    })
    .await
    .unwrap();

    // The upgrade: migrations, then the start-up step seals what is in clear.
    app.restart(|_| {}).await;
    let (address, notes, needs) = stored_request(&app, id).await;
    assert!(address.starts_with("pdp1:") && needs.starts_with("pdp1:"));
    assert!(notes.unwrap().starts_with("pdp1:"));
    let (phones, _) = stored_phones(&app).await;
    assert!(phones.iter().flatten().all(|p| p.starts_with("pdp1:")));

    let citizen = app.citizen(PHONE_LOCAL).await;
    let me = app.get("/v1/me", &citizen).await;
    assert_eq!(me.body["id"], account_id, "{}", me.body);
    let list = app.get("/v1/me/requests", &citizen).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["items"][0]["id"], id, "{}", list.body);
    assert_eq!(list.body["items"][0]["address"], "Jl. Lama 7, Wates");
    assert_eq!(list.body["items"][0]["notes"], "pagar biru");
    assert_eq!(
        list.body["items"][0]["accessibility_needs"][0],
        "wheelchair"
    );
}

/// `jemput rotate-key` re-encrypts every row under the new active key, batch by batch, while
/// the service (knowing both keys) keeps serving.
async fn rotate_key_moves_every_row_to_the_active_key(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen(PHONE_LOCAL).await;
    let first = app.create_request(&citizen, &region).await.id();
    let other = app.citizen("081234567002").await;
    app.create_request(&other, &region).await;
    app.create_request(&other, &region).await;

    let dev = PrivacySettings::development();
    let new_key = base64_of_32(9);
    app.restart(|s| {
        s.privacy.keys.insert(ROTATED.into(), new_key.clone());
        s.privacy.active_key_id = ROTATED.into();
    })
    .await;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jemput"))
        .args(["rotate-key", "--batch", "1"])
        .env("JEMPUT__DATABASE__URL", &app.settings.database.url)
        .env("JEMPUT__PRIVACY__KEYS__DEV", &dev.keys["dev"])
        .env(format!("JEMPUT__PRIVACY__KEYS__{ROTATED}"), &new_key)
        .env("JEMPUT__PRIVACY__ACTIVE_KEY_ID", ROTATED)
        .env("JEMPUT__PRIVACY__LOOKUP_KEY", &dev.lookup_key)
        .env("JEMPUT__LOG__FILTER", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Batches of one: progress after each, and the totals at the end.
    assert!(
        stdout.contains("accounts 2, requests 0 re-encrypted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("done: 2 accounts and 3 requests"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing is left"), "{stdout}");

    let prefix = format!("pdp1:{ROTATED}:");
    let (address, notes, needs) = stored_request(&app, first).await;
    for stored in [address, notes.unwrap(), needs] {
        assert!(stored.starts_with(&prefix), "{stored}");
    }
    let (phones, _) = stored_phones(&app).await;
    assert!(phones.iter().flatten().all(|p| p.starts_with(&prefix)));

    // Still read and found: the same account signs in and reads its request.
    let again = app.citizen(PHONE_LOCAL).await;
    let r = app.get(&format!("/v1/requests/{first}"), &again).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["notes"], "Ibu sudah tidak bisa berjalan");

    // A second run finds nothing to do.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jemput"))
        .args(["rotate-key"])
        .env("JEMPUT__DATABASE__URL", &app.settings.database.url)
        .env("JEMPUT__PRIVACY__KEYS__DEV", &dev.keys["dev"])
        .env(format!("JEMPUT__PRIVACY__KEYS__{ROTATED}"), &new_key)
        .env("JEMPUT__PRIVACY__ACTIVE_KEY_ID", ROTATED)
        .env("JEMPUT__PRIVACY__LOOKUP_KEY", &dev.lookup_key)
        .env("JEMPUT__LOG__FILTER", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("done: 0 accounts and 0 requests"),
        "{stdout}"
    );
}

/// A citizen reads everything held about them, then has it erased: open requests are
/// cancelled through the ordinary cancel (with its history), personal fields are gone, and the
/// phone signs in to a new, empty account.
async fn a_citizen_exports_and_erases_their_data(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen(PHONE_LOCAL).await;
    let first = app.create_request(&citizen, &region).await.id();
    let second = app.create_request(&citizen, &region).await.id();
    let r = app
        .post(
            "/v1/devices",
            Some(&citizen),
            json!({"token": "fcm-token-of-the-citizen", "platform": "android"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let account_id = app.get("/v1/me", &citizen).await.body["id"].clone();

    let export = app.get("/v1/me/export", &citizen).await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert_eq!(export.headers["cache-control"], "no-store");
    assert_eq!(export.body["account"]["phone"], PHONE_E164);
    assert_eq!(export.body["account"]["id"], account_id);
    let requests = export.body["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0]["request"]["notes"],
        "Ibu sudah tidak bisa berjalan"
    );
    assert_eq!(requests[0]["events"][0]["action"], "created");
    assert_eq!(export.body["devices"][0]["platform"], "android");
    assert!(!export.body.to_string().contains("fcm-token-of-the-citizen"));
    // Only citizens have this export; staff data is the administration's.
    app.get("/v1/me/export", &region.coordinator)
        .await
        .assert_error(403, "forbidden", None);
    app.post("/v1/me/erasure", Some(&region.officer), json!({}))
        .await
        .assert_error(403, "forbidden", None);

    let r = app.post("/v1/me/erasure", Some(&citizen), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["requests"], 2);
    assert_eq!(r.body["devices"], 1);

    for id in [first, second] {
        let r = app
            .get(&format!("/v1/requests/{id}"), &region.coordinator)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "cancelled");
        assert_eq!(r.body["address"], "");
        assert_eq!(r.body["notes"], Value::Null);
        assert_eq!(r.body["accessibility_needs"], json!([]));
        // The trail keeps the facts: created, then cancelled for the erasure.
        let trail = app
            .get(&format!("/v1/requests/{id}/events"), &region.coordinator)
            .await;
        let actions: Vec<&str> = trail
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["created", "cancelled"], "{}", trail.body);
        assert!(!trail.body.to_string().contains("Bendungan"));
    }
    let (_, codes) = stored_phones(&app).await;
    assert!(codes.is_empty(), "{codes:?}");
    let db = app.db.clone();
    let erased_id = account_id.as_i64().unwrap();
    let (phone, hash, active): (Option<String>, Option<String>, bool) =
        tokio::task::spawn_blocking(move || {
            accounts::table
                .find(erased_id)
                .select((accounts::phone, accounts::phone_hash, accounts::active))
                .first(&mut *db.get().unwrap())
                .unwrap()
        })
        .await
        .unwrap();
    assert_eq!((phone, hash, active), (None, None, false));

    // The phone number now belongs to nobody: signing in starts a new, empty account.
    let fresh = app.citizen(PHONE_LOCAL).await;
    let me = app.get("/v1/me", &fresh).await;
    assert_ne!(me.body["id"], account_id);
    let mine = app.get("/v1/me/requests", &fresh).await;
    assert_eq!(mine.body["total"], 0, "{}", mine.body);
}

/// The background purge removes what is past its retention (backdated here) and keeps what
/// is still needed: a live code, a pending push, fresh positions, each region's newest feed row.
async fn rows_past_their_retention_are_purged(backend: Backend) {
    let app = spawn_with(backend, |s| {
        s.privacy.retention_interval_secs = 1;
        s.privacy.retention_days.sign_in_codes = 1;
        s.privacy.retention_days.outbox = 2;
        s.privacy.retention_days.positions = 3;
        s.privacy.retention_days.feed = 4;
    })
    .await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    app.citizen(PHONE_LOCAL).await; // a used code
    let r = app
        .post(
            "/v1/auth/otp/request",
            None,
            json!({"phone": "081234567002"}),
        )
        .await; // a live code
    assert_eq!(r.status, 202, "{}", r.body);

    // Two instances purge the same database at once.
    let _second = spawn_second_instance(&app, |_| {}).await;
    let (region_id, officer) = (region.id, region.officer_id);
    let db = app.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let conn: &mut DbConnection = &mut conn;
        let now = db::now();
        let days = |n: i64| now - chrono::Duration::days(n);
        diesel::update(otp_codes::table)
            .set(otp_codes::created_at.eq(days(5)))
            .execute(conn)
            .unwrap();
        for (status, age) in [("sent", 3), ("failed", 3), ("pending", 3), ("sent", 1)] {
            diesel::insert_into(outbox::table)
                .values((
                    outbox::kind.eq("route_changed"),
                    outbox::account_id.eq(officer),
                    outbox::fcm_token.eq("t"),
                    outbox::message_json.eq("{}"),
                    outbox::status.eq(status),
                    outbox::attempts.eq(1),
                    // (the pending one is due tomorrow: the sender leaves it alone)
                    outbox::next_attempt_at.eq(days(if status == "pending" { -1 } else { age })),
                    outbox::created_at.eq(days(age)),
                ))
                .execute(conn)
                .unwrap();
        }
        for (i, age) in [4, 4, 1].into_iter().enumerate() {
            diesel::insert_into(team_positions::table)
                .values((
                    team_positions::account_id.eq(officer),
                    team_positions::region_id.eq(region_id),
                    team_positions::client_position_id.eq(format!("p{i}")),
                    team_positions::at.eq(days(age)),
                    team_positions::lat.eq(-7.86),
                    team_positions::lon.eq(110.15),
                    team_positions::received_at.eq(days(age)),
                ))
                .execute(conn)
                .unwrap();
        }
        // All old, but the newest stays: the next event is numbered after it.
        for seq in 1..=3 {
            diesel::insert_into(region_feed::table)
                .values((
                    region_feed::region_id.eq(region_id),
                    region_feed::seq.eq(seq),
                    region_feed::kind.eq("position"),
                    region_feed::payload.eq("{}"),
                    region_feed::created_at.eq(days(10)),
                ))
                .execute(conn)
                .unwrap();
        }
    })
    .await
    .unwrap();

    let db = app.db.clone();
    let left = || {
        let db = db.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = db.get().unwrap();
                let conn: &mut DbConnection = &mut conn;
                let codes: Vec<Option<chrono::NaiveDateTime>> = otp_codes::table
                    .select(otp_codes::consumed_at)
                    .load(conn)
                    .unwrap();
                let pushes: Vec<String> = outbox::table
                    .order(outbox::id)
                    .select(outbox::status)
                    .load(conn)
                    .unwrap();
                let positions: Vec<String> = team_positions::table
                    .order(team_positions::id)
                    .select(team_positions::client_position_id)
                    .load(conn)
                    .unwrap();
                let feed: Vec<i64> = region_feed::table
                    .filter(region_feed::region_id.eq(region_id))
                    .select(region_feed::seq)
                    .load(conn)
                    .unwrap();
                (codes, pushes, positions, feed)
            })
            .await
            .unwrap()
        }
    };
    let mut seen = left().await;
    for _ in 0..100 {
        if seen.1.len() == 2 && seen.3.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        seen = left().await;
    }
    let (codes, pushes, positions, feed) = seen;
    assert_eq!(codes, [None], "only the live code is left");
    assert_eq!(pushes, ["pending", "sent"]);
    assert_eq!(positions, ["p2"]);
    assert_eq!(feed, [3]);
}

/// A coordinator reading a request with notes is recorded (who, which request, what, how);
/// a citizen reading their own, or a request without notes, is not. Admins read the trail.
async fn staff_reads_of_notes_are_audited(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen(PHONE_LOCAL).await;
    let with_notes = app.create_request(&citizen, &region).await.id();
    let mut body = app.request_body(&region);
    body["notes"] = Value::Null;
    let r = app.post("/v1/requests", Some(&citizen), body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let without_notes = r.id();
    let coordinator_id = app.get("/v1/me", &region.coordinator).await.body["id"].clone();

    app.get(&format!("/v1/requests/{with_notes}"), &citizen)
        .await;
    app.get(
        &format!("/v1/requests/{without_notes}"),
        &region.coordinator,
    )
    .await;
    let empty = app.get("/v1/admin/audit", &admin).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["total"], 0, "{}", empty.body);

    let r = app
        .get(&format!("/v1/requests/{with_notes}"), &region.coordinator)
        .await;
    assert_eq!(r.status, 200);
    let r = app.get("/v1/requests", &region.coordinator).await;
    assert_eq!(r.body["total"], 2, "{}", r.body);

    let trail = app.get("/v1/admin/audit?limit=10", &admin).await;
    assert_eq!(trail.status, 200, "{}", trail.body);
    assert_eq!(trail.headers["cache-control"], "no-store");
    assert_eq!(trail.body["total"], 2, "{}", trail.body);
    let items = trail.body["items"].as_array().unwrap();
    // Newest first: the list, then the single read; only the request with notes.
    assert_eq!(items[0]["via"], "request_list");
    assert_eq!(items[1]["via"], "request");
    for item in items {
        assert_eq!(item["request_id"], with_notes);
        assert_eq!(item["account_id"], coordinator_id);
        assert_eq!(item["fields"], json!(["notes"]));
        assert!(item["at"].is_string());
    }
    let paged = app.get("/v1/admin/audit?limit=1&offset=1", &admin).await;
    assert_eq!(paged.body["items"][0]["via"], "request");
    app.get("/v1/admin/audit", &region.coordinator)
        .await
        .assert_error(403, "forbidden", None);
}

/// Erasure is refused while the team is at one of the citizen's visits.
async fn erasure_waits_while_a_visit_is_under_way(backend: Backend) {
    let app = spawn(backend).await;
    let (region, date) = crate::http::one_visit_route(&app, 1).await;
    let citizen = app.citizen("081200000901").await;
    let route = app
        .get(&format!("/v1/me/routes/{date}"), &region.officer)
        .await;
    assert_eq!(
        route.body["stops"].as_array().unwrap().len(),
        1,
        "{}",
        route.body
    );
    let request_id = route.body["stops"][0]["request_id"].clone();

    // Under way: refused, and nothing is removed.
    let r = app
        .post(
            "/v1/me/events",
            Some(&region.officer),
            json!({"events": [{"id": "e-1", "kind": "started", "request_id": request_id, "at": chrono::Utc::now()}]}),
        )
        .await;
    assert_eq!(r.body["results"][0]["result"], "applied", "{}", r.body);
    app.post("/v1/me/erasure", Some(&citizen), json!({}))
        .await
        .assert_error(409, "visit_in_progress", None);
    let mine = app.get("/v1/me/requests", &citizen).await;
    assert_eq!(
        mine.body["items"][0]["notes"],
        "Ibu sudah tidak bisa berjalan"
    );
}

/// Erasure takes a scheduled visit off its team's route (through the ordinary cancel).
async fn erasure_takes_a_scheduled_visit_off_its_route(backend: Backend) {
    let app = spawn(backend).await;
    let (region, date) = crate::http::one_visit_route(&app, 1).await;
    let citizen = app.citizen("081200000901").await;
    let before = app
        .get(&format!("/v1/me/routes/{date}"), &region.officer)
        .await;
    assert_eq!(before.body["stops"].as_array().unwrap().len(), 1);

    let r = app.post("/v1/me/erasure", Some(&citizen), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = app
        .get(&format!("/v1/me/routes/{date}"), &region.officer)
        .await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(after.body["stops"], json!([]), "{}", after.body);
    assert!(after.body["version"].as_i64() > before.body["version"].as_i64());
}

/// The id of the key `rotate_key_moves_every_row_to_the_active_key` rotates to.
const ROTATED: &str = "k2";

fn base64_of_32(byte: u8) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

both_backends!(
    personal_data_is_sealed_at_rest,
    a_database_from_before_encryption_still_works,
    rotate_key_moves_every_row_to_the_active_key,
    a_citizen_exports_and_erases_their_data,
    rows_past_their_retention_are_purged,
    staff_reads_of_notes_are_audited,
    erasure_waits_while_a_visit_is_under_way,
    erasure_takes_a_scheduled_visit_off_its_route
);

#[tokio::test]
async fn the_service_refuses_to_start_without_a_key_and_names_the_setting() {
    let mut settings = jemput::config::Settings::defaults().unwrap();
    settings.server.port = 0;
    let err = jemput::startup::Application::build(settings)
        .await
        .err()
        .expect("no key, no service");
    assert!(err.to_string().contains("privacy.keys"), "{err}");
}
