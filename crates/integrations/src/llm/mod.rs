//! LLM chat providers behind one trait. `OpenAiChat` speaks the Chat Completions API (OpenAI
//! and compatible servers such as Ollama), `AnthropicMessages` the Messages API. `LlmConfig`
//! builds either from TOML; `PriceTable` turns token counts into dollars.

mod anthropic;
mod chain;
pub(crate) mod config;
mod error;
pub(crate) mod http;
mod openai;
mod pricing;

pub use anthropic::{AnthropicConfig, AnthropicMessages};
pub use chain::{ChainLink, FallbackChain};
pub use config::{LlmConfig, LlmEndpoint, ProviderKind};
pub use error::{ChainFailure, ConfigError, LlmError};
pub use openai::{OpenAiChat, OpenAiConfig};
pub use pricing::{InvalidPrice, ModelPrice, PriceTable};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Who said a message of the conversation. The system prompt is not a message: it is
/// `ChatRequest::system`, placed where each provider expects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: Role::User, content: content.into() }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: content.into() }
    }
}

/// One completion request, provider-neutral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    /// Instructions; omitted from the wire when empty.
    pub system: String,
    pub messages: Vec<ChatMessage>,
    pub max_tokens: u32,
    /// Decisions pass 0.0 so that the same question gets the same answer as far as the
    /// provider allows.
    pub temperature: f32,
    /// Ask for a JSON object. OpenAI-compatible servers enforce it (`response_format`; the
    /// prompt must mention JSON). The Messages API has no such switch: the prompt must ask.
    pub json_output: bool,
}

/// What the provider answered, with the accounting the budget needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    /// The model that answered, as the provider names it (may be a dated snapshot of the
    /// requested one, e.g. `gpt-4o-mini-2024-07-18`).
    pub model: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Why generation stopped (`stop`, `length`, `end_turn`, `max_tokens`, ...).
    pub finish_reason: Option<String>,
    /// The provider's id for this answer, for support requests and audit.
    pub request_id: Option<String>,
}

#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// Short provider name for logs and metrics: `"openai"` or `"anthropic"`.
    fn name(&self) -> &str;

    async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError>;
}
