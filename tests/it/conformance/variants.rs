//! Product variants in the product repository: per-variant stock and holds, SKUs unique
//! across products and variants, lists and search that see variants, held against memory,
//! MongoDB and the cache alike; and the MongoDB migration of products stored before
//! variants existed.

use std::sync::Arc;

use bazaar::domain::hold::HoldId;
use bazaar::domain::ids::{ProductId, VariantId};
use bazaar::domain::money::Paise;
use bazaar::domain::order::OrderId;
use bazaar::domain::product::{Categories, Product, ProductDraft, RawProduct};
use bazaar::domain::product_query::{ProductQuery, RawProductQuery};
use bazaar::domain::variant::{RawOption, RawVariant};
use bazaar::store::cache::{CacheSettings, CachedProducts};
use bazaar::store::memory::MemoryProducts;
use bazaar::store::mongo::MongoProducts;
use bazaar::store::{ProductRepository, StoreError};
use chrono::Utc;

use super::conformance;
use crate::kit::{mongo_products, redis_kv, test_database};

fn categories() -> Categories {
    Categories::new(vec!["fashion".into()])
}

fn single(sku: &str, stock: Option<i64>) -> Product {
    let raw = RawProduct {
        sku: sku.into(),
        name: format!("Plain {sku}"),
        price: 10_000,
        currency: "INR".into(),
        category: "fashion".into(),
        stock,
        ..Default::default()
    };
    Product::create(
        ProductDraft::parse(&raw, &categories()).unwrap(),
        Utc::now(),
    )
}

/// A tee in sizes S (₹399, 2 left), M (₹499, 5 left) and L (₹599, unlimited).
fn tee(sku: &str) -> Product {
    let size = |value: &str, price: i64, stock: Option<i64>| RawVariant {
        options: [("Size".to_owned(), value.to_owned())].into(),
        sku: format!("{sku}-{value}"),
        price: Some(price),
        stock,
        images: vec![],
    };
    let raw = RawProduct {
        sku: sku.into(),
        name: format!("Tee {sku}"),
        price: 49_900,
        currency: "INR".into(),
        category: "fashion".into(),
        options: vec![RawOption {
            name: "Size".into(),
            values: vec!["S".into(), "M".into(), "L".into()],
        }],
        variants: vec![
            size("S", 39_900, Some(2)),
            size("M", 49_900, Some(5)),
            size("L", 59_900, None),
        ],
        ..Default::default()
    };
    Product::create(
        ProductDraft::parse(&raw, &categories()).unwrap(),
        Utc::now(),
    )
}

fn variant(p: &Product, value: &str) -> VariantId {
    p.variants
        .iter()
        .find(|v| v.values == [value])
        .map(|v| v.id.clone())
        .expect("the tee has this size")
}

fn hold() -> HoldId {
    HoldId::new(&OrderId::generate(), 0)
}

async fn stock_of(repo: &dyn ProductRepository, p: &Product, value: &str) -> Option<u32> {
    let now = repo.get(&p.id).await.unwrap().unwrap();
    now.variant(&variant(p, value)).unwrap().stock
}

pub async fn a_product_with_variants_reads_back_unchanged(repo: &dyn ProductRepository) {
    let p = tee("RB");
    repo.insert(&p).await.unwrap();
    assert_eq!(repo.get(&p.id).await.unwrap(), Some(p.clone()));
    assert_eq!((p.price.get(), p.stock), (39_900, None));
}

pub async fn stock_is_reserved_and_released_per_variant(repo: &dyn ProductRepository) {
    let p = tee("PV");
    repo.insert(&p).await.unwrap();
    let (s, m) = (variant(&p, "S"), variant(&p, "M"));
    let after = repo.reserve(&p.id, &m, 4, &hold(), Utc::now()).await;
    assert_eq!(after.unwrap().variant(&m).unwrap().stock, Some(1));
    assert_eq!(stock_of(repo, &p, "S").await, Some(2));
    assert!(matches!(
        repo.reserve(&p.id, &s, 3, &hold(), Utc::now()).await,
        Err(StoreError::InsufficientStock { available: 2 })
    ));
    assert!(matches!(
        repo.reserve(&p.id, &VariantId::generate(), 1, &hold(), Utc::now())
            .await,
        Err(StoreError::NotFound)
    ));
    // The product's own id names no variant of a product with options.
    assert!(matches!(
        repo.reserve(&p.id, &VariantId::default_of(&p.id), 1, &hold(), Utc::now())
            .await,
        Err(StoreError::NotFound)
    ));
    repo.release(&p.id, &m, 2, Utc::now()).await.unwrap();
    assert_eq!(stock_of(repo, &p, "M").await, Some(3));
    let l = variant(&p, "L");
    repo.reserve(&p.id, &l, 1_000, &hold(), Utc::now())
        .await
        .unwrap();
    assert!(
        repo.holds_before(Utc::now() + chrono::Duration::hours(1), 10)
            .await
            .unwrap()
            .iter()
            .all(|h| h.variant_id != l),
        "unlimited stock takes no hold"
    );
}

