//! Visit requests: intake (idempotent), reads scoped by the caller, filtered listing, and
//! versioned changes (a write from a stale copy gets a conflict, never a silent overwrite).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::events::{self, Actor, Change};
use super::personal::{self, OptionalPersonal, Personal};
use super::schema::visit_requests;
use super::{next_version, now, DbConnection, DbError, DbResult};
use crate::domain::EventAction;
use crate::domain::{Priority, RequestStatus};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = visit_requests)]
pub struct RequestRow {
    pub id: i64,
    pub citizen_id: i64,
    pub region_id: i64,
    pub service_kind_id: i64,
    pub lat: f64,
    pub lon: f64,
    #[diesel(deserialize_as = Personal)]
    pub address: String,
    #[diesel(deserialize_as = OptionalPersonal)]
    pub notes: Option<String>,
    /// JSON array of accessibility needs.
    #[diesel(deserialize_as = Personal)]
    pub accessibility_needs: String,
    pub priority: Priority,
    pub earliest_date: NaiveDate,
    pub deadline: NaiveDate,
    /// JSON array of preferred windows.
    pub preferred_windows: String,
    pub status: RequestStatus,
    pub version: i32,
    pub idempotency_key: Option<String>,
    pub idempotency_fingerprint: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = visit_requests)]
