//! Coordinators: tasks routed by a RACI matrix to the least busy responsible instance, under a
//! lease; informed agents notified, the accountable one told the outcome; an expired lease
//! reclaimed for another instance, and the old holder kept from working it.

mod common;

use common::{DEADLINE, TestApp, expect_error};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use waooaw_domain::{InstanceId, Task, TaskStatus, TenantId};

const DRAFT: &str = include_str!("../../agents/tests/fixtures/text/blog_blood_pressure_draft.md");

async fn hire(app: &TestApp, tenant: &str, spec: &str, name: &str) -> String {
    let r = app.post_json("/v1/instances", &json!({"tenant_id": tenant, "specialization_id": spec, "name": name})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn draft() -> Value {
    json!({"filename": "blood-pressure.md", "content_type": "text/markdown", "content": DRAFT})
}

async fn done(app: &TestApp, tenant: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let (_, v) = app.get_json(&format!("/v1/tasks/{id}?tenant_id={tenant}")).await;
        if v["task"]["status"] == "done" {
            return v["task"].clone();
        }
        assert!(start.elapsed() < DEADLINE, "task {id} never finished: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn state_of(app: &TestApp, tenant: &str, id: &str) -> Value {
    app.get_json(&format!("/v1/instances/{id}?tenant_id={tenant}")).await.1["context"]["state"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_follow_the_raci_matrix_and_expired_leases_are_reclaimed() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Riverside Family Health").await;
    let cora = hire(&app, &acme.id, "content-marketing-healthcare", "Cora").await;
    let cleo = hire(&app, &acme.id, "content-marketing-healthcare", "Cleo").await;
    let bree = hire(&app, &acme.id, "brand-strategy", "Bree").await;
    let sol = hire(&app, &acme.id, "social-media-b2b", "Sol").await;

    // content.review: Responsible content marketing, Accountable brand, Informed social.
    let r =
        app.post_json("/v1/tasks", &json!({"tenant_id": acme.id, "task_type": "content.review", "package": draft()})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let first: Value = r.json().await.unwrap();
    assert_eq!(
        (first["task"]["coordinator"].as_str(), first["task"]["status"].as_str()),
        (Some("marketing-coordinator"), Some("assigned"))
    );
    let first_holder = first["task"]["holder"].as_str().unwrap().to_owned();
    assert!(first_holder == cora || first_holder == cleo, "{first}");
    let t = done(&app, &acme.id, first["task"]["id"].as_str().unwrap()).await;
    assert!(t["outcome"].as_str().unwrap().starts_with("delivered:"), "{t}");
    let (_, d) = app.get_json(&format!("/v1/instances/{first_holder}/deliverables?tenant_id={}", acme.id)).await;
    assert_eq!(d["deliverables"].as_array().map(Vec::len), Some(1), "{d}");
    // The accountable agent is told the outcome, the informed one that it was assigned.
    let start = Instant::now();
    loop {
        let notes = state_of(&app, &acme.id, &bree).await["notifications"].clone();
        let told = notes.as_array().into_iter().flatten().any(|n| n["action"] == "task.completed" && n["payload"]["task_id"] == t["id"]);
        let informed = state_of(&app, &acme.id, &sol).await["notifications"].clone();
        let heard = informed.as_array().into_iter().flatten().any(|n| n["action"] == "task.assigned" && n["payload"]["task_id"] == t["id"]);
        if told && heard {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "bree: {notes}, sol: {informed}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The next task goes to the other writer (both idle; the first has worked once).
    let r =
        app.post_json("/v1/tasks", &json!({"tenant_id": acme.id, "task_type": "content.review", "package": draft()})).send().await.unwrap();
    let second: Value = r.json().await.unwrap();
    assert_ne!(second["task"]["holder"], first["task"]["holder"], "{second}");
    done(&app, &acme.id, second["task"]["id"].as_str().unwrap()).await;

    // A worker took a lease and died: its lease runs out and another instance gets the task.
    let tenant: TenantId = acme.id.parse().unwrap();
    let (dead, alive) = (cora.parse::<InstanceId>().unwrap(), cleo.parse::<InstanceId>().unwrap());
    let now = chrono::Utc::now();
    let orphan = Task {
        tenant_id: tenant,
        id: uuid::Uuid::now_v7(),
        task_type: "content.review".into(),
        coordinator: "marketing-coordinator".into(),
        package: draft(),
        status: TaskStatus::Assigned,
        holder: Some(dead),
        lease_expires_at: now - chrono::Duration::seconds(1),
        attempts: 1,
        outcome: None,
        created_at: now,
        updated_at: now,
    };
    let wakes_before = app.instance(&acme.id, &cora).await["wake_count"].as_i64().unwrap();
    app.runtime.store().insert_task(&orphan).await.unwrap();
    let reclaimed = done(&app, &acme.id, &orphan.id.to_string()).await;
    assert_eq!((reclaimed["holder"].as_str(), reclaimed["attempts"].as_i64()), (Some(alive.to_string().as_str()), Some(2)), "{reclaimed}");
    // The dead worker's assignment arriving late does not make it work the task.
    let late = json!({"type": "task.assigned", "source": "coordinator", "tenant_id": acme.id, "target_instance": cora,
        "payload": {"task_id": orphan.id, "task_type": "content.review", "package": draft()}});
    // Not through the API, which refuses platform events from outside.
    let r = app.post_json("/v1/events", &late).send().await.unwrap();
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_event_type").await;
    let late: waooaw_domain::NewEvent = serde_json::from_value(late).unwrap();
    let id = app.runtime.publish(late).await.unwrap().id.to_string();
    let ev = app.wait_dispatched(&acme.id, &id).await;
    let worked = ev["deliveries"].as_array().into_iter().flatten().any(|d| d["status"] == "done");
    assert!(!worked, "the old holder worked a task it no longer holds: {ev}");
    assert_eq!(app.instance(&acme.id, &cora).await["wake_count"].as_i64(), Some(wakes_before), "the old holder did no work");
    let (_, d) = app.get_json(&format!("/v1/tasks?tenant_id={}", acme.id)).await;
    assert_eq!(d["tasks"].as_array().map(Vec::len), Some(3), "{d}");
    // The assignment carries the RACI row, in the task's conversation.
    let (_, conv) = app.get_json(&format!("/v1/conversations/{}?tenant_id={}", first["task"]["id"].as_str().unwrap(), acme.id)).await;
    let assigned = conv["events"].as_array().unwrap().iter().map(|e| &e["event"]).find(|e| e["type"] == "task.assigned").expect("assigned");
    assert_eq!(assigned["payload"]["raci"]["consulted"], json!(["brand-strategy", "seo-ecommerce"]), "{assigned}");
    assert_eq!(assigned["payload"]["raci"]["accountable"], "brand-strategy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_nobody_can_take_are_refused_plainly() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Riverside Family Health").await;
    hire(&app, &acme.id, "content-marketing-healthcare", "Cora").await;
    let globex = app.create_tenant("Globex").await;
    let submit = |body: Value| app.post_json("/v1/tasks", &body).send();
    let e = expect_error(
        submit(json!({"tenant_id": acme.id, "task_type": "poetry.write", "package": draft()})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "task_not_routable",
    )
    .await;
    assert!(e.contains("`poetry.write`") && e.contains("content.review"), "names what is routed: {e}");
    let e = expect_error(
        submit(json!({"tenant_id": acme.id, "task_type": "ticket.triage", "package": draft()})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "task_not_routable",
    )
    .await;
    assert!(e.contains("technical-support"), "{e}");
    let mut bad = draft();
    bad["content"] = json!(7);
    let e = expect_error(
        submit(json!({"tenant_id": acme.id, "task_type": "content.review", "package": bad})).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(e.contains("package.content"), "{e}");
    // Globex has no content marketing agent: Acme's is never used for its task.
    expect_error(
        submit(json!({"tenant_id": globex.id, "task_type": "content.review", "package": draft()})).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "task_not_routable",
    )
    .await;
    let r = submit(json!({"tenant_id": acme.id, "task_type": "content.review", "package": draft()})).await.unwrap();
    let t: Value = r.json().await.unwrap();
    let id = t["task"]["id"].as_str().unwrap();
    let (status, v) = app.get_json(&format!("/v1/tasks/{id}?tenant_id={}", globex.id)).await;
    assert_eq!((status, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("task_not_found")));
}
