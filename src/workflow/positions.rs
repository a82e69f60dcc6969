//! Officers' positions, sent in batches by phones that are often offline. One transaction per
//! batch, under the region's lock (the feed's order needs it) and then the account's, so a
//! batch replayed at once waits for the first and finds its positions stored. A position is
//! judged alone: one outside the region's boundary is refused (`outside_region`) and the rest
//! are kept, because a whole offline hour should not be lost to one GPS jump across the border.
//! The console hears of the batch's newest position, unless a newer one was stored before
//! (an old batch arriving late never moves the marker back); from that position the arrivals
//! at the team's remaining stops of the day are estimated again (`eta_update`).

use std::sync::Arc;

use super::live;
use crate::db::positions::{self, NewPosition};
use crate::db::{
    accounts, catalog, fieldwork, lock_account, lock_region, Db, DbConnection, DbResult,
};
use crate::domain::{Boundary, RegionClock};
use crate::planning::eta;

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
            reestimate(conn, region_id, &teams, newest)?;
        }
        Ok(results)
    })
    .await
}

/// Each of the officer's teams with a route on the position's day hears its remaining stops'
/// arrivals worked out again from this position (`planning::eta`), as an `eta_update` event;
/// the console marks late risks with it and the citizen's page shows it.
fn reestimate(
    conn: &mut DbConnection,
    region_id: i64,
    teams: &[i64],
    newest: &NewPosition,
) -> DbResult<()> {
    let region = catalog::region_find(conn, region_id)?;
    // A zone the region was stored with always parses; without one there is no day to read.
    let Ok(clock) = RegionClock::of_zone(&region.time_zone) else {
        return Ok(());
    };
    let date = clock.date_at(newest.at.and_utc());
    for &team_id in teams {
        let Some((profile, stops)) = fieldwork::remaining_stops(conn, team_id, date)? else {
            continue;
        };
        if stops.is_empty() {
            continue;
        }
        let etas = eta::from_position(newest.location, newest.at, &profile, &stops);
        live::eta_update(conn, region_id, team_id, date, newest.at, &etas)?;
    }
    Ok(())
}
