//! Properties of subscription matching: the index agrees with matching every pattern one by
//! one, and never returns another tenant's subscriber.

use proptest::prelude::*;
use std::collections::BTreeSet;
use waooaw_domain::{Pattern, SubscriptionIndex, TenantId};

fn segment() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["file", "pull_request", "issue", "created", "opened", "x", "a1", "sched_tick"]).prop_map(str::to_owned)
}

fn event_type() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 2..5).prop_map(|s| s.join("."))
}

fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("*".to_owned()),
        3 => prop::collection::vec(segment(), 1..3).prop_map(|s| format!("{}.*", s.join("."))),
        3 => event_type(),
    ]
}

proptest! {
    #[test]
    fn index_agrees_with_linear_matching(
        subs in prop::collection::vec((0usize..3, prop::collection::vec(pattern(), 1..4)), 1..40),
        probes in prop::collection::vec((0usize..3, event_type()), 1..20),
    ) {
        let tenants = [TenantId::new(), TenantId::new(), TenantId::new()];
        let mut index = SubscriptionIndex::default();
        let parsed: Vec<(usize, Vec<Pattern>)> = subs
            .iter()
            .map(|(t, ps)| (*t, ps.iter().map(|p| Pattern::parse(p).expect("generated patterns are valid")).collect()))
            .collect();
        for (key, (t, ps)) in parsed.iter().enumerate() {
            index.insert(tenants[*t], key, ps);
        }
        for (t, ty) in &probes {
            let expected: BTreeSet<usize> = parsed
                .iter()
                .enumerate()
                .filter(|(_, (pt, ps))| pt == t && ps.iter().any(|p| p.matches(ty)))
                .map(|(k, _)| k)
                .collect();
            let got: BTreeSet<usize> = index.matches(tenants[*t], ty).into_iter().collect();
            prop_assert_eq!(got, expected, "type {}", ty);
        }
        // Removing every subscriber empties the index.
        for (key, (t, ps)) in parsed.iter().enumerate() {
            index.remove(tenants[*t], key, ps);
        }
        for (t, ty) in &probes {
            prop_assert!(index.matches(tenants[*t], ty).is_empty());
        }
    }

    #[test]
    fn prefix_patterns_match_exactly_the_types_below_them(prefix in prop::collection::vec(segment(), 1..3), ty in event_type()) {
        let p = Pattern::parse(&format!("{}.*", prefix.join("."))).expect("valid");
        let below = ty.starts_with(&format!("{}.", prefix.join(".")));
        prop_assert_eq!(p.matches(&ty), below);
    }

    #[test]
    fn parsing_never_panics(s in "\\PC{0,40}") {
        let _ = Pattern::parse(&s);
        let _ = waooaw_domain::EventType::parse(&s);
    }
}
