//! Becoming admin by rewriting one's own access token. The attacker holds the signing key
//! (it leaked: the harness's `BAZAAR_JWT_KEYS`), so any token they mint verifies; what they
//! may do must still come from the server's record of them, and a token naming a session or
//! user that does not exist must be refused. Against the real binary in production.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::prod::{Production, CUSTOMER_PASSWORD};
use crate::kit::{bearer_client, login};

/// The claims inside `token`, read without checking anything.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

async fn status(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn a_customer_who_re_signs_their_token_with_the_admin_role_gains_nothing() {
    let prod = Production::start("forged-roles").await;
    let token = prod.customer("+919812366001").await;
    let mut claims = claims_of(&token);
    claims["roles"] = json!(["admin"]);
    claims["role"] = json!("admin");
    claims["permissions"] = json!(["*:*"]);
    let forged = bearer_client(&prod.mint(&claims));

    // The forged token is a valid token of the customer's own session...
    let (me_status, me) = status(forged.get(prod.url("/api/v1/users/me"))).await;
    assert_eq!(me_status, 200, "{me}");
    assert_eq!(me["roles"], json!(["customer"]));
    // ...and grants nothing the customer did not have.
    let (list, body) = status(forged.get(prod.url("/api/v1/users"))).await;
    assert_eq!((list, &body["code"]), (403, &json!("forbidden")), "{body}");
    let id = me["id"].as_str().unwrap();
    let (grant, body) = status(
        forged
            .put(prod.url(&format!("/api/v1/users/{id}/roles")))
            .json(&json!({"roles": ["admin"]})),
    )
    .await;
    assert_eq!((grant, &body["code"]), (403, &json!("forbidden")), "{body}");

    let admin = bearer_client(&prod.admin_token().await);
    let (_, stored) = status(admin.get(prod.url(&format!("/api/v1/users/{id}")))).await;
    assert_eq!(stored["roles"], json!(["customer"]), "nothing was stored");
}

#[tokio::test]
async fn a_forged_token_for_a_session_or_user_that_does_not_exist_is_refused() {
    let prod = Production::start("forged-session").await;
    let token = prod.customer("+919812366002").await;
    let admin_token = prod.admin_token().await;
    let customer = claims_of(&token);
    let admin = claims_of(&admin_token);
    let with = |changes: Value| {
        let mut claims = customer.clone();
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        bearer_client(&prod.mint(&claims))
    };

    let cases = [
        (
            "an unknown session",
            with(json!({"sid": "0123456789abcdef0123456789abcdef"})),
        ),
        (
            "the customer's session claimed for the admin",
            with(json!({"sub": admin["sub"]})),
        ),
        (
            "the admin's session claimed for the customer",
            with(json!({"sid": admin["sid"]})),
        ),
        (
            "an unknown user",
            with(json!({"sub": "65f0c0ffee0000000000dead"})),
        ),
    ];
    for (what, client) in cases {
        let (code, body) = status(client.get(prod.url("/api/v1/users/me"))).await;
        assert_eq!(
            (code, &body["code"]),
            (401, &json!("unauthorized")),
            "{what}: {body}"
        );
    }
}

#[tokio::test]
async fn demoting_an_admin_takes_effect_on_their_very_next_request() {
    let prod = Production::start("demotion").await;
    let phone = "+919812366003";
    let customer = claims_of(&prod.customer(phone).await);
    let id = customer["sub"].as_str().unwrap();
    let founder = bearer_client(&prod.admin_token().await);
    let set_roles = |roles: Value| {
        founder
            .put(prod.url(&format!("/api/v1/users/{id}/roles")))
            .json(&json!({ "roles": roles }))
    };
    let (promoted, body) = status(set_roles(json!(["admin"]))).await;
    assert_eq!(promoted, 200, "{body}");
    let anonymous = reqwest::Client::new();
    let pair = login(&anonymous, &prod.url(""), phone, CUSTOMER_PASSWORD).await;
    let deputy = bearer_client(&pair.access_token);
    let (listed, _) = status(deputy.get(prod.url("/api/v1/users"))).await;
    assert_eq!(listed, 200, "the new admin lists users");

    let (demoted, body) = status(set_roles(json!(["customer"]))).await;
    assert_eq!(demoted, 200, "{body}");

    let (next, _) = status(deputy.get(prod.url("/api/v1/users"))).await;
    assert_eq!(
        next, 401,
        "the demoted admin's session ended with the change"
    );
    let pair = login(&anonymous, &prod.url(""), phone, CUSTOMER_PASSWORD).await;
    let again = bearer_client(&pair.access_token);
    let (after, body) = status(again.get(prod.url("/api/v1/users"))).await;
    assert_eq!((after, &body["code"]), (403, &json!("forbidden")), "{body}");
    // A token of the new session re-signed with the old role is no better.
    let mut claims = claims_of(&pair.access_token);
    claims["roles"] = json!(["admin"]);
    let (forged, _) =
        status(bearer_client(&prod.mint(&claims)).get(prod.url("/api/v1/users"))).await;
    assert_eq!(forged, 403);
}

#[tokio::test]
async fn a_token_naming_another_user_or_an_ended_session_replays_none_of_their_kept_answers() {
    let prod = Production::start("forged-replay").await;
    let admin = bearer_client(&prod.admin_token().await);
    let mut product = crate::kit::product_json(&crate::kit::unique("FR"));
    product["stock"] = json!(10);
    let (created, body) = status(admin.post(prod.url("/api/v1/products")).json(&product)).await;
    assert_eq!(created, 201, "{body}");
    let order = json!({"items": [{"product_id": body["id"], "quantity": 1}]});
    let key = "victims-own-key-0001";
    let victim_token = prod.customer("+919812366004").await;
    let victim = bearer_client(&victim_token);
    let place = |client: &reqwest::Client| {
        client
            .post(prod.url("/api/v1/orders"))
            .header("Idempotency-Key", key)
            .json(&order)
    };
    let (placed, kept) = status(place(&victim)).await;
    assert_eq!(placed, 201, "{kept}");

    // Someone with the signing key, their own session and the victim's user id.
    let mut claims = claims_of(&prod.customer("+919812366005").await);
    claims["sub"] = claims_of(&victim_token)["sub"].clone();
    let (forged, body) = status(place(&bearer_client(&prod.mint(&claims)))).await;
    assert_eq!(
        (forged, &body["code"]),
        (401, &json!("unauthorized")),
        "{body}"
    );
    assert_ne!(body["id"], kept["id"]);

    // The victim's own token once its session has ended.
    let (out, _) = status(victim.post(prod.url("/api/v1/auth/logout"))).await;
    assert_eq!(out, 204);
    let (after, body) = status(place(&victim)).await;
    assert_eq!(
        (after, &body["code"]),
        (401, &json!("unauthorized")),
        "{body}"
    );
}
