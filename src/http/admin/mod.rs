//! Administration: users, the audit trail, the outbox, shipping zones and coupons. Every
//! operation needs a permission (`users:read`, `users:write`, `audit:read`, `outbox:read`,
//! `outbox:write` for admins; `shipping:manage`, `coupons:manage` for admins and catalog
//! managers); others get 403, and the refusal is audited.
//! One `#[OpenApi]` struct per job, combined in [`AdminApi`] in the contract's order.

pub(crate) mod audit;
mod coupons;
mod outbox;
mod shipping;
mod users;

use crate::error_set;
use crate::state::AppState;
use audit::AuditAdminApi;
use coupons::CouponsAdminApi;
use outbox::OutboxAdminApi;
use shipping::ShippingAdminApi;
use users::UsersAdminApi;

error_set!(
    /// Errors of admin reads.
    AdminReadErrors: ANY, PERMITTED, LIST; NotFound
);
error_set!(
    /// Errors of admin changes.
    AdminWriteErrors: ANY, PERMITTED, BODY; NotFound, Conflict
);

/// The administration operations of this module, in the contract's order.
pub type AdminApi = (
    UsersAdminApi,
    AuditAdminApi,
    OutboxAdminApi,
    ShippingAdminApi,
    CouponsAdminApi,
);

/// Every operation of this module, over the use cases of `state`.
pub fn api(state: &AppState) -> AdminApi {
    let identity = state.identity.clone();
    (
        UsersAdminApi {
            identity: identity.clone(),
        },
        AuditAdminApi {
            identity: identity.clone(),
        },
        OutboxAdminApi {
            identity,
            outbox: state.outbox.clone(),
        },
        ShippingAdminApi {
            shipping: state.shipping.clone(),
        },
        CouponsAdminApi {
            coupons: state.coupons.clone(),
        },
    )
}
