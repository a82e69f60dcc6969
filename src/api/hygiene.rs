//! Headers every answer carries. API answers hold tokens and personal data (names, phone
//! numbers, addresses, notes): `Cache-Control: no-store` keeps them out of shared and browser
//! caches (a handler that chose its own caching keeps it). Browsers are told not to sniff
//! types, not to send our URLs as referrers, and not to frame any page; each page we serve (the
//! docs, the console, the citizen's visit page) gets a content security policy that lets it
//! load only its own scripts and styles. And the request log line names the path, never the
//! query string.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// For JSON answers: nothing may be loaded, nothing may frame it.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
/// For the docs page (Swagger UI, served from this binary; its start-up script and styles are
/// inline).
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// For the coordinators' console: its own scripts and styles only (no inline ones), the API
/// on this origin, and map tiles from an optional online base map (`?tiles=`).
const CONSOLE_POLICY: &str = "default-src 'self'; img-src 'self' data: https:; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/// For the citizen's visit page: no script at all, its one stylesheet.
const VISIT_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The content security policy for a path.
fn policy_for(path: &str) -> &'static str {
    if path.starts_with("/docs") {
        PAGE_POLICY
    } else if path.starts_with("/console") {
        CONSOLE_POLICY
    } else if path.starts_with("/v/") {
        VISIT_POLICY
    } else {
        API_POLICY
    }
}

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let is_page = req.path().starts_with("/docs");
    let policy = policy_for(req.path());
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    if !is_page && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    Ok(res)
}

/// The request's log span, as tracing-actix-web's default but with the path alone: a query
/// string is what the caller typed (`?phone=0812…`), so it is never logged.
pub struct PathOnlySpan;

impl RootSpanBuilder for PathOnlySpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern().unwrap_or_default();
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.path(),
            request_id = %request_id,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
