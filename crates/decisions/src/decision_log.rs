//! The decision log: every decision is stored with its method, cost, tokens, duration and
//! citations. Written by a background task so that a cached or rule decision (microseconds)
//! does not wait on a store write; `flush` waits for everything recorded so far.

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use waooaw_domain::{Decision, DecisionRecord, DecisionRequest, Specialization};
use waooaw_store::DynStore;

enum Entry {
    Record(Box<DecisionRecord>),
    Flush(oneshot::Sender<()>),
}

pub struct DecisionLog {
    tx: mpsc::UnboundedSender<Entry>,
}

impl DecisionLog {
    pub fn start(store: DynStore) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(rx, store));
        Self { tx }
    }

    pub fn record(&self, spec: &Specialization, request: &DecisionRequest, decision: &Decision) {
        let record = DecisionRecord {
            id: uuid::Uuid::now_v7(),
            tenant_id: request.tenant_id,
            instance_id: request.instance_id,
            specialization_id: spec.id.clone(),
            request_type: request.request_type.clone(),
            context: request.context.clone(),
            decision: decision.clone(),
            created_at: Utc::now(),
        };
        let _ = self.tx.send(Entry::Record(Box::new(record)));
    }

    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Entry::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn writer(mut rx: mpsc::UnboundedReceiver<Entry>, store: DynStore) {
    let mut batch = Vec::with_capacity(256);
    while rx.recv_many(&mut batch, 256).await > 0 {
        for entry in batch.drain(..) {
            match entry {
                Entry::Record(r) => {
                    if let Err(e) = store.insert_decision(&r).await {
                        tracing::error!(error = %e, decision_id = %r.id, "could not store a decision in the decision log");
                        metrics::counter!("waooaw_decision_log_errors_total").increment(1);
                    }
                }
                Entry::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }
}
