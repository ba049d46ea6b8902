//! The HTML status pages: `/` (platform counts and the catalog) and `/status/costs` (spend by
//! specialization and by day across the platform). Both are public, so neither shows a tenant,
//! an instance or anything a customer wrote: per-tenant costs are in the API (`/v1/costs`).

use crate::AppState;
use axum::extract::State;
use axum::response::Html;
use waooaw_domain::SummaryGroup;

pub async fn page(State(state): State<AppState>) -> Html<String> {
    let rt = &state.runtime;
    let store_ok = rt.store().ping().await.is_ok();
    let bus_ok = rt.bus().ping().await.is_ok();
    let pending = rt.bus().pending().await.map_or_else(|e| format!("unknown ({e})"), |n| n.to_string());
    let specs: String = rt
        .catalog()
        .iter()
        .map(|s| {
            let m = &s.marketplace;
            let vertical = serde_json::to_value(m.vertical).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>${:.0}/month, {}-day trial</td><td>{}</td></tr>",
                esc(&s.id),
                esc(&s.name),
                s.spec_type,
                esc(&vertical),
                m.price_usd_per_month,
                m.trial_days,
                esc(&m.tagline)
            )
        })
        .collect();
    let ok = |b: bool| if b { "<span class=ok>ok</span>" } else { "<span class=bad>unreachable</span>" };
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WAOOAW status</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}td,th{{padding:.2rem .8rem;text-align:left}}.ok{{color:#060}}.bad{{color:#b00}}</style></head>
<body><h1>WAOOAW</h1><p>Agent runtime, up since {started}.</p>
<table><tr><th>store</th><td>{store_kind}</td><td>{store_ok}</td></tr>
<tr><th>bus</th><td>{bus_kind}</td><td>{bus_ok}</td></tr>
<tr><th>instances routed</th><td>{routed}</td></tr><tr><th>wakes in flight</th><td>{inflight}</td></tr>
<tr><th>bus messages pending</th><td>{pending}</td></tr></table>
<h2>Catalog</h2><table><tr><th>id</th><th>name</th><th>type</th><th>vertical</th><th>offer</th><th>what it does</th></tr>{specs}</table>
<p><a href="/status/costs">Costs</a>. API under <code>/v1</code> (bearer token), <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a>.</p></body></html>"#,
        started = state.started_at.to_rfc3339(),
        store_kind = rt.store().kind(),
        store_ok = ok(store_ok),
        bus_kind = rt.bus().kind(),
        bus_ok = ok(bus_ok),
        routed = rt.routed_instances(),
        inflight = rt.wakes_in_flight(),
    ))
}

/// Days the cost page covers.
const COST_DAYS: i64 = 30;

pub async fn costs(State(state): State<AppState>) -> Html<String> {
    let store = state.runtime.store();
    let since = chrono::Utc::now() - chrono::Duration::days(COST_DAYS);
    let table = |group: SummaryGroup, title: &str, rows: Result<Vec<waooaw_domain::TierSummaryRow>, waooaw_store::StoreError>| {
        let rows = match rows {
            Ok(r) => r,
            Err(e) => return format!("<h2>{title}</h2><p class=bad>The store could not be read: {}</p>", esc(&e.to_string())),
        };
        let (groups, total) = crate::decisions_api::cost_groups(&rows);
        let mut html = format!(
            "<h2>{title}</h2><table><tr><th>{}</th><th>decisions</th><th>LLM calls</th><th>tokens in</th><th>tokens out</th><th>USD</th></tr>",
            group.as_str()
        );
        for g in &groups {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td></tr>",
                esc(g["group"].as_str().unwrap_or("")),
                g["decisions"],
                g["llm_calls"],
                g["tokens_in"],
                g["tokens_out"],
                g["cost_usd"].as_f64().unwrap_or(0.0)
            ));
        }
        if groups.is_empty() {
            html.push_str("<tr><td colspan=6>No decisions yet.</td></tr>");
        }
        html.push_str(&format!("<tr><th>total</th><td></td><td></td><td></td><td></td><th>{total:.4}</th></tr></table>"));
        html
    };
    let by_spec = table(
        SummaryGroup::Specialization,
        "By specialization",
        store.decision_summary(None, SummaryGroup::Specialization, Some(since)).await,
    );
    let by_day = table(SummaryGroup::Day, "By day (UTC)", store.decision_summary(None, SummaryGroup::Day, Some(since)).await);
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WAOOAW costs</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}td,th{{padding:.2rem .8rem;text-align:left}}.bad{{color:#b00}}</style></head>
<body><h1>Costs, last {COST_DAYS} days</h1><p>Every decision and draft, by the tier that made it; LLM calls carry their tokens and price.
Per tenant and per instance: <code>GET /v1/costs?group_by=tenant|instance</code> or <code>waooaw costs</code>.</p>
{by_spec}{by_day}<p><a href="/">Status</a></p></body></html>"#
    ))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
