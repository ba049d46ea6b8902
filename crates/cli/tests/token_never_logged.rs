//! A customer's GitHub token, once given to `waooaw serve`, appears nowhere but in the requests
//! to GitHub: not in the logs (at `debug`, where the most is written), not in API answers, not
//! in the data directory's files in clear.

mod common;
use common::Server;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const GITHUB_TOKEN: &str = "ghp_R4nd0mL00k1ngT0k3nF0rTh3T3stZ9y8x7w6";

/// A GitHub-shaped server that records each request's Authorization header and answers the
/// issue creation the way GitHub does.
async fn github() -> (Arc<Mutex<Vec<String>>>, String) {
    use axum::routing::post;
    let seen: Arc<Mutex<Vec<String>>> = Default::default();
    let sink = seen.clone();
    let app = axum::Router::new().route(
        "/repos/{owner}/{repo}/issues",
        post(move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                sink.lock().expect("requests").push(auth);
                let issue = json!({"number": 7, "state": "open", "title": body["title"], "body": body["body"], "labels": [],
                    "html_url": "https://github.com/riverside/patient-portal/issues/7"});
                (axum::http::StatusCode::CREATED, axum::Json(issue))
            }
        })
        .get(|| async { axum::Json(json!([])) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("github") });
    (seen, format!("http://{addr}"))
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_github_token_is_sent_to_github_and_nowhere_else() {
    let (seen, github_api) = github().await;
    let data = tempfile::tempdir().expect("tempdir");
    let log = data.path().join("serve.log");
    let data_dir = data.path().join("data");
    let env = [("WAOOAW_LOG", "debug"), ("WAOOAW_GITHUB_API", github_api.as_str())];
    let mut server = Server::start_logged("serve", &data_dir, &env, Some(&log));
    server.ready().await;

    let tenant = server.post("/v1/tenants", json!({"name": "Riverside Health"})).await["id"].as_str().expect("tenant").to_owned();
    let (status, connected) = server
        .call(
            reqwest::Method::PUT,
            &format!("/v1/tenants/{tenant}/github"),
            Some(json!({"repository": "riverside/patient-portal", "token": GITHUB_TOKEN})),
        )
        .await;
    assert_eq!(status, 200, "{connected}");
    let shown = server.get(&format!("/v1/tenants/{tenant}/github")).await;
    let tess =
        server.post("/v1/instances", json!({"tenant_id": tenant, "specialization_id": "technical-support", "name": "Tess"})).await["id"]
            .as_str()
            .expect("instance")
            .to_owned();
    // An escalation: the server opens an issue with the customer's token.
    let ask = json!({"tenant_id": tenant, "instance_id": tess, "request_type": "refund.approve", "context": {"refund_usd": 1850}});
    let decided = server.post("/v1/decisions", ask).await;
    assert_eq!(decided["verdict"], "escalate", "{decided}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().expect("requests").is_empty() {
        assert!(Instant::now() < deadline, "the escalation's issue never reached GitHub");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen.lock().expect("requests")[0], format!("Bearer {GITHUB_TOKEN}"), "GitHub gets the token");
    let outputs = server.get(&format!("/v1/outputs?tenant_id={tenant}")).await;
    server.kill();

    for answer in [&connected, &shown, &outputs, &decided] {
        assert!(!answer.to_string().contains(GITHUB_TOKEN), "an API answer shows the token: {answer}");
    }
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.lines().count() > 20 && logged.contains("DEBUG"), "debug logs were written: {logged}");
    assert!(!logged.contains(GITHUB_TOKEN), "the token is in the logs");
    let files = files_under(&data_dir);
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "db")), "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).expect("read");
        assert!(!bytes.windows(GITHUB_TOKEN.len()).any(|w| w == GITHUB_TOKEN.as_bytes()), "the token is in {} in clear", file.display());
    }
}
