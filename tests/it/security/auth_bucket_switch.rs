//! Auth bucket switching: `/api/v1/auth/*` is rate-limited per client address, to slow down
//! password and code guessing. A valid access token of any account (an attacker's own) used to
//! move a request to that user's fresh bucket; now the address is the key whatever is sent.

use serde_json::json;

use super::prod::Production;
use crate::kit::{bearer_client, problem};

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

fn remaining(response: &reqwest::Response) -> u32 {
    response.headers()["ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn tokens_minted_for_made_up_users_share_the_address_bucket() {
    let app = Production::start_with(
        "security-minted-buckets",
        &[("BAZAAR_RATE_LIMIT_DEFAULT_PER_MINUTE", "40")],
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    let mut seen = Vec::new();
    for i in 0..5 {
        // A valid signature, a made-up user and session: a fresh bucket per token would
        // leave 39 each time.
        let claims = json!({
            "iss": "bazaar", "aud": "bazaar-api",
            "sub": format!("65f0c0ffee00000000000{i:03}"),
            "sid": format!("made-up-session-{i}"),
            "jti": format!("jti-{i}"), "iat": now, "exp": now + 600,
        });
        let response = bearer_client(&app.mint(&claims))
            .get(app.url("/api/v1/products"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "a public read with a bogus bearer");
        seen.push(remaining(&response));
    }
    let expected: Vec<u32> = (0..5).map(|i| seen[0] - i).collect();
    assert_eq!(seen, expected, "each minted token got a bucket of its own");
}

#[tokio::test]
async fn ipv6_clients_of_one_network_share_a_bucket() {
    let app = Production::start_with(
        "security-ipv6-buckets",
        &[
            (
                "BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE",
                &AUTH_PER_MINUTE.to_string(),
            ),
            ("BAZAAR_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for host in 1..=4 {
        // Four addresses of one /64, as one client rotating through its own network.
        let response = client
            .post(app.url("/api/v1/auth/refresh"))
            .header("X-Forwarded-For", format!("2001:db8:1:2::{host:x}"))
            .json(&json!({"refresh_token": "forged.refresh-token"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        seen.push(remaining(&response));
    }
    assert_eq!(
        seen,
        vec![
            AUTH_PER_MINUTE - 1,
            AUTH_PER_MINUTE - 2,
            AUTH_PER_MINUTE - 3,
            AUTH_PER_MINUTE - 4
        ]
    );
    // Another network has its own.
    let other = client
        .post(app.url("/api/v1/auth/refresh"))
        .header("X-Forwarded-For", "2001:db8:1:3::1")
        .json(&json!({"refresh_token": "forged.refresh-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(remaining(&other), AUTH_PER_MINUTE - 1);
}
