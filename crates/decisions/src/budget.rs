//! Budgets on the LLM tier, enforced before every call by reserve-then-commit:
//!
//! 1. the call's upper bound (prompt estimate + `max_tokens`, priced at the model's price) is
//!    reserved in the store's ledger against every applicable budget at once (the instance's
//!    day and month, the tenant's day and month), or refused naming the first it would pass;
//! 2. requests per minute (`governor`) and concurrent calls (a semaphore) per instance;
//! 3. pacing: an instance spending above 120% of its pro-rata daily pace is throttled;
//! 4. after the call the reservation is settled at what the provider says it used.
//!
//! Limits: the instance's override over the spec file's `[budget]` (defaults by type) for the
//! instance; the tenant's override for the tenant as a whole. The ledger lives in the store, so
//! processes sharing it share the budgets, and no interleaving of callers passes a limit.

mod fair;
mod local;
mod pacing;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
pub use fair::{FairSlots, Slot};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waooaw_domain::{BudgetLimits, Instance, InstanceId, Specialization, TenantId, Urgency};
use waooaw_store::{DynStore, LedgerLine};

pub use pacing::over_pace;

/// How long a call waits for a free concurrent-call slot before it is refused.
const SLOT_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the {scope} budget of {limit} is spent")]
    Spent { scope: String, limit: String },
    #[error("the instance is over its limit of {0} LLM requests per minute")]
    RateLimited(u32),
    #[error("the instance is spending faster than its daily pace ({spent} of a {pace} pace at this hour): throttled")]
    Pacing { spent: String, pace: String },
    #[error("no LLM call slot was free within {secs}s (limit {slots} at once)", secs = .0.as_secs(), slots = .1)]
    Busy(Duration, u32),
    #[error("the budget could not be checked: {0}")]
    Store(String),
}

impl Refusal {
    /// Short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Spent { .. } => "spent",
            Self::RateLimited(_) => "rate_limited",
            Self::Pacing { .. } => "pacing",
            Self::Busy(..) => "busy",
            Self::Store(_) => "store",
        }
    }
}

/// A reservation, to be settled with what the call used.
pub struct Grant {
    tenant: TenantId,
    plan: Arc<Plan>,
    reserved: (i64, i64),
    _slot: Slot,
}

/// What a call of one instance on one day counts against: its ledger lines with their limits
/// and, with the in-memory ledger, their cells. Built when an instance first calls on a day or
/// its limits change, then shared by every call: the hot path formats and allocates nothing.
struct Plan {
    date: NaiveDate,
    limits: (BudgetLimits, BudgetLimits),
    lines: Arc<[LedgerLine]>,
    cells: Vec<Arc<local::Cell>>,
}

/// The most a chat request can cost: its prompt (English runs about four characters a token;
/// three keeps the bound above what tokenizers report for JSON and names) and every token it
/// may answer with, at the model's price (no price: no dollar bound).
pub fn estimate(llm: &crate::LlmTier, chat: &waooaw_integrations::llm::ChatRequest) -> Estimate {
    let chars = chat.system.len() + chat.messages.iter().map(|m| m.content.len()).sum::<usize>();
    let prompt = (chars as u64).div_ceil(3) + 8 * chat.messages.len() as u64;
    let answer = u64::from(chat.max_tokens);
    Estimate { tokens: prompt + answer, usd: llm.prices.cost_usd(&chat.model, prompt, answer).unwrap_or(0.0) }
}

/// What a call is expected to cost at most.
#[derive(Debug, Clone, Copy)]
pub struct Estimate {
    pub tokens: u64,
    pub usd: f64,
}

pub struct Budgets {
    store: DynStore,
    /// The embedded default's in-memory ledger (see `local.rs`); `None`: the store's, shared by
    /// every process.
    local: Option<local::LocalLedger>,
    limiters: Mutex<HashMap<InstanceId, (u32, Arc<DefaultDirectRateLimiter>)>>,
    slots: Mutex<HashMap<InstanceId, FairSlots>>,
    plans: Mutex<HashMap<InstanceId, Arc<Plan>>>,
}

fn micro(usd: f64) -> i64 {
    (usd * 1e6).round().clamp(0.0, i64::MAX as f64) as i64
}

fn as_limit_tokens(v: Option<u64>) -> Option<i64> {
    v.map(|t| i64::try_from(t).unwrap_or(i64::MAX))
}

