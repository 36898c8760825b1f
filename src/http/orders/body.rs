//! How an order is shown: [`OrderBody`] and its parts, and a page of them.
//! Every API of `http::orders` answers orders in this shape; [`AddressBody`]
//! is also the address an order is placed with.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::Object;
use serde::Deserialize;

use super::lifecycle::OrderInput;
use super::{example_time, EXAMPLE_ORDER, EXAMPLE_PRODUCT};
use crate::domain::order::flags::{Flag, FlagReason};
use crate::domain::order::ledger::{EntryStatus, LedgerEntry, LedgerKind};
use crate::domain::order::status::OrderStatus;
use crate::domain::order::Order;
use crate::http::wire::Wire;
use crate::list_object;

/// A shipping address in India.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields, rename = "Address")]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub name: String,
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub line1: String,
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    #[serde(default)]
    pub line2: Option<String>,
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub city: String,
    #[oai(validator(
        max_length = 200,
        pattern = r"[^\u0009-\u000D\u0085\u0020\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    ))]
    pub state: String,
    /// Six-digit PIN code.
    #[oai(validator(pattern = "^[0-9]{6}$"))]
    pub postal_code: String,
    /// Contact phone for delivery.
    #[oai(
        skip_serializing_if_is_none,
        validator(max_length = 32, pattern = r"^[+]?[0-9 ()-]+$")
    )]
    #[serde(default)]
    pub phone: Option<String>,
}

/// A line of an order, as it was when ordered.
#[derive(Debug, Clone, Object)]
pub struct OrderItemBody {
    pub product_id: String,
    /// The variant bought; for a product without options, the product's own id.
    pub variant_id: String,
    /// The variant's SKU.
    pub sku: String,
    /// The product's name.
    pub name: String,
    /// Which variant, its option values joined (`M / Red`); absent for a product without
    /// options.
    #[oai(skip_serializing_if_is_none)]
    pub variant_label: Option<String>,
    /// Paise.
    pub unit_price: i64,
    pub quantity: u32,
    /// `unit_price × quantity`, paise.
    pub line_total: i64,
}

/// One money movement.
#[derive(Debug, Clone, Object)]
pub struct LedgerEntryBody {
    pub kind: Wire<LedgerKind>,
    /// Razorpay's id of the movement (`pay_…` or `rfnd_…`).
    pub provider_id: String,
    pub payment_id: String,
    /// In the minor unit of `currency` (paise for INR).
    pub amount: i64,
    /// ISO 4217, as Razorpay reported it. Only entries in the order's currency
    /// count in `captured` and `refunded`; another is a mismatch.
    pub currency: String,
    pub status: Wire<EntryStatus>,
    pub recorded_at: DateTime<Utc>,
}

/// Something wrong with the order's money that staff should look at.
#[derive(Debug, Clone, Object)]
#[oai(rename = "OrderFlag")]
pub struct FlagBody {
    pub reason: Wire<FlagReason>,
    /// The Razorpay id it is about (`pay_…` or `rfnd_…`).
    pub subject: String,
    /// For people: the amounts and currencies involved.
    pub detail: String,
    pub flagged_at: DateTime<Utc>,
}

impl From<&Flag> for FlagBody {
    fn from(f: &Flag) -> Self {
        Self {
            reason: Wire(f.reason),
            subject: f.subject.clone(),
            detail: f.detail.clone(),
            flagged_at: f.flagged_at,
        }
    }
}

impl From<&LedgerEntry> for LedgerEntryBody {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            kind: Wire(e.kind),
            provider_id: e.provider_id.clone(),
            payment_id: e.payment_id.clone(),
            amount: e.amount.get(),
            currency: e.currency.clone(),
            status: Wire(e.status),
            recorded_at: e.recorded_at,
        }
    }
}

/// An order.
#[derive(Debug, Clone, Object)]
#[oai(example, rename = "Order")]
pub struct OrderBody {
    pub id: String,
    pub user_id: String,
    pub status: Wire<OrderStatus>,
    pub items: Vec<OrderItemBody>,
    pub currency: String,
    /// Paise.
    pub subtotal: i64,
    /// GST on the subtotal, rounded half up to the paisa.
    pub tax: i64,
    /// GST rate in basis points (1800 = 18%).
    pub tax_rate_bp: u32,
    /// `subtotal + tax`, paise: what the customer pays.
    pub total: i64,
    /// Captured so far (from the ledger), paise.
    pub captured: i64,
    /// Refunded or being refunded, paise.
    pub refunded: i64,
    /// What can still be refunded, paise.
    pub refundable: i64,
    #[oai(skip_serializing_if_is_none)]
    pub address: Option<AddressBody>,
    #[oai(skip_serializing_if_is_none)]
    pub notes: Option<String>,
    /// Razorpay's order id once checkout started.
    #[oai(skip_serializing_if_is_none)]
    pub razorpay_order_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub payment_id: Option<String>,
    /// Why the last payment attempt failed, while unpaid.
    #[oai(skip_serializing_if_is_none)]
    pub last_payment_failure: Option<String>,
    /// Every capture and refund.
    pub ledger: Vec<LedgerEntryBody>,
    /// What staff should look at, oldest first; empty for almost every order.
    pub flags: Vec<FlagBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An unpaid order expires then.
    pub expires_at: DateTime<Utc>,
    pub version: u64,
}

