//! A tenant's GitHub connection (`PUT|GET|DELETE /v1/tenants/{id}/github`) and its outputs
//! (`GET /v1/outputs?tenant_id=`). The token is sealed before it reaches the store and is never
//! returned, logged or shown in `Debug`.

use crate::AppState;
use crate::error::{ApiError, Code};
use crate::extract::{json_body, parse_id, query_param, read_body};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use waooaw_domain::TenantId;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Connect {
    repository: String,
    token: String,
}

fn outputs(s: &AppState) -> Result<&crate::github_outbox::GithubOutputs, ApiError> {
    s.github.as_ref().ok_or_else(|| ApiError::new(Code::Unavailable, "GitHub output is not enabled in this process"))
}

pub async fn connect(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = parse_id(&id)?;
    let req: Connect = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    waooaw_integrations::github::parse_repository(&req.repository).map_err(|e| ApiError::new(Code::InvalidRequest, e.to_string()))?;
    if req.token.is_empty() || req.token.len() > 255 || req.token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::new(Code::InvalidRequest, "token must be 1..=255 characters without spaces"));
    }
    s.runtime.require_tenant(tenant).await?;
    let sealed = outputs(&s)?.key.encrypt(&tenant.to_string(), &req.token);
    s.runtime.store().set_github_connection(tenant, &req.repository, &sealed, chrono::Utc::now()).await?;
    Ok(Json(json!({"tenant_id": tenant, "repository": req.repository, "token_set": true})))
}

pub async fn show(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = parse_id(&id)?;
    s.runtime.require_tenant(tenant).await?;
    let c = s.runtime.store().get_github_connection(tenant).await?.ok_or_else(|| not_connected(tenant))?;
    Ok(Json(json!({"tenant_id": tenant, "repository": c.repository, "token_set": true, "updated_at": c.updated_at})))
}

pub async fn disconnect(State(s): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let tenant: TenantId = parse_id(&id)?;
    s.runtime.require_tenant(tenant).await?;
    if s.runtime.store().delete_github_connection(tenant).await? { Ok(StatusCode::NO_CONTENT) } else { Err(not_connected(tenant)) }
}

fn not_connected(tenant: TenantId) -> ApiError {
    ApiError::new(Code::GithubNotConnected, format!("tenant {tenant} has no GitHub repository connected"))
}

pub async fn list_outputs(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    s.runtime.require_tenant(tenant).await?;
    let rows = s.runtime.store().list_outbox(tenant, 200).await?;
    Ok(Json(json!({"outputs": rows})))
}
