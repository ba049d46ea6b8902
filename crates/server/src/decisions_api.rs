//! The decision engine's API: make a decision, read the decision log and its tier split,
//! answer escalations, store and search memories. Every call is scoped by `tenant_id`.

use crate::AppState;
use crate::error::{ApiError, Code};
use crate::extract::{json_body, optional_param, parse_id, query_param, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use waooaw_decisions::Engine;
use waooaw_domain::{
    DecisionRequest, EscalationStatus, EventType, HumanAnswer, Instance, InstanceId, NewEvent, Specialization, SummaryGroup, TenantId,
    Urgency, Verdict,
};

type Q = Query<HashMap<String, String>>;

fn engine(s: &AppState) -> Result<&Arc<Engine>, ApiError> {
    s.engine.as_ref().ok_or_else(|| ApiError::new(Code::Unavailable, "the decision engine is not enabled in this process"))
}

/// The instance (in the tenant) and its specialization.
async fn instance_and_spec(s: &AppState, tenant: TenantId, id: InstanceId) -> Result<(Instance, Arc<Specialization>), ApiError> {
    s.runtime.require_tenant(tenant).await?;
    let instance = s
        .runtime
        .store()
        .get_instance(tenant, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::InstanceNotFound, format!("instance {id} not found in tenant {tenant}")))?;
    let spec = s.runtime.catalog().get(&instance.specialization_id).cloned().ok_or_else(|| {
        ApiError::new(Code::SpecializationNotFound, format!("specialization `{}` is not in the catalog", instance.specialization_id))
    })?;
    Ok((instance, spec))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideBody {
    tenant_id: TenantId,
    instance_id: InstanceId,
    request_type: String,
    #[serde(default)]
    context: Value,
    #[serde(default)]
    urgency: Urgency,
}

pub async fn decide(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let req: DecideBody = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    EventType::parse(&req.request_type)
        .map_err(|e| ApiError::new(Code::InvalidRequest, format!("request_type `{}`: {e}", req.request_type)))?;
    if !(req.context.is_object() || req.context.is_null()) {
        return Err(ApiError::new(Code::InvalidRequest, "context must be a JSON object"));
    }
    let engine = engine(&s)?;
    let (instance, spec) = instance_and_spec(&s, req.tenant_id, req.instance_id).await?;
    let context = if req.context.is_null() { json!({}) } else { req.context };
    let request = DecisionRequest {
        tenant_id: req.tenant_id,
        instance_id: req.instance_id,
        request_type: req.request_type,
        context,
        urgency: req.urgency,
    };
    Ok(Json(serde_json::to_value(engine.decide(&spec, &instance, request).await).unwrap_or_default()))
}

fn limit(q: &HashMap<String, String>) -> Result<i64, ApiError> {
    Ok(optional_param::<i64>(q, "limit")?.unwrap_or(100).clamp(1, 1000))
}

pub async fn list_decisions(State(s): State<AppState>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let instance: Option<InstanceId> = optional_param(&q, "instance_id")?;
    s.runtime.require_tenant(tenant).await?;
    Ok(Json(json!({"decisions": s.runtime.store().list_decisions(tenant, instance, limit(&q)?).await?})))
}

/// Tier split: decisions, cost and tokens per method, grouped by tenant, instance,
/// specialization or day. Without `tenant_id` it covers every tenant (operator view).
pub async fn decision_summary(State(s): State<AppState>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: Option<TenantId> = optional_param(&q, "tenant_id")?;
    if let Some(t) = tenant {
        s.runtime.require_tenant(t).await?;
    }
    let raw = q.get("group_by").map_or("instance", String::as_str);
    let group = SummaryGroup::parse(raw).ok_or_else(|| {
        ApiError::new(Code::InvalidRequest, format!("group_by `{raw}` is not one of tenant, instance, specialization, day"))
    })?;
    let rows = s.runtime.store().decision_summary(tenant, group, None).await?;
    let mut groups: std::collections::BTreeMap<String, Value> = Default::default();
    for r in &rows {
        let g = groups.entry(r.group.clone()).or_insert_with(|| json!({"decisions": 0, "cost_usd": 0.0, "methods": {}}));
        g["decisions"] = json!(g["decisions"].as_i64().unwrap_or(0) + r.decisions);
        g["cost_usd"] = json!(g["cost_usd"].as_f64().unwrap_or(0.0) + r.cost_usd);
        g["methods"][r.method.as_str()] =
            json!({"decisions": r.decisions, "cost_usd": r.cost_usd, "tokens_in": r.tokens_in, "tokens_out": r.tokens_out});
    }
    Ok(Json(json!({"group_by": group.as_str(), "groups": groups})))
}

pub async fn list_escalations(State(s): State<AppState>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let status = match q.get("status").map(String::as_str) {
        None | Some("all") => None,
        Some(raw) => Some(
            EscalationStatus::parse(raw)
                .ok_or_else(|| ApiError::new(Code::InvalidRequest, format!("status `{raw}` is not one of pending, answered, all")))?,
        ),
    };
    s.runtime.require_tenant(tenant).await?;
    Ok(Json(json!({"escalations": s.runtime.store().list_escalations(tenant, status, limit(&q)?).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    /// approve, reject, or modify (act on the text's instruction).
    answer: String,
    #[serde(default)]
    text: String,
    answered_by: String,
}

/// Answers a pending escalation once; the answer is learned (memory and cache) and an event
/// wakes the instance so its waiting work resumes.
pub async fn answer_escalation(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let id: uuid::Uuid = parse_id(&id)?;
    let req: AnswerBody = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    let verdict = match req.answer.as_str() {
        "approve" => Verdict::Approve,
        "reject" => Verdict::Reject,
        "modify" => Verdict::Act,
        other => return Err(ApiError::new(Code::InvalidRequest, format!("answer `{other}` is not one of approve, reject, modify"))),
    };
    if verdict == Verdict::Act && req.text.trim().is_empty() {
        return Err(ApiError::new(Code::InvalidRequest, "a `modify` answer needs `text` saying what to do instead"));
    }
    if req.answered_by.trim().is_empty() {
        return Err(ApiError::new(Code::InvalidRequest, "answered_by must name who answered"));
    }
    let answer = HumanAnswer { verdict, text: req.text, answered_by: req.answered_by };
    let (answered, event) = answer_and_resume(&s, tenant, id, answer).await?;
    Ok((StatusCode::OK, Json(json!({"escalation": answered, "resume_event_id": event.id}))))
}

/// Records a human's answer (once; a second is a conflict), learns it, and wakes the instance
/// with a `human.escalation` event carrying it. Shared by the API and GitHub comment replies.
pub(crate) async fn answer_and_resume(
    s: &AppState,
    tenant: TenantId,
    id: uuid::Uuid,
    answer: HumanAnswer,
) -> Result<(waooaw_domain::Escalation, waooaw_domain::Event), ApiError> {
    let engine = engine(s)?;
    s.runtime.require_tenant(tenant).await?;
    let pending = s
        .runtime
        .store()
        .get_escalation(tenant, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::EscalationNotFound, format!("escalation {id} not found in tenant {tenant}")))?;
    let (_, spec) = instance_and_spec(s, tenant, pending.instance_id).await?;
    let answered = engine.answer_escalation(&spec, tenant, id, answer).await.map_err(|e| match e {
        waooaw_decisions::EngineError::EscalationNotFound(_) => {
            ApiError::new(Code::Conflict, format!("escalation {id} was already answered"))
        }
        other => ApiError::new(Code::Internal, other.to_string()),
    })?;
    let payload = json!({
        "escalation_id": answered.id, "answer": answered.answer, "request_type": answered.request.request_type,
        "context": answered.request.context,
    });
    let mut resume = NewEvent::new(
        EventType::parse("human.escalation").map_err(|e| ApiError::new(Code::Internal, e.to_string()))?,
        "human",
        tenant,
        payload,
    );
    resume.target_instance = Some(answered.instance_id);
    let event = s.runtime.publish(resume).await?;
    Ok((answered, event))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryBody {
    tenant_id: TenantId,
    #[serde(default)]
    instance_id: Option<InstanceId>,
    kind: String,
    text: String,
    #[serde(default)]
    metadata: Value,
}

pub async fn create_memory(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Result<impl IntoResponse, ApiError> {
    let req: MemoryBody = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    let kind_ok = !req.kind.is_empty() && req.kind.len() <= 64 && req.kind.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '-');
    if !kind_ok {
        return Err(ApiError::new(Code::InvalidRequest, "kind must be 1..=64 characters of a-z, _ and -"));
    }
    if req.text.trim().is_empty() || req.text.len() > 64 * 1024 {
        return Err(ApiError::new(Code::InvalidRequest, "text must be non-empty and at most 64 KiB"));
    }
    let engine = engine(&s)?;
    s.runtime.require_tenant(req.tenant_id).await?;
    if let Some(i) = req.instance_id {
        instance_and_spec(&s, req.tenant_id, i).await?;
    }
    let metadata = if req.metadata.is_null() { json!({}) } else { req.metadata };
    let m = engine
        .memory()
        .remember(req.tenant_id, req.instance_id, &req.kind, &req.text, metadata)
        .await
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))?;
    Ok((StatusCode::CREATED, Json(memory_json(&m, None))))
}

fn memory_json(m: &waooaw_domain::Memory, score: Option<f32>) -> Value {
    json!({"id": m.id, "tenant_id": m.tenant_id, "instance_id": m.instance_id, "kind": m.kind, "text": m.text,
        "metadata": m.metadata, "embedding_id": m.embedding_id, "created_at": m.created_at, "score": score})
}

pub async fn search_memories(State(s): State<AppState>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let instance: Option<InstanceId> = optional_param(&q, "instance_id")?;
    let text = q
        .get("q")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::new(Code::MissingParameter, "query parameter `q` is required"))?;
    let k = optional_param::<usize>(&q, "k")?.unwrap_or(5).clamp(1, 50);
    let kinds: Option<Vec<&str>> = q.get("kind").map(|k| k.split(',').collect());
    let engine = engine(&s)?;
    s.runtime.require_tenant(tenant).await?;
    let hits = engine
        .memory()
        .recall(tenant, instance, kinds.as_deref(), text, k)
        .await
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))?;
    Ok(Json(json!({"memories": hits.iter().map(|h| memory_json(&h.memory, Some(h.score))).collect::<Vec<_>>()})))
}

