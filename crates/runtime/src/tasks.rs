//! Coordinators: a task submitted for a tenant is routed by the RACI matrix of the coordinator
//! spec that names its type. The Responsible specialization's least busy awake instance (fewest
//! assigned tasks, then fewest wakes: reputation does not exist yet) gets a lease and a
//! `task.assigned` event; Informed instances are notified; when the holder's wake is saved the
//! task closes and the Accountable instance is told the outcome. A lease that runs out (its
//! holder paused, crashed or stuck) is reclaimed by this loop for another instance, and a wake
//! whose lease moved on does not work the task: no two instances work the same task.

use crate::messages::{MessageError, send};
use crate::observe::{InfrastructureError, InternalEvent};
use crate::runtime::Shared;
use chrono::Utc;
use serde_json::{Value, json};
use sha2::Digest;
use std::sync::Arc;
use tokio::sync::watch;
use waooaw_bus::BusMessage;
use waooaw_domain::{
    Event, EventId, EventType, Instance, InstanceId, Message, MessageKind, NewEvent, Recipient, Task, TaskStatus, TenantId,
};
use waooaw_store::StoreError;

pub const TASK_EVENT: &str = "task.assigned";
/// The work function coordinator specs name; coordinators route through the runtime, not on a wake.
pub const COORDINATOR_WORK: &str = "coordinator.route";

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("no coordinator routes task type `{task}` (routed: {known})")]
    NoRoute { task: String, known: String },
    #[error("no awake `{0}` is hired in this tenant to be responsible for it")]
    NoResponsible(String),
    #[error("task {0} not found")]
    NotFound(uuid::Uuid),
    #[error("{0}")]
    Invalid(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// The event id of a task's `attempt`-th assignment: a repeated send is one event.
fn assignment_id(task: &Task) -> EventId {
    let digest = sha2::Sha256::new()
        .chain_update(b"task")
        .chain_update(task.tenant_id.0.as_bytes())
        .chain_update(task.id.as_bytes())
        .chain_update(task.attempts.to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    EventId(uuid::Uuid::new_v8(bytes))
}

/// The least busy awake instance of `spec` in the tenant, other than `except` when another exists.
async fn pick(shared: &Shared, tenant: TenantId, spec: &str, except: Option<InstanceId>) -> Result<Option<Instance>, StoreError> {
    let load: std::collections::HashMap<InstanceId, i64> = shared.store.outstanding_tasks(tenant).await?.into_iter().collect();
    let candidates: Vec<Instance> =
        shared.store.list_instances(tenant).await?.into_iter().filter(|i| i.specialization_id == spec && i.status.is_awake()).collect();
    let best = |list: &mut dyn Iterator<Item = &Instance>| {
        list.min_by_key(|i| (load.get(&i.id).copied().unwrap_or(0), i.wake_count, i.id)).cloned()
    };
    Ok(best(&mut candidates.iter().filter(|i| Some(i.id) != except)).or_else(|| best(&mut candidates.iter())))
}

/// Routes a task: lease to the responsible instance, assignment event, notifications.
pub(crate) async fn submit(shared: &Shared, tenant: TenantId, task_type: &str, package: Value) -> Result<Task, TaskError> {
    let Some((coordinator, row)) = shared.catalog.route(task_type) else {
        return Err(TaskError::NoRoute { task: task_type.to_owned(), known: shared.catalog.task_types().join(", ") });
    };
    for field in ["filename", "content_type", "content"] {
        if !package.get(field).is_some_and(Value::is_string) {
            return Err(TaskError::Invalid(format!("`package.{field}` must be a string")));
        }
    }
    let holder = pick(shared, tenant, &row.responsible, None).await?.ok_or_else(|| TaskError::NoResponsible(row.responsible.clone()))?;
    let now = Utc::now();
    let task = Task {
        tenant_id: tenant,
        id: uuid::Uuid::now_v7(),
        task_type: task_type.to_owned(),
        coordinator: coordinator.id.clone(),
        package,
        status: TaskStatus::Assigned,
        holder: Some(holder.id),
        lease_expires_at: now + lease(shared),
        attempts: 1,
        outcome: None,
        created_at: now,
        updated_at: now,
    };
    shared.store.insert_task(&task).await?;
    assign(shared, &task, holder.id).await?;
    for informed in &row.informed {
        notify(shared, &task, holder.id, Recipient::Specialization(informed.clone()), "task.assigned", json!({})).await;
    }
    crate::observe::TaskRouted { tenant_id: tenant, task_type, coordinator: &coordinator.id, holder: holder.id, attempt: 1 }.emit();
    Ok(task)
}

fn lease(shared: &Shared) -> chrono::Duration {
    chrono::Duration::from_std(shared.config.task_lease).unwrap_or(chrono::Duration::minutes(5))
}

/// Stores and publishes the task's assignment event for `holder`, in the task's conversation.
async fn assign(shared: &Shared, task: &Task, holder: InstanceId) -> Result<(), StoreError> {
    let ty = EventType::parse(TASK_EVENT).map_err(|e| StoreError::Corrupt { table: "tasks", reason: e.to_string() })?;
    // The holder sees the whole RACI row: whom to consult, who answers for the outcome.
    let raci = shared.catalog.route(&task.task_type).map(|(_, row)| json!(row));
    let payload = json!({"task_id": task.id, "task_type": task.task_type, "coordinator": task.coordinator,
        "package": task.package, "lease_expires_at": task.lease_expires_at, "attempt": task.attempts, "raci": raci});
    let mut new = NewEvent::new(ty, "coordinator", task.tenant_id, payload);
    new.target_instance = Some(holder);
    new.correlation_id = Some(EventId(task.id));
    let mut event = new.into_event(Utc::now()).map_err(|e| StoreError::Corrupt { table: "tasks", reason: e.to_string() })?;
    event.id = assignment_id(task);
    shared.store.insert_events(std::slice::from_ref(&event)).await?;
    crate::trace::event_accepted(&event);
    if let Err(e) = shared.bus.publish(&BusMessage { event, only_instance: None }).await {
        InfrastructureError { during: "task publish", error: &e }.emit();
    }
    Ok(())
}

/// A platform notification about a task (`task.*` actions need no schema in the receiver's spec).
async fn notify(shared: &Shared, task: &Task, from: InstanceId, to: Recipient, action: &str, extra: Value) {
    let mut payload = json!({"task_id": task.id, "task_type": task.task_type, "holder": task.holder});
    if let (Value::Object(p), Value::Object(x)) = (&mut payload, extra) {
        p.extend(x);
    }
    let msg = Message::new(task.tenant_id, from, to, MessageKind::Notification, action, payload, EventId(task.id));
    match send(shared, &msg).await {
        // An informed or accountable specialization not hired here has nobody to tell.
        Ok(_) | Err(MessageError::UnknownRecipient(_)) => {}
        Err(e) => InfrastructureError { during: "task notification", error: &e }.emit(),
    }
}

/// Before a `task.assigned` wake works: whether this instance still holds the task's lease.
pub(crate) async fn still_holds(shared: &Shared, event: &Event, instance: InstanceId) -> Result<bool, StoreError> {
    let Some(id) = event.payload.get("task_id").and_then(|v| serde_json::from_value::<uuid::Uuid>(v.clone()).ok()) else {
        return Ok(false);
    };
    Ok(shared.store.get_task(event.tenant_id, id).await?.is_some_and(|t| t.status == TaskStatus::Assigned && t.holder == Some(instance)))
}

/// After a `task.assigned` wake is saved: the task closes and the Accountable hears the outcome.
pub(crate) async fn finish(shared: &Shared, event: &Event, instance: InstanceId, summary: &str) {
    let Some(id) = event.payload.get("task_id").and_then(|v| serde_json::from_value::<uuid::Uuid>(v.clone()).ok()) else { return };
    let closed = shared.store.complete_task(event.tenant_id, id, instance, TaskStatus::Done, summary, Utc::now()).await;
    match closed {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => return InfrastructureError { during: "task completion", error: &e }.emit(),
    }
    let Ok(Some(task)) = shared.store.get_task(event.tenant_id, id).await else { return };
    if let Some((_, row)) = shared.catalog.route(&task.task_type) {
        let to = Recipient::Specialization(row.accountable.clone());
        notify(shared, &task, instance, to, "task.completed", json!({"outcome": summary})).await;
    }
}

/// Reclaims expired leases: each goes to another awake instance of the responsible specialization.
pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = tokio::time::sleep(shared.config.task_reap_interval) => {}
        }
        if let Err(e) = reclaim(&shared).await {
            InfrastructureError { during: "task reclaim", error: &e }.emit();
        }
    }
}

