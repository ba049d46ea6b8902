//! Tier 1: exact-match decision cache. moka in memory in front of the store, so hits are served
//! without I/O, a restart keeps what was learned, and processes sharing a store share entries.

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use std::sync::Arc;
use std::time::Duration;
use waooaw_domain::{Decision, TenantId};
use waooaw_store::{DynStore, StoreError};

pub struct DecisionCache {
    memory: Cache<(TenantId, String), Arc<Decision>>,
    store: DynStore,
    ttl: Duration,
}

impl DecisionCache {
    pub fn new(store: DynStore, capacity: u64, ttl: Duration) -> Self {
        Self { memory: Cache::builder().max_capacity(capacity).time_to_live(ttl).build(), store, ttl }
    }

    /// The in-memory copy only: no I/O.
    pub fn get_local(&self, tenant: TenantId, key: &str) -> Option<Arc<Decision>> {
        self.memory.get(&(tenant, key.to_owned()))
    }

    pub async fn get(&self, tenant: TenantId, key: &str) -> Result<Option<Arc<Decision>>, StoreError> {
        if let Some(hit) = self.get_local(tenant, key) {
            return Ok(Some(hit));
        }
        let mem_key = (tenant, key.to_owned());
        let Some(stored) = self.store.cache_get(tenant, key, Utc::now()).await? else { return Ok(None) };
        let stored = Arc::new(stored);
        self.memory.insert(mem_key, stored.clone());
        Ok(Some(stored))
    }

    /// Caches in memory at once. The caller writes the store copy behind (see
    /// `DecisionLog::cache_put`), so a decision does not wait on the store's writer; losing that
    /// write in a crash only costs a cache miss later.
    pub fn put_local(&self, tenant: TenantId, key: &str, decision: &Decision) {
        self.memory.insert((tenant, key.to_owned()), Arc::new(decision.clone()));
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::days(30))
    }
}
