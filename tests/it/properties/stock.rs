//! Random sequences of customer, staff, provider and sweep actions on the
//! order use case (in-memory stores, a fake Razorpay): stock is conserved —
//! what is on the shelf plus what orders hold is what there was.

use bazaar::app::orders::ActionNote;
use bazaar::domain::order::request::RawLine;
use bazaar::domain::order::status::OrderStatus;
use bazaar::domain::order::Order;
use proptest::prelude::*;

use crate::use_cases::payments::{world, World};

const STOCK: u32 = 10;

#[derive(Debug, Clone)]
enum Action {
    Order(i64),
    CustomerCancels(usize),
    StaffCancels(usize),
    Pays(usize),
    Refunds(usize, Option<i64>),
    Ships(usize),
    ExpiresAll,
}

fn action() -> impl Strategy<Value = Action> {
    let which = 0usize..8;
    prop_oneof![
        4 => (1i64..=6).prop_map(Action::Order),
        1 => which.clone().prop_map(Action::CustomerCancels),
        1 => which.clone().prop_map(Action::StaffCancels),
        3 => which.clone().prop_map(Action::Pays),
        2 => (which.clone(), proptest::option::of(1i64..=30_000)).prop_map(|(i, a)| Action::Refunds(i, a)),
        1 => which.prop_map(Action::Ships),
        1 => Just(Action::ExpiresAll),
    ]
}

/// Units an order keeps off the shelf: while it holds stock, and for good
/// once shipped (a refund after shipping does not put them back).
fn units_out(order: &Order, shipped: bool) -> u32 {
    let out = order.status.holds_stock() || (order.status == OrderStatus::Refunded && shipped);
    if out {
        order.items.iter().map(|i| i.quantity).sum()
    } else {
        0
    }
}

async fn run(actions: &[Action]) -> Result<(), TestCaseError> {
    let w: World = world().await;
    let staff = bazaar::app::identity::Principal {
        roles: vec![bazaar::domain::user::Role::Admin],
        ..w.customer.clone()
    };
    // Orders made so far, and whether each was ever shipped.
    let mut orders: Vec<(String, bool)> = Vec::new();
    let pick = |orders: &[(String, bool)], i: usize| {
        orders.get(i % orders.len().max(1)).map(|o| o.0.clone())
    };
    for action in actions {
        match action {
            Action::Order(quantity) => {
                let line = RawLine {
                    product_id: w.product_id.clone(),
                    variant_id: None,
                    quantity: *quantity,
                };
                // Refused when there is not enough stock or the customer has
                // too many unpaid orders: both fine, neither takes stock.
                if let Ok(placed) = w
                    .orders
                    .create(&w.customer, &[line], None, None, None)
                    .await
                {
                    orders.push((placed.order().id.to_string(), false));
                }
            }
            Action::CustomerCancels(i) | Action::StaffCancels(i) => {
                let who = if matches!(action, Action::StaffCancels(_)) {
                    &staff
                } else {
                    &w.customer
                };
                if let Some(id) = pick(&orders, *i) {
                    let _ = w
                        .orders
                        .cancel(who, &id, None, &ActionNote::default())
                        .await;
                }
            }
            Action::Pays(i) => {
                let Some(id) = pick(&orders, *i) else {
                    continue;
                };
                let Ok(checkout) = w.orders.checkout(&w.customer, &id).await else {
                    continue;
                };
                let Ok(paid) = w.fake.pay_order(&checkout.provider_order_id, "upi") else {
                    continue;
                };
                for hook in w.fake.webhooks_for_payment(&paid.id).unwrap() {
                    w.orders
                        .receive_webhook(&hook.body, Some(&hook.signature), Some(&hook.event_id))
                        .await
                        .map_err(|e| TestCaseError::fail(format!("{} refused: {e}", hook.event)))?;
                }
            }
            Action::Refunds(i, amount) => {
                if let Some(id) = pick(&orders, *i) {
                    let key = format!("refund-{}", orders.len());
                    if w.orders
                        .refund(
                            &staff,
                            &id,
                            *amount,
                            Some(&key),
                            None,
                            &ActionNote::default(),
                        )
                        .await
                        .is_ok()
                    {
                        for refund in w.fake.refunds() {
                            for hook in w.fake.webhooks_for_refund(&refund.id).unwrap() {
                                let _ = w
                                    .orders
                                    .receive_webhook(
                                        &hook.body,
                                        Some(&hook.signature),
                                        Some(&hook.event_id),
                                    )
                                    .await;
                            }
                        }
                    }
                }
            }
            Action::Ships(i) => {
                if let Some(id) = pick(&orders, *i) {
                    if w.orders
                        .set_status(&staff, &id, "shipped", None, None, &ActionNote::default())
                        .await
                        .is_ok()
                    {
                        let n = orders.iter().position(|o| o.0 == id).unwrap();
                        orders[n].1 = true;
                    }
                }
            }
            Action::ExpiresAll => {
                w.orders
                    .expire_due(chrono::Utc::now() + chrono::Duration::days(1))
                    .await
                    .map_err(|e| TestCaseError::fail(format!("expiry failed: {e}")))?;
            }
        }
        let on_shelf = w.stock().await.expect("the product tracks stock");
        let mut out = 0;
        for (id, shipped) in &orders {
            out += units_out(&w.orders.get(&staff, id).await.unwrap(), *shipped);
        }
        prop_assert_eq!(on_shelf + out, STOCK, "after {:?}", action);
    }
    Ok(())
}

proptest! {
    #![proptest_config(super::config(48))]

    #[test]
    fn stock_on_the_shelf_plus_stock_orders_hold_is_what_there_was(
        actions in proptest::collection::vec(action(), 1..25)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(&actions))?;
    }
}
