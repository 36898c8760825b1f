//! The invoice repository contract, held against memory and MongoDB alike: documents read
//! back unchanged, each kind's series per financial year is gapless and unique under
//! concurrent issuing (on MongoDB also from two clients, as two replicas would), and a
//! source is issued once.

use std::collections::BTreeSet;
use std::sync::Arc;

use bazaar::domain::gst::gstin::{check_char, Gstin};
use bazaar::domain::gst::series::{InvoiceNumber, InvoicePrefix};
use bazaar::domain::gst::tax::{LineTax, PriceBasis, SupplyType};
use bazaar::domain::invoice::{DocumentDraft, DocumentKind, DocumentLine, Party, TaxDocument};
use bazaar::domain::money::Paise;
use bazaar::domain::order::OrderId;
use bazaar::domain::pincode::StateCode;
use bazaar::domain::user::UserId;
use bazaar::store::memory::MemoryInvoices;
use bazaar::store::mongo::MongoInvoices;
use bazaar::store::InvoiceRepository;
use chrono::{DateTime, Duration, TimeZone, Utc};

use super::conformance;
use crate::kit::{mongodb_url, unique};

/// 1 December 2026, in the financial year 2026-27.
fn december() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 6, 30, 0).unwrap()
}

fn prefix(raw: &str) -> InvoicePrefix {
    InvoicePrefix::parse("prefix", raw).unwrap()
}

fn state(code: &str) -> StateCode {
    StateCode::parse(code).unwrap()
}

/// A Karnataka GSTIN with its check character computed.
fn seller_gstin() -> Gstin {
    let body = "29AABCB1234C1Z";
    let check = check_char(body).unwrap();
    Gstin::parse("gstin", &format!("{body}{check}")).unwrap()
}

fn draft(kind: DocumentKind, source: &str, at: DateTime<Utc>) -> DocumentDraft {
    let tax = LineTax::compute(118_000, 1800, PriceBasis::Inclusive, SupplyType::Inter);
    DocumentDraft {
        kind,
        source: source.to_owned(),
        order_id: OrderId::generate(),
        user_id: UserId::generate(),
        issued_at: at,
        seller: Party {
            name: "Bazaar Demo Traders".into(),
            address_lines: vec!["12 MG Road".into(), "Bengaluru 560001".into()],
            gstin: Some(seller_gstin()),
            state: state("29"),
        },
        buyer: Party {
            name: "अनीता शर्मा".into(),
            address_lines: vec!["4 Park Street".into(), "Kolkata 700016".into()],
            gstin: None,
            state: state("19"),
        },
        place_of_supply: state("19"),
        supply: SupplyType::Inter,
        lines: vec![DocumentLine {
            description: "Kurta, blue, M".into(),
            code: "6211".into(),
            quantity: 2,
            unit_price: Paise::parse_price("unit_price", 59_000).unwrap(),
            tax,
        }],
        corrects: None,
    }
}

fn serials(documents: &[TaxDocument]) -> Vec<u64> {
    let mut serials: Vec<u64> = documents.iter().map(|d| d.serial).collect();
    serials.sort_unstable();
    serials
}

pub async fn documents_read_back_unchanged(repo: &dyn InvoiceRepository) {
    let invoice = repo
        .issue(
            draft(DocumentKind::Invoice, "o-1", december()),
            &prefix("INV"),
        )
        .await
        .unwrap();
    assert_eq!(invoice.serial, 1);
    assert_eq!(invoice.number.as_str(), "INV/26-27/000001");
    let mut note = draft(DocumentKind::CreditNote, "o-1:refund-1", december());
    note.order_id = invoice.draft.order_id.clone();
    note.supply = SupplyType::Intra;
    note.buyer.gstin = invoice.draft.seller.gstin.clone();
    note.corrects = Some(invoice.number.clone());
    let note = repo.issue(note, &prefix("CN")).await.unwrap();
    assert_eq!(note.number.as_str(), "CN/26-27/000001");
    let read = repo.for_order(&invoice.draft.order_id).await.unwrap();
    assert_eq!(read, vec![invoice.clone(), note.clone()]);
    let between = repo
        .issued_between(december(), december() + Duration::milliseconds(1))
        .await
        .unwrap();
    assert_eq!(between, vec![invoice, note]);
}

