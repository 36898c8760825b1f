//! MongoDB storage, for production: one module per collection, sharing the
//! connection setup and error classification here.

use std::time::Duration;

use anyhow::Context as _;
use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use futures::TryStreamExt;
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::de::DeserializeOwned;

use super::StoreError;
use crate::domain::listing::{ListPage, Pagination};

mod addresses;
mod audit;
mod carts;
mod coupons;
mod files;
mod invoices;
mod orders;
mod outbox;
mod products;
mod shipping;
mod tax_docs;
mod transaction;
mod users;
mod webhooks;

pub use addresses::MongoAddresses;
pub use audit::MongoAudit;
pub use carts::MongoCarts;
pub use coupons::MongoCoupons;
pub use files::MongoFiles;
pub use invoices::MongoInvoices;
pub use orders::MongoOrders;
pub use outbox::{enqueue_in_transaction, outbox_document, MongoOutbox, OUTBOX_COLLECTION};
pub use products::MongoProducts;
pub use shipping::MongoShippingZones;
pub use users::MongoUsers;
pub use webhooks::MongoWebhookEvents;

const DUPLICATE_KEY: i32 = 11000;

/// How often the driver checks each server when the URL does not say: the driver's minimum.
pub const HEARTBEAT: Duration = Duration::from_millis(500);

/// Connects lazily: the driver dials on first use, so a database that is down at
/// startup shows up in readiness instead of stopping the process.
pub async fn connect(url: &str, database: &str, timeout: Duration) -> anyhow::Result<Database> {
    let mut options = ClientOptions::parse(url)
        .await
        .context("BAZAAR_MONGODB_URL is not a valid MongoDB connection string")?;
    options.app_name = Some("bazaar".into());
    // Fail fast when the server is away, so requests answer 503 instead of hanging.
    options.server_selection_timeout = Some(timeout);
    options.connect_timeout = Some(timeout);
    // After an election (`NotWritablePrimary` and the like) the driver takes the node for
    // unknown until its monitor checks it again, and every command waits for that check:
    // the heartbeat bounds what an election costs (docs/operations.md). The driver checks
    // every 10 s unless told; `heartbeatFrequencyMS` in the URL still wins.
    if options.heartbeat_freq.is_none() {
        options.heartbeat_freq = Some(HEARTBEAT);
    }
    let client = Client::with_options(options).context("building the MongoDB client")?;
    Ok(client.database(database))
}

/// The kind of deployment a MongoDB server says it belongs to (its `hello` reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// A single `mongod` outside any replica set: no transactions.
    Standalone,
    ReplicaSet {
        name: String,
    },
    /// A `mongos` router in front of a sharded cluster.
    Sharded,
}

impl Topology {
    fn of_hello(reply: &Document) -> Self {
        if let Ok(name) = reply.get_str("setName") {
            Self::ReplicaSet {
                name: name.to_owned(),
            }
        } else if reply.get_str("msg") == Ok("isdbgrid") {
            Self::Sharded
        } else {
            Self::Standalone
        }
    }
}

/// Asks the server what it is (`hello`).
pub async fn topology(db: &Database) -> Result<Topology, StoreError> {
    let reply = db
        .client()
        .database("admin")
        .run_command(doc! { "hello": 1 })
        .await
        .map_err(classify)?;
    Ok(Topology::of_hello(&reply))
}

/// Refuses a deployment that cannot run multi-document transactions, which Bazaar needs (an
/// order is written with its notices in one). `hosts` names the server in the message.
pub async fn require_transactions(db: &Database, hosts: &str) -> anyhow::Result<()> {
    match topology(db)
        .await
        .context("asking MongoDB what it is (hello)")?
    {
        Topology::Standalone => anyhow::bail!(
            "MongoDB at {hosts} is a standalone server, which cannot run transactions; \
             Bazaar needs a replica set (one node is enough: start mongod with --replSet and \
             run rs.initiate()) or a sharded cluster"
        ),
        Topology::ReplicaSet { name } => {
            tracing::info!(replica_set = %name, "mongodb: a replica set");
            Ok(())
        }
        Topology::Sharded => {
            tracing::info!("mongodb: a sharded cluster");
            Ok(())
        }
    }
}

/// The host list of a connection string, without its credentials or options, for messages.
pub fn hosts_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts)
}

