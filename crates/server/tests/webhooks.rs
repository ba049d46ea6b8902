//! GitHub webhooks over real HTTP, with payloads shaped as GitHub sends them (tests/fixtures)
//! and signed over the exact bytes with the tenant's secret.

mod common;

use common::{TestApp, eventually, expect_error, fixture, fixture_json, json_of, sign};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The ids and types a mapped delivery answered with.
async fn accepted_events(resp: reqwest::Response) -> Vec<(String, String)> {
    let (status, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let ids = body["events"].as_array().expect("events");
    let types = body["types"].as_array().expect("types");
    assert_eq!(ids.len(), types.len(), "{body}");
    ids.iter().zip(types).map(|(i, t)| (i.as_str().unwrap().to_owned(), t.as_str().unwrap().to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_answers_with_zen() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Acme").await;
    let (status, body) = json_of(app.github(&t.id, &t.secret, "ping", &fixture("ping.json")).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"ok": true, "zen": "Design for failure."}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_becomes_file_events_and_a_commit_and_wakes_only_for_watched_paths() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Acme").await;
    let inst = app.create_wowvision(&t.id, "Vera").await;
    let push = fixture_json("push.json");

    let events = accepted_events(app.github(&t.id, &t.secret, "push", &fixture("push.json")).await).await;
    let types: Vec<&str> = events.iter().map(|(_, ty)| ty.as_str()).collect();
    assert_eq!(types.len(), 5, "{events:?}");
    assert_eq!(types.last(), Some(&"commit.pushed"), "the commit comes after its files: {events:?}");

    // Read every event back: type, path, commit, and one correlation id for the whole delivery.
    let mut by_path = std::collections::BTreeMap::new();
    let mut correlation = None;
    let mut commit_event = None;
    for (id, ty) in &events {
        let e = app.event(&t.id, id).await;
        let ev = &e["event"];
        assert_eq!(ev["type"], ty.as_str(), "{e}");
        assert_eq!(ev["source"], "github:acme-corp/waooaw-demo", "{e}");
        assert_eq!(ev["payload"]["repository"], "acme-corp/waooaw-demo", "{e}");
        assert_eq!(ev["payload"]["ref"], "refs/heads/main", "{e}");
        assert!(ev["payload"]["github_delivery"].as_str().is_some_and(|d| uuid::Uuid::parse_str(d).is_ok()), "{e}");
        let c = ev["correlation_id"].as_str().unwrap().to_owned();
        assert_eq!(correlation.get_or_insert_with(|| c.clone()), &c, "one correlation id per delivery");
        if ty == "commit.pushed" {
            commit_event = Some(id.clone());
            assert_eq!(ev["payload"]["after"], push["after"]);
            assert_eq!(ev["payload"]["before"], push["before"]);
            assert_eq!(ev["payload"]["commits"], 2);
            assert_eq!(ev["payload"]["pusher"], "octocat");
            assert_eq!(ev["payload"]["files"], json!(["docs/roadmap.md", "docs/vision.md", "old/notes.md", "src/app.ts"]));
        } else {
            let path = ev["payload"]["path"].as_str().unwrap().to_owned();
            by_path.insert(
                path,
                (ty.clone(), ev["payload"]["commit"].as_str().unwrap().to_owned(), ev["payload"]["author"].clone(), id.clone()),
            );
        }
    }
    let first = push["commits"][0]["id"].as_str().unwrap();
    let second = push["commits"][1]["id"].as_str().unwrap();
    let expected = [
        ("docs/roadmap.md", "file.created", first, "octocat"),
        ("docs/vision.md", "file.modified", first, "octocat"),
        ("old/notes.md", "file.deleted", second, "monalisa"),
        ("src/app.ts", "file.modified", second, "monalisa"),
    ];
    assert_eq!(by_path.len(), expected.len(), "{by_path:?}");
    for (path, ty, commit, author) in expected {
        let (got_ty, got_commit, got_author, _) = &by_path[path];
        assert_eq!((got_ty.as_str(), got_commit.as_str(), got_author.as_str()), (ty, commit, Some(author)), "{path}");
    }

    // Routing: once the commit (published last) is dispatched, every event of the delivery is.
    let commit_event = commit_event.unwrap();
    let e = app.wait_dispatched(&t.id, &commit_event).await;
    assert_eq!(e["deliveries"].as_array().unwrap().len(), 1, "the commit touched watched files: {e}");
    assert_eq!(e["deliveries"][0]["status"], "done", "{e}");
    for (path, (_, _, _, id)) in &by_path {
        let e = app.wait_dispatched(&t.id, id).await;
        let deliveries = e["deliveries"].as_array().unwrap();
        if path == "src/app.ts" {
            assert!(deliveries.is_empty(), "src/app.ts is not a watched path: {e}");
        } else {
            assert_eq!(deliveries.len(), 1, "{path}: {e}");
            assert_eq!(deliveries[0]["instance_id"], inst.as_str());
            assert_eq!(deliveries[0]["status"], "done", "{path}: {e}");
        }
    }

    let i = app.instance(&t.id, &inst).await;
    assert_eq!(i["wake_count"], 4, "3 watched files and the commit: {i}");
    assert_eq!(i["context_version"], 4, "{i}");
    let state = &i["context"]["state"];
    let mut changed: Vec<&str> = state["recent_changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    changed.sort_unstable();
    assert_eq!(changed, ["docs/roadmap.md", "docs/vision.md", "old/notes.md"], "{state}");
    assert_eq!(state["last_commit"]["sha"], push["after"], "{state}");
    assert_eq!(state["last_commit"]["files"], 4, "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_requests_are_tracked_open_then_closed() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Acme").await;
    let inst = app.create_wowvision(&t.id, "Vera").await;

    let opened = accepted_events(app.github(&t.id, &t.secret, "pull_request", &fixture("pull_request_opened.json")).await).await;
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].1, "pull_request.opened");
    let e = app.wait_dispatched(&t.id, &opened[0].0).await;
    let p = &e["event"]["payload"];
    assert_eq!(p["number"], 42, "{e}");
    assert_eq!(p["title"], "Rewrite the product vision for 2025");
    assert_eq!(p["author"], "monalisa");
    assert_eq!(p["head_ref"], "vision-2025");
    assert_eq!(p["base_ref"], "main");
    assert_eq!(p["head_sha"], "9b2f1c4e7a3d5b6c8e0f1a2b3c4d5e6f7a8b9c0d");
    assert_eq!(p["url"], "https://github.com/acme-corp/waooaw-demo/pull/42");
    assert_eq!((p["draft"].as_bool(), p["merged"].as_bool()), (Some(false), Some(false)));
    assert_eq!(e["deliveries"][0]["status"], "done", "{e}");
    let i = app.instance(&t.id, &inst).await;
    assert_eq!(i["context"]["state"]["open_pull_requests"], json!([42]), "{i}");

    let closed = accepted_events(app.github(&t.id, &t.secret, "pull_request", &fixture("pull_request_closed.json")).await).await;
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].1, "pull_request.closed");
    let e = app.wait_dispatched(&t.id, &closed[0].0).await;
    assert_eq!(e["event"]["payload"]["merged"], true, "{e}");
    let i = app.instance(&t.id, &inst).await;
    assert_eq!(i["context"]["state"]["open_pull_requests"], json!([]), "{i}");
    assert_eq!(i["wake_count"], 2, "{i}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_and_comments_become_issue_events() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Acme").await;
    let inst = app.create_wowvision(&t.id, "Vera").await;

    let issue = accepted_events(app.github(&t.id, &t.secret, "issues", &fixture("issues_opened.json")).await).await;
    assert_eq!(issue.len(), 1);
    assert_eq!(issue[0].1, "issue.opened");
    let e = app.wait_dispatched(&t.id, &issue[0].0).await;
    let p = &e["event"]["payload"];
    assert_eq!(p["number"], 43, "{e}");
    assert_eq!(p["author"], "octocat");
    assert_eq!(p["labels"], json!(["vision", "documentation"]));
    assert_eq!(e["deliveries"], json!([]), "wowvision does not subscribe to issues: {e}");

    let comment = accepted_events(app.github(&t.id, &t.secret, "issue_comment", &fixture("issue_comment_created.json")).await).await;
    assert_eq!(comment.len(), 1);
    assert_eq!(comment[0].1, "issue.commented");
    let e = app.wait_dispatched(&t.id, &comment[0].0).await;
    let p = &e["event"]["payload"];
    assert_eq!(p["number"], 43, "{e}");
    assert_eq!(p["comment_id"], 2115551234u64);
    assert_eq!(p["author"], "monalisa");
    assert_eq!(p["is_pull_request"], false);
    assert_eq!(app.instance(&t.id, &inst).await["wake_count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deliveries_are_refused_and_publish_nothing() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Acme").await;
    let other = app.create_tenant("Globex").await;
    let inst = app.create_wowvision(&t.id, "Vera").await;
    let other_inst = app.create_wowvision(&other.id, "Gus").await;
    // A push that touches watched files: had any refused delivery got through, Vera would wake.
    let body = fixture("push.json");
    let url = app.url(&format!("/v1/webhooks/github/{}", t.id));
    let send = |sig: Option<String>, event: &'static str, body: Vec<u8>| {
        let mut req = app
            .client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", uuid::Uuid::new_v4().to_string())
            .body(body);
        if let Some(sig) = sig {
            req = req.header("x-hub-signature-256", sig);
        }
        req.send()
    };

    // No signature.
    expect_error(send(None, "push", body.clone()).await.unwrap(), StatusCode::BAD_REQUEST, "missing_signature").await;
    // Signed with some other secret, or with another tenant's real one.
    expect_error(
        send(Some(sign(b"not-the-tenant-secret-at-all", &body)), "push", body.clone()).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
    )
    .await;
    expect_error(app.github(&t.id, &other.secret, "push", &body).await, StatusCode::UNAUTHORIZED, "invalid_signature").await;
    // The right secret, but the body changed after signing (one byte, or re-serialised).
    let mut tampered = body.clone();
    let at = tampered.windows(14).position(|w| w == b"docs/vision.md").unwrap();
    tampered[at] = b'D';
    expect_error(
        send(Some(sign(t.secret.as_bytes(), &body)), "push", tampered).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
    )
    .await;
    let reserialised = serde_json::to_vec(&fixture_json("push.json")).unwrap();
    assert_ne!(reserialised, body);
    expect_error(
        send(Some(sign(t.secret.as_bytes(), &body)), "push", reserialised).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
    )
    .await;
    // Malformed headers: GitHub's legacy SHA-1 header, bare hex, a truncated digest, non-hex.
    let good = sign(t.secret.as_bytes(), &body);
    let hex_part = good.trim_start_matches("sha256=").to_owned();
    for bad in [
        format!("sha1={}", &hex_part[..40]),
        hex_part.clone(),
        format!("sha256={}", &hex_part[..32]),
        format!("sha256={}", "zz".repeat(32)),
        "sha256=".to_owned(),
        format!("SHA256={hex_part}"),
    ] {
        expect_error(send(Some(bad.clone()), "push", body.clone()).await.unwrap(), StatusCode::UNAUTHORIZED, "invalid_signature").await;
    }
    // Unknown tenant (the signature is checked against nothing).
    let ghost = uuid::Uuid::now_v7().to_string();
    expect_error(app.github(&ghost, &t.secret, "push", &body).await, StatusCode::NOT_FOUND, "tenant_not_found").await;
    // A valid signature over bytes that are not JSON, or JSON that is not a push.
    let broken = b"{\"ref\": \"refs/heads/main\", \"commits\": [".to_vec();
    expect_error(app.github(&t.id, &t.secret, "push", &broken).await, StatusCode::BAD_REQUEST, "malformed_json").await;
    expect_error(app.github(&t.id, &t.secret, "push", b"").await, StatusCode::BAD_REQUEST, "malformed_json").await;
    let msg = expect_error(
        app.github(&t.id, &t.secret, "push", br#"{"ref":"refs/heads/main"}"#).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(msg.contains("commits"), "{msg}");
    let msg = expect_error(
        app.github(&t.id, &t.secret, "pull_request", br#"{"number":1,"pull_request":{}}"#).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(msg.contains("action"), "{msg}");
    // No X-GitHub-Event.
    let resp =
        app.client.post(&url).header("x-hub-signature-256", sign(t.secret.as_bytes(), &body)).body(body.clone()).send().await.unwrap();
    expect_error(resp, StatusCode::BAD_REQUEST, "missing_parameter").await;
    // Over the body limit.
    let mut big = fixture_json("push.json");
    big["padding"] = json!("x".repeat(common::BODY_LIMIT));
    let big = serde_json::to_vec(&big).unwrap();
    expect_error(app.github(&t.id, &t.secret, "push", &big).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // Events GitHub sends that the platform does not map are acknowledged and ignored.
    let star = br#"{"action":"created","starred_at":"2024-05-16T12:00:00Z","repository":{"full_name":"acme-corp/waooaw-demo"},"sender":{"login":"octocat"}}"#;
    let (status, ignored) = json_of(app.github(&t.id, &t.secret, "star", star).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ignored}");
    assert!(ignored["ignored"].as_str().is_some_and(|m| m.contains("star")), "{ignored}");
    assert!(ignored.get("events").is_none(), "{ignored}");

    // None of it reached either instance, and nothing was dead-lettered.
    app.assert_no_wakes_since(&t.id, &inst, 0).await;
    assert_eq!(app.instance(&other.id, &other_inst).await["wake_count"], 0);
    assert!(app.dead_letters(&t.id).await.is_empty());

    // The genuine delivery still goes through afterwards.
    let events = accepted_events(app.github(&t.id, &t.secret, "push", &body).await).await;
    assert_eq!(events.len(), 5);
    let last = &events.last().unwrap().0;
    app.wait_dispatched(&t.id, last).await;
    let i = eventually("the push's wakes", || async {
        let i = app.instance(&t.id, &inst).await;
        (i["wake_count"] == 5).then_some(i)
    })
    .await;
    assert_eq!(i["context_version"], 5, "{i}");
    assert_eq!(app.instance(&other.id, &other_inst).await["wake_count"], 0, "tenant isolation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_is_signed_over_its_exact_bytes() {
    // The same JSON with different whitespace has a different signature; the server must verify
    // the raw bytes, not a re-encoding.
    let app = TestApp::start().await;
    let t = app.create_tenant("Acme").await;
    for (name, event) in [("ping.json", "ping"), ("issues_opened.json", "issues"), ("issue_comment_created.json", "issue_comment")] {
        let raw = fixture(name);
        let compact = serde_json::to_vec(&serde_json::from_slice::<Value>(&raw).unwrap()).unwrap();
        assert_ne!(sign(t.secret.as_bytes(), &raw), sign(t.secret.as_bytes(), &compact));
        let resp = app.github(&t.id, &t.secret, event, &compact).await;
        assert!(resp.status().is_success(), "{name} compact: {}", resp.status());
        let resp = app.github(&t.id, &t.secret, event, &raw).await;
        assert!(resp.status().is_success(), "{name} raw: {}", resp.status());
    }
}
