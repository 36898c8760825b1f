//! The order and webhook-event repository contracts, held against memory and
//! MongoDB alike. The sales summary is checked twice: against numbers worked
//! out by hand, and against `summarize` over the same orders.

use bazaar::domain::listing::PageRequest;
use std::sync::Arc;

use bazaar::domain::analytics::{summarize, DayRevenue, SalesSummary, TopProduct};
use bazaar::domain::gst::rates::RateTable;
use bazaar::domain::gst::tax::{LineTax, PriceBasis, SupplyType};
use bazaar::domain::listing::Pagination;
use bazaar::domain::money::Paise;
use bazaar::domain::order::cod::{OfflineDetail, OfflineMethod, PaymentMethod};
use bazaar::domain::order::flags::{Flag, FlagReason};
use bazaar::domain::order::fulfilment::{Fulfilment, ReturnRequest, Shipment};
use bazaar::domain::order::ledger::{EntryStatus, LedgerEntry, LedgerKind};
use bazaar::domain::order::payment::PaymentEvent;
use bazaar::domain::order::request::{OrderRequest, RawAddress, RawLine, MAX_QUANTITY};
use bazaar::domain::order::status::OrderStatus;
use bazaar::domain::order::{Order, OrderId};
use bazaar::domain::order_query::{OrderQuery, OrderSort, RawOrderQuery};
use bazaar::domain::outbox::{dedupe_key, Channel, NoticeKind, OutboxMessage, Recipient};
use bazaar::domain::pricing::TaxTerms;
use bazaar::domain::product::{Categories, Product, ProductDraft, RawProduct};
use bazaar::domain::request_key::RequestKey;
use bazaar::domain::user::{Phone, UserId};
use bazaar::domain::webhook::WebhookRecord;
use bazaar::store::memory::{MemoryOrders, MemoryOutbox, MemoryWebhookEvents};
use bazaar::store::{OrderRepository, OutboxRepository, StoreError, WebhookEventRepository};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::conformance;
use crate::kit::{mongo_orders, mongo_webhook_events};

/// How long a customer has to pay, in these tests.
const PAY_WITHIN_MINUTES: i64 = 30;

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("a valid time")
        .with_timezone(&Utc)
}

fn base_time() -> DateTime<Utc> {
    at("2026-01-01T00:00:00Z")
}

fn product(sku: &str, price: i64) -> Product {
    let raw = RawProduct {
        sku: sku.into(),
        name: format!("Product {sku}"),
        description: None,
        price,
        currency: "INR".into(),
        category: "home".into(),
        tags: vec![],
        stock: None,
        images: vec![],
        ..Default::default()
    };
    let categories = Categories::new(vec!["home".into()]);
    let draft =
        ProductDraft::parse(&raw, &categories, RateTable::built_in()).expect("valid product");
    Product::create(draft, base_time())
}

/// An unpaid order for `lines` (each product once), created at `created`.
fn order(user: &UserId, lines: &[(&Product, u32)], created: DateTime<Utc>) -> Order {
    let raw: Vec<RawLine> = lines
        .iter()
        .map(|(p, quantity)| RawLine {
            product_id: p.id.to_string(),
            variant_id: None,
            quantity: i64::from(*quantity),
        })
        .collect();
    let request = OrderRequest::parse(&raw, None, None, MAX_QUANTITY).expect("valid order");
    let products: Vec<Product> = lines.iter().map(|(p, _)| (*p).clone()).collect();
    Order::new(
        OrderId::generate(),
        user.clone(),
        request,
        &products,
        crate::kit::taxing_at_18_percent(),
        created,
        Duration::minutes(PAY_WITHIN_MINUTES),
    )
}

fn entry(
    kind: LedgerKind,
    provider_id: &str,
    amount: i64,
    status: EntryStatus,
    recorded_at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        kind,
        provider_id: provider_id.into(),
        payment_id: format!("pay_of_{provider_id}"),
        amount: Paise::parse_price("amount", amount).expect("a positive amount"),
        currency: "INR".into(),
        status,
        recorded_at,
        offline: None,
    }
}

fn ids(orders: &[Order]) -> Vec<String> {
    orders.iter().map(|o| o.id.to_string()).collect()
}

async fn insert_all(repo: &dyn OrderRepository, orders: &[Order]) {
    for o in orders {
        repo.insert(o).await.expect("insert");
    }
}

fn query(raw: RawOrderQuery, user: Option<UserId>) -> OrderQuery {
    OrderQuery::parse(&raw, user).expect("valid query")
}

