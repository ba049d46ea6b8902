//! Internal events: every observable occurrence is one typed value whose `emit` writes its log
//! line and its metrics together, so the two never drift apart. Metric labels are bounded
//! (specialization ids, outcomes, event-type classes), never per-event ids.

use std::time::Duration;
use waooaw_domain::{EventId, InstanceId, TenantId};

pub trait InternalEvent {
    fn emit(self);
}

pub struct EventsAccepted {
    pub count: usize,
    pub store_duration: Duration,
}

impl InternalEvent for EventsAccepted {
    fn emit(self) {
        tracing::debug!(count = self.count, store_us = self.store_duration.as_micros() as u64, "events accepted");
        metrics::counter!("waooaw_events_accepted_total").increment(self.count as u64);
        metrics::histogram!("waooaw_event_batch_store_seconds").record(self.store_duration.as_secs_f64());
    }
}

/// Every wake slot was busy, so the next delivery waited on the bus (see `wake_slots`).
pub struct WakeSlotsFull {
    pub slots: usize,
    pub waited: Duration,
}

impl InternalEvent for WakeSlotsFull {
    fn emit(self) {
        tracing::debug!(
            slots = self.slots,
            waited_us = self.waited.as_micros() as u64,
            "all wake slots busy; the bus held the next delivery"
        );
        metrics::counter!("waooaw_wake_slots_full_total").increment(1);
        metrics::histogram!("waooaw_wake_slot_wait_seconds").record(self.waited.as_secs_f64());
    }
}

pub struct WakeStep<'a> {
    pub instance_id: InstanceId,
    pub event_id: EventId,
    pub step: &'static str,
    pub detail: &'a str,
}

impl InternalEvent for WakeStep<'_> {
    fn emit(self) {
        tracing::debug!(instance_id = %self.instance_id, event_id = %self.event_id, step = self.step, detail = self.detail, "wake step");
    }
}

pub struct WakeCompleted<'a> {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub event_id: EventId,
    pub correlation_id: EventId,
    pub specialization: &'a str,
    pub event_type: &'a str,
    /// From the event's timestamp to the start of its work.
    pub latency: Duration,
    pub duration: Duration,
    pub context_version: i64,
    pub summary: &'a str,
}

impl InternalEvent for WakeCompleted<'_> {
    fn emit(self) {
        tracing::info!(
            tenant_id = %self.tenant_id, instance_id = %self.instance_id, event_id = %self.event_id,
            correlation_id = %self.correlation_id, specialization = self.specialization, event_type = self.event_type,
            latency_us = self.latency.as_micros() as u64, duration_us = self.duration.as_micros() as u64,
            context_version = self.context_version, summary = self.summary, "instance woke"
        );
        let spec = self.specialization.to_owned();
        metrics::counter!("waooaw_wakes_total", "specialization" => spec.clone(), "outcome" => "done").increment(1);
        metrics::histogram!("waooaw_wake_latency_seconds", "specialization" => spec.clone()).record(self.latency.as_secs_f64());
        metrics::histogram!("waooaw_wake_duration_seconds", "specialization" => spec).record(self.duration.as_secs_f64());
    }
}

pub struct DeliveryDeferred<'a> {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub event_id: EventId,
    pub specialization: &'a str,
}

impl InternalEvent for DeliveryDeferred<'_> {
    fn emit(self) {
        tracing::info!(tenant_id = %self.tenant_id, instance_id = %self.instance_id, event_id = %self.event_id, "instance paused: delivery kept for its resume");
        metrics::counter!("waooaw_wakes_total", "specialization" => self.specialization.to_owned(), "outcome" => "deferred").increment(1);
    }
}

pub struct WakeFailed<'a> {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub event_id: EventId,
    pub specialization: &'a str,
    pub attempt: i32,
    pub error: &'a str,
    pub will_retry: bool,
}

impl InternalEvent for WakeFailed<'_> {
    fn emit(self) {
        tracing::warn!(
            tenant_id = %self.tenant_id, instance_id = %self.instance_id, event_id = %self.event_id,
            attempt = self.attempt, will_retry = self.will_retry, error = self.error, "wake failed"
        );
        let outcome = if self.will_retry { "retry" } else { "dead_letter" };
        metrics::counter!("waooaw_wakes_total", "specialization" => self.specialization.to_owned(), "outcome" => outcome).increment(1);
    }
}

pub struct EventsRecovered {
    pub count: usize,
}

