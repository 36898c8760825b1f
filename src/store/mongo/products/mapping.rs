//! The product's MongoDB document, and the same document seen for its stock holds.

use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::domain::file::FileId;
use crate::domain::gst::hsn::TaxCode;
use crate::domain::gst::rates::TaxClass;
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::money::{Currency, Paise};
use crate::domain::product::{Category, Description, Product, ProductName, Sku, Tag};
use crate::domain::search::{fold, searchable_text};
use crate::domain::variant::{ProductOption, Variant};
use crate::store::StoreError;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ProductDoc {
    #[serde(rename = "_id")]
    pub(super) id: ObjectId,
    sku: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    price: i64,
    currency: String,
    category: String,
    tags: Vec<String>,
    /// Absent or null: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stock: Option<i64>,
    #[serde(default)]
    images: Vec<String>,
    /// A product without options stores none, and no variants: its default variant is
    /// the document's own SKU, price, stock and images, as before variants existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    options: Vec<OptionDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    variants: Vec<VariantDoc>,
    /// Absent: the seller's default (and in documents from before products named one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hsn_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tax_class: Option<String>,
    /// Derived: every SKU of the product (its own and its variants'), under a unique
    /// index, so no SKU is held twice across the catalog. Never read back.
    #[serde(default)]
    pub(super) skus: Vec<String>,
    /// Derived: every option value some variant offers (`Product::offered_values`), each
    /// once, which the option facet counts. Written even when empty, so `migrate` finds
    /// documents from before it by its absence. Never read back.
    #[serde(default)]
    pub(super) option_values: Vec<OptionValueDoc>,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    version: i64,
    /// Derived for search (see `domain::search`): the folded name, and the folded
    /// name, description and tags. Never read back into the product.
    #[serde(default)]
    pub(super) name_folded: String,
    #[serde(default)]
    pub(super) search: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct OptionDoc {
    name: String,
    values: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct VariantDoc {
    id: String,
    values: Vec<String>,
    sku: String,
    price: i64,
    /// Absent or null: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stock: Option<i64>,
    #[serde(default)]
    images: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct OptionValueDoc {
    name: String,
    value: String,
}

/// A product document seen only for its stock holds (`domain::hold`).
#[derive(Debug, Deserialize)]
pub(super) struct HolderDoc {
    #[serde(rename = "_id")]
    pub(super) id: ObjectId,
    #[serde(default)]
    pub(super) holds: Vec<HoldDoc>,
}

#[derive(Debug, Deserialize)]
pub(super) struct HoldDoc {
    pub(super) id: String,
    /// Absent on holds taken before variants existed: the default variant.
    #[serde(default)]
    pub(super) variant_id: Option<String>,
    pub(super) quantity: i64,
    pub(super) at: bson::DateTime,
}

impl HoldDoc {
    pub(super) fn into_hold(self, product_id: ProductId) -> StockHold {
        StockHold {
            variant_id: self
                .variant_id
                .map_or_else(|| VariantId::default_of(&product_id), VariantId::trusted),
            product_id,
            id: HoldId::trusted(self.id),
            quantity: u32::try_from(self.quantity).unwrap_or(0),
            at: self.at.to_chrono(),
        }
    }
}

pub(super) fn object_id(id: &ProductId) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id.as_str()).map_err(|e| StoreError::Other(e.into()))
}

impl ProductDoc {
    pub(super) fn from_product(p: &Product) -> Result<Self, StoreError> {
        let (options, variants) = if p.is_single() {
            (Vec::new(), Vec::new())
        } else {
            (
                p.options
                    .iter()
                    .map(|o| OptionDoc {
                        name: o.name.clone(),
                        values: o.values.clone(),
                    })
                    .collect(),
                p.variants.iter().map(VariantDoc::from_variant).collect(),
            )
        };
        Ok(Self {
            id: object_id(&p.id)?,
            sku: p.sku.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.as_ref().map(|d| d.as_str().to_owned()),
            price: p.price.get(),
            currency: p.currency.as_str().to_owned(),
            category: p.category.as_str().to_owned(),
            tags: p.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            // With variants, stock is theirs alone: a sum kept here would go stale.
            stock: p.stock.filter(|_| p.is_single()).map(i64::from),
            images: p.images.iter().map(|i| i.to_string()).collect(),
            options,
            variants,
            hsn_code: p.hsn_code.as_ref().map(|c| c.as_str().to_owned()),
            tax_class: p.tax_class.as_ref().map(|c| c.as_str().to_owned()),
            skus: p.skus().iter().map(|s| s.as_str().to_owned()).collect(),
            option_values: p
                .offered_values()
                .into_iter()
                .map(|(name, value)| OptionValueDoc {
                    name: name.to_owned(),
                    value: value.to_owned(),
                })
                .collect(),
            created_at: bson::DateTime::from_chrono(p.created_at),
            updated_at: bson::DateTime::from_chrono(p.updated_at),
            version: p.version as i64,
            name_folded: fold(p.name.as_str()),
            search: searchable_text(p),
        })
    }

    pub(super) fn into_product(self) -> Result<Product, StoreError> {
        let currency = Currency::parse("currency", &self.currency)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("stored product: {}", e.message)))?;
        Ok(Product {
            id: ProductId::trusted(self.id.to_hex()),
            sku: Sku::trusted(self.sku),
            name: ProductName::trusted(self.name),
            description: self.description.map(Description::trusted),
            price: Paise::trusted(self.price),
            currency,
            category: Category::trusted(self.category),
            tags: self.tags.into_iter().map(Tag::trusted).collect(),
            stock: self.stock.map(|s| u32::try_from(s).unwrap_or(0)),
            images: self.images.into_iter().map(FileId::trusted).collect(),
            options: self
                .options
                .into_iter()
                .map(|o| ProductOption {
                    name: o.name,
                    values: o.values,
                })
                .collect(),
            variants: self
                .variants
                .into_iter()
                .map(VariantDoc::into_variant)
                .collect(),
            hsn_code: self.hsn_code.map(TaxCode::trusted),
            tax_class: self.tax_class.map(TaxClass::trusted),
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
            version: self.version as u64,
        }
        .with_default_variant())
    }
}

impl VariantDoc {
    fn from_variant(v: &Variant) -> Self {
        Self {
            id: v.id.to_string(),
            values: v.values.clone(),
            sku: v.sku.as_str().to_owned(),
            price: v.price.get(),
            stock: v.stock.map(i64::from),
            images: v.images.iter().map(|i| i.to_string()).collect(),
        }
    }

    fn into_variant(self) -> Variant {
        Variant {
            id: VariantId::trusted(self.id),
            values: self.values,
            sku: Sku::trusted(self.sku),
            price: Paise::trusted(self.price),
            stock: self.stock.map(|s| u32::try_from(s).unwrap_or(0)),
            images: self.images.into_iter().map(FileId::trusted).collect(),
        }
    }
}
