//! Variants: the sellable units of a product (a size, a colour, a pack), each with its own
//! SKU, price, stock and images.
//!
//! A product without options has one variant, its *default* one, whose id is the product's
//! own id and whose SKU, price, stock and images are the product's: every product written
//! before variants existed is such a product. A product with options (at most
//! [`OPTIONS_MAX`], e.g. `Size: S, M, L` and `Colour: Red, Blue`) lists its variants, each
//! naming one allowed value of every option, no two the same combination.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::ids::{FileId, VariantId};
use super::money::Paise;
use super::product::{parse_images, parse_stock, Product, RawProduct, Sku};
use super::time::truncate_to_millis;
use super::validation::{char_len, Collector, FieldError};

/// Most options a product may define.
pub const OPTIONS_MAX: usize = 3;
/// Most values one option may allow.
pub const OPTION_VALUES_MAX: usize = 30;
/// Most variants a product may list.
pub const VARIANTS_MAX: usize = 100;
/// Longest option name or value, in characters.
pub const OPTION_TEXT_MAX: usize = 30;

/// An option as clients write it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawOption {
    pub name: String,
    pub values: Vec<String>,
}

/// A variant as clients write it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawVariant {
    /// Option name → value, one for every option of the product.
    pub options: BTreeMap<String, String>,
    pub sku: String,
    /// `None`: the product's top-level `price`.
    pub price: Option<i64>,
    /// `None` is unlimited.
    pub stock: Option<i64>,
    pub images: Vec<String>,
}

/// An option a product defines: a name and the values its variants may take, in display
/// order. Names are distinct case-insensitively, as are the values of one option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductOption {
    pub name: String,
    pub values: Vec<String>,
}

/// A variant's writable part, every field valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantDraft {
    /// One value per option of the product, in the product's option order.
    pub values: Vec<String>,
    pub sku: Sku,
    pub price: Paise,
    pub stock: Option<u32>,
    pub images: Vec<FileId>,
}

/// A stored variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub id: VariantId,
    /// One value per option of the product, in the product's option order; empty for a
    /// default variant.
    pub values: Vec<String>,
    pub sku: Sku,
    pub price: Paise,
    /// Units left to sell; `None` is unlimited.
    pub stock: Option<u32>,
    pub images: Vec<FileId>,
}

impl Variant {
    /// What tells this variant from its siblings, e.g. `M / Red`; `None` for a default variant.
    pub fn label(&self) -> Option<String> {
        (!self.values.is_empty()).then(|| self.values.join(" / "))
    }

    /// `(option name, value)` pairs, in the product's option order.
    pub fn named_values<'a>(
        &'a self,
        options: &'a [ProductOption],
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        options
            .iter()
            .zip(&self.values)
            .map(|(o, v)| (o.name.as_str(), v.as_str()))
    }
}

/// Why units of a variant could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockShort {
    /// The product has no such variant.
    NoVariant,
    /// Fewer units are left than were asked for.
    Insufficient { available: u32 },
}

/// A product's variants: finding one, the summary the top-level fields show, and stock
/// taken and given back per variant.
impl Product {
    /// A product read from a record written before variants existed: its one default
    /// variant is its own SKU, price, stock and images. Records with variants are left as
    /// they are.
    pub fn with_default_variant(mut self) -> Self {
        if self.variants.is_empty() {
            self.options.clear();
            self.variants.push(Variant {
                id: VariantId::default_of(&self.id),
                values: Vec::new(),
                sku: self.sku.clone(),
                price: self.price,
                stock: self.stock,
                images: self.images.clone(),
            });
        }
        self.summarise();
        self
    }

    /// The variant `id`, if the product has it.
    pub fn variant(&self, id: &VariantId) -> Option<&Variant> {
        self.variants.iter().find(|v| &v.id == id)
    }

    /// The variant an order line means: the one named, or, when none is named, the
    /// product's only one. `Err` with the reason code of the line's `variant_id`.
    pub fn variant_for_line(&self, id: Option<&VariantId>) -> Result<&Variant, FieldError> {
        match id {
            Some(id) => self.variant(id).ok_or_else(|| {
                FieldError::new("variant_id", "not_found", "the product has no such variant")
            }),
            None => match self.variants.as_slice() {
                [only] => Ok(only),
                _ => Err(FieldError::new(
                    "variant_id",
                    "required",
                    "the product has several variants: name one",
                )),
            },
        }
    }

