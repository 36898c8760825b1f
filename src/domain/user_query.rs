//! The user list query (admin): filters and sorting; pagination is shared.

use super::listing::{
    fingerprint, Cursor, ListPage, PageRequest, Pagination, Paging, QueryError, SortValue,
};
use super::user::{Role, User, UserStatus};
use super::validation::{char_len, Collector, FieldError};

pub type UserPage = ListPage<User>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    CreatedAt { descending: bool },
    Name,
}

impl UserSort {
    pub const ALLOWED: [&'static str; 3] = ["created_at", "-created_at", "name"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt { descending: false } => "created_at",
            Self::CreatedAt { descending: true } => "-created_at",
            Self::Name => "name",
        }
    }

    pub fn descending(self) -> bool {
        matches!(self, Self::CreatedAt { descending: true })
    }

    pub fn value_of(self, u: &User) -> SortValue {
        match self {
            Self::CreatedAt { .. } => SortValue::Int(u.created_at.timestamp_millis()),
            Self::Name => SortValue::Text(u.name.as_str().to_owned()),
        }
    }

    pub fn compare(self, a: &User, b: &User) -> std::cmp::Ordering {
        let ord = self
            .value_of(a)
            .cmp(&self.value_of(b))
            .then_with(|| a.id.cmp(&b.id));
        if self.descending() {
            ord.reverse()
        } else {
            ord
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// Lower-cased text to find in name, phone or email.
    pub q: Option<String>,
}

impl UserFilter {
    pub fn matches(&self, u: &User) -> bool {
        self.role.is_none_or(|r| u.roles.contains(&r))
            && self.status.is_none_or(|s| u.status == s)
            && self.q.as_ref().is_none_or(|q| {
                u.name.as_str().to_lowercase().contains(q)
                    || u.phone.as_str().contains(q.as_str())
                    || u.email
                        .as_ref()
                        .is_some_and(|e| e.as_str().contains(q.as_str()))
            })
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&format!(
            "r={:?};s={:?};q={:?}",
            self.role.map(Role::as_str),
            self.status.map(UserStatus::as_str),
            self.q
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    pub filter: UserFilter,
    pub sort: UserSort,
    pub limit: u32,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Default)]
pub struct RawUserQuery {
    pub role: Option<String>,
    pub status: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub paging: PageRequest,
}

crate::list_query!(UserQuery, User);

impl UserQuery {
    pub fn parse(raw: &RawUserQuery) -> Result<Self, QueryError> {
        let mut errors = Collector::default();
        let role = raw
            .role
            .as_deref()
            .and_then(|r| errors.take(Role::parse("role", r)));
        let status = raw
            .status
            .as_deref()
            .and_then(|s| errors.take(UserStatus::parse("status", s)));
        let q = raw
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase);
        if q.as_deref().is_some_and(|q| char_len(q) > 100) {
            errors.push(FieldError::new(
                "q",
                "too_long",
                "must be at most 100 characters",
            ));
        }
        let sort = match raw.sort.as_deref() {
            None | Some("-created_at") => UserSort::CreatedAt { descending: true },
            Some("created_at") => UserSort::CreatedAt { descending: false },
            Some("name") => UserSort::Name,
            Some(_) => {
                errors.push(FieldError::new(
                    "sort",
                    "unknown_sort",
                    format!("must be one of: {}", UserSort::ALLOWED.join(", ")),
                ));
                UserSort::CreatedAt { descending: true }
            }
        };
        let Paging { limit, page } = Paging::parse(raw.paging.limit, raw.paging.page, &mut errors);
        if !errors.is_empty() {
            return Err(QueryError::Invalid(errors.into_errors()));
        }
        let filter = UserFilter { role, status, q };
        let pagination = super::listing::pagination(
            page,
            raw.paging.cursor.as_deref(),
            sort.as_str(),
            &filter.fingerprint(),
            sort == UserSort::Name,
        )?;
        Ok(Self {
            filter,
            sort,
            limit,
            pagination,
        })
    }

    pub fn offset(&self) -> u64 {
        super::listing::offset(&self.pagination, self.limit)
    }

    pub fn next_cursor(&self, last: &User) -> String {
        Cursor {
            after_value: self.sort.value_of(last),
            after_id: last.id.to_string(),
        }
        .encode(self.sort.as_str(), &self.filter.fingerprint())
    }
}
