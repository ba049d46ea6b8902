//! `waooaw bench`: wake throughput and latency, and the memory an idle instance costs. Runs
//! the real runtime on a throw-away store (SQLite in a temp dir) and the chosen bus.

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use waooaw_domain::{Event, EventType, Instance, InstanceStatus, NewEvent, Personality, Specialization, Tenant, TenantId};
use waooaw_runtime::{Catalog, Runtime, RuntimeConfig, WakeInput, WakeProbe, WorkError, WorkFn, WorkOutput, WorkRegistry};

#[derive(Clone, Copy, ValueEnum, Debug)]
pub enum BusKind {
    Inprocess,
    Redis,
}

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Publish events to instances subscribed over 50 patterns; report accepted events/s,
    /// deliveries/s and wake latency (publish to work start) percentiles.
    Wake {
        #[arg(long, value_enum, default_value = "inprocess")]
        bus: BusKind,
        #[arg(long, env = "WAOOAW_REDIS_URL", default_value = "redis://127.0.0.1:6379")]
        redis_url: String,
        /// Run on PostgreSQL (a fresh schema, dropped afterwards) instead of a temporary SQLite
        /// file. Deliberately no environment variable: a benchmark never picks up a real store.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        instances: usize,
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        /// Offered rate (events/s) of the latency phase.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        #[arg(long)]
        json: bool,
    },
    /// Latency of the decision engine's cache, rules and memory tiers, one decision at a time,
    /// with this many stored memories in the tenant.
    Decide {
        #[arg(long, default_value_t = 100_000)]
        memories: usize,
        /// Decisions measured per tier.
        #[arg(long, default_value_t = 2_000)]
        samples: usize,
        #[arg(long)]
        json: bool,
    },
    /// Round trip of a handoff between two agents (event → sender's commit → `agent.handoff` →
    /// the receiver's work starts), at an offered rate.
    Handoff {
        #[arg(long, value_enum, default_value = "inprocess")]
        bus: BusKind,
        #[arg(long, env = "WAOOAW_REDIS_URL", default_value = "redis://127.0.0.1:6379")]
        redis_url: String,
        #[arg(long, default_value_t = 100)]
        tenants: usize,
        #[arg(long, default_value_t = 5_000)]
        handoffs: usize,
        #[arg(long, default_value_t = 1_000)]
        rate: u64,
        #[arg(long)]
        json: bool,
    },
    /// Resident memory per idle instance in the routing index.
    Idle {
        #[arg(long, default_value_t = 100_000)]
        instances: usize,
        #[arg(long)]
        json: bool,
    },
}

const PATTERNS: usize = 50;

/// The benchmark's work: does nothing but count, so the figures are the platform's own cost.
struct CountWork(Arc<AtomicU64>);

#[async_trait::async_trait]
impl WorkFn for CountWork {
    async fn run(&self, input: &WakeInput<'_>) -> Result<WorkOutput, WorkError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        let n = input.state.get("n").and_then(|v| v.as_u64()).unwrap_or(0);
        Ok(WorkOutput::new(json!({"n": n + 1}), "counted"))
    }
}

struct LatencyProbe(Mutex<Histogram<u64>>);

impl WakeProbe for LatencyProbe {
    fn work_started(&self, event: &Event) {
        let us = (chrono::Utc::now() - event.timestamp).num_microseconds().unwrap_or(0).max(0) as u64;
        if let Ok(mut h) = self.0.lock() {
            let _ = h.record(us);
        }
    }
}

fn pattern_for(i: usize) -> (String, String) {
    // Half exact types, half prefixes: (subscription pattern, an event type it matches).
    let p = i % PATTERNS;
    if p.is_multiple_of(2) {
        (format!("bench.e{p}.done"), format!("bench.e{p}.done"))
    } else {
        (format!("bench.p{p}.*"), format!("bench.p{p}.changed"))
    }
}

fn catalog() -> Result<Catalog> {
    let mut c = Catalog::default();
    for p in 0..PATTERNS {
        let (pat, _) = pattern_for(p);
        let text = format!(
            "id = \"bench-{p}\"\nname = \"Bench {p}\"\ntype = \"specialist\"\ndomain = \"bench\"\nversion = \"1.0.0\"\nresponsibilities = [\"count\"]\nwork = \"bench.count\"\n[wake]\nsubscriptions = [\"{pat}\"]\n"
        );
        c.insert(Specialization::from_toml(&format!("bench-{p}.toml"), &text, &["bench.count"])?);
    }
    Ok(c)
}

