//! Escalations answered on GitHub: an issue WAOOAW opened for an escalation carries the
//! escalation's marker (`<!-- waooaw:escalation=<id> -->`); a new comment on it that starts with
//! `APPROVE`, `REJECT` or `MODIFY: <what to do instead>`, by someone the repository trusts
//! (author association OWNER, MEMBER or COLLABORATOR), answers it as the API would. Anything
//! else is left alone, with the reason logged.

use crate::AppState;
use serde_json::{Value, json};
use waooaw_domain::{HumanAnswer, TenantId, Verdict};

const TRUSTED: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

/// The escalation id named by the marker in an issue body.
pub fn escalation_in(issue_body: &str) -> Option<uuid::Uuid> {
    let start = issue_body.find("<!-- waooaw:escalation=")? + "<!-- waooaw:escalation=".len();
    let rest = &issue_body[start..];
    rest.get(..rest.find(" -->")?)?.parse().ok()
}

/// The answer a comment gives, if it gives one: `APPROVE`, `REJECT` (any text after them is kept
/// as the reason) or `MODIFY: <text>` (text required).
pub fn parse_reply(comment: &str) -> Option<(Verdict, String)> {
    let c = comment.trim();
    let upper = c.to_ascii_uppercase();
    let rest = |n: usize| c.get(n..).unwrap_or("").trim_start_matches([':', ' ', '-', '.']).trim().to_owned();
    if upper.starts_with("APPROVE") {
        Some((Verdict::Approve, rest(7)))
    } else if upper.starts_with("REJECT") {
        Some((Verdict::Reject, rest(6)))
    } else if upper.starts_with("MODIFY:") {
        let text = rest(7);
        (!text.is_empty()).then_some((Verdict::Act, text))
    } else {
        None
    }
}

/// Answers the escalation a created comment replies to; `None` when the comment is not such a
/// reply. The outcome (answered, or why not) is returned for the webhook's response.
pub async fn answer_from_comment(s: &AppState, tenant: TenantId, payload: &Value) -> Option<Value> {
    if payload.get("action").and_then(Value::as_str) != Some("created") {
        return None;
    }
    let id = escalation_in(payload.pointer("/issue/body").and_then(Value::as_str)?)?;
    let (verdict, text) = parse_reply(payload.pointer("/comment/body").and_then(Value::as_str)?)?;
    let login = payload.pointer("/comment/user/login").and_then(Value::as_str).unwrap_or("unknown").to_owned();
    let association = payload.pointer("/comment/author_association").and_then(Value::as_str).unwrap_or("NONE");
    if !TRUSTED.contains(&association) {
        tracing::info!(tenant_id = %tenant, escalation_id = %id, login, association, "GitHub reply ignored: the author is not trusted by the repository");
        return Some(json!({"escalation_id": id, "answered": false, "reason": format!("@{login} ({association}) may not answer")}));
    }
    let answer = HumanAnswer { verdict, text, answered_by: format!("@{login} on GitHub") };
    match crate::decisions_api::answer_and_resume(s, tenant, id, answer).await {
        Ok((answered, _)) => Some(json!({"escalation_id": answered.id, "answered": true, "by": login})),
        Err(e) => {
            tracing::info!(tenant_id = %tenant, escalation_id = %id, error = %e.message, "GitHub reply not applied");
            Some(json!({"escalation_id": id, "answered": false, "reason": e.message}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_and_markers_parse() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(escalation_in(&format!("Layer 1.\n\n<!-- waooaw:escalation={id} -->\n<!-- waooaw:key=k -->")), Some(id));
        assert_eq!(escalation_in("no marker"), None);
        assert_eq!(escalation_in("<!-- waooaw:escalation=not-a-uuid -->"), None);
        assert_eq!(parse_reply("APPROVE"), Some((Verdict::Approve, String::new())));
        assert_eq!(
            parse_reply("approve - the founders agreed in the Nov review"),
            Some((Verdict::Approve, "the founders agreed in the Nov review".into()))
        );
        assert_eq!(parse_reply("REJECT: north star stays as is"), Some((Verdict::Reject, "north star stays as is".into())));
        assert_eq!(
            parse_reply("MODIFY: keep the wording, move it to docs/vision/next.md"),
            Some((Verdict::Act, "keep the wording, move it to docs/vision/next.md".into()))
        );
        assert_eq!(parse_reply("MODIFY:   "), None, "a modification says what");
        assert_eq!(parse_reply("Looks fine to me"), None);
    }
}
