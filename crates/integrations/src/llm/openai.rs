//! The OpenAI Chat Completions API (`POST {base_url}/chat/completions`), also spoken by
//! Ollama, vLLM and other compatible servers.

use super::error::{ConfigError, LlmError};
use super::http::{self, Reply};
use super::{ChatRequest, ChatResponse, LlmProvider};
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    /// `https://api.openai.com/v1`, or e.g. `http://localhost:11434/v1` for Ollama.
    pub base_url: String,
    /// Sent as a bearer token when set; local servers usually need none.
    pub api_key: Option<String>,
    pub timeout: Duration,
}

impl OpenAiConfig {
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";
}

#[derive(Debug, Clone)]
pub struct OpenAiChat {
    client: reqwest::Client,
    url: String,
    auth: Option<HeaderValue>,
}

impl OpenAiChat {
    pub fn new(config: OpenAiConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            url: http::endpoint(&config.base_url, "/chat/completions")?,
            auth: http::bearer(config.api_key.as_deref())?,
            client: http::build_client(config.timeout)?,
        })
    }
}

#[async_trait]
impl LlmProvider for OpenAiChat {
    fn name(&self) -> &str {
        "openai"
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let mut request = self.client.post(&self.url).json(&WireRequest::from(req));
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let reply = http::send(request, http::MAX_CHAT_BODY).await?;
        parse(&reply, &req.model)
    }
}

#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    temperature: f32,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat>,
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Debug, Serialize)]
struct ResponseFormat {
    #[serde(rename = "type")]
    kind: &'static str,
}

impl<'a> From<&'a ChatRequest> for WireRequest<'a> {
    fn from(req: &'a ChatRequest) -> Self {
        let system = (!req.system.is_empty()).then(|| WireMessage { role: "system", content: &req.system });
        let messages = system.into_iter().chain(req.messages.iter().map(|m| WireMessage { role: m.role.as_str(), content: &m.content }));
        Self {
            model: &req.model,
            messages: messages.collect(),
            temperature: req.temperature,
            max_tokens: req.max_tokens,
            response_format: req.json_output.then_some(ResponseFormat { kind: "json_object" }),
        }
    }
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    id: Option<String>,
    model: Option<String>,
    choices: Vec<Choice>,
    usage: Usage,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: Message,
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

fn parse(reply: &Reply, requested_model: &str) -> Result<ChatResponse, LlmError> {
    let wire: WireResponse = reply.json()?;
    let Some(choice) = wire.choices.into_iter().next() else {
        return Err(LlmError::Malformed("response has no choices".into()));
    };
    let text = match (choice.message.content, choice.message.refusal) {
        (Some(content), _) => content,
        (None, Some(refusal)) => return Err(LlmError::Malformed(format!("model refused, no content: {refusal}"))),
        (None, None) => return Err(LlmError::Malformed("first choice has no message content".into())),
    };
    Ok(ChatResponse {
        text,
        model: wire.model.unwrap_or_else(|| requested_model.to_owned()),
        tokens_in: wire.usage.prompt_tokens,
        tokens_out: wire.usage.completion_tokens,
        finish_reason: choice.finish_reason,
        request_id: wire.id.or_else(|| reply.header("x-request-id")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ChatMessage;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    fn request(json_output: bool, system: &str) -> ChatRequest {
        ChatRequest {
            model: "gpt-4o-mini".into(),
            system: system.into(),
            messages: vec![
                ChatMessage::user("Is this PR safe to merge?"),
                ChatMessage::assistant("{\"verdict\""),
                ChatMessage::user("go on"),
            ],
            max_tokens: 300,
            temperature: 0.0,
            json_output,
        }
    }

    fn reply(body: serde_json::Value) -> Reply {
        Reply { headers: HeaderMap::new(), body: serde_json::to_vec(&body).unwrap() }
    }

    #[test]
    fn wire_request_puts_system_first_and_asks_for_json() {
        let wire = serde_json::to_value(WireRequest::from(&request(true, "Answer in JSON."))).unwrap();
        assert_eq!(
            wire,
            json!({
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": "Answer in JSON."},
                    {"role": "user", "content": "Is this PR safe to merge?"},
                    {"role": "assistant", "content": "{\"verdict\""},
                    {"role": "user", "content": "go on"},
                ],
                "temperature": 0.0,
                "max_tokens": 300,
                "response_format": {"type": "json_object"},
            })
        );
    }

    #[test]
    fn wire_request_without_system_or_json() {
        let wire = serde_json::to_value(WireRequest::from(&request(false, ""))).unwrap();
        assert_eq!(wire["messages"][0]["role"], "user");
        assert!(wire.get("response_format").is_none());
    }

    #[test]
    fn refusal_and_null_content_are_malformed() {
        let usage = json!({"prompt_tokens": 10, "completion_tokens": 2});
        let refused = reply(json!({"choices": [{"message": {"content": null, "refusal": "I can't help with that."}}], "usage": usage}));
        assert!(matches!(parse(&refused, "m"), Err(LlmError::Malformed(m)) if m.contains("can't help")));
        let empty = reply(json!({"choices": [{"message": {"content": null}}], "usage": usage}));
        assert!(matches!(parse(&empty, "m"), Err(LlmError::Malformed(_))));
        let no_usage = reply(json!({"choices": [{"message": {"content": "{}"}}]}));
        assert!(matches!(parse(&no_usage, "m"), Err(LlmError::Malformed(m)) if m.contains("usage")));
    }

    #[test]
    fn missing_model_and_id_fall_back() {
        let mut r = reply(
            json!({"choices": [{"message": {"content": "{}"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}),
        );
        r.headers.insert("x-request-id", HeaderValue::from_static("req_abc"));
        let parsed = parse(&r, "llama3.2").unwrap();
        assert_eq!(parsed.model, "llama3.2");
        assert_eq!(parsed.request_id.as_deref(), Some("req_abc"));
        assert_eq!((parsed.tokens_in, parsed.tokens_out), (3, 1));
    }
}
