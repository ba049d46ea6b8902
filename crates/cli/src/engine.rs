//! Builds the decision engine `serve` and the benchmarks use, from the settled configuration.

use crate::config::Settled;
use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::Duration;
use waooaw_decisions::{EmbedSource, Engine, EngineConfig, HashedNgramEmbedder, IndexConfig, LlmTier, SemanticMemory};
use waooaw_integrations::llm::FallbackChain;
use waooaw_integrations::resilience::BreakerRegistry;
use waooaw_store::DynStore;

/// How often a process sharing its store indexes memories other processes stored.
const MEMORY_REFRESH: Duration = Duration::from_secs(2);

/// The engine's outside clients, built (and so checked) before anything else starts: a
/// misconfigured `[llm]` chain or `[embeddings]` stops `serve` with the entry at fault named.
/// Each client is wrapped in retries and its breaker from `breakers`.
pub struct Clients {
    llm: Option<LlmTier>,
    embeddings: Option<EmbedSource>,
}

pub fn clients(cfg: &Settled, breakers: &BreakerRegistry) -> Result<Clients> {
    let embeddings = match &cfg.embeddings {
        Some(e) => {
            let dimensions = e.dimensions.context("[embeddings] needs `dimensions` (the length of the provider's vectors)")?;
            let client = e.build_resilient(breakers).context("[embeddings] configuration")?;
            Some(EmbedSource::Remote { client: Arc::new(client), id: format!("openai:{}:{dimensions}", e.model), dimensions })
        }
        None => None,
    };
    let llm = match &cfg.llm {
        Some(c) => {
            let chain = FallbackChain::from_config(c, breakers).context("[llm] configuration")?;
            // The engine prices an answer by the model that gave it: the chain's merged table.
            let prices = chain.prices().clone();
            Some(LlmTier { provider: Arc::new(chain), model: c.model.clone(), prices, max_tokens: 800 })
        }
        None => None,
    };
    Ok(Clients { llm, embeddings })
}

pub async fn open(store: DynStore, clients: Clients, catalog: &waooaw_runtime::Catalog, shared_store: bool) -> Result<Arc<Engine>> {
    // Cached decisions of older spec versions can never be hit again (the version is in the
    // key); drop them rather than keep them until they expire.
    for spec in catalog.iter() {
        let purged = store.cache_purge_spec(&spec.id, &spec.version).await?;
        if purged > 0 {
            tracing::info!(specialization = spec.id, version = spec.version, purged, "dropped cached decisions of older versions");
        }
    }
    let source = clients.embeddings.unwrap_or_else(|| EmbedSource::Offline(HashedNgramEmbedder::new()));
    let memory = Arc::new(SemanticMemory::open(store.clone(), source, IndexConfig::default()).await.context("cannot load the memories")?);
    let llm = clients.llm;
    if shared_store {
        let memory = memory.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(MEMORY_REFRESH).await;
                if let Err(e) = memory.refresh().await {
                    tracing::warn!(error = %e, "could not refresh the memory index");
                }
            }
        });
    }
    let config = EngineConfig { in_memory_budgets: !shared_store, ..EngineConfig::default() };
    Ok(Arc::new(Engine::new(store, memory, llm, config)))
}
