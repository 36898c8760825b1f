//! The customer's data rights (DPDP Act): downloading everything kept about them, and
//! erasing the account — what goes, what the tax record keeps, and that the phone is free.

use std::time::Duration;

use bazaar::http::auth::TokenPair;
use serde_json::{json, Value};

use super::addresses::save;
use super::auth::signed_up_customer;
use super::files::announce;
use super::orders::product_with_stock;
use super::test_app;
use crate::kit::{bearer_client, problem, TestApp};

const PHONE: &str = "+919812377001";

async fn json(response: reqwest::Response, status: u16) -> Value {
    let got = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// The customer orders `product` to be delivered to a full address, with a note.
async fn customer_order(app: &TestApp, customer: &reqwest::Client, product: &str) -> Value {
    let body = json!({
        "items": [{ "product_id": product, "quantity": 1 }],
        "address": {
            "name": "Asha Rao",
            "line1": "12 MG Road",
            "line2": "Flat 4",
            "city": "Bengaluru",
            "state": "Karnataka",
            "postal_code": "560001",
            "phone": PHONE,
        },
        "notes": "ring the bell twice",
    });
    let response = customer
        .post(app.url("/api/v1/orders"))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    json(response, 201).await
}

/// Pays the customer's order through the fake Razorpay and has staff deliver it.
async fn pay_and_deliver(app: &TestApp, customer: &reqwest::Client, id: &str) {
    let checkout = json(
        customer
            .post(app.url(&format!("/api/v1/orders/{id}/payments")))
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let capture = format!(
        "/api/v1/dev/payments/{}/capture",
        checkout["razorpay_order_id"].as_str().unwrap()
    );
    json(app.post_json(&capture, &json!({})).await, 200).await;
    let delivered = app
        .client
        .put(app.url(&format!("/api/v1/orders/{id}/status")))
        .json(&json!({ "status": "delivered" }))
        .send()
        .await
        .unwrap();
    json(delivered, 200).await;
}

fn customer(tokens: &TokenPair) -> reqwest::Client {
    bearer_client(&tokens.access_token)
}

#[tokio::test]
async fn a_customer_downloads_everything_kept_about_them_and_the_download_is_recorded() {
    let app = test_app().spawn().await;
    let tokens = signed_up_customer(&app, PHONE).await;
    let me = customer(&tokens);
    let marketing = me
        .put(app.url("/api/v1/users/me/preferences"))
        .json(&json!({"language": "hi", "sms": true, "email": false, "whatsapp": false, "marketing": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(marketing, 200).await["marketing"], true);
    let product = product_with_stock(&app, "DPDP-1", 10_000, 5).await;
    let order = customer_order(&app, &me, &product).await;
    let saved = save(
        &app,
        &me,
        &json!({
            "name": "Asha Rao", "phone": PHONE, "line1": "12 MG Road", "city": "Bengaluru",
            "pincode": "560001",
        }),
        201,
    )
    .await;
    me.put(app.url(&format!("/api/v1/cart/items/{product}")))
        .json(&json!({ "product_id": product, "quantity": 2 }))
        .send()
        .await
        .unwrap();

    let data = json(
        me.get(app.url("/api/v1/users/me/data"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;

    assert_eq!(data["user"]["id"], tokens.user.id.as_str());
    assert_eq!(data["user"]["phone"], PHONE);
    assert_eq!(data["preferences"]["language"], "hi");
    let consents = data["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 1, "{consents:?}");
    assert_eq!(consents[0]["purpose"], "marketing");
    assert_eq!(consents[0]["source"], "preferences_api");
    assert_eq!(data["orders"][0]["id"], order["id"]);
    assert_eq!(data["orders"][0]["address"]["line1"], "12 MG Road");
    assert_eq!(data["sessions"][0]["current"], true);
    assert_eq!(data["addresses"], json!([saved]));
    assert_eq!(data["cart"][0]["product_id"], product.as_str());
    assert_eq!(data["cart"][0]["quantity"], 2);
    let kinds: Vec<&str> = data["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["register", "phone_verified", "login_succeeded"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let audit = json(
        app.get(&format!(
            "/api/v1/audit-events?kind=data_exported&user_id={}",
            tokens.user.id
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_erased_account_leaves_the_tax_record_without_the_person_and_its_phone_free() {
    let prepared = test_app().prepare().await;
    let saved_addresses = prepared.backends.addresses.clone();
    let carts = prepared.backends.carts.clone();
    let app = prepared.spawn().await;
    let tokens = signed_up_customer(&app, PHONE).await;
    let me = customer(&tokens);
    let product = product_with_stock(&app, "DPDP-2", 10_000, 5).await;
    let order = customer_order(&app, &me, &product).await;
    let id = order["id"].as_str().unwrap();

    // An order still being paid needs its customer: no erasure until it settles.
    let refused = me.delete(app.url("/api/v1/users/me")).send().await.unwrap();
    assert_eq!(refused.status(), 409);
    assert!(problem(refused).await["detail"]
        .as_str()
        .unwrap()
        .contains(id));
    pay_and_deliver(&app, &me, id).await;
    let upload = announce(&app, &me, "image/png", 100).await;
    let file = upload["file"]["id"].as_str().unwrap();
    let address = json!({
        "name": "Asha Rao", "phone": PHONE, "line1": "12 MG Road", "city": "Bengaluru",
        "pincode": "560001",
    });
    save(&app, &me, &address, 201).await;
    me.put(app.url(&format!("/api/v1/cart/items/{product}")))
        .json(&json!({ "product_id": product, "quantity": 1 }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .expect("the cart holds the item until the erasure");
    let notices_before = to_phone(&app).await;
    assert!(
        !notices_before.is_empty(),
        "paying sent the customer notices"
    );

    let erased = me.delete(app.url("/api/v1/users/me")).send().await.unwrap();
    assert_eq!(erased.status(), 204);

    // Signed out everywhere, and gone.
    let after = me.get(app.url("/api/v1/users/me")).send().await.unwrap();
    assert_eq!(after.status(), 401);
    assert_eq!(
        app.get(&format!("/api/v1/users/{}", tokens.user.id))
            .await
            .status(),
        404
    );
    // The order keeps what was sold, for how much, the tax and the place of supply.
    let kept = json(app.get(&format!("/api/v1/orders/{id}")).await, 200).await;
    assert_eq!(kept["total"], order["total"]);
    assert_eq!(kept["tax"], order["tax"]);
    assert_eq!(kept["status"], "delivered");
    assert_eq!(kept["address"]["state"], "Karnataka");
    assert_eq!(kept["address"]["postal_code"], "560001");
    for gone in ["name", "line1", "city"] {
        assert_eq!(kept["address"][gone], "[erased]", "{gone}");
    }
    assert!(kept["address"].get("line2").is_none() && kept["address"].get("phone").is_none());
    assert!(kept.get("notes").is_none(), "{kept}");
    // No notice keeps the phone, and what they uploaded is gone.
    assert!(to_phone(&app).await.is_empty());
    assert_eq!(
        app.get(&format!("/api/v1/files/{file}")).await.status(),
        404
    );
    let user = bazaar::domain::user::UserId::parse(&tokens.user.id).unwrap();
    assert!(saved_addresses
        .get(&user)
        .await
        .unwrap()
        .addresses
        .is_empty());
    let owner = bazaar::domain::cart::CartOwner::Customer(user.clone());
    assert_eq!(carts.get(&owner, chrono::Utc::now()).await.unwrap(), None);
    // The audit trail says it happened, under the account id.
    let audit = json(
        app.get(&format!(
            "/api/v1/audit-events?kind=account_erased&user_id={}",
            tokens.user.id
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);

    // The phone registers again, as a new account.
    app.advance(Duration::from_secs(30)).await;
    let again = signed_up_customer(&app, PHONE).await;
    assert_ne!(again.user.id, tokens.user.id);
}

/// The admin's view of the outbox: messages still addressed to [`PHONE`].
async fn to_phone(app: &TestApp) -> Vec<Value> {
    let page = json(app.get("/api/v1/admin/outbox?limit=100").await, 200).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == PHONE)
        .cloned()
        .collect()
}

#[tokio::test]
async fn erasing_needs_a_sign_in_from_the_last_ten_minutes() {
    let app = test_app().spawn().await;
    let tokens = signed_up_customer(&app, PHONE).await;
    app.advance(Duration::from_secs(11 * 60)).await;
    let refreshed = json(
        app.anonymous
            .post(app.url("/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": tokens.refresh_token}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let stale = bearer_client(refreshed["access_token"].as_str().unwrap())
        .delete(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 403);
    assert_eq!(problem(stale).await["code"], "recent_sign_in_required");
    assert_eq!(
        app.get(&format!("/api/v1/users/{}", tokens.user.id))
            .await
            .status(),
        200,
        "nothing was erased"
    );
}

#[tokio::test]
async fn the_grievance_contact_is_in_the_contract_when_configured() {
    let app = test_app()
        .env(&[
            ("BAZAAR_GRIEVANCE_NAME", "Meera Iyer"),
            ("BAZAAR_GRIEVANCE_EMAIL", "grievance@shop.example.in"),
            ("BAZAAR_GRIEVANCE_URL", "https://shop.example.in/privacy"),
        ])
        .spawn()
        .await;
    let contract = json(
        app.anonymous
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let contact = &contract["info"]["contact"];
    assert_eq!(contact["name"], "Grievance officer: Meera Iyer");
    assert_eq!(contact["email"], "grievance@shop.example.in");
    assert_eq!(contact["url"], "https://shop.example.in/privacy");
}