/// The unique indexes, by name, and the field each guards.
const UNIQUE_INDEXES: [(&str, &str); 11] = [
    ("sku_unique", "sku"),
    ("skus_unique", "sku"),
    ("phone_unique", "phone"),
    ("email_unique", "email"),
    ("dedupe_key_unique", "dedupe_key"),
    ("provider_order_unique", "provider_order_id"),
    ("unpaid_slot_unique", "unpaid_slot"),
    ("request_key_unique", "request_key"),
    ("identity_unique", "identity"),
    ("serial_unique", "serial"),
    ("source_unique", "source"),
];

/// Which unique field a duplicate-key error is about, from the index named in its
/// message ("… index: phone_unique dup key …").
fn duplicated_field(message: &str) -> &'static str {
    UNIQUE_INDEXES
        .iter()
        .find(|(index, _)| message.contains(index))
        .map(|(_, field)| *field)
        .unwrap_or("key")
}

/// MongoDB's `WriteConflict`.
const WRITE_CONFLICT: i32 = 112;

/// Server codes that say "not now, maybe elsewhere or later": the node is not (or no longer)
/// the primary, is recovering or shutting down, a network error on its side, a write concern
/// it could not satisfy in time. Retried once by the driver where the labels allow; what is
/// left after that is an outage to the client (503), not a fault of the request (500).
const UNAVAILABLE_CODES: [i32; 15] = [
    6,     // HostUnreachable
    7,     // HostNotFound
    64,    // WriteConcernFailed (wtimeout)
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    100,   // UnsatisfiableWriteConcern
    134,   // ReadConcernMajorityNotAvailableYet
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// The server's error code, from a command error, a write error or a write-concern error.
fn server_code(error: &MongoError) -> Option<i32> {
    match error.kind.as_ref() {
        ErrorKind::Command(c) => Some(c.code),
        ErrorKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => Some(w.code),
        _ => None,
    }
}

/// Sorts MongoDB errors into what callers act on: a taken unique key, an
/// unreachable or unready server (503, retry), or anything else (500).
fn classify(error: MongoError) -> StoreError {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == DUPLICATE_KEY => {
            StoreError::Duplicate {
                field: duplicated_field(&w.message),
            }
        }
        ErrorKind::Command(c) if c.code == DUPLICATE_KEY => StoreError::Duplicate {
            field: duplicated_field(&c.message),
        },
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. } => StoreError::Unavailable(error.into()),
        _ if server_code(&error).is_some_and(|code| UNAVAILABLE_CODES.contains(&code)) => {
            StoreError::Unavailable(error.into())
        }
        _ if error.contains_label(mongodb::error::RETRYABLE_WRITE_ERROR) => {
            StoreError::Unavailable(error.into())
        }
        // Two transactions wrote one document: the loser is told to run again,
        // which is what a version conflict asks of the caller.
        ErrorKind::Command(c) if c.code == WRITE_CONFLICT => StoreError::VersionConflict,
        _ if error.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR) => {
            StoreError::VersionConflict
        }
        _ => StoreError::Other(error.into()),
    }
}

/// Escapes `text` so a regular expression matches it literally. Only ASCII
/// punctuation is escaped: in PCRE an escaped punctuation character is always
/// literal, while an escaped letter may mean something.
fn regex_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn and(clauses: Vec<Document>) -> Document {
    match clauses.len() {
        0 => Document::new(),
        1 => clauses.into_iter().next().unwrap_or_default(),
        _ => doc! { "$and": clauses },
    }
}

/// How to order and cut one page: the sort field and direction, and where the
/// previous page ended.
struct PageSpec<'a> {
    field: &'a str,
    descending: bool,
    /// The sort value of the cursor, as stored, and its id.
    after: Option<(Bson, &'a str)>,
    pagination: &'a Pagination,
    limit: u32,
}

