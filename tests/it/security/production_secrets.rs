//! An operator who forgets a secret, or copies the development one from the source, gets a
//! server that refuses to start, naming every such setting at once, instead of one that signs
//! tokens with a key anyone can read.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bazaar::config::{DEV_JWT_KEYS, DEV_OTP_SECRET, OPTIONAL_SECRETS_IN_PRODUCTION, SETTINGS};

use super::prod::{production_env, SELLER};

const BIN: &str = env!("CARGO_BIN_EXE_bazaar");

/// `bazaar serve` with exactly `env` (nothing inherited from the test run); it must exit by
/// itself within 30 s, as a refused configuration does.
fn serve(env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("BAZAAR_") {
            cmd.env_remove(name);
        }
    }
    let mut child = cmd
        .arg("serve")
        .env("BAZAAR_ADDR", "127.0.0.1:0")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bazaar starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "production started anyway:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A complete production environment; the provider URLs are never called here.
fn complete_env() -> Vec<(String, String)> {
    let unused = "http://127.0.0.1:9";
    production_env("secrets", unused, unused, unused)
}

fn with(env: &[(String, String)], key: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut env: Vec<_> = env.iter().filter(|(k, _)| k != key).cloned().collect();
    if let Some(value) = value {
        env.push((key.to_owned(), value.to_owned()));
    }
    env
}

fn assert_refused(out: &Output, names: &[&str], secrets: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exited successfully:\n{stderr}");
    for name in names {
        assert!(stderr.contains(name), "{name} not named in:\n{stderr}");
    }
    for secret in secrets {
        assert!(!stderr.contains(secret), "a secret leaked:\n{stderr}");
    }
}

#[test]
fn production_refuses_to_start_without_each_secret() {
    let complete = complete_env();
    let required: Vec<_> = SETTINGS
        .iter()
        .filter(|s| s.secret && !OPTIONAL_SECRETS_IN_PRODUCTION.contains(&s.key))
        .collect();
    assert!(required.len() >= 9, "the settings table lost its secrets");
    for spec in required {
        let name = format!("BAZAAR_{}", spec.key.to_ascii_uppercase());
        let out = serve(&with(&complete, &name, None));
        assert_refused(&out, &[&name], &[]);
    }
}

#[test]
fn production_names_every_missing_secret_at_once() {
    let out = serve(&[("BAZAAR_ENV".to_owned(), "production".to_owned())]);
    assert_refused(
        &out,
        &[
            "BAZAAR_JWT_KEYS",
            "BAZAAR_OTP_SECRET",
            "BAZAAR_MSG91_AUTHKEY",
            "BAZAAR_SENDGRID_API_KEY",
            "BAZAAR_MONGODB_URL",
            "BAZAAR_REDIS_URL",
            "BAZAAR_S3_ENDPOINT",
            "BAZAAR_RAZORPAY_KEY_ID",
        ],
        &[DEV_OTP_SECRET, DEV_JWT_KEYS],
    );
}

/// A seller must issue tax invoices: production has no sample seller to fall back on.
#[test]
fn production_refuses_to_start_without_the_gst_seller() {
    let complete = complete_env();
    let names = SELLER.map(|(name, _)| name);
    let without_seller: Vec<_> = complete
        .iter()
        .filter(|(k, _)| !names.contains(&k.as_str()))
        .cloned()
        .collect();
    assert_refused(&serve(&without_seller), &names, &[]);
    for name in names {
        let out = serve(&with(&complete, name, None));
        assert_refused(&out, &[name], &[]);
    }
    let out = serve(&with(
        &complete,
        "BAZAAR_GST_SELLER_GSTIN",
        Some("27AAPFU0939F1ZA"),
    ));
    assert_refused(&out, &["BAZAAR_GST_SELLER_GSTIN"], &[]);
}

#[test]
fn production_refuses_the_development_signing_key_even_under_another_name() {
    let complete = complete_env();
    let dev_secret = DEV_JWT_KEYS.split_once(':').unwrap().1;
    let current = complete
        .iter()
        .find(|(k, _)| k == "BAZAAR_JWT_KEYS")
        .map(|(_, v)| v.clone())
        .unwrap();
    for keys in [
        DEV_JWT_KEYS.to_owned(),
        format!("prod:{dev_secret}"),
        format!("{current},old:{dev_secret}"),
    ] {
        let out = serve(&with(&complete, "BAZAAR_JWT_KEYS", Some(&keys)));
        assert_refused(&out, &["BAZAAR_JWT_KEYS"], &[dev_secret]);
    }
}

#[test]
fn production_refuses_the_development_otp_secret_and_guessable_secrets() {
    let complete = complete_env();
    for (key, value) in [
        ("BAZAAR_OTP_SECRET", DEV_OTP_SECRET.to_owned()),
        ("BAZAAR_OTP_SECRET", "0".repeat(64)),
        ("BAZAAR_JWT_KEYS", format!("k1:{}", "password".repeat(5))),
    ] {
        let out = serve(&with(&complete, key, Some(&value)));
        assert_refused(&out, &[key], &[&value]);
    }
}

#[tokio::test]
async fn production_with_its_own_secrets_starts_and_serves_no_development_routes() {
    let prod = super::prod::Production::start("secrets-complete").await;
    let client = reqwest::Client::new();
    let messages = client
        .get(prod.url("/api/v1/dev/messages"))
        .send()
        .await
        .unwrap();
    assert_eq!(messages.status(), 404);
    // Production's own header: what runs here is the production profile.
    assert!(messages.headers().contains_key("strict-transport-security"));
    // The token the harness's admin gets is signed with the key it was given, which works.
    let token = prod.admin_token().await;
    let me = client
        .get(prod.url("/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // A customer's code goes to the real MSG91 client, here talking to the stand-in.
    let customer = prod.customer("+919812300001").await;
    assert!(!customer.is_empty());
    let code = prod
        .otp_for("+919812300001")
        .await
        .expect("an OTP was sent");
    assert_eq!(code.len(), 6, "{code}");
}
