//! `waooaw demo`: a demo tenant hires one agent of every kind in the catalog that has a bundled
//! fixture, and each gets a realistic document, compiled in: the very fixtures its skills are
//! tested on (`crates/agents/tests/fixtures/`), plus the demo's own playbook and objections
//! (`demo/`). Deliverables appear within seconds, offline and without an API key.

use anyhow::{Context, Result};
use serde_json::json;
use std::sync::Arc;
use waooaw_domain::{EventType, NewEvent, Personality, Tenant, TenantId};
use waooaw_runtime::Runtime;

/// (specialization, given name, role title, file name, content type, content).
pub const FIXTURES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "seo-ecommerce",
        "Sage",
        "SEO lead",
        "category-page.html",
        "text/html",
        include_str!("../../agents/tests/fixtures/html/category_bad.html"),
    ),
    (
        "brand-strategy",
        "Bree",
        "Brand manager",
        "brand-copy.md",
        "text/markdown",
        include_str!("../../agents/tests/fixtures/html/brand/copy_off_brand.md"),
    ),
    (
        "ppc-advertising",
        "Pia",
        "Paid media manager",
        "campaign-metrics.csv",
        "text/csv",
        include_str!("../../agents/tests/fixtures/csv/campaign_metrics_may2025.csv"),
    ),
    (
        "influencer-marketing",
        "Ines",
        "Creator partnerships",
        "influencers.csv",
        "text/csv",
        include_str!("../../agents/tests/fixtures/csv/influencers.csv"),
    ),
    ("lead-generation", "Leo", "Inbound qualification", "leads.csv", "text/csv", include_str!("../../agents/tests/fixtures/csv/leads.csv")),
    ("sdr-b2b-saas", "Sam", "Sales development", "leads.csv", "text/csv", include_str!("../../agents/tests/fixtures/csv/leads.csv")),
    ("account-executive", "Ava", "Account executive", "deals.csv", "text/csv", include_str!("../../agents/tests/fixtures/csv/deals.csv")),
    ("crm-management", "Cole", "CRM admin", "contacts.csv", "text/csv", include_str!("../../agents/tests/fixtures/csv/contacts.csv")),
    (
        "content-marketing-healthcare",
        "Cora",
        "Content lead",
        "blog-draft.md",
        "text/markdown",
        include_str!("../../agents/tests/fixtures/text/blog_blood_pressure_draft.md"),
    ),
    (
        "social-media-b2b",
        "Sol",
        "Social media manager",
        "linkedin-post.txt",
        "text/plain",
        include_str!("../../agents/tests/fixtures/text/linkedin_post.txt"),
    ),
    (
        "email-marketing",
        "Emma",
        "Lifecycle marketer",
        "email-campaign.html",
        "text/html",
        include_str!("../../agents/tests/fixtures/text/email_promo_spammy.html"),
    ),
    (
        "technical-support",
        "Theo",
        "Support lead",
        "tickets.json",
        "application/json",
        include_str!("../../agents/tests/fixtures/text/tickets.json"),
    ),
    (
        "customer-success",
        "Cass",
        "Customer success manager",
        "accounts.json",
        "application/json",
        include_str!("../../agents/tests/fixtures/text/accounts.json"),
    ),
    ("sales-enablement", "Ena", "Sales enablement", "objections.txt", "text/plain", include_str!("../../../demo/objections.txt")),
];

/// WowVision Prime gets the repository's vision policy, then a pull request to review.
const GUARDIAN_INPUTS: &[(&str, &str, &str)] = &[
    (".waooaw/vision.toml", "text/plain", include_str!("../../agents/tests/fixtures/text/vision.toml")),
    ("pull-request-128.json", "application/json", include_str!("../../agents/tests/fixtures/text/pull_request.json")),
];

