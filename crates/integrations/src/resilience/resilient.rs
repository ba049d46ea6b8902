//! Clients wrapped in retries and a breaker: `Resilient<C>` is itself an `LlmProvider` or an
//! `EmbeddingClient`, so the engine uses it without knowing.

use super::breaker::CircuitBreaker;
use super::policy::RetryPolicy;
use super::retry;
use crate::embeddings::{Embedded, EmbeddingClient};
use crate::llm::{ChatRequest, ChatResponse, LlmError, LlmProvider};
use async_trait::async_trait;
use std::sync::Arc;

pub struct Resilient<C: ?Sized> {
    retry: RetryPolicy,
    breaker: Arc<CircuitBreaker>,
    inner: Box<C>,
}

impl<C: ?Sized> Resilient<C> {
    pub fn new(inner: Box<C>, retry: RetryPolicy, breaker: Arc<CircuitBreaker>) -> Self {
        Self { retry, breaker, inner }
    }

    pub fn dependency(&self) -> &str {
        self.breaker.dependency()
    }

    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }
}

#[async_trait]
impl LlmProvider for Resilient<dyn LlmProvider> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        retry::call(self.breaker.dependency(), &self.retry, Some(&self.breaker), || self.inner.complete(req)).await
    }
}

#[async_trait]
impl EmbeddingClient for Resilient<dyn EmbeddingClient> {
    async fn embed(&self, inputs: &[String]) -> Result<Embedded, LlmError> {
        retry::call(self.breaker.dependency(), &self.retry, Some(&self.breaker), || self.inner.embed(inputs)).await
    }

    fn dimensions(&self) -> Option<usize> {
        self.inner.dimensions()
    }
}

/// The breaker name of an LLM endpoint: provider, model and host, so two chain entries on
/// different servers never share a breaker. Built from configuration only (bounded labels).
pub fn llm_dependency(provider: &str, model: &str, base_url: &str) -> String {
    format!("llm:{provider}/{model}@{}", host(base_url))
}

pub fn embeddings_dependency(model: &str, base_url: &str) -> String {
    format!("embeddings:{model}@{}", host(base_url))
}

/// `host[:port]` of a URL, or the URL itself when it does not parse (the build rejects it later).
fn host(base_url: &str) -> String {
    match reqwest::Url::parse(base_url) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => base_url.to_owned(),
        },
        Err(_) => base_url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_names_carry_host_and_port_not_path_or_secrets() {
        assert_eq!(llm_dependency("openai", "gpt-4o-mini", "https://api.openai.com/v1"), "llm:openai/gpt-4o-mini@api.openai.com");
        assert_eq!(llm_dependency("openai", "llama3.2", "http://127.0.0.1:11434/v1/"), "llm:openai/llama3.2@127.0.0.1:11434");
        assert_eq!(embeddings_dependency("m", "https://user:pw@example.com/v1"), "embeddings:m@example.com");
    }
}
