//! Regions, service kinds, teams and their members: what coordinators and admins manage.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::events::{self, Actor, Change};
use super::schema::{accounts, regions, service_kinds, team_members, teams};
use super::{duplicate_of, next_version, now, DbConnection, DbError, DbResult};
use crate::domain::EventAction;
use crate::domain::{RegionClock, Role};

/// An edit of catalog row `$id` of `$table` (a table with `version`, `updated_at` and
/// `region_id`) applied only from `$expected` (the version the coordinator read), with its
/// `updated` event: zero rows updated is 409 `version_conflict`, a unique key taken is a
/// `Duplicate`. A macro, as diesel's tables are distinct types.
macro_rules! versioned_update {
    ($conn:expr, $actor:expr, $table:ident, $entity:literal, $id:expr, $expected:expr, $changes:expr) => {{
        let (current, region_id): (i32, i64) = $table::table
            .find($id)
            .select(($table::version, $table::region_id))
            .first($conn)
            .optional()?
            .ok_or(DbError::NotFound)?;
        let updated = diesel::update($table::table.find($id))
            .filter($table::version.eq($expected))
            .set((
                &$changes,
                $table::version.eq(next_version($expected, current)?),
                $table::updated_at.eq(now()),
            ))
            .execute($conn)
            .map_err(duplicate_of($entity))?;
        events::record_versioned(
            $conn,
            $actor,
            updated,
            DbError::VersionConflict { current },
            Change {
                entity: $entity,
                entity_id: $id,
                region_id: Some(region_id),
                action: EventAction::Updated,
                before: Some(serde_json::json!({ "version": current })),
                after: Some(serde_json::to_value(&$changes).unwrap_or_default()),
            },
        )
    }};
}

// --- regions ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = regions)]
pub struct RegionRow {
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    pub boundary_geojson: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = regions)]
pub struct NewRegion {
    pub name: String,
    pub time_zone: String,
    pub boundary_geojson: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn region_insert(
    conn: &mut DbConnection,
    actor: &Actor,
    new: NewRegion,
) -> DbResult<RegionRow> {
    let id: i64 = diesel::insert_into(regions::table)
        .values(&new)
        .returning(regions::id)
        .get_result(conn)
        .map_err(duplicate_of("region"))?;
    events::record(
        conn,
        actor,
        Change {
            entity: "region",
            entity_id: id,
            region_id: Some(id),
            action: EventAction::Created,
            before: None,
            after: Some(serde_json::json!({"name": new.name, "time_zone": new.time_zone})),
        },
    )?;
    region_find(conn, id)
}

pub fn region_find(conn: &mut DbConnection, id: i64) -> DbResult<RegionRow> {
    regions::table
        .find(id)
        .select(RegionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// The clock of region `id`.
pub fn region_clock(conn: &mut DbConnection, id: i64) -> DbResult<RegionClock> {
    let region = region_find(conn, id)?;
    RegionClock::of_zone(&region.time_zone).map_err(|e| {
        DbError::Corrupt(format!(
            "time zone of region {id}: {} ({})",
            region.time_zone, e.message
        ))
    })
}

/// A region and, when it is one of that region's, a service kind: what intake checks a new
/// request against, in one query.
pub fn region_with_kind(
    conn: &mut DbConnection,
    region_id: i64,
    kind_id: i64,
) -> DbResult<(RegionRow, Option<ServiceKindRow>)> {
    regions::table
        .left_join(
            service_kinds::table.on(service_kinds::id
                .eq(kind_id)
                .and(service_kinds::region_id.eq(regions::id))),
        )
        .filter(regions::id.eq(region_id))
        .select((
            RegionRow::as_select(),
            Option::<ServiceKindRow>::as_select(),
        ))
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

pub fn regions_all(conn: &mut DbConnection) -> DbResult<Vec<RegionRow>> {
    Ok(regions::table
        .order(regions::id)
        .select(RegionRow::as_select())
        .load(conn)?)
}

// --- service kinds ----------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_kinds)]
pub struct ServiceKindRow {
    pub id: i64,
    pub region_id: i64,
    pub code: String,
    pub name_id: String,
    pub name_en: String,
    pub default_duration_minutes: i32,
    pub required_skill: Option<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = service_kinds)]
pub struct NewServiceKind {
    pub region_id: i64,
    pub code: String,
    pub name_id: String,
    pub name_en: String,
    pub default_duration_minutes: i32,
    pub required_skill: Option<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset, serde::Serialize)]
#[diesel(table_name = service_kinds)]
pub struct ServiceKindChanges {
    pub name_id: Option<String>,
    pub name_en: Option<String>,
    pub default_duration_minutes: Option<i32>,
    pub required_skill: Option<Option<String>>,
    pub active: Option<bool>,
}

pub fn service_kind_insert(
    conn: &mut DbConnection,
    actor: &Actor,
    new: NewServiceKind,
) -> DbResult<ServiceKindRow> {
    let id: i64 = diesel::insert_into(service_kinds::table)
        .values(&new)
        .returning(service_kinds::id)
        .get_result(conn)
        .map_err(duplicate_of("service_kind"))?;
    events::record(
        conn,
        actor,
        Change {
            entity: "service_kind",
            entity_id: id,
            region_id: Some(new.region_id),
            action: EventAction::Created,
            before: None,
            after: Some(
                serde_json::json!({"code": new.code, "default_duration_minutes": new.default_duration_minutes}),
            ),
        },
    )?;
    service_kind_find(conn, id)
}

pub fn service_kind_find(conn: &mut DbConnection, id: i64) -> DbResult<ServiceKindRow> {
    service_kinds::table
        .find(id)
        .select(ServiceKindRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

pub fn service_kinds_of_region(
    conn: &mut DbConnection,
    region_id: i64,
) -> DbResult<Vec<ServiceKindRow>> {
    Ok(service_kinds::table
        .filter(service_kinds::region_id.eq(region_id))
        .order(service_kinds::code)
        .select(ServiceKindRow::as_select())
        .load(conn)?)
}

pub fn service_kind_update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    expected_version: i32,
    changes: ServiceKindChanges,
) -> DbResult<ServiceKindRow> {
    versioned_update!(
        conn,
        actor,
        service_kinds,
        "service_kind",
        id,
        expected_version,
        changes
    )?;
    service_kind_find(conn, id)
}

// --- teams ------------------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct TeamRow {
    pub id: i64,
    pub region_id: i64,
    pub name: String,
    pub depot_lat: f64,
    pub depot_lon: f64,
    pub vehicle_profile: String,
    /// JSON array of skill slugs.
    pub skills: String,
    /// JSON weekly shift pattern.
    pub shift_pattern: String,
    pub max_visits_per_day: i32,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = teams)]
pub struct NewTeam {
    pub region_id: i64,
    pub name: String,
    pub depot_lat: f64,
    pub depot_lon: f64,
    pub vehicle_profile: String,
    pub skills: String,
    pub shift_pattern: String,
    pub max_visits_per_day: i32,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset, serde::Serialize)]
