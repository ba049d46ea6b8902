//! The HTTP server: health, the JSON API, GitHub webhooks, metrics and a status page.
//! Entry point: [`router`]. Every error answers through the code table in [`error`].

mod api;
mod budgets_api;
mod consensus_api;
mod decisions_api;
pub mod error;
mod extract;
mod github_api;
pub mod github_outbox;
mod github_replies;
mod messages_api;
mod outputs_api;
mod status_page;
mod tasks_api;
pub mod webhook;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use error::{ApiError, Code};
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;
use waooaw_runtime::Runtime;

#[derive(Clone)]
pub struct AppState {
    pub runtime: Arc<Runtime>,
    pub admin_token: Arc<str>,
    pub body_limit: usize,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// The decision engine; `None` answers its routes with 503.
    pub engine: Option<Arc<waooaw_decisions::Engine>>,
    /// The circuit breakers of outside dependencies, shown by `/readyz`.
    pub breakers: waooaw_integrations::resilience::BreakerRegistry,
    /// GitHub output (sealing key and API base); `None` answers its routes with 503.
    pub github: Option<github_outbox::GithubOutputs>,
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/specializations", get(api::list_specializations))
        .route("/tenants", get(api::list_tenants).post(api::create_tenant))
        .route("/instances", get(api::list_instances).post(api::create_instance))
        .route("/instances/{id}", get(api::get_instance))
        .route("/instances/{id}/{action}", post(api::transition_instance))
        .route("/events", post(api::publish_event))
        .route("/events/{id}", get(api::get_event))
        .route("/conversations/{id}", get(api::get_conversation))
        .route("/dead-letters", get(api::list_dead_letters))
        .route("/dead-letters/{id}/redrive", post(api::redrive))
        .route("/decisions", get(decisions_api::list_decisions).post(decisions_api::decide))
        .route("/decisions/summary", get(decisions_api::decision_summary))
        .route("/costs", get(decisions_api::costs))
        .route("/tenants/{id}/github", get(github_api::show).put(github_api::connect).delete(github_api::disconnect))
        .route("/outputs", get(github_api::list_outputs))
        .route("/messages", post(messages_api::send_message))
        .route("/consensus", post(consensus_api::ask))
        .route("/tasks", get(tasks_api::list).post(tasks_api::submit))
        .route("/tasks/{id}", get(tasks_api::get))
        .route("/budgets", get(budgets_api::get_budgets).put(budgets_api::set_budget))
        .route("/escalations", get(decisions_api::list_escalations))
        .route("/escalations/{id}/answer", post(decisions_api::answer_escalation))
        .route("/memories", post(decisions_api::create_memory))
        .route("/instances/{id}/inputs", post(outputs_api::upload_input))
        .route("/instances/{id}/deliverables", get(outputs_api::list_deliverables))
        .route("/deliverables/{id}", get(outputs_api::get_deliverable))
        .route("/memories/search", get(decisions_api::search_memories))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin));
    Router::new()
        .route("/", get(status_page::page))
        .route("/status/costs", get(status_page::costs))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/v1/webhooks/github/{tenant_id}", post(api::github_webhook))
        .nest("/v1", api)
        .fallback(|| async { ApiError::new(Code::RouteNotFound, "no such route") })
        .method_not_allowed_fallback(|| async { ApiError::new(Code::MethodNotAllowed, "method not allowed on this route") })
        .layer(middleware::from_fn(http_metrics))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then stops accepting and lets open requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// Until the security model lands, the API takes one admin bearer token, compared in constant time.
async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, ApiError> {
    let presented = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(t) if bool::from(t.as_bytes().ct_eq(state.admin_token.as_bytes())) => Ok(next.run(req).await),
        Some(_) => Err(ApiError::new(Code::Unauthorized, "the bearer token is not valid")),
        None => Err(ApiError::new(Code::Unauthorized, "missing `Authorization: Bearer <admin token>`")),
    }
}

async fn http_metrics(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("waooaw_http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("waooaw_http_request_duration_seconds", "route" => route).record(started.elapsed().as_secs_f64());
    resp
}
