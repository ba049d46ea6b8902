//! Uploads and deliverables over real HTTP: a document posted to an instance wakes it, the
//! catalog's agent reads it with its real skill, and what it hands back is listed, rendered to
//! HTML and kept per tenant; every kind of bad upload is refused with its code and stores nothing.

mod common;

use chrono::{Datelike, Days, NaiveDate, Utc, Weekday};
use common::{BODY_LIMIT, TestApp, eventually, expect_error, fixture, json_of};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// Hires an agent of the catalog's `spec` for `tenant`; returns the instance id.
async fn hire(app: &TestApp, tenant: &str, spec: &str, name: &str) -> String {
    let req = json!({"tenant_id": tenant, "specialization_id": spec, "name": name});
    let (status, body) = json_of(app.post_json("/v1/instances", &req).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// An upload request; the query is encoded by reqwest, so odd filenames arrive as written.
fn upload(
    app: &TestApp,
    tenant: &str,
    instance: &str,
    filename: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> RequestBuilder {
    app.post(&format!("/v1/instances/{instance}/inputs"))
        .query(&[("tenant_id", tenant), ("filename", filename)])
        .header("content-type", content_type)
        .body(body)
}

/// Uploads a document that must be accepted; returns the 202 body.
async fn upload_ok(app: &TestApp, tenant: &str, instance: &str, filename: &str, content_type: &str, body: Vec<u8>) -> Value {
    let size = body.len();
    let (status, accepted) = json_of(upload(app, tenant, instance, filename, content_type, body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert!(accepted["event_id"].is_string(), "{accepted}");
    assert_eq!((accepted["filename"].as_str(), accepted["size"].as_u64()), (Some(filename), Some(size as u64)), "{accepted}");
    accepted
}

fn deliverables_path(tenant: &str, instance: &str) -> String {
    format!("/v1/instances/{instance}/deliverables?tenant_id={tenant}")
}

async fn deliverables(app: &TestApp, tenant: &str, instance: &str) -> Vec<Value> {
    let (status, body) = app.get_json(&deliverables_path(tenant, instance)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["deliverables"].as_array().unwrap().clone()
}

/// Polls until the deliverable made by the wake of `event_id` is listed; returns it as
/// `GET /v1/deliverables/{id}` answers it.
async fn delivered(app: &TestApp, tenant: &str, instance: &str, event_id: &str) -> Value {
    let listed = eventually(&format!("a deliverable for event {event_id}"), || async {
        deliverables(app, tenant, instance).await.into_iter().find(|d| d["event_id"] == event_id)
    })
    .await;
    let (status, one) = app.get_json(&format!("/v1/deliverables/{}?tenant_id={tenant}", listed["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one, listed, "the list and the single read agree");
    assert_eq!((one["tenant_id"].as_str(), one["instance_id"].as_str()), (Some(tenant), Some(instance)), "{one}");
    one
}

fn markdown(d: &Value) -> &str {
    d["body_markdown"].as_str().unwrap()
}

fn html(d: &Value) -> &str {
    d["body_html"].as_str().unwrap()
}

/// The cells of the first Markdown table row that mentions `needle`.
fn table_row<'a>(md: &'a str, needle: &str) -> Vec<&'a str> {
    let line =
        md.lines().find(|l| l.starts_with('|') && l.contains(needle)).unwrap_or_else(|| panic!("no table row with {needle:?} in:\n{md}"));
    line.trim_matches('|').split(" | ").map(str::trim).collect()
}

/// Today (UTC, as the agent dates the event), or the next Monday on a weekend: when a task due
/// "today" falls due.
fn business_today() -> NaiveDate {
    let mut d = Utc::now().date_naive();
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d = d + Days::new(1);
    }
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seo_agent_audits_an_uploaded_product_page() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Northfield Outfitters").await;
    let tenant = t.id.as_str();
    let sage = hire(&app, tenant, "seo-ecommerce", "Sage").await;

    let page = fixture("outputs/fell_runner_trail_shoe.html");
    let accepted = upload_ok(&app, tenant, &sage, "fell-runner.html", "text/html; charset=utf-8", page).await;
    assert_eq!(accepted["content_type"], "text/html", "parameters are dropped: {accepted}");
    let event_id = accepted["event_id"].as_str().unwrap();

    let d = delivered(&app, tenant, &sage, event_id).await;
    assert_eq!(d["kind"], "seo_audit", "{d}");
    let md = markdown(&d);
    // The score in the title is the one in the report.
    let score = md.split("**Score: ").nth(1).and_then(|s| s.split('/').next()).unwrap();
    assert_eq!(d["title"], format!("SEO audit: fell-runner.html (score {score})"), "{md}");
    assert!(score.parse::<u8>().unwrap() < 100, "{md}");
    // What the page lacks is found, with the fix...
    assert_eq!(table_row(md, "Meta description present"), ["Meta description present", "8", "**failed**"], "{md}");
    let missing = table_row(md, "no meta description");
    assert_eq!(missing[0], "error", "{md}");
    assert!(missing[4].contains("name=\"description\""), "the fix says what to add: {md}");
    let alt = table_row(md, "nf-tr-0318-slt-sole.jpg");
    assert_eq!(alt[2], "Image alt text", "{md}");
    assert!(!md.contains("nf-tr-0318-slt-side.jpg\""), "the photo with alt text is not flagged: {md}");
    // ...and what it has is credited.
    for passed in ["Title present", "Exactly one h1", "Canonical link", "Language declared", "Mobile viewport"] {
        assert_eq!(table_row(md, passed)[2], "passed", "{passed}: {md}");
    }
    assert!(md.contains("Audited as a product page"), "{md}");
    assert!(md.contains("- Meta description: (none)"), "{md}");
    assert!(md.contains("- h1: Fell Runner Waterproof Trail Shoe"), "{md}");
    assert!(md.contains("- Structured data: Brand, Offer, Product"), "the JSON-LD types: {md}");
    // The spec's `deliverable_footer`, filled in for this agent and the upload's day.
    let day = chrono::Utc::now().date_naive();
    assert!(
        md.trim_end().ends_with(&format!(
            "---\n\nAudited by Sage, your SEO (e-commerce) agent, on {day}. Scores weigh each check by its effect on search ranking."
        )),
        "{md}"
    );

    // The HTML rendering carries the same report: headings and tables, element names escaped.
    let h = html(&d);
    assert!(h.starts_with("<h1>SEO audit: Fell Runner Waterproof Trail Shoe for Women | Northfield</h1>"), "{h}");
    assert!(
        h.contains(r#"<tr><td>Meta description present</td><td style="text-align: right">8</td><td><strong>failed</strong></td></tr>"#),
        "{h}"
    );
    assert!(h.contains("<table>") && h.contains("<th>Fix</th>"), "{h}");
    assert!(h.contains(r#"<code>&lt;img src="/media/catalog/nf-tr-0318-slt-sole.jpg"&gt;</code>"#), "{h}");

    // The wake that made it is the upload's, and it finished.
    let e = app.wait_dispatched(tenant, event_id).await;
    assert_eq!((e["event"]["type"].as_str(), e["event"]["target_instance"].as_str()), (Some("input.received"), Some(sage.as_str())), "{e}");
    assert_eq!(e["event"]["payload"]["filename"], "fell-runner.html", "{e}");
    assert_eq!(e["deliveries"][0]["status"], "done", "{e}");
    assert_eq!(app.instance(tenant, &sage).await["wake_count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_executive_turns_a_deals_export_into_follow_ups_for_each_owner() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Harbour Software").await;
    let tenant = t.id.as_str();
    let ae = hire(&app, tenant, "account-executive", "Alex").await;

    // The export, plus one deal that is current as of today: it must not become a task.
    let today = Utc::now().date_naive();
    let mut csv = String::from_utf8(fixture("outputs/deals_pipeline_export.csv")).unwrap();
    csv.push_str(&format!(
        "Fellside Outdoor - Store Rollout,Fellside Outdoor,Dana Okafor,Demo,22000,{},{},Demo to the CFO on Thursday\n",
        today + Days::new(30),
        today - Days::new(2)
    ));
    let accepted = upload_ok(&app, tenant, &ae, "deals-2024-q3.csv", "text/csv", csv.into_bytes()).await;
    let d = delivered(&app, tenant, &ae, accepted["event_id"].as_str().unwrap()).await;
    assert_eq!((d["kind"].as_str(), d["title"].as_str()), (Some("pipeline_followups"), Some("Pipeline follow-ups: deals-2024-q3.csv")));
    let md = markdown(&d);
    assert!(md.contains(&format!("# Pipeline hygiene review ({today})")), "{md}");
    assert!(md.contains("5 open deals worth 115,000, 2 closed. **4 follow-up task(s)**"), "{md}");

    // Each task names the deal owner, the due date and what to do, with the numbers.
    let slipped = table_row(md, "Harbourline - Fleet Tracking Rollout");
    let overdue = (today - NaiveDate::from_ymd_opt(2024, 9, 30).unwrap()).num_days();
    assert_eq!(
        &slipped[..7],
        [
            &business_today().to_string(),
            "error",
            "Priya Raman",
            "Harbourline - Fleet Tracking Rollout",
            "Harbourline Logistics",
            "Negotiation",
            "48,000"
        ],
        "{md}"
    );
    assert!(slipped[7].contains(&format!("close date 2024-09-30 passed {overdue} day(s) ago")), "{md}");
    let kestrel = table_row(md, "Kestrel Foods - Analytics Suite");
    assert_eq!((kestrel[2], kestrel[6]), ("Marcus Webb", "–"), "{md}");
    for problem in ["last 2024-08-15", "no next step", "no amount at stage `Proposal`"] {
        assert!(kestrel[7].contains(problem), "{problem}: {md}");
    }
    assert_eq!(table_row(md, "Brightwater Energy - Platform Deal")[2], "Dana Okafor", "{md}");
    let unowned = table_row(md, "Oakridge Insurance - Security Review");
    assert_eq!(unowned[2], "(unassigned)", "{md}");
    assert!(unowned[7].contains("no owner: assign the deal"), "{md}");
    for fine in ["Ashdown Clinics", "Larkspur Retail", "Fellside Outdoor"] {
        assert!(!md.contains(fine), "{fine} is closed or current and gets no task: {md}");
    }
    // The owner summary: Priya's closed-won deal is not open.
    let by_owner = md.split("## By owner").nth(1).unwrap();
    assert_eq!(table_row(by_owner, "Priya Raman"), ["Priya Raman", "1", "48,000", "1", "1", "1", "0", "0"], "{md}");
    assert_eq!(table_row(by_owner, "Dana Okafor")[1..4], ["2", "52,000", "1"], "the current deal is open but needs nothing: {md}");

    let h = html(&d);
    assert!(h.contains("<td>Priya Raman</td>") && h.contains("<td>Harbourline - Fleet Tracking Rollout</td>"), "{h}");
    assert!(h.contains("<code>Proposal</code>"), "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_and_lead_generation_agents_deliver_from_their_exports() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Harbour Software").await;
    let tenant = t.id.as_str();
    let crm = hire(&app, tenant, "crm-management", "Casey").await;
    let leads = hire(&app, tenant, "lead-generation", "Lee").await;

    let contacts = upload_ok(&app, tenant, &crm, "contacts.csv", "text/csv", fixture("outputs/crm_contacts_export.csv")).await;
    let inbound = upload_ok(&app, tenant, &leads, "inbound-week-38.csv", "text/csv", fixture("outputs/inbound_leads_week_38.csv")).await;

    let d = delivered(&app, tenant, &crm, contacts["event_id"].as_str().unwrap()).await;
    assert_eq!(d["kind"], "crm_cleanup", "{d}");
    let md = markdown(&d);
    assert!(md.contains("5 contacts: 1 merge proposal(s) removing 1 duplicate record(s)"), "{md}");
    assert!(md.contains("### 1. Keep line 2 (id 2001) (merge lines 2, 3"), "Eleanor's two records are one person: {md}");
    let grace = table_row(md, "Grace Adeyemi");
    assert!(grace[2].contains("email"), "{md}");

    let d = delivered(&app, tenant, &leads, inbound["event_id"].as_str().unwrap()).await;
    assert_eq!(d["kind"], "qualified_leads", "{d}");
    let md = markdown(&d);
    assert!(md.contains("4 leads scored, **3 qualified** (score ≥ 60) and handed to the SDR; 1 used a free-mail address."), "{md}");
    assert_eq!(table_row(md, "helena.brandt@mosaic-pay.de")[..3], ["100", "yes", "Helena Brandt"], "{md}");
    // The catalog's agent sets no ICP: a free-mail student scores only on the criteria left open.
    assert_eq!(table_row(md, "olly.grant1987@gmail.com")[..3], ["60", "yes", "Oliver Grant"], "{md}");
    assert!(md.contains("- email domain 0/20: free mail address (gmail.com): employer unverified"), "{md}");
    // Nobody can be contacted at an address that is not one, whatever the title.
    assert_eq!(table_row(md, "marek.kowalski(at)tidewell.io")[1], "no", "{md}");
    assert!(md.contains("`marek.kowalski(at)tidewell.io` is not a valid email address"), "{md}");
    assert!(md.contains("3 qualified lead(s) handed to the SDR."), "{md}");
    // Each instance got only its own upload.
    assert_eq!(deliverables(&app, tenant, &crm).await.len(), 1);
    assert_eq!(deliverables(&app, tenant, &leads).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_content_type_reaches_an_agent_that_reads_it() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Northfield Outfitters").await;
    let tenant = t.id.as_str();
    let brand = hire(&app, tenant, "brand-strategy", "Bea").await;
    let ppc = hire(&app, tenant, "ppc-advertising", "Pat").await;

    let cases: [(&str, &str, &str, &str, &str); 4] = [
        (&brand, "newsletter.md", "text/markdown", "outputs/autumn_newsletter.md", "brand_review"),
        (&brand, "shop-window.txt", "Text/Plain; charset=UTF-8", "outputs/shop_window_copy.txt", "brand_review"),
        (&brand, "storefront.css", "text/css", "outputs/storefront.css", "brand_review"),
        (&ppc, "search-ads.json", "application/json", "outputs/google_search_ads.json", "ad_copy_check"),
    ];
    for (instance, filename, ct, file, kind) in cases {
        let accepted = upload_ok(&app, tenant, instance, filename, ct, fixture(file)).await;
        let normal = ct.split(';').next().unwrap().to_ascii_lowercase();
        assert_eq!(accepted["content_type"], normal, "{accepted}");
        let d = delivered(&app, tenant, instance, accepted["event_id"].as_str().unwrap()).await;
        assert_eq!(d["kind"], kind, "{filename}: {}", markdown(&d));
        let md = markdown(&d);
        match filename {
            "newsletter.md" => {
                assert_eq!(
                    table_row(md, "\"cheap\""),
                    ["4", "banned word", "\"cheap\" is on the brand's banned list", "Replace \"cheap\" with \"good value\""]
                );
                assert_eq!(table_row(md, "\"amazing\"")[0], "4", "{md}");
                assert!(md.contains("- Required phrases missing: none"), "Northfield and free UK delivery are there: {md}");
            }
            "shop-window.txt" => {
                assert_eq!(table_row(md, "\"Revolutionary\"")[3], "Replace \"Revolutionary\" with \"New\"", "{md}");
                assert!(md.contains("- Exclamation marks: 3"), "{md}");
            }
            "storefront.css" => {
                assert!(md.contains("5 of 6 colour uses match a brand colour"), "{md}");
                assert_eq!(table_row(md, "`#e4572e`")[..4], ["`#e4572e`", "1", "13", "Bracken"], "the one off-palette colour: {md}");
                assert!(table_row(md, "`#E4572E`")[2].contains(".buy-box .price"), "{md}");
            }
            _ => {
                assert!(md.contains("**Will be rejected until the errors are fixed** — 1 error(s)"), "{md}");
                let long = table_row(md, "headline 2");
                assert_eq!(long[..4], ["error", "headline 2", "Waterproof Trail Shoes Built in Kendal for Wet Fells", "52 / 30"], "{md}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_an_agent_cannot_use_become_input_rejected_deliverables() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Harbour Software").await;
    let tenant = t.id.as_str();
    let sage = hire(&app, tenant, "seo-ecommerce", "Sage").await;
    let ae = hire(&app, tenant, "account-executive", "Alex").await;

    // A deals export sent to the SEO agent: accepted by the API, refused by the agent, which says
    // what it reads.
    let wrong = upload_ok(&app, tenant, &sage, "deals.csv", "text/csv", fixture("outputs/deals_pipeline_export.csv")).await;
    let d = delivered(&app, tenant, &sage, wrong["event_id"].as_str().unwrap()).await;
    assert_eq!((d["kind"].as_str(), d["title"].as_str()), (Some("input_rejected"), Some("Could not process deals.csv")), "{d}");
    assert!(markdown(&d).contains("SEO (e-commerce) reads text/html, not text/csv"), "{}", markdown(&d));
    assert!(html(&d).contains("<h1>Could not process <code>deals.csv</code></h1>"), "{}", html(&d));

    // A page sent to the Account Executive.
    let page = upload_ok(&app, tenant, &ae, "pricing.html", "text/html", fixture("outputs/fell_runner_trail_shoe.html")).await;
    let d = delivered(&app, tenant, &ae, page["event_id"].as_str().unwrap()).await;
    assert_eq!(d["kind"], "input_rejected", "{d}");
    assert!(markdown(&d).contains("Account Executive reads text/csv, application/json, not text/html"), "{}", markdown(&d));

    // A deals export without its owner column: the agent names the column and its aliases.
    let no_owner = upload_ok(&app, tenant, &ae, "deals-no-owner.csv", "text/csv", fixture("outputs/deals_without_owner.csv")).await;
    let d = delivered(&app, tenant, &ae, no_owner["event_id"].as_str().unwrap()).await;
    assert_eq!((d["kind"].as_str(), d["title"].as_str()), (Some("input_rejected"), Some("Could not process deals-no-owner.csv")), "{d}");
    let md = markdown(&d);
    assert!(md.contains("missing required column `owner`"), "{md}");
    assert!(md.contains("`Deal Stage`") && md.contains("`deal owner`"), "the header found and the names accepted: {md}");
    assert!(md.contains("Fix the file and upload it again."), "{md}");

    // The agents count what they could not use.
    let state = &app.instance(tenant, &ae).await["context"]["state"];
    assert_eq!((state["rejected_inputs"].as_u64(), state["deliverables"].as_u64()), (Some(2), None), "{state}");
    assert_eq!(deliverables(&app, tenant, &ae).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_with_their_code_and_store_nothing() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Northfield Outfitters").await;
    let tenant = t.id.as_str();
    let sage = hire(&app, tenant, "seo-ecommerce", "Sage").await;
    let other = app.create_tenant("Globex").await;
    let theirs = hire(&app, &other.id, "seo-ecommerce", "Gus").await;
    let page = fixture("outputs/fell_runner_trail_shoe.html");
    let send = |r: RequestBuilder| async move { r.send().await.unwrap() };
    let up = |ct: &'static str, body: Vec<u8>| upload(&app, tenant, &sage, "page.html", ct, body);

    // Empty.
    let msg = expect_error(send(up("text/html", Vec::new())).await, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(msg.contains("empty"), "{msg}");
    // Too large: over the upload limit, and over this server's lower body limit.
    let mut huge = page.clone();
    huge.resize(513 * 1024, b' ');
    let msg = expect_error(send(up("text/html", huge)).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert!(msg.contains(&BODY_LIMIT.to_string()), "{msg}");
    // The client always gets to read the 413: the server reads the rest of the body before it
    // answers, so the connection is not reset under a client that is still sending.
    let mut over = page.clone();
    over.resize(BODY_LIMIT + 1, b' ');
    for _ in 0..20 {
        expect_error(send(up("text/html", over.clone())).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    }
    let mut several_mib = page.clone();
    several_mib.resize(6 * 1024 * 1024, b' ');
    for _ in 0..5 {
        expect_error(send(up("text/html", several_mib.clone())).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    }
    // Not UTF-8: a Latin-1 export; the message names the first bad byte.
    let latin1 = fixture("outputs/contacts_latin1.csv");
    let offset = std::str::from_utf8(&latin1).unwrap_err().valid_up_to();
    assert_eq!(latin1[offset], 0xE9, "the fixture's é is one Latin-1 byte");
    let msg = expect_error(send(up("text/csv", latin1)).await, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(msg.contains("UTF-8") && msg.contains(&format!("offset {offset}")), "{msg}");
    // NUL bytes (valid UTF-8, but binary).
    let mut nul = page.clone();
    nul.splice(200..200, [0u8, 0, 0, 1]);
    let msg = expect_error(send(up("text/html", nul)).await, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(msg.contains("NUL"), "{msg}");
    // Types no agent reads, including none at all and near misses.
    let pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".to_vec();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    for (ct, body) in [
        ("application/pdf", pdf),
        ("image/png", png),
        ("application/octet-stream", page.clone()),
        ("text/htmlx", page.clone()),
        ("application/xhtml+xml", page.clone()),
    ] {
        let msg = expect_error(send(up(ct, body)).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
        assert!(msg.contains(ct) && msg.contains("text/csv"), "names the type and the accepted ones: {msg}");
    }
    let bare = app.post(&format!("/v1/instances/{sage}/inputs?tenant_id={tenant}")).body(page.clone());
    expect_error(send(bare).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    // Malformed JSON declared as JSON.
    let msg = expect_error(
        send(up("application/json", br#"{"platform": "google", "headlines": ["Fell Runner""#.to_vec())).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    assert!(msg.contains("line 1"), "{msg}");
    // Filenames that are paths, or too long.
    for name in ["../../etc/passwd", "reports/page.html", "C:\\Users\\ana\\page.html", &"p".repeat(256)] {
        let msg = expect_error(
            send(upload(&app, tenant, &sage, name, "text/html", page.clone())).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        assert!(msg.contains("filename"), "{msg}");
    }
    // Unknown, foreign and malformed ids; a missing tenant; no or a wrong token.
    let nobody = uuid::Uuid::now_v7().to_string();
    let path = |instance: &str, query: &str| format!("/v1/instances/{instance}/inputs?{query}");
    let cases: [(RequestBuilder, StatusCode, &str); 7] = [
        (upload(&app, tenant, &nobody, "page.html", "text/html", page.clone()), StatusCode::NOT_FOUND, "instance_not_found"),
        (upload(&app, tenant, &theirs, "page.html", "text/html", page.clone()), StatusCode::NOT_FOUND, "instance_not_found"),
        (upload(&app, &nobody, &sage, "page.html", "text/html", page.clone()), StatusCode::NOT_FOUND, "tenant_not_found"),
        (upload(&app, tenant, "sage", "page.html", "text/html", page.clone()), StatusCode::BAD_REQUEST, "invalid_id"),
        (upload(&app, "northfield", &sage, "page.html", "text/html", page.clone()), StatusCode::BAD_REQUEST, "invalid_id"),
        (
            app.post(&path(&sage, "filename=page.html")).header("content-type", "text/html").body(page.clone()),
            StatusCode::BAD_REQUEST,
            "missing_parameter",
        ),
        (
            app.client.post(app.url(&path(&sage, &format!("tenant_id={tenant}")))).header("content-type", "text/html").body(page.clone()),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
    ];
    for (req, status, code) in cases {
        expect_error(send(req).await, status, code).await;
    }
    let wrong_token =
        app.client.post(app.url(&path(&sage, &format!("tenant_id={tenant}")))).bearer_auth("guess").header("content-type", "text/html");
    expect_error(send(wrong_token.body(page.clone())).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // Nothing above was stored. A valid upload, exactly at the body limit, now goes through;
    // events for one instance are handled in order, so once its deliverable is listed anything
    // stored earlier would have been too.
    let mut fits = page.clone();
    fits.resize(BODY_LIMIT, b'\n');
    let ok = upload_ok(&app, tenant, &sage, "page.html", "text/html", fits).await;
    let d = delivered(&app, tenant, &sage, ok["event_id"].as_str().unwrap()).await;
    assert_eq!(d["kind"], "seo_audit", "{d}");
    let listed = deliverables(&app, tenant, &sage).await;
    assert_eq!(listed.len(), 1, "a refused upload made a deliverable: {listed:?}");
    assert_eq!(app.instance(tenant, &sage).await["wake_count"], 1, "a refused upload woke the instance");
    assert!(deliverables(&app, &other.id, &theirs).await.is_empty());
    assert_eq!(app.instance(&other.id, &theirs).await["wake_count"], 0);
    assert!(app.dead_letters(tenant).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliverables_are_tenant_scoped_listed_newest_first_and_outlive_retirement() {
    let app = TestApp::start().await;
    let acme = app.create_tenant("Northfield Outfitters").await;
    let globex = app.create_tenant("Globex").await;
    let sage = hire(&app, &acme.id, "seo-ecommerce", "Sage").await;

    let first = upload_ok(&app, &acme.id, &sage, "fell-runner.html", "text/html", fixture("outputs/fell_runner_trail_shoe.html")).await;
    let first = delivered(&app, &acme.id, &sage, first["event_id"].as_str().unwrap()).await;
    let second = upload_ok(&app, &acme.id, &sage, "deals.csv", "text/csv", fixture("outputs/deals_pipeline_export.csv")).await;
    let second = delivered(&app, &acme.id, &sage, second["event_id"].as_str().unwrap()).await;
    let id = first["id"].as_str().unwrap();

    // Newest first; `limit` caps the list.
    let ids = |list: &[Value]| list.iter().map(|d| d["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&deliverables(&app, &acme.id, &sage).await), [second["id"].clone(), first["id"].clone()]);
    let (status, one) = app.get_json(&format!("{}&limit=1", deliverables_path(&acme.id, &sage))).await;
    assert_eq!((status, ids(one["deliverables"].as_array().unwrap())), (StatusCode::OK, vec![second["id"].clone()]), "{one}");

    // Another tenant sees nothing: not found, not forbidden, and nothing of the content.
    let msg = expect_error(
        app.get(&format!("/v1/deliverables/{id}?tenant_id={}", globex.id)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "deliverable_not_found",
    )
    .await;
    assert!(!msg.contains("SEO") && !msg.contains("fell-runner"), "{msg}");
    assert!(deliverables(&app, &globex.id, &sage).await.is_empty());

    // Unknown and malformed ids, missing tenant, no token.
    let nobody = uuid::Uuid::now_v7();
    let cases = [
        (format!("/v1/deliverables/{nobody}?tenant_id={}", acme.id), StatusCode::NOT_FOUND, "deliverable_not_found"),
        (format!("/v1/deliverables/audit-1?tenant_id={}", acme.id), StatusCode::BAD_REQUEST, "invalid_id"),
        (format!("/v1/deliverables/{id}"), StatusCode::BAD_REQUEST, "missing_parameter"),
        (format!("/v1/deliverables/{id}?tenant_id=northfield"), StatusCode::BAD_REQUEST, "invalid_id"),
        (format!("/v1/instances/{sage}/deliverables"), StatusCode::BAD_REQUEST, "missing_parameter"),
        (format!("/v1/instances/sage/deliverables?tenant_id={}", acme.id), StatusCode::BAD_REQUEST, "invalid_id"),
        (deliverables_path(&nobody.to_string(), &sage), StatusCode::NOT_FOUND, "tenant_not_found"),
    ];
    for (path, status, code) in cases {
        expect_error(app.get(&path).send().await.unwrap(), status, code).await;
    }
    for path in [format!("/v1/deliverables/{id}?tenant_id={}", acme.id), deliverables_path(&acme.id, &sage)] {
        expect_error(app.client.get(app.url(&path)).send().await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    // Retiring the agent keeps what it delivered.
    let (status, retired) = json_of(app.post(&format!("/v1/instances/{sage}/retire?tenant_id={}", acme.id)).send().await.unwrap()).await;
    assert_eq!((status, retired["status"].as_str()), (StatusCode::OK, Some("retired")), "{retired}");
    assert_eq!(ids(&deliverables(&app, &acme.id, &sage).await), [second["id"].clone(), first["id"].clone()]);
    let (status, again) = app.get_json(&format!("/v1/deliverables/{id}?tenant_id={}", acme.id)).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_an_upload_is_shown_as_text_in_the_rendered_html() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Harbour Software").await;
    let tenant = t.id.as_str();
    let ae = hire(&app, tenant, "account-executive", "Alex").await;

    // A CRM lets anyone who fills in a form name a deal; the export carries it verbatim.
    let csv = "Deal Name,Deal Owner,Deal Stage,Close Date\n\
               <img src=x onerror=alert(document.cookie)>,[Priya Raman](javascript:alert(1)),Proposal,2024-01-01\n\
               Kestrel Foods - Analytics Suite,<b>Marcus Webb</b>,Negotiation,2024-02-01\n";
    let accepted = upload_ok(&app, tenant, &ae, "deals.csv", "text/csv", csv.as_bytes().to_vec()).await;
    let d = delivered(&app, tenant, &ae, accepted["event_id"].as_str().unwrap()).await;
    assert_eq!(d["kind"], "pipeline_followups", "{d}");
    // The Markdown quotes the values as written...
    assert!(markdown(&d).contains("<img src=x onerror=alert(document.cookie)>"), "{}", markdown(&d));
    // ...and the HTML shows them as text: no element, no script link.
    let h = html(&d);
    assert!(h.contains("<td>&lt;img src=x onerror=alert(document.cookie)&gt;</td>"), "{h}");
    assert!(h.contains("<td>&lt;b&gt;Marcus Webb&lt;/b&gt;</td>"), "{h}");
    assert!(h.contains(r##"<a href="#">Priya Raman</a>"##), "{h}");
    assert!(!h.contains("<img") && !h.contains("<b>") && !h.contains("javascript:"), "{h}");

    // A filename that closes the code span around it, in the rejection of a wrong type.
    let name = "q3`<img src=y onerror=alert(2)>`.html";
    let wrong = upload_ok(&app, tenant, &ae, name, "text/html", fixture("outputs/fell_runner_trail_shoe.html")).await;
    let d = delivered(&app, tenant, &ae, wrong["event_id"].as_str().unwrap()).await;
    assert_eq!((d["kind"].as_str(), d["title"].as_str()), (Some("input_rejected"), Some(format!("Could not process {name}").as_str())));
    let h = html(&d);
    assert!(h.contains("&lt;img src=y onerror=alert(2)&gt;") && !h.contains("<img"), "{h}");
    // The Markdown's own code spans still render as code.
    assert!(h.starts_with("<h1>Could not process <code>q3</code>"), "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_instance_delivers_on_resume_and_a_retired_one_takes_no_uploads() {
    let app = TestApp::start().await;
    let t = app.create_tenant("Northfield Outfitters").await;
    let tenant = t.id.as_str();
    let sage = hire(&app, tenant, "seo-ecommerce", "Sage").await;
    let lifecycle = |action: &str| app.post(&format!("/v1/instances/{sage}/{action}?tenant_id={tenant}")).send();

    assert_eq!(lifecycle("pause").await.unwrap().status(), StatusCode::OK);
    let page = fixture("outputs/fell_runner_trail_shoe.html");
    let kept = upload_ok(&app, tenant, &sage, "fell-runner.html", "text/html", page.clone()).await;
    let event_id = kept["event_id"].as_str().unwrap();
    let e = app.wait_dispatched(tenant, event_id).await;
    assert_eq!(e["deliveries"][0]["status"], "deferred", "{e}");
    assert!(deliverables(&app, tenant, &sage).await.is_empty(), "a paused instance does not work");

    assert_eq!(lifecycle("resume").await.unwrap().status(), StatusCode::OK);
    let d = delivered(&app, tenant, &sage, event_id).await;
    assert_eq!(d["kind"], "seo_audit", "{d}");

    // Retired: the upload is refused rather than accepted for a wake that never comes; what the
    // agent delivered stays readable.
    assert_eq!(lifecycle("retire").await.unwrap().status(), StatusCode::OK);
    let msg = expect_error(
        upload(&app, tenant, &sage, "fell-runner.html", "text/html", page).send().await.unwrap(),
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(msg.contains("retired"), "{msg}");
    assert_eq!(deliverables(&app, tenant, &sage).await, [d]);
    assert_eq!(app.instance(tenant, &sage).await["wake_count"], 1);
}