pub async fn orders_read_back_unchanged_with_every_field(repo: &dyn OrderRepository) {
    let (kettle, mug) = (product("KET", 1499), product("MUG", 350));
    let raw_address = RawAddress {
        name: "Asha Rao".into(),
        line1: "12 MG Road".into(),
        line2: Some("Flat 4B".into()),
        city: "Bengaluru".into(),
        state: "Karnataka".into(),
        postal_code: "560001".into(),
        phone: Some("98123 45601".into()),
        landmark: Some("Opposite the metro station".into()),
    };
    let lines = [
        RawLine {
            product_id: kettle.id.to_string(),
            variant_id: None,
            quantity: 2,
        },
        RawLine {
            product_id: mug.id.to_string(),
            variant_id: None,
            quantity: 3,
        },
    ];
    let request =
        OrderRequest::parse(&lines, Some(&raw_address), Some("Ring twice"), MAX_QUANTITY).unwrap();
    let created = at("2026-01-01T10:15:30.123Z");
    let mut o = Order::new(
        OrderId::generate(),
        UserId::generate(),
        request,
        &[kettle, mug],
        bazaar::domain::order::tax::ItemTaxing {
            terms: TaxTerms {
                basis: PriceBasis::Inclusive,
                supply: SupplyType::Intra,
            },
            rate_of: &crate::kit::at_18_percent,
        },
        created,
        Duration::minutes(PAY_WITHIN_MINUTES),
    );
    o.status = OrderStatus::Delivered;
    // What checkout from the cart adds: coupon, discount, shipping and the state's GST code.
    o.discount = Paise::parse_price("discount", 300).unwrap();
    o.shipping = Paise::parse_price("shipping", 4_900).unwrap();
    o.coupon_code = Some("READ-10".into());
    if let Some(gst) = o.gst.as_mut() {
        gst.items[0].discount = 300;
        gst.shipping = Some(LineTax::compute(
            4_900,
            1800,
            PriceBasis::Inclusive,
            SupplyType::Intra,
        ));
    }
    if let Some(address) = o.address.as_mut() {
        address.state_code = Some("29".into());
    }
    o.payment.provider_order_id = Some("order_ROUND1".into());
    o.payment.payment_id = Some("pay_ROUND1".into());
    o.payment.last_failure = Some("card declined".into());
    let t = |ms: i64| created + Duration::milliseconds(ms);
    o.ledger = vec![
        entry(LedgerKind::Capture, "pay_F", 100, EntryStatus::Failed, t(1)),
        entry(
            LedgerKind::Capture,
            "pay_ROUND1",
            4578,
            EntryStatus::Settled,
            t(1_001),
        ),
        entry(
            LedgerKind::Capture,
            "pay_P",
            200,
            EntryStatus::Pending,
            t(2_002),
        ),
        entry(
            LedgerKind::Refund,
            "rfnd_P",
            300,
            EntryStatus::Pending,
            t(3_003),
        ),
        entry(
            LedgerKind::Refund,
            "rfnd_S",
            400,
            EntryStatus::Settled,
            t(4_004),
        ),
        entry(
            LedgerKind::Refund,
            "rfnd_F",
            500,
            EntryStatus::Failed,
            t(5_005),
        ),
    ];
    o.ledger.push(LedgerEntry {
        currency: "USD".into(),
        ..entry(
            LedgerKind::Capture,
            "pay_USD",
            5,
            EntryStatus::Settled,
            t(5_500),
        )
    });
    o.flags = vec![Flag {
        reason: FlagReason::PaymentMismatch,
        subject: "pay_USD".into(),
        detail: "payment pay_USD is for 5 USD".into(),
        flagged_at: t(5_600),
    }];
    // Cash on delivery, with what the fulfilment and the cash record keep.
    o.payment_method = PaymentMethod::Cod;
    o.ledger.push(LedgerEntry {
        offline: Some(OfflineDetail {
            method: OfflineMethod::Upi,
            reference: Some("UTR 4123".into()),
        }),
        ..entry(
            LedgerKind::Refund,
            "codrf_1",
            7,
            EntryStatus::Settled,
            t(5_700),
        )
    });
    o.fulfilment = Fulfilment {
        shipment: Some(Shipment {
            carrier: "Delhivery".into(),
            tracking_number: "DLV 123".into(),
            shipped_at: t(5_800),
        }),
        delivered_at: Some(t(5_900)),
        return_request: Some(ReturnRequest {
            reason: "too small".into(),
            requested_at: t(6_000),
            received_at: Some(t(6_100)),
            restocked: Some(false),
        }),
    };
    // Kept after the order was paid, though it no longer holds the slot.
    o.unpaid_slot = Some(2);
    o.request_key = Some(RequestKey {
        id: "round-trip-key".into(),
        fingerprint: "f1".into(),
    });
    o.updated_at = t(6_789);
    o.version = 7;
    let bare = order(&UserId::generate(), &[(&product("BARE", 10), 1)], created);
    insert_all(repo, &[o.clone(), bare.clone()]).await;

    assert_eq!(repo.get(&o.id).await.unwrap().as_ref(), Some(&o));
    assert_eq!(repo.get(&bare.id).await.unwrap().as_ref(), Some(&bare));
    assert_eq!(
        repo.find_by_provider_order("order_ROUND1").await.unwrap(),
        Some(o.clone())
    );
    assert_eq!(
        repo.find_by_provider_order("order_NONE").await.unwrap(),
        None
    );
    let unknown = order(&UserId::generate(), &[(&product("X", 10), 1)], created);
    assert_eq!(repo.get(&unknown.id).await.unwrap(), None);
    assert!(matches!(
        repo.insert(&o).await,
        Err(StoreError::Duplicate { field: "id" })
    ));
}

