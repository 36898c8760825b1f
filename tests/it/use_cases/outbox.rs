//! The outbox worker over real storage and the fake providers: retries with backoff, dead
//! letters, replicas that never deliver a message twice, shutdown, and the worker the
//! application starts beside its server.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use bazaar::app::notify::Notifier;
use bazaar::app::outbox::{Deliver, OutboxWorker};
use bazaar::config::OutboxSettings;
use bazaar::domain::outbox::{
    dedupe_key, Channel, NoticeKind, OutboxId, OutboxMessage, OutboxState, Recipient, RetrySchedule,
};
use bazaar::domain::outbox_query::OutboxQuery;
use bazaar::domain::user::{Email, Phone};
use bazaar::store::memory::MemoryOutbox;
use bazaar::store::OutboxRepository;
use bazaar_adapters::error::AdapterError;
use bazaar_adapters::msg91::FakeOtpSender;
use bazaar_adapters::msg91_whatsapp::FakeWhatsAppSender;
use bazaar_adapters::sendgrid::FakeMailer;
use chrono::Utc;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch, Semaphore};

use crate::kit::{mongo_outbox, settings, TestApp};

fn order_data(order: &str) -> serde_json::Map<String, Value> {
    json!({ "order_id": order, "total_paise": 49_900 })
        .as_object()
        .cloned()
        .unwrap()
}

fn email_notice(order: &str) -> OutboxMessage {
    OutboxMessage::new(
        NoticeKind::OrderConfirmation,
        Recipient::Email(Email::parse("to", "asha@example.in").unwrap()),
        order_data(order),
        dedupe_key(order, NoticeKind::OrderConfirmation, Channel::Email, None),
        Utc::now(),
    )
}

fn sms_notice(order: &str) -> OutboxMessage {
    OutboxMessage::new(
        NoticeKind::PaymentReceipt,
        Recipient::Sms(Phone::parse("to", "+919812345678").unwrap()),
        order_data(order),
        dedupe_key(order, NoticeKind::PaymentReceipt, Channel::Sms, None),
        Utc::now(),
    )
}

fn outage(provider: &'static str) -> AdapterError {
    AdapterError::Unavailable {
        provider,
        message: "HTTP 503 Service Unavailable".to_owned(),
    }
}

/// The notifier the application would build, on fakes the test can make fail.
struct Providers {
    sms: Arc<FakeOtpSender>,
    mail: Arc<FakeMailer>,
    notifier: Arc<Notifier>,
}

fn providers() -> Providers {
    let sms = Arc::new(FakeOtpSender::new());
    let mail = Arc::new(FakeMailer::new());
    let notifier = Arc::new(Notifier::with_fakes(
        &settings(&[]),
        sms.clone(),
        mail.clone(),
    ));
    Providers {
        sms,
        mail,
        notifier,
    }
}

fn worker_settings(max_attempts: u32) -> OutboxSettings {
    OutboxSettings {
        poll_interval: StdDuration::from_millis(10),
        lease: StdDuration::from_secs(60),
        batch_size: 3,
        schedule: RetrySchedule {
            base: StdDuration::from_secs(10),
            cap: StdDuration::from_secs(60),
            max_attempts,
        },
        cap_per_hour: 0,
    }
}

async fn stored(repo: &dyn OutboxRepository, id: &OutboxId) -> OutboxMessage {
    repo.get(id).await.unwrap().expect("the message is stored")
}

