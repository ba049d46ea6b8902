//! `POST /v1/consensus`: a question put to several of a tenant's agents on behalf of one of
//! them; answers with the tally once every voter answered or the deadline passed.

use crate::AppState;
use crate::error::{ApiError, Code};
use crate::extract::{json_body, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use waooaw_domain::{EventId, InstanceId, Recipient, TenantId};

/// The most voters one question may have.
const MAX_VOTERS: usize = 100;
/// The longest a request may wait for its voters.
const MAX_DEADLINE_MS: u64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AskConsensus {
    tenant_id: TenantId,
    from: InstanceId,
    question: String,
    request_type: String,
    #[serde(default)]
    context: Value,
    voters: Vec<Recipient>,
    quorum: usize,
    deadline_ms: u64,
    conversation_id: Option<EventId>,
}

pub async fn ask(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let req: AskConsensus = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    if req.deadline_ms == 0 || req.deadline_ms > MAX_DEADLINE_MS {
        return Err(ApiError::new(Code::InvalidRequest, format!("`deadline_ms` must be 1..={MAX_DEADLINE_MS}")));
    }
    if req.voters.len() > MAX_VOTERS {
        return Err(ApiError::new(Code::InvalidRequest, format!("at most {MAX_VOTERS} voters, got {}", req.voters.len())));
    }
    if req.quorum > req.voters.len() {
        return Err(ApiError::new(
            Code::InvalidRequest,
            format!("a quorum of {} cannot be met by {} voter(s)", req.quorum, req.voters.len()),
        ));
    }
    s.runtime.require_tenant(req.tenant_id).await?;
    let from = s
        .runtime
        .store()
        .get_instance(req.tenant_id, req.from)
        .await?
        .ok_or_else(|| ApiError::new(Code::InstanceNotFound, format!("instance {} not found in tenant {}", req.from, req.tenant_id)))?;
    let conversation = req.conversation_id.unwrap_or_default(); // a new id
    let deadline = Duration::from_millis(req.deadline_ms);
    let outcome = s
        .runtime
        .consensus(&from, conversation, None, &req.question, &req.request_type, req.context, &req.voters, req.quorum, deadline)
        .await?;
    Ok(Json(json!({"conversation_id": conversation, "outcome": outcome})))
}
