//! JSON API handlers. Customer-owned rows are always read through their tenant.

use crate::AppState;
use crate::error::{ApiError, Code};
use crate::extract::{json_body, optional_param, parse_id, query_param, read_body};
use crate::webhook::{self, Mapped, SignatureError};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use waooaw_domain::{EventId, InstanceId, LifecycleAction, NewEvent, Personality, Tenant, TenantId};
use waooaw_integrations::resilience::{BreakerState, Criticality};

type Q = Query<HashMap<String, String>>;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let store = s.runtime.store().ping().await;
    let bus = s.runtime.bus().ping().await;
    let detail = |r: &Result<(), String>| match r {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e}),
    };
    let store = store.map_err(|e| e.to_string());
    let bus = bus.map_err(|e| e.to_string());
    // Every breaker is reported; only an open critical one makes the process unready. An open
    // LLM breaker does not: the engine falls back to the next provider, rules or a human.
    let breakers = s.breakers.report();
    let critical_open = breakers.iter().any(|b| b.criticality == Criticality::Critical && b.snapshot.state == BreakerState::Open);
    let ready = store.is_ok() && bus.is_ok() && !critical_open;
    let body = json!({"ready": ready,
        "store": {"kind": s.runtime.store().kind(), "status": detail(&store)},
        "bus": {"kind": s.runtime.bus().kind(), "status": detail(&bus)},
        "breakers": breakers});
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

pub async fn metrics(State(s): State<AppState>) -> Result<String, ApiError> {
    if let Ok(p) = s.runtime.bus().pending().await {
        metrics::gauge!("waooaw_bus_pending_messages").set(p as f64);
    }
    metrics::gauge!("waooaw_wakes_in_flight").set(s.runtime.wakes_in_flight() as f64);
    metrics::gauge!("waooaw_instances_routed").set(s.runtime.routed_instances() as f64);
    s.metrics.as_ref().map(|h| h.render()).ok_or_else(|| ApiError::new(Code::Unavailable, "metrics are not enabled in this process"))
}

pub async fn list_specializations(State(s): State<AppState>) -> Json<Value> {
    let specs: Vec<_> = s.runtime.catalog().iter().map(|s| s.as_ref().clone()).collect();
    Json(json!({"specializations": specs}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    name: String,
    #[serde(default)]
    webhook_secret: Option<String>,
}

pub async fn create_tenant(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Result<impl IntoResponse, ApiError> {
    let req: CreateTenant = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::new(Code::InvalidRequest, "name must be 1..=200 characters"));
    }
    let secret = match req.webhook_secret {
        Some(sec) if sec.len() < 16 || sec.len() > 256 => {
            return Err(ApiError::new(Code::InvalidRequest, "webhook_secret must be 16..=256 bytes"));
        }
        Some(sec) => sec,
        None => format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()),
    };
    let tenant = Tenant { id: TenantId::new(), name: name.to_owned(), webhook_secret: secret.clone(), created_at: Utc::now() };
    s.runtime.store().create_tenant(&tenant).await?;
    // The secret is shown once, at creation, so it can be set in GitHub.
    let mut body = serde_json::to_value(&tenant).unwrap_or_default();
    body["webhook_secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn list_tenants(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"tenants": s.runtime.store().list_tenants().await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInstance {
    tenant_id: TenantId,
    specialization_id: String,
    #[serde(flatten)]
    personality: Personality,
}

pub async fn create_instance(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Result<impl IntoResponse, ApiError> {
    let req: CreateInstance = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    let instance = s.runtime.create_instance(req.tenant_id, &req.specialization_id, req.personality).await?;
    Ok((StatusCode::CREATED, Json(instance)))
}

pub async fn list_instances(State(s): State<AppState>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    s.runtime.require_tenant(tenant).await?;
    Ok(Json(json!({"instances": s.runtime.store().list_instances(tenant).await?})))
}

pub async fn get_instance(State(s): State<AppState>, Path(id): Path<String>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let id: InstanceId = parse_id(&id)?;
    let instance = s
        .runtime
        .store()
        .get_instance(tenant, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::InstanceNotFound, format!("instance {id} not found in tenant {tenant}")))?;
    let context = s.runtime.store().latest_context(tenant, id).await?;
    let mut body = serde_json::to_value(&instance).unwrap_or_default();
    body["context"] = serde_json::to_value(context).unwrap_or(Value::Null);
    Ok(Json(body))
}

pub async fn transition_instance(
    State(s): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    let action = match action.as_str() {
        "hire" => LifecycleAction::Hire,
        "pause" => LifecycleAction::Pause,
        "resume" => LifecycleAction::Resume,
        "retire" => LifecycleAction::Retire,
        _ => return Err(ApiError::new(Code::RouteNotFound, format!("unknown instance action `{action}` (hire, pause, resume, retire)"))),
    };
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let id: InstanceId = parse_id(&id)?;
    let instance = s.runtime.transition(tenant, id, action).await?;
    Ok(Json(serde_json::to_value(instance).unwrap_or_default()))
}

pub async fn publish_event(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Result<impl IntoResponse, ApiError> {
    let new: NewEvent = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    // Events the platform raises itself carry checked payloads (a receiver's schema, a lease);
    // from outside they go through the endpoints that check them.
    let reserved = [("agent.message", "POST /v1/messages"), ("agent.handoff", "POST /v1/messages"), ("task.assigned", "POST /v1/tasks")];
    if let Some((ty, instead)) = reserved.iter().find(|(ty, _)| new.event_type.as_str() == *ty) {
        return Err(ApiError::new(Code::InvalidEventType, format!("`{ty}` events are raised by the platform; use {instead}")));
    }
    let event = s.runtime.publish(new).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": event.id, "status": "accepted", "correlation_id": event.correlation_id}))))
}

pub async fn get_event(State(s): State<AppState>, Path(id): Path<String>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let id: EventId = parse_id(&id)?;
    let store = s.runtime.store();
    let record = store
        .get_event(tenant, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::EventNotFound, format!("event {id} not found in tenant {tenant}")))?;
    let deliveries = store.list_deliveries(tenant, id).await?;
    Ok(Json(json!({"event": record.event, "status": record.status, "accepted_at": record.accepted_at, "deliveries": deliveries})))
}

/// A conversation: the events of one correlation (an upload, the handoffs it led to, answers),
/// oldest first, each with its deliveries.
pub async fn get_conversation(State(s): State<AppState>, Path(id): Path<String>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let id: EventId = parse_id(&id)?;
    s.runtime.require_tenant(tenant).await?;
    let store = s.runtime.store();
    let events = store.conversation_events(tenant, id, 500).await?;
    if events.is_empty() {
        return Err(ApiError::new(Code::ConversationNotFound, format!("conversation {id} not found in tenant {tenant}")));
    }
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let deliveries = store.list_deliveries(tenant, e.id).await?;
        out.push(json!({"event": e, "deliveries": deliveries}));
    }
    Ok(Json(json!({"conversation_id": id, "events": out})))
}

