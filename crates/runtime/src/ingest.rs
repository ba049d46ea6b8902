//! Ingestion with group commit: concurrent publishers' events are stored in one transaction,
//! then published on the bus, then acknowledged. One writer task keeps the store's write path
//! sequential and batches grow with load, which is what makes durable ingestion fast.

use crate::observe::{EventsAccepted, InfrastructureError, InternalEvent};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use waooaw_bus::{BusMessage, DynBus};
use waooaw_domain::Event;
use waooaw_store::{DynStore, StoreError};

const MAX_BATCH: usize = 2048;

struct Pending {
    event: Event,
    /// False: stored as already dispatched, not published (an answer its asker waits for).
    deliver: bool,
    reply: oneshot::Sender<Result<(), String>>,
}

#[derive(Clone)]
pub(crate) struct Ingestor {
    tx: mpsc::Sender<Pending>,
}

impl Ingestor {
    pub fn start(store: DynStore, bus: DynBus) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let task = tokio::spawn(writer(rx, store, bus));
        (Self { tx }, task)
    }

    /// Returns once the event is durably stored (and handed to the bus).
    pub async fn submit(&self, event: Event) -> Result<(), IngestError> {
        self.submit_as(event, true).await
    }

    /// As `submit`; `deliver: false` stores the event as dispatched without publishing it.
    pub async fn submit_as(&self, event: Event, deliver: bool) -> Result<(), IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Pending { event, deliver, reply }).await.map_err(|_| IngestError::ShuttingDown)?;
        rx.await.map_err(|_| IngestError::ShuttingDown)?.map_err(IngestError::Store)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the runtime is shutting down")]
    ShuttingDown,
    #[error("event not stored: {0}")]
    Store(String),
}

async fn writer(mut rx: mpsc::Receiver<Pending>, store: DynStore, bus: DynBus) {
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let events: Vec<Event> = batch.iter().map(|p| p.event.clone()).collect();
        let started = Instant::now();
        let mut stored: Result<(), StoreError> = store.insert_events(&events).await;
        let kept: Vec<waooaw_domain::EventId> = batch.iter().filter(|p| !p.deliver).map(|p| p.event.id).collect();
        if stored.is_ok() && !kept.is_empty() {
            stored = store.mark_dispatched(&kept).await;
        }
        match stored {
            Ok(()) => {
                EventsAccepted { count: events.len(), store_duration: started.elapsed() }.emit();
                for e in &events {
                    crate::trace::event_accepted(e);
                }
                // Stored is acknowledged: a publish that fails here is recovered from the store
                // by the recovery sweep, so its error is reported but not returned.
                let publishes = events.into_iter().zip(batch.iter().map(|p| p.deliver)).filter(|(_, d)| *d).map(|(event, _)| {
                    let bus = bus.clone();
                    async move { bus.publish(&BusMessage { event, only_instance: None }).await }
                });
                for r in futures::future::join_all(publishes).await {
                    if let Err(e) = r {
                        InfrastructureError { during: "bus publish", error: &e }.emit();
                    }
                }
                for p in batch.drain(..) {
                    let _ = p.reply.send(Ok(()));
                }
            }
            Err(e) => {
                InfrastructureError { during: "store events", error: &e }.emit();
                let msg = e.to_string();
                for p in batch.drain(..) {
                    let _ = p.reply.send(Err(msg.clone()));
                }
            }
        }
    }
}
