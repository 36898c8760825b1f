//! Random sequences of payment events and staff actions on one order: the
//! state machine's invariants hold after every step.

use std::collections::HashSet;

use bazaar::domain::gst::rates::RateTable;
use bazaar::domain::money::Paise;
use bazaar::domain::order::cod::{OfflineDetail, OfflineMethod, PaymentMethod};
use bazaar::domain::order::ledger::{EntryStatus, LedgerKind};
use bazaar::domain::order::payment::PaymentEvent;
use bazaar::domain::order::request::{OrderRequest, RawLine};
use bazaar::domain::order::status::OrderStatus;
use bazaar::domain::order::{Order, OrderId};
use bazaar::domain::outbox::NoticeKind;
use bazaar::domain::product::{Categories, Product, ProductDraft, RawProduct};
use bazaar::domain::user::UserId;
use chrono::Utc;
use proptest::prelude::*;

const PAYMENTS: [&str; 3] = ["pay_A", "pay_B", "pay_C"];
const REFUNDS: [&str; 4] = ["rfnd_1", "rfnd_2", "rfnd_3", "rfnd_4"];

#[derive(Debug, Clone)]
enum Amount {
    /// The order's total.
    Total,
    /// Anything else, in paise.
    Other(i64),
}

#[derive(Debug, Clone)]
enum Step {
    Event(EventSpec),
    /// The same event as `n` steps back (a redelivery).
    Again(usize),
    /// A staff action or the expiry sweep.
    Move(OrderStatus),
    /// Staff record a cash-on-delivery order's cash as collected.
    Collect,
    /// Staff record a cash refund (refund id, amount).
    CashRefund(usize, Amount),
}

#[derive(Debug, Clone)]
enum EventSpec {
    Authorized(usize, Amount, bool),
    Captured(usize, Amount, bool),
    Failed(usize),
    Refund(usize, usize, Amount, EntryStatus),
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![3 => Just(Amount::Total), 1 => (1i64..=50_000).prop_map(Amount::Other)]
}

