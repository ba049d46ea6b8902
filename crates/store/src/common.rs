//! The [`Store`](crate::Store) implementation shared by both backends.
//!
//! The SQL is the same for SQLite and PostgreSQL (both accept `$n` placeholders, `ON CONFLICT`
//! upserts and `RETURNING`); what differs is how ids, timestamps and JSON are encoded and
//! decoded. Each backend module defines these helpers with the same names and then invokes
//! [`impl_store!`], which expands to the trait implementation in terms of them:
//!
//! - `type Db` (the sqlx database) and `type DbRow` (its row type)
//! - `enc_id(Uuid)`, `enc_ts(DateTime<Utc>)`, `enc_json(&Value)`: bindable encodings
//! - `get_uuid`, `get_opt_uuid`, `get_ts`, `get_opt_ts`, `get_json`: decoders that turn
//!   malformed values into [`StoreError::Corrupt`](crate::StoreError::Corrupt)
//! - `begin(&Pool<Db>)`: opens a write transaction
//! - `POSITIONAL_PARAMS`: whether large generated statements use `?` rather than `$n`
//! - `write_wakes(&Self, &[WakeCommit])`: `Store::commit_wakes` (PostgreSQL: `wake_commit`'s
//!   batched statements; SQLite: the main file's writer thread, `sqlite::wake_commit`)
//! - `write_outbox_attempts(&Self, &[(TenantId, String, OutboxAttempt)])`: the outbox's
//!   recorded attempts, one transaction (PostgreSQL: the pool; SQLite: the main file's writer
//!   thread, so that recording sent handoffs never holds the main file's sqlx writer through
//!   a round trip per statement while wake commits wait for it)
//! - `write_events(&Self, &[Event], accepted_at)`, `write_dispatched(&Self, &[EventId])`: the
//!   event log's writes (PostgreSQL: multi-row statements on the pool; SQLite: its event log's
//!   writer thread, `sqlite::event_log`)

/// Events per multi-row INSERT (PostgreSQL's `write_events`): 500 rows of 11 bound columns stays
/// far below SQLite's 32 766 and PostgreSQL's 65 535 bind-parameter limits.
pub(crate) const EVENT_CHUNK: usize = 500;
const _: () = assert!(EVENT_CHUNK * EVENT_ROW_PARAMS < 32_766, "a full chunk must stay below SQLite's bind limit");

/// Ids per `IN (...)` list (PostgreSQL's `write_dispatched`, the decision cache's purge).
pub(crate) const ID_CHUNK: usize = 500;

pub(crate) const INSTANCE_COLS: &str = "tenant_id, id, specialization_id, name, role_title, industry, tone, focus_areas, \
     escalation_contact, status, hired_at, trial_ends_at, wake_count, last_woken_at, context_version, created_at, updated_at";
pub(crate) const EVENT_COLS: &str =
    "e.id, e.tenant_id, e.type, e.source, e.ts, e.payload, e.correlation_id, e.parent_id, e.priority, e.target_instance";
pub(crate) const DELIVERY_COLS: &str = "tenant_id, event_id, instance_id, status, attempts, outcome, context_version, updated_at";
pub(crate) const DELIVERABLE_COLS: &str = "tenant_id, id, instance_id, event_id, kind, title, body_markdown, created_at";
pub(crate) const DEAD_LETTER_COLS: &str = "id, tenant_id, event_id, instance_id, event_type, error, attempts, created_at, redriven_at";

/// Upsert of a delivery as dead, whatever it was (the dead letter is the authority).
pub(crate) const UPSERT_DELIVERY_DEAD: &str = "INSERT INTO deliveries \
     (tenant_id, event_id, instance_id, status, attempts, outcome, context_version, updated_at) \
     VALUES ($1, $2, $3, 'dead', $4, $5, NULL, $6) \
     ON CONFLICT (event_id, instance_id) DO UPDATE SET status = 'dead', attempts = excluded.attempts, \
     outcome = excluded.outcome, updated_at = excluded.updated_at \
     WHERE deliveries.tenant_id = excluded.tenant_id";

/// The `n`-th (1-based) bind parameter: `?` for SQLite, `$n` for PostgreSQL. SQLite resolves
/// named (`$n`) parameters by a linear scan per bind, which makes a statement with thousands of
/// them quadratic; plain `?` in order avoids that.
fn param(sql: &mut String, n: usize, positional: bool) {
    use std::fmt::Write;
    if positional {
        sql.push('?');
    } else {
        let _ = write!(sql, "${n}");
    }
}

