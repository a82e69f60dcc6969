//! A region's live feed: what the coordinators' consoles watch (route changes, field reports,
//! team positions), one numbered row per event. Numbers are per region and taken as the next
//! after the region's last while the writer holds the region's row lock, so they are committed
//! in the order they are taken: a console that has seen number n has seen every number below
//! it, which is what lets a reconnect resume from `Last-Event-ID` without loss. Rows are read
//! by polling (see `api::v1::live`); both backends, and any number of instances, read the same.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::region_feed;
use super::{now, DbConnection, DbResult};
use crate::domain::LiveEventKind;

/// One event of a region's feed, as stored.
#[derive(Debug, Clone, Queryable)]
pub struct FeedRow {
    pub region_id: i64,
    pub seq: i64,
    pub kind: LiveEventKind,
    /// JSON: what the console needs, nothing about citizens beyond a request id.
    pub payload: String,
    pub created_at: NaiveDateTime,
}

/// Append an event to `region_id`'s feed. The caller must hold the region's lock
/// ([`super::lock_region`]) in this transaction: that is what keeps the numbers in commit order.
pub fn append(
    conn: &mut DbConnection,
    region_id: i64,
    kind: LiveEventKind,
    payload: &serde_json::Value,
) -> DbResult<i64> {
    let seq = head(conn, region_id)? + 1;
    diesel::insert_into(region_feed::table)
        .values((
            region_feed::region_id.eq(region_id),
            region_feed::seq.eq(seq),
            region_feed::kind.eq(kind),
            region_feed::payload.eq(payload.to_string()),
            region_feed::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(seq)
}

/// The number of the region's latest event; 0 when it has none.
pub fn head(conn: &mut DbConnection, region_id: i64) -> DbResult<i64> {
    let last: Option<i64> = region_feed::table
        .filter(region_feed::region_id.eq(region_id))
        .select(diesel::dsl::max(region_feed::seq))
        .first(conn)?;
    Ok(last.unwrap_or(0))
}

/// The region's events after number `after`, oldest first, at most `limit`.
pub fn after(
    conn: &mut DbConnection,
    region_id: i64,
    after: i64,
    limit: i64,
) -> DbResult<Vec<FeedRow>> {
    Ok(region_feed::table
        .filter(region_feed::region_id.eq(region_id))
        .filter(region_feed::seq.gt(after))
        .order(region_feed::seq.asc())
        .limit(limit)
        .select((
            region_feed::region_id,
            region_feed::seq,
            region_feed::kind,
            region_feed::payload,
            region_feed::created_at,
        ))
        .load(conn)?)
}
