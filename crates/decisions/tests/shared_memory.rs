//! Scale-out: two processes' memory indexes over one PostgreSQL store. What one remembers, the
//! other recalls after its refresh; tenants stay apart. Skipped without PostgreSQL unless
//! `WAOOAW_REQUIRE_SERVICES=1`.

use serde_json::json;
use waooaw_decisions::{EmbedSource, HashedNgramEmbedder, IndexConfig, SemanticMemory};
use waooaw_domain::{Instance, Personality, Tenant, TenantId};

async fn open(store: &waooaw_store::DynStore) -> SemanticMemory {
    SemanticMemory::open(store.clone(), EmbedSource::Offline(HashedNgramEmbedder::new()), IndexConfig::default()).await.unwrap()
}

#[tokio::test]
async fn memories_stored_by_one_process_are_recalled_by_another() {
    let Some((store, _url)) = waooaw_testkit::pg_store("memories_stored_by_one_process_are_recalled_by_another").await else { return };
    let tenant = Tenant {
        id: TenantId::new(),
        name: "Acme SaaS".into(),
        webhook_secret: "whsec-acme-0123456789".into(),
        created_at: chrono::Utc::now(),
    };
    store.create_tenant(&tenant).await.unwrap();
    let sdr = Instance::on_trial(tenant.id, "sdr", Personality { name: "Sam".into(), ..Default::default() }, chrono::Utc::now(), None);
    store.create_instance(&sdr).await.unwrap();

    let a = open(&store).await;
    let b = open(&store).await;
    let playbook = "Objection: your price is higher than the competitor. Answer: compare total cost of ownership, \
                    including onboarding hours saved and the support plan included at no extra charge.";
    let stored = a.remember(tenant.id, None, "playbook", playbook, json!({"source": "sales-playbook-2026.md"})).await.unwrap();
    assert!(b.recall(tenant.id, None, None, "the price is higher than the competitor", 3).await.unwrap().is_empty(), "not refreshed yet");

    assert_eq!(b.refresh().await.unwrap(), 1);
    assert_eq!(b.refresh().await.unwrap(), 0, "a second refresh adds nothing");
    let hits =
        b.recall(tenant.id, Some(sdr.id), Some(&["playbook"]), "customer says the price is higher than the competitor", 3).await.unwrap();
    assert_eq!(hits.first().map(|h| h.memory.id), Some(stored.id));
    assert_eq!(hits[0].memory.metadata["source"], "sales-playbook-2026.md");

    // A third process starting now loads it at open; another tenant never sees it.
    let c = open(&store).await;
    assert_eq!(c.len(), 1);
    assert!(c.recall(TenantId::new(), None, None, playbook, 3).await.unwrap().is_empty());
}
