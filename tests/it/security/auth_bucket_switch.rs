//! Auth bucket switching: `/api/v1/auth/*` is rate-limited per client address, to slow down
//! password and code guessing. A valid access token of any account (an attacker's own) used to
//! move a request to that user's fresh bucket; now the address is the key whatever is sent.

use serde_json::json;

use super::prod::Production;
use crate::helpers::{bearer_client, problem};

const AUTH_PER_MINUTE: u32 = 6;

async fn refresh_with(client: &reqwest::Client, app: &Production) -> reqwest::Response {
    client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": "forged.refresh-token"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_valid_token_of_another_account_still_counts_in_the_address_bucket() {
    let limit = AUTH_PER_MINUTE.to_string();
    let app = Production::start_with(
        "security-auth-bucket",
        &[("BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE", &limit)],
    )
    .await;
    // Registering and signing in spend some of this address's budget.
    let attacker = bearer_client(&app.customer("+919812300011").await);
    let admin = bearer_client(&app.admin_token().await);

    let first = refresh_with(&attacker, &app).await;
    assert_eq!(first.status(), 401);
    let remaining: u32 = first.headers()["ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // A bucket of the token's own would be fresh: all of it left but this request.
    assert!(
        remaining < AUTH_PER_MINUTE - 1,
        "the token moved the request to a fresh bucket ({remaining} left)"
    );
    for left in (0..remaining).rev() {
        let response = refresh_with(&attacker, &app).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["ratelimit-remaining"],
            left.to_string().as_str()
        );
    }
    let limited = refresh_with(&attacker, &app).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(problem(limited).await["code"], "rate_limited");
    // The same bucket without a token, and with another account's token.
    let anonymous = refresh_with(&reqwest::Client::new(), &app).await;
    assert_eq!(anonymous.status(), 429);
    assert_eq!(refresh_with(&admin, &app).await.status(), 429);
}
