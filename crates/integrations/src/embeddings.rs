//! Embedding clients: text in, vectors out. `OpenAiEmbeddings` speaks the OpenAI Embeddings
//! API (`POST {base_url}/embeddings`), also served by Ollama and other compatible servers.

use crate::llm::http::{self, Reply};
use crate::llm::{ConfigError, LlmError};
use crate::resilience::{BreakerPolicy, BreakerRegistry, Criticality, Resilient, RetryPolicy, embeddings_dependency};
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Vectors in the order of the inputs, and what producing them cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    pub tokens: u64,
    pub model: String,
}

#[async_trait]
pub trait EmbeddingClient: Send + Sync {
    /// One vector per input, in input order.
    async fn embed(&self, inputs: &[String]) -> Result<Embedded, LlmError>;

    /// The length of every vector, when known in advance.
    fn dimensions(&self) -> Option<usize>;
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiEmbeddingsConfig {
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    pub timeout: Duration,
    /// The vector length the model produces (1536 for `text-embedding-3-small`, 768 for
    /// `nomic-embed-text`). When set, answers of another length are rejected as malformed.
    pub dimensions: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct OpenAiEmbeddings {
    client: reqwest::Client,
    url: String,
    auth: Option<HeaderValue>,
    model: String,
    dimensions: Option<usize>,
}

impl OpenAiEmbeddings {
    pub fn new(config: OpenAiEmbeddingsConfig) -> Result<Self, ConfigError> {
        if config.model.trim().is_empty() {
            return Err(ConfigError::Empty { field: "model" });
        }
        Ok(Self {
            url: http::endpoint(&config.base_url, "/embeddings")?,
            auth: http::bearer(config.api_key.as_deref())?,
            client: http::build_client(config.timeout)?,
            model: config.model,
            dimensions: config.dimensions,
        })
    }
}

#[async_trait]
impl EmbeddingClient for OpenAiEmbeddings {
    async fn embed(&self, inputs: &[String]) -> Result<Embedded, LlmError> {
        // The API rejects an empty `input`; nothing to embed costs nothing.
        if inputs.is_empty() {
            return Ok(Embedded { vectors: Vec::new(), tokens: 0, model: self.model.clone() });
        }
        let mut request = self.client.post(&self.url).json(&WireRequest { model: &self.model, input: inputs });
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let reply = http::send(request, http::MAX_EMBEDDINGS_BODY).await?;
        parse(&reply, inputs.len(), self.dimensions, &self.model)
    }

    fn dimensions(&self) -> Option<usize> {
        self.dimensions
    }
}

#[derive(Debug, Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    input: &'a [String],
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    data: Vec<Datum>,
    model: Option<String>,
    usage: Usage,
}

#[derive(Debug, Deserialize)]
struct Datum {
    index: usize,
    embedding: Vec<f32>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    prompt_tokens: u64,
}

fn parse(reply: &Reply, expected: usize, dimensions: Option<usize>, requested_model: &str) -> Result<Embedded, LlmError> {
    let wire: WireResponse = reply.json()?;
    if wire.data.len() != expected {
        return Err(LlmError::Malformed(format!("{} embeddings for {expected} inputs", wire.data.len())));
    }
    // Place each vector by its `index`; every slot must be filled exactly once.
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for datum in wire.data {
        match slots.get_mut(datum.index) {
            Some(slot @ None) => *slot = Some(datum.embedding),
            Some(Some(_)) => return Err(LlmError::Malformed(format!("embedding index {} appears twice", datum.index))),
            None => return Err(LlmError::Malformed(format!("embedding index {} out of range for {expected} inputs", datum.index))),
        }
    }
    let vectors: Vec<Vec<f32>> = slots.into_iter().flatten().collect();
    let width = dimensions.or_else(|| vectors.first().map(Vec::len));
    if let Some(bad) = vectors.iter().find(|v| Some(v.len()) != width || v.is_empty()) {
        return Err(LlmError::Malformed(format!("embedding of length {} where {} was expected", bad.len(), width.unwrap_or(0))));
    }
    Ok(Embedded { vectors, tokens: wire.usage.prompt_tokens, model: wire.model.unwrap_or_else(|| requested_model.to_owned()) })
}

/// ```toml
/// base_url = "http://localhost:11434/v1"   # optional; OpenAI's public API otherwise
/// api_key_env = "OPENAI_API_KEY"           # optional
/// model = "text-embedding-3-small"
/// dimensions = 1536                        # optional
/// timeout_ms = 30000                       # optional, 60000 by default
///
/// [retry]     # optional, as [llm.retry]
/// [breaker]   # optional, as [llm.breaker]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<usize>,
    #[serde(default = "crate::llm::config::default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub breaker: BreakerPolicy,
}

