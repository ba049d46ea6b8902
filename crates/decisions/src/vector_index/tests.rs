use super::*;

const DIMS: usize = 8;

fn config(exact_threshold: usize) -> IndexConfig {
    IndexConfig { exact_threshold, ..IndexConfig::new(DIMS) }
}

/// A unit-ish vector pointing mostly along axis `axis`, nudged by `nudge` along the next axis.
fn axis(axis: usize, nudge: f32) -> Vec<f32> {
    let mut v = vec![0.0; DIMS];
    v[axis % DIMS] = 1.0;
    v[(axis + 1) % DIMS] = nudge;
    v
}

fn memory(tenant: TenantId, vector: Vec<f32>) -> MemoryVector {
    MemoryVector { id: Uuid::new_v4(), tenant_id: tenant, instance_id: None, kind: "decision".into(), vector }
}

#[test]
fn rejects_bad_vectors_and_configs() {
    let index = VectorIndex::new(config(100)).unwrap();
    let tenant = TenantId::new();
    assert_eq!(index.insert(memory(tenant, vec![1.0; 3])), Err(IndexError::DimensionMismatch { expected: DIMS, got: 3 }));
    let mut nan = axis(0, 0.0);
    nan[2] = f32::NAN;
    assert_eq!(index.insert(memory(tenant, nan.clone())), Err(IndexError::NonFinite));
    assert_eq!(index.search(&nan, &Filter::tenant(tenant), 3), Err(IndexError::NonFinite));
    assert!(index.is_empty());

    // All-or-nothing: one bad vector in a batch inserts none.
    let batch = vec![memory(tenant, axis(0, 0.0)), memory(tenant, vec![0.0; 2])];
    assert!(index.insert_many(batch).is_err());
    assert_eq!(index.tenant_len(tenant), 0);

    assert!(VectorIndex::new(IndexConfig::new(0)).is_err());
    assert!(VectorIndex::new(IndexConfig { hnsw_max_connections: 300, ..IndexConfig::new(4) }).is_err());
}

#[test]
fn exact_search_ranks_by_cosine_and_normalises_inputs() {
    let index = VectorIndex::new(config(100)).unwrap();
    let tenant = TenantId::new();
    let near = memory(tenant, axis(1, 0.1).iter().map(|x| x * 10.0).collect()); // not unit length
    let far = memory(tenant, axis(1, 2.0));
    let other = memory(tenant, axis(5, 0.0));
    index.insert_many(vec![near.clone(), far.clone(), other.clone()]).unwrap();

    let hits = index.search(&axis(1, 0.0), &Filter::tenant(tenant), 2).unwrap();
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [near.id, far.id]);
    assert!((hits[0].score - 1.0 / (1.01f32).sqrt()).abs() < 1e-5, "{hits:?}");
    assert!(hits[0].score > hits[1].score);

    // A zero query is valid and scores 0 against everything.
    let zero = index.search(&[0.0; DIMS], &Filter::tenant(tenant), 3).unwrap();
    assert_eq!(zero.len(), 3);
    assert!(zero.iter().all(|h| h.score == 0.0));
    assert!(index.search(&axis(0, 0.0), &Filter::tenant(tenant), 0).unwrap().is_empty());
    assert!(index.search(&axis(0, 0.0), &Filter::tenant(TenantId::new()), 3).unwrap().is_empty());
}

