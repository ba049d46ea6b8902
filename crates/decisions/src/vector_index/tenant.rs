//! One tenant's memories: contiguous vector storage scanned exactly while small, plus an HNSW
//! graph once the tenant holds `exact_threshold` memories.

use super::ann::{AnnGraph, AnnParams};
use super::census::Census;
use super::kernel::{Scored, TopK, dot};
use super::{Hit, IndexConfig, MemoryVector, SearchMode};
use std::collections::HashMap;
use uuid::Uuid;
use waooaw_domain::InstanceId;

/// Metadata of one stored vector. Kinds are interned to a small integer so the filter check in
/// the scan loop is an integer compare.
#[derive(Debug, Clone)]
struct Slot {
    id: Uuid,
    instance_id: Option<InstanceId>,
    kind: u32,
    live: bool,
}

/// A tenant filter resolved against this tenant's kind table.
pub(crate) struct SlotFilter {
    instance_id: Option<InstanceId>,
    /// `None`: any kind. `Some(ids)`: one of these (kinds unknown to the tenant are dropped).
    kinds: Option<Vec<u32>>,
}

impl SlotFilter {
    #[inline]
    fn accepts(&self, slot: &Slot) -> bool {
        slot.live
            && self.instance_id.is_none_or(|want| slot.instance_id.is_none_or(|have| have == want))
            && self.kinds.as_ref().is_none_or(|kinds| kinds.contains(&slot.kind))
    }
}

pub(crate) struct TenantIndex {
    dims: usize,
    exact_threshold: usize,
    ann_params: AnnParams,
    filtered_oversample: usize,
    /// Slot `i`'s vector is `vectors[i * dims..(i + 1) * dims]`.
    vectors: Vec<f32>,
    slots: Vec<Slot>,
    by_id: HashMap<Uuid, usize>,
    kinds: Vec<String>,
    census: Census,
    /// Slots tombstoned since the graph was built (only with a graph; without one, removal
    /// compacts at once).
    dead: usize,
    ann: Option<AnnGraph>,
}

impl TenantIndex {
    pub(crate) fn new(config: &IndexConfig) -> Self {
        Self {
            dims: config.dimensions,
            exact_threshold: config.exact_threshold.max(1),
            ann_params: AnnParams {
                max_connections: config.hnsw_max_connections,
                ef_construction: config.hnsw_ef_construction,
                ef_search: config.hnsw_ef_search,
            },
            filtered_oversample: config.filtered_oversample.max(1),
            vectors: Vec::new(),
            slots: Vec::new(),
            by_id: HashMap::new(),
            kinds: Vec::new(),
            census: Census::default(),
            dead: 0,
            ann: None,
        }
    }

