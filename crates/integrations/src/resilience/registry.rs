//! One breaker per outside dependency, shared by every client of it in the process and listed
//! for `/readyz`. Keyed by a dependency name: `llm:openai/gpt-4o-mini@api.openai.com`,
//! `embeddings:text-embedding-3-small@api.openai.com`, and for other clients e.g. `github`, `redis`.

use super::breaker::{BreakerSnapshot, CircuitBreaker};
use super::policy::BreakerPolicy;
use parking_lot::RwLock;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Whether an open breaker makes the process unready. An LLM is not critical: the decision
/// engine falls back to rules and humans without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    Critical,
    Degradable,
}

struct Entry {
    breaker: Arc<CircuitBreaker>,
    criticality: Criticality,
}

/// Cheap to clone; clones share the breakers.
#[derive(Clone, Default)]
pub struct BreakerRegistry {
    breakers: Arc<RwLock<BTreeMap<String, Entry>>>,
}

/// A breaker as `/readyz` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerReport {
    #[serde(flatten)]
    pub snapshot: BreakerSnapshot,
    pub criticality: Criticality,
}

impl BreakerRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The breaker of `dependency`, created with `policy` on first use. A second caller gets
    /// the same breaker (and its first policy): one dependency, one view of its health.
    pub fn breaker(&self, dependency: &str, policy: BreakerPolicy, criticality: Criticality) -> Arc<CircuitBreaker> {
        if let Some(entry) = self.breakers.read().get(dependency) {
            return entry.breaker.clone();
        }
        let mut breakers = self.breakers.write();
        breakers
            .entry(dependency.to_owned())
            .or_insert_with(|| Entry { breaker: Arc::new(CircuitBreaker::new(dependency, policy)), criticality })
            .breaker
            .clone()
    }

    pub fn get(&self, dependency: &str) -> Option<Arc<CircuitBreaker>> {
        self.breakers.read().get(dependency).map(|e| e.breaker.clone())
    }

    /// Every breaker, by dependency name.
    pub fn report(&self) -> Vec<BreakerReport> {
        let entries: Vec<(Arc<CircuitBreaker>, Criticality)> =
            self.breakers.read().values().map(|e| (e.breaker.clone(), e.criticality)).collect();
        entries.into_iter().map(|(b, criticality)| BreakerReport { snapshot: b.snapshot(), criticality }).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.breakers.read().is_empty()
    }
}

impl std::fmt::Debug for BreakerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.breakers.read().keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::BreakerState;

    #[test]
    fn one_breaker_per_dependency_listed_in_order() {
        let registry = BreakerRegistry::new();
        let strict = BreakerPolicy::new(std::time::Duration::from_secs(1), 1, None, 1, std::time::Duration::from_secs(60), 1).unwrap();
        let a = registry.breaker("llm:b", strict, Criticality::Degradable);
        let again = registry.breaker("llm:b", BreakerPolicy::default(), Criticality::Critical);
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(again.policy(), &strict, "the first policy stays");
        registry.breaker("github", BreakerPolicy::default(), Criticality::Critical);
        a.allow().unwrap().failure();
        let report = registry.report();
        let names: Vec<_> = report.iter().map(|r| (r.snapshot.dependency.as_str(), r.snapshot.state, r.criticality)).collect();
        assert_eq!(
            names,
            [("github", BreakerState::Closed, Criticality::Critical), ("llm:b", BreakerState::Open, Criticality::Degradable)]
        );
        let json = serde_json::to_value(&report[1]).unwrap();
        assert_eq!(json["state"], "open");
        assert_eq!(json["criticality"], "degradable");
        assert!(json["probes_in_ms"].as_u64().unwrap() > 50_000);
    }
}
