//! The outbox repository contract, held against memory and MongoDB alike: idempotent
//! enqueueing, claims that respect due times and leases (also under concurrency), outcomes
//! recorded only by the lease holder, dead letters, skipped messages, admin retries and the
//! admin's list.

use bazaar::domain::listing::PageRequest;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use bazaar::domain::outbox::{
    dedupe_key, unverified_reason, Channel, Contact, NextAttempt, NoticeKind, OutboxId,
    OutboxMessage, OutboxState, Recipient, RetrySchedule,
};
use bazaar::domain::outbox_query::{OutboxQuery, RawOutboxQuery};
use bazaar::domain::user::{Email, Phone};
use bazaar::store::memory::MemoryOutbox;
use bazaar::store::mongo::{enqueue_in_transaction, MongoOutbox};
use bazaar::store::{OutboxRepository, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::conformance;
use crate::kit::{mongo_outbox, test_database};

const LEASE: StdDuration = StdDuration::from_secs(60);

/// A lease that runs out in real time too: MongoDB judges leases by its server's clock, not
/// by the `now` a claim is given, so a test of a lease running out waits for it.
const SHORT_LEASE: StdDuration = StdDuration::from_secs(2);

/// Waits until a [`SHORT_LEASE`] taken before has run out by any clock.
async fn lease_runs_out() {
    tokio::time::sleep(SHORT_LEASE + StdDuration::from_millis(50)).await;
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

fn secs(n: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(n)
}

fn data(order: &str) -> serde_json::Map<String, serde_json::Value> {
    json!({ "order_id": order, "total_paise": 49_900, "paid": true })
        .as_object()
        .cloned()
        .unwrap()
}

/// An order confirmation by email for order `n`, created (and due) at `created`.
fn email_notice(n: u32, created: DateTime<Utc>) -> OutboxMessage {
    let order = format!("order-{n}");
    OutboxMessage::new(
        NoticeKind::OrderConfirmation,
        Recipient::Email(Email::parse("to", &format!("buyer{n}@example.in")).unwrap()),
        data(&order),
        dedupe_key(&order, NoticeKind::OrderConfirmation, Channel::Email, None),
        created,
    )
}

fn sms_notice(n: u32, created: DateTime<Utc>) -> OutboxMessage {
    let order = format!("order-{n}");
    OutboxMessage::new(
        NoticeKind::Refund,
        Recipient::Sms(Phone::parse("to", "+919812345678").unwrap()),
        data(&order),
        dedupe_key(&order, NoticeKind::Refund, Channel::Sms, Some("refund-1")),
        created,
    )
}

async fn stored(repo: &dyn OutboxRepository, id: &OutboxId) -> OutboxMessage {
    repo.get(id).await.unwrap().expect("the message is stored")
}

fn ids(messages: &[OutboxMessage]) -> Vec<OutboxId> {
    messages.iter().map(|m| m.id.clone()).collect()
}

pub async fn messages_read_back_unchanged(repo: &dyn OutboxRepository) {
    let mut email = email_notice(1, secs(0));
    email.data.insert(
        "items".into(),
        json!([{ "sku": "BK-1", "qty": 2, "price_paise": 24_950 }]),
    );
    email.data.insert("discount".into(), json!(0.5));
    let sms = sms_notice(2, secs(1));

    assert_eq!(
        repo.enqueue(&[email.clone(), sms.clone()]).await.unwrap(),
        2
    );

    assert_eq!(stored(repo, &email.id).await, email);
    assert_eq!(stored(repo, &sms.id).await, sms);
    assert_eq!(repo.get(&OutboxId::generate()).await.unwrap(), None);
}

pub async fn enqueueing_a_known_dedupe_key_does_nothing(repo: &dyn OutboxRepository) {
    let first = email_notice(1, secs(0));
    let again = OutboxMessage {
        data: data("changed"),
        ..email_notice(1, secs(5))
    };
    let other = email_notice(2, secs(6));
    let twice_in_one_batch = [email_notice(3, secs(7)), email_notice(3, secs(8))];

    assert_eq!(repo.enqueue(std::slice::from_ref(&first)).await.unwrap(), 1);
    assert_eq!(
        repo.enqueue(&[again.clone(), other.clone()]).await.unwrap(),
        1
    );
    assert_eq!(repo.enqueue(&twice_in_one_batch).await.unwrap(), 1);

    assert_eq!(stored(repo, &first.id).await, first);
    assert_eq!(repo.get(&again.id).await.unwrap(), None);
    assert_eq!(stored(repo, &other.id).await, other);
    assert!(repo.get(&twice_in_one_batch[0].id).await.unwrap().is_some());
    assert_eq!(repo.get(&twice_in_one_batch[1].id).await.unwrap(), None);
    let all = repo.list(&OutboxQuery::first(None, 100)).await.unwrap();
    assert_eq!(all.items.len(), 3);
}

pub async fn claims_take_due_messages_earliest_first_up_to_the_limit(repo: &dyn OutboxRepository) {
    let messages = [
        email_notice(1, secs(20)),
        email_notice(2, secs(0)),
        sms_notice(3, secs(10)),
        email_notice(4, secs(100)),
    ];
    repo.enqueue(&messages).await.unwrap();

    let first = repo.claim("worker-a", secs(50), LEASE, 2).await.unwrap();
    let second = repo.claim("worker-a", secs(50), LEASE, 2).await.unwrap();
    let third = repo.claim("worker-a", secs(50), LEASE, 2).await.unwrap();

    assert_eq!(
        ids(&first),
        ids(&[messages[1].clone(), messages[2].clone()])
    );
    assert_eq!(ids(&second), ids(&[messages[0].clone()]));
    assert!(third.is_empty(), "the fourth is not due yet: {third:?}");
    for claimed in first.iter().chain(&second) {
        assert_eq!(claimed.attempts, 1);
        let lease = claimed.lease.as_ref().expect("a lease");
        assert_eq!(lease.owner, "worker-a");
        assert_eq!(lease.until, secs(110));
        assert_eq!(&stored(repo, &claimed.id).await, claimed);
    }
    let later = repo.claim("worker-a", secs(100), LEASE, 5).await.unwrap();
    assert_eq!(ids(&later), ids(&messages[3..]));
}

pub async fn a_leased_message_is_hidden_until_its_lease_runs_out(repo: &dyn OutboxRepository) {
    let message = email_notice(1, secs(0));
    repo.enqueue(std::slice::from_ref(&message)).await.unwrap();

    let taken = repo
        .claim("worker-a", secs(0), SHORT_LEASE, 1)
        .await
        .unwrap();
    let meanwhile = repo
        .claim(
            "worker-b",
            secs(2) - Duration::milliseconds(1),
            SHORT_LEASE,
            1,
        )
        .await
        .unwrap();
    lease_runs_out().await;
    let after = repo
        .claim("worker-b", secs(2), SHORT_LEASE, 1)
        .await
        .unwrap();

    assert_eq!(ids(&taken), ids(std::slice::from_ref(&message)));
    assert!(meanwhile.is_empty(), "{meanwhile:?}");
    assert_eq!(ids(&after), ids(std::slice::from_ref(&message)));
    assert_eq!(after[0].attempts, 2);
    assert_eq!(after[0].lease.as_ref().unwrap().owner, "worker-b");
}

pub async fn only_the_lease_holder_records_an_outcome(repo: &dyn OutboxRepository) {
    let message = email_notice(1, secs(0));
    repo.enqueue(std::slice::from_ref(&message)).await.unwrap();
    repo.claim("worker-a", secs(0), LEASE, 1).await.unwrap();
    let leased = stored(repo, &message.id).await;

    let by_b = repo
        .mark_delivered(&message.id, "worker-b", "id-b", secs(1))
        .await
        .unwrap();
    let failed_by_b = repo
        .mark_failed(&message.id, "worker-b", "nope", NextAttempt::Never)
        .await
        .unwrap();
    assert!(!by_b && !failed_by_b);
    assert_eq!(stored(repo, &message.id).await, leased);

    let by_a = repo
        .mark_delivered(&message.id, "worker-a", "id-a", secs(2))
        .await
        .unwrap();
    assert!(by_a);
    let delivered = stored(repo, &message.id).await;
    assert_eq!(delivered.state, OutboxState::Delivered);
    assert_eq!(delivered.provider_id.as_deref(), Some("id-a"));
    assert_eq!(delivered.delivered_at, Some(secs(2)));
    assert_eq!(delivered.lease, None);
    assert_eq!(delivered.attempts, 1);

    let again = repo
        .mark_failed(&message.id, "worker-a", "late", NextAttempt::Never)
        .await
        .unwrap();
    assert!(!again, "a delivered message has no lease to hold");
    assert_eq!(stored(repo, &message.id).await, delivered);
    let unknown = repo
        .mark_delivered(&OutboxId::generate(), "worker-a", "x", secs(3))
        .await
        .unwrap();
    assert!(!unknown);
}

pub async fn a_worker_whose_lease_was_taken_over_records_nothing(repo: &dyn OutboxRepository) {
    let message = sms_notice(1, secs(0));
    repo.enqueue(std::slice::from_ref(&message)).await.unwrap();
    repo.claim("slow", secs(0), SHORT_LEASE, 1).await.unwrap();
    lease_runs_out().await;
    repo.claim("fast", secs(61), LEASE, 1).await.unwrap();

    let slow = repo
        .mark_delivered(&message.id, "slow", "slow-id", secs(62))
        .await
        .unwrap();
    let fast = repo
        .mark_delivered(&message.id, "fast", "fast-id", secs(63))
        .await
        .unwrap();

    assert!(!slow && fast);
    let delivered = stored(repo, &message.id).await;
    assert_eq!(delivered.provider_id.as_deref(), Some("fast-id"));
}

pub async fn a_failed_attempt_waits_for_its_next_attempt(repo: &dyn OutboxRepository) {
    let message = email_notice(1, secs(0));
    repo.enqueue(std::slice::from_ref(&message)).await.unwrap();
    repo.claim("worker-a", secs(0), LEASE, 1).await.unwrap();

    let recorded = repo
        .mark_failed(
            &message.id,
            "worker-a",
            "sendgrid is unavailable: HTTP 503",
            NextAttempt::At(secs(30)),
        )
        .await
        .unwrap();

    assert!(recorded);
    let failed = stored(repo, &message.id).await;
    assert_eq!(failed.state, OutboxState::Pending);
    assert_eq!(failed.next_attempt_at, secs(30));
    assert_eq!(failed.lease, None);
    assert_eq!(
        failed.last_error.as_deref(),
        Some("sendgrid is unavailable: HTTP 503")
    );
    let early = repo.claim("worker-b", secs(29), LEASE, 1).await.unwrap();
    assert!(early.is_empty(), "{early:?}");
    let due = repo.claim("worker-b", secs(30), LEASE, 1).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempts, 2);
}

pub async fn a_message_is_dead_after_its_last_allowed_attempt(repo: &dyn OutboxRepository) {
    let schedule = RetrySchedule {
        base: StdDuration::from_secs(10),
        cap: StdDuration::from_secs(60),
        max_attempts: 3,
    };
    let message = sms_notice(1, secs(0));
    repo.enqueue(std::slice::from_ref(&message)).await.unwrap();

    let mut now = secs(0);
    for attempt in 1..=3 {
        let claimed = repo.claim("worker", now, LEASE, 1).await.unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt}");
        let next = schedule.after_failure(claimed[0].attempts, now, 1.0);
        assert!(repo
            .mark_failed(&message.id, "worker", "msg91 rejected the request", next)
            .await
            .unwrap());
        if let NextAttempt::At(at) = next {
            now = at;
        }
    }

    let dead = stored(repo, &message.id).await;
    assert_eq!((dead.state, dead.attempts), (OutboxState::Dead, 3));
    let never = repo
        .claim("worker", secs(1_000_000), LEASE, 10)
        .await
        .unwrap();
    assert!(never.is_empty(), "{never:?}");
}

