//! Guessing a phone's code. Each code takes five tries, but a new code used to bring five
//! new ones: at five codes an hour, 25 guesses per phone per hour. Now a phone takes ten
//! wrong sign-in and verification codes an hour in all, across new codes, and ten wrong reset
//! codes apart from them; five tries from any one address at a phone; past either, every try
//! is refused (429 with `Retry-After`) until the hour is over, even the right code. So one
//! address cannot use up the phone's budget, tries while no code is live spend nothing of the
//! phone's, and sign-in guessing cannot keep the owner from resetting the password.

use serde_json::json;

use super::servers::{on_servers, shape, Server, COOLDOWN};

const COOLDOWN_1S: &[(&str, &str)] = &[
    ("BAZAAR_OTP_COOLDOWN_SECS", "1"),
    ("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32"),
];
const OWNER: &str = "198.51.100.7";

fn wrong_for(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn try_code(server: &Server, phone: &str, purpose: &str, code: &str) -> reqwest::Response {
    try_code_from(server, "192.0.2.1", phone, purpose, code).await
}

/// Tries a code from `address` (behind the trusted proxy).
async fn try_code_from(
    server: &Server,
    address: &str,
    phone: &str,
    purpose: &str,
    code: &str,
) -> reqwest::Response {
    server
        .post_from(
            address,
            "/api/v1/auth/otp/verify",
            json!({"phone": phone, "purpose": purpose, "code": code}),
        )
        .await
}

/// Asks for a new code once the one-second cooldown has passed.
async fn new_code(server: &Server, phone: &str, purpose: &str) {
    server.advance(COOLDOWN).await;
    let sent = server
        .post(
            "/api/v1/auth/otp/send",
            json!({"phone": phone, "purpose": purpose}),
        )
        .await;
    assert_eq!(sent.status(), 202);
}

async fn new_codes_do_not_bring_new_guesses(server: Server) {
    let phone = "+919812300201";
    server.customer(phone, None).await;
    // Two login codes, five wrong tries each from two addresses: the phone's ten.
    for address in ["192.0.2.1", "192.0.2.2"] {
        new_code(&server, phone, "login").await;
        let code = server.code_for(phone).await;
        for _ in 0..5 {
            let r = try_code_from(&server, address, phone, "login", wrong_for(&code)).await;
            assert_eq!(shape(r).await["code"], "invalid_otp");
        }
    }
    // A third login code is right and still refused, from anywhere, until the hour is over.
    new_code(&server, phone, "login").await;
    let code = server.code_for(phone).await;
    let login = try_code_from(&server, OWNER, phone, "login", &code).await;
    assert_eq!(login.status(), 429);
    let wait: u64 = login.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (3000..=3600).contains(&wait),
        "until the hour is over: {wait}"
    );
    assert_eq!(shape(login).await["code"], "rate_limited");
    // Reset codes have a budget of their own, so the owner can still reset.
    new_code(&server, phone, "reset_password").await;
    let code = server.code_for(phone).await;
    let reset = server
        .post_from(
            OWNER,
            "/api/v1/auth/password/reset",
            json!({"phone": phone, "code": code, "new_password": "a new long passphrase"}),
        )
        .await;
    assert_eq!(reset.status(), 204);
}
on_servers!(
    new_codes_do_not_bring_new_guesses,
    [in_memory, real_backends, production],
    COOLDOWN_1S
);

async fn one_address_cannot_keep_the_owners_code_from_working(server: Server) {
    let phone = "+919812300205";
    server.customer(phone, None).await;
    new_code(&server, phone, "login").await;
    let code = server.code_for(phone).await;
    let attacker = "203.0.113.66";
    for _ in 0..5 {
        let r = try_code_from(&server, attacker, phone, "login", wrong_for(&code)).await;
        assert_eq!(shape(r).await["code"], "invalid_otp");
    }
    for _ in 0..5 {
        let r = try_code_from(&server, attacker, phone, "login", wrong_for(&code)).await;
        assert_eq!(r.status(), 429, "the attacker's address is out of tries");
    }
    // The code survived the attacker's five (its own five tries are spent, so a new one).
    new_code(&server, phone, "login").await;
    let code = server.code_for(phone).await;
    let owner = try_code_from(&server, OWNER, phone, "login", &code).await;
    assert_eq!(owner.status(), 200);
}
on_servers!(
    one_address_cannot_keep_the_owners_code_from_working,
    [in_memory, real_backends, production],
    COOLDOWN_1S
);

