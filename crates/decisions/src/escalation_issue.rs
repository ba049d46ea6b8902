//! The GitHub issue that announces an escalation for a GitHub-connected tenant. Whoever raised
//! the escalation (an agent's wake, `POST /v1/decisions`), the issue is where a repository member
//! answers it: a reply starting `APPROVE`, `REJECT` or `MODIFY:` (see `server::github_replies`,
//! which finds the escalation by the marker in the issue body).

use waooaw_domain::{Escalation, ExternalAction, Instance, OutboxItem, OutputKind, Specialization};
use waooaw_integrations::github::marker;

/// GitHub refuses titles over 256 characters.
const MAX_TITLE_CHARS: usize = 256;
/// The context shown in the issue; GitHub bodies are capped at 65,536 characters.
const MAX_CONTEXT_CHARS: usize = 8_000;

/// The outbox key: one issue per escalation, however often the dispatcher retries.
pub fn key(e: &Escalation) -> String {
    format!("escalation:{}", e.id)
}

pub fn issue(spec: &Specialization, instance: &Instance, e: &Escalation) -> OutboxItem {
    let key = key(e);
    let who = &instance.personality.name;
    let vars = [("agent", who.as_str()), ("specialization", spec.name.as_str()), ("request_type", e.request.request_type.as_str())];
    let title: String = spec.outputs.render(OutputKind::EscalationIssueTitle, &vars).chars().take(MAX_TITLE_CHARS).collect();
    let context = serde_json::to_string_pretty(&e.request.context).unwrap_or_default();
    let (context, cut) = match context.char_indices().nth(MAX_CONTEXT_CHARS) {
        Some((at, _)) => (&context[..at], "\n\n(The context is cut here; the full request is in WAOOAW.)"),
        None => (context.as_str(), ""),
    };
    let fence = fence_for(context);
    let body = format!(
        "**{who}** ({}) needs a human decision.\n\n\
         **Question:** {}\n\n**Urgency:** {:?}\n\n**Request:** `{}`\n\n\
         <details><summary>Context</summary>\n\n{fence}json\n{context}\n{fence}{cut}\n\n</details>\n\n\
         Reply on this issue with `APPROVE`, `REJECT` or `MODIFY: <what to do instead>` (repository members only), \
         or answer escalation `{}` in WAOOAW. The first answer stands and is remembered for the same case.\n\n\
         <!-- waooaw:escalation={} -->\n{}",
        spec.name,
        e.question,
        e.urgency,
        e.request.request_type,
        e.id,
        e.id,
        marker(&key)
    );
    let labels = vec!["waooaw".into(), "escalation".into(), format!("urgency-{:?}", e.urgency).to_lowercase()];
    OutboxItem { key, action: ExternalAction::GithubIssue { title, body, labels } }
}

/// A code fence longer than any run of backticks in `text`, so the context cannot close it.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_outlasts_the_backticks_inside() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
    }
}