pub async fn concurrent_reservations_never_oversell_a_variant(repo: &dyn ProductRepository) {
    let p = tee("CC");
    repo.insert(&p).await.unwrap();
    let m = variant(&p, "M");
    let order = OrderId::generate();
    let holds: Vec<HoldId> = (0..30).map(|i| HoldId::new(&order, i)).collect();
    let attempts = holds
        .iter()
        .map(|h| repo.reserve(&p.id, &m, 1, h, Utc::now()));
    let won = futures::future::join_all(attempts)
        .await
        .iter()
        .filter(|r| r.is_ok())
        .count();
    assert_eq!(won, 5, "exactly the units of M there were");
    assert_eq!(stock_of(repo, &p, "M").await, Some(0));
    assert_eq!(stock_of(repo, &p, "S").await, Some(2));
}

pub async fn a_hold_names_its_variant_and_gives_back_to_it(repo: &dyn ProductRepository) {
    let p = tee("HV");
    repo.insert(&p).await.unwrap();
    let s = variant(&p, "S");
    let h = hold();
    repo.reserve(&p.id, &s, 2, &h, Utc::now()).await.unwrap();
    let holds = repo
        .holds_before(Utc::now() + chrono::Duration::hours(1), 10)
        .await
        .unwrap();
    let held = holds.iter().find(|x| x.id == h).expect("the hold is kept");
    assert_eq!((&held.variant_id, held.quantity), (&s, 2));
    assert!(repo.release_hold(&p.id, &h, Utc::now()).await.unwrap());
    assert!(!repo.release_hold(&p.id, &h, Utc::now()).await.unwrap());
    assert_eq!(stock_of(repo, &p, "S").await, Some(2));
}

pub async fn skus_are_unique_across_products_and_variants(repo: &dyn ProductRepository) {
    let p = tee("UQ");
    repo.insert(&p).await.unwrap();
    // A product's SKU that is another's variant SKU, and the other way round.
    assert!(matches!(
        repo.insert(&single("uq-m", None)).await,
        Err(StoreError::Duplicate { field: "sku" })
    ));
    assert!(matches!(
        repo.insert(&tee("UQ")).await,
        Err(StoreError::Duplicate { field: "sku" })
    ));
    let other = single("OTHER", None);
    repo.insert(&other).await.unwrap();
    let mut taken = other.clone();
    taken.sku = p.variants[0].sku.clone();
    taken.variants[0].sku = p.variants[0].sku.clone();
    taken.version += 1;
    assert!(matches!(
        repo.update(&taken, other.version).await,
        Err(StoreError::Duplicate { field: "sku" })
    ));
}

