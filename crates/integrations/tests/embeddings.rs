//! `OpenAiEmbeddings` against a local server speaking the Embeddings API wire format.

mod common;

use common::{Canned, FakeProvider, fixture, fixture_json, refused_origin, truncated};
use std::time::Duration;
use waooaw_integrations::embeddings::{EmbeddingClient, OpenAiEmbeddings, OpenAiEmbeddingsConfig};
use waooaw_integrations::llm::LlmError;

const ROUTE: &str = "/v1/embeddings";

fn client(origin: &str, dimensions: Option<usize>, timeout: Duration) -> OpenAiEmbeddings {
    OpenAiEmbeddings::new(OpenAiEmbeddingsConfig {
        base_url: format!("{origin}/v1"),
        api_key: Some("sk-test-key".into()),
        model: "text-embedding-3-small".into(),
        timeout,
        dimensions,
    })
    .unwrap()
}

fn inputs() -> Vec<String> {
    vec!["Add retry with backoff to the webhook sender".into(), "Docs: explain the pause and resume commands".into()]
}

fn fixture_vectors(body: &serde_json::Value) -> Vec<Vec<f32>> {
    let mut data: Vec<&serde_json::Value> = body["data"].as_array().unwrap().iter().collect();
    data.sort_by_key(|d| d["index"].as_u64().unwrap());
    data.iter().map(|d| d["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()).collect()
}

async fn call(reply: Canned, dimensions: Option<usize>) -> (Result<waooaw_integrations::embeddings::Embedded, LlmError>, FakeProvider) {
    let server = FakeProvider::start(ROUTE, reply).await;
    let result = client(&server.origin, dimensions, Duration::from_secs(5)).embed(&inputs()).await;
    (result, server)
}

#[tokio::test]
async fn success_sends_model_and_inputs_and_returns_vectors_in_order() {
    let (result, server) = call(Canned::json(200, fixture("openai_embeddings.json")), Some(1536)).await;
    let embedded = result.unwrap();
    assert_eq!(embedded.vectors, fixture_vectors(&fixture_json("openai_embeddings.json")));
    assert_eq!(embedded.vectors.len(), 2);
    assert!(embedded.vectors.iter().all(|v| v.len() == 1536));
    assert_eq!(embedded.tokens, 14);
    assert_eq!(embedded.model, "text-embedding-3-small");

    let sent = server.only_request();
    assert_eq!(sent.path, ROUTE);
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test-key"));
    assert_eq!(sent.json(), serde_json::json!({"model": "text-embedding-3-small", "input": inputs()}));
}

#[tokio::test]
async fn vectors_are_ordered_by_index_not_by_position() {
    let mut body = fixture_json("openai_embeddings.json");
    body["data"].as_array_mut().unwrap().reverse();
    let (result, _server) = call(Canned::json(200, body.to_string()), None).await;
    let embedded = result.unwrap();
    let expected = fixture_vectors(&fixture_json("openai_embeddings.json"));
    assert_ne!(expected[0], expected[1]);
    assert_eq!(embedded.vectors, expected);
}

#[tokio::test]
async fn wrong_dimensions_or_count_are_malformed() {
    let (result, _server) = call(Canned::json(200, fixture("openai_embeddings.json")), Some(768)).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("1536") && m.contains("768")));

    let mut one = fixture_json("openai_embeddings.json");
    one["data"].as_array_mut().unwrap().truncate(1);
    let (result, _server) = call(Canned::json(200, one.to_string()), None).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("1 embeddings for 2 inputs")));
}

#[tokio::test]
async fn no_inputs_makes_no_request() {
    let server = FakeProvider::start(ROUTE, Canned::json(200, fixture("openai_embeddings.json"))).await;
    let embedded = client(&server.origin, Some(1536), Duration::from_secs(5)).embed(&[]).await.unwrap();
    assert!(embedded.vectors.is_empty());
    assert_eq!(embedded.tokens, 0);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn provider_errors_map_like_chat() {
    let (result, _server) = call(Canned::json(401, fixture("openai_error_401.json")), None).await;
    assert!(matches!(result, Err(LlmError::Unauthorized { status: 401, message }) if message.contains("Incorrect API key")));

    let (result, _server) = call(Canned::json(429, fixture("openai_error_429.json")).header("retry-after", "7"), None).await;
    let err = result.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.is_retryable());

    let (result, _server) = call(Canned::json(500, fixture("openai_error_500.json")), None).await;
    assert!(matches!(result, Err(LlmError::Server { status: 500, .. })));
}

#[tokio::test]
async fn truncated_and_non_json_bodies_are_malformed() {
    let (result, _server) = call(Canned::json(200, truncated(&fixture("openai_embeddings.json"))), None).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("truncated")));
    let (result, _server) = call(Canned::html(200, fixture("bad_gateway.html")), None).await;
    assert!(matches!(result, Err(LlmError::Malformed(m)) if m.contains("not JSON")));
}

#[tokio::test]
async fn slow_server_times_out_and_refused_connection_is_transport() {
    let server = FakeProvider::start(ROUTE, Canned::json(200, fixture("openai_embeddings.json")).delayed(Duration::from_secs(3))).await;
    let err = client(&server.origin, None, Duration::from_millis(200)).embed(&inputs()).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout);

    let err = client(&refused_origin().await, None, Duration::from_secs(5)).embed(&inputs()).await.unwrap_err();
    assert!(matches!(&err, LlmError::Transport(m) if m.to_lowercase().contains("connection refused")), "{err:?}");
}
