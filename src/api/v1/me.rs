//! The caller's own account and requests.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::VisitRequestPage;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{Page, Principal, ValidJson};
use crate::api::AppState;
use crate::db::{accounts, requests};
use crate::domain::{new_password, ErrorCode, Role};
use crate::workflow::accounts as account_admin;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct MeView {
    pub id: i64,
    pub role: Role,
    pub region_id: Option<i64>,
    pub display_name: String,
    pub username: Option<String>,
    /// Masked, e.g. `+62812******90`.
    pub phone: Option<String>,
    pub language: String,
    /// Teams the account belongs to (officers).
    pub team_ids: Vec<i64>,
}

/// Who am I?
#[utoipa::path(tag = "auth", responses((status = 200, body = MeView), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    let id = who.account_id;
    let (account, team_ids) = state
        .db
        .read(move |conn| Ok((accounts::find(conn, id)?, accounts::team_ids(conn, id)?)))
        .await?;
    let phone = account
        .phone
        .as_deref()
        .and_then(|p| crate::domain::PhoneNumber::parse(p).ok())
        .map(|p| p.masked());
    Ok(HttpResponse::Ok().json(MeView {
        id: account.id,
        role: who.role,
        region_id: account.region_id,
        display_name: account.display_name,
        username: account.username,
        phone,
        language: account.language.to_string(),
        team_ids,
    }))
}

/// The citizen's own visit requests, newest first.
#[utoipa::path(
    tag = "citizen",
    params(Page),
    responses((status = 200, body = VisitRequestPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/me/requests")]
pub async fn my_requests(
    state: web::Data<AppState>,
    who: Principal,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Citizen])?;
    let (limit, offset) = page.into_inner().bounds()?;
    let id = who.account_id;
    let (rows, total) = state
        .db
        .read(move |conn| requests::of_citizen(conn, id, limit, offset))
        .await?;
    Ok(HttpResponse::Ok().json(VisitRequestPage::from_rows(rows, total, limit, offset)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 10-128 characters.
    pub new_password: String,
}

/// A staff member changes their own password (the current one is required). Every session of
/// theirs ends, this one included: sign in again with the new password.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordChange,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, description = "wrong_password, or the new one is not acceptable", body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    who: Principal,
    body: ValidJson<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Officer, Role::Coordinator, Role::Admin])?;
    let PasswordChange {
        current_password,
        new_password: wanted,
    } = body.0;
    let wanted = new_password(&wanted).map_err(|mut invalid| {
        invalid.field = "new_password".into();
        invalid
    })?;
    let id = who.account_id;
    let stored = state
        .db
        .read(move |conn| accounts::find(conn, id))
        .await?
        .password_hash;
    if current_password.len() > 256
        || !state
            .hashing
            .verify(current_password, stored.clone())
            .await?
    {
        return Err(ApiError::new(
            ErrorCode::WrongPassword,
            "the current password is not right",
        )
        .with_field("current_password"));
    }
    let hash = state.hashing.hash(wanted).await?;
    account_admin::set_password(&state.db, who.actor(), id, hash, stored).await?;
    state.sessions.forget(id);
    Ok(HttpResponse::NoContent().finish())
}