async fn populate(store: &waooaw_store::DynStore, n: usize) -> Result<Vec<(TenantId, usize)>> {
    let tenants: Vec<TenantId> = (0..n.div_ceil(10)).map(|_| TenantId::new()).collect();
    for t in &tenants {
        store
            .create_tenant(&Tenant {
                id: *t,
                name: format!("Bench tenant {t}"),
                webhook_secret: "bench-secret-0123456789".into(),
                created_at: chrono::Utc::now(),
            })
            .await?;
    }
    let now = chrono::Utc::now();
    let mut placed = Vec::with_capacity(n);
    for i in 0..n {
        let tenant = tenants[i / 10];
        let personality = Personality { name: format!("Agent {i}"), ..Default::default() };
        let inst = Instance {
            status: InstanceStatus::Active,
            hired_at: Some(now),
            ..Instance::on_trial(tenant, format!("bench-{}", i % PATTERNS), personality, now, None)
        };
        store.create_instance(&inst).await?;
        placed.push((tenant, i % PATTERNS));
    }
    Ok(placed)
}

fn event_for(placed: &[(TenantId, usize)], rng: &mut impl Rng) -> Result<NewEvent> {
    let (tenant, p) = placed[rng.random_range(0..placed.len())];
    let (_, ty) = pattern_for(p);
    Ok(NewEvent::new(EventType::parse(&ty)?, "bench", tenant, json!({"n": rng.random_range(0..1000)})))
}

