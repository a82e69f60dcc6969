//! A person's phones: registering a push token (the same token again refreshes it; a token
//! another account held moves to this one, in one statement, so a race has one outcome) and
//! removing a phone.

use crate::db::accounts::{self, DeviceRow};
use crate::db::{Db, DbResult};
use crate::domain::{Platform, PushToken};

/// Register `token` for `account_id`'s phone, or refresh it.
pub async fn register(
    db: &Db,
    account_id: i64,
    token: PushToken,
    platform: Platform,
) -> DbResult<DeviceRow> {
    db.write(move |conn| {
        accounts::device_upsert(conn, account_id, token.as_str(), platform.as_str())
    })
    .await
}

/// Remove phone `id` of `account_id`; `NotFound` when it is not one of theirs.
pub async fn remove(db: &Db, account_id: i64, id: i64) -> DbResult<()> {
    db.write(move |conn| accounts::device_delete(conn, account_id, id))
        .await
}
