//! Coupons in MongoDB (collection `coupons`, `_id` the code).
//!
//! A coupon's redemptions live in its own document: `redeemed` maps each redeeming order
//! to its customer and `per_customer` counts each customer's uses, beside `uses`. Taking a
//! use is then one conditional update of one document (uses below the total limit, the
//! customer's count below theirs, the order not yet in `redeemed`), which MongoDB applies
//! atomically: concurrent redemptions can never take more uses than are left. A document
//! holds about a hundred thousand redemptions before MongoDB's 16 MB limit; see
//! docs/storefront.md.

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{classify, exactly_one};
use crate::domain::coupon::{Coupon, CouponCode, CouponRules, Discount};
use crate::domain::money::Paise;
use crate::domain::order::OrderId;
use crate::domain::user::UserId;
use crate::store::{CouponRepository, Redemption, StoreError};

/// How often a redemption is tried again when staff changed the limits between its read
/// and its update.
const REDEEM_ATTEMPTS: u32 = 5;

pub struct MongoCoupons {
    collection: Collection<CouponDoc>,
    raw: Collection<Document>,
}

impl MongoCoupons {
    /// Opens the `coupons` collection; the code is `_id`, the only index it needs.
    pub async fn new(db: &Database) -> Result<Self, StoreError> {
        Ok(Self {
            collection: db.collection::<CouponDoc>("coupons"),
            raw: db.collection::<Document>("coupons"),
        })
    }
}

/// The coupon's fields; `redeemed` and `per_customer` are only read by projection.
#[derive(Debug, Serialize, Deserialize)]
struct CouponDoc {
    #[serde(rename = "_id")]
    code: String,
    discount_kind: String,
    percent_bp: Option<i64>,
    max_paise: Option<i64>,
    amount_paise: Option<i64>,
    min_order_paise: Option<i64>,
    starts_at: Option<bson::DateTime>,
    ends_at: Option<bson::DateTime>,
    total_limit: Option<i64>,
    per_customer_limit: Option<i64>,
    first_order_only: bool,
    categories: Vec<String>,
    enabled: bool,
    #[serde(default)]
    uses: i64,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("stored coupon has an invalid {what}"))
}

fn count(n: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| corrupt(what))
}

impl CouponDoc {
    fn from_coupon(c: &Coupon) -> Self {
        let r = &c.rules;
        let (kind, percent_bp, max_paise, amount_paise) = match r.discount {
            Discount::Percent { basis_points, cap } => (
                "percent",
                Some(i64::from(basis_points)),
                cap.map(Paise::get),
                None,
            ),
            Discount::Flat(amount) => ("flat", None, None, Some(amount.get())),
        };
        Self {
            code: c.code.as_str().to_owned(),
            discount_kind: kind.to_owned(),
            percent_bp,
            max_paise,
            amount_paise,
            min_order_paise: r.min_order.map(Paise::get),
            starts_at: r.starts_at.map(bson::DateTime::from_chrono),
            ends_at: r.ends_at.map(bson::DateTime::from_chrono),
            total_limit: r.total_limit.map(i64::from),
            per_customer_limit: r.per_customer_limit.map(i64::from),
            first_order_only: r.first_order_only,
            categories: r.categories.clone(),
            enabled: r.enabled,
            uses: i64::from(c.uses),
            created_at: bson::DateTime::from_chrono(c.created_at),
            updated_at: bson::DateTime::from_chrono(c.updated_at),
        }
    }