fn rss_bytes() -> u64 {
    // /proc/self/statm: size resident ... in pages.
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

impl BenchCmd {
    pub async fn run(self) -> Result<()> {
        match self {
            Self::Wake { bus, redis_url, database_url, instances, events, rate, json } => {
                let Some(url) = database_url else { return wake(bus, &redis_url, None, instances, events, rate, json).await };
                let schema = format!("waooaw_bench_{}", uuid::Uuid::new_v4().simple());
                let store: waooaw_store::DynStore =
                    Arc::new(waooaw_store::postgres::PgStore::connect_with_schema(&url, &schema).await.context("connect to PostgreSQL")?);
                let result = wake(bus, &redis_url, Some(store), instances, events, rate, json).await;
                waooaw_store::postgres::PgStore::drop_schema(&url, &schema).await.context("drop the benchmark's schema")?;
                result
            }
            Self::Idle { instances, json } => idle(instances, json).await,
            Self::Decide { memories, samples, json } => crate::bench_decide::run(memories, samples, json).await,
            Self::Handoff { bus, redis_url, tenants, handoffs, rate, json } => {
                crate::bench_handoff::run(bus, &redis_url, tenants, handoffs, rate, json).await
            }
        }
    }
}

async fn wake(
    bus_kind: BusKind,
    redis_url: &str,
    store: Option<waooaw_store::DynStore>,
    instances: usize,
    events: usize,
    rate: u64,
    as_json: bool,
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = match store {
        Some(s) => s,
        None => waooaw_store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?,
    };
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
    let t_pop = Instant::now();
    let placed = populate(&store, instances).await?;
    eprintln!("bench: populated {instances} instances in {:.1}s", t_pop.elapsed().as_secs_f64());
    let counter = Arc::new(AtomicU64::new(0));
    let mut work = WorkRegistry::default();
    work.register("bench.count", Arc::new(CountWork(counter.clone())));
    let probe = Arc::new(LatencyProbe(Mutex::new(Histogram::new(3)?)));
    let rt =
        Runtime::start(RuntimeConfig::default(), store.clone(), bus.clone(), Arc::new(catalog()?), work, Some(probe.clone()), None).await?;

    // Phase 1: burst. 256 concurrent publishers, as fast as the runtime accepts.
    let started = Instant::now();
    let per_task = events.div_ceil(256);
    let placed = Arc::new(placed);
    let mut tasks = Vec::new();
    for t in 0..256 {
        let (rt, placed) = (rt.clone(), placed.clone());
        let n = per_task.min(events.saturating_sub(t * per_task));
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::from_os_rng();
            for _ in 0..n {
                let e = event_for(&placed, &mut rng)?;
                rt.publish(e).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let accept_secs = started.elapsed().as_secs_f64();
    eprintln!("bench: {events} events accepted in {accept_secs:.1}s");
    wait_for(&counter, events as u64, Duration::from_secs(600)).await;
    let deliver_secs = started.elapsed().as_secs_f64();
    let delivered = counter.load(Ordering::Relaxed);
    let settle = settled(&store, Duration::from_secs(60)).await?;

    // Phase 2: latency at the offered rate, for 10 s or `events`, whichever is fewer.
    probe.0.lock().map_err(|_| anyhow::anyhow!("probe poisoned"))?.reset();
    let paced = ((rate * 10) as usize).min(events);
    let before = counter.load(Ordering::Relaxed);
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let t0 = Instant::now();
    let mut handles = Vec::with_capacity(paced);
    for i in 0..paced {
        until_due(t0, interval, i).await;
        let e = event_for(&placed, &mut rng)?;
        let rt = rt.clone();
        handles.push(tokio::spawn(async move { rt.publish(e).await.map(|_| ()) }));
    }
    for h in handles {
        h.await??;
    }
    wait_for(&counter, before + paced as u64, Duration::from_secs(600)).await;
    let h = probe.0.lock().map_err(|_| anyhow::anyhow!("probe poisoned"))?.clone();
    rt.shutdown(Duration::from_secs(5)).await;
    if let Some(stream) = redis_stream {
        stream.delete_stream().await.context("delete the benchmark's Redis stream")?;
    }

    let report = json!({
        "bench": "wake", "bus": format!("{bus_kind:?}").to_lowercase(), "store": store.kind(),
        "instances": instances, "patterns": PATTERNS, "events": events, "delivered": delivered,
        "events_per_sec": (events as f64 / accept_secs).round(),
        "deliveries_per_sec": (delivered as f64 / deliver_secs).round(),
        "settle_ms": settle.as_millis(), "offered_rate": rate, "latency_events": paced,
        "p50_us": h.value_at_quantile(0.5), "p99_us": h.value_at_quantile(0.99), "max_us": h.max(),
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
    });
    if as_json {
        println!("{report}");
    } else {
        for (k, v) in report.as_object().into_iter().flatten() {
            println!("{k:<20} {v}");
        }
    }
    Ok(())
}

/// Sleeps until the `i`-th of a series paced `interval` apart from `t0` is due (at once if it
/// already is), so that the offered rate holds however long each publish takes.
pub(crate) async fn until_due(t0: Instant, interval: Duration, i: usize) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(t0 + interval * i as u32)).await;
}

/// Waits until the burst is finished, not only worked: every event marked dispatched (and, on
/// Redis, its delivery acknowledged right after). Why: the latency phase measures the offered
/// rate alone; started while the burst's last marks were still being written (0.4 s of them
/// after a 200,000-event burst over Redis), its first half second measured the burst's tail
/// (p99 6.6-8.1 ms against 1.8 ms once settled). How long it took is reported as `settle_ms`.
async fn settled(store: &waooaw_store::DynStore, limit: Duration) -> Result<Duration> {
    let start = Instant::now();
    let horizon = chrono::Utc::now() + chrono::Duration::hours(1);
    while !store.undispatched_events(horizon, 1).await?.is_empty() {
        if start.elapsed() > limit {
            anyhow::bail!("the burst's events were still not all dispatched after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(start.elapsed())
}

async fn wait_for(counter: &AtomicU64, target: u64, limit: Duration) {
    let start = Instant::now();
    while counter.load(Ordering::Relaxed) < target && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn idle(instances: usize, as_json: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = waooaw_store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    store.migrate().await?;
    populate(&store, instances).await?;
    let mut work = WorkRegistry::default();
    work.register("bench.count", Arc::new(CountWork(Arc::new(AtomicU64::new(0)))));
    let catalog = Arc::new(catalog()?);
    let bus: waooaw_bus::DynBus = Arc::new(waooaw_bus::inprocess::InProcessBus::new());
    let before = rss_bytes();
    let rt = Runtime::start(RuntimeConfig::default(), store.clone(), bus, catalog, work, None, None).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_bytes();
    let per = after.saturating_sub(before) as f64 / instances.max(1) as f64;
    let report = json!({"bench": "idle", "instances": rt.routed_instances(), "rss_before_bytes": before, "rss_after_bytes": after,
        "bytes_per_idle_instance": per.round(), "tasks_per_idle_instance": 0});
    rt.shutdown(Duration::from_secs(1)).await;
    if as_json {
        println!("{report}")
    } else {
        for (k, v) in report.as_object().into_iter().flatten() {
            println!("{k:<24} {v}");
        }
    }
    Ok(())
}
