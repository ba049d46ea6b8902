//! The breaker's cost on the hot path, with a Prometheus recorder installed so metric updates
//! are paid for: `allow` + `success` on a closed breaker (every LLM and embeddings call), the
//! refusal of an open one, and a breaker cycling through all three states.
//! `cargo bench -p waooaw-integrations --bench breaker`; `waooaw bench decide` reports p99.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use waooaw_integrations::resilience::{BreakerPolicy, CircuitBreaker};

fn policy(open: Duration) -> BreakerPolicy {
    BreakerPolicy::new(Duration::from_secs(30), 5, Some(0.5), 10, open, 1).unwrap()
}

fn breaker(c: &mut Criterion) {
    let _ = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder();
    let closed = CircuitBreaker::new("llm:bench/closed@local", policy(Duration::from_secs(30)));
    c.bench_function("breaker allow+success (closed)", |b| {
        b.iter(|| black_box(closed.allow()).map(|p| p.success()));
    });

    let open = CircuitBreaker::new("llm:bench/open@local", policy(Duration::from_secs(3600)));
    for _ in 0..5 {
        if let Ok(p) = open.allow() {
            p.failure();
        }
    }
    c.bench_function("breaker refusal (open, with rejected counter)", |b| {
        b.iter(|| black_box(open.allow()).is_err());
    });

    // Open for 1 µs: every fifth call fails and trips it, the next probes and closes it again,
    // so transitions (log line + gauge + counter) are part of the measured mix.
    let cycling = CircuitBreaker::new(
        "llm:bench/cycling@local",
        BreakerPolicy::new(Duration::from_secs(30), 1, None, 1, Duration::from_micros(1), 1).unwrap(),
    );
    let mut n = 0u64;
    c.bench_function("breaker allow+record (cycling states)", |b| {
        b.iter(|| {
            n += 1;
            if let Ok(p) = cycling.allow() {
                p.record(n.is_multiple_of(5));
            }
        });
    });
}

criterion_group!(benches, breaker);
criterion_main!(benches);
