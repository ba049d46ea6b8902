//! Budgets on the LLM tier through the real engine, a real SQLite store and a local server
//! speaking the OpenAI Chat Completions wire format: 50 concurrent decisions race for the last
//! of a daily token budget and the spend never passes it; the losers escalate, saying why.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use waooaw_decisions::{EmbedSource, Engine, EngineConfig, HashedNgramEmbedder, IndexConfig, LlmTier, SemanticMemory};
use waooaw_domain::{DecisionRequest, Instance, Method, Personality, Specialization, SummaryGroup, Tenant, TenantId, Urgency, Verdict};
use waooaw_integrations::llm::{ModelPrice, OpenAiChat, OpenAiConfig, PriceTable};

const SPEC: &str = r#"
id = "budgeted"
name = "Budgeted reviewer"
type = "specialist"
domain = "marketing"
version = "1.0.0"
responsibilities = ["Review campaign briefs"]
work = "test.noop"

[budget]
tokens_per_day = 12000
requests_per_minute = 1000
concurrent_llm_calls = 50

[wake]
subscriptions = ["file.*"]
"#;

/// Answers like a model, reporting usage the way a tokenizer would count this prompt.
async fn chat(State(calls): State<Arc<AtomicUsize>>, Json(body): Json<Value>) -> Json<Value> {
    calls.fetch_add(1, Ordering::SeqCst);
    let chars: usize = body["messages"].as_array().map_or(0, |m| m.iter().filter_map(|m| m["content"].as_str()).map(str::len).sum());
    tokio::time::sleep(Duration::from_millis(20)).await;
    Json(json!({
        "id": "chatcmpl-b1", "object": "chat.completion", "created": 1_732_400_000, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant",
            "content": "{\"verdict\":\"approve\",\"reason\":\"The brief is within policy\",\"confidence\":0.9,\"fields\":{}}"},
            "finish_reason": "stop"}],
        "usage": {"prompt_tokens": chars / 4, "completion_tokens": 40, "total_tokens": chars / 4 + 40}
    }))
}

const WORDS: [&str; 24] = [
    "loyalty",
    "webinar",
    "retargeting",
    "influencer",
    "giveaway",
    "newsletter",
    "podcast",
    "billboard",
    "affiliate",
    "referral",
    "sampling",
    "sponsorship",
    "coupon",
    "launch",
    "rebrand",
    "survey",
    "catalogue",
    "keynote",
    "tradeshow",
    "unboxing",
    "outdoor",
    "radio",
    "streaming",
    "festival",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_decisions_never_spend_past_the_budget() {
    race_for_the_last_of_a_budget(false).await;
}

/// The embedded default's in-memory ledger holds the same line, and the store catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_decisions_never_spend_past_an_in_memory_budget() {
    race_for_the_last_of_a_budget(true).await;
}

async fn race_for_the_last_of_a_budget(in_memory_budgets: bool) {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Router::new().route("/v1/chat/completions", post(chat)).with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let store = waooaw_store::connect(&format!("sqlite://{}", dir.path().join("b.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let tenant =
        Tenant { id: TenantId::new(), name: "Acme".into(), webhook_secret: "whsec-acme-0123456789".into(), created_at: chrono::Utc::now() };
    store.create_tenant(&tenant).await.unwrap();
    let spec = Arc::new(Specialization::from_toml("budgeted.toml", SPEC, &["test.noop"]).unwrap());
    let instance =
        Instance::on_trial(tenant.id, "budgeted", Personality { name: "Bea".into(), ..Default::default() }, chrono::Utc::now(), None);
    store.create_instance(&instance).await.unwrap();
    let memory =
        SemanticMemory::open(store.clone(), EmbedSource::Offline(HashedNgramEmbedder::new()), IndexConfig::default()).await.unwrap();
    let provider =
        OpenAiChat::new(OpenAiConfig { base_url: url, api_key: Some("sk-test".into()), timeout: Duration::from_secs(5) }).unwrap();
    let mut prices = PriceTable::new();
    prices.insert("gpt-4o-mini", ModelPrice::new(0.15, 0.60).unwrap());
    let llm = LlmTier { provider: Arc::new(provider), model: "gpt-4o-mini".into(), prices, max_tokens: 300 };
    let config = EngineConfig { in_memory_budgets, ..EngineConfig::default() };
    let engine = Arc::new(Engine::new(store.clone(), Arc::new(memory), Some(llm), config));

    let mut tasks = Vec::new();
    for i in 0..50 {
        let (engine, spec, instance) = (engine.clone(), spec.clone(), instance.clone());
        tasks.push(tokio::spawn(async move {
            // Fifty briefs with nothing in common, so none is answered from memory or cache.
            let topic: Vec<&str> = (0..6).map(|k| WORDS[(i * 7 + k * 5) % WORDS.len()]).collect();
            let request = DecisionRequest {
                tenant_id: instance.tenant_id,
                instance_id: instance.id,
                request_type: "brief.review".into(),
                context: json!({"brief": format!("Brief {i}: {} campaign for region {}", topic.join(" "), i * 31 % 97)}),
                urgency: Urgency::Normal,
            };
            waooaw_domain::Decider::make_decision(engine.as_ref(), &spec, &instance, request).await
        }));
    }
    let mut decided = Vec::new();
    for t in tasks {
        decided.push(t.await.unwrap());
    }
    engine.flush_log().await;

    let by_llm: Vec<_> = decided.iter().filter(|d| d.method == Method::Llm).collect();
    let refused: Vec<_> = decided.iter().filter(|d| d.reason.contains("budget of")).collect();
    let spent: u64 = by_llm.iter().map(|d| d.tokens_in + d.tokens_out).sum();
    println!("{} decided by the LLM ({spent} tokens), {} refused by the budget", by_llm.len(), refused.len());
    assert!(spent <= 12_000, "spent {spent} tokens of a 12,000 budget");
    assert!(!by_llm.is_empty() && by_llm.len() < 50, "some calls fit, not all: {}", by_llm.len());
    assert_eq!(calls.load(Ordering::SeqCst), by_llm.len(), "a refused call never reaches the model");
    assert_eq!(by_llm.len() + refused.len(), 50, "every other decision was refused by the budget");
    for d in &refused {
        assert_eq!(d.verdict, Verdict::Escalate);
        assert!(d.reason.contains("instance daily budget of 12000 tokens/day is spent"), "{}", d.reason);
    }
    // The decision log agrees with the ledger.
    let rows = store.decision_summary(Some(tenant.id), SummaryGroup::Instance, None).await.unwrap();
    let logged: i64 = rows.iter().filter(|r| r.method == Method::Llm).map(|r| r.tokens_in + r.tokens_out).sum();
    assert_eq!(logged as u64, spent);
    let now = chrono::Utc::now();
    let ledger =
        store.budget_ledger(tenant.id, &[(format!("instance:{}", instance.id), waooaw_decisions::budget::day(now))]).await.unwrap();
    assert_eq!((ledger[0].spent_tokens as u64, ledger[0].reserved_tokens), (spent, 0), "every reservation is settled");
}
