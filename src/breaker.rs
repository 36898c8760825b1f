//! Circuit breakers: while a backend (MongoDB, Redis) or a provider (Razorpay,
//! MSG91, SendGrid, S3) is known to be down, calls to it are refused at once
//! instead of each waiting out its timeout.
//!
//! A breaker is *closed* while calls succeed. `failures` consecutive
//! "unavailable" failures (timeouts, refused or dropped connections, a 5xx
//! after the adapter's retries — never a client's 4xx, a duplicate key or a
//! version conflict: those mean the backend answered) *open* it. Open, it
//! refuses every call for `open_for`; the first call after that starts one
//! trial (*half-open*, every call still refused meanwhile): if the backend
//! answers, the breaker closes and traffic flows again; if not, it opens for
//! another `open_for`.
//!
//! The trial is the breaker's *probe* when it has one (MongoDB and Redis: a
//! ping, run in the background, so no client's request waits on a backend that
//! may still be down), and otherwise the call itself (the providers, which
//! have no free ping). A trial that is cancelled (its request timed out or the
//! client went away) says nothing about the backend, so the next call starts
//! another at once.
//!
//! The state is a cache of what the backend has been saying, not data another
//! replica needs: each replica has its own breakers and learns the same thing
//! from the same backend within a few calls.
//!
//! Written here rather than taken from a crate: `failsafe` (the best-known one)
//! reads `Instant::now` itself, so its state machine cannot run on the
//! project's [`Clock`](crate::domain::time::Clock) (tests make time pass with a `ManualClock` instead of
//! sleeping), and while half-open it lets every call through rather than one
//! trial. What is needed is about a hundred lines.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::config::BreakerSettings;
use crate::domain::time::SharedClock;

/// What a breaker is doing, as `/health/ready` and `/metrics` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// One trial call is out; the others are refused until it answers.
    HalfOpen,
    /// Calls are refused without touching the backend.
    Open,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half_open",
            Self::Open => "open",
        }
    }

    /// The value of the `circuit_breaker_state` gauge.
    fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: DateTime<Utc> },
    HalfOpen,
}

/// A background trial: true if the backend answered.
pub type Probe = Box<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// One backend's or provider's breaker. Shared (`Arc`) by every caller of it.
pub struct Breaker {
    name: &'static str,
    /// This breaker, for the probe task to hold.
    me: Weak<Breaker>,
    probe: OnceLock<Probe>,
    settings: BreakerSettings,
    clock: SharedClock,
    state: Mutex<State>,
    gauge: IntGauge,
    refused: IntCounter,
}

/// A call the breaker refused: the backend is known to be down.
#[derive(Debug, thiserror::Error)]
#[error("{name} is known to be unavailable (circuit breaker {state}); not asked")]
pub struct Refused {
    pub name: &'static str,
    pub state: &'static str,
}

/// Leave to make one call. Report its outcome with [`Permit::succeeded`] or
/// [`Permit::failed`]; a permit dropped without either (the call was
/// cancelled) reports nothing, except that a trial makes room for the next one.
#[must_use]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    trial: bool,
    done: bool,
}

impl Breaker {
    fn new(
        name: &'static str,
        settings: BreakerSettings,
        clock: SharedClock,
        gauge: IntGauge,
        refused: IntCounter,
    ) -> Arc<Self> {
        gauge.set(BreakerState::Closed.gauge());
        Arc::new_cyclic(|me| Self {
            name,
            me: me.clone(),
            probe: OnceLock::new(),
            settings,
            clock,
            state: Mutex::new(State::Closed { failures: 0 }),
            gauge,
            refused,
        })
    }

    /// Makes `probe` the trial that tells whether the backend is back (the
    /// first probe given stays). It runs on the Tokio runtime of the call that
    /// starts it; bound its time yourself.
    pub fn probe_with(&self, probe: Probe) {
        let _ = self.probe.set(probe);
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn state(&self) -> BreakerState {
        match *self.state.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::HalfOpen => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
        }
    }

    /// Calls refused since the breaker was made.
    pub fn refused(&self) -> u64 {
        self.refused.get()
    }

