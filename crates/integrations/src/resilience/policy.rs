//! The tunables of retries and breakers, as TOML tables (`[llm.retry]`, `[llm.breaker]`), checked
//! when parsed so a bad value is reported with its file and line.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A setting out of its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct PolicyError {
    pub field: &'static str,
    pub reason: &'static str,
}

fn check(ok: bool, field: &'static str, reason: &'static str) -> Result<(), PolicyError> {
    if ok { Ok(()) } else { Err(PolicyError { field, reason }) }
}

/// How often and how patiently a failed call is tried again.
///
/// ```toml
/// [llm.retry]
/// max_attempts = 3             # attempts in all, the first included (1 = no retry)
/// base_ms = 200                # backoff before retry n is uniform in [0, min(max_ms, base_ms * 2^(n-1))]
/// max_ms = 5000
/// max_retry_after_ms = 30000   # a 429 asking to wait longer than this ends the retries
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRetry", into = "RawRetry")]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
    pub max_retry_after: Duration,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRetry {
    max_attempts: u32,
    base_ms: u64,
    max_ms: u64,
    max_retry_after_ms: u64,
}

impl Default for RawRetry {
    fn default() -> Self {
        RetryPolicy::default().into()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, base: Duration::from_millis(200), max: Duration::from_secs(5), max_retry_after: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// At most ten attempts and ten minutes of backoff: a decision waits on these.
    pub fn new(max_attempts: u32, base: Duration, max: Duration, max_retry_after: Duration) -> Result<Self, PolicyError> {
        check((1..=10).contains(&max_attempts), "max_attempts", "must be between 1 and 10")?;
        check(!base.is_zero(), "base_ms", "must be greater than zero")?;
        check(max >= base, "max_ms", "must be at least base_ms")?;
        check(max <= Duration::from_secs(600), "max_ms", "must be at most 600000 (ten minutes)")?;
        check(max_retry_after <= Duration::from_secs(600), "max_retry_after_ms", "must be at most 600000 (ten minutes)")?;
        Ok(Self { max_attempts, base, max, max_retry_after })
    }

    /// One attempt, no retry.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }
}

impl TryFrom<RawRetry> for RetryPolicy {
    type Error = PolicyError;

    fn try_from(r: RawRetry) -> Result<Self, PolicyError> {
        let ms = Duration::from_millis;
        Self::new(r.max_attempts, ms(r.base_ms), ms(r.max_ms), ms(r.max_retry_after_ms))
    }
}

impl From<RetryPolicy> for RawRetry {
    fn from(p: RetryPolicy) -> Self {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self { max_attempts: p.max_attempts, base_ms: ms(p.base), max_ms: ms(p.max), max_retry_after_ms: ms(p.max_retry_after) }
    }
}

/// When a breaker opens and how it recovers.
///
/// ```toml
/// [llm.breaker]
/// window_ms = 30000        # failures are counted over this rolling window
/// failure_threshold = 5    # open after this many failures in the window (0: rule off)
/// failure_ratio = 0.5      # optional: or when this share of the window's calls failed...
/// min_calls = 10           # ...once it holds at least this many calls
/// open_ms = 30000          # how long an open breaker refuses calls before letting probes through
/// half_open_probes = 1     # probes let through at once; all must succeed to close it
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBreaker", into = "RawBreaker")]
pub struct BreakerPolicy {
    pub window: Duration,
    pub failure_threshold: u32,
    pub failure_ratio: Option<f64>,
    pub min_calls: u32,
    pub open_for: Duration,
    pub half_open_probes: u32,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawBreaker {
    window_ms: u64,
    failure_threshold: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_ratio: Option<f64>,
    min_calls: u32,
    open_ms: u64,
    half_open_probes: u32,
}

impl Default for RawBreaker {
    fn default() -> Self {
        BreakerPolicy::default().into()
    }
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(30),
            failure_threshold: 5,
            failure_ratio: None,
            min_calls: 10,
            open_for: Duration::from_secs(30),
            half_open_probes: 1,
        }
    }
}

