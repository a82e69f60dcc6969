//! The append-only event trail: every change to stored state also writes one row here, in the
//! same transaction, saying who did what and what it was before and after.

use diesel::prelude::*;
use serde::Serialize;

use super::schema::events;
use super::{now, DbConnection, DbError, DbResult};
use crate::domain::EventAction;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub entity: String,
    pub entity_id: i64,
    pub region_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub action: EventAction,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub request_id: Option<String>,
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = events)]
struct NewEvent<'a> {
    entity: &'a str,
    entity_id: i64,
    region_id: Option<i64>,
    actor_id: Option<i64>,
    action: EventAction,
    before_json: Option<String>,
    after_json: Option<String>,
    request_id: Option<&'a str>,
    created_at: chrono::NaiveDateTime,
}

/// Who made a change, and under which HTTP request id (for tracing it back through the logs).
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub account_id: Option<i64>,
    pub request_id: Option<String>,
}

/// What changed: an entity, the action, and optional before/after snapshots.
pub struct Change<'a> {
    pub entity: &'a str,
    pub entity_id: i64,
    pub region_id: Option<i64>,
    pub action: EventAction,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub fn record(conn: &mut DbConnection, actor: &Actor, change: Change<'_>) -> DbResult<()> {
    diesel::insert_into(events::table)
        .values(NewEvent {
            entity: change.entity,
            entity_id: change.entity_id,
            region_id: change.region_id,
            actor_id: actor.account_id,
            action: change.action,
            before_json: change.before.map(|v| v.to_string()),
            after_json: change.after.map(|v| v.to_string()),
            request_id: actor.request_id.as_deref(),
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

/// The end of every conditional versioned write (`UPDATE … WHERE id = ? AND version = ?`):
/// `updated` rows changed. None means another writer got there first, and the change is
/// refused with `conflict` (the caller's transaction rolls back whole); otherwise `change`
/// joins the trail in the same transaction.
pub fn record_versioned(
    conn: &mut DbConnection,
    actor: &Actor,
    updated: usize,
    conflict: DbError,
    change: Change<'_>,
) -> DbResult<()> {
    if updated == 0 {
        return Err(conflict);
    }
    record(conn, actor, change)
}

pub fn for_entity(
    conn: &mut DbConnection,
    entity: &str,
    entity_id: i64,
) -> DbResult<Vec<EventRow>> {
    Ok(events::table
        .filter(events::entity.eq(entity))
        .filter(events::entity_id.eq(entity_id))
        .order(events::id.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}
