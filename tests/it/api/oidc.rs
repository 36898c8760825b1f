//! Sign in with Google end to end, against a local issuer that signs RS256 ID tokens
//! (`kit::FakeIssuer`): a new customer proves a phone and gets an account, a linked
//! Google account signs straight in, a verified email links, and every broken rule of a
//! token is refused with `invalid_id_token` and a detail naming the rule.

use bazaar::domain::time::Clock;
use bazaar::http::users::UserBody;
use serde_json::{json, Value};

use super::auth::{latest_code, login_code};
use super::test_app;
use crate::kit::{bearer_client, login, Expect, FakeIssuer, TestApp, TestKey};

const GOOGLE: &str = "/api/v1/auth/oidc/google";

async fn app_with(issuer: &FakeIssuer) -> TestApp {
    let settings = issuer.settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    test_app().env(&env).spawn().await
}

async fn sign_in(app: &TestApp, body: Value) -> reqwest::Response {
    app.anonymous
        .post(app.url(GOOGLE))
        .json(&body)
        .send()
        .await
        .expect("request sent")
}

/// A customer signed up with a password and a verified phone; their access token.
async fn customer(app: &TestApp, phone: &str, name: &str) -> String {
    let password = "correct horse battery";
    app.anonymous
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"phone": phone, "name": name, "password": password}))
        .expect_status(201)
        .await;
    let code = latest_code(app, phone).await;
    app.anonymous
        .post(app.url("/api/v1/auth/otp/verify"))
        .json(&json!({"phone": phone, "purpose": "verify_phone", "code": code}))
        .expect_status(200)
        .await;
    login(&app.anonymous, &app.address, phone, password)
        .await
        .access_token
}

/// Sets the customer's email and verifies it by the emailed link.
async fn verify_email(app: &TestApp, token: &str, email: &str) {
    let client = bearer_client(token);
    client
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({ "email": email }))
        .expect_status(200)
        .await;
    client
        .post(app.url("/api/v1/users/me/email/verify-request"))
        .expect_status(202)
        .await;
    let messages: Value = app
        .anonymous
        .get(app.url("/api/v1/dev/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = messages
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["channel"] == "email")
        .expect("a verification email");
    let data: Value = serde_json::from_str(sent["data"].as_str().unwrap()).unwrap();
    app.anonymous
        .post(app.url("/api/v1/auth/email/verify"))
        .json(&json!({"token": data["token"]}))
        .expect_status(200)
        .await;
}

async fn me(app: &TestApp, body: &Value) -> UserBody {
    bearer_client(body["tokens"]["access_token"].as_str().expect("tokens"))
        .get(app.url("/api/v1/users/me"))
        .expect(200)
        .await
}

#[tokio::test]
async fn a_new_google_customer_proves_a_phone_then_signs_in_with_google_alone() {
    let issuer = FakeIssuer::start().await;
    let app = app_with(&issuer).await;
    let token = issuer.sign(
        &issuer.claims(app.clock.now(), "google-sub-1", "Asha.Rao@Gmail.com"),
        TestKey::One,
    );

    let first: Value = sign_in(&app, json!({ "id_token": token }))
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["outcome"], "phone_required", "{first}");
    assert_eq!(first["email"], "asha.rao@gmail.com");
    assert!(first.get("tokens").is_none(), "{first}");

    let phone = "+919812377001";
    let wrong = sign_in(
        &app,
        json!({"id_token": token, "phone_proof": {"phone": phone, "code": "000000"}}),
    )
    .await
    .expect_problem(400, "invalid_otp")
    .await;
    assert!(wrong["detail"].is_string());
    let code = login_code(&app, phone).await;
    let created: Value = sign_in(
        &app,
        json!({"id_token": token, "phone_proof": {"phone": phone, "code": code}, "device": "Pixel 8"}),
    )
    .await
    .expect_status(200)
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["outcome"], "signed_in", "{created}");
    let user = me(&app, &created).await;
    assert_eq!(user.phone, phone);
    assert!(user.phone_verified);
    assert_eq!(user.email.as_deref(), Some("asha.rao@gmail.com"));
    assert!(user.email_verified);
    assert_eq!(user.name, "Asha Rao");

    // Linked: the next sign-in needs no phone, and the code is spent.
    let again: Value = sign_in(&app, json!({ "id_token": token }))
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["outcome"], "signed_in");
    assert_eq!(again["user"]["id"], user.id.as_str());
    sign_in(
        &app,
        json!({"id_token": token, "phone_proof": {"phone": "+919812377002", "code": code}}),
    )
    .await
    .expect_status(200)
    .await;
    // The audit trail says how the account came to be.
    let events: Value = app
        .get(&format!("/api/v1/audit-events?user_id={}", user.id))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert!(kinds.contains(&"register"), "{events}");
    assert!(kinds.contains(&"login_succeeded"), "{events}");
}

