//! The store: the source of truth for tenants, instances, events, deliveries, work contexts,
//! dead letters, and the decision engine's cache, memories, decision log and escalations. One
//! interface ([`Store`], with its supertrait [`DecisionStore`]), two implementations: SQLite
//! (embedded default) and PostgreSQL (scale-out). Both pass the conformance suite in
//! `tests/conformance.rs`.
//!
//! Invariant: every query for a customer-owned row takes the tenant id and filters by it.

mod budget_store;
#[macro_use]
mod common;
mod decision_store;
mod migrations;
mod outbox_store;
pub mod postgres;
pub mod sqlite;
mod task_store;
mod wake_commit;

pub use budget_store::{BudgetStore, LedgerLine, LedgerRow};
pub use decision_store::DecisionStore;
pub use outbox_store::{GithubConnection, OutboxAttempt, OutputStore};
pub use task_store::TaskStore;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use waooaw_domain::{
    DeadLetter, DeliveryOutcome, DeliveryRecord, Event, EventId, EventStatus, Instance, InstanceId, InstanceStatus, Tenant, TenantId,
    WorkContext,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the SQLite event log's own writer (see `sqlite::event_log`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration { version: i64, name: &'static str, source: sqlx::Error },
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("{0} already exists")]
    Conflict(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An instance as the runtime's routing index needs it: small, loaded for every instance at start.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRoute {
    pub id: InstanceId,
    pub tenant_id: TenantId,
    pub specialization_id: String,
    pub status: InstanceStatus,
}

/// A stored event and where it is in its life.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub event: Event,
    pub status: EventStatus,
    pub accepted_at: DateTime<Utc>,
}

/// Everything a wake saves, applied in one transaction.
#[derive(Debug, Clone)]
pub struct WakeCommit {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub event_id: EventId,
    /// The context version the wake read; the commit fails with [`WakeResult::Conflict`] if
    /// another wake saved a newer one meanwhile (optimistic concurrency across processes).
    pub read_version: i64,
    /// The new context state; `None` when the wake did not run (deferred or dead delivery).
    pub new_state: Option<serde_json::Value>,
    /// What the wake produced; saved only if the commit is applied (so exactly once).
    pub deliverables: Vec<waooaw_domain::Deliverable>,
    /// External side effects to send; stored with the commit, a key already there is kept.
    pub outbox: Vec<waooaw_domain::OutboxItem>,
    /// When the outbox task first tries this wake's handoffs; `None`: now. The runtime sends a
    /// handoff itself right after the commit and sets this later, so the task is only the
    /// fallback (a crash between the commit and the send) and never races the runtime.
    pub handoffs_due_at: Option<DateTime<Utc>>,
    pub outcome: DeliveryOutcome,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeResult {
    /// Saved; holds the context version now current.
    Committed(i64),
    /// This event was already handled for this instance: the repeat has no effect.
    AlreadyDone,
    /// Another wake of this instance saved first; reload and run again.
    Conflict,
}

/// The store of the runtime; the decision engine's part is its supertrait [`DecisionStore`], so
/// a [`DynStore`] serves both.
#[async_trait]
pub trait Store: DecisionStore + BudgetStore + OutputStore + TaskStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
    /// Applies pending migrations; returns how many ran.
    async fn migrate(&self) -> StoreResult<usize>;
    async fn ping(&self) -> StoreResult<()>;

    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    async fn get_tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>>;
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;

