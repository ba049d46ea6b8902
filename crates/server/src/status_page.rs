//! A minimal HTML status page at `/`: no customer data, only platform counts.

use crate::AppState;
use axum::extract::State;
use axum::response::Html;

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
<p>API under <code>/v1</code> (bearer token), <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a>.</p></body></html>"#,
        started = state.started_at.to_rfc3339(),
        store_kind = rt.store().kind(),
        store_ok = ok(store_ok),
        bus_kind = rt.bus().kind(),
        bus_ok = ok(bus_ok),
        routed = rt.routed_instances(),
        inflight = rt.wakes_in_flight(),
    ))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
