//! Email done properly: a forgotten password is reset by an emailed single-use link
//! (through the outbox); an email signs in and resets only once verified, and an
//! unverified claim blocks no one; a verified email is replaced only once the new one is
//! proven, and the old one is told. What was "sent" is read from the fakes' record
//! (`GET /api/v1/dev/messages`) and the admin's outbox list.

use std::time::Duration;

use bazaar::http::auth::TokenPair;
use serde_json::{json, Value};

use super::auth::signed_up_customer;
use super::test_app;
use crate::kit::{bearer_client, login, Expect, TestApp};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// The app with a worker that looks for due notices every 100 ms.
async fn app() -> TestApp {
    test_app()
        .env(&[("BAZAAR_OUTBOX_POLL_MS", "100")])
        .spawn()
        .await
}

/// The emails the fakes sent to `to`, oldest first, as `(purpose, data)`.
async fn emails_to(app: &TestApp, to: &str) -> Vec<(String, Value)> {
    let messages: Value = app
        .anonymous
        .get(app.url("/api/v1/dev/messages"))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel"] == "email" && m["to"] == to)
        .map(|m| {
            let data = serde_json::from_str(m["data"].as_str().unwrap()).unwrap();
            (m["purpose"].as_str().unwrap().to_owned(), data)
        })
        .collect()
}

/// The data of the newest email of `purpose` to `to`, waiting for the outbox's worker.
async fn email_of(app: &TestApp, to: &str, purpose: &str) -> Value {
    let wait = async {
        loop {
            if let Some((_, data)) = emails_to(app, to)
                .await
                .into_iter()
                .rev()
                .find(|(p, _)| p == purpose)
            {
                return data;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("no {purpose} email to {to}"))
}

/// The outbox messages of `kind`, as the admin lists them.
async fn outbox_of(app: &TestApp, kind: &str) -> Vec<Value> {
    let page: Value = app
        .get("/api/v1/admin/outbox?limit=100")
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == kind)
        .cloned()
        .collect()
}

/// Sets `email` on the profile of `client`'s account and follows the link sent to it.
async fn verify_email(app: &TestApp, client: &reqwest::Client, email: &str) -> Value {
    client
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({ "email": email }))
        .expect_status(200)
        .await;
    client
        .post(app.url("/api/v1/users/me/email/verify-request"))
        .expect_status(202)
        .await;
    let token = email_of(app, email, "verify_email").await["token"].clone();
    app.anonymous
        .post(app.url("/api/v1/auth/email/verify"))
        .json(&json!({ "token": token }))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap()
}

/// A customer signed up with `phone`, whose verified email is `email`.
async fn customer_with_email(app: &TestApp, phone: &str, email: &str) -> TokenPair {
    let pair = signed_up_customer(app, phone).await;
    let me = verify_email(app, &bearer_client(&pair.access_token), email).await;
    assert_eq!(me["email_verified"], true);
    pair
}

async fn forgot(app: &TestApp, identifier: &str) {
    app.anonymous
        .post(app.url("/api/v1/auth/password/forgot"))
        .json(&json!({ "identifier": identifier }))
        .expect_status(202)
        .await;
}

/// `POST /auth/password/reset-with-link`.
async fn reset(app: &TestApp, body: Value) -> reqwest::Response {
    app.anonymous
        .post(app.url("/api/v1/auth/password/reset-with-link"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn sign_in_status(app: &TestApp, identifier: &str, password: &str) -> u16 {
    app.anonymous
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "identifier": identifier, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_password_reset_link_works_once_ends_every_session_and_leaves_the_outbox() {
    let app = app().await;
    let email = "meera@example.in";
    let pair = customer_with_email(&app, "98126 00001", email).await;

    forgot(&app, email).await;
    let data = email_of(&app, email, "password_reset").await;
    let token = data["token"].as_str().unwrap().to_owned();
    assert!(
        data["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/reset-password?token={token}")),
        "{data}"
    );
    assert_eq!(data["expires_in_minutes"], 30);
    let messages: Value = app
        .anonymous
        .get(app.url("/api/v1/dev/messages"))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !messages
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["channel"] == "sms" && m["purpose"] == "reset_password"),
        "no SMS code for an email identifier: {messages}"
    );

    reset(
        &app,
        json!({ "token": token, "new_password": NEW_PASSWORD }),
    )
    .await
    .expect_status(204)
    .await;
    bearer_client(&pair.access_token)
        .get(app.url("/api/v1/users/me"))
        .expect_status(401)
        .await;
    login(&app.anonymous, &app.address, email, NEW_PASSWORD).await;
    assert_eq!(sign_in_status(&app, email, PASSWORD).await, 401);

    // Single use: the same link again fails, and changes nothing.
    reset(
        &app,
        json!({ "token": token, "new_password": "yet another passphrase" }),
    )
    .await
    .expect_problem(400, "invalid_otp")
    .await;
    login(&app.anonymous, &app.address, email, NEW_PASSWORD).await;

    // Delivered, the link is no longer readable in the outbox.
    let sent = outbox_of(&app, "password_reset").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["state"], "delivered");
    assert_eq!(sent[0]["data"], json!({}), "{sent:?}");
}

#[tokio::test]
async fn an_expired_reset_link_fails() {
    let app = app().await;
    let email = "kiran@example.in";
    customer_with_email(&app, "98126 00002", email).await;
    forgot(&app, email).await;
    let token = email_of(&app, email, "password_reset").await["token"].clone();

    app.advance(Duration::from_secs(31 * 60)).await;
    reset(
        &app,
        json!({ "token": token, "new_password": NEW_PASSWORD }),
    )
    .await
    .expect_problem(400, "invalid_otp")
    .await;
    login(&app.anonymous, &app.address, email, PASSWORD).await;
}

