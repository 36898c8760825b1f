//! Options and variants as clients write and read them (see `domain::variant`).

use std::collections::BTreeMap;

use poem_openapi::types::Example;
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use crate::domain::product::Product;
use crate::domain::variant::{ProductOption, RawOption, RawVariant, Variant};

/// An option a product's variants choose from, such as a size or a colour.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(example, deny_unknown_fields, rename = "ProductOption")]
#[serde(deny_unknown_fields)]
pub struct ProductOptionBody {
    /// 1–30 characters after trimming, no control characters; distinct among the product's
    /// options, case-insensitively.
    #[oai(validator(
        min_length = 1,
        max_length = 30,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub name: String,
    /// 1–30 values of 1–30 characters, in display order, distinct case-insensitively.
    #[oai(validator(
        min_items = 1,
        max_items = 30,
        min_length = 1,
        max_length = 30,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub values: Vec<String>,
}

impl Example for ProductOptionBody {
    fn example() -> Self {
        Self {
            name: "Size".into(),
            values: vec!["S".into(), "M".into(), "L".into()],
        }
    }
}

impl From<ProductOptionBody> for RawOption {
    fn from(o: ProductOptionBody) -> Self {
        Self {
            name: o.name,
            values: o.values,
        }
    }
}

impl From<&ProductOption> for ProductOptionBody {
    fn from(o: &ProductOption) -> Self {
        Self {
            name: o.name.clone(),
            values: o.values.clone(),
        }
    }
}

/// A variant as clients write it. Its id is kept across edits while its option values stay
/// the same.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    /// Option name → value: every option of the product once, each with one of its values
    /// (matched case-insensitively). No two variants may have the same values.
    pub options: BTreeMap<String, String>,
    /// 1–64 characters: letters, digits, `-`, `_`, `.`. Unique in the catalog among products'
    /// and variants' SKUs, case-insensitively.
    #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
    pub sku: String,
    /// Price in paise, greater than 0; absent: the product's `price`.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000000000")))]
    pub price: Option<i64>,
    /// Units in stock, 0 to 1000000000; absent or `null` for unlimited.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub stock: Option<i64>,
    /// Up to 10 ids of complete uploads, as for the product's `images`.
    #[oai(
        validator(max_items = 10, pattern = "^[0-9a-fA-F]{24}$"),
        skip_serializing_if_is_none
    )]
    pub images: Option<Vec<String>>,
}

impl Example for VariantInput {
    fn example() -> Self {
        Self {
            options: BTreeMap::from([("Size".into(), "M".into())]),
            sku: "TEE-RED-M".into(),
            price: Some(49_900),
            stock: Some(25),
            images: None,
        }
    }
}

impl From<VariantInput> for RawVariant {
    fn from(v: VariantInput) -> Self {
        Self {
            options: v.options,
            sku: v.sku,
            price: v.price,
            stock: v.stock,
            images: v.images.unwrap_or_default(),
        }
    }
}

// Serialised by serde as part of `ProductBody`; the attributes mirror the `oai` ones.
/// A sellable unit of a product. A product without options has one, whose id is the
/// product's and whose SKU, price, stock and images are the product's.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(example, rename = "Variant")]
pub struct VariantBody {
    /// 24 hexadecimal characters; what an order line's `variant_id` names.
    pub id: String,
    /// Option name → value; empty for a product without options.
    pub options: BTreeMap<String, String>,
    /// The values joined, e.g. `M / Red`; absent for a product without options.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Stored upper-case.
    pub sku: String,
    /// Price in paise.
    pub price: i64,
    /// Units left to sell; `null` means unlimited.
    #[oai(nullable)]
    pub stock: Option<u32>,
    /// Image file ids, shown like the product's
    /// (`GET /api/v1/products/{id}/images/{file_id}`).
    pub images: Vec<String>,
}

impl VariantBody {
    pub fn of(p: &Product, v: &Variant) -> Self {
        Self {
            id: v.id.to_string(),
            options: v
                .named_values(&p.options)
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            label: v.label(),
            sku: v.sku.as_str().to_owned(),
            price: v.price.get(),
            stock: v.stock,
            images: v.images.iter().map(|i| i.to_string()).collect(),
        }
    }
}

impl Example for VariantBody {
    fn example() -> Self {
        Self {
            id: "6650c0ffee0000000000abce".into(),
            options: BTreeMap::from([("Size".into(), "M".into())]),
            label: Some("M".into()),
            sku: "TEE-RED-M".into(),
            price: 49_900,
            stock: Some(25),
            images: vec![],
        }
    }
}
