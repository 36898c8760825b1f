//! Product variants through HTTP: a product with options and variants, lists and search that
//! see them, orders of one variant (its stock falls and comes back on cancel), and the 422s
//! of a wrong or missing variant.

use serde_json::{json, Value};

use super::test_app;
use crate::kit::{problem, problem_fields as fields, product_json, Expect, TestApp};
use bazaar::http::orders::body::OrderBody;
use bazaar::http::products::ProductBody;

const PRODUCTS: &str = "/api/v1/products";

/// A tee in sizes S (₹399, 2 left) and M (₹499, the product's price, 5 left).
fn tee(sku: &str) -> Value {
    let mut body = product_json(sku);
    body["options"] = json!([{ "name": "Size", "values": ["S", "M"] }]);
    body["variants"] = json!([
        { "options": { "Size": "S" }, "sku": format!("{sku}-S"), "price": 39_900, "stock": 2 },
        { "options": { "Size": "M" }, "sku": format!("{sku}-M"), "stock": 5 },
    ]);
    body
}

fn variant_id(p: &ProductBody, label: &str) -> String {
    p.variants
        .iter()
        .find(|v| v.label.as_deref() == Some(label))
        .map(|v| v.id.clone())
        .expect("the variant is listed")
}

async fn product(app: &TestApp, id: &str) -> ProductBody {
    app.get(&format!("{PRODUCTS}/{id}")).await.expect(200).await
}

async fn patch(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("request sent")
}

#[tokio::test]
async fn a_product_with_variants_shows_each_and_sums_them_up() {
    let app = test_app().spawn().await;
    let created = app.create_product(tee("VT-1")).await;

    assert_eq!(created.sku, "VT-1");
    assert_eq!((created.price, created.stock), (39_900, Some(7)));
    assert_eq!(created.options[0].values, ["S", "M"]);
    let m = &created.variants[1];
    assert_eq!(
        (m.sku.as_str(), m.price, m.stock),
        ("VT-1-M", 49_900, Some(5))
    );
    assert_eq!(m.options.get("Size").map(String::as_str), Some("M"));
    assert_ne!(m.id, created.id);
}

#[tokio::test]
async fn a_product_without_variants_is_its_own_single_variant() {
    let app = test_app().spawn().await;
    let created = app.create_product(product_json("VT-PLAIN")).await;

    assert!(created.options.is_empty());
    assert_eq!(created.variants.len(), 1);
    assert_eq!(created.variants[0].id, created.id);
    assert_eq!(created.variants[0].sku, "VT-PLAIN");
    assert_eq!(created.variants[0].label, None);
}

