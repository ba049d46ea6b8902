//! Coordinated tasks: `POST /v1/tasks` routes a document-shaped task through the coordinator
//! whose RACI matrix names its type; `GET /v1/tasks` and `GET /v1/tasks/{id}` show who holds
//! each lease, how often it was reclaimed, and the outcome.

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
use waooaw_domain::TenantId;
use waooaw_runtime::tasks::TaskError;

type Q = Query<HashMap<String, String>>;

impl From<TaskError> for ApiError {
    fn from(e: TaskError) -> Self {
        let code = match &e {
            TaskError::NoRoute { .. } | TaskError::NoResponsible(_) => Code::TaskNotRoutable,
            TaskError::NotFound(_) => Code::TaskNotFound,
            TaskError::Invalid(_) => Code::InvalidRequest,
            TaskError::Store(_) => Code::Unavailable,
        };
        Self::new(code, e.to_string())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitTask {
    tenant_id: TenantId,
    task_type: String,
    package: Value,
}

pub async fn submit(State(s): State<AppState>, headers: HeaderMap, body: Body) -> Result<impl IntoResponse, ApiError> {
    let req: SubmitTask = json_body(&headers, &read_body(body, s.body_limit).await?)?;
    s.runtime.require_tenant(req.tenant_id).await?;
    let task = s.runtime.submit_task(req.tenant_id, &req.task_type, req.package).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"task": task}))))
}

pub async fn list(State(s): State<AppState>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let limit = optional_param::<i64>(&q, "limit")?.unwrap_or(50).clamp(1, 500);
    s.runtime.require_tenant(tenant).await?;
    Ok(Json(json!({"tasks": s.runtime.store().list_tasks(tenant, limit).await?})))
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>, Query(q): Q) -> Result<Json<Value>, ApiError> {
    let tenant: TenantId = query_param(&q, "tenant_id")?;
    let id: uuid::Uuid = parse_id(&id)?;
    s.runtime.require_tenant(tenant).await?;
    let task = s
        .runtime
        .store()
        .get_task(tenant, id)
        .await?
        .ok_or_else(|| ApiError::new(Code::TaskNotFound, format!("task {id} not found in tenant {tenant}")))?;
    Ok(Json(json!({"task": task})))
}