async fn reclaim(shared: &Shared) -> Result<(), StoreError> {
    let now = Utc::now();
    for task in shared.store.expired_tasks(now, 100).await? {
        let (Some(old), Some((_, row))) = (task.holder, shared.catalog.route(&task.task_type)) else { continue };
        let Some(next) = pick(shared, task.tenant_id, &row.responsible, Some(old)).await? else { continue };
        if !shared.store.reassign_task(task.tenant_id, task.id, old, next.id, now + lease(shared), now).await? {
            continue; // another process reclaimed it first
        }
        let moved = Task { holder: Some(next.id), attempts: task.attempts + 1, lease_expires_at: now + lease(shared), ..task };
        assign(shared, &moved, next.id).await?;
        crate::observe::TaskRouted {
            tenant_id: moved.tenant_id,
            task_type: &moved.task_type,
            coordinator: &moved.coordinator,
            holder: next.id,
            attempt: moved.attempts,
        }
        .emit();
    }
    Ok(())
}

/// The coordinator specs' work function: coordinators route through the runtime, so a wake of
/// one (it is never hired, but a spec names a work function) has nothing to do.
pub struct CoordinatorWork;

#[async_trait::async_trait]
impl crate::work::WorkFn for CoordinatorWork {
    async fn run(&self, input: &crate::work::WakeInput<'_>) -> Result<crate::work::WorkOutput, crate::work::WorkError> {
        Ok(crate::work::WorkOutput::new(input.state.clone(), "coordinators route tasks through the runtime"))
    }
}