pub async fn updates_need_the_current_version(repo: &dyn OrderRepository) {
    let o = order(
        &UserId::generate(),
        &[(&product("UPD", 500), 1)],
        base_time(),
    );
    repo.insert(&o).await.unwrap();
    let mut paid = o.clone();
    let applied = paid.apply(
        &PaymentEvent::Captured {
            payment_id: "pay_UPD".into(),
            amount: paid.total,
            currency: "INR".into(),
        },
        base_time() + Duration::minutes(1),
    );
    assert!(applied.changed);
    assert_eq!(paid.version, 2);

    repo.update(&paid, 1, &[]).await.unwrap();
    assert_eq!(repo.get(&o.id).await.unwrap().as_ref(), Some(&paid));
    assert!(matches!(
        repo.update(&paid, 1, &[]).await,
        Err(StoreError::VersionConflict)
    ));
    let never_stored = order(
        &UserId::generate(),
        &[(&product("NEW", 500), 1)],
        base_time(),
    );
    assert!(matches!(
        repo.update(&never_stored, 1, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(repo.get(&o.id).await.unwrap(), Some(paid));
}

/// What `If-Match` relies on: a change made from a copy the client read before
/// someone else's write is refused whole, and the stored order stays as the
/// other writer left it.
pub async fn a_change_from_a_stale_version_changes_nothing(repo: &dyn OrderRepository) {
    let o = order(
        &UserId::generate(),
        &[(&product("STALE", 500), 1)],
        base_time(),
    );
    repo.insert(&o).await.unwrap();
    let mut paid = o.clone();
    paid.apply(
        &PaymentEvent::Captured {
            payment_id: "pay_STALE".into(),
            amount: paid.total,
            currency: "INR".into(),
        },
        base_time() + Duration::minutes(1),
    );
    repo.update(&paid, o.version, &[]).await.unwrap();
    let mut cancelled_from_stale = o.clone();
    cancelled_from_stale
        .transition(OrderStatus::Cancelled, base_time() + Duration::minutes(2))
        .unwrap();

    let stale = repo.update(&cancelled_from_stale, o.version, &[]).await;

    assert!(matches!(stale, Err(StoreError::VersionConflict)));
    assert_eq!(repo.get(&o.id).await.unwrap(), Some(paid));
}

pub async fn concurrent_updates_from_one_version_let_exactly_one_win(repo: &dyn OrderRepository) {
    let o = order(
        &UserId::generate(),
        &[(&product("RACE", 500), 1)],
        base_time(),
    );
    repo.insert(&o).await.unwrap();
    let candidates: Vec<Order> = (0..10)
        .map(|i| {
            let mut next = o.clone();
            next.notes = Some(format!("attempt {i}"));
            next.version = 2;
            next
        })
        .collect();
    let attempts = candidates.iter().map(|next| repo.update(next, 1, &[]));
    let results = futures::future::join_all(attempts).await;

    let winners: Vec<&Order> = candidates
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(c, _)| c)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::VersionConflict))));
    assert_eq!(repo.get(&o.id).await.unwrap().as_ref(), Some(winners[0]));
}

pub async fn lists_filter_by_customer_status_and_dates_in_both_orders(repo: &dyn OrderRepository) {
    let (asha, ravi) = (UserId::generate(), UserId::generate());
    let p = product("LIST", 100);
    let minute = |m: i64| base_time() + Duration::minutes(m);
    let statuses = [
        (&asha, OrderStatus::PendingPayment),
        (&ravi, OrderStatus::Paid),
        (&asha, OrderStatus::Paid),
        (&ravi, OrderStatus::Cancelled),
        (&asha, OrderStatus::Shipped),
        (&asha, OrderStatus::Paid),
    ];
    let orders: Vec<Order> = statuses
        .iter()
        .enumerate()
        .map(|(i, (user, status))| {
            let mut o = order(user, &[(&p, 1)], minute(i as i64));
            o.status = *status;
            o
        })
        .collect();
    // Stored out of order, so nothing depends on insertion order.
    insert_all(repo, &[orders[3].clone(), orders[0].clone()]).await;
    insert_all(repo, &[orders[5].clone(), orders[1].clone()]).await;
    insert_all(repo, &[orders[2].clone(), orders[4].clone()]).await;
    let expect = |indexes: &[usize]| -> Vec<String> {
        indexes.iter().map(|i| orders[*i].id.to_string()).collect()
    };
    let list = |raw: RawOrderQuery, user: Option<UserId>| async move {
        repo.list(&query(raw, user)).await.unwrap()
    };

    let all = list(RawOrderQuery::default(), None).await;
    assert_eq!(ids(&all.items), expect(&[5, 4, 3, 2, 1, 0]));
    assert_eq!((all.has_next, all.total), (false, None));
    let oldest_first = RawOrderQuery {
        sort: Some("created_at".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&list(oldest_first.clone(), None).await.items),
        expect(&[0, 1, 2, 3, 4, 5])
    );
    assert_eq!(
        ids(&list(oldest_first, Some(asha.clone())).await.items),
        expect(&[0, 2, 4, 5])
    );
    let paid = RawOrderQuery {
        status: Some("paid".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&list(paid.clone(), None).await.items),
        expect(&[5, 2, 1])
    );
    assert_eq!(ids(&list(paid, Some(ravi)).await.items), expect(&[1]));
    // `from` is inclusive, `to` exclusive.
    let window = RawOrderQuery {
        from: Some("2026-01-01T00:01:00Z".into()),
        to: Some("2026-01-01T00:04:00Z".into()),
        ..Default::default()
    };
    assert_eq!(ids(&list(window, None).await.items), expect(&[3, 2, 1]));
    let asha_from = RawOrderQuery {
        from: Some("2026-01-01T00:02:00Z".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&list(asha_from, Some(asha.clone())).await.items),
        expect(&[5, 4, 2])
    );

    let page = |n: i64, user: Option<UserId>| {
        list(
            RawOrderQuery {
                paging: PageRequest {
                    limit: Some(2),
                    page: Some(n),
                    ..Default::default()
                },
                ..Default::default()
            },
            user,
        )
    };
    let second = page(2, None).await;
    assert_eq!(
        (ids(&second.items), second.has_next, second.total),
        (expect(&[3, 2]), true, Some(6))
    );
    let last = page(3, None).await;
    assert_eq!(
        (ids(&last.items), last.has_next, last.total),
        (expect(&[1, 0]), false, Some(6))
    );
    let asha_second = page(2, Some(asha)).await;
    assert_eq!(
        (
            ids(&asha_second.items),
            asha_second.has_next,
            asha_second.total
        ),
        (expect(&[2, 0]), false, Some(4))
    );
}

