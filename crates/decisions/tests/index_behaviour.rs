//! Behaviour of the memory index on the corpus, on both search paths: tenant isolation, instance
//! and kind filters, removal, and the embedding's determinism.

mod common;

use common::{Corpus, add_corpus, corpus};
use std::collections::HashSet;
use uuid::Uuid;
use waooaw_decisions::{EMBEDDING_ID, Embedder, Filter, HashedNgramEmbedder, IndexConfig, SearchMode, VectorIndex};
use waooaw_domain::{InstanceId, TenantId};

/// Thresholds that put a corpus-sized tenant on the exact path and on the graph path.
const EXACT: usize = usize::MAX;
const GRAPH: usize = 16;

fn index(exact_threshold: usize) -> VectorIndex {
    VectorIndex::new(IndexConfig { exact_threshold, ..IndexConfig::default() }).unwrap()
}

/// Every memory text and every query of the corpus, as probes.
fn probes(corpus: &Corpus) -> Vec<Vec<f32>> {
    let embedder = HashedNgramEmbedder::new();
    corpus.memory.iter().map(|m| m.text.as_str()).chain(corpus.query.iter().map(|q| q.text.as_str())).map(|t| embedder.embed(t)).collect()
}

#[test]
fn a_tenant_never_sees_another_tenants_memories() {
    let corpus = corpus();
    let probes = probes(&corpus);
    for threshold in [EXACT, GRAPH] {
        let index = index(threshold);
        let (a, b) = (TenantId::new(), TenantId::new());
        // Identical texts in both tenants: the other tenant's copy always scores the same.
        let a_ids: HashSet<Uuid> = add_corpus(&index, &corpus, a, |_| None).into_iter().collect();
        let b_ids: HashSet<Uuid> = add_corpus(&index, &corpus, b, |_| None).into_iter().collect();
        assert_eq!(index.len(), 2 * corpus.memory.len());
        for probe in &probes {
            for (tenant, own) in [(a, &a_ids), (b, &b_ids)] {
                let hits = index.search(probe, &Filter::tenant(tenant), 20).unwrap();
                assert_eq!(hits.len(), 20);
                assert!(hits.iter().all(|h| own.contains(&h.id)), "tenant {tenant} got another tenant's memory (threshold {threshold})");
            }
        }
        assert!(index.search(&probes[0], &Filter::tenant(TenantId::new()), 5).unwrap().is_empty());
        // Removal is tenant-scoped too.
        let a_id = *a_ids.iter().next().unwrap();
        assert!(!index.remove(b, a_id));
        assert!(index.contains(a, a_id));
    }
}

#[test]
fn instance_filter_admits_the_instance_and_shared_memories_only() {
    let corpus = corpus();
    let probes = probes(&corpus);
    let (x, y) = (InstanceId::new(), InstanceId::new());
    for threshold in [EXACT, GRAPH] {
        let index = index(threshold);
        let tenant = TenantId::new();
        let owner = |i: usize| match i % 3 {
            0 => Some(x),
            1 => Some(y),
            _ => None,
        };
        let ids = add_corpus(&index, &corpus, tenant, owner);
        let owner_of = |id: Uuid| ids.iter().position(|&i| i == id).map(owner).unwrap();
        let (mut saw_own, mut saw_shared, mut saw_y_unfiltered) = (false, false, false);
        for probe in &probes {
            let hits = index.search(probe, &Filter::tenant(tenant).instance(x), 10).unwrap();
            assert_eq!(hits.len(), 10);
            for h in &hits {
                match owner_of(h.id) {
                    Some(i) if i == x => saw_own = true,
                    None => saw_shared = true,
                    Some(_) => panic!("instance x got instance y's memory (threshold {threshold})"),
                }
            }
            let all = index.search(probe, &Filter::tenant(tenant), 10).unwrap();
            saw_y_unfiltered |= all.iter().any(|h| owner_of(h.id) == Some(y));
        }
        assert!(saw_own && saw_shared && saw_y_unfiltered, "threshold {threshold}");
    }
}

#[test]
fn kind_filter_returns_only_those_kinds() {
    let corpus = corpus();
    let probes = probes(&corpus);
    for threshold in [EXACT, GRAPH] {
        let index = index(threshold);
        let tenant = TenantId::new();
        let ids = add_corpus(&index, &corpus, tenant, |_| None);
        let kind_of = |id: Uuid| corpus.memory[ids.iter().position(|&i| i == id).unwrap()].kind.as_str();
        let battlecards = corpus.memory.iter().filter(|m| m.kind == "battlecard").count();
        for probe in &probes {
            let hits = index.search(probe, &Filter::tenant(tenant).kinds(["playbook", "human_answer"]), 8).unwrap();
            assert_eq!(hits.len(), 8);
            assert!(hits.iter().all(|h| matches!(kind_of(h.id), "playbook" | "human_answer")), "threshold {threshold}");
            // A rare kind: fewer memories than asked for, all of them returned.
            let hits = index.search(probe, &Filter::tenant(tenant).kinds(["battlecard"]), 50).unwrap();
            assert_eq!(hits.len(), battlecards, "threshold {threshold}");
            assert!(hits.iter().all(|h| kind_of(h.id) == "battlecard"));
        }
    }
}

#[test]
fn removed_memories_are_never_recalled() {
    let corpus = corpus();
    let embedder = HashedNgramEmbedder::new();
    for threshold in [EXACT, GRAPH] {
        let index = index(threshold);
        let tenant = TenantId::new();
        let ids = add_corpus(&index, &corpus, tenant, |_| None);
        // Remove every third memory: past a quarter of the graph, this also compacts and rebuilds.
        let removed: HashSet<Uuid> = ids.iter().step_by(3).copied().collect();
        for id in &removed {
            assert!(index.remove(tenant, *id));
            assert!(!index.remove(tenant, *id));
        }
        assert_eq!(index.tenant_len(tenant), corpus.memory.len() - removed.len());
        for (memory, id) in corpus.memory.iter().zip(&ids) {
            let hits = index.search(&embedder.embed(&memory.text), &Filter::tenant(tenant), 5).unwrap();
            assert!(hits.iter().all(|h| !removed.contains(&h.id)), "removed memory recalled (threshold {threshold})");
            if !removed.contains(id) {
                // A kept memory is its own nearest neighbour.
                assert_eq!(hits[0].id, *id, "threshold {threshold}");
                assert!(hits[0].score > 0.999);
            }
        }
        let expected = if threshold == GRAPH { SearchMode::Approximate } else { SearchMode::Exact };
        assert_eq!(index.mode(tenant), Some(expected));
    }
}

#[test]
fn embedding_is_deterministic_across_instances_and_runs() {
    let corpus = corpus();
    let (one, two) = (HashedNgramEmbedder::new(), HashedNgramEmbedder::default());
    for memory in &corpus.memory {
        assert_eq!(one.embed(&memory.text), two.embed(&memory.text));
    }
    assert_eq!(one.id(), EMBEDDING_ID);
    // Golden coordinates: these change only if the algorithm does, and then EMBEDDING_ID must too.
    let v = one.embed("Reject: the landing page claims the supplement cures anxiety.");
    // Hashed part (0..384) and word-vector part (384..512).
    let golden = [
        (0usize, 0.0),
        (15, -0.086_298_34),
        (23, 0.172_596_68),
        (26, 0.043_149_17),
        (384, 0.306_229_32),
        (400, 0.043_552_216),
        (511, -0.063_365_24),
    ];
    for (i, want) in golden {
        assert!((v[i] - want).abs() < 1e-6, "coordinate {i}: {} != {want}", v[i]);
    }
}