#[tokio::test]
async fn every_bad_variant_field_is_reported_with_its_path() {
    let app = test_app().spawn().await;
    let mut body = tee("VT-BAD");
    body["stock"] = json!(3);
    body["variants"][1]["options"] = json!({ "Size": "S" });
    body["variants"][1]["sku"] = json!("vt-bad-s");
    let p = problem(app.post_json(PRODUCTS, &body).await).await;

    assert_eq!(p["code"], "validation_failed");
    assert_eq!(
        fields(&p),
        [
            ("stock".to_owned(), "not_allowed".to_owned()),
            ("variants[1].sku".to_owned(), "duplicate".to_owned()),
            (
                "variants[1].options".to_owned(),
                "duplicate_combination".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn a_variant_sku_is_unique_across_the_catalog() {
    let app = test_app().spawn().await;
    app.create_product(tee("VT-U")).await;
    let p = problem(app.post_json(PRODUCTS, &product_json("vt-u-m")).await).await;
    assert_eq!(p["code"], "conflict");
}

#[tokio::test]
async fn lists_filter_by_any_variants_price_and_search_finds_a_variant_sku() {
    let app = test_app().spawn().await;
    let created = app.create_product(tee("VT-L")).await;
    app.create_product(product_json("VT-OTHER")).await;

    let by_price: Value = app
        .get(&format!("{PRODUCTS}?price_min=45000&price_max=45000&q=VT-"))
        .await
        .expect(200)
        .await;
    let by_sku: Value = app
        .get(&format!("{PRODUCTS}?q=vt-l-m"))
        .await
        .expect(200)
        .await;

    // ₹450 is no price of the tee's (₹399 and ₹499), nor of the other (₹499).
    assert_eq!(by_price["items"].as_array().unwrap().len(), 0);
    let ids: Vec<&str> = by_sku["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [created.id.as_str()]);
    let m_only: Value = app
        .get(&format!("{PRODUCTS}?price_min=49900&q=vt-l"))
        .await
        .expect(200)
        .await;
    assert_eq!(m_only["items"][0]["id"], created.id.as_str());
}

#[tokio::test]
async fn ordering_a_variant_takes_its_stock_and_cancelling_gives_it_back() {
    let app = test_app().spawn().await;
    let created = app.create_product(tee("VT-O")).await;
    let m = variant_id(&created, "M");

    let placed: OrderBody = app
        .post(
            "/api/v1/orders",
            &json!({ "items": [{ "product_id": created.id, "variant_id": m, "quantity": 3 }] }),
        )
        .expect(201)
        .await;
    let after = product(&app, &created.id).await;

    let item = &placed.items[0];
    assert_eq!(item.variant_id, m);
    assert_eq!(item.sku, "VT-O-M");
    assert_eq!(item.variant_label.as_deref(), Some("M"));
    assert_eq!(item.unit_price, 49_900);
    assert_eq!(after.variants[1].stock, Some(2));
    assert_eq!(after.variants[0].stock, Some(2), "S is untouched");

    app.post_json(
        &format!("/api/v1/orders/{}/actions/cancel", placed.id),
        &json!({}),
    )
    .await;
    assert_eq!(product(&app, &created.id).await.variants[1].stock, Some(5));
}

#[tokio::test]
async fn a_missing_or_unknown_variant_is_422_on_the_line() {
    let app = test_app().spawn().await;
    let created = app.create_product(tee("VT-M")).await;
    let plain = app.create_product(product_json("VT-M-PLAIN")).await;

    let p = problem(
        app.post_json(
            "/api/v1/orders",
            &json!({ "items": [
                { "product_id": plain.id, "quantity": 1 },
                { "product_id": created.id, "quantity": 1 },
                { "product_id": created.id, "variant_id": plain.id, "quantity": 1 },
            ] }),
        )
        .await,
    )
    .await;

    assert_eq!(
        fields(&p),
        [
            ("items[1].variant_id".to_owned(), "required".to_owned()),
            ("items[2].variant_id".to_owned(), "not_found".to_owned()),
        ]
    );
    assert_eq!(product(&app, &plain.id).await.stock, None);
}

#[tokio::test]
async fn a_single_variant_product_is_ordered_with_or_without_its_variant_id() {
    let app = test_app().spawn().await;
    let mut body = product_json("VT-S");
    body["stock"] = json!(5);
    let plain = app.create_product(body).await;

    let placed: OrderBody = app
        .post(
            "/api/v1/orders",
            &json!({ "items": [
                { "product_id": plain.id, "quantity": 1 },
                { "product_id": plain.id, "variant_id": plain.id, "quantity": 2 },
            ] }),
        )
        .expect(201)
        .await;

    assert!(placed.items.iter().all(|i| i.variant_id == plain.id));
    assert_eq!(product(&app, &plain.id).await.stock, Some(2));
}

#[tokio::test]
async fn a_patch_keeps_variant_ids_while_their_options_stay() {
    let app = test_app().spawn().await;
    let created = app.create_product(tee("VT-P")).await;

    let path = format!("{PRODUCTS}/{}", created.id);
    let patched: ProductBody = patch(&app, &path, json!({ "name": "Tee, renamed" }))
        .await
        .expect(200)
        .await;

    assert_eq!(patched.variants.len(), 2);
    assert_eq!(
        variant_id(&patched, "M"),
        variant_id(&created, "M"),
        "an edit keeps the ids orders name"
    );
    let refused = problem(patch(&app, &path, json!({ "stock": 4 })).await).await;
    assert_eq!(
        fields(&refused),
        [("stock".to_owned(), "not_allowed".to_owned())]
    );
}

#[tokio::test]
async fn lists_count_option_values_and_keep_what_can_be_bought() {
    let app = test_app().spawn().await;
    let tee = app.create_product(tee("VT-F")).await;
    let mut sold_out = product_json("VT-F-GONE");
    sold_out["options"] = json!([
        { "name": "Size", "values": ["M", "L"] },
        { "name": "Colour", "values": ["Red", "Blue"] },
    ]);
    sold_out["variants"] = json!([
        { "options": { "Size": "M", "Colour": "Red" }, "sku": "VT-F-GONE-MR", "stock": 0 },
        { "options": { "Size": "M", "Colour": "Blue" }, "sku": "VT-F-GONE-MB", "stock": 0 },
    ]);
    let sold_out = app.create_product(sold_out).await;
    let mut plain = product_json("VT-F-PLAIN");
    plain["stock"] = json!(1);
    let plain = app.create_product(plain).await;

    let all: Value = app
        .get(&format!("{PRODUCTS}?q=vt-f&facets=options"))
        .await
        .expect(200)
        .await;
    let buyable: Value = app
        .get(&format!(
            "{PRODUCTS}?q=vt-f&in_stock=true&facets=options&sort=created_at"
        ))
        .await
        .expect(200)
        .await;
    let gone: Value = app
        .get(&format!("{PRODUCTS}?q=vt-f&in_stock=false"))
        .await
        .expect(200)
        .await;

    assert_eq!(
        all["facets"],
        json!({ "options": [
            { "name": "Size", "count": 2, "values": [
                { "value": "M", "count": 2 },
                { "value": "S", "count": 1 },
            ] },
            { "name": "Colour", "count": 1, "values": [
                { "value": "Blue", "count": 1 },
                { "value": "Red", "count": 1 },
            ] },
        ] })
    );
    let ids = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&buyable), [tee.id.as_str(), plain.id.as_str()]);
    assert_eq!(
        buyable["facets"],
        json!({ "options": [{ "name": "Size", "count": 1, "values": [
            { "value": "M", "count": 1 },
            { "value": "S", "count": 1 },
        ] }] })
    );
    assert!(
        buyable["links"]["self"]
            .as_str()
            .unwrap()
            .contains("in_stock=true"),
        "{buyable}"
    );
    assert_eq!(ids(&gone), [sold_out.id.as_str()]);
}