#[tokio::test]
async fn a_notice_whose_provider_fails_twice_is_delivered_on_the_third_try_exactly_once() {
    let repo: Arc<dyn OutboxRepository> = Arc::new(mongo_outbox().await);
    let Providers {
        sms,
        mail,
        notifier,
    } = providers();
    let email = email_notice("order-1");
    let text = sms_notice("order-1");
    repo.enqueue(&[email.clone(), text.clone()]).await.unwrap();
    for _ in 0..2 {
        mail.fail_next(outage("sendgrid"));
        sms.fail_next(outage("msg91"));
    }
    let worker = OutboxWorker::new(repo.clone(), notifier, worker_settings(8));
    let mut now = Utc::now();

    for attempt in 1..=2 {
        assert_eq!(worker.run_once(now).await.unwrap(), 2, "attempt {attempt}");
        let failed = stored(&*repo, &email.id).await;
        assert_eq!(
            (failed.state, failed.attempts),
            (OutboxState::Pending, attempt)
        );
        assert_eq!(
            failed.last_error.as_deref(),
            Some("sendgrid is unavailable: HTTP 503 Service Unavailable")
        );
        assert!(failed.lease.is_none());
        assert_eq!(
            worker.run_once(now).await.unwrap(),
            0,
            "nothing is due before its backoff"
        );
        now = failed
            .next_attempt_at
            .max(stored(&*repo, &text.id).await.next_attempt_at);
    }
    assert_eq!(worker.run_once(now).await.unwrap(), 2);

    for id in [&email.id, &text.id] {
        let delivered = stored(&*repo, id).await;
        assert_eq!(
            (delivered.state, delivered.attempts),
            (OutboxState::Delivered, 3)
        );
        assert!(delivered.delivered_at.is_some() && delivered.lease.is_none());
    }
    assert_eq!(
        stored(&*repo, &email.id).await.provider_id.as_deref(),
        Some("fake-message-1")
    );
    let emails = mail.sent();
    assert_eq!(emails.len(), 1, "sent once: {emails:?}");
    assert_eq!(emails[0].to_email, "asha@example.in");
    assert_eq!(emails[0].template_id, "d-order-confirmation");
    assert_eq!(emails[0].data, Value::Object(order_data("order-1")));
    let flows = sms.sent_flows();
    assert_eq!(flows.len(), 1, "sent once: {flows:?}");
    assert_eq!(flows[0].phone, "+919812345678");
    assert_eq!(flows[0].flow_id, "dev-payment-receipt");
    assert_eq!(flows[0].variables["total_paise"], "49900");
    let far_future = now + chrono::Duration::days(365);
    assert_eq!(worker.run_once(far_future).await.unwrap(), 0);
}

/// An order's notice goes out as one message per channel, each delivered and retried on its
/// own: when WhatsApp fails and SMS does not, only WhatsApp is tried again, and the SMS is
/// never sent twice.
#[tokio::test]
async fn a_whatsapp_failure_is_retried_alone_without_sending_the_sms_again() {
    let repo: Arc<dyn OutboxRepository> = Arc::new(mongo_outbox().await);
    let Providers { sms, notifier, .. } = providers();
    let whatsapp = Arc::new(FakeWhatsAppSender::new());
    let notifier = Arc::new(
        Arc::try_unwrap(notifier)
            .unwrap_or_else(|_| unreachable!("the notifier is not shared yet"))
            .with_whatsapp(whatsapp.clone()),
    );
    let mut data = order_data("order-wa");
    data.insert("name".into(), "Asha".into());
    data.insert("total".into(), 49_900.into());
    data.insert("language".into(), "hi".into());
    let text = OutboxMessage {
        data: data.clone(),
        ..sms_notice("order-wa")
    };
    let on_whatsapp = OutboxMessage::new(
        NoticeKind::PaymentReceipt,
        Recipient::Whatsapp(Phone::parse("to", "+919812345678").unwrap()),
        data,
        dedupe_key(
            "order-wa",
            NoticeKind::PaymentReceipt,
            Channel::Whatsapp,
            None,
        ),
        Utc::now(),
    );
    repo.enqueue(&[text.clone(), on_whatsapp.clone()])
        .await
        .unwrap();
    whatsapp.fail_next(outage("msg91"));
    let worker = OutboxWorker::new(repo.clone(), notifier, worker_settings(8));
    let now = Utc::now();

    assert_eq!(worker.run_once(now).await.unwrap(), 2);
    assert_eq!(stored(&*repo, &text.id).await.state, OutboxState::Delivered);
    let failed = stored(&*repo, &on_whatsapp.id).await;
    assert_eq!((failed.state, failed.attempts), (OutboxState::Pending, 1));
    assert_eq!(
        failed.last_error.as_deref(),
        Some("msg91 is unavailable: HTTP 503 Service Unavailable")
    );

    assert_eq!(
        worker.run_once(failed.next_attempt_at).await.unwrap(),
        1,
        "only the WhatsApp message is due again"
    );
    let delivered = stored(&*repo, &on_whatsapp.id).await;
    assert_eq!(
        (delivered.state, delivered.attempts),
        (OutboxState::Delivered, 2)
    );
    assert_eq!(delivered.provider_id.as_deref(), Some("fake-whatsapp-1"));
    assert_eq!(sms.sent_flows().len(), 1, "the SMS went out once");
    let sent = whatsapp.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].template.as_str(), sent[0].language.as_str()),
        ("bazaar_payment_receipt", "hi")
    );
    assert_eq!(sent[0].body, ["Asha", "order-wa", "₹499.00"]);
}

