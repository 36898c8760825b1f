//! The audit repository contract, held against memory and MongoDB alike.

use bazaar::domain::listing::PageRequest;
use std::sync::Arc;

use bazaar::domain::audit::{AuditEvent, AuditKind, AuditQuery, RawAuditQuery, Reason};
use bazaar::store::memory::MemoryAudit;
use bazaar::store::AuditRepository;
use chrono::{DateTime, Duration};

use super::conformance;
use crate::kit::mongo_audit;

const USER: &str = "0123456789abcdef01234567";
const STAFF: &str = "0123456789abcdef0123aaaa";
const ORDER: &str = "0123456789abcdef0123bbbb";
const OTHER_ORDER: &str = "0123456789abcdef0123cccc";

fn event(kind: AuditKind, minute: i64, user: Option<&str>) -> AuditEvent {
    let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap() + Duration::minutes(minute);
    let mut e = AuditEvent::new(kind, at);
    e.user_id = user.map(str::to_owned);
    e.request_id = format!("req-{minute}");
    e.ip = "203.0.113.9".into();
    e.user_agent = "test".into();
    e
}

pub async fn events_read_back_newest_first_with_filters(repo: &dyn AuditRepository) {
    let events = [
        event(AuditKind::Register, 1, Some(USER)),
        event(AuditKind::LoginFailed, 2, None),
        event(AuditKind::LoginSucceeded, 3, Some(USER)),
        event(AuditKind::Logout, 4, Some(USER)),
    ];
    for e in &events {
        repo.record(e).await.unwrap();
    }
    let list = |raw: RawAuditQuery| async move {
        repo.list(&AuditQuery::parse(&raw).unwrap()).await.unwrap()
    };
    let all = list(RawAuditQuery::default()).await;
    assert_eq!(all.items, events.iter().rev().cloned().collect::<Vec<_>>());
    let kinds = |page: &bazaar::domain::audit::AuditPage| {
        page.items
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(
            &list(RawAuditQuery {
                kind: Some("login_failed".into()),
                ..Default::default()
            })
            .await
        ),
        ["login_failed"]
    );
    assert_eq!(
        kinds(
            &list(RawAuditQuery {
                user_id: Some(USER.into()),
                ..Default::default()
            })
            .await
        ),
        ["logout", "login_succeeded", "register"]
    );
    let window = RawAuditQuery {
        since: Some(events[1].at),
        until: Some(events[3].at),
        ..Default::default()
    };
    assert_eq!(
        kinds(&list(window).await),
        ["login_succeeded", "login_failed"]
    );
    let page = list(RawAuditQuery {
        paging: PageRequest {
            limit: Some(3),
            page: Some(2),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    assert_eq!((kinds(&page), page.total), (vec!["register"], Some(4)));
    let q = AuditQuery::parse(&RawAuditQuery {
        paging: PageRequest {
            limit: Some(2),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let first = repo.list(&q).await.unwrap();
    let next = AuditQuery::parse(&RawAuditQuery {
        paging: PageRequest {
            limit: Some(2),
            cursor: Some(q.next_cursor(first.items.last().unwrap())),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        kinds(&repo.list(&next).await.unwrap()),
        ["login_failed", "register"]
    );
}

fn money_event(kind: AuditKind, minute: i64, order: &str, amount: i64) -> AuditEvent {
    let mut e = event(kind, minute, Some(USER));
    e.actor_id = Some(STAFF.into());
    e.order_id = Some(order.into());
    e.amount_paise = Some(amount);
    e.reason = Reason::parse("reason", Some("damaged in transit")).unwrap();
    e
}

pub async fn money_actions_keep_their_fields_and_filter_by_actor_and_order(
    repo: &dyn AuditRepository,
) {
    let refund = money_event(AuditKind::OrderRefunded, 1, ORDER, 50_000);
    let other = money_event(AuditKind::OrderCancelled, 2, OTHER_ORDER, 259_800);
    let mut own_logout = event(AuditKind::Logout, 3, Some(USER));
    own_logout.detail = "session 1".into();
    let status = money_event(AuditKind::OrderStatusChanged, 4, ORDER, 259_800);
    for e in [&refund, &other, &own_logout, &status] {
        repo.record(e).await.unwrap();
    }
    let list = |raw: RawAuditQuery| async move {
        repo.list(&AuditQuery::parse(&raw).unwrap()).await.unwrap()
    };
    let of_order = list(RawAuditQuery {
        order_id: Some(ORDER.into()),
        ..Default::default()
    })
    .await;
    assert_eq!(of_order.items, vec![status.clone(), refund.clone()]);
    let by_staff = list(RawAuditQuery {
        actor_id: Some(STAFF.into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_staff.items, vec![status.clone(), other, refund.clone()]);
    let refunds_of_order = list(RawAuditQuery {
        kind: Some("order_refunded".into()),
        order_id: Some(ORDER.into()),
        actor_id: Some(STAFF.into()),
        ..Default::default()
    })
    .await;
    assert_eq!(refunds_of_order.items, vec![refund.clone()]);
    let read = &refunds_of_order.items[0];
    assert_eq!(
        (
            read.order_id.as_deref(),
            read.amount_paise,
            read.reason.as_ref().map(Reason::as_str)
        ),
        (Some(ORDER), Some(50_000), Some("damaged in transit"))
    );
    let nobody = list(RawAuditQuery {
        actor_id: Some(USER.into()),
        ..Default::default()
    })
    .await;
    assert!(nobody.items.is_empty(), "{:?}", nobody.items);
}

macro_rules! audit_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::audit,
            [
                events_read_back_newest_first_with_filters,
                money_actions_keep_their_fields_and_filter_by_actor_and_order
            ]
        );
    };
}

fn memory() -> Arc<dyn AuditRepository> {
    Arc::new(MemoryAudit::new())
}

async fn mongodb() -> Arc<dyn AuditRepository> {
    Arc::new(mongo_audit().await)
}

audit_suite!(memory_backend, memory());
audit_suite!(mongodb_backend, mongodb().await);
