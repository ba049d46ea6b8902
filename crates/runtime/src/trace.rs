//! One trace per correlation, across the bus and across processes, with no trace context to
//! carry: the trace id is the event's correlation id (both are 128 bits), and each event is a
//! span whose id is derived from the event id. A wake's span is a child of its event's span; an
//! event published by a wake (a handoff, a follow-up) names its cause as `parent_id`, so its
//! span is a child of the cause's. The exporter (OTLP) is the binary's choice; without one this
//! costs a relaxed atomic load per event.

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer};
use opentelemetry::{Context, KeyValue};
use std::sync::atomic::{AtomicBool, Ordering};
use waooaw_domain::Event;

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Called once a tracer provider that exports spans is installed as the global one.
pub fn enable() {
    EXPORTING.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

fn trace_id(event: &Event) -> TraceId {
    TraceId::from_bytes(*event.correlation_id.0.as_bytes())
}

/// The low 64 bits of a UUIDv7 are random, so distinct events get distinct span ids; zero is
/// not a valid span id.
fn span_id(id: uuid::Uuid) -> SpanId {
    let (_, low) = id.as_u64_pair();
    SpanId::from_bytes(low.max(1).to_be_bytes())
}

fn remote(event: &Event, span: SpanId) -> Context {
    let sc = SpanContext::new(trace_id(event), span, TraceFlags::SAMPLED, true, TraceState::default());
    Context::new().with_remote_span_context(sc)
}

/// The context a wake of `event` runs in: a child of the event's span.
pub fn wake_parent(event: &Event) -> Context {
    remote(event, span_id(event.id.0))
}

/// Records the event's own span, from its timestamp to its durable storage: a child of its
/// cause's span when it has one, the root of its trace otherwise.
pub fn event_accepted(event: &Event) {
    if !enabled() {
        return;
    }
    let tracer = opentelemetry::global::tracer("waooaw");
    let parent = match event.parent_id {
        Some(p) => remote(event, span_id(p.0)),
        None => remote(event, SpanId::INVALID),
    };
    let mut builder = tracer
        .span_builder(format!("event {}", event.event_type))
        .with_kind(SpanKind::Producer)
        .with_start_time(std::time::SystemTime::from(event.timestamp))
        .with_attributes([
            KeyValue::new("waooaw.event_id", event.id.to_string()),
            KeyValue::new("waooaw.tenant_id", event.tenant_id.to_string()),
            KeyValue::new("waooaw.event_type", event.event_type.to_string()),
            KeyValue::new("waooaw.source", event.source.clone()),
        ]);
    builder.span_id = Some(span_id(event.id.0));
    builder.trace_id = Some(trace_id(event));
    let span = if event.parent_id.is_some() {
        builder.start_with_context(&tracer, &parent)
    } else {
        builder.start_with_context(&tracer, &Context::new())
    };
    drop(span);
}

#[cfg(test)]
mod tests {
    use super::*;
    use waooaw_domain::{EventType, NewEvent, TenantId};

    #[test]
    fn ids_come_from_the_event() {
        let e = NewEvent::new(EventType::parse("file.created").unwrap(), "test", TenantId::new(), serde_json::json!({}))
            .into_event(chrono::Utc::now())
            .unwrap();
        let cx = wake_parent(&e);
        let sc = cx.span().span_context().clone();
        assert_eq!(sc.trace_id().to_bytes(), *e.correlation_id.0.as_bytes());
        assert!(sc.is_valid() && sc.is_remote());
        assert_ne!(span_id(e.id.0), SpanId::INVALID);
        assert_eq!(span_id(uuid::Uuid::nil()), SpanId::from_bytes(1u64.to_be_bytes()));
    }
}
