//! The customer's rights over their personal data (India's Digital Personal Data
//! Protection Act, 2023): a copy of everything Bazaar keeps about them, and erasure.
//! `docs/privacy.md` says what is kept after an erasure, why and for how long.

use std::sync::Arc;

use crate::app::addresses::AddressBook;
use crate::app::errors::{AppError, ErrorCode};
use crate::app::files::Files;
use crate::app::identity::sessions::Session;
use crate::app::identity::{Identity, Principal, RequestContext};
use crate::domain::address::SavedAddress;
use crate::domain::audit::{AuditEvent, RawAuditQuery};
use crate::domain::cart::{Cart, CartOwner};
use crate::domain::listing::{ListQuery, PageRequest, LIMIT_MAX};
use crate::domain::order::Order;
use crate::domain::order_query::{OrderQuery, RawOrderQuery};
use crate::domain::time::{SharedClock, SystemClock};
use crate::domain::user::User;
use crate::store::{CartRepository, OrderRepository, OutboxRepository, StoreError};

/// Everything kept about one customer.
pub struct PersonalData {
    /// When it was read, by the service's clock.
    pub at: chrono::DateTime<chrono::Utc>,
    pub user: User,
    pub sessions: Vec<Session>,
    pub orders: Vec<Order>,
    /// Saved addresses, oldest first.
    pub addresses: Vec<SavedAddress>,
    /// Their cart, if they have one.
    pub cart: Option<Cart>,
    /// The audit trail of their own account, newest first.
    pub audit: Vec<AuditEvent>,
}

/// What an erasure did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Erasure {
    /// Orders whose address and notes were taken out.
    pub orders_redacted: u64,
    /// Notices (queued or sent) whose address and data were forgotten.
    pub notices_forgotten: u64,
    /// Uploaded files deleted (bytes and records).
    pub files_deleted: u64,
    /// Saved addresses deleted.
    pub addresses_deleted: u64,
}

pub struct Privacy {
    identity: Arc<Identity>,
    orders: Arc<dyn OrderRepository>,
    outbox: Arc<dyn OutboxRepository>,
    files: Arc<Files>,
    addresses: Arc<AddressBook>,
    carts: Arc<dyn CartRepository>,
    clock: SharedClock,
}

/// How often an order changed by someone else is read again during an erasure.
const REDACTION_TRIES: usize = 5;

impl Privacy {
    pub fn new(
        identity: Arc<Identity>,
        orders: Arc<dyn OrderRepository>,
        outbox: Arc<dyn OutboxRepository>,
        files: Arc<Files>,
        addresses: Arc<AddressBook>,
        carts: Arc<dyn CartRepository>,
    ) -> Self {
        Self {
            identity,
            orders,
            outbox,
            files,
            addresses,
            carts,
            clock: SystemClock::shared(),
        }
    }

    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Everything Bazaar keeps about the caller, recorded in their audit trail.
    pub async fn export(
        &self,
        who: &Principal,
        ctx: &RequestContext,
    ) -> Result<PersonalData, AppError> {
        let user = self.identity.me(who).await?;
        let sessions = self.identity.sessions(who).await?;
        let orders = self.orders_of(who).await?;
        let addresses = self.addresses.list(&who.user_id).await?;
        let cart = self
            .carts
            .get(&CartOwner::Customer(who.user_id.clone()), self.clock.now())
            .await?;
        let mut audit = Vec::new();
        let mut cursor = None;
        loop {
            let raw = RawAuditQuery {
                user_id: Some(who.user_id.to_string()),
                paging: page_after(cursor.take()),
                ..RawAuditQuery::default()
            };
            let (query, page) = self.identity.audit_events(&raw).await?;
            cursor = page
                .has_next
                .then(|| page.items.last().map(|last| query.cursor_after(last)))
                .flatten();
            audit.extend(page.items);
            if cursor.is_none() {
                break;
            }
        }
        self.identity.data_exported(who, ctx).await;
        Ok(PersonalData {
            at: self.clock.now(),
            user,
            sessions,
            orders,
            addresses,
            cart,
            audit,
        })
    }

