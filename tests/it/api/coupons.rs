//! Staff's coupons over HTTP: create (codes case-insensitive), read, list with uses,
//! replace or disable, delete, each audited with the actor; every invalid field reported
//! at once; customers refused.

use serde_json::{json, Value};

use super::auth::signed_up_customer;
use super::test_app;
use crate::kit::{bearer_client, Expect};

const COUPONS: &str = "/api/v1/admin/coupons";

fn diwali() -> Value {
    json!({
        "code": "diwali-10",
        "discount": { "kind": "percent", "percent_bp": 1000, "max_paise": 20000 },
        "min_order_paise": 99900,
        "starts_at": "2026-10-20T00:00:00Z",
        "ends_at": "2026-11-05T00:00:00Z",
        "total_limit": 1000,
        "per_customer_limit": 1,
        "categories": ["fashion"],
    })
}

async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

fn rules(mut coupon: Value) -> Value {
    coupon.as_object_mut().unwrap().remove("code");
    coupon
}

#[tokio::test]
async fn staff_create_read_disable_and_delete_a_coupon_and_each_change_is_audited() {
    let app = test_app().spawn().await;
    let created = app.post(COUPONS, &diwali()).expect_status(201).await;
    assert_eq!(
        created.headers()["location"].to_str().unwrap(),
        format!("{COUPONS}/DIWALI-10")
    );
    let coupon = body(created).await;
    assert_eq!(coupon["code"], "DIWALI-10");
    assert_eq!(
        (coupon["uses"].clone(), coupon["enabled"].clone()),
        (json!(0), json!(true))
    );
    assert_eq!(coupon["first_order_only"], false);
    assert_eq!(
        coupon["discount"],
        json!({ "kind": "percent", "percent_bp": 1000, "max_paise": 20000 })
    );
    let mut again = diwali();
    again["code"] = json!("DiWaLi-10");
    app.post(COUPONS, &again)
        .expect_problem(409, "conflict")
        .await;
    let read = body(
        app.get(&format!("{COUPONS}/Diwali-10"))
            .await
            .expect_status(200)
            .await,
    )
    .await;
    assert_eq!(read, coupon);

    let mut disabled = rules(diwali());
    disabled["enabled"] = json!(false);
    disabled["discount"] = json!({ "kind": "flat", "amount_paise": 5000 });
    let replaced = body(
        app.client
            .put(app.url(&format!("{COUPONS}/diwali-10")))
            .json(&disabled)
            .expect_status(200)
            .await,
    )
    .await;
    assert_eq!(replaced["enabled"], false);
    assert_eq!(
        replaced["discount"],
        json!({ "kind": "flat", "amount_paise": 5000 })
    );
    assert_eq!(replaced["created_at"], coupon["created_at"]);
    let list = body(app.get(COUPONS).await.expect_status(200).await).await;
    assert_eq!(list["items"], json!([replaced]));

    app.client
        .delete(app.url(&format!("{COUPONS}/DIWALI-10")))
        .expect_status(204)
        .await;
    app.get(&format!("{COUPONS}/DIWALI-10"))
        .await
        .expect_problem(404, "not_found")
        .await;
    app.client
        .put(app.url(&format!("{COUPONS}/DIWALI-10")))
        .json(&disabled)
        .expect_problem(404, "not_found")
        .await;
    let events = body(
        app.get("/api/v1/audit-events?kind=coupon_changed")
            .await
            .expect_status(200)
            .await,
    )
    .await;
    let events = events["items"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events.iter().all(|e| e["actor_id"].is_string()));
}

#[tokio::test]
async fn an_invalid_coupon_reports_every_field() {
    let app = test_app().spawn().await;
    let bad = json!({
        "code": "diwali-10",
        "discount": { "kind": "flat", "percent_bp": 10 },
        "starts_at": "2026-11-05T00:00:00Z",
        "ends_at": "2026-11-05T00:00:00Z",
        "categories": ["no-such-category"],
    });
    let problem = app
        .post(COUPONS, &bad)
        .expect_problem(422, "validation_failed")
        .await;
    let errors: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            ("discount.percent_bp", "not_allowed"),
            ("discount.amount_paise", "required"),
            ("ends_at", "before_start"),
            ("categories[0]", "unknown_category"),
        ],
        "{problem}"
    );
    let mut unknown_field = diwali();
    unknown_field["discount"]["colour"] = json!("red");
    app.post(COUPONS, &unknown_field).expect_status(400).await;
    app.get(&format!("{COUPONS}/x"))
        .await
        .expect_problem(400, "invalid_parameter")
        .await;
}

#[tokio::test]
async fn customers_may_not_see_or_change_coupons() {
    let app = test_app().spawn().await;
    let customer = signed_up_customer(&app, "98124 11002").await;
    let client = bearer_client(&customer.access_token);
    client
        .get(app.url(COUPONS))
        .expect_problem(403, "forbidden")
        .await;
    client
        .post(app.url(COUPONS))
        .json(&diwali())
        .expect_problem(403, "forbidden")
        .await;
}
