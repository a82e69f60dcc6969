//! The HTTP API: every route is registered here, in one place; handlers live in `v1/` with their
//! OpenAPI annotation right above them.

pub mod error;
pub mod extract;
pub mod health;
pub mod hygiene;
pub mod observe;
pub mod throttle;
pub mod v1;

use std::sync::Arc;

use actix_web::web;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};

use crate::auth::hashing::PasswordHashing;
use crate::auth::sessions::SessionCache;
use crate::auth::sms::SmsSender;
use crate::auth::TokenKeys;
use crate::config::Settings;
use crate::db::Db;
use crate::domain::BoundaryCache;
use crate::domain::ErrorCode;
use error::ApiError;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub keys: TokenKeys,
    pub sms: Arc<dyn SmsSender>,
    pub settings: Arc<Settings>,
    /// Regions' parsed boundaries, for intake's point-in-region check.
    pub boundaries: std::sync::Arc<BoundaryCache>,
    /// Accounts' session states, briefly cached, that access tokens are checked against.
    pub sessions: SessionCache,
    /// The bounded password-hashing threads.
    pub hashing: PasswordHashing,
    /// Sign-in and code-request limits per address and per phone or username.
    pub sign_in_limits: throttle::SignInLimits,
    /// Day re-plans solved at once (`limits.day_replans_at_once`).
    pub replan_slots: tokio::sync::Semaphore,
    /// Whether pushes can go out, for the readiness check.
    pub push_health: Arc<crate::push::health::PushHealth>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jemput API",
        description = "Jemput schedules jemput bola field service: citizens request visits, coordinators plan them, \
field teams work them. This is the contract the mobile apps rely on.\n\n\
Errors: every 4xx/5xx body is `ErrorBody` `{code, message, field?}`; `code` is stable (see the `x-error-codes` extension).\n\n\
Versioned resources (requests, teams, service kinds) return `ETag: \"<version>\"`; changes require `If-Match` with that version and \
answer 409 `version_conflict` on a stale copy.",
        license(name = "MIT")
    ),
    modifiers(&SecurityAddon, &ErrorCodes),
    tags(
        (name = "auth", description = "Sign-in: citizens by SMS code, staff by password; token refresh and sign-out"),
        (name = "citizen", description = "A citizen's own visit requests"),
        (name = "requests", description = "Visit requests as coordinators see them"),
        (name = "catalog", description = "Regions, service kinds and teams"),
        (name = "team", description = "The field team's routes (offline-first)"),
        (name = "plans", description = "Planning jobs: draft routes for a region's dates"),
        (name = "dispatch", description = "Coordinator rebalancing: the day's routes; move, reorder, swap, pin, lock; take a team off a day; re-plan the rest of a day. Every change can be previewed"),
        (name = "devices", description = "Push-notification tokens of the caller's phones"),
        (name = "admin", description = "Regions and staff accounts"),
        (name = "health", description = "Liveness and readiness")
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

struct ErrorCodes;

impl Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let codes: serde_json::Map<String, serde_json::Value> = error::documented_codes()
            .map(|(code, meaning)| (code.to_string(), serde_json::Value::String(meaning)))
            .collect();
        let mut extensions = utoipa::openapi::extensions::Extensions::default();
        extensions.insert(
            "x-error-codes".to_string(),
            serde_json::Value::Object(codes),
        );
        openapi.extensions = Some(extensions);
    }
}

