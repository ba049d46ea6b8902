//! Retries, breakers and fallback chains against a local fault-injecting server speaking the
//! Chat Completions (and Embeddings) wire format: real HTTP clients, real timeouts, real waits.

mod common;

use common::{Canned, FakeProvider, fixture};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use waooaw_integrations::embeddings::{EmbeddingClient, EmbeddingsConfig};
use waooaw_integrations::llm::{ChatMessage, ChatRequest, FallbackChain, LlmConfig, LlmError, LlmProvider, OpenAiChat, OpenAiConfig};
use waooaw_integrations::resilience::{BreakerPolicy, BreakerRegistry, BreakerState, CircuitBreaker, Resilient, RetryPolicy};

const CHAT: &str = "/v1/chat/completions";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ok() -> Canned {
    Canned::json(200, fixture("openai_chat_completion.json"))
}

fn server_error() -> Canned {
    Canned::json(500, fixture("openai_error_500.json"))
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o-mini".into(),
        system: "Answer with a JSON object.".into(),
        messages: vec![ChatMessage::user("Approve PR #7?")],
        max_tokens: 64,
        temperature: 0.0,
        json_output: true,
    }
}

fn retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::new(max_attempts, ms(10), ms(40), Duration::from_secs(5)).unwrap()
}

/// A breaker that never opens, for tests about retries alone.
fn lenient() -> Arc<CircuitBreaker> {
    Arc::new(CircuitBreaker::new("llm:test/lenient", BreakerPolicy::new(Duration::from_secs(60), 1000, None, 1, ms(10), 1).unwrap()))
}

fn resilient(server: &FakeProvider, timeout: Duration, retry: RetryPolicy, breaker: Arc<CircuitBreaker>) -> Resilient<dyn LlmProvider> {
    let client = OpenAiChat::new(OpenAiConfig { base_url: format!("{}/v1", server.origin), api_key: None, timeout }).unwrap();
    Resilient::new(Box::new(client), retry, breaker)
}

