//! The two HMAC-SHA256 signatures Razorpay makes: over `order_id|payment_id` with the key
//! secret for a checkout callback, and over the raw body with the webhook secret for a webhook.
//! Both are lowercase hex; both are checked by decoding the hex and comparing bytes in constant
//! time (`Mac::verify_slice`).

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hmac_over(secret: &SecretString, parts: &[&[u8]]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC-SHA256 takes a key of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

fn sign(secret: &SecretString, parts: &[&[u8]]) -> String {
    hex::encode(hmac_over(secret, parts).finalize().into_bytes())
}

/// Whether `signature_hex` is the HMAC of `parts` under `secret`, compared in constant time.
/// An empty secret verifies nothing: anyone could sign with it.
fn verify(secret: &SecretString, parts: &[&[u8]], signature_hex: &str) -> bool {
    if secret.expose_secret().is_empty() {
        return false;
    }
    let Some(signature) = decode_signature(signature_hex) else {
        return false;
    };
    hmac_over(secret, parts).verify_slice(&signature).is_ok()
}

/// The 32 bytes of a signature written as Razorpay writes it: 64 lowercase hex digits.
fn decode_signature(signature_hex: &str) -> Option<Vec<u8>> {
    let lowercase_hex = signature_hex.len() == 64
        && signature_hex
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    if !lowercase_hex {
        return None;
    }
    hex::decode(signature_hex).ok()
}

/// The `razorpay_signature` Checkout hands the browser after a payment on `order_id`:
/// lowercase hex HMAC-SHA256 of `order_id|payment_id` under the key secret.
pub fn checkout_signature(key_secret: &SecretString, order_id: &str, payment_id: &str) -> String {
    sign(
        key_secret,
        &[order_id.as_bytes(), b"|", payment_id.as_bytes()],
    )
}

/// Whether a checkout callback's `razorpay_signature` is Razorpay's for this payment on this
/// order. Pass the order id Bazaar stored, never one from the callback.
pub fn verify_checkout_signature(
    key_secret: &SecretString,
    order_id: &str,
    payment_id: &str,
    signature_hex: &str,
) -> bool {
    verify(
        key_secret,
        &[order_id.as_bytes(), b"|", payment_id.as_bytes()],
        signature_hex,
    )
}

/// The `X-Razorpay-Signature` of a webhook body: lowercase hex HMAC-SHA256 of the raw bytes
/// under the webhook secret.
pub fn webhook_signature(webhook_secret: &SecretString, raw_body: &[u8]) -> String {
    sign(webhook_secret, &[raw_body])
}

/// Whether `signature_hex` signs `raw_body` under any of `webhook_secrets`: during a rotation
/// Razorpay may retry old events signed with the old secret.
///
/// `raw_body` must be the bytes as received; parsed and re-serialised JSON does not verify.
pub fn verify_webhook_signature(
    webhook_secrets: &[SecretString],
    raw_body: &[u8],
    signature_hex: &str,
) -> bool {
    webhook_secrets
        .iter()
        .any(|secret| verify(secret, &[raw_body], signature_hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    const CHECKOUT_SECRET: &str = "EnLs21M47BllR3X8PSFtjtbd";
    const WEBHOOK_BODY: &[u8] = br#"{"a":1,"b":2,"c":{"d":3}}"#;
    const WEBHOOK_SIGNATURE: &str =
        "2fe04e22977002e6c7cb553adab8b460cb9e2a4970d5953cb27a8472752e3bbc";
    const CHECKOUT_SIGNATURE: &str =
        "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f";

    #[test]
    fn the_standard_checkout_vector_signs_order_id_bar_payment_id() {
        let signature = checkout_signature(
            &secret(CHECKOUT_SECRET),
            "order_IEIaMR65cu6nz3",
            "pay_IH4NVgf4Dreq1l",
        );

        assert_eq!(signature, CHECKOUT_SIGNATURE);
        assert!(verify_checkout_signature(
            &secret(CHECKOUT_SECRET),
            "order_IEIaMR65cu6nz3",
            "pay_IH4NVgf4Dreq1l",
            CHECKOUT_SIGNATURE,
        ));
    }

    #[test]
    fn the_subscription_vector_matches_the_same_hmac_over_payment_id_bar_subscription_id() {
        // Bazaar has no subscriptions; the vector still pins the HMAC and hex encoding.
        let expected = "601f383334975c714c91a7d97dd723eb56520318355863dcf3821c0d07a17693";
        let message = b"pay_IDZNwZZFtnjyym|sub_ID6MOhgkcoHj9I";

        assert_eq!(sign(&secret(CHECKOUT_SECRET), &[message]), expected);
        assert!(verify(&secret(CHECKOUT_SECRET), &[message], expected));
    }

    #[test]
    fn the_webhook_vector_signs_the_raw_body() {
        assert_eq!(
            webhook_signature(&secret("123456"), WEBHOOK_BODY),
            WEBHOOK_SIGNATURE
        );
        assert!(verify_webhook_signature(
            &[secret("123456")],
            WEBHOOK_BODY,
            WEBHOOK_SIGNATURE
        ));
    }

    #[test]
    fn a_checkout_signature_for_another_order_or_payment_or_secret_is_rejected() {
        let key = secret(CHECKOUT_SECRET);
        let order = "order_IEIaMR65cu6nz3";
        let payment = "pay_IH4NVgf4Dreq1l";

        assert!(!verify_checkout_signature(
            &key,
            "order_IEIaMR65cu6nz4",
            payment,
            CHECKOUT_SIGNATURE
        ));
        assert!(!verify_checkout_signature(
            &key,
            order,
            "pay_IH4NVgf4Dreq1m",
            CHECKOUT_SIGNATURE
        ));
        assert!(!verify_checkout_signature(
            &secret("another-secret"),
            order,
            payment,
            CHECKOUT_SIGNATURE
        ));
        // Swapping the ids moves the separator's meaning; it must not verify.
        assert!(!verify_checkout_signature(
            &key,
            payment,
            order,
            CHECKOUT_SIGNATURE
        ));
    }

    #[test]
    fn a_wrong_webhook_signature_is_rejected() {
        let mut wrong = WEBHOOK_SIGNATURE.to_owned();
        wrong.replace_range(63.., "d");

        assert!(!verify_webhook_signature(
            &[secret("123456")],
            WEBHOOK_BODY,
            &wrong
        ));
        assert!(!verify_webhook_signature(
            &[secret("654321")],
            WEBHOOK_BODY,
            WEBHOOK_SIGNATURE
        ));
    }

    #[test]
    fn uppercase_truncated_padded_or_non_hex_signatures_are_rejected() {
        let secrets = [secret("123456")];
        let uppercase = WEBHOOK_SIGNATURE.to_uppercase();
        let truncated = &WEBHOOK_SIGNATURE[..62];
        let padded = format!(" {WEBHOOK_SIGNATURE}");
        let extended = format!("{WEBHOOK_SIGNATURE}00");
        let garbage = "zz".repeat(32);

        for signature in [
            uppercase.as_str(),
            truncated,
            padded.as_str(),
            extended.as_str(),
            garbage.as_str(),
            "",
        ] {
            assert!(
                !verify_webhook_signature(&secrets, WEBHOOK_BODY, signature),
                "accepted {signature:?}"
            );
        }
        assert!(!verify_checkout_signature(
            &secret(CHECKOUT_SECRET),
            "order_IEIaMR65cu6nz3",
            "pay_IH4NVgf4Dreq1l",
            &CHECKOUT_SIGNATURE.to_uppercase()
        ));
        assert!(!verify_checkout_signature(
            &secret(CHECKOUT_SECRET),
            "order_IEIaMR65cu6nz3",
            "pay_IH4NVgf4Dreq1l",
            ""
        ));
    }

    #[test]
    fn a_signature_over_a_reserialised_body_does_not_verify_the_received_bytes() {
        let reserialised = br#"{"a": 1, "b": 2, "c": {"d": 3}}"#;
        let secrets = [secret("123456")];

        assert!(!verify_webhook_signature(
            &secrets,
            reserialised,
            WEBHOOK_SIGNATURE
        ));
        assert!(!verify_webhook_signature(
            &secrets,
            WEBHOOK_BODY,
            &webhook_signature(&secrets[0], reserialised)
        ));
    }

    #[test]
    fn any_configured_webhook_secret_verifies_during_a_rotation() {
        let old_and_new = [secret("123456"), secret("new-webhook-secret")];
        let new_signature = webhook_signature(&old_and_new[1], WEBHOOK_BODY);

        assert!(verify_webhook_signature(
            &old_and_new,
            WEBHOOK_BODY,
            WEBHOOK_SIGNATURE
        ));
        assert!(verify_webhook_signature(
            &old_and_new,
            WEBHOOK_BODY,
            &new_signature
        ));
        assert!(!verify_webhook_signature(
            &[],
            WEBHOOK_BODY,
            WEBHOOK_SIGNATURE
        ));
    }

    #[test]
    fn an_empty_secret_verifies_nothing_even_a_signature_made_with_it() {
        let empty = secret("");
        let signature = webhook_signature(&empty, WEBHOOK_BODY);

        assert!(!verify_webhook_signature(
            &[empty],
            WEBHOOK_BODY,
            &signature
        ));
    }
}
