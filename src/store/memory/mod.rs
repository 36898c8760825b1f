//! In-memory storage: the embedded default, and the reference the MongoDB
//! implementation is held to by the conformance suites.

mod addresses;
mod audit;
mod carts;
mod coupons;
mod files;
mod invoices;
mod orders;
mod outbox;
mod products;
mod shipping;
mod users;

pub use addresses::MemoryAddresses;
pub use audit::MemoryAudit;
pub use carts::MemoryCarts;
pub use coupons::MemoryCoupons;
pub use files::MemoryFiles;
pub use invoices::MemoryInvoices;
pub use orders::{MemoryOrders, MemoryWebhookEvents};
pub use outbox::MemoryOutbox;
pub use products::MemoryProducts;
pub use shipping::MemoryShippingZones;
pub use users::MemoryUsers;

use crate::domain::listing::{Cursor, ListPage, Pagination, SortValue};

/// Cuts one page out of `sorted` (already filtered and in order).
fn paginate<T: Clone>(
    sorted: Vec<&T>,
    pagination: &Pagination,
    limit: u32,
    descending: bool,
    key: impl Fn(&T) -> (SortValue, String),
) -> ListPage<T> {
    let limit = limit as usize;
    let (start, total) = match pagination {
        Pagination::Page(_) => (
            crate::domain::listing::offset(pagination, limit as u32) as usize,
            Some(sorted.len() as u64),
        ),
        Pagination::Cursor(None) => (0, None),
        Pagination::Cursor(Some(cursor)) => (first_after(&sorted, cursor, descending, &key), None),
    };
    let rest = sorted.get(start..).unwrap_or_default();
    ListPage {
        items: rest.iter().take(limit).map(|t| (*t).clone()).collect(),
        has_next: rest.len() > limit,
        total,
    }
}

fn first_after<T>(
    sorted: &[&T],
    cursor: &Cursor,
    descending: bool,
    key: &impl Fn(&T) -> (SortValue, String),
) -> usize {
    sorted
        .iter()
        .position(|t| {
            let (value, id) = key(t);
            cursor.precedes(&value, &id, descending)
        })
        .unwrap_or(sorted.len())
}
