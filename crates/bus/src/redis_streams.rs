//! The Redis Streams bus, for running several runtime processes against one stream.
//!
//! Every message is one stream entry with a single field `m` holding the JSON of a
//! [`BusMessage`]. All consumers share one consumer group, so each entry goes to one of them.
//! A consumer's entries stay in the group's pending list until acknowledged (XACK); entries
//! idle longer than `claim_idle` in any consumer's pending list (a dead consumer, or a
//! delivery dropped unacknowledged) are taken over with XAUTOCLAIM by a live consumer. A
//! consumer restarted under the same name first re-reads its own pending entries.

use crate::{Acker, BusError, BusMessage, BusResult, Delivery, EventBus};
use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, FromRedisValue, RedisError, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio::time::Instant;

/// Capacity of each consumer's delivery channel.
const CONSUMER_BUFFER: usize = 256;
/// Pause after a Redis error in a consumer loop before reconnecting.
const ERROR_BACKOFF: Duration = Duration::from_millis(500);
/// Response timeout for ordinary commands.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// Field of a stream entry that holds the message JSON.
const FIELD: &str = "m";

#[derive(Debug, Clone)]
pub struct RedisBusConfig {
    /// The stream key.
    pub stream_key: String,
    /// The consumer group shared by every consumer.
    pub group: String,
    /// How long an entry must sit unacknowledged before another consumer takes it over.
    pub claim_idle: Duration,
    /// How often a consumer looks for entries to take over.
    pub claim_interval: Duration,
    /// How long one XREADGROUP waits for new entries.
    pub block: Duration,
    /// Most entries read or claimed per command.
    pub batch: usize,
    /// Approximate cap on the stream's length (XADD MAXLEN ~).
    pub maxlen: usize,
}

impl Default for RedisBusConfig {
    fn default() -> Self {
        Self {
            stream_key: "waooaw:events".into(),
            group: "waooaw-runtime".into(),
            claim_idle: Duration::from_secs(30),
            claim_interval: Duration::from_secs(5),
            block: Duration::from_secs(1),
            batch: 100,
            maxlen: 1_000_000,
        }
    }
}

struct Inner {
    client: Client,
    config: RedisBusConfig,
    /// Shared connection for publish, ack and queries; replaced when it breaks.
    conn: Mutex<Option<MultiplexedConnection>>,
    closed: AtomicBool,
    shutdown: Notify,
}

pub struct RedisStreamsBus {
    inner: Arc<Inner>,
}

impl RedisStreamsBus {
    /// Connects, and creates the stream and consumer group if they do not exist.
    pub async fn connect(url: &str, config: RedisBusConfig) -> BusResult<Self> {
        let client = Client::open(url)?;
        let config = RedisBusConfig { batch: config.batch.max(1), ..config };
        let inner = Arc::new(Inner { client, config, conn: Mutex::new(None), closed: AtomicBool::new(false), shutdown: Notify::new() });
        let mut conn = inner.connection().await?;
        create_group(&mut conn, &inner.config).await?;
        Ok(Self { inner })
    }

    pub fn config(&self) -> &RedisBusConfig {
        &self.inner.config
    }

    /// Deletes the stream and its consumer groups: for throw-away streams (benchmarks), never
    /// for a deployment's.
    pub async fn delete_stream(&self) -> BusResult<()> {
        let mut conn = self.inner.connection().await?;
        let _: i64 = redis::cmd("DEL").arg(&self.inner.config.stream_key).query_async(&mut conn).await?;
        Ok(())
    }
}

impl Drop for RedisStreamsBus {
    fn drop(&mut self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.shutdown.notify_waiters();
    }
}

fn is_connection_error(e: &RedisError) -> bool {
    e.is_connection_dropped() || e.is_unrecoverable_error() || e.is_io_error() || e.is_timeout()
}

