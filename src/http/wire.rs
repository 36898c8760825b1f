//! The domain's enumerations in the contract: statuses, kinds, roles and codes.
//!
//! A field of type [`Wire<T>`] is sent as `T::as_str()` and described by a named component
//! schema whose `enum` is read from the domain's own list of values ([`WireEnum::all`]), so a
//! generated client can switch on it exhaustively and a value added in the domain reaches the
//! contract (and `make contract-diff`) with nothing copied by hand. The domain knows nothing of
//! this: its enums are given a name and a description for the contract here.
//!
//! A `Wire<T>` field is a `$ref`: give it no doc comment in an `Object`, which would wrap the
//! reference in `allOf` beside the description (some client generators refuse that). Its
//! text lives in [`WireEnum::DESCRIPTION`], on the component.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};

use crate::app::errors::ErrorCode;
use crate::app::orders::webhooks::Received;
use crate::domain::audit::AuditKind;
use crate::domain::file::FileStatus;
use crate::domain::order::cod::{OfflineMethod, PaymentMethod};
use crate::domain::order::flags::FlagReason;
use crate::domain::order::ledger::{EntryStatus, LedgerKind};
use crate::domain::order::status::OrderStatus;
use crate::domain::outbox::{Channel, NoticeKind, OutboxState};
use crate::domain::pricing::LineState;
use crate::domain::user::{Role, UserStatus};

/// An enumeration the contract names: a fixed set of values, each sent as a string.
pub trait WireEnum: Copy + Send + Sync + 'static {
    /// The component schema's name.
    const NAME: &'static str;
    /// The component schema's description: what the values mean.
    const DESCRIPTION: &'static str;
    /// Every value, in the order the contract lists them.
    fn all() -> &'static [Self];
    /// The value on the wire.
    fn as_str(&self) -> &'static str;
}

/// A domain enumeration as a contract field: a string from [`WireEnum::all`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Wire<T>(pub T);

impl<T> From<T> for Wire<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: WireEnum> Type for Wire<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        T::NAME.into()
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(T::NAME.to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(T::NAME.to_owned(), |_| MetaSchema {
            description: Some(T::DESCRIPTION),
            enum_items: T::all()
                .iter()
                .map(|value| serde_json::Value::String(value.as_str().to_owned()))
                .collect(),
            ..MetaSchema::new("string")
        });
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<T: WireEnum> ToJSON for Wire<T> {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.as_str().to_owned()))
    }
}

impl<T: WireEnum> ParseFromJSON for Wire<T> {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        value
            .as_str()
            .and_then(|s| T::all().iter().find(|v| v.as_str() == s))
            .map(|&v| Self(v))
            .ok_or_else(|| ParseError::expected_type(value))
    }
}

/// Implements [`WireEnum`] for a type with an `ALL` list and an `as_str(self)`.
macro_rules! wire_enum {
    ($ty:ty, $name:literal, $description:expr) => {
        impl WireEnum for $ty {
            const NAME: &'static str = $name;
            const DESCRIPTION: &'static str = $description;

            fn all() -> &'static [Self] {
                &<$ty>::ALL
            }

            fn as_str(&self) -> &'static str {
                <$ty>::as_str(*self)
            }
        }
    };
}

wire_enum!(
    ErrorCode,
    "ProblemCode",
    "Stable machine-readable error code; switch on this, not on `title`. \
     Codes are listed in `docs/errors.md`."
);

wire_enum!(
    OrderStatus,
    "OrderStatus",
    "Where an order is in its life: `pending_payment`, `payment_mismatch`, `paid`, \
     `confirmed` (cash on delivery, confirmed by code; not paid), `packed`, `fulfilled` (the \
     released name of `packed`), `shipped`, `delivered`, `return_requested`, `returned`, \
     `cancelled`, `expired` or `refunded` (see `docs/orders.md`). `payment_mismatch`: money \
     was captured, but not the order's total in its currency; not paid, and held for staff."
);

wire_enum!(
    PaymentMethod,
    "PaymentMethod",
    "How the order is paid: `razorpay` (online, the default) or `cod` (cash on delivery)."
);

wire_enum!(
    OfflineMethod,
    "OfflineMethod",
    "How money moved outside Razorpay: `cash`, `upi` or `bank_transfer`."
);

wire_enum!(
    LineState,
    "CartLineState",
    "Whether a cart line can be bought as it stands: `in_stock`, `insufficient_stock` \
     (fewer left than the line asks for: `available` says how many), `out_of_stock`, or \
     `unavailable` (the product or variant is no longer sold)."
);

wire_enum!(
    LedgerKind,
    "LedgerEntryKind",
    "A money movement: `capture` (money in) or `refund` (money out)."
);

wire_enum!(
    EntryStatus,
    "LedgerEntryStatus",
    "How far a money movement has got: `pending`, then `settled` or `failed`."
);

