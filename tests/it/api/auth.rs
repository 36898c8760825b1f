//! Identity end to end: sign-up, OTPs, tokens, sessions, permissions, limits
//! and the audit trail.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bazaar::http::auth::TokenPair;
use bazaar::http::users::UserBody;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::test_app;
use crate::kit::{bearer_client, login, parse, problem, Expect, TestApp, ADMIN_PHONE};
use poem_openapi::types::ParseFromJSON;

const PASSWORD: &str = "correct horse battery";
/// How soon a phone may be sent another code, by default (`BAZAAR_OTP_COOLDOWN_SECS`).
const OTP_COOLDOWN: Duration = Duration::from_secs(30);

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    body: Value,
) -> reqwest::Response {
    client.post(app.url(path)).json(&body).send().await.unwrap()
}

/// The newest code the fake SMS provider sent to `phone`.
pub(super) async fn latest_code(app: &TestApp, phone: &str) -> String {
    let messages: Value = app
        .anonymous
        .get(app.url("/api/v1/dev/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    messages
        .as_array()
        .unwrap()
        .iter()
        .rev()
        // The last code: order notices to the same phone carry none.
        .find(|m| m["channel"] == "sms" && m["to"] == phone && m["code"].is_string())
        .and_then(|m| m["code"].as_str())
        .unwrap_or_else(|| panic!("no code sent to {phone}: {messages}"))
        .to_owned()
}

/// Registers a customer, verifies their phone with the code sent, and signs
/// them in; returns the token pair.
pub async fn signed_up_customer(app: &TestApp, phone: &str) -> TokenPair {
    let response = post(
        app,
        &app.anonymous,
        "/api/v1/auth/register",
        json!({"phone": phone, "name": "Customer", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let e164: String = response.json::<Value>().await.unwrap()["phone"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = latest_code(app, &e164).await;
    let verified = post(
        app,
        &app.anonymous,
        "/api/v1/auth/otp/verify",
        json!({"phone": e164, "purpose": "verify_phone", "code": code}),
    )
    .await;
    assert_eq!(verified.status(), 200, "verifying {e164}");
    login(&app.anonymous, &app.address, phone, PASSWORD).await
}

fn e164(local: &str) -> String {
    format!("+91{}", local.replace(' ', ""))
}

#[tokio::test]
async fn sign_up_sends_a_code_that_verifies_the_phone() {
    let app = test_app().spawn().await;
    let response = post(&app, &app.anonymous, "/api/v1/auth/register", json!({"phone": "98123 00001", "name": "Asha", "password": PASSWORD, "email": "Asha@Example.in"})).await;
    let user: UserBody = response.expect(201).await;
    assert_eq!(
        (user.phone.as_str(), user.email.as_deref()),
        ("+919812300001", Some("asha@example.in"))
    );
    assert_eq!(
        (
            user.phone_verified,
            user.roles.iter().map(|r| r.0.as_str()).collect::<Vec<_>>()
        ),
        (false, vec!["customer"])
    );
    let code = latest_code(&app, "+919812300001").await;
    let verified = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/otp/verify",
        json!({"phone": "+919812300001", "purpose": "verify_phone", "code": code}),
    )
    .await;
    assert_eq!(verified.status(), 200);
    let body: Value = verified.json().await.unwrap();
    assert_eq!(body["user"]["phone_verified"], true);
    assert!(body.get("tokens").is_none());
    // A code works once.
    let again = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/otp/verify",
        json!({"phone": "+919812300001", "purpose": "verify_phone", "code": code}),
    )
    .await;
    assert_eq!(problem(again).await["code"], "invalid_otp");
}

#[tokio::test]
async fn unknown_fields_in_register_are_refused_with_400() {
    let app = test_app().spawn().await;
    let response = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/register",
        json!({"phone": "98123 00002", "name": "Eve", "password": PASSWORD, "roles": ["admin"]}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body = problem(response).await;
    assert_eq!(
        (
            body["errors"][0]["field"].as_str(),
            body["errors"][0]["code"].as_str()
        ),
        (Some("roles"), Some("unknown_field"))
    );
    let bad = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/register",
        json!({"phone": "12", "name": "", "password": "short"}),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let fields: Vec<String> = problem(bad).await["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["phone", "name", "password"]);
}

#[tokio::test]
async fn the_sixth_wrong_otp_fails_even_with_the_right_code() {
    let app = test_app()
        .env(&[("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32")])
        .spawn()
        .await;
    let phone = e164("98123 00003");
    post(
        &app,
        &app.anonymous,
        "/api/v1/auth/register",
        json!({"phone": phone, "name": "Ravi", "password": PASSWORD}),
    )
    .await;
    let code = latest_code(&app, &phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    // From two addresses: one address has only five wrong codes a phone (429 after).
    let try_from = |address: &'static str, code: &str| {
        app.anonymous
            .post(app.url("/api/v1/auth/otp/verify"))
            .header("X-Forwarded-For", address)
            .json(&json!({"phone": phone, "purpose": "verify_phone", "code": code}))
            .send()
    };
    for _ in 0..5 {
        let r = try_from("192.0.2.1", wrong).await.unwrap();
        assert_eq!(problem(r).await["code"], "invalid_otp");
    }
    let sixth = try_from("192.0.2.2", &code).await.unwrap();
    assert_eq!(sixth.status(), 400);
    assert_eq!(problem(sixth).await["code"], "otp_attempts_exceeded");
}

#[tokio::test]
async fn otp_send_answers_the_same_for_unknown_numbers_and_sends_them_only_sign_in_codes() {
    let app = test_app().spawn().await;
    let phone = e164("98123 00004");
    post(
        &app,
        &app.anonymous,
        "/api/v1/auth/register",
        json!({"phone": phone, "name": "Meena", "password": PASSWORD}),
    )
    .await;
    // Reset and verify codes need an account; a sign-in code makes one, so it goes.
    for (number, purpose) in [
        ("+919812399999", "reset_password"),
        ("+919812399998", "verify_phone"),
        ("+919812399997", "login"),
    ] {
        let unknown = post(
            &app,
            &app.anonymous,
            "/api/v1/auth/otp/send",
            json!({"phone": number, "purpose": purpose}),
        )
        .await;
        assert_eq!(unknown.status(), 202, "{purpose}");
        assert_eq!(unknown.text().await.unwrap(), "");
    }
    // The registered number is still cooling down from sign-up's code.
    let cooling = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/otp/send",
        json!({"phone": phone, "purpose": "login"}),
    )
    .await;
    assert_eq!(cooling.status(), 429);
    let messages: Value = app
        .anonymous
        .get(app.url("/api/v1/dev/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent_to = |number: &str| {
        messages
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == number)
            .count()
    };
    assert_eq!(
        sent_to("+919812399999"),
        0,
        "no reset code without an account"
    );
    assert_eq!(
        sent_to("+919812399998"),
        0,
        "no verify code without an account"
    );
    assert_eq!(sent_to("+919812399997"), 1, "a sign-in code signs up");
}

async fn verify_login_code(
    app: &TestApp,
    phone: &str,
    code: &str,
    name: Option<&str>,
) -> reqwest::Response {
    let mut body = json!({"phone": phone, "purpose": "login", "code": code});
    if let Some(name) = name {
        body["name"] = json!(name);
    }
    post(app, &app.anonymous, "/api/v1/auth/otp/verify", body).await
}

/// Sends a sign-in code to `phone` and answers it.
pub(super) async fn login_code(app: &TestApp, phone: &str) -> String {
    let sent = post(
        app,
        &app.anonymous,
        "/api/v1/auth/otp/send",
        json!({"phone": phone, "purpose": "login"}),
    )
    .await;
    assert_eq!(sent.status(), 202);
    latest_code(app, phone).await
}

/// Phone-first sign-up: `otp/send` then `otp/verify`, no password, no `register`.
#[tokio::test]
async fn a_new_phone_signs_up_by_code_alone_and_its_code_waits_for_a_name() {
    let app = test_app().spawn().await;
    let phone = e164("98123 00031");
    let code = login_code(&app, &phone).await;

    let nameless = verify_login_code(&app, &phone, &code, None).await;
    assert_eq!(nameless.status(), 422);
    let body = problem(nameless).await;
    assert_eq!(body["errors"][0]["field"], "name");
    assert_eq!(body["errors"][0]["code"], "required");

    // The same code, now with the name: it was kept for this retry.
    let created: Value = verify_login_code(&app, &phone, &code, Some("Asha Rao"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["account_created"], true, "{created}");
    assert_eq!(created["user"]["name"], "Asha Rao");
    assert_eq!(created["user"]["phone_verified"], true);
    assert_eq!(created["user"]["has_password"], false);
    let id = created["user"]["id"].as_str().unwrap().to_owned();
    let token = created["tokens"]["access_token"].as_str().unwrap();
    let me: UserBody = bearer_client(token)
        .get(app.url("/api/v1/users/me"))
        .expect(200)
        .await;
    assert_eq!(me.id, id);

    // Used up: the same code does not sign in twice.
    let again = verify_login_code(&app, &phone, &code, Some("Asha Rao")).await;
    assert_eq!(problem(again).await["code"], "invalid_otp");

    // The next sign-in by code finds the account rather than making another.
    app.advance(OTP_COOLDOWN).await;
    let code = login_code(&app, &phone).await;
    let signed_in: Value = verify_login_code(&app, &phone, &code, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(signed_in["account_created"], false);
    assert_eq!(signed_in["user"]["id"], id.as_str());

    // No password signs in to an account that has none.
    let by_password = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/login",
        json!({"identifier": phone, "password": "!unusable"}),
    )
    .await;
    assert_eq!(problem(by_password).await["code"], "invalid_credentials");
}

/// The code budgets hold for phones with no account as for any other.
#[tokio::test]
async fn sign_up_by_code_keeps_the_attempt_budget_and_the_sending_cooldown() {
    let app = test_app()
        .env(&[("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32")])
        .spawn()
        .await;
    let phone = e164("98123 00032");
    let code = login_code(&app, &phone).await;
    let cooling = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/otp/send",
        json!({"phone": phone, "purpose": "login"}),
    )
    .await;
    assert_eq!(cooling.status(), 429, "a second code within the cooldown");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for i in 0..5 {
        let r = app
            .anonymous
            .post(app.url("/api/v1/auth/otp/verify"))
            .header("X-Forwarded-For", format!("192.0.2.{}", 10 + i % 2))
            .json(&json!({"phone": phone, "purpose": "login", "code": wrong, "name": "Ravi"}))
            .send()
            .await
            .unwrap();
        assert_eq!(problem(r).await["code"], "invalid_otp");
    }
    let sixth = verify_login_code(&app, &phone, &code, Some("Ravi")).await;
    assert_eq!(problem(sixth).await["code"], "otp_attempts_exceeded");
    let users: Value = app
        .get("/api/v1/users?q=9812300032")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users["items"].as_array().map(Vec::len), Some(0), "{users}");
}

/// A locked account is refused at sign-in by code too (423), before its code is spent.
#[tokio::test]
async fn a_locked_account_cannot_sign_in_by_code_until_the_lock_runs_out() {
    let app = test_app().spawn().await;
    let phone = e164("98123 00033");
    signed_up_customer(&app, &phone).await;
    for _ in 0..5 {
        post(
            &app,
            &app.anonymous,
            "/api/v1/auth/login",
            json!({"identifier": phone, "password": "wrong password!"}),
        )
        .await;
    }
    app.advance(OTP_COOLDOWN).await;
    let code = login_code(&app, &phone).await;
    let locked = verify_login_code(&app, &phone, &code, None).await;
    assert_eq!(locked.status(), 423);
    app.advance(Duration::from_secs(60)).await;
    let signed_in = verify_login_code(&app, &phone, &code, None).await;
    assert_eq!(
        signed_in.status(),
        200,
        "the code was not spent by the refusal"
    );
}

/// A password is optional: set after a sign-in by code, changed with the current one.
#[tokio::test]
async fn a_passwordless_account_sets_a_password_soon_after_signing_in_and_changes_it_later() {
    let app = test_app().spawn().await;
    let phone = e164("98123 00034");
    let code = login_code(&app, &phone).await;
    let created: Value = verify_login_code(&app, &phone, &code, Some("Meena"))
        .await
        .json()
        .await
        .unwrap();
    let me = bearer_client(created["tokens"]["access_token"].as_str().unwrap());
    let put = |client: &reqwest::Client, body: Value| {
        client
            .put(app.url("/api/v1/users/me/password"))
            .json(&body)
            .send()
    };

    let set = put(&me, json!({"new_password": PASSWORD})).await.unwrap();
    assert_eq!(set.status(), 204);
    let by_password = login(&app.anonymous, &app.address, &phone, PASSWORD).await;
    let me_now: UserBody = bearer_client(&by_password.access_token)
        .get(app.url("/api/v1/users/me"))
        .expect(200)
        .await;
    assert!(me_now.has_password);

    // Now the current password is needed, and a wrong one is refused on its field.
    let missing = put(&me, json!({"new_password": "another long one"}))
        .await
        .unwrap();
    assert_eq!(
        problem(missing).await["errors"][0]["field"],
        "current_password"
    );
    let wrong = put(
        &me,
        json!({"current_password": "not the password", "new_password": "another long one"}),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 422);
    assert_eq!(problem(wrong).await["errors"][0]["code"], "mismatch");
    let changed = put(
        &me,
        json!({"current_password": PASSWORD, "new_password": "another long one"}),
    )
    .await
    .unwrap();
    assert_eq!(changed.status(), 204);
    // The other session (the password sign-in) ended; this one stays.
    let other = bearer_client(&by_password.access_token)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);
    assert_eq!(
        me.get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    login(&app.anonymous, &app.address, &phone, "another long one").await;
}

/// A first password needs a fresh sign-in, so a stolen access token cannot add one.
#[tokio::test]
async fn a_first_password_needs_a_sign_in_from_the_last_ten_minutes() {
    let app = test_app().spawn().await;
    let phone = e164("98123 00035");
    let code = login_code(&app, &phone).await;
    let created: Value = verify_login_code(&app, &phone, &code, Some("Kiran"))
        .await
        .json()
        .await
        .unwrap();
    let tokens = TokenPair::parse_from_json(Some(created["tokens"].clone())).unwrap();
    app.advance(Duration::from_secs(11 * 60)).await;
    // The access token has lapsed with the clock; a refreshed one keeps the session's age.
    let refreshed: TokenPair = app
        .anonymous
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": tokens.refresh_token}))
        .expect(200)
        .await;
    let stale = bearer_client(&refreshed.access_token)
        .put(app.url("/api/v1/users/me/password"))
        .json(&json!({"new_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 403);
    assert_eq!(problem(stale).await["code"], "recent_sign_in_required");
}

/// `register` without a password: the phone is verified by its code, and the
/// account signs in by code.
#[tokio::test]
async fn register_takes_no_password_and_the_account_signs_in_by_code() {
    let app = test_app().spawn().await;
    let phone = e164("98123 00036");
    let registered = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/register",
        json!({"phone": phone, "name": "Farah"}),
    )
    .await;
    assert_eq!(registered.status(), 201);
    let user: UserBody = parse(registered).await;
    assert!(!user.has_password);
    app.advance(OTP_COOLDOWN).await;
    let code = login_code(&app, &phone).await;
    let signed_in: Value = verify_login_code(&app, &phone, &code, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(signed_in["account_created"], false);
    assert_eq!(signed_in["user"]["id"], user.id.as_str());
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_get_401() {
    let app = test_app().spawn().await;
    let pair = login(
        &app.anonymous,
        &app.address,
        ADMIN_PHONE,
        crate::kit::ADMIN_PASSWORD,
    )
    .await;
    let good: Value = bearer_client(&pair.access_token)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sid = pair.session_id.as_str();
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str, exp: i64| json!({"iss": iss, "aud": aud, "sub": good["id"], "sid": sid, "jti": "x", "roles": ["admin"], "iat": now, "exp": exp});
    let (kid, secret) = bazaar::config::DEV_JWT_KEYS.split_once(':').unwrap();
    let sign = |claims: &Value, secret: &str| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        encode(
            &header,
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string()),
        URL_SAFE_NO_PAD.encode(claims("bazaar", "bazaar-api", now + 600).to_string())
    );
    let cases = [
        (
            "the real key works",
            sign(&claims("bazaar", "bazaar-api", now + 600), secret),
            200,
        ),
        ("alg none", alg_none, 401),
        (
            "wrong signature",
            sign(
                &claims("bazaar", "bazaar-api", now + 600),
                "some-other-secret-that-is-32-bytes-long",
            ),
            401,
        ),
        (
            "wrong audience",
            sign(&claims("bazaar", "someone-else", now + 600), secret),
            401,
        ),
        (
            "wrong issuer",
            sign(&claims("evil", "bazaar-api", now + 600), secret),
            401,
        ),
        (
            "expired",
            sign(&claims("bazaar", "bazaar-api", now - 600), secret),
            401,
        ),
        ("garbage", "not-a-token".to_owned(), 401),
    ];
    for (what, token, expected) in cases {
        let response = bearer_client(&token)
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{what}");
        if expected == 401 {
            assert_eq!(problem(response).await["code"], "unauthorized", "{what}");
        }
    }
}

#[tokio::test]
async fn logout_kills_the_access_token_at_once() {
    let app = test_app().spawn().await;
    let pair = signed_up_customer(&app, "98123 00005").await;
    let client = bearer_client(&pair.access_token);
    assert_eq!(
        client
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .post(app.url("/api/v1/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        client
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let refresh = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/refresh",
        json!({"refresh_token": pair.refresh_token}),
    )
    .await;
    assert_eq!(
        refresh.status(),
        401,
        "the session's refresh token died with it"
    );
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_session() {
    let app = test_app().spawn().await;
    let first = signed_up_customer(&app, "98123 00006").await;
    let second: TokenPair = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/refresh",
        json!({"refresh_token": first.refresh_token}),
    )
    .await
    .expect(200)
    .await;
    assert_ne!(second.refresh_token, first.refresh_token, "rotated");
    assert_eq!(second.session_id, first.session_id);
    let new_client = bearer_client(&second.access_token);
    assert_eq!(
        new_client
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let replay = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/refresh",
        json!({"refresh_token": first.refresh_token}),
    )
    .await;
    assert_eq!(replay.status(), 401);
    assert_eq!(problem(replay).await["code"], "refresh_token_reused");
    // The thief's replay ended the session for everyone holding its tokens.
    assert_eq!(
        new_client
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let legit = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/refresh",
        json!({"refresh_token": second.refresh_token}),
    )
    .await;
    assert_eq!(legit.status(), 401);
    let audit: Value = app
        .get("/api/v1/audit-events?kind=refresh_reused")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_get_the_same_answer_and_repeated_failures_lock() {
    let app = test_app().spawn().await;
    signed_up_customer(&app, "98123 00007").await;
    let attempt = |identifier: &'static str| {
        let app = &app;
        async move {
            post(
                app,
                &app.anonymous,
                "/api/v1/auth/login",
                json!({"identifier": identifier, "password": "wrong password!"}),
            )
            .await
        }
    };
    let unknown = problem(attempt("+919812399998").await).await;
    let wrong = problem(attempt("+919812300007").await).await;
    for field in ["status", "code", "detail", "title"] {
        assert_eq!(unknown[field], wrong[field], "{field}");
    }
    for _ in 0..4 {
        attempt("+919812300007").await;
    }
    // Five failures: locked, even for the right password.
    let locked = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/login",
        json!({"identifier": "+919812300007", "password": PASSWORD}),
    )
    .await;
    assert_eq!(locked.status(), 423);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(problem(locked).await["code"], "account_locked");
}

#[tokio::test]
async fn the_password_hash_never_appears_in_a_response() {
    let app = test_app().spawn().await;
    let pair = signed_up_customer(&app, "98123 00008").await;
    let customer = bearer_client(&pair.access_token);
    // A sign-in's answer as sent: a typed `TokenPair` would drop a field it does not know.
    let signed_in = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/login",
        json!({"identifier": "98123 00008", "password": PASSWORD}),
    )
    .await
    .expect_status(200)
    .await;
    let mut bodies = vec![signed_in.text().await.unwrap()];
    bodies.push(
        customer
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    bodies.push(
        customer
            .patch(app.url("/api/v1/users/me"))
            .json(&json!({"name": "Renamed"}))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    bodies.push(app.get("/api/v1/users").await.text().await.unwrap());
    bodies.push(
        app.get(&format!("/api/v1/users/{}", pair.user.id.as_str()))
            .await
            .text()
            .await
            .unwrap(),
    );
    for body in bodies {
        assert!(
            !body.contains("argon2") && !body.contains("password_hash"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn customers_cannot_reach_admin_endpoints_or_other_users_sessions() {
    let app = test_app().spawn().await;
    let a = signed_up_customer(&app, "98123 00009").await;
    let b = signed_up_customer(&app, "98123 00010").await;
    let client_a = bearer_client(&a.access_token);
    for path in [
        "/api/v1/users",
        "/api/v1/audit-events",
        &format!("/api/v1/users/{}", b.user.id),
    ] {
        let response = client_a.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
        assert_eq!(problem(response).await["code"], "forbidden");
    }
    let roles = client_a
        .put(app.url(&format!("/api/v1/users/{}/roles", a.user.id)))
        .json(&json!({"roles": ["admin"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(roles.status(), 403, "no self-promotion");
    let other_session = client_a
        .delete(app.url(&format!(
            "/api/v1/users/me/sessions/{}",
            b.session_id.as_str()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(other_session.status(), 404);
    let b_client = bearer_client(&b.access_token);
    assert_eq!(
        b_client
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "b's session survived"
    );
    let denied: Value = app
        .get("/api/v1/audit-events?kind=permission_denied")
        .await
        .json()
        .await
        .unwrap();
    assert!(denied["items"].as_array().unwrap().len() >= 4, "{denied}");
}

#[tokio::test]
async fn sessions_can_be_listed_and_ended_one_by_one_or_all_at_once() {
    let app = test_app().spawn().await;
    let phone = "98123 00011";
    let first = signed_up_customer(&app, phone).await;
    let second = login(&app.anonymous, &app.address, phone, PASSWORD).await;
    let client = bearer_client(&first.access_token);
    let sessions: Value = client
        .get(app.url("/api/v1/users/me/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions.iter().all(|s| s["ip"] == "127.0.0.1"));
    let end_second = client
        .delete(app.url(&format!(
            "/api/v1/users/me/sessions/{}",
            second.session_id.as_str()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(end_second.status(), 204);
    assert_eq!(
        bearer_client(&second.access_token)
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let third = login(&app.anonymous, &app.address, phone, PASSWORD).await;
    assert_eq!(
        client
            .post(app.url("/api/v1/auth/logout-all"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    for token in [&first, &third] {
        let c = bearer_client(&token.access_token);
        assert_eq!(
            c.get(app.url("/api/v1/users/me"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
    }
}

#[tokio::test]
async fn admins_change_roles_and_disable_users_with_immediate_effect() {
    let app = test_app().spawn().await;
    let customer = signed_up_customer(&app, "98123 00012").await;
    let id = customer.user.id.as_str();
    let list: Value = app
        .get("/api/v1/users?role=customer&page=1&limit=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    let promoted = app
        .client
        .put(app.url(&format!("/api/v1/users/{id}/roles")))
        .json(&json!({"roles": ["customer", "catalog_manager"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(promoted.status(), 200);
    assert_eq!(
        promoted.json::<Value>().await.unwrap()["roles"],
        json!(["customer", "catalog_manager"])
    );
    let old = bearer_client(&customer.access_token);
    assert_eq!(
        old.get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "sessions end so roles apply at once"
    );
    let fresh = login(&app.anonymous, &app.address, "98123 00012", PASSWORD).await;
    let manager = bearer_client(&fresh.access_token);
    let created = manager
        .post(app.url("/api/v1/products"))
        .json(&crate::kit::product_json("MGR-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status(),
        201,
        "a catalog manager may write products"
    );

    let disabled = app
        .client
        .post(app.url(&format!("/api/v1/users/{id}/actions/disable")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        disabled.json::<Value>().await.unwrap()["status"],
        "disabled"
    );
    assert_eq!(
        manager
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let again = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/login",
        json!({"identifier": "98123 00012", "password": PASSWORD}),
    )
    .await;
    assert_eq!(again.status(), 403);
    let audit: Value = app
        .get(&format!("/api/v1/audit-events?user_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"roles_changed")
            && kinds.contains(&"user_disabled")
            && kinds.contains(&"register"),
        "{kinds:?}"
    );
    let changed = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "roles_changed")
        .unwrap();
    assert!(
        changed["actor_id"].is_string()
            && changed["request_id"].is_string()
            && changed["ip"] == "127.0.0.1"
    );
}

#[tokio::test]
async fn a_password_reset_by_sms_code_replaces_the_password_and_ends_sessions() {
    let app = test_app().spawn().await;
    let phone = e164("98123 00013");
    let pair = signed_up_customer(&app, &phone).await;
    app.advance(OTP_COOLDOWN).await;
    let forgot = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/password/forgot",
        json!({"identifier": phone}),
    )
    .await;
    assert_eq!(forgot.status(), 202);
    let code = latest_code(&app, &phone).await;
    let wrong = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/password/reset",
        json!({"phone": phone, "code": "999999", "new_password": "a brand new passphrase"}),
    )
    .await;
    assert_eq!(wrong.status(), 400);
    let reset = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/password/reset",
        json!({"phone": phone, "code": code, "new_password": "a brand new passphrase"}),
    )
    .await;
    assert_eq!(reset.status(), 204);
    assert_eq!(
        bearer_client(&pair.access_token)
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    login(
        &app.anonymous,
        &app.address,
        &phone,
        "a brand new passphrase",
    )
    .await;
    let old = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/login",
        json!({"identifier": phone, "password": PASSWORD}),
    )
    .await;
    assert_eq!(old.status(), 401);
}

#[tokio::test]
async fn email_verification_and_preferences() {
    let app = test_app().spawn().await;
    let pair = signed_up_customer(&app, "98123 00014").await;
    let client = bearer_client(&pair.access_token);
    let no_email = client
        .post(app.url("/api/v1/users/me/email/verify-request"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_email.status(), 409);
    let me: Value = client
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({"email": "Ravi@Example.IN"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some("ravi@example.in"), Some(false))
    );
    assert_eq!(
        client
            .post(app.url("/api/v1/users/me/email/verify-request"))
            .send()
            .await
            .unwrap()
            .status(),
        202
    );
    let messages: Value = app
        .anonymous
        .get(app.url("/api/v1/dev/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let email = messages
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["channel"] == "email")
        .unwrap();
    let data: Value = serde_json::from_str(email["data"].as_str().unwrap()).unwrap();
    let verified = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/email/verify",
        json!({"token": data["token"]}),
    )
    .await;
    assert_eq!(verified.status(), 200);
    assert_eq!(
        verified.json::<Value>().await.unwrap()["email_verified"],
        true
    );
    let changed: Value = client
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({"email": "new@example.in"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &changed["email"],
            &changed["email_verified"],
            &changed["pending_email"]
        ),
        (
            &json!("ravi@example.in"),
            &json!(true),
            &json!("new@example.in")
        ),
        "a new email waits beside the verified one until proven"
    );

    let prefs: Value = client
        .get(app.url("/api/v1/users/me/preferences"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        prefs,
        json!({"language": "en", "sms": true, "email": true, "whatsapp": false, "marketing": false}),
        "marketing is off until the customer turns it on"
    );
    let put = client
        .put(app.url("/api/v1/users/me/preferences"))
        .json(&json!({"language": "hi", "sms": false, "email": true, "whatsapp": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let bad = client
        .put(app.url("/api/v1/users/me/preferences"))
        .json(&json!({"language": "xx", "sms": false, "email": true, "whatsapp": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(bad).await["errors"][0]["field"], "language");
}

#[tokio::test]
async fn auth_routes_are_rate_limited_per_client_with_headers() {
    let app = test_app()
        .env(&[("BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE", "2")])
        .spawn()
        .await;
    let attempt = || {
        post(
            &app,
            &app.anonymous,
            "/api/v1/auth/refresh",
            json!({"refresh_token": "nope.nope"}),
        )
    };
    let first = attempt().await;
    assert_eq!(first.headers()["ratelimit-limit"], "2");
    attempt().await;
    let limited = attempt().await;
    assert_eq!(limited.status(), 429);
    assert!(
        limited.headers().contains_key("retry-after")
            && limited.headers().contains_key("ratelimit-reset")
    );
}

#[tokio::test]
async fn a_replayed_refresh_token_and_a_second_sign_up_with_a_taken_phone_change_nothing() {
    let app = test_app().spawn().await;
    let pair = signed_up_customer(&app, "98123 00015").await;
    let client = bearer_client(&pair.access_token);
    assert_eq!(
        client
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let refreshed: Value = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/refresh",
        json!({"refresh_token": pair.refresh_token}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(refreshed["access_token"].is_string());
    let replay = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/refresh",
        json!({"refresh_token": pair.refresh_token}),
    )
    .await;
    assert_eq!(problem(replay).await["code"], "refresh_token_reused");
    // A taken phone is answered as a new one would be, and nothing changes.
    let dup = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/register",
        json!({"phone": "98123 00015", "name": "Again", "password": "another password"}),
    )
    .await;
    assert_eq!(dup.status(), 201);
    assert_ne!(dup.json::<Value>().await.unwrap()["id"], pair.user.id);
    login(&app.anonymous, &app.address, "98123 00015", PASSWORD).await;
    let audit: Value = app
        .get("/api/v1/audit-events?limit=5")
        .await
        .json()
        .await
        .unwrap();
    assert!(!audit["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_code_can_be_read_out_by_voice_when_the_sms_does_not_arrive() {
    let app = test_app().spawn().await;
    let phone = e164("98123 00016");
    post(
        &app,
        &app.anonymous,
        "/api/v1/auth/register",
        json!({"phone": phone, "name": "Voice", "password": PASSWORD}),
    )
    .await;
    let code = latest_code(&app, &phone).await;
    app.advance(OTP_COOLDOWN).await;
    let voice = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/otp/send",
        json!({"phone": phone, "purpose": "verify_phone", "channel": "voice"}),
    )
    .await;
    assert_eq!(voice.status(), 202);
    let messages: Value = app
        .anonymous
        .get(app.url("/api/v1/dev/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        messages
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["channel"] == "voice" && m["to"] == phone.as_str()),
        "{messages}"
    );
    // The code read out is the one already sent, and it still works.
    let verified = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/otp/verify",
        json!({"phone": phone, "purpose": "verify_phone", "code": code}),
    )
    .await;
    assert_eq!(verified.status(), 200);
}

#[tokio::test]
async fn an_account_locked_for_everyone_shows_as_locked_to_admins() {
    let app = test_app()
        .env(&[("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32")])
        .spawn()
        .await;
    let pair = signed_up_customer(&app, "98123 00017").await;
    let id = pair.user.id.as_str().to_owned();
    // Five failures from each of four addresses: the account's twenty.
    for address in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
    ] {
        for _ in 0..5 {
            let failed = app
                .anonymous
                .post(app.url("/api/v1/auth/login"))
                .header("X-Forwarded-For", address)
                .json(&json!({"identifier": "98123 00017", "password": "wrong password!"}))
                .send()
                .await
                .unwrap();
            assert_eq!(failed.status(), 401);
        }
    }
    let user: Value = app
        .get(&format!("/api/v1/users/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["status"], "locked");
    let locked: Value = app
        .get("/api/v1/users?status=locked")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(locked["items"][0]["id"], id.as_str());
    let audit: Value = app
        .get(&format!(
            "/api/v1/audit-events?kind=account_locked&user_id={id}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_access_token_expires_with_its_lifetime_and_the_session_with_its_own() {
    let app = test_app().spawn().await;
    let pair = signed_up_customer(&app, "98123 00021").await;
    let me = |token: &str| bearer_client(token).get(app.url("/api/v1/users/me")).send();
    // Access tokens live 15 minutes (give or take 5 s of clock skew); sessions 30 days.
    app.advance(Duration::from_secs(890)).await;
    assert_eq!(me(&pair.access_token).await.unwrap().status(), 200);
    app.advance(Duration::from_secs(20)).await;
    let expired = me(&pair.access_token).await.unwrap();
    assert_eq!(expired.status(), 401, "past its lifetime");

    let refreshed = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/refresh",
        json!({"refresh_token": pair.refresh_token}),
    )
    .await;
    // The session outlives the token.
    let renewed: TokenPair = refreshed.expect(200).await;
    assert_eq!(me(&renewed.access_token).await.unwrap().status(), 200);

    app.advance(Duration::from_secs(30 * 86_400 + 60)).await;
    let ended = post(
        &app,
        &app.anonymous,
        "/api/v1/auth/refresh",
        json!({"refresh_token": renewed.refresh_token}),
    )
    .await;
    assert_eq!(ended.status(), 401, "30 days unused end the session");
}

#[tokio::test]
async fn a_locked_account_signs_in_again_once_its_lock_has_run_out() {
    let app = test_app().spawn().await;
    signed_up_customer(&app, "98123 00022").await;
    let sign_in = |password: &'static str| {
        post(
            &app,
            &app.anonymous,
            "/api/v1/auth/login",
            json!({"identifier": "+919812300022", "password": password}),
        )
    };
    for _ in 0..5 {
        assert_eq!(sign_in("wrong password!").await.status(), 401);
    }
    // The fifth failure locks this address out of the account for a minute.
    assert_eq!(sign_in(PASSWORD).await.status(), 423);
    app.advance(Duration::from_secs(50)).await;
    let still = sign_in(PASSWORD).await;
    assert_eq!(still.status(), 423);
    let retry: u64 = still.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=10).contains(&retry),
        "what is left of the minute: {retry}"
    );

    app.advance(Duration::from_secs(10)).await;
    assert_eq!(sign_in(PASSWORD).await.status(), 200, "the lock ran out");
}

/// `until` before `since` is an empty range, not an error: the contract cannot relate two
/// parameters, so it allows the pair.
#[tokio::test]
async fn audit_events_until_before_since_are_an_empty_page() {
    let app = test_app().spawn().await;
    signed_up_customer(&app, "98123 00091").await;
    let events = |query: &'static str| {
        let app = &app;
        async move {
            let response = app.get(&format!("/api/v1/audit-events?{query}")).await;
            assert_eq!(response.status(), 200, "{query}");
            let body: Value = response.json().await.unwrap();
            body["items"].as_array().unwrap().len()
        }
    };
    assert!(events("since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z").await > 0);
    assert_eq!(
        events("since=2100-01-01T00:00:00Z&until=2000-01-01T00:00:00Z").await,
        0
    );
}

#[tokio::test]
async fn my_profile_answers_its_etag_and_304_while_it_is_unchanged() {
    let app = test_app().spawn().await;
    let me = || app.client.get(app.url("/api/v1/users/me"));

    let read = me().send().await.unwrap();
    let tag = read.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = read.json().await.unwrap();
    let unchanged = me().header("if-none-match", &tag).send().await.unwrap();
    let renamed = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({ "name": "Renamed Admin" }))
        .send()
        .await
        .unwrap();
    let changed = me().header("if-none-match", &tag).send().await.unwrap();

    assert_eq!(tag, format!("\"v{}\"", body["version"]));
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["etag"], tag.as_str());
    assert_eq!(renamed.status(), 200);
    assert_ne!(renamed.headers()["etag"], tag.as_str());
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.headers()["etag"], renamed.headers()["etag"]);
}

#[tokio::test]
async fn a_stale_if_match_on_my_profile_answers_412_and_changes_nothing() {
    let app = test_app().spawn().await;
    let read = app
        .client
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    let tag = read.headers()["etag"].to_str().unwrap().to_owned();
    let before: Value = read.json().await.unwrap();
    let patch = |tag: &str, name: &str| {
        app.client
            .patch(app.url("/api/v1/users/me"))
            .header("if-match", tag)
            .json(&json!({ "name": name }))
            .send()
    };
    let preferences = |tag: &str| {
        app.client
            .put(app.url("/api/v1/users/me/preferences"))
            .header("if-match", tag)
            .json(&json!({ "language": "hi", "sms": false, "email": true, "whatsapp": false }))
            .send()
    };

    let stale_patch = patch("\"v0\"", "Stale Name").await.unwrap();
    let stale_preferences = preferences("\"v0\"").await.unwrap();
    let after: Value = app
        .client
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let current = patch(&tag, "Fresh Name").await.unwrap();
    let next_tag = current.headers()["etag"].to_str().unwrap().to_owned();
    let current_body: Value = current.json().await.unwrap();
    let replaced = preferences(&next_tag).await.unwrap();

    assert_eq!(stale_patch.status(), 412);
    assert_eq!(problem(stale_patch).await["code"], "precondition_failed");
    assert_eq!(stale_preferences.status(), 412);
    assert_eq!(
        problem(stale_preferences).await["code"],
        "precondition_failed"
    );
    assert_eq!(after, before);
    assert_eq!(current_body["name"], "Fresh Name");
    assert_eq!(replaced.status(), 200);
    let prefs: Value = replaced.json().await.unwrap();
    assert_eq!(prefs["language"], "hi");
}
