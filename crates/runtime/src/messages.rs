//! Messages between agents (see `waooaw_domain::message`): resolved within the sender's tenant,
//! checked against the receiver's schema, stored and published as `agent.message` events
//! targeted at the receiving instance, in the sender's conversation. `consult` sends a request
//! and waits for its response until a deadline; the response's event id is derived from the
//! request's, so a waiter in any process finds it in the store, and a wake that answers twice
//! (a retry) stores one response.

use crate::observe::InternalEvent;
use crate::runtime::Shared;
use chrono::Utc;
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;
use waooaw_domain::{
    Event, EventId, EventType, Instance, InstanceStatus, Message, MessageKind, NewEvent, PROTOCOL_VERSION, Recipient, Reply, TenantId,
};
use waooaw_store::StoreError;

pub const MESSAGE_EVENT: &str = "agent.message";

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("protocol version {0} is not spoken here (this build speaks {PROTOCOL_VERSION})")]
    Protocol(u16),
    #[error("no recipient: {0}")]
    UnknownRecipient(String),
    #[error("{0}")]
    Invalid(String),
    #[error("an agent cannot consult itself")]
    SelfConsult,
    #[error("`{specialization}` does not accept `{action}` (it accepts: {accepted})")]
    NotAccepted { specialization: String, action: String, accepted: String },
    #[error("`{action}` payload refused by `{specialization}`: {detail}")]
    Schema { specialization: String, action: String, detail: String },
    #[error("`{action}` got no answer within {after:?}")]
    DeadlineExceeded { action: String, after: Duration },
    #[error("`{action}` was refused: {reason}")]
    Refused { action: String, reason: String },
    #[error("`{action}` failed at the receiver: {reason}")]
    Failed { action: String, reason: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("message not stored: {0}")]
    NotStored(String),
}

/// In-process waiters for responses, by request id: the fast path when the responder runs in
/// this process (the store is polled for the others).
#[derive(Default)]
pub(crate) struct Waiters(Mutex<HashMap<EventId, oneshot::Sender<Reply>>>);

impl Waiters {
    pub(crate) fn add(&self, id: EventId) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(id, tx);
        rx
    }

    pub(crate) fn remove(&self, id: EventId) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    }

    fn resolve(&self, id: EventId, reply: Reply) {
        if let Some(tx) = self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&id) {
            let _ = tx.send(reply);
        }
    }
}

/// The id of the response to request `request`: the same request always gets the same one.
pub(crate) fn response_id(tenant: TenantId, request: EventId) -> EventId {
    let digest =
        sha2::Sha256::new().chain_update(b"response").chain_update(tenant.0.as_bytes()).chain_update(request.0.as_bytes()).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    EventId(uuid::Uuid::new_v8(bytes))
}

/// The message an `agent.message` event carries.
pub fn message_of(event: &Event) -> Option<Message> {
    (event.event_type.as_str() == MESSAGE_EVENT).then(|| serde_json::from_value(event.payload.clone()).ok()).flatten()
}

/// Resolves, checks, stores and publishes a message; returns its events (one per recipient).
pub(crate) async fn send(shared: &Shared, msg: &Message) -> Result<Vec<Event>, MessageError> {
    send_as(shared, msg, true).await
}

