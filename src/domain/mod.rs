//! The domain: types that are valid by construction and the rules that make them so.
//!
//! Nothing here knows HTTP, MongoDB or Redis. Raw input goes in through `parse`
//! functions that report every invalid field at once; what comes out needs no
//! further checking downstream.

pub mod address;
pub mod analytics;
pub mod audit;
pub mod cart;
pub mod coupon;
pub mod description;
pub mod erasure;
pub mod facets;
pub mod file;
pub mod gst;
pub mod hold;
pub mod ids;
pub mod invoice;
pub mod invoice_report;
pub mod listing;
pub mod localized;
pub mod money;
pub mod notice_kind;
pub mod order;
pub mod order_query;
pub mod outbox;
pub mod outbox_query;
pub mod pincode;
pub mod precondition;
pub mod pricing;
pub mod product;
pub mod product_query;
pub mod product_variants;
pub mod request_key;
pub mod search;
pub mod shipping;
pub mod sku;
pub mod time;
pub mod user;
pub mod user_query;
pub mod validation;
pub mod variant;
pub mod webhook;
