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
use pulldown_cmark::{Event, Tag};
use serde_json::{Value, json};
use std::collections::HashMap;
use waooaw_domain::{Deliverable, EventType, InstanceId, InstanceStatus, NewEvent, TenantId};

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
    let target = s
        .runtime
        .store()
        .get_instance(tenant, instance)
        .await?
        .ok_or_else(|| ApiError::new(Code::InstanceNotFound, format!("instance {instance} not found in tenant {tenant}")))?;
    // A retired instance never wakes again: accepting the upload would promise a deliverable
    // that never comes. (A paused one keeps it for its resume.)
    if target.status == InstanceStatus::Retired {
        return Err(ApiError::new(Code::Conflict, format!("instance {instance} is retired and takes no more inputs")));
    }
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
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(&d.body_markdown, options).map(inert));
    let mut v = serde_json::to_value(d).unwrap_or_default();
    v["body_html"] = json!(html);
    v
}

/// Deliverables quote what customers upload (deal names, filenames, page text), so raw HTML in
/// the Markdown is shown as text and links may not run script: `body_html` is safe to display.
fn inert(event: Event<'_>) -> Event<'_> {
    match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) if !safe_url(&dest_url) => {
            Event::Start(Tag::Link { link_type, dest_url: "#".into(), title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) if !safe_url(&dest_url) => {
            Event::Start(Tag::Image { link_type, dest_url: "#".into(), title, id })
        }
        other => other,
    }
}

/// Relative URLs and http(s)/mailto only; anything else with a scheme (`javascript:`, `data:`,
/// `java\tscript:` that browsers read as `javascript:`) is refused.
fn safe_url(url: &str) -> bool {
    match url.find([':', '/', '?', '#']) {
        Some(i) if url.get(i..=i) == Some(":") => {
            matches!(url.get(..i).map(|s| s.trim().to_ascii_lowercase()).as_deref(), Some("http" | "https" | "mailto"))
        }
        _ => true,
    }
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

#[cfg(test)]
mod tests {
    use super::safe_url;

    #[test]
    fn only_web_and_mail_schemes_are_linked() {
        for ok in ["https://example.com/a", "http://x", "MAILTO:ana@example.com", "/docs/a.md", "a.md#x", "?q=a:b", "#top", "docs/a:b"] {
            assert!(safe_url(ok), "{ok}");
        }
        for bad in ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,x", "vbscript:x", ":x"] {
            assert!(!safe_url(bad), "{bad}");
        }
    }
}