/// As [`send`]; `deliver: false` stores the message (in its conversation, for the record and for
/// waiters in other processes) without waking the recipient: the answer to a request whose
/// asker waits for it by a deadline (`consult`, `consensus`) is read by the waiter, not worked.
async fn send_as(shared: &Shared, msg: &Message, deliver: bool) -> Result<Vec<Event>, MessageError> {
    if msg.protocol != PROTOCOL_VERSION {
        return Err(MessageError::Protocol(msg.protocol));
    }
    let sender = shared
        .store
        .get_instance(msg.tenant_id, msg.from)
        .await?
        .ok_or_else(|| MessageError::UnknownRecipient(format!("sender instance {} is not in this tenant", msg.from)))?;
    let recipients = recipients(shared, &sender, &msg.to).await?;
    // Requests and notifications are checked against what the receiver declares; responses
    // answer a request already checked.
    // Platform actions (`task.*`, `handoff.*`, `consensus.*`) have the platform's own payloads.
    let platform = ["task.", "handoff.", "consensus."].iter().any(|p| msg.action.starts_with(p));
    if !platform && matches!(msg.kind, MessageKind::Request | MessageKind::Notification | MessageKind::Handoff) {
        for r in &recipients {
            check_payload(shared, r, msg)?;
        }
    }
    let ty = EventType::parse(MESSAGE_EVENT).map_err(|e| StoreError::Corrupt { table: "events", reason: e.to_string() })?;
    let now = Utc::now();
    let mut events = Vec::with_capacity(recipients.len());
    for (n, r) in recipients.iter().enumerate() {
        let mut m = msg.clone();
        if n > 0 {
            m.id = EventId::new();
        }
        let mut new = NewEvent::new(ty.clone(), "agent", msg.tenant_id, serde_json::Value::Null);
        new.target_instance = Some(r.id);
        new.correlation_id = Some(msg.conversation_id);
        new.parent_id = msg.parent_id;
        new.priority = msg.priority;
        let mut event = new.into_event(now).map_err(|e| StoreError::Corrupt { table: "events", reason: e.to_string() })?;
        event.id = m.id;
        event.payload = serde_json::to_value(&m).map_err(|e| StoreError::Corrupt { table: "events", reason: e.to_string() })?;
        events.push(event);
    }
    // Through the ingest writer: concurrent messages share one transaction (group commit).
    let submits = events.iter().map(|e| shared.ingest.submit_as(e.clone(), deliver));
    for r in futures::future::join_all(submits).await {
        r.map_err(|e| MessageError::NotStored(e.to_string()))?;
    }
    crate::observe::MessageSent { tenant_id: msg.tenant_id, from: msg.from, kind: msg.kind, action: &msg.action, recipients: events.len() }
        .emit();
    Ok(events)
}

async fn recipients(shared: &Shared, sender: &Instance, to: &Recipient) -> Result<Vec<Instance>, MessageError> {
    let tenant = sender.tenant_id;
    Ok(match to {
        Recipient::Instance(id) => {
            // Another tenant's instance is "not found" here, exactly like a missing one.
            let i = shared
                .store
                .get_instance(tenant, *id)
                .await?
                .filter(|i| i.status != InstanceStatus::Retired)
                .ok_or_else(|| MessageError::UnknownRecipient(format!("instance {id} is not an active instance of this tenant")))?;
            vec![i]
        }
        Recipient::Specialization(spec) => {
            let all = shared.store.list_instances(tenant).await?;
            let pick = all
                .into_iter()
                .filter(|i| i.specialization_id == *spec && i.status != InstanceStatus::Retired && i.id != sender.id)
                .min_by_key(|i| (!i.status.is_awake(), i.wake_count))
                .ok_or_else(|| MessageError::UnknownRecipient(format!("no `{spec}` is hired in this tenant")))?;
            vec![pick]
        }
        Recipient::Broadcast => {
            let all = shared.store.list_instances(tenant).await?;
            all.into_iter().filter(|i| i.status.is_awake() && i.id != sender.id).collect()
        }
    })
}

fn check_payload(shared: &Shared, to: &Instance, msg: &Message) -> Result<(), MessageError> {
    let spec = shared.catalog.get(&to.specialization_id).ok_or_else(|| MessageError::UnknownRecipient(to.specialization_id.clone()))?;
    let Some(accepted) = spec.accepts.get(&msg.action) else {
        let list = spec.accepts.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
        return Err(MessageError::NotAccepted {
            specialization: spec.id.clone(),
            action: msg.action.clone(),
            accepted: if list.is_empty() { "nothing".into() } else { list },
        });
    };
    accepted.check(&msg.payload).map_err(|detail| MessageError::Schema {
        specialization: spec.id.clone(),
        action: msg.action.clone(),
        detail,
    })
}