#[tokio::test]
async fn unknown_and_unverified_emails_get_the_same_202_and_no_link() {
    let app = app().await;
    let unverified = "not.yet@example.in";
    let pair = signed_up_customer(&app, "98126 00003").await;
    bearer_client(&pair.access_token)
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({ "email": unverified }))
        .expect_status(200)
        .await;
    // A verified one, so that a link that does go out shows the worker ran.
    let known = "known@example.in";
    customer_with_email(&app, "98126 00004", known).await;

    forgot(&app, "nobody@example.in").await;
    forgot(&app, unverified).await;
    forgot(&app, known).await;
    email_of(&app, known, "password_reset").await;

    assert!(emails_to(&app, "nobody@example.in").await.is_empty());
    assert!(
        !emails_to(&app, unverified)
            .await
            .iter()
            .any(|(p, _)| p == "password_reset"),
        "an unverified address names no one"
    );
    let written = outbox_of(&app, "password_reset").await;
    assert_eq!(written.len(), 1, "only the verified address: {written:?}");
    assert_eq!(written[0]["to"], known);
}

/// The two proofs are two operations, each with its own fields: neither takes the other's.
#[tokio::test]
async fn a_reset_by_code_takes_no_token_and_a_reset_by_link_no_code() {
    let app = app().await;
    let by_code_with_token = app
        .anonymous
        .post(app.url("/api/v1/auth/password/reset"))
        .json(&json!({ "phone": "+919812600005", "code": "123456", "token": "abc", "new_password": NEW_PASSWORD }))
        .expect_problem(400, "malformed_body")
        .await;
    assert_eq!(
        by_code_with_token["errors"][0]["field"], "token",
        "{by_code_with_token}"
    );
    let by_link_with_code = reset(
        &app,
        json!({ "token": "abc", "phone": "+919812600005", "new_password": NEW_PASSWORD }),
    )
    .await
    .expect_problem(400, "malformed_body")
    .await;
    assert_eq!(
        by_link_with_code["errors"][0]["field"], "phone",
        "{by_link_with_code}"
    );
    reset(
        &app,
        json!({ "token": "not a token", "new_password": NEW_PASSWORD }),
    )
    .await
    .expect_problem(400, "invalid_otp")
    .await;
}

#[tokio::test]
async fn an_unverified_email_neither_signs_in_nor_blocks_its_real_owner() {
    let app = app().await;
    let address = "shared@example.in";
    // A claims the address first, and never proves it.
    let squatter = signed_up_customer(&app, "98126 00006").await;
    let squatter = bearer_client(&squatter.access_token);
    squatter
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({ "email": address }))
        .expect_status(200)
        .await;
    assert_eq!(sign_in_status(&app, address, PASSWORD).await, 401);
    squatter
        .post(app.url("/api/v1/users/me/email/verify-request"))
        .expect_status(202)
        .await;
    let squatters_link = email_of(&app, address, "verify_email").await["token"].clone();

    // B, who owns it, claims and verifies it all the same.
    let owner = signed_up_customer(&app, "98126 00007").await;
    let owner = bearer_client(&owner.access_token);
    let me = verify_email(&app, &owner, address).await;
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some(address), Some(true))
    );
    // The address signs in to B's account only.
    let pair = login(&app.anonymous, &app.address, address, PASSWORD).await;
    assert_eq!(pair.user.phone, "+919812600007");

    // A's claim stays unverified, and A's link no longer verifies it.
    app.anonymous
        .post(app.url("/api/v1/auth/email/verify"))
        .json(&json!({ "token": squatters_link }))
        .expect_problem(409, "conflict")
        .await;
    let theirs: Value = squatter
        .get(app.url("/api/v1/users/me"))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["email_verified"], false);
}

#[tokio::test]
async fn a_new_email_waits_for_its_link_replaces_the_verified_one_and_the_old_one_is_told() {
    let app = app().await;
    let (old, new) = ("old.address@example.in", "new.address@example.in");
    let pair = customer_with_email(&app, "98126 00008", old).await;
    let client = bearer_client(&pair.access_token);
    // One verification link per account per cooldown: the old address's went just now.
    app.advance(Duration::from_secs(30)).await;

    let pending: Value = client
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({ "email": new }))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["email"], old);
    assert_eq!(pending["email_verified"], true);
    assert_eq!(pending["pending_email"], new);
    // Until proven, the new address is no one's and the old one still signs in.
    assert_eq!(sign_in_status(&app, new, PASSWORD).await, 401);
    login(&app.anonymous, &app.address, old, PASSWORD).await;

    let token = email_of(&app, new, "verify_email").await["token"].clone();
    let replaced: Value = app
        .anonymous
        .post(app.url("/api/v1/auth/email/verify"))
        .json(&json!({ "token": token }))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["email"], new);
    assert_eq!(replaced["email_verified"], true);
    assert!(replaced.get("pending_email").is_none(), "{replaced}");
    login(&app.anonymous, &app.address, new, PASSWORD).await;
    assert_eq!(sign_in_status(&app, old, PASSWORD).await, 401);

    let notice = email_of(&app, old, "email_changed").await;
    assert_eq!(notice["new_email"], "n***@example.in", "{notice}");
    assert!(notice.get("link").is_none(), "no link to undo it: {notice}");
    assert!(notice.get("token").is_none(), "{notice}");

    // Removing the email stays immediate.
    let removed: Value = client
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({ "email": null }))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert!(removed.get("email").is_none(), "{removed}");
    assert!(removed.get("pending_email").is_none(), "{removed}");
}
