//! The production harness: the real `bazaar serve` binary in `BAZAAR_ENV=production` on a
//! MongoDB-wire server, Redis and S3 (the servers `make test` starts), with strong random
//! secrets and wiremock stand-ins for MSG91, SendGrid and Razorpay.
//!
//! Security tests about production run through it, so what they prove is what a deployment
//! runs: the production settings checks, the production wiring of every store, and the
//! binary's own middleware.

// Each security test uses the parts of the harness it needs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use rand::RngCore;
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::kit::process::Bazaar;
use crate::kit::{login, test_servers_env, unique, ADMIN_PASSWORD, ADMIN_PHONE};

pub const RAZORPAY_KEY_ID: &str = "rzp_test_security";
pub const RAZORPAY_KEY_SECRET: &str = "security-suite-razorpay-key-secret";
pub const RAZORPAY_WEBHOOK_SECRET: &str = "security-suite-razorpay-webhook-secret";
pub const CUSTOMER_PASSWORD: &str = "customer password for tests";
/// The browser origin the production server allows (production refuses `*`).
pub const ORIGIN: &str = "https://shop.example.in";
/// The seller production requires (`BAZAAR_GST_SELLER_*`): GSTN's own example GSTIN
/// (Maharashtra), so its check character is right.
pub const SELLER: [(&str, &str); 3] = [
    ("BAZAAR_GST_SELLER_LEGAL_NAME", "Security Suite Traders"),
    ("BAZAAR_GST_SELLER_GSTIN", "27AAPFU0939F1ZV"),
    (
        "BAZAAR_GST_SELLER_ADDRESS",
        "Andheri East|Mumbai, Maharashtra 400069",
    ),
];

