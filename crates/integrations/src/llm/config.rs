//! `LlmConfig`: which provider, where, which model, and the key's environment variable, as a
//! TOML table. The key itself never lives in a file.

use super::LlmProvider;
use super::anthropic::{AnthropicConfig, AnthropicMessages};
use super::error::ConfigError;
use super::openai::{OpenAiChat, OpenAiConfig};
use super::pricing::PriceTable;
use crate::resilience::{BreakerPolicy, RetryPolicy};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The wire protocol to speak. `openai` covers every Chat Completions server (Ollama, vLLM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProviderKind {
    #[serde(rename = "openai")]
    OpenAi,
    #[serde(rename = "anthropic")]
    Anthropic,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::OpenAi => OpenAiConfig::DEFAULT_BASE_URL,
            Self::Anthropic => AnthropicConfig::DEFAULT_BASE_URL,
        }
    }
}

/// ```toml
/// provider = "openai"
/// base_url = "http://localhost:11434/v1"   # optional; the provider's public API otherwise
/// api_key_env = "OPENAI_API_KEY"           # optional for openai, required for anthropic
/// model = "gpt-4o-mini"
/// timeout_ms = 30000                       # optional, 60000 by default
///
/// [prices."gpt-4o-mini"]
/// input_usd_per_mtok = 0.15
/// output_usd_per_mtok = 0.6
///
/// [retry]          # optional, see `RetryPolicy`; applies to every entry of the chain
/// max_attempts = 3
/// [breaker]        # optional, see `BreakerPolicy`; one breaker per entry
/// open_ms = 30000
///
/// [[fallback]]     # optional, tried in order when the one before fails; same fields as above
/// provider = "anthropic"
/// api_key_env = "ANTHROPIC_API_KEY"
/// model = "claude-3-5-haiku-20241022"
/// [fallback.prices."claude-3-5-haiku-20241022"]
/// input_usd_per_mtok = 0.8
/// output_usd_per_mtok = 4.0
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    // The endpoint fields are spelled out rather than a flattened `LlmEndpoint`: serde cannot
    // combine `flatten` with `deny_unknown_fields`, and a typo must stay an error.
    pub provider: ProviderKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    pub model: String,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub prices: PriceTable,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub breaker: BreakerPolicy,
    /// Further providers or models, tried in order (`[[llm.fallback]]` in the server's config).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<LlmEndpoint>,
}

/// One provider and model: the primary `[llm]` or a `[[llm.fallback]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmEndpoint {
    pub provider: ProviderKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    pub model: String,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub prices: PriceTable,
}

pub(crate) fn default_timeout_ms() -> u64 {
    60_000
}

impl LlmConfig {
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn base_url(&self) -> &str {
        self.base_url.as_deref().unwrap_or(self.provider.default_base_url())
    }

    /// The primary provider's endpoint.
    pub fn primary(&self) -> LlmEndpoint {
        LlmEndpoint {
            provider: self.provider,
            base_url: self.base_url.clone(),
            api_key_env: self.api_key_env.clone(),
            model: self.model.clone(),
            timeout_ms: self.timeout_ms,
            prices: self.prices.clone(),
        }
    }

    /// The primary provider's bare client (no retries, no breaker, no fallback), with its key
    /// read from the process environment. `llm::FallbackChain::from_config` builds the whole chain.
    pub fn build(&self) -> Result<Box<dyn LlmProvider>, ConfigError> {
        self.build_with_env(|var| std::env::var(var).ok())
    }

    /// As `build`, reading the key through `env` (tests, or keys from another source).
    pub fn build_with_env(&self, env: impl Fn(&str) -> Option<String>) -> Result<Box<dyn LlmProvider>, ConfigError> {
        self.primary().build_with_env(env)
    }
}

impl LlmEndpoint {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn base_url(&self) -> &str {
        self.base_url.as_deref().unwrap_or(self.provider.default_base_url())
    }

    pub fn build_with_env(&self, env: impl Fn(&str) -> Option<String>) -> Result<Box<dyn LlmProvider>, ConfigError> {
        if self.model.trim().is_empty() {
            return Err(ConfigError::Empty { field: "model" });
        }
        let api_key = resolve_api_key(self.api_key_env.as_deref(), env)?;
        let base_url = self.base_url().to_owned();
        let timeout = self.timeout();
        Ok(match self.provider {
            ProviderKind::OpenAi => Box::new(OpenAiChat::new(OpenAiConfig { base_url, api_key, timeout })?),
            ProviderKind::Anthropic => {
                let api_key = api_key.ok_or(ConfigError::ApiKeyRequired { provider: "anthropic" })?;
                let version = AnthropicConfig::DEFAULT_VERSION.to_owned();
                Box::new(AnthropicMessages::new(AnthropicConfig { base_url, api_key, timeout, version })?)
            }
        })
    }
}

