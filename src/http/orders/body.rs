//! How an order is shown: [`OrderBody`] and its parts, and a page of them.
//! Every API of `http::orders` answers orders in this shape; [`AddressBody`]
//! is also the address an order is placed with.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::Object;
use serde::Deserialize;

use super::lifecycle::OrderInput;
use super::{example_time, EXAMPLE_ORDER, EXAMPLE_PRODUCT};
use crate::domain::order::cod::{OfflineDetail, OfflineMethod, PaymentMethod};
use crate::domain::order::flags::{Flag, FlagReason};
use crate::domain::order::fulfilment::{ReturnRequest, Shipment};
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
    /// A landmark the courier looks for.
    #[oai(skip_serializing_if_is_none, validator(max_length = 200))]
    #[serde(default)]
    pub landmark: Option<String>,
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
    /// How a cash-on-delivery movement was made and its reference; absent for Razorpay's.
    #[oai(skip_serializing_if_is_none)]
    pub offline: Option<OfflineBody>,
}

/// A money movement outside Razorpay, as staff recorded it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "OfflineMovement")]
pub struct OfflineBody {
    pub method: Wire<OfflineMethod>,
    /// A receipt number, UPI transaction id or bank reference.
    #[oai(skip_serializing_if_is_none)]
    pub reference: Option<String>,
}

impl From<&OfflineDetail> for OfflineBody {
    fn from(o: &OfflineDetail) -> Self {
        Self {
            method: Wire(o.method),
            reference: o.reference.clone(),
        }
    }
}

/// Who carries the parcel and how to follow it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Shipment")]
pub struct ShipmentBody {
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
}

impl From<&Shipment> for ShipmentBody {
    fn from(s: &Shipment) -> Self {
        Self {
            carrier: s.carrier.clone(),
            tracking_number: s.tracking_number.clone(),
            shipped_at: s.shipped_at,
        }
    }
}

/// The customer's request to return the order, and what became of it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ReturnRequest")]
pub struct ReturnRequestBody {
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    /// When staff received the goods back.
    #[oai(skip_serializing_if_is_none)]
    pub received_at: Option<DateTime<Utc>>,
    /// Whether the goods went back to stock.
    #[oai(skip_serializing_if_is_none)]
    pub restocked: Option<bool>,
}

impl From<&ReturnRequest> for ReturnRequestBody {
    fn from(r: &ReturnRequest) -> Self {
        Self {
            reason: r.reason.clone(),
            requested_at: r.requested_at,
            received_at: r.received_at,
            restocked: r.restocked,
        }
    }
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
            offline: e.offline.as_ref().map(Into::into),
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
    pub payment_method: Wire<PaymentMethod>,
    pub items: Vec<OrderItemBody>,
    pub currency: String,
    /// Paise.
    pub subtotal: i64,
    /// What the coupon took off the subtotal, paise; 0 without one.
    pub discount: i64,
    /// The delivery fee, paise; 0 when free or when the order was placed without the cart.
    pub shipping: i64,
    /// The coupon redeemed for the order; its use is given back if the order is
    /// cancelled or expires.
    #[oai(skip_serializing_if_is_none)]
    pub coupon_code: Option<String>,
    /// GST on the taxable value (`subtotal − discount + shipping`), rounded half up to the paisa.
    pub tax: i64,
    /// GST rate in basis points (1800 = 18%).
    pub tax_rate_bp: u32,
    /// `subtotal − discount + shipping + tax`, paise: what the customer pays.
    pub total: i64,
    /// The GST state code of the delivery address (`29` for Karnataka), the place of
    /// supply; set when the address came from the address book.
    #[oai(skip_serializing_if_is_none)]
    pub place_of_supply: Option<String>,
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
    /// The carrier and tracking number, once shipped with them.
    #[oai(skip_serializing_if_is_none)]
    pub shipment: Option<ShipmentBody>,
    /// When staff marked it delivered; the return window runs from then.
    #[oai(skip_serializing_if_is_none)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The customer's return request, once made.
    #[oai(skip_serializing_if_is_none)]
    pub return_request: Option<ReturnRequestBody>,
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
            payment_method: Wire(o.payment_method),
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
            discount: o.discount.get(),
            shipping: o.shipping.get(),
            coupon_code: o.coupon_code.clone(),
            tax: o.tax.get(),
            tax_rate_bp: o.tax_rate_bp,
            total: o.total.get(),
            place_of_supply: o.address.as_ref().and_then(|a| a.state_code.clone()),
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
                landmark: a.landmark.clone(),
            }),
            notes: o.notes.clone(),
            razorpay_order_id: o.payment.provider_order_id.clone(),
            payment_id: o.payment.payment_id.clone(),
            last_payment_failure: o.payment.last_failure.clone(),
            ledger: o.ledger.iter().map(Into::into).collect(),
            flags: o.flags.iter().map(Into::into).collect(),
            shipment: o.fulfilment.shipment.as_ref().map(Into::into),
            delivered_at: o.fulfilment.delivered_at,
            return_request: o.fulfilment.return_request.as_ref().map(Into::into),
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
            status: Wire(OrderStatus::Shipped),
            payment_method: Wire(PaymentMethod::Razorpay),
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
            discount: 20_000,
            shipping: 0,
            coupon_code: Some("DIWALI10".into()),
            tax: 43_164,
            tax_rate_bp: 1800,
            total: 282_964,
            place_of_supply: Some("29".into()),
            captured: 282_964,
            refunded: 0,
            refundable: 282_964,
            address: OrderInput::example().address,
            notes: None,
            razorpay_order_id: Some("order_IEIaMR65cu6nz3".into()),
            payment_id: Some("pay_IH4NVgf4Dreq1l".into()),
            last_payment_failure: None,
            ledger: vec![LedgerEntryBody {
                kind: Wire(LedgerKind::Capture),
                provider_id: "pay_IH4NVgf4Dreq1l".into(),
                payment_id: "pay_IH4NVgf4Dreq1l".into(),
                amount: 282_964,
                currency: "INR".into(),
                status: Wire(EntryStatus::Settled),
                recorded_at: example_time(120),
                offline: None,
            }],
            flags: Vec::new(),
            shipment: Some(ShipmentBody {
                carrier: "Delhivery".into(),
                tracking_number: "1234567890123".into(),
                shipped_at: example_time(86_400),
            }),
            delivered_at: None,
            return_request: None,
            created_at: example_time(0),
            updated_at: example_time(86_400),
            expires_at: example_time(1800),
            version: 5,
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
