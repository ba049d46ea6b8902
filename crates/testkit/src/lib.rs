//! Live services for test suites. Without `WAOOAW_REQUIRE_SERVICES=1` a missing service makes
//! the caller skip (it gets `None` and a line on stderr saying why); with it, the test fails.

use std::sync::Arc;
use std::time::Duration;
use waooaw_bus::{DynBus, RedisBusConfig, RedisStreamsBus};
use waooaw_store::DynStore;

pub fn pg_url() -> String {
    std::env::var("WAOOAW_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn redis_url() -> String {
    std::env::var("WAOOAW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn services_required() -> bool {
    std::env::var("WAOOAW_REQUIRE_SERVICES").as_deref() == Ok("1")
}

fn unavailable(test: &str, service: &str, url: &str, err: &dyn std::fmt::Display) {
    if services_required() {
        panic!("{test}: {service} is required (WAOOAW_REQUIRE_SERVICES=1) but not reachable at {url}: {err}");
    }
    eprintln!("skipped: {test}: {service} not reachable at {url}: {err}");
}

/// A fresh, empty PostgreSQL database for one test; returns its URL.
pub async fn fresh_pg_database(test: &str) -> Option<String> {
    let url = pg_url();
    let admin = match sqlx::postgres::PgPoolOptions::new().max_connections(1).acquire_timeout(Duration::from_secs(5)).connect(&url).await {
        Ok(p) => p,
        Err(e) => {
            unavailable(test, "PostgreSQL", &url, &e);
            return None;
        }
    };
    let name = format!("waooaw_t_{}", uuid::Uuid::new_v4().simple());
    if let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await {
        unavailable(test, "PostgreSQL (CREATE DATABASE)", &url, &e);
        return None;
    }
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// A migrated PostgreSQL store in a fresh database.
pub async fn pg_store(test: &str) -> Option<(DynStore, String)> {
    let url = fresh_pg_database(test).await?;
    let store = waooaw_store::connect(&url).await.expect("connect to the fresh database");
    store.migrate().await.expect("migrate");
    Some((store, url))
}

pub fn unique_stream() -> String {
    format!("waooaw:test:{}", uuid::Uuid::new_v4().simple())
}

/// A Redis Streams bus on its own stream, claiming idle entries quickly.
pub async fn redis_bus(test: &str, stream: &str) -> Option<DynBus> {
    let url = redis_url();
    let cfg = RedisBusConfig {
        stream_key: stream.to_owned(),
        claim_idle: Duration::from_millis(500),
        claim_interval: Duration::from_millis(200),
        block: Duration::from_millis(200),
        ..Default::default()
    };
    match RedisStreamsBus::connect(&url, cfg).await {
        Ok(b) => Some(Arc::new(b)),
        Err(e) => {
            unavailable(test, "Redis", &url, &e);
            None
        }
    }
}

/// Deletes a test stream.
pub async fn drop_stream(stream: &str) {
    if let Ok(client) = redis::Client::open(redis_url())
        && let Ok(mut c) = client.get_multiplexed_async_connection().await
    {
        let _: Result<(), _> = redis::cmd("DEL").arg(stream).query_async(&mut c).await;
    }
}

/// A migrated store and a bus for one test, on one of the two deployments. Keep it until the
/// test ends (it owns the embedded store's directory); [`Deployment::finish`] cleans up.
pub struct Deployment {
    pub store: DynStore,
    pub bus: DynBus,
    _dir: Option<tempfile::TempDir>,
    stream: Option<String>,
}

impl Deployment {
    /// The embedded default: SQLite in a fresh directory and the in-process bus.
    pub async fn embedded() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = waooaw_store::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.expect("open the SQLite store");
        store.migrate().await.expect("migrate");
        Self { store, bus: Arc::new(waooaw_bus::inprocess::InProcessBus::new()), _dir: Some(dir), stream: None }
    }

    /// Scale-out: PostgreSQL in a fresh database and Redis Streams on a stream of its own;
    /// `None` (the test skips) when a service is missing and not required.
    pub async fn scale_out(test: &str) -> Option<Self> {
        let (store, _) = pg_store(test).await?;
        let stream = unique_stream();
        let bus = redis_bus(test, &stream).await?;
        Some(Self { store, bus, _dir: None, stream: Some(stream) })
    }

    /// Deletes what the deployment made outside the process (its Redis stream).
    pub async fn finish(self) {
        if let Some(stream) = &self.stream {
            drop_stream(stream).await;
        }
    }
}