    /// Leave to call the backend, or a refusal while it is known to be down.
    pub fn permit(&self) -> Result<Permit<'_>, Refused> {
        let mut state = self.state.lock();
        let trial = match *state {
            State::Closed { .. } => false,
            _ if self.settings.failures == 0 => false,
            // A wall clock set back by more than `open_for` must not keep the
            // breaker open until it catches up.
            State::Open { until }
                if self.clock.now() >= until
                    || until - self.clock.now() > chrono_duration(self.settings.open_for) =>
            {
                self.set(&mut state, State::HalfOpen);
                if !self.start_probe() {
                    true
                } else {
                    self.refused.inc();
                    return Err(Refused {
                        name: self.name,
                        state: BreakerState::HalfOpen.as_str(),
                    });
                }
            }
            State::Open { .. } | State::HalfOpen => {
                self.refused.inc();
                return Err(Refused {
                    name: self.name,
                    state: self.state_of(*state).as_str(),
                });
            }
        };
        Ok(Permit {
            breaker: self,
            trial,
            done: false,
        })
    }

    /// Runs `call` under the breaker: refused at once while open; its outcome,
    /// judged by `unavailable`, recorded.
    pub async fn call<T, E>(
        &self,
        call: impl std::future::Future<Output = Result<T, E>>,
        unavailable: impl Fn(&E) -> bool,
        refused: impl FnOnce(Refused) -> E,
    ) -> Result<T, E> {
        let permit = self.permit().map_err(refused)?;
        let result = call.await;
        match &result {
            Err(e) if unavailable(e) => permit.failed(),
            _ => permit.succeeded(),
        }
        result
    }

    /// Runs the probe in the background, if there is one and a runtime to
    /// run it on; the caller has made the breaker half-open.
    fn start_probe(&self) -> bool {
        let (Some(_), Some(me), Ok(runtime)) = (
            self.probe.get(),
            self.me.upgrade(),
            tokio::runtime::Handle::try_current(),
        ) else {
            return false;
        };
        runtime.spawn(async move {
            let trial = Permit {
                breaker: &me,
                trial: true,
                done: false,
            };
            let answered = match me.probe.get() {
                Some(probe) => probe().await,
                None => false,
            };
            if answered {
                trial.succeeded();
            } else {
                trial.failed();
            }
        });
        true
    }

    fn state_of(&self, state: State) -> BreakerState {
        match state {
            State::Closed { .. } => BreakerState::Closed,
            State::HalfOpen => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
        }
    }

    fn set(&self, state: &mut State, new: State) {
        let (was, now) = (self.state_of(*state), self.state_of(new));
        *state = new;
        self.gauge.set(now.gauge());
        if was != now {
            match now {
                BreakerState::Open => tracing::warn!(
                    breaker = self.name,
                    open_for_ms = self.settings.open_for.as_millis() as u64,
                    "circuit breaker open: refusing calls"
                ),
                BreakerState::Closed => {
                    tracing::info!(breaker = self.name, "circuit breaker closed")
                }
                BreakerState::HalfOpen => {
                    tracing::debug!(breaker = self.name, "circuit breaker half-open: one trial")
                }
            }
        }
    }

    fn open(&self, state: &mut State) {
        let until = self.clock.now() + chrono_duration(self.settings.open_for);
        self.set(state, State::Open { until });
    }
}

