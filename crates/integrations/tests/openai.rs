//! `OpenAiChat` against a local server speaking the Chat Completions wire format.

mod common;

use common::{Canned, FakeProvider, fixture, fixture_json, refused_origin, truncated};
use std::time::{Duration, Instant};
use waooaw_integrations::llm::{ChatMessage, ChatRequest, LlmConfig, LlmError, LlmProvider, OpenAiChat, OpenAiConfig};

const ROUTE: &str = "/v1/chat/completions";

fn client(origin: &str, api_key: Option<&str>, timeout: Duration) -> OpenAiChat {
    OpenAiChat::new(OpenAiConfig { base_url: format!("{origin}/v1"), api_key: api_key.map(str::to_owned), timeout }).unwrap()
}

fn request(json_output: bool) -> ChatRequest {
    ChatRequest {
        model: "gpt-4o-mini".into(),
        system: "You review pull requests. Answer with a JSON object: verdict, confidence, reason.".into(),
        messages: vec![ChatMessage::user("PR #42 edits docs/setup.md and docs/faq.md. Approve?")],
        max_tokens: 256,
        temperature: 0.0,
        json_output,
    }
}

async fn call(reply: Canned) -> (Result<waooaw_integrations::llm::ChatResponse, LlmError>, FakeProvider) {
    let server = FakeProvider::start(ROUTE, reply).await;
    let result = client(&server.origin, Some("sk-test-key"), Duration::from_secs(5)).complete(&request(true)).await;
    (result, server)
}

#[tokio::test]
async fn success_sends_the_chat_completions_request_and_reads_the_answer() {
    let (result, server) = call(Canned::json(200, fixture("openai_chat_completion.json"))).await;
    let response = result.unwrap();

    let expected = fixture_json("openai_chat_completion.json");
    assert_eq!(response.text, expected["choices"][0]["message"]["content"].as_str().unwrap());
    assert!(response.text.starts_with("{\"verdict\":\"approve\""));
    assert_eq!(response.model, "gpt-4o-mini-2024-07-18");
    assert_eq!((response.tokens_in, response.tokens_out), (412, 31));
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert_eq!(response.request_id.as_deref(), Some("chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"));

    let sent = server.only_request();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, ROUTE);
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test-key"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let body = sent.json();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["temperature"].as_f64(), Some(0.0));
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["response_format"], serde_json::json!({"type": "json_object"}));
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "system");
    assert!(messages[0]["content"].as_str().unwrap().starts_with("You review pull requests"));
    assert_eq!(messages[1], serde_json::json!({"role": "user", "content": "PR #42 edits docs/setup.md and docs/faq.md. Approve?"}));
}

#[tokio::test]
async fn keyless_ollama_from_config_sends_no_authorization_and_no_json_mode() {
    let server = FakeProvider::start(ROUTE, Canned::json(200, fixture("ollama_chat_completion.json"))).await;
    let config =
        LlmConfig::from_toml(&format!("provider = \"openai\"\nbase_url = \"{}/v1/\"\nmodel = \"llama3.2\"\n", server.origin)).unwrap();
    let provider = config.build_with_env(|_| None).unwrap();
    assert_eq!(provider.name(), "openai");

    let response = provider.complete(&ChatRequest { model: config.model.clone(), ..request(false) }).await.unwrap();
    assert_eq!(response.model, "llama3.2");
    assert_eq!((response.tokens_in, response.tokens_out), (87, 15));

    let sent = server.only_request();
    assert_eq!(sent.path, ROUTE, "a trailing slash on base_url must not double the slash");
    assert_eq!(sent.header("authorization"), None);
    let body = sent.json();
    assert_eq!(body["model"], "llama3.2");
    assert!(body.get("response_format").is_none());
}

#[tokio::test]
async fn unauthorized_surfaces_the_provider_message() {
    let (result, _server) = call(Canned::json(401, fixture("openai_error_401.json"))).await;
    let err = result.unwrap_err();
    let LlmError::Unauthorized { status: 401, message } = &err else { panic!("{err:?}") };
    assert!(message.contains("Incorrect API key provided"), "{message}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn rate_limited_carries_retry_after() {
    let reply = Canned::json(429, fixture("openai_error_429.json"))
        .header("retry-after", "7")
        .header("x-ratelimit-limit-requests", "3")
        .header("x-ratelimit-remaining-requests", "0")
        .header("x-ratelimit-reset-requests", "20s");
    let (result, _server) = call(reply).await;
    let err = result.unwrap_err();
    assert!(matches!(&err, LlmError::RateLimited { message, .. } if message.contains("Rate limit reached")), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn server_error_is_retryable() {
    let (result, _server) = call(Canned::json(500, fixture("openai_error_500.json"))).await;
    let err = result.unwrap_err();
    assert!(matches!(&err, LlmError::Server { status: 500, message } if message.contains("server_error")), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn bad_request_is_final() {
    let (result, _server) = call(Canned::json(400, fixture("openai_error_400.json"))).await;
    let err = result.unwrap_err();
    assert!(matches!(&err, LlmError::BadRequest { status: 400, message } if message.contains("maximum context length")), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn wrong_path_is_a_404_bad_request() {
    let server = FakeProvider::start(ROUTE, Canned::json(200, fixture("openai_chat_completion.json"))).await;
    // Forgot the `/v1` in base_url.
    let chat = OpenAiChat::new(OpenAiConfig { base_url: server.origin.clone(), api_key: None, timeout: Duration::from_secs(5) }).unwrap();
    let err = chat.complete(&request(true)).await.unwrap_err();
    assert!(matches!(&err, LlmError::BadRequest { status: 404, message } if message.contains("/chat/completions")), "{err:?}");
}

#[tokio::test]
async fn truncated_json_is_malformed() {
    let (result, _server) = call(Canned::json(200, truncated(&fixture("openai_chat_completion.json")))).await;
    let err = result.unwrap_err();
    assert!(matches!(&err, LlmError::Malformed(m) if m.contains("truncated")), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn html_page_with_success_status_is_malformed() {
    let (result, _server) = call(Canned::html(200, fixture("bad_gateway.html"))).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("not JSON") && m.contains("<html>")));
}

#[tokio::test]
async fn html_gateway_error_is_a_server_error_with_a_snippet() {
    let (result, _server) = call(Canned::html(502, fixture("bad_gateway.html"))).await;
    assert!(matches!(result, Err(LlmError::Server { status: 502, message }) if message.contains("502 Bad Gateway")));
}

#[tokio::test]
async fn missing_or_empty_choices_are_malformed() {
    let (result, _server) = call(Canned::json(200, fixture("openai_no_choices.json"))).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("choices")));

    let mut empty = fixture_json("openai_chat_completion.json");
    empty["choices"] = serde_json::json!([]);
    let (result, _server) = call(Canned::json(200, empty.to_string())).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("no choices")));
}

#[tokio::test]
async fn slow_server_times_out() {
    let reply = Canned::json(200, fixture("openai_chat_completion.json")).delayed(Duration::from_secs(3));
    let server = FakeProvider::start(ROUTE, reply).await;
    let started = Instant::now();
    let err = client(&server.origin, None, Duration::from_millis(200)).complete(&request(true)).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout);
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
    assert_eq!(server.requests().len(), 1, "the request did reach the server");
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let origin = refused_origin().await;
    let err = client(&origin, Some("sk-test-key"), Duration::from_secs(5)).complete(&request(true)).await.unwrap_err();
    assert!(matches!(&err, LlmError::Transport(m) if m.to_lowercase().contains("connection refused")), "{err:?}");
    assert!(err.is_retryable());
}