pub async fn lists_filter_by_flags(repo: &dyn OrderRepository) {
    let user = UserId::generate();
    let p = product("FLAG", 100);
    let minute = |m: i64| base_time() + Duration::minutes(m);
    let plain = order(&user, &[(&p, 1)], minute(0));
    let mut flagged = order(&user, &[(&p, 1)], minute(1));
    flagged.flags.push(Flag {
        reason: FlagReason::RefundExceedsCapture,
        subject: "rfnd_X".into(),
        detail: "refund rfnd_X is larger than its capture".into(),
        flagged_at: minute(2),
    });
    insert_all(repo, &[plain.clone(), flagged.clone()]).await;
    let list = |flagged: &str| {
        let raw = RawOrderQuery {
            flagged: Some(flagged.into()),
            ..Default::default()
        };
        async move { ids(&repo.list(&query(raw, None)).await.unwrap().items) }
    };

    assert_eq!(list("true").await, ids(std::slice::from_ref(&flagged)));
    assert_eq!(list("false").await, ids(std::slice::from_ref(&plain)));
    let mut cleared = flagged.clone();
    cleared.flags.clear();
    cleared.version += 1;
    repo.update(&cleared, flagged.version, &[]).await.unwrap();
    assert!(list("true").await.is_empty());
}

/// An unpaid order of `user` in `slot`.
fn unpaid_in(user: &UserId, slot: Option<u32>) -> Order {
    let mut o = order(user, &[(&product("SLOT", 100), 1)], base_time());
    o.unpaid_slot = slot;
    o
}

pub async fn a_customer_cannot_hold_two_unpaid_orders_in_one_slot(repo: &dyn OrderRepository) {
    let (asha, ravi) = (UserId::generate(), UserId::generate());
    let first = unpaid_in(&asha, Some(0));
    repo.insert(&first).await.unwrap();

    let same_slot = repo.insert(&unpaid_in(&asha, Some(0))).await;
    let other_slot = repo.insert(&unpaid_in(&asha, Some(1))).await;
    let other_customer = repo.insert(&unpaid_in(&ravi, Some(0))).await;
    let uncapped = repo.insert(&unpaid_in(&asha, None)).await;

    assert!(
        matches!(
            same_slot,
            Err(StoreError::Duplicate {
                field: "unpaid_slot"
            })
        ),
        "{same_slot:?}"
    );
    assert!(other_slot.is_ok() && other_customer.is_ok() && uncapped.is_ok());
    assert_eq!(repo.count_unpaid(&asha).await.unwrap(), 3);
    // Paid (or cancelled, or expired): the slot is free again.
    let mut paid = first.clone();
    paid.apply(
        &PaymentEvent::Captured {
            payment_id: "pay_SLOT".into(),
            amount: paid.total,
            currency: "INR".into(),
        },
        base_time(),
    );
    repo.update(&paid, first.version, &[]).await.unwrap();
    assert_eq!(repo.count_unpaid(&asha).await.unwrap(), 2);
    repo.insert(&unpaid_in(&asha, Some(0))).await.unwrap();
    // A flagged mismatch still holds stock, and its slot.
    let mut mismatch = unpaid_in(&ravi, Some(1));
    mismatch.status = OrderStatus::PaymentMismatch;
    repo.insert(&mismatch).await.unwrap();
    assert!(matches!(
        repo.insert(&unpaid_in(&ravi, Some(1))).await,
        Err(StoreError::Duplicate {
            field: "unpaid_slot"
        })
    ));
    assert_eq!(repo.count_unpaid(&ravi).await.unwrap(), 2);
}

pub async fn concurrent_orders_in_one_slot_let_exactly_one_in(repo: &dyn OrderRepository) {
    let user = UserId::generate();
    let candidates: Vec<Order> = (0..10).map(|_| unpaid_in(&user, Some(0))).collect();

    let results = futures::future::join_all(candidates.iter().map(|o| repo.insert(o))).await;

    let stored = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(stored, 1, "{results:?}");
    assert_eq!(repo.count_unpaid(&user).await.unwrap(), 1);
}

/// An unpaid order placed under the request key `id`.
fn keyed(user: &UserId, id: &str) -> Order {
    let mut o = unpaid_in(user, None);
    o.request_key = Some(RequestKey {
        id: id.into(),
        fingerprint: "fp".into(),
    });
    o
}

pub async fn one_order_per_request_key_even_when_attempts_race(repo: &dyn OrderRepository) {
    let user = UserId::generate();
    let key = format!("key-{}", UserId::generate());
    let attempts: Vec<Order> = (0..10).map(|_| keyed(&user, &key)).collect();

    let results = futures::future::join_all(attempts.iter().map(|o| repo.insert(o))).await;

    let stored: Vec<&Order> = attempts
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(o, _)| o)
        .collect();
    assert_eq!(stored.len(), 1, "{results:?}");
    assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(
        r,
        Err(StoreError::Duplicate {
            field: "request_key"
        })
    )));
    assert_eq!(
        repo.find_by_request_key(&key).await.unwrap().as_ref(),
        Some(stored[0])
    );
    assert_eq!(repo.find_by_request_key("no-such-key").await.unwrap(), None);
    // Orders without a key, and under other keys, are unaffected.
    repo.insert(&unpaid_in(&user, None)).await.unwrap();
    repo.insert(&unpaid_in(&user, None)).await.unwrap();
    repo.insert(&keyed(&user, &format!("{key}-2")))
        .await
        .unwrap();
}

/// Pages through `raw` by cursor, inserting what `between_pages` makes after
/// each page; answers the ids seen.
async fn walk(
    repo: &dyn OrderRepository,
    raw: RawOrderQuery,
    mut between_pages: impl FnMut() -> Order,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut q = query(raw.clone(), None);
    for page_number in 0.. {
        let page = repo.list(&q).await.unwrap();
        assert!(page.items.len() <= q.limit as usize);
        assert_eq!(page.total, None);
        seen.extend(ids(&page.items));
        repo.insert(&between_pages()).await.unwrap();
        if !page.has_next {
            break;
        }
        let last = page.items.last().expect("a full page has a last item");
        q = query(
            RawOrderQuery {
                paging: PageRequest {
                    cursor: Some(q.next_cursor(last)),
                    ..raw.paging.clone()
                },
                ..raw.clone()
            },
            None,
        );
        assert!(matches!(q.pagination, Pagination::Cursor(Some(_))));
        assert!(page_number < 100, "pagination does not end");
    }
    seen
}

