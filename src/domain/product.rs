//! Products: the catalog's unit of sale.

use chrono::{DateTime, Utc};

pub use super::description::{Description, DESCRIPTION_MAX};
use super::gst::hsn::TaxCode;
use super::gst::rates::{RateTable, TaxClass};
use super::ids::FileId;
use super::ids::{ProductId, VariantId};
use super::money::{Currency, Paise};
pub use super::sku::{Sku, SKU_MAX};
use super::time::truncate_to_millis;
use super::validation::{char_len, Collector, FieldError};
use super::variant::{
    parse_images, parse_variety, ProductOption, RawOption, RawVariant, Variant, VariantDraft,
};
pub use super::variant::{parse_stock, StockShort, IMAGES_MAX, STOCK_MAX};

pub const NAME_MAX: usize = 200;
pub const TAGS_MAX: usize = 10;
pub const TAG_MAX: usize = 20;

/// A product's display name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    /// Rebuilds a value read back from storage, which was parsed on its way in.
    /// (A category may have left the configured list since; the product keeps it.)
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        let len = char_len(name);
        if len == 0 || len > NAME_MAX {
            return Err(FieldError::new(
                field,
                "invalid_length",
                format!("must be 1 to {NAME_MAX} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category from the configured list (`BAZAAR_PRODUCT_CATEGORIES`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Category(String);

impl Category {
    /// Rebuilds a value read back from storage, which was parsed on its way in.
    /// (A category may have left the configured list since; the product keeps it.)
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The configured categories; the only way to make a [`Category`].
#[derive(Debug, Clone)]
pub struct Categories(Vec<String>);

impl Categories {
    pub fn new(names: Vec<String>) -> Self {
        Self(names)
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn parse(&self, field: &str, raw: &str) -> Result<Category, FieldError> {
        let raw = raw.trim();
        self.0
            .iter()
            .find(|c| c.as_str() == raw)
            .map(|c| Category(c.clone()))
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "unknown_category",
                    format!("must be one of: {}", self.0.join(", ")),
                )
            })
    }
}

/// A tag: trimmed, lower-cased, 1 to 20 characters of letters, digits, spaces or '-'.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// Rebuilds a value read back from storage, which was parsed on its way in.
    /// (A category may have left the configured list since; the product keeps it.)
    pub(crate) fn trusted(value: String) -> Self {
        Self(value)
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let tag = raw.trim().to_lowercase();
        let len = char_len(&tag);
        if len == 0 || len > TAG_MAX {
            return Err(FieldError::new(
                field,
                "invalid_length",
                format!("must be 1 to {TAG_MAX} characters"),
            ));
        }
        // Combining marks count as letters: Devanagari vowel signs and viramas are marks.
        if !tag.chars().all(|c| {
            c.is_alphanumeric()
                || unicode_normalization::char::is_combining_mark(c)
                || c == ' '
                || c == '-'
        }) {
            return Err(FieldError::new(
                field,
                "invalid_characters",
                "may contain only letters, digits, spaces and '-'",
            ));
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn parse_tags(field: &str, raw: &[String], errors: &mut Collector) -> Vec<Tag> {
    if raw.len() > TAGS_MAX {
        errors.push(FieldError::new(
            field,
            "too_many",
            format!("at most {TAGS_MAX} tags are allowed"),
        ));
        return Vec::new();
    }
    let mut tags: Vec<Tag> = Vec::with_capacity(raw.len());
    for (i, t) in raw.iter().enumerate() {
        if let Some(tag) = errors.take(Tag::parse(&format!("{field}[{i}]"), t)) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    tags
}

/// A product as clients write it, before any checks.
#[derive(Debug, Clone, Default)]
pub struct RawProduct {
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub price: i64,
    pub currency: String,
    pub category: String,
    pub tags: Vec<String>,
    /// `None` is unlimited.
    pub stock: Option<i64>,
    /// Ids of uploaded files, in display order.
    pub images: Vec<String>,
    /// Options its variants choose from; empty for a product without variants.
    pub options: Vec<RawOption>,
    /// Empty: the product is its own (default) variant.
    pub variants: Vec<RawVariant>,
    /// HSN or SAC code; `None` is the seller's default.
    pub hsn_code: Option<String>,
    /// A class of the rate table; `None` is the seller's default.
    pub tax_class: Option<String>,
}

/// Changes to a product; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub sku: Option<String>,
    pub name: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    pub price: Option<i64>,
    pub currency: Option<String>,
    pub category: Option<String>,
    pub tags: Option<Vec<String>>,
    /// `Some(None)` makes the stock unlimited.
    pub stock: Option<Option<i64>>,
    pub images: Option<Vec<String>>,
    /// Replaces the options (send `variants` with them).
    pub options: Option<Vec<RawOption>>,
    /// Replaces the variants; a variant with the option values of a stored one keeps its id.
    pub variants: Option<Vec<RawVariant>>,
    /// `Some(None)` goes back to the seller's default code.
    pub hsn_code: Option<Option<String>>,
    /// `Some(None)` goes back to the seller's default class.
    pub tax_class: Option<Option<String>>,
}

/// The writable part of a product, every field valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDraft {
    pub sku: Sku,
    pub name: ProductName,
    pub description: Option<Description>,
    pub price: Paise,
    pub currency: Currency,
    pub category: Category,
    pub tags: Vec<Tag>,
    pub stock: Option<u32>,
    pub images: Vec<FileId>,
    pub options: Vec<ProductOption>,
    /// Empty: the product is its own (default) variant.
    pub variants: Vec<VariantDraft>,
    pub hsn_code: Option<TaxCode>,
    pub tax_class: Option<TaxClass>,
}

impl ProductDraft {
    /// Checks every field and reports every problem at once. `categories` and `rates` are
    /// the configured ones: a product's category and tax class must be in them.
    pub fn parse(
        raw: &RawProduct,
        categories: &Categories,
        rates: &RateTable,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Collector::default();
        let sku = errors.take(Sku::parse("sku", &raw.sku));
        let name = errors.take(ProductName::parse("name", &raw.name));
        let description = match &raw.description {
            Some(d) => errors.take(Description::parse("description", d)),
            None => Some(None),
        };
        let price = errors.take(Paise::parse_price("price", raw.price));
        let currency = errors.take(Currency::parse("currency", &raw.currency));
        let category = errors.take(categories.parse("category", &raw.category));
        let tags = parse_tags("tags", &raw.tags, &mut errors);
        let stock = errors.take(parse_stock("stock", raw.stock));
        let images = parse_images("images", &raw.images, &mut errors);
        let (options, variants) = parse_variety(
            (&raw.options, &raw.variants),
            raw.stock.is_some(),
            (sku.as_ref(), price),
            &mut errors,
        );
        let hsn_code = optional(
            &raw.hsn_code,
            |c| TaxCode::parse("hsn_code", c),
            &mut errors,
        );
        let tax_class = optional(&raw.tax_class, |c| rates.class("tax_class", c), &mut errors);
        match (sku, name, description, price, currency, category, stock) {
            (
                Some(sku),
                Some(name),
                Some(description),
                Some(price),
                Some(currency),
                Some(category),
                Some(stock),
            ) if errors.is_empty() => Ok(Self {
                sku,
                name,
                description,
                price,
                currency,
                category,
                tags,
                stock,
                images,
                options,
                variants,
                hsn_code,
                tax_class,
            }),
            _ => Err(errors.into_errors()),
        }
    }
}

/// An optional field parsed when given; a failure is recorded and leaves `None`.
fn optional<T>(
    raw: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
    errors: &mut Collector,
) -> Option<T> {
    raw.as_deref().and_then(|r| errors.take(parse(r)))
}

/// A stored product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub sku: Sku,
    pub name: ProductName,
    pub description: Option<Description>,
    pub price: Paise,
    pub currency: Currency,
    pub category: Category,
    pub tags: Vec<Tag>,
    /// Units left to sell; `None` is unlimited. Changed by reservations as well
    /// as by edits, each a new version.
    pub stock: Option<u32>,
    /// Uploaded image files, in display order; each was complete when added.
    pub images: Vec<FileId>,
    /// What its variants choose from; empty for a product that is its own default variant.
    pub options: Vec<ProductOption>,
    /// Never empty. Without options, the one default variant, whose id is the product's
    /// and whose SKU, price, stock and images are the product's. With options, the product's
    /// `sku` is its own (style) SKU, `price` the lowest variant's, `stock` the sum of the
    /// variants' (`None` if any is unlimited) and `images` the product's gallery.
    pub variants: Vec<Variant>,
    /// What invoices classify it by; `None` is the seller's default (`BAZAAR_GST_DEFAULT_HSN`).
    pub hsn_code: Option<TaxCode>,
    /// Which rates it is taxed at; `None` is the seller's default class.
    pub tax_class: Option<TaxClass>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows by one on every change; the basis of ETags and of
    /// optimistic concurrency.
    pub version: u64,
}

impl Product {
    /// A new product. Timestamps are kept to the millisecond, the precision
    /// every storage backend can hold, so a stored product reads back equal.
    pub fn create(draft: ProductDraft, now: DateTime<Utc>) -> Self {
        let now = truncate_to_millis(now);
        let id = ProductId::generate();
        Self::from_draft(id, draft, &[], now, now, 1)
    }

    /// The next version of this product with `draft` as its content. A variant with the
    /// option values of one it had keeps that one's id, so orders and holds still name it.
    pub fn revise(&self, draft: ProductDraft, now: DateTime<Utc>) -> Self {
        Self::from_draft(
            self.id.clone(),
            draft,
            &self.variants,
            self.created_at,
            truncate_to_millis(now).max(self.updated_at),
            self.version + 1,
        )
    }

    fn from_draft(
        id: ProductId,
        draft: ProductDraft,
        earlier: &[Variant],
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        version: u64,
    ) -> Self {
        let variants = if draft.variants.is_empty() {
            vec![Variant {
                id: VariantId::default_of(&id),
                values: Vec::new(),
                sku: draft.sku.clone(),
                price: draft.price,
                stock: draft.stock,
                images: draft.images.clone(),
            }]
        } else {
            draft
                .variants
                .into_iter()
                .map(|v| Variant {
                    id: earlier
                        .iter()
                        .find(|e| !e.values.is_empty() && e.values == v.values)
                        .map_or_else(VariantId::generate, |e| e.id.clone()),
                    values: v.values,
                    sku: v.sku,
                    price: v.price,
                    stock: v.stock,
                    images: v.images,
                })
                .collect()
        };
        let mut product = Self {
            id,
            sku: draft.sku,
            name: draft.name,
            description: draft.description,
            price: draft.price,
            currency: draft.currency,
            category: draft.category,
            tags: draft.tags,
            stock: draft.stock,
            images: draft.images,
            options: draft.options,
            variants,
            hsn_code: draft.hsn_code,
            tax_class: draft.tax_class,
            created_at,
            updated_at,
            version,
        };
        product.summarise();
        product
    }

    /// Whether the product is its own default variant (it has no options).
    pub fn is_single(&self) -> bool {
        self.options.is_empty()
    }

    /// This product as raw input with `patch` laid over it, to be parsed again whole.
    pub fn patched(&self, patch: ProductPatch) -> RawProduct {
        let single = self.is_single();
        RawProduct {
            sku: patch.sku.unwrap_or_else(|| self.sku.as_str().to_owned()),
            name: patch.name.unwrap_or_else(|| self.name.as_str().to_owned()),
            description: patch
                .description
                .unwrap_or_else(|| self.description.as_ref().map(|d| d.as_str().to_owned())),
            price: patch.price.unwrap_or(self.price.get()),
            currency: patch
                .currency
                .unwrap_or_else(|| self.currency.as_str().to_owned()),
            category: patch
                .category
                .unwrap_or_else(|| self.category.as_str().to_owned()),
            tags: patch
                .tags
                .unwrap_or_else(|| self.tags.iter().map(|t| t.as_str().to_owned()).collect()),
            // A product with variants has no stock of its own to keep.
            stock: patch
                .stock
                .unwrap_or_else(|| self.stock.filter(|_| single).map(i64::from)),
            images: patch
                .images
                .unwrap_or_else(|| self.images.iter().map(|i| i.to_string()).collect()),
            options: patch.options.unwrap_or_else(|| self.raw_options()),
            variants: patch.variants.unwrap_or_else(|| self.raw_variants()),
            hsn_code: patch
                .hsn_code
                .unwrap_or_else(|| self.hsn_code.as_ref().map(|c| c.as_str().to_owned())),
            tax_class: patch
                .tax_class
                .unwrap_or_else(|| self.tax_class.as_ref().map(|c| c.as_str().to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories() -> Categories {
        Categories::new(vec!["books".into(), "home".into()])
    }

    fn rates() -> &'static RateTable {
        RateTable::built_in()
    }

    fn raw() -> RawProduct {
        RawProduct {
            sku: "bk-001".into(),
            name: "  The Guide ".into(),
            description: Some("A paperback".into()),
            price: 49_900,
            currency: "INR".into(),
            category: "books".into(),
            tags: vec!["Fiction".into(), "fiction".into()],
            stock: Some(3),
            images: vec![],
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_product_is_normalised() {
        let draft = ProductDraft::parse(&raw(), &categories(), rates()).unwrap();
        assert_eq!(draft.sku.as_str(), "BK-001");
        assert_eq!(draft.name.as_str(), "The Guide");
        assert_eq!(draft.tags, vec![Tag("fiction".into())]);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let bad = RawProduct {
            sku: "no spaces".into(),
            name: " ".into(),
            description: Some("<script>alert(1)</script>".into()),
            price: -5,
            currency: "USD".into(),
            category: "cars".into(),
            tags: vec!["ok".into(), "x".repeat(21)],
            stock: Some(-1),
            images: vec!["not-an-id".into()],
            ..Default::default()
        };
        let errors = ProductDraft::parse(&bad, &categories(), rates()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "sku",
                "name",
                "description",
                "price",
                "currency",
                "category",
                "tags[1]",
                "stock",
                "images[0]"
            ]
        );
    }

    #[test]
    fn a_product_may_name_its_code_and_a_class_of_the_table_and_a_patch_may_clear_them() {
        let mut r = raw();
        r.hsn_code = Some("490110".into());
        r.tax_class = Some("exempt".into());
        let product = Product::create(
            ProductDraft::parse(&r, &categories(), rates()).unwrap(),
            Utc::now(),
        );
        assert_eq!(
            product.hsn_code.as_ref().map(TaxCode::as_str),
            Some("490110")
        );
        assert_eq!(
            product.tax_class.as_ref().map(TaxClass::as_str),
            Some("exempt")
        );
        let kept = product.patched(ProductPatch::default());
        assert_eq!(
            (kept.hsn_code.as_deref(), kept.tax_class.as_deref()),
            (Some("490110"), Some("exempt"))
        );
        let cleared = product.patched(ProductPatch {
            hsn_code: Some(None),
            tax_class: Some(None),
            ..Default::default()
        });
        assert_eq!((cleared.hsn_code, cleared.tax_class), (None, None));

        r.hsn_code = Some("99831".into());
        r.tax_class = Some("standard_28".into());
        let errors = ProductDraft::parse(&r, &categories(), rates()).unwrap_err();
        let got: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("hsn_code", "invalid_sac"),
                ("tax_class", "unknown_tax_class")
            ]
        );
    }

    #[test]
    fn tags_may_be_written_in_indic_scripts() {
        assert_eq!(Tag::parse("t", "कुर्ता").unwrap().as_str(), "कुर्ता");
        assert_eq!(Tag::parse("t", "ಸೀರೆ").unwrap().as_str(), "ಸೀರೆ");
        assert!(Tag::parse("t", "a<b").is_err());
    }

    #[test]
    fn more_than_ten_tags_are_refused() {
        let mut r = raw();
        r.tags = (0..11).map(|i| format!("t{i}")).collect();
        let errors = ProductDraft::parse(&r, &categories(), rates()).unwrap_err();
        assert_eq!(errors[0].field, "tags");
        assert_eq!(errors[0].code, "too_many");
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_name_and_can_clear_the_description() {
        let product = Product::create(
            ProductDraft::parse(&raw(), &categories(), rates()).unwrap(),
            Utc::now(),
        );
        let patched = product.patched(ProductPatch {
            price: Some(100),
            description: Some(None),
            ..Default::default()
        });
        assert_eq!(patched.price, 100);
        assert_eq!(patched.description, None);
        assert_eq!(patched.name, "The Guide");
        assert_eq!(patched.stock, Some(3));
    }

    #[test]
    fn reserving_takes_units_until_none_are_left_and_unlimited_never_runs_out() {
        let now = Utc::now();
        let product = Product::create(
            ProductDraft::parse(&raw(), &categories(), rates()).unwrap(),
            now,
        );
        let only = VariantId::default_of(&product.id);
        let after = product.reserved(&only, 2, now).unwrap();
        assert_eq!((after.stock, after.version), (Some(1), 2));
        assert_eq!(after.variants[0].stock, Some(1));
        assert_eq!(
            after.reserved(&only, 2, now),
            Err(StockShort::Insufficient { available: 1 })
        );
        assert_eq!(after.released(&only, 2, now).unwrap().stock, Some(3));
        let mut unlimited = product.clone();
        unlimited.variants[0].stock = None;
        unlimited.summarise();
        assert_eq!(unlimited.reserved(&only, 1_000, now), Ok(unlimited.clone()));
        let other = VariantId::generate();
        assert_eq!(product.reserved(&other, 1, now), Err(StockShort::NoVariant));
    }

    fn tee() -> RawProduct {
        let variant = |size: &str, sku: &str, price: Option<i64>, stock: Option<i64>| RawVariant {
            options: [("Size".to_owned(), size.to_owned())].into(),
            sku: sku.into(),
            price,
            stock,
            images: vec![],
        };
        RawProduct {
            sku: "tee".into(),
            name: "Tee".into(),
            price: 49_900,
            currency: "INR".into(),
            category: "home".into(),
            options: vec![RawOption {
                name: "Size".into(),
                values: vec!["S".into(), "M".into()],
            }],
            variants: vec![
                variant("S", "tee-s", Some(39_900), Some(2)),
                variant("M", "tee-m", None, Some(5)),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn a_product_with_variants_shows_the_lowest_price_and_the_sum_of_their_stock() {
        let now = Utc::now();
        let product = Product::create(
            ProductDraft::parse(&tee(), &categories(), rates()).unwrap(),
            now,
        );
        assert_eq!((product.price.get(), product.stock), (39_900, Some(7)));
        assert_eq!(product.variants[1].price.get(), 49_900);
        assert_eq!(product.variants[1].label().as_deref(), Some("M"));
        assert_ne!(product.variants[0].id.as_str(), product.id.as_str());
        let m = product.variants[1].id.clone();
        let after = product.reserved(&m, 5, now).unwrap();
        assert_eq!((after.stock, after.variants[0].stock), (Some(2), Some(2)));
        assert_eq!(product.variant_for_line(None).unwrap_err().code, "required");
    }

    #[test]
    fn a_product_is_buyable_while_a_variant_is_and_offers_only_values_variants_take() {
        let mut raw = tee();
        raw.options[0].values.push("L".into());
        raw.variants[0].stock = Some(0);
        let now = Utc::now();
        let product = Product::create(
            ProductDraft::parse(&raw, &categories(), rates()).unwrap(),
            now,
        );
        assert_eq!(product.offered_values(), [("Size", "S"), ("Size", "M")]);
        assert!(product.is_buyable());
        let m = product.variants[1].id.clone();
        let sold_out = product.reserved(&m, 5, now).unwrap();
        assert!(!sold_out.is_buyable());
        let plain = Product::create(
            ProductDraft::parse(&self::raw(), &categories(), rates()).unwrap(),
            now,
        );
        assert!(plain.offered_values().is_empty());
        assert!(plain.is_buyable());
    }

    #[test]
    fn a_revision_keeps_the_ids_of_variants_with_the_same_values() {
        let now = Utc::now();
        let product = Product::create(
            ProductDraft::parse(&tee(), &categories(), rates()).unwrap(),
            now,
        );
        let raw = product.patched(ProductPatch {
            name: Some("Tee 2".into()),
            ..Default::default()
        });
        assert_eq!(raw.stock, None);
        let revised = product.revise(
            ProductDraft::parse(&raw, &categories(), rates()).unwrap(),
            now,
        );
        assert_eq!(revised.variants, product.variants);
        assert_eq!(revised.name.as_str(), "Tee 2");
    }

    #[test]
    fn variants_without_options_and_stock_beside_variants_are_refused() {
        let mut bad = tee();
        bad.options.clear();
        bad.stock = Some(1);
        let fields: Vec<String> = ProductDraft::parse(&bad, &categories(), rates())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "options",
                "stock",
                "variants[0].options.Size",
                "variants[1].options.Size"
            ]
        );
    }
}
