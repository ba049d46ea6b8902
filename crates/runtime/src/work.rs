//! Work functions: what an agent does when it wakes. Agents register theirs by name; spec files
//! name the one they use.

use std::collections::HashMap;
use std::sync::Arc;
use waooaw_domain::{Decider, Event, Instance, Specialization};

/// What a work function sees during step 5 of a wake.
pub struct WakeInput<'a> {
    pub spec: &'a Specialization,
    pub instance: &'a Instance,
    pub event: &'a Event,
    /// The state saved by the previous wake (`{}` on the first).
    pub state: &'a serde_json::Value,
    /// Deliveries still waiting for this instance besides this one (step 3).
    pub pending_deliveries: usize,
    /// Learnings recorded in the context (step 4), newest last.
    pub learnings: &'a [serde_json::Value],
    pub decider: &'a dyn Decider,
    /// Asks another agent of the tenant and waits for its answer (see [`Consult`]).
    pub consult: &'a dyn Consult,
}

impl WakeInput<'_> {
    /// Consults `to` about `action` within `deadline`, in this wake's conversation. A missed
    /// deadline, a refusal (the payload fails the receiver's schema, no such agent) or a failure
    /// at the receiver is an error the caller handles: fall back or escalate.
    pub async fn consult(
        &self,
        to: waooaw_domain::Recipient,
        action: &str,
        payload: serde_json::Value,
        deadline: std::time::Duration,
    ) -> Result<serde_json::Value, crate::MessageError> {
        self.consult.consult(self.instance, self.event, to, action, payload, deadline).await
    }
}

/// Request and response between agents, through the bus.
#[async_trait::async_trait]
pub trait Consult: Send + Sync {
    async fn consult(
        &self,
        from: &Instance,
        cause: &Event,
        to: waooaw_domain::Recipient,
        action: &str,
        payload: serde_json::Value,
        deadline: std::time::Duration,
    ) -> Result<serde_json::Value, crate::MessageError>;
}

/// For work run outside a runtime (unit tests): every consult finds no one.
pub struct NoConsult;

#[async_trait::async_trait]
impl Consult for NoConsult {
    async fn consult(
        &self,
        _: &Instance,
        _: &Event,
        to: waooaw_domain::Recipient,
        _: &str,
        _: serde_json::Value,
        _: std::time::Duration,
    ) -> Result<serde_json::Value, crate::MessageError> {
        Err(crate::MessageError::UnknownRecipient(format!("{to}: no runtime to send through")))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkOutput {
    /// The next context state.
    pub state: serde_json::Value,
    /// One line saying what the wake did; shown in the event's deliveries.
    pub summary: String,
    /// What the wake produced for the customer; saved with the wake, so exactly once.
    pub deliverables: Vec<waooaw_domain::NewDeliverable>,
    /// Side effects outside WAOOAW, saved with the wake and sent by the outbox dispatcher.
    pub outbox: Vec<waooaw_domain::OutboxItem>,
    /// The answer to a request message (`agent.message`, kind request), sent once the wake is
    /// saved.
    pub reply: Option<waooaw_domain::Reply>,
}

impl WorkOutput {
    pub fn new(state: serde_json::Value, summary: impl Into<String>) -> Self {
        Self { state, summary: summary.into(), deliverables: Vec::new(), outbox: Vec::new(), reply: None }
    }

    pub fn with_deliverable(mut self, d: waooaw_domain::NewDeliverable) -> Self {
        self.deliverables.push(d);
        self
    }

    pub fn with_reply(mut self, reply: waooaw_domain::Reply) -> Self {
        self.reply = Some(reply);
        self
    }

    pub fn with_outbox(mut self, items: impl IntoIterator<Item = waooaw_domain::OutboxItem>) -> Self {
        self.outbox.extend(items);
        self
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkError {
    /// The input can never succeed (e.g. a malformed payload): dead-letter without retrying.
    #[error("{0}")]
    Permanent(String),
    /// Might succeed on retry.
    #[error("{0}")]
    Transient(String),
}

#[async_trait::async_trait]
pub trait WorkFn: Send + Sync {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError>;
}

#[derive(Default, Clone)]
pub struct WorkRegistry {
    fns: HashMap<String, Arc<dyn WorkFn>>,
}

impl WorkRegistry {
    pub fn register(&mut self, name: &str, f: Arc<dyn WorkFn>) {
        self.fns.insert(name.to_owned(), f);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn WorkFn>> {
        self.fns.get(name)
    }

    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.fns.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}
