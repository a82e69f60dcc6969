//! `GET /metrics` on a listener of its own: Prometheus text with request latencies by route
//! pattern, answers by status class, planning queue and solve times, outbox rows and pool use.
//! Off unless `metrics.address` is set; never served beside the API.

use reqwest::Method;

use crate::both_backends;
use crate::helpers::{spawn, spawn_with, Backend};

async fn metrics_are_served_on_their_own_port(backend: Backend) {
    let app = spawn_with(backend, |s| s.metrics.address = "127.0.0.1:0".into()).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    app.get("/v1/requests/999999", &region.coordinator)
        .await
        .assert_error(404, "not_found", None);
    let r = app
        .post(
            "/v1/plans",
            Some(&region.coordinator),
            serde_json::json!({"dates": crate::plans::days(2, 3), "time_limit_seconds": 1}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    crate::plans::finished(&app, &region.coordinator, r.id()).await;

    // Not beside the API.
    app.call(Method::GET, "/metrics", None, None, &[])
        .await
        .assert_error(404, "not_found", None);
    let port = app.metrics_port.expect("metrics port");
    let page = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    for expected in [
        "jemput_http_request_duration_seconds_bucket{",
        "route=\"/v1/requests/{id}\"",
        "class=\"4xx\"",
        "jemput_planning_solve_duration_seconds_count",
        "jemput_planning_jobs{status=\"queued\"}",
        "jemput_db_pool_connections",
        "jemput_db_pool_max_connections 4",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(
        !text.contains("/v1/requests/999999"),
        "paths are not labels"
    );
}

async fn metrics_are_off_by_default(backend: Backend) {
    let app = spawn(backend).await;
    assert!(app.metrics_port.is_none());
    app.call(Method::GET, "/metrics", None, None, &[])
        .await
        .assert_error(404, "not_found", None);
}

both_backends!(
    metrics_are_served_on_their_own_port,
    metrics_are_off_by_default,
);
