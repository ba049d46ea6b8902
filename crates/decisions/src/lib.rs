//! The decision engine of WAOOAW: an agent asks a question on a wake (`DecisionRequest`) and the
//! engine answers it by the cheapest tier that can: constraints, cache, rules, memory, then an
//! LLM (`waooaw_domain::Method`).
//!
//! Entry point: [`Engine::decide`] (also the runtime's `Decider`). Tiers: [`engine`] checks
//! constraints, [`cache`] (moka over the store), the spec's rules, [`memory`] (store + vector
//! index) and [`llm_tier`]; escalations and the decision log are stored.
//!
//! The memory tier's compute core is an offline, deterministic
//! text embedding ([`embedding`]) and a tenant-partitioned vector index ([`vector_index`]) that
//! recalls the memories (past decisions, human answers, playbook passages) most similar to a
//! question. A past decision recalled at cosine similarity >= [`REUSE_SIMILARITY`] is reused.

pub mod budget;
pub mod cache;
pub mod canonical;
mod decision_log;
mod drafting;
pub mod embedding;
pub mod engine;
pub mod escalation_issue;
pub mod llm_tier;
pub mod memory;
mod observe;
pub mod vector_index;

pub use engine::{Engine, EngineConfig, EngineError};
pub use llm_tier::LlmTier;
pub use memory::{EmbedSource, MemoryError, Recalled, SemanticMemory};
#[doc(hidden)]
pub use observe::llm_usage_metrics;

pub use embedding::{DEFAULT_DIMENSIONS, EMBEDDING_ID, Embedder, HashedNgramEmbedder};
pub use vector_index::{Feedback, Filter, Hit, IndexConfig, IndexError, MemoryVector, SearchMode, VectorIndex};

/// Cosine similarity at or above which a recalled past decision is reused as the answer.
pub const REUSE_SIMILARITY: f32 = 0.90;