/// Columns bound per event row in [`insert_events_sql`].
pub(crate) const EVENT_ROW_PARAMS: usize = 11;

/// `INSERT INTO events ... VALUES` for `rows` events of [`EVENT_ROW_PARAMS`] parameters each, in
/// the order id, tenant_id, type, source, ts, payload, correlation_id, parent_id, priority,
/// target_instance, accepted_at.
pub(crate) fn insert_events_sql(rows: usize, positional: bool) -> String {
    let mut sql = String::with_capacity(160 + rows * 80);
    sql.push_str(
        "INSERT INTO events (id, tenant_id, type, source, ts, payload, correlation_id, parent_id, priority, \
         target_instance, status, accepted_at) VALUES ",
    );
    let mut n = 0;
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for k in 0..EVENT_ROW_PARAMS {
            n += 1;
            if k == EVENT_ROW_PARAMS - 1 {
                sql.push_str("'accepted', ");
            }
            param(&mut sql, n, positional);
            if k + 1 < EVENT_ROW_PARAMS {
                sql.push_str(", ");
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    sql
}

/// The parameters `first, first+1, ...` of an `IN (...)` list of `count` values.
pub(crate) fn placeholders(first: usize, count: usize, positional: bool) -> String {
    let mut sql = String::with_capacity(count * 6);
    for n in first..first + count {
        if n > first {
            sql.push_str(", ");
        }
        param(&mut sql, n, positional);
    }
    sql
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) fn corrupt(table: &'static str, reason: impl Into<String>) -> crate::StoreError {
    crate::StoreError::Corrupt { table, reason: reason.into() }
}

macro_rules! impl_store {
    ($store:ident, $kind:literal) => {
        mod store_impl {
            use super::*;
            use crate::common::*;
            use crate::{EventRecord, InstanceRoute, Store, StoreError, StoreResult, WakeCommit, WakeResult};
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;
            use waooaw_domain::{
                DeadLetter, DeliveryRecord, DeliveryStatus, Event, EventId, EventStatus, EventType, Instance, InstanceId, InstanceStatus,
                Personality, Priority, Tenant, TenantId, WorkContext,
            };

            fn deliverable_from_row(r: &DbRow) -> StoreResult<waooaw_domain::Deliverable> {
                const T: &str = "deliverables";
                Ok(waooaw_domain::Deliverable {
                    id: get_uuid(r, "id", T)?,
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    instance_id: InstanceId(get_uuid(r, "instance_id", T)?),
                    event_id: EventId(get_uuid(r, "event_id", T)?),
                    kind: r.try_get("kind")?,
                    title: r.try_get("title")?,
                    body_markdown: r.try_get("body_markdown")?,
                    created_at: get_ts(r, "created_at", T)?,
                })
            }

            fn tenant_from_row(r: &DbRow) -> StoreResult<Tenant> {
                Ok(Tenant {
                    id: TenantId(get_uuid(r, "id", "tenants")?),
                    name: r.try_get("name")?,
                    webhook_secret: r.try_get("webhook_secret")?,
                    created_at: get_ts(r, "created_at", "tenants")?,
                })
            }

            fn instance_from_row(r: &DbRow) -> StoreResult<Instance> {
                const T: &str = "instances";
                let status: String = r.try_get("status")?;
                let focus = get_json(r, "focus_areas", T)?;
                Ok(Instance {
                    id: InstanceId(get_uuid(r, "id", T)?),
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    specialization_id: r.try_get("specialization_id")?,
                    personality: Personality {
                        name: r.try_get("name")?,
                        role_title: r.try_get("role_title")?,
                        industry: r.try_get("industry")?,
                        tone: r.try_get("tone")?,
                        focus_areas: serde_json::from_value(focus).map_err(|e| corrupt(T, format!("focus_areas: {e}")))?,
                        escalation_contact: r.try_get("escalation_contact")?,
                    },
                    status: InstanceStatus::parse(&status).ok_or_else(|| corrupt(T, format!("unknown status `{status}`")))?,
                    hired_at: get_opt_ts(r, "hired_at", T)?,
                    trial_ends_at: get_opt_ts(r, "trial_ends_at", T)?,
                    wake_count: r.try_get("wake_count")?,
                    last_woken_at: get_opt_ts(r, "last_woken_at", T)?,
                    context_version: r.try_get("context_version")?,
                    created_at: get_ts(r, "created_at", T)?,
                    updated_at: get_ts(r, "updated_at", T)?,
                })
            }

            fn event_from_row(r: &DbRow) -> StoreResult<Event> {
                const T: &str = "events";
                let event_type: String = r.try_get("type")?;
                Ok(Event {
                    id: EventId(get_uuid(r, "id", T)?),
                    event_type: EventType::parse(&event_type).map_err(|e| corrupt(T, e.to_string()))?,
                    source: r.try_get("source")?,
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    timestamp: get_ts(r, "ts", T)?,
                    payload: get_json(r, "payload", T)?,
                    correlation_id: EventId(get_uuid(r, "correlation_id", T)?),
                    parent_id: get_opt_uuid(r, "parent_id", T)?.map(EventId),
                    priority: Priority::from_i16(r.try_get("priority")?),
                    target_instance: get_opt_uuid(r, "target_instance", T)?.map(InstanceId),
                })
            }

            fn delivery_from_row(r: &DbRow) -> StoreResult<DeliveryRecord> {
                const T: &str = "deliveries";
                let status: String = r.try_get("status")?;
                Ok(DeliveryRecord {
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    event_id: EventId(get_uuid(r, "event_id", T)?),
                    instance_id: InstanceId(get_uuid(r, "instance_id", T)?),
                    status: DeliveryStatus::parse(&status).ok_or_else(|| corrupt(T, format!("unknown status `{status}`")))?,
                    attempts: r.try_get("attempts")?,
                    outcome: r.try_get("outcome")?,
                    context_version: r.try_get("context_version")?,
                    updated_at: get_ts(r, "updated_at", T)?,
                })
            }

            fn dead_letter_from_row(r: &DbRow) -> StoreResult<DeadLetter> {
                const T: &str = "dead_letters";
                Ok(DeadLetter {
                    id: get_uuid(r, "id", T)?,
                    tenant_id: TenantId(get_uuid(r, "tenant_id", T)?),
                    event_id: EventId(get_uuid(r, "event_id", T)?),
                    instance_id: InstanceId(get_uuid(r, "instance_id", T)?),
                    event_type: r.try_get("event_type")?,
                    error: r.try_get("error")?,
                    attempts: r.try_get("attempts")?,
                    created_at: get_ts(r, "created_at", T)?,
                    redriven_at: get_opt_ts(r, "redriven_at", T)?,
                })
            }

            fn unique_as_conflict(e: sqlx::Error, what: String) -> StoreError {
                if is_unique_violation(&e) { StoreError::Conflict(what) } else { StoreError::Database(e) }
            }

            crate::decision_store::decision_store_impl!($store);
            crate::budget_store::budget_store_impl!($store);
            crate::outbox_store::output_store_impl!($store);
            crate::task_store::task_store_impl!($store);

            #[async_trait]
            impl Store for $store {
                fn kind(&self) -> &'static str {
                    $kind
                }

                async fn migrate(&self) -> StoreResult<usize> {
                    run_migrations(self).await
                }

                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }

                async fn create_tenant(&self, t: &Tenant) -> StoreResult<()> {
                    sqlx::query("INSERT INTO tenants (id, name, webhook_secret, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(enc_id(t.id.0))
                        .bind(t.name.as_str())
                        .bind(t.webhook_secret.as_str())
                        .bind(enc_ts(t.created_at))
                        .execute(&self.writer)
                        .await
                        .map_err(|e| unique_as_conflict(e, format!("tenant {}", t.id)))?;
                    Ok(())
                }

                async fn get_tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
                    sqlx::query("SELECT id, name, webhook_secret, created_at FROM tenants WHERE id = $1")
                        .bind(enc_id(id.0))
                        .fetch_optional(&self.pool)
                        .await?
                        .as_ref()
                        .map(tenant_from_row)
                        .transpose()
                }

                async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
                    sqlx::query("SELECT id, name, webhook_secret, created_at FROM tenants ORDER BY created_at, id")
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(tenant_from_row)
                        .collect()
                }

                async fn create_instance(&self, i: &Instance) -> StoreResult<()> {
                    let focus = serde_json::Value::from(i.personality.focus_areas.clone());
                    let sql = format!(
                        "INSERT INTO instances ({INSTANCE_COLS}) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
                    );
                    sqlx::query(&sql)
                        .bind(enc_id(i.tenant_id.0))
                        .bind(enc_id(i.id.0))
                        .bind(i.specialization_id.as_str())
                        .bind(i.personality.name.as_str())
                        .bind(i.personality.role_title.as_str())
                        .bind(i.personality.industry.as_str())
                        .bind(i.personality.tone.as_str())
                        .bind(enc_json(&focus))
                        .bind(i.personality.escalation_contact.as_str())
                        .bind(i.status.as_str())
                        .bind(i.hired_at.map(enc_ts))
                        .bind(i.trial_ends_at.map(enc_ts))
                        .bind(i.wake_count)
                        .bind(i.last_woken_at.map(enc_ts))
                        .bind(i.context_version)
                        .bind(enc_ts(i.created_at))
                        .bind(enc_ts(i.updated_at))
                        .execute(&self.writer)
                        .await
                        .map_err(|e| unique_as_conflict(e, format!("instance {}", i.id)))?;
                    Ok(())
                }

                async fn get_instance(&self, tenant: TenantId, id: InstanceId) -> StoreResult<Option<Instance>> {
                    let sql = format!("SELECT {INSTANCE_COLS} FROM instances WHERE tenant_id = $1 AND id = $2");
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(id.0))
                        .fetch_optional(&self.pool)
                        .await?
                        .as_ref()
                        .map(instance_from_row)
                        .transpose()
                }

                async fn list_instances(&self, tenant: TenantId) -> StoreResult<Vec<Instance>> {
                    let sql = format!("SELECT {INSTANCE_COLS} FROM instances WHERE tenant_id = $1 ORDER BY created_at, id");
                    sqlx::query(&sql).bind(enc_id(tenant.0)).fetch_all(&self.pool).await?.iter().map(instance_from_row).collect()
                }

                async fn awake_with_deferred(&self) -> StoreResult<Vec<(TenantId, InstanceId)>> {
                    let rows = sqlx::query(
                        "SELECT DISTINCT d.tenant_id, d.instance_id FROM deliveries d \
                         JOIN instances i ON i.id = d.instance_id AND i.tenant_id = d.tenant_id \
                         WHERE d.status = 'deferred' AND i.status IN ('trial', 'active')",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok((TenantId(get_uuid(r, "tenant_id", "deliveries")?), InstanceId(get_uuid(r, "instance_id", "deliveries")?)))
                        })
                        .collect()
                }

                async fn list_routes(&self) -> StoreResult<Vec<InstanceRoute>> {
                    let rows = sqlx::query(
                        "SELECT id, tenant_id, specialization_id, status FROM instances \
                         WHERE status <> 'retired' ORDER BY id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let status: String = r.try_get("status")?;
                            Ok(InstanceRoute {
                                id: InstanceId(get_uuid(r, "id", "instances")?),
                                tenant_id: TenantId(get_uuid(r, "tenant_id", "instances")?),
                                specialization_id: r.try_get("specialization_id")?,
                                status: InstanceStatus::parse(&status)
                                    .ok_or_else(|| corrupt("instances", format!("unknown status `{status}`")))?,
                            })
                        })
                        .collect()
                }

                async fn transition_instance(
                    &self,
                    tenant: TenantId,
                    id: InstanceId,
                    expected: InstanceStatus,
                    next: InstanceStatus,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<Instance>> {
                    let sql = format!(
                        "UPDATE instances SET status = $4, updated_at = $5, \
                         hired_at = COALESCE(hired_at, CASE WHEN $4 = 'active' THEN $5 END) \
                         WHERE tenant_id = $1 AND id = $2 AND status = $3 RETURNING {INSTANCE_COLS}"
                    );
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(id.0))
                        .bind(expected.as_str())
                        .bind(next.as_str())
                        .bind(enc_ts(now))
                        .fetch_optional(&self.writer)
                        .await?
                        .as_ref()
                        .map(instance_from_row)
                        .transpose()
                }

                async fn insert_events(&self, events: &[Event]) -> StoreResult<()> {
                    if events.is_empty() {
                        return Ok(());
                    }
                    write_events(self, events, Utc::now()).await
                }

                async fn get_event(&self, tenant: TenantId, id: EventId) -> StoreResult<Option<EventRecord>> {
                    let sql = format!("SELECT {EVENT_COLS}, e.status, e.accepted_at FROM events e WHERE e.tenant_id = $1 AND e.id = $2");
                    let Some(r) = sqlx::query(&sql).bind(enc_id(tenant.0)).bind(enc_id(id.0)).fetch_optional(&self.pool).await? else {
                        return Ok(None);
                    };
                    let status: String = r.try_get("status")?;
                    Ok(Some(EventRecord {
                        event: event_from_row(&r)?,
                        status: EventStatus::parse(&status),
                        accepted_at: get_ts(&r, "accepted_at", "events")?,
                    }))
                }

                async fn mark_dispatched(&self, ids: &[EventId]) -> StoreResult<()> {
                    if ids.is_empty() {
                        return Ok(());
                    }
                    write_dispatched(self, ids).await
                }

                async fn conversation_events(&self, tenant: TenantId, correlation: EventId, limit: i64) -> StoreResult<Vec<Event>> {
                    let sql = format!(
                        "SELECT {EVENT_COLS} FROM events e WHERE e.tenant_id = $1 AND e.correlation_id = $2 \
                         ORDER BY e.accepted_at, e.ts, e.id LIMIT $3"
                    );
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(correlation.0))
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(event_from_row)
                        .collect()
                }

                async fn undispatched_events(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Event>> {
                    let sql = format!(
                        "SELECT {EVENT_COLS} FROM events e WHERE e.status = 'accepted' AND e.accepted_at < $1 \
                         ORDER BY e.accepted_at, e.id LIMIT $2"
                    );
                    sqlx::query(&sql).bind(enc_ts(before)).bind(limit).fetch_all(&self.pool).await?.iter().map(event_from_row).collect()
                }

                async fn latest_context(&self, tenant: TenantId, instance: InstanceId) -> StoreResult<Option<WorkContext>> {
                    const T: &str = "work_contexts";
                    // The instance row points at its current snapshot (see migration 8).
                    let Some(r) = sqlx::query(
                        "SELECT w.tenant_id, w.instance_id, w.version, w.state, w.event_id, w.created_at \
                         FROM instances i JOIN work_contexts w ON w.seq = i.context_seq \
                         WHERE i.tenant_id = $1 AND i.id = $2 AND w.tenant_id = $1",
                    )
                    .bind(enc_id(tenant.0))
                    .bind(enc_id(instance.0))
                    .fetch_optional(&self.pool)
                    .await?
                    else {
                        return Ok(None);
                    };
                    Ok(Some(WorkContext {
                        tenant_id: TenantId(get_uuid(&r, "tenant_id", T)?),
                        instance_id: InstanceId(get_uuid(&r, "instance_id", T)?),
                        version: r.try_get("version")?,
                        state: get_json(&r, "state", T)?,
                        event_id: get_opt_uuid(&r, "event_id", T)?.map(EventId),
                        created_at: get_ts(&r, "created_at", T)?,
                    }))
                }

                async fn get_delivery(
                    &self,
                    tenant: TenantId,
                    event: EventId,
                    instance: InstanceId,
                ) -> StoreResult<Option<DeliveryRecord>> {
                    let sql = format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE tenant_id = $1 AND event_id = $2 AND instance_id = $3");
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(event.0))
                        .bind(enc_id(instance.0))
                        .fetch_optional(&self.pool)
                        .await?
                        .as_ref()
                        .map(delivery_from_row)
                        .transpose()
                }

                async fn list_deliveries(&self, tenant: TenantId, event: EventId) -> StoreResult<Vec<DeliveryRecord>> {
                    let sql = format!("SELECT {DELIVERY_COLS} FROM deliveries WHERE tenant_id = $1 AND event_id = $2 ORDER BY instance_id");
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(event.0))
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(delivery_from_row)
                        .collect()
                }

                async fn count_deliveries(&self, tenant: TenantId, instance: InstanceId, status: DeliveryStatus) -> StoreResult<i64> {
                    // The status is a literal, not a parameter, so the partial index on deferred
                    // deliveries can serve the query (it is one of four fixed words).
                    let sql = format!(
                        "SELECT COUNT(*) FROM deliveries WHERE tenant_id = $1 AND instance_id = $2 AND status = '{}'",
                        status.as_str()
                    );
                    let row = sqlx::query(&sql).bind(enc_id(tenant.0)).bind(enc_id(instance.0)).fetch_one(&self.pool).await?;
                    Ok(row.try_get::<i64, _>(0)?)
                }

                async fn deliveries_in_status(
                    &self,
                    tenant: TenantId,
                    instance: InstanceId,
                    status: DeliveryStatus,
                    limit: i64,
                ) -> StoreResult<Vec<Event>> {
                    let sql = format!(
                        "SELECT {EVENT_COLS} FROM deliveries d JOIN events e ON e.id = d.event_id \
                         WHERE d.tenant_id = $1 AND d.instance_id = $2 AND d.status = '{status}' AND e.tenant_id = $1 \
                         ORDER BY e.ts, e.id LIMIT $3",
                        status = status.as_str()
                    );
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(instance.0))
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(event_from_row)
                        .collect()
                }

                async fn expire_deferred(&self, tenant: TenantId, instance: InstanceId, cutoff: DateTime<Utc>) -> StoreResult<u64> {
                    // Two steps: events may live apart from deliveries (SQLite keeps them in their
                    // own file, which the writer of deliveries does not open). The status guard
                    // keeps a delivery finished in between from being expired.
                    let stale: Vec<String> = sqlx::query_scalar(&format!(
                        "SELECT {} FROM deliveries d JOIN events e ON e.id = d.event_id \
                         WHERE d.tenant_id = $1 AND d.instance_id = $2 AND d.status = 'deferred' AND e.ts < $3",
                        sql_id_text("d.event_id")
                    ))
                    .bind(enc_id(tenant.0))
                    .bind(enc_id(instance.0))
                    .bind(enc_ts(cutoff))
                    .fetch_all(&self.pool)
                    .await?;
                    let now = Utc::now();
                    let mut expired = 0;
                    for chunk in stale.chunks(ID_CHUNK) {
                        // Placeholders in binding order: SQLite's `?` count from the left.
                        let p = |first, n| placeholders(first, n, POSITIONAL_PARAMS);
                        let sql = format!(
                            "UPDATE deliveries SET status = 'expired', updated_at = {} \
                             WHERE tenant_id = {} AND instance_id = {} AND status = 'deferred' AND {} IN ({})",
                            p(1, 1),
                            p(2, 1),
                            p(3, 1),
                            sql_id_text("event_id"),
                            p(4, chunk.len())
                        );
                        let mut q = sqlx::query(&sql).bind(enc_ts(now)).bind(enc_id(tenant.0)).bind(enc_id(instance.0));
                        for id in chunk {
                            q = q.bind(id.as_str());
                        }
                        expired += q.execute(&self.writer).await?.rows_affected();
                    }
                    Ok(expired)
                }

                async fn prune_contexts(&self, keep: i64) -> StoreResult<u64> {
                    let done = sqlx::query(
                        "DELETE FROM work_contexts WHERE EXISTS (SELECT 1 FROM instances i \
                         WHERE i.tenant_id = work_contexts.tenant_id AND i.id = work_contexts.instance_id \
                         AND work_contexts.version <= i.context_version - $1)",
                    )
                    .bind(keep.max(1))
                    .execute(&self.writer)
                    .await?;
                    Ok(done.rows_affected())
                }

                async fn commit_wakes(&self, commits: &[WakeCommit]) -> StoreResult<Vec<WakeResult>> {
                    if commits.is_empty() {
                        return Ok(Vec::new());
                    }
                    write_wakes(self, commits).await
                }

                async fn list_deliverables(
                    &self,
                    tenant: TenantId,
                    instance: InstanceId,
                    limit: i64,
                ) -> StoreResult<Vec<waooaw_domain::Deliverable>> {
                    let sql = format!(
                        "SELECT {DELIVERABLE_COLS} FROM deliverables WHERE tenant_id = $1 AND instance_id = $2 \
                         ORDER BY created_at DESC, id DESC LIMIT $3"
                    );
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(instance.0))
                        .bind(limit.max(0))
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(deliverable_from_row)
                        .collect()
                }

                async fn get_deliverable(&self, tenant: TenantId, id: uuid::Uuid) -> StoreResult<Option<waooaw_domain::Deliverable>> {
                    let sql = format!("SELECT {DELIVERABLE_COLS} FROM deliverables WHERE tenant_id = $1 AND id = $2");
                    sqlx::query(&sql)
                        .bind(enc_id(tenant.0))
                        .bind(enc_id(id))
                        .fetch_optional(&self.pool)
                        .await?
                        .as_ref()
                        .map(deliverable_from_row)
                        .transpose()
                }

                async fn commit_wake(&self, c: &WakeCommit) -> StoreResult<WakeResult> {
                    let results = self.commit_wakes(std::slice::from_ref(c)).await?;
                    results.into_iter().next().ok_or_else(|| StoreError::Corrupt {
                        table: "deliveries",
                        reason: "a commit of one wake returned no result".to_owned(),
                    })
                }

                async fn insert_dead_letter(&self, d: &DeadLetter) -> StoreResult<()> {
                    let mut tx = begin(&self.writer).await?;
                    let sql = format!("INSERT INTO dead_letters ({DEAD_LETTER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
                    sqlx::query(&sql)
                        .bind(enc_id(d.id))
                        .bind(enc_id(d.tenant_id.0))
                        .bind(enc_id(d.event_id.0))
                        .bind(enc_id(d.instance_id.0))
                        .bind(d.event_type.as_str())
                        .bind(d.error.as_str())
                        .bind(d.attempts)
                        .bind(enc_ts(d.created_at))
                        .bind(d.redriven_at.map(enc_ts))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| unique_as_conflict(e, format!("dead letter {}", d.id)))?;
                    sqlx::query(UPSERT_DELIVERY_DEAD)
                        .bind(enc_id(d.tenant_id.0))
                        .bind(enc_id(d.event_id.0))
                        .bind(enc_id(d.instance_id.0))
                        .bind(d.attempts)
                        .bind(d.error.as_str())
                        .bind(enc_ts(d.created_at))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn list_dead_letters(&self, tenant: Option<TenantId>, include_redriven: bool) -> StoreResult<Vec<DeadLetter>> {
                    let mut sql = format!("SELECT {DEAD_LETTER_COLS} FROM dead_letters WHERE 1 = 1");
                    if tenant.is_some() {
                        sql.push_str(" AND tenant_id = $1");
                    }
                    if !include_redriven {
                        sql.push_str(" AND redriven_at IS NULL");
                    }
                    sql.push_str(" ORDER BY created_at, id");
                    let mut q = sqlx::query(&sql);
                    if let Some(t) = tenant {
                        q = q.bind(enc_id(t.0));
                    }
                    q.fetch_all(&self.pool).await?.iter().map(dead_letter_from_row).collect()
                }

                async fn redrive_dead_letter(
                    &self,
                    tenant: Option<TenantId>,
                    id: uuid::Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<DeadLetter>> {
                    let mut tx = begin(&self.writer).await?;
                    let mut sql = String::from("UPDATE dead_letters SET redriven_at = $1 WHERE id = $2 AND redriven_at IS NULL");
                    if tenant.is_some() {
                        sql.push_str(" AND tenant_id = $3");
                    }
                    sql.push_str(&format!(" RETURNING {DEAD_LETTER_COLS}"));
                    let mut q = sqlx::query(&sql).bind(enc_ts(now)).bind(enc_id(id));
                    if let Some(t) = tenant {
                        q = q.bind(enc_id(t.0));
                    }
                    let Some(row) = q.fetch_optional(&mut *tx).await? else {
                        tx.rollback().await?;
                        return Ok(None);
                    };
                    let dead = dead_letter_from_row(&row)?;
                    sqlx::query("DELETE FROM deliveries WHERE tenant_id = $1 AND event_id = $2 AND instance_id = $3")
                        .bind(enc_id(dead.tenant_id.0))
                        .bind(enc_id(dead.event_id.0))
                        .bind(enc_id(dead.instance_id.0))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Some(dead))
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_insert_sql_numbers_every_placeholder_once() {
        let sql = insert_events_sql(3, false);
        assert!(sql.contains("($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'accepted', $11)"));
        assert!(sql.contains("($23, $24, $25, $26, $27, $28, $29, $30, $31, $32, 'accepted', $33)"));
        assert!(!sql.contains("$34"));
        assert!(sql.ends_with("ON CONFLICT (id) DO NOTHING"));
        let sql = insert_events_sql(2, true);
        assert_eq!(sql.matches('?').count(), 2 * EVENT_ROW_PARAMS);
        assert!(sql.contains("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?),(?"));
    }

    #[test]
    fn placeholders_are_consecutive() {
        assert_eq!(placeholders(1, 3, false), "$1, $2, $3");
        assert_eq!(placeholders(4, 1, false), "$4");
        assert_eq!(placeholders(1, 3, true), "?, ?, ?");
    }
}
