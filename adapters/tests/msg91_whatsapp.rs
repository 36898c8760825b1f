//! Holds `Msg91WhatsAppClient` to MSG91's WhatsApp send-template endpoint (API v5) as its
//! public reference describes it (see the module docs of `msg91_whatsapp`), with a wiremock
//! server standing in for MSG91, and checks what `FakeWhatsAppSender` promises.

use std::time::Duration;

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::msg91_whatsapp::{
    FakeWhatsAppSender, Msg91WhatsAppClient, Msg91WhatsAppSettings, WhatsAppSender,
    WhatsAppTemplate,
};
use bazaar_adapters::retry::RetryPolicy;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[macro_use]
mod common;

const AUTHKEY: &str = "test-authkey-wa-77c1";
const ENDPOINT: &str = "/api/v5/whatsapp/whatsapp-outbound-message/bulk/";

fn settings(server: &MockServer) -> Msg91WhatsAppSettings {
    Msg91WhatsAppSettings {
        base_url: format!("{}/api/v5/", server.uri()),
        authkey: SecretString::from(AUTHKEY),
        integrated_number: "+918000000001".to_owned(),
        timeout: Duration::from_millis(200),
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(2),
        },
    }
}

fn client(server: &MockServer) -> Msg91WhatsAppClient {
    Msg91WhatsAppClient::new(settings(server)).expect("test settings are valid")
}

fn receipt_in_hindi() -> WhatsAppTemplate {
    WhatsAppTemplate {
        phone: "+919812345678".to_owned(),
        template: "bazaar_payment_receipt".to_owned(),
        language: "hi".to_owned(),
        body: vec!["आशा".to_owned(), "ord_123".to_owned(), "₹499.00".to_owned()],
    }
}

fn success(request_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "status": "success", "hasError": false, "data": "Message sent successfully",
        "errors": null, "request_id": request_id,
    }))
}

#[tokio::test]
async fn a_template_is_posted_with_the_authkey_integrated_number_language_and_positional_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .and(header("authkey", AUTHKEY))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "integrated_number": "918000000001",
            "content_type": "template",
            "payload": {
                "messaging_product": "whatsapp",
                "type": "template",
                "template": {
                    "name": "bazaar_payment_receipt",
                    "language": {"code": "hi", "policy": "deterministic"},
                    "to_and_components": [{
                        "to": ["919812345678"],
                        "components": {
                            "body_1": {"type": "text", "value": "आशा"},
                            "body_2": {"type": "text", "value": "ord_123"},
                            "body_3": {"type": "text", "value": "₹499.00"},
                        },
                    }],
                },
            },
        })))
        .respond_with(success("wa-req-1"))
        .expect(1)
        .mount(&server)
        .await;

    let id = client(&server).send_template(&receipt_in_hindi()).await;

    assert_eq!(id.ok().as_deref(), Some("wa-req-1"));
}

#[tokio::test]
async fn an_http_200_that_says_it_failed_is_a_rejection_with_msg91s_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "fail", "hasError": true, "errors": "Template not found", "data": null,
        })))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send_template(&receipt_in_hindi()).await;

    match result {
        Err(AdapterError::Rejected {
            provider,
            status,
            message,
        }) => {
            assert_eq!((provider, status), ("msg91", 200));
            assert_eq!(message, "Template not found");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_400_is_a_rejection_that_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "status": "fail", "hasError": true,
            "errors": {"integrated_number": ["The integrated number is invalid."]},
        })))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send_template(&receipt_in_hindi()).await;

    match result {
        Err(AdapterError::Rejected {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            assert!(
                message.contains("integrated number is invalid"),
                "{message}"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn an_http_200_that_is_not_json_is_not_taken_for_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;

    let result = client(&server).send_template(&receipt_in_hindi()).await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Unavailable {
                provider: "msg91",
                ..
            })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn neither_the_authkey_nor_the_number_reaches_the_logs_or_the_debug_form() {
    let logs = common::CapturedLogs::start();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .respond_with(success("wa-req-2"))
        .mount(&server)
        .await;
    let client = client(&server);

    client
        .send_template(&receipt_in_hindi())
        .await
        .expect("sent");

    let text = logs.text();
    assert!(text.contains("bazaar_payment_receipt"), "{text}");
    for secret in [AUTHKEY, "9812345678", "ord_123"] {
        assert!(!text.contains(secret), "{secret} logged: {text}");
    }
    assert!(!format!("{client:?}").contains(AUTHKEY));
}

#[test]
fn an_integrated_number_that_is_not_a_phone_number_is_refused_at_startup() {
    let server_uri = "http://127.0.0.1:9".to_owned();
    let result = Msg91WhatsAppClient::new(Msg91WhatsAppSettings {
        base_url: server_uri,
        authkey: SecretString::from(AUTHKEY),
        integrated_number: "my-number".to_owned(),
        timeout: Duration::from_millis(200),
        retry: RetryPolicy::default(),
    });
    assert!(matches!(result, Err(AdapterError::Rejected { .. })));
}

#[tokio::test]
async fn the_fake_records_what_it_accepts_refuses_a_nameless_template_and_fails_on_demand() {
    let fake = FakeWhatsAppSender::new();
    fake.fail_next(AdapterError::Unavailable {
        provider: "msg91",
        message: "down".into(),
    });
    assert!(fake.send_template(&receipt_in_hindi()).await.is_err());
    assert!(fake.sent().is_empty(), "a failed send records nothing");

    let nameless = WhatsAppTemplate {
        template: " ".into(),
        ..receipt_in_hindi()
    };
    assert!(matches!(
        fake.send_template(&nameless).await,
        Err(AdapterError::Rejected { .. })
    ));

    let id = fake.send_template(&receipt_in_hindi()).await.expect("sent");
    assert_eq!(id, "fake-whatsapp-1");
    assert_eq!(fake.sent(), [receipt_in_hindi()]);
}

transport_contract! {
    provider: "msg91",
    stub: Mock::given(method("POST")).and(path(ENDPOINT)),
    success: success("retried-id"),
    refused_credentials: ResponseTemplate::new(401)
        .set_body_json(json!({"status": "fail", "hasError": true, "errors": "Unauthorized"})),
    call: |server| client(&server).send_template(&receipt_in_hindi()).await,
}
