//! The Anthropic Messages API (`POST {base_url}/v1/messages`).

use super::error::{ConfigError, LlmError};
use super::http::{self, Reply};
use super::{ChatRequest, ChatResponse, LlmProvider};
use async_trait::async_trait;
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct AnthropicConfig {
    pub base_url: String,
    pub api_key: String,
    pub timeout: Duration,
    /// The `anthropic-version` header.
    pub version: String,
}

impl AnthropicConfig {
    pub const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";
    pub const DEFAULT_VERSION: &'static str = "2023-06-01";

    /// The public endpoint and API version, with a 60 s timeout.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            base_url: Self::DEFAULT_BASE_URL.to_owned(),
            api_key: api_key.into(),
            timeout: Duration::from_secs(60),
            version: Self::DEFAULT_VERSION.to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AnthropicMessages {
    client: reqwest::Client,
    url: String,
    api_key: HeaderValue,
    version: HeaderValue,
}

impl AnthropicMessages {
    pub fn new(config: AnthropicConfig) -> Result<Self, ConfigError> {
        if config.api_key.trim().is_empty() {
            return Err(ConfigError::InvalidApiKey);
        }
        let version = HeaderValue::from_str(&config.version)
            .ok()
            .filter(|_| !config.version.is_empty())
            .ok_or(ConfigError::Empty { field: "version" })?;
        Ok(Self {
            url: http::endpoint(&config.base_url, "/v1/messages")?,
            api_key: http::secret_header(&config.api_key)?,
            version,
            client: http::build_client(config.timeout)?,
        })
    }
}

#[async_trait]
impl LlmProvider for AnthropicMessages {
    fn name(&self) -> &str {
        "anthropic"
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        // `.json()` sets `content-type: application/json`.
        let request = self
            .client
            .post(&self.url)
            .header("x-api-key", self.api_key.clone())
            .header("anthropic-version", self.version.clone())
            .json(&WireRequest::from(req));
        let reply = http::send(request, http::MAX_CHAT_BODY).await?;
        parse(&reply, &req.model)
    }
}

#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    temperature: f32,
    #[serde(skip_serializing_if = "str::is_empty")]
    system: &'a str,
    messages: Vec<WireMessage<'a>>,
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'a str,
    content: &'a str,
}

impl<'a> From<&'a ChatRequest> for WireRequest<'a> {
    fn from(req: &'a ChatRequest) -> Self {
        Self {
            model: &req.model,
            max_tokens: req.max_tokens,
            temperature: req.temperature,
            system: &req.system,
            messages: req.messages.iter().map(|m| WireMessage { role: m.role.as_str(), content: &m.content }).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    id: Option<String>,
    model: Option<String>,
    content: Vec<Block>,
    stop_reason: Option<String>,
    usage: Usage,
}

#[derive(Debug, Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

fn parse(reply: &Reply, requested_model: &str) -> Result<ChatResponse, LlmError> {
    let wire: WireResponse = reply.json()?;
    let mut texts = wire.content.into_iter().filter(|b| b.kind == "text").filter_map(|b| b.text).peekable();
    if texts.peek().is_none() {
        return Err(LlmError::Malformed("response has no text content".into()));
    }
    let text = texts.collect::<String>();
    let usage = wire.usage;
    Ok(ChatResponse {
        text,
        model: wire.model.unwrap_or_else(|| requested_model.to_owned()),
        // `input_tokens` leaves out prompt-cache reads and writes; they are still billed input.
        tokens_in: usage
            .input_tokens
            .saturating_add(usage.cache_creation_input_tokens.unwrap_or(0))
            .saturating_add(usage.cache_read_input_tokens.unwrap_or(0)),
        tokens_out: usage.output_tokens,
        finish_reason: wire.stop_reason,
        request_id: wire.id.or_else(|| reply.header("request-id")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ChatMessage;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    fn reply(body: serde_json::Value) -> Reply {
        Reply { headers: HeaderMap::new(), body: serde_json::to_vec(&body).unwrap() }
    }

    #[test]
    fn wire_request_has_system_at_top_level() {
        let req = ChatRequest {
            model: "claude-3-5-haiku-20241022".into(),
            system: "You decide.".into(),
            messages: vec![ChatMessage::user("Merge?")],
            max_tokens: 200,
            temperature: 0.0,
            json_output: true,
        };
        let wire = serde_json::to_value(WireRequest::from(&req)).unwrap();
        assert_eq!(
            wire,
            json!({
                "model": "claude-3-5-haiku-20241022",
                "max_tokens": 200,
                "temperature": 0.0,
                "system": "You decide.",
                "messages": [{"role": "user", "content": "Merge?"}],
            })
        );
        let no_system = ChatRequest { system: String::new(), ..req };
        assert!(serde_json::to_value(WireRequest::from(&no_system)).unwrap().get("system").is_none());
    }

    #[test]
    fn text_blocks_are_concatenated_and_others_skipped() {
        let r = reply(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
            "content": [
                {"type": "text", "text": "{\"verdict\":"},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}},
                {"type": "text", "text": "\"approve\"}"}
            ],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 40, "output_tokens": 9, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100}
        }));
        let parsed = parse(&r, "x").unwrap();
        assert_eq!(parsed.text, "{\"verdict\":\"approve\"}");
        assert_eq!(parsed.tokens_in, 145);
        assert_eq!(parsed.tokens_out, 9);
    }

    #[test]
    fn no_text_block_is_malformed() {
        let usage = json!({"input_tokens": 1, "output_tokens": 1});
        let only_tool = reply(json!({"content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}], "usage": usage}));
        assert!(matches!(parse(&only_tool, "m"), Err(LlmError::Malformed(_))));
        let empty = reply(json!({"content": [], "usage": usage}));
        assert!(matches!(parse(&empty, "m"), Err(LlmError::Malformed(_))));
    }

    #[test]
    fn config_is_checked() {
        assert_eq!(AnthropicMessages::new(AnthropicConfig::new(" ")).unwrap_err(), ConfigError::InvalidApiKey);
        let no_version = AnthropicConfig { version: String::new(), ..AnthropicConfig::new("k") };
        assert_eq!(AnthropicMessages::new(no_version).unwrap_err(), ConfigError::Empty { field: "version" });
    }
}