/// Settings for a real MSG91 at `msg91` (a wiremock server), flows and WhatsApp included.
fn real_msg91_settings(msg91: &str, whatsapp_number: &str) -> bazaar::config::Settings {
    settings(&[
        ("BAZAAR_MSG91_AUTHKEY", "wiring-authkey"),
        ("BAZAAR_MSG91_TEMPLATE_ID", "otp-template"),
        ("BAZAAR_MSG91_BASE_URL", msg91),
        ("BAZAAR_MSG91_FLOW_ORDER_CONFIRMATION", "f1"),
        ("BAZAAR_MSG91_FLOW_PAYMENT_RECEIPT", "en=f2,hi=f2-hi"),
        ("BAZAAR_MSG91_FLOW_REFUND", "f3"),
        ("BAZAAR_MSG91_FLOW_CANCELLATION", "f4"),
        ("BAZAAR_MSG91_FLOW_ORDER_PACKED", "f4"),
        ("BAZAAR_MSG91_FLOW_ORDER_SHIPPED", "f4"),
        ("BAZAAR_MSG91_FLOW_ORDER_DELIVERED", "f4"),
        ("BAZAAR_MSG91_FLOW_RETURN_REQUESTED", "f4"),
        ("BAZAAR_MSG91_FLOW_RETURN_RECEIVED", "f4"),
        ("BAZAAR_MSG91_WHATSAPP_NUMBER", whatsapp_number),
        (
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_PAYMENT_RECEIPT",
            "en=receipt:en_US,hi=receipt_hi",
        ),
        (
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_ORDER_CONFIRMATION",
            "confirmed",
        ),
        ("BAZAAR_MSG91_WHATSAPP_TEMPLATE_REFUND", "refunded"),
        ("BAZAAR_MSG91_WHATSAPP_TEMPLATE_CANCELLATION", "cancelled"),
        (
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_ORDER_PACKED",
            "order_packed",
        ),
        (
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_ORDER_SHIPPED",
            "order_shipped",
        ),
        (
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_ORDER_DELIVERED",
            "order_delivered",
        ),
        (
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_RETURN_REQUESTED",
            "return_requested",
        ),
        (
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_RETURN_RECEIVED",
            "return_received",
        ),
    ])
}

/// The notifier production builds: with MSG91's key and a WhatsApp number, WhatsApp notices
/// go to MSG91's WhatsApp endpoint, from the integrated number, in the template configured
/// for the customer's language (the Hindi receipt here) and the English one otherwise.
#[tokio::test]
async fn with_a_real_msg91_and_a_whatsapp_number_notices_reach_msg91s_whatsapp_api() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let msg91 = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v5/whatsapp/whatsapp-outbound-message/bulk/"))
        .and(header("authkey", "wiring-authkey"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "success", "hasError": false, "request_id": "wa-1",
        })))
        .expect(2)
        .mount(&msg91)
        .await;
    let settings = real_msg91_settings(&format!("{}/api/v5", msg91.uri()), "+918000000001");
    let breakers = bazaar::breaker::Breakers::new(
        settings.breaker,
        bazaar::domain::time::SystemClock::shared(),
    );
    let notifier = Notifier::from_settings(&settings, &breakers).unwrap();
    assert!(notifier.sends_whatsapp());
    let to = Recipient::Whatsapp(Phone::parse("to", "+919812345678").unwrap());
    let receipt = |language: &str| {
        let mut data = order_data("order-w");
        data.insert("language".into(), language.into());
        OutboxMessage::new(
            NoticeKind::PaymentReceipt,
            to.clone(),
            data,
            format!("order-w:{language}"),
            Utc::now(),
        )
    };

    assert_eq!(notifier.deliver(&receipt("hi")).await.unwrap(), "wa-1");
    assert_eq!(notifier.deliver(&receipt("ta")).await.unwrap(), "wa-1");

    let sent: Vec<(Value, Value, Value)> = msg91
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let template = &body["payload"]["template"];
            (
                body["integrated_number"].clone(),
                template["name"].clone(),
                template["language"]["code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            (json!("918000000001"), json!("receipt_hi"), json!("hi")),
            (json!("918000000001"), json!("receipt"), json!("en_US")),
        ]
    );
}

