//! Sales Enablement: answers objections with the best matching playbook and battlecard passages
//! from the tenant's semantic memory, each cited with its source and similarity.

use serde_json::{Value, json};
use waooaw_domain::NewDeliverable;
use waooaw_runtime::{WakeInput, WorkError, WorkFn, WorkOutput};

pub const WORK_NAME: &str = "enablement.answer";
const KINDS: &[&str] = &["playbook", "battlecard"];
/// Objections answered per upload: one per non-empty line.
const MAX_OBJECTIONS: usize = 20;
/// Passages cited per objection.
const PER_OBJECTION: usize = 3;

pub struct AnswerObjections;

#[async_trait::async_trait]
impl WorkFn for AnswerObjections {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        let event = input.event;
        let mut state = match input.state {
            Value::Object(m) => Value::Object(m.clone()),
            _ => json!({}),
        };
        if event.event_type.as_str() != "input.received" {
            return Ok(WorkOutput::new(state, format!("{WORK_NAME} does not act on {}", event.event_type)));
        }
        let text = |k: &str| event.payload.get(k).and_then(Value::as_str);
        let (Some(filename), Some(content)) = (text("filename"), text("content")) else {
            return Err(WorkError::Permanent("input.received needs `filename` and `content` strings".into()));
        };
        let objections: Vec<&str> = content.lines().map(str::trim).filter(|l| !l.is_empty()).take(MAX_OBJECTIONS).collect();
        let deliverable = if objections.is_empty() {
            NewDeliverable {
                kind: "input_rejected".into(),
                title: format!("Could not process {filename}"),
                body_markdown: format!("# Could not process `{filename}`\n\nThe file holds no objection: write one per line."),
            }
        } else {
            let mut md = format!("# Objection handling: {} objection(s)\n", objections.len());
            let mut cited = 0;
            for o in &objections {
                md.push_str(&format!("\n## \u{201c}{o}\u{201d}\n\n"));
                let hits = input.decider.recall(input.instance, KINDS, o, PER_OBJECTION).await;
                if hits.is_empty() {
                    md.push_str("No playbook or battlecard passage is stored for this tenant yet (add them with `POST /v1/memories`, kind `playbook` or `battlecard`).\n");
                }
                for h in hits {
                    cited += 1;
                    let source = h.metadata.get("source").and_then(Value::as_str).unwrap_or("memory");
                    md.push_str(&format!(
                        "> {}\n\n*{} `{}` ({source}), similarity {:.2}*\n\n",
                        h.text.replace('\n', "\n> "),
                        h.kind,
                        h.id,
                        h.score
                    ));
                }
            }
            let n = state.get("objections_answered").and_then(Value::as_u64).unwrap_or(0);
            state["objections_answered"] = json!(n + objections.len() as u64);
            NewDeliverable {
                kind: "objection_answers".into(),
                title: format!("Objection answers: {filename} ({cited} passage(s) cited)"),
                body_markdown: md,
            }
        };
        let summary = deliverable.title.clone();
        Ok(WorkOutput::new(state, summary).with_deliverable(deliverable))
    }
}
