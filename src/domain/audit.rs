//! The audit trail: security events, who caused them, and from where.

use chrono::{DateTime, Utc};

use super::listing::{
    fingerprint, Cursor, ListPage, PageRequest, Pagination, Paging, QueryError, SortValue,
};
use super::validation::{Collector, FieldError};

/// The kinds of security events Bazaar records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    Register,
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    RefreshReused,
    Logout,
    LogoutAll,
    SessionRevoked,
    PasswordReset,
    /// The account's own password set or changed by its signed-in owner.
    PasswordChanged,
    RolesChanged,
    PermissionDenied,
    UserDisabled,
    PhoneVerified,
    EmailVerified,
    /// An order's money needs staff: a payment that does not match the order,
    /// or a refund larger than its capture (see the order's `flags`).
    PaymentFlagged,
    /// A capture the order does not keep (a second payment, or one for an
    /// order no longer payable) was refunded automatically.
    CaptureRefunded,
    /// A provider account (Google, …) was linked to the user, who can now sign in with it.
    IdentityLinked,
}

impl AuditKind {
    pub const ALL: [AuditKind; 18] = [
        Self::Register,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::AccountLocked,
        Self::RefreshReused,
        Self::Logout,
        Self::LogoutAll,
        Self::SessionRevoked,
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::RolesChanged,
        Self::PermissionDenied,
        Self::UserDisabled,
        Self::PhoneVerified,
        Self::EmailVerified,
        Self::PaymentFlagged,
        Self::CaptureRefunded,
        Self::IdentityLinked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::AccountLocked => "account_locked",
            Self::RefreshReused => "refresh_reused",
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::RolesChanged => "roles_changed",
            Self::PermissionDenied => "permission_denied",
            Self::UserDisabled => "user_disabled",
            Self::PhoneVerified => "phone_verified",
            Self::EmailVerified => "email_verified",
            Self::PaymentFlagged => "payment_flagged",
            Self::CaptureRefunded => "capture_refunded",
            Self::IdentityLinked => "identity_linked",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(field, "unknown_kind", "is not a known audit event kind")
            })
    }
}

/// One recorded event. `user_id` is whom it concerns, `actor_id` who caused it
/// (an admin changing roles); either may be absent (a failed login for an
/// unknown phone concerns nobody).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    pub kind: AuditKind,
    pub user_id: Option<String>,
    pub actor_id: Option<String>,
    pub request_id: String,
    pub ip: String,
    pub user_agent: String,
    /// Short, non-secret context ("roles: customer → admin", "phone ••••5678").
    pub detail: String,
    pub at: DateTime<Utc>,
}

impl AuditEvent {
    pub fn new(kind: AuditKind, at: DateTime<Utc>) -> Self {
        Self {
            id: bson::oid::ObjectId::new().to_hex(),
            kind,
            user_id: None,
            actor_id: None,
            request_id: String::new(),
            ip: String::new(),
            user_agent: String::new(),
            detail: String::new(),
            at: super::time::truncate_to_millis(at),
        }
    }
}

pub type AuditPage = ListPage<AuditEvent>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub kind: Option<AuditKind>,
    pub user_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    pub fn matches(&self, e: &AuditEvent) -> bool {
        self.kind.is_none_or(|k| e.kind == k)
            && self
                .user_id
                .as_ref()
                .is_none_or(|u| e.user_id.as_ref() == Some(u))
            && self.since.is_none_or(|s| e.at >= s)
            && self.until.is_none_or(|u| e.at < u)
    }

    fn fingerprint(&self) -> String {
        fingerprint(&format!(
            "k={:?};u={:?};s={:?};t={:?}",
            self.kind.map(AuditKind::as_str),
            self.user_id,
            self.since.map(|d| d.timestamp_millis()),
            self.until.map(|d| d.timestamp_millis())
        ))
    }
}

/// Newest first, always: an audit trail is read backwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub filter: AuditFilter,
    pub limit: u32,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Default)]
pub struct RawAuditQuery {
    pub kind: Option<String>,
    pub user_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub paging: PageRequest,
}

const SORT: &str = "-at";

crate::list_query!(AuditQuery, AuditEvent);

impl AuditQuery {
    pub fn parse(raw: &RawAuditQuery) -> Result<Self, QueryError> {
        let mut errors = Collector::default();
        let kind = raw
            .kind
            .as_deref()
            .and_then(|k| errors.take(AuditKind::parse("kind", k)));
        let user_id = match raw.user_id.as_deref() {
            Some(u) => match super::ids::UserId::parse(u) {
                Ok(id) => Some(id.to_string()),
                Err(why) => {
                    errors.push(FieldError::new("user_id", "invalid", why));
                    None
                }
            },
            None => None,
        };
        // `until` before `since` is an empty range, not an error: nothing matches it.
        // (The contract cannot relate two parameters, so it allows the pair.)
        let Paging { limit, page } = Paging::parse(raw.paging.limit, raw.paging.page, &mut errors);
        if !errors.is_empty() {
            return Err(QueryError::Invalid(errors.into_errors()));
        }
        let filter = AuditFilter {
            kind,
            user_id,
            since: raw.since,
            until: raw.until,
        };
        let pagination = super::listing::pagination(
            page,
            raw.paging.cursor.as_deref(),
            SORT,
            &filter.fingerprint(),
            false,
        )?;
        Ok(Self {
            filter,
            limit,
            pagination,
        })
    }

    pub fn offset(&self) -> u64 {
        super::listing::offset(&self.pagination, self.limit)
    }

    pub fn sort_value(e: &AuditEvent) -> SortValue {
        SortValue::Int(e.at.timestamp_millis())
    }

    pub fn next_cursor(&self, last: &AuditEvent) -> String {
        Cursor {
            after_value: Self::sort_value(last),
            after_id: last.id.clone(),
        }
        .encode(SORT, &self.filter.fingerprint())
    }
}