pub async fn each_kind_and_year_has_a_series_of_its_own(repo: &dyn InvoiceRepository) {
    let next_year = december() + Duration::days(180);
    let mut numbers = Vec::new();
    for (i, (kind, at)) in [
        (DocumentKind::Invoice, december()),
        (DocumentKind::Invoice, december()),
        (DocumentKind::CreditNote, december()),
        (DocumentKind::Invoice, next_year),
        (DocumentKind::CreditNote, next_year),
        (DocumentKind::Invoice, december()),
    ]
    .into_iter()
    .enumerate()
    {
        let p = prefix(if kind == DocumentKind::Invoice {
            "INV"
        } else {
            "CN"
        });
        let d = repo
            .issue(draft(kind, &format!("s-{i}"), at), &p)
            .await
            .unwrap();
        numbers.push(d.number.as_str().to_owned());
    }
    assert_eq!(
        numbers,
        [
            "INV/26-27/000001",
            "INV/26-27/000002",
            "CN/26-27/000001",
            "INV/27-28/000001",
            "CN/27-28/000001",
            "INV/26-27/000003",
        ]
    );
}

pub async fn a_source_is_issued_once(repo: &dyn InvoiceRepository) {
    let first = repo
        .issue(
            draft(DocumentKind::Invoice, "again", december()),
            &prefix("INV"),
        )
        .await
        .unwrap();
    // A retry, even with another date and prefix, answers the document already issued.
    let mut retry = draft(
        DocumentKind::Invoice,
        "again",
        december() + Duration::hours(1),
    );
    retry.order_id = first.draft.order_id.clone();
    let again = repo.issue(retry, &prefix("X")).await.unwrap();
    assert_eq!(again, first);
    let inv = prefix("INV");
    let retries = futures::future::join_all(
        (0..10).map(|_| repo.issue(draft(DocumentKind::Invoice, "racing", december()), &inv)),
    )
    .await;
    let numbers: BTreeSet<InvoiceNumber> = retries.into_iter().map(|r| r.unwrap().number).collect();
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    let all = repo
        .issued_between(december(), december() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(serials(&all), [1, 2]);
}

pub async fn concurrent_issues_take_consecutive_serials_with_no_gap(repo: &dyn InvoiceRepository) {
    const N: u64 = 40;
    let inv = prefix("INV");
    let issued = futures::future::join_all((0..N).map(|i| {
        repo.issue(
            draft(DocumentKind::Invoice, &format!("c-{i}"), december()),
            &inv,
        )
    }))
    .await;
    let documents: Vec<TaxDocument> = issued.into_iter().map(Result::unwrap).collect();
    assert_eq!(serials(&documents), (1..=N).collect::<Vec<_>>());
    let numbers: BTreeSet<&str> = documents.iter().map(|d| d.number.as_str()).collect();
    assert_eq!(numbers.len() as u64, N);
    let stored = repo
        .issued_between(december(), december() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(serials(&stored), (1..=N).collect::<Vec<_>>());
}

macro_rules! invoice_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::invoices,
            [
                documents_read_back_unchanged,
                each_kind_and_year_has_a_series_of_its_own,
                a_source_is_issued_once,
                concurrent_issues_take_consecutive_serials_with_no_gap,
            ]
        );
    };
}

fn memory() -> Arc<dyn InvoiceRepository> {
    Arc::new(MemoryInvoices::new())
}

async fn mongodb_in(database: &str) -> MongoInvoices {
    let db =
        bazaar::store::mongo::connect(&mongodb_url(), database, std::time::Duration::from_secs(5))
            .await
            .expect("MongoDB URL parses");
    MongoInvoices::new(&db).await.expect("MongoDB answers")
}

async fn mongodb() -> Arc<dyn InvoiceRepository> {
    Arc::new(mongodb_in(&unique("bazaar_test")).await)
}

invoice_suite!(memory_backend, memory());
invoice_suite!(mongodb_backend, mongodb().await);

/// Two replicas: two clients of their own on one database, issuing at once, one series.
#[tokio::test]
async fn two_replicas_issuing_at_once_share_one_gapless_series() {
    let database = unique("bazaar_test");
    let a = mongodb_in(&database).await;
    let b = mongodb_in(&database).await;
    let inv = prefix("INV");
    let (from_a, from_b) = futures::join!(
        futures::future::join_all((0..20).map(|i| {
            a.issue(
                draft(DocumentKind::Invoice, &format!("a-{i}"), december()),
                &inv,
            )
        })),
        futures::future::join_all((0..20).map(|i| {
            b.issue(
                draft(DocumentKind::Invoice, &format!("b-{i}"), december()),
                &inv,
            )
        })),
    );
    let documents: Vec<TaxDocument> = from_a
        .into_iter()
        .chain(from_b)
        .map(Result::unwrap)
        .collect();
    assert_eq!(serials(&documents), (1..=40).collect::<Vec<_>>());
}
