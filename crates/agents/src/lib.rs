//! Agents and their skills: the work functions specializations name in their spec files.

pub mod consults;
pub mod drafts;
pub mod marketplace;
pub mod skill_agent;
pub mod skills;
pub mod wowvision;

use std::sync::Arc;
use waooaw_runtime::WorkRegistry;

/// Every work function this build knows, by the name spec files use.
pub fn registry() -> WorkRegistry {
    let mut r = WorkRegistry::default();
    r.register(wowvision::WORK_NAME, Arc::new(wowvision::WatchChanges));
    marketplace::register(&mut r);
    r.register(waooaw_runtime::tasks::COORDINATOR_WORK, Arc::new(waooaw_runtime::tasks::CoordinatorWork));
    r
}
