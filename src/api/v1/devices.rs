//! The caller's phones: FCM registration tokens, for pushes.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::DeviceView;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{Principal, ValidJson};
use crate::api::AppState;
use crate::db::{accounts, DbError};
use crate::domain::{Platform, PushToken};
use crate::workflow;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRegistration {
    /// The FCM registration token the app got from Firebase.
    pub token: String,
    pub platform: Platform,
}

/// Register this phone's push token, or refresh it (same token again: updates last seen; a token
/// that belonged to another account moves to the caller).
#[utoipa::path(
    tag = "devices",
    request_body = DeviceRegistration,
    responses((status = 200, body = DeviceView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/devices")]
pub async fn register(
    state: web::Data<AppState>,
    who: Principal,
    body: ValidJson<DeviceRegistration>,
) -> Result<HttpResponse, ApiError> {
    let DeviceRegistration { token, platform } = body.0;
    let token = PushToken::parse(&token)?;
    let row = workflow::devices::register(&state.db, who.account_id, token, platform).await?;
    Ok(HttpResponse::Ok().json(DeviceView::try_from(row)?))
}

/// The caller's registered phones.
#[utoipa::path(tag = "devices", responses((status = 200, body = Vec<DeviceView>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/devices")]
pub async fn list(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    let id = who.account_id;
    let rows = state
        .db
        .read(move |conn| accounts::devices_of(conn, id))
        .await?;
    let views = rows
        .into_iter()
        .map(DeviceView::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(views))
}

/// Remove a phone (sign-out on that phone, app uninstalled).
#[utoipa::path(
    tag = "devices",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/devices/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    workflow::devices::remove(&state.db, who.account_id, path.into_inner())
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::not_found("device"),
            other => other.into(),
        })?;
    Ok(HttpResponse::NoContent().finish())
}
