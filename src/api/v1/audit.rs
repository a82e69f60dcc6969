//! The trail of staff reads of citizens' personal data, for admins.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::utc;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{Page, Principal};
use crate::api::AppState;
use crate::domain::Role;
use crate::workflow;

/// One staff read that showed a citizen's phone or notes.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuditReadView {
    pub id: i64,
    /// The staff account that read.
    pub account_id: i64,
    pub request_id: i64,
    /// What was shown: `phone`, `notes`.
    pub fields: Vec<String>,
    /// Through which read: `request`, `request_list` or `team_route`.
    pub via: String,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuditReadPage {
    pub items: Vec<AuditReadView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Who read which citizen's phone or notes, and when (newest first). Admins only.
#[utoipa::path(
    tag = "admin",
    params(Page),
    responses((status = 200, body = AuditReadPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/admin/audit")]
pub async fn audit_reads(
    state: web::Data<AppState>,
    who: Principal,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    who.require(&[Role::Admin])?;
    let (limit, offset) = page.into_inner().bounds()?;
    let (rows, total) = workflow::audit::page(&state.db, limit, offset).await?;
    let items = rows
        .into_iter()
        .map(|r| AuditReadView {
            id: r.id,
            account_id: r.account_id,
            request_id: r.request_id,
            fields: r.fields.split(',').map(str::to_string).collect(),
            via: r.via,
            at: utc(r.at),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(AuditReadPage {
            items,
            total,
            limit,
            offset,
        }))
}
