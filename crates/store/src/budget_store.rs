//! Budgets in the store: overrides set through the API, and the spend ledger the decision
//! engine reserves against before every LLM call and settles after it. A reservation is one
//! transaction of conditional UPDATEs (`spent + reserved + amount <= limit`), so concurrent
//! callers, in one process or many, can never together pass a limit.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use waooaw_domain::{BudgetLimits, InstanceId, TenantId};

/// One budget a call counts against: a scope in a period, with its limits (`None`: unlimited).
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerLine {
    /// `tenant`, `instance:<id>` or `spec:<id>`.
    pub scope: String,
    /// A UTC day (`2026-11-25`) or month (`2026-11`).
    pub period: String,
    pub max_tokens: Option<i64>,
    pub max_microusd: Option<i64>,
}

/// A ledger row as stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LedgerRow {
    pub scope: String,
    pub period: String,
    pub spent_tokens: i64,
    pub spent_microusd: i64,
    pub reserved_tokens: i64,
    pub reserved_microusd: i64,
}

#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Sets (replaces) the tenant's override (`instance: None`) or an instance's.
    async fn set_budget_override(
        &self,
        tenant: TenantId,
        instance: Option<InstanceId>,
        limits: &BudgetLimits,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The tenant's overrides: its own (`None`) and its instances'.
    async fn budget_overrides(&self, tenant: TenantId) -> StoreResult<Vec<(Option<InstanceId>, BudgetLimits)>>;
    /// Reserves the amounts on every line, or on none: `Ok(Err(i))` names the first line whose
    /// limit the reservation would pass.
    async fn reserve_budget(&self, tenant: TenantId, lines: &[LedgerLine], tokens: i64, microusd: i64) -> StoreResult<Result<(), usize>>;
    /// Replaces a reservation by what was spent (zero when the call failed).
    async fn settle_budget(&self, tenant: TenantId, lines: &[LedgerLine], reserved: (i64, i64), spent: (i64, i64)) -> StoreResult<()>;
    /// The rows of these (scope, period) pairs that exist.
    async fn budget_ledger(&self, tenant: TenantId, keys: &[(String, String)]) -> StoreResult<Vec<LedgerRow>>;
}