impl Permit<'_> {
    /// The backend answered (whatever it said): close the breaker.
    pub fn succeeded(mut self) {
        self.done = true;
        let mut state = self.breaker.state.lock();
        if !matches!(*state, State::Closed { failures: 0 }) {
            self.breaker.set(&mut state, State::Closed { failures: 0 });
        }
    }

    /// The backend could not be reached or did not answer in time.
    pub fn failed(mut self) {
        self.done = true;
        let breaker = self.breaker;
        let mut state = breaker.state.lock();
        match *state {
            State::Closed { failures } => {
                let failures = failures + 1;
                if breaker.settings.failures > 0 && failures >= breaker.settings.failures {
                    breaker.open(&mut state);
                } else {
                    *state = State::Closed { failures };
                }
            }
            // Only the trial's failure reopens; a call let through before the
            // breaker opened and failing late changes nothing.
            State::HalfOpen if self.trial => breaker.open(&mut state),
            State::HalfOpen | State::Open { .. } => {}
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.done || !self.trial {
            return;
        }
        let mut state = self.breaker.state.lock();
        if matches!(*state, State::HalfOpen) {
            // The trial was cancelled: the next call may try at once.
            let now = self.breaker.clock.now();
            self.breaker.set(&mut state, State::Open { until: now });
        }
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Every breaker of one application, and their metrics:
/// `circuit_breaker_state{breaker}` (0 closed, 1 half-open, 2 open) and
/// `circuit_breaker_refused_total{breaker}`.
pub struct Breakers {
    settings: BreakerSettings,
    clock: SharedClock,
    state: IntGaugeVec,
    refused: IntCounterVec,
    all: Mutex<Vec<Arc<Breaker>>>,
}

impl Breakers {
    pub fn new(settings: BreakerSettings, clock: SharedClock) -> Self {
        let state = IntGaugeVec::new(
            Opts::new(
                "circuit_breaker_state",
                "Circuit breaker per backend and provider: 0 closed, 1 half-open, 2 open",
            ),
            &["breaker"],
        )
        .expect("valid metric definition");
        let refused = IntCounterVec::new(
            Opts::new(
                "circuit_breaker_refused_total",
                "Calls a circuit breaker refused without asking its backend",
            ),
            &["breaker"],
        )
        .expect("valid metric definition");
        Self {
            settings,
            clock,
            state,
            refused,
            all: Mutex::new(Vec::new()),
        }
    }

    /// The breaker named `name`, made on first use.
    pub fn breaker(&self, name: &'static str) -> Arc<Breaker> {
        let mut all = self.all.lock();
        if let Some(found) = all.iter().find(|b| b.name == name) {
            return found.clone();
        }
        let breaker = Breaker::new(
            name,
            self.settings,
            self.clock.clone(),
            self.state.with_label_values(&[name]),
            self.refused.with_label_values(&[name]),
        );
        all.push(breaker.clone());
        breaker
    }

    /// The breaker named `name`, if one was made.
    pub fn get(&self, name: &str) -> Option<Arc<Breaker>> {
        self.all.lock().iter().find(|b| b.name == name).cloned()
    }

    /// Adds the breakers' metrics to `registry`.
    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.state.clone()))?;
        registry.register(Box::new(self.refused.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::ManualClock;

    const OPEN_FOR: Duration = Duration::from_millis(500);

    fn breaker(clock: &ManualClock) -> Arc<Breaker> {
        Breakers::new(
            BreakerSettings {
                failures: 3,
                open_for: OPEN_FOR,
            },
            clock.shared(),
        )
        .breaker("redis")
    }

    fn fail(b: &Breaker, times: u32) {
        for _ in 0..times {
            b.permit().expect("let through").failed();
        }
    }

    #[test]
    fn consecutive_failures_open_the_breaker_and_a_success_between_resets_the_count() {
        let clock = ManualClock::new();
        let b = breaker(&clock);
        fail(&b, 2);
        b.permit().unwrap().succeeded();
        fail(&b, 2);
        assert_eq!(b.state(), BreakerState::Closed);
        fail(&b, 1);
        assert_eq!(b.state(), BreakerState::Open);
        let refused = b.permit().err().expect("refused while open");
        assert_eq!((refused.name, refused.state), ("redis", "open"));
        assert_eq!(b.refused(), 1);
    }

    #[test]
    fn after_the_open_period_one_trial_goes_through_and_its_success_closes() {
        let clock = ManualClock::new();
        let b = breaker(&clock);
        fail(&b, 3);
        clock.advance(OPEN_FOR - Duration::from_millis(10));
        assert!(b.permit().is_err(), "still open");
        clock.advance(Duration::from_millis(10));
        let trial = b.permit().expect("the trial");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.permit().is_err(), "one trial at a time");
        trial.succeeded();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.permit().is_ok());
        assert_eq!(b.refused(), 2);
    }

    #[test]
    fn a_failed_trial_opens_the_breaker_for_another_period() {
        let clock = ManualClock::new();
        let b = breaker(&clock);
        fail(&b, 3);
        clock.advance(OPEN_FOR);
        b.permit().expect("the trial").failed();
        assert_eq!(b.state(), BreakerState::Open);
        clock.advance(OPEN_FOR - Duration::from_millis(1));
        assert!(b.permit().is_err());
        clock.advance(Duration::from_millis(1));
        assert!(b.permit().is_ok());
    }

    #[test]
    fn a_cancelled_trial_lets_the_next_call_try_at_once() {
        let clock = ManualClock::new();
        let b = breaker(&clock);
        fail(&b, 3);
        clock.advance(OPEN_FOR);
        drop(b.permit().expect("the trial"));
        assert_eq!(b.state(), BreakerState::Open);
        b.permit().expect("a new trial, no waiting").succeeded();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_late_failure_of_a_call_from_before_does_not_reopen_a_half_open_breaker() {
        let clock = ManualClock::new();
        let b = breaker(&clock);
        let straggler = b.permit().unwrap();
        fail(&b, 3);
        clock.advance(OPEN_FOR);
        let trial = b.permit().unwrap();
        straggler.failed();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        trial.succeeded();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_clock_set_back_does_not_keep_the_breaker_open() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(3600));
        let b = breaker(&clock);
        fail(&b, 3);
        let back = ManualClock::new();
        // Same breaker, its clock now an hour behind when it opened.
        let b2 = Breaker::new(
            "x",
            b.settings,
            back.shared(),
            IntGauge::new("g", "g").unwrap(),
            IntCounter::new("c", "c").unwrap(),
        );
        *b2.state.lock() = *b.state.lock();
        assert!(b2.permit().is_ok());
    }

    /// Lets the probe task run: the test runtime has one thread.
    async fn settle(b: &Breaker) {
        while b.state() == BreakerState::HalfOpen {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn with_a_probe_every_call_is_refused_and_the_probe_alone_tries_the_backend() {
        use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
        let clock = ManualClock::new();
        let b = breaker(&clock);
        let up = Arc::new(AtomicBool::new(false));
        let probes = Arc::new(AtomicU32::new(0));
        let (u, p) = (up.clone(), probes.clone());
        b.probe_with(Box::new(move || {
            p.fetch_add(1, Ordering::SeqCst);
            let answered = u.load(Ordering::SeqCst);
            Box::pin(async move { answered })
        }));
        fail(&b, 3);
        clock.advance(OPEN_FOR);

        let refused = b
            .permit()
            .err()
            .expect("the call that starts the probe is refused too");
        assert_eq!(refused.state, "half_open");
        assert!(b.permit().is_err());
        settle(&b).await;
        assert_eq!(
            (b.state(), probes.load(Ordering::SeqCst)),
            (BreakerState::Open, 1)
        );

        up.store(true, Ordering::SeqCst);
        assert!(
            b.permit().is_err(),
            "no new probe before the open period ends"
        );
        clock.advance(OPEN_FOR);
        assert!(b.permit().is_err());
        settle(&b).await;
        assert_eq!(
            (b.state(), probes.load(Ordering::SeqCst)),
            (BreakerState::Closed, 2)
        );
        b.permit().expect("traffic flows again").succeeded();
    }

    #[test]
    fn zero_failures_turns_the_breaker_off() {
        let clock = ManualClock::new();
        let b = Breakers::new(
            BreakerSettings {
                failures: 0,
                open_for: OPEN_FOR,
            },
            clock.shared(),
        )
        .breaker("mongodb");
        fail(&b, 100);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn call_counts_only_unavailability_as_failure() {
        let clock = ManualClock::new();
        let b = breaker(&clock);
        let unavailable = |e: &&str| *e == "down";
        for _ in 0..5 {
            let r: Result<(), &str> = b
                .call(async { Err("duplicate") }, unavailable, |_| "refused")
                .await;
            assert_eq!(r, Err("duplicate"));
        }
        assert_eq!(b.state(), BreakerState::Closed);
        for _ in 0..3 {
            let _ = b
                .call(async { Err::<(), _>("down") }, unavailable, |_| "refused")
                .await;
        }
        let r = b.call(async { Ok(()) }, unavailable, |_| "refused").await;
        assert_eq!(r, Err("refused"), "not called while open");
    }

    #[test]
    fn the_metrics_show_the_state_and_the_refusals() {
        let clock = ManualClock::new();
        let breakers = Breakers::new(
            BreakerSettings {
                failures: 1,
                open_for: OPEN_FOR,
            },
            clock.shared(),
        );
        let registry = Registry::new();
        breakers.register(&registry).unwrap();
        let b = breakers.breaker("mongodb");
        fail(&b, 1);
        let _ = b.permit();
        let mut text = Vec::new();
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &registry.gather(),
            &mut text,
        )
        .unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("circuit_breaker_state{breaker=\"mongodb\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("circuit_breaker_refused_total{breaker=\"mongodb\"} 1"),
            "{text}"
        );
        assert!(Arc::ptr_eq(&breakers.breaker("mongodb"), &b));
    }
}
