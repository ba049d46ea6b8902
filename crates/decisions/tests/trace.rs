//! One trace from ingestion through the wake, the decision and its tiers, to the saved output,
//! asserted on the span tree an in-memory OpenTelemetry exporter receives; a follow-up event
//! published with the first as its parent continues the same trace under it.

use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use waooaw_decisions::{EmbedSource, Engine, EngineConfig, HashedNgramEmbedder, IndexConfig, SemanticMemory};
use waooaw_domain::{DecisionRequest, EventType, Instance, NewEvent, Personality, Specialization, Tenant, TenantId, Urgency};
use waooaw_runtime::{Catalog, Runtime, RuntimeConfig, WakeInput, WorkError, WorkFn, WorkOutput, WorkRegistry};

const SPEC: &str = r#"
id = "docs-guard"
name = "Docs guard"
type = "guardian"
domain = "platform"
version = "1.0.0"
responsibilities = ["Decide whether a docs change needs review"]
work = "test.decide"

[wake]
subscriptions = ["file.*"]
"#;

/// Asks the engine about the changed file, then saves a deliverable with the answer.
struct Decide;
#[async_trait::async_trait]
impl WorkFn for Decide {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        let request = DecisionRequest {
            tenant_id: input.instance.tenant_id,
            instance_id: input.instance.id,
            request_type: "file.change".into(),
            context: input.event.payload.clone(),
            urgency: Urgency::Normal,
        };
        let d = input.decider.make_decision(input.spec, input.instance, request).await;
        Ok(WorkOutput::new(json!({}), d.reason.clone()).with_deliverable(waooaw_domain::NewDeliverable {
            kind: "note".into(),
            title: "Decision".into(),
            body_markdown: d.reason,
        }))
    }
}

fn find<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// True when `ancestor` is on `span`'s parent chain.
fn descends(spans: &[SpanData], span: &SpanData, ancestor: SpanId) -> bool {
    let mut parent = span.parent_span_id;
    for _ in 0..32 {
        if parent == ancestor {
            return true;
        }
        match spans.iter().find(|s| s.span_context.span_id() == parent) {
            Some(p) => parent = p.parent_span_id,
            None => return false,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_one_trace_from_ingestion_to_output() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let subscriber = tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("waooaw")));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
    waooaw_runtime::trace::enable();

    let dir = tempfile::tempdir().unwrap();
    let store = waooaw_store::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let tenant =
        Tenant { id: TenantId::new(), name: "Acme".into(), webhook_secret: "whsec-acme-0123456789".into(), created_at: chrono::Utc::now() };
    store.create_tenant(&tenant).await.unwrap();
    let mut catalog = Catalog::default();
    catalog.insert(Specialization::from_toml("docs-guard.toml", SPEC, &["test.decide"]).unwrap());
    let memory =
        SemanticMemory::open(store.clone(), EmbedSource::Offline(HashedNgramEmbedder::new()), IndexConfig::default()).await.unwrap();
    let engine = Arc::new(Engine::new(store.clone(), Arc::new(memory), None, EngineConfig::default()));
    let mut work = WorkRegistry::default();
    work.register("test.decide", Arc::new(Decide));
    let bus: waooaw_bus::DynBus = Arc::new(waooaw_bus::inprocess::InProcessBus::new());
    let rt =
        Runtime::start(RuntimeConfig::default(), store.clone(), bus, Arc::new(catalog), work, None, Some(engine.clone())).await.unwrap();
    let instance: Instance =
        rt.create_instance(tenant.id, "docs-guard", Personality { name: "Gus".into(), ..Default::default() }).await.unwrap();

    let first = rt
        .publish(NewEvent::new(EventType::parse("file.modified").unwrap(), "github", tenant.id, json!({"path": "docs/setup.md"})))
        .await
        .unwrap();
    let mut follow = NewEvent::new(EventType::parse("file.created").unwrap(), "agent", tenant.id, json!({"path": "docs/faq.md"}));
    follow.correlation_id = Some(first.correlation_id);
    follow.parent_id = Some(first.id);
    let second = rt.publish(follow).await.unwrap();

    // Both wakes finish (two deliverables saved), then their spans are exported.
    for _ in 0..200 {
        if store.list_deliverables(tenant.id, instance.id, 10).await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rt.shutdown(Duration::from_secs(2)).await;
    engine.flush_log().await;
    let _ = provider.force_flush();
    let spans = exporter.get_finished_spans().unwrap();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();

    let trace = opentelemetry::trace::TraceId::from_bytes(*first.correlation_id.0.as_bytes());
    let event = find(&spans, "event file.modified");
    assert_eq!(event.len(), 1, "{names:?}");
    let event = event[0];
    assert_eq!(event.span_context.trace_id(), trace, "the correlation id is the trace id");
    let event_span = event.span_context.span_id();

    let wakes: Vec<_> = find(&spans, "wake").into_iter().filter(|w| w.parent_span_id == event_span).collect();
    assert_eq!(wakes.len(), 1, "one wake under the event: {names:?}");
    let wake = wakes[0];
    assert_eq!(wake.span_context.trace_id(), trace);

    let decision = find(&spans, "decision").into_iter().find(|d| descends(&spans, d, wake.span_context.span_id())).expect("decision");
    let attr = |s: &SpanData, k: &str| s.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
    assert_eq!(attr(decision, "request_type").as_deref(), Some("file.change"));
    assert_eq!(attr(decision, "method").as_deref(), Some("fallback"), "no rule, cache, memory or LLM applies");
    for tier in ["tier.cache", "tier.memory"] {
        assert!(
            find(&spans, tier).iter().any(|t| t.parent_span_id == decision.span_context.span_id()),
            "{tier} under the decision: {names:?}"
        );
    }
    assert!(find(&spans, "save_context").iter().any(|s| descends(&spans, s, wake.span_context.span_id())), "the saved output: {names:?}");

    // The follow-up continues the trace as a child of its cause.
    let child = find(&spans, "event file.created");
    assert_eq!(child.len(), 1, "{names:?}");
    assert_eq!((child[0].span_context.trace_id(), child[0].parent_span_id), (trace, event_span));
    assert!(find(&spans, "wake").iter().any(|w| w.parent_span_id == child[0].span_context.span_id()), "{names:?}");
    assert_ne!(second.id, first.id);
}
