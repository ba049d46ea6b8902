//! Handoffs: work one agent hands to another, through the bus, never point to point. A wake
//! that hands work over writes an outbox row (`ExternalAction::Handoff`, saved with its commit);
//! this task turns each due row into an `agent.handoff` event targeted at the tenant's instance
//! of the named specialization (an awake one first, the least busy), stored and published like
//! any event. The event id is derived from the row's key, so a row sent twice (a crash between
//! the publish and the record) is one event: the store keeps the first.

use crate::observe::{InfrastructureError, InternalEvent};
use crate::runtime::Shared;
use chrono::{DateTime, Utc};
use sha2::Digest;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use waooaw_domain::{
    Event, EventId, EventType, ExternalAction, InstanceId, InstanceStatus, NewEvent, OutboxItem, OutboxRecord, OutboxStatus, TenantId,
};
use waooaw_store::{OutboxAttempt, StoreError};

/// Rows are sent when a commit signals one (at once) and otherwise on this poll (rows left
/// waiting for a recipient, or saved by another process).
const POLL: Duration = Duration::from_millis(250);

pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = shared.handoffs.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        if let Err(e) = send_due(&shared).await {
            InfrastructureError { during: "handoff", error: &e }.emit();
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum HandoffError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
}

/// The event id of a handoff row: the same row always gives the same id.
pub(crate) fn event_id(row: &OutboxRecord) -> EventId {
    let digest = sha2::Sha256::new().chain_update(row.tenant_id.0.as_bytes()).chain_update(row.key.as_bytes()).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    EventId(uuid::Uuid::new_v8(bytes))
}

/// One batch: recipients resolved once per tenant, the events stored in one insert and
/// published together, then each row recorded.
async fn send_due(shared: &Shared) -> Result<(), HandoffError> {
    let now = Utc::now();
    let rows = shared.store.due_outbox(now, 500, true).await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut instances = std::collections::HashMap::new();
    let mut sends = Vec::with_capacity(rows.len());
    for row in &rows {
        let ExternalAction::Handoff { to, .. } = &row.action else { continue };
        if let std::collections::hash_map::Entry::Vacant(slot) = instances.entry(row.tenant_id) {
            slot.insert(shared.store.list_instances(row.tenant_id).await?);
        }
        let recipient = instances
            .get(&row.tenant_id)
            .into_iter()
            .flatten()
            .filter(|i| i.specialization_id == *to && i.status != InstanceStatus::Retired)
            .min_by_key(|i| (!i.status.is_awake(), i.wake_count));
        let Some(recipient) = recipient else {
            let wait = OutboxAttempt {
                status: OutboxStatus::Pending,
                attempts: row.attempts + 1,
                last_error: Some(format!("no `{to}` is hired in this tenant; waiting for one")),
                url: None,
                next_attempt_at: now + chrono::Duration::seconds(30),
            };
            shared.store.update_outbox(row.tenant_id, &row.key, &wait).await?;
            continue;
        };
        let event = handoff_event(row, recipient.id, now)?;
        sends.push((row, to.clone(), recipient.id, event));
    }
    let done = deliver(shared, sends, now).await?;
    Ok(shared.store.update_outbox_many(&done).await?)
}

/// A sent handoff's outbox row, recorded done.
pub(crate) type SentMark = (TenantId, String, OutboxAttempt);

/// Stores and publishes the handoff events (through the ingest writer, so handoffs share its
/// group commit with every other event) and returns their rows' done marks for the caller to
/// record. A row whose event was not stored stays pending and is sent again.
async fn deliver(
    shared: &Shared,
    sends: Vec<(&OutboxRecord, String, InstanceId, Event)>,
    now: DateTime<Utc>,
) -> Result<Vec<SentMark>, HandoffError> {
    if sends.is_empty() {
        return Ok(Vec::new());
    }
    let events: Vec<_> = sends.iter().map(|(_, _, _, e)| e.clone()).collect();
    for r in futures::future::join_all(events.into_iter().map(|e| shared.ingest.submit(e))).await {
        r?;
    }
    let mut done = Vec::with_capacity(sends.len());
    for (row, to, recipient, event) in sends {
        tracing::info!(tenant_id = %row.tenant_id, from = %row.instance_id, to = %recipient, specialization = to,
            event_id = %event.id, "work handed over");
        metrics::counter!("waooaw_handoffs_total", "to" => to).increment(1);
        let attempt = OutboxAttempt {
            status: OutboxStatus::Done,
            attempts: row.attempts + 1,
            last_error: None,
            url: Some(format!("instance:{recipient}/event:{}", event.id)),
            next_attempt_at: now,
        };
        done.push((row.tenant_id, row.key.clone(), attempt));
    }
    Ok(done)
}

