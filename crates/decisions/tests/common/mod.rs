//! The labelled memory corpus (`fixtures/memory_corpus.toml`) and helpers to index it.

#![allow(dead_code)] // Each test binary uses a different subset.

use serde::Deserialize;
use uuid::Uuid;
use waooaw_decisions::{Embedder, Filter, HashedNgramEmbedder, IndexConfig, MemoryVector, VectorIndex};
use waooaw_domain::{InstanceId, TenantId};

#[derive(Debug, Clone, Deserialize)]
pub struct Memory {
    pub label: String,
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Query {
    pub label: String,
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct Corpus {
    pub memory: Vec<Memory>,
    /// New cases as agents ask them: the set the precision target applies to.
    pub query: Vec<Query>,
    /// Casual rewording with synonyms: measured and guarded, beyond a lexical embedding's reach.
    pub hard_query: Vec<Query>,
    /// Written by whoever tunes the embedder, to tune on: the `query` set stays held out.
    #[serde(default)]
    pub dev_query: Vec<Query>,
}

pub fn corpus() -> Corpus {
    let raw = include_str!("../fixtures/memory_corpus.toml");
    toml::from_str(raw).expect("memory_corpus.toml parses")
}

/// The corpus embedded and indexed for `tenant`; returns the index and each memory's id, in
/// corpus order.
pub struct Indexed {
    pub index: VectorIndex,
    pub ids: Vec<Uuid>,
}

pub fn index_corpus(corpus: &Corpus, tenant: TenantId, exact_threshold: usize) -> Indexed {
    let index = VectorIndex::new(IndexConfig { exact_threshold, ..IndexConfig::default() }).unwrap();
    let ids = add_corpus(&index, corpus, tenant, |_| None);
    Indexed { index, ids }
}

/// Inserts every memory of `corpus` into `tenant`, instance chosen by `instance_of(position)`.
pub fn add_corpus(index: &VectorIndex, corpus: &Corpus, tenant: TenantId, instance_of: impl Fn(usize) -> Option<InstanceId>) -> Vec<Uuid> {
    let embedder = HashedNgramEmbedder::new();
    let memories: Vec<MemoryVector> = corpus
        .memory
        .iter()
        .enumerate()
        .map(|(i, m)| MemoryVector {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            instance_id: instance_of(i),
            kind: m.kind.clone(),
            vector: embedder.embed(&m.text),
        })
        .collect();
    let ids = memories.iter().map(|m| m.id).collect();
    index.insert_many(memories).unwrap();
    ids
}

/// How hits are ranked: the index's plain similarity search, or recall (with feedback), which
/// the memory tier serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    Search,
    Recall,
}

/// Mean precision@k over `queries` as recall ranks: the share of the k hits whose memory
/// carries the query's label. Also returns the queries that scored below 0.6, for the report.
pub fn precision_at(corpus: &Corpus, queries: &[Query], indexed: &Indexed, tenant: TenantId, k: usize) -> (f64, Vec<String>) {
    precision_ranked(corpus, queries, indexed, tenant, k, Ranking::Recall)
}

/// [`precision_at`] with the given ranking.
pub fn precision_ranked(
    corpus: &Corpus,
    queries: &[Query],
    indexed: &Indexed,
    tenant: TenantId,
    k: usize,
    ranking: Ranking,
) -> (f64, Vec<String>) {
    let embedder = HashedNgramEmbedder::new();
    let label_of = |id: Uuid| indexed.ids.iter().position(|&i| i == id).map(|p| corpus.memory[p].label.as_str());
    let mut total = 0.0;
    let mut weak = Vec::new();
    for q in queries {
        let (vector, filter) = (embedder.embed(&q.text), Filter::tenant(tenant));
        let hits = match ranking {
            Ranking::Search => indexed.index.search(&vector, &filter, k),
            Ranking::Recall => indexed.index.recall(&vector, &filter, k),
        }
        .unwrap();
        assert_eq!(hits.len(), k, "fewer than {k} hits for {:?}", q.text);
        let good = hits.iter().filter(|h| label_of(h.id) == Some(q.label.as_str())).count();
        let p = good as f64 / k as f64;
        if p < 0.6 {
            let got: Vec<&str> = hits.iter().filter_map(|h| label_of(h.id)).collect();
            weak.push(format!("p={p:.1} [{}] {:?} -> {got:?}", q.label, q.text));
        }
        total += p;
    }
    (total / queries.len() as f64, weak)
}

/// Lowercased ASCII-alphanumeric word runs, for the copy guard.
pub fn plain_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_ascii_lowercase).collect()
}