pub async fn an_admin_retry_revives_only_dead_messages(repo: &dyn OutboxRepository) {
    let message = email_notice(1, secs(0));
    repo.enqueue(std::slice::from_ref(&message)).await.unwrap();
    assert!(matches!(
        repo.retry(&message.id, secs(1)).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(matches!(
        repo.retry(&OutboxId::generate(), secs(1)).await,
        Err(StoreError::NotFound)
    ));
    repo.claim("worker", secs(0), LEASE, 1).await.unwrap();
    repo.mark_failed(&message.id, "worker", "gave up", NextAttempt::Never)
        .await
        .unwrap();

    let revived = repo.retry(&message.id, secs(500)).await.unwrap();

    assert_eq!(revived, stored(repo, &message.id).await);
    assert_eq!((revived.state, revived.attempts), (OutboxState::Pending, 0));
    assert_eq!(revived.next_attempt_at, secs(500));
    assert_eq!(revived.last_error.as_deref(), Some("gave up"));
    let claimed = repo.claim("worker", secs(500), LEASE, 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    assert!(matches!(
        repo.retry(&message.id, secs(501)).await,
        Err(StoreError::VersionConflict)
    ));
}

pub async fn lists_filter_by_state_newest_first_and_page(repo: &dyn OutboxRepository) {
    let messages: Vec<OutboxMessage> = (0..5).map(|n| email_notice(n, secs(n.into()))).collect();
    repo.enqueue(&messages).await.unwrap();
    let delivered = &messages[1];
    let dead = &messages[3];
    repo.claim("w", secs(10), LEASE, 5).await.unwrap();
    repo.mark_delivered(&delivered.id, "w", "p", secs(10))
        .await
        .unwrap();
    repo.mark_failed(&dead.id, "w", "x", NextAttempt::Never)
        .await
        .unwrap();
    let list = |raw: RawOutboxQuery| async move {
        let query = OutboxQuery::parse(&raw).unwrap();
        (repo.list(&query).await.unwrap(), query)
    };
    let newest_first: Vec<OutboxId> = messages.iter().rev().map(|m| m.id.clone()).collect();

    let (all, _) = list(RawOutboxQuery::default()).await;
    assert_eq!(ids(&all.items), newest_first);
    let (dead_only, _) = list(RawOutboxQuery {
        state: Some("dead".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&dead_only.items), std::slice::from_ref(&dead.id));
    assert_eq!(dead_only.items[0].state, OutboxState::Dead);
    let (pending, _) = list(RawOutboxQuery {
        state: Some("pending".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(pending.items.len(), 3);

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (page, query) = list(RawOutboxQuery {
            paging: PageRequest {
                limit: Some(2),
                cursor: cursor.take(),
                ..Default::default()
            },
            ..Default::default()
        })
        .await;
        seen.extend(ids(&page.items));
        if !page.has_next {
            break;
        }
        cursor = Some(query.next_cursor(page.items.last().unwrap()));
    }
    assert_eq!(seen, newest_first);
    let (second_page, _) = list(RawOutboxQuery {
        paging: PageRequest {
            limit: Some(2),
            page: Some(2),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    assert_eq!(ids(&second_page.items), newest_first[2..4]);
    assert_eq!(second_page.total, Some(5));
}

pub async fn a_notice_to_an_unverified_contact_is_kept_skipped_and_never_claimed(
    repo: &dyn OutboxRepository,
) {
    let unverified = Contact {
        recipient: Recipient::Sms(Phone::parse("to", "+919812345678").unwrap()),
        verified: false,
    };
    let verified = Contact {
        recipient: Recipient::Email(Email::parse("to", "asha@example.in").unwrap()),
        verified: true,
    };
    let notice = |contact: &Contact| {
        OutboxMessage::to_contact(
            NoticeKind::Cancellation,
            contact,
            data("order-1"),
            dedupe_key(
                "order-1",
                NoticeKind::Cancellation,
                contact.recipient.channel(),
                None,
            ),
            secs(0),
        )
    };
    let skipped = notice(&unverified);
    let sent = notice(&verified);
    assert_eq!(
        repo.enqueue(&[skipped.clone(), sent.clone()])
            .await
            .unwrap(),
        2
    );

    let claimed = repo.claim("worker-a", secs(3600), LEASE, 10).await.unwrap();

    assert_eq!(ids(&claimed), std::slice::from_ref(&sent.id));
    let kept = stored(repo, &skipped.id).await;
    assert_eq!(kept, skipped);
    assert_eq!(kept.state, OutboxState::Skipped);
    assert_eq!(
        kept.last_error.as_deref(),
        Some(unverified_reason(Channel::Sms))
    );
    let listed = repo
        .list(&OutboxQuery::first(Some(OutboxState::Skipped), 10))
        .await
        .unwrap();
    assert_eq!(ids(&listed.items), std::slice::from_ref(&skipped.id));
    assert!(matches!(
        repo.retry(&skipped.id, secs(3601)).await,
        Err(StoreError::VersionConflict)
    ));
}

pub async fn only_the_lease_holder_sets_a_message_aside_for_good(repo: &dyn OutboxRepository) {
    let message = sms_notice(1, secs(0));
    repo.enqueue(std::slice::from_ref(&message)).await.unwrap();
    repo.claim("worker-a", secs(0), LEASE, 1).await.unwrap();
    let leased = stored(repo, &message.id).await;

    let by_b = repo
        .mark_skipped(&message.id, "worker-b", "over the cap")
        .await
        .unwrap();
    assert!(!by_b);
    assert_eq!(stored(repo, &message.id).await, leased);

    let by_a = repo
        .mark_skipped(&message.id, "worker-a", "over the cap")
        .await
        .unwrap();

    assert!(by_a);
    let skipped = stored(repo, &message.id).await;
    assert_eq!(skipped.state, OutboxState::Skipped);
    assert_eq!(skipped.last_error.as_deref(), Some("over the cap"));
    assert_eq!(skipped.lease, None);
    assert_eq!(skipped.attempts, 1);
    assert!(
        repo.claim("worker-c", secs(86_400), LEASE, 1)
            .await
            .unwrap()
            .is_empty(),
        "a skipped message is never claimed again"
    );
}

macro_rules! outbox_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::outbox,
            [
                messages_read_back_unchanged,
                enqueueing_a_known_dedupe_key_does_nothing,
                claims_take_due_messages_earliest_first_up_to_the_limit,
                a_leased_message_is_hidden_until_its_lease_runs_out,
                only_the_lease_holder_records_an_outcome,
                a_worker_whose_lease_was_taken_over_records_nothing,
                a_failed_attempt_waits_for_its_next_attempt,
                a_message_is_dead_after_its_last_allowed_attempt,
                an_admin_retry_revives_only_dead_messages,
                lists_filter_by_state_newest_first_and_page,
                a_notice_to_an_unverified_contact_is_kept_skipped_and_never_claimed,
                only_the_lease_holder_sets_a_message_aside_for_good,
            ]
        );
    };
}

fn memory() -> Arc<dyn OutboxRepository> {
    Arc::new(MemoryOutbox::new())
}

async fn mongodb() -> Arc<dyn OutboxRepository> {
    Arc::new(mongo_outbox().await)
}

outbox_suite!(memory_backend, memory());
outbox_suite!(mongodb_backend, mongodb().await);

/// Many claimers on worker threads of their own, racing for the same messages until none is
/// left: each message is claimed exactly once.
async fn concurrent_claimers_never_share_a_message(repo: Arc<dyn OutboxRepository>) {
    let messages: Vec<OutboxMessage> = (0..40).map(|n| email_notice(n, secs(0))).collect();
    repo.enqueue(&messages).await.unwrap();

    let claimers = (0..8).map(|worker| {
        let repo = repo.clone();
        tokio::spawn(async move {
            let owner = format!("worker-{worker}");
            let mut taken = Vec::new();
            loop {
                let batch = repo.claim(&owner, secs(1), LEASE, 3).await.unwrap();
                if batch.is_empty() {
                    return taken;
                }
                assert!(batch
                    .iter()
                    .all(|m| m.lease.as_ref().is_some_and(|l| l.owner == owner)));
                taken.extend(batch.into_iter().map(|m| m.id));
            }
        })
    });
    let mut claimed = Vec::new();
    for claimer in futures::future::join_all(claimers).await {
        claimed.extend(claimer.unwrap());
    }

    let distinct: HashSet<&OutboxId> = claimed.iter().collect();
    assert_eq!(claimed.len(), 40, "some were claimed twice or not at all");
    assert_eq!(distinct.len(), 40);
    for message in &messages {
        assert_eq!(repo.get(&message.id).await.unwrap().unwrap().attempts, 1);
    }
}

mod concurrency {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory_claimers_never_share_a_message() {
        concurrent_claimers_never_share_a_message(memory()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn mongodb_claimers_never_share_a_message() {
        concurrent_claimers_never_share_a_message(mongodb().await).await;
    }
}

/// MongoDB only (shared by replicas): two replicas whose clocks disagree by ten minutes, the
/// one ahead claiming right after the other. Judged by the claimers' clocks the first lease
/// would look long over to the second; judged by the server's clock, it still holds, so the
/// second gets nothing, and takes the message only once the lease ran out on the server.
#[tokio::test]
async fn mongodb_judges_leases_by_the_servers_clock_not_a_skewed_replicas() {
    let repo = mongodb().await;
    let real_now = Utc::now();
    let message = email_notice(1, real_now - Duration::seconds(1));
    repo.enqueue(std::slice::from_ref(&message)).await.unwrap();
    let ahead = real_now + Duration::minutes(10);

    let taken = repo
        .claim("replica-a", real_now, SHORT_LEASE, 1)
        .await
        .unwrap();
    let by_the_fast_clock = repo.claim("replica-b", ahead, LEASE, 1).await.unwrap();
    lease_runs_out().await;
    let after_it_ran_out = repo.claim("replica-b", ahead, LEASE, 1).await.unwrap();

    assert_eq!(ids(&taken), ids(std::slice::from_ref(&message)));
    assert!(by_the_fast_clock.is_empty(), "{by_the_fast_clock:?}");
    assert_eq!(ids(&after_it_ran_out), ids(std::slice::from_ref(&message)));
    let lease = after_it_ran_out[0].lease.as_ref().unwrap();
    assert_eq!(lease.owner, "replica-b");
    assert!(
        !repo
            .mark_delivered(&message.id, "replica-a", "late", real_now)
            .await
            .unwrap(),
        "the replica whose lease ran out records nothing"
    );
}

/// MongoDB only: an order store enqueues in its own transaction, so its notices are written
/// if and only if the transaction commits.
#[tokio::test]
async fn mongodb_enqueues_inside_a_transaction_only_when_it_commits() {
    let db = test_database().await;
    let repo = MongoOutbox::new(&db).await.unwrap();
    let aborted = email_notice(1, secs(0));
    let committed = [email_notice(2, secs(1)), sms_notice(2, secs(1))];
    let mut session = db.client().start_session().await.unwrap();

    session.start_transaction().await.unwrap();
    let added = enqueue_in_transaction(&db, &mut session, std::slice::from_ref(&aborted))
        .await
        .unwrap();
    session.abort_transaction().await.unwrap();
    assert_eq!(added, 1);
    assert_eq!(repo.get(&aborted.id).await.unwrap(), None);

    session.start_transaction().await.unwrap();
    let added = enqueue_in_transaction(&db, &mut session, &committed)
        .await
        .unwrap();
    session.commit_transaction().await.unwrap();
    assert_eq!(added, 2);
    for message in &committed {
        assert_eq!(repo.get(&message.id).await.unwrap().as_ref(), Some(message));
    }

    session.start_transaction().await.unwrap();
    let again = enqueue_in_transaction(&db, &mut session, &[email_notice(2, secs(9))])
        .await
        .unwrap();
    session.commit_transaction().await.unwrap();
    assert_eq!(again, 0, "the dedupe key is known");
}

#[tokio::test]
async fn mongodb_sets_an_unreadable_message_aside_and_claims_the_others() {
    let db = test_database().await;
    let repo = MongoOutbox::new(&db).await.unwrap();
    let readable = email_notice(1, secs(0));
    let unreadable = email_notice(2, secs(0));
    repo.enqueue(&[readable.clone(), unreadable.clone()])
        .await
        .unwrap();
    // Written by something else: a channel this version does not know.
    let raw = db.collection::<bson::Document>(bazaar::store::mongo::OUTBOX_COLLECTION);
    raw.update_one(
        bson::doc! { "dedupe_key": &unreadable.dedupe_key },
        bson::doc! { "$set": { "channel": "pigeon" } },
    )
    .await
    .unwrap();

    let claimed = repo
        .claim("worker-a", secs(10), StdDuration::from_secs(60), 10)
        .await
        .unwrap();

    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, readable.id);
    let set_aside = raw
        .find_one(bson::doc! { "dedupe_key": &unreadable.dedupe_key })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(set_aside.get_str("state").unwrap(), "dead");
    assert!(set_aside
        .get_str("last_error")
        .unwrap()
        .starts_with("unreadable"));
}
