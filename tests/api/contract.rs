//! The mobile contract: the committed OpenAPI document equals what the code generates, and the
//! running service serves it.

use crate::helpers::{spawn, Backend};

const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mobile-api-spec/openapi.json");

fn generated() -> String {
    serde_json::to_string_pretty(&jemput::api::openapi()).unwrap() + "\n"
}

#[test]
fn committed_spec_matches_the_code() {
    let generated = generated();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(SPEC_PATH, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(SPEC_PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "mobile-api-spec/openapi.json is out of date: regenerate it with \
         `cargo run -- openapi > mobile-api-spec/openapi.json` (or UPDATE_OPENAPI=1 cargo test contract) \
         and note the change in mobile-api-spec/CHANGELOG.md"
    );
}

#[test]
fn spec_covers_every_error_code_and_security() {
    let spec: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(spec["openapi"].as_str().unwrap().get(..3), Some("3.1"));
    for (code, _) in jemput::api::error::ERROR_CODES {
        assert!(spec["x-error-codes"].get(code).is_some(), "{code} missing");
    }
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/v1/requests",
        "/v1/requests/{id}",
        "/v1/auth/otp/request",
        "/v1/devices",
        "/v1/teams/{id}",
        "/health/ready",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the spec");
    }
    // Every signed-in operation declares its security requirement.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let public = path.starts_with("/v1/auth/") || path.starts_with("/health/");
            assert_eq!(op.get("security").is_some(), !public, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn the_service_serves_its_spec_and_docs() {
    let app = spawn(Backend::Sqlite).await;
    let served: serde_json::Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        served,
        serde_json::from_str::<serde_json::Value>(&generated()).unwrap()
    );
    let docs = app
        .client
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let ready = app
        .client
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}
