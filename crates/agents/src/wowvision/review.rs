//! WowVision Prime's review: the customer's three-layer vision policy (uploaded as a TOML file,
//! kept in the work context) checked against pull requests. Layer-1 violations go to a human
//! through the decision engine (the guardian's `change_layer1_principle` constraint escalates).

use crate::skills::policy::{self, PullRequest};
use serde_json::{Value, json};
use waooaw_domain::{DecisionRequest, NewDeliverable, Urgency, Verdict};
use waooaw_runtime::WakeInput;

/// An uploaded policy file: parsed (so errors name the line), then kept as text in the state.
pub(super) fn load_policy(state: &mut Value, filename: &str, text: &str) -> NewDeliverable {
    match policy::parse_policy(filename, text) {
        Ok(_) => {
            state["policy"] = json!({"file": filename, "text": text});
            NewDeliverable {
                kind: "policy_loaded".into(),
                title: format!("Vision policy loaded: {filename}"),
                body_markdown: format!("# Vision policy loaded\n\n`{filename}` is now the policy every pull request is checked against."),
            }
        }
        Err(e) => NewDeliverable {
            kind: "input_rejected".into(),
            title: format!("Could not load {filename}"),
            body_markdown: format!("# Could not load `{filename}`\n\n{e}\n\nThe previous policy, if any, stays in force."),
        },
    }
}

/// Reviews a pull request (files with their new content) against the loaded policy.
pub(super) async fn review(input: &WakeInput<'_>, state: &Value, pr: &PullRequest) -> NewDeliverable {
    let Some((file, text)) = state.get("policy").and_then(|p| Some((p.get("file")?.as_str()?, p.get("text")?.as_str()?))) else {
        return NewDeliverable {
            kind: "input_rejected".into(),
            title: format!("PR #{}: no vision policy yet", pr.number),
            body_markdown: "# No vision policy\n\nUpload the repository's vision policy (`.waooaw/vision.toml`) first.".into(),
        };
    };
    let policy = match policy::parse_policy(file, text) {
        Ok(p) => p,
        Err(e) => {
            return NewDeliverable {
                kind: "input_rejected".into(),
                title: format!("Stored policy unreadable: {e}"),
                body_markdown: e.to_string(),
            };
        }
    };
    let verdict = policy::check_pull_request(&policy, pr);
    let mut body = verdict.comment_markdown.clone();
    if verdict.escalate {
        let request = DecisionRequest {
            tenant_id: input.instance.tenant_id,
            instance_id: input.instance.id,
            request_type: "vision.layer1".into(),
            context: json!({"action": "change_layer1_principle", "pull_request": pr.number, "title": pr.title,
                "violations": verdict.violations.iter().filter(|v| v.escalate).map(|v| v.message.clone()).collect::<Vec<_>>()}),
            urgency: Urgency::High,
        };
        let decision = input.decider.make_decision(input.spec, input.instance, request).await;
        let who = if decision.verdict == Verdict::Escalate { "sent to a human" } else { "decided" };
        body.push_str(&format!("\n\n**Layer 1:** {who}: {}\n", decision.reason));
    }
    let outcome = if verdict.escalate {
        "escalated"
    } else if verdict.approve {
        "approved"
    } else {
        "changes requested"
    };
    NewDeliverable { kind: "pr_review".into(), title: format!("PR #{} review: {outcome}", pr.number), body_markdown: body }
}
