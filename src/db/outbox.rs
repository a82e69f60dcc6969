//! The push outbox. Rows are written in the transaction of the change they announce (so a push
//! is never lost nor sent for a change that rolled back) and claimed by the worker with a lease:
//! a worker that dies mid-send leaves rows that are claimed again when the lease runs out (or at
//! once, when the same instance starts again). Every claim names its owner and carries a token;
//! outcomes are written only under the token, so a late worker never overwrites the new owner.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::schema::{devices, outbox};
use super::{now, Claimant, DbConnection, DbResult};
use crate::domain::{OutboxStatus, PushKind};

/// What the phone is told, without the token (filled per device).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushMessage {
    pub data: std::collections::BTreeMap<String, String>,
    /// (title, body) for citizens' visible notifications; none for teams' silent data messages.
    pub notification: Option<(String, String)>,
    pub collapse_key: Option<String>,
    pub high_priority: bool,
    pub ttl_secs: u64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: PushKind,
    pub account_id: i64,
    pub fcm_token: String,
    pub message_json: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub fcm_message_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// The instance holding (or that last held) the row's claim.
    pub claimed_by: Option<String>,
    /// The process of that instance, by boot id.
    pub claimed_boot: Option<String>,
    /// The claim itself; outcomes are recorded only under it.
    pub claim_token: Option<String>,
}

/// Queues `message` for every registered phone of `account_id`; returns how many rows.
pub fn enqueue_for_account(
    conn: &mut DbConnection,
    kind: PushKind,
    account_id: i64,
    message: &PushMessage,
) -> DbResult<usize> {
    let tokens: Vec<String> = devices::table
        .filter(devices::account_id.eq(account_id))
        .order(devices::id)
        .select(devices::fcm_token)
        .load(conn)?;
    let json =
        serde_json::to_string(message).map_err(|e| super::DbError::Corrupt(e.to_string()))?;
    let at = now();
    for token in &tokens {
        diesel::insert_into(outbox::table)
            .values((
                outbox::kind.eq(kind),
                outbox::account_id.eq(account_id),
                outbox::fcm_token.eq(token),
                outbox::message_json.eq(&json),
                outbox::status.eq(OutboxStatus::Pending),
                outbox::attempts.eq(0),
                outbox::next_attempt_at.eq(at),
                outbox::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(tokens.len())
}

/// Claims up to `limit` due rows (pending and due, or sending with an expired lease) for
/// `lease_secs` on behalf of `by`, counting an attempt on each. Every claim gets a new token,
/// carried by the rows it returns: an outcome is recorded only under that token, so a worker
/// whose lease ran out and whose rows were claimed again cannot overwrite what the new owner
/// records. Run inside a write transaction.
pub fn claim(
    conn: &mut DbConnection,
    by: &Claimant,
    limit: i64,
    lease_secs: i64,
) -> DbResult<Vec<OutboxRow>> {
    let at = now();
    let due = outbox::status
        .eq(OutboxStatus::Pending)
        .and(outbox::next_attempt_at.le(at))
        .or(outbox::status
            .eq(OutboxStatus::Sending)
            .and(outbox::locked_until.lt(at)));
    let ids: Vec<i64> = match conn {
        // Concurrent workers (of this process or of other instances) skip each other's rows
        // instead of waiting on them, and never claim one row twice.
        DbConnection::Postgresql(pg) => outbox::table
            .filter(due)
            .order(outbox::id)
            .limit(limit)
            .select(outbox::id)
            .for_update()
            .skip_locked()
            .load(pg)?,
        // SQLite has one writer at a time: `Db::write` serialises this process's writes, and
        // the database lock another process's (the update below re-checks that rows are due).
        DbConnection::Sqlite(lite) => outbox::table
            .filter(due)
            .order(outbox::id)
            .limit(limit)
            .select(outbox::id)
            .load(lite)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)).filter(due))
        .set((
            outbox::status.eq(OutboxStatus::Sending),
            outbox::locked_until.eq(Some(at + chrono::Duration::seconds(lease_secs))),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::claimed_by.eq(Some(&by.instance_id)),
            outbox::claimed_boot.eq(Some(&by.boot_id)),
            outbox::claim_token.eq(Some(&token)),
        ))
        .execute(conn)?;
    Ok(outbox::table
        .filter(outbox::claim_token.eq(&token))
        .order(outbox::id)
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Rows a previous process of this instance (another boot id) claimed and never finished are
/// due again now: that process is dead, so only the rows it had in flight can have reached
/// the phone, and nobody needs to wait for their leases. Returns how many.
pub fn release_own(conn: &mut DbConnection, by: &Claimant) -> DbResult<usize> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::status.eq(OutboxStatus::Sending))
            .filter(outbox::claimed_by.eq(&by.instance_id))
            .filter(outbox::claimed_boot.ne(&by.boot_id)),
    )
    .set((
        outbox::status.eq(OutboxStatus::Pending),
        outbox::next_attempt_at.eq(now()),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::claim_token.eq(None::<String>),
    ))
    .execute(conn)?)
}

