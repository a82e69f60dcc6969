//! The coordinators' console and the citizen's visit page ([`visit`]). The console is a web
//! page served by the service itself at `/console/`, its files embedded in the binary
//! (`src/console/assets`: plain ES modules, Leaflet vendored with its licence), so
//! `serve --demo` is all a coordinator needs. The page talks only to the public API (`/v1`),
//! as the phone apps do; this module only hands out its files.
//!
//! Every script and style is a file (no inline `<script>` or `style=`), so a strict
//! Content-Security-Policy (`script-src 'self'`) works.

pub mod visit;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "src/console/assets/"]
struct Assets;

/// The demo region's place data (Kulon Progo's districts and villages) for the map's base
/// layer, from the repository's `assets/` (MIT, licences there).
const DISTRICTS: &str = crate::domain::DEMO_DISTRICTS;
const VILLAGES: &str = include_str!("../../assets/kulon_progo_villages.geojson");

/// `/console`, `/console/` and the page's files; the citizen's visit page `/v/{token}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v/{token}", web::get().to(visit::page))
        .route("/console", web::get().to(to_console))
        .route("/console/geo/districts.geojson", web::get().to(districts))
        .route("/console/geo/villages.geojson", web::get().to(villages))
        .route("/console/{path:.*}", web::get().to(asset));
}

async fn to_console() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/console/"))
        .finish()
}

async fn districts() -> HttpResponse {
    geojson(DISTRICTS)
}

async fn villages() -> HttpResponse {
    geojson(VILLAGES)
}

fn geojson(text: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/geo+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(text)
}

async fn asset(request: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    let path = if path.is_empty() {
        "index.html".to_string()
    } else {
        path
    };
    let Some(file) = Assets::get(&path) else {
        return actix_web::ResponseError::error_response(&crate::api::error::ApiError::not_found(
            "file",
        ));
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..8]));
    let held = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if held == Some(etag.as_str()) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(content_type(&path))
        .insert_header((header::ETAG, etag))
        // Revalidated on every load (a 304 costs a round trip, not the bytes), so a new
        // binary's page is never mixed with an old cached module.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(file.data.into_owned())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
