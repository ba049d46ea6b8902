//! The observable occurrences of retries, breakers and fallback chains: each is one typed value
//! whose `emit()` writes its log line and its metrics together. Labels are dependency names,
//! which come from configuration (a handful per process), and fixed kinds.

use super::breaker::BreakerState;
use std::time::Duration;

const STATE: &str = "waooaw_circuit_breaker_state";

pub(crate) struct BreakerCreated<'a> {
    pub dependency: &'a str,
}

impl BreakerCreated<'_> {
    pub fn emit(self) {
        tracing::debug!(dependency = self.dependency, "circuit breaker created");
        metrics::gauge!(STATE, "dependency" => self.dependency.to_owned()).set(BreakerState::Closed.gauge());
    }
}

pub(crate) struct BreakerTransition<'a> {
    pub dependency: &'a str,
    pub from: BreakerState,
    pub to: BreakerState,
    pub reason: &'static str,
    pub open_for: Duration,
}

impl BreakerTransition<'_> {
    pub fn emit(self) {
        let (dependency, from, to, reason) = (self.dependency, self.from.as_str(), self.to.as_str(), self.reason);
        match self.to {
            BreakerState::Open => tracing::warn!(
                dependency,
                from,
                to,
                reason,
                open_for_ms = self.open_for.as_millis() as u64,
                "circuit breaker opened: calls are refused until it probes again"
            ),
            BreakerState::HalfOpen => tracing::info!(dependency, from, to, reason, "circuit breaker half-open: probing"),
            BreakerState::Closed => tracing::info!(dependency, from, to, reason, "circuit breaker closed: dependency recovered"),
        }
        metrics::gauge!(STATE, "dependency" => dependency.to_owned()).set(self.to.gauge());
        metrics::counter!("waooaw_circuit_breaker_transitions_total", "dependency" => dependency.to_owned(), "from" => from, "to" => to)
            .increment(1);
    }
}

/// A call refused by an open breaker. Logged at debug: while a breaker is open every call
/// ends here, and the transition already said why.
pub(crate) struct CallRejected<'a> {
    pub dependency: &'a str,
}

impl CallRejected<'_> {
    pub fn emit(self) {
        tracing::debug!(dependency = self.dependency, "call refused: circuit breaker open");
        metrics::counter!("waooaw_circuit_breaker_rejected_total", "dependency" => self.dependency.to_owned()).increment(1);
    }
}

/// A failed attempt that will be tried again after `delay`.
pub(crate) struct RetryScheduled<'a> {
    pub dependency: &'a str,
    /// The attempt that failed, from 1.
    pub attempt: u32,
    pub delay: Duration,
    pub kind: &'static str,
    pub error: &'a dyn std::fmt::Display,
}

impl RetryScheduled<'_> {
    pub fn emit(self) {
        tracing::warn!(dependency = self.dependency, attempt = self.attempt, delay_ms = self.delay.as_millis() as u64,
            kind = self.kind, error = %self.error, "call failed; retrying");
        metrics::counter!("waooaw_retries_total", "dependency" => self.dependency.to_owned(), "kind" => self.kind).increment(1);
    }
}

/// Why the retry loop stopped on a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// The error is final (4xx, malformed answer, open breaker).
    NotRetryable,
    /// `max_attempts` reached.
    Exhausted,
    /// The provider asked to wait longer than `max_retry_after`.
    RetryAfterTooLong,
}

impl GaveUp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotRetryable => "not_retryable",
            Self::Exhausted => "exhausted",
            Self::RetryAfterTooLong => "retry_after_too_long",
        }
    }
}

/// A call that failed for good after `attempts` attempts.
pub(crate) struct CallFailed<'a> {
    pub dependency: &'a str,
    pub attempts: u32,
    pub kind: &'static str,
    pub gave_up: GaveUp,
    pub error: &'a dyn std::fmt::Display,
}

impl CallFailed<'_> {
    pub fn emit(self) {
        tracing::warn!(dependency = self.dependency, attempts = self.attempts, kind = self.kind, gave_up = self.gave_up.as_str(),
            error = %self.error, "call failed");
        metrics::counter!("waooaw_dependency_failures_total", "dependency" => self.dependency.to_owned(), "kind" => self.kind,
            "gave_up" => self.gave_up.as_str())
        .increment(1);
    }
}

/// A fallback chain moved on from one provider to the next.
pub(crate) struct FallbackTaken<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub kind: &'static str,
    pub error: &'a dyn std::fmt::Display,
}

impl FallbackTaken<'_> {
    pub fn emit(self) {
        tracing::warn!(from = self.from, to = self.to, kind = self.kind, error = %self.error, "provider failed; trying the next in the chain");
        metrics::counter!("waooaw_llm_fallbacks_total", "from" => self.from.to_owned(), "to" => self.to.to_owned()).increment(1);
    }
}

/// Every provider of a chain failed.
pub(crate) struct ChainExhausted<'a> {
    pub chain: &'a str,
    pub providers: usize,
}

impl ChainExhausted<'_> {
    pub fn emit(self) {
        tracing::error!(chain = self.chain, providers = self.providers, "every provider of the LLM chain failed");
        metrics::counter!("waooaw_llm_chain_exhausted_total").increment(1);
    }
}
