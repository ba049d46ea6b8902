//! `AnthropicMessages` against a local server speaking the Messages API wire format.

mod common;

use common::{Canned, FakeProvider, fixture, fixture_json, refused_origin, truncated};
use std::time::{Duration, Instant};
use waooaw_integrations::llm::{
    AnthropicConfig, AnthropicMessages, ChatMessage, ChatRequest, ChatResponse, LlmConfig, LlmError, LlmProvider,
};

const ROUTE: &str = "/v1/messages";
const KEY: &str = "sk-ant-api03-test-key";

fn client(origin: &str, timeout: Duration) -> AnthropicMessages {
    AnthropicMessages::new(AnthropicConfig { base_url: origin.to_owned(), timeout, ..AnthropicConfig::new(KEY) }).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "claude-3-5-haiku-20241022".into(),
        system: "You review pull requests. Answer with a JSON object: verdict, confidence, reason.".into(),
        messages: vec![
            ChatMessage::user("PR #7 edits .github/workflows/release.yml. Approve?"),
            ChatMessage::assistant("{\"verdict\":"),
            ChatMessage::user("Finish the object."),
        ],
        max_tokens: 300,
        temperature: 0.0,
        json_output: true,
    }
}

async fn call(reply: Canned) -> (Result<ChatResponse, LlmError>, FakeProvider) {
    let server = FakeProvider::start(ROUTE, reply).await;
    let result = client(&server.origin, Duration::from_secs(5)).complete(&request()).await;
    (result, server)
}

#[tokio::test]
async fn success_sends_the_messages_request_and_reads_the_answer() {
    let (result, server) = call(Canned::json(200, fixture("anthropic_message.json"))).await;
    let response = result.unwrap();

    let expected = fixture_json("anthropic_message.json");
    assert_eq!(response.text, expected["content"][0]["text"].as_str().unwrap());
    assert!(response.text.starts_with("{\"verdict\":\"escalate\""));
    assert_eq!(response.model, "claude-3-5-haiku-20241022");
    assert_eq!((response.tokens_in, response.tokens_out), (398, 44));
    assert_eq!(response.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(response.request_id.as_deref(), Some("msg_01XFDUDYJgAACzvnptvVoYEL"));

    let sent = server.only_request();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, ROUTE);
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None, "Anthropic authenticates with x-api-key only");
    let body = sent.json();
    assert_eq!(body["model"], "claude-3-5-haiku-20241022");
    assert_eq!(body["max_tokens"], 300);
    assert_eq!(body["temperature"].as_f64(), Some(0.0));
    assert!(body["system"].as_str().unwrap().starts_with("You review pull requests"));
    assert!(body.get("response_format").is_none(), "the Messages API has no response_format");
    let messages = body["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "user"], "the system prompt is not a message");
    assert_eq!(messages[0]["content"], "PR #7 edits .github/workflows/release.yml. Approve?");
}

#[tokio::test]
async fn built_from_config_reads_the_key_from_the_named_variable() {
    let server = FakeProvider::start(ROUTE, Canned::json(200, fixture("anthropic_message.json"))).await;
    let toml = format!(
        "provider = \"anthropic\"\nbase_url = \"{}\"\napi_key_env = \"WAOOAW_TEST_ANTHROPIC_KEY\"\nmodel = \"claude-3-5-haiku-20241022\"\n\n\
         [prices.\"claude-3-5-haiku-20241022\"]\ninput_usd_per_mtok = 0.8\noutput_usd_per_mtok = 4.0\n",
        server.origin
    );
    let config = LlmConfig::from_toml(&toml).unwrap();
    let provider = config.build_with_env(|var| (var == "WAOOAW_TEST_ANTHROPIC_KEY").then(|| "sk-ant-from-env".to_owned())).unwrap();
    assert_eq!(provider.name(), "anthropic");

    let response = provider.complete(&request()).await.unwrap();
    assert_eq!(server.only_request().header("x-api-key"), Some("sk-ant-from-env"));
    let cost = config.prices.cost_usd(&response.model, response.tokens_in, response.tokens_out).unwrap();
    assert!((cost - (398.0 * 0.8 + 44.0 * 4.0) / 1e6).abs() < 1e-12, "{cost}");
}

#[tokio::test]
async fn unauthorized_surfaces_the_provider_message() {
    let (result, _server) =
        call(Canned::json(401, fixture("anthropic_error_401.json")).header("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")).await;
    let err = result.unwrap_err();
    assert_eq!(err, LlmError::Unauthorized { status: 401, message: "authentication_error: invalid x-api-key".into() });
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn rate_limited_carries_retry_after() {
    let reply = Canned::json(429, fixture("anthropic_error_429.json"))
        .header("retry-after", "7")
        .header("anthropic-ratelimit-input-tokens-limit", "50")
        .header("anthropic-ratelimit-input-tokens-remaining", "0")
        .header("anthropic-ratelimit-input-tokens-reset", "2025-05-21T10:15:07Z");
    let (result, _server) = call(reply).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, LlmError::RateLimited { message, .. } if message.starts_with("rate_limit_error: This request would exceed")),
        "{err:?}"
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn internal_error_is_retryable() {
    let (result, _server) = call(Canned::json(500, fixture("anthropic_error_500.json"))).await;
    let err = result.unwrap_err();
    assert_eq!(err, LlmError::Server { status: 500, message: "api_error: Internal server error".into() });
    assert!(err.is_retryable());
}

#[tokio::test]
async fn overloaded_529_is_retryable() {
    let (result, _server) = call(Canned::json(529, fixture("anthropic_error_529.json"))).await;
    let err = result.unwrap_err();
    assert_eq!(err, LlmError::Server { status: 529, message: "overloaded_error: Overloaded".into() });
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), None);
}

#[tokio::test]
async fn truncated_json_is_malformed() {
    let (result, _server) = call(Canned::json(200, truncated(&fixture("anthropic_message.json")))).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("truncated")));
}

#[tokio::test]
async fn html_body_is_malformed() {
    let (result, _server) = call(Canned::html(200, fixture("bad_gateway.html"))).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("not JSON")));
}

#[tokio::test]
async fn missing_or_textless_content_is_malformed() {
    let (result, _server) = call(Canned::json(200, fixture("anthropic_no_content.json"))).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("content")));

    let mut empty = fixture_json("anthropic_message.json");
    empty["content"] = serde_json::json!([]);
    let (result, _server) = call(Canned::json(200, empty.to_string())).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("no text content")));
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = FakeProvider::start(ROUTE, Canned::json(200, fixture("anthropic_message.json")).delayed(Duration::from_secs(3))).await;
    let started = Instant::now();
    let err = client(&server.origin, Duration::from_millis(200)).complete(&request()).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let err = client(&refused_origin().await, Duration::from_secs(5)).complete(&request()).await.unwrap_err();
    assert!(matches!(&err, LlmError::Transport(m) if m.to_lowercase().contains("connection refused")), "{err:?}");
    assert!(err.is_retryable());
}
