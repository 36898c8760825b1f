//! Staff actions, end to end: re-enabling, unlocking, seeing and ending a
//! customer's sessions, and the money actions on orders (refunds, cancellations,
//! status changes), each found in the audit trail with its actor.

use bazaar::http::auth::TokenPair;
use bazaar::http::users::UserBody;
use serde_json::{json, Value};

use super::auth::signed_up_customer;
use super::orders::{paid_order, place_order, product_with_stock};
use super::test_app;
use crate::kit::{bearer_client, login, Expect, TestApp};

/// The password `signed_up_customer` registers with.
const PASSWORD: &str = "correct horse battery";

/// The signed-in admin's user id: the actor staff events must name.
async fn admin_id(app: &TestApp) -> String {
    let me: UserBody = app.get("/api/v1/users/me").await.expect(200).await;
    me.id
}

/// The audit events a query finds, newest first.
async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let page: Value = app
        .get(&format!("/api/v1/audit-events?{query}"))
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

/// The one event of `kind` about `user`, which must name `actor` and this request's origin.
async fn one_staff_event(app: &TestApp, kind: &str, user: &str, actor: &str) -> Value {
    let events = audit(app, &format!("kind={kind}&user_id={user}")).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = events[0].clone();
    assert_eq!(event["actor_id"], actor, "{event}");
    assert_eq!(event["ip"], "127.0.0.1", "{event}");
    assert!(event["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    // The same event is found by its actor.
    let by_actor = audit(app, &format!("kind={kind}&actor_id={actor}")).await;
    assert!(
        by_actor.iter().any(|e| e["id"] == event["id"]),
        "{by_actor:?}"
    );
    event
}

async fn sign_in(app: &TestApp, phone: &str, password: &str, from: &str) -> reqwest::Response {
    app.anonymous
        .post(app.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", from)
        .json(&json!({ "identifier": phone, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn me_status(token: &TokenPair, app: &TestApp) -> u16 {
    bearer_client(&token.access_token)
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn staff_re_enable_a_disabled_account_and_it_signs_in_again() {
    let app = test_app().spawn().await;
    let admin = admin_id(&app).await;
    let customer = signed_up_customer(&app, "98124 00001").await;
    let id = customer.user.id.as_str();
    app.post(&format!("/api/v1/users/{id}/actions/disable"), &json!({}))
        .expect_status(200)
        .await;
    assert_eq!(
        sign_in(&app, "98124 00001", PASSWORD, "127.0.0.1")
            .await
            .status(),
        403
    );

    let enabled: UserBody = app
        .client
        .post(app.url(&format!("/api/v1/users/{id}/actions/enable")))
        .expect(200)
        .await;

    assert_eq!(enabled.status.0.as_str(), "active");
    login(&app.anonymous, &app.address, "98124 00001", PASSWORD).await;
    let event = one_staff_event(&app, "user_enabled", id, &admin).await;
    assert_eq!(event["detail"], "disabled → active");
}

#[tokio::test]
async fn staff_unlock_a_locked_account_and_its_owner_signs_in_at_once() {
    let app = test_app()
        .env(&[("BAZAAR_TRUSTED_PROXIES", "127.0.0.1/32")])
        .spawn()
        .await;
    let admin = admin_id(&app).await;
    let customer = signed_up_customer(&app, "98124 00002").await;
    let id = customer.user.id.as_str();
    // Five failures from each of four addresses: every address is locked out of
    // the account, and the account is locked for everyone.
    let addresses = [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
    ];
    for address in addresses {
        for _ in 0..5 {
            let failed = sign_in(&app, "98124 00002", "wrong password!", address).await;
            assert_eq!(failed.status(), 401);
        }
    }
    let locked: UserBody = app
        .get(&format!("/api/v1/users/{id}"))
        .await
        .expect(200)
        .await;
    assert_eq!(locked.status.0.as_str(), "locked");
    for address in [addresses[0], "203.0.113.50"] {
        let refused = sign_in(&app, "98124 00002", PASSWORD, address).await;
        assert_eq!(refused.status(), 423, "locked from {address}");
    }

    let unlocked: UserBody = app
        .client
        .post(app.url(&format!("/api/v1/users/{id}/actions/unlock")))
        .expect(200)
        .await;

    assert_eq!(unlocked.status.0.as_str(), "active");
    for address in [addresses[0], addresses[3], "203.0.113.50"] {
        let signed_in = sign_in(&app, "98124 00002", PASSWORD, address).await;
        assert_eq!(signed_in.status(), 200, "signs in from {address}");
    }
    let event = one_staff_event(&app, "user_unlocked", id, &admin).await;
    assert_eq!(event["detail"], "locks lifted for 4 addresses");
}

#[tokio::test]
async fn staff_see_and_end_all_of_a_customers_sessions_and_their_tokens_fail() {
    let app = test_app().spawn().await;
    let admin = admin_id(&app).await;
    let first = signed_up_customer(&app, "98124 00003").await;
    let second = login(&app.anonymous, &app.address, "98124 00003", PASSWORD).await;
    let id = first.user.id.as_str();

    let sessions: Value = app
        .get(&format!("/api/v1/users/{id}/sessions"))
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    let sessions = sessions.as_array().unwrap();
    let mut ids: Vec<&str> = sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![first.session_id.as_str(), second.session_id.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(
        sessions
            .iter()
            .all(|s| s["current"] == false && s["ip"] == "127.0.0.1"),
        "none is the admin's own: {sessions:?}"
    );
    one_staff_event(&app, "user_sessions_viewed", id, &admin).await;

    let ended: Value = app
        .client
        .post(app.url(&format!("/api/v1/users/{id}/actions/end-sessions")))
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(ended, json!({ "ended": 2 }));
    for token in [&first, &second] {
        assert_eq!(me_status(token, &app).await, 401);
        let refreshed = app
            .anonymous
            .post(app.url("/api/v1/auth/refresh"))
            .json(&json!({ "refresh_token": token.refresh_token }))
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), 401);
    }
    let event = one_staff_event(&app, "user_sessions_ended", id, &admin).await;
    assert_eq!(event["detail"], "2 sessions ended");
    // The account itself is untouched: its owner signs in again.
    let again = login(&app.anonymous, &app.address, "98124 00003", PASSWORD).await;
    assert_eq!(me_status(&again, &app).await, 200);
}

#[tokio::test]
async fn account_actions_are_refused_to_customers_and_404_for_unknown_users() {
    let app = test_app().spawn().await;
    let customer = signed_up_customer(&app, "98124 00004").await;
    let other = signed_up_customer(&app, "98124 00005").await;
    let as_customer = bearer_client(&customer.access_token);
    let target = other.user.id.as_str();
    let unknown = "0123456789abcdef01234567";
    let routes = |user: &str| {
        [
            ("POST", format!("/api/v1/users/{user}/actions/enable")),
            ("POST", format!("/api/v1/users/{user}/actions/unlock")),
            ("POST", format!("/api/v1/users/{user}/actions/end-sessions")),
            ("GET", format!("/api/v1/users/{user}/sessions")),
        ]
    };
    for (method, path) in routes(target) {
        let request = match method {
            "GET" => as_customer.get(app.url(&path)),
            _ => as_customer.post(app.url(&path)),
        };
        request.expect_problem(403, "forbidden").await;
    }
    assert_eq!(me_status(&other, &app).await, 200, "nothing was ended");
    for (method, path) in routes(unknown) {
        let request = match method {
            "GET" => app.client.get(app.url(&path)),
            _ => app.client.post(app.url(&path)),
        };
        request.expect_problem(404, "not_found").await;
    }
    let staff_events = audit(&app, &format!("user_id={target}")).await;
    assert!(
        staff_events
            .iter()
            .all(|e| !e["kind"].as_str().unwrap().starts_with("user_")),
        "refusals change nothing: {staff_events:?}"
    );
}

/// The one audit event of `kind` about `order`.
async fn money_event(app: &TestApp, kind: &str, order: &str) -> Value {
    let events = audit(app, &format!("kind={kind}&order_id={order}")).await;
    assert_eq!(events.len(), 1, "{kind} of {order}: {events:?}");
    events[0].clone()
}

#[tokio::test]
async fn staff_refunds_status_changes_and_cancellations_are_audited_with_actor_amount_and_reason() {
    let app = test_app().spawn().await;
    let admin = admin_id(&app).await;
    let paid = paid_order(&app, "AUD-1", 10_000).await;
    let id = paid.id.as_str();

    app.client
        .put(app.url(&format!("/api/v1/orders/{id}/status")))
        .json(&json!({ "status": "shipped", "reason": "courier picked up" }))
        .expect_status(200)
        .await;
    app.post(
        &format!("/api/v1/orders/{id}/actions/refund"),
        &json!({ "amount": 1_000, "reason": "  one kurta arrived torn  " }),
    )
    .expect_status(200)
    .await;

    let refund = money_event(&app, "order_refunded", id).await;
    assert_eq!(refund["actor_id"], admin.as_str());
    assert_eq!(refund["user_id"], paid.user_id.as_str());
    assert_eq!(refund["order_id"], id);
    assert_eq!(refund["amount_paise"], 1_000);
    assert_eq!(refund["reason"], "one kurta arrived torn");
    let shipped = money_event(&app, "order_status_changed", id).await;
    assert_eq!(shipped["actor_id"], admin.as_str());
    assert_eq!(shipped["amount_paise"], paid.total);
    assert_eq!(shipped["reason"], "courier picked up");
    assert_eq!(shipped["detail"], "paid → shipped");
    let of_order = audit(&app, &format!("order_id={id}&actor_id={admin}")).await;
    let kinds: Vec<&str> = of_order
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["order_refunded", "order_status_changed"]);

    // A paid order cancelled with a reason: its total, and the refund it owes.
    let cancelled_paid = paid_order(&app, "AUD-2", 20_000).await;
    let cancelled_id = cancelled_paid.id.as_str();
    app.post(
        &format!("/api/v1/orders/{cancelled_id}/actions/cancel"),
        &json!({ "reason": "address unserviceable" }),
    )
    .expect_status(200)
    .await;
    let cancel = money_event(&app, "order_cancelled", cancelled_id).await;
    assert_eq!(cancel["actor_id"], admin.as_str());
    assert_eq!(cancel["amount_paise"], cancelled_paid.total);
    assert_eq!(cancel["reason"], "address unserviceable");
    // An unpaid order cancelled without any body: audited, without a reason.
    let product = product_with_stock(&app, "AUD-3", 5_000, 3).await;
    let unpaid = place_order(&app, json!([{ "product_id": product, "quantity": 1 }])).await;
    app.client
        .post(app.url(&format!("/api/v1/orders/{}/actions/cancel", unpaid.id)))
        .expect_status(200)
        .await;
    let bare = money_event(&app, "order_cancelled", &unpaid.id).await;
    assert!(bare.get("reason").is_none(), "{bare}");
    assert_eq!(
        bare["detail"],
        "pending_payment → cancelled; 0 paise captured to refund"
    );
}

#[tokio::test]
async fn a_reason_too_long_is_refused_before_any_money_moves() {
    let app = test_app().spawn().await;
    let paid = paid_order(&app, "AUD-4", 10_000).await;
    let id = paid.id.as_str();
    let long = "x".repeat(501);

    let refused = app
        .post(
            &format!("/api/v1/orders/{id}/actions/refund"),
            &json!({ "amount": 1_000, "reason": long }),
        )
        .expect_problem(422, "validation_failed")
        .await;
    let cancel = app
        .post(
            &format!("/api/v1/orders/{id}/actions/cancel"),
            &json!({ "reason": long }),
        )
        .expect_problem(422, "validation_failed")
        .await;

    assert_eq!(refused["errors"][0]["field"], "reason", "{refused}");
    assert_eq!(cancel["errors"][0]["field"], "reason", "{cancel}");
    let order: Value = app
        .get(&format!("/api/v1/orders/{id}"))
        .await
        .expect_status(200)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["refunded"], 0);
    assert_eq!(order["status"], "paid");
    assert!(audit(
        &app,
        &format!("order_id={id}&actor_id={}", admin_id(&app).await)
    )
    .await
    .is_empty());
}
