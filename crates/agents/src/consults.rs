//! Agents asking each other: a marketplace agent consults the agents its spec names before it
//! delivers (`[[settings.consult]]`: `to` a specialization, `action`, optional `deadline_ms`),
//! and answers the requests its spec accepts (`[messages."<action>"]`) with an [`AnswerFn`].
//! Answers and refusals are folded into the deliverable, so the customer sees who was asked
//! and what they said; an agent that is not hired or does not answer in time is named, not hidden.

use crate::skill_agent::Document;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use waooaw_domain::{DecisionRequest, Message, Recipient, Reply, Urgency, Verdict};
use waooaw_runtime::{MessageError, WakeInput};

/// Answers one request action: the payload (already checked against the spec's schema) and
/// the answering spec's `[settings]`; the result carries `summary` (one line) and `markdown`.
pub type AnswerFn = fn(&Value, &Value) -> Result<Value, String>;

const DEFAULT_DEADLINE_MS: u64 = 5_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsultSpec {
    to: String,
    action: String,
    deadline_ms: Option<u64>,
}

/// Runs the consultations the spec names for this document, all at once; returns the
/// deliverable's "Consulted" section (empty when the spec names none).
pub(crate) async fn consult_for(input: &WakeInput<'_>, doc: &Document<'_>) -> String {
    let Some(list) = input.spec.settings.get("consult") else { return String::new() };
    let specs: Vec<ConsultSpec> = match serde_json::from_value(list.clone()) {
        Ok(s) => s,
        Err(e) => return format!("\n\n## Consulted\n\nThe spec's `consult` settings are unreadable: {e}\n"),
    };
    if specs.is_empty() {
        return String::new();
    }
    let payload = json!({"text": doc.content, "filename": doc.filename, "content_type": doc.content_type});
    let asks = specs.iter().map(|c| {
        let deadline = Duration::from_millis(c.deadline_ms.unwrap_or(DEFAULT_DEADLINE_MS));
        input.consult(Recipient::Specialization(c.to.clone()), &c.action, payload.clone(), deadline)
    });
    let answers = futures::future::join_all(asks).await;
    let mut md = String::from("\n\n## Consulted\n");
    for (c, answer) in specs.iter().zip(answers) {
        md.push_str(&format!("\n### `{}` ({})\n\n", c.to, c.action));
        md.push_str(&answer_markdown(answer));
    }
    md
}

/// An agent's vote in a consensus: the question decided like any of its decisions (constraints,
/// rules, memory, then the LLM), approve or reject; a case it cannot decide is an abstention
/// (and, like any undecided case, an escalation its human can answer so it learns).
pub(crate) async fn vote(input: &WakeInput<'_>, msg: &Message) -> Reply {
    let request_type = msg.payload.get("request_type").and_then(Value::as_str).unwrap_or("consensus.vote");
    let request = DecisionRequest {
        tenant_id: input.instance.tenant_id,
        instance_id: input.instance.id,
        request_type: request_type.to_owned(),
        context: msg.payload.get("context").cloned().unwrap_or(Value::Null),
        urgency: Urgency::Normal,
    };
    let d = input.decider.make_decision(input.spec, input.instance, request).await;
    let vote = match d.verdict {
        Verdict::Approve | Verdict::Act => "approve",
        Verdict::Reject => "reject",
        Verdict::Escalate => "abstain",
    };
    Reply::Ok { result: json!({"vote": vote, "reason": d.reason, "method": d.method, "confidence": d.confidence}) }
}

/// One consultation's outcome as it reads in a deliverable.
pub(crate) fn answer_markdown(answer: Result<Value, MessageError>) -> String {
    match answer {
        Ok(v) => {
            let summary = v.get("summary").and_then(Value::as_str).unwrap_or("answered");
            let body = v.get("markdown").and_then(Value::as_str).map(demote_headings).unwrap_or_default();
            format!("{summary}\n\n{body}\n")
        }
        Err(MessageError::UnknownRecipient(why)) => format!("Not consulted: {why}.\n"),
        Err(e) => format!("No answer: {e}. The review above stands without it.\n"),
    }
}

/// Headings of an answer sit under the section's own `###`.
fn demote_headings(md: &str) -> String {
    md.lines().map(|l| if l.starts_with('#') { format!("###{l}") } else { l.to_owned() }).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_failures_read_plainly() {
        let ok = answer_markdown(Ok(json!({"summary": "Brand score 80/100", "markdown": "# Brand voice\n\n| a |"})));
        assert_eq!(ok, "Brand score 80/100\n\n#### Brand voice\n\n| a |\n");
        let late = answer_markdown(Err(MessageError::DeadlineExceeded { action: "seo.check_copy".into(), after: Duration::from_secs(2) }));
        assert!(late.contains("no answer within 2s") && late.contains("stands without it"), "{late}");
        let none = answer_markdown(Err(MessageError::UnknownRecipient("no `seo-ecommerce` is hired in this tenant".into())));
        assert_eq!(none, "Not consulted: no `seo-ecommerce` is hired in this tenant.\n");
    }
}
