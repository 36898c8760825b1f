//! Learning who has an account. Every route that takes someone else's phone or email
//! answers a registered account and an unknown one alike — status, body, and the cooldown
//! that follows — and so do the requests that follow it (signing in with the password just
//! chosen at registration, asking for a code). Voice retries used to fail for registered
//! numbers without a live code, forgot-password by email spent a budget only for known
//! addresses, registering a taken phone or email answered 409, and so did setting another
//! account's email on one's profile.

use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::path_regex;
use wiremock::{Mock, ResponseTemplate};

use super::servers::{on_servers, shape, Server, COOLDOWN, PASSWORD};

/// Where the phone's owner signs in from.
const OWNER: &str = "198.51.100.7";
use crate::kit::bearer_client;

/// Codes one second apart; the `otp` group wide enough that only per-phone and
/// per-address budgets are in play.
const QUICK: &[(&str, &str)] = &[
    ("BAZAAR_OTP_COOLDOWN_SECS", "1"),
    ("BAZAAR_RATE_LIMIT_OTP_PER_HOUR", "100"),
];
const SLOW: &[(&str, &str)] = &[("BAZAAR_RATE_LIMIT_OTP_PER_HOUR", "100")];

/// The answer to `body` at `path`, and to the same request sent again at once.
async fn twice(server: &Server, path: &str, body: Value) -> (Value, Value) {
    let first = shape(server.post(path, body.clone()).await).await;
    let again = shape(server.post(path, body).await).await;
    (first, again)
}

async fn voice_otp_answers_alike_for_registered_and_unknown_numbers(server: Server) {
    if let Some(prod) = server.production_process() {
        // MSG91 refuses to read out a code it did not send.
        Mock::given(path_regex("/otp/retry$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"type": "error", "message": "No OTP request found for this mobile"}),
            ))
            .with_priority(1)
            .mount(&prod.msg91)
            .await;
    }
    let known = "+919812300301";
    let unknown = "+919812300398";
    server.customer(known, None).await;
    server.advance(COOLDOWN).await;
    let voice = |phone: &str| json!({"phone": phone, "purpose": "login", "channel": "voice"});
    let known_answers = twice(&server, "/api/v1/auth/otp/send", voice(known)).await;
    let unknown_answers = twice(&server, "/api/v1/auth/otp/send", voice(unknown)).await;
    assert_eq!(known_answers, unknown_answers);
    assert_eq!(
        (
            known_answers.0["status"].as_u64(),
            known_answers.1["status"].as_u64()
        ),
        (Some(202), Some(429))
    );
    assert_eq!(server.voice_calls(known).await, 0, "no live code, no call");

    // With a live code, the registered number gets its call; the answer is the same.
    server.advance(COOLDOWN).await;
    let sms = server
        .post(
            "/api/v1/auth/otp/send",
            json!({"phone": known, "purpose": "login"}),
        )
        .await;
    assert_eq!(sms.status(), 202);
    server.advance(COOLDOWN).await;
    let (called, _) = twice(&server, "/api/v1/auth/otp/send", voice(known)).await;
    assert_eq!(called, unknown_answers.0);
    assert_eq!(server.voice_calls(known).await, 1);
}
on_servers!(
    voice_otp_answers_alike_for_registered_and_unknown_numbers,
    [in_memory, real_backends, production],
    QUICK
);

async fn forgot_password_by_phone_answers_alike_for_registered_and_unknown_numbers(server: Server) {
    let known = "+919812300302";
    server.customer(known, None).await;
    server.advance(COOLDOWN).await;
    let forgot = |phone: &str| json!({"identifier": phone});
    let known_answers = twice(&server, "/api/v1/auth/password/forgot", forgot(known)).await;
    let unknown_answers = twice(
        &server,
        "/api/v1/auth/password/forgot",
        forgot("+919812300397"),
    )
    .await;
    assert_eq!(known_answers, unknown_answers);
    assert_eq!(
        (
            known_answers.0["status"].as_u64(),
            known_answers.1["status"].as_u64()
        ),
        (Some(202), Some(429))
    );
    assert_eq!(server.codes_for(known).await.len(), 2, "sign-up and reset");
    assert!(server.codes_for("+919812300397").await.is_empty());
}
on_servers!(
    forgot_password_by_phone_answers_alike_for_registered_and_unknown_numbers,
    [in_memory, real_backends, production],
    QUICK
);

