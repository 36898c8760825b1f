//! Using Bazaar to send mail and SMS to other people. Email verification had no cooldown,
//! so one account could send a verification link to any address as fast as it liked, and
//! registration's SMS counted in the `auth` rate-limit group (20 a minute) rather than the
//! `otp` group that budgets every other code. Now a link waits out the cooldown per account,
//! an address gets five links an hour whoever asks, and registration spends the `otp`
//! group's budget.

use serde_json::{json, Value};

use super::servers::{on_servers, shape, Server, COOLDOWN};
use crate::kit::bearer_client;

async fn ask_for_a_link(server: &Server, me: &reqwest::Client) -> reqwest::Response {
    me.post(server.url("/api/v1/users/me/email/verify-request"))
        .send()
        .await
        .unwrap()
}

async fn a_second_link_within_the_cooldown_is_refused_with_retry_after(server: Server) {
    let pair = server
        .customer("+919812300401", Some("spammed@example.in"))
        .await;
    let me = bearer_client(&pair.access_token);
    assert_eq!(ask_for_a_link(&server, &me).await.status(), 202);
    let again = shape(ask_for_a_link(&server, &me).await).await;
    assert_eq!(
        (
            again["status"].as_u64(),
            again["code"].as_str(),
            again["retry_after"].as_str()
        ),
        (Some(429), Some("rate_limited"), Some("30"))
    );
    assert_eq!(
        server.verification_tokens("spammed@example.in").await.len(),
        1
    );
}
on_servers!(
    a_second_link_within_the_cooldown_is_refused_with_retry_after,
    [in_memory, real_backends, production],
    &[]
);

async fn an_address_gets_at_most_five_links_an_hour_whoever_asks(server: Server) {
    let mut accounts = Vec::new();
    for phone in ["+919812300402", "+919812300403", "+919812300404"] {
        let pair = server.customer(phone, Some("target@example.in")).await;
        accounts.push(bearer_client(&pair.access_token));
    }
    for i in 0..5 {
        let sent = ask_for_a_link(&server, &accounts[i % 3]).await;
        assert_eq!(sent.status(), 202, "link {}", i + 1);
        server.advance(COOLDOWN).await;
    }
    let sixth = ask_for_a_link(&server, &accounts[2]).await;
    assert_eq!(sixth.status(), 429);
    let wait: u64 = sixth.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (3000..=3600).contains(&wait),
        "until the hour is over: {wait}"
    );
    assert_eq!(
        server.verification_tokens("target@example.in").await.len(),
        5
    );
}
on_servers!(
    an_address_gets_at_most_five_links_an_hour_whoever_asks,
    [in_memory, real_backends],
    &[("BAZAAR_OTP_COOLDOWN_SECS", "1")]
);

async fn registration_spends_the_otp_groups_budget(server: Server) {
    let register =
        |phone: &str| json!({"phone": phone, "name": "Bulk", "password": super::servers::PASSWORD});
    for phone in ["+919812300405", "+919812300406", "+919812300407"] {
        let r = server.post("/api/v1/auth/register", register(phone)).await;
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["ratelimit-limit"], "3", "the otp group's limit");
    }
    let fourth = server
        .post("/api/v1/auth/register", register("+919812300408"))
        .await;
    assert_eq!(fourth.status(), 429);
    assert!(server.codes_for("+919812300408").await.is_empty());
    // The same budget as the other routes that send codes ...
    let code = server
        .post(
            "/api/v1/auth/otp/send",
            json!({"phone": "+919812300405", "purpose": "login"}),
        )
        .await;
    assert_eq!(code.status(), 429);
    // ... and not the sign-in group's.
    let sign_in = server
        .post(
            "/api/v1/auth/login",
            json!({"identifier": "+919812300405", "password": "not the password"}),
        )
        .await;
    assert_eq!(sign_in.status(), 401);
    let body: Value = sign_in.json().await.unwrap();
    assert_eq!(body["code"], "invalid_credentials");
}
on_servers!(
    registration_spends_the_otp_groups_budget,
    [in_memory, production],
    &[("BAZAAR_RATE_LIMIT_OTP_PER_HOUR", "3")]
);
