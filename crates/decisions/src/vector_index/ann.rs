//! The approximate index of a large tenant: an HNSW graph from the `hnsw_rs` crate (pure Rust,
//! maintained, incremental insertion through `&self`).
//!
//! The graph knows points by their slot in the tenant's storage. It cannot delete: the tenant
//! tombstones removed slots, filters them out of the candidates and rebuilds the graph when too
//! many accumulate (see `tenant.rs`). `hnsw_rs` keeps its own copy of every vector, so a tenant
//! with a graph holds its vectors twice (1.5 KiB each at 384 dimensions) plus the links.

use super::kernel::dot;
use hnsw_rs::anndists::dist::distances::Distance;
use hnsw_rs::hnsw::Hnsw;

/// HNSW parameters (see `IndexConfig`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AnnParams {
    pub max_connections: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
}

/// Cosine distance of unit vectors, `1 - a·b`, clamped at 0: rounding can make a vector's
/// distance to itself a hair below zero, and `hnsw_rs` asserts distances are non-negative.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

/// Graph layers allowed; `hnsw_rs` caps it at 16, which covers far more points than a tenant has.
const MAX_LAYERS: usize = 16;

pub(crate) struct AnnGraph {
    hnsw: Hnsw<'static, f32, UnitCosine>,
    params: AnnParams,
}

impl AnnGraph {
    /// A graph over `points` (vector, slot), built in parallel on rayon's pool.
    pub(crate) fn build(params: AnnParams, points: &[(&[f32], usize)], capacity: usize) -> Self {
        let hnsw = Hnsw::new(params.max_connections, capacity.max(points.len()), MAX_LAYERS, params.ef_construction, UnitCosine);
        let graph = Self { hnsw, params };
        graph.insert_many(points);
        graph
    }

    pub(crate) fn insert(&self, vector: &[f32], slot: usize) {
        self.hnsw.insert_slice((vector, slot));
    }

    pub(crate) fn insert_many(&self, points: &[(&[f32], usize)]) {
        if !points.is_empty() {
            self.hnsw.parallel_insert_slice(&points.to_vec());
        }
    }

    /// Points stored in the graph, tombstoned ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.hnsw.get_nb_point()
    }

    /// Up to `n` nearest slots to `query` with their cosine similarity, best first. The search
    /// beam is `max(ef_search, n)`.
    pub(crate) fn nearest(&self, query: &[f32], n: usize) -> impl Iterator<Item = (usize, f32)> {
        let ef = self.params.ef_search.max(n);
        self.hnsw.search(query, n, ef).into_iter().map(|nb| (nb.d_id, 1.0 - nb.distance))
    }
}