    fn into_coupon(self) -> Result<Coupon, StoreError> {
        let discount = match (
            self.discount_kind.as_str(),
            self.percent_bp,
            self.amount_paise,
        ) {
            ("percent", Some(bp), _) => Discount::Percent {
                basis_points: count(bp, "discount")?,
                cap: self.max_paise.map(Paise::trusted),
            },
            ("flat", _, Some(amount)) => Discount::Flat(Paise::trusted(amount)),
            _ => return Err(corrupt("discount")),
        };
        Ok(Coupon {
            code: CouponCode::trusted(self.code),
            rules: CouponRules {
                discount,
                min_order: self.min_order_paise.map(Paise::trusted),
                starts_at: self.starts_at.map(bson::DateTime::to_chrono),
                ends_at: self.ends_at.map(bson::DateTime::to_chrono),
                total_limit: self.total_limit.map(|n| count(n, "limit")).transpose()?,
                per_customer_limit: self
                    .per_customer_limit
                    .map(|n| count(n, "limit"))
                    .transpose()?,
                first_order_only: self.first_order_only,
                categories: self.categories,
                enabled: self.enabled,
            },
            uses: count(self.uses, "uses")?,
            created_at: self.created_at.to_chrono(),
            updated_at: self.updated_at.to_chrono(),
        })
    }
}

/// Leaves the redemption maps out of whole-coupon reads.
fn without_redemptions() -> Document {
    doc! { "redeemed": 0, "per_customer": 0 }
}

fn limit_value(limit: Option<u32>) -> Bson {
    limit.map_or(Bson::Null, |n| Bson::Int64(i64::from(n)))
}

fn int(doc: &Document, key: &str) -> i64 {
    match doc.get(key) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Double(n)) => *n as i64,
        _ => 0,
    }
}

fn optional_limit(doc: &Document, key: &str) -> Option<i64> {
    match doc.get(key) {
        None | Some(Bson::Null) => None,
        Some(_) => Some(int(doc, key)),
    }
}

#[async_trait]
impl CouponRepository for MongoCoupons {
    #[tracing::instrument(skip_all, fields(coupon = %coupon.code))]
    async fn insert(&self, coupon: &Coupon) -> Result<(), StoreError> {
        let mut doc = CouponDoc::from_coupon(coupon);
        doc.uses = 0;
        match self.collection.insert_one(doc).await.map_err(classify) {
            Err(StoreError::Duplicate { .. }) => Err(StoreError::Duplicate { field: "code" }),
            other => other.map(|_| ()),
        }
    }