/// Is the row still ours to send? False once its token was dropped or the row claimed again.
pub fn still_held(conn: &mut DbConnection, id: i64, claim: &str) -> DbResult<bool> {
    let n: i64 = outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::claim_token.eq(claim))
        .filter(outbox::status.eq(OutboxStatus::Sending))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Records that the row was sent; false (nothing written) when the claim is no longer held.
pub fn mark_sent(
    conn: &mut DbConnection,
    id: i64,
    claim: &str,
    message_name: &str,
) -> DbResult<bool> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::claim_token.eq(claim))
            .filter(outbox::status.eq(OutboxStatus::Sending)),
    )
    .set((
        outbox::status.eq(OutboxStatus::Sent),
        outbox::fcm_message_name.eq(Some(message_name)),
        outbox::sent_at.eq(Some(now())),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Puts the row back to be tried at `at`; false when the claim is no longer held.
pub fn mark_retry(
    conn: &mut DbConnection,
    id: i64,
    claim: &str,
    at: NaiveDateTime,
    error: &str,
) -> DbResult<bool> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::claim_token.eq(claim))
            .filter(outbox::status.eq(OutboxStatus::Sending)),
    )
    .set((
        outbox::status.eq(OutboxStatus::Pending),
        outbox::next_attempt_at.eq(at),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(Some(error)),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// A final outcome other than sent: `failed`, `undeliverable`; false when the claim is no
/// longer held.
pub fn mark_final(
    conn: &mut DbConnection,
    id: i64,
    claim: &str,
    status: OutboxStatus,
    error: &str,
) -> DbResult<bool> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::claim_token.eq(claim))
            .filter(outbox::status.eq(OutboxStatus::Sending)),
    )
    .set((
        outbox::status.eq(status),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(Some(error)),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// FCM says the token is dead: forget the device, and every other queued push to it, whoever
/// holds them (a worker holding one checks [`still_held`] before sending it). Whoever learns
/// it may record it: the token is dead whatever the lease says. Rows already sent stay so.
pub fn drop_token(conn: &mut DbConnection, token: &str, error: &str) -> DbResult<()> {
    diesel::delete(devices::table.filter(devices::fcm_token.eq(token))).execute(conn)?;
    diesel::update(
        outbox::table
            .filter(outbox::fcm_token.eq(token))
            .filter(outbox::status.eq_any([OutboxStatus::Pending, OutboxStatus::Sending])),
    )
    .set((
        outbox::status.eq(OutboxStatus::TokenDropped),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(Some(error)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Settles the pushes still queued (or being sent: a worker checks [`still_held`] first) to
/// `token` for `account_id`, as `device_removed`.
pub fn drop_queued_for(conn: &mut DbConnection, account_id: i64, token: &str) -> DbResult<usize> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::fcm_token.eq(token))
            .filter(outbox::account_id.eq(account_id))
            .filter(outbox::status.eq_any([OutboxStatus::Pending, OutboxStatus::Sending])),
    )
    .set((
        outbox::status.eq(OutboxStatus::DeviceRemoved),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(Some("the device was removed before the push went out")),
    ))
    .execute(conn)?)
}

/// How many rows there are in each status.
pub fn count_by_status(conn: &mut DbConnection) -> DbResult<Vec<(String, i64)>> {
    Ok(outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, id: i64) -> DbResult<OutboxRow> {
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(super::DbError::NotFound)
}

pub fn all(conn: &mut DbConnection) -> DbResult<Vec<OutboxRow>> {
    Ok(outbox::table
        .order(outbox::id)
        .select(OutboxRow::as_select())
        .load(conn)?)
}
