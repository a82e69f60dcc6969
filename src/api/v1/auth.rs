//! Sign-in. Citizens: a one-time code by SMS (expires, single use, limited attempts, limited
//! codes per phone per hour and per day). Staff: username and password. Both get a short-lived access token
//! and a revocable refresh token, which rotates on every use.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::ValidJson;
use crate::api::throttle::Attempt;
use crate::api::AppState;
use crate::auth::{self, sms};
use crate::db::accounts;
use crate::domain::ErrorCode;
use crate::domain::{PhoneNumber, Role};
use crate::workflow::sign_in::{self, CodeCaps, CodeIssue, Renewal, Verification};

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Indonesian mobile number, e.g. `0812 3456 7890` or `+6281234567890`.
    pub phone: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CodeSent {
    /// Seconds until the code expires.
    pub expires_in: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeVerification {
    pub phone: String,
    /// The six-digit code from the SMS.
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordLogin {
    pub username: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Tokens {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token is valid.
    pub expires_in: i64,
    /// Exchange at `/v1/auth/refresh` for a new pair; single use.
    pub refresh_token: String,
    pub account: SignedInAccount,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SignedInAccount {
    pub id: i64,
    pub role: Role,
    pub region_id: Option<i64>,
}

/// The token pair for `account`: a fresh access token beside the session's refresh token.
fn tokens(
    state: &AppState,
    account: &accounts::AccountRow,
    refresh_token: String,
) -> Result<Tokens, ApiError> {
    let role = account.role;
    let access_token = state
        .keys
        .issue(account.id, role, account.region_id, account.session_version)
        .map_err(ApiError::internal)?;
    Ok(Tokens {
        access_token,
        token_type: "Bearer".into(),
        expires_in: state.keys.access_ttl_secs,
        refresh_token,
        account: SignedInAccount {
            id: account.id,
            role,
            region_id: account.region_id,
        },
    })
}

/// Send a sign-in code by SMS.
#[utoipa::path(
    tag = "auth",
    request_body = CodeRequest,
    responses(
        (status = 202, description = "A code was sent", body = CodeSent),
        (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "Too many codes for this phone, or too many requests", body = ErrorBody),
        (status = 503, description = "SMS gateway unavailable", body = ErrorBody)
    )
)]
#[post("/otp/request")]
pub async fn request_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .sign_in_limits
        .by_address(&req, Attempt::CodeRequest)?;
    let phone = PhoneNumber::parse(&body.0.phone)?;
    state
        .sign_in_limits
        .by_identity(Attempt::CodeRequest, phone.as_str())?;
    let code = auth::new_otp_code();
    let ttl = state.settings.auth.otp_ttl_secs;
    let caps = CodeCaps {
        per_hour: state.settings.auth.otp_max_per_phone_per_hour,
        per_day: state.settings.auth.otp_max_per_phone_per_day,
    };
    let code_hash = state.keys.code_hash(phone.as_str(), &code);
    let issued =
        sign_in::issue_code(&state.db, phone.as_str().to_string(), code_hash, ttl, caps).await?;
    match issued {
        CodeIssue::Issued => {}
        CodeIssue::HourlyCapReached => {
            return Err(ApiError::new(
                ErrorCode::TooManyCodes,
                "too many codes for this phone number; try again in an hour",
            )
            .with_retry_after(3600))
        }
        CodeIssue::DailyCapReached => {
            return Err(ApiError::new(
                ErrorCode::TooManyCodes,
                "too many codes for this phone number today; try again tomorrow",
            )
            .with_retry_after(86_400))
        }
    }
    state.sms.send(&phone, &sms::otp_message(&code, ttl / 60)).await.map_err(|e| match e {
        sms::SmsError::Rejected { .. } => {
            tracing::warn!(error = %e, to = %phone.masked(), "SMS gateway rejected a sign-in code");
            ApiError::new(ErrorCode::PhoneUnreachable, "this number cannot receive SMS").with_field("phone")
        }
        sms::SmsError::Unavailable(_) => {
            tracing::error!(error = %e, "SMS gateway unavailable");
            ApiError::new(ErrorCode::SmsUnavailable, "we could not send the SMS right now; please retry shortly")
        }
    })?;
    tracing::info!(to = %phone.masked(), "sign-in code sent");
    Ok(HttpResponse::Accepted().json(CodeSent { expires_in: ttl }))
}

/// Exchange an SMS code for tokens; creates the citizen's account on first sign-in.
#[utoipa::path(
    tag = "auth",
    request_body = CodeVerification,
    responses(
        (status = 200, body = Tokens),
        (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, description = "invalid_code or code_expired", body = ErrorBody),
        (status = 403, description = "account_deactivated", body = ErrorBody),
        (status = 429, description = "too_many_attempts", body = ErrorBody)
    )
)]
#[post("/otp/verify")]
pub async fn verify_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<CodeVerification>,
) -> Result<HttpResponse, ApiError> {
    state.sign_in_limits.by_address(&req, Attempt::SignIn)?;
    let phone = PhoneNumber::parse(&body.0.phone)?;
    state
        .sign_in_limits
        .by_identity(Attempt::SignIn, phone.as_str())?;
    let code = body.0.code.trim().to_string();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            ApiError::new(ErrorCode::ValidationFailed, "the code has six digits")
                .with_field("code"),
        );
    }
    let max_attempts = state.settings.auth.otp_max_attempts;
    let presented = state.keys.code_hash(phone.as_str(), &code);
    let outcome = sign_in::verify_code(
        &state.db,
        phone.as_str().to_string(),
        presented,
        max_attempts,
        state.settings.auth.refresh_token_ttl_days,
    )
    .await?;
    match outcome {
        Verification::SignedIn {
            account,
            refresh_token,
        } => Ok(HttpResponse::Ok().json(tokens(&state, &account, refresh_token)?)),
        Verification::NoCode | Verification::Expired => Err(ApiError::new(
            ErrorCode::CodeExpired,
            "the code has expired or was already used; request a new one",
        )),
        Verification::TooManyAttempts => Err(ApiError::new(
            ErrorCode::TooManyAttempts,
            "too many wrong codes; request a new one",
        )
        .with_retry_after(60)),
        Verification::Wrong => Err(ApiError::new(
            ErrorCode::InvalidCode,
            "the code is not right",
        )),
        Verification::Deactivated => Err(ApiError::new(
            ErrorCode::AccountDeactivated,
            "this account is deactivated; ask the service office to reactivate it",
        )),
    }
}

