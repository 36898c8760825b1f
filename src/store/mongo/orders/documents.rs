//! An order as stored: [`OrderDoc`] and its parts, and the mapping between them
//! and the domain's `Order`. A stored value the domain does not accept is
//! reported as corrupt, never passed on.

use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::domain::ids::{ProductId, VariantId};
use crate::domain::money::{Currency, Paise};
use crate::domain::order::cod::{OfflineDetail, OfflineMethod, PaymentMethod};
use crate::domain::order::flags::{Flag, FlagReason};
use crate::domain::order::fulfilment::{Fulfilment, ReturnRequest, Shipment};
use crate::domain::order::ledger::{EntryStatus, LedgerEntry, LedgerKind};
use crate::domain::order::payment::PaymentInfo;
use crate::domain::order::status::OrderStatus;
use crate::domain::order::{Address, Order, OrderId, OrderItem};
use crate::domain::request_key::RequestKey;
use crate::domain::user::UserId;
use crate::store::mongo::tax_docs::OrderTaxDoc;
use crate::store::StoreError;

#[derive(Debug, Serialize, Deserialize)]
struct ItemDoc {
    product_id: String,
    /// Absent on lines ordered before variants existed: the product's default variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    variant_id: Option<String>,
    sku: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    variant_label: Option<String>,
    unit_price: i64,
    quantity: i64,
    line_total: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct AddressDoc {
    name: String,
    line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line2: Option<String>,
    city: String,
    state: String,
    postal_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    landmark: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state_code: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PaymentDoc {
    // Absent, not null, so the sparse unique index ignores orders without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_failure: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct EntryDoc {
    kind: String,
    provider_id: String,
    payment_id: String,
    amount: i64,
    /// Absent on entries written before currencies were kept: rupees.
    #[serde(default = "rupees")]
    currency: String,
    status: String,
    recorded_at: bson::DateTime,
    /// Only on cash-on-delivery movements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offline: Option<OfflineDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct OfflineDoc {
    method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ShipmentDoc {
    carrier: String,
    tracking_number: String,
    shipped_at: bson::DateTime,
}

#[derive(Debug, Serialize, Deserialize)]
struct ReturnDoc {
    reason: String,
    requested_at: bson::DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    received_at: Option<bson::DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restocked: Option<bool>,
}

/// Absent on orders stored before fulfilment was recorded.
#[derive(Debug, Default, Serialize, Deserialize)]
struct FulfilmentDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shipment: Option<ShipmentDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivered_at: Option<bson::DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "return")]
    return_request: Option<ReturnDoc>,
}

impl FulfilmentDoc {
    fn from_fulfilment(f: &Fulfilment) -> Self {
        let at = bson::DateTime::from_chrono;
        Self {
            shipment: f.shipment.as_ref().map(|s| ShipmentDoc {
                carrier: s.carrier.clone(),
                tracking_number: s.tracking_number.clone(),
                shipped_at: at(s.shipped_at),
            }),
            delivered_at: f.delivered_at.map(at),
            return_request: f.return_request.as_ref().map(|r| ReturnDoc {
                reason: r.reason.clone(),
                requested_at: at(r.requested_at),
                received_at: r.received_at.map(at),
                restocked: r.restocked,
            }),
        }
    }

    fn into_fulfilment(self) -> Fulfilment {
        Fulfilment {
            shipment: self.shipment.map(|s| Shipment {
                carrier: s.carrier,
                tracking_number: s.tracking_number,
                shipped_at: s.shipped_at.to_chrono(),
            }),
            delivered_at: self.delivered_at.map(|d| d.to_chrono()),
            return_request: self.return_request.map(|r| ReturnRequest {
                reason: r.reason,
                requested_at: r.requested_at.to_chrono(),
                received_at: r.received_at.map(|d| d.to_chrono()),
                restocked: r.restocked,
            }),
        }
    }
}

/// Absent on orders stored before cash on delivery existed: Razorpay.
fn razorpay() -> String {
    PaymentMethod::Razorpay.as_str().to_owned()
}

fn rupees() -> String {
    Currency::Inr.as_str().to_owned()
}

