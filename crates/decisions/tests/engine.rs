//! The engine end to end on a real SQLite store, with a local HTTP server speaking the OpenAI
//! Chat Completions wire format as the LLM.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waooaw_decisions::{EmbedSource, Engine, EngineConfig, HashedNgramEmbedder, IndexConfig, LlmTier, SemanticMemory};
use waooaw_domain::{
    DecisionRequest, EscalationStatus, HumanAnswer, Instance, Method, Personality, Specialization, Tenant, TenantId, Urgency, Verdict,
};
use waooaw_integrations::llm::{ModelPrice, OpenAiChat, OpenAiConfig, PriceTable};
use waooaw_store::DynStore;

const SPEC: &str = r#"
id = "content-review"
name = "Content Marketing (healthcare)"
type = "specialist"
domain = "marketing"
version = "1.0.0"
responsibilities = ["Review healthcare marketing drafts for compliance"]
work = "test.noop"

[[constraints]]
action = "publish_without_review"
reason = "Healthcare content is published only after a compliance review."

[[rules]]
id = "reject-cure-claims"
applies_to = ["content.compliance"]
outcome = "reject"
reason = "Claims such as 'cure' or 'guaranteed' need clinical substantiation"
confidence = 0.98
[rules.when]
field = "text"
contains_any = ["cure", "cures", "guaranteed"]

[[rules]]
id = "short-drafts-look-fine"
applies_to = ["content.compliance"]
outcome = "approve"
reason = "Short drafts rarely carry claims"
confidence = 0.6
[rules.when]
field = "text"
max_len = 200

[wake]
subscriptions = ["file.*"]
"#;

/// What the fake model answers next, and what it was asked.
#[derive(Default)]
struct Model {
    answer: Mutex<String>,
    calls: AtomicUsize,
    last_body: Mutex<Value>,
}

async fn chat(State(model): State<Arc<Model>>, Json(body): Json<Value>) -> Json<Value> {
    model.calls.fetch_add(1, Ordering::SeqCst);
    *model.last_body.lock().unwrap() = body;
    let content = model.answer.lock().unwrap().clone();
    Json(json!({
        "id": "chatcmpl-9x7Qm2", "object": "chat.completion", "created": 1_732_400_000, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280}
    }))
}

