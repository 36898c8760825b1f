//! Writing products: insert, update at an expected version (keeping the document's
//! stock holds), and delete.

use bson::{doc, Bson, Document};

use super::mapping::{object_id, ProductDoc};
use super::MongoProducts;
use crate::domain::ids::ProductId;
use crate::domain::product::Product;
use crate::store::mongo::{classify, why_unmatched};
use crate::store::StoreError;

pub(super) async fn insert(products: &MongoProducts, product: &Product) -> Result<(), StoreError> {
    let doc = ProductDoc::from_product(product)?;
    products
        .collection
        .insert_one(doc)
        .await
        .map_err(classify)?;
    Ok(())
}

pub(super) async fn update(
    products: &MongoProducts,
    product: &Product,
    expected_version: u64,
) -> Result<(), StoreError> {
    let doc = ProductDoc::from_product(product)?;
    let id = doc.id;
    // `$set` rather than a replacement: the document's stock holds are not
    // part of the product and must survive an edit.
    let mut set = bson::to_document(&doc).map_err(|e| StoreError::Other(e.into()))?;
    set.remove("_id");
    // Optional fields the document omits when empty are removed, or an edit clearing
    // them would leave the old value in place.
    let unset: Document = [
        "description",
        "stock",
        "options",
        "variants",
        "hsn_code",
        "tax_class",
    ]
    .into_iter()
    .filter(|field| !set.contains_key(*field))
    .map(|field| (field.to_owned(), Bson::String(String::new())))
    .collect();
    let mut change = doc! { "$set": set };
    if !unset.is_empty() {
        change.insert("$unset", unset);
    }
    let result = products
        .collection
        .update_one(
            doc! { "_id": id, "version": expected_version as i64 },
            change,
        )
        .await
        .map_err(classify)?;
    if result.matched_count == 1 {
        return Ok(());
    }
    Err(why_unmatched(&products.collection, id).await)
}

pub(super) async fn delete(
    products: &MongoProducts,
    id: &ProductId,
    expected_version: Option<u64>,
) -> Result<(), StoreError> {
    let oid = object_id(id)?;
    let mut filter = doc! { "_id": oid };
    if let Some(v) = expected_version {
        filter.insert("version", v as i64);
    }
    let result = products
        .collection
        .delete_one(filter)
        .await
        .map_err(classify)?;
    if result.deleted_count == 1 {
        return Ok(());
    }
    Err(why_unmatched(&products.collection, oid).await)
}
