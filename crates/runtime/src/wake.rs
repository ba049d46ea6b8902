//! One wake: the six-step protocol for one instance and one event. Each step is a span and a
//! log line. The saved effect (context version, delivery row, counters) is one store commit.

use crate::observe::{DeliveryDeferred, InternalEvent, WakeCompleted, WakeFailed, WakeStep};
use crate::runtime::Shared;
use crate::warm::WarmInstance;
use crate::work::{WakeInput, WorkError};
use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;
use waooaw_domain::{DeadLetter, DeliveryOutcome, DeliveryStatus, Event, InstanceId, TenantId};
use waooaw_store::{StoreError, WakeCommit, WakeResult};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WakeOutcome {
    Done {
        version: i64,
    },
    AlreadyDone,
    Deferred,
    DeadLettered,
    /// Nothing to do: the instance is gone, retired, or not the event's tenant's.
    Skipped(&'static str),
    /// The store failed: the delivery is not finished and will be redelivered.
    Failed(String),
}

enum Restored {
    Ready(Arc<WarmInstance>),
    AlreadyDone,
    Skip(&'static str),
}

/// The cold path of steps 1-3: four reads, then the instance is warm.
async fn restore(shared: &Shared, tenant: TenantId, instance_id: InstanceId, event: &Event) -> Result<Restored, StoreError> {
    let store = &shared.store;
    let Some(instance) = store.get_instance(tenant, instance_id).instrument(tracing::info_span!("restore_identity")).await? else {
        return Ok(Restored::Skip("no such instance in the event's tenant"));
    };
    // A repeated delivery stops here, before its work runs a second time. (On the warm path a
    // repeat is caught by the commit instead: its effect is still saved once.)
    if let Some(d) = store.get_delivery(tenant, event.id, instance_id).await?
        && matches!(d.status, DeliveryStatus::Done | DeliveryStatus::Dead | DeliveryStatus::Expired)
    {
        return Ok(Restored::AlreadyDone);
    }
    let context = store.latest_context(tenant, instance_id).instrument(tracing::info_span!("load_context")).await?;
    let state = context.filter(|c| c.version == instance.context_version).map(|c| c.state).unwrap_or_else(|| serde_json::json!({}));
    let pending =
        store.count_deliveries(tenant, instance_id, DeliveryStatus::Deferred).instrument(tracing::info_span!("check_pending")).await?;
    let warm = Arc::new(WarmInstance { instance, state, pending: usize::try_from(pending).unwrap_or(0) });
    shared.warm.put_arc(warm.clone());
    Ok(Restored::Ready(warm))
}

/// Wakes that lose the optimistic version check (another process saved first) run again.
const MAX_CONFLICT_ROUNDS: usize = 16;

pub(crate) async fn wake(shared: &Shared, instance_id: InstanceId, event: &Event) -> WakeOutcome {
    let span = tracing::info_span!("wake", %instance_id, event_id = %event.id, tenant_id = %event.tenant_id,
        correlation_id = %event.correlation_id, event_type = %event.event_type);
    if crate::trace::enabled() {
        tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(&span, crate::trace::wake_parent(event));
    }
    async {
        for _ in 0..MAX_CONFLICT_ROUNDS {
            match wake_once(shared, instance_id, event).await {
                Ok(Some(outcome)) => return outcome,
                Ok(None) => continue,
                Err(e) => return WakeOutcome::Failed(e.to_string()),
            }
        }
        WakeOutcome::Failed(format!("instance {instance_id} kept changing under {MAX_CONFLICT_ROUNDS} wakes"))
    }
    .instrument(span)
    .await
}

/// `Ok(None)` means the commit lost a version race: run the protocol again.
#[derive(Debug, thiserror::Error)]
enum InfraError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Commit(#[from] crate::commit::CommitError),
}

async fn wake_once(shared: &Shared, instance_id: InstanceId, event: &Event) -> Result<Option<WakeOutcome>, InfraError> {
    let store = &shared.store;
    let tenant = event.tenant_id;
    let step = |step: &'static str, detail: &str| WakeStep { instance_id, event_id: event.id, step, detail }.emit();

    // 1-3. Restore identity, load the context and count pending deliveries: from the warm
    // cache when the instance woke recently here, else from the store.
    let warm = match shared.warm.get(&instance_id) {
        Some(warm) if warm.instance.tenant_id == tenant => warm,
        Some(_) => return Ok(Some(WakeOutcome::Skipped("no such instance in the event's tenant"))),
        None => match restore(shared, tenant, instance_id, event).await? {
            Restored::Ready(warm) => warm,
            Restored::AlreadyDone => return Ok(Some(WakeOutcome::AlreadyDone)),
            Restored::Skip(why) => return Ok(Some(WakeOutcome::Skipped(why))),
        },
    };
    let instance = &warm.instance;
    let Some(spec) = shared.catalog.get(&instance.specialization_id).cloned() else {
        return Ok(Some(WakeOutcome::Skipped("specialization not in the catalog")));
    };
    step("restore_identity", &spec.id);
    if instance.status == waooaw_domain::InstanceStatus::Retired {
        return Ok(Some(WakeOutcome::Skipped("instance retired")));
    }
    if !instance.status.is_awake() {
        let commit = WakeCommit {
            tenant_id: tenant,
            instance_id,
            event_id: event.id,
            read_version: instance.context_version,
            new_state: None,
            deliverables: Vec::new(),
            outbox: Vec::new(),
            handoffs_due_at: None,
            outcome: DeliveryOutcome { status: DeliveryStatus::Deferred, attempts: 0, outcome: "instance paused".into() },
            now: Utc::now(),
        };
        return Ok(Some(match shared.committer.commit(commit).await? {
            WakeResult::AlreadyDone => WakeOutcome::AlreadyDone,
            WakeResult::Conflict => {
                shared.warm.forget(&instance_id);
                return Ok(None);
            }
            WakeResult::Committed(_) => {
                DeliveryDeferred { tenant_id: tenant, instance_id, event_id: event.id, specialization: &spec.id }.emit();
                WakeOutcome::Deferred
            }
        }));
    }
    let read_version = instance.context_version;
    let state = &warm.state;
    step("load_context", &format!("version {read_version}"));
    // Deferred deliveries exist only around a pause; while some were waiting, count afresh.
    let pending = if warm.pending == 0 {
        0
    } else {
        let n =
            store.count_deliveries(tenant, instance_id, DeliveryStatus::Deferred).instrument(tracing::info_span!("check_pending")).await?;
        usize::try_from(n).unwrap_or(0)
    };
    step("check_pending", &format!("{pending} waiting"));

    // 4. Apply learnings: what answers and feedback taught this instance, kept in its context.
    let learnings: Vec<serde_json::Value> =
        tracing::info_span!("apply_learnings").in_scope(|| state.get("learnings").and_then(|l| l.as_array()).cloned().unwrap_or_default());
    step("apply_learnings", &format!("{} learnings", learnings.len()));

    // 5. Execute the work, retrying what may pass on retry.
    let Some(work) = shared.work.get(&spec.work) else {
        return Ok(Some(WakeOutcome::Skipped("work function not registered")));
    };
    // A coordinated task is worked only by the instance holding its lease.
    let is_task = event.event_type.as_str() == crate::tasks::TASK_EVENT;
    if is_task && !crate::tasks::still_holds(shared, event, instance_id).await? {
        return Ok(Some(WakeOutcome::Skipped("the task's lease is held by another instance")));
    }
    if let Some(probe) = &shared.probe {
        probe.work_started(event);
    }
    let latency = (Utc::now() - event.timestamp).to_std().unwrap_or(Duration::ZERO);
    let started = Instant::now();
    let input = WakeInput {
        spec: &spec,
        instance,
        event,
        state,
        pending_deliveries: pending,
        learnings: &learnings,
        decider: shared.decider.as_ref(),
        consult: &Consulting(shared),
    };
    let mut attempt: i32 = 0;
    let output = loop {
        attempt += 1;
        let result = work.run(&input).instrument(tracing::info_span!("execute_work", attempt)).await;
        match result {
            Ok(out) => break out,
            Err(e) => {
                let will_retry = matches!(e, WorkError::Transient(_)) && attempt < shared.config.max_attempts;
                let error = e.to_string();
                WakeFailed {
                    tenant_id: tenant,
                    instance_id,
                    event_id: event.id,
                    specialization: &spec.id,
                    attempt,
                    error: &error,
                    will_retry,
                }
                .emit();
                if will_retry {
                    tokio::time::sleep(shared.config.retry_backoff * 2u32.saturating_pow(attempt as u32 - 1)).await;
                    continue;
                }
                let kind = if matches!(e, WorkError::Transient(_)) { "transient, retries exhausted" } else { "permanent" };
                let dead = DeadLetter {
                    id: uuid::Uuid::now_v7(),
                    tenant_id: tenant,
                    event_id: event.id,
                    instance_id,
                    event_type: event.event_type.to_string(),
                    error: format!("work `{}` failed ({kind}) after {attempt} attempt(s): {error}", spec.work),
                    attempts: attempt,
                    created_at: Utc::now(),
                    redriven_at: None,
                };
                store.insert_dead_letter(&dead).await?;
                return Ok(Some(WakeOutcome::DeadLettered));
            }
        }
    };
    step("execute_work", &output.summary);

    // 6. Save the context, the delivery and the counters together.
    let commit_time = Utc::now();
    let saved_state = output.state.clone();
    let reply = output.reply.clone();
    let handoffs: Vec<waooaw_domain::OutboxItem> =
        output.outbox.iter().filter(|o| o.key.starts_with(waooaw_domain::HANDOFF_KEY_PREFIX)).cloned().collect();
    // Handoffs are sent by this wake right after its commit when it can pick their recipients
    // (the outbox task is then only the fallback); else by the task, woken at once.
    let send_handoffs_here = crate::handoff::can_send_from_wake(shared, tenant, &handoffs);
    // The spec's `deliverable_footer` closes every deliverable (dated by the event, so a
    // replayed wake writes the same text).
    // Rendered only for a wake that delivers (most wakes do not).
    let footer = if output.deliverables.is_empty() {
        String::new()
    } else {
        let date = event.timestamp.date_naive().to_string();
        spec.outputs.render(
            waooaw_domain::OutputKind::DeliverableFooter,
            &[("agent", &instance.personality.name), ("specialization", &spec.name), ("date", &date)],
        )
    };
    let commit = WakeCommit {
        tenant_id: tenant,
        instance_id,
        event_id: event.id,
        read_version,
        new_state: Some(output.state),
        deliverables: output
            .deliverables
            .into_iter()
            .map(|d| waooaw_domain::Deliverable {
                id: uuid::Uuid::now_v7(),
                tenant_id: tenant,
                instance_id,
                event_id: event.id,
                kind: d.kind,
                title: d.title,
                body_markdown: if footer.trim().is_empty() {
                    d.body_markdown
                } else {
                    format!("{}\n\n---\n\n{footer}\n", d.body_markdown.trim_end())
                },
                created_at: commit_time,
            })
            .collect(),
        outbox: output.outbox,
        handoffs_due_at: send_handoffs_here.then(|| commit_time + crate::handoff::SENT_BY_WAKE_GRACE),
        outcome: DeliveryOutcome { status: DeliveryStatus::Done, attempts: attempt, outcome: output.summary.clone() },
        now: commit_time,
    };
    let saved = shared.committer.commit(commit).instrument(tracing::info_span!("save_context")).await?;
    Ok(match saved {
        WakeResult::Committed(version) => {
            if send_handoffs_here {
                crate::handoff::send_from_wake(shared, tenant, instance_id, handoffs, commit_time).await;
            } else if !handoffs.is_empty() {
                shared.handoffs.notify_one();
            }
            answer_request(shared, event, &spec.id, reply).await;
            accept_handoff(shared, event, &output.summary).await;
            if is_task {
                crate::tasks::finish(shared, event, instance_id, &output.summary).await;
            }
            let mut instance = instance.clone();
            instance.context_version = version;
            instance.wake_count += 1;
            instance.last_woken_at = Some(commit_time);
            shared.warm.put(WarmInstance { instance, state: saved_state, pending });
            WakeCompleted {
                tenant_id: tenant,
                instance_id,
                event_id: event.id,
                correlation_id: event.correlation_id,
                specialization: &spec.id,
                event_type: event.event_type.as_str(),
                latency,
                duration: started.elapsed(),
                context_version: version,
                summary: &output.summary,
            }
            .emit();
            Some(WakeOutcome::Done { version })
        }
        WakeResult::AlreadyDone => Some(WakeOutcome::AlreadyDone),
        WakeResult::Conflict => {
            shared.warm.forget(&instance_id);
            None
        }
    })
}

/// The runtime's [`Consult`]: through the bus, with this process's waiters.
struct Consulting<'a>(&'a Shared);

#[async_trait::async_trait]
impl crate::work::Consult for Consulting<'_> {
    async fn consult(
        &self,
        from: &waooaw_domain::Instance,
        cause: &Event,
        to: waooaw_domain::Recipient,
        action: &str,
        payload: serde_json::Value,
        deadline: Duration,
    ) -> Result<serde_json::Value, crate::MessageError> {
        // The answer needs a wake of its own: this one's slot is free while it waits.
        let asking = crate::messages::consult(self.0, from, cause, to, action, payload, deadline);
        self.0.wake_slots.parked(asking.instrument(tracing::info_span!("consult", action))).await
    }
}

