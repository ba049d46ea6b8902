//! `waooaw bench handoff`: round trip of a handoff between two agents of a tenant, through the
//! real runtime: an event wakes a sender, whose commit saves a handoff; the runtime sends it as
//! an `agent.handoff` event; the receiver's work starting ends the sample. Reported: p50/p99 of
//! (publish of the first event → the receiver's work starts) and handoffs per second; then the
//! same for `consult`: a request from the sender answered by the receiver's wake, timed from the
//! call to the answer (p50/p99 and consults per second).

use crate::bench::BusKind;
use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use waooaw_domain::{EventType, ExternalAction, NewEvent, OutboxItem, Personality, Specialization, Tenant, TenantId};
use waooaw_runtime::{Catalog, Runtime, RuntimeConfig, WakeInput, WorkError, WorkFn, WorkOutput, WorkRegistry};

const SPECS: [(&str, &str, &str); 2] = [("bench-sender", "bench.send", "bench.go"), ("bench-receiver", "bench.recv", "bench.never")];

struct Send;
#[async_trait::async_trait]
impl WorkFn for Send {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        let e = input.event;
        // Only the bench's own event starts a handoff (not the receiver's acceptance).
        if e.event_type.as_str() != "bench.go" {
            return Ok(WorkOutput::new(json!({}), "noted"));
        }
        let item = OutboxItem {
            key: format!("handoff:{}", e.id),
            action: ExternalAction::Handoff {
                to: "bench-receiver".into(),
                action: "ping".into(),
                // The first event's publish time: the receiver measures the round trip from it.
                package: json!({"sent_at_us": e.timestamp.timestamp_micros()}),
                cause: Some(e.id.0),
                correlation: Some(e.correlation_id.0),
            },
        };
        Ok(WorkOutput::new(json!({}), "handed over").with_outbox([item]))
    }
}

/// Closes a sample: from the first event's publish (carried in the package) to now.
struct Receive {
    hist: Arc<Mutex<Histogram<u64>>>,
    done: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl WorkFn for Receive {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        if input.event.event_type.as_str() == "agent.message" {
            let answer = waooaw_domain::Reply::Ok { result: json!({"pong": true}) };
            return Ok(WorkOutput::new(json!({}), "answered").with_reply(answer));
        }
        let sent = input.event.payload.pointer("/package/sent_at_us").and_then(serde_json::Value::as_i64);
        if let (Some(sent), Ok(mut h)) = (sent, self.hist.lock()) {
            let us = chrono::Utc::now().timestamp_micros().saturating_sub(sent).max(1);
            let _ = h.record(u64::try_from(us).unwrap_or(1));
        }
        self.done.fetch_add(1, Ordering::Relaxed);
        Ok(WorkOutput::new(json!({}), "received"))
    }
}

