//! Conformance cases of budgets (`BudgetStore`): overrides per tenant and instance, and the
//! spend ledger's reservations, which concurrent callers can never together push past a limit.

use super::{now, setup};
use std::sync::Arc;
use waooaw_domain::{BudgetLimits, TenantId};
use waooaw_store::{DynStore, LedgerLine};

pub async fn budget_overrides_are_per_tenant_and_instance(store: DynStore) {
    let (t, i) = setup(&store, "Acme Health").await;
    let (other, _) = setup(&store, "Globex").await;
    let tenant_wide = BudgetLimits { usd_per_day: Some(5.0), ..Default::default() };
    let for_instance = BudgetLimits { tokens_per_day: Some(20_000), requests_per_minute: Some(12), ..Default::default() };
    store.set_budget_override(t.id, None, &tenant_wide, now()).await.unwrap();
    store.set_budget_override(t.id, Some(i.id), &for_instance, now()).await.unwrap();
    let got = store.budget_overrides(t.id).await.unwrap();
    assert_eq!(got, vec![(None, tenant_wide), (Some(i.id), for_instance)]);
    // Setting again replaces.
    let lower = BudgetLimits { usd_per_day: Some(1.25), ..Default::default() };
    store.set_budget_override(t.id, None, &lower, now()).await.unwrap();
    assert_eq!(store.budget_overrides(t.id).await.unwrap()[0], (None, lower));
    assert!(store.budget_overrides(other.id).await.unwrap().is_empty(), "another tenant sees none");
}

fn line(scope: &str, max_tokens: Option<i64>, max_microusd: Option<i64>) -> LedgerLine {
    LedgerLine { scope: scope.into(), period: "2026-11-25".into(), max_tokens, max_microusd }
}

pub async fn budget_reservations_never_pass_a_limit(store: DynStore) {
    let (t, i) = setup(&store, "Acme Health").await;
    let inst = format!("instance:{}", i.id);
    let lines = vec![line("tenant", None, Some(1_000_000)), line(&inst, Some(10_000), None)];
    // 4,000 tokens and $0.30 each: the instance's 10,000 tokens allow two, not three.
    assert_eq!(store.reserve_budget(t.id, &lines, 4_000, 300_000).await.unwrap(), Ok(()));
    assert_eq!(store.reserve_budget(t.id, &lines, 4_000, 300_000).await.unwrap(), Ok(()));
    assert_eq!(store.reserve_budget(t.id, &lines, 4_000, 300_000).await.unwrap(), Err(1), "the instance line refuses");
    // Settling the first at what it really cost frees the rest of its reservation.
    store.settle_budget(t.id, &lines, (4_000, 300_000), (1_500, 90_000)).await.unwrap();
    assert_eq!(store.reserve_budget(t.id, &lines, 4_000, 300_000).await.unwrap(), Ok(()));
    let rows = store.budget_ledger(t.id, &[("tenant".into(), "2026-11-25".into()), (inst.clone(), "2026-11-25".into())]).await.unwrap();
    assert_eq!((rows[0].spent_microusd, rows[0].reserved_microusd), (90_000, 600_000));
    assert_eq!((rows[1].spent_tokens, rows[1].reserved_tokens), (1_500, 8_000));
    // A refusal takes nothing from the lines before the one that refused.
    assert_eq!(store.reserve_budget(t.id, &lines, 4_000, 300_000).await.unwrap(), Err(1));
    let rows = store.budget_ledger(t.id, &[("tenant".into(), "2026-11-25".into())]).await.unwrap();
    assert_eq!(rows[0].reserved_microusd, 600_000);
    assert!(store.budget_ledger(TenantId::new(), &[("tenant".into(), "2026-11-25".into())]).await.unwrap().is_empty());
}

pub async fn concurrent_reservations_race_for_the_last_of_a_budget(store: DynStore) {
    let (t, _) = setup(&store, "Acme Health").await;
    let lines = Arc::new(vec![line("tenant", Some(10_000), None)]);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (store, lines) = (store.clone(), lines.clone());
        tasks.push(tokio::spawn(async move { store.reserve_budget(t.id, &lines, 700, 0).await.unwrap().is_ok() }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 14, "10,000 tokens hold 14 reservations of 700");
    let rows = store.budget_ledger(t.id, &[("tenant".into(), "2026-11-25".into())]).await.unwrap();
    assert_eq!(rows[0].reserved_tokens, 9_800);
}
