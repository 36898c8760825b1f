//! The audit trail: security events, who caused them, and from where; staff
//! actions on accounts; and staff money actions, with the order, the amount in
//! paise and the reason as fields of their own, so they can be queried.

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
    /// The customer downloaded their personal data.
    DataExported,
    /// The customer's account was erased at their request.
    AccountErased,
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
    /// Staff re-enabled a disabled account.
    UserEnabled,
    /// Staff lifted an account's sign-in lockout.
    UserUnlocked,
    /// Staff ended all of an account's sessions.
    UserSessionsEnded,
    /// Staff looked at an account's sessions (devices and addresses).
    UserSessionsViewed,
    /// Staff refunded money of an order (`amount_paise`, `reason`).
    OrderRefunded,
    /// An order was cancelled (by staff or its owner; `amount_paise` is its total).
    OrderCancelled,
    /// Staff moved an order along fulfilment, or its owner asked to return it
    /// (`amount_paise` is its total).
    OrderStatusChanged,
    /// Staff recorded a cash-on-delivery order's cash as collected (`amount_paise`).
    CodCollected,
    /// A provider account (Google, …) was linked to the user, who can now sign in with it.
    IdentityLinked,
    /// Staff created, replaced or deleted a shipping zone (`detail` says which).
    ShippingZoneChanged,
    /// Staff created, changed or deleted a coupon (`detail` says which).
    CouponChanged,
}

impl AuditKind {
    pub const ALL: [AuditKind; 30] = [
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
        Self::DataExported,
        Self::AccountErased,
        Self::RolesChanged,
        Self::PermissionDenied,
        Self::UserDisabled,
        Self::PhoneVerified,
        Self::EmailVerified,
        Self::PaymentFlagged,
        Self::CaptureRefunded,
        Self::UserEnabled,
        Self::UserUnlocked,
        Self::UserSessionsEnded,
        Self::UserSessionsViewed,
        Self::OrderRefunded,
        Self::OrderCancelled,
        Self::OrderStatusChanged,
        Self::IdentityLinked,
        Self::ShippingZoneChanged,
        Self::CouponChanged,
        Self::CodCollected,
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
            Self::DataExported => "data_exported",
            Self::AccountErased => "account_erased",
            Self::RolesChanged => "roles_changed",
            Self::PermissionDenied => "permission_denied",
            Self::UserDisabled => "user_disabled",
            Self::PhoneVerified => "phone_verified",
            Self::EmailVerified => "email_verified",
            Self::PaymentFlagged => "payment_flagged",
            Self::CaptureRefunded => "capture_refunded",
            Self::UserEnabled => "user_enabled",
            Self::UserUnlocked => "user_unlocked",
            Self::UserSessionsEnded => "user_sessions_ended",
            Self::UserSessionsViewed => "user_sessions_viewed",
            Self::OrderRefunded => "order_refunded",
            Self::OrderCancelled => "order_cancelled",
            Self::OrderStatusChanged => "order_status_changed",
            Self::IdentityLinked => "identity_linked",
            Self::ShippingZoneChanged => "shipping_zone_changed",
            Self::CouponChanged => "coupon_changed",
            Self::CodCollected => "cod_collected",
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
    /// The order a money action concerns.
    pub order_id: Option<String>,
    /// The money a money action moved or concerned, in paise.
    pub amount_paise: Option<i64>,
    /// Why staff did it, as they said.
    pub reason: Option<Reason>,
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
            order_id: None,
            amount_paise: None,
            reason: None,
            at: super::time::truncate_to_millis(at),
        }
    }
}

