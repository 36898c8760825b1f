//! Administration: users, the audit trail and the outbox. Every operation needs a
//! permission (`users:read`, `users:write`, `audit:read`, `outbox:read`,
//! `outbox:write`), which only admins hold; others get 403, and the refusal is audited.
//! One `#[OpenApi]` struct per job, combined in [`AdminApi`] in the contract's order.

pub(crate) mod audit;
mod outbox;
mod users;

use std::sync::Arc;

use crate::app::identity::Identity;
use crate::app::outbox::Outbox;
use crate::error_set;
use audit::AuditAdminApi;
use outbox::OutboxAdminApi;
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
pub type AdminApi = (UsersAdminApi, AuditAdminApi, OutboxAdminApi);

/// Every operation of this module, over the identity service and the outbox.
pub fn api(identity: Arc<Identity>, outbox: Arc<Outbox>) -> AdminApi {
    (
        UsersAdminApi {
            identity: identity.clone(),
        },
        AuditAdminApi {
            identity: identity.clone(),
        },
        OutboxAdminApi { identity, outbox },
    )
}