/// Runs a filtered, sorted, paginated query (keyset after a cursor, skip in
/// page mode, a count in page mode) and converts the documents.
async fn find_page<D, T>(
    collection: &Collection<D>,
    mut clauses: Vec<Document>,
    spec: PageSpec<'_>,
    convert: impl Fn(D) -> Result<T, StoreError>,
) -> Result<ListPage<T>, StoreError>
where
    D: DeserializeOwned + Send + Sync,
{
    let total = match spec.pagination {
        Pagination::Page(_) => Some(
            collection
                .count_documents(and(clauses.clone()))
                .await
                .map_err(classify)?,
        ),
        Pagination::Cursor(_) => None,
    };
    let field = spec.field;
    if let Some((value, after_id)) = spec.after {
        clauses.push(keyset_after(field, value, after_id, spec.descending)?);
    }
    let direction = if spec.descending { -1 } else { 1 };
    let limit = i64::from(spec.limit);
    let docs: Vec<D> = collection
        .find(and(clauses))
        .sort(doc! { field: direction, "_id": direction })
        .skip(crate::domain::listing::offset(spec.pagination, spec.limit))
        .limit(limit + 1)
        .await
        .map_err(classify)?
        .try_collect()
        .await
        .map_err(classify)?;
    let has_next = docs.len() as i64 > limit;
    let items = docs
        .into_iter()
        .take(spec.limit as usize)
        .map(convert)
        .collect::<Result<_, _>>()?;
    Ok(ListPage {
        items,
        has_next,
        total,
    })
}

/// The documents after (`field`, `_id`) = (`value`, `after_id`) in that order.
fn keyset_after(
    field: &str,
    value: Bson,
    after_id: &str,
    descending: bool,
) -> Result<Document, StoreError> {
    let op = if descending { "$lt" } else { "$gt" };
    let after = ObjectId::parse_str(after_id).map_err(|e| StoreError::Other(e.into()))?;
    Ok(doc! { "$or": [
        { field: { op: value.clone() } },
        { field: value, "_id": { op: after } },
    ]})
}

/// A conditional write matched nothing: tells a stale version from a missing record.
async fn why_unmatched<D: Send + Sync>(collection: &Collection<D>, id: ObjectId) -> StoreError {
    match collection.count_documents(doc! { "_id": id }).await {
        Ok(0) => StoreError::NotFound,
        Ok(_) => StoreError::VersionConflict,
        Err(e) => classify(e),
    }
}

/// A write by `_id` that touched `count` documents: one, or the record is missing.
fn exactly_one(count: u64) -> Result<(), StoreError> {
    if count == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// An index definition for `create_indexes`.
fn index(keys: Document, name: &str, unique: bool, sparse: bool) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .unique(unique.then_some(true))
                .sparse(sparse.then_some(true))
                .build(),
        )
        .build()
}

/// A case-insensitive literal match of `text` in any of `fields`.
fn contains_any(fields: &[&str], text: &str) -> Document {
    let pattern = regex_literal(text);
    let alternatives: Vec<Document> = fields
        .iter()
        .map(|f| doc! { *f: { "$regex": &pattern, "$options": "i" } })
        .collect();
    doc! { "$or": alternatives }
}

#[cfg(test)]
mod tests {
    use super::{duplicated_field, regex_literal};

    #[test]
    fn a_hello_reply_tells_the_topology() {
        use super::Topology;
        use bson::doc;
        let replica = doc! { "isWritablePrimary": true, "setName": "rs0" };
        assert_eq!(
            Topology::of_hello(&replica),
            Topology::ReplicaSet { name: "rs0".into() }
        );
        let mongos = doc! { "isWritablePrimary": true, "msg": "isdbgrid" };
        assert_eq!(Topology::of_hello(&mongos), Topology::Sharded);
        let single = doc! { "isWritablePrimary": true, "maxWireVersion": 21 };
        assert_eq!(Topology::of_hello(&single), Topology::Standalone);
    }

    #[test]
    fn host_lists_are_named_without_credentials() {
        use super::hosts_of;
        assert_eq!(
            hosts_of("mongodb://u:p@db-a:27017,db-b/?replicaSet=rs0"),
            "db-a:27017,db-b"
        );
        assert_eq!(hosts_of("mongodb://127.0.0.1:27017"), "127.0.0.1:27017");
        assert_eq!(
            hosts_of("mongodb+srv://u:p%40ss@cluster.example.net/db"),
            "cluster.example.net"
        );
    }

    #[test]
    fn regex_metacharacters_are_escaped() {
        assert_eq!(regex_literal("a.b*(c)"), r"a\.b\*\(c\)");
        assert_eq!(regex_literal("चाय"), "चाय");
    }

    #[test]
    fn duplicate_key_errors_name_their_field() {
        let message = "E11000 duplicate key error collection: t.users index: email_unique dup key: { email: \"a@x.in\" }";
        assert_eq!(duplicated_field(message), "email");
        assert_eq!(duplicated_field("E11000 something else"), "key");
    }
}
