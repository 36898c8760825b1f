//! Holds `Msg91Client` to MSG91's API v5 (OTP and flow SMS) as described in
//! `shared/contracts/msg91.md`, with a wiremock server standing in for MSG91, and checks what
//! `FakeOtpSender` promises.

use std::time::{Duration, Instant};

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::msg91::{
    FakeOtpSender, FlowSms, Msg91Client, Msg91Settings, OtpMessage, OtpSender, SmsSender,
};
use bazaar_adapters::retry::RetryPolicy;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

#[macro_use]
mod common;

const AUTHKEY: &str = "test-authkey-5f1c9e";
const CODE: &str = "482913";

fn settings(server: &MockServer) -> Msg91Settings {
    Msg91Settings {
        // A path prefix, as in production, to pin how endpoint paths are joined to it.
        base_url: format!("{}/api/v5", server.uri()),
        authkey: SecretString::from(AUTHKEY),
        template_id: "tmpl-login-otp".to_owned(),
        sender: "BAZAAR".to_owned(),
        otp_expiry_minutes: 10,
        timeout: Duration::from_millis(200),
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(2),
        },
    }
}

fn client(server: &MockServer) -> Msg91Client {
    Msg91Client::new(settings(server)).expect("test settings are valid")
}

fn login_otp() -> OtpMessage {
    OtpMessage {
        phone: "+919812345678".to_owned(),
        code: CODE.to_owned(),
        purpose: "login".to_owned(),
    }
}

fn success(request_id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"type": "success", "request_id": request_id, "message": "OTP sent"}))
}

/// Matches when the query string holds exactly these pairs, in any order, and nothing else.
struct ExactQuery(Vec<(&'static str, &'static str)>);

impl Match for ExactQuery {
    fn matches(&self, request: &Request) -> bool {
        let mut actual: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let mut expected: Vec<(String, String)> = self
            .0
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        actual.sort();
        expected.sort();
        actual == expected
    }
}

fn send_otp_query() -> ExactQuery {
    ExactQuery(vec![
        ("template_id", "tmpl-login-otp"),
        ("mobile", "919812345678"),
        ("otp", CODE),
        ("otp_expiry", "10"),
    ])
}

#[tokio::test]
async fn send_otp_posts_the_code_with_the_authkey_template_and_number_without_plus() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .and(send_otp_query())
        .and(header("authkey", AUTHKEY))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({})))
        .respond_with(success("3461676b6a4d313233343536"))
        .expect(1)
        .mount(&server)
        .await;

    let request_id = client(&server).send_otp(&login_otp()).await;

    assert_eq!(request_id.ok().as_deref(), Some("3461676b6a4d313233343536"));
}

#[tokio::test]
async fn send_otp_returns_the_message_when_msg91_gives_no_request_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"type": "success", "message": "3461676b6a4d"})),
        )
        .mount(&server)
        .await;

    let request_id = client(&server).send_otp(&login_otp()).await;

    assert_eq!(request_id.ok().as_deref(), Some("3461676b6a4d"));
}

