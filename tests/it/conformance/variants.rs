//! Product variants in the product repository: per-variant stock and holds, SKUs unique
//! across products and variants, lists and search that see variants, held against memory,
//! MongoDB and the cache alike; and the MongoDB migration of products stored before
//! variants existed.

use std::sync::Arc;

use bazaar::domain::facets::{FacetSet, OPTION_NAMES_SHOWN, OPTION_VALUES_SHOWN};
use bazaar::domain::gst::rates::RateTable;
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
        ProductDraft::parse(&raw, &categories(), RateTable::built_in()).unwrap(),
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
        ProductDraft::parse(&raw, &categories(), RateTable::built_in()).unwrap(),
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

/// A product with `options` (name, allowed values) and one variant per entry of `variants`
/// (its values in option order, its stock).
fn optioned(
    sku: &str,
    options: &[(&str, &[&str])],
    variants: &[(&[&str], Option<i64>)],
) -> Product {
    let raw = RawProduct {
        sku: sku.into(),
        name: format!("Optioned {sku}"),
        price: 10_000,
        currency: "INR".into(),
        category: "fashion".into(),
        options: options
            .iter()
            .map(|(name, values)| RawOption {
                name: (*name).into(),
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            })
            .collect(),
        variants: variants
            .iter()
            .map(|(values, stock)| RawVariant {
                options: options
                    .iter()
                    .zip(values.iter())
                    .map(|((name, _), value)| ((*name).to_owned(), (*value).to_owned()))
                    .collect(),
                sku: format!("{sku}-{}", values.join("-")),
                price: None,
                stock: *stock,
                images: vec![],
            })
            .collect(),
        ..Default::default()
    };
    Product::create(
        ProductDraft::parse(&raw, &categories(), RateTable::built_in()).unwrap(),
        Utc::now(),
    )
}

/// The option facet as (name, count, [(value, count)]).
type OptionRows = Vec<(String, u64, Vec<(String, u64)>)>;

async fn option_facet(repo: &dyn ProductRepository, raw: RawProductQuery) -> OptionRows {
    let q = ProductQuery::parse(&raw, &categories()).unwrap();
    let wanted = FacetSet::parse("facets", "options").unwrap();
    let facets = repo.facets(&q.filter, wanted).await.unwrap();
    assert!(facets.category.is_none() && facets.tags.is_none() && facets.price_range.is_none());
    facets
        .options
        .expect("asked for")
        .into_iter()
        .map(|o| {
            let values = o.values.into_iter().map(|v| (v.value, v.count)).collect();
            (o.name, o.count, values)
        })
        .collect()
}

fn row(name: &str, count: u64, values: &[(&str, u64)]) -> (String, u64, Vec<(String, u64)>) {
    let values = values.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect();
    (name.to_owned(), count, values)
}

pub async fn option_facets_count_each_product_once_per_offered_value(repo: &dyn ProductRepository) {
    repo.insert(&tee("OF")).await.unwrap();
    // Two variants are S: the shirt still counts once under S. Nothing offers L or Green.
    let shirt = optioned(
        "SHIRT",
        &[
            ("Size", &["S", "M", "L"]),
            ("Colour", &["Red", "Blue", "Green"]),
        ],
        &[
            (&["S", "Red"], None),
            (&["S", "Blue"], None),
            (&["M", "Red"], Some(0)),
        ],
    );
    repo.insert(&shirt).await.unwrap();
    repo.insert(&single("PLAIN", None)).await.unwrap();
    assert_eq!(
        option_facet(repo, RawProductQuery::default()).await,
        [
            row("Size", 2, &[("M", 2), ("S", 2), ("L", 1)]),
            row("Colour", 1, &[("Blue", 1), ("Red", 1)]),
        ]
    );
    // Counted over the filtered set only.
    let tees = RawProductQuery {
        q: Some("tee".into()),
        ..Default::default()
    };
    assert_eq!(
        option_facet(repo, tees).await,
        [row("Size", 1, &[("L", 1), ("M", 1), ("S", 1)])]
    );
    let plain = RawProductQuery {
        q: Some("plain".into()),
        ..Default::default()
    };
    assert_eq!(option_facet(repo, plain).await, []);
}

