//! The runtime's handle: starting, publishing, instance lifecycle, redrive and shutdown.

use crate::catalog::Catalog;
use crate::dispatch::Dispatcher;
use crate::ingest::{IngestError, Ingestor};
use crate::observe::{ContextsPruned, EventsRecovered, InfrastructureError, InternalEvent};
use crate::registry::Registry;
use crate::work::WorkRegistry;
use chrono::Utc;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use waooaw_bus::{BusError, BusMessage, DynBus};
use waooaw_domain::{DeadLetter, Event, Instance, InstanceId, LifecycleAction, NewEvent, Personality, TenantId, TransitionError};
use waooaw_store::{DynStore, InstanceRoute, StoreError};

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Attempts of a work function that fails with a transient error before it is dead-lettered.
    pub max_attempts: i32,
    pub retry_backoff: Duration,
    /// How long a paused instance's missed events are kept for its resume.
    pub retention: Duration,
    /// A name unique to this process among those sharing the bus.
    pub consumer_name: String,
    /// Events accepted longer ago than this and still not dispatched are re-published.
    pub recovery_grace: Duration,
    pub recovery_interval: Duration,
    /// Whether other processes share the store (routes are then re-read when stale).
    pub shared_store: bool,
    pub trial_length: chrono::Duration,
    /// Context versions kept per instance (older ones are pruned with recovery's pass).
    pub contexts_kept: i64,
    /// How many recently woken instances keep their identity and context in memory.
    pub warm_instances: u64,
    /// How long a coordinated task's holder has before the task is reclaimed for another.
    pub task_lease: Duration,
    /// How often expired task leases are looked for.
    pub task_reap_interval: Duration,
    /// How many instances this process wakes at once; further deliveries wait on the bus
    /// meanwhile (see `wake_slots`).
    pub wake_concurrency: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            retry_backoff: Duration::from_millis(50),
            retention: Duration::from_secs(7 * 24 * 3600),
            consumer_name: format!("waooaw-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            recovery_grace: Duration::from_secs(60),
            recovery_interval: Duration::from_secs(60),
            shared_store: false,
            trial_length: chrono::Duration::days(7),
            contexts_kept: 20,
            warm_instances: 20_000,
            task_lease: Duration::from_secs(300),
            task_reap_interval: Duration::from_secs(1),
            wake_concurrency: 256,
        }
    }
}

