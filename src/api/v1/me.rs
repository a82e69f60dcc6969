//! The caller's own account and requests.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{utc, EventView, VisitRequestPage, VisitRequestView};
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{Page, Principal, ValidJson};
use crate::api::AppState;
use crate::db::{accounts, requests};
use crate::domain::{new_password, ErrorCode, Role};
use crate::push::messages::JemputNotices;
use crate::workflow::accounts as account_admin;
use crate::workflow::personal_data;

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

/// A device as the export shows it (the push token itself stays out).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ExportedDevice {
    pub id: i64,
    pub platform: String,
    pub registered_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A request with its change history.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ExportedRequest {
    pub request: VisitRequestView,
    pub events: Vec<EventView>,
}

/// The account as stored, unmasked: it is the caller's own.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ExportedAccount {
    pub id: i64,
    pub role: Role,
    /// E.164, in full.
    pub phone: Option<String>,
    pub display_name: String,
    pub language: String,
    pub created_at: DateTime<Utc>,
}

/// Everything Jemput holds about the caller (UU 27/2022, the right of access).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PersonalDataExport {
    pub exported_at: DateTime<Utc>,
    pub account: ExportedAccount,
    pub requests: Vec<ExportedRequest>,
    pub devices: Vec<ExportedDevice>,
}

/// A copy of the caller's personal data: account, requests with their history, devices.
/// Salinan data pribadi Anda. Answered with `Cache-Control: no-store`.
#[utoipa::path(
    tag = "citizen",
    responses((status = 200, body = PersonalDataExport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/me/export")]
pub async fn export(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Citizen])?;
    let data = personal_data::export(&state.db, who.account_id).await?;
    let account = data.account;
    let view = PersonalDataExport {
        exported_at: Utc::now(),
        account: ExportedAccount {
            id: account.id,
            role: account.role,
            phone: account.phone,
            display_name: account.display_name,
            language: account.language.to_string(),
            created_at: utc(account.created_at),
        },
        requests: data
            .requests
            .into_iter()
            .map(|(row, trail)| {
                Ok(ExportedRequest {
                    request: VisitRequestView::try_from(row)?,
                    events: trail.into_iter().map(EventView::from).collect(),
                })
            })
            .collect::<Result<_, ApiError>>()?,
        devices: data
            .devices
            .into_iter()
            .map(|d| ExportedDevice {
                id: d.id,
                platform: d.platform,
                registered_at: utc(d.created_at),
                last_seen_at: utc(d.last_seen_at),
            })
            .collect(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(view))
}

/// What an erasure removed.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ErasureView {
    /// Requests whose address, notes and needs were removed (open ones were cancelled first).
    pub requests: usize,
    pub devices: usize,
}

/// Erase the caller's personal data (UU 27/2022): open requests are cancelled (teams are told),
/// then phone, name, devices, addresses, notes and needs are removed and the account can no
/// longer sign in. The history keeps only non-personal facts. Hapus data pribadi Anda.
#[utoipa::path(
    tag = "citizen",
    responses(
        (status = 200, body = ErasureView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "visit_in_progress: a team is at a visit now; invalid_state: requests kept changing", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[post("/me/erasure")]
pub async fn erasure(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Citizen])?;
    let erased =
        personal_data::erase(&state.db, who.actor(), who.account_id, JemputNotices).await?;
    state.sessions.forget(who.account_id);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ErasureView {
            requests: erased.requests,
            devices: erased.devices,
        }))
}
