//! The work function of the marketplace agents: an agent wakes on an uploaded document
//! (`input.received`), runs its skill on it and hands back a deliverable; on its daily
//! `schedule.tick` it reports what it did. What differs between agents is only the skill
//! (`SkillFn`) and which document types it reads.

use crate::skills::SkillError;
use serde_json::{Value, json};
use waooaw_domain::NewDeliverable;
use waooaw_runtime::{WakeInput, WorkError, WorkFn, WorkOutput};

/// A document handed to a skill.
pub struct Document<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    pub content: &'a str,
    /// The event's date: skills never read the clock, so a replayed event gives the same result.
    pub today: chrono::NaiveDate,
    /// The event's time.
    pub now: chrono::DateTime<chrono::Utc>,
    /// The spec's `[settings]`: the skill's options.
    pub settings: &'a Value,
}

pub type SkillFn = fn(&Document<'_>) -> Result<SkillOutput, SkillError>;

/// What a skill hands back: its deliverable, the text it wants written into it, and work to
/// hand to another agent of the tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillOutput {
    pub deliverable: NewDeliverable,
    pub drafts: Vec<crate::drafts::DraftJob>,
    pub handoffs: Vec<Handoff>,
}

/// A document for the tenant's agent of specialization `to`, which reads it as an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    pub to: &'static str,
    pub action: &'static str,
    pub filename: String,
    pub content_type: &'static str,
    pub content: String,
}

impl From<NewDeliverable> for SkillOutput {
    fn from(deliverable: NewDeliverable) -> Self {
        Self { deliverable, drafts: Vec::new(), handoffs: Vec::new() }
    }
}

/// The outbox rows of a wake's handoffs: keyed by instance, event and recipient (a repeated
/// wake hands over once), continuing the event's correlation.
fn handoff_items(input: &WakeInput<'_>, handoffs: Vec<Handoff>) -> Vec<waooaw_domain::OutboxItem> {
    handoffs
        .into_iter()
        .map(|h| waooaw_domain::OutboxItem {
            key: format!("{}{}:{}:{}", waooaw_domain::HANDOFF_KEY_PREFIX, input.instance.id, input.event.id, h.to),
            action: waooaw_domain::ExternalAction::Handoff {
                to: h.to.to_owned(),
                action: h.action.to_owned(),
                package: json!({"filename": h.filename, "content_type": h.content_type, "content": h.content}),
                cause: Some(input.event.id.0),
                correlation: Some(input.event.correlation_id.0),
            },
        })
        .collect()
}

pub struct SkillAgent {
    pub name: &'static str,
    /// Content types the skill reads.
    pub accepts: &'static [&'static str],
    pub skill: SkillFn,
    /// The request actions it answers for other agents (its spec declares their schemas).
    pub answers: &'static [(&'static str, crate::consults::AnswerFn)],
}

/// How many recent results the context keeps.
const RECENT: usize = 20;

