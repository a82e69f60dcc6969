//! The coordinators' console is served by the service itself, from files in the binary, with
//! nothing inline that a strict Content-Security-Policy would block.

use crate::both_backends;
use crate::helpers::{spawn, Backend};

async fn the_console_is_served_without_inline_scripts_or_styles(backend: Backend) {
    let app = spawn(backend).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/console", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/console/");

    let r = client
        .get(format!("{}/console/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"<html lang="id">"#));
    for tag in page.split("<script").skip(1) {
        let opening = &tag[..tag.find('>').unwrap()];
        assert!(opening.contains("src="), "inline script: {opening}");
    }
    assert!(!page.contains("style="), "inline style in the page");
    assert!(!page.contains("<style"), "inline style block in the page");

    // A copy held is not sent again.
    let r = client
        .get(format!("{}/console/", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    for (path, kind) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        (
            "vendor/leaflet/leaflet.js",
            "text/javascript; charset=utf-8",
        ),
        ("geo/villages.geojson", "application/geo+json"),
    ] {
        let r = client
            .get(format!("{}/console/{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], kind, "{path}");
    }
    let r = client
        .get(format!("{}/console/nothing-here.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
}

both_backends!(the_console_is_served_without_inline_scripts_or_styles);
