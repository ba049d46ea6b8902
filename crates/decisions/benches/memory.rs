//! Embed + search at 100,000 corpus-like memories in one tenant (the HNSW path), against exact
//! scans of 10,000 (the largest exact tenant by default) and of 100,000 (what the graph avoids).
//!
//! `cargo bench -p waooaw-decisions --bench memory -- --warm-up-time 1 --measurement-time 5`
//!
//! Criterion reports means; the latency target is a p99, so each setup also times single
//! queries (embed + search) and prints p50/p99/max first.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/synthetic.rs"]
mod synthetic;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};
use uuid::Uuid;
use waooaw_decisions::{Embedder, Filter, HashedNgramEmbedder, IndexConfig, MemoryVector, SearchMode, VectorIndex};
use waooaw_domain::{InstanceId, TenantId};

const LARGE: usize = 100_000;
const SMALL: usize = 10_000;
const K: usize = 5;
const KINDS: [&str; 4] = ["decision", "human_answer", "playbook", "battlecard"];

struct Fixture {
    embedder: HashedNgramEmbedder,
    tenant: TenantId,
    instance: InstanceId,
    queries: Vec<String>,
    memories: Vec<MemoryVector>,
}

fn fixture() -> Fixture {
    let corpus = common::corpus();
    let templates: Vec<String> = corpus.memory.iter().map(|m| m.text.clone()).collect();
    let embedder = HashedNgramEmbedder::new();
    let (tenant, instance) = (TenantId::new(), InstanceId::new());
    let texts = synthetic::memory_texts(&templates, LARGE, 42);
    let started = Instant::now();
    let memories: Vec<MemoryVector> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| MemoryVector {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            instance_id: if i % 4 == 0 { None } else { Some(if i % 2 == 0 { instance } else { InstanceId::new() }) },
            kind: KINDS[i % KINDS.len()].to_string(),
            vector: embedder.embed(text),
        })
        .collect();
    eprintln!(
        "embedded {LARGE} memories in {:.2?} ({:.1} µs each)",
        started.elapsed(),
        started.elapsed().as_secs_f64() * 1e6 / LARGE as f64
    );
    // Queries: the corpus's own, plus synthetic variants so repeated queries do not all hit one cache line.
    let mut queries: Vec<String> = corpus.query.iter().chain(&corpus.hard_query).map(|q| q.text.clone()).collect();
    queries.extend(synthetic::memory_texts(&templates, 2_000, 99));
    Fixture { embedder, tenant, instance, queries, memories }
}

fn build(memories: &[MemoryVector], exact_threshold: usize) -> VectorIndex {
    let index = VectorIndex::new(IndexConfig { exact_threshold, ..IndexConfig::default() }).unwrap();
    let started = Instant::now();
    index.insert_many(memories.to_vec()).unwrap();
    let mode = index.mode(memories[0].tenant_id);
    eprintln!("indexed {} memories ({mode:?}) in {:.2?}", memories.len(), started.elapsed());
    index
}

/// p50/p99/max of embed + search over every query, timed one by one.
fn latency(name: &str, fx: &Fixture, index: &VectorIndex, filter: &Filter) {
    let mut times: Vec<Duration> = fx
        .queries
        .iter()
        .map(|q| {
            let started = Instant::now();
            let hits = index.search(&fx.embedder.embed(q), filter, K).unwrap();
            black_box(hits);
            started.elapsed()
        })
        .collect();
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    eprintln!("{name}: embed+search over {} queries: p50 {:.3?}  p99 {:.3?}  max {:.3?}", times.len(), at(0.5), at(0.99), at(1.0));
}

/// Share of the exact top k that the graph also returns.
fn recall(name: &str, fx: &Fixture, approx: &VectorIndex, exact: &VectorIndex, filter: &Filter) {
    let mut found = 0;
    for q in &fx.queries {
        let v = fx.embedder.embed(q);
        let want: Vec<Uuid> = exact.search(&v, filter, K).unwrap().iter().map(|h| h.id).collect();
        found += approx.search(&v, filter, K).unwrap().iter().filter(|h| want.contains(&h.id)).count();
    }
    eprintln!("{name}: recall@{K} vs exact {:.4} ({found} of {})", found as f64 / (fx.queries.len() * K) as f64, fx.queries.len() * K);
}

fn benches(c: &mut Criterion) {
    let fx = fixture();
    let large = build(&fx.memories, IndexConfig::default().exact_threshold);
    assert_eq!(large.mode(fx.tenant), Some(SearchMode::Approximate));
    let small = build(&fx.memories[..SMALL], usize::MAX);
    let large_exact = build(&fx.memories, usize::MAX);

    let any = Filter::tenant(fx.tenant);
    let by_kind = Filter::tenant(fx.tenant).kinds(["playbook"]);
    let by_instance = Filter::tenant(fx.tenant).instance(fx.instance);
    recall("hnsw 100k", &fx, &large, &large_exact, &any);
    recall("hnsw 100k, kind filter", &fx, &large, &large_exact, &by_kind);
    recall("hnsw 100k, instance filter", &fx, &large, &large_exact, &by_instance);
    latency("hnsw 100k", &fx, &large, &any);
    latency("hnsw 100k, kind filter", &fx, &large, &by_kind);
    latency("hnsw 100k, instance filter", &fx, &large, &by_instance);
    latency("exact 10k", &fx, &small, &any);
    latency("exact 100k", &fx, &large_exact, &any);

    let mut n = 0usize;
    let mut next_query = || {
        n = (n + 1) % fx.queries.len();
        fx.queries[n].as_str()
    };
    c.bench_function("embed query", |b| b.iter(|| fx.embedder.embed(black_box(next_query()))));
    let query_vectors: Vec<Vec<f32>> = fx.queries.iter().map(|q| fx.embedder.embed(q)).collect();
    let mut m = 0usize;
    let mut next_vector = || {
        m = (m + 1) % query_vectors.len();
        &query_vectors[m]
    };
    c.bench_function("embed + search, hnsw 100k", |b| b.iter(|| large.search(&fx.embedder.embed(next_query()), &any, K).unwrap()));
    c.bench_function("search, hnsw 100k", |b| b.iter(|| large.search(next_vector(), &any, K).unwrap()));
    c.bench_function("search, hnsw 100k, kind filter", |b| b.iter(|| large.search(next_vector(), &by_kind, K).unwrap()));
    c.bench_function("search, exact 10k", |b| b.iter(|| small.search(next_vector(), &any, K).unwrap()));
    c.bench_function("search, exact 100k", |b| b.iter(|| large_exact.search(next_vector(), &any, K).unwrap()));
}

criterion_group! {
    name = memory;
    config = Criterion::default().sample_size(50);
    targets = benches
}
criterion_main!(memory);
