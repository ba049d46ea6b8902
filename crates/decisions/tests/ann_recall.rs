//! The HNSW path against exact search on a few thousand corpus-like memories: the approximate
//! top 10 must contain nearly all of the exact top 10, with and without filters.

mod common;
#[path = "common/synthetic.rs"]
mod synthetic;

use std::collections::HashSet;
use uuid::Uuid;
use waooaw_decisions::{Embedder, Filter, HashedNgramEmbedder, IndexConfig, MemoryVector, SearchMode, VectorIndex};
use waooaw_domain::{InstanceId, TenantId};

const MEMORIES: usize = 2_000;
const K: usize = 10;

#[test]
fn approximate_top_10_matches_exact_top_10() {
    let corpus = common::corpus();
    let templates: Vec<String> = corpus.memory.iter().map(|m| m.text.clone()).collect();
    let embedder = HashedNgramEmbedder::new();
    let tenant = TenantId::new();
    let instances = [InstanceId::new(), InstanceId::new()];
    let kinds = ["decision", "human_answer", "playbook", "battlecard"];
    let memories: Vec<MemoryVector> = synthetic::memory_texts(&templates, MEMORIES, 7)
        .iter()
        .enumerate()
        .map(|(i, text)| MemoryVector {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            instance_id: if i % 3 == 2 { None } else { Some(instances[i % 2]) },
            kind: kinds[i % kinds.len()].to_string(),
            vector: embedder.embed(text),
        })
        .collect();

    let exact = VectorIndex::new(IndexConfig { exact_threshold: usize::MAX, ..IndexConfig::default() }).unwrap();
    // A lighter build than the default keeps this debug-mode test quick; search is unchanged.
    let approx = VectorIndex::new(IndexConfig { exact_threshold: 500, hnsw_ef_construction: 64, ..IndexConfig::default() }).unwrap();
    exact.insert_many(memories.clone()).unwrap();
    approx.insert_many(memories).unwrap();
    assert_eq!(approx.mode(tenant), Some(SearchMode::Approximate));

    let queries: Vec<Vec<f32>> = corpus.query.iter().map(|q| embedder.embed(&q.text)).collect();
    let filters = [
        ("none", Filter::tenant(tenant)),
        ("instance", Filter::tenant(tenant).instance(instances[0])),
        ("three kinds", Filter::tenant(tenant).kinds(["decision", "human_answer", "playbook"])),
        ("one kind", Filter::tenant(tenant).kinds(["playbook"])),
    ];
    for (name, filter) in filters {
        let mut found = 0;
        for q in &queries {
            let want: HashSet<Uuid> = exact.search(q, &filter, K).unwrap().iter().map(|h| h.id).collect();
            let got = approx.search(q, &filter, K).unwrap();
            assert_eq!(got.len(), K);
            found += got.iter().filter(|h| want.contains(&h.id)).count();
        }
        let recall = found as f64 / (queries.len() * K) as f64;
        let line = format!("HNSW recall@{K} vs exact, {MEMORIES} memories, filter {name}: {recall:.3}");
        println!("{line}");
        eprintln!("{line}");
        assert!(recall >= 0.9, "{line}");
    }
}
