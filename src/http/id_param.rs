//! One type for every id a request names in its path (or query): [`IdParam<K>`], generic
//! over the id's kind. The kind is the domain's own id type for our records
//! (`IdParam<OrderId>`, `IdParam<ProductId>`…: 24 hexadecimal characters, a MongoDB
//! ObjectId) and a provider-id kind for the ids Razorpay makes ([`RazorpayOrderId`],
//! [`RazorpayEventId`]), so each declares its own pattern in the contract.
//!
//! The check runs in the handler ([`IdParam::checked`]), not in poem-openapi's `pattern`
//! validator, which compiles its regex on every request (most of a cached product read's
//! time), nor in parsing, whose errors name path parameters `param0`, `param1`…: a
//! malformed id is a 400 `invalid_parameter` naming the parameter.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};

use crate::app::errors::AppError;
use crate::domain::coupon::CouponCode;
use crate::domain::file::FileId;
use crate::domain::ids::{
    is_object_id, AddressId, OrderId, OutboxId, ProductId, UserId, VariantId, ZoneId,
};

/// What an id of one kind looks like.
pub trait IdKind: Send + Sync + 'static {
    /// The schema's name in the contract.
    const NAME: &'static str;
    /// The pattern the contract declares.
    const PATTERN: &'static str;
    /// What a malformed id is told, after "must be".
    const SHAPE: &'static str;

    /// Whether `raw` has this kind's shape (what [`Self::PATTERN`] says).
    fn is_valid(raw: &str) -> bool;
}

/// Our records' ids: the domain's id types.
macro_rules! object_id_kind {
    ($($id:ty => $name:literal),+ $(,)?) => {$(
        impl IdKind for $id {
            const NAME: &'static str = $name;
            const PATTERN: &'static str = "^[0-9a-fA-F]{24}$";
            const SHAPE: &'static str = "24 hexadecimal characters";

            fn is_valid(raw: &str) -> bool {
                is_object_id(raw)
            }
        }
    )+};
}

object_id_kind!(
    ProductId => "ProductId",
    FileId => "FileId",
    UserId => "UserId",
    OrderId => "OrderId",
    OutboxId => "OutboxId",
    VariantId => "VariantId",
    AddressId => "AddressId",
    ZoneId => "ShippingZoneId",
);

impl IdKind for CouponCode {
    const NAME: &'static str = "CouponCode";
    const PATTERN: &'static str = CouponCode::PATTERN;
    const SHAPE: &'static str = "3 to 32 letters, digits or '-'";

    fn is_valid(raw: &str) -> bool {
        CouponCode::parse("code", raw).is_ok()
    }
}

/// A session's id: 32 lowercase hexadecimal characters (a UUID without hyphens).
#[derive(Debug)]
pub struct SessionId;

impl IdKind for SessionId {
    const NAME: &'static str = "SessionId";
    const PATTERN: &'static str = "^[0-9a-f]{32}$";
    const SHAPE: &'static str = "32 lowercase hexadecimal characters";

    fn is_valid(raw: &str) -> bool {
        raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

/// A Razorpay order id, as Razorpay makes them: `order_` and letters or digits.
#[derive(Debug)]
pub struct RazorpayOrderId;

impl IdKind for RazorpayOrderId {
    const NAME: &'static str = "RazorpayOrderId";
    const PATTERN: &'static str = "^order_[0-9A-Za-z]{1,40}$";
    const SHAPE: &'static str = "`order_` and 1 to 40 letters or digits";

    fn is_valid(raw: &str) -> bool {
        raw.strip_prefix("order_").is_some_and(|rest| {
            (1..=40).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    }
}

/// A webhook event's id as stored: Razorpay's `X-Razorpay-Event-Id` (1–100 characters,
/// which the receiver keeps as sent), or the digest that stands in for a missing one.
#[derive(Debug)]
pub struct RazorpayEventId;

impl IdKind for RazorpayEventId {
    const NAME: &'static str = "RazorpayEventId";
    const PATTERN: &'static str = "^[^/]{1,100}$";
    const SHAPE: &'static str = "1 to 100 characters";

    fn is_valid(raw: &str) -> bool {
        (1..=100).contains(&raw.len()) && !raw.contains('/')
    }
}

/// An id of kind `K` in a request's path or query, kept as sent until
/// [`IdParam::checked`] names the parameter a malformed one is reported under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdParam<K>(String, PhantomData<fn() -> K>);

impl<K: IdKind> IdParam<K> {
    /// The id, or 400 `invalid_parameter` naming the parameter `name`.
    pub fn checked(&self, name: &str) -> Result<&str, AppError> {
        if K::is_valid(&self.0) {
            Ok(&self.0)
        } else {
            Err(AppError::invalid_parameter(
                name,
                format!("must be {}", K::SHAPE),
            ))
        }
    }
}

impl<K: IdKind> Type for IdParam<K> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        K::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(K::PATTERN.to_owned()),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl<K: IdKind> ParseFromParameter for IdParam<K> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned(), PhantomData))
    }
}

impl<K> From<IdParam<K>> for String {
    fn from(id: IdParam<K>) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<K: IdKind + std::fmt::Debug>(raw: &str) -> IdParam<K> {
        IdParam::parse_from_parameter(raw).unwrap()
    }

    #[test]
    fn an_object_id_is_24_hex_characters_and_a_bad_one_names_the_parameter() {
        assert!(id::<OrderId>("6650c0ffee0000000000C001")
            .checked("id")
            .is_ok());
        let bad = id::<OrderId>("not-an-id").checked("id").unwrap_err();
        assert_eq!(bad.code, crate::app::errors::ErrorCode::InvalidParameter);
        assert_eq!(bad.errors[0].field, "id");
        assert_eq!(bad.errors[0].message, "must be 24 hexadecimal characters");
    }

    #[test]
    fn provider_and_session_ids_have_their_own_shapes() {
        assert!(id::<RazorpayOrderId>("order_IEIaMR65cu6nz3")
            .checked("razorpay_order_id")
            .is_ok());
        assert!(id::<RazorpayOrderId>("order_Fake0001").checked("x").is_ok());
        assert!(id::<RazorpayOrderId>("pay_IH4NVgf4Dreq1l")
            .checked("x")
            .is_err());
        assert!(id::<RazorpayEventId>("evt_IH4NVhHbBqkxVa")
            .checked("event_id")
            .is_ok());
        assert!(id::<RazorpayEventId>("").checked("event_id").is_err());
        assert!(id::<SessionId>("0123456789abcdef0123456789abcdef")
            .checked("id")
            .is_ok());
        assert!(id::<SessionId>("6650c0ffee0000000000c001")
            .checked("id")
            .is_err());
    }

    #[test]
    fn every_kind_s_check_agrees_with_its_contract_pattern() {
        fn agrees<K: IdKind>(samples: &[&str]) {
            let pattern = regex::Regex::new(K::PATTERN).unwrap();
            for s in samples {
                assert_eq!(pattern.is_match(s), K::is_valid(s), "{} on {s:?}", K::NAME);
            }
        }
        let samples = [
            "",
            "6650c0ffee0000000000c001",
            "6650c0ffee0000000000c00",
            "0123456789abcdef0123456789abcdef",
            "0123456789ABCDEF0123456789ABCDEF",
            "order_IEIaMR65cu6nz3",
            "order_",
            "evt_IH4NVhHbBqkxVa",
            "a/b",
        ];
        agrees::<OrderId>(&samples);
        agrees::<SessionId>(&samples);
        agrees::<RazorpayOrderId>(&samples);
        agrees::<RazorpayEventId>(&samples);
    }
}