/// With MSG91's key but no WhatsApp number, WhatsApp is not offered: the application writes
/// no WhatsApp notices (`Orders::with_whatsapp_notices`).
#[tokio::test]
async fn with_a_real_msg91_and_no_whatsapp_number_whatsapp_is_not_offered() {
    let settings = settings(&[
        ("BAZAAR_MSG91_AUTHKEY", "wiring-authkey"),
        ("BAZAAR_MSG91_TEMPLATE_ID", "otp-template"),
        ("BAZAAR_MSG91_FLOW_ORDER_CONFIRMATION", "f1"),
        ("BAZAAR_MSG91_FLOW_PAYMENT_RECEIPT", "f2"),
        ("BAZAAR_MSG91_FLOW_REFUND", "f3"),
        ("BAZAAR_MSG91_FLOW_CANCELLATION", "f4"),
        ("BAZAAR_MSG91_FLOW_ORDER_PACKED", "f4"),
        ("BAZAAR_MSG91_FLOW_ORDER_SHIPPED", "f4"),
        ("BAZAAR_MSG91_FLOW_ORDER_DELIVERED", "f4"),
        ("BAZAAR_MSG91_FLOW_RETURN_REQUESTED", "f4"),
        ("BAZAAR_MSG91_FLOW_RETURN_RECEIVED", "f4"),
    ]);
    let breakers = bazaar::breaker::Breakers::new(
        settings.breaker,
        bazaar::domain::time::SystemClock::shared(),
    );
    let notifier = Notifier::from_settings(&settings, &breakers).unwrap();
    assert!(!notifier.sends_whatsapp());
    let stray = OutboxMessage::new(
        NoticeKind::Refund,
        Recipient::Whatsapp(Phone::parse("to", "+919812345678").unwrap()),
        order_data("order-x"),
        "order-x:refund:whatsapp".into(),
        Utc::now(),
    );
    let error = notifier.deliver(&stray).await.unwrap_err().to_string();
    assert!(error.contains("WhatsApp is not configured"), "{error}");
}

#[tokio::test]
async fn a_notice_that_fails_every_attempt_is_dead_until_an_admin_retries_it() {
    let repo: Arc<dyn OutboxRepository> = Arc::new(mongo_outbox().await);
    let Providers { mail, notifier, .. } = providers();
    let message = email_notice("order-2");
    repo.enqueue(std::slice::from_ref(&message)).await.unwrap();
    for _ in 0..3 {
        mail.fail_next(AdapterError::Rejected {
            provider: "sendgrid",
            status: 400,
            message: "template_id: not found".to_owned(),
        });
    }
    let worker = OutboxWorker::new(repo.clone(), notifier, worker_settings(3));
    let mut now = Utc::now();

    for _ in 0..3 {
        assert_eq!(worker.run_once(now).await.unwrap(), 1);
        now = stored(&*repo, &message.id).await.next_attempt_at;
    }

    let dead = stored(&*repo, &message.id).await;
    assert_eq!((dead.state, dead.attempts), (OutboxState::Dead, 3));
    assert_eq!(
        dead.last_error.as_deref(),
        Some("sendgrid rejected the request: template_id: not found")
    );
    assert!(mail.sent().is_empty());
    let much_later = now + chrono::Duration::days(365);
    assert_eq!(worker.run_once(much_later).await.unwrap(), 0);

    let admin = bazaar::app::outbox::Outbox::new(repo.clone());
    let revived = admin.retry(message.id.as_str()).await.unwrap();
    assert_eq!((revived.state, revived.attempts), (OutboxState::Pending, 0));
    assert_eq!(worker.run_once(much_later).await.unwrap(), 1);
    assert_eq!(
        stored(&*repo, &message.id).await.state,
        OutboxState::Delivered
    );
    assert_eq!(mail.sent().len(), 1);
}

/// Waits until `done` holds, checking every few milliseconds, or fails after `limit`.
async fn eventually<F, Fut>(limit: StdDuration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

async fn delivered_count(repo: &dyn OutboxRepository) -> usize {
    repo.list(&OutboxQuery::first(Some(OutboxState::Delivered), 100))
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_deliver_each_notice_exactly_once() {
    let repo: Arc<dyn OutboxRepository> = Arc::new(mongo_outbox().await);
    let Providers {
        sms,
        mail,
        notifier,
    } = providers();
    let messages: Vec<OutboxMessage> = (0..30)
        .map(|n| {
            let order = format!("order-{n}");
            if n % 2 == 0 {
                email_notice(&order)
            } else {
                sms_notice(&order)
            }
        })
        .collect();
    repo.enqueue(&messages).await.unwrap();
    let (stop, stopped) = watch::channel(());
    let replicas: Vec<_> = ["replica-a", "replica-b"]
        .into_iter()
        .map(|owner| {
            let worker = OutboxWorker::new(repo.clone(), notifier.clone(), worker_settings(8))
                .with_owner(owner);
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                worker
                    .run(async move { while stopped.changed().await.is_ok() {} })
                    .await;
            })
        })
        .collect();

    eventually(StdDuration::from_secs(30), "every notice delivered", || {
        let repo = repo.clone();
        async move { delivered_count(&*repo).await == 30 }
    })
    .await;
    drop(stop);
    for replica in replicas {
        tokio::time::timeout(StdDuration::from_secs(10), replica)
            .await
            .expect("the worker stops")
            .unwrap();
    }

    let mut orders: Vec<String> = mail
        .sent()
        .iter()
        .map(|e| e.data["order_id"].as_str().unwrap().to_owned())
        .collect();
    orders.extend(
        sms.sent_flows()
            .iter()
            .map(|f| f.variables["order_id"].clone()),
    );
    let distinct: HashSet<&String> = orders.iter().collect();
    assert_eq!(
        orders.len(),
        30,
        "sent {} times for 30 notices",
        orders.len()
    );
    assert_eq!(distinct.len(), 30);
    for message in &messages {
        assert_eq!(stored(&*repo, &message.id).await.attempts, 1);
    }
}

