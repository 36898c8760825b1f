//! Variants: the sellable units of a product (a size, a colour, a pack), each with its own
//! SKU, price, stock and images.
//!
//! A product without options has one variant, its *default* one, whose id is the product's
//! own id and whose SKU, price, stock and images are the product's: every product written
//! before variants existed is such a product. A product with options (at most
//! [`OPTIONS_MAX`], e.g. `Size: S, M, L` and `Colour: Red, Blue`) lists its variants, each
//! naming one allowed value of every option, no two the same combination.

use std::collections::BTreeMap;

use super::ids::{FileId, VariantId};
use super::money::Paise;
use super::sku::Sku;
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

/// The most images a product can show.
pub const IMAGES_MAX: usize = 10;
/// The most units a product can hold in stock.
pub const STOCK_MAX: i64 = 1_000_000_000;

/// Units on hand, 0 to [`STOCK_MAX`]; `None` (not sent, or `null`) is unlimited
/// (digital goods, made to order).
pub fn parse_stock(field: &str, raw: Option<i64>) -> Result<Option<u32>, FieldError> {
    match raw {
        None => Ok(None),
        Some(n) if (0..=STOCK_MAX).contains(&n) => Ok(Some(n as u32)),
        Some(_) => Err(FieldError::new(
            field,
            "out_of_range",
            format!("must be between 0 and {STOCK_MAX}, or null for unlimited"),
        )),
    }
}

/// Image file ids: well-formed, at most [`IMAGES_MAX`], duplicates dropped. That
/// each names a complete upload is the catalog's check (it needs the file records).
pub fn parse_images(field: &str, raw: &[String], errors: &mut Collector) -> Vec<FileId> {
    if raw.len() > IMAGES_MAX {
        errors.push(FieldError::new(
            field,
            "too_many",
            format!("at most {IMAGES_MAX} images are allowed"),
        ));
        return Vec::new();
    }
    let mut images: Vec<FileId> = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        let parsed = FileId::parse(id.trim())
            .map_err(|why| FieldError::new(format!("{field}[{i}]"), "invalid_id", why));
        if let Some(id) = errors.take(parsed) {
            if !images.contains(&id) {
                images.push(id);
            }
        }
    }
    images
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
    (raw_options, raw_variants): (&[RawOption], &[RawVariant]),
    has_stock: bool,
    (sku, price): (Option<&Sku>, Option<Paise>),
    errors: &mut Collector,
) -> (Vec<ProductOption>, Vec<VariantDraft>) {
    let options = parse_options("options", raw_options, errors);
    let variants = if raw_variants.is_empty() {
        if !raw_options.is_empty() {
            errors.push(FieldError::new(
                "variants",
                "required",
                "a product with options must list its variants",
            ));
        }
        Vec::new()
    } else {
        if raw_options.is_empty() {
            errors.push(FieldError::new(
                "options",
                "required",
                "a product with variants must declare the options they choose from",
            ));
        }
        if has_stock {
            errors.push(FieldError::new(
                "stock",
                "not_allowed",
                "a product with variants keeps stock per variant (variants[].stock)",
            ));
        }
        parse_variants("variants", raw_variants, &options, sku, price, errors)
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
