//! A circuit breaker for one outside dependency. Closed: calls go through and their outcomes
//! are counted in a rolling window; too many failures open it. Open: calls are refused at once
//! (no network call) until `open_for` has passed. Half-open: a few probe calls go through; if
//! all succeed it closes, if one fails it opens again.
//!
//! Use: `let permit = breaker.allow()?;` then, when the call is done, `permit.success()` or
//! `permit.failure()`. A permit dropped unrecorded (the call was cancelled) counts as neither.

use super::observe::{BreakerCreated, BreakerTransition, CallRejected};
use super::policy::BreakerPolicy;
use super::window::{Counts, Window};
use parking_lot::Mutex;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    HalfOpen,
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

    /// The value of the `waooaw_circuit_breaker_state` gauge.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

/// The call was refused because the dependency's breaker is open (or half-open with all its
/// probes already out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker open for {dependency}")]
pub struct BreakerOpen {
    pub dependency: Arc<str>,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32, successes: u32 },
}

impl Phase {
    fn state(self) -> BreakerState {
        match self {
            Self::Closed => BreakerState::Closed,
            Self::Open { .. } => BreakerState::Open,
            Self::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    /// Bumped on every transition, so the outcome of a call admitted in an earlier phase (it
    /// was slow) cannot close or reopen the breaker of a later one.
    generation: u64,
    window: Window,
}

/// A state change to report once the lock is released.
type Change = Option<(BreakerState, BreakerState, &'static str)>;

#[derive(Debug)]
pub struct CircuitBreaker {
    dependency: Arc<str>,
    policy: BreakerPolicy,
    inner: Mutex<Inner>,
}

/// What `/readyz` shows of a breaker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerSnapshot {
    pub dependency: String,
    pub state: BreakerState,
    /// Calls and failures in the current window (closed state).
    pub window_calls: u32,
    pub window_failures: u32,
    /// For an open breaker, how long until probes are let through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes_in_ms: Option<u64>,
}

impl CircuitBreaker {
    pub fn new(dependency: impl Into<Arc<str>>, policy: BreakerPolicy) -> Self {
        let dependency = dependency.into();
        BreakerCreated { dependency: &dependency }.emit();
        let inner = Inner { phase: Phase::Closed, generation: 0, window: Window::new(policy.window, Instant::now()) };
        Self { dependency, policy, inner: Mutex::new(inner) }
    }

    pub fn dependency(&self) -> &str {
        &self.dependency
    }

    pub fn policy(&self) -> &BreakerPolicy {
        &self.policy
    }

    /// Asks to make a call. Refused (fast, no I/O) while open.
    pub fn allow(&self) -> Result<Permit<'_>, BreakerOpen> {
        self.allow_at(Instant::now())
    }

    pub(crate) fn allow_at(&self, now: Instant) -> Result<Permit<'_>, BreakerOpen> {
        let (change, admitted) = {
            let mut inner = self.inner.lock();
            let change = self.expire(&mut inner, now);
            let generation = inner.generation;
            let admitted = match &mut inner.phase {
                Phase::Closed => Some(Permit { breaker: self, generation, probe: false, done: false }),
                Phase::HalfOpen { in_flight, successes } if *in_flight + *successes < self.policy.half_open_probes => {
                    *in_flight += 1;
                    Some(Permit { breaker: self, generation, probe: true, done: false })
                }
                Phase::HalfOpen { .. } | Phase::Open { .. } => None,
            };
            (change, admitted)
        };
        self.report(change);
        admitted.ok_or_else(|| {
            CallRejected { dependency: &self.dependency }.emit();
            BreakerOpen { dependency: self.dependency.clone() }
        })
    }

    /// The state now (an open breaker whose time is up reads as half-open).
    pub fn state(&self) -> BreakerState {
        self.snapshot().state
    }

    pub fn snapshot(&self) -> BreakerSnapshot {
        self.snapshot_at(Instant::now())
    }

    pub(crate) fn snapshot_at(&self, now: Instant) -> BreakerSnapshot {
        let (change, snapshot) = {
            let mut inner = self.inner.lock();
            let change = self.expire(&mut inner, now);
            let Counts { calls, failures } = inner.window.counts(now);
            let probes_in_ms = match inner.phase {
                Phase::Open { until } => Some(u64::try_from(until.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX)),
                _ => None,
            };
            let snapshot = BreakerSnapshot {
                dependency: self.dependency.to_string(),
                state: inner.phase.state(),
                window_calls: calls,
                window_failures: failures,
                probes_in_ms,
            };
            (change, snapshot)
        };
        self.report(change);
        snapshot
    }

