//! `/api/v1/products` end to end.

use serde_json::{json, Value};

use bazaar::http::products::ProductBody;

use super::{test_app, SET};
use crate::kit::{problem, problem_fields, product_json, Expect};

const PRODUCTS: &str = "/api/v1/products";

#[tokio::test]
async fn creating_a_product_answers_201_with_location_etag_and_the_normalised_product() {
    let app = test_app().spawn().await;
    let response = app
        .post_json(
            PRODUCTS,
            &json!({
                "sku": "tee-red-m", "name": "  Red tee ", "price": 49900,
                "category": "fashion", "tags": ["Cotton", "cotton", "summer"]
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("{PRODUCTS}/{}", body["id"].as_str().unwrap())
    );
    assert_eq!(etag, "\"v1\"");
    assert_eq!(body["sku"], "TEE-RED-M");
    assert_eq!(body["name"], "Red tee");
    assert_eq!(body["currency"], "INR");
    assert_eq!(body["tags"], json!(["cotton", "summer"]));
    assert_eq!(body["version"], 1);
    assert!(body.get("description").is_none());

    let fetched: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, body);
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_with_422() {
    let app = test_app().spawn().await;
    let response = app
        .post_json(PRODUCTS, &json!({
            "sku": "has space", "name": "", "price": -100, "currency": "USD",
            "category": "cars", "description": "<script>alert(1)</script>",
            "tags": ["ok", "this tag is far too long", "a", "b", "c", "d", "e", "f", "g", "h", "i"]
        }))
        .await;
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    assert_eq!(body["code"], "validation_failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "sku",
            "name",
            "description",
            "price",
            "currency",
            "category",
            "tags"
        ]
    );
    assert!(
        app.get(PRODUCTS).await.json::<Value>().await.unwrap()["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was stored"
    );
}

/// A body that does not match the schema is 400; one that matches it but breaks
/// a rule is 422.
#[tokio::test]
async fn wrong_types_and_unknown_fields_name_the_field() {
    let app = test_app().spawn().await;
    let mut body = product_json("T-1");
    body["price"] = json!("499");
    let p = problem(app.post_json(PRODUCTS, &body).await).await;
    assert_eq!(
        (p["status"].as_u64(), p["errors"][0]["field"].as_str()),
        (Some(400), Some("price"))
    );

    let mut body = product_json("T-1");
    body["roles"] = json!(["admin"]);
    let p = problem(app.post_json(PRODUCTS, &body).await).await;
    assert_eq!(p["errors"][0]["field"], "roles");
    assert_eq!(p["errors"][0]["code"], "unknown_field");

    let p = problem(app.post_json(PRODUCTS, &json!({"sku": "X"})).await).await;
    assert_eq!(p["errors"][0]["code"], "required");
}

#[tokio::test]
async fn a_taken_sku_answers_409_naming_the_field() {
    let app = test_app().spawn().await;
    app.create_product(product_json("dup-1")).await;
    let body = app
        .post(PRODUCTS, &product_json("DUP-1"))
        .expect_problem(409, "conflict")
        .await;
    assert_eq!(body["errors"][0]["field"], "sku");
}

#[tokio::test]
async fn reads_carry_an_etag_and_honour_if_none_match() {
    let app = test_app().spawn().await;
    let created = app.create_product(product_json("ETAG-1")).await;
    let path = format!("{PRODUCTS}/{}", created.id);
    let first = app.get(&path).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let cached = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"], etag.as_str());
    let other = app
        .client
        .get(app.url(&path))
        .header("if-none-match", "\"v9\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn malformed_and_unknown_ids_get_400_and_404() {
    let app = test_app().spawn().await;
    let bad = problem(app.get(&format!("{PRODUCTS}/not-hex")).await).await;
    assert_eq!(
        (bad["status"].as_u64(), bad["code"].as_str()),
        (Some(400), Some("invalid_parameter"))
    );
    assert_eq!(bad["errors"][0]["field"], "id");
    let missing = problem(
        app.get(&format!("{PRODUCTS}/0123456789abcdef01234567"))
            .await,
    )
    .await;
    assert_eq!(
        (missing["status"].as_u64(), missing["code"].as_str()),
        (Some(404), Some("not_found"))
    );
}

#[tokio::test]
async fn put_replaces_and_patch_changes_only_what_it_names() {
    let app = test_app().spawn().await;
    // Read as sent, to compare the exact `created_at` text a PUT answers later.
    let created: Value = app
        .post(PRODUCTS, &product_json("EDIT-1"))
        .expect_status(201)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("{PRODUCTS}/{}", created["id"].as_str().unwrap());

    let mut replacement = product_json("EDIT-1");
    replacement["name"] = json!("Renamed");
    replacement.as_object_mut().unwrap().remove("description");
    let put = app
        .client
        .put(app.url(&path))
        .json(&replacement)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(put.headers()["etag"], "\"v2\"");
    let put: Value = put.json().await.unwrap();
    assert_eq!(
        (put["name"].as_str(), put["version"].as_u64()),
        (Some("Renamed"), Some(2))
    );
    assert!(
        put.get("description").is_none(),
        "PUT replaces the whole product"
    );
    assert_eq!(put["created_at"], created["created_at"]);

    let patch = app
        .client
        .patch(app.url(&path))
        .json(&json!({"price": 100, "description": "Now described"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    let patched: Value = patch.json().await.unwrap();
    assert_eq!(
        (patched["price"].as_i64(), patched["name"].as_str()),
        (Some(100), Some("Renamed"))
    );
    assert_eq!(patched["description"], "Now described");

    let cleared: Value = app
        .client
        .patch(app.url(&path))
        .json(&json!({"description": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(cleared.get("description").is_none());
    assert_eq!(cleared["version"], 4);

    let invalid = app
        .client
        .patch(app.url(&path))
        .json(&json!({"price": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(invalid).await["errors"][0]["field"], "price");
}

#[tokio::test]
async fn a_product_carries_its_hsn_code_and_tax_class_until_cleared() {
    let app = test_app().spawn().await;
    let plain = app.create_product(product_json("GST-0")).await;
    assert_eq!(
        (plain.hsn_code, plain.tax_class),
        (None, None),
        "the seller's defaults"
    );

    let mut body = product_json("GST-1");
    body["hsn_code"] = json!("490110");
    body["tax_class"] = json!("standard_12_to_5");
    let created = app.create_product(body).await;
    assert_eq!(created.hsn_code.as_deref(), Some("490110"));
    assert_eq!(created.tax_class.as_deref(), Some("standard_12_to_5"));
    let path = format!("{PRODUCTS}/{}", created.id);
    let read: ProductBody = app.client.get(app.url(&path)).expect(200).await;
    assert_eq!(
        (read.hsn_code.as_deref(), read.tax_class.as_deref()),
        (Some("490110"), Some("standard_12_to_5"))
    );

    let patch = |changes: Value| app.client.patch(app.url(&path)).json(&changes);
    let changed: ProductBody = patch(json!({"hsn_code": "998314", "tax_class": "standard_18"}))
        .expect(200)
        .await;
    assert_eq!(
        (changed.hsn_code.as_deref(), changed.tax_class.as_deref()),
        (Some("998314"), Some("standard_18"))
    );
    let kept: ProductBody = patch(json!({"price": 100})).expect(200).await;
    assert_eq!(kept.tax_class.as_deref(), Some("standard_18"));
    let cleared: ProductBody = patch(json!({"hsn_code": null, "tax_class": null}))
        .expect(200)
        .await;
    assert_eq!((cleared.hsn_code, cleared.tax_class), (None, None));

    let mut replacement = product_json("GST-1");
    replacement["tax_class"] = json!("exempt");
    let put: ProductBody = app
        .client
        .put(app.url(&path))
        .json(&replacement)
        .expect(200)
        .await;
    assert_eq!(
        (put.hsn_code, put.tax_class.as_deref()),
        (None, Some("exempt"))
    );
}

#[tokio::test]
async fn a_bad_hsn_code_or_a_class_not_in_the_rate_table_is_422() {
    let app = test_app().spawn().await;
    let mut body = product_json("GST-2");
    body["hsn_code"] = json!("12345");
    body["tax_class"] = json!("standard_28");
    let p = app
        .post(PRODUCTS, &body)
        .expect_problem(422, "validation_failed")
        .await;
    assert_eq!(
        problem_fields(&p),
        [
            ("hsn_code".to_owned(), "invalid_hsn".to_owned()),
            ("tax_class".to_owned(), "unknown_tax_class".to_owned())
        ]
    );

    let created = app.create_product(product_json("GST-3")).await;
    let path = format!("{PRODUCTS}/{}", created.id);
    let p = app
        .client
        .patch(app.url(&path))
        .json(&json!({"hsn_code": "99831"}))
        .expect_problem(422, "validation_failed")
        .await;
    assert_eq!(
        problem_fields(&p),
        [("hsn_code".to_owned(), "invalid_sac".to_owned())]
    );
    let p = app
        .client
        .patch(app.url(&path))
        .json(&json!({"tax_class": "luxury_28"}))
        .expect_problem(422, "validation_failed")
        .await;
    assert_eq!(problem_fields(&p)[0].1, "unknown_tax_class");
    // Digits only, as the contract's pattern says: dots are refused, not dropped.
    let p = app
        .client
        .patch(app.url(&path))
        .json(&json!({"hsn_code": "4901.10"}))
        .expect_problem(422, "validation_failed")
        .await;
    assert_eq!(problem_fields(&p)[0].0, "hsn_code", "{p}");
}

#[tokio::test]
async fn if_match_guards_writes_with_412() {
    let app = test_app().spawn().await;
    let created = app.create_product(product_json("IFM-1")).await;
    let path = format!("{PRODUCTS}/{}", created.id);

    let ok = app
        .client
        .patch(app.url(&path))
        .header("if-match", "\"v1\"")
        .json(&json!({"price": 200}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let stale = app
        .client
        .patch(app.url(&path))
        .header("if-match", "\"v1\"")
        .json(&json!({"price": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(problem(stale).await["code"], "precondition_failed");
    let current: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(current["price"], 200, "the stale write changed nothing");

    let any = app
        .client
        .put(app.url(&path))
        .header("if-match", "*")
        .json(&product_json("IFM-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(any.status(), 200);

    let stale_delete = app
        .client
        .delete(app.url(&path))
        .header("if-match", "\"v2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale_delete.status(), 412);
    let delete = app
        .client
        .delete(app.url(&path))
        .header("if-match", "\"v3\"")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 204);
    assert_eq!(app.get(&path).await.status(), 404);
    assert_eq!(
        app.client
            .delete(app.url(&path))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn seed(app: &crate::kit::TestApp) {
    let items = [
        ("K1", "Steel kettle", 1500, "home", vec!["kitchen"]),
        ("K2", "Blue mug", 300, "home", vec!["kitchen"]),
        ("B1", "Atlas of India", 900, "books", vec!["maps"]),
        ("B2", "Cookbook (vegetarian)", 650, "books", vec!["kitchen"]),
        ("T1", "Puzzle", 300, "toys", vec![]),
    ];
    for (sku, name, price, category, tags) in items {
        app.create_product(
            json!({"sku": sku, "name": name, "price": price, "category": category, "tags": tags}),
        )
        .await;
    }
}

fn skus(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_filter_and_sort() {
    let app = test_app().spawn().await;
    seed(&app).await;
    let cases = [
        ("category=home&sort=price", vec!["K2", "K1"]),
        (
            "price_min=300&price_max=900&sort=-price",
            vec!["B1", "B2", "T1", "K2"],
        ),
        ("tag=kitchen&sort=name", vec!["K2", "B2", "K1"]),
        ("q=VEGETARIAN", vec!["B2"]),
        ("q=%28vegetarian%29", vec!["B2"]),
        ("q=.%2A", vec![]),
        ("sort=created_at&limit=2", vec!["K1", "K2"]),
    ];
    for (query, expected) in cases {
        let response = app.get(&format!("{PRODUCTS}?{query}")).await;
        assert_eq!(response.status(), 200, "{query}");
        assert_eq!(skus(&response.json().await.unwrap()), expected, "{query}");
    }
}

#[tokio::test]
async fn cursor_pagination_follows_links_to_the_end() {
    let app = test_app().spawn().await;
    seed(&app).await;
    let mut next = Some(format!("{PRODUCTS}?sort=price&limit=2"));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(link) = next {
        let body: Value = app.get(&link).await.json().await.unwrap();
        seen.extend(skus(&body));
        assert_eq!(body["has_prev"], pages > 0);
        assert!(body.get("total").is_none(), "cursor mode does not count");
        assert!(body["links"]["first"]
            .as_str()
            .unwrap()
            .contains("sort=price"));
        next = body["links"]["next"].as_str().map(str::to_owned);
        assert_eq!(next.is_some(), body["has_next"].as_bool().unwrap());
        assert_eq!(next.is_some(), body["next_cursor"].is_string());
        pages += 1;
    }
    assert_eq!(pages, 3);
    seen.sort();
    assert_eq!(seen, ["B1", "B2", "K1", "K2", "T1"]);
}

#[tokio::test]
async fn page_mode_reports_totals_and_links() {
    let app = test_app().spawn().await;
    seed(&app).await;
    let body: Value = app
        .get(&format!("{PRODUCTS}?sort=created_at&limit=2&page=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(skus(&body), ["B1", "B2"]);
    assert_eq!(
        (
            body["page"].as_u64(),
            body["total"].as_u64(),
            body["total_pages"].as_u64()
        ),
        (Some(2), Some(5), Some(3))
    );
    assert_eq!(
        (body["has_next"].as_bool(), body["has_prev"].as_bool()),
        (Some(true), Some(true))
    );
    let links = &body["links"];
    for (rel, page) in [
        ("self", 2),
        ("first", 1),
        ("prev", 1),
        ("next", 3),
        ("last", 3),
    ] {
        let link = links[rel]
            .as_str()
            .unwrap_or_else(|| panic!("no {rel} link: {links}"));
        assert!(
            link.ends_with(&format!("page={page}"))
                && link.contains("sort=created_at")
                && link.contains("limit=2"),
            "{rel}: {link}"
        );
    }
    let last: Value = app
        .get(links["last"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(skus(&last), ["T1"]);
    assert!(last["links"].get("next").is_none());
}

#[tokio::test]
async fn bad_list_parameters_get_clear_400s() {
    let app = test_app().spawn().await;
    seed(&app).await;
    let first: Value = app
        .get(&format!("{PRODUCTS}?limit=1"))
        .await
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let cases = [
        ("limit=10000".to_owned(), "invalid_parameter", "limit"),
        ("limit=0".to_owned(), "invalid_parameter", "limit"),
        ("limit=ten".to_owned(), "invalid_parameter", "limit"),
        ("sort=colour".to_owned(), "invalid_parameter", "sort"),
        ("price_min=-1".to_owned(), "invalid_parameter", "price_min"),
        ("in_stock=yes".to_owned(), "invalid_parameter", "in_stock"),
        ("facets=bogus".to_owned(), "invalid_parameter", "facets"),
        ("category=cars".to_owned(), "invalid_parameter", "category"),
        ("page=0".to_owned(), "invalid_parameter", "page"),
        (
            "cursor=%21%21garbage".to_owned(),
            "invalid_cursor",
            "cursor",
        ),
        (
            format!("cursor={cursor}&sort=price"),
            "invalid_cursor",
            "cursor",
        ),
        (
            format!("cursor={cursor}&category=home"),
            "invalid_cursor",
            "cursor",
        ),
        ("q=".to_owned() + &"x".repeat(201), "invalid_parameter", "q"),
        (
            "limit=5&limit=6".to_owned(),
            "duplicate_query_parameter",
            "limit",
        ),
    ];
    for (query, code, field) in cases {
        let response = app.get(&format!("{PRODUCTS}?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body = problem(response).await;
        assert_eq!(body["code"], code, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
        assert!(
            body["detail"].as_str().unwrap().len() > 10,
            "{query}: {body}"
        );
    }
}

/// The contract cannot relate two parameters, so pairs it allows are not refused:
/// `price_max` below `price_min` is an empty range, and `relevance` without `q` (nothing to
/// be relevant to) is the default order.
#[tokio::test]
async fn an_inverted_price_range_is_empty_and_relevance_without_q_is_the_default_order() {
    let app = test_app().spawn().await;
    seed(&app).await;
    let inverted = app
        .get(&format!("{PRODUCTS}?price_min=1000&price_max=500"))
        .await;
    assert_eq!(inverted.status(), 200);
    let inverted: Value = inverted.json().await.unwrap();
    assert!(skus(&inverted).is_empty(), "{inverted}");

    let default: Value = app.get(PRODUCTS).await.json().await.unwrap();
    let relevance = app.get(&format!("{PRODUCTS}?sort=relevance")).await;
    assert_eq!(relevance.status(), 200);
    let relevance: Value = relevance.json().await.unwrap();
    assert_eq!(skus(&relevance), skus(&default));
    assert_eq!(skus(&default).len(), 5);
}

/// The contract cannot declare `page` and `cursor` exclusive, so the pair is not refused:
/// the page wins and the cursor is ignored, even one that would not decode.
#[tokio::test]
async fn a_page_sent_with_a_cursor_wins_and_the_cursor_is_ignored() {
    let app = test_app().spawn().await;
    seed(&app).await;
    let page_two: Value = app
        .get(&format!("{PRODUCTS}?sort=created_at&limit=2&page=2"))
        .await
        .json()
        .await
        .unwrap();

    for cursor in ["%21%21garbage", "eyJzIjoieCJ9"] {
        let response = app
            .get(&format!(
                "{PRODUCTS}?sort=created_at&limit=2&page=2&cursor={cursor}"
            ))
            .await;
        assert_eq!(response.status(), 200, "cursor {cursor}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["page"], 2);
        assert_eq!(skus(&body), skus(&page_two), "cursor {cursor}");
    }
}

#[tokio::test]
async fn list_pages_carry_an_etag_that_changes_with_the_data() {
    let app = test_app().spawn().await;
    seed(&app).await;
    let etag = app.get(PRODUCTS).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let unchanged = app
        .client
        .get(app.url(PRODUCTS))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);
    app.create_product(product_json("NEW-1")).await;
    let changed = app
        .client
        .get(app.url(PRODUCTS))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
}

#[tokio::test]
async fn requests_over_the_rate_limit_get_429_with_retry_after_and_ratelimit_headers() {
    let app = test_app()
        .env(&[("BAZAAR_RATE_LIMIT_DEFAULT_PER_MINUTE", "3")])
        .spawn()
        .await;
    for remaining in [2, 1, 0] {
        let response = app.get(PRODUCTS).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "3");
        assert_eq!(
            response.headers()["ratelimit-remaining"],
            remaining.to_string().as_str()
        );
        let reset: u64 = response.headers()["ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset));
    }
    let limited = app.post_json(PRODUCTS, &product_json("RL-3")).await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    let body = problem(limited).await;
    assert_eq!(
        (body["code"].as_str(), body["retryable"].as_bool()),
        (Some("rate_limited"), Some(true))
    );
    // The budget is the admin's; an anonymous caller has its own.
    assert_eq!(
        app.anonymous
            .get(app.url(PRODUCTS))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Operations endpoints are not limited.
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn product_writes_need_the_products_write_permission() {
    let app = test_app().spawn().await;
    let anonymous = app
        .anonymous
        .post(app.url(PRODUCTS))
        .json(&product_json("P-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(problem(anonymous).await["code"], "unauthorized");
    let customer = super::auth::signed_up_customer(&app, "98111 22333").await;
    let client = crate::kit::bearer_client(&customer.access_token);
    let refused = client
        .post(app.url(PRODUCTS))
        .json(&product_json("P-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(problem(refused).await["code"], "forbidden");
    assert_eq!(
        client.get(app.url(PRODUCTS)).send().await.unwrap().status(),
        200,
        "anyone may read"
    );
    app.create_product(product_json("P-1")).await;
}

#[tokio::test]
async fn the_products_api_round_trips_and_readiness_names_the_backends() {
    let app = test_app().spawn().await;
    let created = app.create_product(product_json("REAL-1")).await;
    app.create_product(product_json("REAL-2")).await;
    let path = format!("{PRODUCTS}/{}", created.id);
    assert_eq!(
        app.get(&path).await.json::<Value>().await.unwrap(),
        serde_json::to_value(&created).unwrap()
    );
    assert_eq!(
        app.post_json(PRODUCTS, &product_json("real-1"))
            .await
            .status(),
        409
    );
    let patched = app
        .client
        .patch(app.url(&path))
        .header("if-match", "\"v1\"")
        .json(&json!({"price": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let list: Value = app
        .get(&format!("{PRODUCTS}?sort=price&page=1&limit=1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (skus(&list), list["total"].as_u64()),
        (vec!["REAL-1".to_owned()], Some(2))
    );
    let ready: Value = app.get("/health/ready").await.json().await.unwrap();
    let (storage, key_value) = SET.backend_names();
    assert_eq!(ready["checks"][0]["backend"], storage);
    assert_eq!(ready["checks"][1]["backend"], key_value);
    assert_eq!(
        app.client
            .delete(app.url(&path))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
}

#[tokio::test]
async fn a_product_id_that_is_not_24_hex_characters_is_an_invalid_parameter_named_id() {
    let app = test_app().spawn().await;
    for (method, bad) in [("GET", "zzz"), ("DELETE", "0123456789abcdef0123456g")] {
        let response = app
            .client
            .request(
                method.parse().unwrap(),
                app.url(&format!("/api/v1/products/{bad}")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{method} {bad}");
        let body = problem(response).await;
        assert_eq!(body["code"], "invalid_parameter");
        assert_eq!(body["errors"][0]["field"], "id");
        assert_eq!(
            body["errors"][0]["message"],
            "must be 24 hexadecimal characters"
        );
    }
}