pub async fn cursor_pages_are_stable_while_orders_arrive(repo: &dyn OrderRepository) {
    let user = UserId::generate();
    let p = product("CUR", 100);
    // Pairs share a creation time, so the id breaks ties.
    let mut stored: Vec<Order> = (0..12)
        .map(|i| order(&user, &[(&p, 1)], base_time() + Duration::minutes(i / 2)))
        .collect();
    insert_all(repo, &stored).await;
    for descending in [true, false] {
        let sort = OrderSort { descending };
        let mut expected = stored.clone();
        expected.sort_by(|a, b| sort.compare(a, b));
        // New orders keep arriving on the side the walk has already passed.
        let mut arrived = Vec::new();
        let seen = walk(
            repo,
            RawOrderQuery {
                sort: Some(sort.as_str().into()),
                paging: PageRequest {
                    limit: Some(5),
                    ..Default::default()
                },
                ..Default::default()
            },
            || {
                let shift = Duration::minutes(100 + arrived.len() as i64);
                let created = if descending {
                    base_time() + shift
                } else {
                    base_time() - shift
                };
                let new = order(&user, &[(&p, 1)], created);
                arrived.push(new.clone());
                new
            },
        )
        .await;
        assert_eq!(seen, ids(&expected), "sort {}", sort.as_str());
        stored.extend(arrived);
    }
}

pub async fn unpaid_orders_are_found_oldest_first_for_expiry_and_reconciliation(
    repo: &dyn OrderRepository,
) {
    let user = UserId::generate();
    let p = product("UNPAID", 100);
    let minute = |m: i64| base_time() + Duration::minutes(m);
    // Expire 30 minutes after creation.
    let mut a = order(&user, &[(&p, 1)], minute(0));
    let mut b = order(&user, &[(&p, 1)], minute(10));
    let c = order(&user, &[(&p, 1)], minute(20));
    let mut paid = order(&user, &[(&p, 1)], minute(1));
    let mut cancelled = order(&user, &[(&p, 1)], minute(2));
    a.payment.provider_order_id = Some("order_A".into());
    a.updated_at = minute(5);
    b.payment.provider_order_id = Some("order_B".into());
    b.updated_at = minute(15);
    paid.status = OrderStatus::Paid;
    paid.payment.provider_order_id = Some("order_PAID".into());
    cancelled.status = OrderStatus::Cancelled;
    cancelled.payment.provider_order_id = Some("order_CANCELLED".into());
    insert_all(repo, &[c.clone(), cancelled, b.clone(), paid, a.clone()]).await;

    let expired = |now: DateTime<Utc>, limit: u32| async move {
        ids(&repo.expired_unpaid(now, limit).await.unwrap())
    };
    assert_eq!(expired(minute(29), 10).await, ids(&[]));
    // Due at exactly `now` counts as expired.
    assert_eq!(expired(minute(40), 10).await, ids(&[a.clone(), b.clone()]));
    assert_eq!(
        expired(minute(60), 10).await,
        ids(&[a.clone(), b.clone(), c])
    );
    assert_eq!(expired(minute(60), 1).await, ids(&[a.clone()]));
    assert_eq!(expired(minute(60), 0).await, ids(&[]));

    let stuck = |before: DateTime<Utc>, limit: u32| async move {
        ids(&repo.stuck_in_payment(before, limit).await.unwrap())
    };
    assert_eq!(stuck(minute(5), 10).await, ids(&[]));
    // Changed strictly before the cutoff; `c` never started checkout.
    assert_eq!(stuck(minute(15), 10).await, ids(&[a.clone()]));
    assert_eq!(stuck(minute(90), 10).await, ids(&[a.clone(), b]));
    assert_eq!(stuck(minute(90), 1).await, ids(&[a]));
}

pub async fn the_summary_of_nothing_lists_every_status_at_zero(repo: &dyn OrderRepository) {
    let summary = repo
        .summary(base_time(), base_time() + Duration::days(1))
        .await
        .unwrap();
    let expected = SalesSummary {
        orders_by_status: OrderStatus::ALL.into_iter().map(|s| (s, 0)).collect(),
        ..Default::default()
    };
    assert_eq!(summary, expected);
}

/// The summary's data set: the range is 2026-01-01T00:00Z to 2026-01-04T00:00Z,
/// which in India is 05:30 on the 1st to 05:30 on the 4th.
struct SummaryCase {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    orders: Vec<Order>,
    /// Products P0 to P11, in id order.
    products: Vec<Product>,
}

