//! Sealed personal columns as rows see them: read through [`Personal`] / [`OptionalPersonal`]
//! (opened in diesel's row conversion, so no query can forget), written through [`seal`]; and
//! the two bulk jobs over them: sealing rows written before encryption, and re-sealing under the
//! active key (`jemput rotate-key`).

use diesel::prelude::*;

use super::schema::{accounts, visit_requests};
use super::{DbConnection, DbError, DbResult};
use crate::privacy::{self, KeyRing, PrivacyError};

impl From<PrivacyError> for DbError {
    fn from(e: PrivacyError) -> Self {
        DbError::Corrupt(e.to_string())
    }
}

/// A sealed text column, opened.
#[derive(Debug, Clone, diesel::FromSqlRow)]
pub struct Personal(pub String);

/// A sealed nullable text column, opened.
#[derive(Debug, Clone, diesel::FromSqlRow)]
pub struct OptionalPersonal(pub Option<String>);

fn open_stored(stored: &str) -> diesel::deserialize::Result<String> {
    Ok(privacy::ring()?.open(stored)?)
}

impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for Personal
where
    DB: diesel::backend::Backend,
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        let stored =
            <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
        Ok(Personal(open_stored(&stored)?))
    }
}

impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Nullable<diesel::sql_types::Text>, DB>
    for OptionalPersonal
where
    DB: diesel::backend::Backend,
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        let stored =
            <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
        Ok(OptionalPersonal(Some(open_stored(&stored)?)))
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> diesel::deserialize::Result<Self> {
        match bytes {
            Some(bytes) => Self::from_sql(bytes),
            None => Ok(OptionalPersonal(None)),
        }
    }
}

impl From<Personal> for String {
    fn from(p: Personal) -> String {
        p.0
    }
}

impl From<OptionalPersonal> for Option<String> {
    fn from(p: OptionalPersonal) -> Option<String> {
        p.0
    }
}

/// The stored (sealed) form of `plain` under the process's active key.
pub fn seal(plain: &str) -> DbResult<String> {
    Ok(privacy::ring()?.seal(plain)?)
}

pub fn seal_optional(plain: Option<&str>) -> DbResult<Option<String>> {
    plain.map(seal).transpose()
}

/// The keyed hash `phone` (E.164) is looked up by.
pub fn phone_hash(phone: &str) -> DbResult<String> {
    Ok(privacy::ring()?.phone_hash(phone))
}

/// How many rows a [`reseal`] changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub accounts: u64,
    pub requests: u64,
}

/// Which stored values [`reseal`] seals again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only plaintext written before encryption existed (at every start).
    Plaintext,
    /// Everything not under the active key (`jemput rotate-key`).
    NotActiveKey,
}

impl Scope {
    /// The LIKE pattern of values this scope leaves alone.
    fn settled_pattern(self, ring: &KeyRing) -> String {
        match self {
            Scope::Plaintext => "pdp1:%".to_string(),
            Scope::NotActiveKey => format!("pdp1:{}:%", ring.active_key_id()),
        }
    }

    /// The new stored form of `stored`, or None to leave it.
    fn reseal(self, ring: &KeyRing, stored: &str) -> DbResult<Option<String>> {
        let wanted = match self {
            Scope::Plaintext => privacy::sealed_key_id(stored).is_none(),
            Scope::NotActiveKey => ring.needs_sealing(stored),
        };
        if !wanted {
            return Ok(None);
        }
        Ok(Some(ring.seal(&ring.open(stored)?)?))
    }
}

/// Seals again, under `ring`'s active key, the personal values `scope` names, `batch` rows at a
/// time, each batch its own short transaction. Each write is conditional on the values it read,
/// so a row the service changed meanwhile (an erasure) keeps the service's write. Safe while
/// the service runs; `progress` hears after every batch.
pub fn reseal(
    conn: &mut DbConnection,
    ring: &KeyRing,
    scope: Scope,
    batch: i64,
    mut progress: impl FnMut(&Resealed),
) -> DbResult<Resealed> {
    let settled = scope.settled_pattern(ring);
    let mut done = Resealed::default();
    let mut after = 0;
    loop {
        let rows: Vec<(i64, Option<String>, Option<String>)> = accounts::table
            .filter(accounts::id.gt(after))
            .filter(accounts::phone.is_not_null())
            .filter(
                accounts::phone
                    .not_like(&settled)
                    .or(accounts::phone_hash.is_null()),
            )
            .order(accounts::id)
            .limit(batch)
            .select((accounts::id, accounts::phone, accounts::phone_hash))
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        done.accounts += conn.transaction(|c| -> DbResult<u64> {
            let mut n = 0;
            for (id, phone, hash) in &rows {
                let Some(stored) = phone else { continue };
                let resealed = scope.reseal(ring, stored)?;
                if resealed.is_none() && hash.is_some() {
                    continue;
                }
                let hash = ring.phone_hash(&ring.open(stored)?);
                n += diesel::update(accounts::table.find(id))
                    .filter(accounts::phone.eq(stored))
                    .set((
                        accounts::phone.eq(resealed.as_deref().unwrap_or(stored)),
                        accounts::phone_hash.eq(hash),
                    ))
                    .execute(c)? as u64;
            }
            Ok(n)
        })?;
        progress(&done);
    }
    let mut after = 0;
    loop {
        type Stored = (i64, String, Option<String>, String);
        let rows: Vec<Stored> = visit_requests::table
            .filter(visit_requests::id.gt(after))
            .filter(
                visit_requests::address
                    .not_like(&settled)
                    .or(visit_requests::accessibility_needs.not_like(&settled))
                    .or(visit_requests::notes.not_like(&settled)),
            )
            .order(visit_requests::id)
            .limit(batch)
            .select((
                visit_requests::id,
                visit_requests::address,
                visit_requests::notes,
                visit_requests::accessibility_needs,
            ))
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        done.requests += conn.transaction(|c| -> DbResult<u64> {
            let mut n = 0;
            for (id, address, notes, needs) in &rows {
                let new_address = scope.reseal(ring, address)?;
                let new_needs = scope.reseal(ring, needs)?;
                let new_notes = match notes {
                    Some(v) => scope.reseal(ring, v)?,
                    None => None,
                };
                if new_address.is_none() && new_needs.is_none() && new_notes.is_none() {
                    continue;
                }
                let sealed = (
                    visit_requests::address.eq(new_address.unwrap_or_else(|| address.clone())),
                    visit_requests::notes.eq(new_notes.or_else(|| notes.clone())),
                    visit_requests::accessibility_needs
                        .eq(new_needs.unwrap_or_else(|| needs.clone())),
                );
                let unchanged = diesel::update(visit_requests::table.find(id))
                    .filter(visit_requests::address.eq(address))
                    .filter(visit_requests::accessibility_needs.eq(needs));
                n += match notes {
                    Some(v) => unchanged
                        .filter(visit_requests::notes.eq(v))
                        .set(sealed)
                        .execute(c)?,
                    None => unchanged
                        .filter(visit_requests::notes.is_null())
                        .set(sealed)
                        .execute(c)?,
                } as u64;
            }
            Ok(n)
        })?;
        progress(&done);
    }
    Ok(done)
}