#[derive(Debug, Serialize, Deserialize)]
struct FlagDoc {
    reason: String,
    subject: String,
    detail: String,
    flagged_at: bson::DateTime,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct OrderDoc {
    #[serde(rename = "_id")]
    pub(super) id: ObjectId,
    user_id: String,
    items: Vec<ItemDoc>,
    currency: String,
    subtotal: i64,
    // Orders placed before checkout from the cart have neither: zero.
    #[serde(default)]
    discount: i64,
    #[serde(default)]
    shipping: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    coupon_code: Option<String>,
    tax: i64,
    tax_rate_bp: i64,
    /// Absent on orders placed before GST was kept line by line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gst: Option<OrderTaxDoc>,
    total: i64,
    status: String,
    #[serde(default = "razorpay")]
    payment_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<AddressDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
    #[serde(default)]
    payment: PaymentDoc,
    #[serde(default)]
    ledger: Vec<EntryDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    flags: Vec<FlagDoc>,
    #[serde(default)]
    fulfilment: FulfilmentDoc,
    /// Set (true) only on flagged orders, for the sparse index.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    flagged: bool,
    /// The order's unpaid-order slot, kept after it was paid (for reading back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slot: Option<i64>,
    /// `user:slot` while the order is unpaid, absent otherwise: what the
    /// unique index holds the cap with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unpaid_slot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_key: Option<RequestKeyDoc>,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    expires_at: bson::DateTime,
    version: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct RequestKeyDoc {
    id: String,
    fingerprint: String,
}

pub(super) fn object_id(id: &OrderId) -> Result<ObjectId, StoreError> {
    ObjectId::parse_str(id.as_str()).map_err(|e| StoreError::Other(e.into()))
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("stored order has an invalid {what}"))
}

fn ledger_kind(raw: &str) -> Result<LedgerKind, StoreError> {
    [LedgerKind::Capture, LedgerKind::Refund]
        .into_iter()
        .find(|k| k.as_str() == raw)
        .ok_or_else(|| corrupt("ledger kind"))
}

fn entry_status(raw: &str) -> Result<EntryStatus, StoreError> {
    [
        EntryStatus::Pending,
        EntryStatus::Settled,
        EntryStatus::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == raw)
    .ok_or_else(|| corrupt("ledger status"))
}

fn to_u32(n: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| corrupt(what))
}

impl ItemDoc {
    fn from_item(i: &OrderItem) -> Self {
        Self {
            product_id: i.product_id.to_string(),
            variant_id: Some(i.variant_id.to_string()),
            sku: i.sku.clone(),
            name: i.name.clone(),
            variant_label: i.variant_label.clone(),
            unit_price: i.unit_price.get(),
            quantity: i64::from(i.quantity),
            line_total: i.line_total.get(),
        }
    }

    fn into_item(self) -> Result<OrderItem, StoreError> {
        let product_id = ProductId::trusted(self.product_id);
        Ok(OrderItem {
            variant_id: self
                .variant_id
                .map_or_else(|| VariantId::default_of(&product_id), VariantId::trusted),
            product_id,
            sku: self.sku,
            name: self.name,
            variant_label: self.variant_label,
            unit_price: Paise::trusted(self.unit_price),
            quantity: to_u32(self.quantity, "quantity")?,
            line_total: Paise::trusted(self.line_total),
        })
    }
}

impl AddressDoc {
    fn from_address(a: &Address) -> Self {
        Self {
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            postal_code: a.postal_code.clone(),
            phone: a.phone.clone(),
            landmark: a.landmark.clone(),
            state_code: a.state_code.clone(),
        }
    }

    fn into_address(self) -> Address {
        Address {
            name: self.name,
            line1: self.line1,
            line2: self.line2,
            city: self.city,
            state: self.state,
            postal_code: self.postal_code,
            phone: self.phone,
            landmark: self.landmark,
            state_code: self.state_code,
        }
    }
}

impl EntryDoc {
    fn from_entry(e: &LedgerEntry) -> Self {
        Self {
            kind: e.kind.as_str().to_owned(),
            provider_id: e.provider_id.clone(),
            payment_id: e.payment_id.clone(),
            amount: e.amount.get(),
            currency: e.currency.clone(),
            status: e.status.as_str().to_owned(),
            recorded_at: bson::DateTime::from_chrono(e.recorded_at),
            offline: e.offline.as_ref().map(|o| OfflineDoc {
                method: o.method.as_str().to_owned(),
                reference: o.reference.clone(),
            }),
        }
    }

    fn into_entry(self) -> Result<LedgerEntry, StoreError> {
        Ok(LedgerEntry {
            kind: ledger_kind(&self.kind)?,
            provider_id: self.provider_id,
            payment_id: self.payment_id,
            amount: Paise::trusted(self.amount),
            currency: self.currency,
            status: entry_status(&self.status)?,
            recorded_at: self.recorded_at.to_chrono(),
            offline: self
                .offline
                .map(|o| {
                    Ok::<_, StoreError>(OfflineDetail {
                        method: OfflineMethod::parse("method", &o.method)
                            .map_err(|_| corrupt("offline method"))?,
                        reference: o.reference,
                    })
                })
                .transpose()?,
        })
    }
}

