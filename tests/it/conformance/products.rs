//! The product repository contract, held against memory and MongoDB alike.

use bazaar::domain::listing::PageRequest;
use std::collections::HashSet;
use std::sync::Arc;

use bazaar::domain::facets::FacetSet;
use bazaar::domain::gst::rates::RateTable;
use bazaar::domain::hold::HoldId;
use bazaar::domain::ids::ProductId;
use bazaar::domain::listing::Pagination;
use bazaar::domain::order::OrderId;
use bazaar::domain::product::{Categories, Product, ProductDraft, RawProduct};
use bazaar::domain::product_query::{ProductQuery, RawProductQuery, Sort};
use bazaar::kv::memory::MemoryKv;
use bazaar::store::cache::{CacheSettings, CachedProducts};
use bazaar::store::memory::MemoryProducts;
use bazaar::store::{ProductRepository, StoreError};
use chrono::{DateTime, Duration, Utc};

use super::conformance;
use crate::kit::{mongo_products, redis_kv};

fn categories() -> Categories {
    Categories::new(vec!["books".into(), "home".into(), "toys".into()])
}

fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

struct Spec<'a> {
    sku: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    price: i64,
    category: &'a str,
    tags: &'a [&'a str],
    minute: i64,
    stock: Option<i64>,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Self {
            sku: "SKU",
            name: "Thing",
            description: None,
            price: 100,
            category: "books",
            tags: &[],
            minute: 0,
            stock: None,
        }
    }
}

fn make(spec: Spec<'_>) -> Product {
    let minute = spec.minute;
    Product::create(draft(&raw(spec)), base_time() + Duration::minutes(minute))
}

fn raw(spec: Spec<'_>) -> RawProduct {
    RawProduct {
        sku: spec.sku.into(),
        name: spec.name.into(),
        description: spec.description.map(Into::into),
        price: spec.price,
        currency: "INR".into(),
        category: spec.category.into(),
        tags: spec.tags.iter().map(|t| (*t).to_owned()).collect(),
        stock: spec.stock,
        images: vec![],
        ..Default::default()
    }
}

fn draft(raw: &RawProduct) -> ProductDraft {
    ProductDraft::parse(raw, &categories(), RateTable::built_in()).expect("valid product")
}

fn query(raw: RawProductQuery) -> ProductQuery {
    ProductQuery::parse(&raw, &categories()).expect("valid query")
}

fn skus(items: &[Product]) -> Vec<String> {
    items.iter().map(|p| p.sku.as_str().to_owned()).collect()
}

async fn insert_all(repo: &dyn ProductRepository, products: &[Product]) {
    for p in products {
        repo.insert(p).await.expect("insert");
    }
}

/// A small catalog the list tests share.
fn catalog() -> Vec<Product> {
    vec![
        make(Spec {
            sku: "A",
            name: "Red Kettle",
            description: Some("Steel, 1.5 L"),
            price: 1500,
            category: "home",
            tags: &["kitchen", "steel"],
            minute: 1,
            stock: None,
        }),
        make(Spec {
            sku: "B",
            name: "Blue Mug",
            description: Some("Ceramic mug (large)"),
            price: 300,
            category: "home",
            tags: &["kitchen"],
            minute: 2,
            stock: None,
        }),
        make(Spec {
            sku: "C",
            name: "Atlas of India",
            description: None,
            price: 900,
            category: "books",
            tags: &["maps"],
            minute: 3,
            stock: None,
        }),
        make(Spec {
            sku: "D",
            name: "Puzzle 500",
            description: Some("A red barn"),
            price: 300,
            category: "toys",
            tags: &[],
            minute: 4,
            stock: None,
        }),
        make(Spec {
            sku: "E",
            name: "cookbook",
            description: Some("Recipes.* for (two)"),
            price: 650,
            category: "books",
            tags: &["kitchen"],
            minute: 5,
            stock: None,
        }),
    ]
}

pub async fn created_products_read_back_unchanged(repo: &dyn ProductRepository) {
    let p = make(Spec {
        sku: "READ-1",
        description: Some("desc"),
        tags: &["a", "b"],
        ..Default::default()
    });
    repo.insert(&p).await.unwrap();
    assert_eq!(repo.get(&p.id).await.unwrap(), Some(p));
}