fn summary_case() -> SummaryCase {
    use EntryStatus::{Failed, Pending, Settled};
    use LedgerKind::{Capture, Refund};
    use OrderStatus::*;

    let prices = [1000, 500, 1500, 200, 700, 250, 400, 300, 150, 120, 100, 50];
    let products: Vec<Product> = prices
        .iter()
        .enumerate()
        .map(|(i, price)| product(&format!("P{i}"), *price))
        .collect();
    let p = |i: usize| &products[i];
    let user = UserId::generate();
    let make = |created: &str,
                status: OrderStatus,
                checkout: Option<&str>,
                lines: &[(&Product, u32)],
                ledger: Vec<LedgerEntry>| {
        let mut o = order(&user, lines, at(created));
        o.status = status;
        o.payment.provider_order_id = checkout.map(str::to_owned);
        o.ledger = ledger;
        o
    };
    let orders = vec![
        // Created before the range: its capture at `from` counts, it does not.
        make(
            "2025-12-31T23:00:00Z",
            Paid,
            Some("order_10"),
            &[(p(10), 100)],
            vec![
                entry(
                    Capture,
                    "pay_10a",
                    100,
                    Settled,
                    at("2025-12-31T23:59:59.999Z"),
                ),
                entry(Capture, "pay_10b", 900, Settled, at("2026-01-01T00:00:00Z")),
            ],
        ),
        // Cancelled before the range: no cancelled order inside it.
        make(
            "2025-12-31T20:00:00Z",
            Cancelled,
            None,
            &[(p(11), 50)],
            vec![],
        ),
        // 23:59:59 IST on the 1st ...
        make(
            "2026-01-01T10:00:00Z",
            Paid,
            Some("order_1"),
            &[(p(0), 2), (p(1), 1)],
            vec![entry(
                Capture,
                "pay_1",
                2950,
                Settled,
                at("2026-01-01T18:29:59Z"),
            )],
        ),
        // ... and midnight IST on the 2nd.
        make(
            "2026-01-01T12:00:00Z",
            Delivered,
            Some("order_2"),
            &[(p(2), 1), (p(0), 1)],
            vec![
                entry(Capture, "pay_2", 2950, Settled, at("2026-01-01T18:30:00Z")),
                entry(Refund, "rfnd_2p", 300, Pending, at("2026-01-02T05:00:00Z")),
                entry(Refund, "rfnd_2f", 200, Failed, at("2026-01-02T06:00:00Z")),
            ],
        ),
        // Refunded at 01:30 IST on the 3rd; still sold, still a paid checkout.
        make(
            "2026-01-02T01:00:00Z",
            Refunded,
            Some("order_3"),
            &[(p(3), 3)],
            vec![
                entry(Capture, "pay_3", 708, Settled, at("2026-01-02T07:00:00Z")),
                entry(Refund, "rfnd_3", 708, Settled, at("2026-01-02T20:00:00Z")),
            ],
        ),
        make(
            "2026-01-02T02:00:00Z",
            Fulfilled,
            Some("order_7"),
            &[(p(4), 1), (p(5), 2)],
            vec![entry(
                Capture,
                "pay_7",
                1416,
                Settled,
                at("2026-01-02T02:05:00Z"),
            )],
        ),
        make(
            "2026-01-02T03:00:00Z",
            Shipped,
            Some("order_8"),
            &[(p(6), 1), (p(7), 1)],
            vec![entry(
                Capture,
                "pay_8",
                826,
                Settled,
                at("2026-01-02T03:05:00Z"),
            )],
        ),
        make(
            "2026-01-02T04:00:00Z",
            Paid,
            Some("order_9"),
            &[(p(8), 1), (p(9), 1), (p(10), 1), (p(11), 1)],
            vec![entry(
                Capture,
                "pay_9",
                495,
                Settled,
                at("2026-01-02T04:05:00Z"),
            )],
        ),
        // Captured exactly at `to`: outside the revenue, yet a paid checkout.
        make(
            "2026-01-02T05:00:00Z",
            Paid,
            Some("order_11"),
            &[(p(11), 1)],
            vec![entry(
                Capture,
                "pay_11",
                59,
                Settled,
                at("2026-01-04T00:00:00Z"),
            )],
        ),
        // Unpaid and unsold; their entries make the 4th (IST) a day with no money.
        make(
            "2026-01-02T06:00:00Z",
            PendingPayment,
            Some("order_4"),
            &[(p(10), 50)],
            vec![entry(
                Capture,
                "pay_4",
                500,
                Pending,
                at("2026-01-03T21:00:00Z"),
            )],
        ),
        make(
            "2026-01-02T07:00:00Z",
            Expired,
            Some("order_6"),
            &[(p(9), 30)],
            vec![entry(
                Capture,
                "pay_6",
                400,
                Failed,
                at("2026-01-03T20:00:00Z"),
            )],
        ),
        // Captured in dollars: a mismatch, neither revenue nor a paid checkout.
        make(
            "2026-01-02T08:00:00Z",
            PaymentMismatch,
            Some("order_13"),
            &[(p(11), 1)],
            vec![LedgerEntry {
                currency: "USD".into(),
                ..entry(Capture, "pay_13", 59, Settled, at("2026-01-02T08:05:00Z"))
            }],
        ),
        // Created at `to`: outside.
        make(
            "2026-01-04T00:00:00Z",
            Paid,
            Some("order_12"),
            &[(p(11), 100)],
            vec![entry(
                Capture,
                "pay_12",
                5900,
                Settled,
                at("2026-01-04T00:01:00Z"),
            )],
        ),
    ];
    SummaryCase {
        from: at("2026-01-01T00:00:00Z"),
        to: at("2026-01-04T00:00:00Z"),
        orders,
        products,
    }
}

fn day(date: &str, captured: i64, refunded: i64) -> DayRevenue {
    DayRevenue {
        day: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
        captured,
        refunded,
    }
}