    /// Erases the caller's account, after a recent sign-in, once no order of
    /// theirs still needs them (409 naming those that do): their orders keep
    /// the tax record without the person, notices to their phone and email are
    /// forgotten (queued ones never sent), the files they uploaded that no
    /// product shows and their saved addresses are deleted, then the account and its sessions go. Orders are swept again after the account is gone, for one placed
    /// while the erasure ran.
    pub async fn erase(&self, who: &Principal, ctx: &RequestContext) -> Result<Erasure, AppError> {
        self.identity
            .require_recent_sign_in(who, "erasing the account")
            .await?;
        let user = self.identity.me(who).await?;
        let orders = self.orders_of(who).await?;
        let open: Vec<&str> = orders
            .iter()
            .filter(|o| o.status.needs_customer())
            .map(|o| o.id.as_str())
            .collect();
        if !open.is_empty() {
            return Err(AppError::new(
                ErrorCode::Conflict,
                format!(
                    "these orders are still in progress and need your contact details: {}; cancel them or wait until they are delivered, then erase the account",
                    open.join(", ")
                ),
            ));
        }
        let mut done = Erasure::default();
        for order in &orders {
            done.orders_redacted += u64::from(self.redact(order).await?);
        }
        let addresses = std::iter::once(user.phone.as_str().to_owned())
            .chain(user.email.as_ref().map(|e| e.as_str().to_owned()))
            .chain(user.pending_email.as_ref().map(|e| e.as_str().to_owned()));
        for address in addresses {
            done.notices_forgotten += self.outbox.forget_recipient(&address).await?;
        }
        done.files_deleted = self.files.erase_private_of(&user.id).await?;
        done.addresses_deleted = self.addresses.erase(&user.id).await?;
        self.carts
            .delete(&CartOwner::Customer(user.id.clone()))
            .await?;
        self.identity.close_account(who, &user, ctx).await?;
        // One saved while the erasure ran.
        done.addresses_deleted += self.addresses.erase(&user.id).await?;
        for order in self.orders_of(who).await? {
            done.orders_redacted += u64::from(self.redact(&order).await?);
        }
        Ok(done)
    }

    /// Takes the customer out of `order`; false when there was nothing to take.
    async fn redact(&self, order: &Order) -> Result<bool, AppError> {
        let mut current = order.clone();
        for _ in 0..REDACTION_TRIES {
            if !current.holds_personal_data() {
                return Ok(false);
            }
            let next = current.without_customer(self.clock.now());
            match self.orders.update(&next, current.version, &[]).await {
                Ok(()) => return Ok(true),
                Err(StoreError::VersionConflict) => {
                    current = self
                        .orders
                        .get(&order.id)
                        .await?
                        .ok_or_else(|| AppError::not_found("order"))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::new(
            ErrorCode::Conflict,
            "an order kept changing while the account was being erased; try again",
        ))
    }

    /// Every order of the caller's, page by page.
    async fn orders_of(&self, who: &Principal) -> Result<Vec<Order>, AppError> {
        let mut orders = Vec::new();
        let mut cursor = None;
        loop {
            let raw = RawOrderQuery {
                paging: page_after(cursor.take()),
                ..RawOrderQuery::default()
            };
            let query = OrderQuery::parse(&raw, Some(who.user_id.clone()))?;
            let page = self.orders.list(&query).await?;
            cursor = page
                .has_next
                .then(|| page.items.last().map(|last| query.cursor_after(last)))
                .flatten();
            orders.extend(page.items);
            if cursor.is_none() {
                return Ok(orders);
            }
        }
    }
}

fn page_after(cursor: Option<String>) -> PageRequest {
    PageRequest {
        limit: Some(i64::from(LIMIT_MAX)),
        cursor,
        page: None,
    }
}
