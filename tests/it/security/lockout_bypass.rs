//! Getting past the sign-in lockout, and turning it against the owner. Failures used to be
//! counted on the identifier as typed, so `09812345678` got five new guesses after
//! `+919812345678` was locked, and a code signed in a locked account. Now they count on the
//! account, however it is named and on every sign-in path; and because one address can
//! spend only its own share (five, then one per lock of 1, 2, 4… minutes), an attacker at
//! one address cannot keep the owner out from another (docs/auth.md, "Lockout").

use serde_json::{json, Value};

use super::servers::{on_servers, shape, Server, PASSWORD};
use crate::kit::{bearer_client, get_json, parse};
use bazaar::http::auth::TokenPair;

const ATTACKER: &str = "203.0.113.66";
const OWNER: &str = "198.51.100.7";
/// The server believes `X-Forwarded-For` from the test client, as from a load balancer.
const BEHIND_A_PROXY: &[(&str, &str)] = &[("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32")];

async fn sign_in(
    server: &Server,
    from: &str,
    identifier: &str,
    password: &str,
) -> reqwest::Response {
    server
        .post_from(
            from,
            "/api/v1/auth/login",
            json!({"identifier": identifier, "password": password}),
        )
        .await
}

/// Fails `n` times from `from`, each answered 401 (not yet locked).
async fn fail(server: &Server, from: &str, identifier: &str, n: usize) {
    for i in 0..n {
        let r = sign_in(server, from, identifier, "not the password").await;
        assert_eq!(r.status(), 401, "failure {} from {from}", i + 1);
    }
}

async fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn five_failures_lock_every_spelling_of_the_phone(server: Server) {
    server.customer("+919812345678", None).await;
    fail(&server, ATTACKER, "+919812345678", 5).await;
    for spelling in ["09812345678", "98123 45678", " +91 98123-45678 "] {
        let r = sign_in(&server, ATTACKER, spelling, PASSWORD).await;
        assert_eq!(r.status(), 423, "{spelling:?}");
        assert!(
            (1..=60).contains(&retry_after(&r).await),
            "the first lock is a minute"
        );
        assert_eq!(shape(r).await["code"], "account_locked");
    }
}
on_servers!(
    five_failures_lock_every_spelling_of_the_phone,
    [in_memory, real_backends, production],
    BEHIND_A_PROXY
);

async fn failures_by_email_and_by_phone_count_on_one_account(server: Server) {
    server
        .customer_with_verified_email("+919812300101", "lata@example.in")
        .await;
    fail(&server, ATTACKER, "+919812300101", 3).await;
    fail(&server, ATTACKER, "  LATA@Example.IN ", 2).await;
    for identifier in ["lata@example.in", "9812300101"] {
        let r = sign_in(&server, ATTACKER, identifier, PASSWORD).await;
        assert_eq!(r.status(), 423, "{identifier}");
    }
}
on_servers!(
    failures_by_email_and_by_phone_count_on_one_account,
    [in_memory, real_backends],
    BEHIND_A_PROXY
);

