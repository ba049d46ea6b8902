//! External outputs in the store: tenants' GitHub connections (tokens sealed before they get
//! here) and the outbox. Outbox rows are written by `commit_wakes` with the wake that decided
//! them (see [`insert_outbox!`]); the dispatcher reads the due ones and records each outcome.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use waooaw_domain::{InstanceId, OutboxItem, OutboxRecord, OutboxStatus, TenantId};

/// A tenant's GitHub connection as stored: the repository and the sealed token.
#[derive(Clone, PartialEq)]
pub struct GithubConnection {
    pub repository: String,
    pub token_sealed: String,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for GithubConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GithubConnection({}, token sealed)", self.repository)
    }
}

/// The outcome of one attempt at an outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxAttempt {
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub url: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
}

#[async_trait]
pub trait OutputStore: Send + Sync {
    async fn set_github_connection(&self, tenant: TenantId, repository: &str, token_sealed: &str, now: DateTime<Utc>) -> StoreResult<()>;
    async fn get_github_connection(&self, tenant: TenantId) -> StoreResult<Option<GithubConnection>>;
    /// Returns whether there was one.
    async fn delete_github_connection(&self, tenant: TenantId) -> StoreResult<bool>;
    /// Pending rows due at `now`, every tenant's, oldest first: the handoffs (keys starting
    /// `handoff:`, sent by the runtime) or the others (sent to GitHub).
    async fn due_outbox(&self, now: DateTime<Utc>, limit: i64, handoffs: bool) -> StoreResult<Vec<OutboxRecord>>;
    /// Records an attempt's outcome.
    async fn update_outbox(&self, tenant: TenantId, key: &str, attempt: &OutboxAttempt) -> StoreResult<()>;
    /// Records several outcomes in one transaction (the handoff sender's batch).
    async fn update_outbox_many(&self, attempts: &[(TenantId, String, OutboxAttempt)]) -> StoreResult<()>;
    /// Queues one GitHub output outside a wake (an escalation raised by the decision engine),
    /// only if the tenant has a GitHub connection; a key the tenant already has is kept as it
    /// is. Returns whether a row was added.
    async fn enqueue_github_output(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        item: &OutboxItem,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// A tenant's rows, newest first.
    async fn list_outbox(&self, tenant: TenantId, limit: i64) -> StoreResult<Vec<OutboxRecord>>;
}

/// Inside `commit_wakes`: one multi-row insert of the accepted wakes' outbox items; a key the
/// tenant already has is kept as it is (the same finding again is not sent again).
macro_rules! insert_outbox {
    ($tx:ident, $sent:ident) => {
        for part in $sent.chunks(crate::wake_commit::WAKE_CHUNK) {
            let sql = format!(
                "INSERT INTO outbox (tenant_id, key, instance_id, action, status, next_attempt_at, created_at) VALUES {} \
                 ON CONFLICT (tenant_id, key) DO NOTHING",
                values_rows(1, part.len(), 7, POSITIONAL_PARAMS)
            );
            let actions = part
                .iter()
                .map(|(_, o)| serde_json::to_value(&o.action))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| crate::common::corrupt("outbox", e.to_string()))?;
            let mut q = sqlx::query(&sql);
            for ((c, o), action) in part.iter().zip(&actions) {
                q = q
                    .bind(enc_id(c.tenant_id.0))
                    .bind(o.key.as_str())
                    .bind(enc_id(c.instance_id.0))
                    .bind(enc_json(action))
                    .bind("pending")
                    .bind(enc_ts(match c.handoffs_due_at {
                        Some(at) if o.key.starts_with(waooaw_domain::HANDOFF_KEY_PREFIX) => at,
                        _ => c.now,
                    }))
                    .bind(enc_ts(c.now));
            }
            q.execute(&mut *$tx).await?;
        }
    };
}

pub(crate) use insert_outbox;