impl InternalEvent for EventsRecovered {
    fn emit(self) {
        if self.count > 0 {
            tracing::info!(count = self.count, "re-published events a previous process accepted but did not finish");
        }
        metrics::counter!("waooaw_events_recovered_total").increment(self.count as u64);
    }
}

pub struct ContextsPruned {
    pub count: u64,
}

impl InternalEvent for ContextsPruned {
    fn emit(self) {
        if self.count > 0 {
            tracing::info!(count = self.count, "pruned old work context versions");
        }
        metrics::counter!("waooaw_contexts_pruned_total").increment(self.count);
    }
}

pub struct InfrastructureError<'a> {
    pub during: &'static str,
    pub error: &'a dyn std::fmt::Display,
}

impl InternalEvent for InfrastructureError<'_> {
    fn emit(self) {
        tracing::error!(during = self.during, error = %self.error, "infrastructure error");
        metrics::counter!("waooaw_infrastructure_errors_total", "during" => self.during).increment(1);
    }
}

pub struct ScheduleFired<'a> {
    pub specialization: &'a str,
    pub instances: usize,
}

impl InternalEvent for ScheduleFired<'_> {
    fn emit(self) {
        tracing::info!(specialization = self.specialization, instances = self.instances, "schedule tick published");
        metrics::counter!("waooaw_schedule_ticks_total").increment(self.instances as u64);
    }
}

pub struct MessageSent<'a> {
    pub tenant_id: waooaw_domain::TenantId,
    pub from: waooaw_domain::InstanceId,
    pub kind: waooaw_domain::MessageKind,
    pub action: &'a str,
    pub recipients: usize,
}

impl InternalEvent for MessageSent<'_> {
    fn emit(self) {
        let kind = serde_json::to_value(self.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        tracing::info!(tenant_id = %self.tenant_id, from = %self.from, kind, action = self.action, recipients = self.recipients,
            "agent message sent");
        metrics::counter!("waooaw_agent_messages_total", "kind" => kind).increment(self.recipients as u64);
    }
}

pub struct ConsultFinished<'a> {
    pub tenant_id: waooaw_domain::TenantId,
    pub from: waooaw_domain::InstanceId,
    pub action: &'a str,
    pub elapsed: Duration,
    pub outcome: &'a Result<serde_json::Value, crate::messages::MessageError>,
}

impl InternalEvent for ConsultFinished<'_> {
    fn emit(self) {
        let outcome = match self.outcome {
            Ok(_) => "answered",
            Err(crate::messages::MessageError::DeadlineExceeded { .. }) => "deadline",
            Err(_) => "failed",
        };
        match self.outcome {
            Ok(_) => tracing::info!(tenant_id = %self.tenant_id, from = %self.from, action = self.action,
                elapsed_ms = self.elapsed.as_millis() as u64, "consult answered"),
            Err(e) => tracing::warn!(tenant_id = %self.tenant_id, from = %self.from, action = self.action,
                elapsed_ms = self.elapsed.as_millis() as u64, error = %e, "consult not answered"),
        }
        metrics::counter!("waooaw_consults_total", "outcome" => outcome).increment(1);
        metrics::histogram!("waooaw_consult_seconds").record(self.elapsed.as_secs_f64());
    }
}

pub struct ConsensusReached<'a> {
    pub tenant_id: waooaw_domain::TenantId,
    pub from: waooaw_domain::InstanceId,
    pub outcome: &'a crate::consensus::ConsensusOutcome,
}

impl InternalEvent for ConsensusReached<'_> {
    fn emit(self) {
        let o = self.outcome;
        let decision = serde_json::to_value(o.decision).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        tracing::info!(tenant_id = %self.tenant_id, from = %self.from, decision, approve = o.approve_weight, reject = o.reject_weight,
            votes = o.votes.len(), missing = o.missing.len(), question = o.question, "consensus reached");
        metrics::counter!("waooaw_consensus_total", "decision" => decision).increment(1);
    }
}

pub struct TaskRouted<'a> {
    pub tenant_id: TenantId,
    pub task_type: &'a str,
    pub coordinator: &'a str,
    pub holder: InstanceId,
    pub attempt: i32,
}

impl InternalEvent for TaskRouted<'_> {
    fn emit(self) {
        tracing::info!(tenant_id = %self.tenant_id, task_type = self.task_type, coordinator = self.coordinator,
            holder = %self.holder, attempt = self.attempt, "task routed");
        let how = if self.attempt > 1 { "reclaimed" } else { "assigned" };
        metrics::counter!("waooaw_tasks_routed_total", "coordinator" => self.coordinator.to_owned(), "how" => how).increment(1);
    }
}
