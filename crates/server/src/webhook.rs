//! GitHub webhooks: signature check and the mapping of GitHub's payloads to platform events.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use waooaw_domain::{EventId, EventType, NewEvent, TenantId};

#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` against HMAC-SHA256 of the raw body, in constant
/// time (`Mac::verify_slice`).
pub fn verify_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_sig = header.strip_prefix("sha256=").ok_or(SignatureError::Malformed)?;
    let sig = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Malformed)?;
    mac.update(body);
    mac.verify_slice(&sig).map_err(|_| SignatureError::Mismatch)
}

pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug)]
pub enum Mapped {
    Ping { zen: String },
    Events(Vec<NewEvent>),
    Ignored(String),
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct MappingError(pub String);

/// Maps one delivery (`X-GitHub-Event` name and parsed payload) to events for `tenant`. All the
/// events of one delivery share a correlation id.
pub fn map_delivery(tenant: TenantId, github_event: &str, payload: &Value) -> Result<Mapped, MappingError> {
    let repo = payload.pointer("/repository/full_name").and_then(Value::as_str).unwrap_or("").to_owned();
    let correlation = EventId::new();
    let source = format!("github:{}", if repo.is_empty() { "unknown" } else { &repo });
    let mk = |ty: &str, payload: Value| -> Result<NewEvent, MappingError> {
        let t = EventType::parse(ty).map_err(|e| MappingError(e.to_string()))?;
        let mut e = NewEvent::new(t, source.clone(), tenant, payload);
        e.correlation_id = Some(correlation);
        Ok(e)
    };
    let action =
        || payload.get("action").and_then(Value::as_str).ok_or_else(|| MappingError(format!("`{github_event}` payload has no `action`")));
    let action_name = |a: &str| a.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect::<String>();
    match github_event {
        "ping" => Ok(Mapped::Ping { zen: payload.get("zen").and_then(Value::as_str).unwrap_or("").to_owned() }),
        "push" => {
            let commits = payload
                .get("commits")
                .and_then(Value::as_array)
                .ok_or_else(|| MappingError("`push` payload has no `commits` array".into()))?;
            let git_ref = payload.get("ref").cloned().unwrap_or(Value::Null);
            let after = payload.get("after").cloned().unwrap_or(Value::Null);
            let mut events = Vec::new();
            let mut all_files = Vec::new();
            for c in commits {
                let sha = c.get("id").cloned().unwrap_or(Value::Null);
                for (list, ty) in [("added", "file.created"), ("modified", "file.modified"), ("removed", "file.deleted")] {
                    for path in c.get(list).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                        all_files.push(path.to_owned());
                        events.push(mk(
                            ty,
                            json!({"path": path, "commit": sha, "ref": git_ref, "repository": repo,
                            "author": c.pointer("/author/username").or_else(|| c.pointer("/author/name")).cloned().unwrap_or(Value::Null)}),
                        )?);
                    }
                }
            }
            all_files.sort();
            all_files.dedup();
            events.push(mk(
                "commit.pushed",
                json!({"after": after, "before": payload.get("before"), "ref": git_ref, "repository": repo,
                "commits": commits.len(), "files": all_files, "pusher": payload.pointer("/pusher/name")}),
            )?);
            Ok(Mapped::Events(events))
        }
        "pull_request" => {
            let action = action()?;
            let pr =
                payload.get("pull_request").ok_or_else(|| MappingError("`pull_request` payload has no `pull_request` object".into()))?;
            let number = payload
                .get("number")
                .or_else(|| pr.get("number"))
                .and_then(Value::as_u64)
                .ok_or_else(|| MappingError("`pull_request` payload has no numeric `number`".into()))?;
            let e = mk(
                &format!("pull_request.{}", action_name(action)),
                json!({
                    "number": number, "action": action, "repository": repo,
                    "title": pr.get("title"), "url": pr.get("html_url"), "author": pr.pointer("/user/login"),
                    "head_sha": pr.pointer("/head/sha"), "head_ref": pr.pointer("/head/ref"), "base_ref": pr.pointer("/base/ref"),
                    "merged": pr.get("merged"), "draft": pr.get("draft"),
                }),
            )?;
            Ok(Mapped::Events(vec![e]))
        }
        "issues" => {
            let action = action()?;
            let issue = payload.get("issue").ok_or_else(|| MappingError("`issues` payload has no `issue` object".into()))?;
            let e = mk(
                &format!("issue.{}", action_name(action)),
                json!({
                    "number": issue.get("number"), "action": action, "repository": repo, "title": issue.get("title"),
                    "body": issue.get("body"), "author": issue.pointer("/user/login"), "url": issue.get("html_url"),
                    "labels": issue.get("labels").and_then(Value::as_array).map(|l| l.iter().filter_map(|x| x.get("name").cloned()).collect::<Vec<_>>()),
                }),
            )?;
            Ok(Mapped::Events(vec![e]))
        }
        "issue_comment" => {
            let action = action()?;
            let ty = if action == "created" { "issue.commented".to_owned() } else { format!("issue.comment_{}", action_name(action)) };
            let comment = payload.get("comment").ok_or_else(|| MappingError("`issue_comment` payload has no `comment` object".into()))?;
            let e = mk(
                &ty,
                json!({
                    "number": payload.pointer("/issue/number"), "action": action, "repository": repo,
                    "comment_id": comment.get("id"), "body": comment.get("body"), "author": comment.pointer("/user/login"),
                    "url": comment.get("html_url"), "is_pull_request": payload.pointer("/issue/pull_request").is_some(),
                    "author_association": comment.get("author_association"), "issue_body": payload.pointer("/issue/body"),
                }),
            )?;
            Ok(Mapped::Events(vec![e]))
        }
        other => Ok(Mapped::Ignored(format!("GitHub event `{other}` is not mapped to platform events"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_tamper() {
        let body = br#"{"zen":"Keep it logically awesome."}"#;
        let sig = sign(b"s3cret", body);
        assert_eq!(verify_signature(b"s3cret", body, Some(&sig)), Ok(()));
        assert_eq!(verify_signature(b"other", body, Some(&sig)), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(b"s3cret", b"{}", Some(&sig)), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(b"s3cret", body, None), Err(SignatureError::Missing));
        assert_eq!(verify_signature(b"s3cret", body, Some("sha1=abc")), Err(SignatureError::Malformed));
        assert_eq!(verify_signature(b"s3cret", body, Some("sha256=zz")), Err(SignatureError::Malformed));
    }
}
