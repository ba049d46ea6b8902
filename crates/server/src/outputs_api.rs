//! What agents take in and hand out: document uploads (`input.received` events that wake the
//! instance) and deliverables (Markdown, also rendered to HTML).

use crate::AppState;
use crate::error::{ApiError, Code};
use crate::extract::{optional_param, parse_id, query_param, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::collections::HashMap;
use waooaw_domain::{Deliverable, EventType, InstanceId, NewEvent, TenantId};

type Q = Query<HashMap<String, String>>;

/// Document types an agent can read, by `Content-Type`.
const ACCEPTED: &[&str] = &["text/plain", "text/markdown", "text/html", "text/css", "text/csv", "application/json"];

/// Uploads are carried in the event (so the wake needs no further read); the limit keeps events
/// reasonable whatever the general body limit is.
const MAX_INPUT: usize = 512 * 1024;

pub async fn upload_input(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let instance: InstanceId = parse_id(&id)?;
    let filename = q.get("filename").map(|f| f.trim()).filter(|f| !f.is_empty()).unwrap_or("upload");
    if filename.len() > 255 || filename.contains(['/', '\\', '\0']) {
        return Err(ApiError::new(Code::InvalidRequest, "filename must be a plain name of at most 255 bytes"));
    }
    let ct = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !ACCEPTED.contains(&mime.as_str()) {
        return Err(ApiError::new(Code::UnsupportedMediaType, format!("Content-Type `{ct}` is not one of {}", ACCEPTED.join(", "))));
    }
    let bytes = read_body(body, MAX_INPUT.min(s.body_limit)).await?;
    if bytes.is_empty() {
        return Err(ApiError::new(Code::InvalidRequest, "the document is empty"));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ApiError::new(Code::InvalidRequest, format!("the document is not UTF-8 text (first bad byte at offset {})", e.valid_up_to()))
    })?;
    if text.contains('\0') {
        return Err(ApiError::new(Code::InvalidRequest, "the document contains NUL bytes: binary files are not accepted"));
    }
    if mime == "application/json" {
        serde_json::from_str::<Value>(text)
            .map_err(|e| ApiError::new(Code::MalformedJson, format!("the JSON document is malformed: {e}")))?;
    }
    s.runtime.require_tenant(tenant).await?;
    s.runtime
        .store()
        .get_instance(tenant, instance)
        .await?
        .ok_or_else(|| ApiError::new(Code::InstanceNotFound, format!("instance {instance} not found in tenant {tenant}")))?;
    let payload = json!({"filename": filename, "content_type": mime, "size": bytes.len(), "content": text});
    let ty = EventType::parse("input.received").map_err(|e| ApiError::new(Code::Internal, e.to_string()))?;
    let mut event = NewEvent::new(ty, "upload", tenant, payload);
    event.target_instance = Some(instance);
    let event = s.runtime.publish(event).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"event_id": event.id, "filename": filename, "content_type": mime, "size": bytes.len()}))))
}

fn render(d: &Deliverable) -> Value {
    let mut html = String::with_capacity(d.body_markdown.len() * 2);
    let options = pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH;
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(&d.body_markdown, options));
    let mut v = serde_json::to_value(d).unwrap_or_default();
    v["body_html"] = json!(html);
    v
}

pub async fn list_deliverables(State(s): State<AppState>, Path(id): Path<String>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let instance: InstanceId = parse_id(&id)?;
    let limit = optional_param::<i64>(&q, "limit")?.unwrap_or(50).clamp(1, 500);
    s.runtime.require_tenant(tenant).await?;
    let list = s.runtime.store().list_deliverables(tenant, instance, limit).await?;
    Ok(Json(json!({"deliverables": list.iter().map(render).collect::<Vec<_>>()})))
}

pub async fn get_deliverable(State(s): State<AppState>, Path(id): Path<String>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let id: uuid::Uuid = parse_id(&id)?;
    let d = s
        .runtime
        .store()
        .get_deliverable(tenant, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::DeliverableNotFound, format!("deliverable {id} not found in tenant {tenant}")))?;
    Ok(Json(render(&d)))
}
