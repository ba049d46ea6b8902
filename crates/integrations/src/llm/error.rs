//! Errors of provider calls (`LlmError`) and of building a client from configuration
//! (`ConfigError`).

use std::time::Duration;

/// Why a call to an LLM or embedding provider failed. `is_retryable` tells the caller whether
/// the same request may succeed later.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// 401 or 403: the key is missing, wrong or lacks permission. Retrying will not help.
    #[error("unauthorized (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// 429: slow down; `retry_after` is the provider's hint when it sent one.
    #[error("rate limited: {message}")]
    RateLimited { retry_after: Option<Duration>, message: String },
    /// 5xx, including Anthropic's 529 "overloaded".
    #[error("provider error (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    /// Any other 4xx: the request itself is wrong (model name, prompt too long, ...).
    #[error("bad request (HTTP {status}): {message}")]
    BadRequest { status: u16, message: String },
    /// No complete answer within the configured timeout.
    #[error("request timed out")]
    Timeout,
    /// The connection could not be made or broke.
    #[error("transport error: {0}")]
    Transport(String),
    /// A success status with a body we cannot use: not JSON, truncated, fields missing, no
    /// choices or content, or an unexpected status.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The dependency's circuit breaker is open: refused at once, without a network call.
    #[error("circuit breaker open for {dependency}")]
    CircuitOpen { dependency: String },
    /// Every provider of a fallback chain failed; each one's error, in chain order.
    #[error("all {} providers of the chain failed: {}", .0.len(), ChainFailure::join(.0))]
    ChainExhausted(Vec<ChainFailure>),
}

/// One provider's failure inside a fallback chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainFailure {
    /// The breaker's dependency name of the entry (`llm:openai/gpt-4o-mini@api.openai.com`).
    pub dependency: String,
    pub error: LlmError,
}

impl ChainFailure {
    fn join(failures: &[ChainFailure]) -> String {
        failures.iter().map(|f| format!("{}: {}", f.dependency, f.error)).collect::<Vec<_>>().join("; ")
    }
}

impl LlmError {
    /// Whether the same request may succeed if sent again later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Timeout | Self::Transport(_) | Self::RateLimited { .. } | Self::Server { .. })
    }

    /// How long the provider asked us to wait, for a rate-limited call.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status the provider answered with, when the error came from one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { status, .. } | Self::Server { status, .. } | Self::BadRequest { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            Self::Timeout | Self::Transport(_) | Self::Malformed(_) | Self::CircuitOpen { .. } | Self::ChainExhausted(_) => None,
        }
    }

    /// A short, fixed name of the kind of failure, for metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server",
            Self::BadRequest { .. } => "bad_request",
            Self::Timeout => "timeout",
            Self::Transport(_) => "transport",
            Self::Malformed(_) => "malformed",
            Self::CircuitOpen { .. } => "circuit_open",
            Self::ChainExhausted(_) => "chain_exhausted",
        }
    }
}

/// Why a client could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid base_url {url:?}: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    /// The value is deliberately not shown: someone may have pasted the key itself.
    #[error("api_key_env must be the name of an environment variable (letters, digits and '_'), not the key itself")]
    InvalidKeyEnvName,
    #[error("environment variable {var} (api_key_env) is not set or is empty")]
    MissingApiKey { var: String },
    #[error("the {provider} provider needs an API key: set api_key_env")]
    ApiKeyRequired { provider: &'static str },
    #[error("the API key is empty or not a valid HTTP header value")]
    InvalidApiKey,
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("timeout must be greater than zero")]
    ZeroTimeout,
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
    #[error("invalid configuration: {0}")]
    Parse(String),
    /// One entry of a fallback chain is wrong; `entry` names it (`[llm]`, `[[llm.fallback]] #2 (anthropic claude-...)`).
    /// The problem is part of the message, not a `source`, so error reports do not print it twice.
    #[error("{entry}: {problem}")]
    ChainEntry { entry: String, problem: Box<ConfigError> },
    /// A chain's model has no price: its spend would be invisible to budgets and cost reports.
    #[error("no price for model {model:?}: add [prices.\"{model}\"] to this entry")]
    MissingPrice { model: String },
    /// Two entries of a chain price the same model differently; the engine prices an answer by model name.
    #[error("model {model:?} is priced differently by another entry of the chain")]
    ConflictingPrice { model: String },
    /// Two entries of a chain are the same provider, endpoint and model: the second could never help.
    #[error("repeats {dependency}, already in the chain")]
    DuplicateEntry { dependency: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_kinds() {
        let retryable = [
            LlmError::Timeout,
            LlmError::Transport("connection refused".into()),
            LlmError::RateLimited { retry_after: None, message: String::new() },
            LlmError::Server { status: 529, message: "overloaded".into() },
        ];
        let final_ = [
            LlmError::Unauthorized { status: 401, message: String::new() },
            LlmError::BadRequest { status: 400, message: String::new() },
            LlmError::Malformed("no choices".into()),
            LlmError::CircuitOpen { dependency: "llm:openai/m@h".into() },
            LlmError::ChainExhausted(vec![]),
        ];
        assert!(retryable.iter().all(LlmError::is_retryable));
        assert!(!final_.iter().any(LlmError::is_retryable));
    }

    #[test]
    fn retry_after_only_for_rate_limits() {
        let wait = Some(Duration::from_secs(7));
        assert_eq!(LlmError::RateLimited { retry_after: wait, message: String::new() }.retry_after(), wait);
        assert_eq!(LlmError::Server { status: 503, message: String::new() }.retry_after(), None);
    }
}
