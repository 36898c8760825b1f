//! Query parameter types that describe their limits in the contract and reject
//! out-of-range input at extraction with a plain message ("must be between 1
//! and 100"), instead of the generic validator text.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};

/// Declares an integer query parameter accepted only within `[min, max]`.
macro_rules! bounded_int {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub i64);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = i64;
            type RawElementValueType = i64;

            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    minimum: Some($min as f64),
                    maximum: Some($max as f64),
                    ..MetaSchema::new_with_format("integer", "int64")
                }))
            }

            fn as_raw_value(&self) -> Option<&i64> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a i64> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                let n: i64 = value
                    .trim()
                    .parse()
                    .map_err(|_| ParseError::custom("must be a whole number"))?;
                if !(($min as i64)..=($max as i64)).contains(&n) {
                    return Err(ParseError::custom(format!(
                        "must be between {} and {}",
                        $min, $max
                    )));
                }
                Ok(Self(n))
            }
        }
    };
}

bounded_int!(
    /// Items per page.
    Limit, 1, crate::domain::product_query::LIMIT_MAX
);
bounded_int!(
    /// A page number.
    PageNumber, 1, crate::domain::product_query::PAGE_MAX
);
bounded_int!(
    /// An amount in paise used as a filter bound.
    PaiseBound, 0, crate::domain::money::Paise::MAX
);

/// Declares a string query parameter limited to `max` characters (and, in the
/// contract, to a `pattern` the domain's parser holds it to).
macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr $(, $pattern:expr)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = String;
            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    max_length: Some($max),
                    pattern: None$(.or(Some(String::from($pattern))))?,
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

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                if value.chars().count() > $max {
                    return Err(ParseError::custom(format!(
                        "must be at most {} characters",
                        $max
                    )));
                }
                Ok(Self(value.to_owned()))
            }
        }
    };
}

bounded_text!(
    /// Free text to search for: no control characters once trimmed.
    SearchText,
    crate::domain::product_query::Q_MAX,
    r"^[\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*([^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
);
bounded_text!(
    /// Comma-separated facet names.
    FacetsParam,
    64,
    "^ *(category|tags|price_range|options)? *(, *(category|tags|price_range|options)? *)*$"
);
bounded_text!(
    /// An opaque pagination cursor.
    CursorText, 1024
);

/// Sort order of the product list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortParam(pub String);

impl Type for SortParam {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "SortParam".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            enum_items: crate::domain::product_query::Sort::ALLOWED
                .iter()
                .map(|s| serde_json::Value::from(*s))
                .collect(),
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

impl ParseFromParameter for SortParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let allowed = crate::domain::product_query::Sort::ALLOWED;
        if allowed.contains(&value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ParseError::custom(format!(
                "must be one of: {}",
                allowed.join(", ")
            )))
        }
    }
}

/// Declares a text query parameter or body field whose schema in the contract says
/// which values are accepted (`$schema`, a `MetaSchema`). Parsing keeps the text as
/// sent: the domain's parser reads it, and reports every bad field or parameter of a
/// request at once.
macro_rules! described_text {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
                String::parse_from_json(value)
                    .map(Self)
                    .map_err(ParseError::propagate)
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<serde_json::Value> {
                self.0.to_json()
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = String;
            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&String> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                Ok(Self(value.to_owned()))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

/// Some character that is not white space (Unicode's `White_Space`, what `str::trim`
/// removes), spelled out: `\s` means other sets in other regular expression engines.
pub const NON_BLANK: &str =
    r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// A string schema that takes only `values`.
fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> MetaSchema {
    MetaSchema {
        enum_items: values.into_iter().map(serde_json::Value::from).collect(),
        ..MetaSchema::new("string")
    }
}

described_text!(
    /// An order status.
    OrderStatusParam,
    one_of(crate::domain::order::status::OrderStatus::ALL.map(|s| s.as_str()))
);
described_text!(
    /// The sort of an order list.
    OrderSortParam,
    one_of(crate::domain::order_query::OrderSort::ALLOWED)
);
described_text!(
    /// The sort of the user list.
    UserSortParam,
    one_of(crate::domain::user_query::UserSort::ALLOWED)
);
described_text!(
    /// A role.
    RoleParam,
    one_of(crate::domain::user::Role::ALL.map(|r| r.as_str()))
);
described_text!(
    /// An account status.
    UserStatusParam,
    one_of(crate::domain::user::UserStatus::ALL.map(|s| s.as_str()))
);
described_text!(
    /// An audit event kind.
    AuditKindParam,
    one_of(crate::domain::audit::AuditKind::ALL.map(|k| k.as_str()))
);
described_text!(
    /// A state of an outbox message.
    OutboxStateParam,
    one_of(crate::domain::outbox::OutboxState::ALL.map(|s| s.as_str()))
);
described_text!(
    /// An order status staff may set (fulfilment moves only forward).
    SettableOrderStatus,
    one_of(crate::domain::order::status::OrderStatus::SETTABLE.map(|s| s.as_str()))
);
described_text!(
    /// How an order is paid: `razorpay` (the default) or `cod` (cash on delivery).
    PaymentMethodParam,
    one_of(crate::domain::order::cod::PaymentMethod::ALL.map(|m| m.as_str()))
);
described_text!(
    /// How a refund outside Razorpay was made.
    OfflineMethodParam,
    one_of(crate::domain::order::cod::OfflineMethod::ALL.map(|m| m.as_str()))
);
described_text!(
    /// A tag to filter by: 1 to 20 characters, not only spaces.
    TagParam,
    MetaSchema {
        min_length: Some(1),
        max_length: Some(crate::domain::product::TAG_MAX),
        pattern: Some(NON_BLANK.to_owned()),
        ..MetaSchema::new("string")
    }
);
described_text!(
    /// A language messages can be sent in (ISO 639-1).
    Language,
    one_of(crate::domain::user::LANGUAGES)
);
described_text!(
    /// `true` or `false`.
    BoolText,
    one_of(["true", "false"])
);
described_text!(
    /// A date (that day's start, India time) or an RFC 3339 time.
    TimeBound,
    MetaSchema {
        any_of: vec![
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date"))),
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time"))),
        ],
        ..MetaSchema::new("string")
    }
);
