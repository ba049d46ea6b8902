//! What a call to the LLM tier pays around the call itself, reported by `waooaw bench decide`
//! beside the tiers (issue target: ≤ 5 µs p99 added): the budget reservation before the call,
//! the circuit breaker's `allow` and `success`, the settlement after it, and the usage metrics
//! (tokens and cost by specialization and model) into a Prometheus recorder as `serve`
//! installs. One call at a time, in nanoseconds, on the embedded default's in-memory ledger.
//! The ledger in the store (several processes sharing budgets) is timed too, in microseconds:
//! it is a database round trip per call, which an LLM call's seconds dwarf.

use anyhow::Result;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::time::Instant;
use waooaw_decisions::budget::{Budgets, Estimate};
use waooaw_decisions::llm_usage_metrics;
use waooaw_domain::{BudgetLimits, Instance, Specialization, Urgency};
use waooaw_integrations::resilience::{BreakerPolicy, CircuitBreaker};
use waooaw_store::DynStore;

fn report_ns(hist: &Histogram<u64>, refused: usize) -> Value {
    json!({"p50_ns": hist.value_at_quantile(0.5), "p99_ns": hist.value_at_quantile(0.99), "max_ns": hist.max(),
        "samples": hist.len(), "refused": refused})
}

fn report_us(hist: &Histogram<u64>, refused: usize) -> Value {
    json!({"p50_us": hist.value_at_quantile(0.5), "p99_us": hist.value_at_quantile(0.99), "max_us": hist.max(),
        "samples": hist.len(), "refused": refused})
}

fn elapsed_ns(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1)
}

pub async fn run(store: DynStore, spec: &Specialization, instance: &Instance, samples: usize) -> Result<Value> {
    // Limits that never refuse in the run (spend is settled at a realistic size each call).
    let roomy = BudgetLimits {
        tokens_per_day: Some(waooaw_domain::budget::MAX_TOKENS_PER_DAY),
        usd_per_day: Some(waooaw_domain::budget::MAX_USD),
        usd_per_month: Some(waooaw_domain::budget::MAX_USD),
        requests_per_minute: Some(waooaw_domain::budget::MAX_REQUESTS_PER_MINUTE),
        concurrent_llm_calls: None,
    };
    roomy.validate()?;
    // Two calls per sample, within the requests-per-minute burst.
    let samples = samples.clamp(1, 40_000);
    store.set_budget_override(instance.tenant_id, Some(instance.id), &roomy, chrono::Utc::now()).await?;
    let estimate = Estimate { tokens: 1_400, usd: 0.0006 };
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let breaker = CircuitBreaker::new("llm:bench/overhead@local", BreakerPolicy::default());

    let local = Budgets::in_memory(store.clone());
    let (mut budget_hist, mut total_hist, mut refused) = (Histogram::new(3)?, Histogram::new(3)?, 0);
    // Warm up: the first call of the day reads the ledger lines from the store.
    if let Ok(grant) = local.reserve(spec, instance, Urgency::Normal, estimate, chrono::Utc::now()).await {
        local.settle(grant, 0, 0.0).await;
    }
    for n in 0..samples {
        let t = Instant::now();
        match local.reserve(spec, instance, Urgency::Normal, estimate, chrono::Utc::now()).await {
            Ok(grant) => local.settle(grant, 1_340, 0.00031).await,
            Err(_) => refused += 1,
        }
        let _ = budget_hist.record(elapsed_ns(t));
        // The whole overhead of one call: budget, breaker, settlement and usage metrics.
        let t = Instant::now();
        match local.reserve(spec, instance, Urgency::Normal, estimate, chrono::Utc::now()).await {
            Ok(grant) => {
                if let Ok(permit) = breaker.allow() {
                    permit.success();
                }
                local.settle(grant, 1_340, 0.00031).await;
                metrics::with_local_recorder(&recorder, || llm_usage_metrics(&spec.id, "gpt-4o-mini", 1_100, 240, 0.00031));
            }
            Err(_) => refused += 1,
        }
        let _ = total_hist.record(elapsed_ns(t));
        // The writer drains the queue behind the calls; flushing now and then (untimed) keeps
        // it as short as at a real instance's few calls a second. Not after every call: the
        // call right after the writer ran pays for the caches it evicted (measured: a flush
        // every 64 calls puts that ~10 µs miss at the 99th percentile), which is the machine's
        // cost of switching work, not the ledger's.
        if n % 1024 == 1023 {
            local.flush().await;
        }
    }
    local.flush().await;

    let shared = Budgets::new(store.clone());
    let (mut shared_hist, mut shared_refused) = (Histogram::new(3)?, 0);
    for _ in 0..samples.clamp(1, 2_000) {
        let t = Instant::now();
        match shared.reserve(spec, instance, Urgency::Normal, estimate, chrono::Utc::now()).await {
            Ok(grant) => shared.settle(grant, 1_340, 0.00031).await,
            Err(_) => shared_refused += 1,
        }
        let _ = shared_hist.record(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
    }
    Ok(json!({
        "budget_in_memory_reserve_and_settle": report_ns(&budget_hist, refused),
        "total_budget_breaker_metrics": report_ns(&total_hist, 0),
        "budget_store_reserve_and_settle": report_us(&shared_hist, shared_refused),
    }))
}