impl BreakerPolicy {
    pub fn new(
        window: Duration,
        failure_threshold: u32,
        failure_ratio: Option<f64>,
        min_calls: u32,
        open_for: Duration,
        half_open_probes: u32,
    ) -> Result<Self, PolicyError> {
        // The window is cut into ten buckets of at least a millisecond each.
        check(window >= Duration::from_millis(10), "window_ms", "must be at least 10")?;
        check(window <= Duration::from_secs(86_400), "window_ms", "must be at most one day")?;
        check(!open_for.is_zero(), "open_ms", "must be greater than zero")?;
        check(open_for <= Duration::from_secs(86_400), "open_ms", "must be at most one day")?;
        check(half_open_probes >= 1, "half_open_probes", "must be at least 1")?;
        check(min_calls >= 1, "min_calls", "must be at least 1")?;
        if let Some(ratio) = failure_ratio {
            check(ratio.is_finite() && ratio > 0.0 && ratio <= 1.0, "failure_ratio", "must be in (0, 1]")?;
        }
        check(
            failure_threshold > 0 || failure_ratio.is_some(),
            "failure_threshold",
            "is 0 and no failure_ratio is set: it could never open",
        )?;
        Ok(Self { window, failure_threshold, failure_ratio, min_calls, open_for, half_open_probes })
    }
}

impl TryFrom<RawBreaker> for BreakerPolicy {
    type Error = PolicyError;

    fn try_from(r: RawBreaker) -> Result<Self, PolicyError> {
        let ms = Duration::from_millis;
        Self::new(ms(r.window_ms), r.failure_threshold, r.failure_ratio, r.min_calls, ms(r.open_ms), r.half_open_probes)
    }
}

impl From<BreakerPolicy> for RawBreaker {
    fn from(p: BreakerPolicy) -> Self {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            window_ms: ms(p.window),
            failure_threshold: p.failure_threshold,
            failure_ratio: p.failure_ratio,
            min_calls: p.min_calls,
            open_ms: ms(p.open_for),
            half_open_probes: p.half_open_probes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Doc {
        #[serde(default)]
        retry: RetryPolicy,
        #[serde(default)]
        breaker: BreakerPolicy,
    }

    fn parse(text: &str) -> Result<Doc, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_partial_tables() {
        let doc = parse("").unwrap();
        assert_eq!(doc.retry, RetryPolicy::default());
        assert_eq!(doc.breaker, BreakerPolicy::default());
        let doc = parse("[retry]\nmax_attempts = 5\n[breaker]\nopen_ms = 250\nfailure_ratio = 0.5\n").unwrap();
        assert_eq!(doc.retry.max_attempts, 5);
        assert_eq!(doc.retry.base, Duration::from_millis(200));
        assert_eq!(doc.breaker.open_for, Duration::from_millis(250));
        assert_eq!(doc.breaker.failure_ratio, Some(0.5));
    }

    #[test]
    fn round_trips_through_toml() {
        let doc = parse("[retry]\nbase_ms = 50\nmax_ms = 800\n[breaker]\nwindow_ms = 1000\nhalf_open_probes = 2\n").unwrap();
        let again = parse(&toml::to_string(&doc).unwrap()).unwrap();
        assert_eq!((again.retry, again.breaker), (doc.retry, doc.breaker));
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases = [
            ("[retry]\nmax_attempts = 0\n", "max_attempts"),
            ("[retry]\nmax_attempts = 11\n", "max_attempts"),
            ("[retry]\nbase_ms = 0\n", "base_ms"),
            ("[retry]\nbase_ms = 500\nmax_ms = 100\n", "max_ms"),
            ("[retry]\nmax_retry_after_ms = 9999999\n", "max_retry_after_ms"),
            ("[retry]\nmax_attempts = -1\n", "max_attempts"),
            ("[retry]\nattempts = 3\n", "attempts"),
            ("[breaker]\nwindow_ms = 5\n", "window_ms"),
            ("[breaker]\nopen_ms = 0\n", "open_ms"),
            ("[breaker]\nhalf_open_probes = 0\n", "half_open_probes"),
            ("[breaker]\nfailure_ratio = 1.5\n", "failure_ratio"),
            ("[breaker]\nfailure_ratio = 0.0\n", "failure_ratio"),
            ("[breaker]\nfailure_threshold = 0\n", "could never open"),
            ("[breaker]\nmin_calls = 0\n", "min_calls"),
            ("[breaker]\nfailure_threshold = \"five\"\n", "failure_threshold"),
        ];
        for (text, needle) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
