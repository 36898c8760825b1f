//! Multi-document transactions that retry as the server's error labels say.
//!
//! MongoDB labels an error `TransientTransactionError` when the whole transaction may be run
//! again from the start (an election, a dropped connection), and
//! `UnknownTransactionCommitResult` when only the commit's outcome is unknown and committing
//! again is safe. The driver's own `with_transaction` does this too, but for up to 120 s;
//! a request cannot wait that long, so here the retries stop after a budget (the backend
//! timeout) and the last error is answered, typically as 503 with `Retry-After`.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use mongodb::error::{
    Error as MongoError, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT,
};
use mongodb::{Client, ClientSession};

use super::{classify, server_code, WRITE_CONFLICT};
use crate::store::StoreError;

/// What one run of a transaction's body decided: commit with `Ok`, abort with `Err` (a
/// domain outcome such as a version conflict, answered as is and never retried).
pub(super) type Decision<R> = Result<R, StoreError>;

/// How long transactions are retried by default: the default backend timeout.
pub(super) const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(2);

/// Runs `body` in a transaction on a new session of `client` and commits it. A driver
/// error labelled `TransientTransactionError` (from the body or the commit) runs the whole
/// transaction again; `UnknownTransactionCommitResult` commits again; both only while
/// `budget` lasts. `context` is lent to each run, so the body can borrow from the caller.
pub(super) async fn run_transaction<C, R, F>(
    client: &Client,
    budget: Duration,
    context: &C,
    mut body: F,
) -> Result<R, StoreError>
where
    C: Sync + ?Sized,
    F: for<'s> FnMut(
        &'s mut ClientSession,
        &'s C,
    ) -> BoxFuture<'s, Result<Decision<R>, MongoError>>,
{
    let started = Instant::now();
    let mut session = client.start_session().await.map_err(classify)?;
    let mut attempt = 0u32;
    'transaction: loop {
        attempt += 1;
        session.start_transaction().await.map_err(classify)?;
        let value = match body(&mut session, context).await {
            Ok(Ok(value)) => value,
            Ok(Err(outcome)) => {
                let _ = session.abort_transaction().await;
                return Err(outcome);
            }
            Err(e) => {
                // The server may have aborted it already; aborting again is harmless.
                let _ = session.abort_transaction().await;
                if may_run_again(&e) && pause_if_time_left(started, budget, attempt).await {
                    tracing::debug!(attempt, error = %e, "mongodb: transaction retried");
                    continue 'transaction;
                }
                return Err(classify(e));
            }
        };
        loop {
            match session.commit_transaction().await {
                Ok(()) => return Ok(value),
                Err(e)
                    if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                        && started.elapsed() < budget =>
                {
                    tracing::debug!(attempt, error = %e, "mongodb: commit retried");
                }
                Err(e)
                    if may_run_again(&e) && pause_if_time_left(started, budget, attempt).await =>
                {
                    tracing::debug!(attempt, error = %e, "mongodb: transaction retried");
                    continue 'transaction;
                }
                Err(e) => return Err(classify(e)),
            }
        }
    }
}

/// Whether the server says the transaction may run again. Not after a write conflict,
/// although it is labelled so: another writer changed the document, and the caller, which
/// re-reads it on [`StoreError::VersionConflict`], decides afresh (running the same
/// conditional write again would only conflict again while that writer's transaction lasts).
fn may_run_again(error: &MongoError) -> bool {
    error.contains_label(TRANSIENT_TRANSACTION_ERROR) && server_code(error) != Some(WRITE_CONFLICT)
}

/// Waits a short, growing, jittered pause before the next attempt (so that two transactions
/// that conflicted do not collide again in step), if it fits in what is left of `budget`.
async fn pause_if_time_left(started: Instant, budget: Duration, attempt: u32) -> bool {
    let ceiling = 5.0 * 1.5_f64.powf(f64::from(attempt.min(12)));
    let pause = Duration::from_millis((rand::random::<f64>() * ceiling.min(250.0)) as u64);
    if started.elapsed() + pause >= budget {
        return false;
    }
    tokio::time::sleep(pause).await;
    true
}
