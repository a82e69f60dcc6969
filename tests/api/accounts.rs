//! Account administration: deactivating and reactivating staff and citizens, resetting and
//! changing passwords. A deactivated account cannot sign in, cannot refresh, and its access
//! tokens stop working within `auth.session_cache_ms` on every instance.

use futures_util::future::join_all;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn, spawn_second_instance, spawn_with, Backend, STAFF_PASSWORD};

async fn a_deactivated_officer_is_signed_out_and_cannot_sign_in(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let officer_name = format!("officer-{}", region.id);
    let r = app.login(&officer_name, STAFF_PASSWORD).await;
    let refresh = r.body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/v1/me", &region.officer).await.status, 200);

    app.post(
        &format!("/v1/admin/accounts/{}/deactivate", region.officer_id),
        Some(&region.coordinator),
        json!({}),
    )
    .await
    .assert_error(403, "forbidden", None);
    let r = app
        .post(
            &format!("/v1/admin/accounts/{}/deactivate", region.officer_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);

    app.get("/v1/me", &region.officer)
        .await
        .assert_error(401, "unauthenticated", None);
    app.login(&officer_name, STAFF_PASSWORD)
        .await
        .assert_error(401, "unauthenticated", None);
    app.post("/v1/auth/refresh", None, json!({"refresh_token": refresh}))
        .await
        .assert_error(401, "invalid_refresh_token", None);

    // Deactivating twice changes nothing more.
    let again = app
        .post(
            &format!("/v1/admin/accounts/{}/deactivate", region.officer_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 200);
    let r = app
        .post(
            &format!("/v1/admin/accounts/{}/reactivate", region.officer_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.body["active"], true, "{}", r.body);
    // Tokens from before stay dead; a new sign-in works.
    app.get("/v1/me", &region.officer)
        .await
        .assert_error(401, "unauthenticated", None);
    let fresh = app.token(&officer_name, STAFF_PASSWORD).await;
    assert_eq!(app.get("/v1/me", &fresh).await.status, 200);

    app.post(
        "/v1/admin/accounts/999999/deactivate",
        Some(&admin),
        json!({}),
    )
    .await
    .assert_error(404, "not_found", None);
    let me = app.get("/v1/me", &admin).await.id();
    app.post(
        &format!("/v1/admin/accounts/{me}/deactivate"),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_error(409, "invalid_state", None);
}

async fn a_deactivated_citizen_cannot_sign_in_by_code(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let citizen = app.citizen("081255550001").await;
    let id = app.get("/v1/me", &citizen).await.id();
    let r = app
        .post(
            &format!("/v1/admin/accounts/{id}/deactivate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.get("/v1/me", &citizen)
        .await
        .assert_error(401, "unauthenticated", None);
    let r = app
        .post(
            "/v1/auth/otp/request",
            None,
            json!({"phone": "081255550001"}),
        )
        .await;
    assert_eq!(r.status, 202);
    let code = app.sms_codes("+6281255550001").await.pop().unwrap();
    app.post(
        "/v1/auth/otp/verify",
        None,
        json!({"phone": "081255550001", "code": code}),
    )
    .await
    .assert_error(403, "account_deactivated", None);
    // Citizens have no password to reset.
    app.post(
        &format!("/v1/admin/accounts/{id}/password"),
        Some(&admin),
        json!({"password": "a-new-password-1"}),
    )
    .await
    .assert_error(409, "invalid_state", None);
}

async fn another_instance_lets_go_of_a_deactivated_session_within_the_cache_time(backend: Backend) {
    let cache_ms = 300;
    let app = spawn_with(backend, |s| s.auth.session_cache_ms = cache_ms).await;
    let other = spawn_second_instance(&app, |_| {}).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    // The other instance has read the officer's session and keeps it for a moment.
    assert_eq!(other.get("/v1/me", &region.officer).await.status, 200);
    let r = app
        .post(
            &format!("/v1/admin/accounts/{}/deactivate", region.officer_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(cache_ms + 100)).await;
    other
        .get("/v1/me", &region.officer)
        .await
        .assert_error(401, "unauthenticated", None);
}

async fn staff_change_their_password_and_every_session_ends(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let name = format!("coord-{}", region.id);
    let other_session = app.token(&name, STAFF_PASSWORD).await;
    let wrong = app
        .post(
            "/v1/me/password",
            Some(&region.coordinator),
            json!({"current_password": "not-the-password", "new_password": "a-brand-new-secret"}),
        )
        .await;
    wrong.assert_error(422, "wrong_password", Some("current_password"));
    app.post(
        "/v1/me/password",
        Some(&region.coordinator),
        json!({"current_password": STAFF_PASSWORD, "new_password": "short"}),
    )
    .await
    .assert_error(422, "too_short", Some("new_password"));
    let r = app
        .post(
            "/v1/me/password",
            Some(&region.coordinator),
            json!({"current_password": STAFF_PASSWORD, "new_password": "a-brand-new-secret"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    for token in [&region.coordinator, &other_session] {
        app.get("/v1/me", token)
            .await
            .assert_error(401, "unauthenticated", None);
    }
    app.login(&name, STAFF_PASSWORD)
        .await
        .assert_error(401, "unauthenticated", None);
    let fresh = app.token(&name, "a-brand-new-secret").await;
    // Citizens have no password.
    let citizen = app.citizen("081255550002").await;
    app.post(
        "/v1/me/password",
        Some(&citizen),
        json!({"current_password": "x", "new_password": "a-brand-new-secret"}),
    )
    .await
    .assert_error(403, "forbidden", None);

    // An admin resets it: the coordinator's sessions end again.
    let coordinator_id = app.get("/v1/me", &fresh).await.id();
    let r = app
        .post(
            &format!("/v1/admin/accounts/{coordinator_id}/password"),
            Some(&admin),
            json!({"password": "reset-by-the-admin"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    app.get("/v1/me", &fresh)
        .await
        .assert_error(401, "unauthenticated", None);
    app.token(&name, "reset-by-the-admin").await;
}

/// Ten changes from the same old password at once: one wins, the rest are told the password
/// moved on (409), no longer matches (422) or that their session ended (401); never a 5xx.
async fn password_changes_at_once_change_it_once(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin().await;
    let region = app.region(&admin, "Kulon Progo").await;
    let answers = join_all((0..10).map(|i| {
        app.post(
            "/v1/me/password",
            Some(&region.coordinator),
            json!({"current_password": STAFF_PASSWORD, "new_password": format!("new-password-{i:02}")}),
        )
    }))
    .await;
    let won: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == 204)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in &answers {
        assert!(
            [204, 401, 409, 422, 429].contains(&r.status.as_u16()),
            "{} {}",
            r.status,
            r.body
        );
    }
    let name = format!("coord-{}", region.id);
    app.token(&name, &format!("new-password-{:02}", won[0]))
        .await;
}

both_backends!(
    a_deactivated_officer_is_signed_out_and_cannot_sign_in,
    a_deactivated_citizen_cannot_sign_in_by_code,
    another_instance_lets_go_of_a_deactivated_session_within_the_cache_time,
    staff_change_their_password_and_every_session_ends,
    password_changes_at_once_change_it_once,
);