/// How many rows hold a value not under the active key (what `rotate-key` has left).
pub fn count_not_under(conn: &mut DbConnection, ring: &KeyRing) -> DbResult<i64> {
    let settled = Scope::NotActiveKey.settled_pattern(ring);
    let accounts: i64 = accounts::table
        .filter(accounts::phone.is_not_null())
        .filter(accounts::phone.not_like(&settled))
        .count()
        .get_result(conn)?;
    let requests: i64 = visit_requests::table
        .filter(
            visit_requests::address
                .not_like(&settled)
                .or(visit_requests::accessibility_needs.not_like(&settled))
                .or(visit_requests::notes.not_like(&settled)),
        )
        .count()
        .get_result(conn)?;
    Ok(accounts + requests)
}

/// What an erasure removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub requests: usize,
    pub devices: usize,
}

/// Removes a citizen's personal data inside the caller's transaction: the phone (and its hash,
/// so the account can no longer sign in), name, devices, pending pushes, sign-in codes and
/// sessions; each request keeps its facts (kind, dates, status, the event trail) but loses its
/// address, notes and needs, and its pin is coarsened to about 1 km (a pin is a home). The
/// account row stays, deactivated, so the trail's references still resolve.
pub fn erase_citizen(
    conn: &mut DbConnection,
    actor: &super::events::Actor,
    account_id: i64,
) -> DbResult<Erased> {
    use super::schema::{devices, otp_codes, outbox, refresh_tokens};
    use crate::domain::{EventAction, OutboxStatus};

    let hash: Option<String> = accounts::table
        .find(account_id)
        .select(accounts::phone_hash)
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)?;
    if let Some(hash) = hash {
        diesel::delete(otp_codes::table.filter(otp_codes::phone_hash.eq(hash))).execute(conn)?;
    }
    diesel::update(accounts::table.find(account_id))
        .set((
            accounts::phone.eq(None::<String>),
            accounts::phone_hash.eq(None::<String>),
            accounts::display_name.eq(""),
            accounts::active.eq(false),
            // Access tokens already handed out stop working too.
            accounts::session_version.eq(accounts::session_version + 1),
        ))
        .execute(conn)?;
    let devices =
        diesel::delete(devices::table.filter(devices::account_id.eq(account_id))).execute(conn)?;
    diesel::delete(
        outbox::table
            .filter(outbox::account_id.eq(account_id))
            .filter(outbox::status.eq(OutboxStatus::Pending)),
    )
    .execute(conn)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::account_id.eq(account_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(super::now())))
    .execute(conn)?;

    let requests: Vec<(i64, f64, f64, i32)> = visit_requests::table
        .filter(visit_requests::citizen_id.eq(account_id))
        .select((
            visit_requests::id,
            visit_requests::lat,
            visit_requests::lon,
            visit_requests::version,
        ))
        .load(conn)?;
    let coarse = |deg: f64| (deg * 100.0).round() / 100.0;
    for (id, lat, lon, version) in &requests {
        diesel::update(visit_requests::table.find(id))
            .set((
                visit_requests::address.eq(seal("")?),
                visit_requests::notes.eq(None::<String>),
                visit_requests::accessibility_needs.eq(seal("[]")?),
                visit_requests::lat.eq(coarse(*lat)),
                visit_requests::lon.eq(coarse(*lon)),
                // Phones holding a copy see it changed.
                visit_requests::version.eq(version.saturating_add(1)),
                visit_requests::updated_at.eq(super::now()),
            ))
            .execute(conn)?;
    }
    super::events::record(
        conn,
        actor,
        super::events::Change {
            entity: "account",
            entity_id: account_id,
            region_id: None,
            action: EventAction::Erased,
            before: None,
            after: Some(serde_json::json!({"requests": requests.len(), "devices": devices})),
        },
    )?;
    Ok(Erased {
        requests: requests.len(),
        devices,
    })
}
