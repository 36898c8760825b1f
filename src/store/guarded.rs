//! The storage ports behind a circuit breaker: [`Guarded`] wraps any
//! repository and passes each call to it through one [`Breaker`], so while
//! MongoDB is known to be down every repository answers `Unavailable` at once
//! instead of waiting out server selection. Only `Unavailable` counts against
//! the backend: a duplicate key, a version conflict or a missing record mean
//! it answered. Startup puts every MongoDB repository behind the `mongodb`
//! breaker; the repositories themselves and the domain know nothing of it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    AddressRepository, AuditRepository, CartRepository, CouponRepository, FileRepository,
    InvoiceRepository, OrderRepository, OutboxRepository, ProductRepository, Redemption,
    ShippingZoneRepository, StoreError, UserRepository, WebhookEventRepository,
};
use crate::breaker::Breaker;
use crate::domain::address::SavedAddresses;
use crate::domain::analytics::SalesSummary;
use crate::domain::audit::{AuditEvent, AuditPage, AuditQuery};
use crate::domain::cart::{Cart, CartOwner};
use crate::domain::coupon::{Coupon, CouponCode};
use crate::domain::facets::{FacetSet, Facets};
use crate::domain::file::{FileId, FileRecord, FileUsage};
use crate::domain::gst::series::InvoicePrefix;
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::{ProductId, VariantId, ZoneId};
use crate::domain::invoice::{DocumentDraft, TaxDocument};
use crate::domain::order::{Order, OrderId};
use crate::domain::order_query::{OrderPage, OrderQuery};
use crate::domain::outbox::{NextAttempt, OutboxId, OutboxMessage};
use crate::domain::outbox_query::{OutboxPage, OutboxQuery};
use crate::domain::product::Product;
use crate::domain::product_query::{ProductFilter, ProductPage, ProductQuery};
use crate::domain::shipping::ShippingZone;
use crate::domain::user::{Email, Phone, User, UserId};
use crate::domain::user_query::{UserPage, UserQuery};
use crate::domain::webhook::WebhookRecord;

/// A repository whose every call goes through `breaker`.
pub struct Guarded<T: ?Sized> {
    inner: Arc<T>,
    breaker: Arc<Breaker>,
}

impl<T: ?Sized> Guarded<T> {
    pub fn new(inner: Arc<T>, breaker: Arc<Breaker>) -> Self {
        Self { inner, breaker }
    }

    async fn call<R>(
        &self,
        call: impl std::future::Future<Output = Result<R, StoreError>>,
    ) -> Result<R, StoreError> {
        self.breaker
            .call(
                call,
                |e| matches!(e, StoreError::Unavailable(_)),
                |refused| StoreError::Unavailable(refused.into()),
            )
            .await
    }
}