impl From<&Order> for OrderBody {
    fn from(o: &Order) -> Self {
        Self {
            id: o.id.to_string(),
            user_id: o.user_id.to_string(),
            status: Wire(o.status),
            items: o
                .items
                .iter()
                .map(|i| OrderItemBody {
                    product_id: i.product_id.to_string(),
                    variant_id: i.variant_id.to_string(),
                    sku: i.sku.clone(),
                    name: i.name.clone(),
                    variant_label: i.variant_label.clone(),
                    unit_price: i.unit_price.get(),
                    quantity: i.quantity,
                    line_total: i.line_total.get(),
                })
                .collect(),
            currency: o.currency.as_str().into(),
            subtotal: o.subtotal.get(),
            tax: o.tax.get(),
            tax_rate_bp: o.tax_rate_bp,
            total: o.total.get(),
            captured: o.captured(),
            refunded: o.refunded(),
            refundable: o.refundable(),
            address: o.address.as_ref().map(|a| AddressBody {
                name: a.name.clone(),
                line1: a.line1.clone(),
                line2: a.line2.clone(),
                city: a.city.clone(),
                state: a.state.clone(),
                postal_code: a.postal_code.clone(),
                phone: a.phone.clone(),
            }),
            notes: o.notes.clone(),
            razorpay_order_id: o.payment.provider_order_id.clone(),
            payment_id: o.payment.payment_id.clone(),
            last_payment_failure: o.payment.last_failure.clone(),
            ledger: o.ledger.iter().map(Into::into).collect(),
            flags: o.flags.iter().map(Into::into).collect(),
            created_at: o.created_at,
            updated_at: o.updated_at,
            expires_at: o.expires_at,
            version: o.version,
        }
    }
}

list_object!(
    /// One page of orders, newest first unless `sort` says otherwise.
    #[oai(example)]
    OrderList,
    OrderBody
);

impl Example for OrderBody {
    fn example() -> Self {
        Self {
            id: EXAMPLE_ORDER.into(),
            user_id: "6650c0ffee0000000000a001".into(),
            status: Wire(OrderStatus::Paid),
            items: vec![OrderItemBody {
                product_id: EXAMPLE_PRODUCT.into(),
                variant_id: "6650c0ffee0000000000abce".into(),
                sku: "KURTA-M-BLUE".into(),
                name: "Cotton kurta".into(),
                variant_label: Some("M / Blue".into()),
                unit_price: 129_900,
                quantity: 2,
                line_total: 259_800,
            }],
            currency: "INR".into(),
            subtotal: 259_800,
            tax: 46_764,
            tax_rate_bp: 1800,
            total: 306_564,
            captured: 306_564,
            refunded: 0,
            refundable: 306_564,
            address: OrderInput::example().address,
            notes: None,
            razorpay_order_id: Some("order_IEIaMR65cu6nz3".into()),
            payment_id: Some("pay_IH4NVgf4Dreq1l".into()),
            last_payment_failure: None,
            ledger: vec![LedgerEntryBody {
                kind: Wire(LedgerKind::Capture),
                provider_id: "pay_IH4NVgf4Dreq1l".into(),
                payment_id: "pay_IH4NVgf4Dreq1l".into(),
                amount: 306_564,
                currency: "INR".into(),
                status: Wire(EntryStatus::Settled),
                recorded_at: example_time(120),
            }],
            flags: Vec::new(),
            created_at: example_time(0),
            updated_at: example_time(120),
            expires_at: example_time(1800),
            version: 3,
        }
    }
}

impl Example for OrderList {
    fn example() -> Self {
        Self {
            items: vec![OrderBody::example()],
            limit: 20,
            has_next: false,
            has_prev: false,
            next_cursor: None,
            page: None,
            total: None,
            total_pages: None,
            links: crate::http::listing::PageLinks {
                this: "/api/v1/orders?status=paid&limit=20".into(),
                first: "/api/v1/orders?status=paid&limit=20".into(),
                next: None,
                prev: None,
                last: None,
            },
        }
    }
}
