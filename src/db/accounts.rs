//! Accounts, one-time sign-in codes, refresh tokens and push devices.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::events::{self, Actor, Change};
use super::personal::{self, OptionalPersonal};
use super::schema::{accounts, devices, otp_codes, refresh_tokens, team_members};
use super::{duplicate_of, now, DbConnection, DbError, DbResult};
use crate::domain::EventAction;
use crate::domain::{Language, Role};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: i64,
    pub role: Role,
    pub region_id: Option<i64>,
    #[diesel(deserialize_as = OptionalPersonal)]
    pub phone: Option<String>,
    pub username: Option<String>,
    pub password_hash: Option<String>,
    pub display_name: String,
    pub language: Language,
    pub active: bool,
    pub created_at: NaiveDateTime,
    /// Bumped whenever every session of the account must end (deactivated, password set);
    /// access tokens carry the version they were issued under.
    pub session_version: i32,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount {
    pub role: Role,
    pub region_id: Option<i64>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub password_hash: Option<String>,
    pub display_name: String,
    pub language: Language,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: i64) -> DbResult<AccountRow> {
    accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

pub fn find_by_username(conn: &mut DbConnection, username: &str) -> DbResult<Option<AccountRow>> {
    Ok(accounts::table
        .filter(accounts::username.eq(username))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, actor: &Actor, new: NewAccount) -> DbResult<AccountRow> {
    let phone_hash = new.phone.as_deref().map(personal::phone_hash).transpose()?;
    let stored = NewAccount {
        phone: personal::seal_optional(new.phone.as_deref())?,
        ..new.clone()
    };
    let id: i64 = diesel::insert_into(accounts::table)
        .values((&stored, accounts::phone_hash.eq(phone_hash)))
        .returning(accounts::id)
        .get_result(conn)
        .map_err(duplicate_of("account"))?;
    events::record(
        conn,
        actor,
        Change {
            entity: "account",
            entity_id: id,
            region_id: new.region_id,
            action: EventAction::Created,
            before: None,
            after: Some(
                serde_json::json!({"role": new.role, "username": new.username, "region_id": new.region_id}),
            ),
        },
    )?;
    find(conn, id)
}

/// The citizen account for a phone number, created on first sign-in.
pub fn find_or_create_citizen(conn: &mut DbConnection, phone: &str) -> DbResult<AccountRow> {
    if let Some(row) = accounts::table
        .filter(accounts::phone_hash.eq(personal::phone_hash(phone)?))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?
    {
        return Ok(row);
    }
    insert(
        conn,
        &Actor::default(),
        NewAccount {
            role: Role::Citizen,
            region_id: None,
            phone: Some(phone.to_string()),
            username: None,
            password_hash: None,
            display_name: String::new(),
            language: Language::Id,
            active: true,
            created_at: now(),
        },
    )
}

/// What decides whether an access token still works: is the account active, and which
/// session version do its tokens have to carry. None when the account is gone.
pub fn session_state(conn: &mut DbConnection, id: i64) -> DbResult<Option<(bool, i32)>> {
    Ok(accounts::table
        .find(id)
        .select((accounts::active, accounts::session_version))
        .first(conn)
        .optional()?)
}

/// Activates or deactivates an account in one conditional statement; deactivating also ends
/// every session (the session version moves on, refresh tokens are revoked). False, writing
/// nothing, when the account already was in that state.
pub fn set_active(conn: &mut DbConnection, actor: &Actor, id: i64, active: bool) -> DbResult<bool> {
    let target = accounts::table
        .find(id)
        .filter(accounts::active.eq(!active));
    let n = if active {
        diesel::update(target)
            .set(accounts::active.eq(true))
            .execute(conn)?
    } else {
        diesel::update(target)
            .set((
                accounts::active.eq(false),
                accounts::session_version.eq(accounts::session_version + 1),
            ))
            .execute(conn)?
    };
    if n == 0 {
        return Ok(false);
    }
    if !active {
        refresh_revoke_all(conn, id)?;
    }
    let account = find(conn, id)?;
    events::record(
        conn,
        actor,
        Change {
            entity: "account",
            entity_id: id,
            region_id: account.region_id,
            action: if active {
                EventAction::Reactivated
            } else {
                EventAction::Deactivated
            },
            before: Some(serde_json::json!({"active": !active})),
            after: Some(serde_json::json!({"active": active})),
        },
    )?;
    Ok(true)
}

/// Stores a new password hash and ends every session of the account. With `expected`, only
/// while the stored hash is still that one (a change checked against the old password), so of
/// two changes at once the second finds the hash moved on: false, nothing written.
pub fn set_password(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    new_hash: &str,
    expected: Option<&str>,
) -> DbResult<bool> {
    let changes = (
        accounts::password_hash.eq(Some(new_hash)),
        accounts::session_version.eq(accounts::session_version + 1),
    );
    let target = accounts::table
        .find(id)
        .filter(accounts::password_hash.is_not_null());
    let n = match expected {
        Some(old) => diesel::update(target.filter(accounts::password_hash.eq(old)))
            .set(changes)
            .execute(conn)?,
        None => diesel::update(target).set(changes).execute(conn)?,
    };
    if n == 0 {
        return Ok(false);
    }
    refresh_revoke_all(conn, id)?;
    let account = find(conn, id)?;
    events::record(
        conn,
        actor,
        Change {
            entity: "account",
            entity_id: id,
            region_id: account.region_id,
            action: EventAction::PasswordSet,
            before: None,
            after: None,
        },
    )?;
    Ok(true)
}

/// Team ids the account belongs to.
pub fn team_ids(conn: &mut DbConnection, account_id: i64) -> DbResult<Vec<i64>> {
    Ok(team_members::table
        .filter(team_members::account_id.eq(account_id))
        .select(team_members::team_id)
        .order(team_members::team_id)
        .load(conn)?)
}

// --- one-time codes -------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = otp_codes)]
pub struct OtpRow {
    pub id: i64,
    pub phone_hash: String,
    pub code_hash: String,
    pub attempts: i32,
    pub expires_at: NaiveDateTime,
    pub consumed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// How many codes were issued to this phone since `since`.
pub fn otp_count_since(
    conn: &mut DbConnection,
    phone: &str,
    since: NaiveDateTime,
) -> DbResult<i64> {
    Ok(otp_codes::table
        .filter(otp_codes::phone_hash.eq(personal::phone_hash(phone)?))
        .filter(otp_codes::created_at.ge(since))
        .count()
        .get_result(conn)?)
}

/// Stores a new code and retires any earlier live one: only the latest code works.
pub fn otp_insert(
    conn: &mut DbConnection,
    phone: &str,
    code_hash: &str,
    expires_at: NaiveDateTime,
) -> DbResult<()> {
    let at = now();
    let phone_hash = personal::phone_hash(phone)?;
    diesel::update(otp_codes::table)
        .filter(otp_codes::phone_hash.eq(&phone_hash))
        .filter(otp_codes::consumed_at.is_null())
        .set(otp_codes::consumed_at.eq(Some(at)))
        .execute(conn)?;
    diesel::insert_into(otp_codes::table)
        .values((
            otp_codes::phone_hash.eq(&phone_hash),
            otp_codes::code_hash.eq(code_hash),
            otp_codes::attempts.eq(0),
            otp_codes::expires_at.eq(expires_at),
            otp_codes::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The live (unconsumed) code for a phone, if any.
pub fn otp_live(conn: &mut DbConnection, phone: &str) -> DbResult<Option<OtpRow>> {
    Ok(otp_codes::table
        .filter(otp_codes::phone_hash.eq(personal::phone_hash(phone)?))
        .filter(otp_codes::consumed_at.is_null())
        .order(otp_codes::id.desc())
        .select(OtpRow::as_select())
        .first(conn)
        .optional()?)
}

/// Takes one of the code's attempts, in one statement that checks and counts: the attempts
/// used so far including this one, or None when none is left (or the code is gone). However
/// many guesses arrive at once, at most `max` are ever compared.
pub fn otp_take_attempt(conn: &mut DbConnection, id: i64, max: i32) -> DbResult<Option<i32>> {
    Ok(diesel::update(otp_codes::table.find(id))
        .filter(otp_codes::attempts.lt(max))
        .filter(otp_codes::consumed_at.is_null())
        .set(otp_codes::attempts.eq(otp_codes::attempts + 1))
        .returning(otp_codes::attempts)
        .get_result(conn)
        .optional()?)
}

/// Marks the code used; false if someone else used it first (a replayed verify).
pub fn otp_consume(conn: &mut DbConnection, id: i64) -> DbResult<bool> {
    let n = diesel::update(otp_codes::table.find(id))
        .filter(otp_codes::consumed_at.is_null())
        .set(otp_codes::consumed_at.eq(Some(now())))
        .execute(conn)?;
    Ok(n == 1)
}

// --- refresh tokens ---------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: i64,
    pub account_id: i64,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

pub fn refresh_insert(
    conn: &mut DbConnection,
    account_id: i64,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> DbResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::account_id.eq(account_id),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
            refresh_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn refresh_find(
    conn: &mut DbConnection,
    token_hash: &str,
) -> DbResult<Option<RefreshTokenRow>> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Revokes one token; false if it was already revoked (so a stolen, replayed token loses the race).
pub fn refresh_revoke(conn: &mut DbConnection, id: i64) -> DbResult<bool> {
    let n = diesel::update(refresh_tokens::table.find(id))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(Some(now())))
        .execute(conn)?;
    Ok(n == 1)
}

/// Revokes every live token of an account (reuse of a revoked token suggests theft).
pub fn refresh_revoke_all(conn: &mut DbConnection, account_id: i64) -> DbResult<()> {
    diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::account_id.eq(account_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

// --- devices ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct DeviceRow {
    pub id: i64,
    pub account_id: i64,
    pub fcm_token: String,
    pub platform: String,
    pub last_seen_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Registers a token for an account, or refreshes it. A token belongs to one phone, so if another
/// account held it (a shared phone, a new sign-in) it moves to this one.
pub fn device_upsert(
    conn: &mut DbConnection,
    account_id: i64,
    token: &str,
    platform: &str,
) -> DbResult<DeviceRow> {
    let at = now();
    // Pushes queued for whoever held this phone's token before are not theirs to read now.
    let previous: Vec<i64> = devices::table
        .filter(devices::fcm_token.eq(token))
        .filter(devices::account_id.ne(account_id))
        .select(devices::account_id)
        .load(conn)?;
    for other in previous {
        super::outbox::drop_queued_for(conn, other, token)?;
    }
    // One statement, so two registrations of one token at once (a phone retrying) both end
    // on the one row instead of one of them meeting the unique key.
    let upsert = diesel::insert_into(devices::table)
        .values((
            devices::account_id.eq(account_id),
            devices::fcm_token.eq(token),
            devices::platform.eq(platform),
            devices::last_seen_at.eq(at),
            devices::created_at.eq(at),
        ))
        .on_conflict(devices::fcm_token)
        .do_update()
        .set((
            devices::account_id.eq(account_id),
            devices::platform.eq(platform),
            devices::last_seen_at.eq(at),
        ))
        .returning(devices::id);
    // diesel's multi-backend connection has no ON CONFLICT: the same statement per backend.
    let id: i64 = match conn {
        DbConnection::Postgresql(c) => upsert.get_result(c)?,
        DbConnection::Sqlite(c) => upsert.get_result(c)?,
    };
    device_find(conn, id)
}

pub fn device_find(conn: &mut DbConnection, id: i64) -> DbResult<DeviceRow> {
    devices::table
        .find(id)
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

pub fn devices_of(conn: &mut DbConnection, account_id: i64) -> DbResult<Vec<DeviceRow>> {
    Ok(devices::table
        .filter(devices::account_id.eq(account_id))
        .order(devices::id)
        .select(DeviceRow::as_select())
        .load(conn)?)
}

/// Removes the account's own device, and the pushes still queued for it; NotFound if it is
/// not theirs.
pub fn device_delete(conn: &mut DbConnection, account_id: i64, id: i64) -> DbResult<()> {
    let token: String = diesel::delete(devices::table.find(id))
        .filter(devices::account_id.eq(account_id))
        .returning(devices::fcm_token)
        .get_result(conn)
        .optional()?
        .ok_or(DbError::NotFound)?;
    super::outbox::drop_queued_for(conn, account_id, &token)?;
    Ok(())
}
