//! The circuit breaker's cost on the decision hot path, reported by `waooaw bench decide` beside
//! the tiers. Every LLM and embeddings call asks its breaker first and reports back after, so
//! what is timed is `allow` + `success` on a closed breaker, and a breaker cycling closed →
//! open → half-open → closed (a failure every fifth call, open for 1 µs) so transitions and
//! their metrics are in the mix. One call at a time, in nanoseconds, with a Prometheus recorder
//! as `serve` installs (log lines are not written: the bench has no log subscriber).

use anyhow::Result;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use waooaw_integrations::resilience::{BreakerPolicy, CircuitBreaker};

fn report(hist: &Histogram<u64>) -> Value {
    json!({"p50_ns": hist.value_at_quantile(0.5), "p99_ns": hist.value_at_quantile(0.99), "max_ns": hist.max(), "samples": hist.len()})
}

fn time(hist: &mut Histogram<u64>, call: impl FnOnce()) {
    let t = Instant::now();
    call();
    let _ = hist.record(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1));
}

pub fn run(samples: usize) -> Result<Value> {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let (mut closed_hist, mut cycling_hist) = (Histogram::new(3)?, Histogram::new(3)?);
    metrics::with_local_recorder(&recorder, || -> Result<()> {
        let closed = CircuitBreaker::new("llm:bench/closed@local", BreakerPolicy::default());
        let cycling = CircuitBreaker::new(
            "llm:bench/cycling@local",
            BreakerPolicy::new(Duration::from_secs(30), 1, None, 1, Duration::from_micros(1), 1)?,
        );
        for n in 0..samples.max(1) {
            time(&mut closed_hist, || {
                if let Ok(permit) = closed.allow() {
                    permit.success();
                }
            });
            time(&mut cycling_hist, || {
                if let Ok(permit) = cycling.allow() {
                    permit.record(n % 5 == 4);
                }
            });
        }
        Ok(())
    })?;
    // The transitions the cycling breaker went through, as the recorder counted them.
    let transitions: u64 = recorder
        .handle()
        .render()
        .lines()
        .filter(|l| l.starts_with("waooaw_circuit_breaker_transitions_total{dependency=\"llm:bench/cycling@local\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    Ok(json!({"closed_allow_success": report(&closed_hist), "cycling_allow_record": report(&cycling_hist),
        "cycling_transitions": transitions, "metrics": "prometheus recorder"}))
}
