//! GitHub's REST API through `octocrab`, with a configurable base URL (GitHub Enterprise, or a
//! local server in tests): create an issue with labels, comment on an issue or pull request,
//! read them back. Routes are called generically and only the fields used are read, so the
//! client follows GitHub's JSON without pinning every model field.
//!
//! Idempotency markers: every body WAOOAW writes ends with `<!-- waooaw:key=... -->`; after a
//! failure between GitHub's answer and our record of it, [`GithubClient::find_issue`] and
//! [`GithubClient::find_comment`] find what was already created, so a retry adopts it.

use octocrab::Octocrab;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GithubError {
    #[error("GitHub refused the token (401): {0}")]
    Unauthorized(String),
    #[error("GitHub forbids this (403): {0}")]
    Forbidden(String),
    #[error("GitHub rate limit reached: {0}")]
    RateLimited(String),
    #[error("not found on GitHub (404): {0}")]
    NotFound(String),
    #[error("GitHub rejected the request (422): {0}")]
    Invalid(String),
    #[error("GitHub answered {status}: {message}")]
    Other { status: u16, message: String },
    #[error("GitHub could not be reached: {0}")]
    Transport(String),
    #[error("{0}")]
    Config(String),
}

impl GithubError {
    /// Whether trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited(_) | Self::Transport(_)) || matches!(self, Self::Other { status, .. } if *status >= 500)
    }
}

fn map_error(e: octocrab::Error) -> GithubError {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            let message = source.message.clone();
            let rate = message.to_ascii_lowercase().contains("rate limit");
            match source.status_code.as_u16() {
                401 => GithubError::Unauthorized(message),
                403 | 429 if rate => GithubError::RateLimited(message),
                429 => GithubError::RateLimited(message),
                403 => GithubError::Forbidden(message),
                404 => GithubError::NotFound(message),
                422 => GithubError::Invalid(message),
                status => GithubError::Other { status, message },
            }
        }
        other => GithubError::Transport(other.to_string()),
    }
}

/// Something created on GitHub.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub number: Option<u64>,
    pub url: String,
}

fn created(v: &Value) -> Created {
    Created { number: v["number"].as_u64(), url: v["html_url"].as_str().unwrap_or_default().to_owned() }
}

/// The hidden marker that ties a body to its idempotency key.
pub fn marker(key: &str) -> String {
    format!("<!-- waooaw:key={key} -->")
}

pub struct GithubClient {
    octo: Octocrab,
    owner: String,
    repo: String,
}

impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GithubClient({}/{}, token redacted)", self.owner, self.repo)
    }
}

/// `owner/name`, each a GitHub name (letters, digits, `-`, `_`, `.`).
pub fn parse_repository(repository: &str) -> Result<(String, String), GithubError> {
    let ok = |s: &str| !s.is_empty() && s.len() <= 100 && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    match repository.split_once('/') {
        Some((o, r)) if ok(o) && ok(r) => Ok((o.to_owned(), r.to_owned())),
        _ => Err(GithubError::Config(format!("repository `{repository}` is not `owner/name`"))),
    }
}

impl GithubClient {
    pub fn new(base_uri: &str, token: &str, repository: &str) -> Result<Self, GithubError> {
        let (owner, repo) = parse_repository(repository)?;
        let octo = Octocrab::builder()
            .base_uri(base_uri)
            .map_err(|e| GithubError::Config(format!("GitHub base URL `{base_uri}`: {e}")))?
            .personal_token(token.to_owned())
            .build()
            .map_err(|e| GithubError::Config(format!("GitHub client: {e}")))?;
        Ok(Self { octo, owner, repo })
    }

    fn route(&self, tail: &str) -> String {
        format!("/repos/{}/{}/{tail}", self.owner, self.repo)
    }

    pub async fn create_issue(&self, title: &str, body: &str, labels: &[String]) -> Result<Created, GithubError> {
        let v: Value = self
            .octo
            .post(self.route("issues"), Some(&json!({"title": title, "body": body, "labels": labels})))
            .await
            .map_err(map_error)?;
        Ok(created(&v))
    }

    pub async fn comment(&self, number: u64, body: &str) -> Result<Created, GithubError> {
        let v: Value =
            self.octo.post(self.route(&format!("issues/{number}/comments")), Some(&json!({"body": body}))).await.map_err(map_error)?;
        Ok(created(&v))
    }

    /// The issue (open or closed) with `label` whose body carries the marker of `key`.
    pub async fn find_issue(&self, label: &str, key: &str) -> Result<Option<Created>, GithubError> {
        let route = self.route(&format!("issues?labels={label}&state=all&per_page=100"));
        let list: Vec<Value> = self.octo.get(route, None::<&()>).await.map_err(map_error)?;
        let m = marker(key);
        Ok(list.iter().find(|i| i["body"].as_str().is_some_and(|b| b.contains(&m))).map(created))
    }

    /// The comment on issue or pull request `number` that carries the marker of `key`.
    pub async fn find_comment(&self, number: u64, key: &str) -> Result<Option<Created>, GithubError> {
        let route = self.route(&format!("issues/{number}/comments?per_page=100"));
        let list: Vec<Value> = self.octo.get(route, None::<&()>).await.map_err(map_error)?;
        let m = marker(key);
        Ok(list.iter().find(|c| c["body"].as_str().is_some_and(|b| b.contains(&m))).map(created))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_owner_slash_name() {
        assert_eq!(parse_repository("acme-health/vision-docs").unwrap(), ("acme-health".into(), "vision-docs".into()));
        for bad in ["acme", "/repo", "acme/", "acme/repo/extra", "acme/re po", ""] {
            assert!(parse_repository(bad).is_err(), "{bad}");
        }
        assert!(GithubError::Other { status: 502, message: String::new() }.is_retryable());
        assert!(!GithubError::Invalid(String::new()).is_retryable());
    }
}