#[tokio::test]
async fn a_google_account_with_a_customers_verified_email_is_linked_and_signs_in() {
    let issuer = FakeIssuer::start().await;
    let app = app_with(&issuer).await;
    let access = customer(&app, "+919812377011", "Ravi").await;
    verify_email(&app, &access, "ravi@example.in").await;

    let token = issuer.sign(
        &issuer.claims(app.clock.now(), "google-sub-2", "ravi@example.in"),
        TestKey::One,
    );
    let signed_in: Value = sign_in(&app, json!({ "id_token": token }))
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(signed_in["outcome"], "signed_in", "{signed_in}");
    let user = me(&app, &signed_in).await;
    assert_eq!(user.phone, "+919812377011");
    assert_eq!(user.name, "Ravi", "the account keeps its own name");
}

#[tokio::test]
async fn an_unverified_email_on_the_account_links_nothing_and_a_phone_is_asked_for() {
    let issuer = FakeIssuer::start().await;
    let app = app_with(&issuer).await;
    let access = customer(&app, "+919812377021", "Meena").await;
    bearer_client(&access)
        .patch(app.url("/api/v1/users/me"))
        .json(&json!({"email": "meena@example.in"}))
        .expect_status(200)
        .await;

    let token = issuer.sign(
        &issuer.claims(app.clock.now(), "google-sub-3", "meena@example.in"),
        TestKey::One,
    );
    let answer: Value = sign_in(&app, json!({ "id_token": token }))
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "phone_required", "{answer}");

    // Proving the account's phone links it (proof of both) and verifies the address
    // (once the sign-up code's cooldown is over).
    app.advance(std::time::Duration::from_secs(31)).await;
    let code = login_code(&app, "+919812377021").await;
    let linked: Value = sign_in(
        &app,
        json!({"id_token": token, "phone_proof": {"phone": "+919812377021", "code": code}}),
    )
    .await
    .expect_status(200)
    .await
    .json()
    .await
    .unwrap();
    let user = me(&app, &linked).await;
    assert_eq!(user.name, "Meena");
    assert!(user.email_verified);
}

#[tokio::test]
async fn tokens_breaking_a_rule_are_refused_with_a_detail_naming_it() {
    let issuer = FakeIssuer::start().await;
    let app = app_with(&issuer).await;
    let now = app.clock.now();
    let good = || issuer.claims(now, "google-sub-4", "kiran@gmail.com");
    let with = |claim: &str, value: Value| {
        let mut c = good();
        c[claim] = value;
        issuer.sign(&c, TestKey::One)
    };
    let cases = [
        (
            "wrong audience",
            with("aud", json!("someone-else.apps")),
            "another client",
        ),
        (
            "expired",
            with("exp", json!(now.timestamp() - 3600)),
            "expired",
        ),
        (
            "unverified email",
            with("email_verified", json!(false)),
            "not verified the account's email",
        ),
        (
            "wrong issuer",
            with("iss", json!("https://accounts.evil.example")),
            "issued by",
        ),
        (
            "bad signature",
            issuer.sign_as(&good(), TestKey::One.kid(), TestKey::Two),
            "signature does not verify",
        ),
        (
            "alg other than the key's",
            issuer.sign_hs256(&good(), TestKey::One.kid()),
            "alg HS256 is not the RS256",
        ),
        ("not a JWT", "not.a.jwt".to_owned(), "not a signed JWT"),
    ];
    for (rule, token, detail) in cases {
        let problem = sign_in(&app, json!({ "id_token": token }))
            .await
            .expect_problem(401, "invalid_id_token")
            .await;
        let said = problem["detail"].as_str().unwrap_or_default();
        assert!(said.contains(detail), "{rule}: {problem}");
    }
}

