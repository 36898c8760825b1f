//! The catalog in depth through HTTP: batches, search and facets, stock, and the
//! product cache (reads see this replica's writes at once).

use serde_json::{json, Value};

use super::test_app;
use crate::kit::{problem, product_json};

async fn send(
    app: &crate::kit::TestApp,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .json(body)
        .send()
        .await
        .expect("request sent")
}

/// Each item's `status`, in order.
fn statuses(batch: &Value) -> Vec<u64> {
    batch["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .map(|r| r["status"].as_u64().expect("a status"))
        .collect()
}

#[tokio::test]
async fn a_batch_create_reports_each_item_and_a_bad_one_does_not_sink_the_others() {
    let app = test_app().spawn().await;
    // Within the item schema, but not a category this store sells: that item fails alone.
    let mut bad_category = product_json("B-2");
    bad_category["category"] = json!("cars");
    let body = json!({ "items": [product_json("B-1"), bad_category, product_json("B-1"), product_json("B-3")] });

    let response = app.post_json("/api/v1/products/batch", &body).await;

    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(
        (result["succeeded"].as_u64(), result["failed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(statuses(&result), [201, 422, 409, 201]);
    assert_eq!(
        result["results"][1]["problem"]["errors"][0]["field"],
        "category"
    );
    assert_eq!(result["results"][2]["problem"]["code"], "conflict");
    let id = result["results"][3]["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/products/{id}")).await.status(),
        200
    );
}

/// An item outside the item's schema in the contract (here a negative price, an image list
/// over its `maxItems`, a `version` of the wrong type) makes the request invalid as the
/// contract defines it: the whole batch is refused with 422 naming the item, and nothing
/// is created.
#[tokio::test]
async fn a_batch_with_an_item_outside_its_schema_is_refused_whole() {
    let app = test_app().spawn().await;
    let mut bad_price = product_json("S-2");
    bad_price["price"] = json!(-1);
    let mut many_images = product_json("S-3");
    many_images["images"] = json!(vec!["0123456789abcdef01234567"; 11]);
    for (items, index) in [
        (json!([product_json("S-1"), bad_price]), "items[1]"),
        (json!([many_images]), "items[0]"),
    ] {
        let response = app
            .post_json("/api/v1/products/batch", &json!({ "items": items }))
            .await;

        assert_eq!(response.status(), 422);
        let p = problem(response).await;
        assert_eq!(p["code"], "validation_failed", "{p}");
        assert_eq!(p["errors"][0]["field"], index, "{p}");
    }
    let list: Value = app.get("/api/v1/products").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
}

#[tokio::test]
async fn batch_patch_and_delete_apply_per_item_with_versions() {
    let app = test_app().spawn().await;
    let a = app.create_product(product_json("P-A")).await;
    let b = app.create_product(product_json("P-B")).await;
    let (a_id, b_id) = (a.id.as_str(), b.id.as_str());

    let patch = json!({ "items": [
        { "id": a_id, "version": 1, "changes": { "price": 100, "stock": 7 } },
        { "id": b_id, "version": 9, "changes": { "price": 200 } },
        { "id": "0123456789abcdef01234567", "changes": { "price": 300 } },
    ]});
    let result: Value = send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/products/batch",
        &patch,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(statuses(&result), [200, 412, 404]);
    assert_eq!(result["results"][0]["product"]["stock"], 7);

    let delete = json!({ "items": [{ "id": a_id }, { "id": a_id }, { "id": b_id, "version": 1 }] });
    let result: Value = send(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/products/batch",
        &delete,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(statuses(&result), [204, 404, 204]);
    assert_eq!(
        app.get(&format!("/api/v1/products/{b_id}")).await.status(),
        404
    );
}

#[tokio::test]
async fn an_empty_oversized_or_malformed_batch_is_refused_whole() {
    let app = test_app().spawn().await;
    let items: Vec<Value> = (0..101).map(|i| product_json(&format!("S-{i}"))).collect();
    for (body, status, code) in [
        (json!({ "items": [] }), 422, "validation_failed"),
        (json!({ "items": items }), 422, "validation_failed"),
        (json!({ "items": "nope" }), 400, "malformed_body"),
        (json!({ "products": [] }), 400, "malformed_body"),
    ] {
        let response = app.post_json("/api/v1/products/batch", &body).await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(problem(response).await["code"], code);
    }
    let list: Value = app
        .get("/api/v1/products?page=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "nothing of a refused batch was created");
}

#[tokio::test]
async fn a_customer_cannot_write_batches() {
    let app = test_app().spawn().await;
    let response = app
        .anonymous
        .post(app.url("/api/v1/products/batch"))
        .json(&json!({ "items": [product_json("X")] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn search_and_facets_come_in_one_answer() {
    let app = test_app().spawn().await;
    for (sku, name, price, tags) in [
        ("T1", "Green Tea", 30_000, vec!["tea", "organic"]),
        ("T2", "Tea", 120_000, vec!["tea"]),
        ("T3", "Tea Strainer", 60_000, vec!["kitchen"]),
        ("K1", "Kettle", 250_000, vec!["kitchen"]),
    ] {
        let mut body = product_json(sku);
        body["name"] = json!(name);
        body["price"] = json!(price);
        body["tags"] = json!(tags);
        body["description"] = json!("Fine");
        app.create_product(body).await;
    }

    let response = app
        .get("/api/v1/products?q=TÉA&facets=category,tags,price_range")
        .await;
    assert_eq!(response.status(), 200);
    let list: Value = response.json().await.unwrap();
    let skus: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect();
    assert_eq!(
        skus,
        ["T2", "T1", "T3"],
        "exact name first, accents and case ignored"
    );
    assert_eq!(
        list["facets"]["category"],
        json!([{ "value": "books", "count": 3 }])
    );
    assert_eq!(
        list["facets"]["tags"][0],
        json!({ "value": "tea", "count": 2 })
    );
    let ranges: Vec<u64> = list["facets"]["price_range"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .collect();
    assert_eq!(ranges, [1, 1, 1, 0, 0]);
}

#[tokio::test]
async fn bad_search_and_facet_parameters_are_clear_4xx_problems() {
    let app = test_app().spawn().await;
    let long = "a".repeat(10_000);
    for (query, field) in [
        ("facets=category,colour".to_owned(), "facets"),
        (format!("q={long}"), "q"),
    ] {
        let response = app.get(&format!("/api/v1/products?{query}")).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{query}: {status}");
        let body = problem(response).await;
        assert!(body.to_string().contains(field), "{query}: {body}");
    }
    // Regex metacharacters are literal text, not a pattern (and never an error).
    let response = app.get("/api/v1/products?q=.*%5B(%5C").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_write_is_read_back_at_once_through_the_cache_and_the_metrics_count_hits() {
    let app = test_app().spawn().await;
    let created = app.create_product(product_json("C-1")).await;
    let path = format!("/api/v1/products/{}", created.id);
    for _ in 0..3 {
        assert_eq!(app.get(&path).await.status(), 200);
    }
    let listed: Value = app
        .get("/api/v1/products?limit=5")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["price"], 49900);

    let response = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &json!({ "price": 100 }),
    )
    .await;
    assert_eq!(response.status(), 200);

    let read: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(
        read["price"], 100,
        "the product read is fresh after the write"
    );
    let listed: Value = app
        .get("/api/v1/products?limit=5")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["items"][0]["price"], 100,
        "the list is fresh after the write"
    );

    let metrics = app.get("/metrics").await.text().await.unwrap();
    let hits = metrics
        .lines()
        .find(|l| l.starts_with("cache_lookups_total{cache=\"product\",result=\"l1_hit\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(
        hits >= 2,
        "repeated reads hit the in-process cache:\n{metrics}"
    );
    assert!(metrics.contains("cache_lookups_total{cache=\"product\",result=\"miss\"}"));
}
