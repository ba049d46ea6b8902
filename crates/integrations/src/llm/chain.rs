//! `FallbackChain`: an ordered list of providers behind one `LlmProvider`. Each entry has its
//! own model, retries and breaker; when one fails (any error, or its breaker is open) the next
//! is asked. When all fail the caller gets `LlmError::ChainExhausted` with every entry's error,
//! and the decision engine falls back as for any provider error.

use super::config::{LlmConfig, LlmEndpoint};
use super::error::{ChainFailure, ConfigError, LlmError};
use super::pricing::PriceTable;
use super::{ChatRequest, ChatResponse, LlmProvider};
use crate::resilience::{BreakerRegistry, ChainExhausted, Criticality, FallbackTaken, Resilient, llm_dependency};
use async_trait::async_trait;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// One provider of a chain.
pub struct ChainLink {
    /// The breaker's dependency name, also used in logs and errors.
    pub dependency: String,
    /// The model this entry asks for, whatever the request named.
    pub model: String,
    pub provider: Box<dyn LlmProvider>,
}

pub struct FallbackChain {
    name: String,
    links: Vec<ChainLink>,
    prices: PriceTable,
}

impl FallbackChain {
    /// A chain of `links`, in order, and the prices of their models.
    pub fn new(links: Vec<ChainLink>, prices: PriceTable) -> Result<Self, ConfigError> {
        if links.is_empty() {
            return Err(ConfigError::Empty { field: "llm chain" });
        }
        let name = links.iter().map(|l| l.provider.name()).collect::<Vec<_>>().join(">");
        Ok(Self { name, links, prices })
    }

    /// The chain `[llm]` describes: the primary, then each `[[llm.fallback]]`, each wrapped in
    /// the configured retries and its own breaker from `breakers`. Every entry is checked, and
    /// an error names the entry at fault.
    pub fn from_config(config: &LlmConfig, breakers: &BreakerRegistry) -> Result<Self, ConfigError> {
        Self::from_config_with_env(config, breakers, |var| std::env::var(var).ok())
    }

    pub fn from_config_with_env(
        config: &LlmConfig,
        breakers: &BreakerRegistry,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let endpoints: Vec<(String, LlmEndpoint)> = std::iter::once(("[llm]".to_owned(), config.primary()))
            .chain(
                config
                    .fallback
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (format!("[[llm.fallback]] #{} ({} {})", i + 1, e.provider.as_str(), e.model), e.clone())),
            )
            .collect();
        // A lone provider keeps working without prices (a local model); in a chain every model
        // must be priced, or spend on a fallback would go unseen by budgets and cost reports.
        let need_prices = endpoints.len() > 1;
        let mut seen = BTreeSet::new();
        let mut prices = PriceTable::new();
        let mut links = Vec::with_capacity(endpoints.len());
        for (label, endpoint) in endpoints {
            let in_entry = |problem: ConfigError| ConfigError::ChainEntry { entry: label.clone(), problem: Box::new(problem) };
            let client = endpoint.build_with_env(&env).map_err(in_entry)?;
            let dependency = llm_dependency(endpoint.provider.as_str(), &endpoint.model, endpoint.base_url());
            if !seen.insert(dependency.clone()) {
                return Err(in_entry(ConfigError::DuplicateEntry { dependency }));
            }
            if need_prices && endpoint.prices.get(&endpoint.model).is_none() {
                return Err(in_entry(ConfigError::MissingPrice { model: endpoint.model.clone() }));
            }
            for (model, price) in endpoint.prices.iter() {
                match prices.get(model) {
                    Some(known) if known != price => return Err(in_entry(ConfigError::ConflictingPrice { model: model.to_owned() })),
                    Some(_) => {}
                    None => {
                        prices.insert(model, *price);
                    }
                }
            }
            let breaker = breakers.breaker(&dependency, config.breaker, Criticality::Degradable);
            let provider: Box<dyn LlmProvider> = Box::new(Resilient::new(client, config.retry, breaker));
            links.push(ChainLink { dependency, model: endpoint.model, provider });
        }
        Self::new(links, prices)
    }

    /// Every model's price, merged from the entries (they must agree).
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// The entries' dependency names, in order.
    pub fn dependencies(&self) -> impl Iterator<Item = &str> {
        self.links.iter().map(|l| l.dependency.as_str())
    }

    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }
}

