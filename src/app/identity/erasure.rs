//! The identity side of an account's erasure: the user record and the sessions go.
//! What else an erasure touches (orders, queued notices) is `app::privacy`'s.

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::{Identity, Principal, RequestContext};
use crate::domain::audit::AuditKind;
use crate::domain::user::User;
use crate::store::StoreError;

impl Identity {
    /// Deletes `user` (their phone and verified email free to register again)
    /// and ends every session; the audit trail keeps that it happened, under
    /// the account id alone. A change to the user since it was read is a 409.
    pub async fn close_account(
        &self,
        who: &Principal,
        user: &User,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        match self.users.delete(&user.id, user.version).await {
            Ok(()) => {}
            Err(StoreError::VersionConflict) => {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "the account changed while it was being erased; try again",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        let ended = self.sessions.revoke_all(user.id.as_str()).await?;
        self.record(
            AuditKind::AccountErased,
            Some(&user.id),
            Some(&who.user_id),
            ctx,
            format!("at the customer's request; {ended} sessions ended"),
        )
        .await;
        Ok(())
    }

    /// Records that the caller downloaded their data.
    pub async fn data_exported(&self, who: &Principal, ctx: &RequestContext) {
        self.record(
            AuditKind::DataExported,
            Some(&who.user_id),
            Some(&who.user_id),
            ctx,
            String::new(),
        )
        .await;
    }
}
