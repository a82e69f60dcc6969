//! Purging what is kept only for a while (`privacy.retention_days`): used or expired sign-in
//! codes, pushes sent or given up, officers' positions and the live feed. Each purge deletes
//! in batches, each its own short statement, so it never holds a long lock; running it on two
//! instances at once is harmless (a row is deleted once, the other instance finds it gone).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{otp_codes, outbox, region_feed, team_positions};
use super::{DbConnection, DbResult};
use crate::domain::OutboxStatus;

/// Rows removed by one [`purge`], per kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub sign_in_codes: usize,
    pub outbox: usize,
    pub positions: usize,
    pub feed: usize,
}

/// The cut-offs: rows older than these go.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    pub sign_in_codes: NaiveDateTime,
    pub outbox: NaiveDateTime,
    pub positions: NaiveDateTime,
    pub feed: NaiveDateTime,
}

/// Deletes rows past their cut-off, `batch` at a time.
pub fn purge(conn: &mut DbConnection, cut: &Cutoffs, batch: i64) -> DbResult<Purged> {
    let mut purged = Purged::default();
    let now = super::now();
    loop {
        // Only codes that can no longer be used: consumed or expired.
        let ids: Vec<i64> = otp_codes::table
            .filter(otp_codes::created_at.lt(cut.sign_in_codes))
            .filter(
                otp_codes::consumed_at
                    .is_not_null()
                    .or(otp_codes::expires_at.lt(now)),
            )
            .select(otp_codes::id)
            .limit(batch)
            .load(conn)?;
        if ids.is_empty() {
            break;
        }
        purged.sign_in_codes +=
            diesel::delete(otp_codes::table.filter(otp_codes::id.eq_any(&ids))).execute(conn)?;
    }
    let finished = [
        OutboxStatus::Sent,
        OutboxStatus::Failed,
        OutboxStatus::TokenDropped,
        OutboxStatus::Undeliverable,
    ];
    loop {
        let ids: Vec<i64> = outbox::table
            .filter(outbox::created_at.lt(cut.outbox))
            .filter(outbox::status.eq_any(finished))
            .select(outbox::id)
            .limit(batch)
            .load(conn)?;
        if ids.is_empty() {
            break;
        }
        // The status is checked again: a row is never taken from under a sender.
        purged.outbox += diesel::delete(
            outbox::table
                .filter(outbox::id.eq_any(&ids))
                .filter(outbox::status.eq_any(finished)),
        )
        .execute(conn)?;
    }
    loop {
        let ids: Vec<i64> = team_positions::table
            .filter(team_positions::received_at.lt(cut.positions))
            .select(team_positions::id)
            .limit(batch)
            .load(conn)?;
        if ids.is_empty() {
            break;
        }
        purged.positions +=
            diesel::delete(team_positions::table.filter(team_positions::id.eq_any(&ids)))
                .execute(conn)?;
    }
    let regions: Vec<i64> = region_feed::table
        .filter(region_feed::created_at.lt(cut.feed))
        .select(region_feed::region_id)
        .distinct()
        .load(conn)?;
    for region in regions {
        // The newest row stays whatever its age: the next one is numbered after it, and a
        // console resuming from its last seen number must still see what comes next.
        let head = super::feed::head(conn, region)?;
        loop {
            let seqs: Vec<i64> = region_feed::table
                .filter(region_feed::region_id.eq(region))
                .filter(region_feed::seq.lt(head))
                .filter(region_feed::created_at.lt(cut.feed))
                .select(region_feed::seq)
                .order(region_feed::seq)
                .limit(batch)
                .load(conn)?;
            let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
                break;
            };
            purged.feed += diesel::delete(
                region_feed::table
                    .filter(region_feed::region_id.eq(region))
                    .filter(region_feed::seq.between(first, last))
                    .filter(region_feed::created_at.lt(cut.feed)),
            )
            .execute(conn)?;
        }
    }
    Ok(purged)
}