/// Every route of the service.
pub fn routes() -> impl FnOnce(&mut ServiceConfig) {
    move |cfg| {
        cfg.service(health::live).service(health::ready).service(
            scope("/v1")
                .service(
                    scope("/auth")
                        .service(v1::auth::request_code)
                        .service(v1::auth::verify_code)
                        .service(v1::auth::login)
                        .service(v1::auth::refresh)
                        .service(v1::auth::logout),
                )
                .service(v1::me::me)
                .service(v1::me::change_password)
                .service(v1::me::my_requests)
                .service(v1::me::export)
                .service(v1::me::erasure)
                .service(v1::requests::create)
                .service(v1::requests::list)
                .service(v1::requests::get)
                .service(v1::requests::request_events)
                .service(v1::visit_link::visit_link)
                .service(v1::requests::cancel)
                .service(v1::requests::set_preferred_windows)
                .service(v1::requests::set_priority)
                .service(v1::catalog::list_regions)
                .service(v1::catalog::list_service_kinds)
                .service(v1::catalog::create_service_kind)
                .service(v1::catalog::update_service_kind)
                .service(v1::catalog::list_teams)
                .service(v1::catalog::create_team)
                .service(v1::catalog::get_team)
                .service(v1::catalog::update_team)
                .service(v1::catalog::add_member)
                .service(v1::catalog::remove_member)
                .service(v1::devices::list)
                .service(v1::devices::register)
                .service(v1::devices::remove)
                .service(v1::plans::create)
                .service(v1::plans::get)
                .service(v1::plans::publish)
                .service(v1::routes::my_route)
                .service(v1::routes::record_events)
                .service(v1::live::record_positions)
                .service(v1::live::region_stream)
                .service(v1::kpis::region_kpis)
                .service(v1::dispatch::day_routes)
                .service(v1::dispatch::get_route)
                .service(v1::dispatch::change_route)
                .service(v1::dispatch::replan_day)
                .service(v1::dispatch::create_absence)
                .service(v1::dispatch::list_absences)
                .service(v1::dispatch::remove_absence)
                .service(v1::admin::create_region)
                .service(v1::admin::create_staff)
                .service(v1::admin::deactivate_account)
                .service(v1::admin::reactivate_account)
                .service(v1::admin::reset_password)
                .service(v1::audit::audit_reads),
        );
    }
}

/// The hand-written part of the OpenAPI document (title, tags, security, error codes).
pub fn openapi_base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document, generated from the annotated handlers (also what `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(openapi_base())
        .configure(routes())
        .split_for_parts();
    api
}

/// JSON errors for the extractors actix provides (query strings, paths).
pub fn configure_extractors(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(web::PayloadConfig::new(max_body_bytes))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            ApiError::new(
                ErrorCode::InvalidQuery,
                format!("invalid query string: {err}"),
            )
            .into()
        }))
        .app_data(
            web::PathConfig::default().error_handler(|_, _| ApiError::not_found("resource").into()),
        );
}

/// Every path the API serves (as OpenAPI templates such as `/v1/requests/{id}`) with the
/// methods it accepts, read from the generated document, so it can never disagree with the
/// routes registered in [`routes`].
#[derive(Debug, Clone, Default)]
pub struct RouteTable(Vec<(actix_web::dev::ResourceDef, Vec<&'static str>)>);

impl RouteTable {
    /// The methods an `Allow` header lists, in this order.
    const METHODS: [&'static str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let table = api
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let served = [
                    item.get.is_some(),
                    item.post.is_some(),
                    item.put.is_some(),
                    item.patch.is_some(),
                    item.delete.is_some(),
                    item.head.is_some(),
                    item.options.is_some(),
                ];
                let methods = Self::METHODS
                    .into_iter()
                    .zip(served)
                    .filter_map(|(method, served)| served.then_some(method))
                    .collect();
                (actix_web::dev::ResourceDef::new(template.as_str()), methods)
            })
            .collect();
        Self(table)
    }

    /// The methods `path` accepts, in a fixed order; empty when no route has that path.
    pub fn allowed(&self, path: &str) -> Vec<&'static str> {
        Self::METHODS
            .into_iter()
            .filter(|method| {
                self.0
                    .iter()
                    .any(|(pattern, served)| served.contains(method) && pattern.is_match(path))
            })
            .collect()
    }
}

/// What answers when no route matched: 405 with `Allow` when the path is known but the method
/// is not one it serves, a JSON 404 otherwise.
pub async fn unmatched(request: actix_web::HttpRequest) -> actix_web::HttpResponse {
    let allowed = request
        .app_data::<web::Data<RouteTable>>()
        .map(|table| table.allowed(request.path()))
        .unwrap_or_default();
    let error = if allowed.is_empty() {
        ApiError::not_found("route")
    } else {
        ApiError::method_not_allowed(
            request.method().as_str(),
            request.path(),
            allowed.join(", "),
        )
    };
    actix_web::ResponseError::error_response(&error)
}
