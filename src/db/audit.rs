//! The trail of staff reads of citizens' phones and notes (`audit_reads`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_reads;
use super::{DbConnection, DbResult};

/// One staff read of one request's personal fields.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_reads)]
pub struct NewRead {
    pub account_id: i64,
    pub request_id: i64,
    /// Comma-separated: `phone`, `notes`.
    pub fields: String,
    /// `request`, `request_list` or `team_route`.
    pub via: &'static str,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_reads)]
pub struct ReadRow {
    pub id: i64,
    pub account_id: i64,
    pub request_id: i64,
    pub fields: String,
    pub via: String,
    pub at: NaiveDateTime,
}

/// Records the reads of one HTTP request in one statement.
pub fn record(conn: &mut DbConnection, reads: &[NewRead]) -> DbResult<()> {
    if reads.is_empty() {
        return Ok(());
    }
    let insert = diesel::insert_into(audit_reads::table).values(reads);
    // diesel's multi-backend connection has no multi-row insert: the same statement per backend.
    match conn {
        DbConnection::Postgresql(c) => insert.execute(c)?,
        DbConnection::Sqlite(c) => insert.execute(c)?,
    };
    Ok(())
}

/// Newest first.
pub fn page(conn: &mut DbConnection, limit: i64, offset: i64) -> DbResult<(Vec<ReadRow>, i64)> {
    let items = audit_reads::table
        .order(audit_reads::id.desc())
        .limit(limit)
        .offset(offset)
        .select(ReadRow::as_select())
        .load(conn)?;
    let total = audit_reads::table.count().get_result(conn)?;
    Ok((items, total))
}