async fn create_group(conn: &mut MultiplexedConnection, config: &RedisBusConfig) -> BusResult<()> {
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&config.stream_key)
        .arg(&config.group)
        .arg("$")
        .arg("MKSTREAM")
        .query_async::<()>(conn)
        .await;
    match created {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

impl Inner {
    async fn connection(&self) -> BusResult<MultiplexedConnection> {
        let mut guard = self.conn.lock().await;
        if let Some(conn) = guard.as_ref() {
            return Ok(conn.clone());
        }
        let config = AsyncConnectionConfig::new().set_connection_timeout(Some(COMMAND_TIMEOUT)).set_response_timeout(Some(COMMAND_TIMEOUT));
        let conn = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        *guard = Some(conn.clone());
        Ok(conn)
    }

    /// Runs a command on the shared connection, reconnecting and retrying once if the
    /// connection had broken.
    async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> BusResult<T> {
        let mut conn = self.connection().await?;
        match cmd.query_async::<T>(&mut conn).await {
            Ok(v) => Ok(v),
            Err(e) if is_connection_error(&e) => {
                *self.conn.lock().await = None;
                tracing::warn!(error = %e, "redis bus connection lost; reconnecting");
                let mut conn = self.connection().await?;
                Ok(cmd.query_async::<T>(&mut conn).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn ack(&self, id: &str) -> BusResult<()> {
        let mut cmd = redis::cmd("XACK");
        cmd.arg(&self.config.stream_key).arg(&self.config.group).arg(id);
        self.query::<()>(&cmd).await
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl EventBus for RedisStreamsBus {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, message: &BusMessage) -> BusResult<()> {
        let json =
            serde_json::to_string(message).map_err(|e| BusError::Malformed { id: message.event.id.to_string(), reason: e.to_string() })?;
        let config = &self.inner.config;
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&config.stream_key).arg("MAXLEN").arg("~").arg(config.maxlen).arg("*").arg(FIELD).arg(json);
        self.inner.query::<()>(&cmd).await
    }

    async fn subscribe(&self, consumer: &str) -> BusResult<mpsc::Receiver<Delivery>> {
        if self.inner.is_closed() {
            return Err(BusError::Closed);
        }
        let (tx, rx) = mpsc::channel(CONSUMER_BUFFER.max(self.inner.config.batch));
        let consumer = Consumer::new(self.inner.clone(), consumer.to_owned(), tx);
        tokio::spawn(consumer.run());
        Ok(rx)
    }

    async fn ping(&self) -> BusResult<()> {
        self.inner.query::<()>(&redis::cmd("PING")).await
    }

    async fn pending(&self) -> BusResult<u64> {
        let config = &self.inner.config;
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("GROUPS").arg(&config.stream_key);
        let groups: Value = match self.inner.query(&cmd).await {
            Ok(v) => v,
            // The stream was deleted: nothing pending.
            Err(BusError::Redis(e)) if e.to_string().contains("no such key") => {
                return Ok(0);
            }
            Err(e) => return Err(e),
        };
        for group in into_items(groups) {
            let fields = into_fields(group);
            if fields.get("name").and_then(as_string).as_deref() != Some(config.group.as_str()) {
                continue;
            }
            let pending = fields.get("pending").and_then(as_u64).unwrap_or(0);
            let lag = fields.get("lag").and_then(as_u64).unwrap_or(0);
            return Ok(pending + lag);
        }
        Ok(0)
    }
}

struct RedisAcker {
    inner: Arc<Inner>,
    id: String,
}

#[async_trait]
impl Acker for RedisAcker {
    async fn ack(self: Box<Self>) -> BusResult<()> {
        self.inner.ack(&self.id).await
    }

    /// The entry stays in the pending list and is claimed again once idle for `claim_idle`.
    fn abandon(self: Box<Self>) {}
}

/// One entry read from the stream.
struct Entry {
    id: String,
    /// `None` if the entry was deleted from the stream (trimmed) while pending.
    fields: Option<HashMap<String, Value>>,
}

/// Where a consumer reads next.
enum Phase {
    /// Re-reading its own pending entries after this id.
    Backlog(String),
    /// Reading new entries.
    New,
}

struct Consumer {
    inner: Arc<Inner>,
    name: String,
    tx: mpsc::Sender<Delivery>,
    conn: Option<MultiplexedConnection>,
    phase: Phase,
    claim_cursor: String,
    next_claim: Instant,
}

/// The consumer's receiver was dropped or the bus closed.
struct Stop;

enum StepError {
    Stop,
    Redis(RedisError),
}

impl From<RedisError> for StepError {
    fn from(e: RedisError) -> Self {
        Self::Redis(e)
    }
}

impl From<Stop> for StepError {
    fn from(_: Stop) -> Self {
        Self::Stop
    }
}

impl Consumer {
    fn new(inner: Arc<Inner>, name: String, tx: mpsc::Sender<Delivery>) -> Self {
        Self { inner, name, tx, conn: None, phase: Phase::Backlog("0".into()), claim_cursor: "0-0".into(), next_claim: Instant::now() }
    }

    fn stopped(&self) -> bool {
        self.tx.is_closed() || self.inner.is_closed()
    }

    async fn run(mut self) {
        tracing::debug!(consumer = %self.name, stream = %self.inner.config.stream_key, "redis bus consumer started");
        while !self.stopped() {
            match self.step().await {
                Ok(()) => {}
                Err(StepError::Stop) => break,
                Err(StepError::Redis(e)) => {
                    if e.code() == Some("NOGROUP") {
                        tracing::warn!(consumer = %self.name, error = %e, "redis bus group missing; recreating it");
                        if let Some(conn) = self.conn.as_mut()
                            && let Err(e) = create_group(conn, &self.inner.config).await
                        {
                            tracing::warn!(consumer = %self.name, error = %e, "could not recreate the redis bus group");
                        }
                    } else {
                        tracing::warn!(consumer = %self.name, error = %e, "redis bus consumer error; reconnecting");
                        self.conn = None;
                    }
                    self.pause(ERROR_BACKOFF).await;
                }
            }
        }
        tracing::debug!(consumer = %self.name, "redis bus consumer stopped");
    }

    /// Sleeps, waking early if the receiver is dropped or the bus closes.
    async fn pause(&self, d: Duration) {
        let shutdown = self.inner.shutdown.notified();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.tx.closed() => {}
            _ = shutdown => {}
        }
    }

    async fn connection(&mut self) -> Result<MultiplexedConnection, RedisError> {
        if let Some(conn) = &self.conn {
            return Ok(conn.clone());
        }
        // A dedicated connection: a blocking XREADGROUP must not hold up other commands, and
        // its response takes up to `block`.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(self.inner.config.block + COMMAND_TIMEOUT));
        let conn = self.inner.client.get_multiplexed_async_connection_with_config(&config).await?;
        self.conn = Some(conn.clone());
        Ok(conn)
    }

    async fn step(&mut self) -> Result<(), StepError> {
        let mut conn = self.connection().await?;
        if Instant::now() >= self.next_claim {
            let full = self.claim(&mut conn).await?;
            if !full {
                self.next_claim = Instant::now() + self.inner.config.claim_interval;
            }
        }
        let config = &self.inner.config;
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(&config.group).arg(&self.name).arg("COUNT").arg(config.batch);
        let backlog = match &self.phase {
            Phase::Backlog(after) => Some(after.clone()),
            Phase::New => {
                // Do not block past the next claim round.
                let until_claim = self.next_claim.saturating_duration_since(Instant::now());
                let block = config.block.min(until_claim).max(Duration::from_millis(1));
                cmd.arg("BLOCK").arg(block.as_millis() as u64);
                None
            }
        };
        cmd.arg("STREAMS").arg(&config.stream_key).arg(backlog.as_deref().unwrap_or(">"));
        let reply: Value = cmd.query_async(&mut conn).await?;
        let entries = parse_read_reply(reply);
        if backlog.is_some() {
            match entries.last() {
                Some(last) => self.phase = Phase::Backlog(last.id.clone()),
                None => self.phase = Phase::New,
            }
            let counts = self.delivery_counts(&mut conn, &entries).await?;
            self.deliver(&mut conn, entries, |id| counts.get(id).copied().unwrap_or(2)).await?;
        } else {
            self.deliver(&mut conn, entries, |_| 1).await?;
        }
        Ok(())
    }

    /// Takes over entries idle too long in any consumer's pending list. Returns whether the
    /// batch was full (more may be waiting).
    async fn claim(&mut self, conn: &mut MultiplexedConnection) -> Result<bool, StepError> {
        let config = &self.inner.config;
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(&config.stream_key)
            .arg(&config.group)
            .arg(&self.name)
            .arg(config.claim_idle.as_millis() as u64)
            .arg(&self.claim_cursor)
            .arg("COUNT")
            .arg(config.batch)
            .query_async(conn)
            .await?;
        let mut items = into_items(reply).into_iter();
        let next = items.next().as_ref().and_then(as_string).unwrap_or_else(|| "0-0".into());
        let entries: Vec<Entry> = items.next().map(into_items).unwrap_or_default().into_iter().filter_map(parse_entry).collect();
        let deleted = items.next().map(into_items).unwrap_or_default();
        if !deleted.is_empty() {
            tracing::warn!(consumer = %self.name, count = deleted.len(), "pending bus entries were trimmed from the stream before delivery");
        }
        let full = entries.len() >= config.batch;
        self.claim_cursor = next;
        if !entries.is_empty() {
            tracing::info!(consumer = %self.name, count = entries.len(), "claimed idle bus entries");
            let counts = self.delivery_counts(conn, &entries).await?;
            self.deliver(conn, entries, |id| counts.get(id).copied().unwrap_or(2)).await?;
        }
        Ok(full || self.claim_cursor != "0-0")
    }

    /// Delivery counts of this consumer's pending entries, from XPENDING.
    async fn delivery_counts(&self, conn: &mut MultiplexedConnection, entries: &[Entry]) -> Result<HashMap<String, u64>, StepError> {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return Ok(HashMap::new());
        };
        let config = &self.inner.config;
        let reply: Value = redis::cmd("XPENDING")
            .arg(&config.stream_key)
            .arg(&config.group)
            .arg(&first.id)
            .arg(&last.id)
            .arg(entries.len().max(config.batch))
            .arg(&self.name)
            .query_async(conn)
            .await?;
        Ok(into_items(reply)
            .into_iter()
            .filter_map(|row| {
                let row = into_items(row);
                let id = row.first().and_then(as_string)?;
                let count = row.get(3).and_then(as_u64)?;
                Some((id, count))
            })
            .collect())
    }

    async fn deliver(
        &self,
        conn: &mut MultiplexedConnection,
        entries: Vec<Entry>,
        count_of: impl Fn(&str) -> u64,
    ) -> Result<(), StepError> {
        for entry in entries {
            let message = match decode(&entry) {
                Ok(m) => m,
                Err(reason) => {
                    tracing::warn!(consumer = %self.name, id = %entry.id, %reason, "dropping malformed bus entry");
                    let config = &self.inner.config;
                    redis::cmd("XACK").arg(&config.stream_key).arg(&config.group).arg(&entry.id).query_async::<()>(conn).await?;
                    continue;
                }
            };
            let delivery_count = count_of(&entry.id).max(1);
            let acker = RedisAcker { inner: self.inner.clone(), id: entry.id };
            let delivery = Delivery::new(message, delivery_count, Box::new(acker));
            // If the receiver is gone the entry stays pending and is claimed by another
            // consumer after `claim_idle`.
            self.tx.send(delivery).await.map_err(|_| Stop)?;
        }
        Ok(())
    }
}

fn decode(entry: &Entry) -> Result<BusMessage, String> {
    let fields = entry.fields.as_ref().ok_or("the entry was deleted from the stream")?;
    let raw = fields.get(FIELD).ok_or("the entry has no `m` field")?;
    let bytes: &[u8] = match raw {
        Value::BulkString(b) => b,
        Value::SimpleString(s) => s.as_bytes(),
        Value::VerbatimString { text, .. } => text.as_bytes(),
        _ => return Err("the `m` field is not a string".into()),
    };
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

/// The elements of an array-like reply; empty for nil or anything else.
fn into_items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) | Value::Set(items) => items,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        Value::Attribute { data, .. } => into_items(*data),
        _ => Vec::new(),
    }
}

/// A flat field/value reply (or a map) as a map keyed by field name.
fn into_fields(v: Value) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    let mut items = into_items(v).into_iter();
    while let (Some(k), Some(v)) = (items.next(), items.next()) {
        if let Some(k) = as_string(&k) {
            out.insert(k, v);
        }
    }
    out
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        other => as_string(other)?.parse().ok(),
    }
}

/// `[id, [field, value, ...] | nil]`.
fn parse_entry(v: Value) -> Option<Entry> {
    let mut items = into_items(v).into_iter();
    let id = as_string(&items.next()?)?;
    let fields = match items.next() {
        None | Some(Value::Nil) => None,
        Some(f) => Some(into_fields(f)),
    };
    Some(Entry { id, fields })
}

/// XREADGROUP reply: nil, or `[[key, [entry, ...]], ...]` (a map of key to entries in RESP3).
fn parse_read_reply(v: Value) -> Vec<Entry> {
    let streams: Vec<Value> = match v {
        Value::Map(pairs) => pairs.into_iter().map(|(_, entries)| entries).collect(),
        other => into_items(other).into_iter().filter_map(|stream| into_items(stream).into_iter().nth(1)).collect(),
    };
    streams.into_iter().flat_map(into_items).filter_map(parse_entry).collect()
}
