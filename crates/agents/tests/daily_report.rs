//! A marketplace agent's daily report: what it handled since the last report, its decisions by
//! tier with their cost, and the escalations waiting for a human.

use chrono::Utc;
use serde_json::json;
use waooaw_domain::{Activity, Decider, Decision, DecisionRequest, EventType, Instance, Method, NewEvent, Personality, TenantId};
use waooaw_runtime::{Catalog, WakeInput};

/// Answers `activity` with fixed figures, as the engine would from its decision log.
struct Figures;

#[async_trait::async_trait]
impl Decider for Figures {
    async fn make_decision(&self, _: &waooaw_domain::Specialization, _: &Instance, _: DecisionRequest) -> Decision {
        Decision::free(waooaw_domain::Verdict::Escalate, "not used here", 0.0, Method::Fallback)
    }

    async fn activity(&self, _: &Instance, _: chrono::DateTime<Utc>) -> Activity {
        Activity { by_method: vec![(Method::Rules, 41, 0.0), (Method::Cache, 9, 0.0), (Method::Llm, 2, 0.0134)], pending_escalations: 1 }
    }
}

#[tokio::test]
async fn the_daily_report_lists_inputs_decisions_by_tier_cost_and_escalations() {
    let registry = waooaw_agents::registry();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
    let catalog = Catalog::load_dir(&dir, &registry.names()).expect("catalog");
    let spec = catalog.get("account-executive").expect("account executive").clone();
    let work = registry.get(&spec.work).expect("work function").clone();
    let tenant = TenantId::new();
    let instance =
        Instance::on_trial(tenant, "account-executive", Personality { name: "Ava".into(), ..Default::default() }, Utc::now(), None);
    let state = json!({"since_report": 2, "recent": [
        {"filename": "deals-week-38.csv", "kind": "pipeline_followups", "title": "Pipeline follow-ups: deals-week-38.csv"},
        {"filename": "deals-week-39.csv", "kind": "pipeline_followups", "title": "Pipeline follow-ups: deals-week-39.csv"}]});
    let tick = NewEvent::new(EventType::parse("schedule.tick").expect("type"), "schedule", tenant, json!({}))
        .into_event(Utc::now())
        .expect("event");
    let input = WakeInput {
        spec: &spec,
        instance: &instance,
        event: &tick,
        state: &state,
        pending_deliveries: 0,
        learnings: &[],
        decider: &Figures,
        consult: &waooaw_runtime::NoConsult,
    };
    let out = work.run(&input).await.expect("report");
    let report = &out.deliverables[0];
    assert_eq!(report.kind, "daily_report");
    let md = &report.body_markdown;
    assert!(md.contains("2 input(s) handled"), "{md}");
    assert!(md.contains("deals-week-39.csv"), "{md}");
    assert!(md.contains("| rules | 41 | 0.0000 |") && md.contains("| llm | 2 | 0.0134 |"), "{md}");
    assert!(md.contains("| total | 52 | 0.0134 |"), "{md}");
    assert!(md.contains("1 escalation(s) wait for a human"), "{md}");
    assert_eq!(out.state["since_report"], 0, "the count restarts after a report");
    assert!(out.outbox.is_empty(), "not posted to GitHub unless the spec asks");

    // With `report_to_github`, the same report also goes to the outbox as a GitHub issue, keyed
    // by instance and day so a second tick that day does not post it twice.
    let mut posting = spec.as_ref().clone();
    posting.settings["report_to_github"] = json!(true);
    let input = WakeInput { spec: &posting, ..input };
    let out = work.run(&input).await.expect("report");
    assert_eq!(out.outbox.len(), 1);
    let item = &out.outbox[0];
    assert_eq!(item.key, format!("report:{}:{}", instance.id, tick.timestamp.date_naive()));
    match &item.action {
        waooaw_domain::ExternalAction::GithubIssue { title, body, labels } => {
            assert!(title.starts_with("Daily report: Ava (Account Executive)"), "{title}");
            assert!(body.contains("| total | 52 | 0.0134 |") && body.contains(&format!("<!-- waooaw:key={} -->", item.key)));
            assert_eq!(labels, &["waooaw", "daily-report"]);
        }
        other => panic!("{other:?}"),
    }
}
