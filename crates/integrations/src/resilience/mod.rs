//! Staying useful when outside services fail: retries with backoff (`retry`), a circuit breaker
//! per dependency (`breaker`, `registry`), and `Resilient`, which wraps an LLM or embeddings
//! client in both. The breaker and retry loop are generic over the error (`Failure`), so the
//! GitHub and Redis clients can use them too. Fallback chains of LLM providers are
//! `llm::FallbackChain`.

mod breaker;
mod observe;
mod policy;
mod registry;
mod resilient;
mod retry;
mod window;

pub use breaker::{BreakerOpen, BreakerSnapshot, BreakerState, CircuitBreaker, Permit};
pub use observe::GaveUp;
pub use policy::{BreakerPolicy, PolicyError, RetryPolicy};
pub use registry::{BreakerRegistry, BreakerReport, Criticality};
pub use resilient::{Resilient, embeddings_dependency, llm_dependency};
pub use retry::{Failure, backoff, call};

pub(crate) use observe::{ChainExhausted, FallbackTaken};
