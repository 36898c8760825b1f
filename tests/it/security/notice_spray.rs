//! Using Bazaar to message other people, or to run up its SMS bill: signing up with someone
//! else's phone or email and placing and cancelling orders (each cancellation was one SMS and
//! one email). Notices go only to contacts the customer verified, and each address gets at
//! most `BAZAAR_OUTBOX_CAP_PER_HOUR` notices an hour; the rest are recorded as skipped.
//!
//! Each scenario runs on the in-memory backends and on MongoDB and Redis (in process, with
//! the fake providers), and once on the real binary in production with wiremock MSG91.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bazaar::domain::user::Phone;
use bazaar::kv::broadcast::{Broadcast, RedisBroadcast};

use bazaar::store::user_cache::CachedUsers;
use bazaar::store::UserRepository;
use serde_json::{json, Value};

use super::prod::{code_sent, Production};
use crate::kit::{bearer_client, login, product_json, unique, BackendSet, TestApp};

const PASSWORD: &str = "a customer's own password";

/// How long the outbox worker (polling every 100 ms here) may take to settle a notice.
const SETTLED_WITHIN: Duration = Duration::from_secs(20);

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).expect("a JSON body")
}

/// A product with plenty of stock, created by the app's admin.
async fn product(app: &TestApp) -> String {
    let mut body = product_json(&unique("NS"));
    body["stock"] = json!(100);
    app.create_product(body).await.id
}

/// Plays an account from before sign-in needed a verified phone: signed in, its phone not
/// verified (its sessions live on). Only such accounts can still have a notice meant for an
/// unverified phone. It writes the store as another replica would, announcing the change so
/// the server's user cache drops its copy.
struct Legacy {
    users: Arc<dyn UserRepository>,
}

impl Legacy {
    fn over(store: Arc<dyn UserRepository>, broadcast: Arc<dyn Broadcast>) -> Self {
        let users = Arc::new(CachedUsers::new(
            store,
            broadcast,
            Duration::from_secs(60),
            100,
        ));
        Self { users }
    }

    async fn unverify_phone(&self, phone: &str) {
        let phone = Phone::parse("phone", phone).unwrap();
        let user = self.users.find_by_phone(&phone).await.unwrap().unwrap();
        let legacy = user.revised(chrono::Utc::now(), |u| u.phone_verified = false);
        self.users.update(&legacy, user.version).await.unwrap();
    }
}

/// A customer who signed up with `phone` and `email`, verified the phone to sign in, and is
/// then an account from before that was needed (see [`Legacy`]): neither is verified.
async fn unverified_customer(
    base: &str,
    legacy: &Legacy,
    phone: &str,
    email: &str,
) -> reqwest::Client {
    let anonymous = reqwest::Client::new();
    let registered = anonymous
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"phone": phone, "name": "Someone", "password": PASSWORD, "email": email}))
        .send()
        .await
        .unwrap();
    json_of(registered).await;
    verify_phone(base, phone).await;
    let pair = login(&anonymous, base, phone, PASSWORD).await;
    legacy.unverify_phone(phone).await;
    bearer_client(&pair.access_token)
}