#[async_trait::async_trait]
impl WorkFn for SkillAgent {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        let mut state = match input.state {
            Value::Object(m) => Value::Object(m.clone()),
            _ => json!({}),
        };
        let event = input.event;
        match event.event_type.as_str() {
            // An upload, or a document another agent handed over (same fields, in `package`).
            "input.received" | "agent.handoff" | "task.assigned" => {
                let handed = event.event_type.as_str() != "input.received";
                let p = if handed { &event.payload["package"] } else { &event.payload };
                if event.event_type.as_str() == "agent.handoff" {
                    let from = json!({"key": event.payload["handoff"], "from": event.payload["from_instance"],
                        "action": event.payload["action"], "at": event.timestamp});
                    push_bounded(&mut state, "handoffs_received", from, RECENT);
                }
                let text = |k: &str| p.get(k).and_then(Value::as_str);
                let (Some(filename), Some(content_type), Some(content)) = (text("filename"), text("content_type"), text("content")) else {
                    return Err(WorkError::Permanent("a document needs `filename`, `content_type` and `content` strings".into()));
                };
                let doc = Document {
                    filename,
                    content_type,
                    content,
                    today: event.timestamp.date_naive(),
                    now: event.timestamp,
                    settings: &input.spec.settings,
                };
                let mut outbox = Vec::new();
                let deliverable = if !self.accepts.contains(&content_type) {
                    rejected(filename, &format!("{} reads {}, not {content_type}", input.spec.name, self.accepts.join(", ")))
                } else {
                    match (self.skill)(&doc) {
                        Ok(SkillOutput { mut deliverable, drafts, handoffs }) => {
                            if !drafts.is_empty() {
                                crate::drafts::fill(input.decider, input.spec, input.instance, &mut deliverable.body_markdown, drafts)
                                    .await;
                            }
                            outbox = handoff_items(input, handoffs);
                            for item in &outbox {
                                if let waooaw_domain::ExternalAction::Handoff { to, action, .. } = &item.action {
                                    let sent =
                                        json!({"key": item.key, "to": to, "action": action, "status": "sent", "at": event.timestamp});
                                    push_bounded(&mut state, "handoffs_sent", sent, RECENT);
                                }
                            }
                            // Ask the agents the spec names before delivering.
                            deliverable.body_markdown.push_str(&crate::consults::consult_for(input, &doc).await);
                            deliverable
                        }
                        Err(e) => rejected(filename, &e.to_string()),
                    }
                };
                let ok = deliverable.kind != "input_rejected";
                bump(&mut state, if ok { "deliverables" } else { "rejected_inputs" });
                bump(&mut state, "since_report");
                push_bounded(
                    &mut state,
                    "recent",
                    json!({"filename": filename, "kind": deliverable.kind, "title": deliverable.title, "at": event.timestamp}),
                    RECENT,
                );
                let summary = format!("{}: {}", if ok { "delivered" } else { "could not use the input" }, deliverable.title);
                Ok(WorkOutput::new(state, summary).with_deliverable(deliverable).with_outbox(outbox))
            }
            "schedule.tick" => {
                let since = state.get("since_report").and_then(Value::as_u64).unwrap_or(0);
                let recent = state.get("recent").and_then(Value::as_array).cloned().unwrap_or_default();
                state["since_report"] = json!(0);
                let mut md =
                    format!("# Daily report: {}\n\n{} input(s) handled since the last report.\n\n", input.instance.personality.name, since);
                if !recent.is_empty() {
                    md.push_str("| File | Deliverable | Kind |\n|---|---|---|\n");
                    for r in recent.iter().rev().take(10) {
                        md.push_str(&format!(
                            "| {} | {} | {} |\n",
                            r["filename"].as_str().unwrap_or(""),
                            r["title"].as_str().unwrap_or(""),
                            r["kind"].as_str().unwrap_or("")
                        ));
                    }
                }
                let activity = input.decider.activity(input.instance, event.timestamp - chrono::Duration::days(1)).await;
                md.push_str(&activity_markdown(&activity));
                let day = event.timestamp.date_naive();
                let date = day.to_string();
                let title = input.spec.outputs.render(
                    waooaw_domain::OutputKind::DailyReportTitle,
                    &[("agent", &input.instance.personality.name), ("specialization", &input.spec.name), ("date", &date)],
                );
                // With `report_to_github = true` in the spec's settings, the report is also
                // posted as an issue in the tenant's connected repository (once per day).
                let post = input.spec.settings.get("report_to_github").and_then(Value::as_bool).unwrap_or(false);
                let outbox = post.then(|| {
                    let key = format!("report:{}:{day}", input.instance.id);
                    waooaw_domain::OutboxItem {
                        action: waooaw_domain::ExternalAction::GithubIssue {
                            title: title.clone(),
                            body: format!("{md}\n\n<!-- waooaw:key={key} -->"),
                            labels: vec!["waooaw".into(), "daily-report".into()],
                        },
                        key,
                    }
                });
                let d = NewDeliverable { kind: "daily_report".into(), title, body_markdown: md };
                Ok(WorkOutput::new(state, format!("daily report: {since} input(s)")).with_deliverable(d).with_outbox(outbox))
            }
            "agent.message" => Ok(self.on_message(input, state).await),
            other => Ok(WorkOutput::new(state, format!("{} does not act on {other}", self.name))),
        }
    }
}

