//! The decision engine's persistence: its decision cache, memories, decision log and
//! escalations. [`DecisionStore`] is a supertrait of [`Store`](crate::Store), so a
//! `DynStore` serves both; both backends implement it once, through
//! [`decision_store_impl!`], expanded by `impl_store!` next to the rest of the store.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use waooaw_domain::{
    Decision, DecisionRecord, Escalation, EscalationStatus, HumanAnswer, InstanceId, Memory, Method, SummaryGroup, TenantId,
    TierSummaryRow, Urgency,
};

#[async_trait]
pub trait DecisionStore: Send + Sync {
    /// The cached decision under `key`, unless it expired (`expires_at <= now`).
    async fn cache_get(&self, tenant: TenantId, key: &str, now: DateTime<Utc>) -> StoreResult<Option<Decision>>;
    /// Stores (or replaces) the decision under `key`, made with `spec_version` of the
    /// specialization, until `expires_at`.
    async fn cache_put(
        &self,
        tenant: TenantId,
        key: &str,
        specialization_id: &str,
        spec_version: &str,
        decision: &Decision,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Deletes the entries of a specialization made by any version other than `keep_version`;
    /// returns how many went. Platform-level: a specialization changes for every tenant at once.
    async fn cache_purge_spec(&self, specialization_id: &str, keep_version: &str) -> StoreResult<u64>;
    /// Deletes the entries expired at `now`; returns how many went. Platform-level maintenance.
    async fn cache_purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Stores a memory (its `seq` is ignored) and returns the seq assigned to it. An id already
    /// stored is a [`StoreError::Conflict`](crate::StoreError::Conflict).
    async fn insert_memory(&self, memory: &Memory) -> StoreResult<i64>;
    /// Memories of every tenant with a seq above `seq`, in seq order, at most `limit`: how each
    /// process builds its in-memory vector indexes and then follows new memories.
    ///
    /// On PostgreSQL seqs are handed out at insert, not at commit: a transaction can commit a
    /// lower seq after a higher one became visible, so a reader that asks only for what is above
    /// the highest seq it saw can miss a memory. Callers re-read a small window below it and
    /// drop the ids they already hold. (SQLite has one writer, so there commit order is seq
    /// order.) Deletions are not reported here.
    async fn memories_after(&self, seq: i64, limit: i64) -> StoreResult<Vec<Memory>>;
    async fn count_memories(&self, tenant: TenantId) -> StoreResult<i64>;
    async fn get_memory(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<Memory>>;
    /// Returns whether the memory existed (for that tenant).
    async fn delete_memory(&self, tenant: TenantId, id: Uuid) -> StoreResult<bool>;

    /// Appends a decision to the log. An id already stored is a conflict.
    async fn insert_decision(&self, record: &DecisionRecord) -> StoreResult<()>;
    /// A tenant's decisions (of one instance, when given), newest first, at most `limit`.
    async fn list_decisions(&self, tenant: TenantId, instance: Option<InstanceId>, limit: i64) -> StoreResult<Vec<DecisionRecord>>;
    /// Decisions counted and their cost summed per group and tier, for one tenant or for all
    /// (`None`, the operator's view), made at or after `since` when given. Ordered by group
    /// (byte order) and then by tier, cheapest first.
    async fn decision_summary(
        &self,
        tenant: Option<TenantId>,
        group: SummaryGroup,
        since: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<TierSummaryRow>>;

    /// Files an escalation. An id already stored is a conflict.
    async fn insert_escalation(&self, escalation: &Escalation) -> StoreResult<()>;
    async fn get_escalation(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<Escalation>>;
    /// A tenant's escalations in `status` (any, when `None`: pending ones first), oldest first,
    /// at most `limit`.
    async fn list_escalations(&self, tenant: TenantId, status: Option<EscalationStatus>, limit: i64) -> StoreResult<Vec<Escalation>>;
    /// Records the answer if the escalation is still pending, and returns it answered; `None` if
    /// it is unknown (for that tenant) or already answered, so of two concurrent answers only
    /// one wins.
    async fn answer_escalation(
        &self,
        tenant: TenantId,
        id: Uuid,
        answer: &HumanAnswer,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Escalation>>;
}

pub(crate) const MEMORY_COLS: &str = "seq, id, tenant_id, instance_id, kind, text, metadata, embedding_id, vector, created_at";
pub(crate) const DECISION_COLS: &str =
    "id, tenant_id, instance_id, specialization_id, request_type, context, decision, confidence, cost_usd, created_at";
pub(crate) const ESCALATION_COLS: &str = "id, tenant_id, instance_id, event_id, request, question, urgency, status, \
     answer_verdict, answer_text, answered_by, created_at, answered_at";

/// A vector as little-endian f32 bytes: the same bits on every machine and in both databases.
pub(crate) fn vector_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn vector_from_bytes(bytes: &[u8]) -> Result<Vec<f32>, String> {
    let chunks = bytes.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return Err(format!("vector of {} bytes is not a whole number of f32s", bytes.len()));
    }
    Ok(chunks.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// A decision as stored: its JSON, and its two floats apart. A float's trip through JSON text
/// can come back one unit off, and the floats are what summaries sum, so columns hold them
/// exactly and override the JSON's on the way back.
pub(crate) fn decision_to_json(d: &Decision) -> Result<serde_json::Value, String> {
    serde_json::to_value(d).map_err(|e| format!("cannot encode decision: {e}"))
}

pub(crate) fn decision_from_parts(mut json: serde_json::Value, confidence: f64, cost_usd: f64) -> Result<Decision, String> {
    if let Some(fields) = json.as_object_mut() {
        // Whatever the JSON holds (null, for a non-finite float), the columns are the truth.
        fields.insert("confidence".to_owned(), 0.into());
        fields.insert("cost_usd".to_owned(), 0.into());
    }
    let mut d: Decision = serde_json::from_value(json).map_err(|e| format!("decision: {e}"))?;
    d.confidence = confidence;
    d.cost_usd = cost_usd;
    Ok(d)
}

/// Token counts are u64 in the domain and BIGINT in the databases; no count comes near
/// `i64::MAX`, so saturating loses nothing real.
pub(crate) fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The serde names of [`Urgency`], which the rows use too.
pub(crate) fn urgency_str(u: Urgency) -> &'static str {
    match u {
        Urgency::Low => "low",
        Urgency::Normal => "normal",
        Urgency::High => "high",
        Urgency::Urgent => "urgent",
    }
}

pub(crate) fn parse_urgency(s: &str) -> Option<Urgency> {
    [Urgency::Low, Urgency::Normal, Urgency::High, Urgency::Urgent].into_iter().find(|u| urgency_str(*u) == s)
}

/// A tier's place in the engine, cheapest first: the order summaries list tiers in.
pub(crate) fn tier_rank(m: Method) -> usize {
    Method::ALL.iter().position(|x| *x == m).unwrap_or(Method::ALL.len())
}

/// Summary rows in group order (bytes, the same on both backends whatever the collation), then
/// tier order.
pub(crate) fn sort_summary(rows: &mut [TierSummaryRow]) {
    rows.sort_by(|a, b| a.group.as_bytes().cmp(b.group.as_bytes()).then(tier_rank(a.method).cmp(&tier_rank(b.method))));
}

/// Expands, inside `impl_store!`'s module, to `impl DecisionStore` for a store. Besides the
/// helpers `impl_store!` documents, each backend defines `sql_id_text(col)` (an id column as
/// hyphenated text) and `sql_utc_day(col)` (a timestamp column's UTC day as `YYYY-MM-DD`).
macro_rules! decision_store_impl {
    ($store:ident) => {
        mod decision_impl {
            use super::*;
            use crate::decision_store::*;
            use crate::{DecisionStore, StoreResult};
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use uuid::Uuid;
            use waooaw_domain::{
                Decision, DecisionRecord, Escalation, EscalationStatus, EventId, HumanAnswer, InstanceId, Memory, Method, SummaryGroup,
                TenantId, TierSummaryRow, Verdict,
            };

            fn memory_from_row(r: &DbRow) -> StoreResult<Memory> {
                const T: &str = "memories";
                let bytes: Vec<u8> = r.try_get("vector")?;
                Ok(Memory {
                    id: get_uuid(r, "id", T)?,
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    instance_id: get_opt_uuid(r, "instance_id", T)?.map(InstanceId),
                    kind: r.try_get("kind")?,
                    text: r.try_get("text")?,
                    metadata: get_json(r, "metadata", T)?,
                    embedding_id: r.try_get("embedding_id")?,
                    vector: vector_from_bytes(&bytes).map_err(|e| corrupt(T, e))?,
                    seq: r.try_get("seq")?,
                    created_at: get_ts(r, "created_at", T)?,
                })
            }

            fn decision_from_row(r: &DbRow, table: &'static str) -> StoreResult<Decision> {
                decision_from_parts(get_json(r, "decision", table)?, r.try_get("confidence")?, r.try_get("cost_usd")?)
                    .map_err(|e| corrupt(table, e))
            }

            fn record_from_row(r: &DbRow) -> StoreResult<DecisionRecord> {
                const T: &str = "decisions";
                Ok(DecisionRecord {
                    id: get_uuid(r, "id", T)?,
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    instance_id: InstanceId(get_uuid(r, "instance_id", T)?),
                    specialization_id: r.try_get("specialization_id")?,
                    request_type: r.try_get("request_type")?,
                    context: get_json(r, "context", T)?,
                    decision: decision_from_row(r, T)?,
                    created_at: get_ts(r, "created_at", T)?,
                })
            }

            fn escalation_from_row(r: &DbRow) -> StoreResult<Escalation> {
                const T: &str = "escalations";
                let status: String = r.try_get("status")?;
                let urgency: String = r.try_get("urgency")?;
                let verdict: Option<String> = r.try_get("answer_verdict")?;
                let answer = match verdict {
                    Some(v) => Some(HumanAnswer {
                        verdict: Verdict::parse(&v).ok_or_else(|| corrupt(T, format!("unknown answer verdict `{v}`")))?,
                        text: r.try_get::<Option<String>, _>("answer_text")?.unwrap_or_default(),
                        answered_by: r.try_get::<Option<String>, _>("answered_by")?.unwrap_or_default(),
                    }),
                    None => None,
                };
                Ok(Escalation {
                    id: get_uuid(r, "id", T)?,
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    instance_id: InstanceId(get_uuid(r, "instance_id", T)?),
                    event_id: get_opt_uuid(r, "event_id", T)?.map(EventId),
                    request: serde_json::from_value(get_json(r, "request", T)?).map_err(|e| corrupt(T, format!("request: {e}")))?,
                    question: r.try_get("question")?,
                    urgency: parse_urgency(&urgency).ok_or_else(|| corrupt(T, format!("unknown urgency `{urgency}`")))?,
                    status: EscalationStatus::parse(&status).ok_or_else(|| corrupt(T, format!("unknown status `{status}`")))?,
                    answer,
                    created_at: get_ts(r, "created_at", T)?,
                    answered_at: get_opt_ts(r, "answered_at", T)?,
                })
            }

            #[async_trait]
            impl DecisionStore for $store {
                async fn cache_get(&self, tenant: TenantId, key: &str, now: DateTime<Utc>) -> StoreResult<Option<Decision>> {
                    sqlx::query(
                        "SELECT decision, confidence, cost_usd FROM decision_cache \
                         WHERE tenant_id = $1 AND key = $2 AND expires_at > $3",
                    )
                    .bind(enc_id(tenant.0))
                    .bind(key)
                    .bind(enc_ts(now))
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| decision_from_row(&r, "decision_cache"))
                    .transpose()
                }

                async fn cache_put(
                    &self,
                    tenant: TenantId,
                    key: &str,
                    specialization_id: &str,
                    spec_version: &str,
                    decision: &Decision,
                    expires_at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let json = decision_to_json(decision).map_err(|e| corrupt("decision_cache", e))?;
                    sqlx::query(
                        "INSERT INTO decision_cache \
                         (tenant_id, key, specialization_id, spec_version, decision, confidence, cost_usd, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (tenant_id, key) DO UPDATE SET specialization_id = excluded.specialization_id, \
                         spec_version = excluded.spec_version, decision = excluded.decision, confidence = excluded.confidence, \
                         cost_usd = excluded.cost_usd, expires_at = excluded.expires_at",
                    )
                    .bind(enc_id(tenant.0))
                    .bind(key)
                    .bind(specialization_id)
                    .bind(spec_version)
                    .bind(enc_json(&json))
                    .bind(decision.confidence)
                    .bind(decision.cost_usd)
                    .bind(enc_ts(expires_at))
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn cache_purge_spec(&self, specialization_id: &str, keep_version: &str) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM decision_cache WHERE specialization_id = $1 AND spec_version <> $2")
                        .bind(specialization_id)
                        .bind(keep_version)
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn cache_purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                    let done =
                        sqlx::query("DELETE FROM decision_cache WHERE expires_at <= $1").bind(enc_ts(now)).execute(&self.writer).await?;
                    Ok(done.rows_affected())
                }

                async fn insert_memory(&self, m: &Memory) -> StoreResult<i64> {
                    let row = sqlx::query(
                        "INSERT INTO memories (id, tenant_id, instance_id, kind, text, metadata, embedding_id, vector, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
                    )
                    .bind(enc_id(m.id))
                    .bind(enc_id(m.tenant_id.0))
                    .bind(m.instance_id.map(|i| enc_id(i.0)))
                    .bind(m.kind.as_str())
                    .bind(m.text.as_str())
                    .bind(enc_json(&m.metadata))
                    .bind(m.embedding_id.as_str())
                    .bind(vector_to_bytes(&m.vector))
                    .bind(enc_ts(m.created_at))
                    .fetch_one(&self.writer)
                    .await
                    .map_err(|e| unique_as_conflict(e, format!("memory {}", m.id)))?;
                    Ok(row.try_get::<i64, _>(0)?)
                }

                async fn memories_after(&self, seq: i64, limit: i64) -> StoreResult<Vec<Memory>> {
                    let sql = format!("SELECT {MEMORY_COLS} FROM memories WHERE seq > $1 ORDER BY seq LIMIT $2");
                    sqlx::query(&sql).bind(seq).bind(limit.max(0)).fetch_all(&self.pool).await?.iter().map(memory_from_row).collect()
                }

                async fn count_memories(&self, tenant: TenantId) -> StoreResult<i64> {
                    let row = sqlx::query("SELECT COUNT(*) FROM memories WHERE tenant_id = $1")
                        .bind(enc_id(tenant.0))
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(row.try_get::<i64, _>(0)?)
                }

                async fn get_memory(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<Memory>> {
                    let sql = format!("SELECT {MEMORY_COLS} FROM memories WHERE tenant_id = $1 AND id = $2");
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(id))
                        .fetch_optional(&self.pool)
                        .await?
                        .as_ref()
                        .map(memory_from_row)
                        .transpose()
                }

                async fn delete_memory(&self, tenant: TenantId, id: Uuid) -> StoreResult<bool> {
                    let done = sqlx::query("DELETE FROM memories WHERE tenant_id = $1 AND id = $2")
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(id))
                        .execute(&self.writer)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn insert_decision(&self, d: &DecisionRecord) -> StoreResult<()> {
                    let json = decision_to_json(&d.decision).map_err(|e| corrupt("decisions", e))?;
                    sqlx::query(
                        "INSERT INTO decisions (id, tenant_id, instance_id, specialization_id, request_type, context, decision, \
                         verdict, method, confidence, cost_usd, tokens_in, tokens_out, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    )
                    .bind(enc_id(d.id))
                    .bind(enc_id(d.tenant_id.0))
                    .bind(enc_id(d.instance_id.0))
                    .bind(d.specialization_id.as_str())
                    .bind(d.request_type.as_str())
                    .bind(enc_json(&d.context))
                    .bind(enc_json(&json))
                    .bind(d.decision.verdict.as_str())
                    .bind(d.decision.method.as_str())
                    .bind(d.decision.confidence)
                    .bind(d.decision.cost_usd)
                    .bind(tokens(d.decision.tokens_in))
                    .bind(tokens(d.decision.tokens_out))
                    .bind(enc_ts(d.created_at))
                    .execute(&self.writer)
                    .await
                    .map_err(|e| unique_as_conflict(e, format!("decision {}", d.id)))?;
                    Ok(())
                }

                async fn list_decisions(
                    &self,
                    tenant: TenantId,
                    instance: Option<InstanceId>,
                    limit: i64,
                ) -> StoreResult<Vec<DecisionRecord>> {
                    let filter = if instance.is_some() { " AND instance_id = $3" } else { "" };
                    let sql = format!(
                        "SELECT {DECISION_COLS} FROM decisions WHERE tenant_id = $1{filter} ORDER BY created_at DESC, id DESC LIMIT $2"
                    );
                    let mut q = sqlx::query(&sql).bind(enc_id(tenant.0)).bind(limit.max(0));
                    if let Some(i) = instance {
                        q = q.bind(enc_id(i.0));
                    }
                    q.fetch_all(&self.pool).await?.iter().map(record_from_row).collect()
                }

                async fn decision_summary(
                    &self,
                    tenant: Option<TenantId>,
                    group: SummaryGroup,
                    since: Option<DateTime<Utc>>,
                ) -> StoreResult<Vec<TierSummaryRow>> {
                    const T: &str = "decisions";
                    let key = match group {
                        SummaryGroup::Tenant => sql_id_text("tenant_id"),
                        SummaryGroup::Instance => sql_id_text("instance_id"),
                        SummaryGroup::Specialization => "specialization_id".to_owned(),
                        SummaryGroup::Day => sql_utc_day("created_at"),
                    };
                    let mut sql = format!(
                        "SELECT {key} AS grp, method, COUNT(*) AS decisions, SUM(cost_usd) AS cost_usd, \
                         CAST(SUM(tokens_in) AS BIGINT) AS tokens_in, CAST(SUM(tokens_out) AS BIGINT) AS tokens_out \
                         FROM decisions WHERE 1 = 1"
                    );
                    let mut n = 0;
                    if tenant.is_some() {
                        n += 1;
                        sql.push_str(&format!(" AND tenant_id = ${n}"));
                    }
                    if since.is_some() {
                        n += 1;
                        sql.push_str(&format!(" AND created_at >= ${n}"));
                    }
                    sql.push_str(" GROUP BY 1, 2");
                    let mut q = sqlx::query(&sql);
                    if let Some(t) = tenant {
                        q = q.bind(enc_id(t.0));
                    }
                    if let Some(s) = since {
                        q = q.bind(enc_ts(s));
                    }
                    let mut rows = q
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(|r| {
                            let method: String = r.try_get("method")?;
                            Ok(TierSummaryRow {
                                group: r.try_get("grp")?,
                                method: Method::parse(&method).ok_or_else(|| corrupt(T, format!("unknown method `{method}`")))?,
                                decisions: r.try_get("decisions")?,
                                cost_usd: r.try_get("cost_usd")?,
                                tokens_in: r.try_get("tokens_in")?,
                                tokens_out: r.try_get("tokens_out")?,
                            })
                        })
                        .collect::<StoreResult<Vec<_>>>()?;
                    sort_summary(&mut rows);
                    Ok(rows)
                }

                async fn insert_escalation(&self, e: &Escalation) -> StoreResult<()> {
                    const T: &str = "escalations";
                    let request = serde_json::to_value(&e.request).map_err(|err| corrupt(T, format!("cannot encode request: {err}")))?;
                    let sql = format!(
                        "INSERT INTO escalations ({ESCALATION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                    );
                    sqlx::query(&sql)
                        .bind(enc_id(e.id))
                        .bind(enc_id(e.tenant_id.0))
                        .bind(enc_id(e.instance_id.0))
                        .bind(e.event_id.map(|id| enc_id(id.0)))
                        .bind(enc_json(&request))
                        .bind(e.question.as_str())
                        .bind(urgency_str(e.urgency))
                        .bind(e.status.as_str())
                        .bind(e.answer.as_ref().map(|a| a.verdict.as_str()))
                        .bind(e.answer.as_ref().map(|a| a.text.as_str()))
                        .bind(e.answer.as_ref().map(|a| a.answered_by.as_str()))
                        .bind(enc_ts(e.created_at))
                        .bind(e.answered_at.map(enc_ts))
                        .execute(&self.writer)
                        .await
                        .map_err(|err| unique_as_conflict(err, format!("escalation {}", e.id)))?;
                    Ok(())
                }

                async fn get_escalation(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<Escalation>> {
                    let sql = format!("SELECT {ESCALATION_COLS} FROM escalations WHERE tenant_id = $1 AND id = $2");
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(id))
                        .fetch_optional(&self.pool)
                        .await?
                        .as_ref()
                        .map(escalation_from_row)
                        .transpose()
                }

                async fn list_escalations(
                    &self,
                    tenant: TenantId,
                    status: Option<EscalationStatus>,
                    limit: i64,
                ) -> StoreResult<Vec<Escalation>> {
                    // The status is one of two fixed words, written as a literal so the
                    // (tenant, status, created_at) index serves the order too.
                    let sql = match status {
                        Some(s) => format!(
                            "SELECT {ESCALATION_COLS} FROM escalations WHERE tenant_id = $1 AND status = '{}' \
                             ORDER BY created_at, id LIMIT $2",
                            s.as_str()
                        ),
                        None => format!(
                            "SELECT {ESCALATION_COLS} FROM escalations WHERE tenant_id = $1 \
                             ORDER BY CASE status WHEN 'pending' THEN 0 ELSE 1 END, created_at, id LIMIT $2"
                        ),
                    };
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(limit.max(0))
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(escalation_from_row)
                        .collect()
                }

                async fn answer_escalation(
                    &self,
                    tenant: TenantId,
                    id: Uuid,
                    answer: &HumanAnswer,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<Escalation>> {
                    // One conditional statement: on PostgreSQL a concurrent answer waits for the
                    // row lock, re-checks `status = 'pending'` and updates nothing.
                    let sql = format!(
                        "UPDATE escalations SET status = 'answered', answer_verdict = $3, answer_text = $4, answered_by = $5, \
                         answered_at = $6 WHERE tenant_id = $1 AND id = $2 AND status = 'pending' RETURNING {ESCALATION_COLS}"
                    );
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(id))
                        .bind(answer.verdict.as_str())
                        .bind(answer.text.as_str())
                        .bind(answer.answered_by.as_str())
                        .bind(enc_ts(now))
                        .fetch_optional(&self.writer)
                        .await?
                        .as_ref()
                        .map(escalation_from_row)
                        .transpose()
                }
            }
        }
    };
}

pub(crate) use decision_store_impl;

#[cfg(test)]
mod tests {
    use super::*;
    use waooaw_domain::{Citation, Verdict};

    #[test]
    fn vectors_round_trip_bit_for_bit() {
        let v = vec![0.0, -0.0, 1.5, -3.25e-7, f32::MIN_POSITIVE, 1.0e-42, f32::MAX, f32::NAN, f32::NEG_INFINITY];
        let bytes = vector_to_bytes(&v);
        assert_eq!(bytes.len(), 4 * v.len());
        assert_eq!(&bytes[8..12], &1.5f32.to_le_bytes());
        let back = vector_from_bytes(&bytes).unwrap();
        assert_eq!(back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        assert!(vector_from_bytes(&[]).unwrap().is_empty());
        assert!(vector_from_bytes(&bytes[..7]).is_err(), "a torn vector is corrupt, not truncated");
    }

    #[test]
    fn decision_floats_come_from_the_columns() {
        let mut d = Decision::free(Verdict::Reject, "unsupported efficacy claim: \"cures anxiety\"", 0.0, Method::Llm);
        // 1234 tokens at $3 per million: a float whose shortest text has 17 digits.
        d.cost_usd = 1234.0 * 3.0e-6;
        d.confidence = 0.1 + 0.2;
        d.tokens_in = 1234;
        d.citations = vec![Citation { kind: "rule".into(), id: "no-medical-claims".into(), excerpt: String::new() }];
        let json = decision_to_json(&d).unwrap();
        let mut text_trip = json.clone();
        text_trip["confidence"] = serde_json::json!(0.3);
        let back = decision_from_parts(text_trip, d.confidence, d.cost_usd).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.cost_usd.to_bits(), d.cost_usd.to_bits());
        assert!(decision_from_parts(serde_json::json!({ "verdict": "maybe" }), 0.5, 0.0).is_err());
    }

    #[test]
    fn urgency_names_match_serde() {
        for u in [Urgency::Low, Urgency::Normal, Urgency::High, Urgency::Urgent] {
            assert_eq!(serde_json::to_value(u).unwrap(), serde_json::json!(urgency_str(u)));
            assert_eq!(parse_urgency(urgency_str(u)), Some(u));
        }
        assert_eq!(parse_urgency("asap"), None);
    }

    #[test]
    fn summaries_sort_by_group_bytes_then_tier() {
        let row =
            |group: &str, method| TierSummaryRow { group: group.into(), method, decisions: 1, cost_usd: 0.0, tokens_in: 0, tokens_out: 0 };
        let mut rows = vec![row("wowvision", Method::Llm), row("wow-vision", Method::Cache), row("wowvision", Method::Constraint)];
        sort_summary(&mut rows);
        let order: Vec<_> = rows.iter().map(|r| (r.group.as_str(), r.method)).collect();
        assert_eq!(order, [("wow-vision", Method::Cache), ("wowvision", Method::Constraint), ("wowvision", Method::Llm)]);
        assert_eq!(tokens(u64::MAX), i64::MAX);
    }
}