async fn a_locked_out_address_cannot_sign_in_by_code_either(server: Server) {
    let phone = "+919812300102";
    server.customer(phone, None).await;
    fail(&server, ATTACKER, phone, 5).await;
    let r = server.sign_in_by_code(ATTACKER, phone).await;
    assert_eq!(r.status(), 423);
    assert_eq!(shape(r).await["code"], "account_locked");
}
on_servers!(
    a_locked_out_address_cannot_sign_in_by_code_either,
    [in_memory, real_backends],
    &[
        ("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("BAZAAR_OTP_COOLDOWN_SECS", "1")
    ]
);

async fn an_attacker_at_one_address_cannot_keep_the_owner_out_from_another(server: Server) {
    let phone = "+919812300103";
    server.customer(phone, None).await;
    // The attacker goes on as long as the rate limit lets them: everything after the
    // fifth failure is refused without a guess, and nothing reaches the account's budget.
    fail(&server, ATTACKER, phone, 5).await;
    for _ in 0..10 {
        let r = sign_in(&server, ATTACKER, phone, "not the password").await;
        assert_eq!(r.status(), 423);
    }
    let by_password = sign_in(&server, OWNER, phone, PASSWORD).await;
    assert_eq!(
        by_password.status(),
        200,
        "the owner signs in with the password"
    );
    let by_code = server.sign_in_by_code(OWNER, phone).await;
    assert_eq!(by_code.status(), 200, "the owner signs in with a code");
    let user: Value = by_code.json().await.unwrap();
    assert_eq!(user["user"]["status"], "active");
}
on_servers!(
    an_attacker_at_one_address_cannot_keep_the_owner_out_from_another,
    [in_memory, real_backends, production],
    &[
        ("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("BAZAAR_OTP_COOLDOWN_SECS", "1")
    ]
);

async fn twenty_failures_from_many_addresses_lock_the_account_for_everyone_until_a_reset(
    server: Server,
) {
    let phone = "+919812300104";
    let pair = server.customer(phone, None).await;
    let id = pair.user.id.as_str().to_owned();
    for bot in 1..=4 {
        fail(&server, &format!("192.0.2.{bot}"), phone, 5).await;
    }
    let by_password = sign_in(&server, OWNER, phone, PASSWORD).await;
    assert_eq!(by_password.status(), 423, "locked for everyone");
    assert!((1..=60).contains(&retry_after(&by_password).await));
    assert_eq!(server.sign_in_by_code(OWNER, phone).await.status(), 423);
    let admin = server.admin().await;
    let user: Value = get_json(&admin, server.url(&format!("/api/v1/users/{id}"))).await;
    assert_eq!(user["status"], "locked");

    // A reset proves the phone; the guesses were at a password that is gone.
    let reset = server
        .reset_password(OWNER, phone, "a new long passphrase")
        .await;
    assert_eq!(reset.status(), 204);
    let signed_in = sign_in(&server, OWNER, phone, "a new long passphrase").await;
    assert_eq!(signed_in.status(), 200);
    let pair: TokenPair = parse(signed_in).await;
    assert_eq!(pair.user.status.0.as_str(), "active");
    let me = bearer_client(&pair.access_token);
    assert_eq!(
        me.get(server.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
on_servers!(
    twenty_failures_from_many_addresses_lock_the_account_for_everyone_until_a_reset,
    [in_memory, real_backends, production],
    &[
        ("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("BAZAAR_OTP_COOLDOWN_SECS", "1")
    ]
);

async fn unknown_accounts_lock_alike_so_the_lock_reveals_nothing(server: Server) {
    server.customer("+919812300105", None).await;
    let mut answers = Vec::new();
    for phone in ["+919812300105", "+919812300199"] {
        let mut seen = Vec::new();
        for _ in 0..6 {
            let r = sign_in(&server, ATTACKER, phone, "not the password").await;
            let mut s = shape(r).await;
            // The time left may differ by a second between the two.
            s["retry_after"] = json!(s["retry_after"].is_string());
            seen.push(s);
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][5]["code"], "account_locked");
}
on_servers!(
    unknown_accounts_lock_alike_so_the_lock_reveals_nothing,
    [in_memory, real_backends],
    BEHIND_A_PROXY
);

async fn concurrent_guesses_from_one_address_cannot_lock_the_account(server: Server) {
    let phone = "+919812300106";
    server.customer(phone, None).await;
    // Forty guesses at once from one address, before any lock is set.
    let guesses = (0..40).map(|_| sign_in(&server, ATTACKER, phone, "not the password"));
    let answers = futures::future::join_all(guesses).await;
    let tried = answers.iter().filter(|r| r.status() == 401).count();
    assert!(tried <= 5, "{tried} guesses were checked");
    assert!(answers
        .iter()
        .all(|r| [401, 423].contains(&r.status().as_u16())));
    assert_eq!(sign_in(&server, OWNER, phone, PASSWORD).await.status(), 200);
}
on_servers!(
    concurrent_guesses_from_one_address_cannot_lock_the_account,
    [in_memory, real_backends, production],
    &[
        ("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE", "100")
    ]
);

async fn several_devices_signing_in_at_once_are_all_served(server: Server) {
    let phone = "+919812300107";
    server.customer(phone, None).await;
    // Right passwords count as attempts until checked, so ten at once pass the
    // address's limit of five: those over it wait for the one holding the lock.
    let sign_ins = (0..10).map(|_| sign_in(&server, OWNER, phone, PASSWORD));
    let answers = futures::future::join_all(sign_ins).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [200; 10]);
}
on_servers!(
    several_devices_signing_in_at_once_are_all_served,
    [in_memory, real_backends, production],
    BEHIND_A_PROXY
);