pub async fn the_summary_adds_up_money_by_india_day_orders_by_status_and_top_products(
    repo: &dyn OrderRepository,
) {
    let case = summary_case();
    insert_all(repo, &case.orders).await;
    let top = |i: usize, units: u64, revenue: i64| TopProduct {
        product_id: case.products[i].id.clone(),
        name: format!("Product P{i}"),
        units,
        revenue,
    };
    let expected = SalesSummary {
        revenue_by_day: vec![
            day("2026-01-01", 900 + 2950, 0),
            day("2026-01-02", 2950 + 708 + 1416 + 826 + 495, 300),
            day("2026-01-03", 0, 708),
        ],
        orders_by_status: vec![
            (OrderStatus::PendingPayment, 1),
            (OrderStatus::PaymentMismatch, 1),
            (OrderStatus::Paid, 3),
            (OrderStatus::Confirmed, 0),
            (OrderStatus::Packed, 0),
            (OrderStatus::Fulfilled, 1),
            (OrderStatus::Shipped, 1),
            (OrderStatus::Delivered, 1),
            (OrderStatus::ReturnRequested, 0),
            (OrderStatus::Returned, 0),
            (OrderStatus::Cancelled, 0),
            (OrderStatus::Expired, 1),
            (OrderStatus::Refunded, 1),
        ],
        // P1 and P5 tie at 500: the lower id first. P10 and P11 (100 each) miss the cut.
        top_products: vec![
            top(0, 3, 3000),
            top(2, 1, 1500),
            top(4, 1, 700),
            top(3, 3, 600),
            top(1, 1, 500),
            top(5, 2, 500),
            top(6, 1, 400),
            top(7, 1, 300),
            top(8, 1, 150),
            top(9, 1, 120),
        ],
        checkouts: 10,
        paid_checkouts: 7,
    };

    let summary = repo.summary(case.from, case.to).await.unwrap();

    assert_eq!(summary, expected);
    assert_eq!(summary, summarize(&case.orders, case.from, case.to));
}

pub async fn the_summary_equals_summarize_over_other_ranges(repo: &dyn OrderRepository) {
    let case = summary_case();
    insert_all(repo, &case.orders).await;
    let ranges = [
        ("2025-12-31T00:00:00Z", "2026-01-05T00:00:00Z"),
        ("2026-01-01T18:30:00Z", "2026-01-02T18:30:00Z"),
        ("2026-01-01T18:29:59.999Z", "2026-01-01T18:30:00.001Z"),
        // Bounds finer than the stored milliseconds.
        ("2026-01-01T18:29:59.9995Z", "2026-01-01T18:30:00.0005Z"),
        ("2026-01-02T03:00:00Z", "2026-01-02T04:00:00Z"),
    ];
    for (from, to) in ranges {
        let (from, to) = (at(from), at(to));
        assert_eq!(
            repo.summary(from, to).await.unwrap(),
            summarize(&case.orders, from, to),
            "from {from} to {to}"
        );
    }
}

macro_rules! order_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::orders,
            [
                orders_read_back_unchanged_with_every_field,
                updates_need_the_current_version,
                a_change_from_a_stale_version_changes_nothing,
                concurrent_updates_from_one_version_let_exactly_one_win,
                lists_filter_by_customer_status_and_dates_in_both_orders,
                lists_filter_by_flags,
                a_customer_cannot_hold_two_unpaid_orders_in_one_slot,
                concurrent_orders_in_one_slot_let_exactly_one_in,
                one_order_per_request_key_even_when_attempts_race,
                cursor_pages_are_stable_while_orders_arrive,
                unpaid_orders_are_found_oldest_first_for_expiry_and_reconciliation,
                the_summary_of_nothing_lists_every_status_at_zero,
                the_summary_adds_up_money_by_india_day_orders_by_status_and_top_products,
                the_summary_equals_summarize_over_other_ranges,
            ]
        );
    };
}

fn memory() -> Arc<dyn OrderRepository> {
    Arc::new(MemoryOrders::new(Arc::new(MemoryOutbox::new())))
}

/// A notice for `order`, as the order use cases make them.
fn notice(order: &Order, kind: NoticeKind) -> OutboxMessage {
    let phone = Phone::parse("phone", "+919812345678").unwrap();
    OutboxMessage::new(
        kind,
        Recipient::Sms(phone),
        serde_json::Map::new(),
        dedupe_key(order.id.as_str(), kind, Channel::Sms, None),
        base_time(),
    )
}

/// An update's notices are written with it, and a lost update writes none.
async fn notices_are_written_with_the_update_and_only_then(
    repo: &dyn OrderRepository,
    outbox: &dyn OutboxRepository,
) {
    let o = order(
        &UserId::generate(),
        &[(&product("NOTE", 500), 1)],
        base_time(),
    );
    repo.insert(&o).await.unwrap();
    let mut cancelled = o.clone();
    cancelled
        .transition(OrderStatus::Cancelled, base_time())
        .unwrap();
    let sent = notice(&o, NoticeKind::Cancellation);
    let lost = notice(&o, NoticeKind::PaymentReceipt);

    repo.update(&cancelled, 1, std::slice::from_ref(&sent))
        .await
        .unwrap();
    let stale = repo
        .update(&cancelled, 1, std::slice::from_ref(&lost))
        .await;

    assert!(matches!(stale, Err(StoreError::VersionConflict)));
    assert_eq!(outbox.get(&sent.id).await.unwrap().as_ref(), Some(&sent));
    assert_eq!(outbox.get(&lost.id).await.unwrap(), None);
}

#[tokio::test]
async fn memory_backend_writes_notices_with_the_update() {
    let outbox = Arc::new(MemoryOutbox::new());
    let orders = MemoryOrders::new(outbox.clone());
    notices_are_written_with_the_update_and_only_then(&orders, outbox.as_ref()).await;
}

#[tokio::test]
async fn mongodb_backend_writes_notices_with_the_update() {
    let db = crate::kit::test_database().await;
    let orders = bazaar::store::mongo::MongoOrders::new(&db).await.unwrap();
    let outbox = bazaar::store::mongo::MongoOutbox::new(&db).await.unwrap();
    notices_are_written_with_the_update_and_only_then(&orders, &outbox).await;
}

async fn mongodb() -> Arc<dyn OrderRepository> {
    Arc::new(mongo_orders().await)
}

