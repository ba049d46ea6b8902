//! Configuration: flags, then environment variables, then an optional TOML file, then defaults.

use anyhow::{Context, Result};
use clap::Args;
use serde::Deserialize;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use waooaw_runtime::RuntimeConfig;

#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Data directory (SQLite file, admin token).
    #[arg(long, env = "WAOOAW_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL for scale-out mode; without it the embedded SQLite store is used.
    #[arg(long, env = "WAOOAW_DATABASE_URL")]
    pub database_url: Option<String>,
    /// TOML config file with the same keys as the flags (snake_case).
    #[arg(long, env = "WAOOAW_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "WAOOAW_LISTEN")]
    pub listen: Option<String>,
    /// Redis URL for the Redis Streams bus; without it the in-process bus is used.
    #[arg(long, env = "WAOOAW_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Redis stream key the processes share.
    #[arg(long, env = "WAOOAW_REDIS_STREAM")]
    pub redis_stream: Option<String>,
    /// How long (ms) a Redis entry may sit unacknowledged before a live process claims it.
    #[arg(long, env = "WAOOAW_REDIS_CLAIM_IDLE_MS")]
    pub redis_claim_idle_ms: Option<u64>,
    /// Catalog folder of spec files; defaults to ./catalog, else the catalog built into the binary.
    #[arg(long, env = "WAOOAW_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "WAOOAW_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// How many agents this process wakes at once; more deliveries wait on the bus meanwhile.
    #[arg(long, env = "WAOOAW_WAKE_CONCURRENCY")]
    pub wake_concurrency: Option<NonZeroU32>,
    /// Log as JSON lines (default: human-readable when attached to a terminal).
    #[arg(long, env = "WAOOAW_LOG_JSON")]
    pub log_json: Option<bool>,
    /// OTLP/HTTP collector base URL (e.g. http://127.0.0.1:4318); traces are exported there.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// GitHub REST API base URL (GitHub Enterprise: https://host/api/v3).
    #[arg(long, env = "WAOOAW_GITHUB_API")]
    pub github_api: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub redis_url: Option<String>,
    pub redis_stream: Option<String>,
    pub redis_claim_idle_ms: Option<u64>,
    pub catalog: Option<PathBuf>,
    pub body_limit: Option<usize>,
    pub wake_concurrency: Option<NonZeroU32>,
    pub log_json: Option<bool>,
    pub otlp_endpoint: Option<String>,
    pub github_api: Option<String>,
    /// The LLM tier: provider, model, key variable, prices. Without it, decisions that need an
    /// LLM escalate to a human.
    pub llm: Option<waooaw_integrations::llm::LlmConfig>,
    /// An OpenAI-compatible embeddings endpoint; without it the offline embedding is used.
    pub embeddings: Option<waooaw_integrations::embeddings::EmbeddingsConfig>,
}

pub fn load_file(path: Option<&Path>) -> Result<FileConfig> {
    let Some(path) = path else { return Ok(FileConfig::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(1, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        anyhow::anyhow!("{}:{line}: {}", path.display(), e.message())
    })
}

/// Settled configuration for `serve`.
#[derive(Debug, Clone)]
pub struct Settled {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub listen: String,
    pub redis_url: Option<String>,
    pub redis_stream: Option<String>,
    pub redis_claim_idle_ms: Option<u64>,
    pub catalog: Option<PathBuf>,
    pub body_limit: usize,
    pub wake_concurrency: usize,
    pub log_json: bool,
    pub otlp_endpoint: Option<String>,
    pub github_api: String,
    pub llm: Option<waooaw_integrations::llm::LlmConfig>,
    pub embeddings: Option<waooaw_integrations::embeddings::EmbeddingsConfig>,
}

impl ServeArgs {
    pub fn settle(self) -> Result<Settled> {
        let file = load_file(self.store.config.as_deref())?;
        Ok(Settled {
            data_dir: self.store.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("data")),
            database_url: self.store.database_url.or(file.database_url),
            listen: self.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into()),
            redis_url: self.redis_url.or(file.redis_url),
            redis_stream: self.redis_stream.or(file.redis_stream),
            redis_claim_idle_ms: self.redis_claim_idle_ms.or(file.redis_claim_idle_ms),
            catalog: self.catalog.or(file.catalog),
            body_limit: self.body_limit.or(file.body_limit).unwrap_or(1024 * 1024),
            wake_concurrency: self
                .wake_concurrency
                .or(file.wake_concurrency)
                .map_or(RuntimeConfig::default().wake_concurrency, |n| n.get() as usize),
            log_json: self.log_json.or(file.log_json).unwrap_or(false),
            otlp_endpoint: self.otlp_endpoint.or(file.otlp_endpoint).filter(|e| !e.trim().is_empty()),
            github_api: self.github_api.or(file.github_api).unwrap_or_else(|| "https://api.github.com".into()),
            llm: file.llm,
            embeddings: file.embeddings,
        })
    }
}

impl StoreArgs {
    /// The store URL: PostgreSQL if given, else the SQLite file in the data directory.
    pub fn store_url(&self) -> Result<String> {
        let file = load_file(self.config.as_deref())?;
        if let Some(url) = self.database_url.clone().or(file.database_url) {
            return Ok(url);
        }
        let dir = self.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("data"));
        Ok(format!("sqlite://{}", dir.join("waooaw.db").display()))
    }
}