impl SkillAgent {
    /// A message from another agent: a request is answered (or refused, naming what this agent
    /// answers); a notification is kept in the context; a response needs nothing more.
    async fn on_message(&self, input: &WakeInput<'_>, mut state: Value) -> WorkOutput {
        use waooaw_domain::{MessageKind, Reply};
        let Some(msg) = waooaw_runtime::message_of(input.event) else {
            return WorkOutput::new(state, "an agent.message without a readable envelope");
        };
        match msg.kind {
            MessageKind::Request => {
                let reply = match self.answers.iter().find(|(action, _)| *action == msg.action) {
                    Some((_, answer)) => match answer(&msg.payload, &input.spec.settings) {
                        Ok(result) => Reply::Ok { result },
                        Err(reason) => Reply::Failed { reason },
                    },
                    None => {
                        let known = self.answers.iter().map(|(a, _)| *a).collect::<Vec<_>>().join(", ");
                        Reply::Refused {
                            reason: format!(
                                "{} answers {}, not `{}`",
                                input.spec.name,
                                if known.is_empty() { "nothing" } else { &known },
                                msg.action
                            ),
                        }
                    }
                };
                bump(&mut state, "answered_requests");
                let summary = format!("answered `{}` for {}", msg.action, msg.from);
                WorkOutput::new(state, summary).with_reply(reply)
            }
            MessageKind::Consensus => {
                let reply = crate::consults::vote(input, &msg).await;
                bump(&mut state, "votes_cast");
                WorkOutput::new(state, format!("voted on `{}`", msg.payload["question"].as_str().unwrap_or(""))).with_reply(reply)
            }
            MessageKind::Notification => {
                let note = json!({"from": msg.from, "action": msg.action, "payload": msg.payload, "at": input.event.timestamp});
                push_bounded(&mut state, "notifications", note, RECENT);
                WorkOutput::new(state, format!("noted `{}` from {}", msg.action, msg.from))
            }
            // The receiver took a handoff: the task this agent handed over is closed.
            MessageKind::Response if msg.action == "handoff.accept" => {
                let key = msg.payload.get("handoff").cloned().unwrap_or(Value::Null);
                if let Some(sent) = state.get_mut("handoffs_sent").and_then(Value::as_array_mut) {
                    for h in sent.iter_mut().filter(|h| h["key"] == key) {
                        h["status"] = json!("accepted");
                        h["accepted_by"] = json!(msg.from);
                        h["accepted_at"] = json!(input.event.timestamp);
                    }
                }
                bump(&mut state, "handoffs_accepted");
                WorkOutput::new(state, format!("handoff accepted by {}", msg.from))
            }
            _ => WorkOutput::new(state, format!("noted a {:?} to `{}`", msg.kind, msg.action)),
        }
    }
}

/// The report's decisions-by-tier table and pending escalations.
pub(crate) fn activity_markdown(a: &waooaw_domain::Activity) -> String {
    let mut md = String::from("\n## Decisions in the last 24 hours\n\n");
    if a.by_method.is_empty() {
        md.push_str("No decisions.\n");
    } else {
        md.push_str("| Tier | Decisions | Cost (USD) |\n|---|---:|---:|\n");
        for (method, n, usd) in &a.by_method {
            md.push_str(&format!("| {} | {n} | {usd:.4} |\n", method.as_str()));
        }
        let total: f64 = a.by_method.iter().map(|(_, _, usd)| usd).sum();
        md.push_str(&format!("| total | {} | {total:.4} |\n", a.by_method.iter().map(|(_, n, _)| n).sum::<i64>()));
    }
    md.push_str(&format!("\n{} escalation(s) wait for a human.\n", a.pending_escalations));
    md
}

/// The deliverable for an input the skill could not use: says what was wrong, never silent.
fn rejected(filename: &str, why: &str) -> NewDeliverable {
    NewDeliverable {
        kind: "input_rejected".into(),
        title: format!("Could not process {filename}"),
        body_markdown: format!("# Could not process `{filename}`\n\n{why}\n\nFix the file and upload it again."),
    }
}

fn bump(state: &mut Value, key: &str) {
    let n = state.get(key).and_then(Value::as_u64).unwrap_or(0);
    state[key] = json!(n + 1);
}

/// Appends to a list in the state (an object), keeping the newest `limit` items.
pub(crate) fn push_bounded(state: &mut Value, key: &str, item: Value, limit: usize) {
    let Value::Object(m) = state else { return };
    let list = m.entry(key.to_owned()).or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    if let Value::Array(a) = list {
        a.push(item);
        let excess = a.len().saturating_sub(limit);
        a.drain(..excess);
    }
}
