//! The GitHub client against a local server shaped like GitHub's REST API: the exact requests
//! (method, path, JSON body, auth header), the answers GitHub gives, and its error responses
//! (401, 403 rate limit, 404, 422) mapped to typed errors.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use waooaw_integrations::github::{GithubClient, GithubError, marker};

const TOKEN: &str = "ghp_9sKx2LmQ7vTz4RbN8wYe1PcU5dHj3FgA6oZi";

#[derive(Default)]
struct Repo {
    issues: Mutex<Vec<Value>>,
    comments: Mutex<Vec<(u64, Value)>>,
    requests: Mutex<Vec<(String, String, Value)>>,
    /// Forced answer: (status, body).
    fail: Mutex<Option<(u16, Value)>>,
}

fn user() -> Value {
    json!({"login": "waooaw-bot", "id": 90210, "node_id": "MDQ6VXNlcjkwMjEw", "type": "Bot", "site_admin": false,
        "html_url": "https://github.com/waooaw-bot"})
}

fn check(repo: &Repo, headers: &HeaderMap) -> Result<(), (StatusCode, Json<Value>)> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != format!("Bearer {TOKEN}") {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})),
        ));
    }
    if let Some((status, body)) = repo.fail.lock().unwrap().clone() {
        return Err((StatusCode::from_u16(status).unwrap(), Json(body)));
    }
    Ok(())
}

async fn create_issue(
    State(repo): State<Arc<Repo>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)> {
    repo.requests.lock().unwrap().push(("POST".into(), format!("/repos/{owner}/{name}/issues"), body.clone()));
    check(&repo, &headers)?;
    let mut issues = repo.issues.lock().unwrap();
    let number = issues.len() as u64 + 1;
    let issue = json!({
        "id": 2_400_000_000u64 + number, "node_id": "I_kwDOK9x1", "number": number, "state": "open", "locked": false,
        "title": body["title"], "body": body["body"], "user": user(), "comments": 0, "author_association": "NONE",
        "labels": body["labels"].as_array().cloned().unwrap_or_default().iter().map(|l| json!({"name": l, "color": "ededed"})).collect::<Vec<_>>(),
        "url": format!("https://api.github.com/repos/{owner}/{name}/issues/{number}"),
        "html_url": format!("https://github.com/{owner}/{name}/issues/{number}"),
        "created_at": "2026-11-25T03:20:11Z", "updated_at": "2026-11-25T03:20:11Z", "closed_at": null
    });
    issues.push(issue.clone());
    Ok((StatusCode::CREATED, Json(issue)))
}

async fn list_issues(
    State(repo): State<Arc<Repo>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    check(&repo, &headers)?;
    let label = q.get("labels").cloned().unwrap_or_default();
    let issues = repo.issues.lock().unwrap();
    let hits: Vec<Value> =
        issues.iter().filter(|i| i["labels"].as_array().unwrap().iter().any(|l| l["name"] == label.as_str())).cloned().collect();
    Ok(Json(Value::Array(hits)))
}