#[tokio::test]
async fn an_http_200_with_type_error_is_a_rejection_carrying_msg91s_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"type": "error", "message": "Mobile no. not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send_otp(&login_otp()).await;

    match result {
        Err(AdapterError::Rejected {
            provider,
            status,
            message,
        }) => {
            assert_eq!((provider, status), ("msg91", 200));
            assert_eq!(message, "Mobile no. not found");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn an_http_200_that_is_not_json_is_not_taken_for_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;

    let result = client(&server).send_otp(&login_otp()).await;

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
async fn a_400_is_a_rejection_with_its_status_and_message_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"type": "error", "message": "Invalid template id"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send_otp(&login_otp()).await;

    match result {
        Err(AdapterError::Rejected {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            assert_eq!(message, "Invalid template id");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_500_followed_by_success_succeeds_after_one_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .and(send_otp_query())
        .and(header("authkey", AUTHKEY))
        .respond_with(success("retried-id"))
        .expect(1)
        .mount(&server)
        .await;

    let request_id = client(&server).send_otp(&login_otp()).await;

    assert_eq!(request_id.ok().as_deref(), Some("retried-id"));
}

#[tokio::test]
async fn a_persistent_429_is_rate_limited_with_msg91s_retry_after_and_waits_at_most_max_delay() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "60"))
        .expect(3)
        .mount(&server)
        .await;
    let mut settings = settings(&server);
    settings.retry.max_delay = Duration::from_millis(50);
    let client = Msg91Client::new(settings).expect("test settings are valid");
    let started = Instant::now();

    let result = client.send_otp(&login_otp()).await;

    match result {
        Err(AdapterError::RateLimited {
            provider,
            retry_after,
        }) => {
            assert_eq!(provider, "msg91");
            assert_eq!(retry_after, Some(Duration::from_secs(60)));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_unavailable_without_the_code_in_the_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(success("too-late").set_delay(Duration::from_secs(2)))
        .expect(3)
        .mount(&server)
        .await;
    let started = Instant::now();

    let result = client(&server).send_otp(&login_otp()).await;

    match result {
        Err(AdapterError::Unavailable { provider, message }) => {
            assert_eq!(provider, "msg91");
            // reqwest puts the URL, and so the code, in its errors unless it is stripped.
            assert!(!message.contains(CODE), "message leaks the code: {message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_authkey_never_leaves_msg91() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/otp", elsewhere.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(success("followed"))
        .expect(0)
        .mount(&elsewhere)
        .await;

    let result = client(&server).send_otp(&login_otp()).await;

    assert!(
        matches!(result, Err(AdapterError::Rejected { status: 307, .. })),
        "got {result:?}"
    );
}

#[tokio::test]
async fn an_unreachable_msg91_is_unavailable() {
    let server = MockServer::start().await;
    let mut settings = settings(&server);
    settings.retry.max_retries = 0;
    settings.base_url = format!("http://{}/api/v5", closed_port_address());
    let client = Msg91Client::new(settings).expect("test settings are valid");

    let result = client.send_otp(&login_otp()).await;

    match result {
        Err(AdapterError::Unavailable { message, .. }) => {
            assert!(!message.contains(CODE), "message leaks the code: {message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// An address nothing listens on: a port the OS handed out and that was closed again.
/// (A dropped `MockServer` goes back to wiremock's pool and keeps listening.)
fn closed_port_address() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free local port");
    listener
        .local_addr()
        .expect("a bound listener has an address")
}

#[tokio::test]
async fn retry_by_voice_asks_msg91_for_a_voice_call_to_the_number() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v5/otp/retry"))
        .and(ExactQuery(vec![
            ("mobile", "919812345678"),
            ("retrytype", "voice"),
        ]))
        .and(header("authkey", AUTHKEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"type": "success", "message": "retry send successfully"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).retry_by_voice("+919812345678").await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn retry_by_voice_with_type_error_is_a_rejection() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v5/otp/retry"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"type": "error", "message": "OTP retry count maxed out"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).retry_by_voice("+919812345678").await;

    match result {
        Err(AdapterError::Rejected {
            status, message, ..
        }) => {
            assert_eq!(status, 200);
            assert_eq!(message, "OTP retry count maxed out");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn debug_output_of_settings_and_client_never_shows_the_authkey() {
    let server = MockServer::start().await;

    let settings_debug = format!("{:?}", settings(&server));
    let client_debug = format!("{:?}", client(&server));

    assert!(settings_debug.contains("authkey"), "{settings_debug}");
    assert!(!settings_debug.contains(AUTHKEY), "{settings_debug}");
    assert!(client_debug.contains("REDACTED"), "{client_debug}");
    assert!(!client_debug.contains(AUTHKEY), "{client_debug}");
}

#[tokio::test]
async fn logs_of_a_retried_send_never_contain_the_authkey_the_code_or_the_url() {
    let captured = common::CapturedLogs::start();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v5/otp"))
        .respond_with(success("logged-id"))
        .mount(&server)
        .await;

    let result = client(&server).send_otp(&login_otp()).await;

    assert!(result.is_ok(), "got {result:?}");
    let logs = captured.text();
    assert!(
        logs.contains("msg91.send_otp"),
        "the span was not logged: {logs}"
    );
    assert!(
        logs.contains("retrying"),
        "the retry was not logged: {logs}"
    );
    assert!(
        logs.contains("logged-id"),
        "the request id was not logged: {logs}"
    );
    for secret in [AUTHKEY, CODE, "/otp?"] {
        assert!(!logs.contains(secret), "logs contain {secret:?}: {logs}");
    }
}

#[test]
fn an_empty_authkey_is_refused_when_the_client_is_built() {
    let settings = Msg91Settings {
        base_url: "https://control.msg91.com/api/v5".to_owned(),
        authkey: SecretString::from(""),
        template_id: "tmpl".to_owned(),
        sender: String::new(),
        otp_expiry_minutes: 10,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    };

    let result = Msg91Client::new(settings);

    assert!(
        matches!(
            result,
            Err(AdapterError::Unauthorized { provider: "msg91" })
        ),
        "got {result:?}"
    );
}

#[test]
fn a_base_url_that_is_not_http_is_refused_when_the_client_is_built() {
    let settings = Msg91Settings {
        base_url: "control.msg91.com/api/v5".to_owned(),
        authkey: SecretString::from(AUTHKEY),
        template_id: "tmpl".to_owned(),
        sender: String::new(),
        otp_expiry_minutes: 10,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    };

    let result = Msg91Client::new(settings);

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
async fn the_fake_records_every_otp_it_sends_and_returns_distinct_ids() {
    let fake = FakeOtpSender::new();
    let second = OtpMessage {
        phone: "+14155550123".to_owned(),
        code: "000111".to_owned(),
        purpose: "signup".to_owned(),
    };

    let first_id = fake.send_otp(&login_otp()).await;
    let second_id = fake.send_otp(&second).await;

    assert_eq!(fake.sent(), vec![login_otp(), second]);
    assert!(first_id.is_ok() && second_id.is_ok());
    assert_ne!(first_id.ok(), second_id.ok());
}

#[tokio::test]
async fn the_fake_fails_the_next_call_when_told_then_works_again() {
    let fake = FakeOtpSender::new();
    fake.fail_next(AdapterError::Unavailable {
        provider: "msg91",
        message: "down for the test".to_owned(),
    });

    let failed = fake.send_otp(&login_otp()).await;
    let recovered = fake.send_otp(&login_otp()).await;

    assert!(
        matches!(failed, Err(AdapterError::Unavailable { .. })),
        "got {failed:?}"
    );
    assert!(recovered.is_ok(), "got {recovered:?}");
    assert_eq!(
        fake.sent(),
        vec![login_otp()],
        "only the delivered OTP is recorded"
    );
}

#[tokio::test]
async fn the_fake_records_voice_retries_for_numbers_it_sent_an_otp_to() {
    let fake = FakeOtpSender::new();
    fake.send_otp(&login_otp()).await.expect("the fake sends");

    let result = fake.retry_by_voice("+919812345678").await;

    assert!(result.is_ok(), "got {result:?}");
    assert_eq!(fake.voice_retries(), vec!["+919812345678".to_owned()]);
}

#[tokio::test]
async fn the_fake_rejects_a_voice_retry_for_a_number_it_never_sent_an_otp_to() {
    let fake = FakeOtpSender::new();

    let result = fake.retry_by_voice("+919812345678").await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Rejected {
                provider: "msg91",
                ..
            })
        ),
        "got {result:?}"
    );
    assert!(fake.voice_retries().is_empty());
}

#[tokio::test]
async fn the_fake_fails_a_voice_retry_when_told() {
    let fake = FakeOtpSender::new();
    fake.send_otp(&login_otp()).await.expect("the fake sends");
    fake.fail_next(AdapterError::RateLimited {
        provider: "msg91",
        retry_after: None,
    });

    let result = fake.retry_by_voice("+919812345678").await;

    assert!(
        matches!(result, Err(AdapterError::RateLimited { .. })),
        "got {result:?}"
    );
    assert!(fake.voice_retries().is_empty());
}

fn order_sms() -> FlowSms {
    FlowSms {
        phone: "+919812345678".to_owned(),
        flow_id: "flow-order-confirmation".to_owned(),
        variables: [
            ("order_id".to_owned(), "6650c0ffee0000000000abcd".to_owned()),
            ("total".to_owned(), "₹499.00".to_owned()),
        ]
        .into(),
    }
}

#[tokio::test]
async fn send_flow_posts_the_flow_sender_and_one_recipient_with_its_variables() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/flow/"))
        .and(header("authkey", AUTHKEY))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "flow_id": "flow-order-confirmation",
            "sender": "BAZAAR",
            "recipients": [{
                "mobiles": "919812345678",
                "order_id": "6650c0ffee0000000000abcd",
                "total": "₹499.00",
            }],
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"type": "success", "message": "3763646c3058313530393532"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let message_id = client(&server).send_flow(&order_sms()).await;

    assert_eq!(message_id.ok().as_deref(), Some("3763646c3058313530393532"));
}

#[tokio::test]
async fn send_flow_leaves_the_sender_to_the_flow_when_none_is_configured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/flow/"))
        .and(body_json(json!({
            "flow_id": "flow-order-confirmation",
            "recipients": [{
                "mobiles": "919812345678",
                "order_id": "6650c0ffee0000000000abcd",
                "total": "₹499.00",
            }],
        })))
        .respond_with(success("flow-id"))
        .expect(1)
        .mount(&server)
        .await;
    let mut settings = settings(&server);
    settings.sender = String::new();
    let client = Msg91Client::new(settings).expect("test settings are valid");

    let message_id = client.send_flow(&order_sms()).await;

    assert!(message_id.is_ok(), "got {message_id:?}");
}

#[tokio::test]
async fn a_flow_variable_named_mobiles_cannot_redirect_the_sms() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/flow/"))
        .and(body_json(json!({
            "flow_id": "flow-order-confirmation",
            "sender": "BAZAAR",
            "recipients": [{ "mobiles": "919812345678" }],
        })))
        .respond_with(success("flow-id"))
        .expect(1)
        .mount(&server)
        .await;
    let sms = FlowSms {
        variables: [("mobiles".to_owned(), "919999999999".to_owned())].into(),
        ..order_sms()
    };

    let result = client(&server).send_flow(&sms).await;

    assert!(result.is_ok(), "got {result:?}");
}

#[tokio::test]
async fn a_flow_answered_with_http_200_and_type_error_is_a_rejection() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/flow/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"type": "error", "message": "Flow ID is invalid"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send_flow(&order_sms()).await;

    match result {
        Err(AdapterError::Rejected {
            provider,
            status,
            message,
        }) => {
            assert_eq!((provider, status), ("msg91", 200));
            assert_eq!(message, "Flow ID is invalid");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_flow_answered_with_a_200_that_is_not_json_is_not_taken_for_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/flow/"))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
        .mount(&server)
        .await;

    let result = client(&server).send_flow(&order_sms()).await;

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
async fn a_flow_refused_with_401_means_our_authkey_is_wrong() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/flow/"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send_flow(&order_sms()).await;

    assert!(
        matches!(
            result,
            Err(AdapterError::Unauthorized { provider: "msg91" })
        ),
        "got {result:?}"
    );
}

#[tokio::test]
async fn a_flow_that_meets_a_500_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/flow/"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v5/flow/"))
        .respond_with(success("after-retry"))
        .expect(1)
        .mount(&server)
        .await;

    let result = client(&server).send_flow(&order_sms()).await;

    assert_eq!(result.ok().as_deref(), Some("after-retry"));
}

#[tokio::test]
async fn logs_of_a_flow_sms_never_contain_the_authkey_the_number_or_the_variables() {
    let captured = common::CapturedLogs::start();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/flow/"))
        .respond_with(success("logged-flow-id"))
        .mount(&server)
        .await;

    let result = client(&server).send_flow(&order_sms()).await;

    assert!(result.is_ok(), "got {result:?}");
    let logs = captured.text();
    assert!(logs.contains("msg91.send_flow"), "{logs}");
    assert!(logs.contains("logged-flow-id"), "{logs}");
    for secret in [AUTHKEY, "9812345678", "6650c0ffee0000000000abcd"] {
        assert!(!logs.contains(secret), "logs contain {secret:?}: {logs}");
    }
}

#[tokio::test]
async fn the_fake_records_flow_sms_and_fails_as_many_calls_as_it_was_told_to() {
    let fake = FakeOtpSender::new();
    for _ in 0..2 {
        fake.fail_next(AdapterError::Unavailable {
            provider: "msg91",
            message: "down for the test".to_owned(),
        });
    }

    let first = fake.send_flow(&order_sms()).await;
    let second = fake.send_flow(&order_sms()).await;
    let third = fake.send_flow(&order_sms()).await;

    assert!(first.is_err() && second.is_err(), "{first:?} {second:?}");
    assert_eq!(third.ok().as_deref(), Some("fake-flow-1"));
    assert_eq!(fake.sent_flows(), vec![order_sms()]);
    assert!(fake.sent().is_empty(), "flows are not OTPs");
}

#[tokio::test]
async fn the_fake_rejects_a_flow_sms_without_a_flow_id_like_msg91() {
    let fake = FakeOtpSender::new();
    let sms = FlowSms {
        flow_id: " ".to_owned(),
        ..order_sms()
    };

    let result = fake.send_flow(&sms).await;

    assert!(
        matches!(result, Err(AdapterError::Rejected { status: 200, .. })),
        "got {result:?}"
    );
    assert!(fake.sent_flows().is_empty());
}

transport_contract! {
    provider: "msg91",
    stub: Mock::given(method("POST")).and(path("/api/v5/otp")),
    success: success("retried-id"),
    refused_credentials: ResponseTemplate::new(401)
        .set_body_json(json!({"type": "error", "message": "AuthenticationFailure"})),
    call: |server| client(&server).send_otp(&login_otp()).await,
}
