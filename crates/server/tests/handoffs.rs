//! A chain through the bus: Lead Generation qualifies an export and hands the qualified leads to
//! the tenant's SDR, whose scored leads go to the Account Executive as follow-up tasks. Each
//! handoff is an outbox row saved with the wake that decided it, delivered as a targeted
//! `agent.handoff` event in the same correlation; another tenant's agents see nothing of it.

mod common;

use common::{DEADLINE, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Instant;

const LEADS: &str = include_str!("../../agents/tests/fixtures/csv/leads.csv");
const TICKETS: &str = include_str!("../../agents/tests/fixtures/text/tickets.json");

async fn hire(app: &TestApp, tenant: &str, spec: &str, name: &str) -> String {
    let r = app.post_json("/v1/instances", &json!({"tenant_id": tenant, "specialization_id": spec, "name": name})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn upload(app: &TestApp, tenant: &str, instance: &str, filename: &str, content_type: &str, body: &'static str) -> reqwest::Response {
    app.post(&format!("/v1/instances/{instance}/inputs"))
        .query(&[("tenant_id", tenant), ("filename", filename)])
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn deliverable_of_kind(app: &TestApp, tenant: &str, instance: &str, kind: &str) -> Option<Value> {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if let Some(d) = deliverable_of_kind_now(app, tenant, instance, kind).await {
            return Some(d);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qualified_leads_become_scored_leads_become_follow_up_tasks() {
    chain(&TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_runs_the_same_on_postgres_and_redis() {
    let Some((store, _)) = waooaw_testkit::pg_store("server::handoffs").await else { return };
    let stream = waooaw_testkit::unique_stream();
    let Some(bus) = waooaw_testkit::redis_bus("server::handoffs", &stream).await else { return };
    let app = TestApp::start_on(store, bus).await;
    chain(&app).await;
    support_chain(&app).await;
    waooaw_testkit::drop_stream(&stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_churn_risk_ticket_becomes_a_customer_success_follow_up() {
    support_chain(&TestApp::start().await).await;
}

/// A handoff whose only recipient is paused is not lost and not refused: it waits, deferred, and
/// the resume delivers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_to_a_paused_instance_waits_for_its_resume() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Brightlane Analytics").await;
    let tess = hire(&app, &acme.id, "technical-support", "Tess").await;
    let cass = hire(&app, &acme.id, "customer-success", "Cass").await;
    let (status, paused) =
        common::json_of(app.post(&format!("/v1/instances/{cass}/pause?tenant_id={}", acme.id)).send().await.unwrap()).await;
    assert_eq!((status, paused["status"].as_str()), (StatusCode::OK, Some("paused")), "{paused}");
    let r = upload(&app, &acme.id, &tess, "helpdesk-export.json", "application/json", TICKETS).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // Sent to Cass (the only Customer Success), whose delivery is deferred while paused.
    let url = common::eventually("the handoff sent", || async {
        let (_, v) = app.get_json(&format!("/v1/outputs?tenant_id={}", acme.id)).await;
        let rows = v["outputs"].as_array()?.clone();
        let row = rows.into_iter().find(|o| o["key"].as_str().is_some_and(|k| k.starts_with("handoff:")) && o["status"] == "done")?;
        row["url"].as_str().map(str::to_owned)
    })
    .await;
    let (to, event) = url.split_once("/event:").unwrap_or_else(|| panic!("{url}"));
    assert_eq!(to, format!("instance:{cass}"));
    let e = app.wait_dispatched(&acme.id, event).await;
    assert_eq!(e["deliveries"][0]["status"], "deferred", "{e}");
    assert!(deliverable_of_kind_now(&app, &acme.id, &cass, "churn_follow_ups").await.is_none(), "nothing worked while paused");

    let (status, resumed) =
        common::json_of(app.post(&format!("/v1/instances/{cass}/resume?tenant_id={}", acme.id)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    let follow = deliverable_of_kind(&app, &acme.id, &cass, "churn_follow_ups").await.expect("delivered on resume");
    assert!(follow["body_markdown"].as_str().unwrap().starts_with("# Churn-risk follow-ups from Technical Support: 2 ticket(s)"));
}

async fn deliverable_of_kind_now(app: &TestApp, tenant: &str, instance: &str, kind: &str) -> Option<Value> {
    let (_, v) = app.get_json(&format!("/v1/instances/{instance}/deliverables?tenant_id={tenant}")).await;
    v["deliverables"].as_array().and_then(|l| l.iter().find(|d| d["kind"] == kind).cloned())
}

/// Technical Support triages a helpdesk export; the churn-risk ticket reaches Customer Success.
async fn support_chain(app: &TestApp) {
    let acme = app.create_tenant("Brightlane Analytics").await;
    let tess = hire(app, &acme.id, "technical-support", "Tess").await;
    let cass = hire(app, &acme.id, "customer-success", "Cass").await;
    let r = upload(app, &acme.id, &tess, "helpdesk-export.json", "application/json", TICKETS).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let triage = deliverable_of_kind(app, &acme.id, &tess, "ticket_triage").await.expect("support triaged");
    let triaged = triage["body_markdown"].as_str().unwrap();
    assert!(triaged.contains("2 churn-risk ticket(s) handed to Customer Success."), "{}", &triaged[triaged.len().saturating_sub(300)..]);
    let follow = deliverable_of_kind(app, &acme.id, &cass, "churn_follow_ups").await.expect("customer success got the ticket");
    let md = follow["body_markdown"].as_str().unwrap();
    assert!(md.starts_with("# Churn-risk follow-ups from Technical Support: 2 ticket(s)"), "{md}");
    let t1008 = md.lines().find(|l| l.starts_with("| T-1008 |")).unwrap_or_else(|| panic!("{md}"));
    assert!(t1008.contains("move to looker") && t1008.contains("| business | P3 |"), "the signals travel with the ticket: {t1008}");
    assert!(t1008.contains("Account manager calls"), "{t1008}");
    assert_eq!(follow["title"], "Churn-risk follow-ups: churn-risk-helpdesk-export.json");
}

async fn chain(app: &TestApp) {
    let acme = app.create_tenant("Ledgerly").await;
    let globex = app.create_tenant("Globex").await;
    let lena = hire(app, &acme.id, "lead-generation", "Lena").await;
    let sam = hire(app, &acme.id, "sdr-b2b-saas", "Sam").await;
    let ava = hire(app, &acme.id, "account-executive", "Ava").await;
    let other_sdr = hire(app, &globex.id, "sdr-b2b-saas", "Gus").await;

    let r = upload(app, &acme.id, &lena, "inbound-week-47.csv", "text/csv", LEADS).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let upload: Value = r.json().await.unwrap();
    let (_, first) = app.get_json(&format!("/v1/events/{}?tenant_id={}", upload["event_id"].as_str().unwrap(), acme.id)).await;

    let qualified = deliverable_of_kind(app, &acme.id, &lena, "qualified_leads").await.expect("lead generation delivered");
    assert!(qualified["body_markdown"].as_str().unwrap().contains("qualified lead(s) handed to the SDR"), "{qualified}");
    let scored = deliverable_of_kind(app, &acme.id, &sam, "scored_leads_outreach").await.expect("the SDR scored the handed leads");
    assert!(scored["title"].as_str().unwrap().contains("qualified-inbound-week-47.csv"), "{scored}");
    let tasks = deliverable_of_kind(app, &acme.id, &ava, "lead_follow_ups").await.expect("the AE got follow-up tasks");
    let md = tasks["body_markdown"].as_str().unwrap();
    assert!(md.contains("Dana Reyes <dana.reyes@ledgerly.com>") && md.contains("Discovery call"), "{md}");
    // 19 of the export's 20 leads qualify; only those reach the AE.
    assert!(md.starts_with("# Follow-up tasks from the SDR: 19 lead(s)"), "{md}");
    let unqualified = qualified["body_markdown"]
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.starts_with('|') && l.contains("| no |"))
        .expect("one unqualified lead")
        .to_owned();
    let email = unqualified.trim_end_matches(" |").rsplit("| ").next().unwrap().trim().to_owned();
    assert!(email.contains('@') && !md.contains(&email), "{email} is not handed on: {md}");

    // Both handoffs are recorded, done, and the chain stays in the upload's correlation.
    let (_, out) = app.get_json(&format!("/v1/outputs?tenant_id={}", acme.id)).await;
    let handoffs: Vec<&Value> = out["outputs"].as_array().unwrap().iter().filter(|o| o["action"]["kind"] == "handoff").collect();
    assert_eq!(handoffs.len(), 2, "{out}");
    assert!(handoffs.iter().all(|h| h["status"] == "done"), "{out}");
    let to_ae = handoffs.iter().find(|h| h["action"]["to"] == "account-executive").unwrap();
    let event_id = to_ae["url"].as_str().unwrap().rsplit("event:").next().unwrap().to_owned();
    let (_, ev) = app.get_json(&format!("/v1/events/{event_id}?tenant_id={}", acme.id)).await;
    let ev = &ev["event"];
    assert_eq!(ev["type"], "agent.handoff", "{ev}");
    assert_eq!(ev["correlation_id"], first["event"]["correlation_id"], "the chain keeps the upload's correlation: {ev}");
    assert_eq!(ev["target_instance"], json!(ava));
    assert!(ev["parent_id"].is_string(), "a handoff names the event it came from: {ev}");

    // The conversation: the upload, then each handoff, every one delivered to its instance.
    let correlation = first["event"]["correlation_id"].as_str().unwrap();
    let (status, conv) = app.get_json(&format!("/v1/conversations/{correlation}?tenant_id={}", acme.id)).await;
    assert_eq!(status, StatusCode::OK, "{conv}");
    let steps: Vec<(&str, &str)> = conv["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] != "agent.message")
        .map(|e| (e["event"]["type"].as_str().unwrap(), e["deliveries"][0]["instance_id"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(steps, [("input.received", lena.as_str()), ("agent.handoff", sam.as_str()), ("agent.handoff", ava.as_str())], "{conv}");
    let (status, v) = app.get_json(&format!("/v1/conversations/{correlation}?tenant_id={}", globex.id)).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("conversation_not_found")),
        "another tenant sees nothing"
    );

    // Each handoff was accepted by its receiver, which told the sender: both contexts show it.
    let start = Instant::now();
    loop {
        let (_, conv) = app.get_json(&format!("/v1/conversations/{correlation}?tenant_id={}", acme.id)).await;
        let accepts = conv["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["type"] == "agent.message" && e["event"]["payload"]["action"] == "handoff.accept")
            .count();
        if accepts == 2 {
            break;
        }
        assert!(start.elapsed() < DEADLINE && accepts < 2, "{accepts} acceptances: {conv}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for (sender, receiver) in [(&lena, &sam), (&sam, &ava)] {
        let start = Instant::now();
        let sent = loop {
            let (_, i) = app.get_json(&format!("/v1/instances/{sender}?tenant_id={}", acme.id)).await;
            let sent = i["context"]["state"]["handoffs_sent"][0].clone();
            if sent["status"] == "accepted" || start.elapsed() > DEADLINE {
                break sent;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert_eq!((sent["status"].as_str(), sent["accepted_by"].as_str()), (Some("accepted"), Some(receiver.as_str())), "{sent}");
        let (_, r) = app.get_json(&format!("/v1/instances/{receiver}?tenant_id={}", acme.id)).await;
        let received = &r["context"]["state"]["handoffs_received"][0];
        assert_eq!((received["from"].as_str(), &received["key"]), (Some(sender.as_str()), &sent["key"]), "{r}");
    }

    // The other tenant's SDR was never woken.
    let (_, v) = app.get_json(&format!("/v1/instances/{other_sdr}/deliverables?tenant_id={}", globex.id)).await;
    assert!(v["deliverables"].as_array().unwrap().is_empty(), "{v}");
}