#[tokio::test]
async fn unknown_kids_are_refused_after_one_bounded_refetch_and_rotated_keys_are_found() {
    let issuer = FakeIssuer::start().await;
    let app = app_with(&issuer).await;
    let claims = issuer.claims(app.clock.now(), "google-sub-5", "lata@gmail.com");
    sign_in(
        &app,
        json!({ "id_token": issuer.sign(&claims, TestKey::One) }),
    )
    .await
    .expect_status(200)
    .await;
    assert_eq!(issuer.jwks_fetches().await, 1);

    // A flood of made-up kids right after: refused, and Google is not asked again.
    for n in 0..5 {
        let token = issuer.sign_as(&claims, &format!("made-up-{n}"), TestKey::One);
        let problem = sign_in(&app, json!({ "id_token": token }))
            .await
            .expect_problem(401, "invalid_id_token")
            .await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("not in the provider's key set"),
            "{problem}"
        );
    }
    assert_eq!(issuer.jwks_fetches().await, 1, "bounded");

    // Google rotates in a new key; once the refetch interval (60 s) has passed, the
    // unknown kid refetches the set once and the new key verifies.
    issuer.rotate().await;
    app.advance(std::time::Duration::from_secs(61)).await;
    let claims = issuer.claims(app.clock.now(), "google-sub-5", "lata@gmail.com");
    let rotated = issuer.sign(&claims, TestKey::Two);
    let answer: Value = sign_in(&app, json!({ "id_token": rotated }))
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "phone_required");
    assert_eq!(issuer.jwks_fetches().await, 1, "counted since the rotation");
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_with_google() {
    let issuer = FakeIssuer::start().await;
    let app = app_with(&issuer).await;
    let access = customer(&app, "+919812377031", "Gita").await;
    verify_email(&app, &access, "gita@example.in").await;
    let id = bearer_client(&access)
        .get(app.url("/api/v1/users/me"))
        .expect::<UserBody>(200)
        .await
        .id;
    app.client
        .post(app.url(&format!("/api/v1/users/{id}/actions/disable")))
        .expect_status(200)
        .await;

    let token = issuer.sign(
        &issuer.claims(app.clock.now(), "google-sub-6", "gita@example.in"),
        TestKey::One,
    );
    sign_in(&app, json!({ "id_token": token }))
        .await
        .expect_problem(403, "forbidden")
        .await;
}

#[tokio::test]
async fn a_provider_without_client_ids_is_not_configured_and_half_a_proof_is_refused() {
    let app = test_app().spawn().await;
    sign_in(&app, json!({ "id_token": "a.b.c" }))
        .await
        .expect_problem(404, "provider_not_configured")
        .await;
    app.anonymous
        .post(app.url("/api/v1/auth/oidc/acme"))
        .json(&json!({ "id_token": "a.b.c" }))
        .expect_problem(404, "provider_not_configured")
        .await;

    let problem = sign_in(
        &app,
        json!({"id_token": "a.b.c", "phone_proof": {"phone": "+919812377041"}}),
    )
    .await
    .expect_problem(400, "malformed_body")
    .await;
    assert_eq!(
        problem["errors"][0]["field"], "phone_proof.code",
        "{problem}"
    );
}

#[tokio::test]
async fn a_second_google_account_with_the_same_verified_email_is_not_linked() {
    let issuer = FakeIssuer::start().await;
    let app = app_with(&issuer).await;
    let access = customer(&app, "+919812377051", "Uma").await;
    verify_email(&app, &access, "uma@example.in").await;
    let first = issuer.sign(
        &issuer.claims(app.clock.now(), "google-sub-7", "uma@example.in"),
        TestKey::One,
    );
    sign_in(&app, json!({ "id_token": first }))
        .await
        .expect_status(200)
        .await;

    // Google reassigned the address to another Google account: it does not take over.
    let second = issuer.sign(
        &issuer.claims(app.clock.now(), "google-sub-8", "uma@example.in"),
        TestKey::One,
    );
    let problem = sign_in(&app, json!({ "id_token": second }))
        .await
        .expect_problem(409, "conflict")
        .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already linked to another google account"),
        "{problem}"
    );
}