pub fn day(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%d").to_string()
}

pub fn month(now: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", now.year(), now.month())
}

impl Budgets {
    pub fn new(store: DynStore) -> Self {
        Self {
            store,
            local: None,
            limiters: Mutex::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            plans: Mutex::new(HashMap::new()),
        }
    }

    /// For a process that owns its store (the embedded default): the ledger is kept in memory
    /// and written behind. Call inside a Tokio runtime.
    pub fn in_memory(store: DynStore) -> Self {
        Self { local: Some(local::LocalLedger::start(store.clone())), ..Self::new(store) }
    }

    /// Waits until the store has every reservation and settlement made so far.
    pub async fn flush(&self) {
        if let Some(l) = &self.local {
            l.flush().await;
        }
    }

    /// The instance's limits and the tenant's: (instance, tenant).
    pub async fn limits(&self, spec: &Specialization, instance: &Instance) -> Result<(BudgetLimits, BudgetLimits), Refusal> {
        let overrides = match &self.local {
            Some(l) => l.overrides(instance.tenant_id).await?,
            None => Arc::new(self.store.budget_overrides(instance.tenant_id).await.map_err(|e| Refusal::Store(e.to_string()))?),
        };
        let tenant = overrides.iter().find(|(i, _)| i.is_none()).map(|(_, l)| *l).unwrap_or_default();
        let own = overrides.iter().find(|(i, _)| *i == Some(instance.id)).map(|(_, l)| *l).unwrap_or_default();
        Ok((own.over(BudgetLimits::from(spec.budget)), tenant))
    }

    /// The ledger lines a call of `instance` counts against, with their limits.
    pub fn lines(instance: &Instance, own: &BudgetLimits, tenant: &BudgetLimits, now: DateTime<Utc>) -> Vec<LedgerLine> {
        let (d, m) = (day(now), month(now));
        let scope = format!("instance:{}", instance.id);
        vec![
            LedgerLine {
                scope: scope.clone(),
                period: d.clone(),
                max_tokens: as_limit_tokens(own.tokens_per_day),
                max_microusd: own.usd_per_day.map(micro),
            },
            LedgerLine { scope, period: m.clone(), max_tokens: None, max_microusd: own.usd_per_month.map(micro) },
            LedgerLine {
                scope: "tenant".into(),
                period: d,
                max_tokens: as_limit_tokens(tenant.tokens_per_day),
                max_microusd: tenant.usd_per_day.map(micro),
            },
            LedgerLine { scope: "tenant".into(), period: m, max_tokens: None, max_microusd: tenant.usd_per_month.map(micro) },
        ]
    }

    /// Reserves `estimate` for one LLM call of `instance`, or says which limit refuses it.
    /// Waiting for a call slot, urgent calls go first (see [`FairSlots`]).
    pub async fn reserve(
        &self,
        spec: &Specialization,
        instance: &Instance,
        urgency: Urgency,
        estimate: Estimate,
        now: DateTime<Utc>,
    ) -> Result<Grant, Refusal> {
        let (own, tenant) = self.limits(spec, instance).await?;
        if let Some(rpm) = own.requests_per_minute
            && self.limiter(instance.id, rpm).check().is_err()
        {
            return Err(Refusal::RateLimited(rpm));
        }
        let plan = self.plan(instance, (own, tenant), now).await?;
        let today = match &self.local {
            // The instance's day is the plan's first line.
            Some(_) => plan.cells.first().map(|c| c.totals()).map(|t| (t.spent_tokens, t.spent_microusd)),
            None => self
                .store
                .budget_ledger(instance.tenant_id, &[(plan.lines[0].scope.clone(), plan.lines[0].period.clone())])
                .await
                .map_err(|e| Refusal::Store(e.to_string()))?
                .first()
                .map(|row| (row.spent_tokens, row.spent_microusd)),
        };
        if let Some((tokens, microusd)) = today
            && let Some(r) = over_pace(&own, tokens, microusd, now)
        {
            return Err(r);
        }
        let slots = own.concurrent_llm_calls.unwrap_or(1);
        let fair = self.slots(instance.id, slots);
        // A free slot is taken at once; only a wait needs a timer.
        let slot = match fair.try_acquire() {
            Some(slot) => slot,
            None => tokio::time::timeout(SLOT_WAIT, fair.acquire(urgency)).await.map_err(|_| Refusal::Busy(SLOT_WAIT, slots))?,
        };
        let reserved = (i64::try_from(estimate.tokens).unwrap_or(i64::MAX), micro(estimate.usd));
        let taken = match &self.local {
            Some(l) => l.reserve(instance.tenant_id, &plan.lines, &plan.cells, reserved.0, reserved.1),
            None => self
                .store
                .reserve_budget(instance.tenant_id, &plan.lines, reserved.0, reserved.1)
                .await
                .map_err(|e| Refusal::Store(e.to_string()))?,
        };
        match taken {
            Ok(()) => Ok(Grant { tenant: instance.tenant_id, plan, reserved, _slot: slot }),
            Err(i) => Err(spent(&plan.lines[i])),
        }
    }