/// A provider that holds each delivery until the test lets it go, and says when one starts.
struct GatedProvider {
    started: mpsc::UnboundedSender<OutboxId>,
    gate: Semaphore,
}

#[async_trait::async_trait]
impl Deliver for GatedProvider {
    async fn deliver(&self, message: &OutboxMessage) -> Result<String, AdapterError> {
        let _ = self.started.send(message.id.clone());
        self.gate
            .acquire()
            .await
            .expect("the gate stays open")
            .forget();
        Ok(format!("gated-{}", message.id))
    }
}

#[tokio::test]
async fn a_stopping_worker_finishes_the_notice_in_hand_and_claims_no_more() {
    let repo: Arc<dyn OutboxRepository> = Arc::new(MemoryOutbox::new());
    let messages: Vec<OutboxMessage> = (0..3)
        .map(|n| email_notice(&format!("order-{n}")))
        .collect();
    repo.enqueue(&messages).await.unwrap();
    let (started, mut starts) = mpsc::unbounded_channel();
    let provider = Arc::new(GatedProvider {
        started,
        gate: Semaphore::new(0),
    });
    let settings = OutboxSettings {
        batch_size: 1,
        ..worker_settings(8)
    };
    let worker = OutboxWorker::new(repo.clone(), provider.clone(), settings);
    let (stop, mut stopped) = watch::channel(());
    let running = tokio::spawn(async move {
        worker
            .run(async move { while stopped.changed().await.is_ok() {} })
            .await;
    });

    let in_hand = starts.recv().await.expect("a delivery starts");
    drop(stop);
    provider.gate.add_permits(1);
    tokio::time::timeout(StdDuration::from_secs(5), running)
        .await
        .expect("the worker stops")
        .unwrap();

    assert!(starts.try_recv().is_err(), "no other delivery started");
    for message in &messages {
        let now = stored(&*repo, &message.id).await;
        if message.id == in_hand {
            assert_eq!(now.state, OutboxState::Delivered);
        } else {
            assert_eq!((now.state, now.attempts), (OutboxState::Pending, 0));
            assert!(now.lease.is_none(), "never claimed");
        }
    }
}

#[tokio::test]
async fn the_application_delivers_notices_through_its_fake_providers() {
    let outbox = Arc::new(MemoryOutbox::new());
    let shared = outbox.clone();
    let app = TestApp::builder()
        .env(&[("BAZAAR_OUTBOX_POLL_MS", "100")])
        .with_backends(move |b| b.outbox = shared)
        .spawn()
        .await;
    let email = email_notice("order-9");
    let text = sms_notice("order-9");

    outbox.enqueue_now(&[email.clone(), text.clone()]);

    let notices = || async {
        let messages: Vec<Value> = app.get("/api/v1/dev/messages").await.json().await.unwrap();
        messages
            .into_iter()
            .filter(|m| m["purpose"] != "verify_email")
            .collect::<Vec<_>>()
    };
    eventually(StdDuration::from_secs(10), "both notices sent", || async {
        notices().await.len() == 2
    })
    .await;
    let sent = notices().await;
    let sms = sent.iter().find(|m| m["channel"] == "sms").unwrap();
    assert_eq!(sms["purpose"], "payment_receipt");
    assert_eq!(sms["to"], "+919812345678");
    let variables: Value = serde_json::from_str(sms["data"].as_str().unwrap()).unwrap();
    assert_eq!(variables["order_id"], "order-9");
    let mail = sent.iter().find(|m| m["channel"] == "email").unwrap();
    assert_eq!(mail["purpose"], "order_confirmation");
    assert_eq!(mail["to"], "asha@example.in");
    for id in [&email.id, &text.id] {
        assert_eq!(stored(&*outbox, id).await.state, OutboxState::Delivered);
    }
    app.stop().await;
}
