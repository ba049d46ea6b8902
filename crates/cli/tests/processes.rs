//! Whole-process tests of the `waooaw` binary: a crash with SIGKILL on the embedded default,
//! and two processes on PostgreSQL + Redis where one dies and the other finishes its work.

use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{Server, TOKEN};

/// Creates a tenant and `n` WowVision instances; returns (tenant id, instance ids).
async fn setup(s: &Server, n: usize) -> (String, Vec<String>) {
    let t = s.post("/v1/tenants", json!({"name": "Acme Health"})).await["id"].as_str().expect("tenant id").to_owned();
    let mut ids = Vec::new();
    for i in 0..n {
        let inst =
            s.post("/v1/instances", json!({"tenant_id": t, "specialization_id": "wowvision-prime", "name": format!("Vera {i}")})).await;
        ids.push(inst["id"].as_str().expect("instance id").to_owned());
    }
    (t, ids)
}

/// Publishes `n` watched-file events, 16 at a time; returns once all are accepted.
async fn publish(s: &Server, tenant: &str, n: usize) {
    let mut pending = Vec::new();
    for i in 0..n {
        let (base, tenant) = (s.base.clone(), tenant.to_owned());
        pending.push(tokio::spawn(async move {
            let body =
                json!({"type": "file.modified", "source": "test", "tenant_id": tenant, "payload": {"path": format!("docs/page-{i}.md")}});
            let r = reqwest::Client::new().post(format!("{base}/v1/events")).bearer_auth(TOKEN).json(&body).send().await.expect("publish");
            assert_eq!(r.status().as_u16(), 202);
        }));
        if pending.len() == 16 {
            for p in pending.drain(..) {
                p.await.expect("publisher");
            }
        }
    }
    for p in pending {
        p.await.expect("publisher");
    }
}

async fn wake_counts(s: &Server, tenant: &str, ids: &[String]) -> Vec<i64> {
    let mut out = Vec::new();
    for id in ids {
        let v = s.get(&format!("/v1/instances/{id}?tenant_id={tenant}")).await;
        out.push(v["wake_count"].as_i64().unwrap_or(-1));
        assert_eq!(v["wake_count"], v["context_version"], "one context version per wake");
    }
    out
}

