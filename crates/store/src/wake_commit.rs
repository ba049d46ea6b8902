//! `Store::commit_wakes`: a batch of wake commits in one transaction. The decisions are shared
//! ([`BatchJudge`]); the statements are each store's own. PostgreSQL (`commit_wakes_impl!`)
//! sends a handful of multi-row statements whatever the batch size, because each statement is
//! a round trip to the server. SQLite (`sqlite::wake_commit`) runs the whole batch as one job on
//! a writer thread, with prepared single-row statements.
//!
//! Either way: reads fetch what decides every commit (instance rows, locked on PostgreSQL;
//! existing deliveries), each commit is decided in memory by the same rules as a commit of one,
//! and the writes apply the accepted ones. A refused commit writes nothing.

use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What a commit is decided against: the instance as stored, updated as the batch applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InstanceNow {
    pub tenant: Uuid,
    pub version: i64,
    pub awake: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Apply; for a wake that ran, the new context version.
    Apply {
        new_version: Option<i64>,
    },
    AlreadyDone,
    Conflict,
}

/// Decides each commit of a batch in order, as if each were committed alone.
pub(crate) struct BatchJudge {
    pub instances: HashMap<Uuid, InstanceNow>,
    /// Status and tenant of deliveries that exist, by (event, instance).
    pub deliveries: HashMap<(Uuid, Uuid), (String, Uuid)>,
    decided: HashSet<(Uuid, Uuid)>,
    /// Instances whose context this batch already advances: one multi-row update can apply
    /// only one new version per instance, so a second wake of it waits for a later batch.
    woken: HashSet<Uuid>,
}

impl BatchJudge {
    pub fn new(instances: HashMap<Uuid, InstanceNow>, deliveries: HashMap<(Uuid, Uuid), (String, Uuid)>) -> Self {
        Self { instances, deliveries, decided: HashSet::new(), woken: HashSet::new() }
    }

    pub fn judge(&mut self, c: &crate::WakeCommit) -> Verdict {
        self.judge_facts(&CommitFacts::of(c))
    }

    pub fn judge_facts(&mut self, c: &CommitFacts) -> Verdict {
        let pair = (c.event, c.instance);
        let Some(now) = self.instances.get_mut(&c.instance) else { return Verdict::Conflict };
        if now.tenant != c.tenant {
            return Verdict::Conflict;
        }
        if let Some((status, tenant)) = self.deliveries.get(&pair)
            && (matches!(status.as_str(), "done" | "dead" | "expired") || *tenant != c.tenant)
        {
            return Verdict::AlreadyDone;
        }
        // The same delivery twice in one batch: the second waits for a later batch.
        if self.decided.contains(&pair) || (c.ran && self.woken.contains(&pair.1)) {
            return Verdict::Conflict;
        }
        // The wake decided from a status it read, perhaps from a cache: work that ran needs the
        // instance still awake at the version it read, a deferral needs it asleep.
        let deferring = c.status == waooaw_domain::DeliveryStatus::Deferred;
        if (c.ran && (now.version != c.read_version || !now.awake)) || (deferring && now.awake) {
            return Verdict::Conflict;
        }
        self.decided.insert(pair);
        let new_version = c.ran.then_some(c.read_version + 1);
        if let Some(v) = new_version {
            now.version = v;
            self.woken.insert(pair.1);
        }
        if c.status.is_terminal() {
            self.deliveries.insert(pair, (c.status.as_str().to_owned(), c.tenant));
        }
        Verdict::Apply { new_version }
    }
}

/// What the judge needs of a commit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommitFacts {
    pub tenant: Uuid,
    pub instance: Uuid,
    pub event: Uuid,
    pub read_version: i64,
    /// The work ran: the commit saves a new context version.
    pub ran: bool,
    pub status: waooaw_domain::DeliveryStatus,
}