    fn record(&self, generation: u64, probe: bool, failure: bool, now: Instant) {
        let change = {
            let mut inner = self.inner.lock();
            if inner.generation != generation {
                // Admitted before the last transition: its outcome says nothing about now.
                return;
            }
            match inner.phase {
                Phase::Closed => {
                    inner.window.record(now, failure);
                    if failure && self.trips(inner.window.counts(now)) {
                        self.set(&mut inner, Phase::Open { until: now + self.policy.open_for }, "failure threshold reached")
                    } else {
                        None
                    }
                }
                Phase::HalfOpen { in_flight, successes } if probe => {
                    if failure {
                        self.set(&mut inner, Phase::Open { until: now + self.policy.open_for }, "probe failed")
                    } else if successes + 1 >= self.policy.half_open_probes {
                        inner.window.clear();
                        self.set(&mut inner, Phase::Closed, "probes succeeded")
                    } else {
                        inner.phase = Phase::HalfOpen { in_flight: in_flight.saturating_sub(1), successes: successes + 1 };
                        None
                    }
                }
                Phase::HalfOpen { .. } | Phase::Open { .. } => None,
            }
        };
        self.report(change);
    }

    /// A probe's call ended without an outcome: free its slot.
    fn release(&self, generation: u64) {
        let mut inner = self.inner.lock();
        if inner.generation == generation
            && let Phase::HalfOpen { in_flight, .. } = &mut inner.phase
        {
            *in_flight = in_flight.saturating_sub(1);
        }
    }

    /// An open breaker whose time is up turns half-open.
    fn expire(&self, inner: &mut Inner, now: Instant) -> Change {
        match inner.phase {
            Phase::Open { until } if now >= until => self.set(inner, Phase::HalfOpen { in_flight: 0, successes: 0 }, "open period over"),
            _ => None,
        }
    }

    fn trips(&self, counts: Counts) -> bool {
        let p = &self.policy;
        let by_count = p.failure_threshold > 0 && counts.failures >= p.failure_threshold;
        let by_ratio = p
            .failure_ratio
            .is_some_and(|ratio| counts.calls >= p.min_calls && f64::from(counts.failures) >= ratio * f64::from(counts.calls));
        by_count || by_ratio
    }

    fn set(&self, inner: &mut Inner, phase: Phase, reason: &'static str) -> Change {
        let from = inner.phase.state();
        inner.phase = phase;
        inner.generation += 1;
        Some((from, phase.state(), reason))
    }

    fn report(&self, change: Change) {
        if let Some((from, to, reason)) = change {
            BreakerTransition { dependency: &self.dependency, from, to, reason, open_for: self.policy.open_for }.emit();
        }
    }
}

/// Leave to make one call; say how it went with `success` or `failure`.
#[must_use = "record the call's outcome with success() or failure()"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    probe: bool,
    done: bool,
}