/// Seeds the demo tenant and feeds each hired agent its fixture; prints where to look.
pub async fn seed(runtime: &Arc<Runtime>, engine: &waooaw_decisions::Engine, listen: &str) -> Result<()> {
    let tenant = Tenant {
        id: TenantId::new(),
        name: "Northfield Demo Co".into(),
        webhook_secret: format!("demo-{}", uuid::Uuid::new_v4().simple()),
        created_at: chrono::Utc::now(),
    };
    runtime.store().create_tenant(&tenant).await.context("create the demo tenant")?;
    // Playbook and battlecard passages in the tenant's memory, for Sales Enablement.
    #[derive(serde::Deserialize)]
    struct Passages {
        passage: Vec<Passage>,
    }
    #[derive(serde::Deserialize)]
    struct Passage {
        kind: String,
        source: String,
        text: String,
    }
    let passages: Passages = toml::from_str(include_str!("../../../demo/playbook.toml")).context("demo/playbook.toml")?;
    for p in passages.passage {
        engine
            .memory()
            .remember(tenant.id, None, &p.kind, &p.text, json!({"source": p.source}))
            .await
            .context("store a playbook passage")?;
    }
    let mut hired = Vec::new();
    for (spec, name, role, filename, content_type, content) in FIXTURES {
        if runtime.catalog().get(spec).is_none() {
            eprintln!("demo: {spec} is not in the catalog; skipped");
            continue;
        }
        let personality =
            Personality { name: (*name).into(), role_title: (*role).into(), industry: "outdoor retail".into(), ..Default::default() };
        let instance = runtime.create_instance(tenant.id, spec, personality).await.with_context(|| format!("hire {spec}"))?;
        let payload = json!({"filename": filename, "content_type": content_type, "size": content.len(), "content": content});
        let mut event = NewEvent::new(EventType::parse("input.received")?, "demo", tenant.id, payload);
        event.target_instance = Some(instance.id);
        runtime.publish(event).await.with_context(|| format!("feed {spec}"))?;
        hired.push((spec, instance.id));
    }
    if runtime.catalog().get("wowvision-prime").is_some() {
        let personality = Personality { name: "Vera".into(), role_title: "Vision guardian".into(), ..Default::default() };
        let guardian = runtime.create_instance(tenant.id, "wowvision-prime", personality).await.context("hire WowVision Prime")?;
        for (filename, content_type, content) in GUARDIAN_INPUTS {
            let payload = json!({"filename": filename, "content_type": content_type, "size": content.len(), "content": content});
            let mut event = NewEvent::new(EventType::parse("input.received")?, "demo", tenant.id, payload);
            event.target_instance = Some(guardian.id);
            runtime.publish(event).await.context("feed WowVision Prime")?;
        }
        hired.push((&"wowvision-prime", guardian.id));
    }
    // A task through the Marketing Coordinator: its RACI matrix gives the page audit to SEO.
    let page = FIXTURES.iter().find(|f| f.0 == "seo-ecommerce").map(|f| (f.3, f.4, f.5));
    if let Some((filename, content_type, content)) = page {
        let package = json!({"filename": format!("coordinated-{filename}"), "content_type": content_type, "content": content});
        match runtime.submit_task(tenant.id, "page.audit", package).await {
            Ok(task) => eprintln!(
                "demo: a page audit routed by the {}: http://{listen}/v1/tasks/{}?tenant_id={}",
                task.coordinator, task.id, tenant.id
            ),
            Err(e) => eprintln!("demo: the coordinated task was not routed: {e}"),
        }
    }
    eprintln!("demo: tenant \"{}\" {} hired {} agents; their deliverables:", tenant.name, tenant.id, hired.len());
    for (spec, id) in &hired {
        eprintln!("  {spec:<22} http://{listen}/v1/instances/{id}/deliverables?tenant_id={}", tenant.id);
    }
    eprintln!("demo: status page http://{listen}/ ; the API needs the admin token (see above or data/admin-token)");
    Ok(())
}
