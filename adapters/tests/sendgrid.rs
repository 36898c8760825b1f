//! Holds `SendGridClient` to SendGrid's v3 Mail Send API as described in
//! `shared/contracts/sendgrid.md`, with a wiremock server standing in for SendGrid, and checks
//! what `FakeMailer` promises.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::retry::RetryPolicy;
use bazaar_adapters::sendgrid::{Email, FakeMailer, Mailer, SendGridClient, SendGridSettings};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

#[macro_use]
mod common;

const API_KEY: &str = "SG.test-key.9c2f7a";

fn settings(server: &MockServer) -> SendGridSettings {
    SendGridSettings {
        base_url: server.uri(),
        api_key: SecretString::from(API_KEY),
        from_email: "no-reply@bazaar.example".to_owned(),
        from_name: "Bazaar".to_owned(),
        sandbox: false,
        timeout: Duration::from_millis(200),
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(2),
        },
    }
}

fn client(server: &MockServer) -> SendGridClient {
    SendGridClient::new(settings(server)).expect("test settings are valid")
}

fn welcome_email() -> Email {
    Email {
        to_email: "asha@example.in".to_owned(),
        to_name: Some("Asha Rao".to_owned()),
        template_id: "d-0123456789abcdef0123456789abcdef".to_owned(),
        data: json!({"first_name": "Asha", "verify_url": "https://bazaar.example/verify/abc"}),
    }
}

fn accepted(message_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(202).insert_header("X-Message-Id", message_id)
}

fn mail_send() -> MockBuilder {
    Mock::given(method("POST")).and(path("/v3/mail/send"))
}