    /// Live memories.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(crate) fn contains(&self, id: Uuid) -> bool {
        self.by_id.contains_key(&id)
    }

    pub(crate) fn mode(&self) -> SearchMode {
        if self.ann.is_some() { SearchMode::Approximate } else { SearchMode::Exact }
    }

    /// Adds memories (already validated and normalised), replacing any with the same id.
    pub(crate) fn insert_many(&mut self, memories: Vec<MemoryVector>) {
        let first_new = self.slots.len();
        for memory in memories {
            self.unlink(memory.id);
            let kind = self.intern(memory.kind);
            self.census.add(kind, memory.instance_id);
            self.by_id.insert(memory.id, self.slots.len());
            self.slots.push(Slot { id: memory.id, instance_id: memory.instance_id, kind, live: true });
            self.vectors.extend_from_slice(&memory.vector);
        }
        match &self.ann {
            Some(ann) => {
                // With a graph, `unlink` only tombstones, so slots from `first_new` on are this
                // batch; an id given twice in it left a tombstone there, hence `live_points`.
                let new_points: Vec<(&[f32], usize)> = self.live_points(first_new).collect();
                match new_points.as_slice() {
                    [(vector, slot)] => ann.insert(vector, *slot),
                    points => ann.insert_many(points),
                }
            }
            None if self.len() >= self.exact_threshold => self.rebuild(),
            None => {}
        }
        self.compact_if_needed();
    }

    /// Removes a memory; false if the tenant has no memory with this id.
    pub(crate) fn remove(&mut self, id: Uuid) -> bool {
        let removed = self.unlink(id);
        if removed {
            self.compact_if_needed();
        }
        removed
    }

    /// Forgets `id`: without a graph the slot goes at once; with one it is tombstoned, since the
    /// graph cannot delete a point.
    fn unlink(&mut self, id: Uuid) -> bool {
        let Some(slot) = self.by_id.remove(&id) else { return false };
        if let Some(s) = self.slots.get(slot) {
            self.census.remove(s.kind, s.instance_id);
        }
        if self.ann.is_none() {
            self.swap_remove(slot);
        } else if let Some(s) = self.slots.get_mut(slot) {
            s.live = false;
            self.dead += 1;
        }
        true
    }

    /// Tombstones cost search quality (the beam is spent on them) and memory: past a quarter of
    /// the graph, compact and rebuild. A tenant shrunk below half the threshold drops its graph.
    fn compact_if_needed(&mut self) {
        if self.ann.is_some() && (self.dead * 4 > self.slots.len() || self.len() < self.exact_threshold / 2) {
            self.rebuild();
        }
    }

    /// Compacts storage (drops tombstones) and builds a fresh graph, unless the tenant is below
    /// half the threshold (hysteresis: a tenant hovering at the threshold does not flip-flop).
    /// Runs under the tenant's write lock: O(n log n), seconds at 100,000 memories.
    fn rebuild(&mut self) {
        self.ann = None;
        if self.dead > 0 {
            let mut vectors = Vec::with_capacity(self.len() * self.dims);
            let mut slots = Vec::with_capacity(self.len());
            for (slot, vector) in self.slots.iter().zip(self.vectors.chunks_exact(self.dims)) {
                if slot.live {
                    slots.push(slot.clone());
                    vectors.extend_from_slice(vector);
                }
            }
            self.by_id = slots.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
            self.slots = slots;
            self.vectors = vectors;
            self.dead = 0;
        }
        if self.len() > 0 && self.len() >= self.exact_threshold / 2 {
            let points: Vec<(&[f32], usize)> = self.live_points(0).collect();
            self.ann = Some(AnnGraph::build(self.ann_params, &points, points.len()));
        }
    }

    /// Removes slot `i` without a graph: the last slot moves into its place.
    fn swap_remove(&mut self, i: usize) {
        let last = self.slots.len().saturating_sub(1);
        if i > last {
            return;
        }
        if i != last {
            let (head, tail) = self.vectors.split_at_mut(last * self.dims);
            if let Some(target) = head.get_mut(i * self.dims..(i + 1) * self.dims) {
                target.copy_from_slice(&tail[..self.dims]);
            }
        }
        self.vectors.truncate(last * self.dims);
        self.slots.swap_remove(i);
        if let Some(moved) = self.slots.get(i) {
            self.by_id.insert(moved.id, i);
        }
    }

    fn intern(&mut self, kind: String) -> u32 {
        if let Some(i) = self.kinds.iter().position(|k| *k == kind) {
            return i as u32;
        }
        self.kinds.push(kind);
        (self.kinds.len() - 1) as u32
    }

    /// Live (vector, slot) pairs from slot `from` on.
    fn live_points(&self, from: usize) -> impl Iterator<Item = (&[f32], usize)> {
        let vectors = self.vectors.get(from.saturating_mul(self.dims)..).unwrap_or_default();
        vectors.chunks_exact(self.dims).zip(self.slots.iter().skip(from)).zip(from..).filter(|((_, s), _)| s.live).map(|((v, _), i)| (v, i))
    }

    pub(crate) fn resolve(&self, instance_id: Option<InstanceId>, kinds: Option<&[String]>) -> SlotFilter {
        let kinds =
            kinds.map(|wanted| wanted.iter().filter_map(|k| self.kinds.iter().position(|have| have == k)).map(|i| i as u32).collect());
        SlotFilter { instance_id, kinds }
    }

    /// The `k` best memories passing `filter`, best first. `query` is normalised.
    pub(crate) fn search(&self, query: &[f32], filter: &SlotFilter, k: usize) -> Vec<Hit> {
        self.hits(self.search_scored(query, filter, k))
    }

    /// As [`Self::search`], by slot.
    pub(crate) fn search_scored(&self, query: &[f32], filter: &SlotFilter, k: usize) -> Vec<Scored> {
        if k == 0 || filter.kinds.as_ref().is_some_and(Vec::is_empty) {
            return Vec::new();
        }
        match &self.ann {
            Some(ann) => self.graph_search(ann, query, filter, k).unwrap_or_else(|| self.exact(query, filter, k)),
            None => self.exact(query, filter, k),
        }
    }

    /// The unit vector in `slot`.
    pub(crate) fn vector(&self, slot: usize) -> Option<&[f32]> {
        self.vectors.get(slot.checked_mul(self.dims)?..(slot + 1).checked_mul(self.dims)?)
    }

    /// Graph candidates, post-filtered; `None` when an exact scan is the better (or the only
    /// sure) way to find k matches.
    ///
    /// The candidate count is sized from the filter's expected share of the tenant (from the
    /// census) times `filtered_oversample`, plus the tombstones' share. One retry with a 4x wider
    /// beam, then exact. The exact scan checks the filter before the dot product, so it costs one
    /// dot product per matching memory, while a beam of n candidates costs several times n (each
    /// expanded point compares up to 2M neighbours): a filter expected to admit k or fewer
    /// memories, or needing more than an eighth of its matches as candidates, is scanned exactly.
    fn graph_search(&self, ann: &AnnGraph, query: &[f32], filter: &SlotFilter, k: usize) -> Option<Vec<Scored>> {
        let live = self.len();
        let expected = self.census.expected_matches(filter.instance_id, filter.kinds.as_deref());
        if expected <= k as f64 {
            return None;
        }
        let mut share = expected / live as f64;
        if share < 1.0 {
            share /= self.filtered_oversample as f64;
        }
        share *= live as f64 / self.slots.len() as f64;
        let cap = ((expected / 8.0) as usize).max(k);
        let mut want = ((k as f64 / share).ceil() as usize).max(k);
        for _attempt in 0..2 {
            if want > cap {
                return None;
            }
            let found: Vec<Scored> = ann
                .nearest(query, want)
                .filter(|&(slot, _)| self.slots.get(slot).is_some_and(|s| filter.accepts(s)))
                .map(|(slot, score)| Scored { score, slot })
                .take(k)
                .collect();
            if found.len() == k {
                return Some(found);
            }
            want = want.saturating_mul(4);
        }
        None
    }

    fn exact(&self, query: &[f32], filter: &SlotFilter, k: usize) -> Vec<Scored> {
        let mut top = TopK::new(k);
        for (slot, (meta, vector)) in self.slots.iter().zip(self.vectors.chunks_exact(self.dims)).enumerate() {
            if filter.accepts(meta) {
                top.push(Scored { score: dot(query, vector), slot });
            }
        }
        top.into_sorted()
    }

    fn hits(&self, found: Vec<Scored>) -> Vec<Hit> {
        let mut hits = self.hits_in_order(found);
        // Graph results are ordered by f32 distance; re-sort on the score with the id as a
        // tie-break so equal scores come out in a stable order.
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        hits
    }

    /// Hits for `found`, in its order.
    pub(crate) fn hits_in_order(&self, found: Vec<Scored>) -> Vec<Hit> {
        found.into_iter().filter_map(|s| self.slots.get(s.slot).map(|slot| Hit { id: slot.id, score: s.score.clamp(-1.0, 1.0) })).collect()
    }

    /// Graph points, tombstones included (for tests of compaction).
    #[cfg(test)]
    pub(crate) fn graph_len(&self) -> Option<usize> {
        self.ann.as_ref().map(AnnGraph::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant_with(n: usize) -> (TenantIndex, InstanceId) {
        let config = IndexConfig { exact_threshold: 100, ..IndexConfig::new(16) };
        let mut tenant = TenantIndex::new(&config);
        let instance = InstanceId::new();
        let memories = (0..n)
            .map(|i| {
                let mut vector: Vec<f32> = (0..16).map(|d| ((i * 31 + d * 7) % 13) as f32 - 6.0).collect();
                super::super::kernel::normalize(&mut vector);
                MemoryVector {
                    id: Uuid::new_v4(),
                    tenant_id: waooaw_domain::TenantId::new(),
                    instance_id: if i % 2 == 0 { Some(instance) } else { None },
                    kind: if i % 50 == 0 { "battlecard".into() } else { "decision".into() },
                    vector,
                }
            })
            .collect();
        tenant.insert_many(memories);
        (tenant, instance)
    }

    #[test]
    fn broad_filters_use_the_graph_and_rare_ones_scan() {
        let (tenant, instance) = tenant_with(2_000);
        let Some(ann) = &tenant.ann else { panic!("expected a graph") };
        let query = tenant.vectors.get(..16).unwrap().to_vec();
        let broad = tenant.resolve(Some(instance), Some(&["decision".to_string()]));
        let found = tenant.graph_search(ann, &query, &broad, 5).expect("a broad filter is answered by the graph");
        assert_eq!(found.len(), 5);
        assert!(found.iter().all(|s| broad.accepts(&tenant.slots[s.slot])));
        // 40 battlecards of 2,000: 5 / (2% / 3) = 375 candidates > 40 / 8 = 5: scan instead.
        let rare = tenant.resolve(None, Some(&["battlecard".to_string()]));
        assert!(tenant.graph_search(ann, &query, &rare, 5).is_none());
        let hits = tenant.search(&query, &rare, 5);
        assert_eq!(hits.len(), 5);
    }
}