    /// Sets the top-level price and stock from the variants (see [`Product::variants`]).
    pub fn summarise(&mut self) {
        if self.is_single() {
            if let Some(only) = self.variants.first() {
                self.sku = only.sku.clone();
                self.price = only.price;
                self.stock = only.stock;
                self.images = only.images.clone();
            }
            return;
        }
        if let Some(lowest) = self.variants.iter().map(|v| v.price).min() {
            self.price = lowest;
        }
        self.stock = self.variants.iter().try_fold(0u32, |sum, v| {
            v.stock.map(|units| sum.saturating_add(units))
        });
    }

    /// Every image the product shows: its own and its variants', each once.
    pub fn all_images(&self) -> Vec<&FileId> {
        let mut images: Vec<&FileId> = self.images.iter().collect();
        for id in self.variants.iter().flat_map(|v| &v.images) {
            if !images.contains(&id) {
                images.push(id);
            }
        }
        images
    }

    /// Every SKU the product holds: its own and its variants', each once.
    pub fn skus(&self) -> Vec<&Sku> {
        let mut skus = vec![&self.sku];
        for v in &self.variants {
            if !skus.contains(&&v.sku) {
                skus.push(&v.sku);
            }
        }
        skus
    }

    pub(super) fn raw_options(&self) -> Vec<RawOption> {
        self.options
            .iter()
            .map(|o| RawOption {
                name: o.name.clone(),
                values: o.values.clone(),
            })
            .collect()
    }

    pub(super) fn raw_variants(&self) -> Vec<RawVariant> {
        if self.is_single() {
            return Vec::new();
        }
        self.variants
            .iter()
            .map(|v| RawVariant {
                options: v
                    .named_values(&self.options)
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect(),
                sku: v.sku.as_str().to_owned(),
                price: Some(v.price.get()),
                stock: v.stock.map(i64::from),
                images: v.images.iter().map(|i| i.to_string()).collect(),
            })
            .collect()
    }