/// Expands to the `OutputStore` impl of each store (see `impl_store!`).
macro_rules! output_store_impl {
    ($store:ident) => {
        mod output_impl {
            use super::*;
            use crate::StoreResult;
            use crate::outbox_store::{GithubConnection, OutboxAttempt, OutputStore};
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use waooaw_domain::{InstanceId, OutboxRecord, OutboxStatus, TenantId};

            const COLS: &str = "tenant_id, key, instance_id, action, status, attempts, last_error, url, next_attempt_at, created_at";

            fn record(r: &DbRow) -> StoreResult<OutboxRecord> {
                const T: &str = "outbox";
                let status: String = r.try_get("status")?;
                Ok(OutboxRecord {
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    instance_id: InstanceId(get_uuid(r, "instance_id", T)?),
                    key: r.try_get("key")?,
                    action: serde_json::from_value(get_json(r, "action", T)?)
                        .map_err(|e| crate::common::corrupt(T, format!("action: {e}")))?,
                    status: OutboxStatus::parse(&status).ok_or_else(|| crate::common::corrupt(T, format!("status `{status}`")))?,
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                    url: r.try_get("url")?,
                    next_attempt_at: get_ts(r, "next_attempt_at", T)?,
                    created_at: get_ts(r, "created_at", T)?,
                })
            }

            #[async_trait]
            impl OutputStore for $store {
                async fn set_github_connection(
                    &self,
                    tenant: TenantId,
                    repository: &str,
                    token_sealed: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO github_connections (tenant_id, repository, token_sealed, updated_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (tenant_id) DO UPDATE SET repository = excluded.repository, \
                         token_sealed = excluded.token_sealed, updated_at = excluded.updated_at",
                    )
                    .bind(enc_id(tenant.0))
                    .bind(repository)
                    .bind(token_sealed)
                    .bind(enc_ts(now))
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn get_github_connection(&self, tenant: TenantId) -> StoreResult<Option<GithubConnection>> {
                    let Some(r) = sqlx::query("SELECT repository, token_sealed, updated_at FROM github_connections WHERE tenant_id = $1")
                        .bind(enc_id(tenant.0))
                        .fetch_optional(&self.pool)
                        .await?
                    else {
                        return Ok(None);
                    };
                    Ok(Some(GithubConnection {
                        repository: r.try_get("repository")?,
                        token_sealed: r.try_get("token_sealed")?,
                        updated_at: get_ts(&r, "updated_at", "github_connections")?,
                    }))
                }

                async fn delete_github_connection(&self, tenant: TenantId) -> StoreResult<bool> {
                    let done = sqlx::query("DELETE FROM github_connections WHERE tenant_id = $1")
                        .bind(enc_id(tenant.0))
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn due_outbox(&self, now: DateTime<Utc>, limit: i64, handoffs: bool) -> StoreResult<Vec<OutboxRecord>> {
                    let kind = if handoffs { "LIKE" } else { "NOT LIKE" };
                    let sql = format!(
                        "SELECT {COLS} FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 AND key {kind} 'handoff:%' \
                         ORDER BY next_attempt_at LIMIT $2"
                    );
                    sqlx::query(&sql).bind(enc_ts(now)).bind(limit).fetch_all(&self.pool).await?.iter().map(record).collect()
                }

                async fn update_outbox(&self, tenant: TenantId, key: &str, a: &OutboxAttempt) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE outbox SET status = $3, attempts = $4, last_error = $5, url = $6, next_attempt_at = $7 \
                         WHERE tenant_id = $1 AND key = $2",
                    )
                    .bind(enc_id(tenant.0))
                    .bind(key)
                    .bind(a.status.as_str())
                    .bind(a.attempts)
                    .bind(a.last_error.as_deref())
                    .bind(a.url.as_deref())
                    .bind(enc_ts(a.next_attempt_at))
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn enqueue_github_output(
                    &self,
                    tenant: TenantId,
                    instance: InstanceId,
                    item: &waooaw_domain::OutboxItem,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let action = serde_json::to_value(&item.action).map_err(|e| crate::common::corrupt("outbox", e.to_string()))?;
                    let done = sqlx::query(
                        "INSERT INTO outbox (tenant_id, key, instance_id, action, status, next_attempt_at, created_at) \
                         SELECT $1, $2, $3, $4, 'pending', $5, $5 WHERE EXISTS \
                         (SELECT 1 FROM github_connections WHERE tenant_id = $1) ON CONFLICT (tenant_id, key) DO NOTHING",
                    )
                    .bind(enc_id(tenant.0))
                    .bind(item.key.as_str())
                    .bind(enc_id(instance.0))
                    .bind(enc_json(&action))
                    .bind(enc_ts(now))
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn update_outbox_many(&self, attempts: &[(TenantId, String, OutboxAttempt)]) -> StoreResult<()> {
                    if attempts.is_empty() {
                        return Ok(());
                    }
                    write_outbox_attempts(self, attempts).await
                }

                async fn list_outbox(&self, tenant: TenantId, limit: i64) -> StoreResult<Vec<OutboxRecord>> {
                    let sql = format!("SELECT {COLS} FROM outbox WHERE tenant_id = $1 ORDER BY created_at DESC, key LIMIT $2");
                    sqlx::query(&sql).bind(enc_id(tenant.0)).bind(limit).fetch_all(&self.pool).await?.iter().map(record).collect()
                }
            }
        }
    };
}

pub(crate) use output_store_impl;
