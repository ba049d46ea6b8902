//! `waooaw serve` and `waooaw migrate`.

use crate::config::{ServeArgs, Settled, StoreArgs};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use waooaw_bus::DynBus;
use waooaw_runtime::{Catalog, Runtime, RuntimeConfig, WorkRegistry};

pub async fn migrate(args: StoreArgs) -> Result<()> {
    init_logs(false);
    let url = args.store_url()?;
    let store = waooaw_store::connect(&url).await.with_context(|| format!("cannot open store {}", redact(&url)))?;
    let n = store.migrate().await?;
    println!("{} store at {}: {n} migration(s) applied", store.kind(), redact(&url));
    Ok(())
}

pub fn load_catalog(dir: Option<&Path>, work: &WorkRegistry) -> Result<Catalog> {
    let names = work.names();
    match dir {
        Some(d) => Ok(Catalog::load_dir(d, &names)?),
        None if Path::new("catalog").is_dir() => Ok(Catalog::load_dir(Path::new("catalog"), &names)?),
        None => Ok(Catalog::embedded(&names)?),
    }
}

pub async fn open_bus(cfg: &Settled) -> Result<DynBus> {
    Ok(match cfg.redis_url.as_deref() {
        Some(url) => {
            let mut bus_cfg = waooaw_bus::RedisBusConfig::default();
            if let Some(stream) = &cfg.redis_stream {
                bus_cfg.stream_key = stream.clone();
            }
            if let Some(ms) = cfg.redis_claim_idle_ms {
                bus_cfg.claim_idle = Duration::from_millis(ms);
                bus_cfg.claim_interval = bus_cfg.claim_interval.min(Duration::from_millis(ms.max(50)));
            }
            Arc::new(open_redis(url, bus_cfg).await?)
        }
        None => Arc::new(waooaw_bus::inprocess::InProcessBus::new()),
    })
}

async fn open_redis(url: &str, cfg: waooaw_bus::RedisBusConfig) -> Result<waooaw_bus::RedisStreamsBus> {
    waooaw_bus::RedisStreamsBus::connect(url, cfg).await.with_context(|| format!("cannot connect to Redis at {}", redact(url)))
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    serve_with(args, false).await
}

/// `serve`, and with `demo` also seeds a demo tenant whose agents work on bundled fixtures.
pub async fn serve_with(args: ServeArgs, demo: bool) -> Result<()> {
    let cfg: Settled = args.settle()?;
    let _traces = crate::telemetry::init(cfg.log_json, cfg.otlp_endpoint.as_deref())?;
    // Latencies as histograms (not per-process summaries) so dashboards and alerts can take
    // quantiles across processes: `histogram_quantile(0.99, sum by (le) (rate(..._bucket[5m])))`.
    const SECONDS: &[f64] = &[0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()), SECONDS)
        .and_then(|b| b.install_recorder())
        .ok();
    // Outside clients first (after the recorder, which their breakers report to): a bad
    // `[llm]` chain stops the start before any store is touched.
    let breakers = waooaw_integrations::resilience::BreakerRegistry::new();
    let clients = crate::engine::clients(&cfg, &breakers)?;

    let work = waooaw_agents::registry();
    let catalog = Arc::new(load_catalog(cfg.catalog.as_deref(), &work)?);
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("cannot create data dir {}", cfg.data_dir.display()))?;
    let store_url = match &cfg.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", cfg.data_dir.join("waooaw.db").display()),
    };
    let store = waooaw_store::connect(&store_url).await.with_context(|| format!("cannot open store {}", redact(&store_url)))?;
    let applied = store.migrate().await?;
    let bus = open_bus(&cfg).await?;
    let admin_token = admin_token(&cfg.data_dir)?;

    let shared_store = cfg.redis_url.is_some() || cfg.database_url.is_some();
    let engine = crate::engine::open(store.clone(), clients, &catalog, shared_store).await?;
    let config = RuntimeConfig { shared_store, wake_concurrency: cfg.wake_concurrency, ..Default::default() };
    let decider: Arc<dyn waooaw_domain::Decider> = engine.clone();
    let runtime = Runtime::start(config, store.clone(), bus.clone(), catalog.clone(), work, None, Some(decider)).await?;
    // GitHub tokens are sealed with the master key: `WAOOAW_MASTER_KEY` (64 hex characters), or
    // a key file made once in the data directory.
    let master = std::env::var("WAOOAW_MASTER_KEY").ok();
    let key = waooaw_integrations::secrets::MasterKey::load(master.as_deref(), &cfg.data_dir).context("the master key for secrets")?;
    let github = waooaw_server::github_outbox::GithubOutputs::new(key, cfg.github_api.clone(), &breakers);
    let _outbox = waooaw_server::github_outbox::spawn(store.clone(), github.clone());
    let state = waooaw_server::AppState {
        runtime: runtime.clone(),
        admin_token: admin_token.into(),
        body_limit: cfg.body_limit,
        metrics,
        started_at: chrono::Utc::now(),
        engine: Some(engine.clone()),
        breakers,
        github: Some(github.clone()),
    };
    let listener = tokio::net::TcpListener::bind(&cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    tracing::info!(listen = %cfg.listen, store = store.kind(), bus = bus.kind(), specializations = catalog.len(),
        llm = engine.has_llm(), memories = engine.memory().len(), embedding = engine.memory().embedding_id(),
        instances = runtime.routed_instances(), migrations_applied = applied, "waooaw serving");
    eprintln!("waooaw listening on http://{} ({} store, {} bus, {} specializations)", cfg.listen, store.kind(), bus.kind(), catalog.len());
    if demo {
        let (runtime, engine, listen) = (runtime.clone(), engine.clone(), cfg.listen.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::demo::seed(&runtime, &engine, &listen).await {
                eprintln!("demo: seeding failed: {e:#}");
            }
        });
    }
    waooaw_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopping: finishing in-flight wakes");
    runtime.shutdown(Duration::from_secs(10)).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// The admin token: `WAOOAW_ADMIN_TOKEN`, else `<data-dir>/admin-token`, else a new one written
/// there with mode 0600 and printed once.
fn admin_token(data_dir: &Path) -> Result<String> {
    if let Ok(t) = std::env::var("WAOOAW_ADMIN_TOKEN")
        && !t.is_empty()
    {
        return Ok(t);
    }
    let path = data_dir.join("admin-token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_owned();
        if !t.is_empty() {
            return Ok(t);
        }
    }
    let token = format!("wao_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    write_private(&path, &token).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("admin token (saved to {}, shown once): {token}", path.display());
    Ok(token)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

pub fn init_logs(json: bool) {
    let _ = crate::telemetry::init(json, None);
}

/// Hides a password in a URL before it reaches a log or an error.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}
