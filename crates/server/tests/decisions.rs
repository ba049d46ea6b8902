//! The decision engine over real HTTP: rules and constraints from the catalog, escalations that
//! a human answers (and the engine learns), the LLM tier against a local server speaking the
//! OpenAI Chat Completions wire format, tenant-scoped memories, and every kind of bad input.

mod common;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use common::{BODY_LIMIT, TestApp, eventually, expect_error, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A fake model: answers with whatever `answer` holds and counts the calls.
#[derive(Default)]
struct Model {
    answer: Mutex<String>,
    calls: AtomicUsize,
    last_body: Mutex<Value>,
}

impl Model {
    fn answer_with(&self, content: &str) {
        *self.answer.lock().unwrap() = content.to_owned();
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn chat(State(model): State<Arc<Model>>, Json(body): Json<Value>) -> Json<Value> {
    model.calls.fetch_add(1, Ordering::SeqCst);
    *model.last_body.lock().unwrap() = body;
    let content = model.answer.lock().unwrap().clone();
    Json(json!({
        "id": "chatcmpl-AbC123xyz", "object": "chat.completion", "created": 1_732_400_000, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280}
    }))
}

/// The app with an LLM tier pointed at a fake model on a local socket.
async fn app_with_model() -> (TestApp, Arc<Model>) {
    let model = Arc::new(Model::default());
    let router = Router::new().route("/v1/chat/completions", post(chat)).with_state(model.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (TestApp::start_with_llm(Some(format!("http://{addr}/v1"))).await, model)
}

fn ask(tenant: &str, instance: &str, request_type: &str, context: Value) -> Value {
    json!({"tenant_id": tenant, "instance_id": instance, "request_type": request_type, "context": context})
}

async fn decide(app: &TestApp, body: &Value) -> Value {
    let (status, d) = json_of(app.post_json("/v1/decisions", body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    d
}

/// The decision log, once it holds `n` entries (it is written in the background).
async fn logged(app: &TestApp, query: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} decisions logged for {query}"), || async {
        let (status, body) = app.get_json(&format!("/v1/decisions?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let list = body["decisions"].as_array().unwrap().clone();
        assert!(list.len() <= n, "more decisions than made: {body}");
        (list.len() == n).then_some(list)
    })
    .await
}

async fn escalations(app: &TestApp, tenant: &str, status: &str) -> Vec<Value> {
    let (code, body) = app.get_json(&format!("/v1/escalations?tenant_id={tenant}&status={status}")).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["escalations"].as_array().unwrap().clone()
}

async fn get(app: &TestApp, path: impl AsRef<str>) -> reqwest::Response {
    app.get(path.as_ref()).send().await.unwrap()
}

fn answer_path(id: &str, tenant: &str) -> String {
    format!("/v1/escalations/{id}/answer?tenant_id={tenant}")
}

/// A feature pull request no catalog rule decides.
fn billing_pr() -> Value {
    json!({"number": 482, "title": "feat(billing): prorate plan changes mid-cycle",
        "files": ["src/billing/proration.rs", "src/billing/invoice.rs", "docs/billing/plans.md"]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_rules_decide_and_the_log_and_summary_show_it() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Acme Corp").await;
    let globex = app.create_tenant("Globex").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    let iris = app.create_wowvision(&acme.id, "Iris").await;
    let _theirs = app.create_wowvision(&globex.id, "Otto").await;

    let secret = ask(&acme.id, &vera, "file.change", json!({"path": "deploy/.env.production", "change": "created"}));
    let d = decide(&app, &secret).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("reject"), Some("rules")), "{d}");
    assert_eq!(d["citations"][0], json!({"kind": "rule", "id": "reject-secret-files", "excerpt": d["reason"]}), "{d}");
    assert!(d["fields"]["fix"].as_str().unwrap().contains("rotate the secret"), "{d}");
    assert_eq!((d["confidence"].as_f64(), d["cost_usd"].as_f64(), d["tokens_in"].as_u64()), (Some(0.99), Some(0.0), Some(0)));

    let no_owner = json!({"path": "docs/guides/onboarding.md", "change": "modified", "front_matter": {"title": "Onboarding"}});
    let d = decide(&app, &ask(&acme.id, &vera, "file.change", no_owner)).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("reject"), Some("rules")), "{d}");
    assert_eq!(d["citations"][0]["id"], "reject-docs-without-front-matter", "{d}");

    // A rule may escalate: layer 1 of the vision goes to a human, as a pending escalation.
    let layer1 = json!({"number": 77, "title": "Reword principle 3", "files": ["vision/layer1/principles.md"]});
    let d = decide(&app, &ask(&acme.id, &vera, "pr.review", layer1.clone())).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("escalate"), Some("rules")), "{d}");
    assert_eq!((d["citations"][0]["id"].as_str(), d["fields"]["layer"].as_i64()), (Some("escalate-layer1-change"), Some(1)), "{d}");
    let pending = escalations(&app, &acme.id, "pending").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!((&pending[0]["request"]["context"], &pending[0]["question"]), (&layer1, &d["reason"]));