    async fn create_instance(&self, instance: &Instance) -> StoreResult<()>;
    async fn get_instance(&self, tenant: TenantId, id: InstanceId) -> StoreResult<Option<Instance>>;
    async fn list_instances(&self, tenant: TenantId) -> StoreResult<Vec<Instance>>;
    /// Every non-retired instance, for the routing index. Platform-level, not per tenant.
    async fn list_routes(&self) -> StoreResult<Vec<InstanceRoute>>;
    /// Awake instances that still have deferred deliveries: a resume that a crash cut short.
    /// Platform-level, for recovery at start.
    async fn awake_with_deferred(&self) -> StoreResult<Vec<(TenantId, InstanceId)>>;
    /// Sets the status only if it is still `expected` (so two concurrent transitions cannot both
    /// win); returns the updated instance, or `None` if the status had changed. Becoming
    /// active sets `hired_at` the first time.
    async fn transition_instance(
        &self,
        tenant: TenantId,
        id: InstanceId,
        expected: InstanceStatus,
        next: InstanceStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Instance>>;

    /// Stores a batch of events in one transaction (group commit). Ids already stored are
    /// ignored, so a retried publish is harmless.
    async fn insert_events(&self, events: &[Event]) -> StoreResult<()>;
    async fn get_event(&self, tenant: TenantId, id: EventId) -> StoreResult<Option<EventRecord>>;
    async fn mark_dispatched(&self, ids: &[EventId]) -> StoreResult<()>;
    /// Events accepted before `before` and not yet dispatched, oldest first: the work a crashed
    /// process left behind.
    async fn undispatched_events(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Event>>;

    async fn latest_context(&self, tenant: TenantId, instance: InstanceId) -> StoreResult<Option<WorkContext>>;
    async fn get_delivery(&self, tenant: TenantId, event: EventId, instance: InstanceId) -> StoreResult<Option<DeliveryRecord>>;
    async fn list_deliveries(&self, tenant: TenantId, event: EventId) -> StoreResult<Vec<DeliveryRecord>>;
    /// A conversation: the tenant's events of one correlation, oldest first, at most `limit`.
    async fn conversation_events(&self, tenant: TenantId, correlation: EventId, limit: i64) -> StoreResult<Vec<Event>>;
    /// How many deliveries of an instance are in `status`.
    async fn count_deliveries(&self, tenant: TenantId, instance: InstanceId, status: waooaw_domain::DeliveryStatus) -> StoreResult<i64>;
    /// Deliveries of an instance in `status`, oldest event first, with their events.
    async fn deliveries_in_status(
        &self,
        tenant: TenantId,
        instance: InstanceId,
        status: waooaw_domain::DeliveryStatus,
        limit: i64,
    ) -> StoreResult<Vec<Event>>;
    /// Marks deferred deliveries of events older than `cutoff` expired; returns how many.
    async fn expire_deferred(&self, tenant: TenantId, instance: InstanceId, cutoff: DateTime<Utc>) -> StoreResult<u64>;
    /// Deletes context versions older than the newest `keep` of each instance (at least the
    /// current one is always kept); returns how many rows went. Platform-level maintenance.
    async fn prune_contexts(&self, keep: i64) -> StoreResult<u64>;
    /// Applies a wake atomically: delivery row, context version, instance counters.
    async fn commit_wake(&self, commit: &WakeCommit) -> StoreResult<WakeResult>;

    /// Applies several wakes (of different instances) in one transaction, each with the same
    /// rules as [`Store::commit_wake`]; a refused one writes nothing. Results are in input order.
    async fn commit_wakes(&self, commits: &[WakeCommit]) -> StoreResult<Vec<WakeResult>>;
    /// An instance's deliverables, newest first.
    async fn list_deliverables(&self, tenant: TenantId, instance: InstanceId, limit: i64) -> StoreResult<Vec<waooaw_domain::Deliverable>>;
    async fn get_deliverable(&self, tenant: TenantId, id: uuid::Uuid) -> StoreResult<Option<waooaw_domain::Deliverable>>;
    /// Records a delivery as dead and files its dead letter, atomically.
    async fn insert_dead_letter(&self, dead: &DeadLetter) -> StoreResult<()>;
    /// Dead letters of one tenant, or of all tenants for an operator (`None`).
    async fn list_dead_letters(&self, tenant: Option<TenantId>, include_redriven: bool) -> StoreResult<Vec<DeadLetter>>;
    /// Marks a dead letter redriven and its delivery retryable; returns it, or `None` if unknown
    /// (for that tenant) or already redriven.
    async fn redrive_dead_letter(&self, tenant: Option<TenantId>, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<Option<DeadLetter>>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store a URL names: `postgres://…` or `sqlite://path`.
pub async fn connect(url: &str) -> StoreResult<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::open(url.trim_start_matches("sqlite://")).await?))
    }
}
