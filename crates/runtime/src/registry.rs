//! The routing index: which instances subscribe to what. Holds a few dozen bytes per instance
//! and no task, so an idle instance costs almost nothing.

use crate::catalog::Catalog;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use waooaw_domain::{Event, InstanceId, InstanceStatus, Specialization, SubscriptionIndex, TenantId};
use waooaw_store::InstanceRoute;

#[derive(Clone)]
pub(crate) struct Route {
    pub tenant_id: TenantId,
    pub spec: Arc<Specialization>,
    pub status: InstanceStatus,
}

#[derive(Default)]
struct Inner {
    index: SubscriptionIndex<InstanceId>,
    routes: HashMap<InstanceId, Route>,
    /// Each tenant's instances, for picking a handoff's recipient without a scan.
    by_tenant: HashMap<TenantId, Vec<InstanceId>>,
    /// When each tenant's routes were last read from the store (scale-out mode only).
    tenant_loaded: HashMap<TenantId, Instant>,
}

impl Inner {
    fn remove(&mut self, id: InstanceId) {
        let Some(old) = self.routes.remove(&id) else { return };
        self.index.remove(old.tenant_id, id, &old.spec.subscriptions);
        if let Some(ids) = self.by_tenant.get_mut(&old.tenant_id) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_tenant.remove(&old.tenant_id);
            }
        }
    }
}

pub(crate) struct Registry {
    inner: RwLock<Inner>,
    catalog: Arc<Catalog>,
    /// In scale-out mode other processes create and change instances; a tenant's routes older
    /// than this are re-read when one of its events arrives. `None` in single-process mode.
    pub refresh_after: Option<Duration>,
}

impl Registry {
    pub fn new(catalog: Arc<Catalog>, refresh_after: Option<Duration>) -> Self {
        Self { inner: RwLock::new(Inner::default()), catalog, refresh_after }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the index half-updated in a way that
        // matters more than stopping routing altogether, so recover the guard.
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or updates an instance; retired instances leave the index. Routes naming a
    /// specialization missing from the catalog are ignored (and reported by the caller).
    pub fn upsert(&self, route: &InstanceRoute) -> bool {
        let Some(spec) = self.catalog.get(&route.specialization_id).cloned() else { return false };
        let mut inner = self.write();
        inner.remove(route.id);
        if route.status != InstanceStatus::Retired {
            inner.index.insert(route.tenant_id, route.id, &spec.subscriptions);
            inner.routes.insert(route.id, Route { tenant_id: route.tenant_id, spec, status: route.status });
            inner.by_tenant.entry(route.tenant_id).or_default().push(route.id);
        }
        true
    }

    pub fn replace_tenant(&self, tenant: TenantId, routes: &[InstanceRoute]) {
        let stale: Vec<InstanceId> = {
            let inner = self.read();
            inner.routes.iter().filter(|(_, r)| r.tenant_id == tenant).map(|(id, _)| *id).collect()
        };
        {
            let mut inner = self.write();
            for id in stale {
                inner.remove(id);
            }
            inner.tenant_loaded.insert(tenant, Instant::now());
        }
        for r in routes {
            self.upsert(r);
        }
    }

    pub fn is_stale(&self, tenant: TenantId) -> bool {
        let Some(after) = self.refresh_after else { return false };
        self.read().tenant_loaded.get(&tenant).is_none_or(|t| t.elapsed() > after)
    }

    /// The instances an event concerns: subscribed by pattern and passing the should-wake filter.
    pub fn route(&self, event: &Event) -> Vec<(InstanceId, Arc<Specialization>)> {
        let inner = self.read();
        inner
            .index
            .matches(event.tenant_id, event.event_type.as_str())
            .into_iter()
            .filter_map(|id| inner.routes.get(&id).map(|r| (id, r.spec.clone())))
            .filter(|(_, spec)| spec.wake_filter.should_wake(&event.payload))
            .collect()
    }

    /// A tenant's instances of a specialization (not retired), with their status.
    pub fn of_specialization(&self, tenant: TenantId, spec_id: &str) -> Vec<(InstanceId, InstanceStatus)> {
        let inner = self.read();
        let ids = inner.by_tenant.get(&tenant).map_or(&[][..], Vec::as_slice);
        ids.iter().filter_map(|id| inner.routes.get(id).filter(|r| r.spec.id == spec_id).map(|r| (*id, r.status))).collect()
    }

    /// Awake instances of a specialization, for its schedule.
    pub fn awake_of(&self, spec_id: &str) -> Vec<(InstanceId, TenantId)> {
        self.read().routes.iter().filter(|(_, r)| r.spec.id == spec_id && r.status.is_awake()).map(|(id, r)| (*id, r.tenant_id)).collect()
    }

    pub fn len(&self) -> usize {
        self.read().routes.len()
    }
}