    // The catalog approves documented docs at confidence 0.9, below the engine's 0.95 rule
    // threshold: that rule alone does not decide, and with no LLM a human does.
    let documented = json!({"path": "docs/guides/billing.md", "change": "created",
        "front_matter": {"title": "Billing", "owner": "finance-docs@acme.example"}});
    let d = decide(&app, &ask(&acme.id, &vera, "file.change", documented)).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("escalate"), Some("fallback")), "{d}");

    let pem = json!({"number": 90, "title": "chore: add staging certs", "files": ["ops/certs/staging.pem", "ops/README.md"]});
    let d = decide(&app, &ask(&acme.id, &iris, "pr.review", pem)).await;
    assert_eq!((d["verdict"].as_str(), d["citations"][0]["id"].as_str()), (Some("reject"), Some("reject-secret-files")), "{d}");

    // The log, newest first, per instance and per tenant; none of it is Globex's.
    let log = logged(&app, &format!("tenant_id={}&instance_id={vera}", acme.id), 4).await;
    let methods: Vec<&str> = log.iter().filter_map(|r| r["decision"]["method"].as_str()).collect();
    assert_eq!(methods, ["fallback", "rules", "rules", "rules"]);
    let oldest = &log[3];
    assert_eq!(
        (oldest["request_type"].as_str(), oldest["context"]["path"].as_str()),
        (Some("file.change"), Some("deploy/.env.production"))
    );
    assert_eq!((oldest["specialization_id"].as_str(), oldest["instance_id"].as_str()), (Some("wowvision-prime"), Some(vera.as_str())));
    assert_eq!(oldest["decision"]["citations"][0]["id"], "reject-secret-files");
    logged(&app, &format!("tenant_id={}", acme.id), 5).await;
    logged(&app, &format!("tenant_id={}", globex.id), 0).await;

    let (status, s) = app.get_json(&format!("/v1/decisions/summary?tenant_id={}&group_by=instance", acme.id)).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["group_by"], "instance");
    assert_eq!(s["groups"].as_object().unwrap().len(), 2, "{s}");
    let v = &s["groups"][vera.as_str()];
    assert_eq!((v["decisions"].as_i64(), v["cost_usd"].as_f64()), (Some(4), Some(0.0)), "{s}");
    assert_eq!((v["methods"]["rules"]["decisions"].as_i64(), v["methods"]["fallback"]["decisions"].as_i64()), (Some(3), Some(1)), "{s}");
    assert_eq!(s["groups"][iris.as_str()]["methods"], json!({"rules": {"decisions": 1, "cost_usd": 0.0, "tokens_in": 0, "tokens_out": 0}}));

    let (_, s) = app.get_json(&format!("/v1/decisions/summary?tenant_id={}&group_by=specialization", acme.id)).await;
    assert_eq!(s["groups"]["wowvision-prime"]["decisions"], 5, "{s}");
    // The operator's view covers every tenant: only Acme decided anything.
    let (_, s) = app.get_json("/v1/decisions/summary?group_by=tenant").await;
    assert_eq!(s["groups"].as_object().unwrap().keys().collect::<Vec<_>>(), [&acme.id], "{s}");
    let (_, s) = app.get_json(&format!("/v1/decisions/summary?tenant_id={}&group_by=day", acme.id)).await;
    let days = s["groups"].as_object().unwrap();
    assert_eq!(days.values().filter_map(|g| g["decisions"].as_i64()).sum::<i64>(), 5, "{s}");
    assert!(days.keys().all(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_action_is_refused_by_its_constraint_whatever_else() {
    let (app, model) = app_with_model().await;
    model.answer_with(r#"{"verdict":"approve","reason":"Looks fine","confidence":0.99,"fields":{}}"#);
    let acme = app.create_tenant("Acme Corp").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;

    // A docs fix the rules would let through, a secret file the rules would reject: the
    // constraint answers first either way, and the model is never asked.
    for files in [json!(["docs/readme.md"]), json!(["deploy/.env", "docs/readme.md"])] {
        let ctx = json!({"action": "merge_pull_request", "number": 311, "title": "docs: fix typo in README", "files": files});
        let d = decide(&app, &ask(&acme.id, &vera, "pr.review", ctx)).await;
        assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("reject"), Some("constraint")), "{d}");
        assert_eq!(
            (d["citations"][0]["kind"].as_str(), d["citations"][0]["id"].as_str()),
            (Some("constraint"), Some("merge_pull_request"))
        );
        assert!(d["reason"].as_str().unwrap().contains("merging is a human decision"), "{d}");
    }
    let d = decide(&app, &ask(&acme.id, &vera, "file.change", json!({"path": "docs/old.md", "actions": ["comment", "delete_file"]}))).await;
    assert_eq!(
        (d["verdict"].as_str(), d["method"].as_str(), d["citations"][0]["id"].as_str()),
        (Some("reject"), Some("constraint"), Some("delete_file"))
    );
    // An `escalate` constraint hands the request to a human.
    let ctx = json!({"action": "change_layer1_principle", "path": "vision/layer1/principles.md"});
    let d = decide(&app, &ask(&acme.id, &vera, "file.change", ctx.clone())).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("escalate"), Some("constraint")), "{d}");
    let pending = escalations(&app, &acme.id, "pending").await;
    assert_eq!((pending.len(), &pending[0]["request"]["context"]), (1, &ctx), "{pending:?}");
    assert_eq!(model.calls(), 0, "a forbidden request never reaches the model");

    // The model proposing the forbidden action itself is overruled, and its call still billed.
    model.answer_with(r#"{"verdict":"act","reason":"Ship it","confidence":0.97,"fields":{"action":"merge_pull_request"}}"#);
    let d = decide(&app, &ask(&acme.id, &vera, "pr.review", billing_pr())).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("reject"), Some("constraint")), "{d}");
    let citations = d["citations"].as_array().unwrap();
    assert!(citations.iter().any(|c| c["kind"] == "overridden" && c["id"] == "llm"), "{d}");
    assert!(d["cost_usd"].as_f64().unwrap() > 0.0, "{d}");
    assert_eq!(model.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_answered_by_a_human_wakes_the_instance_and_is_learned() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Acme Corp").await;
    let globex = app.create_tenant("Globex").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    let request = ask(&acme.id, &vera, "pr.review", billing_pr());

    let d = decide(&app, &request).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("escalate"), Some("fallback")), "{d}");
    assert!(d["reason"].as_str().unwrap().contains("no LLM provider is configured"), "{d}");
    let pending = escalations(&app, &acme.id, "pending").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    let e = &pending[0];
    assert_eq!(
        (e["status"].as_str(), e["instance_id"].as_str(), &e["request"]["context"]),
        (Some("pending"), Some(vera.as_str()), &billing_pr())
    );
    assert_eq!((&e["question"], &e["answer"]), (&d["reason"], &Value::Null));
    let id = e["id"].as_str().unwrap().to_owned();
    assert!(escalations(&app, &acme.id, "answered").await.is_empty());
    assert!(escalations(&app, &globex.id, "all").await.is_empty(), "Globex sees Acme's escalation");

    let answer = json!({"answer": "approve", "text": "Proration matches the pricing page; merge after CI", "answered_by": "maria.lopez@acme.example"});
    let resp = app.post_json(&answer_path(&id, &globex.id), &answer).send().await.unwrap();
    expect_error(resp, StatusCode::NOT_FOUND, "escalation_not_found").await;

    let (status, body) = json_of(app.post_json(&answer_path(&id, &acme.id), &answer).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answered = &body["escalation"];
    assert_eq!((answered["id"].as_str(), answered["status"].as_str()), (Some(id.as_str()), Some("answered")), "{body}");
    assert_eq!(answered["answer"], json!({"verdict": "approve", "text": answer["text"], "answered_by": "maria.lopez@acme.example"}));
    assert!(answered["answered_at"].is_string(), "{body}");

    // The resume event wakes exactly the instance that asked.
    let resume = body["resume_event_id"].as_str().expect("resume_event_id").to_owned();
    let ev = app.wait_dispatched(&acme.id, &resume).await;
    assert_eq!(
        (ev["event"]["type"].as_str(), ev["event"]["target_instance"].as_str()),
        (Some("human.escalation"), Some(vera.as_str())),
        "{ev}"
    );
    assert_eq!((ev["event"]["payload"]["escalation_id"].as_str(), &ev["event"]["payload"]["context"]), (Some(id.as_str()), &billing_pr()));
    assert_eq!(ev["deliveries"].as_array().map(Vec::len), Some(1), "{ev}");
    assert_eq!((ev["deliveries"][0]["instance_id"].as_str(), ev["deliveries"][0]["status"].as_str()), (Some(vera.as_str()), Some("done")));
    expect_error(
        app.get(&format!("/v1/events/{resume}?tenant_id={}", globex.id)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "event_not_found",
    )
    .await;

    // Learned: the same question is answered from the cache, citing the human, with no new escalation.
    let d = decide(&app, &request).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("approve"), Some("cache")), "{d}");
    assert_eq!((d["citations"][1]["kind"].as_str(), d["citations"][1]["id"].as_str()), (Some("human"), Some(id.as_str())), "{d}");
    assert!(escalations(&app, &acme.id, "pending").await.is_empty());
    assert_eq!(escalations(&app, &acme.id, "all").await.len(), 1);
    assert_eq!(escalations(&app, &acme.id, "answered").await[0]["id"], id.as_str());

    // An answer is final.
    let again = json!({"answer": "reject", "text": "Changed my mind", "answered_by": "cto@acme.example"});
    expect_error(app.post_json(&answer_path(&id, &acme.id), &again).send().await.unwrap(), StatusCode::CONFLICT, "conflict").await;
    assert_eq!(escalations(&app, &acme.id, "answered").await[0]["answer"]["answered_by"], "maria.lopez@acme.example");
}