pub async fn list_dead_letters(State(s): State<AppState>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: Option<TenantId> = optional_param(&q, "tenant_id")?;
    let all = q.get("include_redriven").is_some_and(|v| v == "true");
    Ok(Json(json!({"dead_letters": s.runtime.store().list_dead_letters(tenant, all).await?})))
}

pub async fn redrive(State(s): State<AppState>, Path(id): Path<String>, Query(q): Q) -> Result<impl IntoResponse, ApiError> {
    let tenant: Option<TenantId> = optional_param(&q, "tenant_id")?;
    let id: uuid::Uuid = parse_id(&id)?;
    let dead = s.runtime.redrive(tenant, id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"redriven": dead}))))
}

pub async fn github_webhook(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let tenant: TenantId = parse_id(&tenant)?;
    let body = read_body(body, s.body_limit).await?;
    let record = s
        .runtime
        .store()
        .get_tenant(tenant)
        .await?
        .ok_or_else(|| ApiError::new(Code::TenantNotFound, format!("tenant {tenant} not found")))?;
    let sig = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    webhook::verify_signature(record.webhook_secret.as_bytes(), &body, sig).map_err(|e| match e {
        SignatureError::Missing => ApiError::new(Code::MissingSignature, "missing X-Hub-Signature-256 header"),
        SignatureError::Malformed => ApiError::new(Code::InvalidSignature, "X-Hub-Signature-256 must be `sha256=<64 hex digits>`"),
        SignatureError::Mismatch => {
            ApiError::new(Code::InvalidSignature, "X-Hub-Signature-256 does not match the body and the tenant's webhook secret")
        }
    })?;
    let gh_event = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::new(Code::MissingParameter, "missing X-GitHub-Event header"))?;
    let payload: Value = crate::extract::parse_json(&body)?;
    let delivery = headers.get("x-github-delivery").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    match webhook::map_delivery(tenant, gh_event, &payload).map_err(|e| ApiError::new(Code::InvalidRequest, e.0))? {
        Mapped::Ping { zen } => Ok((StatusCode::OK, Json(json!({"ok": true, "zen": zen})))),
        Mapped::Ignored(why) => Ok((StatusCode::ACCEPTED, Json(json!({"ignored": why})))),
        Mapped::Events(events) => {
            let mut ids = Vec::with_capacity(events.len());
            let mut types = Vec::with_capacity(events.len());
            for mut e in events {
                if let Value::Object(m) = &mut e.payload {
                    m.insert("github_delivery".into(), json!(delivery));
                }
                let ev = s.runtime.publish(e).await?;
                types.push(ev.event_type.to_string());
                ids.push(ev.id);
            }
            // A reply on an issue WAOOAW opened for an escalation answers it.
            let answered =
                if gh_event == "issue_comment" { crate::github_replies::answer_from_comment(&s, tenant, &payload).await } else { None };
            Ok((StatusCode::ACCEPTED, Json(json!({"events": ids, "types": types, "escalation": answered}))))
        }
    }
}
