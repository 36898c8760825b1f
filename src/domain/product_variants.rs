//! A product's variants seen from the product: finding one, the summary its top-level
//! fields show, and stock taken and given back per variant.

use chrono::{DateTime, Utc};

use super::ids::{FileId, VariantId};
use super::product::{Product, Sku};
use super::time::truncate_to_millis;
use super::validation::FieldError;
use super::variant::{RawOption, RawVariant, StockShort, Variant};

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

    /// Whether some variant can be bought now: unlimited stock, or units left.
    pub fn is_buyable(&self) -> bool {
        self.variants
            .iter()
            .any(|v| v.stock.is_none_or(|units| units > 0))
    }

    /// Every `(option name, value)` some variant offers, each once, in option order and
    /// each option's value order: what an option facet counts the product under. A value
    /// an option allows but no variant takes is not offered.
    pub fn offered_values(&self) -> Vec<(&str, &str)> {
        self.options
            .iter()
            .enumerate()
            .flat_map(|(i, option)| {
                option.values.iter().filter_map(move |value| {
                    self.variants
                        .iter()
                        .any(|v| v.values.get(i) == Some(value))
                        .then_some((option.name.as_str(), value.as_str()))
                })
            })
            .collect()
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
