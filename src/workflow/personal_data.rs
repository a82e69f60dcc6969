//! A citizen's rights over their personal data (UU 27/2022): a copy of everything held about
//! them, and erasure. Erasure first calls off each open request through the ordinary cancel
//! use case (its own transaction, region lock first, so a scheduled visit leaves its route and
//! the team hears), then removes the personal fields in one transaction under the account's
//! lock. A visit under way refuses the erasure (409) rather than pull a team's address away.

use super::requests as request_changes;
use crate::db::accounts::{self, AccountRow, DeviceRow};
use crate::db::events::{self, Actor, EventRow};
use crate::db::personal::{self, Erased};
use crate::db::requests::{self, RequestRow};
use crate::db::{lock_account, Db, DbError, DbResult};
use crate::domain::{ErrorCode, RequestStatus};
use crate::push::messages::Notices;

/// Everything stored about one account.
pub struct PersonalData {
    pub account: AccountRow,
    pub requests: Vec<(RequestRow, Vec<EventRow>)>,
    pub devices: Vec<DeviceRow>,
}

/// Each request cancelled more often than this while the citizen keeps changing it gives up.
const CANCEL_TRIES: usize = 3;

pub async fn export(db: &Db, account_id: i64) -> DbResult<PersonalData> {
    db.read_consistent(move |conn| {
        let account = accounts::find(conn, account_id)?;
        let (rows, _) = requests::of_citizen(conn, account_id, i64::MAX, 0)?;
        let mut with_events = Vec::with_capacity(rows.len());
        for row in rows {
            let trail = events::for_entity(conn, "visit_request", row.id)?;
            with_events.push((row, trail));
        }
        let devices = accounts::devices_of(conn, account_id)?;
        Ok(PersonalData {
            account,
            requests: with_events,
            devices,
        })
    })
    .await
}

fn in_progress() -> DbError {
    DbError::Refused {
        code: ErrorCode::VisitInProgress,
        message: "a team is at one of your visits now; ask again when it is over \
                  (tim sedang melakukan kunjungan; coba lagi setelah selesai)"
            .to_string(),
    }
}

pub async fn erase<N>(db: &Db, actor: Actor, account_id: i64, notices: N) -> DbResult<Erased>
where
    N: Notices + Clone + Send + 'static,
{
    for _ in 0..CANCEL_TRIES {
        let (open, _) = db
            .read(move |conn| requests::of_citizen(conn, account_id, i64::MAX, 0))
            .await?;
        if open.iter().any(|r| r.status == RequestStatus::InProgress) {
            return Err(in_progress());
        }
        for row in open.iter().filter(|r| r.status.is_cancellable()) {
            match request_changes::cancel(
                db,
                actor.clone(),
                row,
                row.version,
                Some("erasure".to_string()),
                notices.clone(),
            )
            .await
            {
                // Changed meanwhile: the next round reads it again.
                Ok(_) | Err(DbError::VersionConflict { .. }) => {}
                Err(DbError::Refused {
                    code: ErrorCode::InvalidState,
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        let actor = actor.clone();
        let erased = db
            .write(move |conn| {
                lock_account(conn, account_id)?;
                let (now, _) = requests::of_citizen(conn, account_id, i64::MAX, 0)?;
                if now.iter().any(|r| r.status == RequestStatus::InProgress) {
                    return Err(in_progress());
                }
                if now.iter().any(|r| r.status.is_cancellable()) {
                    // A request was filed or rescheduled meanwhile: cancel it first.
                    return Ok(None);
                }
                personal::erase_citizen(conn, &actor, account_id).map(Some)
            })
            .await?;
        if let Some(erased) = erased {
            return Ok(erased);
        }
    }
    Err(DbError::Refused {
        code: ErrorCode::InvalidState,
        message: "your requests kept changing during the erasure; ask again \
                  (permintaan Anda berubah selama penghapusan; coba lagi)"
            .to_string(),
    })
}
