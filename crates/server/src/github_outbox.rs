//! The outbox dispatcher: sends due outbox rows to the tenant's GitHub and records each
//! outcome. Claim before call: a row's attempt is counted (and its next try pushed back) before
//! GitHub is called, so if the process dies between GitHub's answer and the record of it, the
//! next attempt sees `attempts > 0` and first looks for the row's marker on GitHub, adopting
//! what it finds instead of creating it again.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use waooaw_domain::{ExternalAction, OutboxRecord, OutboxStatus};
use waooaw_integrations::github::{GithubClient, GithubError};
use waooaw_integrations::resilience::{BreakerPolicy, BreakerRegistry, CircuitBreaker, Criticality};
use waooaw_integrations::secrets::MasterKey;
use waooaw_store::{DynStore, OutboxAttempt};

/// Attempts before a row is given up as failed.
pub const MAX_ATTEMPTS: i32 = 6;
/// How long a claimed row waits before another dispatcher may retry it.
const CLAIM: i64 = 60;
/// Label on every issue WAOOAW opens: how a retry finds its own issues.
pub const LABEL: &str = "waooaw";

/// What the dispatcher needs: the key that unseals tokens, GitHub's API base URL, and the
/// circuit breaker of GitHub (while it is open, rows wait instead of hammering GitHub).
#[derive(Clone)]
pub struct GithubOutputs {
    pub key: Arc<MasterKey>,
    pub api_base: String,
    pub breaker: Arc<CircuitBreaker>,
}

impl GithubOutputs {
    /// With GitHub's breaker registered in `breakers` (shown by `/readyz`; not critical:
    /// outputs wait in the outbox while GitHub is down).
    pub fn new(key: MasterKey, api_base: impl Into<String>, breakers: &BreakerRegistry) -> Self {
        let breaker = breakers.breaker("github", BreakerPolicy::default(), Criticality::Degradable);
        Self { key: Arc::new(key), api_base: api_base.into(), breaker }
    }
}

fn backoff(attempts: i32) -> Duration {
    Duration::seconds(5 * 2i64.pow(attempts.clamp(0, 10) as u32))
}

/// Sends the rows due at `now`; returns how many were done.
pub async fn dispatch_due(store: &DynStore, outputs: &GithubOutputs, now: DateTime<Utc>) -> usize {
    let rows = match store.due_outbox(now, 50, false).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "outbox: cannot read due rows");
            return 0;
        }
    };
    let mut done = 0;
    for row in rows {
        if send(store, outputs, &row, now).await {
            done += 1;
        }
    }
    done
}

async fn record(store: &DynStore, row: &OutboxRecord, attempt: OutboxAttempt) {
    if let Err(e) = store.update_outbox(row.tenant_id, &row.key, &attempt).await {
        tracing::warn!(tenant_id = %row.tenant_id, key = row.key, error = %e, "outbox: cannot record an attempt");
    }
    let status = attempt.status.as_str();
    metrics::counter!("waooaw_outbox_attempts_total", "status" => status).increment(1);
    tracing::info!(tenant_id = %row.tenant_id, key = row.key, status, attempts = attempt.attempts, url = attempt.url.as_deref(),
        error = attempt.last_error.as_deref(), "outbox attempt");
}

async fn send(store: &DynStore, outputs: &GithubOutputs, row: &OutboxRecord, now: DateTime<Utc>) -> bool {
    let attempts = row.attempts + 1;
    let retry = |error: String, retryable: bool| OutboxAttempt {
        status: if retryable && attempts < MAX_ATTEMPTS { OutboxStatus::Pending } else { OutboxStatus::Failed },
        attempts,
        last_error: Some(error),
        url: None,
        next_attempt_at: now + backoff(attempts),
    };
    let conn = match store.get_github_connection(row.tenant_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            // Kept pending: it goes out once the tenant connects a repository.
            let wait = OutboxAttempt {
                status: OutboxStatus::Pending,
                attempts: row.attempts,
                last_error: Some("no GitHub repository is connected".into()),
                url: None,
                next_attempt_at: now + Duration::minutes(10),
            };
            record(store, row, wait).await;
            return false;
        }
        Err(e) => {
            tracing::warn!(error = %e, "outbox: cannot read the GitHub connection");
            return false;
        }
    };
    let token = match outputs.key.decrypt(&row.tenant_id.to_string(), &conn.token_sealed) {
        Ok(t) => t,
        Err(e) => {
            record(store, row, retry(e.to_string(), false)).await;
            return false;
        }
    };
    let client = match GithubClient::new(&outputs.api_base, &token, &conn.repository) {
        Ok(c) => c,
        Err(e) => {
            record(store, row, retry(e.to_string(), false)).await;
            return false;
        }
    };
    let Ok(permit) = outputs.breaker.allow() else {
        let wait = OutboxAttempt {
            status: OutboxStatus::Pending,
            attempts: row.attempts,
            last_error: Some("GitHub's circuit breaker is open; waiting for it to recover".into()),
            url: None,
            next_attempt_at: now + Duration::seconds(30),
        };
        record(store, row, wait).await;
        return false;
    };
    // Claim: counted before the call, so a crash after it leaves a trace the next try honours.
    let claim = OutboxAttempt {
        status: OutboxStatus::Pending,
        attempts,
        last_error: row.last_error.clone(),
        url: None,
        next_attempt_at: now + Duration::seconds(CLAIM),
    };
    record(store, row, claim).await;
    let result = deliver(&client, row).await;
    // Only GitHub being unreachable or failing counts against it, not a request it refused.
    permit.record(matches!(&result, Err(e) if e.is_retryable()));
    match result {
        Ok(url) => {
            record(
                store,
                row,
                OutboxAttempt { status: OutboxStatus::Done, attempts, last_error: None, url: Some(url), next_attempt_at: now },
            )
            .await;
            true
        }
        Err(e) => {
            let retryable = e.is_retryable();
            record(store, row, retry(e.to_string(), retryable)).await;
            false
        }
    }
}

/// Adopts what an earlier attempt created, else creates it.
async fn deliver(client: &GithubClient, row: &OutboxRecord) -> Result<String, GithubError> {
    match &row.action {
        ExternalAction::GithubIssue { title, body, labels } => {
            if row.attempts > 0
                && let Some(found) = client.find_issue(LABEL, &row.key).await?
            {
                return Ok(found.url);
            }
            Ok(client.create_issue(title, body, labels).await?.url)
        }
        ExternalAction::GithubComment { number, body } => {
            if row.attempts > 0
                && let Some(found) = client.find_comment(*number, &row.key).await?
            {
                return Ok(found.url);
            }
            Ok(client.comment(*number, body).await?.url)
        }
        // Never selected here (the runtime sends them); refused rather than guessed at.
        ExternalAction::Handoff { .. } => Err(GithubError::Config("a handoff is not a GitHub action".into())),
    }
}

/// Runs the dispatcher every second until the task is dropped.
pub fn spawn(store: DynStore, outputs: GithubOutputs) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            dispatch_due(&store, &outputs, Utc::now()).await;
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    })
}