wire_enum!(
    FlagReason,
    "OrderFlagReason",
    "Why staff should look at an order's money. `payment_mismatch`: a payment (authorised or \
     captured) not for the order's total in its currency; it did not pay the order. \
     `refund_exceeds_capture`: Razorpay reported a refund larger than what is left of its \
     payment's capture; it was not recorded."
);

wire_enum!(
    FileStatus,
    "FileStatus",
    "`pending` until `complete` confirmed the upload, then `complete`. A pending file whose \
     upload URL has been expired for as long as it was valid is deleted: it is `expired` while \
     the sweep removes it, and never answered in that state (it is already gone)."
);

wire_enum!(
    Role,
    "Role",
    "What a user may do: `customer`, `catalog_manager` or `admin`."
);

wire_enum!(
    UserStatus,
    "UserStatus",
    "An account's status: `active`, `locked` (after repeated failed sign-ins; unlocks by \
     itself) or `disabled` (by an admin: cannot sign in, every session revoked)."
);

wire_enum!(
    AuditKind,
    "AuditEventKind",
    "The kind of a security event: `register`, `login_succeeded`, `login_failed`, \
     `account_locked`, `refresh_reused`, `logout`, `logout_all`, `session_revoked`, \
     `password_reset`, `roles_changed`, `permission_denied`, `user_disabled`, \
     `phone_verified`, `email_verified`, `payment_flagged` (an order's money needs staff: see \
     its `flags`), `capture_refunded` (a capture the order does not keep was refunded \
     automatically), `shipping_zone_changed` or `coupon_changed` (staff created, changed or \
     deleted a shipping zone or a coupon), or `cod_collected` (staff recorded a \
     cash-on-delivery order's cash)."
);

wire_enum!(
    NoticeKind,
    "NoticeKind",
    "What a notice to a customer is about: `order_confirmation`, `payment_receipt`, `refund` \
     or `cancellation` (order notices), `password_reset` (a single-use reset link; its data is \
     emptied once delivered or skipped) or `email_changed` (to the previous address of an \
     account whose email was replaced)."
);

wire_enum!(
    Channel,
    "NoticeChannel",
    "How a notice travels: `email`, `sms` or `whatsapp`."
);

wire_enum!(
    OutboxState,
    "OutboxState",
    "Where an outbox message is in its life: `pending` (waiting, or being delivered), \
     `delivered`, `dead` (every attempt failed), or `skipped` (not sent on purpose, for good: \
     see `last_error`)."
);

wire_enum!(
    Received,
    "WebhookReceipt",
    "What the receiver did with a webhook delivery: `applied` (new), `duplicate` (seen \
     before; nothing changed) or `unparseable` (verified and stored, but Bazaar could not read \
     it; staff see it under `/api/v1/admin/webhooks` and can apply it again)."
);

#[cfg(test)]
mod tests {
    use poem_openapi::registry::Registry;

    use super::*;

    fn schema_of<T: WireEnum>() -> MetaSchema {
        let mut registry = Registry::new();
        Wire::<T>::register(&mut registry);
        registry
            .schemas
            .remove(T::NAME)
            .expect("the component is registered under its name")
    }

    fn round_trips<T: WireEnum + PartialEq + std::fmt::Debug>() {
        for &value in T::all() {
            let json = Wire(value).to_json();
            assert_eq!(json, Some(serde_json::json!(value.as_str())));
            let back = Wire::<T>::parse_from_json(json).expect("its own string parses");
            assert_eq!(back.0, value);
        }
    }

    #[test]
    fn the_component_lists_every_value_of_the_domain_enum_in_order() {
        let schema = schema_of::<OrderStatus>();
        let listed: Vec<_> = schema
            .enum_items
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(listed, OrderStatus::ALL.map(OrderStatus::as_str));
        assert_eq!(schema.ty, "string");
        assert_eq!(
            schema.description,
            Some(<OrderStatus as WireEnum>::DESCRIPTION)
        );
    }

    #[test]
    fn a_field_refers_to_the_component_by_name() {
        assert!(matches!(
            Wire::<Role>::schema_ref(),
            MetaSchemaRef::Reference(name) if name == "Role"
        ));
    }

    #[test]
    fn every_value_is_sent_as_its_domain_string_and_read_back() {
        round_trips::<ErrorCode>();
        round_trips::<OrderStatus>();
        round_trips::<LedgerKind>();
        round_trips::<EntryStatus>();
        round_trips::<FlagReason>();
        round_trips::<FileStatus>();
        round_trips::<Role>();
        round_trips::<UserStatus>();
        round_trips::<AuditKind>();
        round_trips::<NoticeKind>();
        round_trips::<Channel>();
        round_trips::<OutboxState>();
        round_trips::<Received>();
    }

    #[test]
    fn a_string_outside_the_enum_is_refused() {
        assert!(Wire::<OrderStatus>::parse_from_json(Some(serde_json::json!("shiped"))).is_err());
        assert!(Wire::<OrderStatus>::parse_from_json(Some(serde_json::json!(3))).is_err());
        assert!(Wire::<OrderStatus>::parse_from_json(None).is_err());
    }
}
