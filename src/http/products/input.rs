//! What clients write: a whole product (create, replace, batch create) or a merge patch
//! (update, batch update).

use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::Object;
use serde::Deserialize;

use super::variants::{ProductOptionBody, VariantInput};
use crate::domain::product::{ProductPatch, RawProduct};

// Input types are parsed by serde (see `json_body`); their `validator`s only
// describe the rules in the contract. The domain enforces them, reporting every
// invalid field at once.

/// A product as clients write it (create, or replace with `PUT`).
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// 1–64 characters: letters, digits, `-`, `_`, `.`. Unique, case-insensitively.
    #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
    pub sku: String,
    /// 1–200 characters after trimming, no control characters.
    #[oai(validator(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    pub name: String,
    /// Plain text, at most 5000 characters; HTML is refused.
    #[oai(validator(max_length = 5000))]
    pub description: Option<String>,
    /// Price in paise, greater than 0 (₹499 is `49900`).
    #[oai(validator(minimum(value = "1"), maximum(value = "100000000000")))]
    pub price: i64,
    /// ISO 4217 code; only `INR` is accepted. Defaults to `INR`.
    #[oai(validator(pattern = "^INR$"))]
    pub currency: Option<String>,
    /// One of the configured categories (`BAZAAR_PRODUCT_CATEGORIES`).
    pub category: String,
    /// At most 10 tags of 1–20 characters (letters, digits, spaces, `-`); duplicates are dropped.
    #[oai(validator(
        max_items = 10,
        min_length = 1,
        max_length = 20,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub tags: Option<Vec<String>>,
    /// Units in stock, 0 to 1000000000; absent or `null` for unlimited.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub stock: Option<i64>,
    /// Up to 10 ids of **complete** uploads (`POST /api/v1/files`, then `complete`), in display order.
    /// An id new to the product must be your own upload or an image another product already
    /// shows; anyone else's file is `file_not_found`.
    #[oai(validator(max_items = 10, pattern = "^[0-9a-fA-F]{24}$"))]
    pub images: Option<Vec<String>>,
    /// Up to 3 options its variants choose from (`Size`, `Colour`); send with `variants`.
    #[oai(validator(max_items = 3), skip_serializing_if_is_none)]
    pub options: Option<Vec<ProductOptionBody>>,
    /// Up to 100 variants, each its own SKU, price, stock and images. With variants, `sku`
    /// is the product's own (style) SKU, `price` the price of variants that name none, and
    /// `stock` must be absent (stock is per variant). Absent: the product is its own single
    /// variant, as before variants existed.
    #[oai(validator(max_items = 100), skip_serializing_if_is_none)]
    pub variants: Option<Vec<VariantInput>>,
    /// HSN code (goods: 4, 6 or 8 digits, chapter 01–98) or SAC code (services: 6 digits
    /// starting `99`) that tax invoices classify it by, digits only (`610910`). Absent: the
    /// seller's default (`BAZAAR_GST_DEFAULT_HSN`).
    #[oai(
        validator(
            pattern = "^(99[0-9]{4}|(0[1-9]|[1-8][0-9]|9[0-8])([0-9]{2}|[0-9]{4}|[0-9]{6}))$"
        ),
        skip_serializing_if_is_none
    )]
    pub hsn_code: Option<String>,
    /// A tax class of the seller's rate table (`BAZAAR_GST_RATES`), else 422
    /// `unknown_tax_class`. Absent: the seller's default class.
    #[oai(
        validator(min_length = 1, max_length = 40, pattern = "^[a-z0-9_]+$"),
        skip_serializing_if_is_none
    )]
    pub tax_class: Option<String>,
}

impl Example for ProductInput {
    fn example() -> Self {
        Self {
            sku: "TEE-RED-M".into(),
            name: "Cotton T-shirt, red, M".into(),
            description: Some("100% cotton, pre-shrunk.".into()),
            price: 49_900,
            currency: Some("INR".into()),
            category: "fashion".into(),
            tags: Some(vec!["cotton".into(), "summer".into()]),
            stock: Some(25),
            images: Some(vec!["6650c0ffee0000000000f11e".into()]),
            options: None,
            variants: None,
            hsn_code: Some("6109".into()),
            tax_class: Some("standard_12_to_5".into()),
        }
    }
}