    #[tracing::instrument(skip_all, fields(coupon = %code))]
    async fn get(&self, code: &CouponCode) -> Result<Option<Coupon>, StoreError> {
        self.collection
            .find_one(doc! { "_id": code.as_str() })
            .projection(without_redemptions())
            .await
            .map_err(classify)?
            .map(CouponDoc::into_coupon)
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(coupon = %coupon.code))]
    async fn update(&self, coupon: &Coupon) -> Result<(), StoreError> {
        let mut fields = bson::to_document(&CouponDoc::from_coupon(coupon))
            .map_err(|e| StoreError::Other(e.into()))?;
        for kept in ["_id", "uses", "created_at"] {
            fields.remove(kept);
        }
        let result = self
            .raw
            .update_one(
                doc! { "_id": coupon.code.as_str() },
                doc! { "$set": fields },
            )
            .await
            .map_err(classify)?;
        exactly_one(result.matched_count)
    }

    #[tracing::instrument(skip_all, fields(coupon = %code))]
    async fn delete(&self, code: &CouponCode) -> Result<(), StoreError> {
        let result = self
            .raw
            .delete_one(doc! { "_id": code.as_str() })
            .await
            .map_err(classify)?;
        exactly_one(result.deleted_count)
    }

    #[tracing::instrument(skip_all)]
    async fn list(&self) -> Result<Vec<Coupon>, StoreError> {
        let docs: Vec<CouponDoc> = self
            .collection
            .find(doc! {})
            .projection(without_redemptions())
            .sort(doc! { "_id": 1 })
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        docs.into_iter().map(CouponDoc::into_coupon).collect()
    }

    #[tracing::instrument(skip_all, fields(coupon = %code))]
    async fn redemptions_of(&self, code: &CouponCode, user: &UserId) -> Result<u32, StoreError> {
        let key = format!("per_customer.{user}");
        let found = self
            .raw
            .find_one(doc! { "_id": code.as_str() })
            .projection(doc! { &key: 1 })
            .await
            .map_err(classify)?;
        let held = found
            .as_ref()
            .and_then(|d| d.get_document("per_customer").ok())
            .map_or(0, |p| int(p, user.as_str()));
        count(held.max(0), "per-customer count")
    }

    #[tracing::instrument(skip_all, fields(coupon = %code, order_id = %order))]
    async fn redeem(
        &self,
        code: &CouponCode,
        user: &UserId,
        order: &OrderId,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError> {
        let order_key = format!("redeemed.{order}");
        let user_key = format!("per_customer.{user}");
        for _ in 0..REDEEM_ATTEMPTS {
            let Some(found) = self
                .raw
                .find_one(doc! { "_id": code.as_str() })
                .projection(doc! {
                    "uses": 1, "total_limit": 1, "per_customer_limit": 1,
                    &order_key: 1, &user_key: 1,
                })
                .await
                .map_err(classify)?
            else {
                return Ok(Redemption::Unknown);
            };
            let redeemed = found.get_document("redeemed").ok();
            if redeemed.is_some_and(|r| r.contains_key(order.as_str())) {
                return Ok(Redemption::AlreadyRedeemed);
            }
            let total = optional_limit(&found, "total_limit");
            let per_customer = optional_limit(&found, "per_customer_limit");
            let held = found
                .get_document("per_customer")
                .map_or(0, |p| int(p, user.as_str()));
            if total.is_some_and(|n| int(&found, "uses") >= n) {
                return Ok(Redemption::Exhausted);
            }
            if per_customer.is_some_and(|n| held >= n) {
                return Ok(Redemption::PerCustomerLimit);
            }
            // The limits as read are part of the condition, so a limit staff changed
            // meanwhile sends the redemption round again instead of past the new one.
            let mut filter = doc! {
                "_id": code.as_str(),
                "total_limit": limit_value(total.map(|n| n as u32)),
                "per_customer_limit": limit_value(per_customer.map(|n| n as u32)),
                &order_key: { "$exists": false },
            };
            if let Some(n) = total {
                filter.insert("uses", doc! { "$lt": n });
            }
            if let Some(n) = per_customer {
                filter.insert(
                    "$or",
                    vec![
                        doc! { &user_key: { "$exists": false } },
                        doc! { &user_key: { "$lt": n } },
                    ],
                );
            }
            let result = self
                .raw
                .update_one(
                    filter,
                    doc! {
                        "$set": { &order_key: user.as_str(), "last_redeemed_at": bson::DateTime::from_chrono(now) },
                        "$inc": { "uses": 1_i64, &user_key: 1_i64 },
                    },
                )
                .await
                .map_err(classify)?;
            if result.matched_count == 1 {
                return Ok(Redemption::Redeemed);
            }
        }
        Err(StoreError::VersionConflict)
    }

    #[tracing::instrument(skip_all, fields(coupon = %code, order_id = %order))]
    async fn release(&self, code: &CouponCode, order: &OrderId) -> Result<bool, StoreError> {
        let order_key = format!("redeemed.{order}");
        let found = self
            .raw
            .find_one(doc! { "_id": code.as_str() })
            .projection(doc! { &order_key: 1 })
            .await
            .map_err(classify)?;
        let Some(user) = found
            .as_ref()
            .and_then(|d| d.get_document("redeemed").ok())
            .and_then(|r| r.get_str(order.as_str()).ok())
            .map(str::to_owned)
        else {
            return Ok(false);
        };
        let result = self
            .raw
            .update_one(
                doc! { "_id": code.as_str(), &order_key: &user },
                doc! {
                    "$unset": { &order_key: "" },
                    "$inc": { "uses": -1_i64, format!("per_customer.{user}"): -1_i64 },
                },
            )
            .await
            .map_err(classify)?;
        Ok(result.matched_count == 1)
    }
}
