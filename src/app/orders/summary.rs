//! The sales summary, answered from a short-lived cache: the aggregation reads
//! every order in the range, and a dashboard asks again and again.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::errors::AppError;
use crate::domain::analytics::SalesSummary;

use super::Orders;

/// How long a replica answers a summary from memory.
pub(super) const SUMMARY_TTL: Duration = Duration::from_secs(30);

impl Orders {
    pub async fn summary(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<SalesSummary, AppError> {
        let key = (from.timestamp_millis(), to.timestamp_millis());
        self.summaries
            .try_get_with(key, async { self.orders.summary(from, to).await })
            .await
            .map_err(|e| crate::store::cache::shared_error(e).into())
    }
}