/// Why staff took an action: trimmed, 1 to [`Reason::MAX_CHARS`] characters, no
/// control characters. Free text a colleague reads later; never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 500;

    /// `None` for absent or blank text: a reason is optional. The limits hold for
    /// the text as sent, before trimming, as the contract states them.
    pub fn parse(field: &str, raw: Option<&str>) -> Result<Option<Self>, FieldError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("at most {} characters", Self::MAX_CHARS),
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "invalid",
                "must not contain control characters",
            ));
        }
        let text = raw.trim();
        Ok((!text.is_empty()).then(|| Self(text.to_owned())))
    }

    /// A reason read back from the store, which only ever held parsed ones.
    pub fn trusted(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub type AuditPage = ListPage<AuditEvent>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub kind: Option<AuditKind>,
    pub user_id: Option<String>,
    /// Who caused it (the staff member).
    pub actor_id: Option<String>,
    pub order_id: Option<String>,
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
            && self
                .actor_id
                .as_ref()
                .is_none_or(|a| e.actor_id.as_ref() == Some(a))
            && self
                .order_id
                .as_ref()
                .is_none_or(|o| e.order_id.as_ref() == Some(o))
            && self.since.is_none_or(|s| e.at >= s)
            && self.until.is_none_or(|u| e.at < u)
    }

    fn fingerprint(&self) -> String {
        fingerprint(&format!(
            "k={:?};u={:?};a={:?};o={:?};s={:?};t={:?}",
            self.kind.map(AuditKind::as_str),
            self.user_id,
            self.actor_id,
            self.order_id,
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
    pub actor_id: Option<String>,
    pub order_id: Option<String>,
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
        let user_id = raw.user_id.as_deref().and_then(|u| {
            errors.take(
                super::ids::UserId::parse(u)
                    .map(|id| id.to_string())
                    .map_err(|why| FieldError::new("user_id", "invalid", why)),
            )
        });
        let actor_id = raw.actor_id.as_deref().and_then(|u| {
            errors.take(
                super::ids::UserId::parse(u)
                    .map(|id| id.to_string())
                    .map_err(|why| FieldError::new("actor_id", "invalid", why)),
            )
        });
        let order_id = raw.order_id.as_deref().and_then(|o| {
            errors.take(
                super::ids::OrderId::parse(o)
                    .map(|id| id.to_string())
                    .map_err(|why| FieldError::new("order_id", "invalid", why)),
            )
        });
        // `until` before `since` is an empty range, not an error: nothing matches it.
        // (The contract cannot relate two parameters, so it allows the pair.)
        let Paging { limit, page } = Paging::parse(raw.paging.limit, raw.paging.page, &mut errors);
        if !errors.is_empty() {
            return Err(QueryError::Invalid(errors.into_errors()));
        }
        let filter = AuditFilter {
            kind,
            user_id,
            actor_id,
            order_id,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed_optional_and_bounded() {
        assert_eq!(Reason::parse("reason", None), Ok(None));
        assert_eq!(Reason::parse("reason", Some("   ")), Ok(None));
        let parsed = Reason::parse("reason", Some("  torn in transit ")).unwrap();
        assert_eq!(parsed.as_ref().map(Reason::as_str), Some("torn in transit"));
        let longest = "न".repeat(Reason::MAX_CHARS);
        assert!(
            Reason::parse("reason", Some(&longest)).is_ok(),
            "counted in characters"
        );
        let too_long = Reason::parse("reason", Some(&"x".repeat(Reason::MAX_CHARS + 1)));
        assert_eq!(too_long.unwrap_err().code, "too_long");
        let control = Reason::parse("reason", Some("line one\u{7}"));
        assert_eq!(control.unwrap_err().code, "invalid");
        // As the contract states them: on the text as sent, before trimming.
        let trailing_newline = Reason::parse("reason", Some("handed over\n"));
        assert_eq!(trailing_newline.unwrap_err().code, "invalid");
        let padded = format!(" {}", "x".repeat(Reason::MAX_CHARS));
        assert_eq!(
            Reason::parse("reason", Some(&padded)).unwrap_err().code,
            "too_long"
        );
    }

    #[test]
    fn the_actor_and_order_filters_are_checked_and_keep_the_cursor_apart() {
        let bad = AuditQuery::parse(&RawAuditQuery {
            actor_id: Some("nope".into()),
            order_id: Some("also nope".into()),
            ..Default::default()
        });
        let Err(QueryError::Invalid(errors)) = bad else {
            panic!("expected field errors, got {bad:?}");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["actor_id", "order_id"]);
        let of = |order: &str| AuditFilter {
            order_id: Some(order.into()),
            ..Default::default()
        };
        assert_ne!(
            of("0123456789abcdef01234567").fingerprint(),
            of("0123456789abcdef0123aaaa").fingerprint(),
            "a cursor of one order's events is refused for another's"
        );
    }
}
