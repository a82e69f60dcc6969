//! Officers' positions, sent in batches by phones that are often offline. One transaction per
//! batch, under the region's lock (the feed's order needs it) and then the account's, so a
//! batch replayed at once waits for the first and finds its positions stored. A position is
//! judged alone: one outside the region's boundary is refused (`outside_region`) and the rest
//! are kept, because a whole offline hour should not be lost to one GPS jump across the border.
//! The console hears of the batch's newest position, unless a newer one was stored before
//! (an old batch arriving late never moves the marker back).

use std::sync::Arc;

use super::live;
use crate::db::positions::{self, NewPosition};
use crate::db::{accounts, lock_account, lock_region, Db, DbResult};
use crate::domain::Boundary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionResult {
    Stored,
    /// Stored before (a replay): nothing changed this time.
    Duplicate,
    /// Outside the region's boundary: not stored.
    OutsideRegion,
}

/// Store the batch of officer `account_id` of region `region_id`; one result per position.
pub async fn record(
    db: &Db,
    account_id: i64,
    region_id: i64,
    boundary: Option<Arc<Boundary>>,
    batch: Vec<NewPosition>,
) -> DbResult<Vec<PositionResult>> {
    db.write(move |conn| {
        lock_region(conn, region_id)?;
        lock_account(conn, account_id)?;
        let newest_before = positions::latest(conn, account_id)?.map(|(at, _)| at);
        let mut results = Vec::with_capacity(batch.len());
        let mut newest: Option<&NewPosition> = None;
        for position in &batch {
            if boundary
                .as_ref()
                .is_some_and(|b| !b.contains(position.location))
            {
                results.push(PositionResult::OutsideRegion);
                continue;
            }
            if positions::insert(conn, account_id, region_id, position)? {
                results.push(PositionResult::Stored);
                if newest.is_none_or(|n| position.at > n.at) {
                    newest = Some(position);
                }
            } else {
                results.push(PositionResult::Duplicate);
            }
        }
        if let Some(newest) = newest.filter(|n| newest_before.is_none_or(|b| n.at >= b)) {
            let teams = accounts::team_ids(conn, account_id)?;
            live::position(
                conn,
                region_id,
                account_id,
                &teams,
                newest.at,
                newest.location,
                newest.accuracy_m,
            )?;
        }
        Ok(results)
    })
    .await
}
