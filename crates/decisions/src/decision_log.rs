//! The decision log: every decision is stored with its method, cost, tokens, duration and
//! citations. Written by a background task, with the store copies of cache entries, so that a
//! decision (microseconds for cache and rules) does not wait on a store write; `flush` waits for
//! everything recorded so far.

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use waooaw_domain::{Decision, DecisionRecord, DecisionRequest, Specialization, TenantId};
use waooaw_store::DynStore;

enum Entry {
    Record(Box<DecisionRecord>),
    CachePut(Box<CacheWrite>),
    Flush(oneshot::Sender<()>),
}

struct CacheWrite {
    tenant: TenantId,
    key: String,
    spec_id: String,
    spec_version: String,
    decision: Decision,
    expires_at: DateTime<Utc>,
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

    /// Writes a cache entry to the store behind the caller, in order with the log.
    pub fn cache_put(&self, tenant: TenantId, key: &str, spec: &Specialization, decision: &Decision, expires_at: DateTime<Utc>) {
        let write = CacheWrite {
            tenant,
            key: key.to_owned(),
            spec_id: spec.id.clone(),
            spec_version: spec.version.clone(),
            decision: decision.clone(),
            expires_at,
        };
        let _ = self.tx.send(Entry::CachePut(Box::new(write)));
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
                Entry::CachePut(w) => {
                    if let Err(e) = store.cache_put(w.tenant, &w.key, &w.spec_id, &w.spec_version, &w.decision, w.expires_at).await {
                        tracing::warn!(tenant_id = %w.tenant, error = %e, "could not store a cached decision");
                        metrics::counter!("waooaw_decision_cache_write_errors_total").increment(1);
                    }
                }
                Entry::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }
}