impl FlagDoc {
    fn from_flag(f: &Flag) -> Self {
        Self {
            reason: f.reason.as_str().to_owned(),
            subject: f.subject.clone(),
            detail: f.detail.clone(),
            flagged_at: bson::DateTime::from_chrono(f.flagged_at),
        }
    }

    fn into_flag(self) -> Result<Flag, StoreError> {
        Ok(Flag {
            reason: FlagReason::parse(&self.reason).ok_or_else(|| corrupt("flag reason"))?,
            subject: self.subject,
            detail: self.detail,
            flagged_at: self.flagged_at.to_chrono(),
        })
    }
}

impl OrderDoc {
    pub(super) fn from_order(o: &Order) -> Result<Self, StoreError> {
        Ok(Self {
            id: object_id(&o.id)?,
            user_id: o.user_id.to_string(),
            items: o.items.iter().map(ItemDoc::from_item).collect(),
            currency: o.currency.as_str().to_owned(),
            subtotal: o.subtotal.get(),
            discount: o.discount.get(),
            shipping: o.shipping.get(),
            coupon_code: o.coupon_code.clone(),
            tax: o.tax.get(),
            tax_rate_bp: i64::from(o.tax_rate_bp),
            gst: o.gst.as_ref().map(OrderTaxDoc::from_tax),
            total: o.total.get(),
            status: o.status.as_str().to_owned(),
            payment_method: o.payment_method.as_str().to_owned(),
            address: o.address.as_ref().map(AddressDoc::from_address),
            notes: o.notes.clone(),
            payment: PaymentDoc {
                provider_order_id: o.payment.provider_order_id.clone(),
                payment_id: o.payment.payment_id.clone(),
                last_failure: o.payment.last_failure.clone(),
            },
            ledger: o.ledger.iter().map(EntryDoc::from_entry).collect(),
            flags: o.flags.iter().map(FlagDoc::from_flag).collect(),
            fulfilment: FulfilmentDoc::from_fulfilment(&o.fulfilment),
            flagged: !o.flags.is_empty(),
            slot: o.unpaid_slot.map(i64::from),
            unpaid_slot: o
                .unpaid_slot
                .filter(|_| o.status.is_unpaid())
                .map(|slot| format!("{}:{slot}", o.user_id)),
            request_key: o.request_key.as_ref().map(|k| RequestKeyDoc {
                id: k.id.clone(),
                fingerprint: k.fingerprint.clone(),
            }),
            created_at: bson::DateTime::from_chrono(o.created_at),
            updated_at: bson::DateTime::from_chrono(o.updated_at),
            expires_at: bson::DateTime::from_chrono(o.expires_at),
            version: o.version as i64,
        })
    }

    pub(super) fn into_order(self) -> Result<Order, StoreError> {
        Ok(Order {
            id: OrderId::trusted(self.id.to_hex()),
            user_id: UserId::trusted(self.user_id),
            items: self
                .items
                .into_iter()
                .map(ItemDoc::into_item)
                .collect::<Result<_, _>>()?,
            currency: Currency::parse("currency", &self.currency)
                .map_err(|_| corrupt("currency"))?,
            subtotal: Paise::trusted(self.subtotal),
            discount: Paise::trusted(self.discount),
            shipping: Paise::trusted(self.shipping),
            coupon_code: self.coupon_code,
            tax: Paise::trusted(self.tax),
            tax_rate_bp: to_u32(self.tax_rate_bp, "tax rate")?,
            gst: self.gst.map(OrderTaxDoc::into_tax).transpose()?,
            total: Paise::trusted(self.total),
            status: OrderStatus::parse("status", &self.status).map_err(|_| corrupt("status"))?,
            payment_method: PaymentMethod::parse("payment_method", &self.payment_method)
                .map_err(|_| corrupt("payment method"))?,
            address: self.address.map(AddressDoc::into_address),
            notes: self.notes,
            payment: PaymentInfo {
                provider_order_id: self.payment.provider_order_id,
                payment_id: self.payment.payment_id,
                last_failure: self.payment.last_failure,
            },
            ledger: self
                .ledger
                .into_iter()
                .map(EntryDoc::into_entry)
                .collect::<Result<_, _>>()?,
            flags: self
                .flags
                .into_iter()
                .map(FlagDoc::into_flag)
                .collect::<Result<_, _>>()?,
            fulfilment: self.fulfilment.into_fulfilment(),
            unpaid_slot: self.slot.map(|n| to_u32(n, "unpaid slot")).transpose()?,
            request_key: self.request_key.map(|k| RequestKey {
                id: k.id,
                fingerprint: k.fingerprint,
            }),
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
            expires_at: self.expires_at.to_chrono(),
            version: self.version as u64,
        })
    }
}
