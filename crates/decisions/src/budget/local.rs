//! The embedded default's ledger: one process owns the store, so reservations are checked and
//! counted in memory (a mutex: no interleaving of callers passes a limit) and written to the
//! store behind the call, in order, by one task. The store stays the record (`GET /v1/budgets`,
//! restarts) a few milliseconds behind; a crash loses at most the writes still queued, which
//! errs towards counting less spend than was made in the last instant, never more.
//!
//! Limits (tenant and instance overrides) are read from the store at most once a second per
//! tenant, so a changed override applies within a second.

use super::{Refusal, micro_limits_ok};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use waooaw_domain::{BudgetLimits, InstanceId, TenantId};
use waooaw_store::{DynStore, LedgerLine};

/// How long a tenant's overrides are used before they are read again.
const OVERRIDES_TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Totals {
    pub spent_tokens: i64,
    pub spent_microusd: i64,
    pub reserved_tokens: i64,
    pub reserved_microusd: i64,
}

enum Write {
    Reserve { tenant: TenantId, lines: Vec<LedgerLine>, tokens: i64, microusd: i64 },
    Settle { tenant: TenantId, lines: Vec<LedgerLine>, reserved: (i64, i64), spent: (i64, i64) },
}

type Overrides = Arc<Vec<(Option<InstanceId>, BudgetLimits)>>;

/// tenant -> scope -> period -> totals: looked up by `&str`, so the hot path allocates no keys.
type Rows = HashMap<TenantId, HashMap<String, HashMap<String, Totals>>>;

fn row<'a>(rows: &'a Rows, tenant: TenantId, l: &LedgerLine) -> Option<&'a Totals> {
    rows.get(&tenant)?.get(l.scope.as_str())?.get(l.period.as_str())
}

fn row_mut<'a>(rows: &'a mut Rows, tenant: TenantId, l: &LedgerLine) -> &'a mut Totals {
    let scopes = rows.entry(tenant).or_default();
    if !scopes.contains_key(l.scope.as_str()) {
        scopes.insert(l.scope.clone(), HashMap::new());
    }
    let periods = scopes.get_mut(l.scope.as_str()).expect("inserted above"); // never fails: just inserted
    if !periods.contains_key(l.period.as_str()) {
        periods.insert(l.period.clone(), Totals::default());
    }
    periods.get_mut(l.period.as_str()).expect("inserted above") // never fails: just inserted
}

pub(crate) struct LocalLedger {
    store: DynStore,
    rows: Mutex<Rows>,
    overrides: Mutex<HashMap<TenantId, (Instant, Overrides)>>,
    /// Writes not yet in the store, in order. A buffer the writer drains on a short tick
    /// rather than a channel that wakes it: waking a task on every call costs more than the
    /// reservation itself.
    pending: Arc<Mutex<Vec<Write>>>,
    queued: Arc<AtomicUsize>,
    kick: Arc<Notify>,
    drained: Arc<Notify>,
}

/// How often the writer looks for queued writes.
const WRITE_TICK: Duration = Duration::from_millis(5);

impl LocalLedger {
    /// Starts the writer task (call inside a Tokio runtime).
    pub fn start(store: DynStore) -> Self {
        let pending: Arc<Mutex<Vec<Write>>> = Arc::default();
        let (queued, kick, drained) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()), Arc::new(Notify::new()));
        tokio::spawn(writer(store.clone(), pending.clone(), queued.clone(), kick.clone(), drained.clone()));
        Self { store, rows: Mutex::new(HashMap::new()), overrides: Mutex::new(HashMap::new()), pending, queued, kick, drained }
    }

    pub async fn overrides(&self, tenant: TenantId) -> Result<Overrides, Refusal> {
        if let Some((at, o)) = self.overrides.lock().unwrap_or_else(|e| e.into_inner()).get(&tenant)
            && at.elapsed() < OVERRIDES_TTL
        {
            return Ok(o.clone());
        }
        let o = Arc::new(self.store.budget_overrides(tenant).await.map_err(|e| Refusal::Store(e.to_string()))?);
        self.overrides.lock().unwrap_or_else(|e| e.into_inner()).insert(tenant, (Instant::now(), o.clone()));
        Ok(o)
    }

    /// The totals of `lines`, read from the store the first time each is used.
    pub async fn totals(&self, tenant: TenantId, lines: &[LedgerLine]) -> Result<Vec<Totals>, Refusal> {
        let missing: Vec<(String, String)> = {
            let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
            let found: Vec<Totals> = lines.iter().filter_map(|l| row(&rows, tenant, l).copied()).collect();
            if found.len() == lines.len() {
                return Ok(found);
            }
            lines.iter().filter(|l| row(&rows, tenant, l).is_none()).map(|l| (l.scope.clone(), l.period.clone())).collect()
        };
        let stored = self.store.budget_ledger(tenant, &missing).await.map_err(|e| Refusal::Store(e.to_string()))?;
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        // A new period began for these scopes: the old ones are only in the store from now on.
        if let Some(scopes) = rows.get_mut(&tenant) {
            for l in lines {
                if let Some(periods) = scopes.get_mut(l.scope.as_str()) {
                    periods.retain(|p, _| lines.iter().any(|x| x.scope == l.scope && x.period == *p));
                }
            }
        }
        for l in lines {
            // Another caller may have loaded (and changed) a row meanwhile: keep theirs.
            if row(&rows, tenant, l).is_some() {
                continue;
            }
            let t = stored.iter().find(|r| r.scope == l.scope && r.period == l.period).map_or_else(Totals::default, |r| Totals {
                spent_tokens: r.spent_tokens,
                spent_microusd: r.spent_microusd,
                reserved_tokens: r.reserved_tokens,
                reserved_microusd: r.reserved_microusd,
            });
            *row_mut(&mut rows, tenant, l) = t;
        }
        Ok(lines.iter().map(|l| row(&rows, tenant, l).copied().unwrap_or_default()).collect())
    }

    /// Reserves on every line or on none; `Err(i)` names the first line it would pass. The
    /// lines must have been read with [`LocalLedger::totals`] (a missing one counts from zero).
    pub fn reserve(&self, tenant: TenantId, lines: &[LedgerLine], tokens: i64, microusd: i64) -> Result<(), usize> {
        {
            let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
            for (i, l) in lines.iter().enumerate() {
                let t = row(&rows, tenant, l).copied().unwrap_or_default();
                if !micro_limits_ok(l, t.spent_tokens + t.reserved_tokens + tokens, t.spent_microusd + t.reserved_microusd + microusd) {
                    return Err(i);
                }
            }
            for l in lines {
                let t = row_mut(&mut rows, tenant, l);
                t.reserved_tokens += tokens;
                t.reserved_microusd += microusd;
            }
        }
        self.send(Write::Reserve { tenant, lines: lines.to_vec(), tokens, microusd });
        Ok(())
    }

    pub fn settle(&self, tenant: TenantId, lines: &[LedgerLine], reserved: (i64, i64), spent: (i64, i64)) {
        {
            let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
            for l in lines {
                let t = row_mut(&mut rows, tenant, l);
                t.reserved_tokens = (t.reserved_tokens - reserved.0).max(0);
                t.reserved_microusd = (t.reserved_microusd - reserved.1).max(0);
                t.spent_tokens += spent.0;
                t.spent_microusd += spent.1;
            }
        }
        self.send(Write::Settle { tenant, lines: lines.to_vec(), reserved, spent });
    }

    fn send(&self, w: Write) {
        self.queued.fetch_add(1, Ordering::AcqRel);
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).push(w);
    }

    /// Waits until every queued write is in the store.
    pub async fn flush(&self) {
        loop {
            let notified = self.drained.notified();
            if self.queued.load(Ordering::Acquire) == 0 {
                return;
            }
            self.kick.notify_one();
            notified.await;
        }
    }
}

