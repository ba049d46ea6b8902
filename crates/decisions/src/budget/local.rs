//! The embedded default's ledger: one process owns the store, so reservations are checked and
//! counted in memory and written to the store behind the call, in order, by one task. The store
//! stays the record (`GET /v1/budgets`, restarts) a few milliseconds behind; a crash loses at
//! most the writes still queued, which errs towards counting less spend than was made in the
//! last instant, never more.
//!
//! Each ledger line (scope and period) is one [`Cell`], loaded from the store the first time it
//! is used; callers keep the cells of their lines (see `Plan` in `budget.rs`), so the hot path
//! looks nothing up and allocates nothing. One gate makes check-and-add atomic across the lines
//! of a call: no interleaving of callers passes a limit.
//!
//! Limits (tenant and instance overrides) are read from the store at most once a second per
//! tenant, so a changed override applies within a second.

use super::{Refusal, micro_limits_ok};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
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

/// The running totals of one ledger line. Atomics so that pacing reads them without the gate;
/// every change happens under the gate, so no change is lost or seen half-made by a reservation.
#[derive(Debug, Default)]
pub(crate) struct Cell {
    spent_tokens: AtomicI64,
    spent_microusd: AtomicI64,
    reserved_tokens: AtomicI64,
    reserved_microusd: AtomicI64,
}

impl Cell {
    fn from_totals(t: Totals) -> Self {
        Self {
            spent_tokens: AtomicI64::new(t.spent_tokens),
            spent_microusd: AtomicI64::new(t.spent_microusd),
            reserved_tokens: AtomicI64::new(t.reserved_tokens),
            reserved_microusd: AtomicI64::new(t.reserved_microusd),
        }
    }

    pub fn totals(&self) -> Totals {
        Totals {
            spent_tokens: self.spent_tokens.load(Ordering::Relaxed),
            spent_microusd: self.spent_microusd.load(Ordering::Relaxed),
            reserved_tokens: self.reserved_tokens.load(Ordering::Relaxed),
            reserved_microusd: self.reserved_microusd.load(Ordering::Relaxed),
        }
    }
}

enum Write {
    Reserve { tenant: TenantId, lines: Arc<[LedgerLine]>, tokens: i64, microusd: i64 },
    Settle { tenant: TenantId, lines: Arc<[LedgerLine]>, reserved: (i64, i64), spent: (i64, i64) },
}

type Overrides = Arc<Vec<(Option<InstanceId>, BudgetLimits)>>;

/// (tenant, scope) -> (period, cell): a scope has one current period in memory; a newer one
/// replaces it (the old cell lives on only in the plans still holding it, which is right for a
/// call that began in the old period).
type Cells = HashMap<(TenantId, String), Vec<(String, Arc<Cell>)>>;