/// Expands to the `BudgetStore` impl of each store (see `impl_store!`).
macro_rules! budget_store_impl {
    ($store:ident) => {
        mod budget_impl {
            use super::*;
            use crate::StoreResult;
            use crate::budget_store::{BudgetStore, LedgerLine, LedgerRow};
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use waooaw_domain::{BudgetLimits, InstanceId, TenantId};

            #[async_trait]
            impl BudgetStore for $store {
                async fn set_budget_override(
                    &self,
                    tenant: TenantId,
                    instance: Option<InstanceId>,
                    limits: &BudgetLimits,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let subject = instance.map(|i| i.to_string()).unwrap_or_default();
                    let json = serde_json::to_value(limits).map_err(|e| crate::common::corrupt("budget_overrides", e.to_string()))?;
                    sqlx::query(
                        "INSERT INTO budget_overrides (tenant_id, subject, limits, updated_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (tenant_id, subject) DO UPDATE SET limits = excluded.limits, updated_at = excluded.updated_at",
                    )
                    .bind(enc_id(tenant.0))
                    .bind(subject)
                    .bind(enc_json(&json))
                    .bind(enc_ts(now))
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn budget_overrides(&self, tenant: TenantId) -> StoreResult<Vec<(Option<InstanceId>, BudgetLimits)>> {
                    const T: &str = "budget_overrides";
                    let rows = sqlx::query("SELECT subject, limits FROM budget_overrides WHERE tenant_id = $1 ORDER BY subject")
                        .bind(enc_id(tenant.0))
                        .fetch_all(&self.pool)
                        .await?;
                    let mut out = Vec::with_capacity(rows.len());
                    for r in rows {
                        let subject: String = r.try_get("subject")?;
                        let instance = if subject.is_empty() {
                            None
                        } else {
                            Some(
                                subject
                                    .parse::<InstanceId>()
                                    .map_err(|e| crate::common::corrupt(T, format!("subject `{subject}`: {e}")))?,
                            )
                        };
                        let limits =
                            serde_json::from_value(get_json(&r, "limits", T)?).map_err(|e| crate::common::corrupt(T, e.to_string()))?;
                        out.push((instance, limits));
                    }
                    Ok(out)
                }

                async fn reserve_budget(
                    &self,
                    tenant: TenantId,
                    lines: &[LedgerLine],
                    tokens: i64,
                    microusd: i64,
                ) -> StoreResult<Result<(), usize>> {
                    let mut tx = begin(&self.writer).await?;
                    for (i, l) in lines.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO budget_ledger (tenant_id, scope, period) VALUES ($1, $2, $3) \
                             ON CONFLICT (tenant_id, scope, period) DO NOTHING",
                        )
                        .bind(enc_id(tenant.0))
                        .bind(l.scope.as_str())
                        .bind(l.period.as_str())
                        .execute(&mut *tx)
                        .await?;
                        let taken = sqlx::query(
                            "UPDATE budget_ledger SET reserved_tokens = reserved_tokens + $4, reserved_microusd = reserved_microusd + $5 \
                             WHERE tenant_id = $1 AND scope = $2 AND period = $3 \
                             AND ($6 IS NULL OR spent_tokens + reserved_tokens + $4 <= $6) \
                             AND ($7 IS NULL OR spent_microusd + reserved_microusd + $5 <= $7)",
                        )
                        .bind(enc_id(tenant.0))
                        .bind(l.scope.as_str())
                        .bind(l.period.as_str())
                        .bind(tokens)
                        .bind(microusd)
                        .bind(l.max_tokens)
                        .bind(l.max_microusd)
                        .execute(&mut *tx)
                        .await?;
                        if taken.rows_affected() == 0 {
                            tx.rollback().await?;
                            return Ok(Err(i));
                        }
                    }
                    tx.commit().await?;
                    Ok(Ok(()))
                }

                async fn settle_budget(
                    &self,
                    tenant: TenantId,
                    lines: &[LedgerLine],
                    reserved: (i64, i64),
                    spent: (i64, i64),
                ) -> StoreResult<()> {
                    let mut tx = begin(&self.writer).await?;
                    for l in lines {
                        sqlx::query(
                            "UPDATE budget_ledger SET reserved_tokens = reserved_tokens - $4, reserved_microusd = reserved_microusd - $5, \
                             spent_tokens = spent_tokens + $6, spent_microusd = spent_microusd + $7 \
                             WHERE tenant_id = $1 AND scope = $2 AND period = $3",
                        )
                        .bind(enc_id(tenant.0))
                        .bind(l.scope.as_str())
                        .bind(l.period.as_str())
                        .bind(reserved.0)
                        .bind(reserved.1)
                        .bind(spent.0)
                        .bind(spent.1)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn budget_ledger(&self, tenant: TenantId, keys: &[(String, String)]) -> StoreResult<Vec<LedgerRow>> {
                    let mut out = Vec::new();
                    for (scope, period) in keys {
                        let row = sqlx::query(
                            "SELECT scope, period, spent_tokens, spent_microusd, reserved_tokens, reserved_microusd FROM budget_ledger \
                             WHERE tenant_id = $1 AND scope = $2 AND period = $3",
                        )
                        .bind(enc_id(tenant.0))
                        .bind(scope.as_str())
                        .bind(period.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                        if let Some(r) = row {
                            out.push(LedgerRow {
                                scope: r.try_get(0)?,
                                period: r.try_get(1)?,
                                spent_tokens: r.try_get(2)?,
                                spent_microusd: r.try_get(3)?,
                                reserved_tokens: r.try_get(4)?,
                                reserved_microusd: r.try_get(5)?,
                            });
                        }
                    }
                    Ok(out)
                }
            }
        }
    };
}

pub(crate) use budget_store_impl;
