//! The link to a request's visit page (`/v/{token}`), for the citizen to open or forward.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::requests::visible;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::Principal;
use crate::api::AppState;

/// How long a visit-page link works: long enough for a visit planned a week or two ahead.
const LINK_DAYS: i64 = 14;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct VisitLinkView {
    /// The page's path on this service, `/v/<token>`: service, day, promised window, status
    /// and, once the team is on its way, its expected arrival. Nothing else about the citizen.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A signed link to the visit's page, valid for 14 days (the citizen who asked, or staff of
/// the region).
#[utoipa::path(
    tag = "citizen",
    params(("id" = i64, Path)),
    responses((status = 200, body = VisitLinkView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/requests/{id}/visit-link")]
pub async fn visit_link(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let request = visible(&state, &who, path.into_inner()).await?;
    let expires_at = Utc::now() + chrono::Duration::days(LINK_DAYS);
    let token = state
        .keys
        .issue_visit_link(request.id, expires_at)
        .map_err(|e| ApiError::internal(format!("visit link not signed: {e}")))?;
    Ok(HttpResponse::Ok().json(VisitLinkView {
        url: format!("/v/{token}"),
        expires_at,
    }))
}