#[tokio::test]
async fn send_posts_the_template_email_with_bearer_auth_and_returns_the_message_id() {
    let server = MockServer::start().await;
    mail_send()
        .and(|request: &Request| request.url.query().is_none())
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "personalizations": [{
                "to": [{"email": "asha@example.in", "name": "Asha Rao"}],
                "dynamic_template_data": {
                    "first_name": "Asha",
                    "verify_url": "https://bazaar.example/verify/abc"
                }
            }],
            "from": {"email": "no-reply@bazaar.example", "name": "Bazaar"},
            "template_id": "d-0123456789abcdef0123456789abcdef"
        })))
        .respond_with(accepted(
            "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let message_id = client(&server).send(&welcome_email()).await;

    assert_eq!(
        message_id.ok().as_deref(),
        Some("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0")
    );
}

#[tokio::test]
async fn sandbox_mode_asks_sendgrid_not_to_deliver_and_accepts_its_200() {
    let server = MockServer::start().await;
    mail_send()
        .and(body_json(json!({
            "personalizations": [{
                "to": [{"email": "asha@example.in", "name": "Asha Rao"}],
                "dynamic_template_data": {
                    "first_name": "Asha",
                    "verify_url": "https://bazaar.example/verify/abc"
                }
            }],
            "from": {"email": "no-reply@bazaar.example", "name": "Bazaar"},
            "template_id": "d-0123456789abcdef0123456789abcdef",
            "mail_settings": {"sandbox_mode": {"enable": true}}
        })))
        .respond_with(ResponseTemplate::new(200).insert_header("X-Message-Id", "sandboxed-id"))
        .expect(1)
        .mount(&server)
        .await;
    let mut settings = settings(&server);
    settings.sandbox = true;
    let client = SendGridClient::new(settings).expect("test settings are valid");

    let message_id = client.send(&welcome_email()).await;

    assert_eq!(message_id.ok().as_deref(), Some("sandboxed-id"));
}

#[tokio::test]
async fn names_and_template_data_that_are_absent_are_left_out_of_the_body() {
    let server = MockServer::start().await;
    mail_send()
        .and(body_json(json!({
            "personalizations": [{"to": [{"email": "asha@example.in"}]}],
            "from": {"email": "no-reply@bazaar.example"},
            "template_id": "d-0123456789abcdef0123456789abcdef"
        })))
        .respond_with(accepted("bare-id"))
        .expect(1)
        .mount(&server)
        .await;
    let mut settings = settings(&server);
    settings.from_name = String::new();
    let client = SendGridClient::new(settings).expect("test settings are valid");
    let email = Email {
        to_name: None,
        data: serde_json::Value::Null,
        ..welcome_email()
    };

    let message_id = client.send(&email).await;

    assert_eq!(message_id.ok().as_deref(), Some("bare-id"));
}

#[tokio::test]
async fn sendgrid_errors_become_a_rejection_naming_each_field_and_message() {
    let server = MockServer::start().await;
    mail_send()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": [
            {
                "message": "Does not contain a valid address.",
                "field": "personalizations.0.to.0.email",
                "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
            },
            {"message": "The template_id must be a valid GUID.", "field": null, "help": null}
        ]})))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send(&welcome_email()).await;

    match result {
        Err(AdapterError::Rejected {
            provider,
            status,
            message,
        }) => {
            assert_eq!((provider, status), ("sendgrid", 400));
            assert_eq!(
                message,
                "personalizations.0.to.0.email: Does not contain a valid address.; \
                 The template_id must be a valid GUID."
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn an_error_without_sendgrids_error_body_is_a_rejection_with_the_status() {
    let server = MockServer::start().await;
    mail_send()
        .respond_with(ResponseTemplate::new(413).set_body_string("payload too large"))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send(&welcome_email()).await;

    match result {
        Err(AdapterError::Rejected {
            status, message, ..
        }) => {
            assert_eq!(status, 413);
            assert_eq!(message, "HTTP 413 Payload Too Large: payload too large");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_403_is_treated_as_refused_credentials() {
    let server = MockServer::start().await;
    mail_send()
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"errors": [
            {"field": null, "message": "access forbidden"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send(&welcome_email()).await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Unauthorized {
                provider: "sendgrid"
            })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_500_followed_by_acceptance_succeeds_after_one_retry() {
    let server = MockServer::start().await;
    mail_send()
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mail_send()
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .respond_with(accepted("retried-id"))
        .expect(1)
        .mount(&server)
        .await;

    let message_id = client(&server).send(&welcome_email()).await;

    assert_eq!(message_id.ok().as_deref(), Some("retried-id"));
}

#[tokio::test]
async fn a_429_with_retry_after_waits_that_long_before_retrying() {
    let server = MockServer::start().await;
    mail_send()
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mail_send()
        .respond_with(accepted("after-waiting"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();

    let message_id = client(&server).send(&welcome_email()).await;

    assert_eq!(message_id.ok().as_deref(), Some("after-waiting"));
    // Backoff alone would have retried after at most 10 ms.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_with_only_a_rate_limit_reset_waits_until_that_time() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let server = MockServer::start().await;
    mail_send()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-RateLimit-Limit", "600")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset", (now + 2).to_string().as_str()),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mail_send()
        .respond_with(accepted("after-reset"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();

    let message_id = client(&server).send(&welcome_email()).await;

    assert_eq!(message_id.ok().as_deref(), Some("after-reset"));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_persistent_429_is_rate_limited_after_max_retries_plus_one_attempts() {
    let server = MockServer::start().await;
    mail_send()
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"errors": [
            {"field": null, "message": "too many requests"}
        ]})))
        .expect(3)
        .mount(&server)
        .await;

    let result = client(&server).send(&welcome_email()).await;

    assert!(
        matches!(
            result,
            Err(AdapterError::RateLimited {
                provider: "sendgrid",
                retry_after: None
            })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_unavailable() {
    let server = MockServer::start().await;
    mail_send()
        .respond_with(accepted("too-late").set_delay(Duration::from_secs(2)))
        .expect(3)
        .mount(&server)
        .await;
    let started = Instant::now();

    let result = client(&server).send(&welcome_email()).await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Unavailable {
                provider: "sendgrid",
                ..
            })
        ),
        "got {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn debug_output_of_settings_and_client_never_shows_the_api_key() {
    let server = MockServer::start().await;

    let settings_debug = format!("{:?}", settings(&server));
    let client_debug = format!("{:?}", client(&server));

    assert!(settings_debug.contains("api_key"), "{settings_debug}");
    assert!(!settings_debug.contains(API_KEY), "{settings_debug}");
    assert!(client_debug.contains("REDACTED"), "{client_debug}");
    assert!(!client_debug.contains(API_KEY), "{client_debug}");
}

#[test]
fn an_empty_api_key_is_refused_when_the_client_is_built() {
    let settings = SendGridSettings {
        base_url: "https://api.sendgrid.com".to_owned(),
        api_key: SecretString::from("  "),
        from_email: "no-reply@bazaar.example".to_owned(),
        from_name: "Bazaar".to_owned(),
        sandbox: false,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    };

    let result = SendGridClient::new(settings);

    assert!(
        matches!(
            result,
            Err(AdapterError::Unauthorized {
                provider: "sendgrid"
            })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn the_fake_records_every_email_it_sends_and_returns_distinct_ids() {
    let fake = FakeMailer::new();
    let second = Email {
        to_email: "ravi@example.in".to_owned(),
        ..welcome_email()
    };

    let first_id = fake.send(&welcome_email()).await;
    let second_id = fake.send(&second).await;

    assert_eq!(fake.sent(), vec![welcome_email(), second]);
    assert!(first_id.is_ok() && second_id.is_ok());
    assert_ne!(first_id.ok(), second_id.ok());
}

#[tokio::test]
async fn the_fake_fails_the_next_send_when_told_then_works_again() {
    let fake = FakeMailer::new();
    fake.fail_next(AdapterError::Unauthorized {
        provider: "sendgrid",
    });

    let failed = fake.send(&welcome_email()).await;
    let recovered = fake.send(&welcome_email()).await;

    assert!(
        matches!(failed, Err(AdapterError::Unauthorized { .. })),
        "got {failed:?}"
    );
    assert!(recovered.is_ok(), "got {recovered:?}");
    assert_eq!(
        fake.sent(),
        vec![welcome_email()],
        "only the delivered email is recorded"
    );
}

#[tokio::test]
async fn the_fakes_failures_queue_up_one_per_call_to_fail_next() {
    let fake = FakeMailer::new();
    for _ in 0..2 {
        fake.fail_next(AdapterError::Unavailable {
            provider: "sendgrid",
            message: "down for the test".to_owned(),
        });
    }

    let results = [
        fake.send(&welcome_email()).await.is_ok(),
        fake.send(&welcome_email()).await.is_ok(),
        fake.send(&welcome_email()).await.is_ok(),
    ];

    assert_eq!(results, [false, false, true]);
    assert_eq!(fake.sent(), vec![welcome_email()]);
}

#[tokio::test]
async fn the_fake_rejects_what_sendgrid_would_reject() {
    let fake = FakeMailer::new();
    let legacy_template = Email {
        template_id: "b8a1a2f0-legacy".to_owned(),
        ..welcome_email()
    };
    let list_data = Email {
        data: json!(["not", "an", "object"]),
        ..welcome_email()
    };
    let no_address = Email {
        to_email: "asha".to_owned(),
        ..welcome_email()
    };

    for email in [legacy_template, list_data, no_address] {
        let result = fake.send(&email).await;
        assert!(
            matches!(result, Err(AdapterError::Rejected { status: 400, .. })),
            "{email:?} gave {result:?}"
        );
    }
    assert!(fake.sent().is_empty());
}

transport_contract! {
    provider: "sendgrid",
    stub: mail_send(),
    success: accepted("retried-id"),
    refused_credentials: ResponseTemplate::new(401).set_body_json(json!({"errors": [
        {"field": null, "message": "The provided authorization grant is invalid"}
    ]})),
    call: |server| client(&server).send(&welcome_email()).await,
}
