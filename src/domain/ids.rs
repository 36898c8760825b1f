//! Resource identifiers: every id type of the domain, in one place, so that the
//! modules that name each other's records need not import each other.

/// Whether `id` has the shape of every id here: 24 hexadecimal characters.
pub fn is_object_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Declares an id type: 24 lowercase hex characters, the shape of a MongoDB
/// ObjectId (which sorts by creation time). Generated here, so both storage
/// backends agree on it.
macro_rules! object_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                Self(bson::oid::ObjectId::new().to_hex())
            }

            pub fn parse(raw: &str) -> Result<Self, String> {
                if is_object_id(raw) {
                    Ok(Self(raw.to_ascii_lowercase()))
                } else {
                    Err("must be 24 hexadecimal characters".to_owned())
                }
            }

            /// Rebuilds an id read back from storage, which was checked on its way in.
            #[allow(dead_code)]
            pub(crate) fn trusted(value: String) -> Self {
                Self(value)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

object_id!(
    /// A product id.
    ProductId
);

object_id!(
    /// A variant of a product. A product's default (only) variant has the product's own id,
    /// so products and order lines from before variants name it without a new id.
    VariantId
);

impl VariantId {
    /// The id of `product`'s default variant: the product's own.
    pub fn default_of(product: &ProductId) -> Self {
        Self(product.as_str().to_owned())
    }
}

object_id!(
    /// A file id.
    FileId
);

object_id!(
    /// A user id.
    UserId
);

object_id!(
    /// An order id.
    OrderId
);

object_id!(
    /// An outbox message id.
    OutboxId
);

object_id!(
    /// A saved address id.
    AddressId
);

object_id!(
    /// A shipping zone id.
    ZoneId
);