#[tokio::test]
async fn server_errors_then_success_are_retried_until_it_answers() {
    let server = FakeProvider::scripted(CHAT, vec![server_error(), Canned::html(502, fixture("bad_gateway.html")), ok()]).await;
    let response = resilient(&server, Duration::from_secs(5), retry(3), lenient()).complete(&request()).await.unwrap();
    assert_eq!(response.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(server.requests().len(), 3);

    // One attempt fewer than the faults: the last error comes back.
    let server = FakeProvider::scripted(CHAT, vec![server_error(), server_error(), ok()]).await;
    let err = resilient(&server, Duration::from_secs(5), retry(2), lenient()).complete(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::Server { status: 500, .. }), "{err:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_provider_slower_than_the_timeout_is_retried() {
    let server = FakeProvider::scripted(CHAT, vec![ok().delayed(Duration::from_secs(3)), ok()]).await;
    let started = Instant::now();
    let response = resilient(&server, ms(300), retry(2), lenient()).complete(&request()).await.unwrap();
    assert_eq!(response.tokens_in, 412);
    assert_eq!(server.requests().len(), 2);
    assert!(started.elapsed() < Duration::from_secs(2), "the slow answer was not awaited: {:?}", started.elapsed());

    let server = FakeProvider::start(CHAT, ok().delayed(Duration::from_secs(3))).await;
    let err = resilient(&server, ms(200), retry(2), lenient()).complete(&request()).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_429_waits_for_retry_after_in_seconds_and_as_a_date() {
    let limited = || Canned::json(429, fixture("openai_error_429.json"));
    let server = FakeProvider::scripted(CHAT, vec![limited().header("retry-after", "1"), ok()]).await;
    resilient(&server, Duration::from_secs(5), retry(3), lenient()).complete(&request()).await.unwrap();
    let sent = server.requests();
    assert_eq!(sent.len(), 2, "one 429, one success");
    let waited = sent[1].at - sent[0].at;
    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");

    // An HTTP date two seconds ahead: at least one second remains whatever the rounding.
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let server = FakeProvider::scripted(CHAT, vec![limited().header("retry-after", date), ok()]).await;
    resilient(&server, Duration::from_secs(5), retry(3), lenient()).complete(&request()).await.unwrap();
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert!(sent[1].at - sent[0].at >= Duration::from_secs(1), "waited only {:?}", sent[1].at - sent[0].at);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_and_a_400_are_not_retried() {
    let server =
        FakeProvider::scripted(CHAT, vec![Canned::json(429, fixture("openai_error_429.json")).header("retry-after", "120"), ok()]).await;
    let started = Instant::now();
    let err = resilient(&server, Duration::from_secs(5), retry(5), lenient()).complete(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(120)), "{err:?}");
    assert_eq!(server.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));

    let server = FakeProvider::scripted(CHAT, vec![Canned::json(400, fixture("openai_error_400.json")), ok()]).await;
    let err = resilient(&server, Duration::from_secs(5), retry(5), lenient()).complete(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::BadRequest { status: 400, .. }), "{err:?}");
    assert_eq!(server.requests().len(), 1, "a 400 is final");
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_probes_and_closes_as_the_server_fails_and_recovers() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let server = FakeProvider::start(CHAT, server_error()).await;
    let registry = BreakerRegistry::new();
    let policy = BreakerPolicy::new(Duration::from_secs(10), 2, None, 1, ms(300), 1).unwrap();
    let breaker = registry.breaker("llm:test/flaky", policy, waooaw_integrations::resilience::Criticality::Degradable);
    let provider = resilient(&server, Duration::from_secs(5), RetryPolicy::none(), breaker.clone());
    let state = || registry.report()[0].snapshot.state;

    // Closed: two failures reach the server and open the breaker.
    for _ in 0..2 {
        assert!(matches!(provider.complete(&request()).await, Err(LlmError::Server { .. })));
    }
    assert_eq!(state(), BreakerState::Open);
    // Open: refused at once, the server sees nothing.
    let started = Instant::now();
    assert_eq!(provider.complete(&request()).await.unwrap_err(), LlmError::CircuitOpen { dependency: "llm:test/flaky".into() });
    assert!(started.elapsed() < ms(50));
    assert_eq!(server.requests().len(), 2);

    // Half-open while still failing: the probe reaches the server, fails, and reopens it.
    tokio::time::sleep(ms(320)).await;
    assert_eq!(state(), BreakerState::HalfOpen);
    assert!(matches!(provider.complete(&request()).await, Err(LlmError::Server { .. })));
    assert_eq!(state(), BreakerState::Open);
    assert_eq!(server.requests().len(), 3);

    // The server recovers; after the open period one probe succeeds and closes the breaker.
    server.rescript(vec![ok()]);
    tokio::time::sleep(ms(320)).await;
    assert_eq!(provider.complete(&request()).await.unwrap().tokens_out, 31);
    assert_eq!(state(), BreakerState::Closed);
    assert_eq!(server.requests().len(), 4);

    let text = metrics.render();
    let dep = "dependency=\"llm:test/flaky\"";
    assert!(text.contains(&format!("waooaw_circuit_breaker_state{{{dep}}} 0")), "{text}");
    for (from, to, n) in [("closed", "open", 1), ("open", "half_open", 2), ("half_open", "open", 1), ("half_open", "closed", 1)] {
        let line = format!("waooaw_circuit_breaker_transitions_total{{{dep},from=\"{from}\",to=\"{to}\"}} {n}");
        assert!(text.contains(&line), "missing {line} in\n{text}");
    }
    assert!(text.contains(&format!("waooaw_circuit_breaker_rejected_total{{{dep}}} 1")), "{text}");
}

fn chain_config(primary: &FakeProvider, fallback: &FakeProvider) -> LlmConfig {
    LlmConfig::from_toml(&format!(
        r#"
        provider = "openai"
        base_url = "{}/v1"
        model = "gpt-4o-mini"
        timeout_ms = 2000
        [prices."gpt-4o-mini"]
        input_usd_per_mtok = 0.15
        output_usd_per_mtok = 0.6
        [retry]
        max_attempts = 2
        base_ms = 5
        max_ms = 20
        [breaker]
        failure_threshold = 4
        open_ms = 60000
        [[fallback]]
        provider = "openai"
        base_url = "{}/v1"
        model = "llama3.2"
        [fallback.prices."llama3.2"]
        input_usd_per_mtok = 0.0
        output_usd_per_mtok = 0.0
        "#,
        primary.origin, fallback.origin
    ))
    .unwrap()
}