pub async fn tax_codes_and_classes_read_back_and_can_be_cleared(repo: &dyn ProductRepository) {
    let taxed = RawProduct {
        hsn_code: Some("998314".into()),
        tax_class: Some("exempt".into()),
        ..raw(Spec {
            sku: "TAX-1",
            ..Default::default()
        })
    };
    let taxed = Product::create(draft(&taxed), base_time());
    repo.insert(&taxed).await.unwrap();
    let read = repo.get(&taxed.id).await.unwrap().expect("stored");
    assert_eq!(read.hsn_code.as_ref().map(|c| c.as_str()), Some("998314"));
    assert!(read.hsn_code.as_ref().is_some_and(|c| c.is_service()));
    assert_eq!(read.tax_class.as_ref().map(|c| c.as_str()), Some("exempt"));
    assert_eq!(read, taxed);

    let cleared = RawProduct {
        hsn_code: None,
        tax_class: None,
        ..taxed.patched(Default::default())
    };
    let v2 = taxed.revise(draft(&cleared), Utc::now());
    repo.update(&v2, 1).await.unwrap();
    let read = repo.get(&taxed.id).await.unwrap().expect("stored");
    assert_eq!((read.hsn_code, read.tax_class), (None, None));
}

pub async fn an_unknown_id_reads_as_none(repo: &dyn ProductRepository) {
    let p = make(Spec::default());
    assert_eq!(repo.get(&p.id).await.unwrap(), None);
}

pub async fn a_taken_sku_is_refused_on_insert(repo: &dyn ProductRepository) {
    repo.insert(&make(Spec {
        sku: "DUP",
        ..Default::default()
    }))
    .await
    .unwrap();
    let again = make(Spec {
        sku: "dup",
        name: "Other",
        ..Default::default()
    });
    assert!(matches!(
        repo.insert(&again).await,
        Err(StoreError::Duplicate { field: "sku" })
    ));
    assert_eq!(repo.get(&again.id).await.unwrap(), None);
}

