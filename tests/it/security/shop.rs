//! Support for the money and stock attacks: a Bazaar with a Razorpay stand-in whose payments
//! each test makes up (a 1-paisa capture, a payment in dollars, a second capture…), run in
//! process on in-memory stores or on MongoDB-wire and Redis, or as the production binary.
//!
//! Webhooks are signed with the configured webhook secret and checkout results with the key
//! secret, as Razorpay signs them: what the tests send is what a compromised or confused
//! provider account could make Razorpay send, never something a signature check would stop.

// Each attack uses the parts it needs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bazaar_adapters::razorpay::{checkout_signature, webhook_signature};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::prod::{
    Production, CUSTOMER_PASSWORD, RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET,
};
use crate::kit::{
    bearer_client, login, product_json, unique, BackendSet, TestApp, ADMIN_PASSWORD, ADMIN_PHONE,
};

/// Where the shop's records live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In process, in-memory stores.
    Memory,
    /// In process, on MongoDB-wire, Redis and S3 ([`BackendSet::Real`]).
    Mongo,
    /// The real binary in `BAZAAR_ENV=production` on MongoDB-wire, Redis and S3.
    Production,
}

/// The price of the product the attacks buy: ₹100, so one unit is ₹118 with GST.
pub const PRICE: i64 = 10_000;
/// What one unit of it costs with GST, in paise.
pub const TOTAL: i64 = 11_800;

/// The process a shop runs in; kept so that it lives as long as the shop.
enum Running {
    InProcess(TestApp),
    Production(Box<Production>),
}

pub struct Shop {
    base: String,
    pub razorpay: RazorpayAccount,
    /// The bootstrap admin.
    pub staff: reqwest::Client,
    /// A customer who signed up.
    pub customer: reqwest::Client,
    anonymous: reqwest::Client,
    running: Running,
}

