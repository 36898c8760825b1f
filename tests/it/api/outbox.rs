//! `/api/v1/admin/outbox`: the admin's list of notices and the retry of dead ones.

use std::sync::Arc;
use std::time::Duration;

use bazaar::domain::outbox::{
    dedupe_key, Channel, NextAttempt, NoticeKind, OutboxMessage, Recipient,
};
use bazaar::domain::user::Email;
use bazaar::store::OutboxRepository;
use chrono::Utc;
use serde_json::{json, Value};

use super::auth::signed_up_customer;
use super::test_app;
use crate::kit::{bearer_client, problem, TestApp};

const OUTBOX: &str = "/api/v1/admin/outbox";

fn notice(n: i64) -> OutboxMessage {
    let order = format!("order-{n}");
    OutboxMessage::new(
        NoticeKind::Cancellation,
        Recipient::Email(Email::parse("to", "ravi@example.in").unwrap()),
        json!({ "order_id": order }).as_object().cloned().unwrap(),
        dedupe_key(&order, NoticeKind::Cancellation, Channel::Email, None),
        Utc::now() - chrono::Duration::seconds(100 - n),
    )
}

/// Notices in each state, set up in the set's outbox before the app (and its worker)
/// starts: one delivered, one dead, one pending under a long lease of another replica (so
/// this app's worker leaves it).
struct Seeded {
    repo: Arc<dyn OutboxRepository>,
    delivered: OutboxMessage,
    dead: OutboxMessage,
    pending: OutboxMessage,
}

/// The app, on the set's backends, and what its outbox held when it started.
async fn app_with_outbox_in_each_state() -> (TestApp, Seeded) {
    let app = test_app()
        .env(&[("BAZAAR_OUTBOX_POLL_MS", "100")])
        .prepare()
        .await;
    let repo = app.backends.outbox.clone();
    let [delivered, dead, pending] = [notice(1), notice(2), notice(3)];
    repo.enqueue(&[delivered.clone(), dead.clone(), pending.clone()])
        .await
        .unwrap();
    let claimed = repo
        .claim("elsewhere", Utc::now(), Duration::from_secs(3600), 3)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    repo.mark_delivered(&delivered.id, "elsewhere", "sg-1", Utc::now())
        .await
        .unwrap();
    repo.mark_failed(
        &dead.id,
        "elsewhere",
        "sendgrid rejected the request: bad template",
        NextAttempt::Never,
    )
    .await
    .unwrap();
    let seeded = Seeded {
        repo,
        delivered,
        dead,
        pending,
    };
    (app.spawn().await, seeded)
}

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn admins_list_the_outbox_newest_first_and_by_state() {
    let (app, outbox) = app_with_outbox_in_each_state().await;

    let all: Value = app.get(OUTBOX).await.json().await.unwrap();
    let dead_only: Value = app
        .get(&format!("{OUTBOX}?state=dead"))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        ids(&all),
        [
            outbox.pending.id.as_str(),
            outbox.dead.id.as_str(),
            outbox.delivered.id.as_str()
        ]
    );
    assert_eq!(all["items"][0]["state"], "pending");
    assert_eq!(all["items"][0]["lease_owner"], "elsewhere");
    assert_eq!(all["items"][2]["provider_id"], "sg-1");
    assert_eq!(ids(&dead_only), [outbox.dead.id.as_str()]);
    let dead = &dead_only["items"][0];
    assert_eq!(dead["kind"], "cancellation");
    assert_eq!(dead["channel"], "email");
    assert_eq!(dead["to"], "ravi@example.in");
    assert_eq!(dead["data"]["order_id"], "order-2");
    assert_eq!(dead["attempts"], 1);
    assert_eq!(
        dead["last_error"],
        "sendgrid rejected the request: bad template"
    );
    assert!(dead.get("lease_owner").is_none(), "{dead}");
    assert_eq!(
        dead_only["links"]["self"],
        "/api/v1/admin/outbox?state=dead&limit=20"
    );
}

