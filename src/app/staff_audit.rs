//! The audit trail's record of staff changes to the storefront's settings (shipping zones,
//! coupons): who did it, from where, and what, written after the change. A failure to
//! record is logged, not raised: the change is made, and the log keeps the event.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::app::identity::{Principal, RequestContext};
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::time::SharedClock;
use crate::domain::user::UserId;
use crate::store::AuditRepository;

/// An event of `kind` about `user`, caused by `actor`, from where `ctx` says the request
/// came from.
pub fn request_event(
    kind: AuditKind,
    now: DateTime<Utc>,
    user: Option<&UserId>,
    actor: Option<&UserId>,
    ctx: &RequestContext,
    detail: String,
) -> AuditEvent {
    let mut event = AuditEvent::new(kind, now);
    event.user_id = user.map(ToString::to_string);
    event.actor_id = actor.map(ToString::to_string);
    event.request_id = ctx.request_id.clone();
    event.ip = ctx.ip.clone();
    event.user_agent = ctx.user_agent.chars().take(300).collect();
    event.detail = detail;
    event
}

/// Records staff changes of one kind.
pub struct StaffAudit {
    audit: Arc<dyn AuditRepository>,
    kind: AuditKind,
}

impl StaffAudit {
    pub fn new(audit: Arc<dyn AuditRepository>, kind: AuditKind) -> Self {
        Self { audit, kind }
    }

    /// Records what `actor` did (`detail`) at the clock's now.
    pub async fn by_staff(
        &self,
        clock: &SharedClock,
        actor: &Principal,
        ctx: &RequestContext,
        detail: String,
    ) {
        let event = request_event(
            self.kind,
            clock.now(),
            None,
            Some(&actor.user_id),
            ctx,
            detail,
        );
        if let Err(e) = self.audit.record(&event).await {
            tracing::error!(kind = self.kind.as_str(), actor = %actor.user_id, detail = %event.detail, error = %e, "could not record an audit event");
        }
    }
}
