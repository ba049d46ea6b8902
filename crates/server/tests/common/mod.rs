//! Test harness: the server built the way the binary builds it (SQLite store in a temp dir,
//! in-process bus, the repository's catalog, the real agents), served on a real socket and
//! driven over HTTP with reqwest.

#![allow(dead_code)]

use chrono::Utc;
use hmac::{Hmac, Mac};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use waooaw_integrations::llm::{FallbackChain, LlmConfig};
use waooaw_integrations::resilience::BreakerRegistry;
use waooaw_runtime::{Catalog, Runtime, RuntimeConfig};
use waooaw_server::AppState;

pub const ADMIN_TOKEN: &str = "test-token";
pub const BODY_LIMIT: usize = 64 * 1024;
/// The key GitHub tokens are sealed with in tests.
pub const TEST_MASTER_KEY: &str = "5d2c8e1a7f3b9d4c6e0a2f8b1d7c3e9a4f6b0d2e8c1a7f3b5d9e4c6a0f2b8d1e";
/// How long an asynchronous effect may take before a test gives up on it.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub runtime: Arc<Runtime>,
    pub breakers: BreakerRegistry,
    /// The SQLite file behind the app (tests read its raw bytes).
    pub db_path: std::path::PathBuf,
    server: JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub struct Tenant {
    pub id: String,
    pub secret: String,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with_llm(None).await
    }

    /// With `llm_base` (an OpenAI-compatible `/v1` URL), the engine has an LLM tier.
    pub async fn start_with_llm(llm_base: Option<String>) -> Self {
        let llm = llm_base.map(|base_url| {
            use waooaw_integrations::llm::{ModelPrice, OpenAiChat, OpenAiConfig, PriceTable};
            let provider = OpenAiChat::new(OpenAiConfig { base_url, api_key: Some("sk-test".into()), timeout: Duration::from_secs(5) })
                .expect("client");
            let mut prices = PriceTable::new();
            prices.insert("gpt-4o-mini", ModelPrice::new(0.15, 0.60).expect("price"));
            waooaw_decisions::LlmTier { provider: Arc::new(provider), model: "gpt-4o-mini".into(), prices, max_tokens: 400 }
        });
        Self::start_with_tier(llm, BreakerRegistry::new()).await
    }

    /// The LLM tier built as `serve` builds it: the `[llm]` chain with retries and breakers.
    pub async fn start_with_llm_config(config: &LlmConfig) -> Self {
        let breakers = BreakerRegistry::new();
        let chain = FallbackChain::from_config_with_env(config, &breakers, |_| None).expect("a valid chain");
        let prices = chain.prices().clone();
        let tier = waooaw_decisions::LlmTier { provider: Arc::new(chain), model: config.model.clone(), prices, max_tokens: 400 };
        Self::start_with_tier(Some(tier), breakers).await
    }

    async fn start_with_tier(llm: Option<waooaw_decisions::LlmTier>, breakers: BreakerRegistry) -> Self {
        Self::start_full(llm, breakers, None).await
    }

    /// On a given store and bus (PostgreSQL and Redis, say) instead of SQLite and in-process.
    pub async fn start_on(store: waooaw_store::DynStore, bus: waooaw_bus::DynBus) -> Self {
        Self::start_full(None, BreakerRegistry::new(), Some((store, bus))).await
    }

    async fn start_full(
        llm: Option<waooaw_decisions::LlmTier>,
        breakers: BreakerRegistry,
        deployment: Option<(waooaw_store::DynStore, waooaw_bus::DynBus)>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, bus) = match deployment {
            Some(d) => d,
            None => {
                let store =
                    waooaw_store::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.expect("open the SQLite store");
                store.migrate().await.expect("migrate");
                let bus: waooaw_bus::DynBus = Arc::new(waooaw_bus::InProcessBus::new());
                (store, bus)
            }
        };
        let work = waooaw_agents::registry();
        let catalog_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
        let catalog = Catalog::load_dir(&catalog_dir, &work.names()).expect("load the catalog");
        let memory = waooaw_decisions::SemanticMemory::open(
            store.clone(),
            waooaw_decisions::EmbedSource::Offline(waooaw_decisions::HashedNgramEmbedder::new()),
            waooaw_decisions::IndexConfig::default(),
        )
        .await
        .expect("memory index");
        let engine = Arc::new(waooaw_decisions::Engine::new(store.clone(), Arc::new(memory), llm, Default::default()));
        let decider: Arc<dyn waooaw_domain::Decider> = engine.clone();
        // Short task leases, so a test sees an expired one reclaimed.
        let config = RuntimeConfig {
            task_lease: Duration::from_secs(3),
            task_reap_interval: Duration::from_millis(100),
            ..RuntimeConfig::default()
        };
        let runtime = Runtime::start(config, store, bus, Arc::new(catalog), work, None, Some(decider)).await.expect("start the runtime");
        let state = AppState {
            runtime: runtime.clone(),
            admin_token: ADMIN_TOKEN.into(),
            body_limit: BODY_LIMIT,
            metrics: None,
            started_at: Utc::now(),
            engine: Some(engine),
            breakers: breakers.clone(),
            github: Some(waooaw_server::github_outbox::GithubOutputs::new(
                waooaw_integrations::secrets::MasterKey::from_hex(TEST_MASTER_KEY).expect("key"),
                "http://127.0.0.1:9",
                &breakers,
            )),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(waooaw_server::serve(listener, state, std::future::pending()));
        let client = Client::builder().timeout(Duration::from_secs(10)).build().expect("reqwest client");
        let db_path = dir.path().join("t.db");
        Self { base: format!("http://{addr}"), client, runtime, breakers, db_path, server, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A GET with the admin token.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(ADMIN_TOKEN)
    }

    /// A POST with the admin token and no body.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(ADMIN_TOKEN)
    }

    /// A POST with the admin token and a JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> RequestBuilder {
        self.post(path).json(body)
    }

    /// A POST with the admin token and raw bytes sent as `application/json`.
    pub fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> RequestBuilder {
        self.post(path).header("content-type", "application/json").body(body)
    }

    pub async fn create_tenant(&self, name: &str) -> Tenant {
        let (status, body) = json_of(self.post_json("/v1/tenants", &json!({"name": name})).send().await.expect("POST /v1/tenants")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let secret = body["webhook_secret"].as_str().expect("webhook_secret is returned at creation").to_owned();
        Tenant { id: body["id"].as_str().expect("tenant id").to_owned(), secret }
    }

    /// Hires a WowVision Prime for `tenant`; returns the instance id.
    pub async fn create_wowvision(&self, tenant: &str, name: &str) -> String {
        let req = json!({"tenant_id": tenant, "specialization_id": "wowvision-prime", "name": name, "tone": "direct"});
        let (status, body) = json_of(self.post_json("/v1/instances", &req).send().await.expect("POST /v1/instances")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "trial", "{body}");
        body["id"].as_str().expect("instance id").to_owned()
    }

    /// Publishes an event through the API; returns the 202 body.
    pub async fn publish(&self, event: &Value) -> Value {
        let (status, body) = json_of(self.post_json("/v1/events", event).send().await.expect("POST /v1/events")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        body
    }

    pub async fn publish_file_event(&self, tenant: &str, ty: &str, path: &str) -> String {
        let body = self.publish(&json!({"type": ty, "source": "test", "tenant_id": tenant, "payload": {"path": path}})).await;
        body["id"].as_str().expect("event id").to_owned()
    }

    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        json_of(self.get(path).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"))).await
    }

    pub async fn event(&self, tenant: &str, id: &str) -> Value {
        let (status, body) = self.get_json(&format!("/v1/events/{id}?tenant_id={tenant}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Polls the event until it is dispatched (routed and every wake finished).
    pub async fn wait_dispatched(&self, tenant: &str, id: &str) -> Value {
        eventually(&format!("event {id} dispatched"), || async {
            let e = self.event(tenant, id).await;
            (e["status"] == "dispatched").then_some(e)
        })
        .await
    }

    pub async fn instance(&self, tenant: &str, id: &str) -> Value {
        let (status, body) = self.get_json(&format!("/v1/instances/{id}?tenant_id={tenant}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn instance_count(&self, tenant: &str) -> usize {
        let (status, body) = self.get_json(&format!("/v1/instances?tenant_id={tenant}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["instances"].as_array().expect("instances array").len()
    }

    pub async fn tenant_count(&self) -> usize {
        let (status, body) = self.get_json("/v1/tenants").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["tenants"].as_array().expect("tenants array").len()
    }

    pub async fn dead_letters(&self, tenant: &str) -> Vec<Value> {
        let (status, body) = self.get_json(&format!("/v1/dead-letters?tenant_id={tenant}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["dead_letters"].as_array().expect("dead_letters array").clone()
    }

    /// Proves that nothing woke `instance` since its wake count was `wakes_before`: publishes a
    /// watched sentinel event and, once it is dispatched (events are routed in order, so anything
    /// accepted earlier has been handled by then), expects exactly one more wake.
    pub async fn assert_no_wakes_since(&self, tenant: &str, instance: &str, wakes_before: i64) {
        let id = self.publish_file_event(tenant, "file.modified", "docs/sentinel.md").await;
        let e = self.wait_dispatched(tenant, &id).await;
        assert_eq!(e["deliveries"].as_array().map(Vec::len), Some(1), "{e}");
        let i = self.instance(tenant, instance).await;
        assert_eq!(i["wake_count"], wakes_before + 1, "a rejected request woke the instance: {i}");
    }

    /// Sends a signed GitHub delivery for `tenant`.
    pub async fn github(&self, tenant: &str, secret: &str, event: &str, body: &[u8]) -> Response {
        self.client
            .post(self.url(&format!("/v1/webhooks/github/{tenant}")))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", uuid::Uuid::new_v4().to_string())
            .header("x-hub-signature-256", sign(secret.as_bytes(), body))
            .header("user-agent", "GitHub-Hookshot/5f3ae4e")
            .body(body.to_vec())
            .send()
            .await
            .expect("POST webhook")
    }
}

/// Status and JSON body of a response (panics if the body is not JSON).
pub async fn json_of(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text:?}"));
    (status, body)
}

/// Asserts an error response: its status, `error.code`, and a message; returns the message.
pub async fn expect_error(resp: Response, status: StatusCode, code: &str) -> String {
    let (got, body) = json_of(resp).await;
    assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{body}");
    let message = body["error"]["message"].as_str().expect("error.message").to_owned();
    assert!(!message.is_empty(), "{body}");
    message
}

/// Polls `probe` until it yields a value, failing the test after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {DEADLINE:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `sha256=<hex>` of HMAC-SHA256 over the exact bytes, as GitHub computes it.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A fixture's raw bytes (signatures are over the bytes as sent).
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap_or_else(|e| panic!("fixture {name} is not JSON: {e}"))
}