    /// The instance's plan for `now`'s day under `limits`: the cached one while both hold.
    async fn plan(&self, instance: &Instance, limits: (BudgetLimits, BudgetLimits), now: DateTime<Utc>) -> Result<Arc<Plan>, Refusal> {
        let date = now.date_naive();
        if let Some(p) = self.plans.lock().unwrap_or_else(|e| e.into_inner()).get(&instance.id)
            && p.date == date
            && p.limits == limits
        {
            return Ok(p.clone());
        }
        let lines: Arc<[LedgerLine]> = Self::lines(instance, &limits.0, &limits.1, now).into();
        let cells = match &self.local {
            Some(l) => l.cells(instance.tenant_id, &lines).await?,
            None => Vec::new(),
        };
        let plan = Arc::new(Plan { date, limits, lines, cells });
        self.plans.lock().unwrap_or_else(|e| e.into_inner()).insert(instance.id, plan.clone());
        Ok(plan)
    }

    /// Replaces the reservation by what the call used (zeros when it failed before any answer).
    pub async fn settle(&self, grant: Grant, tokens: u64, usd: f64) {
        let spent = (i64::try_from(tokens).unwrap_or(i64::MAX), micro(usd));
        if let Some(l) = &self.local {
            return l.settle(grant.tenant, &grant.plan.lines, &grant.plan.cells, grant.reserved, spent);
        }
        if let Err(e) = self.store.settle_budget(grant.tenant, &grant.plan.lines, grant.reserved, spent).await {
            // The reservation stays counted: the budget errs on the side of spending less.
            tracing::warn!(tenant_id = %grant.tenant, error = %e, "could not settle an LLM budget reservation");
        }
    }

    fn limiter(&self, instance: InstanceId, rpm: u32) -> Arc<DefaultDirectRateLimiter> {
        let mut map = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&instance) {
            Some((r, l)) if *r == rpm => l.clone(),
            _ => {
                let quota = Quota::per_minute(NonZeroU32::new(rpm.max(1)).unwrap_or(NonZeroU32::MIN));
                let l = Arc::new(RateLimiter::direct(quota));
                map.insert(instance, (rpm, l.clone()));
                l
            }
        }
    }

    fn slots(&self, instance: InstanceId, size: u32) -> FairSlots {
        let mut map = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&instance) {
            Some(s) if s.size() == size.max(1) as usize => s.clone(),
            _ => {
                let s = FairSlots::new(size as usize);
                map.insert(instance, s.clone());
                s
            }
        }
    }
}

/// Whether totals of `tokens` and `microusd` stay within the line's limits (the store's check,
/// for the in-memory ledger).
fn micro_limits_ok(line: &LedgerLine, tokens: i64, microusd: i64) -> bool {
    line.max_tokens.is_none_or(|m| tokens <= m) && line.max_microusd.is_none_or(|m| microusd <= m)
}

/// The refusal naming the line that would be passed and its limits.
fn spent(line: &LedgerLine) -> Refusal {
    let who = if line.scope == "tenant" { "tenant" } else { "instance" };
    let (per, every) = if line.period.len() == 10 { ("day", "daily") } else { ("month", "monthly") };
    let mut limits = Vec::new();
    if let Some(t) = line.max_tokens {
        limits.push(format!("{t} tokens/{per}"));
    }
    if let Some(u) = line.max_microusd {
        limits.push(format!("${:.2}/{per}", u as f64 / 1e6));
    }
    Refusal::Spent { scope: format!("{who} {every}"), limit: limits.join(" and ") }
}
