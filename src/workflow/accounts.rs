//! Account administration: deactivating and reactivating staff and citizens, setting a staff
//! password. Each is one transaction of conditional statements on the account's row (no other
//! lock is taken, so no lock order is at stake); every one that must end the account's sessions
//! moves its session version on and revokes its refresh tokens in the same transaction, so
//! access tokens stop working as soon as the session cache lets go of the old version.

use crate::db::accounts::{self, AccountRow};
use crate::db::events::Actor;
use crate::db::{Db, DbError, DbResult};
use crate::domain::{ErrorCode, Role};

/// Deactivates (`active = false`) or reactivates an account; the account as it is afterwards.
/// An admin cannot deactivate themself (nobody might be left to undo it).
pub async fn set_active(
    db: &Db,
    actor: Actor,
    account_id: i64,
    active: bool,
) -> DbResult<AccountRow> {
    db.write(move |conn| {
        if !active && actor.account_id == Some(account_id) {
            return Err(DbError::Refused {
                code: ErrorCode::InvalidState,
                message: "you cannot deactivate your own account".into(),
            });
        }
        accounts::find(conn, account_id)?;
        accounts::set_active(conn, &actor, account_id, active)?;
        accounts::find(conn, account_id)
    })
    .await
}

/// Sets a staff member's password (hashed by the caller) and ends their sessions. `expected`:
/// only while the stored hash is still this one (a change the owner proved with the old
/// password); another change that got in first is a 409.
pub async fn set_password(
    db: &Db,
    actor: Actor,
    account_id: i64,
    new_hash: String,
    expected: Option<String>,
) -> DbResult<()> {
    db.write(move |conn| {
        let account = accounts::find(conn, account_id)?;
        if account.role == Role::Citizen {
            return Err(DbError::Refused {
                code: ErrorCode::InvalidState,
                message: "citizens sign in by SMS code and have no password".into(),
            });
        }
        if !accounts::set_password(conn, &actor, account_id, &new_hash, expected.as_deref())? {
            return Err(DbError::Refused {
                code: ErrorCode::VersionConflict,
                message: "the password was changed meanwhile; sign in again".into(),
            });
        }
        Ok(())
    })
    .await
}