/// Sends a request from `from` (waking on `cause`) and waits for the reply until `deadline`.
pub(crate) async fn consult(
    shared: &Shared,
    from: &Instance,
    cause: &Event,
    to: Recipient,
    action: &str,
    payload: serde_json::Value,
    deadline: Duration,
) -> Result<serde_json::Value, MessageError> {
    if to == Recipient::Instance(from.id) {
        return Err(MessageError::SelfConsult);
    }
    if to == Recipient::Broadcast {
        return Err(MessageError::Invalid("a consult asks one agent; ask several with a consensus".into()));
    }
    let msg = Message {
        parent_id: Some(cause.id),
        requires_response: true,
        respond_by: chrono::Duration::from_std(deadline).ok().map(|d| Utc::now() + d),
        priority: cause.priority,
        ..Message::new(from.tenant_id, from.id, to, MessageKind::Request, action, payload, cause.correlation_id)
    };
    let id = msg.id;
    let waiter = shared.waiters.add(id);
    let started = std::time::Instant::now();
    if let Err(e) = send(shared, &msg).await {
        shared.waiters.remove(id);
        return Err(e);
    }
    let reply = tokio::time::timeout(deadline, wait_reply(shared, from.tenant_id, id, waiter)).await;
    shared.waiters.remove(id);
    let outcome = match reply {
        Err(_) => Err(MessageError::DeadlineExceeded { action: action.to_owned(), after: deadline }),
        Ok(Reply::Ok { result }) => Ok(result),
        Ok(Reply::Refused { reason }) => Err(MessageError::Refused { action: action.to_owned(), reason }),
        Ok(Reply::Failed { reason }) => Err(MessageError::Failed { action: action.to_owned(), reason }),
    };
    crate::observe::ConsultFinished { tenant_id: from.tenant_id, from: from.id, action, elapsed: started.elapsed(), outcome: &outcome }
        .emit();
    outcome
}

/// The in-process answer, or the stored one (a responder in another process).
pub(crate) async fn wait_reply(shared: &Shared, tenant: TenantId, request: EventId, mut local: oneshot::Receiver<Reply>) -> Reply {
    let stored = response_id(tenant, request);
    let mut poll = Duration::from_millis(5);
    loop {
        tokio::select! {
            r = &mut local => if let Ok(reply) = r { return reply },
            _ = tokio::time::sleep(poll) => {}
        }
        if let Ok(Some(rec)) = shared.store.get_event(tenant, stored).await
            && let Some(reply) = message_of(&rec.event).and_then(|m| serde_json::from_value::<Reply>(m.payload).ok())
        {
            return reply;
        }
        poll = (poll * 2).min(Duration::from_millis(100));
    }
}

/// Answers a request event after the wake that handled it committed.
pub(crate) async fn respond(shared: &Shared, request_event: &Event, request: &Message, reply: Reply) -> Result<(), MessageError> {
    let id = response_id(request.tenant_id, request_event.id);
    let payload = serde_json::to_value(&reply).map_err(|e| StoreError::Corrupt { table: "events", reason: e.to_string() })?;
    let Some(responder) = request_event.target_instance else { return Ok(()) };
    let to = Recipient::Instance(request.from);
    let msg = Message {
        id,
        parent_id: Some(request_event.id),
        priority: request.priority,
        ..Message::new(request.tenant_id, responder, to, MessageKind::Response, &request.action, payload, request.conversation_id)
    };
    shared.waiters.resolve(request_event.id, reply);
    // An asker with a deadline is waiting for this answer, not woken by it.
    send_as(shared, &msg, request.respond_by.is_none()).await.map(|_| ())
}