pub async fn updates_need_the_current_version(repo: &dyn ProductRepository) {
    let v1 = make(Spec {
        sku: "UPD",
        ..Default::default()
    });
    repo.insert(&v1).await.unwrap();
    let draft = draft(&RawProduct {
        price: 250,
        ..v1.patched(Default::default())
    });
    let v2 = v1.revise(draft.clone(), Utc::now());
    repo.update(&v2, 1).await.unwrap();
    assert_eq!(repo.get(&v1.id).await.unwrap().unwrap().price.get(), 250);

    // A writer still holding version 1 loses.
    let stale = v1.revise(draft, Utc::now());
    assert!(matches!(
        repo.update(&stale, 1).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(repo.get(&v1.id).await.unwrap(), Some(v2));
}

pub async fn updating_a_missing_product_is_not_found(repo: &dyn ProductRepository) {
    let ghost = make(Spec {
        sku: "GHOST",
        ..Default::default()
    });
    let next = ghost.revise(draft(&ghost.patched(Default::default())), Utc::now());
    assert!(matches!(
        repo.update(&next, 1).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn an_update_cannot_take_another_products_sku(repo: &dyn ProductRepository) {
    let first = make(Spec {
        sku: "FIRST",
        ..Default::default()
    });
    let second = make(Spec {
        sku: "SECOND",
        ..Default::default()
    });
    insert_all(repo, &[first.clone(), second.clone()]).await;
    let raw = RawProduct {
        sku: "first".into(),
        ..second.patched(Default::default())
    };
    let next = second.revise(draft(&raw), Utc::now());
    assert!(matches!(
        repo.update(&next, 1).await,
        Err(StoreError::Duplicate { field: "sku" })
    ));
}

pub async fn delete_removes_and_respects_versions(repo: &dyn ProductRepository) {
    let p = make(Spec {
        sku: "DEL",
        ..Default::default()
    });
    repo.insert(&p).await.unwrap();
    assert!(matches!(
        repo.delete(&p.id, Some(7)).await,
        Err(StoreError::VersionConflict)
    ));
    repo.delete(&p.id, Some(1)).await.unwrap();
    assert_eq!(repo.get(&p.id).await.unwrap(), None);
    assert!(matches!(
        repo.delete(&p.id, None).await,
        Err(StoreError::NotFound)
    ));
    // The SKU is free again.
    repo.insert(&make(Spec {
        sku: "DEL",
        ..Default::default()
    }))
    .await
    .unwrap();
}

pub async fn list_filters_by_category_price_tag_and_text(repo: &dyn ProductRepository) {
    insert_all(repo, &catalog()).await;
    let sorted_by_price = |raw: RawProductQuery| {
        query(RawProductQuery {
            sort: Some("price".into()),
            ..raw
        })
    };
    let cases: Vec<(RawProductQuery, Vec<&str>)> = vec![
        (
            RawProductQuery {
                category: Some("home".into()),
                ..Default::default()
            },
            vec!["B", "A"],
        ),
        (
            RawProductQuery {
                price_min: Some(300),
                price_max: Some(900),
                ..Default::default()
            },
            vec!["B", "D", "E", "C"],
        ),
        (
            RawProductQuery {
                tag: Some("Kitchen".into()),
                ..Default::default()
            },
            vec!["B", "E", "A"],
        ),
        // Case-insensitive, in name or description.
        (
            RawProductQuery {
                q: Some("RED".into()),
                ..Default::default()
            },
            vec!["D", "A"],
        ),
        // Regex metacharacters are literal.
        (
            RawProductQuery {
                q: Some(".* for (".into()),
                ..Default::default()
            },
            vec!["E"],
        ),
        (
            RawProductQuery {
                q: Some("(large)".into()),
                ..Default::default()
            },
            vec!["B"],
        ),
        (
            RawProductQuery {
                q: Some("^A".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            RawProductQuery {
                category: Some("books".into()),
                tag: Some("kitchen".into()),
                price_max: Some(700),
                ..Default::default()
            },
            vec!["E"],
        ),
    ];
    for (raw, expected) in cases {
        let page = repo.list(&sorted_by_price(raw.clone())).await.unwrap();
        assert_eq!(skus(&page.items), expected, "query {raw:?}");
        assert!(!page.has_next);
    }
}

pub async fn list_sorts_by_every_key_with_ids_breaking_ties(repo: &dyn ProductRepository) {
    let products = catalog();
    insert_all(repo, &products).await;
    let list = |sort: &str| {
        let q = query(RawProductQuery {
            sort: Some(sort.into()),
            ..Default::default()
        });
        async move { skus(&repo.list(&q).await.unwrap().items) }
    };
    // B and D cost the same; the id (creation order) decides.
    let (b, d) = (&products[1].id, &products[3].id);
    let (first, second) = if b < d { ("B", "D") } else { ("D", "B") };
    assert_eq!(list("price").await, [first, second, "E", "C", "A"]);
    assert_eq!(list("-price").await, ["A", "C", "E", second, first]);
    assert_eq!(list("created_at").await, ["A", "B", "C", "D", "E"]);
    assert_eq!(list("-created_at").await, ["E", "D", "C", "B", "A"]);
    // Code-point order: capitals before lower case.
    assert_eq!(list("name").await, ["C", "B", "D", "A", "E"]);
    // The default is newest first.
    let default = repo.list(&query(RawProductQuery::default())).await.unwrap();
    assert_eq!(skus(&default.items), ["E", "D", "C", "B", "A"]);
}

/// Follows cursors from the first page to the last.
async fn walk(
    repo: &dyn ProductRepository,
    raw: RawProductQuery,
    mut between_pages: impl FnMut(usize) -> Vec<Product>,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut q = query(raw);
    for page_number in 0.. {
        let page = repo.list(&q).await.unwrap();
        assert!(page.items.len() <= q.limit as usize);
        seen.extend(skus(&page.items));
        for p in between_pages(page_number) {
            repo.insert(&p).await.unwrap();
        }
        if !page.has_next {
            break;
        }
        let last = page.items.last().expect("a full page has a last item");
        q.pagination = Pagination::Cursor(Some(bazaar::domain::listing::Cursor {
            after_value: q.sort_value(last),
            after_id: last.id.to_string(),
        }));
        assert!(page_number < 100, "pagination does not end");
    }
    seen
}

pub async fn cursor_pages_cover_every_product_once_in_every_order(repo: &dyn ProductRepository) {
    let products: Vec<Product> = (0..23)
        .map(|i| {
            let sku = format!("P{i:02}");
            let name = format!("Item {}", i % 4);
            make(Spec {
                sku: &sku,
                name: &name,
                price: 100 * (1 + i % 5),
                minute: i % 3,
                ..Default::default()
            })
        })
        .collect();
    insert_all(repo, &products).await;
    for sort in Sort::ALLOWED {
        // Relevance orders search results, so it needs a `q` (every name matches this one).
        let q = (sort == "relevance").then(|| "item".to_owned());
        let seen = walk(
            repo,
            RawProductQuery {
                sort: Some(sort.into()),
                q: q.clone(),
                paging: PageRequest {
                    limit: Some(4),
                    ..Default::default()
                },
                ..Default::default()
            },
            |_| vec![],
        )
        .await;
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(seen.len(), 23, "sort {sort}: {seen:?}");
        assert_eq!(unique.len(), 23, "sort {sort} repeated items: {seen:?}");
        let full = repo
            .list(&query(RawProductQuery {
                sort: Some(sort.into()),
                q,
                paging: PageRequest {
                    limit: Some(100),
                    ..Default::default()
                },
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(
            seen,
            skus(&full.items),
            "sort {sort}: pages disagree with one big page"
        );
    }
}

pub async fn cursor_pages_are_stable_under_concurrent_inserts(repo: &dyn ProductRepository) {
    let originals: Vec<Product> = (0..12)
        .map(|i| {
            make(Spec {
                sku: &format!("O{i:02}"),
                price: 1000 + i,
                minute: i,
                ..Default::default()
            })
        })
        .collect();
    insert_all(repo, &originals).await;
    // While the client pages newest-first, products keep arriving: some newer
    // (sorting before the cursor) and some with prices anywhere.
    let mut n = 0;
    let seen = walk(
        repo,
        RawProductQuery {
            sort: Some("-created_at".into()),
            paging: PageRequest {
                limit: Some(5),
                ..Default::default()
            },
            ..Default::default()
        },
        |_| {
            n += 1;
            vec![make(Spec {
                sku: &format!("NEW{n}"),
                price: 5,
                minute: 100 + n,
                ..Default::default()
            })]
        },
    )
    .await;
    let originals_seen: Vec<_> = seen
        .iter()
        .filter(|s| s.starts_with('O'))
        .cloned()
        .collect();
    let expected: Vec<String> = (0..12).rev().map(|i| format!("O{i:02}")).collect();
    assert_eq!(
        originals_seen, expected,
        "every original exactly once, in order"
    );

    let by_price = walk(
        repo,
        RawProductQuery {
            sort: Some("price".into()),
            paging: PageRequest {
                limit: Some(4),
                ..Default::default()
            },
            ..Default::default()
        },
        |page| {
            vec![make(Spec {
                sku: &format!("MID{page}"),
                price: 1003,
                minute: 200,
                ..Default::default()
            })]
        },
    )
    .await;
    let unique: HashSet<_> = by_price.iter().collect();
    assert_eq!(unique.len(), by_price.len(), "no item twice: {by_price:?}");
    for original in &expected {
        assert!(
            by_price.contains(original),
            "{original} skipped: {by_price:?}"
        );
    }
}

pub async fn page_mode_counts_and_slices(repo: &dyn ProductRepository) {
    insert_all(repo, &catalog()).await;
    let page = |n: i64| {
        query(RawProductQuery {
            sort: Some("created_at".into()),
            paging: PageRequest {
                limit: Some(2),
                page: Some(n),
                ..Default::default()
            },
            ..Default::default()
        })
    };
    let p1 = repo.list(&page(1)).await.unwrap();
    assert_eq!(
        (skus(&p1.items), p1.has_next, p1.total),
        (vec!["A".into(), "B".into()], true, Some(5))
    );
    let p3 = repo.list(&page(3)).await.unwrap();
    assert_eq!(
        (skus(&p3.items), p3.has_next, p3.total),
        (vec!["E".into()], false, Some(5))
    );
    let p4 = repo.list(&page(4)).await.unwrap();
    assert!(p4.items.is_empty() && !p4.has_next);
    let filtered = repo
        .list(&query(RawProductQuery {
            category: Some("home".into()),
            paging: PageRequest {
                page: Some(1),
                ..Default::default()
            },
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(filtered.total, Some(2));
    // Cursor mode does not count.
    assert_eq!(
        repo.list(&query(RawProductQuery::default()))
            .await
            .unwrap()
            .total,
        None
    );
}

pub async fn concurrent_updates_with_the_same_version_let_exactly_one_win(
    repo: &dyn ProductRepository,
) {
    let p = make(Spec {
        sku: "RACE",
        ..Default::default()
    });
    repo.insert(&p).await.unwrap();
    let attempts = (0..10).map(|i| {
        let raw = RawProduct {
            price: 1000 + i,
            ..p.patched(Default::default())
        };
        let next = p.revise(draft(&raw), Utc::now());
        async move { repo.update(&next, 1).await }
    });
    let results = futures::future::join_all(attempts).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::VersionConflict))));
}

pub async fn ping_answers(repo: &dyn ProductRepository) {
    repo.ping().await.unwrap();
}

fn search(q: &str) -> ProductQuery {
    query(RawProductQuery {
        q: Some(q.into()),
        ..Default::default()
    })
}

pub async fn search_ignores_case_and_accents_and_reads_tags(repo: &dyn ProductRepository) {
    insert_all(
        repo,
        &[
            make(Spec {
                sku: "CREME",
                name: "Crème Brûlée Kit",
                ..Default::default()
            }),
            make(Spec {
                sku: "KURTA",
                name: "Cotton kurta",
                tags: &["कुर्ता"],
                ..Default::default()
            }),
            make(Spec {
                sku: "DOER",
                name: "Doer",
                description: Some("कर्ता"),
                ..Default::default()
            }),
            make(Spec {
                sku: "REGEX",
                name: "Plain",
                description: Some("a.b"),
                ..Default::default()
            }),
        ],
    )
    .await;
    let found = |q: &'static str| async move { skus(&repo.list(&search(q)).await.unwrap().items) };
    assert_eq!(found("CREME brulee").await, ["CREME"]);
    assert_eq!(found("crème").await, ["CREME"]);
    assert_eq!(
        found("कुर्ता").await,
        ["KURTA"],
        "a tag matches; Indic vowel signs count"
    );
    assert_eq!(found("a.b").await, ["REGEX"]);
    assert!(
        found("a.c").await.is_empty(),
        "`.` is literal, not a pattern"
    );
    assert!(found(".*").await.is_empty());
}

pub async fn search_ranks_exact_name_then_name_then_elsewhere_across_pages(
    repo: &dyn ProductRepository,
) {
    let products = [
        ("D1", "Teapot stand", None, 1),
        ("E1", "Kettle", Some("for tea"), 2),
        ("X1", "Tea", None, 3),
        ("N1", "Green Tea", None, 4),
        ("E2", "Cup", Some("tea cup"), 5),
        ("X2", "TEA", None, 6),
        ("Z", "Coffee", None, 7),
    ];
    for (sku, name, description, minute) in products {
        repo.insert(&make(Spec {
            sku,
            name,
            description,
            minute,
            ..Default::default()
        }))
        .await
        .unwrap();
    }
    let expected = ["X2", "X1", "N1", "D1", "E2", "E1"];
    assert_eq!(
        skus(&repo.list(&search("tea")).await.unwrap().items),
        expected
    );
    // Walk it two at a time, by cursor and by page: same order, nothing lost.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let q = query(RawProductQuery {
            q: Some("tea".into()),
            paging: PageRequest {
                limit: Some(2),
                cursor: cursor.clone(),
                ..Default::default()
            },
            ..Default::default()
        });
        let page = repo.list(&q).await.unwrap();
        seen.extend(skus(&page.items));
        if !page.has_next {
            break;
        }
        cursor = Some(q.next_cursor(page.items.last().unwrap()));
    }
    assert_eq!(seen, expected);
    let mut paged = Vec::new();
    for n in 1..=3 {
        let page = repo
            .list(&query(RawProductQuery {
                q: Some("tea".into()),
                paging: PageRequest {
                    limit: Some(2),
                    page: Some(n),
                    ..Default::default()
                },
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(page.total, Some(6));
        assert_eq!(page.has_next, n < 3);
        paged.extend(skus(&page.items));
    }
    assert_eq!(paged, expected);
}

pub async fn facets_count_the_filtered_set(repo: &dyn ProductRepository) {
    insert_all(repo, &catalog()).await;
    let all = FacetSet::parse("facets", "category,tags,price_range").unwrap();
    let facets = repo
        .facets(&query(RawProductQuery::default()).filter, all)
        .await
        .unwrap();
    let pairs = |v: &Option<Vec<bazaar::domain::facets::ValueCount>>| {
        v.as_ref()
            .unwrap()
            .iter()
            .map(|c| (c.value.clone(), c.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pairs(&facets.category),
        [("books".into(), 2), ("home".into(), 2), ("toys".into(), 1)]
    );
    assert_eq!(
        pairs(&facets.tags),
        [
            ("kitchen".into(), 3),
            ("maps".into(), 1),
            ("steel".into(), 1)
        ]
    );
    let ranges: Vec<u64> = facets
        .price_range
        .unwrap()
        .iter()
        .map(|r| r.count)
        .collect();
    assert_eq!(ranges, [5, 0, 0, 0, 0]);

    let home = query(RawProductQuery {
        category: Some("home".into()),
        ..Default::default()
    });
    let only_tags = FacetSet::parse("facets", "tags").unwrap();
    let facets = repo.facets(&home.filter, only_tags).await.unwrap();
    assert_eq!(
        pairs(&facets.tags),
        [("kitchen".into(), 2), ("steel".into(), 1)]
    );
    assert!(facets.category.is_none() && facets.price_range.is_none());
}

pub async fn concurrent_reservations_never_oversell(repo: &dyn ProductRepository) {
    let product = make(Spec {
        sku: "LAST",
        stock: Some(5),
        ..Default::default()
    });
    repo.insert(&product).await.unwrap();
    let order = OrderId::generate();
    let holds: Vec<HoldId> = (0..40).map(|i| HoldId::new(&order, i)).collect();
    let only = bazaar::domain::ids::VariantId::default_of(&product.id);
    let attempts = holds
        .iter()
        .map(|hold| repo.reserve(&product.id, &only, 1, hold, Utc::now()));
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 5, "exactly the units there were");
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::InsufficientStock { available: 0 }))));
    let after = repo.get(&product.id).await.unwrap().unwrap();
    assert_eq!(after.stock, Some(0));
    assert_eq!(
        after.version,
        product.version + 5,
        "each reservation is a version"
    );
}

pub async fn reserve_and_release_handle_short_unlimited_and_missing(repo: &dyn ProductRepository) {
    let limited = make(Spec {
        sku: "LIM",
        stock: Some(3),
        ..Default::default()
    });
    let unlimited = make(Spec {
        sku: "UNL",
        ..Default::default()
    });
    insert_all(repo, &[limited.clone(), unlimited.clone()]).await;
    let hold = HoldId::new(&OrderId::generate(), 0);

    assert!(matches!(
        repo.reserve(
            &limited.id,
            &bazaar::domain::ids::VariantId::default_of(&limited.id),
            4,
            &hold,
            Utc::now()
        )
        .await,
        Err(StoreError::InsufficientStock { available: 3 })
    ));
    assert_eq!(
        repo.reserve(
            &limited.id,
            &bazaar::domain::ids::VariantId::default_of(&limited.id),
            3,
            &hold,
            Utc::now()
        )
        .await
        .unwrap()
        .stock,
        Some(0)
    );
    assert_eq!(
        repo.release(
            &limited.id,
            &bazaar::domain::ids::VariantId::default_of(&limited.id),
            2,
            Utc::now()
        )
        .await
        .unwrap()
        .stock,
        Some(2)
    );
    assert_eq!(repo.get(&limited.id).await.unwrap().unwrap().stock, Some(2));

    let taken = repo
        .reserve(
            &unlimited.id,
            &bazaar::domain::ids::VariantId::default_of(&unlimited.id),
            1_000_000,
            &hold,
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!((taken.stock, taken.version), (None, unlimited.version));
    assert_eq!(
        repo.release(
            &unlimited.id,
            &bazaar::domain::ids::VariantId::default_of(&unlimited.id),
            1,
            Utc::now()
        )
        .await
        .unwrap()
        .stock,
        None
    );

    let missing = ProductId::generate();
    assert!(matches!(
        repo.reserve(
            &missing,
            &bazaar::domain::ids::VariantId::default_of(&missing),
            1,
            &hold,
            Utc::now()
        )
        .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        repo.release(
            &missing,
            &bazaar::domain::ids::VariantId::default_of(&missing),
            1,
            Utc::now()
        )
        .await,
        Err(StoreError::NotFound)
    ));
}

fn stocked(sku: &str, stock: Option<i64>) -> Product {
    make(Spec {
        sku,
        stock,
        description: Some("kept until an edit removes it"),
        ..Default::default()
    })
}

async fn stock_of(repo: &dyn ProductRepository, id: &ProductId) -> Option<u32> {
    repo.get(id).await.unwrap().unwrap().stock
}

async fn hold_ids(repo: &dyn ProductRepository) -> Vec<(String, u32)> {
    let far = Utc::now() + Duration::minutes(10);
    let holds = repo.holds_before(far, 100).await.unwrap();
    holds
        .into_iter()
        .map(|h| (h.id.as_str().to_owned(), h.quantity))
        .collect()
}

pub async fn a_reservation_leaves_a_hold_until_it_is_dropped_or_released(
    repo: &dyn ProductRepository,
) {
    let product = stocked("HELD", Some(5));
    repo.insert(&product).await.unwrap();
    let started = Utc::now() - Duration::seconds(1);
    let (first, second) = (OrderId::generate(), OrderId::generate());
    let kept = HoldId::new(&first, 0);
    let abandoned = HoldId::new(&second, 1);
    repo.reserve(
        &product.id,
        &bazaar::domain::ids::VariantId::default_of(&product.id),
        2,
        &kept,
        Utc::now(),
    )
    .await
    .unwrap();
    repo.reserve(
        &product.id,
        &bazaar::domain::ids::VariantId::default_of(&product.id),
        1,
        &abandoned,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(stock_of(repo, &product.id).await, Some(2));

    let old = repo
        .holds_before(Utc::now() + Duration::minutes(10), 100)
        .await
        .unwrap();
    assert_eq!(old.len(), 2, "{old:?}");
    assert!(old.iter().all(|h| h.product_id == product.id));
    assert!(old[0].at <= old[1].at, "oldest first");
    assert_eq!(old[0].id.order_id(), first);
    assert!(
        repo.holds_before(started, 100).await.unwrap().is_empty(),
        "no hold is older than the reservations"
    );
    assert_eq!(
        repo.holds_before(Utc::now() + Duration::minutes(10), 1)
            .await
            .unwrap()
            .len(),
        1,
        "the limit holds"
    );

    // Its order was stored: the units stay sold.
    repo.drop_hold(&product.id, &kept).await.unwrap();
    assert_eq!(stock_of(repo, &product.id).await, Some(2));
    assert_eq!(
        hold_ids(repo).await,
        vec![(abandoned.as_str().to_owned(), 1)]
    );
    assert!(!repo
        .release_hold(&product.id, &kept, Utc::now())
        .await
        .unwrap());
    assert_eq!(stock_of(repo, &product.id).await, Some(2));

    // Its order never was: the units go back, once.
    assert!(repo
        .release_hold(&product.id, &abandoned, Utc::now())
        .await
        .unwrap());
    assert_eq!(stock_of(repo, &product.id).await, Some(3));
    assert!(!repo
        .release_hold(&product.id, &abandoned, Utc::now())
        .await
        .unwrap());
    assert_eq!(stock_of(repo, &product.id).await, Some(3));
    assert!(hold_ids(repo).await.is_empty());
}

pub async fn concurrent_releases_of_one_hold_give_the_units_back_once(
    repo: &dyn ProductRepository,
) {
    let product = stocked("ONCE", Some(10));
    repo.insert(&product).await.unwrap();
    let hold = HoldId::new(&OrderId::generate(), 0);
    repo.reserve(
        &product.id,
        &bazaar::domain::ids::VariantId::default_of(&product.id),
        4,
        &hold,
        Utc::now(),
    )
    .await
    .unwrap();
    let attempts = (0..10).map(|_| repo.release_hold(&product.id, &hold, Utc::now()));
    let results = futures::future::join_all(attempts).await;
    let released = results.iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(released, 1, "{results:?}");
    assert_eq!(stock_of(repo, &product.id).await, Some(10));
}

pub async fn holds_survive_an_edit_and_go_with_the_product(repo: &dyn ProductRepository) {
    let product = stocked("EDITED", Some(5));
    repo.insert(&product).await.unwrap();
    let hold = HoldId::new(&OrderId::generate(), 0);
    let reserved = repo
        .reserve(
            &product.id,
            &bazaar::domain::ids::VariantId::default_of(&product.id),
            2,
            &hold,
            Utc::now(),
        )
        .await
        .unwrap();

    let mut edited = reserved.clone();
    edited.description = None;
    edited.version = reserved.version + 1;
    repo.update(&edited, reserved.version).await.unwrap();
    let stored = repo.get(&product.id).await.unwrap().unwrap();
    assert_eq!(stored.description, None, "an edit can still remove a field");
    assert_eq!(hold_ids(repo).await, vec![(hold.as_str().to_owned(), 2)]);
    assert!(repo
        .release_hold(&product.id, &hold, Utc::now())
        .await
        .unwrap());
    assert_eq!(stock_of(repo, &product.id).await, Some(5));

    let again = HoldId::new(&OrderId::generate(), 0);
    let reserved = repo
        .reserve(
            &product.id,
            &bazaar::domain::ids::VariantId::default_of(&product.id),
            1,
            &again,
            Utc::now(),
        )
        .await
        .unwrap();
    repo.delete(&product.id, Some(reserved.version))
        .await
        .unwrap();
    assert!(hold_ids(repo).await.is_empty());
}

pub async fn unlimited_stock_takes_no_hold(repo: &dyn ProductRepository) {
    let product = stocked("ENDLESS", None);
    repo.insert(&product).await.unwrap();
    let hold = HoldId::new(&OrderId::generate(), 0);
    repo.reserve(
        &product.id,
        &bazaar::domain::ids::VariantId::default_of(&product.id),
        3,
        &hold,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(hold_ids(repo).await.is_empty());
    assert!(!repo
        .release_hold(&product.id, &hold, Utc::now())
        .await
        .unwrap());
    assert_eq!(stock_of(repo, &product.id).await, None);
}

macro_rules! product_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::products,
            [
                created_products_read_back_unchanged,
                tax_codes_and_classes_read_back_and_can_be_cleared,
                an_unknown_id_reads_as_none,
                a_taken_sku_is_refused_on_insert,
                updates_need_the_current_version,
                updating_a_missing_product_is_not_found,
                an_update_cannot_take_another_products_sku,
                delete_removes_and_respects_versions,
                list_filters_by_category_price_tag_and_text,
                list_sorts_by_every_key_with_ids_breaking_ties,
                cursor_pages_cover_every_product_once_in_every_order,
                cursor_pages_are_stable_under_concurrent_inserts,
                page_mode_counts_and_slices,
                concurrent_updates_with_the_same_version_let_exactly_one_win,
                ping_answers,
                search_ignores_case_and_accents_and_reads_tags,
                search_ranks_exact_name_then_name_then_elsewhere_across_pages,
                facets_count_the_filtered_set,
                concurrent_reservations_never_oversell,
                reserve_and_release_handle_short_unlimited_and_missing,
                a_reservation_leaves_a_hold_until_it_is_dropped_or_released,
                concurrent_releases_of_one_hold_give_the_units_back_once,
                holds_survive_an_edit_and_go_with_the_product,
                unlimited_stock_takes_no_hold,
            ]
        );
    };
}

fn memory() -> Arc<dyn ProductRepository> {
    Arc::new(MemoryProducts::new())
}

async fn mongodb() -> Arc<dyn ProductRepository> {
    Arc::new(mongo_products().await)
}

/// The cache in front of a store must keep every promise the store makes.
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

product_suite!(memory_backend, memory());
product_suite!(mongodb_backend, mongodb().await);
product_suite!(
    cached_memory_backend,
    cached(memory(), Arc::new(MemoryKv::new()))
);
product_suite!(
    cached_mongodb_backend,
    cached(mongodb().await, Arc::new(redis_kv().await))
);