#[test]
fn same_id_replaces_the_memory() {
    let index = VectorIndex::new(config(100)).unwrap();
    let tenant = TenantId::new();
    let mut m = memory(tenant, axis(0, 0.0));
    index.insert(m.clone()).unwrap();
    m.vector = axis(3, 0.0);
    index.insert(m.clone()).unwrap();
    assert_eq!(index.tenant_len(tenant), 1);
    let hits = index.search(&axis(3, 0.0), &Filter::tenant(tenant), 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert!((hits[0].score - 1.0).abs() < 1e-6);
}

#[test]
fn exact_removal_keeps_every_other_memory_findable() {
    let index = VectorIndex::new(config(1000)).unwrap();
    let tenant = TenantId::new();
    let memories: Vec<MemoryVector> = (0..DIMS).map(|i| memory(tenant, axis(i, 0.0))).collect();
    index.insert_many(memories.clone()).unwrap();
    // Removing from the front moves the last slot: each remaining id must still map to its vector.
    assert!(index.remove(tenant, memories[0].id));
    assert!(index.remove(tenant, memories[3].id));
    assert!(!index.remove(tenant, memories[3].id));
    assert!(!index.remove(TenantId::new(), memories[1].id));
    for (i, m) in memories.iter().enumerate().filter(|(i, _)| ![0, 3].contains(i)) {
        let hits = index.search(&axis(i, 0.0), &Filter::tenant(tenant), 1).unwrap();
        assert_eq!(hits[0].id, m.id, "axis {i}");
        assert!((hits[0].score - 1.0).abs() < 1e-6);
    }
    assert_eq!(index.tenant_len(tenant), DIMS - 2);
}

#[test]
fn crossing_the_threshold_builds_a_graph_and_tombstones_compact() {
    let index = VectorIndex::new(config(40)).unwrap();
    let tenant = TenantId::new();
    let memories: Vec<MemoryVector> = (0..60).map(|i| memory(tenant, axis(i, (i as f32) / 60.0))).collect();
    index.insert_many(memories[..39].to_vec()).unwrap();
    assert_eq!(index.mode(tenant), Some(SearchMode::Exact));
    index.insert(memories[39].clone()).unwrap();
    assert_eq!(index.mode(tenant), Some(SearchMode::Approximate));
    index.insert_many(memories[40..].to_vec()).unwrap();

    let graph_len = |index: &VectorIndex| index.tenant(tenant).and_then(|t| t.read().graph_len());
    assert_eq!(graph_len(&index), Some(60));
    // 15 removals: 15 * 4 = 60, not above 60 slots, so still tombstones in the graph.
    for m in &memories[..15] {
        assert!(index.remove(tenant, m.id));
    }
    assert_eq!(graph_len(&index), Some(60));
    for m in &memories[..15] {
        let hits = index.search(&m.vector, &Filter::tenant(tenant), 10).unwrap();
        assert!(hits.iter().all(|h| h.id != m.id), "removed memory recalled");
        assert_eq!(hits.len(), 10);
    }
    // The 16th tips it over a quarter: compacted, graph rebuilt over the 44 live ones.
    assert!(index.remove(tenant, memories[15].id));
    assert_eq!(graph_len(&index), Some(44));
    let probe = &memories[30];
    assert_eq!(index.search(&probe.vector, &Filter::tenant(tenant), 1).unwrap()[0].id, probe.id);

    // Below half the threshold, back to exact scans.
    for m in &memories[16..41] {
        assert!(index.remove(tenant, m.id));
    }
    assert_eq!(index.tenant_len(tenant), 19);
    assert_eq!(index.mode(tenant), Some(SearchMode::Exact));
    assert_eq!(index.search(&memories[50].vector, &Filter::tenant(tenant), 1).unwrap()[0].id, memories[50].id);
}

#[test]
fn graph_filters_fall_back_to_an_exact_scan_when_too_few_survive() {
    let index = VectorIndex::new(config(20)).unwrap();
    let tenant = TenantId::new();
    let instance = InstanceId::new();
    let mut memories: Vec<MemoryVector> = (0..200).map(|i| memory(tenant, axis(i, (i % 7) as f32 / 7.0))).collect();
    // One rare-kind memory pointing away from the query: the graph's candidates near the query
    // will not include it, only the exact fallback can find it.
    memories[0].kind = "battlecard".into();
    memories[0].vector = axis(4, 0.0);
    memories[1].instance_id = Some(instance);
    memories[1].vector = axis(3, -0.5); // unique (other nudges are >= 0): no tie at the top

    index.insert_many(memories.clone()).unwrap();
    assert_eq!(index.mode(tenant), Some(SearchMode::Approximate));

    let hits = index.search(&axis(0, 0.0), &Filter::tenant(tenant).kinds(["battlecard"]), 5).unwrap();
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [memories[0].id]);
    let none = index.search(&axis(0, 0.0), &Filter::tenant(tenant).kinds(["no-such-kind"]), 5).unwrap();
    assert!(none.is_empty());
    let empty_kinds = index.search(&axis(0, 0.0), &Filter::tenant(tenant).kinds(Vec::<String>::new()), 5).unwrap();
    assert!(empty_kinds.is_empty());

    // Another instance's memory never comes back; the instance's own and shared ones do.
    let other = InstanceId::new();
    let hits = index.search(&memories[1].vector, &Filter::tenant(tenant).instance(other), 200).unwrap();
    assert_eq!(hits.len(), 199);
    assert!(hits.iter().all(|h| h.id != memories[1].id));
    let hits = index.search(&memories[1].vector, &Filter::tenant(tenant).instance(instance), 1).unwrap();
    assert_eq!(hits[0].id, memories[1].id);
}

#[test]
fn index_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<VectorIndex>();

    let index = Arc::new(VectorIndex::new(config(50)).unwrap());
    let tenant = TenantId::new();
    std::thread::scope(|s| {
        for t in 0..4 {
            let index = Arc::clone(&index);
            s.spawn(move || {
                for i in 0..40 {
                    index.insert(memory(tenant, axis(i + t, i as f32 / 40.0))).unwrap();
                    let hits = index.search(&axis(i, 0.0), &Filter::tenant(tenant), 3).unwrap();
                    assert!(!hits.is_empty());
                }
            });
        }
    });
    assert_eq!(index.tenant_len(tenant), 160);
    assert_eq!(index.mode(tenant), Some(SearchMode::Approximate));
}
