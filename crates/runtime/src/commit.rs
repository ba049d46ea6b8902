//! Group commit for wakes: wakes finishing at the same time save in one store transaction, so
//! the store's single write path carries many wakes per round trip to it.

use crate::observe::{InfrastructureError, InternalEvent};
use tokio::sync::{mpsc, oneshot};
use waooaw_store::{DynStore, WakeCommit, WakeResult};

const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<WakeResult, String>>;

#[derive(Clone)]
pub(crate) struct Committer {
    tx: mpsc::Sender<(WakeCommit, Reply)>,
}

#[derive(Debug, thiserror::Error)]
#[error("saving the wake failed: {0}")]
pub(crate) struct CommitError(pub String);

impl Committer {
    pub fn start(store: DynStore) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        (Self { tx }, tokio::spawn(writer(rx, store)))
    }

    pub async fn commit(&self, commit: WakeCommit) -> Result<WakeResult, CommitError> {
        let (reply, rx) = oneshot::channel();
        let closed = || CommitError("the runtime is shutting down".into());
        self.tx.send((commit, reply)).await.map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?.map_err(CommitError)
    }
}

async fn writer(mut rx: mpsc::Receiver<(WakeCommit, Reply)>, store: DynStore) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let commits: Vec<WakeCommit> = batch.iter().map(|(c, _)| c.clone()).collect();
        match store.commit_wakes(&commits).await {
            Ok(results) if results.len() == batch.len() => {
                for ((_, reply), r) in batch.drain(..).zip(results) {
                    let _ = reply.send(Ok(r));
                }
            }
            Ok(results) => {
                let msg = format!("store returned {} results for {} commits", results.len(), batch.len());
                InfrastructureError { during: "commit wakes", error: &msg }.emit();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(msg.clone()));
                }
            }
            Err(e) => {
                InfrastructureError { during: "commit wakes", error: &e }.emit();
                let msg = e.to_string();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(msg.clone()));
                }
            }
        }
    }
}
