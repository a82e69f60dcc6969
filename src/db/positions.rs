//! Officers' positions as stored: one `team_positions` row per position, unique per account by
//! the phone's id for it, so a replayed batch stores nothing twice.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::team_positions;
use super::{now, DbConnection, DbResult};
use crate::domain::Coordinates;

/// One position, as parsed from the phone.
#[derive(Debug, Clone)]
pub struct NewPosition {
    /// The phone's id for it; `at:<time>` when the phone gave none (one officer is at one
    /// place at a time, so the time identifies it).
    pub client_position_id: String,
    pub at: NaiveDateTime,
    pub location: Coordinates,
    pub accuracy_m: Option<f64>,
}

/// Store `position` of `account_id` in `region_id`. False when the account stored a position
/// with that id already, also when a concurrent batch did so a moment ago (the insert waits for
/// it and does nothing: the unique key decides, never an error).
pub fn insert(
    conn: &mut DbConnection,
    account_id: i64,
    region_id: i64,
    position: &NewPosition,
) -> DbResult<bool> {
    let insert = diesel::insert_into(team_positions::table)
        .values((
            team_positions::account_id.eq(account_id),
            team_positions::region_id.eq(region_id),
            team_positions::client_position_id.eq(&position.client_position_id),
            team_positions::at.eq(position.at),
            team_positions::lat.eq(position.location.lat),
            team_positions::lon.eq(position.location.lon),
            team_positions::accuracy_m.eq(position.accuracy_m),
            team_positions::received_at.eq(now()),
        ))
        .on_conflict_do_nothing();
    // diesel's multi-backend connection has no ON CONFLICT: the same statement per backend.
    let inserted = match conn {
        DbConnection::Postgresql(c) => insert.execute(c)?,
        DbConnection::Sqlite(c) => insert.execute(c)?,
    };
    Ok(inserted == 1)
}

/// The newest stored position of `account_id`, if any: `(at, location)`.
pub fn latest(
    conn: &mut DbConnection,
    account_id: i64,
) -> DbResult<Option<(NaiveDateTime, Coordinates)>> {
    let row: Option<(NaiveDateTime, f64, f64)> = team_positions::table
        .filter(team_positions::account_id.eq(account_id))
        .order(team_positions::at.desc())
        .select((team_positions::at, team_positions::lat, team_positions::lon))
        .first(conn)
        .optional()?;
    Ok(row.map(|(at, lat, lon)| (at, Coordinates { lat, lon })))
}