const ONBOARDING_PR: &str = "Rewrites the onboarding guide for the new billing dashboard: explains how an account owner \
    invites finance teammates, where invoices and receipts are downloaded, how plan upgrades are prorated, and which \
    roles may change the payment method. Screenshots are refreshed for the dashboard released this month.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_decision_is_reused_without_asking_the_model_again() {
    let (app, model) = app_with_model().await;
    model.answer_with(
        r#"{"verdict":"approve","reason":"Documentation only; no vision or policy file is touched","confidence":0.92,"fields":{}}"#,
    );
    let acme = app.create_tenant("Acme Corp").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    let pr = |description: &str| {
        json!({"number": 517, "title": "Refresh the onboarding guide for the billing dashboard", "description": description,
            "files": ["guides/onboarding/billing-dashboard.md", "guides/onboarding/index.md"]})
    };

    let d = decide(&app, &ask(&acme.id, &vera, "pr.review", pr(ONBOARDING_PR))).await;
    assert_eq!(
        (d["verdict"].as_str(), d["method"].as_str(), d["model"].as_str()),
        (Some("approve"), Some("llm"), Some("gpt-4o-mini-2024-07-18"))
    );
    assert_eq!((d["tokens_in"].as_u64(), d["tokens_out"].as_u64()), (Some(1200), Some(80)), "{d}");
    let cost = d["cost_usd"].as_f64().unwrap();
    assert!((cost - (1200.0 * 0.15 + 80.0 * 0.60) / 1e6).abs() < 1e-12, "{d}");
    assert_eq!(model.calls(), 1);
    let sent = model.last_body.lock().unwrap().clone();
    let system = sent["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Vera") && system.contains("merge_pull_request"), "{system}");

    // The same request, cosmetically different: the exact cache.
    let d = decide(&app, &ask(&acme.id, &vera, "pr.review", pr(&format!("  {ONBOARDING_PR}\n")))).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str(), d["cost_usd"].as_f64()), (Some("approve"), Some("cache"), Some(0.0)), "{d}");
    // A paraphrase misses the cache and is recalled from memory.
    let paraphrase = ONBOARDING_PR.replace("Rewrites the onboarding guide", "Updates the onboarding guide");
    let d = decide(&app, &ask(&acme.id, &vera, "pr.review", pr(&paraphrase))).await;
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("approve"), Some("memory")), "{d}");
    assert!(d["citations"][0]["excerpt"].as_str().unwrap().starts_with("similarity"), "{d}");
    assert_eq!(model.calls(), 1, "the model was asked again");

    let log = logged(&app, &format!("tenant_id={}", acme.id), 3).await;
    let methods: Vec<&str> = log.iter().filter_map(|r| r["decision"]["method"].as_str()).collect();
    assert_eq!(methods, ["memory", "cache", "llm"]);
    let (_, s) = app.get_json(&format!("/v1/decisions/summary?tenant_id={}&group_by=tenant", acme.id)).await;
    let g = &s["groups"][acme.id.as_str()];
    assert_eq!((g["decisions"].as_i64(), g["methods"]["llm"]["tokens_in"].as_i64()), (Some(3), Some(1200)), "{s}");
    assert!((g["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-12, "only the model call costs: {s}");
    assert_eq!((g["methods"]["cache"]["cost_usd"].as_f64(), g["methods"]["memory"]["cost_usd"].as_f64()), (Some(0.0), Some(0.0)));

    // The public cost page: spend by specialization and by day, nothing that names a customer.
    let page = reqwest::get(app.url("/status/costs")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<td>wowvision-prime</td><td>3</td><td>1</td><td>1200</td><td>80</td>"), "{html}");
    assert!(html.contains(&format!("<td>{}</td>", chrono::Utc::now().date_naive())), "{html}");
    assert!(html.contains(&format!("{cost:.4}")), "{html}");
    assert!(!html.contains(&acme.id) && !html.contains("Acme") && !html.contains(&vera), "no tenant or instance: {html}");
}

const ACME_PLAYBOOK: [&str; 3] = [
    "Price objection: when a prospect says we are too expensive compared to a cheaper competitor, ask what the \
     competitor's quote includes, then show the onboarding, SSO and support hours they would pay extra for.",
    "Security objection: when IT asks whether customer data leaves the EU, send the SOC 2 report and the data \
     processing agreement, and offer a call with our security engineer.",
    "Timing objection: when the buyer says it is not the right quarter, agree on a pilot that starts next month \
     with one team, priced at a pilot discount, and book the review meeting before the call ends.",
];

const GLOBEX_PRICE: &str = "Price objection: the prospect says we are too expensive compared to a cheaper competitor; \
    offer the Globex annual prepay discount of 18 percent and never match a competitor's quote.";

async fn remember(app: &TestApp, tenant: &str, kind: &str, text: &str) -> String {
    let body = json!({"tenant_id": tenant, "kind": kind, "text": text, "metadata": {"source": "sales-enablement"}});
    let (status, m) = json_of(app.post_json("/v1/memories", &body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!((m["tenant_id"].as_str(), m["kind"].as_str(), m["text"].as_str()), (Some(tenant), Some(kind), Some(text)), "{m}");
    assert!(m["embedding_id"].as_str().is_some_and(|e| !e.is_empty()) && m["score"].is_null(), "{m}");
    m["id"].as_str().unwrap().to_owned()
}

async fn search(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get_json(&format!("/v1/memories/search?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["memories"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memories_are_searched_within_their_tenant_only() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Acme Corp").await;
    let globex = app.create_tenant("Globex").await;
    let mut acme_ids = Vec::new();
    for text in ACME_PLAYBOOK {
        acme_ids.push(remember(&app, &acme.id, "playbook", text).await);
    }
    let battlecard = remember(&app, &acme.id, "battlecard", "Against CheapCRM: too expensive? Their price excludes SSO and support.").await;
    let globex_id = remember(&app, &globex.id, "playbook", GLOBEX_PRICE).await;

    // Globex's passage is worded closer to the question than Acme's; Acme never sees it.
    let q = "q=prospect%20says%20we%20are%20too%20expensive%20compared%20to%20a%20cheaper%20competitor";
    let hits = search(&app, &format!("tenant_id={}&{q}&k=10", acme.id)).await;
    assert_eq!(hits.len(), 4, "{hits:?}");
    assert_eq!(hits[0]["id"], acme_ids[0].as_str(), "{hits:?}");
    assert!(hits.iter().all(|h| h["tenant_id"] == acme.id.as_str() && h["id"] != globex_id.as_str()), "{hits:?}");
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().expect("a score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] > scores[1], "best first: {scores:?}");

    let hits = search(&app, &format!("tenant_id={}&{q}&kind=playbook&k=2", acme.id)).await;
    assert_eq!(hits.iter().map(|h| h["id"].as_str().unwrap()).collect::<Vec<_>>()[0], acme_ids[0]);
    assert!(hits.len() == 2 && hits.iter().all(|h| h["kind"] == "playbook" && h["id"] != battlecard.as_str()), "{hits:?}");
    let hits = search(&app, &format!("tenant_id={}&q=data%20leaves%20the%20EU%20SOC%202&kind=playbook", acme.id)).await;
    assert_eq!(hits[0]["id"], acme_ids[1].as_str(), "{hits:?}");

    let hits = search(&app, &format!("tenant_id={}&{q}", globex.id)).await;
    assert_eq!(hits.iter().map(|h| h["id"].as_str().unwrap()).collect::<Vec<_>>(), [globex_id.as_str()]);

    // A memory tied to an instance must name one of the tenant's own instances.
    let otto = app.create_wowvision(&globex.id, "Otto").await;
    let cross = json!({"tenant_id": acme.id, "instance_id": otto, "kind": "playbook", "text": "Discount rules for Q4 renewals"});
    expect_error(app.post_json("/v1/memories", &cross).send().await.unwrap(), StatusCode::NOT_FOUND, "instance_not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_decision_requests_are_refused_with_their_code_and_not_logged() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Acme Corp").await;
    let globex = app.create_tenant("Globex").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    let otto = app.create_wowvision(&globex.id, "Otto").await;
    let good = ask(&acme.id, &vera, "file.change", json!({"path": "deploy/id_rsa", "change": "created"}));
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    let bad = StatusCode::BAD_REQUEST;

    expect_error(app.post_raw("/v1/decisions", "").send().await.unwrap(), bad, "malformed_json").await;
    expect_error(app.post_raw("/v1/decisions", r#"{"tenant_id": "#).send().await.unwrap(), bad, "malformed_json").await;
    let text_plain = app.post("/v1/decisions").header("content-type", "text/plain").body(good.to_string());
    expect_error(text_plain.send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    let msg =
        expect_error(app.post_json("/v1/decisions", &with("priority", json!("high"))).send().await.unwrap(), bad, "invalid_request").await;
    assert!(msg.contains("priority"), "{msg}");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("request_type");
    let msg = expect_error(app.post_json("/v1/decisions", &missing).send().await.unwrap(), bad, "invalid_request").await;
    assert!(msg.contains("request_type"), "{msg}");
    for ty in ["review", "PR.Review", "pr..review", ""] {
        let msg =
            expect_error(app.post_json("/v1/decisions", &with("request_type", json!(ty))).send().await.unwrap(), bad, "invalid_request")
                .await;
        assert!(msg.contains("request_type"), "{ty}: {msg}");
    }
    for ctx in [json!("path=deploy/id_rsa"), json!(["deploy/id_rsa"]), json!(42)] {
        let msg = expect_error(app.post_json("/v1/decisions", &with("context", ctx)).send().await.unwrap(), bad, "invalid_request").await;
        assert!(msg.contains("context"), "{msg}");
    }
    expect_error(app.post_json("/v1/decisions", &with("urgency", json!("asap"))).send().await.unwrap(), bad, "invalid_request").await;
    expect_error(app.post_json("/v1/decisions", &with("tenant_id", json!("acme"))).send().await.unwrap(), bad, "invalid_request").await;
    expect_error(app.post_json("/v1/decisions", &with("instance_id", json!("vera"))).send().await.unwrap(), bad, "invalid_request").await;
    let mut big = good.clone();
    big["context"]["diff"] = json!("+".repeat(BODY_LIMIT));
    expect_error(app.post_json("/v1/decisions", &big).send().await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let nobody = uuid::Uuid::now_v7().to_string();
    let ghost_tenant = with("tenant_id", json!(nobody));
    expect_error(app.post_json("/v1/decisions", &ghost_tenant).send().await.unwrap(), StatusCode::NOT_FOUND, "tenant_not_found").await;
    let ghost = with("instance_id", json!(nobody));
    expect_error(app.post_json("/v1/decisions", &ghost).send().await.unwrap(), StatusCode::NOT_FOUND, "instance_not_found").await;
    let cross = with("instance_id", json!(otto));
    let msg = expect_error(app.post_json("/v1/decisions", &cross).send().await.unwrap(), StatusCode::NOT_FOUND, "instance_not_found").await;
    assert!(!msg.contains("Otto"), "{msg}");
    let anonymous = app.client.post(app.url("/v1/decisions")).json(&good).send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    expect_error(
        app.client.delete(app.url("/v1/decisions")).bearer_auth(common::ADMIN_TOKEN).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;

    // Reads.
    expect_error(get(&app, "/v1/decisions").await, bad, "missing_parameter").await;
    expect_error(get(&app, "/v1/decisions?tenant_id=acme").await, bad, "invalid_id").await;
    expect_error(get(&app, format!("/v1/decisions?tenant_id={}&instance_id=vera", acme.id)).await, bad, "invalid_id").await;
    expect_error(get(&app, format!("/v1/decisions?tenant_id={nobody}")).await, StatusCode::NOT_FOUND, "tenant_not_found").await;
    let msg =
        expect_error(get(&app, format!("/v1/decisions/summary?tenant_id={}&group_by=week", acme.id)).await, bad, "invalid_request").await;
    assert!(msg.contains("week"), "{msg}");
    expect_error(get(&app, "/v1/decisions/summary?tenant_id=acme").await, bad, "invalid_id").await;
    expect_error(get(&app, format!("/v1/decisions/summary?tenant_id={nobody}")).await, StatusCode::NOT_FOUND, "tenant_not_found").await;

    // Nothing refused was decided: the one good request is the whole log (it is written in order).
    let d = decide(&app, &good).await;
    assert_eq!(d["citations"][0]["id"], "reject-secret-files", "{d}");
    logged(&app, &format!("tenant_id={}", acme.id), 1).await;
    logged(&app, &format!("tenant_id={}", globex.id), 0).await;
    assert!(escalations(&app, &acme.id, "all").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_and_memory_requests_are_refused_with_their_code() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Acme Corp").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    decide(&app, &ask(&acme.id, &vera, "pr.review", billing_pr())).await;
    let id = escalations(&app, &acme.id, "pending").await[0]["id"].as_str().unwrap().to_owned();
    let path = answer_path(&id, &acme.id);
    let bad = StatusCode::BAD_REQUEST;

    expect_error(get(&app, "/v1/escalations").await, bad, "missing_parameter").await;
    let msg = expect_error(get(&app, format!("/v1/escalations?tenant_id={}&status=open", acme.id)).await, bad, "invalid_request").await;
    assert!(msg.contains("open"), "{msg}");
    expect_error(get(&app, "/v1/escalations?tenant_id=acme").await, bad, "invalid_id").await;

    let refused = [
        (json!({"answer": "maybe", "answered_by": "maria.lopez@acme.example"}), "answer"),
        (json!({"answer": "modify", "answered_by": "maria.lopez@acme.example"}), "text"),
        (json!({"answer": "modify", "text": "   ", "answered_by": "maria.lopez@acme.example"}), "text"),
        (json!({"answer": "approve", "text": "ok"}), "answered_by"),
        (json!({"answer": "approve", "answered_by": "  "}), "answered_by"),
        (json!({"answer": "approve", "answered_by": "maria.lopez@acme.example", "urgent": true}), "urgent"),
    ];
    for (body, names) in refused {
        let msg = expect_error(app.post_json(&path, &body).send().await.unwrap(), bad, "invalid_request").await;
        assert!(msg.contains(names), "{body}: {msg}");
    }
    expect_error(app.post_raw(&path, "").send().await.unwrap(), bad, "malformed_json").await;
    expect_error(app.post_raw(&path, "{\"answer\": approve}").send().await.unwrap(), bad, "malformed_json").await;
    let form = app.post(&path).header("content-type", "application/x-www-form-urlencoded").body("answer=approve");
    expect_error(form.send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    let approve = json!({"answer": "approve", "answered_by": "maria.lopez@acme.example"});
    expect_error(app.post_json(&answer_path("42", &acme.id), &approve).send().await.unwrap(), bad, "invalid_id").await;
    expect_error(app.post_json(&answer_path(&id, "acme"), &approve).send().await.unwrap(), bad, "invalid_id").await;
    let no_tenant = app.post_json(&format!("/v1/escalations/{id}/answer"), &approve).send().await.unwrap();
    expect_error(no_tenant, bad, "missing_parameter").await;
    let unknown = answer_path(&uuid::Uuid::now_v7().to_string(), &acme.id);
    expect_error(app.post_json(&unknown, &approve).send().await.unwrap(), StatusCode::NOT_FOUND, "escalation_not_found").await;

    // All refused: still pending, and a `modify` with its instruction is then accepted.
    assert_eq!(escalations(&app, &acme.id, "pending").await.len(), 1);
    let modify = json!({"answer": "modify", "text": "Split the docs change into its own PR", "answered_by": "maria.lopez@acme.example"});
    let (status, body) = json_of(app.post_json(&path, &modify).send().await.unwrap()).await;
    assert_eq!((status, body["escalation"]["answer"]["verdict"].as_str()), (StatusCode::OK, Some("act")), "{body}");
    let d = decide(&app, &ask(&acme.id, &vera, "pr.review", billing_pr())).await;
    assert_eq!(
        (d["verdict"].as_str(), d["fields"]["instruction"].as_str()),
        (Some("act"), Some("Split the docs change into its own PR")),
        "{d}"
    );

    // Memories.
    let memory = json!({"tenant_id": acme.id, "kind": "playbook", "text": ACME_PLAYBOOK[0]});
    let with = |key: &str, value: Value| {
        let mut b = memory.clone();
        b[key] = value;
        b
    };
    for body in
        [with("kind", json!("Sales Playbook")), with("kind", json!("")), with("text", json!("  ")), with("tags", json!(["pricing"]))]
    {
        expect_error(app.post_json("/v1/memories", &body).send().await.unwrap(), bad, "invalid_request").await;
    }
    let ghost = with("tenant_id", json!(uuid::Uuid::now_v7().to_string()));
    expect_error(app.post_json("/v1/memories", &ghost).send().await.unwrap(), StatusCode::NOT_FOUND, "tenant_not_found").await;
    expect_error(app.post_raw("/v1/memories", "[").send().await.unwrap(), bad, "malformed_json").await;
    expect_error(get(&app, format!("/v1/memories/search?tenant_id={}", acme.id)).await, bad, "missing_parameter").await;
    expect_error(get(&app, format!("/v1/memories/search?tenant_id={}&q=%20%20", acme.id)).await, bad, "missing_parameter").await;
    expect_error(get(&app, "/v1/memories/search?q=pricing").await, bad, "missing_parameter").await;
    expect_error(get(&app, format!("/v1/memories/search?tenant_id={}&q=pricing&k=many", acme.id)).await, bad, "invalid_id").await;
    expect_error(get(&app, format!("/v1/memories/search?tenant_id={}&q=pricing&instance_id=vera", acme.id)).await, bad, "invalid_id").await;
    assert!(search(&app, &format!("tenant_id={}&q=pricing&kind=playbook", acme.id)).await.is_empty(), "a refused memory was stored");
}
