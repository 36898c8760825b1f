//! Invoices and credit notes in MongoDB (collection `invoices`).
//!
//! The series is gapless without a counter: the next serial is the highest stored in the
//! kind's series for the year plus one, and the document is inserted under it. A unique
//! index on (kind, year, serial) lets only one of two replicas that read the same highest
//! serial store it; the other reads again and takes the next. A serial therefore exists
//! only as a stored document, so none is skipped (no counter can move without its
//! document) and none is used twice. A unique index on (kind, source) issues each order's
//! invoice, and each refund's credit note, once.

use async_trait::async_trait;
use bson::{doc, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::options::FindOneOptions;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::tax_docs::{parse_supply, supply_name, LineTaxDoc};
use super::{classify, index};
use crate::domain::gst::gstin::Gstin;
use crate::domain::gst::series::{InvoiceNumber, InvoicePrefix};
use crate::domain::ids::{OrderId, UserId};
use crate::domain::invoice::{DocumentDraft, DocumentKind, DocumentLine, Party, TaxDocument};
use crate::domain::money::Paise;
use crate::domain::pincode::StateCode;
use crate::store::{InvoiceRepository, StoreError};

/// How often an issue is tried again after another replica took the serial it read. Each
/// lost race means another document was stored, so this bounds contention, not failure.
const ISSUE_ATTEMPTS: usize = 256;

pub struct MongoInvoices {
    collection: Collection<InvoiceDoc>,
}

impl MongoInvoices {
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        let collection = db.collection::<InvoiceDoc>("invoices");
        collection
            .create_indexes([
                index(
                    doc! { "kind": 1, "year": 1, "serial": -1 },
                    "serial_unique",
                    true,
                    false,
                ),
                index(
                    doc! { "kind": 1, "source": 1 },
                    "source_unique",
                    true,
                    false,
                ),
                index(doc! { "order_id": 1 }, "order", false, false),
                index(doc! { "issued_at": 1 }, "issued_at", false, false),
            ])
            .await
            .map_err(classify)?;
        Ok(Self { collection })
    }

    async fn by_source(
        &self,
        kind: DocumentKind,
        source: &str,
    ) -> Result<Option<TaxDocument>, StoreError> {
        self.collection
            .find_one(doc! { "kind": kind.as_str(), "source": source })
            .await
            .map_err(classify)?
            .map(InvoiceDoc::into_document)
            .transpose()
    }

    async fn last_serial(&self, kind: DocumentKind, year: i32) -> Result<u64, StoreError> {
        let last = self
            .collection
            .find_one(doc! { "kind": kind.as_str(), "year": year })
            .with_options(
                FindOneOptions::builder()
                    .sort(doc! { "serial": -1 })
                    .build(),
            )
            .await
            .map_err(classify)?;
        Ok(last.map_or(0, |d| u64::try_from(d.serial).unwrap_or(0)))
    }

    async fn find_sorted(&self, filter: Document) -> Result<Vec<TaxDocument>, StoreError> {
        let docs: Vec<InvoiceDoc> = self
            .collection
            .find(filter)
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        // Sorted here, not by the server: "credit_note" sorts before "invoice" as text,
        // and the kinds' own order is wanted.
        let mut found = docs
            .into_iter()
            .map(InvoiceDoc::into_document)
            .collect::<Result<Vec<_>, _>>()?;
        found.sort_by_key(|d| (d.kind(), d.year(), d.serial));
        Ok(found)
    }
}

