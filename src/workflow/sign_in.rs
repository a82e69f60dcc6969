//! Sign-in codes and sessions, as transactions. A code is issued only under the per-phone
//! hourly limit, counted under the phone's lock (`db::lock_phone`); verifying one takes an attempt BEFORE comparing (so a right guess still
//! counts), consumes the code at most once, creates the citizen's account on first sign-in
//! and starts a session (a refresh token). A wrong attempt is an outcome, not an error: it
//! must commit. Signing the short-lived access token needs no database and stays with the
//! caller.

use crate::auth;
use crate::db::accounts::{self, AccountRow};
use crate::db::{lock_phone, now, Db, DbConnection, DbResult};

/// What presenting a sign-in code came to.
pub enum Verification {
    /// Signed in: the account, and the new session's refresh token (shown once).
    SignedIn {
        account: AccountRow,
        refresh_token: String,
    },
    /// No live code for the phone (never sent, or already used).
    NoCode,
    Expired,
    TooManyAttempts,
    Wrong,
    /// The code was right, but the account is deactivated: no session.
    Deactivated,
}

/// What asking for a code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeIssue {
    Issued,
    /// The phone had its hourly number of codes.
    HourlyCapReached,
    /// The phone had its daily number of codes.
    DailyCapReached,
}

/// How many codes a phone may be sent.
#[derive(Debug, Clone, Copy)]
pub struct CodeCaps {
    pub per_hour: i64,
    pub per_day: i64,
}

/// Store a new code for `phone` (as its keyed hash), valid `ttl_secs`, unless the phone
/// already had its hourly or daily number of codes (then nothing is stored).
pub async fn issue_code(
    db: &Db,
    phone: String,
    code_hash: String,
    ttl_secs: i64,
    caps: CodeCaps,
) -> DbResult<CodeIssue> {
    db.write(move |conn| {
        // Codes requested at once for one phone take turns: each counts the ones before it.
        lock_phone(conn, &phone)?;
        let now = now();
        if accounts::otp_count_since(conn, &phone, now - chrono::Duration::days(1))? >= caps.per_day
        {
            return Ok(CodeIssue::DailyCapReached);
        }
        if accounts::otp_count_since(conn, &phone, now - chrono::Duration::hours(1))?
            >= caps.per_hour
        {
            return Ok(CodeIssue::HourlyCapReached);
        }
        accounts::otp_insert(
            conn,
            &phone,
            &code_hash,
            now + chrono::Duration::seconds(ttl_secs),
        )?;
        Ok(CodeIssue::Issued)
    })
    .await
}

/// Check the code `presented` (its keyed hash) for `phone`, with at most `max_attempts`
/// tries per code; signed in, the session lives `session_days`.
pub async fn verify_code(
    db: &Db,
    phone: String,
    presented: String,
    max_attempts: i32,
    session_days: i64,
) -> DbResult<Verification> {
    db.write(move |conn| {
        let Some(otp) = accounts::otp_live(conn, &phone)? else {
            return Ok(Verification::NoCode);
        };
        if otp.expires_at < now() {
            return Ok(Verification::Expired);
        }
        // The attempt is taken before the code is compared, so it counts even when right.
        let Some(used) = accounts::otp_take_attempt(conn, otp.id, max_attempts)? else {
            return Ok(Verification::TooManyAttempts);
        };
        if !auth::digests_equal(&otp.code_hash, &presented) {
            return Ok(if used >= max_attempts {
                Verification::TooManyAttempts
            } else {
                Verification::Wrong
            });
        }
        if !accounts::otp_consume(conn, otp.id)? {
            return Ok(Verification::NoCode);
        }
        let account = accounts::find_or_create_citizen(conn, &phone)?;
        if !account.active {
            return Ok(Verification::Deactivated);
        }
        let refresh_token = start_session(conn, account.id, session_days)?;
        Ok(Verification::SignedIn {
            account,
            refresh_token,
        })
    })
    .await
}

/// What presenting a refresh token came to.
pub enum Renewal {
    /// The old token is revoked and a new session started: the account and its new refresh
    /// token (shown once).
    Renewed {
        account: AccountRow,
        refresh_token: String,
    },
    /// Unknown, expired or already used, or the account is inactive.
    Refused,
}

/// A new session for `account_id` (after a password sign-in), in a transaction of its own:
/// its refresh token, valid `session_days`.
pub async fn open_session(db: &Db, account_id: i64, session_days: i64) -> DbResult<String> {
    db.write(move |conn| start_session(conn, account_id, session_days))
        .await
}

/// Trade the refresh token hashed `token_hash` for a new session, once: the token is revoked
/// in the same statement that checks it is live, so two refreshes at once start one session.
/// A token already used revokes every session of its account (it was probably stolen).
pub async fn renew_session(db: &Db, token_hash: String, session_days: i64) -> DbResult<Renewal> {
    db.write(move |conn| {
        let Some(row) = accounts::refresh_find(conn, &token_hash)? else {
            return Ok(Renewal::Refused);
        };
        if row.revoked_at.is_some() {
            accounts::refresh_revoke_all(conn, row.account_id)?;
            tracing::warn!(
                account_id = row.account_id,
                "revoked refresh token presented; all sessions revoked"
            );
            return Ok(Renewal::Refused);
        }
        if row.expires_at < now() || !accounts::refresh_revoke(conn, row.id)? {
            return Ok(Renewal::Refused);
        }
        let account = accounts::find(conn, row.account_id)?;
        if !account.active {
            return Ok(Renewal::Refused);
        }
        let refresh_token = start_session(conn, account.id, session_days)?;
        Ok(Renewal::Renewed {
            account,
            refresh_token,
        })
    })
    .await
}

/// Sign out: revoke the refresh token hashed `token_hash`, if it is one. Idempotent.
pub async fn end_session(db: &Db, token_hash: String) -> DbResult<()> {
    db.write(move |conn| {
        if let Some(row) = accounts::refresh_find(conn, &token_hash)? {
            accounts::refresh_revoke(conn, row.id)?;
        }
        Ok(())
    })
    .await
}

/// A new session for `account_id` inside the caller's transaction: its refresh token (only
/// the hash is stored), valid `session_days`.
pub fn start_session(
    conn: &mut DbConnection,
    account_id: i64,
    session_days: i64,
) -> DbResult<String> {
    let (refresh_token, hash) = auth::new_refresh_token();
    let expires = now() + chrono::Duration::days(session_days);
    accounts::refresh_insert(conn, account_id, &hash, expires)?;
    Ok(refresh_token)
}
