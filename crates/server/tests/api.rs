//! The JSON API over real HTTP: the happy path, every kind of bad input (status and error code,
//! and that nothing was written), tenant isolation and dead letters.

mod common;

use common::{BODY_LIMIT, TestApp, eventually, expect_error, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn file_event(tenant: &str, ty: &str, path: &str) -> Value {
    json!({"type": ty, "source": "test", "tenant_id": tenant, "payload": {"path": path}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_from_tenant_to_retired_instance() {
    let app = TestApp::start().await;

    // Probes and the status page need no token.
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, ready) = json_of(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["store"]["kind"], "sqlite", "{ready}");
    let resp = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("WAOOAW") && html.contains("wowvision-prime"), "{html}");
    assert!(html.contains("seo-ecommerce") && html.contains("$349/month, 7-day trial"), "the catalog with its offers: {html}");

    // The catalog.
    let (status, specs) = app.get_json("/v1/specializations").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = specs["specializations"].as_array().unwrap().iter().filter_map(|s| s["id"].as_str()).collect();
    assert!(ids.contains(&"wowvision-prime"), "{specs}");

    // A tenant: the secret is shown once at creation and never listed.
    let (status, t) = json_of(app.post_json("/v1/tenants", &json!({"name": "Acme Corp"})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["name"], "Acme Corp");
    let secret = t["webhook_secret"].as_str().expect("secret present");
    assert!(secret.len() >= 32, "{t}");
    let tenant = t["id"].as_str().unwrap().to_owned();
    let (_, tenants) = app.get_json("/v1/tenants").await;
    let listed = tenants["tenants"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], tenant.as_str());
    assert!(listed[0].get("webhook_secret").is_none(), "the secret leaks from the tenant list: {tenants}");

    // An instance, on trial.
    let req = json!({"tenant_id": tenant, "specialization_id": "wowvision-prime", "name": "Vera", "role_title": "Vision guardian"});
    let (status, inst) = json_of(app.post_json("/v1/instances", &req).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{inst}");
    assert_eq!(inst["status"], "trial");
    assert_eq!(inst["name"], "Vera");
    assert_eq!(inst["wake_count"], 0);
    let id = inst["id"].as_str().unwrap().to_owned();

    // An event wakes it once.
    let accepted = app.publish(&file_event(&tenant, "file.modified", "docs/vision.md")).await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["correlation_id"], accepted["id"], "a new chain correlates to its first event");
    let event_id = accepted["id"].as_str().unwrap();
    let e = app.wait_dispatched(&tenant, event_id).await;
    assert_eq!(e["event"]["type"], "file.modified");
    assert_eq!(e["event"]["payload"]["path"], "docs/vision.md");
    let deliveries = e["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{e}");
    assert_eq!(deliveries[0]["instance_id"], id.as_str());
    assert_eq!(deliveries[0]["status"], "done");
    assert_eq!(deliveries[0]["context_version"], 1);

    let i = app.instance(&tenant, &id).await;
    assert_eq!(i["wake_count"], 1, "{i}");
    assert_eq!(i["context_version"], 1, "{i}");
    assert_eq!(i["context"]["version"], 1, "{i}");
    assert_eq!(i["context"]["state"]["recent_changes"][0]["path"], "docs/vision.md", "{i}");
    assert_eq!(i["context"]["state"]["recent_changes"][0]["change"], "modified", "{i}");
    assert!(i["last_woken_at"].is_string(), "{i}");

    // Listed under its tenant.
    let (_, list) = app.get_json(&format!("/v1/instances?tenant_id={tenant}")).await;
    let list = list["instances"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id.as_str());

    // Pause: events are kept, not lost; resume delivers them.
    let (status, paused) = json_of(app.post(&format!("/v1/instances/{id}/pause?tenant_id={tenant}")).send().await.unwrap()).await;
    assert_eq!((status, paused["status"].as_str()), (StatusCode::OK, Some("paused")), "{paused}");
    let while_paused = app.publish_file_event(&tenant, "file.created", "docs/while-paused.md").await;
    let e = app.wait_dispatched(&tenant, &while_paused).await;
    assert_eq!(e["deliveries"][0]["status"], "deferred", "{e}");
    assert_eq!(app.instance(&tenant, &id).await["wake_count"], 1);

    let (status, resumed) = json_of(app.post(&format!("/v1/instances/{id}/resume?tenant_id={tenant}")).send().await.unwrap()).await;
    assert_eq!((status, resumed["status"].as_str()), (StatusCode::OK, Some("trial")), "{resumed}");
    let i = eventually("the deferred event delivered on resume", || async {
        let i = app.instance(&tenant, &id).await;
        (i["wake_count"] == 2).then_some(i)
    })
    .await;
    assert_eq!(i["context"]["state"]["recent_changes"][1]["path"], "docs/while-paused.md", "{i}");
    let e = app.event(&tenant, &while_paused).await;
    assert_eq!(e["deliveries"][0]["status"], "done", "{e}");

    // Retire, after which nothing revives it.
    let (status, retired) = json_of(app.post(&format!("/v1/instances/{id}/retire?tenant_id={tenant}")).send().await.unwrap()).await;
    assert_eq!((status, retired["status"].as_str()), (StatusCode::OK, Some("retired")), "{retired}");
    let msg = expect_error(
        app.post(&format!("/v1/instances/{id}/resume?tenant_id={tenant}")).send().await.unwrap(),
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert!(msg.contains("retired"), "{msg}");
    expect_error(
        app.post(&format!("/v1/instances/{id}/pause?tenant_id={tenant}")).send().await.unwrap(),
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_error(
        app.post(&format!("/v1/instances/{id}/fire?tenant_id={tenant}")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "route_not_found",
    )
    .await;
    assert_eq!(app.instance(&tenant, &id).await["status"], "retired");

    // A retired instance does not wake.
    let after = app.publish_file_event(&tenant, "file.modified", "docs/vision.md").await;
    app.wait_dispatched(&tenant, &after).await;
    assert_eq!(app.instance(&tenant, &id).await["wake_count"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_is_required_on_the_api() {
    let app = TestApp::start().await;
    let tenants = app.url("/v1/tenants");
    let body = json!({"name": "Sneaky"});

    let none = app.client.post(&tenants).json(&body).send().await.unwrap();
    expect_error(none, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let wrong = app.client.post(&tenants).bearer_auth("test-token-but-not").json(&body).send().await.unwrap();
    expect_error(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let prefix = app.client.post(&tenants).bearer_auth("test").json(&body).send().await.unwrap();
    expect_error(prefix, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let basic = app.client.post(&tenants).header("authorization", "Basic dGVzdC10b2tlbjo=").json(&body).send().await.unwrap();
    expect_error(basic, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let raw = app.client.post(&tenants).header("authorization", "test-token").json(&body).send().await.unwrap();
    expect_error(raw, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for path in ["/v1/tenants", "/v1/specializations", "/v1/dead-letters"] {
        expect_error(app.client.get(app.url(path)).send().await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    assert_eq!(app.tenant_count().await, 0, "an unauthorised request created a tenant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_event_input_is_refused_with_its_code_and_writes_nothing() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Acme").await;
    let tenant = t.id.as_str();
    let inst = app.create_wowvision(tenant, "Vera").await;
    // Every refused body below would otherwise be a valid event that wakes the instance.
    let valid = file_event(tenant, "file.modified", "docs/vision.md");
    let valid_bytes = serde_json::to_vec(&valid).unwrap();

    // Malformed JSON, including the right shape truncated.
    let trailing = [&valid_bytes[..], b"}"].concat();
    let malformed: [&[u8]; 5] =
        [b"{\"type\": \"file.modified\",", b"not json", &valid_bytes[..valid_bytes.len() - 1], &trailing, b"{\"type\":'x'}"];
    for bad in malformed {
        let msg =
            expect_error(app.post_raw("/v1/events", bad.to_vec()).send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
        assert!(msg.contains("malformed JSON"), "{msg}");
    }
    // Empty body.
    expect_error(app.post_raw("/v1/events", Vec::new()).send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
    // Not UTF-8 (a Latin-1 é inside a string).
    let mut latin1 = br#"{"type":"file.modified","source":"caf"#.to_vec();
    latin1.push(0xE9);
    latin1.extend_from_slice(format!(r#"","tenant_id":"{tenant}","payload":{{"path":"docs/a.md"}}}}"#).as_bytes());
    let msg = expect_error(app.post_raw("/v1/events", latin1).send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
    assert!(msg.contains("UTF-8"), "{msg}");

    // Wrong or missing content type, with a valid body.
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/jsonx"), None] {
        let mut req = app.post("/v1/events").body(valid_bytes.clone());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        expect_error(req.send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    }
    // ...while parameters and case on the right type are fine (checked below with the 202s).

    // Unknown field, named in the message.
    let mut unknown = valid.clone();
    unknown["surprise"] = json!(1);
    let msg = expect_error(app.post_json("/v1/events", &unknown).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(msg.contains("surprise"), "{msg}");
    // Missing required field and wrong field type.
    let missing = json!({"type": "file.modified", "tenant_id": tenant, "payload": {"path": "docs/a.md"}});
    let msg = expect_error(app.post_json("/v1/events", &missing).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(msg.contains("source"), "{msg}");
    let mut bad_priority = valid.clone();
    bad_priority["priority"] = json!("asap");
    expect_error(app.post_json("/v1/events", &bad_priority).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    let mut bad_tenant = valid.clone();
    bad_tenant["tenant_id"] = json!("acme");
    expect_error(app.post_json("/v1/events", &bad_tenant).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    let mut empty_source = valid.clone();
    empty_source["source"] = json!("");
    expect_error(app.post_json("/v1/events", &empty_source).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;

    // Invalid event types.
    for ty in ["File.Created", "file", "file.*", "file..created", "", "file.cré"] {
        let mut e = valid.clone();
        e["type"] = json!(ty);
        let msg = expect_error(app.post_json("/v1/events", &e).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_event_type").await;
        assert!(msg.contains("event type"), "{ty}: {msg}");
    }

    // Over the body limit (well-formed JSON, so only the size is wrong).
    let mut big = valid.clone();
    big["payload"]["padding"] = json!("x".repeat(BODY_LIMIT));
    let resp = app.post_json("/v1/events", &big).send().await.unwrap();
    let msg = expect_error(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert!(msg.contains(&BODY_LIMIT.to_string()), "{msg}");

    // Unknown tenant, and a target instance of another tenant.
    let mut ghost = valid.clone();
    ghost["tenant_id"] = json!(uuid::Uuid::now_v7().to_string());
    expect_error(app.post_json("/v1/events", &ghost).send().await.unwrap(), StatusCode::NOT_FOUND, "tenant_not_found").await;
    let other = app.create_tenant("Globex").await;
    let other_inst = app.create_wowvision(&other.id, "Gus").await;
    let mut cross = valid.clone();
    cross["target_instance"] = json!(other_inst);
    expect_error(app.post_json("/v1/events", &cross).send().await.unwrap(), StatusCode::NOT_FOUND, "instance_not_found").await;

    // Nothing above reached the instance (nor the other tenant's).
    app.assert_no_wakes_since(tenant, &inst, 0).await;
    assert_eq!(app.instance(&other.id, &other_inst).await["wake_count"], 0);
    assert!(app.dead_letters(tenant).await.is_empty());

    // A custom dotted type, and content type spelled differently, are accepted.
    let custom = app.publish(&json!({"type": "crm.contact.merged", "source": "crm", "tenant_id": tenant, "payload": {"contact": 7}})).await;
    let e = app.wait_dispatched(tenant, custom["id"].as_str().unwrap()).await;
    assert_eq!(e["event"]["type"], "crm.contact.merged");
    assert_eq!(e["deliveries"].as_array().unwrap().len(), 0, "wowvision does not subscribe to crm.*: {e}");
    let resp =
        app.post("/v1/events").header("content-type", "Application/JSON; charset=utf-8").body(valid_bytes.clone()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    // Just under the limit is fine.
    let mut fits = valid.clone();
    let overhead = serde_json::to_vec(&fits).unwrap().len() + r#","padding":"""#.len();
    fits["payload"]["padding"] = json!("x".repeat(BODY_LIMIT - overhead));
    assert_eq!(serde_json::to_vec(&fits).unwrap().len(), BODY_LIMIT);
    let resp = app.post_json("/v1/events", &fits).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "{}", resp.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tenant_and_instance_input_writes_nothing() {
    let app = TestApp::start().await;

    // Tenants.
    let bad_tenants: [(Value, &str); 5] = [
        (json!({"name": ""}), "invalid_request"),
        (json!({"name": "   "}), "invalid_request"),
        (json!({"name": "x".repeat(201)}), "invalid_request"),
        (json!({"name": "Acme", "webhook_secret": "short"}), "invalid_request"),
        (json!({"name": "Acme", "plan": "gold"}), "invalid_request"),
    ];
    for (body, code) in bad_tenants {
        expect_error(app.post_json("/v1/tenants", &body).send().await.unwrap(), StatusCode::BAD_REQUEST, code).await;
    }
    expect_error(app.post_raw("/v1/tenants", "{\"name\":").send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
    expect_error(app.post_raw("/v1/tenants", "").send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
    expect_error(
        app.post("/v1/tenants").header("content-type", "text/plain").body(r#"{"name":"Acme"}"#).send().await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert_eq!(app.tenant_count().await, 0, "a refused request created a tenant");

    let t = app.create_tenant("Acme").await;
    let tenant = t.id.as_str();
    assert_eq!(app.tenant_count().await, 1);

    // Instances.
    let unknown_spec = json!({"tenant_id": tenant, "specialization_id": "wowvision-ultra", "name": "Vera"});
    let msg = expect_error(
        app.post_json("/v1/instances", &unknown_spec).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "specialization_not_found",
    )
    .await;
    assert!(msg.contains("wowvision-ultra"), "{msg}");
    let ghost = json!({"tenant_id": uuid::Uuid::now_v7().to_string(), "specialization_id": "wowvision-prime", "name": "Vera"});
    expect_error(app.post_json("/v1/instances", &ghost).send().await.unwrap(), StatusCode::NOT_FOUND, "tenant_not_found").await;
    let unnamed = json!({"tenant_id": tenant, "specialization_id": "wowvision-prime", "name": " "});
    expect_error(app.post_json("/v1/instances", &unnamed).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    let extra = json!({"tenant_id": tenant, "specialization_id": "wowvision-prime", "name": "Vera", "salary": 1});
    let msg = expect_error(app.post_json("/v1/instances", &extra).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(msg.contains("salary"), "{msg}");
    expect_error(app.post_raw("/v1/instances", "{").send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
    assert_eq!(app.instance_count(tenant).await, 0, "a refused request created an instance");
    assert_eq!(app.tenant_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_parameters_routes_and_methods() {
    let app = TestApp::start().await;
    let a = app.create_tenant("Acme").await;
    let b = app.create_tenant("Globex").await;
    let inst = app.create_wowvision(&a.id, "Vera").await;
    let event = app.publish_file_event(&a.id, "file.modified", "docs/vision.md").await;
    app.wait_dispatched(&a.id, &event).await;

    // Tenant B cannot see, or act on, tenant A's rows: not found, not forbidden.
    let msg = expect_error(
        app.get(&format!("/v1/instances/{inst}?tenant_id={}", b.id)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "instance_not_found",
    )
    .await;
    assert!(!msg.contains("Vera"), "{msg}");
    expect_error(
        app.post(&format!("/v1/instances/{inst}/pause?tenant_id={}", b.id)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "instance_not_found",
    )
    .await;
    expect_error(
        app.get(&format!("/v1/events/{event}?tenant_id={}", b.id)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "event_not_found",
    )
    .await;
    let (_, list) = app.get_json(&format!("/v1/instances?tenant_id={}", b.id)).await;
    assert_eq!(list["instances"], json!([]));
    let i = app.instance(&a.id, &inst).await;
    assert_eq!(i["status"], "trial", "B's pause must not have reached A's instance: {i}");

    // Unknown ids.
    let nobody = uuid::Uuid::now_v7();
    expect_error(
        app.get(&format!("/v1/instances/{nobody}?tenant_id={}", a.id)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "instance_not_found",
    )
    .await;
    expect_error(
        app.get(&format!("/v1/events/{nobody}?tenant_id={}", a.id)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "event_not_found",
    )
    .await;
    expect_error(app.get(&format!("/v1/instances?tenant_id={nobody}")).send().await.unwrap(), StatusCode::NOT_FOUND, "tenant_not_found")
        .await;
    expect_error(
        app.post(&format!("/v1/dead-letters/{nobody}/redrive")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "dead_letter_not_found",
    )
    .await;

    // Malformed ids, in the path and in the query.
    let msg = expect_error(
        app.get(&format!("/v1/instances/not-a-uuid?tenant_id={}", a.id)).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_id",
    )
    .await;
    assert!(msg.contains("not-a-uuid"), "{msg}");
    expect_error(app.get(&format!("/v1/events/12345?tenant_id={}", a.id)).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_id")
        .await;
    expect_error(
        app.post(&format!("/v1/instances/xyz/pause?tenant_id={}", a.id)).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_id",
    )
    .await;
    expect_error(app.post("/v1/dead-letters/xyz/redrive").send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_id").await;
    expect_error(app.get(&format!("/v1/instances/{inst}?tenant_id=acme")).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_id")
        .await;
    expect_error(app.get("/v1/dead-letters?tenant_id=acme").send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_id").await;
    expect_error(app.post("/v1/webhooks/github/acme").send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_id").await;

    // Missing tenant_id.
    for path in ["/v1/instances".to_owned(), format!("/v1/instances/{inst}"), format!("/v1/events/{event}")] {
        let msg = expect_error(app.get(&path).send().await.unwrap(), StatusCode::BAD_REQUEST, "missing_parameter").await;
        assert!(msg.contains("tenant_id"), "{path}: {msg}");
    }
    expect_error(app.post(&format!("/v1/instances/{inst}/retire")).send().await.unwrap(), StatusCode::BAD_REQUEST, "missing_parameter")
        .await;
    assert_eq!(app.instance(&a.id, &inst).await["status"], "trial");

    // Unknown routes, with and without the token.
    for path in ["/nope", "/v1/nope", "/v1/instances/a/b/c", "/v2/tenants"] {
        expect_error(app.get(path).send().await.unwrap(), StatusCode::NOT_FOUND, "route_not_found").await;
        expect_error(app.client.get(app.url(path)).send().await.unwrap(), StatusCode::NOT_FOUND, "route_not_found").await;
    }

    // Wrong methods.
    expect_error(app.client.post(app.url("/healthz")).send().await.unwrap(), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    expect_error(
        app.client.get(app.url(&format!("/v1/webhooks/github/{}", a.id))).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    let delete = app.client.delete(app.url("/v1/tenants")).bearer_auth(common::ADMIN_TOKEN).send().await.unwrap();
    expect_error(delete, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    expect_error(app.get("/v1/events").send().await.unwrap(), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    expect_error(
        app.get(&format!("/v1/instances/{inst}/pause?tenant_id={}", a.id)).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    assert_eq!(app.tenant_count().await, 2);
    assert_eq!(app.instance(&a.id, &inst).await["status"], "trial");

    // /metrics without a recorder says so.
    expect_error(app.client.get(app.url("/metrics")).send().await.unwrap(), StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_listed_and_redriven_per_tenant() {
    let app = TestApp::start().await;
    let a = app.create_tenant("Acme").await;
    let b = app.create_tenant("Globex").await;
    let inst = app.create_wowvision(&a.id, "Vera").await;

    // A file event without a path: wowvision's work fails permanently.
    let accepted = app.publish(&json!({"type": "file.created", "source": "test", "tenant_id": a.id, "payload": {"size": 12}})).await;
    let event_id = accepted["id"].as_str().unwrap().to_owned();
    let e = app.wait_dispatched(&a.id, &event_id).await;
    assert_eq!(e["deliveries"][0]["status"], "dead", "{e}");

    let dead = eventually("the dead letter", || async {
        let list = app.dead_letters(&a.id).await;
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let d = &dead[0];
    assert_eq!(d["event_id"], event_id.as_str());
    assert_eq!(d["instance_id"], inst.as_str());
    assert_eq!(d["event_type"], "file.created");
    assert!(d["error"].as_str().unwrap().contains("`path`"), "{d}");
    assert!(d["redriven_at"].is_null(), "{d}");
    let dead_id = d["id"].as_str().unwrap().to_owned();
    assert!(app.dead_letters(&b.id).await.is_empty(), "tenant B sees tenant A's dead letters");
    let i = app.instance(&a.id, &inst).await;
    assert_eq!((i["wake_count"].as_i64(), i["context_version"].as_i64()), (Some(0), Some(0)), "a failed wake saved nothing: {i}");

    // Another tenant cannot redrive it.
    let redrive = |tenant: &str| app.post(&format!("/v1/dead-letters/{dead_id}/redrive?tenant_id={tenant}"));
    expect_error(redrive(&b.id).send().await.unwrap(), StatusCode::NOT_FOUND, "dead_letter_not_found").await;
    assert_eq!(app.dead_letters(&a.id).await.len(), 1);

    // Its own tenant can, once.
    let (status, body) = json_of(redrive(&a.id).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["redriven"]["id"], dead_id.as_str());
    assert!(body["redriven"]["redriven_at"].is_string(), "{body}");
    expect_error(redrive(&a.id).send().await.unwrap(), StatusCode::NOT_FOUND, "dead_letter_not_found").await;

    // The redrive ran the work again; it fails again (the payload is still pathless), so a new
    // dead letter replaces the redriven one.
    let again = eventually("the redriven event to be dead-lettered again", || async {
        let list = app.dead_letters(&a.id).await;
        list.into_iter().find(|d| d["id"] != dead_id.as_str())
    })
    .await;
    assert_eq!(again["event_id"], event_id.as_str());
    let (_, all) = app.get_json(&format!("/v1/dead-letters?tenant_id={}&include_redriven=true", a.id)).await;
    assert_eq!(all["dead_letters"].as_array().unwrap().len(), 2, "{all}");
}