impl From<ProductInput> for RawProduct {
    fn from(i: ProductInput) -> Self {
        Self {
            sku: i.sku,
            name: i.name,
            description: i.description,
            price: i.price,
            currency: i.currency.unwrap_or_else(|| "INR".into()),
            category: i.category,
            tags: i.tags.unwrap_or_default(),
            stock: i.stock,
            images: i.images.unwrap_or_default(),
            options: i
                .options
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            variants: i
                .variants
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            hsn_code: i.hsn_code,
            tax_class: i.tax_class,
        }
    }
}

/// Fields to change (JSON merge-patch semantics): absent fields stay as they are;
/// `description: null` removes the description. The rules of `ProductInput` apply.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example, deny_unknown_fields)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchInput {
    #[oai(validator(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"))]
    #[oai(skip_serializing_if_is_none)]
    pub sku: Option<String>,
    #[oai(validator(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    ))]
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    #[oai(nullable, validator(max_length = 5000))]
    #[serde(default)]
    pub description: MaybeUndefined<String>,
    /// Price in paise, greater than 0.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000000000")))]
    #[oai(skip_serializing_if_is_none)]
    pub price: Option<i64>,
    #[oai(validator(pattern = "^INR$"))]
    #[oai(skip_serializing_if_is_none)]
    pub currency: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub category: Option<String>,
    #[oai(validator(
        max_items = 10,
        min_length = 1,
        max_length = 20,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    #[oai(skip_serializing_if_is_none)]
    pub tags: Option<Vec<String>>,
    /// Units in stock; `null` makes it unlimited.
    #[oai(
        nullable,
        validator(minimum(value = "0"), maximum(value = "1000000000"))
    )]
    #[serde(default)]
    pub stock: MaybeUndefined<i64>,
    /// Replaces the image list; every id must name a complete upload, and a new one must be
    /// your own upload or an image another product already shows.
    #[oai(validator(max_items = 10, pattern = "^[0-9a-fA-F]{24}$"))]
    #[oai(skip_serializing_if_is_none)]
    pub images: Option<Vec<String>>,
    /// Replaces the options; `[]` (with `variants: []`) makes the product its own single
    /// variant again.
    #[oai(validator(max_items = 3))]
    #[oai(skip_serializing_if_is_none)]
    pub options: Option<Vec<ProductOptionBody>>,
    /// Replaces the variants; one with the option values of a current variant keeps its id.
    #[oai(validator(max_items = 100))]
    #[oai(skip_serializing_if_is_none)]
    pub variants: Option<Vec<VariantInput>>,
    /// HSN or SAC code, digits only; `null` goes back to the seller's default.
    #[oai(
        nullable,
        validator(
            pattern = "^(99[0-9]{4}|(0[1-9]|[1-8][0-9]|9[0-8])([0-9]{2}|[0-9]{4}|[0-9]{6}))$"
        )
    )]
    #[serde(default)]
    pub hsn_code: MaybeUndefined<String>,
    /// A tax class of the seller's rate table; `null` goes back to the seller's default.
    #[oai(
        nullable,
        validator(min_length = 1, max_length = 40, pattern = "^[a-z0-9_]+$")
    )]
    #[serde(default)]
    pub tax_class: MaybeUndefined<String>,
}

impl Example for ProductPatchInput {
    fn example() -> Self {
        Self {
            sku: None,
            name: None,
            description: MaybeUndefined::Undefined,
            price: Some(44_900),
            currency: None,
            category: None,
            tags: Some(vec!["cotton".into(), "sale".into()]),
            stock: MaybeUndefined::Value(40),
            images: None,
            options: None,
            variants: None,
            hsn_code: MaybeUndefined::Undefined,
            tax_class: MaybeUndefined::Value("standard_12_to_5".into()),
        }
    }
}

// `MaybeUndefined` into `Option<Option<_>>`: absent leaves a field, `null` clears it.
impl From<ProductPatchInput> for ProductPatch {
    fn from(p: ProductPatchInput) -> Self {
        Self {
            sku: p.sku,
            name: p.name,
            description: p.description.into(),
            price: p.price,
            currency: p.currency,
            category: p.category,
            tags: p.tags,
            stock: p.stock.into(),
            images: p.images,
            options: p.options.map(|o| o.into_iter().map(Into::into).collect()),
            variants: p.variants.map(|v| v.into_iter().map(Into::into).collect()),
            hsn_code: p.hsn_code.into(),
            tax_class: p.tax_class.into(),
        }
    }
}
