//! Liveness (the process answers) and readiness (it can reach its database; how pushes fare is
//! reported alongside).

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::domain::ErrorCode;
use crate::push::health::PushState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Readiness: the database answers. Pushes are reported beside it, without failing the check
/// (a wrong FCM setup must not take the HTTP service out of rotation).
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub push: PushState,
    /// What FCM said when it refused our configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_error: Option<String>,
}

#[utoipa::path(tag = "health", responses((status = 200, body = Health)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[utoipa::path(tag = "health", responses((status = 200, body = Readiness), (status = 503, body = ErrorBody)))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(
            ErrorCode::DatabaseUnavailable,
            "the database is unreachable",
        )
    })?;
    let (push, push_error) = state.push_health.state();
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        push,
        push_error,
    }))
}