    /// This product with `quantity` units of `variant` taken from its stock, as the next
    /// version; unlimited stock is left as it is.
    pub fn reserved(
        &self,
        variant: &VariantId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Self, StockShort> {
        let v = self.variant(variant).ok_or(StockShort::NoVariant)?;
        match v.stock {
            None => Ok(self.clone()),
            Some(left) if left < quantity => Err(StockShort::Insufficient { available: left }),
            Some(left) => Ok(self.with_stock(variant, left - quantity, now)),
        }
    }

    /// This product with `quantity` units of `variant` put back, as the next version.
    pub fn released(
        &self,
        variant: &VariantId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Self, StockShort> {
        let v = self.variant(variant).ok_or(StockShort::NoVariant)?;
        Ok(match v.stock {
            None => self.clone(),
            Some(left) => self.with_stock(variant, left.saturating_add(quantity), now),
        })
    }

    fn with_stock(&self, variant: &VariantId, stock: u32, now: DateTime<Utc>) -> Self {
        let mut next = Self {
            updated_at: truncate_to_millis(now).max(self.updated_at),
            version: self.version + 1,
            ..self.clone()
        };
        for v in next.variants.iter_mut().filter(|v| &v.id == variant) {
            v.stock = Some(stock);
        }
        next.summarise();
        next
    }
}

/// Trimmed, 1 to [`OPTION_TEXT_MAX`] characters, no control characters.
fn option_text(field: &str, raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    let len = char_len(text);
    if len == 0 || len > OPTION_TEXT_MAX {
        return Err(FieldError::new(
            field,
            "invalid_length",
            format!("must be 1 to {OPTION_TEXT_MAX} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

fn same_text(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// A product's options and variants, every problem reported into `errors`: none of either
/// (the product is its own default variant), or both, with no top-level `stock`.
pub fn parse_variety(
    raw: &RawProduct,
    sku: Option<&Sku>,
    price: Option<Paise>,
    errors: &mut Collector,
) -> (Vec<ProductOption>, Vec<VariantDraft>) {
    let options = parse_options("options", &raw.options, errors);
    let variants = if raw.variants.is_empty() {
        if !raw.options.is_empty() {
            errors.push(FieldError::new(
                "variants",
                "required",
                "a product with options must list its variants",
            ));
        }
        Vec::new()
    } else {
        if raw.options.is_empty() {
            errors.push(FieldError::new(
                "options",
                "required",
                "a product with variants must declare the options they choose from",
            ));
        }
        if raw.stock.is_some() {
            errors.push(FieldError::new(
                "stock",
                "not_allowed",
                "a product with variants keeps stock per variant (variants[].stock)",
            ));
        }
        parse_variants("variants", &raw.variants, &options, sku, price, errors)
    };
    (options, variants)
}

/// The options at `field`, every problem reported into `errors`.
pub fn parse_options(field: &str, raw: &[RawOption], errors: &mut Collector) -> Vec<ProductOption> {
    if raw.len() > OPTIONS_MAX {
        errors.push(FieldError::new(
            field,
            "too_many",
            format!("at most {OPTIONS_MAX} options are allowed"),
        ));
        return Vec::new();
    }
    let mut options: Vec<ProductOption> = Vec::with_capacity(raw.len());
    for (i, option) in raw.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let name = errors.take(option_text(&format!("{at}.name"), &option.name));
        if let Some(name) = &name {
            if options.iter().any(|o| same_text(&o.name, name)) {
                errors.push(FieldError::new(
                    format!("{at}.name"),
                    "duplicate",
                    "another option has this name",
                ));
            }
        }
        if option.values.is_empty() || option.values.len() > OPTION_VALUES_MAX {
            errors.push(FieldError::new(
                format!("{at}.values"),
                "invalid_length",
                format!("must list 1 to {OPTION_VALUES_MAX} values"),
            ));
        }
        let mut values: Vec<String> = Vec::with_capacity(option.values.len());
        for (j, value) in option.values.iter().enumerate() {
            let value_at = format!("{at}.values[{j}]");
            if let Some(value) = errors.take(option_text(&value_at, value)) {
                if values.iter().any(|v| same_text(v, &value)) {
                    errors.push(FieldError::new(
                        value_at,
                        "duplicate",
                        "the option already allows this value",
                    ));
                } else {
                    values.push(value);
                }
            }
        }
        if let Some(name) = name {
            options.push(ProductOption { name, values });
        }
    }
    options
}

/// The variants at `field` of a product with `options`, SKU `product_sku` and top-level
/// `price` (what a variant without one costs), every problem reported into `errors`.
pub fn parse_variants(
    field: &str,
    raw: &[RawVariant],
    options: &[ProductOption],
    product_sku: Option<&Sku>,
    price: Option<Paise>,
    errors: &mut Collector,
) -> Vec<VariantDraft> {
    if raw.len() > VARIANTS_MAX {
        errors.push(FieldError::new(
            field,
            "too_many",
            format!("at most {VARIANTS_MAX} variants are allowed"),
        ));
        return Vec::new();
    }
    let mut drafts: Vec<VariantDraft> = Vec::with_capacity(raw.len());
    // Seen apart from the drafts: a variant bad in another field still takes its SKU and
    // its combination.
    let mut skus: Vec<Sku> = Vec::new();
    let mut combinations: Vec<Vec<String>> = Vec::new();
    for (i, variant) in raw.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let values = parse_values(&format!("{at}.options"), &variant.options, options, errors);
        let sku = errors.take(Sku::parse(&format!("{at}.sku"), &variant.sku));
        if let Some(sku) = &sku {
            if product_sku == Some(sku) || skus.contains(sku) {
                errors.push(FieldError::new(
                    format!("{at}.sku"),
                    "duplicate",
                    "the product or another of its variants has this SKU",
                ));
            }
            skus.push(sku.clone());
        }
        let own_price = match variant.price {
            Some(p) => errors.take(Paise::parse_price(&format!("{at}.price"), p)),
            None => price,
        };
        let stock = errors.take(parse_stock(&format!("{at}.stock"), variant.stock));
        let images = parse_images(&format!("{at}.images"), &variant.images, errors);
        if let Some(values) = &values {
            if combinations.contains(values) {
                errors.push(FieldError::new(
                    format!("{at}.options"),
                    "duplicate_combination",
                    "another variant has the same option values",
                ));
            }
            combinations.push(values.clone());
        }
        if let (Some(values), Some(sku), Some(price), Some(stock)) = (values, sku, own_price, stock)
        {
            drafts.push(VariantDraft {
                values,
                sku,
                price,
                stock,
                images,
            });
        }
    }
    drafts
}

/// A variant's option values in the product's option order: every option named once, with
/// one of its values.
fn parse_values(
    field: &str,
    raw: &BTreeMap<String, String>,
    options: &[ProductOption],
    errors: &mut Collector,
) -> Option<Vec<String>> {
    let mut ok = true;
    for name in raw.keys() {
        if !options.iter().any(|o| &o.name == name) {
            errors.push(FieldError::new(
                format!("{field}.{name}"),
                "unknown_option",
                "the product has no such option",
            ));
            ok = false;
        }
    }
    let mut values = Vec::with_capacity(options.len());
    for option in options {
        let at = format!("{field}.{}", option.name);
        match raw.get(&option.name).map(|v| v.trim()) {
            None => {
                errors.push(FieldError::new(
                    at,
                    "required",
                    "must name a value of this option",
                ));
                ok = false;
            }
            Some(value) => match option.values.iter().find(|v| same_text(v, value)) {
                Some(allowed) => values.push(allowed.clone()),
                None => {
                    errors.push(FieldError::new(
                        at,
                        "not_allowed",
                        format!("must be one of: {}", option.values.join(", ")),
                    ));
                    ok = false;
                }
            },
        }
    }
    ok.then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Vec<RawOption> {
        vec![
            RawOption {
                name: "Size".into(),
                values: vec!["S".into(), "M".into()],
            },
            RawOption {
                name: "Colour".into(),
                values: vec!["Red".into(), "Blue".into()],
            },
        ]
    }

    fn variant(size: &str, colour: &str, sku: &str) -> RawVariant {
        RawVariant {
            options: BTreeMap::from([
                ("Size".to_owned(), size.to_owned()),
                ("Colour".to_owned(), colour.to_owned()),
            ]),
            sku: sku.into(),
            price: None,
            stock: Some(3),
            images: vec![],
        }
    }

    #[test]
    fn variants_take_the_products_price_unless_they_name_their_own() {
        let mut errors = Collector::default();
        let options = parse_options("options", &options(), &mut errors);
        let mut dear = variant("M", "blue", "tee-m-blue");
        dear.price = Some(59_900);
        let raw = [variant("S", "Red", "tee-s-red"), dear];
        let drafts = parse_variants(
            "variants",
            &raw,
            &options,
            None,
            Some(Paise::trusted(49_900)),
            &mut errors,
        );
        assert!(errors.is_empty(), "{:?}", errors.into_errors());
        assert_eq!(drafts[0].price.get(), 49_900);
        assert_eq!(drafts[1].price.get(), 59_900);
        // Values are spelt as the option allows them, whatever case was sent.
        assert_eq!(drafts[1].values, ["M", "Blue"]);
        assert_eq!(drafts[1].sku.as_str(), "TEE-M-BLUE");
    }

    #[test]
    fn every_bad_variant_field_is_reported_with_its_path() {
        let mut errors = Collector::default();
        let options = parse_options("options", &options(), &mut errors);
        let mut unknown = variant("S", "Red", "TEE-X");
        unknown.options.insert("Fit".into(), "Slim".into());
        unknown.options.remove("Colour");
        let mut bad_stock = variant("M", "Green", "bad sku");
        bad_stock.stock = Some(-1);
        let raw = [
            variant("S", "Red", "TEE-S-RED"),
            variant("s", "red", "tee-s-red"),
            unknown,
            bad_stock,
        ];
        parse_variants("variants", &raw, &options, None, None, &mut errors);
        let got: Vec<(String, &str)> = errors
            .into_errors()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        assert_eq!(
            got,
            [
                ("variants[1].sku".to_owned(), "duplicate"),
                ("variants[1].options".to_owned(), "duplicate_combination"),
                ("variants[2].options.Fit".to_owned(), "unknown_option"),
                ("variants[2].options.Colour".to_owned(), "required"),
                ("variants[3].options.Colour".to_owned(), "not_allowed"),
                ("variants[3].sku".to_owned(), "invalid_characters"),
                ("variants[3].stock".to_owned(), "out_of_range"),
            ]
        );
    }

    #[test]
    fn option_names_and_values_are_distinct_case_insensitively() {
        let mut errors = Collector::default();
        let raw = [
            RawOption {
                name: "Size".into(),
                values: vec!["M".into(), "m".into()],
            },
            RawOption {
                name: "size".into(),
                values: vec![],
            },
        ];
        parse_options("options", &raw, &mut errors);
        let fields: Vec<String> = errors.into_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "options[0].values[1]",
                "options[1].name",
                "options[1].values"
            ]
        );
    }

    #[test]
    fn a_label_joins_the_values() {
        let v = Variant {
            id: VariantId::generate(),
            values: vec!["M".into(), "Red".into()],
            sku: Sku::trusted("TEE-M-RED".into()),
            price: Paise::trusted(100),
            stock: None,
            images: vec![],
        };
        assert_eq!(v.label().as_deref(), Some("M / Red"));
    }
}