async fn create_comment(
    State(repo): State<Arc<Repo>>,
    Path((owner, name, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)> {
    repo.requests.lock().unwrap().push(("POST".into(), format!("/repos/{owner}/{name}/issues/{number}/comments"), body.clone()));
    check(&repo, &headers)?;
    let mut comments = repo.comments.lock().unwrap();
    let id = 1_800_000_000u64 + comments.len() as u64;
    let c = json!({"id": id, "node_id": "IC_kwDOK9x1", "body": body["body"], "user": user(), "author_association": "NONE",
        "html_url": format!("https://github.com/{owner}/{name}/pull/{number}#issuecomment-{id}"),
        "created_at": "2026-11-25T03:21:40Z", "updated_at": "2026-11-25T03:21:40Z"});
    comments.push((number, c.clone()));
    Ok((StatusCode::CREATED, Json(c)))
}

async fn list_comments(
    State(repo): State<Arc<Repo>>,
    Path((_, _, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    check(&repo, &headers)?;
    let comments = repo.comments.lock().unwrap();
    Ok(Json(Value::Array(comments.iter().filter(|(n, _)| *n == number).map(|(_, c)| c.clone()).collect())))
}

async fn github() -> (Arc<Repo>, String) {
    let repo = Arc::new(Repo::default());
    let app = Router::new()
        .route("/repos/{owner}/{name}/issues", post(create_issue).get(list_issues))
        .route("/repos/{owner}/{name}/issues/{number}/comments", post(create_comment).get(list_comments))
        .with_state(repo.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (repo, format!("http://{addr}"))
}

#[tokio::test]
async fn issues_and_comments_are_created_and_found_again_by_their_marker() {
    waooaw_integrations::install_crypto_provider();
    let (repo, base) = github().await;
    let gh = GithubClient::new(&base, TOKEN, "acme-health/vision-docs").unwrap();
    let body = format!("`docs/pricing.md` uses the banned term \"guaranteed\".\n\n{}", marker("v:3f9a"));
    let issue = gh.create_issue("Vision policy: banned term in docs/pricing.md", &body, &["waooaw".into(), "vision".into()]).await.unwrap();
    assert_eq!(issue.number, Some(1));
    assert_eq!(issue.url, "https://github.com/acme-health/vision-docs/issues/1");
    let sent = repo.requests.lock().unwrap()[0].clone();
    assert_eq!((sent.0.as_str(), sent.1.as_str()), ("POST", "/repos/acme-health/vision-docs/issues"));
    assert_eq!(sent.2, json!({"title": "Vision policy: banned term in docs/pricing.md", "body": body, "labels": ["waooaw", "vision"]}));

    assert_eq!(gh.find_issue("waooaw", "v:3f9a").await.unwrap(), Some(issue.clone()));
    assert_eq!(gh.find_issue("waooaw", "v:other").await.unwrap(), None);

    let c = gh.comment(42, &format!("Approved.\n\n{}", marker("pr:42:abc"))).await.unwrap();
    assert!(c.url.ends_with("/pull/42#issuecomment-1800000000"), "{}", c.url);
    assert_eq!(gh.find_comment(42, "pr:42:abc").await.unwrap().map(|c| c.url), Some(c.url));
    assert_eq!(gh.find_comment(43, "pr:42:abc").await.unwrap(), None);
}

#[tokio::test]
async fn github_errors_are_typed() {
    waooaw_integrations::install_crypto_provider();
    let (repo, base) = github().await;
    let wrong = GithubClient::new(&base, "ghp_wrong", "acme-health/vision-docs").unwrap();
    assert!(matches!(wrong.create_issue("t", "b", &[]).await, Err(GithubError::Unauthorized(m)) if m == "Bad credentials"));
    let gh = GithubClient::new(&base, TOKEN, "acme-health/vision-docs").unwrap();
    let cases = [
        (
            403,
            json!({"message": "API rate limit exceeded for user ID 90210.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
            "rate",
        ),
        (403, json!({"message": "Resource not accessible by personal access token"}), "forbidden"),
        (
            404,
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue"}),
            "not_found",
        ),
        (
            422,
            json!({"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}]}),
            "invalid",
        ),
    ];
    for (status, body, want) in cases {
        *repo.fail.lock().unwrap() = Some((status, body));
        let e = gh.create_issue("t", "b", &[]).await.unwrap_err();
        let got = match e {
            GithubError::RateLimited(_) => "rate",
            GithubError::Forbidden(_) => "forbidden",
            GithubError::NotFound(_) => "not_found",
            GithubError::Invalid(_) => "invalid",
            ref other => panic!("{status}: {other}"),
        };
        assert_eq!(got, want, "{status} -> {e}");
    }
    assert!(matches!(GithubClient::new(&base, TOKEN, "not-a-repo"), Err(GithubError::Config(_))));
}
