//! Pre-registering the founder's phone number, hoping the next deployment's
//! `BAZAAR_ADMIN_PHONE` promotes it (it used to, keeping the squatter's password). The admin
//! bootstrap only ever creates: an account that already has the phone stays what it was, and
//! startup says so. Against the real binary in production.

use serde_json::{json, Value};

use super::prod::{Production, CUSTOMER_PASSWORD};
use crate::kit::process::Bazaar;
use crate::kit::{bearer_client, get_json, login};

const FOUNDER: &str = "+919812355001";
const FOUNDER_PASSWORD: &str = "the founder's chosen password";

#[tokio::test]
async fn a_customer_who_pre_registered_the_founders_phone_is_not_made_admin_at_startup() {
    let prod = Production::start("admin-squat").await;
    let squatter = bearer_client(&prod.customer(FOUNDER).await);
    let me: Value = get_json(&squatter, prod.url("/api/v1/users/me")).await;
    let id = me["id"].as_str().unwrap().to_owned();

    // The next deployment names the founder's phone as the admin's.
    let mut env: Vec<(&str, &str)> = prod
        .env
        .iter()
        .filter(|(name, _)| name != "BAZAAR_ADMIN_PHONE" && name != "BAZAAR_ADMIN_PASSWORD")
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    env.extend([
        ("BAZAAR_ADMIN_PHONE", FOUNDER),
        ("BAZAAR_ADMIN_PASSWORD", FOUNDER_PASSWORD),
    ]);
    let next = Bazaar::start("admin-squat-next", &env).await;

    let anonymous = reqwest::Client::new();
    let pair = login(&anonymous, &next.url(""), FOUNDER, CUSTOMER_PASSWORD).await;
    let squatter = bearer_client(&pair.access_token);
    let users = squatter
        .get(next.url("/api/v1/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 403, "the squatter is still a customer");
    let me: Value = get_json(&squatter, next.url("/api/v1/users/me")).await;
    assert_eq!(
        (me["id"].as_str(), &me["roles"]),
        (Some(id.as_str()), &json!(["customer"]))
    );
    // Nor was the account given the configured password.
    let founder = anonymous
        .post(next.url("/api/v1/auth/login"))
        .json(&json!({"identifier": FOUNDER, "password": FOUNDER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(founder.status(), 401);

    let log = next.log();
    assert!(
        log.contains("BAZAAR_ADMIN_PHONE belongs to an existing account that is not an admin"),
        "startup says why there is no new admin: {log}"
    );
    assert!(log.contains("••••5001"), "the phone is named masked");
    for secret in [FOUNDER, FOUNDER_PASSWORD, CUSTOMER_PASSWORD] {
        assert!(!log.contains(secret), "the log holds no phone or password");
    }
}

#[tokio::test]
async fn the_configured_admin_is_created_when_no_account_has_its_phone() {
    let prod = Production::start_with(
        "admin-created",
        &[
            ("BAZAAR_ADMIN_PHONE", FOUNDER),
            ("BAZAAR_ADMIN_PASSWORD", FOUNDER_PASSWORD),
        ],
    )
    .await;

    let anonymous = reqwest::Client::new();
    let pair = login(&anonymous, &prod.url(""), FOUNDER, FOUNDER_PASSWORD).await;
    let founder = bearer_client(&pair.access_token);
    let users = founder.get(prod.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(users.status(), 200);
    assert!(prod.app.log().contains("created the configured admin"));
}
