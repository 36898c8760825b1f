//! A product's images are public, so attaching a file to a product publishes it. A catalog
//! manager used to be able to attach any customer's private upload by id (an invoice, an ID
//! card) and so publish it to everyone. A product may now show only files the acting staff
//! member uploaded, or files another product already shows; anyone else's file is
//! `file_not_found` at `images[i]`, as the file itself is not found for that person, and
//! nothing is stored. Admins (`files:manage`) are held to the same rule.

use reqwest::{Client, Response};
use serde_json::{json, Value};

use super::prod::Production;
use super::uploads::{admin, catalog_manager, get_file, png, sign_up, uploaded};
use crate::kit::{get_json, problem, product_json, BackendSet, TestApp};

const PRODUCTS: &str = "/api/v1/products";

async fn create_product(base: &str, client: &Client, sku: &str, images: &[&str]) -> Response {
    let mut body = product_json(sku);
    body["images"] = json!(images);
    client
        .post(format!("{base}{PRODUCTS}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Creates a product; panics unless 201. Answers its id.
async fn created_product(base: &str, client: &Client, sku: &str, images: &[&str]) -> String {
    let response = create_product(base, client, sku, images).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// A 422 naming `images[0]` as `file_not_found`.
async fn refused_as_not_found(response: Response, what: &str) {
    assert_eq!(response.status(), 422, "{what}");
    let problem = problem(response).await;
    assert_eq!(problem["code"], "validation_failed", "{what}");
    assert_eq!(
        problem["errors"],
        json!([{
            "field": "images[0]",
            "code": "file_not_found",
            "message": problem["errors"][0]["message"],
        }]),
        "{what}"
    );
}

async fn a_customers_private_file_cannot_be_put_on_a_product(base: &str) {
    let customer = sign_up(base, "+919812370001").await;
    let secret_bytes = png(300, 9);
    let (secret, _) = uploaded(base, &customer, secret_bytes.clone()).await;
    let manager = catalog_manager(base, "+919812370002").await;
    let admin = admin(base).await;

    refused_as_not_found(
        create_product(base, &manager, "LEAK-1", &[&secret]).await,
        "a catalog manager creating a product",
    )
    .await;
    refused_as_not_found(
        create_product(base, &admin, "LEAK-1", &[&secret]).await,
        "an admin creating a product",
    )
    .await;

    // An existing product cannot gain it either, by merge patch or by replacement.
    let product = created_product(base, &manager, "LEAK-1", &[]).await;
    let url = format!("{base}{PRODUCTS}/{product}");
    let patched = manager
        .patch(&url)
        .json(&json!({"images": [secret]}))
        .send()
        .await
        .unwrap();
    refused_as_not_found(patched, "patching a product").await;
    let mut replacement = product_json("LEAK-1");
    replacement["images"] = json!([secret]);
    let replaced = manager.put(&url).json(&replacement).send().await.unwrap();
    refused_as_not_found(replaced, "replacing a product").await;

    // The product never showed it, and the public image route does not serve it.
    let shown: Value = get_json(&Client::new(), &url).await;
    assert_eq!(shown["images"], json!([]));
    let image = Client::new()
        .get(format!("{url}/images/{secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 404);
    // The customer still has their file, private and intact.
    assert_eq!(get_file(base, &customer, &secret).await.status(), 200);
    assert_eq!(
        super::uploads::downloaded(base, &customer, &secret).await,
        secret_bytes
    );
}

#[tokio::test]
async fn a_catalog_manager_cannot_publish_a_customers_private_file_in_production() {
    let prod = Production::start("private-file-publishing").await;
    a_customers_private_file_cannot_be_put_on_a_product(&prod.url("")).await;
}

#[tokio::test]
async fn a_catalog_manager_cannot_publish_a_customers_private_file_on_memory() {
    let app = TestApp::builder().spawn().await;
    a_customers_private_file_cannot_be_put_on_a_product(&app.address).await;
}

async fn images_are_the_managers_own_uploads_or_already_public(base: &str) {
    let (asha, ravi) = (
        catalog_manager(base, "+919812370003").await,
        catalog_manager(base, "+919812370004").await,
    );
    let (shown, _) = uploaded(base, &asha, png(200, 1)).await;
    let (unattached, _) = uploaded(base, &ravi, png(200, 2)).await;

    created_product(base, &asha, "OWN-1", &[&shown]).await;
    // Another product already shows it: it is public, so Ravi may show it too.
    created_product(base, &ravi, "OWN-2", &[&shown]).await;
    // Ravi's upload is not public yet: Asha may not publish it.
    refused_as_not_found(
        create_product(base, &asha, "OWN-3", &[&unattached]).await,
        "another manager's private upload",
    )
    .await;
    created_product(base, &ravi, "OWN-3", &[&unattached]).await;
}

#[tokio::test]
async fn images_are_the_managers_own_uploads_or_ones_already_public_on_memory() {
    let app = TestApp::builder().spawn().await;
    images_are_the_managers_own_uploads_or_already_public(&app.address).await;
}

#[tokio::test]
async fn images_are_the_managers_own_uploads_or_ones_already_public_on_mongodb() {
    let app = TestApp::builder().on(BackendSet::Real).spawn().await;
    images_are_the_managers_own_uploads_or_already_public(&app.address).await;
}