async fn until_counts(s: &Server, tenant: &str, ids: &[String], want: i64) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let counts = wake_counts(s, tenant, ids).await;
        if counts.iter().all(|c| *c >= want) || Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_before_handling_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = 400;
    let mut first = Server::start(dir.path(), &[]);
    first.ready().await;
    let (tenant, ids) = setup(&first, 2).await;
    publish(&first, &tenant, events).await;
    let at_kill = wake_counts(&first, &tenant, &ids).await;
    first.kill();
    eprintln!("wakes done when killed: {at_kill:?} of {events} each");

    let second = Server::start(dir.path(), &[]);
    second.ready().await;
    let counts = until_counts(&second, &tenant, &ids, events as i64).await;
    // Exactly once each: no event lost, none applied twice.
    assert_eq!(counts, vec![events as i64; ids.len()]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(wake_counts(&second, &tenant, &ids).await, vec![events as i64; ids.len()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_process_finishes_the_work_of_a_killed_one() {
    let Some(db) = waooaw_testkit::fresh_pg_database("two_processes").await else { return };
    let stream = waooaw_testkit::unique_stream();
    let redis = waooaw_testkit::redis_url();
    let env: [(&str, &str); 4] = [
        ("WAOOAW_DATABASE_URL", &db),
        ("WAOOAW_REDIS_URL", &redis),
        ("WAOOAW_REDIS_STREAM", &stream),
        ("WAOOAW_REDIS_CLAIM_IDLE_MS", "1000"),
    ];
    let (da, db_dir) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let mut a = Server::start(da.path(), &env);
    a.ready().await;
    let b = Server::start(db_dir.path(), &env);
    b.ready().await;
    let (tenant, ids) = setup(&a, 3).await;
    let events = 300;
    publish(&a, &tenant, events).await;
    a.kill();
    let counts = until_counts(&b, &tenant, &ids, events as i64).await;
    assert_eq!(counts, vec![events as i64; ids.len()], "the survivor finished every event exactly once");
    waooaw_testkit::drop_stream(&stream).await;
}

fn cli(base: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_waooaw"))
        .args(args)
        .env("WAOOAW_SERVER", base)
        .env("WAOOAW_ADMIN_TOKEN", TOKEN)
        .output()
        .expect("run waooaw");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("CLI printed no JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_drives_a_running_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    server.ready().await;
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&server.base, &refs)
    };
    let (ok, out, err) = run(vec!["tenants".into(), "create".into(), "--name".into(), "Acme Health".into()]);
    assert!(ok, "{err}");
    let tenant = json_of(&out)["id"].as_str().expect("id").to_owned();
    let (ok, out, err) =
        run(["instances", "create", "--tenant", &tenant, "--specialization", "wowvision-prime", "--name", "Vera", "--focus", "docs"]
            .map(String::from)
            .to_vec());
    assert!(ok, "{err}");
    let instance = json_of(&out)["id"].as_str().expect("id").to_owned();
    let (ok, out, err) =
        run(["events", "publish", "--tenant", &tenant, "--type", "file.created", "--payload", r#"{"path":"docs/launch.md"}"#]
            .map(String::from)
            .to_vec());
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["status"], "accepted");
    // A payload without a path dead-letters; the CLI lists and redrives it.
    let (ok, _, err) =
        run(["events", "publish", "--tenant", &tenant, "--type", "file.created", "--payload", "{}"].map(String::from).to_vec());
    assert!(ok, "{err}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let dead_id = loop {
        let (ok, out, err) = run(["dead-letters", "list", "--tenant", &tenant].map(String::from).to_vec());
        assert!(ok, "{err}");
        if let Some(id) = json_of(&out)["dead_letters"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "no dead letter appeared");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (ok, _, err) = run(["dead-letters", "redrive", "--tenant", &tenant, &dead_id].map(String::from).to_vec());
    assert!(ok, "{err}");
    let (ok, _, err) = run(["dead-letters", "redrive", "--tenant", &tenant, &dead_id].map(String::from).to_vec());
    assert!(!ok && err.contains("dead_letter_not_found"), "second redrive must fail: {err}");
    let (ok, out, err) = run(["instances", "show", "--tenant", &tenant, &instance].map(String::from).to_vec());
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["focus_areas"], json!(["docs"]));
    // Bad input from the CLI names the problem.
    let (ok, _, err) =
        run(["events", "publish", "--tenant", &tenant, "--type", "file.created", "--payload", "{oops"].map(String::from).to_vec());
    assert!(!ok && err.contains("--payload:1:2"), "{err}");
    let (ok, _, err) = run(["events", "publish", "--tenant", &tenant, "--type", "Not.Valid"].map(String::from).to_vec());
    assert!(!ok && err.contains("invalid_event_type"), "{err}");
    let (ok, _, err) = run(["instances", "pause", "--tenant", &tenant, "not-a-uuid"].map(String::from).to_vec());
    assert!(!ok && err.contains("invalid_id"), "{err}");
    // Budgets: set an instance's, show it as a table and as JSON; a negative one is refused.
    let (ok, out, err) = run(["budgets", "set", "--tenant", &tenant, "--instance", &instance, "--tokens-per-day", "25000", "--json"]
        .map(String::from)
        .to_vec());
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["instances"][0]["limits"]["tokens_per_day"], 25_000);
    let (ok, out, err) = run(["budgets", "show", "--tenant", &tenant].map(String::from).to_vec());
    assert!(ok, "{err}");
    assert!(out.contains(&instance) && out.contains("25000"), "{out}");
    let (ok, _, err) = run(["budgets", "set", "--tenant", &tenant, "--usd-per-day=-4"].map(String::from).to_vec());
    assert!(!ok && err.contains("usd_per_day"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_asks_the_decision_engine_and_answers_its_escalations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    server.ready().await;
    let (tenant, ids) = setup(&server, 1).await;
    let instance = &ids[0];
    let run = |args: &[&str]| {
        let (ok, out, err) = cli(&server.base, args);
        assert!(ok, "waooaw {args:?}: {err}");
        json_of(&out)
    };
    let feature_pr = r#"{"number":482,"title":"feat(billing): prorate plan changes","files":["src/billing/proration.rs"]}"#;
    let make = ["decisions", "make", "--tenant", &tenant, "--instance", instance, "--type", "pr.review", "--context", feature_pr];
    // No rule decides a feature PR and this server has no LLM: a human is asked.
    let d = run(&make);
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("escalate"), Some("fallback")), "{d}");
    let secret = r#"{"path":"deploy/.env","change":"created"}"#;
    let d = run(&["decisions", "make", "--tenant", &tenant, "--instance", instance, "--type", "file.change", "--context", secret]);
    assert_eq!((d["verdict"].as_str(), d["method"].as_str()), (Some("reject"), Some("rules")), "{d}");

    let pending = run(&["escalations", "list", "--tenant", &tenant, "--status", "pending"]);
    let list = pending["escalations"].as_array().expect("escalations");
    assert_eq!((list.len(), list[0]["request"]["context"]["number"].as_i64()), (1, Some(482)), "{pending}");
    let id = list[0]["id"].as_str().expect("id").to_owned();
    let answer = ["escalations", "answer", "--tenant", &tenant, &id, "--answer", "approve", "--answered-by", "maria@acme.example"];
    assert!(run(&answer)["resume_event_id"].is_string());
    assert_eq!(run(&make)["method"], "cache", "the answer is learned");
    let (ok, _, err) = cli(&server.base, &answer);
    assert!(!ok && err.contains("409") && err.contains("conflict"), "{err}");
    let (ok, _, err) = cli(&server.base, &make[..8].iter().copied().chain(["--context", "{oops"]).collect::<Vec<_>>());
    assert!(!ok && err.contains("--context:1:2"), "{err}");

    let deadline = Instant::now() + Duration::from_secs(20);
    while run(&["decisions", "list", "--tenant", &tenant, "--instance", instance])["decisions"].as_array().map(Vec::len) != Some(3) {
        assert!(Instant::now() < deadline, "the decision log never held 3 decisions");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = run(&["decisions", "summary", "--tenant", &tenant, "--group-by", "instance"]);
    let methods = &s["groups"][instance.as_str()]["methods"];
    let counts: Vec<Option<i64>> = ["fallback", "rules", "cache"].iter().map(|m| methods[m]["decisions"].as_i64()).collect();
    assert_eq!(counts, [Some(1); 3], "{s}");
}

/// `waooaw demo`: every hired agent delivers from its bundled fixture, without any network.
#[tokio::test]
async fn the_demo_delivers_for_every_agent_it_hires() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start_command("demo", dir.path(), &[]);
    server.ready().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (tenant, instances) = loop {
        let tenants = server.get("/v1/tenants").await;
        let demo = tenants["tenants"].as_array().and_then(|l| l.iter().find(|t| t["name"] == "Northfield Demo Co")).cloned();
        if let Some(t) = demo {
            let id = t["id"].as_str().expect("tenant id").to_owned();
            let list = server.get(&format!("/v1/instances?tenant_id={id}")).await;
            let list = list["instances"].as_array().cloned().unwrap_or_default();
            if list.len() >= 15 {
                break (id, list);
            }
        }
        assert!(Instant::now() < deadline, "the demo tenant and its agents did not appear");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut kinds = std::collections::BTreeSet::new();
    for i in &instances {
        let (id, spec) = (i["id"].as_str().expect("id"), i["specialization_id"].as_str().expect("spec"));
        let delivered = loop {
            let d = server.get(&format!("/v1/instances/{id}/deliverables?tenant_id={tenant}")).await;
            let d = d["deliverables"].as_array().cloned().unwrap_or_default();
            if !d.is_empty() {
                break d;
            }
            assert!(Instant::now() < deadline, "{spec} delivered nothing");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // The guardian delivers twice (policy loaded, then the PR review): wait for the review.
        let delivered = if spec == "wowvision-prime" && delivered.len() < 2 {
            loop {
                let d = server.get(&format!("/v1/instances/{id}/deliverables?tenant_id={tenant}")).await;
                let d = d["deliverables"].as_array().cloned().unwrap_or_default();
                if d.len() >= 2 {
                    break d;
                }
                assert!(Instant::now() < deadline, "the guardian did not review the pull request");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } else {
            delivered
        };
        if spec == "sales-enablement" {
            let body = delivered[0]["body_markdown"].as_str().unwrap_or_default();
            assert!(body.contains("total cost of ownership") && body.contains("sales-playbook-2026.md#pricing"), "cited passage: {body}");
        }
        for d in &delivered {
            assert_ne!(d["kind"], "input_rejected", "{spec} could not use its fixture: {}", d["body_markdown"]);
            assert!(d["body_html"].as_str().is_some_and(|h| h.contains("<h1>") || h.contains("<h2>")), "{spec}: rendered HTML {d}");
            kinds.insert(d["kind"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert!(kinds.len() >= 16, "one kind of deliverable per agent: {kinds:?}");
    assert!(kinds.contains("pr_review"), "{kinds:?}");
    // The chains ran: Customer Success got Technical Support's churn-risk tickets, and the
    // Marketing Coordinator's page audit was done by SEO.
    let success = instances.iter().find(|i| i["specialization_id"] == "customer-success").expect("customer success hired");
    loop {
        let d = server.get(&format!("/v1/instances/{}/deliverables?tenant_id={tenant}", success["id"].as_str().expect("id"))).await;
        if d["deliverables"].as_array().into_iter().flatten().any(|d| d["kind"] == "churn_follow_ups") {
            break;
        }
        assert!(Instant::now() < deadline, "no churn-risk follow-ups: {d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let task = loop {
        let tasks = server.get(&format!("/v1/tasks?tenant_id={tenant}")).await;
        let task = tasks["tasks"].as_array().and_then(|l| l.first()).cloned().unwrap_or_default();
        if task["status"] == "done" {
            break task;
        }
        assert!(Instant::now() < deadline, "the coordinated task did not finish: {tasks}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((task["task_type"].as_str(), task["coordinator"].as_str()), (Some("page.audit"), Some("marketing-coordinator")), "{task}");
    server.kill();
}

/// What a local OTLP/HTTP collector received: (content type, body) per request.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

async fn otlp_collector() -> (Received, String) {
    use axum::routing::post;
    let received: Received = Default::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                sink.lock().expect("collector").push((ct, body.to_vec()));
                // An empty ExportTraceServiceResponse: zero protobuf bytes.
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind collector");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("collector") });
    (received, format!("http://{addr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_of_an_event_reach_an_otlp_collector_under_its_correlation_id() {
    let (received, endpoint) = otlp_collector().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Server::start(dir.path(), &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "100")]);
    s.ready().await;
    let (tenant, _) = setup(&s, 1).await;
    let body = json!({"type": "file.modified", "source": "test", "tenant_id": tenant, "payload": {"path": "docs/setup.md"}});
    let accepted = s.post("/v1/events", body).await;
    let correlation: uuid::Uuid = accepted["correlation_id"].as_str().expect("correlation id").parse().expect("uuid");

    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let got = received.lock().expect("collector").clone();
        // The trace id is the correlation id's 16 bytes; the wake span is in the same trace.
        seen = got.iter().any(|(ct, b)| ct == "application/x-protobuf" && contains(b, correlation.as_bytes()) && contains(b, b"wake"));
    }
    s.kill();
    let got = received.lock().expect("collector");
    assert!(
        seen,
        "no OTLP export with the event's trace: {} request(s), content types {:?}",
        got.len(),
        got.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
}

/// A sample's metric name and its labels.
type Sample = (String, Vec<(String, String)>);

/// `# TYPE` of every metric family, and the label sets of every sample, from Prometheus text.
fn parse_metrics(text: &str) -> (std::collections::HashMap<String, String>, Vec<Sample>) {
    let mut types = std::collections::HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                types.insert(name.to_owned(), kind.to_owned());
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (head, _value) = line.rsplit_once(' ').expect("sample value");
        let (name, labels) = match head.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (head, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned())))
            .collect();
        samples.push((name.to_owned(), labels));
    }
    (types, samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_have_their_names_types_and_bounded_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Server::start(dir.path(), &[]);
    s.ready().await;
    let (tenant, ids) = setup(&s, 1).await;
    publish(&s, &tenant, 3).await;
    until_counts(&s, &tenant, &ids, 3).await;
    let ask = json!({"tenant_id": tenant, "instance_id": ids[0], "request_type": "file.change",
        "context": {"path": "vision/layer1/principles.md", "change": "modified"}});
    s.post("/v1/decisions", ask).await;
    let text = reqwest::get(format!("{}/metrics", s.base)).await.expect("scrape").text().await.expect("body");
    s.kill();

    let (types, samples) = parse_metrics(&text);
    for (name, kind) in [
        ("waooaw_events_accepted_total", "counter"),
        ("waooaw_wakes_total", "counter"),
        ("waooaw_wake_latency_seconds", "histogram"),
        ("waooaw_wake_duration_seconds", "histogram"),
        ("waooaw_decisions_total", "counter"),
        ("waooaw_decision_duration_seconds", "histogram"),
        ("waooaw_http_requests_total", "counter"),
        ("waooaw_http_request_duration_seconds", "histogram"),
        ("waooaw_wakes_in_flight", "gauge"),
        ("waooaw_bus_pending_messages", "gauge"),
    ] {
        assert_eq!(types.get(name).map(String::as_str), Some(kind), "{name} in:\n{text}");
    }
    let labels_of =
        |name: &str| samples.iter().filter(|(n, _)| n == name).flat_map(|(_, l)| l.iter().map(|(k, _)| k.as_str())).collect::<Vec<_>>();
    assert!(labels_of("waooaw_decisions_total").contains(&"method") && labels_of("waooaw_decisions_total").contains(&"verdict"), "{text}");
    assert!(labels_of("waooaw_wakes_total").contains(&"specialization"), "{text}");
    assert!(labels_of("waooaw_wake_latency_seconds_bucket").contains(&"le"), "{text}");
    assert!(
        samples.iter().any(|(n, l)| n == "waooaw_http_requests_total" && l.iter().any(|(k, v)| k == "route" && v == "/v1/events")),
        "routes are labelled by their pattern: {text}"
    );
    for (name, labels) in &samples {
        assert!(name.starts_with("waooaw_"), "{name}");
        for (k, v) in labels {
            assert!(!["event_id", "instance_id", "tenant_id", "correlation_id"].contains(&k.as_str()), "{name} has an id label {k}");
            assert!(!v.contains(&tenant) && !ids.iter().any(|i| v.contains(i.as_str())), "{name} has an id value {v}");
        }
    }
}
