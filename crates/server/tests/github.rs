//! GitHub output end to end: a tenant connects a repository (the token sealed at rest, never
//! returned), WowVision reviews a pull request, its outbox rows are sent by the dispatcher to a
//! local GitHub-shaped server (one issue per distinct violation, one PR comment), a repeat
//! review sends nothing new, and an attempt cut short after GitHub answered is adopted, not
//! repeated.

mod common;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use common::{ADMIN_TOKEN, DEADLINE, TEST_MASTER_KEY, TestApp};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use waooaw_server::github_outbox::{GithubOutputs, dispatch_due};

const TOKEN: &str = "ghp_Vq8mK2xR7tL4nB9wZ1cY6dF3hJ5sP0aG8eQt";
const POLICY: &str = include_str!("../../agents/tests/fixtures/text/vision.toml");
const PR: &str = include_str!("../../agents/tests/fixtures/text/pull_request.json");

#[derive(Default)]
struct Github {
    issues: Mutex<Vec<Value>>,
    comments: Mutex<Vec<Value>>,
    posts: Mutex<Vec<(String, Value)>>,
}

fn authorised(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

async fn github() -> (Arc<Github>, String) {
    let gh = Arc::new(Github::default());
    let app = Router::new()
        .route(
            "/repos/{owner}/{repo}/issues",
            post(|State(gh): State<Arc<Github>>, Path((o, r)): Path<(String, String)>, h: HeaderMap, Json(b): Json<Value>| async move {
                if !authorised(&h) {
                    return (StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad credentials"})));
                }
                gh.posts.lock().unwrap().push((format!("/repos/{o}/{r}/issues"), b.clone()));
                let mut issues = gh.issues.lock().unwrap();
                let n = issues.len() + 1;
                let issue = json!({"number": n, "state": "open", "title": b["title"], "body": b["body"],
                    "labels": b["labels"].as_array().unwrap().iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
                    "html_url": format!("https://github.com/{o}/{r}/issues/{n}")});
                issues.push(issue.clone());
                (StatusCode::CREATED, Json(issue))
            })
            .get(|State(gh): State<Arc<Github>>, h: HeaderMap| async move {
                if !authorised(&h) {
                    return (StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad credentials"})));
                }
                (StatusCode::OK, Json(Value::Array(gh.issues.lock().unwrap().clone())))
            }),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{n}/comments",
            post(|State(gh): State<Arc<Github>>, Path((o, r, n)): Path<(String, String, u64)>, h: HeaderMap, Json(b): Json<Value>| async move {
                if !authorised(&h) {
                    return (StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad credentials"})));
                }
                gh.posts.lock().unwrap().push((format!("/repos/{o}/{r}/issues/{n}/comments"), b.clone()));
                let mut comments = gh.comments.lock().unwrap();
                let c = json!({"id": 4000 + comments.len(), "body": b["body"], "html_url": format!("https://github.com/{o}/{r}/pull/{n}#issuecomment-{}", 4000 + comments.len())});
                comments.push(c.clone());
                (StatusCode::CREATED, Json(c))
            })
            .get(|State(gh): State<Arc<Github>>| async move { (StatusCode::OK, Json(Value::Array(gh.comments.lock().unwrap().clone()))) }),
        )
        .with_state(gh.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (gh, format!("http://{addr}"))
}

async fn upload(app: &TestApp, tenant: &str, instance: &str, filename: &str, ct: &str, body: &str) {
    let r = app
        .post(&format!("/v1/instances/{instance}/inputs"))
        .query(&[("tenant_id", tenant), ("filename", filename)])
        .header("content-type", ct)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{}", r.text().await.unwrap());
}

/// Connects the tenant's repository `riverside/patient-portal` with [`TOKEN`].
async fn connect(app: &TestApp, tenant: &str) {
    let r = app
        .client
        .put(app.url(&format!("/v1/tenants/{tenant}/github")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"repository": "riverside/patient-portal", "token": TOKEN}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn outputs(app: &TestApp, tenant: &str, at_least: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let (_, v) = app.get_json(&format!("/v1/outputs?tenant_id={tenant}")).await;
        let rows = v["outputs"].as_array().cloned().unwrap_or_default();
        if rows.len() >= at_least || start.elapsed() > DEADLINE {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewed_pull_request_reaches_github_once() {
    waooaw_integrations::install_crypto_provider();
    let (gh, base) = github().await;
    let app = TestApp::start().await;
    let acme = app.create_tenant("Riverside Health").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;

    // Connect: the token is accepted, never shown, and not in the database file in clear.
    let put = |body: Value| app.client.put(app.url(&format!("/v1/tenants/{}/github", acme.id))).bearer_auth(ADMIN_TOKEN).json(&body);
    let r = put(json!({"repository": "riverside/patient-portal", "token": TOKEN})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let shown = r.text().await.unwrap();
    let (_, got) = app.get_json(&format!("/v1/tenants/{}/github", acme.id)).await;
    assert_eq!((got["repository"].as_str(), got["token_set"].as_bool()), (Some("riverside/patient-portal"), Some(true)));
    assert!(!shown.contains(TOKEN) && !got.to_string().contains(TOKEN), "the API never returns the token");
    for bad in [
        json!({"repository": "no-slash", "token": TOKEN}),
        json!({"repository": "a/b", "token": "has space"}),
        json!({"repository": "a/b"}),
    ] {
        assert_eq!(put(bad.clone()).send().await.unwrap().status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    upload(&app, &acme.id, &vera, "vision.toml", "text/plain", POLICY).await;
    upload(&app, &acme.id, &vera, "pr-128.json", "application/json", PR).await;
    let rows = outputs(&app, &acme.id, 2).await;
    let issues = rows.iter().filter(|r| r["action"]["kind"] == "github_issue").count();
    let comments = rows.iter().filter(|r| r["action"]["kind"] == "github_comment").count();
    assert!(issues >= 3 && comments == 1, "one issue per violation and one comment: {rows:#?}");

    let key = waooaw_integrations::secrets::MasterKey::from_hex(TEST_MASTER_KEY).unwrap();
    let outputs_cfg = GithubOutputs::new(key, base.clone(), &app.breakers);
    let store = app.runtime.store().clone();
    let sent = dispatch_due(&store, &outputs_cfg, chrono::Utc::now()).await;
    assert_eq!(sent, issues + comments);
    let breaker = app.breakers.get("github").expect("GitHub's breaker is registered");
    assert_eq!(breaker.state().as_str(), "closed");
    let posts = gh.posts.lock().unwrap().clone();
    assert_eq!(posts.iter().filter(|(p, _)| p == "/repos/riverside/patient-portal/issues").count(), issues);
    let comment = posts.iter().find(|(p, _)| p == "/repos/riverside/patient-portal/issues/128/comments").expect("PR comment");
    assert!(comment.1["body"].as_str().unwrap().contains("<!-- waooaw:key=pr:128:"), "{}", comment.1);
    let first_issue = posts.iter().find(|(p, _)| p.ends_with("/issues")).unwrap();
    assert!(first_issue.1["labels"].as_array().unwrap().contains(&json!("waooaw")), "{}", first_issue.1);
    let (_, v) = app.get_json(&format!("/v1/outputs?tenant_id={}", acme.id)).await;
    assert!(
        v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "done" && r["url"].as_str().unwrap().starts_with("https://github.com/")),
        "{v}"
    );

    // The same pull request reviewed again: the same keys, nothing new is sent.
    upload(&app, &acme.id, &vera, "pr-128-again.json", "application/json", PR).await;
    let start = Instant::now();
    while app.runtime.wakes_in_flight() > 0 || start.elapsed() < std::time::Duration::from_millis(300) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(dispatch_due(&store, &outputs_cfg, chrono::Utc::now()).await, 0);
    assert_eq!(gh.posts.lock().unwrap().len(), posts.len(), "a repeated finding is not filed again");

    // Nowhere in the database file is the token in clear.
    let bytes = std::fs::read(&app.db_path).unwrap();
    let wal = std::fs::read(app.db_path.with_extension("db-wal")).unwrap_or_default();
    for b in [&bytes, &wal] {
        assert!(!b.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()), "the token is in the database file");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_cut_short_after_github_answered_is_adopted_not_repeated() {
    waooaw_integrations::install_crypto_provider();
    let (gh, base) = github().await;
    let app = TestApp::start().await;
    let acme = app.create_tenant("Riverside Health").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    connect(&app, &acme.id).await;
    upload(&app, &acme.id, &vera, "vision.toml", "text/plain", POLICY).await;
    upload(&app, &acme.id, &vera, "pr-128.json", "application/json", PR).await;
    let rows = outputs(&app, &acme.id, 2).await;
    let store = app.runtime.store().clone();
    let tenant: waooaw_domain::TenantId = acme.id.parse().unwrap();

    // A previous dispatcher claimed every row and GitHub created them, then it died before
    // recording the answers: the rows say one attempt, GitHub has the bodies with their markers.
    for row in &rows {
        let key = row["key"].as_str().unwrap();
        let action: waooaw_domain::ExternalAction = serde_json::from_value(row["action"].clone()).unwrap();
        match action {
            waooaw_domain::ExternalAction::GithubIssue { title, body, labels } => {
                let n = gh.issues.lock().unwrap().len() + 1;
                gh.issues.lock().unwrap().push(json!({"number": n, "title": title, "body": body,
                    "labels": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
                    "html_url": format!("https://github.com/riverside/patient-portal/issues/{n}")}));
            }
            waooaw_domain::ExternalAction::GithubComment { number, body } => {
                gh.comments.lock().unwrap().push(json!({"id": 9, "body": body,
                    "html_url": format!("https://github.com/riverside/patient-portal/pull/{number}#issuecomment-9")}));
            }
            other => panic!("WowVision hands nothing over: {other:?}"),
        }
        let claimed = waooaw_store::OutboxAttempt {
            status: waooaw_domain::OutboxStatus::Pending,
            attempts: 1,
            last_error: None,
            url: None,
            next_attempt_at: chrono::Utc::now() - chrono::Duration::seconds(1),
        };
        store.update_outbox(tenant, key, &claimed).await.unwrap();
    }
    let key = waooaw_integrations::secrets::MasterKey::from_hex(TEST_MASTER_KEY).unwrap();
    let cfg = GithubOutputs::new(key, base, &app.breakers);
    assert_eq!(dispatch_due(&store, &cfg, chrono::Utc::now()).await, rows.len());
    assert!(gh.posts.lock().unwrap().is_empty(), "nothing was created a second time");
    let (_, v) = app.get_json(&format!("/v1/outputs?tenant_id={}", acme.id)).await;
    assert!(v["outputs"].as_array().unwrap().iter().all(|r| r["status"] == "done"), "{v}");
}

/// The fixture's `issue_comment` delivery, replying on `issue_body` with `comment` as `association`.
fn reply(issue_body: &str, comment: &str, login: &str, association: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(include_str!("fixtures/issue_comment_created.json")).unwrap();
    v["issue"]["body"] = json!(issue_body);
    v["comment"]["body"] = json!(comment);
    v["comment"]["user"]["login"] = json!(login);
    v["comment"]["author_association"] = json!(association);
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_one_escalation_is_answered_by_a_member_s_reply_on_its_issue() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Riverside Health").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    // Escalations are announced on GitHub only for a tenant that connected a repository.
    connect(&app, &acme.id).await;
    upload(&app, &acme.id, &vera, "vision.toml", "text/plain", POLICY).await;
    upload(&app, &acme.id, &vera, "pr-128.json", "application/json", PR).await;
    let rows = outputs(&app, &acme.id, 3).await;
    // The escalation has its own issue, which says how to answer and names it.
    let escalation_issue = rows
        .iter()
        .find(|r| r["key"].as_str().is_some_and(|k| k.starts_with("escalation:")))
        .unwrap_or_else(|| panic!("no issue for the escalation: {rows:#?}"));
    let layer1 = escalation_issue["action"]["body"].as_str().unwrap().to_owned();
    assert!(layer1.contains("Reply on this issue with `APPROVE`, `REJECT` or `MODIFY:"), "{layer1}");
    assert!(layer1.contains("<!-- waooaw:escalation="), "{layer1}");
    assert!(layer1.contains("\"change_layer1_principle\"") && layer1.contains("Vera"), "shows who asks and the context: {layer1}");
    let title = escalation_issue["action"]["title"].as_str().unwrap();
    assert_eq!(title, "Needs a decision: vision.layer1 from Vera (WowVision Prime)");
    let (_, pending) = app.get_json(&format!("/v1/escalations?tenant_id={}&status=pending", acme.id)).await;
    assert_eq!(pending["escalations"].as_array().map(Vec::len), Some(1), "{pending}");
    let id = pending["escalations"][0]["id"].as_str().expect("a pending escalation").to_owned();
    assert!(layer1.contains(&id), "the issue names escalation {id}");
    assert_eq!(escalation_issue["key"], format!("escalation:{id}"));
    // The layer-1 violation's issue points to the question rather than carrying it: it is
    // deduplicated across pull requests, the question is asked per pull request.
    let violation = rows
        .iter()
        .filter_map(|r| r["action"]["body"].as_str())
        .find(|b| b.contains("This is a layer-1 principle"))
        .unwrap_or_else(|| panic!("no layer-1 violation issue: {rows:#?}"));
    assert!(violation.contains(&id) && !violation.contains("<!-- waooaw:escalation="), "{violation}");
    // The same pull request reviewed again asks nothing new.
    upload(&app, &acme.id, &vera, "pr-128-again.json", "application/json", PR).await;
    let start = Instant::now();
    while app.instance(&acme.id, &vera).await["wake_count"] != 3 {
        assert!(start.elapsed() < DEADLINE, "the second review never ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (_, pending) = app.get_json(&format!("/v1/escalations?tenant_id={}&status=pending", acme.id)).await;
    assert_eq!(pending["escalations"].as_array().map(Vec::len), Some(1), "asked once: {pending}");

    // A drive-by commenter cannot answer it.
    let r = app.github(&acme.id, &acme.secret, "issue_comment", &reply(&layer1, "APPROVE", "randomuser", "NONE")).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["escalation"]["answered"], false, "{v}");
    // A comment that is not an answer is just an event.
    let v: Value = app
        .github(&acme.id, &acme.secret, "issue_comment", &reply(&layer1, "Why is this flagged?", "ana-lima", "MEMBER"))
        .await
        .json()
        .await
        .unwrap();
    assert!(v["escalation"].is_null(), "{v}");
    // A member's APPROVE answers it, once.
    let ok = reply(&layer1, "APPROVE: the founders signed off the new north star on Nov 20", "ana-lima", "MEMBER");
    let v: Value = app.github(&acme.id, &acme.secret, "issue_comment", &ok).await.json().await.unwrap();
    assert_eq!((v["escalation"]["answered"].as_bool(), v["escalation"]["by"].as_str()), (Some(true), Some("ana-lima")), "{v}");
    let (_, e) = app.get_json(&format!("/v1/escalations?tenant_id={}&status=answered", acme.id)).await;
    let answered = &e["escalations"][0];
    assert_eq!((answered["id"].as_str(), answered["answer"]["verdict"].as_str()), (Some(id.as_str()), Some("approve")), "{e}");
    assert_eq!(answered["answer"]["answered_by"], "@ana-lima on GitHub");
    let v: Value =
        app.github(&acme.id, &acme.secret, "issue_comment", &reply(&layer1, "REJECT", "founder", "OWNER")).await.json().await.unwrap();
    assert_eq!(v["escalation"]["answered"], false, "the first answer stands: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_agent_s_escalation_opens_one_issue_for_a_connected_tenant_only() {
    waooaw_integrations::install_crypto_provider();
    let (gh, base) = github().await;
    let app = TestApp::start().await;
    let acme = app.create_tenant("Riverside Health").await;
    let globex = app.create_tenant("Globex").await;
    let hire = |tenant: String, name: &'static str| {
        let req = json!({"tenant_id": tenant, "specialization_id": "technical-support", "name": name, "tone": "warm"});
        let app = &app;
        async move {
            let r = app.post_json("/v1/instances", &req).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
        }
    };
    let tess = hire(acme.id.clone(), "Tess").await;
    let gus = hire(globex.id.clone(), "Gus").await;
    connect(&app, &acme.id).await;

    // No rule decides a refund this large and no LLM is configured: a human does. The context
    // holds a code fence, which must not break out of the issue's context block.
    let context = json!({"ticket": "T-4410", "refund_usd": 1850, "note": "customer pasted ```rm -rf``` in the ticket"});
    let ask = |tenant: &str, instance: &str| json!({"tenant_id": tenant, "instance_id": instance, "request_type": "refund.approve", "context": context, "urgency": "high"});
    let d: Value = app.post_json("/v1/decisions", &ask(&acme.id, &tess)).send().await.unwrap().json().await.unwrap();
    assert_eq!(d["verdict"], "escalate", "{d}");
    let id = d["fields"]["escalation_id"].as_str().expect("the decision names its escalation").to_owned();
    // Asked again while it waits: the same escalation, no second issue.
    let again: Value = app.post_json("/v1/decisions", &ask(&acme.id, &tess)).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["fields"]["escalation_id"].as_str(), Some(id.as_str()), "{again}");
    // Globex has no GitHub connection: its escalation waits in WAOOAW only.
    let theirs: Value = app.post_json("/v1/decisions", &ask(&globex.id, &gus)).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs["verdict"], "escalate");
    let (_, v) = app.get_json(&format!("/v1/outputs?tenant_id={}", globex.id)).await;
    assert_eq!(v["outputs"].as_array().map(Vec::len), Some(0), "{v}");

    let rows = outputs(&app, &acme.id, 1).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["key"], format!("escalation:{id}"));
    let key = waooaw_integrations::secrets::MasterKey::from_hex(TEST_MASTER_KEY).unwrap();
    let cfg = GithubOutputs::new(key, base, &app.breakers);
    assert_eq!(dispatch_due(&app.runtime.store().clone(), &cfg, chrono::Utc::now()).await, 1);
    let posts = gh.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    let (path, body) = &posts[0];
    assert_eq!(path, "/repos/riverside/patient-portal/issues");
    // Technical Support's spec gives its own title (`[outputs] escalation_issue_title`).
    assert_eq!(body["title"], "Support escalation from Tess: refund.approve");
    assert_eq!(body["labels"], json!(["waooaw", "escalation", "urgency-high"]));
    let text = body["body"].as_str().unwrap();
    assert!(text.contains("\"refund_usd\": 1850") && text.contains("````json\n"), "context in a longer fence: {text}");
    assert!(text.contains(&format!("<!-- waooaw:escalation={id} -->")) && text.contains(&format!("<!-- waooaw:key=escalation:{id} -->")));

    // A member's reply on that issue answers it.
    let ok = reply(text, "MODIFY: refund 1,000 now and offer a credit for the rest", "ana-lima", "MEMBER");
    let v: Value = app.github(&acme.id, &acme.secret, "issue_comment", &ok).await.json().await.unwrap();
    assert_eq!(v["escalation"]["answered"], true, "{v}");
    let (_, e) = app.get_json(&format!("/v1/escalations?tenant_id={}&status=answered", acme.id)).await;
    assert_eq!(e["escalations"][0]["answer"]["verdict"], "act", "{e}");
    // The same reply delivered to Globex's webhook cannot answer Acme's escalation.
    let v: Value = app.github(&globex.id, &globex.secret, "issue_comment", &ok).await.json().await.unwrap();
    assert_ne!(v["escalation"]["answered"], true, "{v}");
}