/// A request that wants an answer gets one: the work's reply, or a failure saying it gave none.
async fn answer_request(shared: &Shared, event: &Event, spec: &str, reply: Option<waooaw_domain::Reply>) {
    let Some(request) = crate::messages::message_of(event) else { return };
    let asks = matches!(request.kind, waooaw_domain::MessageKind::Request | waooaw_domain::MessageKind::Consensus);
    if !asks || !request.requires_response {
        return;
    }
    let reply =
        reply.unwrap_or_else(|| waooaw_domain::Reply::Failed { reason: format!("`{spec}` gave no answer to `{}`", request.action) });
    if let Err(e) = crate::messages::respond(shared, event, &request, reply).await {
        crate::observe::InfrastructureError { during: "message response", error: &e }.emit();
    }
}

/// A handoff is accepted once the receiver's wake that took it is saved: the sender hears so
/// (a `handoff.accept` response), and its task closes then, not when the handoff was sent.
async fn accept_handoff(shared: &Shared, event: &Event, summary: &str) {
    if event.event_type.as_str() != "agent.handoff" {
        return;
    }
    let (Some(receiver), Some(sender)) =
        (event.target_instance, event.payload.get("from_instance").and_then(|v| serde_json::from_value(v.clone()).ok()))
    else {
        return;
    };
    let payload = serde_json::json!({"handoff": event.payload.get("handoff"), "event_id": event.id, "summary": summary});
    let to = waooaw_domain::Recipient::Instance(sender);
    let kind = waooaw_domain::MessageKind::Response;
    let msg = waooaw_domain::Message {
        id: crate::messages::response_id(event.tenant_id, event.id),
        parent_id: Some(event.id),
        priority: event.priority,
        ..waooaw_domain::Message::new(event.tenant_id, receiver, to, kind, "handoff.accept", payload, event.correlation_id)
    };
    if let Err(e) = crate::messages::send(shared, &msg).await {
        crate::observe::InfrastructureError { during: "handoff acceptance", error: &e }.emit();
    }
}
