//! Warm instances: what a wake restores (identity, context, pending count), kept in memory for
//! the instances that woke recently, so a wake of a warm instance reads nothing from the store.
//!
//! Why this is safe without coordination: every wake commit is conditional on what the wake
//! read (context version and awake/asleep status). A stale entry, e.g. after another process
//! saved or paused the instance, makes the commit come back as a conflict; the wake then drops
//! the entry and runs again from the store.

use moka::sync::Cache;
use std::sync::Arc;
use waooaw_domain::{Instance, InstanceId};

#[derive(Debug)]
pub(crate) struct WarmInstance {
    pub instance: Instance,
    /// The state saved with `instance.context_version`.
    pub state: serde_json::Value,
    /// Deferred deliveries waiting for the instance when it was loaded.
    pub pending: usize,
}

pub(crate) struct WarmInstances {
    cache: Cache<InstanceId, Arc<WarmInstance>>,
}

impl WarmInstances {
    /// `capacity` bounds the memory: idle instances fall out and cost nothing until they wake.
    pub fn new(capacity: u64) -> Self {
        Self { cache: Cache::new(capacity) }
    }

    pub fn get(&self, id: &InstanceId) -> Option<Arc<WarmInstance>> {
        self.cache.get(id)
    }

    pub fn put(&self, warm: WarmInstance) {
        self.put_arc(Arc::new(warm));
    }

    pub fn put_arc(&self, warm: Arc<WarmInstance>) {
        self.cache.insert(warm.instance.id, warm);
    }

    /// Called on every lifecycle change made here and on every lost commit.
    pub fn forget(&self, id: &InstanceId) {
        self.cache.invalidate(id);
    }
}
