//! The repository's catalog: every spec file loads against the real work functions, the copy
//! compiled into the binary matches the folder, and every marketplace agent is sold with a trial.

use std::path::Path;
use waooaw_domain::Vertical;
use waooaw_runtime::Catalog;

#[test]
fn the_repository_catalog_loads_and_matches_the_embedded_copy() {
    let work = waooaw_agents::registry();
    let names = work.names();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let from_dir = Catalog::load_dir(&dir, &names).expect("catalog/ loads");
    let embedded = Catalog::embedded(&names).expect("embedded catalog loads");
    let ids = |c: &Catalog| c.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&from_dir), ids(&embedded));

    let wow = from_dir.get("wowvision-prime").expect("WowVision Prime is in the catalog");
    assert_eq!(wow.spec_type.to_string(), "guardian");
    assert!(wow.schedule.is_some());
    let coordinators: Vec<_> = from_dir.iter().filter(|s| s.is_coordinator()).map(|s| s.id.as_str()).collect();
    assert_eq!(coordinators, ["general-coordinator", "marketing-coordinator", "sales-coordinator", "support-coordinator"]);
    let marketplace: Vec<_> = from_dir.iter().filter(|s| s.marketplace.vertical != Vertical::Platform && !s.is_coordinator()).collect();
    assert!(marketplace.len() >= 13, "{} marketplace agents", marketplace.len());
    for s in &from_dir.iter().filter(|s| !s.is_coordinator()).collect::<Vec<_>>() {
        assert!(!s.constraints.is_empty() && s.constraints.iter().all(|c| !c.reason.is_empty()), "{}: constraints with reasons", s.id);
        assert!(s.schedule.is_some(), "{}: a daily report tick", s.id);
    }
    for s in marketplace {
        assert_eq!(s.marketplace.trial_days, 7, "{}", s.id);
        assert!(s.marketplace.price_usd_per_month > 0.0 && !s.marketplace.tagline.is_empty(), "{}", s.id);
        assert!(s.subscriptions.iter().any(|p| p.matches("input.received")), "{} wakes on uploads", s.id);
    }
}
