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
        // Split rather than clone: a commit carries the new context state and deliverables.
        let (commits, replies): (Vec<WakeCommit>, Vec<Reply>) = batch.drain(..).unzip();
        let outcome = match store.commit_wakes(&commits).await {
            Ok(results) if results.len() == replies.len() => Ok(results),
            Ok(results) => Err(format!("store returned {} results for {} commits", results.len(), replies.len())),
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(results) => {
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(r));
                }
            }
            Err(msg) => {
                InfrastructureError { during: "commit wakes", error: &msg }.emit();
                for reply in replies {
                    let _ = reply.send(Err(msg.clone()));
                }
            }
        }
    }
}
