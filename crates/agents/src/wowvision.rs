//! WowVision Prime's watch: remembers which watched files changed, in which commits and pull
//! requests, and summarises them on its daily tick; reviews pull requests against the
//! customer's vision policy ([`review`]).

mod review;

use serde_json::{Value, json};
use waooaw_runtime::{WakeInput, WorkError, WorkFn, WorkOutput};

pub const WORK_NAME: &str = "wowvision.watch";
const DEFAULT_HISTORY: usize = 100;

pub struct WatchChanges;

#[async_trait::async_trait]
impl WorkFn for WatchChanges {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        let event = input.event;
        // A coordinated task carries the same document under `package`.
        let p = if event.event_type.as_str() == "task.assigned" { &event.payload["package"] } else { &event.payload };
        let text = |k: &str| p.get(k).and_then(Value::as_str);
        match event.event_type.as_str() {
            // An uploaded policy (TOML) or a pull request with its files' content (JSON).
            "input.received" | "task.assigned" => {
                let (Some(filename), Some(content)) = (text("filename"), text("content")) else {
                    return Err(WorkError::Permanent("input.received needs `filename` and `content` strings".into()));
                };
                let mut state = match input.state {
                    Value::Object(m) => Value::Object(m.clone()),
                    _ => json!({}),
                };
                let (d, outbox) = if filename.ends_with(".toml") {
                    (review::load_policy(&mut state, filename, content), Vec::new())
                } else {
                    match serde_json::from_str::<crate::skills::policy::PullRequest>(content) {
                        Ok(pr) => review::review(input, &state, &pr).await,
                        Err(e) => (
                            waooaw_domain::NewDeliverable {
                                kind: "input_rejected".into(),
                                title: format!("Could not read {filename}"),
                                body_markdown: format!(
                                    "# Could not read `{filename}`\n\nExpected a vision policy (`.toml`) or a pull request (JSON with `number`, `title`, `files`): {e}"
                                ),
                            },
                            Vec::new(),
                        ),
                    }
                };
                let summary = d.title.clone();
                Ok(WorkOutput::new(state, summary).with_deliverable(d).with_outbox(outbox))
            }
            // A pull request event that carries its files' content is reviewed as well as tracked.
            k if k.starts_with("pull_request.") && k != "pull_request.closed" => {
                let out = self.watch(input)?;
                match serde_json::from_value::<crate::skills::policy::PullRequest>(p.clone()) {
                    Ok(pr) if input.state.get("policy").is_some() => {
                        let (d, outbox) = review::review(input, input.state, &pr).await;
                        Ok(out.with_deliverable(d).with_outbox(outbox))
                    }
                    _ => Ok(out),
                }
            }
            // A guardian votes when a consensus asks it; other messages need nothing from it.
            "agent.message" => {
                let out = WorkOutput::new(input.state.clone(), "noted an agent message");
                match waooaw_runtime::message_of(input.event) {
                    Some(msg) if msg.kind == waooaw_domain::MessageKind::Consensus => {
                        Ok(out.with_reply(crate::consults::vote(input, &msg).await))
                    }
                    _ => Ok(out),
                }
            }
            _ => self.watch(input),
        }
    }
}

impl WatchChanges {
    fn watch(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        let event = input.event;
        let mut state = match input.state {
            Value::Object(m) => Value::Object(m.clone()),
            _ => json!({}),
        };
        let limit = input.spec.settings.get("history_limit").and_then(Value::as_u64).map_or(DEFAULT_HISTORY, |n| n as usize);
        let kind = event.event_type.as_str();
        let payload = &event.payload;
        let summary = match kind {
            "file.created" | "file.modified" | "file.deleted" => {
                let path = payload
                    .get("path")
                    .and_then(Value::as_str)
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| WorkError::Permanent(format!("{kind} event has no `path` string in its payload")))?;
                let change = json!({
                    "path": path,
                    "change": kind.trim_start_matches("file."),
                    "commit": payload.get("commit").cloned().unwrap_or(Value::Null),
                    "event_id": event.id,
                    "at": event.timestamp,
                });
                crate::skill_agent::push_bounded(&mut state, "recent_changes", change, limit);
                bump(&mut state, &["changes_since_report"]);
                bump(&mut state, &["totals", kind]);
                format!("recorded {} of watched file {path}", kind.trim_start_matches("file."))
            }
            "commit.pushed" => {
                let sha = payload.get("after").or_else(|| payload.get("sha")).and_then(Value::as_str).unwrap_or("unknown");
                let files = payload.get("files").and_then(Value::as_array).map_or(0, Vec::len);
                set(&mut state, "last_commit", json!({"sha": sha, "files": files, "at": event.timestamp}));
                bump(&mut state, &["totals", kind]);
                format!("noted push {sha} touching {files} watched file(s)")
            }
            k if k.starts_with("pull_request.") => {
                let number = payload
                    .get("number")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| WorkError::Permanent(format!("{kind} event has no numeric `number` in its payload")))?;
                let open = state.get("open_pull_requests").and_then(Value::as_array).cloned().unwrap_or_default();
                let mut open: Vec<u64> = open.iter().filter_map(Value::as_u64).filter(|n| *n != number).collect();
                if kind != "pull_request.closed" {
                    open.push(number);
                }
                open.sort_unstable();
                set(&mut state, "open_pull_requests", json!(open));
                bump(&mut state, &["totals", kind]);
                format!("tracked pull request #{number} ({})", kind.trim_start_matches("pull_request."))
            }
            "schedule.tick" => {
                let changes = state.get("changes_since_report").and_then(Value::as_u64).unwrap_or(0);
                let report = json!({"at": event.timestamp, "watched_changes": changes,
                    "open_pull_requests": state.get("open_pull_requests").cloned().unwrap_or(json!([]))});
                crate::skill_agent::push_bounded(&mut state, "daily_reports", report, 30);
                set(&mut state, "changes_since_report", json!(0));
                format!("daily report: {changes} watched change(s) since the last one")
            }
            other => {
                bump(&mut state, &["totals", other]);
                format!("noted {other}")
            }
        };
        Ok(WorkOutput::new(state, summary))
    }
}

fn set(state: &mut Value, key: &str, v: Value) {
    if let Value::Object(m) = state {
        m.insert(key.to_owned(), v);
    }
}

fn bump(state: &mut Value, path: &[&str]) {
    let mut cur = state;
    for (i, key) in path.iter().enumerate() {
        let Value::Object(m) = cur else { return };
        if i + 1 == path.len() {
            let n = m.get(*key).and_then(Value::as_u64).unwrap_or(0);
            m.insert((*key).to_owned(), json!(n + 1));
            return;
        }
        cur = m.entry((*key).to_owned()).or_insert_with(|| json!({}));
    }
}

#[cfg(test)]
mod tests;