/// The key named by `api_key_env`, if one is configured. A configured but unset variable is
/// an error, not "no key": a deployment that forgot the secret should fail at start.
pub(crate) fn resolve_api_key(var: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(var) = var else {
        return Ok(None);
    };
    let is_name = var.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !is_name {
        return Err(ConfigError::InvalidKeyEnvName);
    }
    match env(var) {
        Some(key) if !key.trim().is_empty() => Ok(Some(key)),
        _ => Err(ConfigError::MissingApiKey { var: var.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        (var == "TEST_LLM_KEY").then(|| "sk-test-123".to_owned())
    }

    #[test]
    fn parses_a_full_table() {
        let config = LlmConfig::from_toml(
            r#"
            provider = "anthropic"
            api_key_env = "TEST_LLM_KEY"
            model = "claude-3-5-haiku-20241022"
            timeout_ms = 15000

            [prices."claude-3-5-haiku-20241022"]
            input_usd_per_mtok = 0.8
            output_usd_per_mtok = 4.0
            "#,
        )
        .unwrap();
        assert_eq!(config.provider, ProviderKind::Anthropic);
        assert_eq!(config.base_url(), "https://api.anthropic.com");
        assert_eq!(config.timeout(), Duration::from_secs(15));
        assert!(config.prices.cost_usd(&config.model, 1, 1).is_some());
        assert_eq!(config.build_with_env(env).unwrap().name(), "anthropic");
    }

    #[test]
    fn defaults_and_keyless_openai() {
        let config =
            LlmConfig::from_toml("provider = \"openai\"\nbase_url = \"http://localhost:11434/v1\"\nmodel = \"llama3.2\"\n").unwrap();
        assert_eq!(config.timeout_ms, 60_000);
        assert!(config.prices.is_empty());
        assert_eq!(config.build_with_env(|_| None).unwrap().name(), "openai");
    }

    #[test]
    fn rejects_unknown_fields_and_providers() {
        let typo = LlmConfig::from_toml("provider = \"openai\"\nmodel = \"m\"\napi_key = \"sk-live\"\n");
        assert!(matches!(typo, Err(ConfigError::Parse(m)) if m.contains("api_key")));
        let unknown = LlmConfig::from_toml("provider = \"gemini\"\nmodel = \"m\"\n");
        assert!(matches!(unknown, Err(ConfigError::Parse(m)) if m.contains("gemini")));
    }

    #[test]
    fn key_problems_fail_the_build() {
        let base = LlmConfig::from_toml("provider = \"anthropic\"\nmodel = \"m\"\n").unwrap();
        assert_eq!(base.build_with_env(env).err(), Some(ConfigError::ApiKeyRequired { provider: "anthropic" }));

        let unset = LlmConfig { api_key_env: Some("UNSET_VAR".into()), ..base.clone() };
        assert_eq!(unset.build_with_env(env).err(), Some(ConfigError::MissingApiKey { var: "UNSET_VAR".into() }));

        // A key pasted where the variable name belongs is refused without being echoed.
        let pasted = LlmConfig { api_key_env: Some("sk-ant-api03-secret".into()), ..base.clone() };
        let err = pasted.build_with_env(env).err().unwrap();
        assert_eq!(err, ConfigError::InvalidKeyEnvName);
        assert!(!err.to_string().contains("secret"));

        let empty_model = LlmConfig { model: " ".into(), ..base };
        assert_eq!(empty_model.build_with_env(env).err(), Some(ConfigError::Empty { field: "model" }));
    }

    #[test]
    fn bad_base_url_and_zero_timeout_fail_the_build() {
        let config = LlmConfig::from_toml("provider = \"openai\"\nmodel = \"m\"\nbase_url = \"localhost:11434\"\n").unwrap();
        assert!(matches!(config.build_with_env(env).err(), Some(ConfigError::InvalidBaseUrl { .. })));
        let zero = LlmConfig { base_url: None, timeout_ms: 0, ..config };
        assert_eq!(zero.build_with_env(env).err(), Some(ConfigError::ZeroTimeout));
    }
}
