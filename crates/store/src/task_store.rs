//! Coordinated tasks in the store: a task a coordinator routed by its RACI matrix, the instance
//! holding its lease and until when. A lease moves only by a conditional update naming the
//! holder it replaces, so two processes reclaiming the same expired lease cannot both win, and
//! only the current holder can complete the task.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use waooaw_domain::{InstanceId, Task, TaskStatus, TenantId};

#[async_trait]
pub trait TaskStore: Send + Sync {
    async fn insert_task(&self, task: &Task) -> StoreResult<()>;
    async fn get_task(&self, tenant: TenantId, id: uuid::Uuid) -> StoreResult<Option<Task>>;
    /// A tenant's tasks, newest first.
    async fn list_tasks(&self, tenant: TenantId, limit: i64) -> StoreResult<Vec<Task>>;
    /// Assigned tasks whose lease ran out by `now`, every tenant's, oldest first.
    async fn expired_tasks(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Task>>;
    /// Moves the lease of an assigned task from `from` to `to` until `expires`; false if someone
    /// else moved it first or the task is no longer assigned.
    async fn reassign_task(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        from: InstanceId,
        to: InstanceId,
        expires: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Closes an assigned task held by `holder`; false if it is held by another or closed.
    async fn complete_task(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        holder: InstanceId,
        status: TaskStatus,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Assigned tasks per holder in a tenant: the coordinator's "outstanding work".
    async fn outstanding_tasks(&self, tenant: TenantId) -> StoreResult<Vec<(InstanceId, i64)>>;
}

/// Expands to the `TaskStore` impl of each store (see `impl_store!`).
macro_rules! task_store_impl {
    ($store:ident) => {
        mod task_impl {
            use super::*;
            use crate::StoreResult;
            use crate::task_store::TaskStore;
            use waooaw_domain::{Task, TaskStatus};
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use waooaw_domain::{InstanceId, TenantId};

            const COLS: &str =
                "tenant_id, id, task_type, coordinator, package, status, holder, lease_expires_at, attempts, outcome, created_at, updated_at";

            fn task(r: &DbRow) -> StoreResult<Task> {
                const T: &str = "tasks";
                let status: String = r.try_get("status")?;
                Ok(Task {
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    id: get_uuid(r, "id", T)?,
                    task_type: r.try_get("task_type")?,
                    coordinator: r.try_get("coordinator")?,
                    package: get_json(r, "package", T)?,
                    status: TaskStatus::parse(&status).ok_or_else(|| crate::common::corrupt(T, format!("status `{status}`")))?,
                    holder: get_opt_uuid(r, "holder", T)?.map(InstanceId),
                    lease_expires_at: get_ts(r, "lease_expires_at", T)?,
                    attempts: r.try_get("attempts")?,
                    outcome: r.try_get("outcome")?,
                    created_at: get_ts(r, "created_at", T)?,
                    updated_at: get_ts(r, "updated_at", T)?,
                })
            }

            #[async_trait]
            impl TaskStore for $store {
                async fn insert_task(&self, t: &Task) -> StoreResult<()> {
                    let sql = format!("INSERT INTO tasks ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)");
                    sqlx::query(&sql)
                        .bind(enc_id(t.tenant_id.0))
                        .bind(enc_id(t.id))
                        .bind(t.task_type.as_str())
                        .bind(t.coordinator.as_str())
                        .bind(enc_json(&t.package))
                        .bind(t.status.as_str())
                        .bind(t.holder.map(|h| enc_id(h.0)))
                        .bind(enc_ts(t.lease_expires_at))
                        .bind(t.attempts)
                        .bind(t.outcome.as_deref())
                        .bind(enc_ts(t.created_at))
                        .bind(enc_ts(t.updated_at))
                        .execute(&self.writer)
                        .await
                        .map_err(|e| unique_as_conflict(e, format!("task {}", t.id)))?;
                    Ok(())
                }

                async fn get_task(&self, tenant: TenantId, id: uuid::Uuid) -> StoreResult<Option<Task>> {
                    let sql = format!("SELECT {COLS} FROM tasks WHERE tenant_id = $1 AND id = $2");
                    sqlx::query(&sql).bind(enc_id(tenant.0)).bind(enc_id(id)).fetch_optional(&self.pool).await?.as_ref().map(task).transpose()
                }

                async fn list_tasks(&self, tenant: TenantId, limit: i64) -> StoreResult<Vec<Task>> {
                    let sql = format!("SELECT {COLS} FROM tasks WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2");
                    sqlx::query(&sql).bind(enc_id(tenant.0)).bind(limit).fetch_all(&self.pool).await?.iter().map(task).collect()
                }

                async fn expired_tasks(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Task>> {
                    let sql = format!(
                        "SELECT {COLS} FROM tasks WHERE status = 'assigned' AND lease_expires_at <= $1 ORDER BY lease_expires_at LIMIT $2"
                    );
                    sqlx::query(&sql).bind(enc_ts(now)).bind(limit).fetch_all(&self.pool).await?.iter().map(task).collect()
                }

                async fn reassign_task(
                    &self,
                    tenant: TenantId,
                    id: uuid::Uuid,
                    from: InstanceId,
                    to: InstanceId,
                    expires: DateTime<Utc>,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE tasks SET holder = $4, lease_expires_at = $5, attempts = attempts + 1, updated_at = $6 \
                         WHERE tenant_id = $1 AND id = $2 AND holder = $3 AND status = 'assigned'",
                    )
                    .bind(enc_id(tenant.0))
                    .bind(enc_id(id))
                    .bind(enc_id(from.0))
                    .bind(enc_id(to.0))
                    .bind(enc_ts(expires))
                    .bind(enc_ts(now))
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn complete_task(
                    &self,
                    tenant: TenantId,
                    id: uuid::Uuid,
                    holder: InstanceId,
                    status: TaskStatus,
                    outcome: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE tasks SET status = $4, outcome = $5, updated_at = $6 \
                         WHERE tenant_id = $1 AND id = $2 AND holder = $3 AND status = 'assigned'",
                    )
                    .bind(enc_id(tenant.0))
                    .bind(enc_id(id))
                    .bind(enc_id(holder.0))
                    .bind(status.as_str())
                    .bind(outcome)
                    .bind(enc_ts(now))
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn outstanding_tasks(&self, tenant: TenantId) -> StoreResult<Vec<(InstanceId, i64)>> {
                    let rows = sqlx::query(
                        "SELECT holder, COUNT(*) AS n FROM tasks WHERE tenant_id = $1 AND status = 'assigned' AND holder IS NOT NULL \
                         GROUP BY holder",
                    )
                    .bind(enc_id(tenant.0))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(|r| Ok((InstanceId(get_uuid(r, "holder", "tasks")?), r.try_get::<i64, _>("n")?))).collect()
                }
            }
        }
    };
}

pub(crate) use task_store_impl;
