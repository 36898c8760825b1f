//! `/api/v1/users/me/addresses` and `/api/v1/pincodes/{pincode}` end to end: addresses
//! filled in from India Post's directory, one default, the limit, conditional changes.

use serde_json::{json, Value};

use super::auth::signed_up_customer;
use super::test_app;
use crate::kit::{bearer_client, problem, TestApp};

const ADDRESSES: &str = "/api/v1/users/me/addresses";

async fn json(response: reqwest::Response, status: u16) -> Value {
    let got = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

fn address(pincode: &str) -> Value {
    json!({
        "name": "Asha Rao",
        "phone": "98123 45678",
        "line1": "12, 4th Cross, HAL 2nd Stage",
        "line2": "Indiranagar",
        "landmark": "Near the metro station",
        "city": "Bengaluru",
        "pincode": pincode,
    })
}

/// A signed-up customer's client.
async fn customer(app: &TestApp, phone: &str) -> reqwest::Client {
    bearer_client(&signed_up_customer(app, phone).await.access_token)
}

/// Saves `body` as the customer's, expecting `status`.
pub async fn save(app: &TestApp, me: &reqwest::Client, body: &Value, status: u16) -> Value {
    let response = me
        .post(app.url(ADDRESSES))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(body)
        .send()
        .await
        .unwrap();
    json(response, status).await
}

async fn list(app: &TestApp, me: &reqwest::Client) -> Vec<Value> {
    let page = json(me.get(app.url(ADDRESSES)).send().await.unwrap(), 200).await;
    page["items"].as_array().unwrap().clone()
}

fn default_ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .filter(|a| a["is_default"] == true)
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_saved_address_is_filled_from_its_pincode_and_the_first_is_the_default() {
    let app = test_app().spawn().await;
    let me = customer(&app, "+919812377101").await;

    let response = me
        .post(app.url(ADDRESSES))
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&address("560038"))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let first = json(response, 201).await;
    assert_eq!(
        location,
        format!("{ADDRESSES}/{}", first["id"].as_str().unwrap())
    );
    assert_eq!(etag, "\"v1\"");
    assert_eq!(first["phone"], "+919812345678");
    assert_eq!(first["district"], "Bengaluru Urban");
    assert_eq!(first["state"], "Karnataka");
    assert_eq!(first["state_code"], "29");
    assert_eq!(first["is_default"], true);

    let second = save(&app, &me, &address("110001"), 201).await;
    assert_eq!(second["state_code"], "07");
    assert_eq!(second["is_default"], false);
    let mut body = address("744101");
    body["is_default"] = json!(true);
    let third = save(&app, &me, &body, 201).await;
    assert_eq!(third["state"], "Andaman and Nicobar Islands");

    let items = list(&app, &me).await;
    let ids: Vec<&str> = items.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [&first["id"], &second["id"], &third["id"]].map(|v| v.as_str().unwrap())
    );
    assert_eq!(default_ids(&items), [third["id"].as_str().unwrap()]);
    let got = me
        .get(app.url(&format!("{ADDRESSES}/{}", first["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.headers()["etag"],
        "\"v2\"",
        "losing the default is a change"
    );
    assert_eq!(json(got, 200).await["is_default"], false);
}

#[tokio::test]
async fn an_unknown_or_malformed_pincode_is_refused_naming_the_field() {
    let app = test_app().spawn().await;
    let me = customer(&app, "+919812377102").await;

    let unknown = me
        .post(app.url(ADDRESSES))
        .json(&address("999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);
    let body = problem(unknown).await;
    assert_eq!(body["errors"][0]["field"], "pincode");
    assert_eq!(body["errors"][0]["code"], "unknown_pincode");

    for malformed in ["056003", "56003", "5600381"] {
        let refused = me
            .post(app.url(ADDRESSES))
            .json(&address(malformed))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 422, "{malformed}");
        assert_eq!(problem(refused).await["errors"][0]["field"], "pincode");
    }
    let mut blank = address("560038");
    blank["name"] = json!("   ");
    blank["extra"] = json!(1);
    let refused = me
        .post(app.url(ADDRESSES))
        .json(&blank)
        .send()
        .await
        .unwrap();
    assert!([400, 422].contains(&refused.status().as_u16()));
    assert!(list(&app, &me).await.is_empty());
}

#[tokio::test]
async fn replacing_and_deleting_honour_if_match_and_the_default_moves_on() {
    let app = test_app().spawn().await;
    let me = customer(&app, "+919812377103").await;
    let first = save(&app, &me, &address("560038"), 201).await;
    let second = save(&app, &me, &address("400001"), 201).await;
    let first_url = app.url(&format!("{ADDRESSES}/{}", first["id"].as_str().unwrap()));

    let stale = me
        .put(&first_url)
        .header("If-Match", "\"v9\"")
        .json(&address("110001"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(problem(stale).await["code"], "precondition_failed");
    let replaced = me
        .put(&first_url)
        .header("If-Match", "\"v1\"")
        .json(&address("110001"))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.headers()["etag"], "\"v2\"");
    let replaced = json(replaced, 200).await;
    assert_eq!(replaced["state"], "Delhi");
    assert_eq!(replaced["is_default"], true, "it stays the default");

    let refused = me
        .delete(&first_url)
        .header("If-Match", "\"v1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 412);
    let deleted = me.delete(&first_url).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(me.get(&first_url).send().await.unwrap().status(), 404);
    assert_eq!(
        default_ids(&list(&app, &me).await),
        [second["id"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn making_an_address_the_default_takes_it_from_the_other() {
    let app = test_app().spawn().await;
    let me = customer(&app, "+919812377104").await;
    let first = save(&app, &me, &address("560038"), 201).await;
    let second = save(&app, &me, &address("600001"), 201).await;
    let second_id = second["id"].as_str().unwrap();
    let url = app.url(&format!("{ADDRESSES}/{second_id}/default"));
    for _ in 0..2 {
        let made = json(me.post(&url).send().await.unwrap(), 200).await;
        assert_eq!(made["is_default"], true);
        assert_eq!(made["version"], 2, "doing it again changes nothing");
    }
    assert_eq!(default_ids(&list(&app, &me).await), [second_id]);
    let unknown = app.url(&format!(
        "{ADDRESSES}/{}/default",
        "6650c0ffee0000000000ad99"
    ));
    assert_eq!(me.post(&unknown).send().await.unwrap().status(), 404);
    let _ = first;
}

#[tokio::test]
async fn addresses_are_their_owners_alone() {
    let app = test_app().spawn().await;
    let mine = customer(&app, "+919812377105").await;
    let theirs = customer(&app, "+919812377106").await;
    let saved = save(&app, &mine, &address("560038"), 201).await;
    let url = app.url(&format!("{ADDRESSES}/{}", saved["id"].as_str().unwrap()));

    assert_eq!(theirs.get(&url).send().await.unwrap().status(), 404);
    assert_eq!(theirs.delete(&url).send().await.unwrap().status(), 404);
    assert!(list(&app, &theirs).await.is_empty());
    let signed_out = app.anonymous.get(app.url(ADDRESSES)).send().await.unwrap();
    assert_eq!(signed_out.status(), 401);
    let malformed = mine
        .get(app.url(&format!("{ADDRESSES}/nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
}

#[tokio::test]
async fn one_address_beyond_the_limit_is_refused() {
    let app = test_app()
        .env(&[("BAZAAR_ADDRESSES_MAX_PER_CUSTOMER", "2")])
        .spawn()
        .await;
    let me = customer(&app, "+919812377107").await;
    save(&app, &me, &address("560038"), 201).await;
    save(&app, &me, &address("560001"), 201).await;
    let full = me
        .post(app.url(ADDRESSES))
        .json(&address("560002"))
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), 409);
    assert_eq!(problem(full).await["code"], "address_book_full");
    let page = json(me.get(app.url(ADDRESSES)).send().await.unwrap(), 200).await;
    assert_eq!(page["max_items"], 2);
}

#[tokio::test]
async fn anyone_may_look_a_pincode_up() {
    let app = test_app().spawn().await;
    let found = app
        .anonymous
        .get(app.url("/api/v1/pincodes/110001"))
        .send()
        .await
        .unwrap();
    let found = json(found, 200).await;
    assert_eq!(
        found,
        json!({"pincode": "110001", "district": "New Delhi", "state": "Delhi", "state_code": "07"})
    );
    let unknown = app
        .anonymous
        .get(app.url("/api/v1/pincodes/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(problem(unknown).await["code"], "not_found");
    let malformed = app
        .anonymous
        .get(app.url("/api/v1/pincodes/012345"))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(problem(malformed).await["code"], "invalid_parameter");
}

#[tokio::test]
async fn a_retry_whose_answer_was_lost_finds_the_address_instead_of_saving_it_twice() {
    let app = test_app().spawn().await;
    let tokens = signed_up_customer(&app, "+919812377108").await;
    let me = bearer_client(&tokens.access_token);
    let send = |body: Value| {
        me.post(app.url(ADDRESSES))
            .header("Idempotency-Key", "address-lost-1")
            .json(&body)
            .send()
    };
    let first = json(send(address("560038")).await.unwrap(), 201).await;
    app.lose_kept_answer(Some(&tokens.user.id), "createMyAddress", "address-lost-1")
        .await;

    let retried = send(address("560038")).await.unwrap();
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
    assert_eq!(json(retried, 201).await["id"], first["id"]);
    assert_eq!(list(&app, &me).await.len(), 1);

    app.lose_kept_answer(Some(&tokens.user.id), "createMyAddress", "address-lost-1")
        .await;
    let reused = send(address("110001")).await.unwrap();
    assert_eq!(reused.status(), 422);
    assert_eq!(problem(reused).await["code"], "idempotency_key_reused");
    assert_eq!(list(&app, &me).await.len(), 1);
}
