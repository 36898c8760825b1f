//! The audit trail: recording security events, and the admin's view of them.

use crate::app::errors::AppError;
use crate::app::identity::{Identity, RequestContext};
use crate::domain::audit::{AuditEvent, AuditKind, AuditPage, AuditQuery, RawAuditQuery};
use crate::domain::user::UserId;

impl Identity {
    /// Records a security event. A failure to record is logged, not raised: the
    /// trail must not become a way to deny sign-ins.
    pub async fn record(
        &self,
        kind: AuditKind,
        user: Option<&UserId>,
        actor: Option<&UserId>,
        ctx: &RequestContext,
        detail: String,
    ) {
        let mut event = AuditEvent::new(kind, self.clock.now());
        event.user_id = user.map(ToString::to_string);
        event.actor_id = actor.map(ToString::to_string);
        event.request_id = ctx.request_id.clone();
        event.ip = ctx.ip.clone();
        event.user_agent = ctx.user_agent.chars().take(300).collect();
        event.detail = detail;
        if let Err(e) = self.audit.record(&event).await {
            tracing::error!(kind = kind.as_str(), error = %e, "could not record an audit event");
        }
    }

    pub async fn audit_events(
        &self,
        raw: &RawAuditQuery,
    ) -> Result<(AuditQuery, AuditPage), AppError> {
        let query = AuditQuery::parse(raw)?;
        let page = self.audit.list(&query).await?;
        Ok((query, page))
    }
}