impl CommitFacts {
    pub fn of(c: &crate::WakeCommit) -> Self {
        Self {
            tenant: c.tenant_id.0,
            instance: c.instance_id.0,
            event: c.event_id.0,
            read_version: c.read_version,
            ran: c.new_state.is_some(),
            status: c.outcome.status,
        }
    }
}

/// The committed version a result reports for an applied commit that did not run (a deferral):
/// the instance's version as the batch left it.
pub(crate) fn version_after(judge: &BatchJudge, c: &CommitFacts, new_version: Option<i64>) -> i64 {
    new_version.unwrap_or_else(|| judge.instances.get(&c.instance).map_or(c.read_version, |n| n.version))
}

/// `(p, p, ...), (p, p, ...)`: `rows` tuples of `cols` parameters numbered from `first`.
pub(crate) fn values_rows(first: usize, rows: usize, cols: usize, positional: bool) -> String {
    let mut sql = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&crate::common::placeholders(first + r * cols, cols, positional));
        sql.push(')');
    }
    sql
}

/// Expands to `async fn commit_wakes_batched` in an inherent impl of `PgStore`; its
/// `write_wakes` (`Store::commit_wakes`) calls it.
macro_rules! commit_wakes_impl {
    () => {
        pub(crate) async fn commit_wakes_batched(&self, commits: &[WakeCommit]) -> StoreResult<Vec<WakeResult>> {
            use crate::wake_commit::{BatchJudge, InstanceNow, Verdict, values_rows};
            use std::collections::HashMap;
            const T: &str = "instances";
            let mut tx = begin(&self.writer).await?;
            let mut results = Vec::with_capacity(commits.len());
            for chunk in commits.chunks(crate::wake_commit::WAKE_CHUNK) {
                // 1. Read what decides every commit: the instances (locked), then the deliveries.
                let mut ids: Vec<uuid::Uuid> = chunk.iter().map(|c| c.instance_id.0).collect();
                ids.sort_unstable();
                ids.dedup();
                let sql = format!(
                    "SELECT i.id, i.tenant_id, i.context_version, i.status FROM instances i WHERE i.id IN ({}) ORDER BY i.id{INSTANCE_LOCK}",
                    placeholders(1, ids.len(), POSITIONAL_PARAMS)
                );
                let mut q = sqlx::query(&sql);
                for id in &ids {
                    q = q.bind(enc_id(*id));
                }
                let mut instances = HashMap::with_capacity(ids.len());
                for r in q.fetch_all(&mut *tx).await? {
                    let status: String = r.try_get(3)?;
                    let now = InstanceNow {
                        tenant: get_uuid(&r, "tenant_id", T)?,
                        version: r.try_get(2)?,
                        awake: InstanceStatus::parse(&status).is_some_and(InstanceStatus::is_awake),
                    };
                    instances.insert(get_uuid(&r, "id", T)?, now);
                }
                let mut events: Vec<uuid::Uuid> = chunk.iter().map(|c| c.event_id.0).collect();
                events.sort_unstable();
                events.dedup();
                let sql = format!(
                    "SELECT event_id, instance_id, status, tenant_id FROM deliveries WHERE event_id IN ({})",
                    placeholders(1, events.len(), POSITIONAL_PARAMS)
                );
                let mut q = sqlx::query(&sql);
                for id in &events {
                    q = q.bind(enc_id(*id));
                }
                let mut deliveries = HashMap::new();
                for r in q.fetch_all(&mut *tx).await? {
                    let key = (get_uuid(&r, "event_id", "deliveries")?, get_uuid(&r, "instance_id", "deliveries")?);
                    deliveries.insert(key, (r.try_get::<String, _>(2)?, get_uuid(&r, "tenant_id", "deliveries")?));
                }

                // 2. Decide each commit in order, as if alone.
                let mut judge = BatchJudge::new(instances, deliveries);
                let mut applied = Vec::with_capacity(chunk.len());
                for c in chunk {
                    let verdict = judge.judge(c);
                    results.push(match verdict {
                        Verdict::Apply { new_version } => {
                            applied.push((c, new_version));
                            WakeResult::Committed(crate::wake_commit::version_after(&judge, &crate::wake_commit::CommitFacts::of(c), new_version))
                        }
                        Verdict::AlreadyDone => WakeResult::AlreadyDone,
                        Verdict::Conflict => WakeResult::Conflict,
                    });
                }
                if applied.is_empty() {
                    continue;
                }

                // 3. Apply the accepted ones: deliveries, instance counters, contexts.
                let sql = format!(
                    "INSERT INTO deliveries (tenant_id, event_id, instance_id, status, attempts, outcome, context_version, updated_at) \
                     VALUES {} ON CONFLICT (event_id, instance_id) DO UPDATE SET status = excluded.status, \
                     attempts = excluded.attempts, outcome = excluded.outcome, context_version = excluded.context_version, \
                     updated_at = excluded.updated_at \
                     WHERE deliveries.status NOT IN ('done', 'dead', 'expired') AND deliveries.tenant_id = excluded.tenant_id",
                    values_rows(1, applied.len(), 8, POSITIONAL_PARAMS)
                );
                let mut q = sqlx::query(&sql);
                for (c, new_version) in &applied {
                    q = q
                        .bind(enc_id(c.tenant_id.0))
                        .bind(enc_id(c.event_id.0))
                        .bind(enc_id(c.instance_id.0))
                        .bind(c.outcome.status.as_str())
                        .bind(c.outcome.attempts)
                        .bind(c.outcome.outcome.as_str())
                        .bind(*new_version)
                        .bind(enc_ts(c.now));
                }
                q.execute(&mut *tx).await?;

                let woke: Vec<_> = applied.iter().filter_map(|(c, v)| Some((*c, (*v)?, c.new_state.as_ref()?))).collect();
                if woke.is_empty() {
                    continue;
                }
                // Contexts first: each snapshot's `seq` goes into its instance's row.
                let sql = format!(
                    "INSERT INTO work_contexts (tenant_id, instance_id, version, state, event_id, created_at) VALUES {} \
                     RETURNING instance_id, seq",
                    values_rows(1, woke.len(), 6, POSITIONAL_PARAMS)
                );
                let mut q = sqlx::query(&sql);
                for (c, version, state) in &woke {
                    q = q
                        .bind(enc_id(c.tenant_id.0))
                        .bind(enc_id(c.instance_id.0))
                        .bind(*version)
                        .bind(enc_json(state))
                        .bind(enc_id(c.event_id.0))
                        .bind(enc_ts(c.now));
                }
                // A batch advances each instance once (the judge sees to it), so the instance
                // names its row.
                let mut seqs = HashMap::with_capacity(woke.len());
                for r in q.fetch_all(&mut *tx).await? {
                    seqs.insert(get_uuid(&r, "instance_id", "work_contexts")?, r.try_get::<i64, _>(1)?);
                }
                let sql = format!(
                    "WITH v (id, version, ts, seq) AS (VALUES {}) UPDATE instances SET context_version = v.version, \
                     context_seq = v.seq, wake_count = instances.wake_count + 1, last_woken_at = v.ts, updated_at = v.ts \
                     FROM v WHERE instances.id = v.id",
                    values_rows(1, woke.len(), 4, POSITIONAL_PARAMS)
                );
                let mut q = sqlx::query(&sql);
                for (c, version, _) in &woke {
                    let seq = seqs.get(&c.instance_id.0).copied().ok_or_else(|| crate::StoreError::Corrupt {
                        table: "work_contexts",
                        reason: format!("no snapshot row came back for instance {}", c.instance_id),
                    })?;
                    q = q.bind(enc_id(c.instance_id.0)).bind(*version).bind(enc_ts(c.now)).bind(seq);
                }
                q.execute(&mut *tx).await?;
                let sent: Vec<_> = woke.iter().flat_map(|(c, _, _)| c.outbox.iter().map(move |o| (*c, o))).collect();
                crate::outbox_store::insert_outbox!(tx, sent);
                let made: Vec<&waooaw_domain::Deliverable> = woke.iter().flat_map(|(c, _, _)| c.deliverables.iter()).collect();
                for part in made.chunks(crate::wake_commit::WAKE_CHUNK) {
                    let sql = format!(
                        "INSERT INTO deliverables (tenant_id, id, instance_id, event_id, kind, title, body_markdown, created_at) VALUES {}",
                        values_rows(1, part.len(), 8, POSITIONAL_PARAMS)
                    );
                    let mut q = sqlx::query(&sql);
                    for d in part {
                        q = q
                            .bind(enc_id(d.tenant_id.0))
                            .bind(enc_id(d.id))
                            .bind(enc_id(d.instance_id.0))
                            .bind(enc_id(d.event_id.0))
                            .bind(d.kind.as_str())
                            .bind(d.title.as_str())
                            .bind(d.body_markdown.as_str())
                            .bind(enc_ts(d.created_at));
                    }
                    q.execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(results)
        }
    };
}

pub(crate) use commit_wakes_impl;

/// Commits per round of statements; the widest row (deliveries, 8 parameters) stays far below
/// both databases' bind limits.
pub(crate) const WAKE_CHUNK: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WakeCommit;
    use waooaw_domain::{DeliveryOutcome, DeliveryStatus, EventId, InstanceId, TenantId};

    fn commit(t: TenantId, i: InstanceId, e: EventId, read: i64, ran: bool) -> WakeCommit {
        let status = if ran { DeliveryStatus::Done } else { DeliveryStatus::Deferred };
        WakeCommit {
            tenant_id: t,
            instance_id: i,
            event_id: e,
            read_version: read,
            new_state: ran.then(|| serde_json::json!({})),
            deliverables: Vec::new(),
            outbox: Vec::new(),
            handoffs_due_at: None,
            outcome: DeliveryOutcome { status, attempts: 1, outcome: String::new() },
            now: chrono::Utc::now(),
        }
    }

    #[test]
    fn one_new_version_per_instance_and_one_decision_per_delivery_per_batch() {
        let (t, i, j) = (TenantId::new(), InstanceId::new(), InstanceId::new());
        let (e1, e2) = (EventId::new(), EventId::new());
        let instances = HashMap::from([
            (i.0, InstanceNow { tenant: t.0, version: 3, awake: true }),
            (j.0, InstanceNow { tenant: t.0, version: 0, awake: false }),
        ]);
        let mut judge = BatchJudge::new(instances, HashMap::new());
        assert_eq!(judge.judge(&commit(t, i, e1, 3, true)), Verdict::Apply { new_version: Some(4) });
        assert_eq!(judge.judge(&commit(t, i, e2, 4, true)), Verdict::Conflict, "second version of i waits");
        assert_eq!(judge.judge(&commit(t, i, e1, 4, true)), Verdict::AlreadyDone, "e1 is done for i");
        assert_eq!(judge.judge(&commit(t, j, e1, 0, false)), Verdict::Apply { new_version: None });
        assert_eq!(judge.judge(&commit(t, j, e1, 0, false)), Verdict::Conflict, "same deferral twice");
        assert_eq!(judge.judge(&commit(t, j, e2, 0, false)), Verdict::Apply { new_version: None }, "deferrals do not advance");
        assert_eq!(judge.judge(&commit(TenantId::new(), j, e2, 0, false)), Verdict::Conflict, "wrong tenant");
        assert_eq!(judge.judge(&commit(t, InstanceId::new(), e2, 0, true)), Verdict::Conflict, "unknown instance");
    }

    #[test]
    fn values_rows_number_parameters_in_order() {
        assert_eq!(values_rows(1, 2, 3, false), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_rows(1, 2, 2, true), "(?, ?), (?, ?)");
    }
}