pub(crate) struct LocalLedger {
    store: DynStore,
    cells: Mutex<Cells>,
    /// Held while a reservation checks and adds, and while a settlement moves its amounts.
    gate: Mutex<()>,
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
        let pending: Arc<Mutex<Vec<Write>>> = Arc::new(Mutex::new(Vec::with_capacity(64)));
        let (queued, kick, drained) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()), Arc::new(Notify::new()));
        tokio::spawn(writer(store.clone(), pending.clone(), queued.clone(), kick.clone(), drained.clone()));
        Self {
            store,
            cells: Mutex::new(HashMap::new()),
            gate: Mutex::new(()),
            overrides: Mutex::new(HashMap::new()),
            pending,
            queued,
            kick,
            drained,
        }
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

    fn cell(cells: &Cells, tenant: TenantId, l: &LedgerLine) -> Option<Arc<Cell>> {
        let periods = cells.get(&(tenant, l.scope.clone()))?;
        periods.iter().find(|(p, _)| *p == l.period).map(|(_, c)| c.clone())
    }

    /// The cells of `lines`, in order, each read from the store the first time it is used.
    /// Not on the hot path: a plan asks once per instance and day.
    pub async fn cells(&self, tenant: TenantId, lines: &[LedgerLine]) -> Result<Vec<Arc<Cell>>, Refusal> {
        let missing: Vec<(String, String)> = {
            let cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            lines.iter().filter(|l| Self::cell(&cells, tenant, l).is_none()).map(|l| (l.scope.clone(), l.period.clone())).collect()
        };
        let stored = if missing.is_empty() {
            Vec::new()
        } else {
            self.store.budget_ledger(tenant, &missing).await.map_err(|e| Refusal::Store(e.to_string()))?
        };
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::with_capacity(lines.len());
        for l in lines {
            // Another caller may have loaded (and changed) the cell meanwhile: keep theirs.
            if let Some(c) = Self::cell(&cells, tenant, l) {
                out.push(c);
                continue;
            }
            let t = stored.iter().find(|r| r.scope == l.scope && r.period == l.period).map_or_else(Totals::default, |r| Totals {
                spent_tokens: r.spent_tokens,
                spent_microusd: r.spent_microusd,
                reserved_tokens: r.reserved_tokens,
                reserved_microusd: r.reserved_microusd,
            });
            let cell = Arc::new(Cell::from_totals(t));
            let periods = cells.entry((tenant, l.scope.clone())).or_default();
            // A new day (or month) began for this scope: older periods are only in the store
            // from now on. Day and month lines of one scope differ in length and both stay.
            periods.retain(|(p, _)| p.len() != l.period.len() || *p > l.period);
            periods.push((l.period.clone(), cell.clone()));
            out.push(cell);
        }
        Ok(out)
    }

    /// Reserves on every line or on none; `Err(i)` names the first line it would pass. `cells`
    /// are those [`LocalLedger::cells`] gave for `lines`.
    pub fn reserve(
        &self,
        tenant: TenantId,
        lines: &Arc<[LedgerLine]>,
        cells: &[Arc<Cell>],
        tokens: i64,
        microusd: i64,
    ) -> Result<(), usize> {
        {
            let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            for (i, (l, c)) in lines.iter().zip(cells).enumerate() {
                let t = c.totals();
                if !micro_limits_ok(l, t.spent_tokens + t.reserved_tokens + tokens, t.spent_microusd + t.reserved_microusd + microusd) {
                    return Err(i);
                }
            }
            for c in cells {
                c.reserved_tokens.fetch_add(tokens, Ordering::Relaxed);
                c.reserved_microusd.fetch_add(microusd, Ordering::Relaxed);
            }
        }
        self.send(Write::Reserve { tenant, lines: lines.clone(), tokens, microusd });
        Ok(())
    }

    pub fn settle(&self, tenant: TenantId, lines: &Arc<[LedgerLine]>, cells: &[Arc<Cell>], reserved: (i64, i64), spent: (i64, i64)) {
        {
            let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            for c in cells {
                let t = c.totals();
                c.reserved_tokens.store((t.reserved_tokens - reserved.0).max(0), Ordering::Relaxed);
                c.reserved_microusd.store((t.reserved_microusd - reserved.1).max(0), Ordering::Relaxed);
                c.spent_tokens.fetch_add(spent.0, Ordering::Relaxed);
                c.spent_microusd.fetch_add(spent.1, Ordering::Relaxed);
            }
        }
        self.send(Write::Settle { tenant, lines: lines.clone(), reserved, spent });
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
        // The callers' buffer keeps room for a burst, so pushing to it rarely allocates.
        let batch = std::mem::replace(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()), Vec::with_capacity(64));
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
        let monday: Arc<[LedgerLine]> = Arc::from([line("instance:a", "2026-12-07", Some(1_000)), line("instance:a", "2026-12", None)]);
        let cells = ledger.cells(tenant.id, &monday).await.unwrap();
        assert_eq!(ledger.reserve(tenant.id, &monday, &cells, 600, 0), Ok(()));
        assert_eq!(ledger.reserve(tenant.id, &monday, &cells, 600, 0), Err(0), "600 + 600 passes 1,000");
        ledger.settle(tenant.id, &monday, &cells, (600, 0), (450, 0));
        assert_eq!(ledger.reserve(tenant.id, &monday, &cells, 550, 0), Ok(()), "450 spent + 550 fits exactly");
        ledger.flush().await;
        let stored = store.budget_ledger(tenant.id, &[("instance:a".into(), "2026-12-07".into())]).await.unwrap();
        assert_eq!((stored[0].spent_tokens, stored[0].reserved_tokens), (450, 550));
        // Asked again, the same cells come back (not reloaded, not reset).
        let again = ledger.cells(tenant.id, &monday).await.unwrap();
        assert!(Arc::ptr_eq(&again[0], &cells[0]));
        // The next day starts from the store (nothing spent) and Monday leaves memory; the
        // month stays.
        let tuesday = [line("instance:a", "2026-12-08", Some(1_000)), line("instance:a", "2026-12", None)];
        let next = ledger.cells(tenant.id, &tuesday).await.unwrap();
        assert_eq!(next[0].totals(), Totals::default());
        assert!(Arc::ptr_eq(&next[1], &cells[1]), "the month's cell is kept");
        let map = ledger.cells.lock().unwrap();
        let periods: Vec<&str> = map[&(tenant.id, "instance:a".to_string())].iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(periods, ["2026-12", "2026-12-08"]);
    }
}
