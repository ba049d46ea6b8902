//! The decision engine's LLM chain over real HTTP: a dead primary is skipped for the fallback,
//! its open breaker shows in `/readyz` without making the process unready, and when the whole
//! chain fails the decision escalates with every provider's reason.

mod common;

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use common::{TestApp, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use waooaw_integrations::llm::LlmConfig;

/// A local model speaking Chat Completions; `down` makes it answer 503.
#[derive(Default)]
struct Model {
    down: AtomicBool,
    calls: AtomicUsize,
}

async fn chat(State(model): State<Arc<Model>>, Json(body): Json<Value>) -> axum::response::Response {
    model.calls.fetch_add(1, Ordering::SeqCst);
    if model.down.load(Ordering::SeqCst) {
        let error = json!({"error": {"message": "overloaded", "type": "server_error", "param": null, "code": null}});
        return (AxumStatus::SERVICE_UNAVAILABLE, Json(error)).into_response();
    }
    let content = r#"{"verdict":"approve","reason":"Billing change with tests and docs","confidence":0.91}"#;
    Json(json!({
        "id": "chatcmpl-fallback1", "object": "chat.completion", "created": 1_732_400_000, "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940}
    }))
    .into_response()
}

async fn serve_model() -> (Arc<Model>, String) {
    let model = Arc::new(Model::default());
    let router = Router::new().route("/v1/chat/completions", post(chat)).with_state(model.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (model, format!("http://{addr}/v1"))
}

/// An address nothing listens on.
async fn dead_origin() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1")
}

fn config(primary: &str, fallback: &str) -> LlmConfig {
    LlmConfig::from_toml(&format!(
        r#"
        provider = "openai"
        base_url = "{primary}"
        model = "gpt-4o-mini"
        [prices."gpt-4o-mini"]
        input_usd_per_mtok = 0.15
        output_usd_per_mtok = 0.6
        [retry]
        max_attempts = 1
        [breaker]
        failure_threshold = 1
        open_ms = 60000
        [[fallback]]
        provider = "openai"
        base_url = "{fallback}"
        model = "llama3.1:8b"
        [fallback.prices."llama3.1:8b"]
        input_usd_per_mtok = 1.0
        output_usd_per_mtok = 2.0
        "#
    ))
    .unwrap()
}

async fn readyz(app: &TestApp) -> Value {
    let (status, body) = json_of(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "an LLM breaker never makes the process unready: {body}");
    assert_eq!(body["ready"], true, "{body}");
    body
}

fn states(ready: &Value) -> Vec<(String, String)> {
    ready["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["dependency"].as_str().unwrap().to_owned(), b["state"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_primary_falls_back_shows_open_in_readyz_and_a_dead_chain_escalates() {
    let (model, fallback_url) = serve_model().await;
    let primary_url = dead_origin().await;
    let app = TestApp::start_with_llm_config(&config(&primary_url, &fallback_url)).await;
    let primary = format!("llm:openai/gpt-4o-mini@{}", primary_url.trim_start_matches("http://").trim_end_matches("/v1"));
    let fallback = format!("llm:openai/llama3.1:8b@{}", fallback_url.trim_start_matches("http://").trim_end_matches("/v1"));

    let before = readyz(&app).await;
    // GitHub's breaker (outputs) is listed beside the chain's.
    let mut expected =
        vec![(primary.clone(), "closed".to_owned()), (fallback.clone(), "closed".to_owned()), ("github".to_owned(), "closed".to_owned())];
    expected.sort();
    assert_eq!(states(&before), expected);
    assert!(before["breakers"].as_array().unwrap().iter().all(|b| b["criticality"] == "degradable"), "{before}");

    let tenant = app.create_tenant("Acme Corp").await;
    let vera = app.create_wowvision(&tenant.id, "Vera").await;
    // Two requests of different types, so the second cannot be answered from the first's memory.
    let pr = |request_type: &str| {
        json!({"tenant_id": tenant.id, "instance_id": vera, "request_type": request_type,
            "context": {"number": 482, "title": "feat(billing): prorate plan changes", "files": ["src/billing/proration.rs"]}})
    };

    // The primary refuses connections: the fallback decides, priced at its own model's rate.
    let (status, d) = json_of(app.post_json("/v1/decisions", &pr("pr.review")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(
        (d["method"].as_str(), d["verdict"].as_str(), d["model"].as_str()),
        (Some("llm"), Some("approve"), Some("llama3.1:8b")),
        "{d}"
    );
    let cost = d["cost_usd"].as_f64().unwrap();
    assert!((cost - (900.0 * 1.0 + 40.0 * 2.0) / 1e6).abs() < 1e-12, "{d}");

    let after = readyz(&app).await;
    let open = after["breakers"].as_array().unwrap().iter().find(|b| b["dependency"] == primary.as_str()).unwrap().clone();
    assert_eq!(open["state"], "open", "{after}");
    assert!(open["probes_in_ms"].as_u64().unwrap() > 50_000, "{open}");
    assert!(states(&after).contains(&(fallback.clone(), "closed".to_owned())), "{after}");

    // The fallback goes down too: the decision escalates, saying why for each provider.
    model.down.store(true, Ordering::SeqCst);
    let (status, d) = json_of(app.post_json("/v1/decisions", &pr("release.plan")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!((d["method"].as_str(), d["verdict"].as_str()), (Some("fallback"), Some("escalate")), "{d}");
    let reason = d["reason"].as_str().unwrap();
    assert!(reason.contains("all 2 providers of the chain failed"), "{reason}");
    assert!(reason.contains(&format!("{primary}: circuit breaker open")), "{reason}");
    assert!(reason.contains("HTTP 503"), "{reason}");
    assert_eq!(model.calls.load(Ordering::SeqCst), 2);
    assert!(states(&readyz(&app).await).iter().filter(|(d, _)| d.starts_with("llm:")).all(|(_, s)| s == "open"));
}