/// Staff sign-in with username and password.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordLogin,
    responses((status = 200, body = Tokens), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody))
)]
#[post("/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<PasswordLogin>,
) -> Result<HttpResponse, ApiError> {
    state.sign_in_limits.by_address(&req, Attempt::SignIn)?;
    let PasswordLogin { username, password } = body.0;
    if username.len() > 100 || password.len() > 256 {
        return Err(ApiError::unauthenticated("wrong username or password"));
    }
    state
        .sign_in_limits
        .by_identity(Attempt::SignIn, &username)?;
    let lookup = username.clone();
    let account = state
        .db
        .read(move |conn| accounts::find_by_username(conn, &lookup))
        .await?;
    // A deactivated account is checked like an unknown one: same work, same answer.
    let stored = account
        .as_ref()
        .filter(|a| a.active)
        .and_then(|a| a.password_hash.clone());
    let ok = state.hashing.verify(password, stored).await?;
    let account = match (ok, account) {
        (true, Some(account)) => account,
        _ => return Err(ApiError::unauthenticated("wrong username or password")),
    };
    let days = state.settings.auth.refresh_token_ttl_days;
    let refresh_token = sign_in::open_session(&state.db, account.id, days).await?;
    Ok(HttpResponse::Ok().json(tokens(&state, &account, refresh_token)?))
}

/// Exchange a refresh token for a new token pair. The old refresh token stops working; presenting
/// a revoked one revokes every session of the account (it was probably stolen).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = Tokens), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
#[post("/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: ValidJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = auth::refresh_token_hash(body.0.refresh_token.trim());
    let days = state.settings.auth.refresh_token_ttl_days;
    match sign_in::renew_session(&state.db, hash, days).await? {
        Renewal::Renewed {
            account,
            refresh_token,
        } => Ok(HttpResponse::Ok().json(tokens(&state, &account, refresh_token)?)),
        Renewal::Refused => Err(ApiError::new(
            ErrorCode::InvalidRefreshToken,
            "the refresh token is unknown, expired or revoked; sign in again",
        )),
    }
}

/// Sign out: revoke a refresh token. Idempotent.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses((status = 204), (status = 400, body = ErrorBody)))]
#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: ValidJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = auth::refresh_token_hash(body.0.refresh_token.trim());
    sign_in::end_session(&state.db, hash).await?;
    Ok(HttpResponse::NoContent().finish())
}