impl Shop {
    /// A shop on `backend` whose Razorpay is a fresh stand-in; `env` adds settings.
    pub async fn open(backend: Backend, name: &str, env: &[(&str, &str)]) -> Self {
        let mut razorpay = RazorpayAccount::start().await;
        let uri = razorpay.uri.clone();
        let (base, running) = match backend {
            Backend::Production => {
                // The process's harness owns the server; it answers from this account.
                let server = razorpay.server.take().expect("a fresh stand-in");
                let prod = Production::start_with_razorpay(name, server, env).await;
                (prod.url(""), Running::Production(Box::new(prod)))
            }
            Backend::Memory | Backend::Mongo => {
                let mut vars = vec![
                    ("BAZAAR_RAZORPAY_KEY_ID", RAZORPAY_KEY_ID),
                    ("BAZAAR_RAZORPAY_KEY_SECRET", RAZORPAY_KEY_SECRET),
                    ("BAZAAR_RAZORPAY_WEBHOOK_SECRETS", RAZORPAY_WEBHOOK_SECRET),
                    ("BAZAAR_RAZORPAY_BASE_URL", uri.as_str()),
                    ("BAZAAR_PROVIDER_TIMEOUT_MS", "2000"),
                ];
                vars.extend_from_slice(env);
                let set = match backend {
                    Backend::Mongo => BackendSet::Real,
                    _ => BackendSet::Memory,
                };
                let app = TestApp::builder().on(set).env(&vars).spawn().await;
                (app.address.clone(), Running::InProcess(app))
            }
        };
        let anonymous = reqwest::Client::new();
        let admin = login(&anonymous, &base, ADMIN_PHONE, ADMIN_PASSWORD).await;
        let mut shop = Self {
            staff: bearer_client(&admin.access_token),
            customer: anonymous.clone(),
            anonymous,
            base,
            razorpay,
            running,
        };
        shop.customer = shop.sign_up("+919876500001").await;
        shop
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers a customer with `phone`, verifies the phone and signs them in.
    pub async fn sign_up(&self, phone: &str) -> reqwest::Client {
        super::prod::register_verified(&self.base, phone, CUSTOMER_PASSWORD).await;
        let pair = login(&self.anonymous, &self.base, phone, CUSTOMER_PASSWORD).await;
        bearer_client(&pair.access_token)
    }

    /// A product at [`PRICE`] with `stock` units; its id.
    pub async fn product(&self, stock: u32) -> String {
        let mut body = product_json(&unique("SEC").to_uppercase()[..20]);
        body["price"] = json!(PRICE);
        body["stock"] = json!(stock);
        let created = self
            .send(self.staff.post(self.url("/api/v1/products")).json(&body))
            .await;
        assert_eq!(created.0, 201, "creating a product: {}", created.1);
        created.1["id"].as_str().expect("an id").to_owned()
    }

    pub async fn stock(&self, product: &str) -> i64 {
        let (status, body) = self
            .send(
                self.staff
                    .get(self.url(&format!("/api/v1/products/{product}"))),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["stock"].as_i64().expect("limited stock")
    }

    /// `who` orders `quantity` units of `product`: the status and body.
    pub async fn order_as(
        &self,
        who: &reqwest::Client,
        product: &str,
        quantity: i64,
    ) -> (u16, Value) {
        let body = json!({"items": [{"product_id": product, "quantity": quantity}]});
        self.send(who.post(self.url("/api/v1/orders")).json(&body))
            .await
    }

    /// The customer orders one unit of a new product and starts paying: the order and
    /// its Razorpay order id.
    pub async fn order_in_checkout(&self) -> (Value, String) {
        let product = self.product(5).await;
        let (status, order) = self.order_as(&self.customer, &product, 1).await;
        assert_eq!(status, 201, "{order}");
        assert_eq!(order["total"], TOTAL);
        let id = order["id"].as_str().expect("an id");
        let (status, checkout) = self
            .send(
                self.customer
                    .post(self.url(&format!("/api/v1/orders/{id}/payments"))),
            )
            .await;
        assert_eq!(status, 200, "{checkout}");
        let rzp_order = checkout["razorpay_order_id"].as_str().expect("an id");
        (order, rzp_order.to_owned())
    }

    /// The order as staff see it.
    pub async fn order(&self, id: &str) -> Value {
        let (status, body) = self
            .send(self.staff.get(self.url(&format!("/api/v1/orders/{id}"))))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The customer sends Checkout's result for `payment_id`, correctly signed.
    pub async fn verify(&self, rzp_order: &str, payment_id: &str) -> (u16, Value) {
        let secret = SecretString::from(RAZORPAY_KEY_SECRET.to_owned());
        let body = json!({
            "razorpay_order_id": rzp_order,
            "razorpay_payment_id": payment_id,
            "razorpay_signature": checkout_signature(&secret, rzp_order, payment_id),
        });
        self.send(
            self.customer
                .post(self.url("/api/v1/payments/verify"))
                .json(&body),
        )
        .await
    }

    /// Razorpay delivers `event` about `entity` (under `key`: `payment` or `refund`),
    /// signed, with a new event id; the status, the body and the event id.
    pub async fn deliver(&self, event: &str, key: &str, entity: &Value) -> (u16, Value, String) {
        let body = serde_json::to_vec(&json!({
            "entity": "event", "account_id": "acc_Security", "event": event,
            "contains": [key], "payload": { key: { "entity": entity } },
            "created_at": chrono::Utc::now().timestamp(),
        }))
        .expect("JSON");
        let event_id = format!("evt_{}", &unique("e")[2..20]);
        let (status, body) = self.deliver_raw(&body, Some(&event_id)).await;
        (status, body, event_id)
    }

    /// Delivers `body` exactly, signed with the webhook secret.
    pub async fn deliver_raw(&self, body: &[u8], event_id: Option<&str>) -> (u16, Value) {
        let secret = SecretString::from(RAZORPAY_WEBHOOK_SECRET.to_owned());
        let mut request = self
            .anonymous
            .post(self.url("/api/v1/webhooks/razorpay"))
            .header("content-type", "application/json")
            .header("x-razorpay-signature", webhook_signature(&secret, body))
            .body(body.to_vec());
        if let Some(id) = event_id {
            request = request.header("x-razorpay-event-id", id);
        }
        self.send(request).await
    }

    /// The stored webhook event `event_id`, as the admin list shows it.
    pub async fn stored_event(&self, event_id: &str) -> Option<Value> {
        let (status, page) = self
            .send(self.staff.get(self.url("/api/v1/admin/webhooks?limit=100")))
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|e| e["event_id"] == event_id)
            .cloned()
    }

    /// The audit events of `kind`, newest first.
    pub async fn audit(&self, kind: &str) -> Vec<Value> {
        let (status, page) = self
            .send(
                self.staff
                    .get(self.url(&format!("/api/v1/audit-events?kind={kind}&limit=100"))),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().expect("items").clone()
    }

    /// Sends `request`: the status and the JSON body (null if none).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// The customer's Razorpay account as the stand-in keeps it: orders (as the production
/// harness's stand-in makes them), payments the test makes up, captures and refunds.
/// Requests it does not know are refused as Razorpay refuses them.
pub struct RazorpayAccount {
    /// `None` once handed to a production process.
    server: Option<MockServer>,
    uri: String,
    state: Arc<Mutex<Account>>,
}

#[derive(Default)]
struct Account {
    orders: Vec<Value>,
    payments: Vec<Value>,
    refunds: Vec<Value>,
    /// `X-Refund-Idempotency` → the refund made under it.
    refund_keys: HashMap<String, Value>,
    /// Capture requests: payment id, amount, currency.
    captures: Vec<(String, Value)>,
}

impl RazorpayAccount {
    async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(Account::default()));
        Mock::given(any())
            .respond_with(Stand(state.clone()))
            .mount(&server)
            .await;
        Self {
            uri: server.uri(),
            server: Some(server),
            state,
        }
    }

    fn account(&self) -> MutexGuard<'_, Account> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The customer pays `amount` (minor units of `currency`) on Razorpay order `rzp_order`;
    /// `status` is `authorized` or `captured`. The payment entity.
    pub fn pay(&self, rzp_order: &str, amount: i64, currency: &str, status: &str) -> Value {
        let mut account = self.account();
        let id = format!("pay_{}", &unique("p")[2..16]);
        let payment = json!({
            "id": id, "entity": "payment", "amount": amount, "currency": currency,
            "status": status, "order_id": rzp_order, "method": "upi",
            "captured": status == "captured", "amount_refunded": 0, "refund_status": null,
            "email": "customer@example.in", "contact": "+919876500001", "notes": [],
            "fee": null, "tax": null, "error_code": null, "error_description": null,
            "error_source": null, "error_step": null, "error_reason": null,
            "acquirer_data": {}, "created_at": chrono::Utc::now().timestamp(),
        });
        account.payments.push(payment.clone());
        payment
    }

    /// A refund Razorpay made (from its dashboard, say) of `amount` of `payment`.
    pub fn refund_entity(&self, payment: &Value, amount: i64, status: &str) -> Value {
        json!({
            "id": format!("rfnd_{}", &unique("r")[2..16]), "entity": "refund",
            "amount": amount, "currency": payment["currency"], "payment_id": payment["id"],
            "notes": [], "receipt": null, "acquirer_data": {"arn": null},
            "created_at": chrono::Utc::now().timestamp(), "batch_id": null,
            "status": status, "speed_requested": "normal", "speed_processed": null,
        })
    }

    /// Capture requests Bazaar made: payment id and body.
    pub fn captures(&self) -> Vec<(String, Value)> {
        self.account().captures.clone()
    }

    /// Refunds Razorpay made for Bazaar, oldest first (a replay under the same key makes none).
    pub fn refunds(&self) -> Vec<Value> {
        self.account().refunds.clone()
    }
}

/// Answers Razorpay's API from an [`Account`].
struct Stand(Arc<Mutex<Account>>);

fn refused(description: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": {
        "code": "BAD_REQUEST_ERROR", "description": description, "field": null,
    }}))
}

