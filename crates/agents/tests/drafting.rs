//! The SDR's outreach emails through the real decision engine: written by the LLM tier (a local
//! server speaking the OpenAI Chat Completions wire format) from the spec's prompt template and
//! the lead's own data, logged with their cost; the labelled plain template without an LLM; a
//! failing provider named in the deliverable.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waooaw_decisions::{EmbedSource, Engine, EngineConfig, HashedNgramEmbedder, IndexConfig, LlmTier, SemanticMemory};
use waooaw_domain::{Decider, EventType, Instance, NewEvent, Personality, Specialization, SummaryGroup, Tenant, TenantId};
use waooaw_integrations::llm::{ModelPrice, OpenAiChat, OpenAiConfig, PriceTable};
use waooaw_runtime::{Catalog, WakeInput};
use waooaw_store::DynStore;

const LEADS: &str = include_str!("fixtures/csv/leads.csv");

#[derive(Default)]
struct Model {
    bodies: Mutex<Vec<Value>>,
    fail: Mutex<bool>,
}

async fn chat(State(model): State<Arc<Model>>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let n = {
        let mut bodies = model.bodies.lock().unwrap();
        bodies.push(body);
        bodies.len()
    };
    if *model.fail.lock().unwrap() {
        let e = json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error"}});
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(e));
    }
    let content = format!("Subject: A quicker month-end close (draft {n})\n\nHi there, ...\n\nSam Carter");
    (
        StatusCode::OK,
        Json(json!({
            "id": format!("chatcmpl-{n}"), "object": "chat.completion", "created": 1_732_400_000, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 410, "completion_tokens": 95, "total_tokens": 505}
        })),
    )
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
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    world_for("sdr-b2b-saas").await
}