/// Records the rows of handoffs wakes sent, in batches, so that a burst of handoffs costs the
/// main writer one transaction rather than one each. Nothing waits on these marks: until one
/// is recorded the row's grace ([`SENT_BY_WAKE_GRACE`]) keeps the outbox task off it, and a row
/// sent again (after a shutdown cut this short) is the same event. Runs until shutdown aborts it,
/// so that wakes finishing during the shutdown's grace still get their rows recorded.
pub(crate) async fn record_sent(store: waooaw_store::DynStore, mut marks: mpsc::UnboundedReceiver<SentMark>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while marks.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        if let Err(e) = store.update_outbox_many(&batch).await {
            InfrastructureError { during: "recording sent handoffs", error: &e }.emit();
        }
        batch.clear();
    }
}

const RECORD_BATCH: usize = 512;

/// The `agent.handoff` event of a row, for `recipient`.
fn handoff_event(row: &OutboxRecord, recipient: InstanceId, now: DateTime<Utc>) -> Result<Event, StoreError> {
    let ExternalAction::Handoff { action, package, cause, correlation, .. } = &row.action else {
        return Err(StoreError::Corrupt { table: "outbox", reason: format!("row {} is not a handoff", row.key) });
    };
    let payload = serde_json::json!({"action": action, "package": package, "from_instance": row.instance_id, "handoff": row.key});
    let ty = EventType::parse("agent.handoff").map_err(|e| StoreError::Corrupt { table: "outbox", reason: e.to_string() })?;
    let mut new = NewEvent::new(ty, "agent", row.tenant_id, payload);
    new.target_instance = Some(recipient);
    new.parent_id = cause.map(EventId);
    new.correlation_id = correlation.map(EventId);
    let mut event = new.into_event(now).map_err(|e| StoreError::Corrupt { table: "outbox", reason: e.to_string() })?;
    event.id = event_id(row);
    Ok(event)
}

/// How long the outbox task leaves a handoff the wake sends itself: only a crash between the
/// wake's commit and its send leaves one for the task.
pub(crate) const SENT_BY_WAKE_GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// Whether the wake can send these handoffs itself: the routing index knows the tenant's
/// instances as they are (always in one process; while fresh in scale-out mode) and has a
/// recipient for each. Otherwise the outbox task sends them (and keeps waiting for one).
pub(crate) fn can_send_from_wake(shared: &Shared, tenant: TenantId, items: &[OutboxItem]) -> bool {
    !items.is_empty()
        && !shared.registry.is_stale(tenant)
        && items.iter().all(|item| match &item.action {
            ExternalAction::Handoff { to, .. } => !shared.registry.of_specialization(tenant, to).is_empty(),
            _ => false,
        })
}

/// Sends a committed wake's handoffs at once, without waiting for the outbox task: recipients
/// picked from the routing index as the task picks them from the store (an awake instance
/// first, then the one that woke least). Whatever fails here (a recipient retired meanwhile,
/// the store) is left to the task, which takes the row after [`SENT_BY_WAKE_GRACE`].
pub(crate) async fn send_from_wake(shared: &Shared, tenant: TenantId, sender: InstanceId, items: Vec<OutboxItem>, now: DateTime<Utc>) {
    let rows: Vec<OutboxRecord> = items
        .into_iter()
        .map(|item| OutboxRecord {
            tenant_id: tenant,
            instance_id: sender,
            key: item.key,
            action: item.action,
            status: OutboxStatus::Pending,
            attempts: 0,
            last_error: None,
            url: None,
            next_attempt_at: now,
            created_at: now,
        })
        .collect();
    let mut sends = Vec::with_capacity(rows.len());
    for row in &rows {
        let ExternalAction::Handoff { to, .. } = &row.action else { continue };
        let warm_wakes = |id: &InstanceId| shared.warm.get(id).map_or(0, |w| w.instance.wake_count);
        let candidates = shared.registry.of_specialization(tenant, to);
        let Some((recipient, _)) = candidates.into_iter().min_by_key(|(id, status)| (!status.is_awake(), warm_wakes(id))) else {
            continue;
        };
        match handoff_event(row, recipient, now) {
            Ok(event) => sends.push((row, to.clone(), recipient, event)),
            Err(e) => InfrastructureError { during: "handoff", error: &e }.emit(),
        }
    }
    match deliver(shared, sends, now).await {
        Ok(done) => {
            for mark in done {
                // Closed only at shutdown; the row is then sent again after its grace.
                let _ = shared.sent_handoffs.send(mark);
            }
        }
        Err(e) => InfrastructureError { during: "handoff", error: &e }.emit(),
    }
}
