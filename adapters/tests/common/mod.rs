//! What the adapters' wiremock tests share: a log capture, and the transport rules every
//! provider client follows (`adapters/src/http.rs`, `adapters/src/retry.rs`), written once
//! and instantiated per provider with `transport_contract!`.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::io;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;

/// Everything logged on this thread while it lives, at every level. `#[tokio::test]` runs
/// on the current thread, so it covers a whole call.
pub struct CapturedLogs {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: DefaultGuard,
}

impl CapturedLogs {
    pub fn start() -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || LogBuffer(Arc::clone(&writer)))
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        Self {
            buffer,
            _guard: guard,
        }
    }

    pub fn text(&self) -> String {
        let bytes = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The transport rules every provider client shares, as one test module per provider:
/// refused credentials are `Unauthorized` and never retried; a 5xx is retried and a later
/// success taken; a 5xx that persists is `Unavailable` after `max_retries + 1` attempts
/// (the test settings allow 2 retries) naming the status; a 429's `Retry-After` is waited
/// out; a 429 that persists is `RateLimited`; a reply slower than the timeout is
/// `Unavailable`.
///
/// - `stub`: a wiremock `MockBuilder` matching the request of `call`;
/// - `success`: a `ResponseTemplate` the call takes as success;
/// - `refused_credentials`: how the provider says our credentials are wrong;
/// - `call`: the call, as an expression over the mock server `$server`, giving a
///   `Result<_, AdapterError>`.
macro_rules! transport_contract {
    (
        provider: $provider:literal,
        stub: $stub:expr,
        success: $success:expr,
        refused_credentials: $refused:expr,
        call: |$server:ident| $call:expr $(,)?
    ) => {
        /// The transport rules every provider client shares (`common::transport_contract!`).
        mod transport {
            use super::*;
            use bazaar_adapters::error::AdapterError as TransportError;
            use std::time::{Duration as TransportDuration, Instant as TransportInstant};
            use wiremock::{MockServer as TransportServer, ResponseTemplate as Template};

            #[tokio::test]
            async fn refused_credentials_are_unauthorized_and_not_retried() {
                let $server = TransportServer::start().await;
                $stub.respond_with($refused).expect(1).mount(&$server).await;

                let result = $call;

                assert!(
                    matches!(
                        result,
                        Err(TransportError::Unauthorized {
                            provider: $provider
                        })
                    ),
                    "got {result:?}"
                );
            }

            #[tokio::test]
            async fn a_500_followed_by_success_succeeds_after_one_retry() {
                let $server = TransportServer::start().await;
                $stub
                    .respond_with(Template::new(500))
                    .up_to_n_times(1)
                    .expect(1)
                    .mount(&$server)
                    .await;
                $stub.respond_with($success).expect(1).mount(&$server).await;

                let result = $call;

                assert!(result.is_ok(), "got {result:?}");
            }

            #[tokio::test]
            async fn a_persistent_503_is_unavailable_after_max_retries_plus_one_attempts() {
                let $server = TransportServer::start().await;
                $stub
                    .respond_with(Template::new(503))
                    .expect(3)
                    .mount(&$server)
                    .await;

                let result = $call;

                match result {
                    Err(TransportError::Unavailable { provider, message }) => {
                        assert_eq!(provider, $provider);
                        assert!(message.contains("503"), "message: {message}");
                    }
                    other => panic!("expected Unavailable, got {other:?}"),
                }
            }

            #[tokio::test]
            async fn a_429_with_retry_after_waits_that_long_before_retrying() {
                let $server = TransportServer::start().await;
                $stub
                    .respond_with(Template::new(429).insert_header("Retry-After", "1"))
                    .up_to_n_times(1)
                    .expect(1)
                    .mount(&$server)
                    .await;
                $stub.respond_with($success).expect(1).mount(&$server).await;
                let started = TransportInstant::now();

                let result = $call;

                assert!(result.is_ok(), "got {result:?}");
                // Back-off alone would have retried after at most 10 ms.
                assert!(
                    started.elapsed() >= TransportDuration::from_secs(1),
                    "retried after {:?}",
                    started.elapsed()
                );
            }

            #[tokio::test]
            async fn a_persistent_429_is_rate_limited_after_max_retries_plus_one_attempts() {
                let $server = TransportServer::start().await;
                $stub
                    .respond_with(Template::new(429))
                    .expect(3)
                    .mount(&$server)
                    .await;

                let result = $call;

                assert!(
                    matches!(
                        result,
                        Err(TransportError::RateLimited {
                            provider: $provider,
                            ..
                        })
                    ),
                    "got {result:?}"
                );
            }

            #[tokio::test]
            async fn a_reply_slower_than_the_timeout_is_unavailable() {
                let $server = TransportServer::start().await;
                $stub
                    .respond_with($success.set_delay(TransportDuration::from_secs(3)))
                    .expect(3)
                    .mount(&$server)
                    .await;

                let result = $call;

                assert!(
                    matches!(
                        result,
                        Err(TransportError::Unavailable {
                            provider: $provider,
                            ..
                        })
                    ),
                    "got {result:?}"
                );
            }
        }
    };
}