async fn forgot_password_by_email_answers_alike_for_registered_and_unknown_addresses(
    server: Server,
) {
    // The account's phone is still cooling down from its sign-up code (30 s): the
    // reset code is skipped quietly rather than answered 429, which would give it away.
    server
        .customer_with_verified_email("+919812300303", "known@example.in")
        .await;
    // An address someone gave but never verified names no account.
    server
        .customer("+919812300304", Some("pending@example.in"))
        .await;
    let forgot = |email: &str| json!({"identifier": email});
    let known = twice(
        &server,
        "/api/v1/auth/password/forgot",
        forgot("Known@Example.in"),
    )
    .await;
    let unknown = twice(
        &server,
        "/api/v1/auth/password/forgot",
        forgot("nobody@example.in"),
    )
    .await;
    let pending = twice(
        &server,
        "/api/v1/auth/password/forgot",
        forgot("pending@example.in"),
    )
    .await;
    assert_eq!(known, unknown);
    assert_eq!(pending, unknown);
    assert_eq!(
        (known.0["status"].as_u64(), known.1["status"].as_u64()),
        (Some(202), Some(429))
    );
    assert_eq!(known.1["retry_after"], "30");
    assert_eq!(
        server.codes_for("+919812300303").await.len(),
        1,
        "sign-up only"
    );
    assert_eq!(
        server.codes_for("+919812300304").await.len(),
        1,
        "sign-up only"
    );
    for nobodys in ["nobody@example.in", "pending@example.in"] {
        assert!(
            server.verification_tokens(nobodys).await.is_empty(),
            "no link to {nobodys}"
        );
    }
}
on_servers!(
    forgot_password_by_email_answers_alike_for_registered_and_unknown_addresses,
    [in_memory, real_backends, production],
    SLOW
);

