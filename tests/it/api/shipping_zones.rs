//! Staff's shipping zones over HTTP: create, read, list, replace, delete, each audited
//! with the actor; every invalid field reported at once; customers refused.

use serde_json::{json, Value};

use super::auth::signed_up_customer;
use super::test_app;
use crate::kit::{bearer_client, Expect, TestApp};

const ZONES: &str = "/api/v1/admin/shipping-zones";

fn bengaluru() -> Value {
    json!({
        "name": "Bengaluru",
        "pincode_prefixes": ["560", "562"],
        "fee_paise": 2900,
        "free_shipping_at_paise": 49900,
        "cod": { "offered": true, "max_order_paise": 500000 },
        "estimate": { "min_days": 1, "max_days": 2 },
    })
}

async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

async fn admin_id(app: &TestApp) -> String {
    body(app.get("/api/v1/users/me").await.expect_status(200).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn staff_create_read_replace_and_delete_a_zone_and_each_change_is_audited() {
    let app = test_app().spawn().await;
    let admin = admin_id(&app).await;
    let created = app.post(ZONES, &bengaluru()).expect_status(201).await;
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let zone = body(created).await;
    let id = zone["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{ZONES}/{id}"));
    assert_eq!(zone["pincode_prefixes"], json!(["560", "562"]));
    assert_eq!(zone["states"], json!([]));
    assert_eq!(zone["enabled"], true);
    assert_eq!(
        zone["cod"],
        json!({ "offered": true, "max_order_paise": 500000 })
    );
    let read = body(app.get(&location).await.expect_status(200).await).await;
    assert_eq!(read, zone);

    let mut replacement = bengaluru();
    replacement["states"] = json!(["29"]);
    replacement["enabled"] = json!(false);
    replacement["cod"] = json!({ "offered": false });
    let replaced = body(
        app.client
            .put(app.url(&location))
            .json(&replacement)
            .expect_status(200)
            .await,
    )
    .await;
    assert_eq!(
        (replaced["enabled"].clone(), replaced["states"].clone()),
        (json!(false), json!(["29"]))
    );
    assert_eq!(replaced["cod"], json!({ "offered": false }));
    assert_eq!(replaced["created_at"], zone["created_at"]);
    let list = body(app.get(ZONES).await.expect_status(200).await).await;
    assert_eq!(list["items"], json!([replaced]));

    app.client
        .delete(app.url(&location))
        .expect_status(204)
        .await;
    app.get(&location)
        .await
        .expect_problem(404, "not_found")
        .await;
    app.client
        .delete(app.url(&location))
        .expect_problem(404, "not_found")
        .await;

    let events = body(
        app.get(&format!(
            "/api/v1/audit-events?kind=shipping_zone_changed&actor_id={admin}"
        ))
        .await
        .expect_status(200)
        .await,
    )
    .await;
    let details: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 3, "{details:?}");
    assert!(
        details[0].contains("deleted") && details[2].contains("created"),
        "{details:?}"
    );
}

#[tokio::test]
async fn an_invalid_zone_reports_every_field() {
    let app = test_app().spawn().await;
    let mut bad = bengaluru();
    bad["pincode_prefixes"] = json!([]);
    bad["estimate"] = json!({ "min_days": 5, "max_days": 2 });
    bad["name"] = json!("   ");
    let problem = app
        .post(ZONES, &bad)
        .expect_problem(422, "validation_failed")
        .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "states", "estimate.max_days"], "{problem}");
    bad["colour"] = json!("red");
    app.post(ZONES, &bad).expect_status(400).await;
    app.get(&format!("{ZONES}/not-an-id"))
        .await
        .expect_problem(400, "invalid_parameter")
        .await;
}

#[tokio::test]
async fn customers_may_not_see_or_change_zones() {
    let app = test_app().spawn().await;
    let customer = signed_up_customer(&app, "98124 11001").await;
    let client = bearer_client(&customer.access_token);
    client
        .get(app.url(ZONES))
        .expect_problem(403, "forbidden")
        .await;
    client
        .post(app.url(ZONES))
        .json(&bengaluru())
        .expect_problem(403, "forbidden")
        .await;
    app.anonymous
        .get(app.url(ZONES))
        .expect_problem(401, "unauthorized")
        .await;
}