impl Permit<'_> {
    pub fn success(self) {
        self.record(false);
    }

    pub fn failure(self) {
        self.record(true);
    }

    pub fn record(self, failure: bool) {
        self.record_at(failure, Instant::now());
    }

    pub(crate) fn record_at(mut self, failure: bool, now: Instant) {
        self.done = true;
        self.breaker.record(self.generation, self.probe, failure, now);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done && self.probe {
            self.breaker.release(self.generation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn breaker(threshold: u32, ratio: Option<f64>, probes: u32) -> CircuitBreaker {
        CircuitBreaker::new("test:dep", BreakerPolicy::new(ms(1000), threshold, ratio, 4, ms(500), probes).unwrap())
    }

    fn call(b: &CircuitBreaker, now: Instant, failure: bool) -> bool {
        match b.allow_at(now) {
            Ok(p) => {
                p.record_at(failure, now);
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn opens_on_count_refuses_then_probes_and_closes() {
        let b = breaker(3, None, 1);
        let t = Instant::now();
        assert!(call(&b, t, true) && call(&b, t, false) && call(&b, t, true));
        assert_eq!(b.snapshot_at(t).state, BreakerState::Closed);
        assert!(call(&b, t, true), "the third failure is admitted, then opens it");
        let open = b.snapshot_at(t + ms(100));
        assert_eq!((open.state, open.probes_in_ms), (BreakerState::Open, Some(400)));
        assert_eq!(b.allow_at(t + ms(499)).err(), Some(BreakerOpen { dependency: "test:dep".into() }));
        // Open period over: one probe goes through, a second concurrent call is refused.
        let probe = b.allow_at(t + ms(500)).unwrap();
        assert_eq!(b.snapshot_at(t + ms(500)).state, BreakerState::HalfOpen);
        assert!(b.allow_at(t + ms(501)).is_err());
        probe.record_at(false, t + ms(510));
        let closed = b.snapshot_at(t + ms(510));
        assert_eq!((closed.state, closed.window_calls), (BreakerState::Closed, 0), "closing starts a fresh window");
    }

    #[test]
    fn a_failed_probe_reopens_for_a_full_period() {
        let b = breaker(1, None, 1);
        let t = Instant::now();
        assert!(call(&b, t, true));
        assert!(call(&b, t + ms(500), true), "the probe is admitted and fails");
        assert_eq!(b.snapshot_at(t + ms(600)).state, BreakerState::Open);
        assert!(!call(&b, t + ms(999), false));
        assert!(call(&b, t + ms(1000), false));
        assert_eq!(b.snapshot_at(t + ms(1000)).state, BreakerState::Closed);
    }

    #[test]
    fn several_probes_must_all_succeed() {
        let b = breaker(1, None, 2);
        let t = Instant::now();
        assert!(call(&b, t, true));
        let at = t + ms(500);
        let (p1, p2) = (b.allow_at(at).unwrap(), b.allow_at(at).unwrap());
        assert!(b.allow_at(at).is_err(), "only two probes");
        p1.record_at(false, at);
        assert_eq!(b.snapshot_at(at).state, BreakerState::HalfOpen);
        p2.record_at(false, at);
        assert_eq!(b.snapshot_at(at).state, BreakerState::Closed);
    }

    #[test]
    fn ratio_needs_min_calls_and_old_failures_age_out() {
        let b = breaker(0, Some(0.5), 1);
        let t = Instant::now();
        assert!(call(&b, t, true) && call(&b, t, true) && call(&b, t, false));
        assert_eq!(b.snapshot_at(t).state, BreakerState::Closed, "3 calls < min_calls 4");
        assert!(call(&b, t, true));
        assert_eq!(b.snapshot_at(t).state, BreakerState::Open, "3 of 4 failed");

        let b = breaker(0, Some(0.5), 1);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(call(&b, t, true));
        }
        // A second later those failures have left the window.
        for _ in 0..3 {
            assert!(call(&b, t + ms(1000), false));
        }
        assert!(call(&b, t + ms(1000), true));
        assert_eq!(b.snapshot_at(t + ms(1000)).state, BreakerState::Closed, "1 of 4 failed in the window");
    }

    #[test]
    fn a_cancelled_probe_frees_its_slot_and_late_outcomes_are_ignored() {
        let b = breaker(1, None, 1);
        let t = Instant::now();
        let slow = b.allow_at(t).unwrap();
        assert!(call(&b, t, true));
        assert_eq!(b.snapshot_at(t).state, BreakerState::Open);
        // The call admitted while closed answers late, after the breaker changed: ignored.
        slow.record_at(false, t + ms(10));
        assert_eq!(b.snapshot_at(t + ms(10)).state, BreakerState::Open);
        drop(b.allow_at(t + ms(500)).unwrap());
        assert!(call(&b, t + ms(501), false), "the dropped probe's slot is free again");
        assert_eq!(b.snapshot_at(t + ms(501)).state, BreakerState::Closed);
    }

    #[test]
    fn transitions_and_rejections_are_metrics() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let b = CircuitBreaker::new("llm:test/metrics@local", BreakerPolicy::new(ms(1000), 1, None, 1, ms(500), 1).unwrap());
            let t = Instant::now();
            assert!(call(&b, t, true));
            assert!(!call(&b, t, false));
        });
        let text = handle.render();
        let dep = "dependency=\"llm:test/metrics@local\"";
        assert!(text.contains(&format!("waooaw_circuit_breaker_state{{{dep}}} 2")), "{text}");
        assert!(text.contains(&format!("waooaw_circuit_breaker_transitions_total{{{dep},from=\"closed\",to=\"open\"}} 1")), "{text}");
        assert!(text.contains(&format!("waooaw_circuit_breaker_rejected_total{{{dep}}} 1")), "{text}");
    }
}