#[async_trait]
impl LlmProvider for FallbackChain {
    /// The providers in order, e.g. `openai>anthropic`.
    fn name(&self) -> &str {
        &self.name
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let mut failures = Vec::new();
        for (i, link) in self.links.iter().enumerate() {
            let req = if link.model == req.model {
                Cow::Borrowed(req)
            } else {
                Cow::Owned(ChatRequest { model: link.model.clone(), ..req.clone() })
            };
            let error = match link.provider.complete(&req).await {
                Ok(response) => return Ok(response),
                Err(e) => e,
            };
            if let Some(next) = self.links.get(i + 1) {
                FallbackTaken { from: &link.dependency, to: &next.dependency, kind: error.kind(), error: &error }.emit();
            }
            failures.push(ChainFailure { dependency: link.dependency.clone(), error });
        }
        if self.links.len() == 1
            && let Some(only) = failures.pop()
        {
            // No fallback configured: the provider's own error says it best.
            return Err(only.error);
        }
        ChainExhausted { chain: &self.name, providers: failures.len() }.emit();
        Err(LlmError::ChainExhausted(failures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMARY: &str = r#"
        provider = "openai"
        model = "gpt-4o-mini"
        api_key_env = "TEST_OPENAI_KEY"
        [prices."gpt-4o-mini"]
        input_usd_per_mtok = 0.15
        output_usd_per_mtok = 0.6
    "#;

    const ANTHROPIC: &str = r#"
        [[fallback]]
        provider = "anthropic"
        api_key_env = "TEST_ANTHROPIC_KEY"
        model = "claude-3-5-haiku-20241022"
        [fallback.prices."claude-3-5-haiku-20241022"]
        input_usd_per_mtok = 0.8
        output_usd_per_mtok = 4.0
    "#;

    fn env(var: &str) -> Option<String> {
        matches!(var, "TEST_OPENAI_KEY" | "TEST_ANTHROPIC_KEY").then(|| "sk-test".to_owned())
    }

    fn build(toml: &str) -> Result<FallbackChain, ConfigError> {
        FallbackChain::from_config_with_env(&LlmConfig::from_toml(toml)?, &BreakerRegistry::new(), env)
    }

    /// The entry an error names and the error inside.
    fn entry_error(toml: &str) -> (String, ConfigError) {
        match build(toml) {
            Err(ConfigError::ChainEntry { entry, problem }) => (entry, *problem),
            Err(other) => panic!("expected an entry error, got {other}"),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn a_valid_chain_builds_with_a_breaker_per_entry_and_merged_prices() {
        let registry = BreakerRegistry::new();
        let config = LlmConfig::from_toml(&format!("{PRIMARY}{ANTHROPIC}")).unwrap();
        let chain = FallbackChain::from_config_with_env(&config, &registry, env).unwrap();
        assert_eq!(chain.name(), "openai>anthropic");
        let deps: Vec<_> = chain.dependencies().collect();
        assert_eq!(deps, ["llm:openai/gpt-4o-mini@api.openai.com", "llm:anthropic/claude-3-5-haiku-20241022@api.anthropic.com"]);
        assert_eq!(registry.report().len(), 2);
        assert_eq!(chain.prices().len(), 2);
        // A lone provider needs no price (a local model), as before chains existed.
        let lone = "provider = \"openai\"\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3.2\"\n";
        assert_eq!(build(lone).unwrap().len(), 1);
    }

    #[test]
    fn each_misconfigured_entry_is_named() {
        let fallback = |body: &str| format!("{PRIMARY}\n[[fallback]]\n{body}");
        let priced = "[fallback.prices.m]\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 1.0\n";

        let (entry, e) = entry_error(&fallback(&format!("provider = \"openai\"\nmodel = \"m\"\nbase_url = \"localhost:11434\"\n{priced}")));
        assert_eq!(entry, "[[llm.fallback]] #1 (openai m)");
        assert!(matches!(e, ConfigError::InvalidBaseUrl { .. }), "{e}");

        let (entry, e) = entry_error(&fallback(&format!("provider = \"anthropic\"\nmodel = \"m\"\napi_key_env = \"UNSET_KEY\"\n{priced}")));
        assert_eq!(entry, "[[llm.fallback]] #1 (anthropic m)");
        assert_eq!(e, ConfigError::MissingApiKey { var: "UNSET_KEY".into() });

        let (_, e) = entry_error(&fallback("provider = \"openai\"\nmodel = \"unpriced\"\n"));
        assert_eq!(e, ConfigError::MissingPrice { model: "unpriced".into() });

        let (entry, e) = entry_error(&format!("{}{ANTHROPIC}", PRIMARY.replace("[prices.\"gpt-4o-mini\"]", "[prices.\"gpt-4o\"]")));
        assert_eq!(
            (entry.as_str(), e),
            ("[llm]", ConfigError::MissingPrice { model: "gpt-4o-mini".into() }),
            "the primary too, in a chain"
        );

        let same_model_other_price = "provider = \"openai\"\nbase_url = \"http://127.0.0.1:8000/v1\"\nmodel = \"gpt-4o-mini\"\n[fallback.prices.\"gpt-4o-mini\"]\ninput_usd_per_mtok = 9.0\noutput_usd_per_mtok = 9.0\n";
        let (_, e) = entry_error(&fallback(same_model_other_price));
        assert_eq!(e, ConfigError::ConflictingPrice { model: "gpt-4o-mini".into() });

        let repeat = "provider = \"openai\"\nmodel = \"gpt-4o-mini\"\napi_key_env = \"TEST_OPENAI_KEY\"\n";
        let (entry, e) = entry_error(&fallback(repeat));
        assert_eq!(entry, "[[llm.fallback]] #1 (openai gpt-4o-mini)");
        assert_eq!(e, ConfigError::DuplicateEntry { dependency: "llm:openai/gpt-4o-mini@api.openai.com".into() });

        let message = build(&fallback("provider = \"openai\"\nmodel = \"unpriced\"\n")).err().unwrap().to_string();
        assert_eq!(
            message,
            "[[llm.fallback]] #1 (openai unpriced): no price for model \"unpriced\": add [prices.\"unpriced\"] to this entry"
        );
    }

    #[test]
    fn unknown_providers_fields_and_nested_chains_are_parse_errors() {
        let unknown = LlmConfig::from_toml(&format!("{PRIMARY}\n[[fallback]]\nprovider = \"gemini\"\nmodel = \"m\"\n"));
        // Parse errors carry the line, which points into the entry.
        assert!(matches!(&unknown, Err(ConfigError::Parse(m)) if m.contains("gemini") && m.contains("line 10")), "{unknown:?}");
        let nested = LlmConfig::from_toml(&format!("{PRIMARY}{ANTHROPIC}\n[[fallback.fallback]]\nprovider = \"openai\"\nmodel = \"m\"\n"));
        assert!(matches!(nested, Err(ConfigError::Parse(m)) if m.contains("fallback")));
        let retry_in_entry = LlmConfig::from_toml(&format!("{PRIMARY}{ANTHROPIC}\n[fallback.retry]\nmax_attempts = 2\n"));
        assert!(matches!(retry_in_entry, Err(ConfigError::Parse(m)) if m.contains("retry")), "retries are set once, for the chain");
        let bad_retry = LlmConfig::from_toml(&format!("{PRIMARY}\n[retry]\nmax_attempts = 0\n"));
        assert!(matches!(bad_retry, Err(ConfigError::Parse(m)) if m.contains("max_attempts")));
    }
}
