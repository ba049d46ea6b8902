//! Work functions: what an agent does when it wakes. Agents register theirs by name; spec files
//! name the one they use.

use std::collections::HashMap;
use std::sync::Arc;
use waooaw_domain::{Decision, DecisionRequest, Event, Instance, Method, Specialization, Verdict};

/// The decision engine as work functions see it: `make_decision` is the one way an agent
/// decides. The runtime does not know how decisions are made (see `waooaw-decisions`).
#[async_trait::async_trait]
pub trait Decider: Send + Sync {
    async fn make_decision(&self, spec: &Specialization, instance: &Instance, request: DecisionRequest) -> Decision;
}

/// Used when no engine is wired in: every decision goes to a human, saying why.
pub struct NoDecider;

#[async_trait::async_trait]
impl Decider for NoDecider {
    async fn make_decision(&self, _: &Specialization, _: &Instance, _: DecisionRequest) -> Decision {
        Decision::free(Verdict::Escalate, "no decision engine is configured in this runtime", 0.0, Method::Fallback)
    }
}

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
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkOutput {
    /// The next context state.
    pub state: serde_json::Value,
    /// One line saying what the wake did; shown in the event's deliveries.
    pub summary: String,
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