pub async fn option_facets_show_the_most_offered_names_and_values(repo: &dyn ProductRepository) {
    // Shade: 25 values on one product, the last 5 also on another, so those count 2.
    let shades: Vec<String> = (0..25).map(|i| format!("v{i:02}")).collect();
    let all: Vec<&str> = shades.iter().map(String::as_str).collect();
    let variants: Vec<(&[&str], Option<i64>)> = all.chunks(1).map(|v| (v, None)).collect();
    repo.insert(&optioned("WIDE", &[("Shade", &all)], &variants))
        .await
        .unwrap();
    let last = &all[20..];
    let variants: Vec<(&[&str], Option<i64>)> = last.chunks(1).map(|v| (v, None)).collect();
    repo.insert(&optioned("NARROW", &[("Shade", last)], &variants))
        .await
        .unwrap();
    // Twelve more names, each on one product: N00–N11, three a product.
    for group in 0..4 {
        let names: Vec<String> = (0..3).map(|i| format!("N{:02}", group * 3 + i)).collect();
        let options: Vec<(&str, &[&str])> =
            names.iter().map(|n| (n.as_str(), &["x"][..])).collect();
        let product = optioned(&format!("G{group}"), &options, &[(&["x", "x", "x"], None)]);
        repo.insert(&product).await.unwrap();
    }
    let facet = option_facet(repo, RawProductQuery::default()).await;
    let names: Vec<&str> = facet.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["Shade", "N00", "N01", "N02", "N03", "N04", "N05", "N06", "N07", "N08"],
        "the {OPTION_NAMES_SHOWN} most offered, ties by name"
    );
    assert_eq!(facet[1], row("N00", 1, &[("x", 1)]));
    let (_, count, values) = &facet[0];
    assert_eq!(*count, 2);
    let expected: Vec<(String, u64)> = (20..25)
        .map(|i| (format!("v{i:02}"), 2))
        .chain((0..15).map(|i| (format!("v{i:02}"), 1)))
        .collect();
    assert_eq!(values.len(), OPTION_VALUES_SHOWN);
    assert_eq!(values, &expected);
}

pub async fn in_stock_keeps_products_with_a_buyable_variant(repo: &dyn ProductRepository) {
    let sizes: &[&str] = &["S", "M"];
    let one_left = optioned(
        "ONE",
        &[("Size", sizes)],
        &[(&["S"], Some(0)), (&["M"], Some(2))],
    );
    let products = [
        single("UNLIMITED", None),
        single("LEFT", Some(3)),
        single("OUT", Some(0)),
        optioned(
            "GONE",
            &[("Size", sizes)],
            &[(&["S"], Some(0)), (&["M"], Some(0))],
        ),
        optioned(
            "ENDLESS",
            &[("Size", sizes)],
            &[(&["S"], Some(0)), (&["M"], None)],
        ),
        one_left.clone(),
    ];
    for p in &products {
        repo.insert(p).await.unwrap();
    }
    let list = |in_stock: Option<&'static str>| async move {
        let raw = RawProductQuery {
            in_stock: in_stock.map(Into::into),
            sort: Some("name".into()),
            paging: bazaar::domain::listing::PageRequest {
                page: Some(1),
                ..Default::default()
            },
            ..Default::default()
        };
        let q = ProductQuery::parse(&raw, &categories()).unwrap();
        let page = repo.list(&q).await.unwrap();
        let skus: Vec<String> = page
            .items
            .iter()
            .map(|x| x.sku.as_str().to_owned())
            .collect();
        (skus, page.total)
    };
    let (yes, total) = list(Some("true")).await;
    assert_eq!(
        yes,
        ["ENDLESS", "ONE", "LEFT", "UNLIMITED"],
        "by name: Optioned ENDLESS, Optioned ONE, Plain LEFT, Plain UNLIMITED"
    );
    assert_eq!(total, Some(4));
    assert_eq!(
        list(Some("false")).await,
        (vec!["GONE".into(), "OUT".into()], Some(2))
    );
    assert_eq!(list(None).await.1, Some(6));
    // The filter reads the stock as it is now: the last units of ONE go, then come back.
    let m = variant(&one_left, "M");
    repo.reserve(&one_left.id, &m, 2, &hold(), Utc::now())
        .await
        .unwrap();
    assert_eq!(list(Some("false")).await.0, ["GONE", "ONE", "OUT"]);
    assert_eq!(list(Some("true")).await.0, ["ENDLESS", "LEFT", "UNLIMITED"]);
    // Facets count the same set.
    let out = RawProductQuery {
        in_stock: Some("false".into()),
        ..Default::default()
    };
    assert_eq!(
        option_facet(repo, out).await,
        [row("Size", 2, &[("M", 2), ("S", 2)])]
    );
    repo.release(&one_left.id, &m, 1, Utc::now()).await.unwrap();
    assert_eq!(list(Some("false")).await.0, ["GONE", "OUT"]);
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
                option_facets_count_each_product_once_per_offered_value,
                option_facets_show_the_most_offered_names_and_values,
                in_stock_keeps_products_with_a_buyable_variant,
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
    // It has no options: nothing to count under the option facet, but no longer missing.
    assert!(migrated.get_array("option_values").unwrap().is_empty());

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