async fn model_server() -> (Arc<Model>, String) {
    let model = Arc::new(Model::default());
    let app = Router::new().route("/v1/chat/completions", post(chat)).with_state(model.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (model, format!("http://{addr}/v1"))
}

struct World {
    store: DynStore,
    spec: Specialization,
    instance: Instance,
}

async fn world(dir: &tempfile::TempDir) -> World {
    let store = waooaw_store::connect(&format!("sqlite://{}", dir.path().join("w.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = Tenant {
        id: TenantId::new(),
        name: "Acme Health".into(),
        webhook_secret: "whsec-acme-0123456789".into(),
        created_at: chrono::Utc::now(),
    };
    store.create_tenant(&tenant).await.unwrap();
    let personality =
        Personality { name: "Maya".into(), role_title: "Content lead".into(), industry: "healthcare".into(), ..Default::default() };
    let instance = Instance::on_trial(tenant.id, "content-review", personality, chrono::Utc::now(), None);
    store.create_instance(&instance).await.unwrap();
    World { store, spec: Specialization::from_toml("content-review.toml", SPEC, &["test.noop"]).unwrap(), instance }
}

async fn engine(store: &DynStore, llm_url: Option<&str>) -> Engine {
    let memory =
        SemanticMemory::open(store.clone(), EmbedSource::Offline(HashedNgramEmbedder::new()), IndexConfig::default()).await.unwrap();
    let llm = llm_url.map(|url| {
        let provider =
            OpenAiChat::new(OpenAiConfig { base_url: url.to_owned(), api_key: Some("sk-test".into()), timeout: Duration::from_secs(5) })
                .unwrap();
        let mut prices = PriceTable::new();
        prices.insert("gpt-4o-mini", ModelPrice::new(0.15, 0.60).unwrap());
        LlmTier { provider: Arc::new(provider), model: "gpt-4o-mini".into(), prices, max_tokens: 400 }
    });
    Engine::new(store.clone(), Arc::new(memory), llm, EngineConfig::default())
}

fn request(w: &World, context: Value) -> DecisionRequest {
    DecisionRequest {
        tenant_id: w.instance.tenant_id,
        instance_id: w.instance.id,
        request_type: "content.compliance".into(),
        context,
        urgency: Urgency::Normal,
    }
}

const LONG_DRAFT: &str = "Our winter newsletter explains how seasonal influenza spreads in offices, which groups our clinic \
    recommends for vaccination, and how to book an appointment online. It lists clinic hours and pharmacist advice.";

#[tokio::test]
async fn rules_at_the_threshold_decide_and_below_it_fall_through() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(&dir).await;
    let engine = engine(&w.store, None).await;
    let d = engine.decide(&w.spec, &w.instance, request(&w, json!({"text": "This tea cures anxiety, guaranteed."}))).await;
    assert_eq!((d.verdict, d.method), (Verdict::Reject, Method::Rules));
    assert_eq!(d.citations[0].id, "reject-cure-claims");
    // The short-draft rule matches at 0.6 < 0.95: it does not decide, and with no LLM a human does.
    let d = engine.decide(&w.spec, &w.instance, request(&w, json!({"text": "Flu clinic opens Monday."}))).await;
    assert_eq!((d.verdict, d.method), (Verdict::Escalate, Method::Fallback));
    assert!(d.reason.contains("no LLM provider is configured"), "{}", d.reason);
    // A forbidden action is refused before any tier.
    let d = engine.decide(&w.spec, &w.instance, request(&w, json!({"text": "cures", "action": "publish_without_review"}))).await;
    assert_eq!((d.verdict, d.method), (Verdict::Reject, Method::Constraint));
}

#[tokio::test]
async fn an_llm_decision_is_cached_across_a_restart_and_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(&dir).await;
    let (model, url) = model_server().await;
    *model.answer.lock().unwrap() =
        r#"{"verdict":"approve","reason":"Factual clinic information with no medical claims","confidence":0.9,"fields":{}}"#.into();
    let first = engine(&w.store, Some(&url)).await;
    let ctx = json!({"text": LONG_DRAFT, "channel": "newsletter"});
    let d = first.decide(&w.spec, &w.instance, request(&w, ctx.clone())).await;
    assert_eq!((d.verdict, d.method, d.model.as_deref()), (Verdict::Approve, Method::Llm, Some("gpt-4o-mini-2024-07-18")));
    assert_eq!((d.tokens_in, d.tokens_out), (1200, 80));
    assert!((d.cost_usd - (1200.0 * 0.15 + 80.0 * 0.60) / 1e6).abs() < 1e-12, "{}", d.cost_usd);
    let body = model.last_body.lock().unwrap().clone();
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["response_format"]["type"], "json_object");
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Maya") && system.contains("publish_without_review"), "{system}");
    first.flush_log().await;
    drop(first);

    // A new engine on the same store (a restart): the cache answers, the model is not asked.
    let second = engine(&w.store, Some(&url)).await;
    let d = second.decide(&w.spec, &w.instance, request(&w, json!({"channel": "newsletter", "text": format!("  {LONG_DRAFT} ")}))).await;
    assert_eq!((d.verdict, d.method, d.cost_usd), (Verdict::Approve, Method::Cache, 0.0));
    assert_eq!(model.calls.load(Ordering::SeqCst), 1);

    // A close paraphrase misses the cache but is decided from memory.
    let paraphrase = LONG_DRAFT.replace("winter newsletter", "winter email newsletter");
    let d = second.decide(&w.spec, &w.instance, request(&w, json!({"text": paraphrase, "channel": "newsletter"}))).await;
    assert_eq!((d.verdict, d.method), (Verdict::Approve, Method::Memory), "{d:?}");
    assert_eq!(model.calls.load(Ordering::SeqCst), 1);
    second.flush_log().await;
    let log = w.store.list_decisions(w.instance.tenant_id, Some(w.instance.id), 10).await.unwrap();
    let methods: Vec<Method> = log.iter().map(|r| r.decision.method).collect();
    assert_eq!(methods, vec![Method::Memory, Method::Cache, Method::Llm], "newest first");
}

