//! Routing and per-instance queues. A bus delivery is routed to the instances it concerns; each
//! instance with work has one short-lived task that drains its queue and exits when empty, so
//! wakes of one instance never overlap and idle instances hold no task.

use crate::observe::{InfrastructureError, InternalEvent};
use crate::runtime::Shared;
use crate::wake::{WakeOutcome, wake};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use waooaw_bus::Delivery;
use waooaw_domain::{Event, EventId, InstanceId};

/// The bus delivery an event came in, finished when every instance it was routed to is.
struct Tracker {
    event_id: EventId,
    remaining: AtomicUsize,
    failed: AtomicBool,
    delivery: Mutex<Option<Delivery>>,
}

struct Job {
    event: Arc<Event>,
    tracker: Option<Arc<Tracker>>,
}

pub(crate) struct Dispatcher {
    shared: Arc<Shared>,
    queues: Mutex<HashMap<InstanceId, VecDeque<Job>>>,
    finished: mpsc::UnboundedSender<(EventId, Delivery)>,
    in_flight: AtomicUsize,
}

impl Dispatcher {
    pub fn new(shared: Arc<Shared>) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let (finished, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(finisher(rx, shared.clone()));
        (Arc::new(Self { shared, queues: Mutex::new(HashMap::new()), finished, in_flight: AtomicUsize::new(0) }), task)
    }

    /// Wakes queued or running.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Routes one bus delivery.
    pub async fn handle(self: &Arc<Self>, delivery: Delivery) {
        let event = Arc::new(delivery.message.event.clone());
        if self.shared.registry.is_stale(event.tenant_id) {
            match self.shared.store.list_instances(event.tenant_id).await {
                Ok(list) => {
                    let routes: Vec<_> = list.iter().map(crate::runtime::route_of).collect();
                    self.shared.registry.replace_tenant(event.tenant_id, &routes);
                }
                Err(e) => InfrastructureError { during: "refresh routes", error: &e }.emit(),
            }
        }
        let targets: Vec<InstanceId> = match delivery.message.only_instance.or(event.target_instance) {
            Some(one) => vec![one],
            None => self.shared.registry.route(&event).into_iter().map(|(id, _)| id).collect(),
        };
        if targets.is_empty() {
            let _ = self.finished.send((event.id, delivery));
            return;
        }
        let tracker = Arc::new(Tracker {
            event_id: event.id,
            remaining: AtomicUsize::new(targets.len()),
            failed: AtomicBool::new(false),
            delivery: Mutex::new(Some(delivery)),
        });
        for id in targets {
            self.enqueue(id, Job { event: event.clone(), tracker: Some(tracker.clone()) });
        }
    }

    /// Queues events for one instance outside any bus delivery (a resume's deferred events).
    pub fn enqueue_direct(self: &Arc<Self>, instance: InstanceId, events: Vec<Event>) {
        for e in events {
            self.enqueue(instance, Job { event: Arc::new(e), tracker: None });
        }
    }

    fn enqueue(self: &Arc<Self>, instance: InstanceId, job: Job) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(q) = queues.get_mut(&instance) {
            q.push_back(job);
            return;
        }
        queues.insert(instance, VecDeque::new());
        drop(queues);
        let me = self.clone();
        tokio::spawn(async move { me.drain(instance, job).await });
    }

    async fn drain(self: Arc<Self>, instance: InstanceId, first: Job) {
        let _slot = self.shared.wake_slots.take().await;
        let mut job = first;
        loop {
            let outcome = wake(&self.shared, instance, &job.event).await;
            if let Some(t) = job.tracker.take() {
                self.finish_one(&t, &outcome);
            }
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            match queues.get_mut(&instance).and_then(VecDeque::pop_front) {
                Some(next) => job = next,
                None => {
                    queues.remove(&instance);
                    return;
                }
            }
        }
    }

    fn finish_one(&self, tracker: &Arc<Tracker>, outcome: &WakeOutcome) {
        if let WakeOutcome::Failed(e) = outcome {
            InfrastructureError { during: "wake", error: e }.emit();
            tracker.failed.store(true, Ordering::Release);
        }
        if tracker.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let Some(delivery) = tracker.delivery.lock().unwrap_or_else(|e| e.into_inner()).take() else { return };
        if tracker.failed.load(Ordering::Acquire) {
            // Hand the delivery back after a pause so a failing store is not hammered; instances
            // that did finish skip the repeat (their delivery rows are done).
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                drop(delivery);
            });
        } else {
            let _ = self.finished.send((tracker.event_id, delivery));
        }
    }
}

/// How long the finisher gathers finished events before marking them, and the most it marks in
/// one transaction. Why wait: a mark is a job on the event log's writer thread, and every job
/// queued there delays the next ingest insert behind it; nothing waits on a mark (an unmarked
/// event is only re-published by recovery after a minute, and handled once). Gathered for 20 ms,
/// the marks are at most 50 transactions a second instead of hundreds (measured on the 2-core machine:
/// `bench wake` at 10,000/s p99 10-14 ms -> 6.6-10 ms, accepted events/s 59-71k -> 58-82k;
/// `bench handoff` p99 at 1,000/s 24 -> 12 ms).
const MARK_GATHER: Duration = Duration::from_millis(20);
const MAX_MARKS: usize = 4096;

/// Marks finished events dispatched in batches, then acknowledges their bus deliveries.
async fn finisher(mut rx: mpsc::UnboundedReceiver<(EventId, Delivery)>, shared: Arc<Shared>) {
    let mut batch = Vec::with_capacity(MAX_MARKS);
    while rx.recv_many(&mut batch, MAX_MARKS).await > 0 {
        tokio::time::sleep(MARK_GATHER).await;
        while batch.len() < MAX_MARKS
            && let Ok(finished) = rx.try_recv()
        {
            batch.push(finished);
        }
        let ids: Vec<EventId> = batch.iter().map(|(id, _)| *id).collect();
        match shared.store.mark_dispatched(&ids).await {
            Ok(()) => {
                let acks = batch.drain(..).map(|(_, d)| d.ack());
                for r in futures::future::join_all(acks).await {
                    if let Err(e) = r {
                        InfrastructureError { during: "bus ack", error: &e }.emit();
                    }
                }
            }
            Err(e) => {
                InfrastructureError { during: "mark dispatched", error: &e }.emit();
                // Dropping unacknowledged hands the deliveries back for another try.
                batch.clear();
            }
        }
    }
}
