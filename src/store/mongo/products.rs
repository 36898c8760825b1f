//! Products in MongoDB.

use async_trait::async_trait;
use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{classify, contains_any, find_page, index, why_unmatched, PageSpec};
use crate::domain::ids::ProductId;
use crate::domain::listing::{Pagination, SortValue};
use crate::domain::money::{Currency, Paise};
use crate::domain::product::{Category, Description, Product, ProductName, Sku, Tag};
use crate::domain::product_query::{ProductFilter, ProductPage, ProductQuery, SortField};
use crate::store::{ProductRepository, StoreError};

pub struct MongoProducts {
    collection: Collection<ProductDoc>,
}

impl MongoProducts {
    /// Opens the `products` collection and makes sure its indexes exist.
    /// Creating an index that already exists with the same definition is a no-op,
    /// so every replica may run this at startup.
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<ProductDoc>("products");
        collection
            .create_indexes([
                index(doc! { "sku": 1 }, "sku_unique", true, false),
                index(
                    doc! { "created_at": -1, "_id": -1 },
                    "created_at",
                    false,
                    false,
                ),
                index(doc! { "price": 1, "_id": 1 }, "price", false, false),
                index(doc! { "name": 1, "_id": 1 }, "name", false, false),
                index(
                    doc! { "category": 1, "created_at": -1, "_id": -1 },
                    "category_created_at",
                    false,
                    false,
                ),
                index(doc! { "tags": 1 }, "tags", false, false),
            ])
            .await
            .map_err(classify)?;
        Ok(Self { collection })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ProductDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    sku: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    price: i64,
    currency: String,
    category: String,
    tags: Vec<String>,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    version: i64,
}

fn object_id(id: &ProductId) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id.as_str()).map_err(|e| StoreError::Other(e.into()))
}

impl ProductDoc {
    fn from_product(p: &Product) -> Result<Self, StoreError> {
        Ok(Self {
            id: object_id(&p.id)?,
            sku: p.sku.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.as_ref().map(|d| d.as_str().to_owned()),
            price: p.price.get(),
            currency: p.currency.as_str().to_owned(),
            category: p.category.as_str().to_owned(),
            tags: p.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            created_at: bson::DateTime::from_chrono(p.created_at),
            updated_at: bson::DateTime::from_chrono(p.updated_at),
            version: p.version as i64,
        })
    }

    fn into_product(self) -> Result<Product, StoreError> {
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
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
            version: self.version as u64,
        })
    }
}

fn sort_field_name(field: SortField) -> &'static str {
    match field {
        SortField::Price => "price",
        SortField::CreatedAt => "created_at",
        SortField::Name => "name",
    }
}

fn filter_document(filter: &ProductFilter) -> Vec<Document> {
    let mut clauses = Vec::new();
    if let Some(c) = &filter.category {
        clauses.push(doc! { "category": c.as_str() });
    }
    let mut price = Document::new();
    if let Some(min) = filter.price_min {
        price.insert("$gte", min.get());
    }
    if let Some(max) = filter.price_max {
        price.insert("$lte", max.get());
    }
    if !price.is_empty() {
        clauses.push(doc! { "price": price });
    }
    if let Some(t) = &filter.tag {
        clauses.push(doc! { "tags": t.as_str() });
    }
    if let Some(q) = &filter.q {
        clauses.push(contains_any(&["name", "description"], q.as_str()));
    }
    clauses
}

fn sort_value_bson(value: &SortValue, field: SortField) -> Bson {
    match (value, field) {
        (SortValue::Int(ms), SortField::CreatedAt) => {
            Bson::DateTime(bson::DateTime::from_millis(*ms))
        }
        (SortValue::Int(n), _) => Bson::Int64(*n),
        (SortValue::Text(s), _) => Bson::String(s.clone()),
    }
}

#[async_trait]
impl ProductRepository for MongoProducts {
    #[tracing::instrument(skip_all, fields(product_id = %product.id))]
    async fn insert(&self, product: &Product) -> Result<(), StoreError> {
        let doc = ProductDoc::from_product(product)?;
        self.collection.insert_one(doc).await.map_err(classify)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(product_id = %id))]
    async fn get(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        let found = self
            .collection
            .find_one(doc! { "_id": object_id(id)? })
            .await
            .map_err(classify)?;
        found.map(ProductDoc::into_product).transpose()
    }

    #[tracing::instrument(skip_all, fields(product_id = %product.id))]
    async fn update(&self, product: &Product, expected_version: u64) -> Result<(), StoreError> {
        let doc = ProductDoc::from_product(product)?;
        let id = doc.id;
        let result = self
            .collection
            .replace_one(doc! { "_id": id, "version": expected_version as i64 }, doc)
            .await
            .map_err(classify)?;
        if result.matched_count == 1 {
            return Ok(());
        }
        Err(why_unmatched(&self.collection, id).await)
    }

    #[tracing::instrument(skip_all, fields(product_id = %id))]
    async fn delete(
        &self,
        id: &ProductId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let oid = object_id(id)?;
        let mut filter = doc! { "_id": oid };
        if let Some(v) = expected_version {
            filter.insert("version", v as i64);
        }
        let result = self.collection.delete_one(filter).await.map_err(classify)?;
        if result.deleted_count == 1 {
            return Ok(());
        }
        Err(why_unmatched(&self.collection, oid).await)
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        let field = query.sort.field;
        let after = match &query.pagination {
            Pagination::Cursor(Some(c)) => {
                Some((sort_value_bson(&c.after_value, field), c.after_id.as_str()))
            }
            _ => None,
        };
        let spec = PageSpec {
            field: sort_field_name(field),
            descending: query.sort.descending,
            after,
            pagination: &query.pagination,
            limit: query.limit,
        };
        find_page(
            &self.collection,
            filter_document(&query.filter),
            spec,
            ProductDoc::into_product,
        )
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.collection
            .client()
            .database("admin")
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(classify)?;
        Ok(())
    }
}
