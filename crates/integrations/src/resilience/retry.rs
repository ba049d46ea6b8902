//! Retries with exponential backoff and full jitter, honouring the provider's `Retry-After`, and
//! the breaker around each attempt.
//!
//! Written here rather than taken from `backon`: its jitter adds a random part on top of the
//! exponential delay (not "full jitter", uniform in [0, delay]), and waiting for a 429's
//! `Retry-After` - or giving up when it is longer than we accept - needs the error to choose the
//! delay; with the breaker asked before each attempt the whole loop is a few lines.

use super::breaker::{BreakerOpen, CircuitBreaker};
use super::observe::{CallFailed, GaveUp, RetryScheduled};
use super::policy::RetryPolicy;
use crate::llm::LlmError;
use std::future::Future;
use std::time::Duration;

/// What the retry loop and the breaker need to know of an error.
pub trait Failure: std::fmt::Display {
    /// Whether the same call may succeed later (network trouble, timeout, 429, 5xx).
    fn is_retryable(&self) -> bool;

    /// How long the dependency asked us to wait (a 429's `Retry-After`).
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// A fixed short name of the failure, for metric labels.
    fn kind(&self) -> &'static str;

    /// Whether the failure says the dependency is unwell, so counts against its breaker. A
    /// request the dependency refused as wrong (4xx) or answered unusably says nothing of its
    /// health: it answered.
    fn is_dependency_fault(&self) -> bool {
        self.is_retryable()
    }
}

impl Failure for LlmError {
    fn is_retryable(&self) -> bool {
        LlmError::is_retryable(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        LlmError::retry_after(self)
    }

    fn kind(&self) -> &'static str {
        LlmError::kind(self)
    }
}

impl From<BreakerOpen> for LlmError {
    fn from(e: BreakerOpen) -> Self {
        LlmError::CircuitOpen { dependency: e.dependency.to_string() }
    }
}

/// The backoff before retry `n` (1 for the first retry): uniform in
/// `[0, min(max, base * 2^(n-1))]` ("full jitter"), so clients that failed together do not
/// come back together.
pub fn backoff(policy: &RetryPolicy, n: u32) -> Duration {
    let ceiling = policy.base.saturating_mul(1u32 << n.saturating_sub(1).min(30)).min(policy.max);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::random_range(0..=nanos))
}

