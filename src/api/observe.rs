//! Every answer counted and timed for `/metrics`, by method and route pattern (never the path
//! itself: ids would make a series per request), and the `/metrics` page itself, which is
//! served on `metrics.address`, a listener of its own, never beside the API.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};

use crate::db::Db;

pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    crate::metrics::global().observe_request(
        &method,
        &route,
        res.status().as_u16(),
        started.elapsed(),
    );
    Ok(res)
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(db: web::Data<Db>) -> HttpResponse {
    match crate::metrics::global().render(&db).await {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database could not be read");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}
