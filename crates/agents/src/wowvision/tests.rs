use super::*;
use chrono::Utc;
use waooaw_domain::{EventType, Instance, NewEvent, Personality, Specialization, TenantId};

fn spec() -> Specialization {
    let text = include_str!("../../../../catalog/wowvision-prime.toml");
    Specialization::from_toml("wowvision-prime.toml", text, &[WORK_NAME]).unwrap()
}

fn instance(tenant: TenantId) -> Instance {
    Instance::on_trial(tenant, "wowvision-prime", Personality { name: "Vera".into(), ..Default::default() }, Utc::now(), None)
}

fn run(state: &Value, ty: &str, payload: Value) -> Result<WorkOutput, WorkError> {
    let tenant = TenantId::new();
    let spec = spec();
    let inst = instance(tenant);
    let event = NewEvent::new(EventType::parse(ty).unwrap(), "github", tenant, payload).into_event(Utc::now()).unwrap();
    let input = WakeInput {
        spec: &spec,
        instance: &inst,
        event: &event,
        state,
        pending_deliveries: 0,
        learnings: &[],
        decider: &waooaw_runtime::NoDecider,
        consult: &waooaw_runtime::NoConsult,
    };
    WatchChanges.watch(&input)
}

#[test]
fn records_watched_changes_and_reports_them_daily() {
    let out = run(&json!({}), "file.modified", json!({"path": "docs/vision.md", "commit": "9f2c1e0"})).unwrap();
    assert_eq!(out.summary, "recorded modified of watched file docs/vision.md");
    assert_eq!(out.state["recent_changes"][0]["path"], "docs/vision.md");
    let out = run(&out.state, "file.created", json!({"path": "policies/brand.md"})).unwrap();
    assert_eq!(out.state["changes_since_report"], 2);
    let out = run(&out.state, "schedule.tick", json!({})).unwrap();
    assert_eq!(out.state["daily_reports"][0]["watched_changes"], 2);
    assert_eq!(out.state["changes_since_report"], 0);
}

#[test]
fn tracks_open_pull_requests() {
    let out = run(&json!({}), "pull_request.opened", json!({"number": 42})).unwrap();
    let out = run(&out.state, "pull_request.opened", json!({"number": 7})).unwrap();
    assert_eq!(out.state["open_pull_requests"], json!([7, 42]));
    let out = run(&out.state, "pull_request.closed", json!({"number": 42})).unwrap();
    assert_eq!(out.state["open_pull_requests"], json!([7]));
}

#[test]
fn malformed_payloads_fail_permanently() {
    assert!(matches!(run(&json!({}), "file.created", json!({"file": "x"})), Err(WorkError::Permanent(_))));
    assert!(matches!(run(&json!({}), "pull_request.opened", json!({"number": "x"})), Err(WorkError::Permanent(_))));
}

#[test]
fn history_is_bounded() {
    let mut state = json!({});
    for i in 0..150 {
        state = run(&state, "file.modified", json!({"path": format!("docs/p{i}.md")})).unwrap().state;
    }
    let recent = state["recent_changes"].as_array().unwrap();
    assert_eq!(recent.len(), 100);
    assert_eq!(recent[99]["path"], "docs/p149.md");
}