#[diesel(table_name = teams)]
pub struct TeamChanges {
    pub name: Option<String>,
    pub depot_lat: Option<f64>,
    pub depot_lon: Option<f64>,
    pub vehicle_profile: Option<String>,
    pub skills: Option<String>,
    pub shift_pattern: Option<String>,
    pub max_visits_per_day: Option<i32>,
    pub active: Option<bool>,
}

pub fn team_insert(conn: &mut DbConnection, actor: &Actor, new: NewTeam) -> DbResult<TeamRow> {
    let id: i64 = diesel::insert_into(teams::table)
        .values(&new)
        .returning(teams::id)
        .get_result(conn)
        .map_err(duplicate_of("team"))?;
    events::record(
        conn,
        actor,
        Change {
            entity: "team",
            entity_id: id,
            region_id: Some(new.region_id),
            action: EventAction::Created,
            before: None,
            after: Some(serde_json::json!({"name": new.name})),
        },
    )?;
    team_find(conn, id)
}

pub fn team_find(conn: &mut DbConnection, id: i64) -> DbResult<TeamRow> {
    teams::table
        .find(id)
        .select(TeamRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

pub fn teams_of_region(conn: &mut DbConnection, region_id: i64) -> DbResult<Vec<TeamRow>> {
    Ok(teams::table
        .filter(teams::region_id.eq(region_id))
        .order(teams::id)
        .select(TeamRow::as_select())
        .load(conn)?)
}

pub fn team_update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    expected_version: i32,
    changes: TeamChanges,
) -> DbResult<TeamRow> {
    versioned_update!(conn, actor, teams, "team", id, expected_version, changes)?;
    team_find(conn, id)
}

#[derive(Debug, Clone, Queryable)]
pub struct MemberRow {
    pub account_id: i64,
    pub username: Option<String>,
    pub display_name: String,
    pub role: Role,
}

pub fn team_members(conn: &mut DbConnection, team_id: i64) -> DbResult<Vec<MemberRow>> {
    Ok(team_members::table
        .inner_join(accounts::table)
        .filter(team_members::team_id.eq(team_id))
        .order(accounts::id)
        .select((
            accounts::id,
            accounts::username,
            accounts::display_name,
            accounts::role,
        ))
        .load(conn)?)
}

/// Adds a member; adding one twice is harmless (idempotent PUT).
pub fn team_member_add(
    conn: &mut DbConnection,
    actor: &Actor,
    team: &TeamRow,
    account_id: i64,
) -> DbResult<()> {
    // One statement, so the same PUT sent twice at once adds the member once and both succeed.
    let add = diesel::insert_into(team_members::table)
        .values((
            team_members::team_id.eq(team.id),
            team_members::account_id.eq(account_id),
            team_members::created_at.eq(now()),
        ))
        .on_conflict_do_nothing();
    // diesel's multi-backend connection has no ON CONFLICT: the same statement per backend.
    let added = match conn {
        DbConnection::Postgresql(c) => add.execute(c)?,
        DbConnection::Sqlite(c) => add.execute(c)?,
    };
    if added == 0 {
        return Ok(());
    }
    events::record(
        conn,
        actor,
        Change {
            entity: "team",
            entity_id: team.id,
            region_id: Some(team.region_id),
            action: EventAction::MemberAdded,
            before: None,
            after: Some(serde_json::json!({"account_id": account_id})),
        },
    )
}

pub fn team_member_remove(
    conn: &mut DbConnection,
    actor: &Actor,
    team: &TeamRow,
    account_id: i64,
) -> DbResult<()> {
    let n = diesel::delete(team_members::table)
        .filter(team_members::team_id.eq(team.id))
        .filter(team_members::account_id.eq(account_id))
        .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    events::record(
        conn,
        actor,
        Change {
            entity: "team",
            entity_id: team.id,
            region_id: Some(team.region_id),
            action: EventAction::MemberRemoved,
            before: Some(serde_json::json!({"account_id": account_id})),
            after: None,
        },
    )
}