async fn forgot_password_by_a_verified_email_sends_a_single_use_link_to_it(server: Server) {
    let phone = "+919812300305";
    let email = "asha.rao@example.in";
    server.customer_with_verified_email(phone, email).await;
    let before = server.verification_tokens(email).await.len();
    server.advance(COOLDOWN).await;
    let forgot = server
        .post("/api/v1/auth/password/forgot", json!({"identifier": email}))
        .await;
    assert_eq!(forgot.status(), 202);
    // Written to the outbox, sent by its worker.
    let token = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let tokens = server.verification_tokens(email).await;
            if tokens.len() > before {
                return tokens[tokens.len() - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("a reset link is emailed");
    assert_eq!(
        server.codes_for(phone).await.len(),
        1,
        "sign-up only: no SMS"
    );
    let reset = |token: &str| json!({"token": token, "new_password": "a new long passphrase"});
    let first = server
        .post("/api/v1/auth/password/reset-with-link", reset(&token))
        .await;
    assert_eq!(first.status(), 204);
    let again = server
        .post("/api/v1/auth/password/reset-with-link", reset(&token))
        .await;
    assert_eq!(again.status(), 400, "a link works once");
}
on_servers!(
    forgot_password_by_a_verified_email_sends_a_single_use_link_to_it,
    [in_memory, real_backends],
    QUICK
);

/// A registration answer without what differs between any two accounts.
fn without_identity(mut user: Value) -> Value {
    for field in ["id", "phone", "email", "created_at", "updated_at"] {
        user.as_object_mut().unwrap().remove(field);
    }
    user
}

async fn registering_a_taken_phone_answers_as_a_new_one_and_changes_nothing(server: Server) {
    let taken = "+919812300306";
    let new = "+919812300307";
    let owner = server
        .customer_with_verified_email(taken, "owner@example.in")
        .await;
    let register = |phone: &str, email: &str| json!({"phone": phone, "name": "Mallory", "password": "mallory's password", "email": email});
    let on_taken = server
        .post("/api/v1/auth/register", register(taken, "m1@example.in"))
        .await;
    let on_new = server
        .post("/api/v1/auth/register", register(new, "m2@example.in"))
        .await;
    assert_eq!(
        (on_taken.status().as_u16(), on_new.status().as_u16()),
        (201, 201)
    );
    let (on_taken, on_new): (Value, Value) =
        (on_taken.json().await.unwrap(), on_new.json().await.unwrap());
    assert_ne!(on_taken["id"], owner.user.id);
    assert_eq!(without_identity(on_taken), without_identity(on_new));

    // What follows a registration gives nothing away either: the password just chosen
    // (the new account's phone is unverified; the taken one has another password) ...
    let sign_in = |phone: &str| json!({"identifier": phone, "password": "mallory's password"});
    let taken_login = shape(server.post("/api/v1/auth/login", sign_in(taken)).await).await;
    let new_login = shape(server.post("/api/v1/auth/login", sign_in(new)).await).await;
    assert_eq!(taken_login, new_login);
    assert_eq!(taken_login["code"], "invalid_credentials");
    // ... nor the cooldown the registration started.
    let code = |phone: &str| json!({"phone": phone, "purpose": "login"});
    let taken_code = shape(server.post("/api/v1/auth/otp/send", code(taken)).await).await;
    let new_code = shape(server.post("/api/v1/auth/otp/send", code(new)).await).await;
    assert_eq!(taken_code, new_code);
    assert_eq!(taken_code["status"], 429);

    // Nor does an email another account verified.
    let with_owners_email = server
        .post(
            "/api/v1/auth/register",
            register("+919812300308", "Owner@Example.in"),
        )
        .await;
    let with_free_email = server
        .post(
            "/api/v1/auth/register",
            register("+919812300309", "free@example.in"),
        )
        .await;
    assert_eq!(
        (
            with_owners_email.status().as_u16(),
            with_free_email.status().as_u16()
        ),
        (201, 201)
    );
    let with_owners_email: Value = with_owners_email.json().await.unwrap();
    assert_eq!(
        (
            with_owners_email["email"].as_str(),
            with_owners_email["email_verified"].as_bool()
        ),
        (Some("owner@example.in"), Some(false))
    );

    // The owner's account is as it was: same password, name and email.
    for identifier in [taken, "owner@example.in"] {
        let r = server
            .post(
                "/api/v1/auth/login",
                json!({"identifier": identifier, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), 200, "{identifier}");
        let user = &r.json::<Value>().await.unwrap()["user"];
        assert_eq!(
            (user["name"].as_str(), user["email"].as_str()),
            (Some("Customer"), Some("owner@example.in"))
        );
    }
}
on_servers!(
    registering_a_taken_phone_answers_as_a_new_one_and_changes_nothing,
    [in_memory, real_backends, production],
    SLOW
);

async fn setting_another_accounts_email_answers_as_setting_a_free_one(server: Server) {
    server
        .customer_with_verified_email("+919812300310", "victim@example.in")
        .await;
    let mallory = server.customer("+919812300311", None).await;
    let mallory = bearer_client(&mallory.access_token);
    let other = server.customer("+919812300312", None).await;
    let other = bearer_client(&other.access_token);
    let patch = |client: &reqwest::Client, email: &str| {
        client
            .patch(server.url("/api/v1/users/me"))
            .json(&json!({"email": email}))
            .send()
    };
    let taken = patch(&mallory, "Victim@Example.in").await.unwrap();
    let free = patch(&other, "free.address@example.in").await.unwrap();
    assert_eq!(
        (taken.status().as_u16(), free.status().as_u16()),
        (200, 200)
    );
    let (taken, free): (Value, Value) = (taken.json().await.unwrap(), free.json().await.unwrap());
    assert_eq!(
        (taken["email"].as_str(), taken["email_verified"].as_bool()),
        (Some("victim@example.in"), Some(false))
    );
    assert_eq!(free["email_verified"], false);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&taken), keys(&free));

    // Asking for a link answers alike too; it goes to the address, whose owner alone can
    // follow it, and following it cannot take the address from the account that has it.
    let requested = |client: &reqwest::Client| {
        client
            .post(server.url("/api/v1/users/me/email/verify-request"))
            .send()
    };
    assert_eq!(requested(&mallory).await.unwrap().status(), 202);
    assert_eq!(requested(&other).await.unwrap().status(), 202);
    let token = server
        .verification_tokens("victim@example.in")
        .await
        .pop()
        .unwrap();
    let stolen = server
        .post("/api/v1/auth/email/verify", json!({"token": token}))
        .await;
    assert_eq!(stolen.status(), 409);

    // The address still signs in the victim, and only the victim.
    let victim = server
        .post(
            "/api/v1/auth/login",
            json!({"identifier": "victim@example.in", "password": PASSWORD}),
        )
        .await;
    assert_eq!(victim.status(), 200);
    assert_eq!(
        victim.json::<Value>().await.unwrap()["user"]["phone"],
        "+919812300310"
    );
}
on_servers!(
    setting_another_accounts_email_answers_as_setting_a_free_one,
    [in_memory, real_backends, production],
    SLOW
);

/// Registers `phone` as Mallory, with her password and an address of hers.
async fn squat(server: &Server, phone: &str) {
    let squatted = server
        .post(
            "/api/v1/auth/register",
            json!({"phone": phone, "name": "Mallory", "password": "mallory's password", "email": "mallory@example.in"}),
        )
        .await;
    assert_eq!(squatted.status(), 201);
}

async fn mallory_signs_in(server: &Server, phone: &str) -> u16 {
    let r = server
        .post(
            "/api/v1/auth/login",
            json!({"identifier": phone, "password": "mallory's password"}),
        )
        .await;
    r.status().as_u16()
}

async fn a_squatted_phone_goes_to_whoever_proves_it(server: Server) {
    // The owner registers the number Mallory registered first, and verifies it.
    let phone = "+919812300311";
    squat(&server, phone).await;
    server.advance(COOLDOWN).await;
    let registered = server
        .post(
            "/api/v1/auth/register",
            json!({"phone": phone, "name": "Owner", "password": PASSWORD}),
        )
        .await;
    assert_eq!(registered.status(), 201);
    let code = server.code_for(phone).await;
    let verified = server
        .post(
            "/api/v1/auth/otp/verify",
            json!({"phone": phone, "purpose": "verify_phone", "code": code}),
        )
        .await;
    assert_eq!(verified.status(), 200);
    assert_eq!(
        verified.json::<Value>().await.unwrap()["email"],
        Value::Null
    );
    assert_eq!(mallory_signs_in(&server, phone).await, 401);
    // The owner signs in by code, and sets a password with a reset code.
    let signed_in = server.sign_in_by_code(OWNER, phone).await;
    assert_eq!(signed_in.status(), 200);

    // The owner, who never registered, signs in by code to the account Mallory made.
    let phone = "+919812300312";
    squat(&server, phone).await;
    let signed_in = server.sign_in_by_code(OWNER, phone).await;
    assert_eq!(signed_in.status(), 200);
    let user = &signed_in.json::<Value>().await.unwrap()["user"];
    assert_eq!(
        (user["phone_verified"].as_bool(), &user["email"]),
        (Some(true), &Value::Null)
    );
    assert_eq!(mallory_signs_in(&server, phone).await, 401);
}
on_servers!(
    a_squatted_phone_goes_to_whoever_proves_it,
    [in_memory, real_backends, production],
    QUICK
);