/// A secret of `bytes` random bytes, hex-encoded: what an operator's `openssl rand -hex`
/// would give.
pub fn random_secret(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

/// Everything a production Bazaar needs, pointing at the test servers and at the given
/// provider stand-ins, with fresh secrets. Tests that start the binary themselves (to see it
/// refuse to start, say) take this and change it.
pub fn production_env(
    name: &str,
    msg91: &str,
    sendgrid: &str,
    razorpay: &str,
) -> Vec<(String, String)> {
    // MongoDB names are at most 63 bytes: shorten the test's name, never the unique
    // suffix (a cut suffix made every run of a test share one database).
    let stem: String = name.replace('-', "_").chars().rev().take(24).collect();
    let stem: String = stem.chars().rev().collect();
    let database = unique(&format!("prod_{stem}"));
    let mut env = test_servers_env(&database, &format!("{}:", unique("prod")));
    env.extend([
        ("BAZAAR_ENV", "production".to_owned()),
        ("BAZAAR_JWT_KEYS", format!("k1:{}", random_secret(32))),
        ("BAZAAR_OTP_SECRET", random_secret(32)),
        ("BAZAAR_CORS_ORIGINS", ORIGIN.to_owned()),
        ("BAZAAR_PUBLIC_URL", ORIGIN.to_owned()),
        ("BAZAAR_MSG91_AUTHKEY", random_secret(16)),
        ("BAZAAR_MSG91_TEMPLATE_ID", "otp-template".to_owned()),
        ("BAZAAR_MSG91_BASE_URL", msg91.to_owned()),
        (
            "BAZAAR_MSG91_FLOW_ORDER_CONFIRMATION",
            "flow-order-confirmation".to_owned(),
        ),
        (
            "BAZAAR_MSG91_FLOW_PAYMENT_RECEIPT",
            "flow-payment-receipt".to_owned(),
        ),
        ("BAZAAR_MSG91_FLOW_REFUND", "flow-refund".to_owned()),
        (
            "BAZAAR_MSG91_FLOW_CANCELLATION",
            "flow-cancellation".to_owned(),
        ),
        (
            "BAZAAR_MSG91_FLOW_ORDER_PACKED",
            "flow-order-packed".to_owned(),
        ),
        (
            "BAZAAR_MSG91_FLOW_ORDER_SHIPPED",
            "flow-order-shipped".to_owned(),
        ),
        (
            "BAZAAR_MSG91_FLOW_ORDER_DELIVERED",
            "flow-order-delivered".to_owned(),
        ),
        (
            "BAZAAR_MSG91_FLOW_RETURN_REQUESTED",
            "flow-return-requested".to_owned(),
        ),
        (
            "BAZAAR_MSG91_FLOW_RETURN_RECEIVED",
            "flow-return-received".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_API_KEY",
            format!("SG.{}", random_secret(16)),
        ),
        ("BAZAAR_SENDGRID_BASE_URL", sendgrid.to_owned()),
        (
            "BAZAAR_SENDGRID_TEMPLATE_VERIFY_EMAIL",
            "d-prod-verify-email".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_TEMPLATE_ORDER_CONFIRMATION",
            "d-prod-order-confirmation".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_TEMPLATE_PAYMENT_RECEIPT",
            "d-prod-payment-receipt".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_TEMPLATE_REFUND",
            "d-prod-refund".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_TEMPLATE_CANCELLATION",
            "d-prod-cancellation".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_TEMPLATE_ORDER_PACKED",
            "d-prod-order-packed".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_TEMPLATE_ORDER_SHIPPED",
            "d-prod-order-shipped".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_TEMPLATE_ORDER_DELIVERED",
            "d-prod-order-delivered".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_TEMPLATE_RETURN_REQUESTED",
            "d-prod-return-requested".to_owned(),
        ),
        (
            "BAZAAR_SENDGRID_TEMPLATE_RETURN_RECEIVED",
            "d-prod-return-received".to_owned(),
        ),
        ("BAZAAR_RAZORPAY_KEY_ID", RAZORPAY_KEY_ID.to_owned()),
        ("BAZAAR_RAZORPAY_KEY_SECRET", RAZORPAY_KEY_SECRET.to_owned()),
        (
            "BAZAAR_RAZORPAY_WEBHOOK_SECRETS",
            RAZORPAY_WEBHOOK_SECRET.to_owned(),
        ),
        ("BAZAAR_RAZORPAY_BASE_URL", razorpay.to_owned()),
        // A failing provider call gives up quickly in tests.
        ("BAZAAR_PROVIDER_TIMEOUT_MS", "2000".to_owned()),
    ]);
    env.extend(SELLER.map(|(k, v)| (k, v.to_owned())));
    env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A production `bazaar serve` and the provider stand-ins it talks to.
pub struct Production {
    pub app: Bazaar,
    pub msg91: MockServer,
    pub sendgrid: MockServer,
    pub razorpay: MockServer,
    pub env: Vec<(String, String)>,
}

impl Production {
    /// `bazaar serve` with `BAZAAR_ENV=production` on a fresh database, its own Redis key
    /// prefix, the test bucket, random secrets and the stand-ins; ready.
    pub async fn start(name: &str) -> Self {
        Self::start_with(name, &[]).await
    }

    /// The same, with `env` added or overriding.
    pub async fn start_with(name: &str, env: &[(&str, &str)]) -> Self {
        Self::start_with_razorpay(name, razorpay_stand_in().await, env).await
    }

    /// The same, with `razorpay` (a wiremock mounted with what the test needs) as Razorpay.
    pub async fn start_with_razorpay(
        name: &str,
        razorpay: MockServer,
        env: &[(&str, &str)],
    ) -> Self {
        let codes = Arc::new(Mutex::new(Vec::new()));
        let msg91 = answering(Msg91 {
            codes: codes.clone(),
        })
        .await;
        let sendgrid = answering(ResponseTemplate::new(202)).await;
        let mut all = production_env(name, &msg91.uri(), &sendgrid.uri(), &razorpay.uri());
        for (key, value) in env {
            all.retain(|(k, _)| k != key);
            all.push(((*key).to_owned(), (*value).to_owned()));
        }
        let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let app = Bazaar::start(name, &pairs).await;
        SENT_CODES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(app.url(""), codes);
        Self {
            app,
            msg91,
            sendgrid,
            razorpay,
            env: all,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// The value of a setting the process was started with.
    pub fn setting(&self, key: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{key} was not set"))
    }

    /// `claims` signed with the key this server signs with (the first of
    /// `BAZAAR_JWT_KEYS`), as someone who has that key would sign them.
    pub fn mint(&self, claims: &Value) -> String {
        use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
        let keys = self.setting("BAZAAR_JWT_KEYS");
        let (kid, secret) = keys
            .split(',')
            .next()
            .and_then(|first| first.split_once(':'))
            .expect("kid:secret");
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        encode(
            &header,
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("signs")
    }

    /// The bootstrap admin's access token.
    pub async fn admin_token(&self) -> String {
        let client = reqwest::Client::new();
        login(&client, &self.url(""), ADMIN_PHONE, ADMIN_PASSWORD)
            .await
            .access_token
    }

    /// Registers a customer with `phone` and [`CUSTOMER_PASSWORD`], verifies the phone with
    /// the code MSG91 was asked to send (password sign-in needs a verified phone), signs in
    /// and returns the access token.
    pub async fn customer(&self, phone: &str) -> String {
        let client = reqwest::Client::new();
        register_verified(&self.url(""), phone, CUSTOMER_PASSWORD).await;
        login(&client, &self.url(""), phone, CUSTOMER_PASSWORD)
            .await
            .access_token
    }

    /// Every request MSG91 got, in order.
    pub async fn sms(&self) -> Vec<Request> {
        self.msg91.received_requests().await.unwrap_or_default()
    }

    /// The last OTP code sent to `phone` (E.164, as the API takes it).
    pub async fn otp_for(&self, phone: &str) -> Option<String> {
        let mobile = phone.trim_start_matches('+');
        self.sms().await.iter().rev().find_map(|request| {
            let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
            (request.url.path().ends_with("/otp")
                && query.get("mobile").map(String::as_str) == Some(mobile))
            .then(|| query.get("otp").cloned())
            .flatten()
        })
    }

    /// The bodies SendGrid got, in order.
    pub async fn emails(&self) -> Vec<Value> {
        self.sendgrid
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            .collect()
    }
}

/// A wiremock server answering every request with `response`.
async fn answering(response: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// Razorpay's orders API, enough for checkout: `POST /orders` creates an order, `GET /orders`
/// lists them by receipt. Anything else is refused as Razorpay refuses an unknown request.
pub async fn razorpay_stand_in() -> MockServer {
    answering(RazorpayOrders::default()).await
}

#[derive(Default)]
struct RazorpayOrders {
    orders: Arc<Mutex<Vec<Value>>>,
}

impl Respond for RazorpayOrders {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut orders = self.orders.lock().unwrap_or_else(|e| e.into_inner());
        match (request.method.as_str(), request.url.path()) {
            ("POST", "/orders") => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                let order = json!({
                    "id": format!("order_{}", &uuid::Uuid::new_v4().simple().to_string()[..14]),
                    "entity": "order",
                    "amount": body["amount"],
                    "amount_paid": 0,
                    "amount_due": body["amount"],
                    "currency": body["currency"],
                    "receipt": body["receipt"],
                    "offer_id": null,
                    "status": "created",
                    "attempts": 0,
                    "notes": body["notes"],
                    "created_at": chrono::Utc::now().timestamp(),
                });
                orders.push(order.clone());
                ResponseTemplate::new(200).set_body_json(order)
            }
            ("GET", "/orders") => {
                let receipt = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "receipt")
                    .map(|(_, v)| v.into_owned());
                let items: Vec<Value> = orders
                    .iter()
                    .filter(|o| receipt.is_none() || o["receipt"].as_str() == receipt.as_deref())
                    .cloned()
                    .collect();
                ResponseTemplate::new(200).set_body_json(
                    json!({"entity": "collection", "count": items.len(), "items": items}),
                )
            }
            _ => ResponseTemplate::new(400).set_body_json(json!({"error": {
                "code": "BAD_REQUEST_ERROR",
                "description": "The requested URL was not found on the server.",
                "field": null
            }})),
        }
    }
}

/// The OTP codes each production server's MSG91 stand-in was asked to send (mobile without
/// `+`, code), by the server's base URL: helpers that know only a server's address read
/// codes through [`code_sent`].
static SENT_CODES: LazyLock<Mutex<HashMap<String, SentCodes>>> = LazyLock::new(Default::default);

/// (mobile without `+`, code), oldest first.
type SentCodes = Arc<Mutex<Vec<(String, String)>>>;

/// MSG91 answering success to everything, as the real one does to valid requests, and
/// remembering the OTPs it was asked to send.
struct Msg91 {
    codes: SentCodes,
}

impl Respond for Msg91 {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.url.path().ends_with("/otp") {
            let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
            if let (Some(mobile), Some(otp)) = (query.get("mobile"), query.get("otp")) {
                self.codes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((mobile.clone(), otp.clone()));
            }
        }
        ResponseTemplate::new(200)
            .set_body_json(json!({"type": "success", "request_id": "3763646c3058373530393935"}))
    }
}

/// The last OTP code the server at `base` sent to `phone` (E.164): from a production
/// server's MSG91 stand-in, or a development server's `/api/v1/dev/messages`.
pub async fn code_sent(base: &str, phone: &str) -> Option<String> {
    let production = SENT_CODES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(base)
        .cloned();
    if let Some(codes) = production {
        let mobile = phone.trim_start_matches('+');
        return codes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .rev()
            .find(|(to, _)| to == mobile)
            .map(|(_, code)| code.clone());
    }
    let messages: Value = reqwest::get(format!("{base}/api/v1/dev/messages"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    messages
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["channel"] == "sms" && m["to"] == phone && m["code"].is_string())
        .and_then(|m| m["code"].as_str().map(str::to_owned))
}

/// Registers `phone` with `password` at `base` and verifies the phone with the code it was
/// sent: password sign-in needs a verified phone. Answers the new user.
pub async fn register_verified(base: &str, phone: &str, password: &str) -> Value {
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"phone": phone, "name": "Test Customer", "password": password}))
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "registering {phone} answered {status}: {body}"
    );
    let user: Value = serde_json::from_str(&body).expect("a user");
    let e164 = user["phone"].as_str().expect("a phone");
    let code = code_sent(base, e164)
        .await
        .unwrap_or_else(|| panic!("no code was sent to {e164}"));
    let verified = client
        .post(format!("{base}/api/v1/auth/otp/verify"))
        .json(&json!({"phone": e164, "purpose": "verify_phone", "code": code}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(verified.status(), 200, "verifying {e164}");
    user
}
