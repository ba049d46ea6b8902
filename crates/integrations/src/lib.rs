//! Clients for the external services WAOOAW talks to: LLM chat providers (`llm`) and
//! embedding endpoints (`embeddings`), GitHub (`github`), and sealing of customer secrets
//! (`secrets`). Callers depend on the traits (`LlmProvider`,
//! `EmbeddingClient`), never on one vendor; every failure is a typed `LlmError` that says
//! whether a retry can help. `resilience` wraps them in retries, circuit breakers and
//! fallback chains.

pub mod embeddings;
pub mod github;
pub mod llm;
pub mod resilience;
pub mod secrets;
mod tls;

pub use tls::install_crypto_provider;
