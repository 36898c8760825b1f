//! The audit trail: recording security events, and the admin's view of them.

use crate::app::errors::AppError;
use crate::app::identity::{Identity, RequestContext};
use crate::app::staff_audit::request_event;
use crate::domain::audit::{AuditKind, AuditPage, AuditQuery, RawAuditQuery};
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
        let event = request_event(kind, self.clock.now(), user, actor, ctx, detail);
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