pub async fn run(bus_kind: BusKind, redis_url: &str, tenants: usize, handoffs: usize, rate: u64, as_json: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = waooaw_store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    store.migrate().await?;
    // A Redis bench runs on its own stream, deleted at the end.
    let mut redis_stream = None;
    let bus: waooaw_bus::DynBus = match bus_kind {
        BusKind::Inprocess => Arc::new(waooaw_bus::inprocess::InProcessBus::new()),
        BusKind::Redis => {
            let cfg = waooaw_bus::redis_streams::RedisBusConfig {
                stream_key: format!("waooaw:bench:{}", uuid::Uuid::new_v4().simple()),
                ..Default::default()
            };
            let bus = Arc::new(waooaw_bus::redis_streams::RedisStreamsBus::connect(redis_url, cfg).await.context("connect to Redis")?);
            redis_stream = Some(bus.clone());
            bus
        }
    };
    let mut catalog = Catalog::default();
    for (id, work, sub) in SPECS {
        let text = format!(
            "id = \"{id}\"\nname = \"{id}\"\ntype = \"specialist\"\ndomain = \"bench\"\nversion = \"1.0.0\"\nresponsibilities = [\"bench\"]\nwork = \"{work}\"\n[wake]\nsubscriptions = [\"{sub}\"]\n\
             [messages.\"bench.ping\"]\ndescription = \"ping\"\nschema = {{ type = \"object\" }}\n"
        );
        catalog.insert(Specialization::from_toml(&format!("{id}.toml"), &text, &["bench.send", "bench.recv"])?);
    }
    let (hist, done) = (Arc::new(Mutex::new(Histogram::new(3)?)), Arc::new(AtomicU64::new(0)));
    let mut work = WorkRegistry::default();
    work.register("bench.send", Arc::new(Send));
    work.register("bench.recv", Arc::new(Receive { hist: hist.clone(), done: done.clone() }));
    let rt = Runtime::start(RuntimeConfig::default(), store.clone(), bus, Arc::new(catalog), work, None, None).await?;
    let mut ids = Vec::with_capacity(tenants);
    for n in 0..tenants.max(1) {
        let t = Tenant {
            id: TenantId::new(),
            name: format!("Bench {n}"),
            webhook_secret: "bench-secret-0123456789".into(),
            created_at: chrono::Utc::now(),
        };
        store.create_tenant(&t).await?;
        for (spec, _, _) in SPECS {
            rt.create_instance(t.id, spec, Personality { name: format!("{spec} {n}"), ..Default::default() }).await?;
        }
        ids.push(t.id);
    }
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    // Warm-up: one handoff per tenant, so that every instance has woken once. A first wake
    // restores the instance from the store (cold); the measured rounds are the steady state,
    // and the cold round trip is reported on its own.
    handoff_rounds(&rt, &ids, ids.len(), interval, &done).await?;
    let cold = std::mem::replace(&mut *hist.lock().map_err(|_| anyhow::anyhow!("poisoned"))?, Histogram::new(3)?);
    done.store(0, Ordering::Relaxed);
    let t0 = Instant::now();
    handoff_rounds(&rt, &ids, handoffs, interval, &done).await?;
    let secs = t0.elapsed().as_secs_f64();
    let (consult_hist, consulted, consult_secs) = consults(&rt, &store, &ids, handoffs, interval).await?;
    rt.shutdown(Duration::from_secs(5)).await;
    if let Some(stream) = redis_stream {
        stream.delete_stream().await.context("delete the benchmark's Redis stream")?;
    }
    let h = hist.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    let report = json!({
        "bench": "handoff", "bus": format!("{bus_kind:?}").to_lowercase(), "store": store.kind(), "tenants": tenants,
        "handoffs": handoffs, "completed": done.load(Ordering::Relaxed), "offered_rate": rate,
        "handoffs_per_sec": (done.load(Ordering::Relaxed) as f64 / secs).round(),
        "p50_us": h.value_at_quantile(0.5), "p99_us": h.value_at_quantile(0.99), "max_us": h.max(),
        "cold_p50_us": cold.value_at_quantile(0.5), "cold_p99_us": cold.value_at_quantile(0.99),
        "consults": consulted, "consults_per_sec": (consulted as f64 / consult_secs).round(),
        "consult_p50_us": consult_hist.value_at_quantile(0.5), "consult_p99_us": consult_hist.value_at_quantile(0.99),
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
    });
    if as_json {
        println!("{report}");
    } else {
        for (k, v) in report.as_object().into_iter().flatten() {
            println!("{k:<18} {v}");
        }
    }
    Ok(())
}

/// `n` handoffs at the offered rate, the tenants in turn; returns once the receivers took them
/// all (or after 300 s).
async fn handoff_rounds(rt: &Arc<Runtime>, tenants: &[TenantId], n: usize, interval: Duration, done: &AtomicU64) -> Result<()> {
    let target = done.load(Ordering::Relaxed) + n as u64;
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        crate::bench::until_due(t0, interval, i).await;
        let new = NewEvent::new(EventType::parse("bench.go")?, "bench", tenants[i % tenants.len()], json!({}));
        let rt = rt.clone();
        tasks.push(tokio::spawn(async move { rt.publish(new).await.map(|_| ()) }));
    }
    for t in tasks {
        t.await??;
    }
    let limit = Instant::now() + Duration::from_secs(300);
    while done.load(Ordering::Relaxed) < target && Instant::now() < limit {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// `n` consults at the offered rate, each tenant's sender asking its receiver; returns the
/// latency histogram, how many were answered, and the seconds they took.
async fn consults(
    rt: &Arc<Runtime>,
    store: &waooaw_store::DynStore,
    tenants: &[TenantId],
    n: usize,
    interval: Duration,
) -> Result<(Histogram<u64>, u64, f64)> {
    let mut pairs = Vec::with_capacity(tenants.len());
    for t in tenants {
        let list = store.list_instances(*t).await?;
        let sender = list.iter().find(|i| i.specialization_id == "bench-sender").cloned().context("sender")?;
        let receiver = list.iter().find(|i| i.specialization_id == "bench-receiver").map(|i| i.id).context("receiver")?;
        let cause = NewEvent::new(EventType::parse("bench.go")?, "bench", *t, json!({})).into_event(chrono::Utc::now())?;
        pairs.push((sender, receiver, cause));
    }
    let pairs = Arc::new(pairs);
    let t0 = Instant::now();
    let mut calls = Vec::with_capacity(n);
    for i in 0..n {
        crate::bench::until_due(t0, interval, i).await;
        let (rt, pairs) = (rt.clone(), pairs.clone());
        calls.push(tokio::spawn(async move {
            let (from, to, cause) = &pairs[i % pairs.len()];
            let started = Instant::now();
            let answer =
                rt.consult(from, cause, waooaw_domain::Recipient::Instance(*to), "bench.ping", json!({}), Duration::from_secs(10)).await;
            answer.ok().map(|_| started.elapsed())
        }));
    }
    let mut hist = Histogram::<u64>::new(3)?;
    let mut answered = 0;
    for c in calls {
        if let Some(took) = c.await? {
            answered += 1;
            hist.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1))?;
        }
    }
    Ok((hist, answered, t0.elapsed().as_secs_f64()))
}
