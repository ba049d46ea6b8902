//! WowVision Prime's review: the customer's three-layer vision policy (uploaded as a TOML file,
//! kept in the work context) checked against pull requests. Layer-1 violations go to a human
//! through the decision engine (the guardian's `change_layer1_principle` constraint escalates).

use crate::skills::policy::{self, PullRequest};
use serde_json::{Value, json};
use sha2::Digest;
use waooaw_domain::{DecisionRequest, ExternalAction, NewDeliverable, OutboxItem, Urgency, Verdict};
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

/// What to send to the customer's GitHub (when connected): one issue per distinct layer-1 or
/// layer-2 violation, keyed by its fingerprint so the same problem is never filed twice, and the
/// review as a comment on the pull request, keyed by its content so a repeat is not reposted.
fn github_outputs(
    spec: &waooaw_domain::Specialization,
    pr: &PullRequest,
    verdict: &policy::PrVerdict,
    escalation: Option<&str>,
) -> Vec<OutboxItem> {
    let mut items = Vec::new();
    for v in verdict.violations.iter().filter(|v| v.layer.number() <= 2) {
        let key = format!("vision:{}", v.fingerprint.get(..24).unwrap_or(&v.fingerprint));
        let at = v.line.map_or_else(|| format!("`{}`", v.path), |l| format!("`{}` line {l}", v.path));
        // The human answers on the escalation's own issue (one per escalation, opened by the
        // decision engine): this one is deduplicated across pull requests, the question is not.
        let answer = match (v.escalate, escalation) {
            (true, Some(id)) => format!(
                "\n\nThis is a layer-1 principle: a human decides. The question for #{} is escalation `{id}`; answer it \
                 on its \"Needs a decision\" issue or in WAOOAW.",
                pr.number
            ),
            (true, None) => "\n\nThis is a layer-1 principle: a human decides in WAOOAW.".to_owned(),
            _ => String::new(),
        };
        items.push(OutboxItem {
            key: key.clone(),
            action: ExternalAction::GithubIssue {
                title: spec.outputs.render(
                    waooaw_domain::OutputKind::ViolationIssueTitle,
                    &[("layer", &v.layer.number().to_string()), ("rule", &v.rule_id), ("path", &v.path)],
                ),
                body: format!(
                    "{at}: {}\n\n**Fix:** {}\n\nFound by WowVision Prime in #{} ({}).{answer}\n\n{}",
                    v.message,
                    v.fix,
                    pr.number,
                    pr.title,
                    waooaw_integrations_marker(&key)
                ),
                labels: vec!["waooaw".into(), "vision-policy".into(), format!("layer-{}", v.layer.number())],
            },
        });
    }
    let digest = hex::encode(sha2::Sha256::digest(verdict.comment_markdown.as_bytes()));
    let key = format!("pr:{}:{}", pr.number, digest.get(..16).unwrap_or(&digest));
    items.push(OutboxItem {
        key: key.clone(),
        action: ExternalAction::GithubComment {
            number: pr.number,
            body: format!("{}\n\n{}", verdict.comment_markdown, waooaw_integrations_marker(&key)),
        },
    });
    items
}

/// The idempotency marker (`waooaw_integrations::github::marker`, whose format the dispatcher
/// searches for; repeated here because agents do not depend on the integrations crate).
fn waooaw_integrations_marker(key: &str) -> String {
    format!("<!-- waooaw:key={key} -->")
}

/// Reviews a pull request (files with their new content) against the loaded policy: the review
/// deliverable, and what to post on GitHub.
pub(super) async fn review(input: &WakeInput<'_>, state: &Value, pr: &PullRequest) -> (NewDeliverable, Vec<OutboxItem>) {
    let Some((file, text)) = state.get("policy").and_then(|p| Some((p.get("file")?.as_str()?, p.get("text")?.as_str()?))) else {
        let d = NewDeliverable {
            kind: "input_rejected".into(),
            title: format!("PR #{}: no vision policy yet", pr.number),
            body_markdown: "# No vision policy\n\nUpload the repository's vision policy (`.waooaw/vision.toml`) first.".into(),
        };
        return (d, Vec::new());
    };
    let policy = match policy::parse_policy(file, text) {
        Ok(p) => p,
        Err(e) => {
            let d = NewDeliverable {
                kind: "input_rejected".into(),
                title: format!("Stored policy unreadable: {e}"),
                body_markdown: e.to_string(),
            };
            return (d, Vec::new());
        }
    };
    let verdict = policy::check_pull_request(&policy, pr);
    let mut body = verdict.comment_markdown.clone();
    let mut escalation = None;
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
        escalation = decision.fields.get("escalation_id").and_then(Value::as_str).map(str::to_owned);
    }
    body.push_str(&brand_terms(input, pr).await);
    let outcome = if verdict.escalate {
        "escalated"
    } else if verdict.approve {
        "approved"
    } else {
        "changes requested"
    };
    let d = NewDeliverable { kind: "pr_review".into(), title: format!("PR #{} review: {outcome}", pr.number), body_markdown: body };
    (d, github_outputs(input.spec, pr, &verdict, escalation.as_deref()))
}

/// How long the review waits for Brand Strategy.
const BRAND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);
/// Brand Strategy's schema caps the text; documentation beyond this is not sent.
const MAX_BRAND_TEXT_CHARS: usize = 400_000;

/// The pull request's documentation, checked for brand terms by the tenant's Brand Strategy
/// (consulted through the bus). Nothing is said when no Brand Strategy is hired or no
/// documentation changed.
async fn brand_terms(input: &WakeInput<'_>, pr: &PullRequest) -> String {
    let docs: Vec<(&str, &str)> = pr
        .files
        .iter()
        .filter(|f| f.status != policy::ChangeStatus::Removed && (f.path.ends_with(".md") || f.path.ends_with(".mdx")))
        .filter_map(|f| Some((f.path.as_str(), f.content.as_deref()?)))
        .collect();
    if docs.is_empty() {
        return String::new();
    }
    let text: String = docs.iter().map(|(_, c)| *c).collect::<Vec<_>>().join("\n\n").chars().take(MAX_BRAND_TEXT_CHARS).collect();
    let payload = json!({"text": text, "content_type": "text/markdown", "filename": docs[0].0.chars().take(255).collect::<String>()});
    let answer =
        input.consult(waooaw_domain::Recipient::Specialization("brand-strategy".into()), "brand.check_copy", payload, BRAND_DEADLINE).await;
    if matches!(answer, Err(waooaw_runtime::MessageError::UnknownRecipient(_))) {
        return String::new();
    }
    let files = docs.iter().map(|(p, _)| format!("`{p}`")).collect::<Vec<_>>().join(", ");
    format!("\n\n### Brand terms (consulted Brand Strategy on {files})\n\n{}", crate::consults::answer_markdown(answer))
}