#[tokio::test]
async fn the_outbox_list_pages_by_cursor_and_refuses_an_unknown_state() {
    let (app, outbox) = app_with_outbox_in_each_state().await;

    let first: Value = app
        .get(&format!("{OUTBOX}?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    let next = first["links"]["next"].as_str().expect("a next link");
    let second: Value = app.get(next).await.json().await.unwrap();
    let unknown = problem(app.get(&format!("{OUTBOX}?state=lost")).await).await;

    assert_eq!(first["has_next"], true);
    assert_eq!(ids(&second), [outbox.delivered.id.as_str()]);
    assert_eq!(second["has_next"], false);
    assert_eq!(unknown["status"], 400);
    assert_eq!(unknown["code"], "invalid_parameter");
    assert_eq!(unknown["errors"][0]["field"], "state");
}

#[tokio::test]
async fn retrying_a_dead_notice_makes_the_worker_send_it() {
    let (app, outbox) = app_with_outbox_in_each_state().await;
    let retry = |id: &str| app.url(&format!("{OUTBOX}/{id}/actions/retry"));

    let response = app
        .client
        .post(retry(outbox.dead.id.as_str()))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let revived: Value = response.json().await.unwrap();
    assert_eq!(revived["id"], outbox.dead.id.as_str());
    assert_eq!(revived["state"], "pending");
    assert_eq!(revived["attempts"], 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = outbox.repo.get(&outbox.dead.id).await.unwrap().unwrap();
        if now.provider_id.is_some() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let messages: Vec<Value> = app.get("/api/v1/dev/messages").await.json().await.unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m["purpose"] == "cancellation"
                && m["data"].as_str().unwrap().contains("order-2"))
    );
}

#[tokio::test]
async fn only_dead_notices_can_be_retried() {
    let (app, outbox) = app_with_outbox_in_each_state().await;
    let retry = |id: &str| {
        app.client
            .post(app.url(&format!("{OUTBOX}/{id}/actions/retry")))
            .send()
    };

    let delivered = problem(retry(outbox.delivered.id.as_str()).await.unwrap()).await;
    let unknown = problem(retry("6650c0ffee000000000000ff").await.unwrap()).await;
    let malformed = problem(retry("not-an-id").await.unwrap()).await;

    assert_eq!(
        (delivered["status"].as_u64(), delivered["code"].as_str()),
        (Some(409), Some("conflict"))
    );
    assert_eq!(
        (unknown["status"].as_u64(), unknown["code"].as_str()),
        (Some(404), Some("not_found"))
    );
    assert_eq!(malformed["status"], 400);
    assert_eq!(malformed["errors"][0]["field"], "id");
}

#[tokio::test]
async fn customers_may_not_see_or_retry_the_outbox() {
    let (app, outbox) = app_with_outbox_in_each_state().await;
    let tokens = signed_up_customer(&app, "+919812300077").await;
    let customer = bearer_client(&tokens.access_token);

    let list = customer.get(app.url(OUTBOX)).send().await.unwrap();
    let retry = customer
        .post(app.url(&format!("{OUTBOX}/{}/actions/retry", outbox.dead.id)))
        .send()
        .await
        .unwrap();
    let anonymous = app.anonymous.get(app.url(OUTBOX)).send().await.unwrap();

    let list = problem(list).await;
    assert_eq!(
        (list["status"].as_u64(), list["code"].as_str()),
        (Some(403), Some("forbidden"))
    );
    assert!(list["detail"].as_str().unwrap().contains("outbox:read"));
    let retry = problem(retry).await;
    assert!(retry["detail"].as_str().unwrap().contains("outbox:write"));
    assert_eq!(problem(anonymous).await["status"], 401);
    let still_dead = outbox.repo.get(&outbox.dead.id).await.unwrap().unwrap();
    assert_eq!(still_dead.state, bazaar::domain::outbox::OutboxState::Dead);
}