pub async fn lists_filter_by_any_variants_price_and_search_its_skus(repo: &dyn ProductRepository) {
    let p = tee("LS");
    repo.insert(&p).await.unwrap();
    repo.insert(&single("CHEAP", None)).await.unwrap();
    let list = |raw: RawProductQuery| async move {
        let q = ProductQuery::parse(&raw, &categories()).unwrap();
        let page = repo.list(&q).await.unwrap();
        page.items
            .iter()
            .map(|x| x.sku.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    // ₹550–₹650 holds only the L tee, above the product's lowest price.
    let dear = list(RawProductQuery {
        price_min: Some(55_000),
        price_max: Some(65_000),
        ..Default::default()
    })
    .await;
    assert_eq!(dear, ["LS"]);
    let found = list(RawProductQuery {
        q: Some("ls-m".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(found, ["LS"]);
    assert_eq!(p.price, Paise::parse_price("p", 39_900).unwrap());
}

macro_rules! variant_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::variants,
            [
                a_product_with_variants_reads_back_unchanged,
                stock_is_reserved_and_released_per_variant,
                concurrent_reservations_never_oversell_a_variant,
                a_hold_names_its_variant_and_gives_back_to_it,
                skus_are_unique_across_products_and_variants,
                lists_filter_by_any_variants_price_and_search_its_skus,
            ]
        );
    };
}

fn cached(
    inner: Arc<dyn ProductRepository>,
    kv: Arc<dyn bazaar::kv::KeyValueStore>,
) -> Arc<dyn ProductRepository> {
    let lookups = prometheus::IntCounterVec::new(
        prometheus::Opts::new("lookups", "test"),
        &["cache", "result"],
    )
    .unwrap();
    let settings = CacheSettings {
        l1_ttl: std::time::Duration::from_secs(1),
        l1_capacity: 1000,
        l2_ttl: std::time::Duration::from_secs(60),
    };
    let broadcast = Arc::new(bazaar::kv::broadcast::LocalBroadcast::new());
    Arc::new(CachedProducts::new(inner, kv, broadcast, settings, lookups))
}

async fn mongodb() -> Arc<dyn ProductRepository> {
    Arc::new(mongo_products().await)
}

variant_suite!(memory_backend, Arc::new(MemoryProducts::new()));
variant_suite!(mongodb_backend, mongodb().await);
variant_suite!(
    cached_mongodb_backend,
    cached(mongodb().await, Arc::new(redis_kv().await))
);

/// A product document as versions before variants (and before search) wrote it.
fn old_shape(id: bson::oid::ObjectId, sku: &str, stock: i64) -> bson::Document {
    let now = bson::DateTime::now();
    bson::doc! {
        "_id": id,
        "sku": sku,
        "name": format!("Old {sku}"),
        "price": 25_000_i64,
        "currency": "INR",
        "category": "fashion",
        "tags": ["legacy"],
        "stock": stock,
        "images": [],
        "created_at": now,
        "updated_at": now,
        "version": 3_i64,
        "holds": [{ "id": "6650c0ffee0000000000abcd:0", "quantity": 1_i64, "at": now }],
    }
}

#[tokio::test]
async fn mongodb_migrates_products_stored_before_variants() {
    let db = test_database().await;
    let raw = db.collection::<bson::Document>("products");
    let (a, b) = (bson::oid::ObjectId::new(), bson::oid::ObjectId::new());
    raw.insert_many([old_shape(a, "OLD-A", 4), old_shape(b, "OLD-B", 0)])
        .await
        .unwrap();

    // Opening the repository runs the migration; running it again changes nothing.
    let repo = MongoProducts::new(&db).await.unwrap();
    assert_eq!(repo.migrate().await.unwrap(), 0);
    let migrated = raw
        .find_one(bson::doc! { "_id": a })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(migrated.get_array("skus").unwrap().len(), 1);

    let id = ProductId::parse(&a.to_hex()).unwrap();
    let product = repo.get(&id).await.unwrap().unwrap();
    assert_eq!(product.version, 3, "a migration is not an edit");
    let only = VariantId::default_of(&id);
    assert_eq!(product.variants.len(), 1);
    assert_eq!(product.variant(&only).unwrap().stock, Some(4));
    // The old hold names no variant: it is the default one's.
    let holds = repo
        .holds_before(Utc::now() + chrono::Duration::hours(1), 10)
        .await
        .unwrap();
    assert!(holds
        .iter()
        .all(|h| h.variant_id.as_str() == h.product_id.as_str()));
    // Its SKU is searchable and taken, and its stock is reserved as before.
    let q = ProductQuery::parse(
        &RawProductQuery {
            q: Some("old-a".into()),
            ..Default::default()
        },
        &categories(),
    )
    .unwrap();
    assert_eq!(repo.list(&q).await.unwrap().items, vec![product.clone()]);
    let mut clash = tee("X");
    clash.variants[0].sku = product.sku.clone();
    assert!(matches!(
        repo.insert(&clash).await,
        Err(StoreError::Duplicate { field: "sku" })
    ));
    let after = repo
        .reserve(&id, &only, 4, &hold(), Utc::now())
        .await
        .unwrap();
    assert_eq!(after.stock, Some(0));
}

#[tokio::test]
async fn mongodb_reads_a_product_that_was_not_migrated() {
    let db = test_database().await;
    let repo = MongoProducts::new(&db).await.unwrap();
    let a = bson::oid::ObjectId::new();
    db.collection::<bson::Document>("products")
        .insert_one(old_shape(a, "LATE", 2))
        .await
        .unwrap();
    let id = ProductId::parse(&a.to_hex()).unwrap();
    let product = repo.get(&id).await.unwrap().unwrap();
    assert_eq!(product.variants[0].id.as_str(), id.as_str());
    assert_eq!(product.variants[0].stock, Some(2));
}
