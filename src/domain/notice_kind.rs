//! What a notice is about ([`NoticeKind`]): the order notices, which have a template per
//! channel and language ([`PerNotice`]), and the account notices, which go by email only.
//! Re-exported by `domain::outbox`, which writes and delivers them.

use serde::{Deserialize, Serialize};

/// What a notice tells the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    OrderConfirmation,
    PaymentReceipt,
    Refund,
    Cancellation,
    /// Packed, about to be handed to the carrier.
    OrderPacked,
    /// With the carrier; its data names the carrier and the tracking number.
    OrderShipped,
    OrderDelivered,
    /// The customer's return request was received.
    ReturnRequested,
    /// The returned goods arrived; the refund follows.
    ReturnReceived,
    /// A single-use link to set a new password (`{public_url}/reset-password?token=…`),
    /// to the account's verified email. Its data holds the link only until it is sent.
    PasswordReset,
    /// To the *old* address of an account whose email was just replaced: what changed,
    /// and whom to contact if it was not the customer. It holds no link.
    EmailChanged,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 11] = [
        Self::OrderConfirmation,
        Self::PaymentReceipt,
        Self::Refund,
        Self::Cancellation,
        Self::OrderPacked,
        Self::OrderShipped,
        Self::OrderDelivered,
        Self::ReturnRequested,
        Self::ReturnReceived,
        Self::PasswordReset,
        Self::EmailChanged,
    ];

    /// The notices about orders, which go on the channels the customer's preferences
    /// allow, each with a template per channel and language ([`PerNotice`]). The others
    /// are account notices: by email only, to an address named by the account's own
    /// change, whatever the preferences say.
    pub const ORDER: [NoticeKind; 9] = [
        Self::OrderConfirmation,
        Self::PaymentReceipt,
        Self::Refund,
        Self::Cancellation,
        Self::OrderPacked,
        Self::OrderShipped,
        Self::OrderDelivered,
        Self::ReturnRequested,
        Self::ReturnReceived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderConfirmation => "order_confirmation",
            Self::PaymentReceipt => "payment_receipt",
            Self::Refund => "refund",
            Self::Cancellation => "cancellation",
            Self::OrderPacked => "order_packed",
            Self::OrderShipped => "order_shipped",
            Self::OrderDelivered => "order_delivered",
            Self::ReturnRequested => "return_requested",
            Self::ReturnReceived => "return_received",
            Self::PasswordReset => "password_reset",
            Self::EmailChanged => "email_changed",
        }
    }

    /// Whether the message's data lets its reader act for the customer (a reset link):
    /// it is cleared once the message is delivered or set aside, so that the outbox keeps
    /// it no longer than it is needed.
    pub fn carries_secret(self) -> bool {
        matches!(self, Self::PasswordReset)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Whether the customer must get this notice even with every channel turned off in their
    /// preferences: a payment receipt is proof of what they paid (OTP codes, sent outside the
    /// outbox, are the other such message). See `docs/outbox.md`.
    pub fn is_transactional(self) -> bool {
        matches!(self, Self::PaymentReceipt)
    }
}

/// One `T` for each kind of order notice ([`NoticeKind::ORDER`]), e.g. each kind's email
/// template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerNotice<T> {
    pub order_confirmation: T,
    pub payment_receipt: T,
    pub refund: T,
    pub cancellation: T,
    pub order_packed: T,
    pub order_shipped: T,
    pub order_delivered: T,
    pub return_requested: T,
    pub return_received: T,
}

impl<T> PerNotice<T> {
    /// The order notice's value; `None` for an account notice, which has none.
    pub fn get(&self, kind: NoticeKind) -> Option<&T> {
        match kind {
            NoticeKind::OrderConfirmation => Some(&self.order_confirmation),
            NoticeKind::PaymentReceipt => Some(&self.payment_receipt),
            NoticeKind::Refund => Some(&self.refund),
            NoticeKind::Cancellation => Some(&self.cancellation),
            NoticeKind::OrderPacked => Some(&self.order_packed),
            NoticeKind::OrderShipped => Some(&self.order_shipped),
            NoticeKind::OrderDelivered => Some(&self.order_delivered),
            NoticeKind::ReturnRequested => Some(&self.return_requested),
            NoticeKind::ReturnReceived => Some(&self.return_received),
            NoticeKind::PasswordReset | NoticeKind::EmailChanged => None,
        }
    }

    /// Builds one value per kind.
    pub fn from_fn(mut make: impl FnMut(NoticeKind) -> T) -> Self {
        Self {
            order_confirmation: make(NoticeKind::OrderConfirmation),
            payment_receipt: make(NoticeKind::PaymentReceipt),
            refund: make(NoticeKind::Refund),
            cancellation: make(NoticeKind::Cancellation),
            order_packed: make(NoticeKind::OrderPacked),
            order_shipped: make(NoticeKind::OrderShipped),
            order_delivered: make(NoticeKind::OrderDelivered),
            return_requested: make(NoticeKind::ReturnRequested),
            return_received: make(NoticeKind::ReturnReceived),
        }
    }
}
