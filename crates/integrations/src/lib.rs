//! Clients for the external services WAOOAW talks to: LLM chat providers (`llm`) and
//! embedding endpoints (`embeddings`). Callers depend on the traits (`LlmProvider`,
//! `EmbeddingClient`), never on one vendor; every failure is a typed `LlmError` that says
//! whether a retry can help. `resilience` wraps them in retries, circuit breakers and
//! fallback chains.

pub mod embeddings;
pub mod llm;
pub mod resilience;
mod tls;

pub use tls::install_crypto_provider;
