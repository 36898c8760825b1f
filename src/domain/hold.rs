//! Stock holds: the note a reservation leaves on its product until the order it
//! was taken for is stored. A process killed (or a request cancelled) between
//! the two would otherwise keep the units reserved for an order that does not
//! exist; the order sweep finds old holds and settles them (`docs/orders.md`).

use chrono::{DateTime, Utc};

use super::ids::OrderId;
use super::ids::{ProductId, VariantId};

/// Names one line of one order: `{order id}:{line}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HoldId(String);

impl HoldId {
    pub fn new(order: &OrderId, line: usize) -> Self {
        Self(format!("{order}:{line}"))
    }

    /// Rebuilds a hold id read back from storage, which was made by [`HoldId::new`].
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    /// The order the units were taken for.
    pub fn order_id(&self) -> OrderId {
        let order = self.0.split(':').next().unwrap_or_default();
        OrderId::trusted(order.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HoldId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Units of a product's variant taken for an order line that was not yet known to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockHold {
    pub product_id: ProductId,
    /// The variant whose units were taken.
    pub variant_id: VariantId,
    pub id: HoldId,
    pub quantity: u32,
    /// When the units were taken.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_names_the_order_it_was_taken_for() {
        let order = OrderId::generate();
        let hold = HoldId::new(&order, 2);
        assert_eq!(hold.as_str(), format!("{order}:2"));
        assert_eq!(hold.order_id(), order);
    }
}