fn entry_status() -> impl Strategy<Value = EntryStatus> {
    prop_oneof![
        Just(EntryStatus::Pending),
        Just(EntryStatus::Settled),
        Just(EntryStatus::Failed)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let payment = 0..PAYMENTS.len();
    let inr = prop_oneof![9 => Just(true), 1 => Just(false)];
    prop_oneof![
        2 => (payment.clone(), amount(), inr.clone())
            .prop_map(|(p, a, inr)| Step::Event(EventSpec::Authorized(p, a, inr))),
        4 => (payment.clone(), amount(), inr).prop_map(|(p, a, inr)| Step::Event(EventSpec::Captured(p, a, inr))),
        1 => payment.clone().prop_map(|p| Step::Event(EventSpec::Failed(p))),
        4 => (0..REFUNDS.len(), payment, amount(), entry_status())
            .prop_map(|(r, p, a, s)| Step::Event(EventSpec::Refund(r, p, a, s))),
        2 => (1usize..6).prop_map(Step::Again),
        2 => proptest::sample::select(vec![
            OrderStatus::Confirmed, OrderStatus::Packed, OrderStatus::Fulfilled,
            OrderStatus::Shipped, OrderStatus::Delivered, OrderStatus::ReturnRequested,
            OrderStatus::Returned, OrderStatus::Cancelled, OrderStatus::Expired,
        ]).prop_map(Step::Move),
        1 => Just(Step::Collect),
        1 => (0..REFUNDS.len(), amount()).prop_map(|(r, a)| Step::CashRefund(r, a)),
    ]
}

/// An unpaid order of `quantity` units at `price` paise (18% GST).
fn order(price: i64, quantity: u32) -> Order {
    let categories = Categories::new(vec!["books".into()]);
    let raw = RawProduct {
        sku: "PROP-1".into(),
        name: "A book".into(),
        description: None,
        price,
        currency: "INR".into(),
        category: "books".into(),
        tags: Vec::new(),
        stock: Some(1_000),
        images: Vec::new(),
        ..Default::default()
    };
    let draft = ProductDraft::parse(&raw, &categories, RateTable::built_in()).unwrap();
    let product = Product::create(draft, Utc::now());
    let request = OrderRequest::parse(
        &[RawLine {
            product_id: product.id.to_string(),
            variant_id: None,
            quantity: i64::from(quantity),
        }],
        None,
        None,
        10,
    )
    .unwrap();
    Order::new(
        OrderId::generate(),
        UserId::generate(),
        request,
        &[product],
        crate::kit::taxing_at_18_percent(),
        Utc::now(),
        chrono::Duration::minutes(30),
    )
}

fn event(spec: &EventSpec, total: Paise) -> PaymentEvent {
    let paise = |a: &Amount| match a {
        Amount::Total => total,
        Amount::Other(n) => Paise::parse_price("amount", *n).unwrap(),
    };
    let currency = |inr: bool| if inr { "INR" } else { "USD" }.to_owned();
    match spec {
        EventSpec::Authorized(p, a, inr) => PaymentEvent::Authorized {
            payment_id: PAYMENTS[*p].into(),
            amount: paise(a),
            currency: currency(*inr),
        },
        EventSpec::Captured(p, a, inr) => PaymentEvent::Captured {
            payment_id: PAYMENTS[*p].into(),
            amount: paise(a),
            currency: currency(*inr),
        },
        EventSpec::Failed(p) => PaymentEvent::Failed {
            payment_id: PAYMENTS[*p].into(),
            reason: "declined".into(),
        },
        EventSpec::Refund(r, p, a, status) => PaymentEvent::Refund {
            refund_id: REFUNDS[*r].into(),
            payment_id: PAYMENTS[*p].into(),
            amount: paise(a),
            currency: "INR".into(),
            status: *status,
        },
    }
}

/// What holds of an order after any step.
fn check(order: &Order) -> Result<(), TestCaseError> {
    let settled = |kind| {
        order
            .ledger
            .iter()
            .filter(move |e| e.kind == kind && e.status == EntryStatus::Settled)
    };
    // One ledger entry per provider id and kind.
    let mut seen = HashSet::new();
    for e in &order.ledger {
        prop_assert!(
            seen.insert((e.kind.as_str(), e.provider_id.clone())),
            "two entries for {}",
            e.provider_id
        );
    }
    // Never more refunded of a payment than was captured of it, in its currency.
    for capture in settled(LedgerKind::Capture) {
        let refunded: i64 = order
            .ledger
            .iter()
            .filter(|e| {
                e.kind == LedgerKind::Refund
                    && e.payment_id == capture.payment_id
                    && e.status != EntryStatus::Failed
            })
            .map(|e| e.amount.get())
            .sum();
        prop_assert!(refunded <= capture.amount.get(), "{:?}", order.ledger);
    }
    // Every refund that took money or may still is of a captured payment (a
    // failed one is recorded as reported: money that never left).
    for refund in order
        .ledger
        .iter()
        .filter(|e| e.kind == LedgerKind::Refund && e.status != EntryStatus::Failed)
    {
        prop_assert!(settled(LedgerKind::Capture).any(|c| c.payment_id == refund.payment_id));
    }
    let (captured, returned) = (order.captured(), order.refunded_settled());
    // Paid means money is held for it; refunded means all of it went back.
    // (A cash-on-delivery order past confirmation is paid once its cash is collected.)
    if order.is_paid() {
        prop_assert!(
            captured - returned > 0,
            "{:?} with {captured} captured, {returned} returned",
            order.status
        );
        prop_assert!(order
            .capture_of(order.payment.payment_id.as_deref().unwrap_or(""))
            .is_some());
    }
    // Refunded means everything the order kept went back; a capture that
    // came after (a second payment) is owed back, not kept.
    if order.status == OrderStatus::Refunded {
        prop_assert!(captured > 0);
        prop_assert_eq!(order.unrefunded_captures(), order.unwanted_captures());
    }
    // Waiting for payment means nothing was captured, in any currency.
    if order.status == OrderStatus::PendingPayment {
        prop_assert_eq!(settled(LedgerKind::Capture).count(), 0);
    }
    prop_assert!(order.refundable() >= 0);
    Ok(())
}

proptest! {
    #![proptest_config(super::config(1_000))]

    #[test]
    fn any_sequence_of_events_and_staff_actions_keeps_the_order_consistent(
        price in 1i64..=100_000,
        quantity in 1u32..=5,
        cod in proptest::bool::weighted(0.3),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let mut order = order(price, quantity);
        // A cash-on-delivery order meets no Razorpay event; a Razorpay one no cash.
        if cod {
            order.payment_method = PaymentMethod::Cod;
        }
        let total = order.total;
        prop_assert_eq!(order.subtotal.get(), price * i64::from(quantity));
        prop_assert_eq!(total.get(), order.subtotal.get() + order.tax.get());
        let mut applied: Vec<PaymentEvent> = Vec::new();
        let mut confirmations = 0;
        let mut refund_notices: Vec<String> = Vec::new();
        let mut paid_once = false;
        for step in &steps {
            let before = order.status;
            let version = order.version;
            match step {
                Step::Collect | Step::CashRefund(..) if !cod => continue,
                Step::Event(_) | Step::Again(_) if cod => continue,
                Step::Collect => {
                    let detail = OfflineDetail { method: OfflineMethod::Cash, reference: None };
                    match order.collect_cash(detail, Utc::now()) {
                        Ok(applied) => prop_assert_eq!(applied.changed, order.version == version + 1),
                        Err(_) => {
                            prop_assert_eq!(order.status, before);
                            prop_assert_eq!(order.version, version);
                        }
                    }
                }
                Step::CashRefund(r, a) => {
                    let amount = match a {
                        Amount::Total => total,
                        Amount::Other(n) => Paise::parse_price("amount", *n).unwrap(),
                    };
                    let detail = OfflineDetail { method: OfflineMethod::Upi, reference: None };
                    let refunded = order.record_cash_refund(REFUNDS[*r], amount, detail, Utc::now());
                    if let Ok(applied) = refunded {
                        for notice in &applied.notices {
                            if notice.kind == NoticeKind::Refund {
                                refund_notices.push(notice.detail.clone().unwrap_or_default());
                            }
                        }
                    } else {
                        prop_assert_eq!(order.version, version);
                    }
                    if order.status != before {
                        prop_assert!(before.step(order.status).is_ok(), "{:?} -> {:?}", before, order.status);
                    }
                }
                Step::Move(to) => {
                    let legal = before.step(*to).is_ok()
                        && (*to != OrderStatus::Confirmed || cod);
                    prop_assert_eq!(order.transition(*to, Utc::now()).is_ok(), legal);
                    if !legal {
                        prop_assert_eq!(order.status, before);
                        prop_assert_eq!(order.version, version);
                    }
                }
                Step::Event(_) | Step::Again(_) => {
                    let event = match step {
                        Step::Event(spec) => event(spec, total),
                        Step::Again(n) if applied.len() >= *n => applied[applied.len() - n].clone(),
                        _ => continue,
                    };
                    let result = order.apply(&event, Utc::now());
                    // Applying the same event again changes nothing.
                    let again = order.clone().apply(&event, Utc::now());
                    prop_assert!(!again.changed && again.notices.is_empty() && again.flagged.is_empty());
                    prop_assert_eq!(result.changed, order.version == version + 1);
                    if order.status != before {
                        prop_assert!(before.step(order.status).is_ok(), "{:?} -> {:?}", before, order.status);
                    }
                    for notice in &result.notices {
                        match notice.kind {
                            NoticeKind::OrderConfirmation => confirmations += 1,
                            NoticeKind::Refund => refund_notices.push(notice.detail.clone().unwrap_or_default()),
                            _ => {}
                        }
                    }
                    applied.push(event);
                }
            }
            // Once paid (or confirmed), an order never waits for payment again.
            paid_once |= order.status.is_paid() || order.status == OrderStatus::Confirmed;
            if paid_once {
                prop_assert!(!order.status.is_unpaid(), "{:?} after being paid", order.status);
            }
            check(&order)?;
        }
        prop_assert!(confirmations <= 1, "{confirmations} confirmations");
        let distinct: HashSet<_> = refund_notices.iter().collect();
        prop_assert_eq!(distinct.len(), refund_notices.len(), "a refund notice twice: {:?}", refund_notices);
    }
}
