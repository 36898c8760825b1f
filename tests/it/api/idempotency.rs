//! `Idempotency-Key` on `POST /api/v1/auth/otp/send`, the first operation that
//! honours it: replays, a key reused for another request, a duplicate while the
//! first is running, failures that are not kept, and requests without a key.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use serde_json::{json, Value};
use tokio::sync::{oneshot, Notify};

use super::test_app;
use crate::kit::{problem, product_json, TestApp, ADMIN_PHONE};

const OTP_SEND: &str = "/api/v1/auth/otp/send";

/// A login code for the admin, whose phone is registered: it is really sent.
fn admin_login_code() -> Value {
    json!({"phone": ADMIN_PHONE, "purpose": "login"})
}

async fn send_otp(
    app: &TestApp,
    client: &reqwest::Client,
    key: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = client.post(app.url(OTP_SEND)).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

fn replayed(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

/// How many codes the fake SMS provider has sent to `phone`.
async fn codes_sent(app: &TestApp, phone: &str) -> usize {
    let messages: Value = app
        .anonymous
        .get(app.url("/api/v1/dev/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel"] == "sms" && m["to"] == phone)
        .count()
}

#[tokio::test]
async fn a_repeated_request_is_answered_once_then_replayed() {
    let app = test_app().spawn().await;
    let first = send_otp(&app, &app.anonymous, Some("otp-1"), &admin_login_code()).await;
    assert_eq!(first.status(), 202);
    assert!(!replayed(&first));
    let first_body = first.bytes().await.unwrap();

    // Run again, this would meet the phone's 30-second cooldown (429).
    let again = send_otp(&app, &app.anonymous, Some("otp-1"), &admin_login_code()).await;
    assert_eq!(again.status(), 202);
    assert!(replayed(&again));
    assert_eq!(again.bytes().await.unwrap(), first_body);
    assert_eq!(codes_sent(&app, ADMIN_PHONE).await, 1);
}

/// The ambiguous failure: the code went out but the kept answer never was
/// stored (a timeout after the send, or a crash). The retry, even after the
/// phone's cooldown, sends no second code.
#[tokio::test]
async fn a_retry_whose_answer_was_lost_sends_no_second_code() {
    let app = test_app().spawn().await;
    let first = send_otp(&app, &app.anonymous, Some("otp-lost"), &admin_login_code()).await;
    assert_eq!(first.status(), 202);
    app.lose_kept_answer(None, "sendOtp", "otp-lost").await;
    // Past the cooldown, so only the key can stop a second code.
    app.advance(Duration::from_secs(31)).await;

    let retry = send_otp(&app, &app.anonymous, Some("otp-lost"), &admin_login_code()).await;
    assert_eq!(retry.status(), 202);
    assert!(replayed(&retry));
    assert_eq!(codes_sent(&app, ADMIN_PHONE).await, 1, "one code");

    // The same key on another request is refused; a new key sends again.
    app.lose_kept_answer(None, "sendOtp", "otp-lost").await;
    let other = json!({"phone": ADMIN_PHONE, "purpose": "verify_phone"});
    let reused = send_otp(&app, &app.anonymous, Some("otp-lost"), &other).await;
    assert_eq!(reused.status(), 422);
    assert_eq!(problem(reused).await["code"], "idempotency_key_reused");
    let fresh = send_otp(&app, &app.anonymous, Some("otp-new"), &admin_login_code()).await;
    assert_eq!(fresh.status(), 202);
    assert!(!replayed(&fresh));
    assert_eq!(codes_sent(&app, ADMIN_PHONE).await, 2);
}

/// A request that sent nothing (refused by the cooldown) leaves its key free:
/// its retry, once the cooldown is over, sends.
#[tokio::test]
async fn a_send_refused_before_anything_went_out_can_be_retried_with_its_key() {
    let app = test_app().spawn().await;
    let first = send_otp(&app, &app.anonymous, Some("otp-a"), &admin_login_code()).await;
    assert_eq!(first.status(), 202);
    let refused = send_otp(&app, &app.anonymous, Some("otp-b"), &admin_login_code()).await;
    assert_eq!(refused.status(), 429);
    app.advance(Duration::from_secs(31)).await;

    let retry = send_otp(&app, &app.anonymous, Some("otp-b"), &admin_login_code()).await;
    assert_eq!(retry.status(), 202);
    assert!(!replayed(&retry));
    assert_eq!(codes_sent(&app, ADMIN_PHONE).await, 2);
}

#[tokio::test]
async fn a_key_reused_for_a_different_request_is_refused_with_422() {
    let app = test_app().spawn().await;
    let first = send_otp(&app, &app.anonymous, Some("otp-1"), &admin_login_code()).await;
    assert_eq!(first.status(), 202);

    let other_phone = json!({"phone": "+919812399999", "purpose": "login"});
    let reused = send_otp(&app, &app.anonymous, Some("otp-1"), &other_phone).await;
    assert_eq!(reused.status(), 422);
    let body = problem(reused).await;
    assert_eq!(
        (body["code"].as_str(), body["retryable"].as_bool()),
        (Some("idempotency_key_reused"), Some(false))
    );
    assert_eq!(codes_sent(&app, ADMIN_PHONE).await, 1);
}

#[tokio::test]
async fn a_refused_request_is_replayed_exactly_as_it_was_answered() {
    let app = test_app().spawn().await;
    let bad_phone = json!({"phone": "12", "purpose": "login"});
    let first = send_otp(&app, &app.anonymous, Some("otp-bad"), &bad_phone).await;
    assert_eq!(first.status(), 422);
    let first_body = first.text().await.unwrap();

    let again = send_otp(&app, &app.anonymous, Some("otp-bad"), &bad_phone).await;
    assert_eq!(again.status(), 422);
    assert!(replayed(&again));
    assert_eq!(
        again.headers()["content-type"],
        "application/problem+json",
        "the kept answer keeps its type"
    );
    let again_id = again.headers()["x-request-id"].to_str().unwrap().to_owned();
    let again_body = again.text().await.unwrap();
    // Byte for byte, so the problem names the request that was answered.
    assert_eq!(again_body, first_body);
    let problem: Value = serde_json::from_str(&again_body).unwrap();
    assert_eq!(problem["code"], "validation_failed");
    assert_ne!(problem["request_id"], again_id.as_str());
}

#[tokio::test]
async fn an_invalid_key_is_refused_with_400_before_anything_runs() {
    let app = test_app().spawn().await;
    let too_long = "k".repeat(256);
    for key in ["", too_long.as_str(), "tab\tinside"] {
        let response = send_otp(&app, &app.anonymous, Some(key), &admin_login_code()).await;
        assert_eq!(response.status(), 400, "key {key:?}");
        let body = problem(response).await;
        assert_eq!(body["code"], "invalid_parameter", "{body}");
        assert_eq!(body["errors"][0]["field"], "Idempotency-Key", "{body}");
    }
    assert_eq!(codes_sent(&app, ADMIN_PHONE).await, 0);
}

#[tokio::test]
async fn callers_never_share_a_key() {
    let app = test_app().spawn().await;
    // The signed-in admin and an anonymous caller pick the same key for
    // different requests: each is its own first use.
    let admin = send_otp(&app, &app.client, Some("shared"), &admin_login_code()).await;
    let stranger = json!({"phone": "+919812399999", "purpose": "login"});
    let anonymous = send_otp(&app, &app.anonymous, Some("shared"), &stranger).await;
    for response in [&admin, &anonymous] {
        assert_eq!(response.status(), 202);
        assert!(!replayed(response));
    }
}

#[tokio::test]
async fn without_a_key_every_request_runs() {
    let app = test_app().spawn().await;
    let first = send_otp(&app, &app.anonymous, None, &admin_login_code()).await;
    assert_eq!(first.status(), 202);
    let again = send_otp(&app, &app.anonymous, None, &admin_login_code()).await;
    assert_eq!(again.status(), 429, "the second ran, into the cooldown");
    assert!(!replayed(&again));
}

#[tokio::test]
async fn operations_that_are_not_listed_ignore_the_key() {
    let app = test_app().spawn().await;
    for sku in ["IDEM-1", "IDEM-2"] {
        let response = app
            .client
            .post(app.url("/api/v1/products"))
            .header("Idempotency-Key", "same-key")
            .json(&product_json(sku))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        assert!(!replayed(&response));
    }
}

/// A stand-in for MSG91's OTP API on a local port: counts the codes it is asked
/// to send, and can refuse the next one or hold it until released.
struct StubSms {
    base_url: String,
    state: Arc<StubState>,
}

#[derive(Default)]
struct StubState {
    received: AtomicUsize,
    plans: Mutex<VecDeque<Plan>>,
    arrived: Notify,
}

enum Plan {
    /// MSG91 is down: HTTP 503. (A refusal of one number is answered as sent, since
    /// it would tell registered numbers from unknown ones; an outage is reported.)
    Down,
    /// Answer only once the sender is used (or dropped).
    Hold(oneshot::Receiver<()>),
}

impl StubSms {
    async fn start() -> Self {
        let state = Arc::new(StubState::default());
        let shared = state.clone();
        let otp = poem::endpoint::make(move |_request| {
            let state = shared.clone();
            async move {
                state.received.fetch_add(1, Ordering::SeqCst);
                let plan = state.plans.lock().unwrap().pop_front();
                state.arrived.notify_one();
                let reply = match plan {
                    Some(Plan::Down) => {
                        return poem::Response::builder()
                            .status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
                            .finish();
                    }
                    Some(Plan::Hold(release)) => {
                        let _ = release.await;
                        json!({"type": "success", "request_id": "stub"})
                    }
                    None => json!({"type": "success", "request_id": "stub"}),
                };
                poem::IntoResponse::into_response(poem::web::Json(reply))
            }
        });
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let routes = poem::Route::new().at("/otp", poem::post(otp));
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(routes));
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    /// The app on the set's backends, sending its SMS here.
    async fn spawn_app(&self) -> TestApp {
        test_app()
            .env(&[
                ("BAZAAR_MSG91_AUTHKEY", "stub-authkey"),
                ("BAZAAR_MSG91_TEMPLATE_ID", "stub-template"),
                ("BAZAAR_MSG91_BASE_URL", &self.base_url),
                // A real MSG91 key needs real notice flows too; these tests send none.
                (
                    "BAZAAR_MSG91_FLOW_ORDER_CONFIRMATION",
                    "stub-flow-confirmation",
                ),
                ("BAZAAR_MSG91_FLOW_PAYMENT_RECEIPT", "stub-flow-receipt"),
                ("BAZAAR_MSG91_FLOW_REFUND", "stub-flow-refund"),
                ("BAZAAR_MSG91_FLOW_CANCELLATION", "stub-flow-cancellation"),
                ("BAZAAR_MSG91_FLOW_ORDER_PACKED", "stub-flow-order-packed"),
                ("BAZAAR_MSG91_FLOW_ORDER_SHIPPED", "stub-flow-order-shipped"),
                (
                    "BAZAAR_MSG91_FLOW_ORDER_DELIVERED",
                    "stub-flow-order-delivered",
                ),
                (
                    "BAZAAR_MSG91_FLOW_RETURN_REQUESTED",
                    "stub-flow-return-requested",
                ),
                (
                    "BAZAAR_MSG91_FLOW_RETURN_RECEIVED",
                    "stub-flow-return-received",
                ),
            ])
            .spawn()
            .await
    }

    fn plan(&self, plan: Plan) {
        self.state.plans.lock().unwrap().push_back(plan);
    }

    /// Waits until a request has reached the stub.
    async fn arrived(&self) {
        self.state.arrived.notified().await;
    }

    fn received(&self) -> usize {
        self.state.received.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_duplicate_while_the_first_runs_answers_409_and_later_the_first_answer() {
    let sms = StubSms::start().await;
    let app = sms.spawn_app().await;
    let (release, held) = oneshot::channel();
    sms.plan(Plan::Hold(held));
    let first = tokio::spawn({
        let request = app
            .anonymous
            .post(app.url(OTP_SEND))
            .header("Idempotency-Key", "otp-1")
            .json(&admin_login_code());
        async move { request.send().await.unwrap() }
    });
    sms.arrived().await;

    // The first request is inside the operation, waiting on the provider.
    let duplicate = send_otp(&app, &app.anonymous, Some("otp-1"), &admin_login_code()).await;
    assert_eq!(duplicate.status(), 409);
    assert_eq!(duplicate.headers()["retry-after"], "1");
    let body = problem(duplicate).await;
    assert_eq!(
        (body["code"].as_str(), body["retryable"].as_bool()),
        (Some("idempotency_in_flight"), Some(true))
    );

    release.send(()).unwrap();
    let first = first.await.unwrap();
    assert_eq!(first.status(), 202);
    assert!(!replayed(&first));
    let later = send_otp(&app, &app.anonymous, Some("otp-1"), &admin_login_code()).await;
    assert_eq!(later.status(), 202);
    assert!(replayed(&later));
    assert_eq!(sms.received(), 1, "one code, however many requests");
}

#[tokio::test]
async fn a_failure_worth_retrying_is_not_kept_so_the_retry_runs() {
    let sms = StubSms::start().await;
    let app = sms.spawn_app().await;
    // The first try and the adapter's two retries.
    for _ in 0..3 {
        sms.plan(Plan::Down);
    }

    let failed = send_otp(&app, &app.anonymous, Some("otp-1"), &admin_login_code()).await;
    assert_eq!(failed.status(), 503);
    assert_eq!(problem(failed).await["code"], "delivery_failed");

    // The failed attempt started the phone's cooldown (30 s by default).
    let cooldown = Duration::from_secs(30);
    let early = send_otp(&app, &app.anonymous, Some("otp-2"), &admin_login_code()).await;
    assert_eq!(early.status(), 429, "within the cooldown");
    app.advance(cooldown).await;
    let retry = send_otp(&app, &app.anonymous, Some("otp-1"), &admin_login_code()).await;
    assert_eq!(retry.status(), 202);
    assert!(!replayed(&retry), "the retry ran the operation");
    let again = send_otp(&app, &app.anonymous, Some("otp-1"), &admin_login_code()).await;
    assert_eq!(again.status(), 202);
    assert!(replayed(&again));
    assert_eq!(
        sms.received(),
        4,
        "three tries at the code that failed, and the retry's"
    );
}