pub struct NewRequest {
    pub citizen_id: i64,
    pub region_id: i64,
    pub service_kind_id: i64,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub notes: Option<String>,
    pub accessibility_needs: String,
    pub priority: Priority,
    pub earliest_date: NaiveDate,
    pub deadline: NaiveDate,
    pub preferred_windows: String,
    pub status: RequestStatus,
    pub version: i32,
    pub idempotency_key: Option<String>,
    pub idempotency_fingerprint: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The outcome of an idempotent create.
pub enum Created {
    New(RequestRow),
    /// The same key was used before with the same body: here is the first result.
    Replayed(RequestRow),
    /// The same key was used before with a different body.
    KeyReused,
}

pub fn find_by_key(
    conn: &mut DbConnection,
    citizen_id: i64,
    key: &str,
) -> DbResult<Option<RequestRow>> {
    Ok(visit_requests::table
        .filter(visit_requests::citizen_id.eq(citizen_id))
        .filter(visit_requests::idempotency_key.eq(key))
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?)
}

fn replay_or_reuse(row: RequestRow, fingerprint: Option<&str>) -> Created {
    if row.idempotency_fingerprint.as_deref() == fingerprint {
        Created::Replayed(row)
    } else {
        Created::KeyReused
    }
}

/// How many of the citizen's requests are open (submitted, scheduled, in progress or missed).
pub fn open_count(conn: &mut DbConnection, citizen_id: i64) -> DbResult<i64> {
    Ok(visit_requests::table
        .filter(visit_requests::citizen_id.eq(citizen_id))
        .filter(visit_requests::status.eq_any([
            RequestStatus::Submitted,
            RequestStatus::Scheduled,
            RequestStatus::InProgress,
            RequestStatus::Missed,
        ]))
        .count()
        .get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, actor: &Actor, new: NewRequest) -> DbResult<Created> {
    // The insert itself finds a key used before (one round trip fewer than looking first); a
    // create with the same key racing this one is waited for, then found.
    let stored = NewRequest {
        address: personal::seal(&new.address)?,
        notes: personal::seal_optional(new.notes.as_deref())?,
        accessibility_needs: personal::seal(&new.accessibility_needs)?,
        ..new.clone()
    };
    let insert = diesel::insert_into(visit_requests::table)
        .values(&stored)
        .on_conflict_do_nothing()
        .returning(visit_requests::all_columns);
    // diesel's multi-backend connection has no ON CONFLICT: the same statement per backend.
    let inserted: Option<RequestRow> = match conn {
        DbConnection::Postgresql(c) => insert.get_result(c).optional()?,
        DbConnection::Sqlite(c) => insert.get_result(c).optional()?,
    };
    let Some(row) = inserted else {
        let found = match &new.idempotency_key {
            Some(key) => find_by_key(conn, new.citizen_id, key)?,
            None => None,
        };
        return match found {
            Some(row) => Ok(replay_or_reuse(row, new.idempotency_fingerprint.as_deref())),
            None => Err(DbError::Duplicate("idempotency_key")),
        };
    };
    let id = row.id;
    events::record(
        conn,
        actor,
        Change {
            entity: "visit_request",
            entity_id: id,
            region_id: Some(row.region_id),
            action: EventAction::Created,
            before: None,
            after: Some(snapshot(&row)),
        },
    )?;
    Ok(Created::New(row))
}

/// After a concurrent create with the same key lost the unique-constraint race, the winner's
/// row is the answer.
pub fn resolve_key_race(
    conn: &mut DbConnection,
    citizen_id: i64,
    key: &str,
    fingerprint: Option<&str>,
) -> DbResult<Created> {
    match find_by_key(conn, citizen_id, key)? {
        Some(row) => Ok(replay_or_reuse(row, fingerprint)),
        None => Err(DbError::NotFound),
    }
}

/// What the event trail keeps of a request: everything but personal notes.
fn snapshot(row: &RequestRow) -> serde_json::Value {
    serde_json::json!({
        "status": row.status,
        "priority": row.priority,
        "service_kind_id": row.service_kind_id,
        "earliest_date": row.earliest_date,
        "deadline": row.deadline,
        "preferred_windows": serde_json::from_str::<serde_json::Value>(&row.preferred_windows).unwrap_or_default(),
        "version": row.version,
    })
}

pub fn find(conn: &mut DbConnection, id: i64) -> DbResult<RequestRow> {
    visit_requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// The requests among `ids` that exist, in no particular order.
pub fn find_many(conn: &mut DbConnection, ids: &[i64]) -> DbResult<Vec<RequestRow>> {
    Ok(visit_requests::table
        .filter(visit_requests::id.eq_any(ids))
        .select(RequestRow::as_select())
        .load(conn)?)
}

pub fn of_citizen(
    conn: &mut DbConnection,
    citizen_id: i64,
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<RequestRow>, i64)> {
    let items = visit_requests::table
        .filter(visit_requests::citizen_id.eq(citizen_id))
        .order(visit_requests::id.desc())
        .limit(limit)
        .offset(offset)
        .select(RequestRow::as_select())
        .load(conn)?;
    let total = visit_requests::table
        .filter(visit_requests::citizen_id.eq(citizen_id))
        .count()
        .get_result(conn)?;
    Ok((items, total))
}

/// Coordinators' filters; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub region_id: i64,
    pub statuses: Vec<RequestStatus>,
    pub service_kind_id: Option<i64>,
    pub priorities: Vec<Priority>,
    /// Requests whose allowed dates overlap `from..=to`.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// (min_lon, min_lat, max_lon, max_lat)
    pub bbox: Option<(f64, f64, f64, f64)>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &RequestFilter,
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<RequestRow>, i64)> {
    macro_rules! filtered {
        () => {{
            let mut q = visit_requests::table
                .filter(visit_requests::region_id.eq(filter.region_id))
                .into_boxed();
            if !filter.statuses.is_empty() {
                q = q.filter(visit_requests::status.eq_any(filter.statuses.clone()));
            }
            if let Some(kind) = filter.service_kind_id {
                q = q.filter(visit_requests::service_kind_id.eq(kind));
            }
            if !filter.priorities.is_empty() {
                q = q.filter(visit_requests::priority.eq_any(filter.priorities.clone()));
            }
            if let Some(from) = filter.from {
                q = q.filter(visit_requests::deadline.ge(from));
            }
            if let Some(to) = filter.to {
                q = q.filter(visit_requests::earliest_date.le(to));
            }
            if let Some((min_lon, min_lat, max_lon, max_lat)) = filter.bbox {
                q = q
                    .filter(visit_requests::lon.ge(min_lon))
                    .filter(visit_requests::lon.le(max_lon))
                    .filter(visit_requests::lat.ge(min_lat))
                    .filter(visit_requests::lat.le(max_lat));
            }
            q
        }};
    }
    let items = filtered!()
        .order(visit_requests::id.asc())
        .limit(limit)
        .offset(offset)
        .select(RequestRow::as_select())
        .load(conn)?;
    let total: i64 = filtered!().count().get_result(conn)?;
    Ok((items, total))
}

/// A versioned change to one request: applied only if the stored version is `expected_version`.
pub enum RequestChange {
    Cancel { reason: Option<String> },
    PreferredWindows(String),
    Priority(Priority),
}

pub fn change(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    expected_version: i32,
    change: RequestChange,
) -> DbResult<RequestRow> {
    let before = find(conn, id)?;
    let target = visit_requests::table
        .filter(visit_requests::id.eq(id))
        .filter(visit_requests::version.eq(expected_version));
    let bump = (
        visit_requests::version.eq(next_version(expected_version, before.version)?),
        visit_requests::updated_at.eq(now()),
    );
    let (action, n, reason) = match &change {
        RequestChange::Cancel { reason } => (
            EventAction::Cancelled,
            diesel::update(target)
                .set((visit_requests::status.eq(RequestStatus::Cancelled), bump))
                .execute(conn)?,
            reason.clone(),
        ),
        RequestChange::PreferredWindows(json) => (
            EventAction::PreferredWindowsChanged,
            diesel::update(target)
                .set((visit_requests::preferred_windows.eq(json), bump))
                .execute(conn)?,
            None,
        ),
        RequestChange::Priority(p) => (
            EventAction::PriorityChanged,
            diesel::update(target)
                .set((visit_requests::priority.eq(p), bump))
                .execute(conn)?,
            None,
        ),
    };
    // Read back only when this write won; a lost one is refused below, before its event.
    let after = if n == 0 {
        before.clone()
    } else {
        find(conn, id)?
    };
    let mut after_json = snapshot(&after);
    if let (Some(reason), Some(obj)) = (reason, after_json.as_object_mut()) {
        obj.insert("reason".into(), serde_json::Value::String(reason));
    }
    events::record_versioned(
        conn,
        actor,
        n,
        DbError::VersionConflict {
            current: before.version,
        },
        Change {
            entity: "visit_request",
            entity_id: id,
            region_id: Some(after.region_id),
            action,
            before: Some(snapshot(&before)),
            after: Some(after_json),
        },
    )?;
    Ok(after)
}