order_suite!(memory_backend, memory());
order_suite!(mongodb_backend, mongodb().await);

fn event(id: &str, kind: &str, received: DateTime<Utc>) -> WebhookRecord {
    WebhookRecord::received(id, kind, &format!("{{\"event\":\"{kind}\"}}"), received)
}

pub async fn a_webhook_event_is_new_once_then_counts_deliveries(repo: &dyn WebhookEventRepository) {
    let e = event("evt_ONE", "payment.captured", base_time());
    assert!(repo.record(&e).await.unwrap());
    assert_eq!(repo.get("evt_ONE").await.unwrap().as_ref(), Some(&e));

    let later = event(
        "evt_ONE",
        "payment.captured",
        base_time() + Duration::minutes(5),
    );
    assert!(!repo.record(&later).await.unwrap());

    let stored = repo.get("evt_ONE").await.unwrap();
    assert_eq!(stored, Some(WebhookRecord { deliveries: 2, ..e }));
    assert_eq!(repo.get("evt_NONE").await.unwrap(), None);
}

pub async fn concurrent_deliveries_of_one_event_have_one_winner(repo: &dyn WebhookEventRepository) {
    let e = event("evt_RACE", "payment.captured", base_time());
    let results = futures::future::join_all((0..20).map(|_| repo.record(&e))).await;
    let new = results.iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(new, 1, "{results:?}");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let stored = repo.get("evt_RACE").await.unwrap().unwrap();
    assert_eq!(stored.deliveries, 20);
}

pub async fn applying_an_event_records_when_and_what(repo: &dyn WebhookEventRepository) {
    let e = event("evt_APPLY", "refund.processed", base_time());
    repo.record(&e).await.unwrap();
    let applied_at = at("2026-01-01T00:00:01.250Z");

    repo.mark_applied("evt_APPLY", "applied", applied_at)
        .await
        .unwrap();

    let stored = repo.get("evt_APPLY").await.unwrap().unwrap();
    assert_eq!(stored.applied_at, Some(applied_at));
    assert_eq!(stored.outcome.as_deref(), Some("applied"));
    assert_eq!(stored.deliveries, 1);
    assert!(matches!(
        repo.mark_applied("evt_NONE", "applied", applied_at).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn an_event_that_could_not_be_applied_stays_unapplied_with_why(
    repo: &dyn WebhookEventRepository,
) {
    let e = event("evt_BAD", "unknown", base_time());
    repo.record(&e).await.unwrap();

    repo.mark_unapplied("evt_BAD", "unparseable: expected value")
        .await
        .unwrap();

    let stored = repo.get("evt_BAD").await.unwrap().unwrap();
    assert_eq!(stored.applied_at, None);
    assert_eq!(
        stored.outcome.as_deref(),
        Some("unparseable: expected value")
    );
    // Applied later (after a fix), then noted unapplied again: unapplied.
    repo.mark_applied("evt_BAD", "applied", base_time())
        .await
        .unwrap();
    repo.mark_unapplied("evt_BAD", "unparseable: again")
        .await
        .unwrap();
    assert_eq!(repo.get("evt_BAD").await.unwrap().unwrap().applied_at, None);
    assert!(matches!(
        repo.mark_unapplied("evt_NONE", "x").await,
        Err(StoreError::NotFound)
    ));
}

pub async fn webhook_events_list_newest_first_with_a_filter_and_a_total(
    repo: &dyn WebhookEventRepository,
) {
    let second = |s: i64| base_time() + Duration::seconds(s);
    let events = [
        event("evt_1", "payment.captured", second(1)),
        event("evt_2", "refund.processed", second(2)),
        // Received together: the larger id first.
        event("evt_3a", "payment.captured", second(3)),
        event("evt_3b", "payment.failed", second(3)),
        event("evt_4", "refund.processed", second(4)),
    ];
    for e in [&events[3], &events[0], &events[4], &events[2], &events[1]] {
        repo.record(e).await.unwrap();
    }
    let list = |kind: Option<&'static str>, limit: u32, offset: u64| async move {
        let (records, total) = repo.list(kind, limit, offset).await.unwrap();
        let ids: Vec<String> = records.into_iter().map(|r| r.event_id).collect();
        (ids, total)
    };

    assert_eq!(
        list(None, 3, 0).await,
        (vec!["evt_4".into(), "evt_3b".into(), "evt_3a".into()], 5)
    );
    assert_eq!(
        list(None, 3, 3).await,
        (vec!["evt_2".into(), "evt_1".into()], 5)
    );
    assert_eq!(list(None, 3, 9).await, (vec![], 5));
    assert_eq!(
        list(Some("refund.processed"), 10, 0).await,
        (vec!["evt_4".into(), "evt_2".into()], 2)
    );
    assert_eq!(list(Some("order.paid"), 10, 0).await, (vec![], 0));
    assert_eq!(
        repo.list(None, 1, 0).await.unwrap().0,
        vec![events[4].clone()]
    );
}

macro_rules! webhook_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::orders,
            [
                a_webhook_event_is_new_once_then_counts_deliveries,
                concurrent_deliveries_of_one_event_have_one_winner,
                applying_an_event_records_when_and_what,
                an_event_that_could_not_be_applied_stays_unapplied_with_why,
                webhook_events_list_newest_first_with_a_filter_and_a_total,
            ]
        );
    };
}

fn memory_webhooks() -> Arc<dyn WebhookEventRepository> {
    Arc::new(MemoryWebhookEvents::new())
}

async fn mongodb_webhooks() -> Arc<dyn WebhookEventRepository> {
    Arc::new(mongo_webhook_events().await)
}

webhook_suite!(webhooks_memory_backend, memory_webhooks());
webhook_suite!(webhooks_mongodb_backend, mongodb_webhooks().await);
