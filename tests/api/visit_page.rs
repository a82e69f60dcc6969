//! The citizen's visit page through HTTP: a signed link from the API, the page without
//! sign-in showing only that visit (service, day, window, status, the team's expected
//! arrival once it is on its way), and expired or forged links refused.

use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn, Backend, TestApp};
use crate::rebalancing::crew;

async fn page(app: &TestApp, url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = app
        .client
        .get(format!("{}{url}", app.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

async fn the_visit_page_shows_one_visit_from_a_signed_link(backend: Backend) {
    let app = spawn(backend).await;
    let crew = crew(&app, 3).await;
    let next = crew.requests.clone();
    let link = |id: i64| format!("/v1/requests/{id}/visit-link");

    // The citizen's own requests only; officers have no business with it.
    let r = app.get(&link(next[1]), &crew.citizen).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = r.body["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/v/"), "{url}");
    let other = app.citizen("081200000777").await;
    app.get(&link(next[1]), &other)
        .await
        .assert_error(404, "not_found", None);
    app.get(&link(next[1]), &crew.region.officer)
        .await
        .assert_error(404, "not_found", None);

    // Without signing in: the service, the day, the promised window; nothing personal.
    let (status, headers, html) = page(&app, &url).await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(html.contains("<html lang=\"id\">"), "{html}");
    assert!(html.contains("Perekaman KTP-el lansia"), "{html}");
    assert!(html.contains("Terjadwal"), "{html}");
    assert!(html.contains(" WIB"), "{html}");
    assert!(!html.contains("Perkiraan tiba"), "{html}");
    for private in [
        "Dusun Bendungan",
        "Ibu sudah tidak bisa berjalan",
        "0812",
        "+62",
    ] {
        assert!(!html.contains(private), "{private} shown: {html}");
    }
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("style="), "{html}");

    // Which visit comes after the first on the team's route, and the team finishing the first.
    let day = crate::rebalancing::day_routes(&app, &crew, &crew.day).await;
    let stops = crate::rebalancing::stop_ids(&crate::rebalancing::route_of(&day, crew.team_a));
    let r = app.get(&link(stops[1]), &crew.citizen).await;
    let url = r.body["url"].as_str().unwrap().to_string();
    // Reported before the visit day's plan said it would end: the estimate is the planned
    // start of the next visit, on the visit day.
    let done_at = chrono::Utc::now().to_rfc3339();
    let r = app
        .post(
            "/v1/me/events",
            Some(&crew.region.officer),
            json!({"events": [{"id": "done-1", "kind": "completed", "request_id": stops[0], "at": done_at}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, _, html) = page(&app, &url).await;
    assert!(html.contains("Tim sedang dalam perjalanan"), "{html}");
    assert!(html.contains("Perkiraan tiba"), "{html}");
    let (_, _, html) = page(&app, &format!("{url}?lang=en")).await;
    assert!(html.contains("The team is on its way"), "{html}");
    assert!(html.contains("Expected arrival"), "{html}");
    // The finished visit says so, and no longer promises a time.
    let r = app.get(&link(stops[0]), &crew.citizen).await;
    let (_, _, html) = page(&app, r.body["url"].as_str().unwrap()).await;
    assert!(html.contains("Selesai"), "{html}");
    assert!(!html.contains("Jam yang dijanjikan"), "{html}");
}

async fn expired_and_forged_links_show_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let citizen = app.citizen("081200000501").await;
    let id = app.create_request(&citizen, &region).await.id();
    let keys = jemput::auth::TokenKeys::new(&app.settings.auth.jwt_secret, 900);
    let expired = keys
        .issue_visit_link(id, chrono::Utc::now() - chrono::Duration::minutes(1))
        .unwrap();
    let fresh = keys
        .issue_visit_link(id, chrono::Utc::now() + chrono::Duration::minutes(10))
        .unwrap();
    let (status, _, html) = page(&app, &format!("/v/{fresh}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Menunggu dijadwalkan"), "{html}");
    let forged = jemput::auth::TokenKeys::new("another-secret-another-secret-0000000", 900)
        .issue_visit_link(id, chrono::Utc::now() + chrono::Duration::minutes(10))
        .unwrap();
    for token in [
        expired.as_str(),
        forged.as_str(),
        citizen.as_str(),
        "nonsense",
    ] {
        let (status, _, html) = page(&app, &format!("/v/{token}")).await;
        assert_eq!(status, 404, "{token}");
        assert!(html.contains("sudah tidak berlaku"), "{html}");
        assert!(!html.contains("Perekaman"), "{html}");
    }
}

both_backends!(
    the_visit_page_shows_one_visit_from_a_signed_link,
    expired_and_forged_links_show_nothing,
);