#[tokio::test]
async fn unusable_llm_answers_fall_back_to_a_human_and_the_answer_is_learned() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(&dir).await;
    let (model, url) = model_server().await;
    *model.answer.lock().unwrap() = "I think this draft is probably fine!".into();
    let engine = engine(&w.store, Some(&url)).await;
    let ctx = json!({"text": LONG_DRAFT, "channel": "blog"});
    let d = engine.decide(&w.spec, &w.instance, request(&w, ctx.clone())).await;
    assert_eq!((d.verdict, d.method), (Verdict::Escalate, Method::Fallback));
    assert!(d.reason.contains("unusable"), "{}", d.reason);
    assert!(d.cost_usd > 0.0, "the unusable call was still paid for");

    let pending = w.store.list_escalations(w.instance.tenant_id, Some(EscalationStatus::Pending), 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    let answer = HumanAnswer {
        verdict: Verdict::Approve,
        text: "Fine to publish on the blog".into(),
        answered_by: "dr.lee@acme-health.example".into(),
    };
    let other_tenant = engine.answer_escalation(&w.spec, TenantId::new(), pending[0].id, answer.clone()).await;
    assert!(other_tenant.is_err(), "another tenant cannot answer");
    let answered = engine.answer_escalation(&w.spec, w.instance.tenant_id, pending[0].id, answer.clone()).await.unwrap();
    assert_eq!(answered.status, EscalationStatus::Answered);
    assert!(engine.answer_escalation(&w.spec, w.instance.tenant_id, pending[0].id, answer).await.is_err(), "answered once");

    // The same case is now decided without the model or a human.
    let d = engine.decide(&w.spec, &w.instance, request(&w, ctx)).await;
    assert_eq!((d.verdict, d.method), (Verdict::Approve, Method::Cache), "{d:?}");
    assert_eq!(model.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_model_that_proposes_a_forbidden_action_is_overruled() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(&dir).await;
    let (model, url) = model_server().await;
    *model.answer.lock().unwrap() =
        r#"{"verdict":"act","reason":"Looks good, ship it","confidence":0.97,"fields":{"action":"publish_without_review"}}"#.into();
    let engine = engine(&w.store, Some(&url)).await;
    let d = engine.decide(&w.spec, &w.instance, request(&w, json!({"text": LONG_DRAFT}))).await;
    assert_eq!((d.verdict, d.method), (Verdict::Reject, Method::Constraint), "{d:?}");
    assert!(d.citations.iter().any(|c| c.kind == "overridden" && c.id == "llm"));
}

#[tokio::test]
async fn tenants_never_share_cache_or_memory() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(&dir).await;
    let (model, url) = model_server().await;
    *model.answer.lock().unwrap() = r#"{"verdict":"approve","reason":"fine","confidence":0.9}"#.into();
    let engine = engine(&w.store, Some(&url)).await;
    let ctx = json!({"text": LONG_DRAFT});
    engine.decide(&w.spec, &w.instance, request(&w, ctx.clone())).await;

    let other = Tenant {
        id: TenantId::new(),
        name: "Globex Clinics".into(),
        webhook_secret: "whsec-globex-0123456789".into(),
        created_at: chrono::Utc::now(),
    };
    w.store.create_tenant(&other).await.unwrap();
    let them =
        Instance::on_trial(other.id, "content-review", Personality { name: "Otto".into(), ..Default::default() }, chrono::Utc::now(), None);
    w.store.create_instance(&them).await.unwrap();
    let theirs = DecisionRequest { tenant_id: other.id, instance_id: them.id, ..request(&w, ctx) };
    let d = engine.decide(&w.spec, &them, theirs).await;
    assert_eq!(d.method, Method::Llm, "the other tenant's identical case is not served from Acme's cache or memory");
    assert_eq!(model.calls.load(Ordering::SeqCst), 2);
}