impl Respond for Stand {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut account = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let path: Vec<&str> = request
            .url
            .path()
            .trim_start_matches('/')
            .split('/')
            .collect();
        match (request.method.as_str(), path.as_slice()) {
            ("POST", ["orders"]) => {
                let order = json!({
                    "id": format!("order_{}", &unique("o")[2..16]), "entity": "order",
                    "amount": body["amount"], "amount_paid": 0, "amount_due": body["amount"],
                    "currency": body["currency"], "receipt": body["receipt"], "offer_id": null,
                    "status": "created", "attempts": 0, "notes": body["notes"],
                    "created_at": chrono::Utc::now().timestamp(),
                });
                account.orders.push(order.clone());
                ResponseTemplate::new(200).set_body_json(order)
            }
            ("GET", ["orders"]) => {
                let receipt = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "receipt")
                    .map(|(_, v)| v.into_owned());
                let items: Vec<&Value> = account
                    .orders
                    .iter()
                    .filter(|o| o["receipt"].as_str() == receipt.as_deref())
                    .collect();
                ResponseTemplate::new(200).set_body_json(
                    json!({"entity": "collection", "count": items.len(), "items": items}),
                )
            }
            ("GET", ["orders", order, "payments"]) => {
                let items: Vec<&Value> = account
                    .payments
                    .iter()
                    .filter(|p| p["order_id"] == *order)
                    .collect();
                ResponseTemplate::new(200).set_body_json(
                    json!({"entity": "collection", "count": items.len(), "items": items}),
                )
            }
            ("GET", ["payments", id]) => match account.payments.iter().find(|p| p["id"] == *id) {
                Some(payment) => ResponseTemplate::new(200).set_body_json(payment),
                None => refused("The id provided does not exist"),
            },
            ("POST", ["payments", id, "capture"]) => {
                account.captures.push(((*id).to_owned(), body.clone()));
                let Some(payment) = account.payments.iter_mut().find(|p| p["id"] == *id) else {
                    return refused("The id provided does not exist");
                };
                if payment["status"] != "authorized" {
                    return refused("This payment has already been captured");
                }
                if payment["amount"] != body["amount"] || payment["currency"] != body["currency"] {
                    return refused("Capture amount must be equal to the amount authorized");
                }
                payment["status"] = json!("captured");
                payment["captured"] = json!(true);
                ResponseTemplate::new(200).set_body_json(payment.clone())
            }
            ("POST", ["payments", id, "refund"]) => {
                let key = request
                    .headers
                    .get("x-refund-idempotency")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if let Some(refund) = account.refund_keys.get(&key) {
                    return ResponseTemplate::new(200).set_body_json(refund);
                }
                let number = account.refunds.len() + 1;
                let Some(payment) = account.payments.iter_mut().find(|p| p["id"] == *id) else {
                    return refused("The id provided does not exist");
                };
                if payment["status"] != "captured" {
                    return refused("Only captured payments can be refunded");
                }
                let left = payment["amount"].as_i64().unwrap_or(0)
                    - payment["amount_refunded"].as_i64().unwrap_or(0);
                let amount = body["amount"].as_i64().unwrap_or(left);
                if amount > left || amount <= 0 {
                    return refused("The refund amount provided is greater than amount captured");
                }
                payment["amount_refunded"] =
                    json!(payment["amount_refunded"].as_i64().unwrap_or(0) + amount);
                let refund = json!({
                    "id": format!("rfnd_Stand{number:04}"), "entity": "refund", "amount": amount,
                    "currency": payment["currency"], "payment_id": id, "notes": body["notes"],
                    "receipt": null, "acquirer_data": {"arn": format!("ARN{number:08}")},
                    "created_at": chrono::Utc::now().timestamp(), "batch_id": null,
                    "status": "processed", "speed_requested": "normal", "speed_processed": "normal",
                });
                account.refunds.push(refund.clone());
                account.refund_keys.insert(key, refund.clone());
                ResponseTemplate::new(200).set_body_json(refund)
            }
            _ => refused("The requested URL was not found on the server."),
        }
    }
}

/// Runs an attack (an `async fn(Backend)`) as two tests: `in_memory` and `on_mongodb`.
macro_rules! on_both_backends {
    ($test:ident) => {
        mod $test {
            use $crate::security::shop::Backend;

            #[tokio::test]
            async fn in_memory() {
                super::$test(Backend::Memory).await
            }

            #[tokio::test]
            async fn on_mongodb() {
                super::$test(Backend::Mongo).await
            }
        }
    };
}
pub(crate) use on_both_backends;