/// Runs `op` until it succeeds, fails with a final error, or `policy.max_attempts` is used up.
/// Each attempt first asks `breaker` (when given); a refusal ends the loop at once with the
/// typed `BreakerOpen` error converted into `E`, without calling `op`.
pub async fn call<T, E, F, Fut>(dependency: &str, policy: &RetryPolicy, breaker: Option<&CircuitBreaker>, mut op: F) -> Result<T, E>
where
    E: Failure + From<BreakerOpen>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let permit = match breaker {
            Some(b) => Some(b.allow()?),
            None => None,
        };
        let result = op().await;
        if let Some(permit) = permit {
            permit.record(matches!(&result, Err(e) if e.is_dependency_fault()));
        }
        let error = match result {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        let asked = error.retry_after();
        let gave_up = if !error.is_retryable() {
            Some(GaveUp::NotRetryable)
        } else if attempt >= policy.max_attempts {
            Some(GaveUp::Exhausted)
        } else if asked.is_some_and(|wait| wait > policy.max_retry_after) {
            Some(GaveUp::RetryAfterTooLong)
        } else {
            None
        };
        if let Some(gave_up) = gave_up {
            CallFailed { dependency, attempts: attempt, kind: error.kind(), gave_up, error: &error }.emit();
            return Err(error);
        }
        // At least what the provider asked, plus jitter so clients told the same second spread out.
        let delay = asked.unwrap_or(Duration::ZERO) + backoff(policy, attempt);
        RetryScheduled { dependency, attempt, delay, kind: error.kind(), error: &error }.emit();
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::BreakerPolicy;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy::new(max_attempts, Duration::from_millis(1), Duration::from_millis(4), Duration::from_millis(50)).unwrap()
    }

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_ceiling() {
        let p = RetryPolicy::new(5, Duration::from_millis(100), Duration::from_millis(1000), Duration::ZERO).unwrap();
        for (n, ceiling) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (40, 1000)] {
            let samples: Vec<Duration> = (0..400).map(|_| backoff(&p, n)).collect();
            let max = samples.iter().max().unwrap();
            assert!(*max <= Duration::from_millis(ceiling), "retry {n}: {max:?}");
            // Full jitter spreads over the whole range, not only near the ceiling.
            assert!(samples.iter().any(|d| *d < Duration::from_millis(ceiling / 4)), "retry {n}");
            assert!(samples.iter().any(|d| *d > Duration::from_millis(ceiling * 3 / 4)), "retry {n}");
        }
    }

    async fn run(
        policy: &RetryPolicy,
        breaker: Option<&CircuitBreaker>,
        script: Vec<Result<u32, LlmError>>,
    ) -> (Result<u32, LlmError>, u32) {
        let calls = AtomicU32::new(0);
        let result = call("test:retry", policy, breaker, || {
            let n = calls.fetch_add(1, Ordering::SeqCst) as usize;
            let outcome = script.get(n).cloned().unwrap_or(Ok(99));
            async move { outcome }
        })
        .await;
        (result, calls.load(Ordering::SeqCst))
    }

    fn server(status: u16) -> LlmError {
        LlmError::Server { status, message: String::new() }
    }

    #[tokio::test]
    async fn retries_retryable_errors_until_success_or_exhaustion() {
        let (r, n) = run(&policy(3), None, vec![Err(server(503)), Err(LlmError::Timeout), Ok(7)]).await;
        assert_eq!((r, n), (Ok(7), 3));
        let (r, n) = run(&policy(2), None, vec![Err(server(503)), Err(server(502)), Ok(7)]).await;
        assert_eq!((r, n), (Err(server(502)), 2));
    }

    #[tokio::test]
    async fn final_errors_and_long_retry_after_are_not_retried() {
        let bad = LlmError::BadRequest { status: 400, message: "context too long".into() };
        assert_eq!(run(&policy(5), None, vec![Err(bad.clone())]).await, (Err(bad), 1));
        let slow_down = LlmError::RateLimited { retry_after: Some(Duration::from_secs(60)), message: String::new() };
        assert_eq!(run(&policy(5), None, vec![Err(slow_down.clone())]).await, (Err(slow_down), 1));
        let short = LlmError::RateLimited { retry_after: Some(Duration::from_millis(20)), message: String::new() };
        let started = std::time::Instant::now();
        assert_eq!(run(&policy(5), None, vec![Err(short)]).await, (Ok(99), 2));
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[tokio::test]
    async fn an_open_breaker_stops_the_loop_without_calling() {
        let b =
            CircuitBreaker::new("test:retry", BreakerPolicy::new(Duration::from_secs(1), 2, None, 1, Duration::from_secs(60), 1).unwrap());
        // Two failures open the breaker; the third attempt is refused before any call.
        let (r, n) = run(&policy(5), Some(&b), vec![Err(server(500)), Err(server(500)), Ok(1)]).await;
        assert_eq!((r, n), (Err(LlmError::CircuitOpen { dependency: "test:retry".into() }), 2));
        assert_eq!(run(&policy(5), Some(&b), vec![Ok(1)]).await, (Err(LlmError::CircuitOpen { dependency: "test:retry".into() }), 0));
        // A 400 is not the dependency's fault: it does not count against the breaker.
        let b =
            CircuitBreaker::new("test:retry", BreakerPolicy::new(Duration::from_secs(1), 1, None, 1, Duration::from_secs(60), 1).unwrap());
        let bad = LlmError::BadRequest { status: 400, message: String::new() };
        assert_eq!(run(&policy(1), Some(&b), vec![Err(bad.clone())]).await, (Err(bad), 1));
        assert_eq!(b.state(), crate::resilience::BreakerState::Closed);
    }
}