/// Called when an event's work starts; benchmarks measure wake latency with it.
pub trait WakeProbe: Send + Sync {
    fn work_started(&self, event: &Event);
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("specialization `{0}` is not in the catalog")]
    UnknownSpecialization(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("{0}")]
    Invalid(String),
    #[error("instance {0} changed concurrently; retry")]
    Concurrent(InstanceId),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("bus: {0}")]
    Bus(#[from] BusError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

pub(crate) struct Shared {
    pub store: DynStore,
    pub bus: DynBus,
    pub catalog: Arc<Catalog>,
    pub work: WorkRegistry,
    pub registry: Registry,
    pub config: RuntimeConfig,
    pub probe: Option<Arc<dyn WakeProbe>>,
    pub committer: crate::commit::Committer,
    pub warm: crate::warm::WarmInstances,
    pub decider: Arc<dyn waooaw_domain::Decider>,
    /// Wakes the handoff sender when a commit saved a handoff.
    pub handoffs: tokio::sync::Notify,
    /// Handoffs wakes sent, for `handoff::record_sent` to record done.
    pub sent_handoffs: tokio::sync::mpsc::UnboundedSender<crate::handoff::SentMark>,
    /// Group-committed ingestion, shared by publishers and agents' messages.
    pub ingest: Ingestor,
    /// Requests this process's wakes are waiting on (`consult`).
    pub waiters: crate::messages::Waiters,
    pub wake_slots: crate::wake_slots::WakeSlots,
}

pub struct Runtime {
    shared: Arc<Shared>,
    ingest: Ingestor,
    dispatcher: Arc<Dispatcher>,
    known_tenants: RwLock<HashSet<TenantId>>,
    stop: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

pub(crate) fn route_of(i: &Instance) -> InstanceRoute {
    InstanceRoute { id: i.id, tenant_id: i.tenant_id, specialization_id: i.specialization_id.clone(), status: i.status }
}

impl Runtime {
    /// Loads the routing index, starts ingestion, the bus consumer, schedules and recovery.
    pub async fn start(
        config: RuntimeConfig,
        store: DynStore,
        bus: DynBus,
        catalog: Arc<Catalog>,
        work: WorkRegistry,
        probe: Option<Arc<dyn WakeProbe>>,
        decider: Option<Arc<dyn waooaw_domain::Decider>>,
    ) -> Result<Arc<Self>, RuntimeError> {
        // Before anything can be accepted: what the store holds from before this instant is what
        // an earlier process left (see `recover_loop`).
        let started_at = Utc::now();
        let refresh = config.shared_store.then_some(Duration::from_secs(2));
        let registry = Registry::new(catalog.clone(), refresh);
        for route in store.list_routes().await? {
            if !registry.upsert(&route) {
                tracing::warn!(instance_id = %route.id, specialization = route.specialization_id, "instance names a specialization missing from the catalog; it will not wake");
            }
        }
        let (committer, committer_task) = crate::commit::Committer::start(store.clone());
        let warm = crate::warm::WarmInstances::new(config.warm_instances);
        let decider = decider.unwrap_or_else(|| Arc::new(waooaw_domain::NoDecider));
        let (ingest, ingest_task) = Ingestor::start(store.clone(), bus.clone());
        let (sent_handoffs, sent_marks) = tokio::sync::mpsc::unbounded_channel();
        let wake_slots = crate::wake_slots::WakeSlots::new(config.wake_concurrency);
        let shared = Arc::new(Shared {
            store: store.clone(),
            bus: bus.clone(),
            catalog,
            work,
            registry,
            config,
            probe,
            committer,
            warm,
            decider,
            handoffs: tokio::sync::Notify::new(),
            sent_handoffs,
            waiters: Default::default(),
            wake_slots,
            ingest: ingest.clone(),
        });
        let (dispatcher, finisher_task) = Dispatcher::new(shared.clone());
        let (stop, stop_rx) = watch::channel(false);

        let mut deliveries = bus.subscribe(&shared.config.consumer_name).await?;
        let consumer = {
            let dispatcher = dispatcher.clone();
            let shared_for_slots = shared.clone();
            let mut stop_rx = stop_rx.clone();
            tokio::spawn(async move {
                loop {
                    // Nothing more is taken from the bus while every wake slot is busy.
                    tokio::select! {
                        biased;
                        _ = stop_rx.changed() => break,
                        waited = shared_for_slots.wake_slots.room() => if let Some(waited) = waited {
                            let slots = shared_for_slots.config.wake_concurrency;
                            crate::observe::WakeSlotsFull { slots, waited }.emit();
                        },
                    }
                    tokio::select! {
                        biased;
                        _ = stop_rx.changed() => break,
                        d = deliveries.recv() => match d {
                            Some(d) => dispatcher.handle(d).await,
                            None => break,
                        },
                    }
                }
            })
        };
        let recovery = tokio::spawn(recover_loop(shared.clone(), stop_rx.clone(), started_at));
        let scheduler = tokio::spawn(crate::schedule::run(shared.clone(), stop_rx.clone()));
        let tasks = tokio::spawn(crate::tasks::run(shared.clone(), stop_rx.clone()));
        let recorder = tokio::spawn(crate::handoff::record_sent(store.clone(), sent_marks));
        let handoffs = tokio::spawn(crate::handoff::run(shared.clone(), stop_rx));
        let rt = Arc::new(Self {
            shared,
            ingest,
            dispatcher,
            known_tenants: RwLock::new(HashSet::new()),
            stop,
            tasks: std::sync::Mutex::new(vec![
                consumer,
                recovery,
                scheduler,
                handoffs,
                recorder,
                tasks,
                ingest_task,
                finisher_task,
                committer_task,
            ]),
        });
        // A resume that a crash cut short left deferred deliveries on an awake instance.
        for (tenant, id) in rt.shared.store.awake_with_deferred().await? {
            rt.deliver_deferred(tenant, id).await?;
        }
        Ok(rt)
    }

    pub fn store(&self) -> &DynStore {
        &self.shared.store
    }

    pub fn bus(&self) -> &DynBus {
        &self.shared.bus
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.shared.catalog
    }

    /// Instances known to the routing index.
    pub fn routed_instances(&self) -> usize {
        self.shared.registry.len()
    }

    /// Wakes queued or running in this process.
    pub fn wakes_in_flight(&self) -> usize {
        self.dispatcher.in_flight()
    }

    pub async fn require_tenant(&self, tenant: TenantId) -> Result<(), RuntimeError> {
        if self.known_tenants.read().unwrap_or_else(|e| e.into_inner()).contains(&tenant) {
            return Ok(());
        }
        if self.shared.store.get_tenant(tenant).await?.is_none() {
            return Err(RuntimeError::NotFound { what: "tenant", id: tenant.to_string() });
        }
        self.known_tenants.write().unwrap_or_else(|e| e.into_inner()).insert(tenant);
        Ok(())
    }

    /// Validates, stores and publishes an event; returns once it is durably stored.
    pub async fn publish(&self, new: NewEvent) -> Result<Event, RuntimeError> {
        self.require_tenant(new.tenant_id).await?;
        if let Some(target) = new.target_instance
            && self.shared.store.get_instance(new.tenant_id, target).await?.is_none()
        {
            return Err(RuntimeError::NotFound { what: "instance", id: target.to_string() });
        }
        let event = new.into_event(Utc::now()).map_err(|e| RuntimeError::Invalid(e.to_string()))?;
        self.ingest.submit(event.clone()).await?;
        Ok(event)
    }

    /// Sends a message between two of a tenant's agents (the API's `POST /v1/messages`):
    /// resolved and checked like any agent's message. Returns its events.
    pub async fn send_message(&self, msg: &waooaw_domain::Message) -> Result<Vec<Event>, crate::messages::MessageError> {
        crate::messages::send(&self.shared, msg).await
    }

    /// A consult on behalf of `from`, as its wake would make it (tests and benchmarks).
    pub async fn consult(
        &self,
        from: &Instance,
        cause: &Event,
        to: waooaw_domain::Recipient,
        action: &str,
        payload: serde_json::Value,
        deadline: Duration,
    ) -> Result<serde_json::Value, crate::messages::MessageError> {
        crate::messages::consult(&self.shared, from, cause, to, action, payload, deadline).await
    }

    /// Routes a task through the coordinator whose RACI matrix names its type.
    pub async fn submit_task(
        &self,
        tenant: TenantId,
        task_type: &str,
        package: serde_json::Value,
    ) -> Result<waooaw_domain::Task, crate::tasks::TaskError> {
        crate::tasks::submit(&self.shared, tenant, task_type, package).await
    }

    /// A consensus on behalf of `from` (the API's `POST /v1/consensus`, tests, benchmarks).
    #[allow(clippy::too_many_arguments)]
    pub async fn consensus(
        &self,
        from: &Instance,
        conversation: waooaw_domain::EventId,
        parent: Option<waooaw_domain::EventId>,
        question: &str,
        request_type: &str,
        context: serde_json::Value,
        voters: &[waooaw_domain::Recipient],
        quorum: usize,
        deadline: Duration,
    ) -> Result<crate::consensus::ConsensusOutcome, crate::messages::MessageError> {
        crate::consensus::consensus(&self.shared, from, conversation, parent, question, request_type, context, voters, quorum, deadline)
            .await
    }

    pub async fn create_instance(
        &self,
        tenant: TenantId,
        specialization_id: &str,
        personality: Personality,
    ) -> Result<Instance, RuntimeError> {
        self.require_tenant(tenant).await?;
        let Some(spec) = self.shared.catalog.get(specialization_id) else {
            return Err(RuntimeError::UnknownSpecialization(specialization_id.to_owned()));
        };
        if spec.is_coordinator() {
            return Err(RuntimeError::Invalid(format!(
                "`{specialization_id}` is a coordinator: it routes tasks for every tenant (POST /v1/tasks) and is not hired"
            )));
        }
        // The spec's trial length wins over the runtime's default.
        let trial = match spec.marketplace.trial_days {
            0 => self.shared.config.trial_length,
            days => chrono::Duration::days(i64::from(days)),
        };
        if personality.name.trim().is_empty() || personality.name.chars().count() > 100 {
            return Err(RuntimeError::Invalid("name must be 1..=100 characters".into()));
        }
        let now = Utc::now();
        let instance = Instance::on_trial(tenant, specialization_id, personality, now, Some(now + trial));
        self.shared.store.create_instance(&instance).await?;
        self.shared.registry.upsert(&route_of(&instance));
        Ok(instance)
    }

    /// Pauses, resumes or retires an instance. A resume delivers what the pause kept, within the
    /// retention window, in event order.
    pub async fn transition(&self, tenant: TenantId, id: InstanceId, action: LifecycleAction) -> Result<Instance, RuntimeError> {
        let store = &self.shared.store;
        let current =
            store.get_instance(tenant, id).await?.ok_or_else(|| RuntimeError::NotFound { what: "instance", id: id.to_string() })?;
        let next = current.next_status(action)?;
        let updated = store.transition_instance(tenant, id, current.status, next, Utc::now()).await?.ok_or(RuntimeError::Concurrent(id))?;
        self.shared.warm.forget(&id);
        self.shared.registry.upsert(&route_of(&updated));
        if action == LifecycleAction::Resume {
            self.deliver_deferred(tenant, id).await?;
        }
        Ok(updated)
    }

    /// Queues what a paused instance missed, within the retention window, in event order.
    async fn deliver_deferred(&self, tenant: TenantId, id: InstanceId) -> Result<(), RuntimeError> {
        let store = &self.shared.store;
        let retention = chrono::Duration::from_std(self.shared.config.retention).unwrap_or(chrono::Duration::days(7));
        store.expire_deferred(tenant, id, Utc::now() - retention).await?;
        let missed = store.deliveries_in_status(tenant, id, waooaw_domain::DeliveryStatus::Deferred, 100_000).await?;
        tracing::info!(instance_id = %id, missed = missed.len(), "delivering what the instance missed while paused");
        self.dispatcher.enqueue_direct(id, missed);
        Ok(())
    }

    /// Re-delivers a dead letter's event to its instance.
    pub async fn redrive(&self, tenant: Option<TenantId>, id: uuid::Uuid) -> Result<DeadLetter, RuntimeError> {
        let store = &self.shared.store;
        let dead = store
            .redrive_dead_letter(tenant, id, Utc::now())
            .await?
            .ok_or_else(|| RuntimeError::NotFound { what: "dead letter (not redriven yet)", id: id.to_string() })?;
        let record = store
            .get_event(dead.tenant_id, dead.event_id)
            .await?
            .ok_or_else(|| RuntimeError::NotFound { what: "event", id: dead.event_id.to_string() })?;
        self.shared.bus.publish(&BusMessage { event: record.event, only_instance: Some(dead.instance_id) }).await?;
        Ok(dead)
    }

    /// Stops taking deliveries and waits (up to `grace`) for running wakes; what is left is
    /// handed back to the bus unacknowledged.
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        while self.dispatcher.in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
    }
}

/// Re-publishes events that were stored but never finished: at start (a crashed process's
/// work), then periodically (a publish that failed after the store had the event).
///
/// The embedded default's first pass takes everything accepted before `started_at`, when
/// `Runtime::start` began: no event of this process can be older, and none younger is a
/// leftover. (It used to take everything accepted before the pass ran; a pass that ran late, on
/// busy cores, re-published events this process had just accepted and was still publishing,
/// and their wakes ran twice: 50,002 deliveries for 50,000 events in one `bench wake`.)
async fn recover_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>, started_at: chrono::DateTime<Utc>) {
    let mut first = true;
    loop {
        let grace = chrono::Duration::from_std(shared.config.recovery_grace).unwrap_or(chrono::Duration::seconds(60));
        let before = if first && !shared.config.shared_store { started_at } else { Utc::now() - grace };
        loop {
            match shared.store.undispatched_events(before, 1000).await {
                Ok(events) => {
                    let n = events.len();
                    for event in events {
                        if let Err(e) = shared.bus.publish(&BusMessage { event, only_instance: None }).await {
                            InfrastructureError { during: "recovery publish", error: &e }.emit();
                        }
                    }
                    EventsRecovered { count: n }.emit();
                    // Only the first pass may need more than one page; later passes catch stragglers.
                    if n < 1000 || !first {
                        break;
                    }
                    // Wait for the republished page to be dispatched before fetching the next.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    InfrastructureError { during: "recovery", error: &e }.emit();
                    break;
                }
            }
        }
        first = false;
        match shared.store.prune_contexts(shared.config.contexts_kept).await {
            Ok(count) => ContextsPruned { count }.emit(),
            Err(e) => InfrastructureError { during: "context pruning", error: &e }.emit(),
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(shared.config.recovery_interval) => {}
        }
    }
}