async fn a_right_code_does_not_spend_the_budget(server: Server) {
    let phone = "+919812300202";
    server.customer(phone, None).await;
    let code = server.code_for(phone).await;
    for _ in 0..4 {
        try_code(&server, phone, "login", wrong_for(&code)).await;
    }
    // Four wrong from this address so far, of its five; right codes cost nothing.
    for _ in 0..2 {
        new_code(&server, phone, "login").await;
        let code = server.code_for(phone).await;
        assert_eq!(try_code(&server, phone, "login", &code).await.status(), 200);
    }
}
on_servers!(
    a_right_code_does_not_spend_the_budget,
    [in_memory, real_backends],
    COOLDOWN_1S
);

async fn unknown_numbers_have_the_same_budget(server: Server) {
    server.customer("+919812300203", None).await;
    let mut answers = Vec::new();
    for phone in ["+919812300203", "+919812300298"] {
        let mut seen = Vec::new();
        for _ in 0..11 {
            let r = try_code(&server, phone, "verify_phone", "123456").await;
            let mut s = shape(r).await;
            s["retry_after"] = json!(s["retry_after"].is_string());
            seen.push(s);
        }
        answers.push(seen);
    }
    // The registered phone's code was used at sign-up, so "123456" is as wrong for it.
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][4]["code"], "invalid_otp");
    assert_eq!(answers[0][5]["status"], 429, "five from one address");
}
on_servers!(
    unknown_numbers_have_the_same_budget,
    [in_memory, real_backends],
    &[
        ("BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE", "100"),
        ("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32")
    ]
);

async fn concurrent_guesses_cannot_exceed_the_budget(server: Server) {
    let phone = "+919812300204";
    let registered = server
        .post(
            "/api/v1/auth/register",
            json!({"phone": phone, "name": "Guessed", "password": super::servers::PASSWORD}),
        )
        .await;
    assert_eq!(registered.status(), 201);
    let code = server.code_for(phone).await;
    // Forty different guesses at once from one address (the right one is not among them).
    let guesses: Vec<String> = (0..40u32)
        .map(|i| format!("{:06}", (i * 24_999 + 7) % 1_000_000))
        .filter(|g| *g != code)
        .collect();
    let answers = futures::future::join_all(
        guesses
            .iter()
            .map(|g| try_code(&server, phone, "verify_phone", g)),
    )
    .await;
    let compared = answers.iter().filter(|r| r.status() != 429).count();
    assert!(compared <= 5, "{compared} guesses were compared");
}
on_servers!(
    concurrent_guesses_cannot_exceed_the_budget,
    [in_memory, real_backends, production],
    &[
        ("BAZAAR_RATE_LIMIT_AUTH_PER_MINUTE", "100"),
        ("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32")
    ]
);

async fn tries_while_no_code_is_live_do_not_lock_the_owner_out(server: Server) {
    let phone = "+919812300206";
    server.customer(phone, None).await;
    // No code has been sent since sign-up: five wrong tries from each of two addresses.
    for address in ["192.0.2.1", "192.0.2.2"] {
        for _ in 0..5 {
            // (`otp_attempts_exceeded` past five, as for a phone that has a code.)
            let r = try_code_from(&server, address, phone, "login", "123456").await;
            assert_eq!(r.status(), 400);
        }
    }
    // The owner asks for a reset code and uses it, then signs in with the new password.
    let reset = server
        .reset_password(OWNER, phone, "a new long passphrase")
        .await;
    assert_eq!(reset.status(), 204);
    let login = server
        .post_from(
            OWNER,
            "/api/v1/auth/login",
            json!({"identifier": phone, "password": "a new long passphrase"}),
        )
        .await;
    assert_eq!(login.status(), 200);
    // And a sign-in code works too.
    new_code(&server, phone, "login").await;
    let code = server.code_for(phone).await;
    let signed_in = try_code_from(&server, OWNER, phone, "login", &code).await;
    assert_eq!(signed_in.status(), 200);
}
on_servers!(
    tries_while_no_code_is_live_do_not_lock_the_owner_out,
    [in_memory, real_backends, production],
    COOLDOWN_1S
);