/// Implements a repository trait for `Guarded<dyn Trait>`: each method is the
/// inner repository's, called through the breaker.
macro_rules! guarded {
    ($trait:ident: $(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        #[async_trait]
        impl $trait for Guarded<dyn $trait> {
            $(
                async fn $name(&self, $($arg: $ty),*) -> $ret {
                    self.call(self.inner.$name($($arg),*)).await
                }
            )*
        }
    };
}

guarded! { ProductRepository:
        fn insert(product: &Product) -> Result<(), StoreError>;
        fn get(id: &ProductId) -> Result<Option<Product>, StoreError>;
        fn update(product: &Product, expected_version: u64) -> Result<(), StoreError>;
        fn delete(id: &ProductId, expected_version: Option<u64>) -> Result<(), StoreError>;
        fn list(query: &ProductQuery) -> Result<ProductPage, StoreError>;
        fn facets(filter: &ProductFilter, wanted: FacetSet) -> Result<Facets, StoreError>;
        fn reserve(id: &ProductId, variant: &VariantId, quantity: u32, hold: &HoldId, now: DateTime<Utc>) -> Result<Product, StoreError>;
        fn release(id: &ProductId, variant: &VariantId, quantity: u32, now: DateTime<Utc>) -> Result<Product, StoreError>;
        fn drop_hold(id: &ProductId, hold: &HoldId) -> Result<(), StoreError>;
        fn release_hold(id: &ProductId, hold: &HoldId, now: DateTime<Utc>) -> Result<bool, StoreError>;
        fn holds_before(cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<StockHold>, StoreError>;
        fn ping() -> Result<(), StoreError>;
}

guarded! { OrderRepository:
        fn insert(order: &Order) -> Result<(), StoreError>;
        fn count_unpaid(user: &UserId) -> Result<u64, StoreError>;
        fn get(id: &OrderId) -> Result<Option<Order>, StoreError>;
        fn find_by_provider_order(provider_order_id: &str) -> Result<Option<Order>, StoreError>;
        fn find_by_request_key(request_key_id: &str) -> Result<Option<Order>, StoreError>;
        fn update(order: &Order, expected_version: u64, notices: &[OutboxMessage]) -> Result<(), StoreError>;
        fn list(query: &OrderQuery) -> Result<OrderPage, StoreError>;
        fn expired_unpaid(now: DateTime<Utc>, limit: u32) -> Result<Vec<Order>, StoreError>;
        fn stuck_in_payment(before: DateTime<Utc>, limit: u32) -> Result<Vec<Order>, StoreError>;
        fn summary(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<SalesSummary, StoreError>;
}

guarded! { WebhookEventRepository:
        fn record(event: &WebhookRecord) -> Result<bool, StoreError>;
        fn get(event_id: &str) -> Result<Option<WebhookRecord>, StoreError>;
        fn mark_applied(event_id: &str, outcome: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
        fn mark_unapplied(event_id: &str, outcome: &str) -> Result<(), StoreError>;
        fn list(event: Option<&str>, limit: u32, offset: u64) -> Result<(Vec<WebhookRecord>, u64), StoreError>;
}

guarded! { UserRepository:
        fn insert(user: &User) -> Result<(), StoreError>;
        fn get(id: &UserId) -> Result<Option<User>, StoreError>;
        fn find_by_phone(phone: &Phone) -> Result<Option<User>, StoreError>;
        fn find_by_email(email: &Email) -> Result<Option<User>, StoreError>;
        fn find_by_identity(issuer: &str, subject: &str) -> Result<Option<User>, StoreError>;
        fn update(user: &User, expected_version: u64) -> Result<(), StoreError>;
        fn delete(id: &UserId, expected_version: u64) -> Result<(), StoreError>;
        fn list(query: &UserQuery) -> Result<UserPage, StoreError>;
}

guarded! { AuditRepository:
        fn record(event: &AuditEvent) -> Result<(), StoreError>;
        fn list(query: &AuditQuery) -> Result<AuditPage, StoreError>;
}

guarded! { CartRepository:
        fn get(owner: &CartOwner, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError>;
        fn put(cart: &Cart, expected_version: u64) -> Result<(), StoreError>;
        fn delete(owner: &CartOwner) -> Result<(), StoreError>;
}

guarded! { AddressRepository:
        fn get(user: &UserId) -> Result<SavedAddresses, StoreError>;
        fn save(addresses: &SavedAddresses, expected_version: u64) -> Result<(), StoreError>;
        fn delete_all(user: &UserId) -> Result<u64, StoreError>;
}

guarded! { FileRepository:
        fn insert(file: &FileRecord) -> Result<(), StoreError>;
        fn get(id: &FileId) -> Result<Option<FileRecord>, StoreError>;
        fn mark_complete(id: &FileId, at: DateTime<Utc>) -> Result<(), StoreError>;
        fn delete(id: &FileId) -> Result<(), StoreError>;
        fn usage(owner: &UserId) -> Result<FileUsage, StoreError>;
        fn private_of(owner: &UserId, limit: u32) -> Result<Vec<FileRecord>, StoreError>;
        fn publish(ids: &[FileId]) -> Result<(), StoreError>;
        fn expire(id: &FileId) -> Result<(), StoreError>;
        fn sweepable(cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<FileRecord>, StoreError>;
}

guarded! { ShippingZoneRepository:
        fn insert(zone: &ShippingZone) -> Result<(), StoreError>;
        fn get(id: &ZoneId) -> Result<Option<ShippingZone>, StoreError>;
        fn update(zone: &ShippingZone) -> Result<(), StoreError>;
        fn delete(id: &ZoneId) -> Result<(), StoreError>;
        fn list() -> Result<Vec<ShippingZone>, StoreError>;
}

guarded! { CouponRepository:
        fn insert(coupon: &Coupon) -> Result<(), StoreError>;
        fn get(code: &CouponCode) -> Result<Option<Coupon>, StoreError>;
        fn update(coupon: &Coupon) -> Result<(), StoreError>;
        fn delete(code: &CouponCode) -> Result<(), StoreError>;
        fn list() -> Result<Vec<Coupon>, StoreError>;
        fn redemptions_of(code: &CouponCode, user: &UserId) -> Result<u32, StoreError>;
        fn redeem(code: &CouponCode, user: &UserId, order: &OrderId, now: DateTime<Utc>) -> Result<Redemption, StoreError>;
        fn release(code: &CouponCode, order: &OrderId) -> Result<bool, StoreError>;
}

guarded! { InvoiceRepository:
        fn issue(draft: DocumentDraft, prefix: &InvoicePrefix) -> Result<TaxDocument, StoreError>;
        fn for_order(order: &OrderId) -> Result<Vec<TaxDocument>, StoreError>;
        fn issued_between(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<TaxDocument>, StoreError>;
}

guarded! { OutboxRepository:
        fn enqueue(messages: &[OutboxMessage]) -> Result<usize, StoreError>;
        fn claim(owner: &str, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<OutboxMessage>, StoreError>;
        fn mark_delivered(id: &OutboxId, owner: &str, provider_id: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;
        fn mark_failed(id: &OutboxId, owner: &str, error: &str, next: NextAttempt) -> Result<bool, StoreError>;
        fn mark_skipped(id: &OutboxId, owner: &str, why: &str) -> Result<bool, StoreError>;
        fn get(id: &OutboxId) -> Result<Option<OutboxMessage>, StoreError>;
        fn list(query: &OutboxQuery) -> Result<OutboxPage, StoreError>;
        fn retry(id: &OutboxId, now: DateTime<Utc>) -> Result<OutboxMessage, StoreError>;
        fn forget_recipient(address: &str) -> Result<u64, StoreError>;
}
