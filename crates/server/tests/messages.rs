//! The agent message protocol end to end: Content Marketing consults the tenant's Brand Strategy
//! and SEO agents through the bus before it delivers; messages sent through the API are checked
//! against the receiver's schema and tenant; a consult past its deadline is an error the caller
//! handles. Run on SQLite + in-process and on PostgreSQL + Redis.

mod common;

use common::{DEADLINE, TestApp, expect_error};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use waooaw_domain::{InstanceId, Recipient, TenantId};

const DRAFT: &str = include_str!("../../agents/tests/fixtures/text/blog_blood_pressure_draft.md");

async fn hire(app: &TestApp, tenant: &str, spec: &str, name: &str) -> String {
    let r = app.post_json("/v1/instances", &json!({"tenant_id": tenant, "specialization_id": spec, "name": name})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn upload(app: &TestApp, tenant: &str, instance: &str) -> Value {
    let r = app
        .post(&format!("/v1/instances/{instance}/inputs"))
        .query(&[("tenant_id", tenant), ("filename", "blood-pressure-draft.md")])
        .header("content-type", "text/markdown")
        .body(DRAFT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    r.json().await.unwrap()
}

async fn first_deliverable(app: &TestApp, tenant: &str, instance: &str) -> Value {
    let start = Instant::now();
    loop {
        let (_, v) = app.get_json(&format!("/v1/instances/{instance}/deliverables?tenant_id={tenant}")).await;
        if let Some(d) = v["deliverables"].as_array().and_then(|l| l.first()) {
            return d.clone();
        }
        assert!(start.elapsed() < DEADLINE, "no deliverable from {instance}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_marketing_consults_brand_and_seo_before_delivering() {
    consults(&TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consults_run_the_same_on_postgres_and_redis() {
    let Some((store, _)) = waooaw_testkit::pg_store("server::messages").await else { return };
    let stream = waooaw_testkit::unique_stream();
    let Some(bus) = waooaw_testkit::redis_bus("server::messages", &stream).await else { return };
    consults(&TestApp::start_on(store, bus).await).await;
    waooaw_testkit::drop_stream(&stream).await;
}

async fn consults(app: &TestApp) {
    let acme = app.create_tenant("Riverside Family Health").await;
    let cora = hire(app, &acme.id, "content-marketing-healthcare", "Cora").await;
    let bree = hire(app, &acme.id, "brand-strategy", "Bree").await;
    let sage = hire(app, &acme.id, "seo-ecommerce", "Sage").await;
    let accepted = upload(app, &acme.id, &cora).await;

    let review = first_deliverable(app, &acme.id, &cora).await;
    let md = review["body_markdown"].as_str().unwrap();
    // The review itself, then what each consulted agent said, from its own skill.
    assert!(md.contains("cure"), "the compliance review is there: {md}");
    let consulted = md.split("## Consulted").nth(1).unwrap_or_else(|| panic!("no consulted section: {md}"));
    let brand = consulted.split("### `seo-ecommerce`").next().unwrap();
    assert!(brand.contains("### `brand-strategy` (brand.check_copy)") && brand.contains("Brand voice score"), "{consulted}");
    assert!(brand.contains("required term(s) missing"), "the brand guide's required words are checked: {brand}");
    let seo = consulted.split("### `seo-ecommerce` (seo.check_copy)").nth(1).unwrap_or_else(|| panic!("{consulted}"));
    assert!(
        seo.contains("Title \"5 Natural Ways to Lower Your Blood Pressure\" is 43 characters") || seo.contains("search finding"),
        "{seo}"
    );

    // The conversation: the upload, two requests and two responses, all in the upload's correlation.
    let (_, ev) = app.get_json(&format!("/v1/events/{}?tenant_id={}", accepted["event_id"].as_str().unwrap(), acme.id)).await;
    let correlation = ev["event"]["correlation_id"].as_str().unwrap().to_owned();
    let (status, conv) = app.get_json(&format!("/v1/conversations/{correlation}?tenant_id={}", acme.id)).await;
    assert_eq!(status, StatusCode::OK, "{conv}");
    let messages: Vec<&Value> =
        conv["events"].as_array().unwrap().iter().map(|e| &e["event"]).filter(|e| e["type"] == "agent.message").collect();
    let kinds: Vec<(&str, &str)> =
        messages.iter().map(|m| (m["payload"]["kind"].as_str().unwrap(), m["payload"]["action"].as_str().unwrap())).collect();
    assert_eq!(kinds.iter().filter(|k| k.0 == "request").count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| k.0 == "response").count(), 2, "{kinds:?}");
    for m in &messages {
        assert_eq!(m["payload"]["protocol"], 1, "{m}");
        assert_eq!(m["payload"]["conversation_id"].as_str(), Some(correlation.as_str()), "{m}");
        if m["payload"]["kind"] == "request" {
            assert_eq!(m["payload"]["from"].as_str(), Some(cora.as_str()));
            assert!(m["target_instance"] == json!(bree) || m["target_instance"] == json!(sage), "{m}");
            assert!(m["payload"]["respond_by"].is_string(), "{m}");
        } else {
            assert_eq!(m["target_instance"], json!(cora), "a response goes back to the asker: {m}");
            assert_eq!(m["payload"]["payload"]["status"], "ok", "{m}");
        }
    }

    // A tenant without Brand Strategy or SEO gets the review with that said plainly.
    let solo = app.create_tenant("Lakeside Clinic").await;
    let cole = hire(app, &solo.id, "content-marketing-healthcare", "Cole").await;
    upload(app, &solo.id, &cole).await;
    let alone = first_deliverable(app, &solo.id, &cole).await;
    let md = alone["body_markdown"].as_str().unwrap();
    assert!(md.contains("Not consulted: no `brand-strategy` is hired in this tenant."), "{md}");
    assert!(md.contains("Not consulted: no `seo-ecommerce` is hired in this tenant."), "{md}");

    // A consult the receiver cannot answer in time: Bree is paused, so the request waits for
    // her resume and the asker gets a deadline error, not a hang.
    let r = app.post(&format!("/v1/instances/{bree}/pause?tenant_id={}", acme.id)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let tenant: TenantId = acme.id.parse().unwrap();
    let asker = app.runtime.store().get_instance(tenant, cora.parse::<InstanceId>().unwrap()).await.unwrap().unwrap();
    let (_, cause) = app.get_json(&format!("/v1/events/{}?tenant_id={}", accepted["event_id"].as_str().unwrap(), acme.id)).await;
    let cause: waooaw_domain::Event = serde_json::from_value(cause["event"].clone()).unwrap();
    let started = Instant::now();
    let late = app
        .runtime
        .consult(
            &asker,
            &cause,
            Recipient::Instance(bree.parse().unwrap()),
            "brand.check_copy",
            json!({"text": "Hello"}),
            Duration::from_millis(300),
        )
        .await;
    assert!(matches!(late, Err(waooaw_runtime::MessageError::DeadlineExceeded { .. })), "{late:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Asking an instance of another tenant finds no one.
    let globex = app.create_tenant("Globex").await;
    let gus = hire(app, &globex.id, "brand-strategy", "Gus").await;
    let foreign = app
        .runtime
        .consult(
            &asker,
            &cause,
            Recipient::Instance(gus.parse().unwrap()),
            "brand.check_copy",
            json!({"text": "Hello"}),
            Duration::from_millis(300),
        )
        .await;
    assert!(matches!(foreign, Err(waooaw_runtime::MessageError::UnknownRecipient(_))), "{foreign:?}");
    let everyone = app
        .runtime
        .consult(&asker, &cause, Recipient::Broadcast, "brand.check_copy", json!({"text": "Hello"}), Duration::from_millis(300))
        .await;
    assert!(matches!(everyone, Err(waooaw_runtime::MessageError::Invalid(_))), "a consult asks one agent: {everyone:?}");
    let (_, v) = app.get_json(&format!("/v1/instances/{gus}?tenant_id={}", globex.id)).await;
    assert_eq!(v["wake_count"], 0, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_through_the_api_are_checked_against_the_receiver() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Northfield Outfitters").await;
    let cora = hire(&app, &acme.id, "content-marketing-healthcare", "Cora").await;
    let bree = hire(&app, &acme.id, "brand-strategy", "Bree").await;
    let globex = app.create_tenant("Globex").await;
    let gus = hire(&app, &globex.id, "brand-strategy", "Gus").await;
    let send = |body: Value| app.post_json("/v1/messages", &body).send();
    let msg = |to: Value, action: &str, payload: Value| json!({"tenant_id": acme.id, "from": cora, "to": to, "kind": "notification", "action": action, "payload": payload});

    // A good notification reaches Bree, who keeps it in her context.
    let mut note =
        msg(json!({"kind": "specialization", "id": "brand-strategy"}), "brand.check_copy", json!({"text": "Made to be mended."}));
    note["priority"] = json!("high");
    let r = send(note).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["messages"][0]["to_instance"], json!(bree), "{v}");
    // The envelope is the event's payload; its priority is the event's.
    let (_, ev) = app.get_json(&format!("/v1/events/{}?tenant_id={}", v["messages"][0]["message_id"].as_str().unwrap(), acme.id)).await;
    assert_eq!((ev["event"]["type"].as_str(), ev["event"]["priority"].as_str()), (Some("agent.message"), Some("high")), "{ev}");
    assert_eq!((ev["event"]["payload"]["protocol"].as_u64(), ev["event"]["payload"]["priority"].as_str()), (Some(1), Some("high")), "{ev}");
    let start = Instant::now();
    loop {
        let (_, i) = app.get_json(&format!("/v1/instances/{bree}?tenant_id={}", acme.id)).await;
        if i["context"]["state"]["notifications"][0]["action"] == "brand.check_copy" {
            assert_eq!(i["context"]["state"]["notifications"][0]["from"], json!(cora));
            break;
        }
        assert!(start.elapsed() < DEADLINE, "the notification never reached Bree: {i}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let to_bree = json!({"kind": "instance", "id": bree});
    // The payload fails Brand Strategy's schema: the message names the field.
    let e = expect_error(
        send(msg(to_bree.clone(), "brand.check_copy", json!({"text": 42}))).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "message_refused",
    )
    .await;
    assert!(e.contains("`/text`") && e.contains("brand-strategy"), "{e}");
    let e = expect_error(
        send(msg(to_bree.clone(), "brand.check_copy", json!({"text": "x", "colour": "red"}))).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "message_refused",
    )
    .await;
    assert!(e.contains("colour"), "{e}");
    let e = expect_error(
        send(msg(to_bree.clone(), "brand.check_copy", json!({}))).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "message_refused",
    )
    .await;
    assert!(e.contains("text"), "{e}");
    // An action the receiver does not declare.
    let e = expect_error(
        send(msg(to_bree.clone(), "brand.rename_company", json!({}))).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "message_refused",
    )
    .await;
    assert!(e.contains("accepts: brand.check_copy"), "{e}");
    // Another tenant's instance, a missing one, a specialization not hired, a retired sender.
    let e = expect_error(
        send(msg(json!({"kind": "instance", "id": gus}), "brand.check_copy", json!({"text": "x"}))).await.unwrap(),
        StatusCode::NOT_FOUND,
        "recipient_not_found",
    )
    .await;
    assert!(e.contains(&gus), "{e}");
    expect_error(
        send(msg(json!({"kind": "specialization", "id": "seo-ecommerce"}), "seo.check_copy", json!({"text": "x"}))).await.unwrap(),
        StatusCode::NOT_FOUND,
        "recipient_not_found",
    )
    .await;
    let mut foreign_sender = msg(to_bree.clone(), "brand.check_copy", json!({"text": "x"}));
    foreign_sender["from"] = json!(gus);
    expect_error(send(foreign_sender).await.unwrap(), StatusCode::NOT_FOUND, "recipient_not_found").await;
    // Another protocol version, a malformed envelope.
    let mut v2 = msg(to_bree.clone(), "brand.check_copy", json!({"text": "x"}));
    v2["protocol"] = json!(2);
    let e = expect_error(send(v2).await.unwrap(), StatusCode::BAD_REQUEST, "unsupported_protocol").await;
    assert!(e.contains("version 2"), "{e}");
    let mut bad = msg(to_bree.clone(), "brand.check_copy", json!({"text": "x"}));
    bad["to"] = json!({"kind": "planet", "id": "mars"});
    let e = expect_error(send(bad).await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(e.contains("to"), "{e}");
    // Nor can a message skip the checks as a raw event.
    let raw = json!({"type": "agent.message", "source": "api", "tenant_id": acme.id, "target_instance": bree,
        "payload": {"protocol": 1, "kind": "request", "action": "brand.check_copy", "payload": {"text": 42}}});
    let e = expect_error(app.post_json("/v1/events", &raw).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_event_type").await;
    assert!(e.contains("POST /v1/messages"), "{e}");
    // Gus, in the other tenant, was never woken by any of it.
    let (_, i) = app.get_json(&format!("/v1/instances/{gus}?tenant_id={}", globex.id)).await;
    assert_eq!(i["wake_count"], 0, "{i}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wowvision_consults_brand_strategy_on_the_documentation_it_reviews() {
    const POLICY: &str = include_str!("../../agents/tests/fixtures/text/vision.toml");
    const PR: &str = include_str!("../../agents/tests/fixtures/text/pull_request.json");
    let app = TestApp::start().await;
    let acme = app.create_tenant("Riverside Health").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    let bree = hire(&app, &acme.id, "brand-strategy", "Bree").await;
    for (name, ct, body) in [("vision.toml", "text/plain", POLICY), ("pr-128.json", "application/json", PR)] {
        let r = app
            .post(&format!("/v1/instances/{vera}/inputs"))
            .query(&[("tenant_id", acme.id.as_str()), ("filename", name)])
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    let start = Instant::now();
    let review = loop {
        let (_, v) = app.get_json(&format!("/v1/instances/{vera}/deliverables?tenant_id={}", acme.id)).await;
        if let Some(d) = v["deliverables"].as_array().and_then(|l| l.iter().find(|d| d["kind"] == "pr_review")) {
            break d.clone();
        }
        assert!(start.elapsed() < DEADLINE, "no review: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let md = review["body_markdown"].as_str().unwrap();
    let brand = md.split("### Brand terms (consulted Brand Strategy on ").nth(1).unwrap_or_else(|| panic!("no brand section: {md}"));
    assert!(brand.contains("`docs/") && brand.contains("Brand voice score"), "{brand}");
    let (_, b) = app.get_json(&format!("/v1/instances/{bree}?tenant_id={}", acme.id)).await;
    assert_eq!(b["context"]["state"]["answered_requests"], 1, "Bree answered once: {b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consensus_counts_weighted_votes_against_its_quorum_and_deadline() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Riverside Health").await;
    let vera = app.create_wowvision(&acme.id, "Vera").await;
    let wes = app.create_wowvision(&acme.id, "Wes").await;
    let wyn = app.create_wowvision(&acme.id, "Wyn").await;
    let pia = app.create_wowvision(&acme.id, "Pia").await;
    let bree = hire(&app, &acme.id, "brand-strategy", "Bree").await;
    let r = app.post(&format!("/v1/instances/{pia}/pause?tenant_id={}", acme.id)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let globex = app.create_tenant("Globex").await;
    let gus = app.create_wowvision(&globex.id, "Gus").await;

    let to = |id: &str| json!({"kind": "instance", "id": id});
    let ask = |voters: Vec<Value>, quorum: usize| {
        json!({"tenant_id": acme.id, "from": vera, "question": "Merge #90, which adds staging certificates?",
            "request_type": "pr.review", "context": {"number": 90, "title": "chore: add staging certs",
            "files": ["ops/certs/staging.pem", "ops/README.md"]}, "voters": voters, "quorum": quorum, "deadline_ms": 1500})
    };
    let everyone = vec![to(&wes), to(&wyn), to(&bree), to(&pia)];
    let r = app.post_json("/v1/consensus", &ask(everyone.clone(), 2)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let o = &v["outcome"];
    // The guardians' rules reject a private key; Brand Strategy has no rule for it and no LLM,
    // so it abstains; Pia is paused and does not answer in time.
    assert_eq!(
        (o["decision"].as_str(), o["reject_weight"].as_f64(), o["approve_weight"].as_f64()),
        (Some("reject"), Some(2.0), Some(0.0)),
        "{o}"
    );
    let votes = o["votes"].as_array().unwrap();
    assert_eq!(votes.len(), 3, "{o}");
    let by = |id: &str| votes.iter().find(|c| c["voter"] == json!(id)).unwrap_or_else(|| panic!("no vote from {id}: {o}"));
    assert!(by(&wes)["reason"].as_str().unwrap().contains("Secrets"), "{o}");
    assert_eq!((by(&wes)["vote"].as_str(), by(&wes)["weight"].as_f64()), (Some("reject"), Some(1.0)));
    assert_eq!(by(&bree)["vote"], "abstain", "{o}");
    assert_eq!(o["missing"], json!([pia]), "{o}");

    // The same votes cannot meet a quorum of four.
    let v: Value = app.post_json("/v1/consensus", &ask(everyone.clone(), 4)).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["outcome"]["decision"], "no_quorum", "{v}");

    // Bad asks.
    let e = expect_error(
        app.post_json("/v1/consensus", &ask(vec![to(&wes)], 2)).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(e.contains("quorum of 2 cannot be met by 1"), "{e}");
    expect_error(
        app.post_json("/v1/consensus", &ask(vec![to(&wes), to(&gus)], 1)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "recipient_not_found",
    )
    .await;
    let crowd = ask(vec![to(&wes); 101], 1);
    let e = expect_error(app.post_json("/v1/consensus", &crowd).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(e.contains("at most 100 voters"), "{e}");
    let mut empty = ask(vec![to(&wes)], 1);
    empty["question"] = json!("  ");
    expect_error(app.post_json("/v1/consensus", &empty).send().await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    let mut own = ask(vec![to(&vera)], 1);
    own["deadline_ms"] = json!(100);
    expect_error(app.post_json("/v1/consensus", &own).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "message_refused").await;
    let (_, g) = app.get_json(&format!("/v1/instances/{gus}?tenant_id={}", globex.id)).await;
    assert_eq!(g["wake_count"], 0, "{g}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordination_endpoints_refuse_nasty_bodies_plainly() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Northfield Outfitters").await;
    let cora = hire(&app, &acme.id, "content-marketing-healthcare", "Cora").await;
    for path in ["/v1/messages", "/v1/consensus", "/v1/tasks"] {
        let e = expect_error(app.post_raw(path, "").send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
        assert!(e.contains("empty"), "{path}: {e}");
        expect_error(app.post_raw(path, r#"{"tenant_id": "#).send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;
        expect_error(app.post_raw(path, vec![0xFF, 0xFE, b'{', b'}']).send().await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json")
            .await;
        let text = app.post(path).header("content-type", "text/plain").body("{}");
        expect_error(text.send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
        let huge = format!(r#"{{"tenant_id": "{}", "pad": "{}"}}"#, acme.id, "x".repeat(common::BODY_LIMIT));
        expect_error(app.post_raw(path, huge).send().await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
        // Unknown fields and wrong types name the field.
        let e = expect_error(
            app.post_json(path, &json!({"tenant_id": acme.id, "surprise": true})).send().await.unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        assert!(e.contains("surprise") || e.contains("missing field"), "{path}: {e}");
        // A tenant that does not exist.
        let nobody = uuid::Uuid::now_v7().to_string();
        let body = match path {
            "/v1/messages" => json!({"tenant_id": nobody, "from": cora, "to": {"kind": "broadcast"}, "action": "x.y"}),
            "/v1/consensus" => json!({"tenant_id": nobody, "from": cora, "question": "q", "request_type": "x.y",
                "voters": [{"kind": "instance", "id": cora}], "quorum": 1, "deadline_ms": 100}),
            _ => {
                json!({"tenant_id": nobody, "task_type": "content.review", "package": {"filename": "a", "content_type": "text/plain", "content": "b"}})
            }
        };
        expect_error(app.post_json(path, &body).send().await.unwrap(), StatusCode::NOT_FOUND, "tenant_not_found").await;
    }
    let e = expect_error(
        app.post_json(
            "/v1/consensus",
            &json!({"tenant_id": acme.id, "from": cora, "question": "q", "request_type": "x.y",
            "voters": [{"kind": "instance", "id": cora}], "quorum": 1, "deadline_ms": 600_000}),
        )
        .send()
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(e.contains("deadline_ms"), "{e}");
}