/// What the fake providers sent, as `/api/v1/dev/messages` lists it.
async fn sent(app: &TestApp) -> Vec<Value> {
    json_of(
        app.anonymous
            .get(app.url("/api/v1/dev/messages"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

/// Verifies `phone` with the last code it was sent.
async fn verify_phone(base: &str, phone: &str) {
    let code = code_sent(base, phone).await.expect("a code was sent");
    let verified = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/otp/verify"))
        .json(&json!({"phone": phone, "purpose": "verify_phone", "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(verified).await["user"]["phone_verified"], true);
}

/// The OTP cooldown these servers have (`BAZAAR_OTP_COOLDOWN_SECS`).
const COOLDOWN: Duration = Duration::from_secs(1);

/// Asks for a new code for `phone`'s verification (the cooldown since the last one must
/// have passed) and verifies it.
async fn verify_phone_again(base: &str, phone: &str) {
    let sent = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/otp/send"))
        .json(&json!({"phone": phone, "purpose": "verify_phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    verify_phone(base, phone).await;
}

/// Places an order for one unit of `product` and cancels it; answers the order's id.
async fn order_and_cancel(
    customer: &reqwest::Client,
    base: impl Fn(&str) -> String,
    product: &str,
) -> String {
    let placed = customer
        .post(base("/api/v1/orders"))
        .json(&json!({"items": [{"product_id": product, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    let id = json_of(placed).await["id"].as_str().unwrap().to_owned();
    let cancelled = customer
        .post(base(&format!("/api/v1/orders/{id}/actions/cancel")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(cancelled).await["status"], "cancelled");
    id
}

/// The outbox messages about order `id`, once none of them is pending any more.
async fn settled_notices(
    admin: &reqwest::Client,
    base: impl Fn(&str) -> String,
    id: &str,
) -> Vec<Value> {
    let began = Instant::now();
    loop {
        let page = json_of(
            admin
                .get(base("/api/v1/admin/outbox?limit=100"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let notices: Vec<Value> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["dedupe_key"].as_str().unwrap().starts_with(id))
            .cloned()
            .collect();
        if !notices.is_empty() && notices.iter().all(|m| m["state"] != "pending") {
            return notices;
        }
        assert!(
            began.elapsed() < SETTLED_WITHIN,
            "the notices of order {id} are still pending: {notices:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn of_channel<'a>(notices: &'a [Value], channel: &str) -> &'a Value {
    notices
        .iter()
        .find(|m| m["channel"] == channel)
        .unwrap_or_else(|| panic!("no {channel} notice among {notices:?}"))
}

async fn an_unverified_phone_and_email_get_no_notice_until_verified(
    (app, legacy): (TestApp, Legacy),
) {
    let phone = "+919812377001";
    let email = "someone.else@example.in";
    let customer = unverified_customer(&app.address, &legacy, phone, email).await;
    let product = product(&app).await;
    let base = |path: &str| app.url(path);

    let first = order_and_cancel(&customer, base, &product).await;
    let notices = settled_notices(&app.client, base, &first).await;

    let sms = of_channel(&notices, "sms");
    let mail = of_channel(&notices, "email");
    assert_eq!(
        (&sms["state"], &mail["state"]),
        (&json!("skipped"), &json!("skipped"))
    );
    assert_eq!(
        sms["last_error"],
        "not sent: the customer has not verified this phone"
    );
    assert_eq!(
        mail["last_error"],
        "not sent: the customer has not verified this email address"
    );

    // Once the phone is verified, the next cancellation reaches it (so the worker was
    // running all along); the email, still unverified, gets nothing.
    app.advance(COOLDOWN).await;
    verify_phone_again(&app.address, phone).await;
    let second = order_and_cancel(&customer, base, &product).await;
    let notices = settled_notices(&app.client, base, &second).await;

    assert_eq!(of_channel(&notices, "sms")["state"], "delivered");
    assert_eq!(of_channel(&notices, "email")["state"], "skipped");
    let cancellations: Vec<Value> = sent(&app)
        .await
        .into_iter()
        .filter(|m| m["purpose"] == "cancellation")
        .collect();
    assert_eq!(cancellations.len(), 1, "{cancellations:?}");
    assert_eq!(cancellations[0]["to"], phone);
    let order_of = |m: &Value| -> Value {
        serde_json::from_str::<Value>(m["data"].as_str().unwrap()).unwrap()["order_id"].clone()
    };
    assert_eq!(order_of(&cancellations[0]), json!(second));
}

async fn a_loop_of_orders_gets_an_address_no_more_than_its_hourly_cap(
    (app, legacy): (TestApp, Legacy),
) {
    let phone = "+919812377002";
    let customer = unverified_customer(&app.address, &legacy, phone, "looper@example.in").await;
    app.advance(COOLDOWN).await;
    verify_phone_again(&app.address, phone).await;
    let product = product(&app).await;
    let base = |path: &str| app.url(path);

    let mut states = Vec::new();
    for _ in 0..6 {
        let id = order_and_cancel(&customer, base, &product).await;
        let notices = settled_notices(&app.client, base, &id).await;
        states.push(of_channel(&notices, "sms").clone());
    }

    let delivered = states.iter().filter(|m| m["state"] == "delivered").count();
    let capped: Vec<&Value> = states.iter().filter(|m| m["state"] == "skipped").collect();
    assert_eq!((delivered, capped.len()), (3, 3), "{states:?}");
    assert!(
        capped
            .iter()
            .all(|m| m["last_error"] == "not sent: this address already had 3 notices this hour"),
        "{capped:?}"
    );
    let texts = sent(&app)
        .await
        .into_iter()
        .filter(|m| m["purpose"] == "cancellation" && m["to"] == phone)
        .count();
    assert_eq!(texts, 3, "the phone got three SMS for six cancellations");
}

async fn with_legacy(set: BackendSet) -> (TestApp, Legacy) {
    let app = TestApp::builder()
        .on(set)
        .env(&[
            ("BAZAAR_OUTBOX_POLL_MS", "100"),
            ("BAZAAR_OUTBOX_CAP_PER_HOUR", "3"),
            ("BAZAAR_OTP_COOLDOWN_SECS", "1"),
        ])
        .prepare()
        .await;
    let legacy = Legacy::over(app.backends.users.clone(), app.backends.broadcast.clone());
    (app.spawn().await, legacy)
}

async fn in_memory() -> (TestApp, Legacy) {
    with_legacy(BackendSet::Memory).await
}

async fn on_mongodb_and_redis() -> (TestApp, Legacy) {
    with_legacy(BackendSet::Real).await
}

#[tokio::test]
async fn in_memory_an_unverified_phone_and_email_get_no_notice_until_verified() {
    an_unverified_phone_and_email_get_no_notice_until_verified(in_memory().await).await;
}

#[tokio::test]
async fn on_mongodb_an_unverified_phone_and_email_get_no_notice_until_verified() {
    an_unverified_phone_and_email_get_no_notice_until_verified(on_mongodb_and_redis().await).await;
}

#[tokio::test]
async fn in_memory_a_loop_of_orders_gets_an_address_no_more_than_its_hourly_cap() {
    a_loop_of_orders_gets_an_address_no_more_than_its_hourly_cap(in_memory().await).await;
}

#[tokio::test]
async fn on_mongodb_and_redis_a_loop_of_orders_gets_an_address_no_more_than_its_hourly_cap() {
    a_loop_of_orders_gets_an_address_no_more_than_its_hourly_cap(on_mongodb_and_redis().await)
        .await;
}

/// The flow SMS (notices, not OTPs) MSG91 was asked to send to `phone`.
async fn flow_sms_to(prod: &Production, phone: &str) -> Vec<Value> {
    let bare = phone.trim_start_matches('+');
    prod.sms()
        .await
        .iter()
        .filter_map(|request| serde_json::from_slice::<Value>(&request.body).ok())
        .filter(|body| {
            body["flow_id"].is_string()
                && body["recipients"].as_array().is_some_and(|r| {
                    r.iter()
                        .any(|to| to["mobiles"] == bare || to["mobiles"] == phone)
                })
        })
        .collect()
}

#[tokio::test]
async fn in_production_msg91_is_never_asked_to_text_an_unverified_phone() {
    let prod = Production::start_with(
        "notice-spray",
        &[
            ("BAZAAR_OUTBOX_POLL_MS", "100"),
            ("BAZAAR_OTP_COOLDOWN_SECS", "1"),
        ],
    )
    .await;
    // The production server's own stores, written as another replica would.
    let db = bazaar::store::mongo::connect(
        prod.setting("BAZAAR_MONGODB_URL"),
        prod.setting("BAZAAR_MONGODB_DATABASE"),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let broadcast = RedisBroadcast::connect(
        prod.setting("BAZAAR_REDIS_URL"),
        prod.setting("BAZAAR_REDIS_KEY_PREFIX"),
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    let legacy = Legacy::over(
        Arc::new(bazaar::store::mongo::MongoUsers::new(&db).await.unwrap()),
        Arc::new(broadcast),
    );
    let admin = bearer_client(&prod.admin_token().await);
    let base = |path: &str| prod.url(path);
    let mut body = product_json(&unique("NP"));
    body["stock"] = json!(100);
    let created = admin
        .post(base("/api/v1/products"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let product = json_of(created).await["id"].as_str().unwrap().to_owned();
    let phone = "+919812377003";
    let customer = bearer_client(&prod.customer(phone).await);
    legacy.unverify_phone(phone).await;

    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(order_and_cancel(&customer, base, &product).await);
    }
    for id in &orders {
        let notices = settled_notices(&admin, base, id).await;
        assert_eq!(
            of_channel(&notices, "sms")["state"],
            "skipped",
            "{notices:?}"
        );
    }
    assert!(
        flow_sms_to(&prod, phone).await.is_empty(),
        "MSG91 got no notice for the phone"
    );

    // The same phone, verified, does get the next one: the check above could have failed.
    // The real binary reads the system clock: the cooldown has to pass for real.
    tokio::time::sleep(COOLDOWN + Duration::from_millis(100)).await;
    verify_phone_again(&prod.url(""), phone).await;
    let id = order_and_cancel(&customer, base, &product).await;
    let notices = settled_notices(&admin, base, &id).await;
    assert_eq!(
        of_channel(&notices, "sms")["state"],
        "delivered",
        "{notices:?}"
    );
    assert_eq!(flow_sms_to(&prod, phone).await.len(), 1);
}
