//! `Store::commit_wakes` on SQLite, run on the main file's writer thread: the same decisions as
//! PostgreSQL's batched commit (`crate::wake_commit::BatchJudge`), with prepared single-row
//! statements instead of generated multi-row ones: on one local connection a cached statement
//! per row costs less than building and parsing a statement per batch.

use super::{enc_id, enc_json, enc_ts};
use crate::common::corrupt;
use crate::wake_commit::{BatchJudge, CommitFacts, InstanceNow, Verdict, version_after};
use crate::{StoreResult, WakeCommit, WakeResult};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use uuid::Uuid;
use waooaw_domain::{HANDOFF_KEY_PREFIX, InstanceStatus};

/// A wake commit with every column encoded, so that the writer thread owns it.
pub(crate) struct EncodedWake {
    facts: CommitFacts,
    tenant: String,
    instance: String,
    event: String,
    status: &'static str,
    attempts: i32,
    outcome: String,
    state: Option<String>,
    now: String,
    /// Key, action (JSON), first attempt.
    outbox: Vec<(String, String, String)>,
    deliverables: Vec<EncodedDeliverable>,
}

struct EncodedDeliverable {
    id: String,
    kind: String,
    title: String,
    body_markdown: String,
    created_at: String,
}

impl EncodedWake {
    pub fn of(c: &WakeCommit) -> StoreResult<Self> {
        let outbox = c
            .outbox
            .iter()
            .map(|o| {
                let action = serde_json::to_value(&o.action).map_err(|e| corrupt("outbox", e.to_string()))?;
                let due = match c.handoffs_due_at {
                    Some(at) if o.key.starts_with(HANDOFF_KEY_PREFIX) => at,
                    _ => c.now,
                };
                Ok((o.key.clone(), enc_json(&action), enc_ts(due)))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let deliverables = c
            .deliverables
            .iter()
            .map(|d| EncodedDeliverable {
                id: enc_id(d.id),
                kind: d.kind.clone(),
                title: d.title.clone(),
                body_markdown: d.body_markdown.clone(),
                created_at: enc_ts(d.created_at),
            })
            .collect();
        Ok(Self {
            facts: CommitFacts::of(c),
            tenant: enc_id(c.tenant_id.0),
            instance: enc_id(c.instance_id.0),
            event: enc_id(c.event_id.0),
            status: c.outcome.status.as_str(),
            attempts: c.outcome.attempts,
            outcome: c.outcome.outcome.clone(),
            state: c.new_state.as_ref().map(enc_json),
            now: enc_ts(c.now),
            outbox,
            deliverables,
        })
    }
}

const READ_INSTANCE: &str = "SELECT tenant_id, context_version, status FROM instances WHERE id = ?1";
const READ_DELIVERY: &str = "SELECT status, tenant_id FROM deliveries WHERE event_id = ?1 AND instance_id = ?2";
const UPSERT_DELIVERY: &str = "INSERT INTO deliveries (tenant_id, event_id, instance_id, status, attempts, outcome, context_version, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (event_id, instance_id) DO UPDATE SET status = excluded.status, \
     attempts = excluded.attempts, outcome = excluded.outcome, context_version = excluded.context_version, \
     updated_at = excluded.updated_at \
     WHERE deliveries.status NOT IN ('done', 'dead', 'expired') AND deliveries.tenant_id = excluded.tenant_id";
const INSERT_CONTEXT: &str =
    "INSERT INTO work_contexts (tenant_id, instance_id, version, state, event_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const ADVANCE_INSTANCE: &str = "UPDATE instances SET context_version = ?2, context_seq = ?3, wake_count = wake_count + 1, \
     last_woken_at = ?4, updated_at = ?4 WHERE id = ?1";
const INSERT_OUTBOX: &str = "INSERT INTO outbox (tenant_id, key, instance_id, action, status, next_attempt_at, created_at) \
     VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6) ON CONFLICT (tenant_id, key) DO NOTHING";
const INSERT_DELIVERABLE: &str = "INSERT INTO deliverables (tenant_id, id, instance_id, event_id, kind, title, body_markdown, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

fn parse_uuid(s: &str, table: &'static str, col: &str) -> StoreResult<Uuid> {
    Uuid::from_str(s).map_err(|e| corrupt(table, format!("{col} `{s}`: {e}")))
}

/// The batch in one transaction: read what decides each commit, decide each in order as if
/// alone, apply the accepted ones. A refused commit writes nothing.
pub(crate) fn commit(conn: &mut Connection, wakes: &[EncodedWake]) -> StoreResult<Vec<WakeResult>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut instances = HashMap::with_capacity(wakes.len());
    let mut deliveries = HashMap::new();
    // Each instance and each delivery is read once, found or not.
    let (mut instances_read, mut deliveries_read) = (HashSet::new(), HashSet::new());
    {
        let mut read_instance = tx.prepare_cached(READ_INSTANCE)?;
        let mut read_delivery = tx.prepare_cached(READ_DELIVERY)?;
        for w in wakes {
            if instances_read.insert(w.facts.instance) {
                let row = read_instance
                    .query_row([&w.instance], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))
                    .optional()?;
                if let Some((tenant, version, status)) = row {
                    let awake = InstanceStatus::parse(&status).is_some_and(InstanceStatus::is_awake);
                    instances
                        .insert(w.facts.instance, InstanceNow { tenant: parse_uuid(&tenant, "instances", "tenant_id")?, version, awake });
                }
            }
            let pair = (w.facts.event, w.facts.instance);
            if deliveries_read.insert(pair) {
                let row = read_delivery
                    .query_row([&w.event, &w.instance], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                    .optional()?;
                if let Some((status, tenant)) = row {
                    deliveries.insert(pair, (status, parse_uuid(&tenant, "deliveries", "tenant_id")?));
                }
            }
        }
    }
    let mut judge = BatchJudge::new(instances, deliveries);
    let mut results = Vec::with_capacity(wakes.len());
    let mut applied = Vec::with_capacity(wakes.len());
    for w in wakes {
        results.push(match judge.judge_facts(&w.facts) {
            Verdict::Apply { new_version } => {
                applied.push((w, new_version));
                WakeResult::Committed(version_after(&judge, &w.facts, new_version))
            }
            Verdict::AlreadyDone => WakeResult::AlreadyDone,
            Verdict::Conflict => WakeResult::Conflict,
        });
    }
    {
        let mut upsert_delivery = tx.prepare_cached(UPSERT_DELIVERY)?;
        let mut insert_context = tx.prepare_cached(INSERT_CONTEXT)?;
        let mut advance_instance = tx.prepare_cached(ADVANCE_INSTANCE)?;
        let mut insert_outbox = tx.prepare_cached(INSERT_OUTBOX)?;
        let mut insert_deliverable = tx.prepare_cached(INSERT_DELIVERABLE)?;
        for (w, new_version) in applied {
            upsert_delivery.execute(params![w.tenant, w.event, w.instance, w.status, w.attempts, w.outcome, new_version, w.now])?;
            let (Some(version), Some(state)) = (new_version, &w.state) else { continue };
            // Contexts are an append-only log: the row's `seq` goes into its instance's row.
            insert_context.execute(params![w.tenant, w.instance, version, state, w.event, w.now])?;
            let seq = tx.last_insert_rowid();
            advance_instance.execute(params![w.instance, version, seq, w.now])?;
            for (key, action, due) in &w.outbox {
                insert_outbox.execute(params![w.tenant, key, w.instance, action, due, w.now])?;
            }
            for d in &w.deliverables {
                insert_deliverable.execute(params![w.tenant, d.id, w.instance, w.event, d.kind, d.title, d.body_markdown, d.created_at])?;
            }
        }
    }
    tx.commit()?;
    Ok(results)
}
