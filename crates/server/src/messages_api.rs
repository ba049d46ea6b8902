//! `POST /v1/messages`: a message between two of a tenant's agents, in the agent message
//! protocol's envelope (see `waooaw_domain::message`). It is resolved and checked exactly like a
//! message an agent sends: an unknown or foreign recipient is 404, an action the receiver does
//! not accept or a payload failing its schema is 422 naming the field.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{json_body, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use waooaw_domain::{EventId, InstanceId, Message, MessageKind, PROTOCOL_VERSION, Recipient, TenantId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendMessage {
    #[serde(default = "protocol")]
    protocol: u16,
    tenant_id: TenantId,
    from: InstanceId,
    to: Recipient,
    #[serde(default = "notification")]
    kind: MessageKind,
    action: String,
    #[serde(default)]
    payload: Value,
    conversation_id: Option<EventId>,
    parent_id: Option<EventId>,
    #[serde(default)]
    requires_response: bool,
    respond_by: Option<DateTime<Utc>>,
    #[serde(default)]
    priority: waooaw_domain::Priority,
}

fn protocol() -> u16 {
    PROTOCOL_VERSION
}

fn notification() -> MessageKind {
    MessageKind::Notification
}

pub async fn send_message(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Result<impl IntoResponse, ApiError> {
    let req: SendMessage = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    s.runtime.require_tenant(req.tenant_id).await?;
    let id = EventId::new();
    let msg = Message {
        protocol: req.protocol,
        id,
        tenant_id: req.tenant_id,
        from: req.from,
        to: req.to,
        kind: req.kind,
        action: req.action,
        payload: req.payload,
        conversation_id: req.conversation_id.unwrap_or(id),
        parent_id: req.parent_id,
        requires_response: req.requires_response,
        respond_by: req.respond_by,
        priority: req.priority,
    };
    let events = s.runtime.send_message(&msg).await?;
    let delivered: Vec<Value> = events.iter().map(|e| json!({"message_id": e.id, "to_instance": e.target_instance})).collect();
    Ok((StatusCode::ACCEPTED, Json(json!({"conversation_id": msg.conversation_id, "messages": delivered}))))
}
