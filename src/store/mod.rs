//! Storage ports: what the domain needs from a database, and two implementations.
//!
//! `memory` is the embedded default (`make run` needs nothing installed); `mongo` is
//! production. Both pass the same conformance suite (`tests/it/conformance`).

use std::time::Duration;

use async_trait::async_trait;

use chrono::{DateTime, Utc};

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

pub mod cache;
pub mod guarded;
pub mod memory;
pub mod mongo;
pub mod user_cache;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field already holds this value.
    #[error("a record with this {field} already exists")]
    Duplicate { field: &'static str },
    /// The record changed since the caller read it.
    #[error("the record was changed by someone else")]
    VersionConflict,
    #[error("no such record")]
    NotFound,
    /// A reservation asked for more units than are left.
    #[error("only {available} left in stock")]
    InsufficientStock { available: u32 },
    /// The backend cannot be reached; retrying later may work.
    #[error("storage backend unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("storage failure")]
    Other(#[source] anyhow::Error),
}

#[async_trait]
pub trait ProductRepository: Send + Sync {
    /// Stores a new product. Fails with `Duplicate { field: "sku" }` if any of its SKUs
    /// (its own or a variant's) is one another product holds, as its own or a variant's.
    async fn insert(&self, product: &Product) -> Result<(), StoreError>;

    async fn get(&self, id: &ProductId) -> Result<Option<Product>, StoreError>;

    /// Replaces the stored product if its version is still `expected_version`
    /// (`product.version` is the new one). `VersionConflict` if it moved on,
    /// `NotFound` if it is gone.
    async fn update(&self, product: &Product, expected_version: u64) -> Result<(), StoreError>;

    /// Deletes the product, if `expected_version` is given only at that version.
    async fn delete(&self, id: &ProductId, expected_version: Option<u64>)
        -> Result<(), StoreError>;

    async fn list(&self, query: &ProductQuery) -> Result<ProductPage, StoreError>;

    /// Counts of the facets in `wanted` over every product matching `filter`.
    async fn facets(&self, filter: &ProductFilter, wanted: FacetSet) -> Result<Facets, StoreError>;

    /// Takes `quantity` units from the stock of the product's `variant` in one
    /// conditional write, so concurrent reservations never sell more of a variant
    /// than there is, and records `hold` (naming the variant) in the same write.
    /// Unlimited stock is left unchanged and gets no hold. Answers the product as
    /// it is now; `NotFound` (no such product or variant), or `InsufficientStock`
    /// with what is left of the variant. `now` dates the hold and the change.
    async fn reserve(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError>;

    /// Puts `quantity` units of `variant` back (a cancelled or expired order).
    async fn release(
        &self,
        id: &ProductId,
        variant: &VariantId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError>;

    /// Forgets a hold, leaving the stock as it is: its order is stored. Nothing
    /// happens if the hold (or the product) is gone.
    async fn drop_hold(&self, id: &ProductId, hold: &HoldId) -> Result<(), StoreError>;

    /// Gives a hold's units back to its variant and forgets it, in one write: its order was
    /// never stored. False if there was no such hold, so units go back at most once.
    async fn release_hold(
        &self,
        id: &ProductId,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` holds taken before `cutoff`, oldest first.
    async fn holds_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<StockHold>, StoreError>;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
}

#[async_trait]
pub trait OrderRepository: Send + Sync {
    /// Stores a new order. `Duplicate { field: "id" }` if the id is taken;
    /// `Duplicate { field: "unpaid_slot" }` if the order is unpaid and another
    /// unpaid order of the same customer holds its `unpaid_slot`, atomically,
    /// so concurrent creates cannot take one slot twice. A slot is free again
    /// once its order is no longer unpaid. `Duplicate { field: "request_key" }`
    /// if an order placed under the same request key is stored.
    async fn insert(&self, order: &Order) -> Result<(), StoreError>;

    /// How many of `user`'s orders are unpaid (`pending_payment` or
    /// `payment_mismatch`), with or without a slot.
    async fn count_unpaid(&self, user: &UserId) -> Result<u64, StoreError>;

    async fn get(&self, id: &OrderId) -> Result<Option<Order>, StoreError>;

    /// The order a provider order (`order_…`) was created for.
    async fn find_by_provider_order(
        &self,
        provider_order_id: &str,
    ) -> Result<Option<Order>, StoreError>;

    /// The order placed by the request whose `RequestKey::id` this is.
    async fn find_by_request_key(&self, request_key_id: &str) -> Result<Option<Order>, StoreError>;

    /// Replaces the stored order if its version is still `expected_version`
    /// (`order.version` is the new one), and enqueues `notices` in the outbox in
    /// the same write: both happen or neither. `VersionConflict` if it moved
    /// on, `NotFound` if it is gone.
    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        notices: &[OutboxMessage],
    ) -> Result<(), StoreError>;

    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError>;

    /// Unpaid orders whose time to pay ended before `now`, oldest first.
    async fn expired_unpaid(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError>;

    /// Unpaid orders that started checkout and were last changed before
    /// `before`: what reconciliation asks the provider about.
    async fn stuck_in_payment(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError>;

    /// [`crate::domain::analytics::summarize`] over the stored orders.
    async fn summary(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<SalesSummary, StoreError>;
}

#[async_trait]
pub trait WebhookEventRepository: Send + Sync {
    /// Stores a verified event unless its id is known, in which case it counts
    /// one more delivery. True if the event is new.
    async fn record(&self, event: &WebhookRecord) -> Result<bool, StoreError>;

    async fn get(&self, event_id: &str) -> Result<Option<WebhookRecord>, StoreError>;

    /// Notes that the event was applied and what that did.
    async fn mark_applied(
        &self,
        event_id: &str,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Notes why the event could not be applied, leaving it unapplied (an
    /// event Bazaar cannot parse, for staff to look at and apply again).
    /// `NotFound` if there is no such event.
    async fn mark_unapplied(&self, event_id: &str, outcome: &str) -> Result<(), StoreError>;

    /// Newest first, optionally one event type; with the total matching.
    async fn list(
        &self,
        event: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<WebhookRecord>, u64), StoreError>;
}

#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user. `Duplicate { field: "phone" | "email" }` if either is
    /// taken; an email counts only once verified, so any number of accounts may
    /// hold one address unverified, and at most one verified.
    async fn insert(&self, user: &User) -> Result<(), StoreError>;

    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError>;

    async fn find_by_phone(&self, phone: &Phone) -> Result<Option<User>, StoreError>;

    /// The account that verified `email`; unverified addresses name no one.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// The user linked to the provider account `(issuer, subject)`. Each such pair
    /// names one user at most: `insert` and `update` answer
    /// `Duplicate { field: "identity" }` for a pair another user holds.
    async fn find_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError>;

    /// Replaces the user if still at `expected_version` (as for products).
    async fn update(&self, user: &User, expected_version: u64) -> Result<(), StoreError>;

    /// Removes the user if still at `expected_version` (an erasure: their phone
    /// and verified email are free to register again).
    async fn delete(&self, id: &UserId, expected_version: u64) -> Result<(), StoreError>;

    async fn list(&self, query: &UserQuery) -> Result<UserPage, StoreError>;
}

/// The audit trail is append-only.
#[async_trait]
pub trait AuditRepository: Send + Sync {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// Newest first.
    async fn list(&self, query: &AuditQuery) -> Result<AuditPage, StoreError>;
}

/// Each customer's saved addresses, kept as one record ([`SavedAddresses`]) that changes
/// only by compare-and-set on its version, so the rules the domain keeps over the whole set
/// (a limit, exactly one default) hold however many requests change it at once.
#[async_trait]
pub trait AddressRepository: Send + Sync {
    /// The customer's addresses; an empty set at version 0 if they never saved one.
    async fn get(&self, user: &UserId) -> Result<SavedAddresses, StoreError>;

    /// Stores `addresses` (at its new version) if the stored set is still at
    /// `expected_version` (0: nothing stored yet); `VersionConflict` otherwise.
    async fn save(
        &self,
        addresses: &SavedAddresses,
        expected_version: u64,
    ) -> Result<(), StoreError>;

    /// Deletes every address of `user` (an erasure); answers how many there were.
    async fn delete_all(&self, user: &UserId) -> Result<u64, StoreError>;
}

/// Records of uploaded files (the bytes live in an object store).
#[async_trait]
pub trait FileRepository: Send + Sync {
    /// Stores a new record. `Duplicate { field: "id" }` if the id exists.
    async fn insert(&self, file: &FileRecord) -> Result<(), StoreError>;

    async fn get(&self, id: &FileId) -> Result<Option<FileRecord>, StoreError>;

    /// Marks a *pending* file complete at `at`, atomically: of two concurrent calls exactly one
    /// succeeds. `VersionConflict` if the file is not pending (complete or expired),
    /// `NotFound` if there is no such file.
    async fn mark_complete(&self, id: &FileId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Deletes the record; `NotFound` if there is none.
    async fn delete(&self, id: &FileId) -> Result<(), StoreError>;

    /// What `owner` holds against the upload quota: its pending and complete files that are
    /// not public, and their declared bytes.
    async fn usage(&self, owner: &UserId) -> Result<FileUsage, StoreError>;

    /// Marks these files public (shown by a product). Idempotent; ids with no record are
    /// skipped.
    async fn publish(&self, ids: &[FileId]) -> Result<(), StoreError>;

    /// Marks a *pending* file expired, atomically against `mark_complete`: of the two, exactly
    /// one wins. Expiring an expired file succeeds again; `VersionConflict` if it is complete,
    /// `NotFound` if there is no such file.
    async fn expire(&self, id: &FileId) -> Result<(), StoreError>;

    /// Up to `limit` of `owner`'s files that are not public (whatever their status),
    /// oldest first: what an erasure of the owner deletes.
    async fn private_of(&self, owner: &UserId, limit: u32) -> Result<Vec<FileRecord>, StoreError>;

    /// Up to `limit` files the sweep has to remove, oldest first: expired ones, and pending
    /// ones announced before `cutoff`.
    async fn sweepable(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<FileRecord>, StoreError>;
}

/// Notices waiting to be delivered (see `docs/outbox.md`). Workers *claim* due messages under
/// a lease, so that of several replicas only one works on a message at a time, and report the
/// outcome only while they still hold that lease.
#[async_trait]
pub trait OutboxRepository: Send + Sync {
    /// Stores new messages, skipping any whose `dedupe_key` is already stored (or comes
    /// earlier in `messages`), so enqueueing is idempotent. Answers how many were new.
    async fn enqueue(&self, messages: &[OutboxMessage]) -> Result<usize, StoreError>;

    /// Takes up to `limit` messages that are pending, due at `now` and not leased (or whose
    /// lease ran out), earliest due first; each gets a lease for `owner` until `now + lease`
    /// and one more attempt. Atomic per message: concurrent claimers never get the same one.
    /// A store shared by replicas judges whether a lease still holds by its own clock (MongoDB:
    /// the server's), not `now`, so replicas whose clocks disagree never both hold a message;
    /// the in-memory store, owned by one process, judges it by `now`.
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Records a delivery, if `owner` still holds the message's lease; answers whether it did.
    async fn mark_delivered(
        &self,
        id: &OutboxId,
        owner: &str,
        provider_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records a failed attempt and what follows it, if `owner` still holds the message's
    /// lease; answers whether it did. `error` must hold no secret.
    async fn mark_failed(
        &self,
        id: &OutboxId,
        owner: &str,
        error: &str,
        next: NextAttempt,
    ) -> Result<bool, StoreError>;

    /// Sets the message aside unsent, for good, because of `why` (no secret), if `owner`
    /// still holds its lease; answers whether it did.
    async fn mark_skipped(&self, id: &OutboxId, owner: &str, why: &str)
        -> Result<bool, StoreError>;

    async fn get(&self, id: &OutboxId) -> Result<Option<OutboxMessage>, StoreError>;

    /// Newest first.
    async fn list(&self, query: &OutboxQuery) -> Result<OutboxPage, StoreError>;

    /// Revives a dead message (admin): pending, due at `now`, attempts from zero. Answers it
    /// as it is now; `NotFound`, or `VersionConflict` if it is not dead.
    async fn retry(&self, id: &OutboxId, now: DateTime<Utc>) -> Result<OutboxMessage, StoreError>;

    /// Forgets every message to `address` ([`OutboxMessage::forgotten`]: the
    /// address and data gone, pending ones skipped); answers how many.
    async fn forget_recipient(&self, address: &str) -> Result<u64, StoreError>;
}

/// Carts, one per owner (a customer, or a guest's token). Guest carts expire:
/// one past its `expires_at` is read as none, and the store may delete it.
#[async_trait]
pub trait CartRepository: Send + Sync {
    /// The owner's cart, unless there is none or it expired before `now`.
    async fn get(&self, owner: &CartOwner, now: DateTime<Utc>) -> Result<Option<Cart>, StoreError>;

    /// Stores `cart` (at `cart.version`) if the stored one is still at
    /// `expected_version`, 0 meaning "none stored, or only an expired one".
    /// `VersionConflict` otherwise.
    async fn put(&self, cart: &Cart, expected_version: u64) -> Result<(), StoreError>;

    /// Deletes the owner's cart, if it has one.
    async fn delete(&self, owner: &CartOwner) -> Result<(), StoreError>;
}

/// Shipping zones: a few dozen at most, read whole (docs/storefront.md, "Shipping").
#[async_trait]
pub trait ShippingZoneRepository: Send + Sync {
    async fn insert(&self, zone: &ShippingZone) -> Result<(), StoreError>;

    async fn get(&self, id: &ZoneId) -> Result<Option<ShippingZone>, StoreError>;

    /// Replaces the stored zone of the same id; `NotFound` if there is none.
    async fn update(&self, zone: &ShippingZone) -> Result<(), StoreError>;

    /// `NotFound` if there is no such zone.
    async fn delete(&self, id: &ZoneId) -> Result<(), StoreError>;

    /// Every zone, oldest first.
    async fn list(&self) -> Result<Vec<ShippingZone>, StoreError>;
}

/// What [`CouponRepository::redeem`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// A use was taken for the order.
    Redeemed,
    /// The order already held a use of this coupon (a retry): nothing changed.
    AlreadyRedeemed,
    /// The coupon's total limit is reached.
    Exhausted,
    /// The customer's limit is reached.
    PerCustomerLimit,
    /// No coupon has this code.
    Unknown,
}

/// Coupons and their redemptions. A coupon's uses are counted with it, so that taking one
/// is atomic against both its limits on every backend (docs/storefront.md, "Coupons").
#[async_trait]
pub trait CouponRepository: Send + Sync {
    /// Stores a new coupon with no uses; `Duplicate { field: "code" }` if the code exists.
    async fn insert(&self, coupon: &Coupon) -> Result<(), StoreError>;

    /// The coupon with its uses so far.
    async fn get(&self, code: &CouponCode) -> Result<Option<Coupon>, StoreError>;

    /// Replaces the coupon's rules (and `updated_at`), leaving its uses; `NotFound` if
    /// there is none.
    async fn update(&self, coupon: &Coupon) -> Result<(), StoreError>;

    /// Deletes the coupon and its redemptions; `NotFound` if there is none.
    async fn delete(&self, code: &CouponCode) -> Result<(), StoreError>;

    /// Every coupon, by code.
    async fn list(&self) -> Result<Vec<Coupon>, StoreError>;

    /// How many uses of the coupon `user` holds now.
    async fn redemptions_of(&self, code: &CouponCode, user: &UserId) -> Result<u32, StoreError>;

    /// Takes one use of the coupon for `order`, atomically against the total and the
    /// per-customer limit: of concurrent calls, only as many succeed as uses are left.
    /// Idempotent for the same order (`AlreadyRedeemed`).
    async fn redeem(
        &self,
        code: &CouponCode,
        user: &UserId,
        order: &OrderId,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError>;

    /// Gives back the use `order` holds (the order was cancelled or expired). `true` if
    /// one was given back; `false` if the order held none (already released, never
    /// redeemed, or the coupon is gone).
    async fn release(&self, code: &CouponCode, order: &OrderId) -> Result<bool, StoreError>;
}

/// Issued invoices and credit notes. Each kind's series per financial year is gapless:
/// serials 1, 2, 3, … each used once, whatever number of replicas issue at the same
/// time, because a serial exists only as the document stored under it (docs/invoices.md).
#[async_trait]
pub trait InvoiceRepository: Send + Sync {
    /// Stores `draft` as the next document of its kind's series in its financial year,
    /// numbered with `prefix`; if one of its kind was issued for `draft.source` already,
    /// answers that one and stores nothing.
    async fn issue(
        &self,
        draft: DocumentDraft,
        prefix: &InvoicePrefix,
    ) -> Result<TaxDocument, StoreError>;

    /// The documents issued for an order, invoice first, then credit notes by serial.
    async fn for_order(&self, order: &OrderId) -> Result<Vec<TaxDocument>, StoreError>;

    /// The documents issued in `[from, to)`, by kind, then year and serial.
    async fn issued_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TaxDocument>, StoreError>;
}