impl EmbeddingsConfig {
    pub fn base_url(&self) -> &str {
        self.base_url.as_deref().unwrap_or(crate::llm::OpenAiConfig::DEFAULT_BASE_URL)
    }

    /// The client wrapped in the configured retries and its breaker from `breakers`.
    pub fn build_resilient(&self, breakers: &BreakerRegistry) -> Result<Resilient<dyn EmbeddingClient>, ConfigError> {
        let dependency = embeddings_dependency(&self.model, self.base_url());
        let breaker = breakers.breaker(&dependency, self.breaker, Criticality::Degradable);
        Ok(Resilient::new(self.build()?, self.retry, breaker))
    }

    /// The bare client, without retries or breaker.
    pub fn build(&self) -> Result<Box<dyn EmbeddingClient>, ConfigError> {
        self.build_with_env(|var| std::env::var(var).ok())
    }

    pub fn build_with_env(&self, env: impl Fn(&str) -> Option<String>) -> Result<Box<dyn EmbeddingClient>, ConfigError> {
        Ok(Box::new(OpenAiEmbeddings::new(OpenAiEmbeddingsConfig {
            base_url: self.base_url().to_owned(),
            api_key: crate::llm::config::resolve_api_key(self.api_key_env.as_deref(), env)?,
            model: self.model.clone(),
            timeout: Duration::from_millis(self.timeout_ms),
            dimensions: self.dimensions,
        })?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    fn reply(data: serde_json::Value) -> Reply {
        let body =
            json!({"object": "list", "data": data, "model": "text-embedding-3-small", "usage": {"prompt_tokens": 5, "total_tokens": 5}});
        Reply { headers: HeaderMap::new(), body: serde_json::to_vec(&body).unwrap() }
    }

    fn datum(index: usize, v: &[f32]) -> serde_json::Value {
        json!({"object": "embedding", "index": index, "embedding": v})
    }

    #[test]
    fn vectors_follow_index_not_position() {
        let r = reply(json!([datum(1, &[0.5, 0.5]), datum(0, &[1.0, 0.0])]));
        let embedded = parse(&r, 2, Some(2), "m").unwrap();
        assert_eq!(embedded.vectors, vec![vec![1.0, 0.0], vec![0.5, 0.5]]);
        assert_eq!((embedded.tokens, embedded.model.as_str()), (5, "text-embedding-3-small"));
    }

    #[test]
    fn bad_indexes_counts_and_lengths_are_malformed() {
        let cases = [
            (json!([datum(0, &[1.0]), datum(0, &[1.0])]), 2, None),
            (json!([datum(0, &[1.0]), datum(2, &[1.0])]), 2, None),
            (json!([datum(0, &[1.0])]), 2, None),
            (json!([datum(0, &[1.0, 2.0]), datum(1, &[1.0])]), 2, None),
            (json!([datum(0, &[1.0, 2.0])]), 1, Some(3)),
            (json!([datum(0, &[])]), 1, None),
        ];
        for (data, expected, dims) in cases {
            let result = parse(&reply(data.clone()), expected, dims, "m");
            assert!(matches!(result, Err(LlmError::Malformed(_))), "{data} -> {result:?}");
        }
    }

    #[test]
    fn config_parses_and_builds() {
        let config: EmbeddingsConfig =
            toml::from_str("base_url = \"http://localhost:11434/v1\"\nmodel = \"nomic-embed-text\"\ndimensions = 768\n").unwrap();
        let client = config.build_with_env(|_| None).unwrap();
        assert_eq!(client.dimensions(), Some(768));
        assert!(toml::from_str::<EmbeddingsConfig>("model = \"m\"\nprovider = \"openai\"\n").is_err());
        let no_model = EmbeddingsConfig { model: String::new(), ..config };
        assert_eq!(no_model.build_with_env(|_| None).err(), Some(ConfigError::Empty { field: "model" }));
    }
}
