//! Tier 3: semantic memory. Memories live in the store (the source of truth); every process
//! keeps a vector index built from them at start and brought up to date by `refresh`, so
//! processes sharing a store see each other's memories.

use crate::embedding::{Embedder, HashedNgramEmbedder};
use crate::vector_index::{Filter, IndexConfig, IndexError, MemoryVector, VectorIndex};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use uuid::Uuid;
use waooaw_domain::{InstanceId, Memory, TenantId};
use waooaw_integrations::embeddings::EmbeddingClient;
use waooaw_store::{DynStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("vector index: {0}")]
    Index(#[from] IndexError),
    #[error("embedding provider: {0}")]
    Provider(String),
    #[error("nothing to remember: the text is empty")]
    EmptyText,
}

/// Where vectors come from: the offline embedding (default, no network) or a provider's
/// `/v1/embeddings`. Vectors of one never meet the other's: each memory records its source.
pub enum EmbedSource {
    Offline(HashedNgramEmbedder),
    Remote { client: Arc<dyn EmbeddingClient>, id: String, dimensions: usize },
}

impl EmbedSource {
    pub fn id(&self) -> &str {
        match self {
            Self::Offline(e) => e.id(),
            Self::Remote { id, .. } => id,
        }
    }

    pub fn dimensions(&self) -> usize {
        match self {
            Self::Offline(e) => e.dimensions(),
            Self::Remote { dimensions, .. } => *dimensions,
        }
    }

    pub async fn embed(&self, text: &str) -> Result<Vec<f32>, MemoryError> {
        match self {
            Self::Offline(e) => Ok(e.embed(text)),
            Self::Remote { client, .. } => {
                let mut out = client.embed(&[text.to_owned()]).await.map_err(|e| MemoryError::Provider(e.to_string()))?;
                out.vectors.pop().ok_or_else(|| MemoryError::Provider("the provider returned no vector".into()))
            }
        }
    }
}

/// A memory recalled for a query, with its similarity.
#[derive(Debug, Clone)]
pub struct Recalled {
    pub memory: Arc<Memory>,
    pub score: f32,
}

/// How far back `refresh` re-reads: on PostgreSQL a transaction can commit a lower sequence
/// number after a higher one became visible; re-reading a window and skipping known ids
/// catches it.
const REFRESH_OVERLAP: i64 = 256;
const PAGE: i64 = 5_000;

pub struct SemanticMemory {
    store: DynStore,
    source: EmbedSource,
    index: VectorIndex,
    /// The memories themselves (text, metadata) by id; vectors stay in the index only.
    by_id: RwLock<HashMap<Uuid, Arc<Memory>>>,
    seen_seq: AtomicI64,
}

impl SemanticMemory {
    /// Builds the index from every stored memory made by `source`.
    pub async fn open(store: DynStore, source: EmbedSource, mut config: IndexConfig) -> Result<Self, MemoryError> {
        config.dimensions = source.dimensions();
        let me = Self { store, index: VectorIndex::new(config)?, source, by_id: RwLock::new(HashMap::new()), seen_seq: AtomicI64::new(0) };
        me.refresh().await?;
        Ok(me)
    }

    pub fn embedding_id(&self) -> &str {
        self.source.id()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Indexes memories other processes stored since the last call; returns how many.
    pub async fn refresh(&self) -> Result<usize, MemoryError> {
        let mut added = 0;
        let mut from = (self.seen_seq.load(Ordering::Acquire) - REFRESH_OVERLAP).max(0);
        loop {
            let page = self.store.memories_after(from, PAGE).await?;
            let n = page.len();
            for m in page {
                from = from.max(m.seq);
                self.seen_seq.fetch_max(m.seq, Ordering::AcqRel);
                if m.embedding_id != self.source.id() || self.index.contains(m.tenant_id, m.id) {
                    continue;
                }
                self.add_to_index(m)?;
                added += 1;
            }
            if n < usize::try_from(PAGE).unwrap_or(usize::MAX) {
                return Ok(added);
            }
        }
    }

    fn add_to_index(&self, mut m: Memory) -> Result<Arc<Memory>, MemoryError> {
        let vector = std::mem::take(&mut m.vector);
        self.index.insert(MemoryVector { id: m.id, tenant_id: m.tenant_id, instance_id: m.instance_id, kind: m.kind.clone(), vector })?;
        let m = Arc::new(m);
        self.by_id.write().unwrap_or_else(|e| e.into_inner()).insert(m.id, m.clone());
        Ok(m)
    }

    /// Stores a memory and indexes it here at once (other processes pick it up on refresh).
    pub async fn remember(
        &self,
        tenant_id: TenantId,
        instance_id: Option<InstanceId>,
        kind: &str,
        text: &str,
        metadata: serde_json::Value,
    ) -> Result<Arc<Memory>, MemoryError> {
        if text.trim().is_empty() {
            return Err(MemoryError::EmptyText);
        }
        let vector = self.source.embed(text).await?;
        let mut m = Memory {
            id: Uuid::now_v7(),
            tenant_id,
            instance_id,
            kind: kind.to_owned(),
            text: text.to_owned(),
            metadata,
            embedding_id: self.source.id().to_owned(),
            vector,
            seq: 0,
            created_at: Utc::now(),
        };
        m.seq = self.store.insert_memory(&m).await?;
        self.add_to_index(m)
    }

    /// The `k` memories that best match `query` within the tenant (and the instance's own plus
    /// the tenant's shared ones, when `instance_id` is given), best first: ranked by similarity
    /// with pseudo-relevance feedback (see [`crate::Feedback`]), each carrying its own cosine
    /// similarity to the query, so the most similar need not come first.
    pub async fn recall(
        &self,
        tenant_id: TenantId,
        instance_id: Option<InstanceId>,
        kinds: Option<&[&str]>,
        query: &str,
        k: usize,
    ) -> Result<Vec<Recalled>, MemoryError> {
        let vector = self.source.embed(query).await?;
        self.recall_vector(tenant_id, instance_id, kinds, &vector, k)
    }

    /// [`Self::recall`] for a vector already computed.
    pub fn recall_vector(
        &self,
        tenant_id: TenantId,
        instance_id: Option<InstanceId>,
        kinds: Option<&[&str]>,
        vector: &[f32],
        k: usize,
    ) -> Result<Vec<Recalled>, MemoryError> {
        let mut filter = Filter::tenant(tenant_id);
        filter.instance_id = instance_id;
        if let Some(kinds) = kinds {
            filter = filter.kinds(kinds.iter().copied());
        }
        let hits = self.index.recall(vector, &filter, k)?;
        let by_id = self.by_id.read().unwrap_or_else(|e| e.into_inner());
        Ok(hits.into_iter().filter_map(|h| by_id.get(&h.id).map(|m| Recalled { memory: m.clone(), score: h.score })).collect())
    }

    pub async fn embed(&self, text: &str) -> Result<Vec<f32>, MemoryError> {
        self.source.embed(text).await
    }
}