async fn world_for(spec_id: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = waooaw_store::connect(&format!("sqlite://{}", dir.path().join("d.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let tenant =
        Tenant { id: TenantId::new(), name: "Ledgerly".into(), webhook_secret: "whsec-ledgerly-0123".into(), created_at: Utc::now() };
    store.create_tenant(&tenant).await.unwrap();
    let registry = waooaw_agents::registry();
    let dir_catalog = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let catalog = Catalog::load_dir(&dir_catalog, &registry.names()).expect("catalog");
    let spec = (*catalog.get(spec_id).expect("spec").clone()).clone();
    let personality = Personality { name: "Sam".into(), role_title: "SDR".into(), industry: "B2B SaaS".into(), ..Default::default() };
    let instance = Instance::on_trial(tenant.id, spec_id, personality, Utc::now(), None);
    store.create_instance(&instance).await.unwrap();
    // Room for a whole upload's drafts at any hour: the pace allows 6% of the daily budget
    // early in the UTC day (50,000 tokens by default: 6 drafts before about 02:00 UTC). These
    // tests are about drafting; pacing has its own (`budget::pacing`, `tests/budgets.rs`).
    let roomy = waooaw_domain::BudgetLimits { tokens_per_day: Some(1_000_000), ..Default::default() };
    store.set_budget_override(tenant.id, Some(instance.id), &roomy, Utc::now()).await.unwrap();
    World { store, spec, instance, _dir: dir }
}

async fn engine(store: &DynStore, url: Option<&str>) -> Engine {
    let memory =
        SemanticMemory::open(store.clone(), EmbedSource::Offline(HashedNgramEmbedder::new()), IndexConfig::default()).await.unwrap();
    let llm = url.map(|url| {
        let config = OpenAiConfig { base_url: url.to_owned(), api_key: Some("sk-test".into()), timeout: Duration::from_secs(5) };
        let mut prices = PriceTable::new();
        prices.insert("gpt-4o-mini", ModelPrice::new(0.15, 0.60).unwrap());
        LlmTier { provider: Arc::new(OpenAiChat::new(config).unwrap()), model: "gpt-4o-mini".into(), prices, max_tokens: 400 }
    });
    Engine::new(store.clone(), Arc::new(memory), llm, EngineConfig::default())
}

async fn upload(w: &World, decider: &dyn Decider) -> String {
    let md = upload_file(w, decider, "inbound-leads-week-47.csv", "text/csv", LEADS).await;
    assert!(md.starts_with("# Inbound lead qualification"), "{md}");
    md
}

async fn upload_file(w: &World, decider: &dyn Decider, filename: &str, content_type: &str, content: &str) -> String {
    let registry = waooaw_agents::registry();
    let work = registry.get(&w.spec.work).expect("work function").clone();
    let payload = json!({"filename": filename, "content_type": content_type, "content": content});
    let event =
        NewEvent::new(EventType::parse("input.received").unwrap(), "api", w.instance.tenant_id, payload).into_event(Utc::now()).unwrap();
    let state = json!({});
    let input = WakeInput {
        spec: &w.spec,
        instance: &w.instance,
        event: &event,
        state: &state,
        pending_deliveries: 0,
        learnings: &[],
        decider,
        consult: &waooaw_runtime::NoConsult,
    };
    let out = waooaw_runtime::WorkFn::run(work.as_ref(), &input).await.expect("wake");
    assert_ne!(out.deliverables[0].kind, "input_rejected", "{}", out.deliverables[0].body_markdown);
    out.deliverables[0].body_markdown.clone()
}

#[tokio::test]
async fn qualified_leads_get_emails_written_by_the_llm_from_their_own_data() {
    let w = world().await;
    let (model, url) = model_server().await;
    let engine = engine(&w.store, Some(&url)).await;
    let md = upload(&w, &engine).await;

    let bodies = model.bodies.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "no lead was drafted:\n{md}");
    assert_eq!(md.matches("### Draft (written by gpt-4o-mini-2024-07-18)").count(), bodies.len(), "{md}");
    // 19 of the fixture's 20 leads qualify; a paid call is made for the first ten only.
    assert_eq!(bodies.len(), waooaw_agents::drafts::MAX_DRAFTS_PER_INPUT);
    assert_eq!(md.matches("*Not drafted: at most 10 drafts are written per upload.*").count(), 9, "{md}");
    assert_eq!(md.matches("Template (no LLM configured)").count(), 9, "{md}");
    assert!(!md.contains("waooaw:draft"), "every marker is replaced:\n{md}");
    let first = &bodies[0];
    assert_eq!(first["model"], "gpt-4o-mini");
    assert_eq!(first["temperature"], 0.3);
    assert!(first.get("response_format").is_none(), "a draft is text, not JSON");
    let system = first["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("You are Sam, SDR") && system.contains("send_email"), "{system}");
    let prompt = first["messages"][1]["content"].as_str().unwrap();
    assert!(prompt.contains("never invent a mutual contact"), "the spec's template is used: {prompt}");
    assert!(prompt.contains("\"score\"") && prompt.contains("\"why_it_scored\""), "{prompt}");

    // Each draft is a logged LLM call with its cost.
    engine.flush_log().await;
    let rows = w.store.decision_summary(Some(w.instance.tenant_id), SummaryGroup::Instance, None).await.unwrap();
    let llm = rows.iter().find(|r| r.method == waooaw_domain::Method::Llm).expect("llm rows");
    assert_eq!(llm.decisions as usize, bodies.len());
    let expected = bodies.len() as f64 * (410.0 * 0.15 + 95.0 * 0.60) / 1e6;
    assert!((llm.cost_usd - expected).abs() < 1e-9, "{} vs {expected}", llm.cost_usd);
}

#[tokio::test]
async fn without_an_llm_each_lead_gets_the_labelled_template_and_nothing_is_invented() {
    let w = world().await;
    let engine = engine(&w.store, None).await;
    let md = upload(&w, &engine).await;
    assert!(md.contains("## Template (no LLM configured)"), "{md}");
    assert!(md.contains("configure an LLM provider"), "{md}");
    assert!(!md.contains("### Draft (written by"), "{md}");
    assert!(!md.contains("waooaw:draft"), "{md}");
}

#[tokio::test]
async fn a_failing_provider_is_named_and_the_plain_version_follows() {
    let w = world().await;
    let (model, url) = model_server().await;
    *model.fail.lock().unwrap() = true;
    let engine = engine(&w.store, Some(&url)).await;
    let md = upload(&w, &engine).await;
    assert!(md.contains("*Drafting failed (the LLM could not write the draft:"), "{md}");
    assert!(md.contains("## Template (no LLM configured)"), "{md}");
}

#[tokio::test]
async fn a_draft_for_another_tenants_instance_is_refused_before_any_call() {
    let w = world().await;
    let (model, url) = model_server().await;
    let engine = engine(&w.store, Some(&url)).await;
    let request = waooaw_domain::DraftRequest {
        tenant_id: TenantId::new(),
        instance_id: w.instance.id,
        kind: "outreach_email".into(),
        brief: "An email".into(),
        facts: json!({}),
        max_words: 50,
    };
    let e = engine.draft(&w.spec, &w.instance, request).await.unwrap_err();
    assert!(matches!(e, waooaw_domain::DraftError::Refused(_)), "{e}");
    assert!(model.bodies.lock().unwrap().is_empty(), "no call was made");
}

#[tokio::test]
async fn flagged_sentences_get_compliant_rewrites_and_patient_data_never_reaches_the_model() {
    let w = world_for("content-marketing-healthcare").await;
    let (model, url) = model_server().await;
    let engine = engine(&w.store, Some(&url)).await;
    let story = include_str!("fixtures/text/patient_story_phi.md");
    let md = upload_file(&w, &engine, "patient-story.md", "text/markdown", story).await;
    assert!(md.contains("## Suggested rewrites") && md.contains("### Draft (written by"), "{md}");
    let bodies = model.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "one call for all flagged sentences");
    let sent = bodies[0].to_string();
    assert!(story.contains("00482913") && !sent.contains("00482913"), "the record number is masked before it leaves: {sent}");

    let without = engine_without_llm(&w).await;
    let md = upload_file(&w, &without, "patient-story.md", "text/markdown", story).await;
    assert!(md.contains("no LLM provider is configured: apply the fixes listed above by hand"), "{md}");
}

#[tokio::test]
async fn a_post_with_findings_gets_a_rewrite_one_without_gets_none() {
    let w = world_for("social-media-b2b").await;
    let (model, url) = model_server().await;
    let engine = engine(&w.store, Some(&url)).await;
    let post = include_str!("fixtures/text/x_post_too_long.txt").repeat(20);
    let md = upload_file(&w, &engine, "launch-post.txt", "text/plain", &post).await;
    assert!(md.contains("## Suggested rewrite") && md.contains("### Draft (written by"), "{md}");
    let bodies = model.bodies.lock().unwrap().clone();
    let prompt = bodies[0]["messages"][1]["content"].as_str().unwrap().to_owned();
    assert!(prompt.contains("LinkedIn post") && prompt.contains("at most 3000 characters"), "{prompt}");

    let fine = "Three lessons from closing our books in two days instead of ten. Thread below. #finance #saas #fpa";
    let calls = bodies.len();
    let md = upload_file(&w, &engine, "short-post.txt", "text/plain", fine).await;
    assert!(!md.contains("## Suggested rewrite"), "{md}");
    assert_eq!(model.bodies.lock().unwrap().len(), calls, "no finding, no paid call");
}

async fn engine_without_llm(w: &World) -> Engine {
    engine(&w.store, None).await
}