#[tokio::test]
async fn the_chain_falls_back_to_the_next_provider_and_skips_an_open_breaker() {
    let primary = FakeProvider::start(CHAT, server_error()).await;
    let fallback = FakeProvider::start(CHAT, Canned::json(200, fixture("ollama_chat_completion.json"))).await;
    let registry = BreakerRegistry::new();
    let chain = FallbackChain::from_config_with_env(&chain_config(&primary, &fallback), &registry, |_| None).unwrap();
    assert_eq!(chain.name(), "openai>openai");
    assert!(chain.prices().get("gpt-4o-mini").is_some() && chain.prices().get("llama3.2").is_some());

    let response = chain.complete(&request()).await.unwrap();
    assert_eq!(response.model, "llama3.2");
    assert_eq!(primary.requests().len(), 2, "the primary is retried first");
    let sent = fallback.only_request();
    assert_eq!(sent.json()["model"], "llama3.2", "each entry asks for its own model");

    // Two more failed calls (two attempts each) open the primary's breaker; from then on the
    // chain goes straight to the fallback without touching the primary.
    chain.complete(&request()).await.unwrap();
    let primary_dep = chain.dependencies().next().unwrap().to_owned();
    assert_eq!(registry.get(&primary_dep).unwrap().state(), BreakerState::Open);
    assert_eq!(primary.requests().len(), 4);
    chain.complete(&request()).await.unwrap();
    assert_eq!(primary.requests().len(), 4, "an open breaker costs no network call");
    assert_eq!(fallback.requests().len(), 3);
}

#[tokio::test]
async fn when_every_provider_fails_the_chain_says_why_for_each() {
    let primary = FakeProvider::start(CHAT, server_error()).await;
    let fallback = FakeProvider::start(CHAT, Canned::json(401, fixture("openai_error_401.json"))).await;
    let chain = FallbackChain::from_config_with_env(&chain_config(&primary, &fallback), &BreakerRegistry::new(), |_| None).unwrap();
    let LlmError::ChainExhausted(failures) = chain.complete(&request()).await.unwrap_err() else {
        panic!("expected ChainExhausted");
    };
    let deps: Vec<String> = chain.dependencies().map(str::to_owned).collect();
    assert_eq!(failures.iter().map(|f| f.dependency.clone()).collect::<Vec<_>>(), deps);
    assert!(matches!(failures[0].error, LlmError::Server { status: 500, .. }));
    assert!(matches!(failures[1].error, LlmError::Unauthorized { status: 401, .. }));
    assert_eq!((primary.requests().len(), fallback.requests().len()), (2, 1), "a 401 is not retried");
    let message = LlmError::ChainExhausted(failures).to_string();
    assert!(message.starts_with("all 2 providers of the chain failed"), "{message}");
    assert!(message.contains(&deps[1]), "{message}");
}

#[tokio::test]
async fn embeddings_are_retried_behind_their_breaker() {
    let server = FakeProvider::scripted(
        "/v1/embeddings",
        vec![Canned::json(503, fixture("openai_error_500.json")), Canned::json(200, fixture("openai_embeddings.json"))],
    )
    .await;
    let config: EmbeddingsConfig = toml::from_str(&format!(
        "base_url = \"{}/v1\"\nmodel = \"text-embedding-3-small\"\n[retry]\nmax_attempts = 2\nbase_ms = 5\nmax_ms = 10\n",
        server.origin
    ))
    .unwrap();
    let registry = BreakerRegistry::new();
    let client = config.build_resilient(&registry).unwrap();
    assert_eq!(client.dependency(), format!("embeddings:text-embedding-3-small@{}", server.origin.trim_start_matches("http://")));
    let inputs = vec!["Add retry with backoff to the webhook sender".to_owned(), "Docs: explain the pause and resume commands".to_owned()];
    let embedded = client.embed(&inputs).await.unwrap();
    assert_eq!(embedded.vectors.len(), 2);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(registry.report()[0].snapshot.window_failures, 1);
}