/// Spend: decisions, LLM calls, tokens and USD per tenant, instance, specialization or day,
/// from the decision log. Without `tenant_id`, every tenant (operator view).
pub async fn costs(State(s): State<AppState>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: Option<TenantId> = optional_param(&q, "tenant_id")?;
    if let Some(t) = tenant {
        s.runtime.require_tenant(t).await?;
    }
    let raw = q.get("group_by").map_or("tenant", String::as_str);
    let group = SummaryGroup::parse(raw).ok_or_else(|| {
        ApiError::new(Code::InvalidRequest, format!("group_by `{raw}` is not one of tenant, instance, specialization, day"))
    })?;
    let since = optional_param::<chrono::DateTime<chrono::Utc>>(&q, "since")?;
    let rows = s.runtime.store().decision_summary(tenant, group, since).await?;
    let (out, total) = cost_groups(&rows);
    Ok(Json(json!({"group_by": group.as_str(), "total_usd": total, "costs": out})))
}

/// Summary rows (one per group and method) folded into one cost line per group, and the total.
pub(crate) fn cost_groups(rows: &[waooaw_domain::TierSummaryRow]) -> (Vec<Value>, f64) {
    let mut out: Vec<Value> = Vec::new();
    for r in rows {
        if out.last().and_then(|v| v["group"].as_str()) != Some(r.group.as_str()) {
            out.push(json!({"group": r.group, "decisions": 0, "llm_calls": 0, "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0}));
        }
        let Some(g) = out.last_mut() else { continue };
        let add = |v: &Value, n: i64| json!(v.as_i64().unwrap_or(0) + n);
        g["decisions"] = add(&g["decisions"], r.decisions);
        if r.method == waooaw_domain::Method::Llm {
            g["llm_calls"] = add(&g["llm_calls"], r.decisions);
        }
        g["tokens_in"] = add(&g["tokens_in"], r.tokens_in);
        g["tokens_out"] = add(&g["tokens_out"], r.tokens_out);
        g["cost_usd"] = json!(g["cost_usd"].as_f64().unwrap_or(0.0) + r.cost_usd);
    }
    let total: f64 = out.iter().filter_map(|g| g["cost_usd"].as_f64()).sum();
    (out, total)
}
