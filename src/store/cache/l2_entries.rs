//! What L2 holds: plain serde mirrors of the domain values, read back as trusted
//! (they were parsed on their way into the database).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::facets::{Facets, OptionCount, RangeCount, ValueCount};
use crate::domain::file::FileId;
use crate::domain::gst::hsn::TaxCode;
use crate::domain::gst::rates::TaxClass;
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::money::{Currency, Paise};
use crate::domain::product::{Category, Description, Product, ProductName, Sku, Tag};
use crate::domain::product_query::ProductPage;
use crate::domain::variant::{ProductOption, Variant};

#[derive(Serialize, Deserialize)]
struct CachedProduct {
    id: String,
    sku: String,
    name: String,
    description: Option<String>,
    price: i64,
    category: String,
    tags: Vec<String>,
    stock: Option<u32>,
    #[serde(default)]
    images: Vec<String>,
    /// Absent in entries written before variants existed.
    #[serde(default)]
    options: Vec<(String, Vec<String>)>,
    #[serde(default)]
    variants: Vec<CachedVariant>,
    /// Absent in entries written before products named a code and class.
    #[serde(default)]
    hsn_code: Option<String>,
    #[serde(default)]
    tax_class: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: u64,
}

#[derive(Serialize, Deserialize)]
struct CachedVariant {
    id: String,
    values: Vec<String>,
    sku: String,
    price: i64,
    stock: Option<u32>,
    images: Vec<String>,
}

impl From<&Variant> for CachedVariant {
    fn from(v: &Variant) -> Self {
        Self {
            id: v.id.to_string(),
            values: v.values.clone(),
            sku: v.sku.as_str().to_owned(),
            price: v.price.get(),
            stock: v.stock,
            images: v.images.iter().map(|i| i.to_string()).collect(),
        }
    }
}

impl From<CachedVariant> for Variant {
    fn from(c: CachedVariant) -> Self {
        Self {
            id: VariantId::trusted(c.id),
            values: c.values,
            sku: Sku::trusted(c.sku),
            price: Paise::trusted(c.price),
            stock: c.stock,
            images: c.images.into_iter().map(FileId::trusted).collect(),
        }
    }
}

impl From<&Product> for CachedProduct {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.to_string(),
            sku: p.sku.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.as_ref().map(|d| d.as_str().to_owned()),
            price: p.price.get(),
            category: p.category.as_str().to_owned(),
            tags: p.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            stock: p.stock,
            images: p.images.iter().map(|i| i.to_string()).collect(),
            options: p
                .options
                .iter()
                .map(|o| (o.name.clone(), o.values.clone()))
                .collect(),
            variants: p.variants.iter().map(Into::into).collect(),
            hsn_code: p.hsn_code.as_ref().map(|c| c.as_str().to_owned()),
            tax_class: p.tax_class.as_ref().map(|c| c.as_str().to_owned()),
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

impl From<CachedProduct> for Product {
    fn from(c: CachedProduct) -> Self {
        Self {
            id: ProductId::trusted(c.id),
            sku: Sku::trusted(c.sku),
            name: ProductName::trusted(c.name),
            description: c.description.map(Description::trusted),
            price: Paise::trusted(c.price),
            currency: Currency::Inr,
            category: Category::trusted(c.category),
            tags: c.tags.into_iter().map(Tag::trusted).collect(),
            stock: c.stock,
            images: c.images.into_iter().map(FileId::trusted).collect(),
            options: c
                .options
                .into_iter()
                .map(|(name, values)| ProductOption { name, values })
                .collect(),
            variants: c.variants.into_iter().map(Into::into).collect(),
            hsn_code: c.hsn_code.map(TaxCode::trusted),
            tax_class: c.tax_class.map(TaxClass::trusted),
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
        .with_default_variant()
    }
}

/// A product, or the knowledge that there is none.
#[derive(Serialize, Deserialize)]
pub(super) struct CachedItem(Option<CachedProduct>);

impl From<Option<Product>> for CachedItem {
    fn from(p: Option<Product>) -> Self {
        Self(p.as_ref().map(Into::into))
    }
}

impl From<CachedItem> for Option<Option<Product>> {
    fn from(c: CachedItem) -> Self {
        Some(c.0.map(Into::into))
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct CachedPage {
    items: Vec<CachedProduct>,
    has_next: bool,
    total: Option<u64>,
}

impl From<ProductPage> for CachedPage {
    fn from(p: ProductPage) -> Self {
        Self {
            items: p.items.iter().map(Into::into).collect(),
            has_next: p.has_next,
            total: p.total,
        }
    }
}

impl From<CachedPage> for Option<ProductPage> {
    fn from(c: CachedPage) -> Self {
        Some(ProductPage {
            items: c.items.into_iter().map(Into::into).collect(),
            has_next: c.has_next,
            total: c.total,
        })
    }
}

type Counts = Option<Vec<(String, u64)>>;
/// An option name, its count and its values' counts.
type OptionCounts = Vec<(String, u64, Vec<(String, u64)>)>;

#[derive(Serialize, Deserialize)]
pub(super) struct CachedFacets {
    category: Counts,
    tags: Counts,
    price_range: Option<Vec<(i64, Option<i64>, u64)>>,
    /// Absent in entries written before the option facet (which no key of theirs asks for).
    #[serde(default)]
    options: Option<OptionCounts>,
}

impl From<Facets> for CachedFacets {
    fn from(f: Facets) -> Self {
        let counts = |v: Vec<ValueCount>| v.into_iter().map(|c| (c.value, c.count)).collect();
        Self {
            category: f.category.map(counts),
            tags: f.tags.map(counts),
            price_range: f.price_range.map(|r| {
                r.into_iter()
                    .map(|r| (r.from.get(), r.to.map(Paise::get), r.count))
                    .collect()
            }),
            options: f.options.map(|o| {
                o.into_iter()
                    .map(|o| (o.name, o.count, counts(o.values)))
                    .collect()
            }),
        }
    }
}

impl From<CachedFacets> for Option<Facets> {
    fn from(c: CachedFacets) -> Self {
        let counts = |v: Vec<(String, u64)>| {
            v.into_iter()
                .map(|(value, count)| ValueCount { value, count })
                .collect()
        };
        Some(Facets {
            category: c.category.map(counts),
            tags: c.tags.map(counts),
            price_range: c.price_range.map(|r| {
                r.into_iter()
                    .map(|(from, to, count)| RangeCount {
                        from: Paise::trusted(from),
                        to: to.map(Paise::trusted),
                        count,
                    })
                    .collect()
            }),
            options: c.options.map(|o| {
                o.into_iter()
                    .map(|(name, count, values)| OptionCount {
                        name,
                        count,
                        values: counts(values),
                    })
                    .collect()
            }),
        })
    }
}