#[async_trait]
impl InvoiceRepository for MongoInvoices {
    #[tracing::instrument(skip_all, fields(order = %draft.order_id, kind = draft.kind.as_str()))]
    async fn issue(
        &self,
        draft: DocumentDraft,
        prefix: &InvoicePrefix,
    ) -> Result<TaxDocument, StoreError> {
        let (kind, year) = (draft.kind, draft.year().start_year());
        for _ in 0..ISSUE_ATTEMPTS {
            if let Some(done) = self.by_source(kind, &draft.source).await? {
                return Ok(done);
            }
            let serial = self.last_serial(kind, year).await? + 1;
            let document = draft
                .clone()
                .number(prefix, serial)
                .map_err(|e| StoreError::Other(e.into()))?;
            match self
                .collection
                .insert_one(InvoiceDoc::from_document(&document))
                .await
                .map_err(classify)
            {
                Ok(_) => return Ok(document),
                // Another replica stored this serial, or this source, first: read again.
                Err(StoreError::Duplicate { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Unavailable(anyhow::anyhow!(
            "the {} series lost the race for a serial {ISSUE_ATTEMPTS} times",
            kind.as_str()
        )))
    }

    async fn for_order(&self, order: &OrderId) -> Result<Vec<TaxDocument>, StoreError> {
        self.find_sorted(doc! { "order_id": order.as_str() }).await
    }

    async fn issued_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TaxDocument>, StoreError> {
        self.find_sorted(doc! { "issued_at": {
            "$gte": bson::DateTime::from_chrono(from),
            "$lt": bson::DateTime::from_chrono(to),
        } })
        .await
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct PartyDoc {
    name: String,
    address_lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gstin: Option<String>,
    state: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct LineDoc {
    description: String,
    code: String,
    quantity: i64,
    unit_price: i64,
    #[serde(flatten)]
    tax: LineTaxDoc,
}

#[derive(Debug, Serialize, Deserialize)]
struct InvoiceDoc {
    kind: String,
    /// The financial year's first calendar year.
    year: i32,
    serial: i64,
    number: String,
    source: String,
    order_id: String,
    user_id: String,
    issued_at: bson::DateTime,
    seller: PartyDoc,
    buyer: PartyDoc,
    place_of_supply: String,
    /// `intra` or `inter`.
    supply: String,
    lines: Vec<LineDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    corrects: Option<String>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("stored invoice has an invalid {what}"))
}

fn state(raw: &str) -> Result<StateCode, StoreError> {
    StateCode::parse(raw).ok_or_else(|| corrupt("state"))
}

impl PartyDoc {
    fn from_party(p: &Party) -> Self {
        Self {
            name: p.name.clone(),
            address_lines: p.address_lines.clone(),
            gstin: p.gstin.as_ref().map(|g| g.as_str().to_owned()),
            state: p.state.to_string(),
        }
    }

    fn into_party(self) -> Result<Party, StoreError> {
        Ok(Party {
            gstin: self
                .gstin
                .map(|g| Gstin::parse("gstin", &g).map_err(|_| corrupt("GSTIN")))
                .transpose()?,
            state: state(&self.state)?,
            name: self.name,
            address_lines: self.address_lines,
        })
    }
}

impl LineDoc {
    fn from_line(l: &DocumentLine) -> Self {
        Self {
            description: l.description.clone(),
            code: l.code.clone(),
            quantity: i64::from(l.quantity),
            unit_price: l.unit_price.get(),
            tax: LineTaxDoc::from_tax(&l.tax),
        }
    }

    fn into_line(self) -> Result<DocumentLine, StoreError> {
        Ok(DocumentLine {
            description: self.description,
            code: self.code,
            quantity: u32::try_from(self.quantity).map_err(|_| corrupt("quantity"))?,
            unit_price: Paise::trusted(self.unit_price),
            tax: self.tax.into_tax()?,
        })
    }
}

impl InvoiceDoc {
    fn from_document(d: &TaxDocument) -> Self {
        let draft = &d.draft;
        Self {
            kind: draft.kind.as_str().to_owned(),
            year: draft.year().start_year(),
            serial: i64::try_from(d.serial).unwrap_or(i64::MAX),
            number: d.number.as_str().to_owned(),
            source: draft.source.clone(),
            order_id: draft.order_id.as_str().to_owned(),
            user_id: draft.user_id.as_str().to_owned(),
            issued_at: bson::DateTime::from_chrono(draft.issued_at),
            seller: PartyDoc::from_party(&draft.seller),
            buyer: PartyDoc::from_party(&draft.buyer),
            place_of_supply: draft.place_of_supply.to_string(),
            supply: supply_name(draft.supply).to_owned(),
            lines: draft.lines.iter().map(LineDoc::from_line).collect(),
            corrects: draft.corrects.as_ref().map(|n| n.as_str().to_owned()),
        }
    }

    fn into_document(self) -> Result<TaxDocument, StoreError> {
        let draft = DocumentDraft {
            kind: DocumentKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            source: self.source,
            order_id: OrderId::trusted(self.order_id),
            user_id: UserId::trusted(self.user_id),
            issued_at: self.issued_at.to_chrono(),
            seller: self.seller.into_party()?,
            buyer: self.buyer.into_party()?,
            place_of_supply: state(&self.place_of_supply)?,
            supply: parse_supply(&self.supply)?,
            lines: self
                .lines
                .into_iter()
                .map(LineDoc::into_line)
                .collect::<Result<_, _>>()?,
            corrects: self
                .corrects
                .map(|n| InvoiceNumber::parse("corrects", &n).map_err(|_| corrupt("reference")))
                .transpose()?,
        };
        Ok(TaxDocument {
            number: InvoiceNumber::parse("number", &self.number).map_err(|_| corrupt("number"))?,
            serial: u64::try_from(self.serial).map_err(|_| corrupt("serial"))?,
            draft,
        })
    }
}
