//! The admin's list of outbox messages: newest first, optionally of one state; pagination is
//! shared with every other list.

use super::listing::{
    fingerprint, Cursor, ListPage, PageRequest, Pagination, Paging, QueryError, SortValue,
};
use super::outbox::{OutboxMessage, OutboxState};
use super::validation::Collector;

pub type OutboxPage = ListPage<OutboxMessage>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxQuery {
    pub state: Option<OutboxState>,
    pub limit: u32,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Default)]
pub struct RawOutboxQuery {
    pub state: Option<String>,
    pub paging: PageRequest,
}

const SORT: &str = "-created_at";

crate::list_query!(OutboxQuery, OutboxMessage);

impl OutboxQuery {
    pub fn parse(raw: &RawOutboxQuery) -> Result<Self, QueryError> {
        let mut errors = Collector::default();
        let state = raw
            .state
            .as_deref()
            .and_then(|s| errors.take(OutboxState::parse("state", s)));
        let Paging { limit, page } = Paging::parse(raw.paging.limit, raw.paging.page, &mut errors);
        if !errors.is_empty() {
            return Err(QueryError::Invalid(errors.into_errors()));
        }
        let pagination = super::listing::pagination(
            page,
            raw.paging.cursor.as_deref(),
            SORT,
            &Self::fingerprint(state),
            false,
        )?;
        Ok(Self {
            state,
            limit,
            pagination,
        })
    }

    /// The whole first page of messages in `state` (or all), `limit` at most.
    pub fn first(state: Option<OutboxState>, limit: u32) -> Self {
        Self {
            state,
            limit,
            pagination: Pagination::Cursor(None),
        }
    }

    fn fingerprint(state: Option<OutboxState>) -> String {
        fingerprint(&format!("s={:?}", state.map(OutboxState::as_str)))
    }

    pub fn matches(&self, m: &OutboxMessage) -> bool {
        self.state.is_none_or(|s| m.state == s)
    }

    pub fn sort_value(m: &OutboxMessage) -> SortValue {
        SortValue::Int(m.created_at.timestamp_millis())
    }

    pub fn next_cursor(&self, last: &OutboxMessage) -> String {
        Cursor {
            after_value: Self::sort_value(last),
            after_id: last.id.to_string(),
        }
        .encode(SORT, &Self::fingerprint(self.state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_and_paging_parse_and_bad_ones_are_all_reported() {
        let query = OutboxQuery::parse(&RawOutboxQuery {
            state: Some("dead".into()),
            paging: PageRequest {
                limit: Some(5),
                ..Default::default()
            },
        })
        .unwrap();
        assert_eq!(query.state, Some(OutboxState::Dead));
        assert_eq!(query.limit, 5);
        let Err(QueryError::Invalid(errors)) = OutboxQuery::parse(&RawOutboxQuery {
            state: Some("lost".into()),
            paging: PageRequest {
                limit: Some(0),
                ..Default::default()
            },
        }) else {
            panic!("expected field errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["state", "limit"]);
    }

    #[test]
    fn a_cursor_only_works_for_the_state_it_was_issued_for() {
        let dead = OutboxQuery::parse(&RawOutboxQuery {
            state: Some("dead".into()),
            ..Default::default()
        })
        .unwrap();
        let message = crate::domain::outbox::OutboxMessage::new(
            crate::domain::outbox::NoticeKind::Refund,
            crate::domain::outbox::Recipient::Email(
                crate::domain::user::Email::parse("to", "a@example.in").unwrap(),
            ),
            serde_json::Map::new(),
            "k".into(),
            chrono::Utc::now(),
        );
        let cursor = dead.next_cursor(&message);
        let again = RawOutboxQuery {
            state: Some("dead".into()),
            paging: PageRequest {
                cursor: Some(cursor.clone()),
                ..Default::default()
            },
        };
        assert!(OutboxQuery::parse(&again).is_ok());
        let other = RawOutboxQuery {
            state: Some("pending".into()),
            paging: PageRequest {
                cursor: Some(cursor),
                ..Default::default()
            },
        };
        assert!(matches!(
            OutboxQuery::parse(&other),
            Err(QueryError::Cursor(_))
        ));
    }
}
