//! The mobile contract: the committed OpenAPI document equals what the code generates, and the
//! running service serves it.

use std::collections::BTreeSet;

use jemput::api::error::status_of;
use jemput::domain::ErrorCode;

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

/// The codes the service can answer with are exactly the codes the committed contract lists,
/// each documented with the HTTP status the service answers it with.
#[test]
fn the_committed_spec_lists_exactly_the_codes_the_service_returns() {
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(SPEC_PATH).unwrap()).unwrap();
    let documented = committed["x-error-codes"]
        .as_object()
        .expect("the committed spec has an x-error-codes object");
    let returned: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let listed: BTreeSet<&str> = documented.keys().map(String::as_str).collect();
    let undocumented: Vec<_> = returned.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&returned).collect();
    assert!(
        undocumented.is_empty(),
        "codes the service returns but the contract does not list: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "codes the contract lists but the service never returns: {stale:?}"
    );
    for code in ErrorCode::ALL {
        let meaning = documented[code.as_str()].as_str().unwrap_or_default();
        let status = status_of(*code).as_u16();
        let described = meaning
            .strip_prefix(&format!("{status}: "))
            .unwrap_or_default();
        assert!(
            !described.trim().is_empty(),
            "{code} must be documented as \"{status}: <meaning>\", not {meaning:?}"
        );
    }
}

/// No code is dead: each variant is named as `ErrorCode::X` somewhere in the service's code
/// (outside its definition and outside unit tests). The status table in `api/error.rs` names
/// variants through the alias `C::`, so it does not count.
#[test]
fn every_error_code_is_answered_somewhere() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut code = String::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("domain/error_code.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                let without_tests = text.split("#[cfg(test)]").next().unwrap_or_default();
                code.push_str(without_tests);
            }
        }
    }
    let dead: Vec<_> = ErrorCode::ALL
        .iter()
        .filter(|c| {
            let name = format!("ErrorCode::{c:?}");
            !code.match_indices(&name).any(|(at, _)| {
                !code[at + name.len()..].starts_with(|ch: char| ch.is_alphanumeric() || ch == '_')
            })
        })
        .collect();
    assert!(
        dead.is_empty(),
        "error codes nothing answers with: {dead:?}"
    );
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