async fn writer(store: DynStore, pending: Arc<Mutex<Vec<Write>>>, queued: Arc<AtomicUsize>, kick: Arc<Notify>, drained: Arc<Notify>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(WRITE_TICK) => {}
            _ = kick.notified() => {}
        }
        let batch = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
        for w in batch {
            apply(&store, &w).await;
            queued.fetch_sub(1, Ordering::AcqRel);
        }
        if queued.load(Ordering::Acquire) == 0 {
            drained.notify_waiters();
        }
    }
}

async fn apply(store: &DynStore, w: &Write) {
    let result = match w {
        Write::Reserve { tenant, lines, tokens, microusd } => match store.reserve_budget(*tenant, lines, *tokens, *microusd).await {
            // The memory ledger allowed it; the store disagreeing means someone else writes
            // this ledger, which the embedded default does not expect.
            Ok(Err(i)) => Err(format!("the store refused a reservation the process made (line {i})")),
            Ok(Ok(())) => Ok(()),
            Err(e) => Err(e.to_string()),
        },
        Write::Settle { tenant, lines, reserved, spent } => {
            store.settle_budget(*tenant, lines, *reserved, *spent).await.map_err(|e| e.to_string())
        }
    };
    if let Err(error) = result {
        tracing::warn!(error, "could not write the LLM budget ledger behind a call");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(scope: &str, period: &str, max_tokens: Option<i64>) -> LedgerLine {
        LedgerLine { scope: scope.into(), period: period.into(), max_tokens, max_microusd: None }
    }

    #[tokio::test]
    async fn reservations_hold_the_limit_and_reach_the_store_and_old_days_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = waooaw_store::connect(&format!("sqlite://{}", dir.path().join("l.db").display())).await.unwrap();
        store.migrate().await.unwrap();
        let tenant = waooaw_domain::Tenant {
            id: TenantId::new(),
            name: "Acme".into(),
            webhook_secret: "whsec-0123456789abcdef".into(),
            created_at: chrono::Utc::now(),
        };
        store.create_tenant(&tenant).await.unwrap();
        let ledger = LocalLedger::start(store.clone());
        let monday = [line("instance:a", "2026-12-07", Some(1_000))];
        ledger.totals(tenant.id, &monday).await.unwrap();
        assert_eq!(ledger.reserve(tenant.id, &monday, 600, 0), Ok(()));
        assert_eq!(ledger.reserve(tenant.id, &monday, 600, 0), Err(0), "600 + 600 passes 1,000");
        ledger.settle(tenant.id, &monday, (600, 0), (450, 0));
        assert_eq!(ledger.reserve(tenant.id, &monday, 550, 0), Ok(()), "450 spent + 550 fits exactly");
        ledger.flush().await;
        let stored = store.budget_ledger(tenant.id, &[("instance:a".into(), "2026-12-07".into())]).await.unwrap();
        assert_eq!((stored[0].spent_tokens, stored[0].reserved_tokens), (450, 550));
        // The next day starts from the store (nothing spent) and Monday leaves memory.
        let tuesday = [line("instance:a", "2026-12-08", Some(1_000))];
        assert_eq!(ledger.totals(tenant.id, &tuesday).await.unwrap()[0], Totals::default());
        let rows = ledger.rows.lock().unwrap();
        assert_eq!(rows[&tenant.id]["instance:a"].keys().collect::<Vec<_>>(), ["2026-12-08"]);
    }
}
