//! The embedded SQLite store. Ids are stored as hyphenated lowercase UUID text, timestamps as
//! fixed-width RFC 3339 UTC text with microseconds (`2025-01-02T03:04:05.123456Z`, so text order
//! is time order), JSON as text.
//!
//! Two files: `<name>.db` holds everything but the events, which live in the event log
//! `<name>.events.db` (see [`events_path`]). SQLite allows one writer per file, so ingestion
//! (event inserts, dispatched marks) and wake commits each get a writer and run side by side
//! instead of queueing behind each other. No transaction spans both files: nothing needs one,
//! because a wake's effect is made idempotent by its delivery row, not by the event's status.

mod event_log;
mod wake_commit;
mod wal_flusher;
mod writer_thread;

use crate::StoreResult;
use crate::common::corrupt;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Executor, Pool, Row, Sqlite, SqlitePool, Transaction};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

type Db = Sqlite;
const POSITIONAL_PARAMS: bool = true;
type DbRow = SqliteRow;

const POOL_SIZE: u32 = 4;

/// Bytes a WAL file is cut back to when its writer starts it over (`journal_size_limit`): a
/// burst's WAL does not stay on disk, and a steady load reuses its file without growing it.
/// Why this large: at 10,000 events/s the main file's WAL reaches 70-86 MB between two
/// checkpoints, and cut back to 64 MiB every second, the first write after each checkpoint
/// stalled 7-8 ms freeing the file's tail (both writers at once; measured on the 2-core machine,
/// ext4 mounted with `discard`). At 256 MiB the steady load never cuts: `bench wake` max latency
/// 7.7-15 -> 4.8-5.5 ms, p99 1.10-1.19 -> 0.96-0.97 ms.
pub(crate) const JOURNAL_SIZE_LIMIT: i64 = 256 << 20;

/// Page cache of the event log's writer connection, in KiB (see `SqliteStore::open`).
const EVENT_LOG_WRITER_CACHE_KIB: i64 = 2048;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Readers: WAL lets them run beside the writer.
    pool: SqlitePool,
    /// The one writer connection of the main file. SQLite allows one writer at a time; queueing
    /// writers here, in order, beats letting them collide in SQLite's busy handler, which sleeps
    /// up to 100 ms. It does not open the event log, so its `BEGIN IMMEDIATE` locks only the
    /// main file.
    writer: SqlitePool,
    /// A connection to the event log (opened as its main database) for its schema and the move
    /// of events an earlier release kept in the main file, at start.
    event_writer: SqlitePool,
    /// The one writer of the event log's rows once started (inserts, dispatched marks).
    event_log: writer_thread::WriterThread,
    /// The main file's wake commits, on a thread of their own; each holds `writer` meanwhile,
    /// so the main file still has one writer at a time.
    wake_writer: writer_thread::WriterThread,
    /// The WAL checkpointer; stopped when the last clone of the store is dropped, so its pool
    /// handle does not keep the database open.
    _checkpointer: std::sync::Arc<AbortOnDrop>,
    _wal_flusher: std::sync::Arc<wal_flusher::WalFlusher>,
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path`, with WAL journaling,
    /// `synchronous = NORMAL` (a committed transaction survives the process being killed; the
    /// last ones may not survive a power cut), a 5 s busy timeout, foreign keys on, a large page
    /// cache and memory-mapped reads. Runs no migration.
    pub async fn open(path: &str) -> StoreResult<Self> {
        let file = Path::new(path);
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Pages served from memory rather than copied in by a read syscall each time: a
            // 64 MiB page cache per connection and the file memory-mapped up to 1 GiB.
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "1073741824")
            // No checkpoint inside a commit: the writer would stall every wake waiting on it.
            // `checkpointer` copies the WAL back from a reader connection, and the writer
            // threads only copy what was written during its pass.
            .pragma("wal_autocheckpoint", "0")
            // When a writer starts the WAL over, it cuts the file back to this size.
            .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT.to_string());
        let log = events_path(path);
        let log_path = PathBuf::from(&log);
        // The event log first: it must exist (in WAL mode) before readers attach it.
        let event_writer = single_writer(options.clone().filename(&log)).await?;
        event_writer.execute(EVENT_LOG_SCHEMA).await?;
        let checkpoints_due: [writer_thread::CheckpointDue; 2] = Default::default();
        let event_log = writer_thread::WriterThread::open(Path::new(&log), "waooaw-event-log", checkpoints_due[0].clone())?;
        // A small page cache for the event log's writer: it writes at the tails of the log's
        // B-trees, which 2 MiB holds. SQLite trims a connection's page cache at each commit
        // (`sqlite3PcacheTruncate` in `pager_end_transaction`), and on this connection that
        // walked the whole hash table of a 64 MiB cache: `pcache1TruncateUnsafe` took 26% of the
        // thread's CPU at 10,000 events/s, and left the profile with 2 MiB.
        event_log.run(|conn| Ok(conn.pragma_update(None, "cache_size", -EVENT_LOG_WRITER_CACHE_KIB)?)).await?;
        let writer = single_writer(options.clone()).await?;
        let wake_writer = writer_thread::WriterThread::open(file, "waooaw-wake-commit", checkpoints_due[1].clone())?;
        // No liveness ping before each use: an embedded file does not drop connections, and the
        // ping is one more round trip to the connection's thread per query. Readers see the
        // event log as `events` (no table of that name is left in the main file).
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                let log = log.clone();
                Box::pin(async move {
                    sqlx::query("ATTACH DATABASE ?1 AS log").bind(log).execute(&mut *conn).await?;
                    conn.execute("PRAGMA log.cache_size = -65536; PRAGMA log.mmap_size = 1073741824").await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let databases = vec![file.to_path_buf(), log_path];
        let checkpointer = std::sync::Arc::new(AbortOnDrop(tokio::spawn(checkpointer(pool.clone(), checkpoints_due, databases.clone()))));
        let wal_flusher = std::sync::Arc::new(wal_flusher::WalFlusher::start(databases)?);
        Ok(Self { pool, writer, event_writer, event_log, wake_writer, _checkpointer: checkpointer, _wal_flusher: wal_flusher })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Copies the WAL back into the database once a second, from a reader connection, without
/// blocking the writers (`PASSIVE`), then writes to disk what that pass wrote (the database
/// files, then the WALs), and only then asks the writer threads to finish the job (see
/// `writer_thread::CheckpointDue`); aborted when the last clone of the store is dropped. Hot
/// pages written many times in that second are copied once.
///
/// Why the sync here: SQLite syncs the database file only at the end of a checkpoint that
/// reached the end of the WAL, which a pass beside busy writers never does. The pass's second
/// of page writes (tens of MB under load) then went to disk inside the writer's own checkpoint,
/// with every write of that file waiting behind it: measured on the 2-core machine, `bench
/// wake` at 10,000 events/s, writer checkpoints 5-16 ms, wake p99 9.0-12.1 ms; synced here,
/// the writer has only the pages written since to sync, and p99 is 3.4-3.6 ms.
async fn checkpointer(pool: SqlitePool, writers_due: [writer_thread::CheckpointDue; 2], files: Vec<PathBuf>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = pool.execute("PRAGMA main.wal_checkpoint(PASSIVE); PRAGMA log.wal_checkpoint(PASSIVE)").await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying in a second");
        }
        let files = files.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || wal_flusher::sync_database_files(&files)).await {
            tracing::warn!(error = %e, "the task syncing the database files failed; the writers' checkpoint syncs them");
        }
        for due in &writers_due {
            due.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// The event log's file: beside the main one, `x.db` → `x.events.db` (`x` → `x.events.db`).
pub fn events_path(main: &str) -> String {
    match main.strip_suffix(".db") {
        Some(stem) => format!("{stem}.events.db"),
        None => format!("{main}.events.db"),
    }
}

/// The event log's schema, the same table the main file's first migration made before events
/// moved out of it. Idempotent; `user_version` leaves room for later versions of the log.
///
/// The conversation index leads with the correlation id, not the tenant (version 2 did): a new
/// event's correlation id is its own time-ordered id, so its entry lands on the index's last
/// page; led by the tenant, each event of a group commit dirtied a random page of its own, and
/// those page writes were most of the event log's cost (accepted events/s with no agent woken:
/// 38-44k before, 95-98k after). Queries give both columns, so either order serves them.
const EVENT_LOG_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL,
    type            TEXT NOT NULL,
    source          TEXT NOT NULL,
    ts              TEXT NOT NULL,
    payload         TEXT NOT NULL,
    correlation_id  TEXT NOT NULL,
    parent_id       TEXT,
    priority        INTEGER NOT NULL,
    target_instance TEXT,
    status          TEXT NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'dispatched')),
    accepted_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_undispatched ON events (accepted_at) WHERE status = 'accepted';
DROP INDEX IF EXISTS events_conversation;
CREATE INDEX IF NOT EXISTS events_in_conversation ON events (correlation_id, tenant_id);
PRAGMA user_version = 3;
"#;

async fn single_writer(options: SqliteConnectOptions) -> StoreResult<SqlitePool> {
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .connect_with(options)
        .await?)
}

/// The numbered migrations of the main file, then the move of events a database made before
/// the event log existed kept in its main file: copied in batches (ids already there are
/// skipped, so an interrupted move resumes), then dropped from the main file.
async fn run_migrations(store: &SqliteStore) -> StoreResult<usize> {
    let applied = crate::migrations::run_sqlite(&store.writer).await?;
    let old: Option<i64> = sqlx::query_scalar("SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = 'events'")
        .fetch_optional(&store.writer)
        .await?;
    if old.is_none() {
        return Ok(applied);
    }
    const COLS: &str =
        "id, tenant_id, type, source, ts, payload, correlation_id, parent_id, priority, target_instance, status, accepted_at";
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(&format!("SELECT rowid, {COLS} FROM main.events WHERE rowid > ?1 ORDER BY rowid LIMIT 500"))
            .bind(after)
            .fetch_all(&store.writer)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        let insert = format!("INSERT OR IGNORE INTO events ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        let mut tx = begin(&store.event_writer).await?;
        for r in &rows {
            let mut q = sqlx::query(&insert);
            for i in 1..=12 {
                // Column 9 is the priority; the rest are text (parent and target may be null).
                q = if i == 9 { q.bind(r.try_get::<i64, _>(i)?) } else { q.bind(r.try_get::<Option<String>, _>(i)?) };
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    store.writer.execute("DROP TABLE main.events").await?;
    tracing::info!("moved events from the main file to the event log");
    Ok(applied)
}

/// Write transactions take the write lock up front (`BEGIN IMMEDIATE`): a deferred transaction
/// that reads and then writes can fail with `SQLITE_BUSY` instead of waiting when another
/// connection wrote meanwhile.
async fn begin(pool: &Pool<Db>) -> StoreResult<Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

fn enc_id(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(crate) fn enc_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn enc_json(v: &serde_json::Value) -> String {
    v.to_string()
}

fn get_uuid(r: &DbRow, col: &str, table: &'static str) -> StoreResult<Uuid> {
    let s: String = r.try_get(col)?;
    Uuid::from_str(&s).map_err(|e| corrupt(table, format!("{col} `{s}`: {e}")))
}

fn get_opt_uuid(r: &DbRow, col: &str, table: &'static str) -> StoreResult<Option<Uuid>> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| Uuid::from_str(&s).map_err(|e| corrupt(table, format!("{col} `{s}`: {e}")))).transpose()
}

fn parse_ts(s: &str, col: &str, table: &'static str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| corrupt(table, format!("{col} `{s}`: {e}")))
}

fn get_ts(r: &DbRow, col: &str, table: &'static str) -> StoreResult<DateTime<Utc>> {
    let s: String = r.try_get(col)?;
    parse_ts(&s, col, table)
}

fn get_opt_ts(r: &DbRow, col: &str, table: &'static str) -> StoreResult<Option<DateTime<Utc>>> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| parse_ts(&s, col, table)).transpose()
}

fn get_json(r: &DbRow, col: &str, table: &'static str) -> StoreResult<serde_json::Value> {
    let s: String = r.try_get(col)?;
    serde_json::from_str(&s).map_err(|e| corrupt(table, format!("{col}: {e}")))
}

/// An id column as hyphenated text: ids are stored that way already.
fn sql_id_text(col: &str) -> String {
    col.to_owned()
}

/// A timestamp column's UTC day, `YYYY-MM-DD`: the first ten characters of the fixed-width text.
fn sql_utc_day(col: &str) -> String {
    format!("substr({col}, 1, 10)")
}

/// Commits wakes on the main file's wake writer thread, holding the main writer meanwhile: the
/// file's other writes wait rather than collide in SQLite's busy handler.
async fn write_wakes(store: &SqliteStore, commits: &[crate::WakeCommit]) -> StoreResult<Vec<crate::WakeResult>> {
    let wakes = commits.iter().map(wake_commit::EncodedWake::of).collect::<StoreResult<Vec<_>>>()?;
    let _one_writer = store.writer.acquire().await?;
    if wakes.len() <= SMALL_WRITE {
        return store.wake_writer.run_small(move |conn| wake_commit::commit(conn, &wakes)).await;
    }
    store.wake_writer.run(move |conn| wake_commit::commit(conn, &wakes)).await
}

/// Wakes or events per write that may run on the caller's thread when the writer connection is
/// free (`WriterThread::run_small`): a light load's writes, of a row or a few, each well under a
/// tenth of a millisecond. A group commit under load is larger and goes to the writer thread.
const SMALL_WRITE: usize = 4;

/// The outbox's recorded attempts: one job on the main file's writer thread, like a wake
/// commit, holding the sqlx writer meanwhile (one writer on the file at a time).
async fn write_outbox_attempts(
    store: &SqliteStore,
    attempts: &[(waooaw_domain::TenantId, String, crate::OutboxAttempt)],
) -> StoreResult<()> {
    type Row = (String, String, &'static str, i32, Option<String>, Option<String>, String);
    let rows: Vec<Row> = attempts
        .iter()
        .map(|(tenant, key, a)| {
            (enc_id(tenant.0), key.clone(), a.status.as_str(), a.attempts, a.last_error.clone(), a.url.clone(), enc_ts(a.next_attempt_at))
        })
        .collect();
    let _one_writer = store.writer.acquire().await?;
    store
        .wake_writer
        .run(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                // `?N`: rusqlite binds by position, and SQLite numbers `$N` names by first use.
                let mut update = tx.prepare_cached(
                    "UPDATE outbox SET status = ?3, attempts = ?4, last_error = ?5, url = ?6, next_attempt_at = ?7 \
                     WHERE tenant_id = ?1 AND key = ?2",
                )?;
                for (tenant, key, status, attempts, error, url, next) in &rows {
                    update.execute(rusqlite::params![tenant, key, status, attempts, error, url, next])?;
                }
            }
            Ok(tx.commit()?)
        })
        .await
}

/// Stores events in the log through its writer thread (`event_log`), one transaction; an id
/// already stored is kept as it is.
async fn write_events(store: &SqliteStore, events: &[waooaw_domain::Event], accepted_at: DateTime<Utc>) -> StoreResult<()> {
    let rows: Vec<event_log::EventRow> = events
        .iter()
        .map(|e| event_log::EventRow {
            id: enc_id(e.id.0),
            tenant_id: enc_id(e.tenant_id.0),
            event_type: e.event_type.as_str().to_owned(),
            source: e.source.clone(),
            ts: enc_ts(e.timestamp),
            payload: enc_json(&e.payload),
            correlation_id: enc_id(e.correlation_id.0),
            parent_id: e.parent_id.map(|p| enc_id(p.0)),
            priority: e.priority.as_i16(),
            target_instance: e.target_instance.map(|t| enc_id(t.0)),
        })
        .collect();
    let accepted_at = enc_ts(accepted_at);
    if rows.len() <= SMALL_WRITE {
        return store.event_log.run_small(move |conn| event_log::insert(conn, &rows, &accepted_at)).await;
    }
    store.event_log.run(move |conn| event_log::insert(conn, &rows, &accepted_at)).await
}

/// Dispatched marks per transaction on the event log's writer thread.
///
/// Why in chunks: the runtime gathers marks for 20 ms (hundreds at 10,000 events/s), and one
/// transaction of 200 marks held the writer for ~0.5 ms while every event being ingested queued
/// behind it: of the inserts that waited over 0.4 ms, most waited on a mark. Sent one chunk after
/// the other, the inserts that arrive meanwhile run between two chunks. Measured on the 2-core
/// machine, `bench wake` at 10,000/s, alternating: p99 0.88-0.94 ms in one transaction against
/// 0.64-0.74 ms in chunks of 32 (16: 0.63-0.71 ms; 64: 0.74-0.78 ms).
const MARK_CHUNK: usize = 32;

/// Most transactions one call of marks is split into: each waits its turn behind the inserts
/// queued meanwhile, so after a burst (4,096 marks a call) chunks of 32 fell behind: over Redis
/// the last marks and acknowledgements came 340-460 ms after the last wake, against 13-18 ms with
/// at most 8 chunks (a steady 10,000 events/s gathers ~200 marks, still chunks of 32).
const MARK_TRANSACTIONS_MAX: usize = 8;

/// Marks stored events dispatched through the log's writer thread, [`MARK_CHUNK`] a transaction
/// (more when there are more than [`MARK_TRANSACTIONS_MAX`] chunks of it). A failure leaves the
/// chunks before it marked; marking is idempotent, so a retry is safe.
async fn write_dispatched(store: &SqliteStore, ids: &[waooaw_domain::EventId]) -> StoreResult<()> {
    let chunk_size = MARK_CHUNK.max(ids.len().div_ceil(MARK_TRANSACTIONS_MAX));
    for chunk in ids.chunks(chunk_size) {
        let chunk: Vec<String> = chunk.iter().map(|id| enc_id(id.0)).collect();
        store.event_log.run(move |conn| event_log::mark_dispatched(conn, &chunk)).await?;
    }
    Ok(())
}

impl_store!(SqliteStore, "sqlite");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_fixed_width_and_sort_as_text() {
        let a = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        let b = a + chrono::Duration::microseconds(500_000);
        let c = a + chrono::Duration::microseconds(1);
        assert_eq!(enc_ts(a), "2025-01-02T03:04:05.000000Z");
        assert_eq!(enc_ts(b), "2025-01-02T03:04:05.500000Z");
        assert!(enc_ts(a) < enc_ts(c) && enc_ts(c) < enc_ts(b));
        assert_eq!(parse_ts(&enc_ts(b), "ts", "events").unwrap(), b);
    }

    #[test]
    fn corrupt_values_are_reported_not_panicked() {
        assert!(matches!(parse_ts("yesterday", "ts", "events"), Err(StoreError::Corrupt { table: "events", .. })));
    }

    #[tokio::test]
    async fn a_database_of_an_earlier_release_keeps_its_events_and_contexts() {
        use crate::Store;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let path = path.to_str().unwrap();
        // The layout of earlier releases: migrations 1-4 run on the main file alone, events in it,
        // work contexts keyed by (instance, version).
        let old = SqlitePool::connect_with(SqliteConnectOptions::new().filename(path).create_if_missing(true)).await.unwrap();
        crate::migrations::run_sqlite_through(&old, 4).await.unwrap();
        let (tenant, id, instance) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let now = enc_ts(Utc::now());
        sqlx::query("INSERT INTO tenants (id, name, webhook_secret, created_at) VALUES (?1, 'Old Co', 'secret', ?2)")
            .bind(tenant.to_string())
            .bind(&now)
            .execute(&old)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO instances (tenant_id, id, specialization_id, name, status, context_version, created_at, updated_at) \
             VALUES (?1, ?2, 'wowvision-prime', 'Vera', 'active', 2, ?3, ?3)",
        )
        .bind(tenant.to_string())
        .bind(instance.to_string())
        .bind(&now)
        .execute(&old)
        .await
        .unwrap();
        for version in [1, 2] {
            sqlx::query("INSERT INTO work_contexts (tenant_id, instance_id, version, state, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
                .bind(tenant.to_string())
                .bind(instance.to_string())
                .bind(version)
                .bind(format!("{{\"seen\":{version}}}"))
                .bind(&now)
                .execute(&old)
                .await
                .unwrap();
        }
        sqlx::query(
            "INSERT INTO events (id, tenant_id, type, source, ts, payload, correlation_id, parent_id, priority, target_instance, \
             status, accepted_at) VALUES (?1, ?2, 'file.created', 'github', ?3, '{\"path\":\"docs/a.md\"}', ?1, NULL, 2, NULL, \
             'dispatched', ?3)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(enc_ts(Utc::now()))
        .execute(&old)
        .await
        .unwrap();
        old.close().await;

        let store = SqliteStore::open(path).await.unwrap();
        store.migrate().await.unwrap();
        let moved = store.get_event(waooaw_domain::TenantId(tenant), waooaw_domain::EventId(id)).await.unwrap().expect("the old event");
        assert_eq!(moved.event.payload["path"], "docs/a.md");
        assert_eq!(moved.status, waooaw_domain::EventStatus::Dispatched);
        let left: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM main.sqlite_master WHERE name = 'events'").fetch_optional(store.pool()).await.unwrap();
        assert_eq!(left, None, "the main file keeps no events table");
        assert!(Path::new(&events_path(path)).exists());
        let context = store.latest_context(waooaw_domain::TenantId(tenant), waooaw_domain::InstanceId(instance)).await.unwrap();
        let context = context.expect("the instance's current context survives the rebuild");
        assert_eq!((context.version, context.state["seen"].as_i64()), (2, Some(2)));
        // Idempotent: a second start moves nothing and loses nothing.
        store.migrate().await.unwrap();
        assert!(store.get_event(waooaw_domain::TenantId(tenant), waooaw_domain::EventId(id)).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn an_event_log_of_version_2_gets_the_conversation_index_led_by_the_conversation() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("v2.db");
        let main = main.to_str().unwrap();
        let log = events_path(main);
        let old = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&log).create_if_missing(true)).await.unwrap();
        let v2 = EVENT_LOG_SCHEMA
            .replace("DROP INDEX IF EXISTS events_conversation;", "")
            .replace(
                "events_in_conversation ON events (correlation_id, tenant_id)",
                "events_conversation ON events (tenant_id, correlation_id)",
            )
            .replace("user_version = 3", "user_version = 2");
        old.execute(v2.as_str()).await.unwrap();
        old.close().await;

        let store = SqliteStore::open(main).await.unwrap();
        let indexes: Vec<String> = sqlx::query_scalar("SELECT name FROM log.sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert!(indexes.contains(&"events_in_conversation".to_string()), "{indexes:?}");
        assert!(!indexes.contains(&"events_conversation".to_string()), "the tenant-first index is dropped: {indexes:?}");
        let leading: String = sqlx::query_scalar("SELECT name FROM pragma_index_info('events_in_conversation', 'log') WHERE seqno = 0")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(leading, "correlation_id");
        let version: i64 = sqlx::query_scalar("PRAGMA log.user_version").fetch_one(store.pool()).await.unwrap();
        assert_eq!(version, 3);
    }

    #[test]
    fn the_event_log_sits_beside_the_main_file() {
        assert_eq!(events_path("/data/waooaw.db"), "/data/waooaw.events.db");
        assert_eq!(events_path("/data/waooaw"), "/data/waooaw.events.db");
    }

    #[tokio::test]
    async fn open_creates_parent_dirs_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/waooaw.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        assert!(path.exists());
        use crate::Store;
        assert_eq!(store.migrate().await.unwrap(), crate::migrations::SQLITE.len());
        assert_eq!(store.migrate().await.unwrap(), 0);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
        assert_eq!(mode, "wal");
        let mode: String = sqlx::query_scalar("PRAGMA log.journal_mode").fetch_one(store.pool()).await.unwrap();
        assert_eq!(mode, "wal", "the event log is in WAL mode too");
    }

    /// Wake commits run on their own connection and thread; every other write to the main file
    /// goes through the sqlx writer. Both at once must neither fail nor lose a write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wake_commits_and_other_writes_share_the_main_file() {
        use crate::{Store, WakeCommit, WakeResult};
        use waooaw_domain::{
            DeliveryOutcome, DeliveryStatus, EventId, Instance, InstanceId, InstanceStatus, Personality, Tenant, TenantId,
        };
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("w.db").to_str().unwrap()).await.unwrap();
        store.migrate().await.unwrap();
        let t = Tenant { id: TenantId::new(), name: "Acme".into(), webhook_secret: "s".into(), created_at: Utc::now() };
        store.create_tenant(&t).await.unwrap();
        let mut ids = Vec::new();
        for n in 0..40 {
            let i = Instance {
                id: InstanceId::new(),
                tenant_id: t.id,
                specialization_id: "wowvision-prime".into(),
                personality: Personality { name: format!("Vera {n}"), ..Default::default() },
                status: InstanceStatus::Active,
                hired_at: None,
                trial_ends_at: None,
                wake_count: 0,
                last_woken_at: None,
                context_version: 0,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            };
            store.create_instance(&i).await.unwrap();
            ids.push(i.id);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for id in ids.clone() {
            let (committer, tenant) = (store.clone(), t.id);
            tasks.spawn(async move {
                let c = WakeCommit {
                    tenant_id: tenant,
                    instance_id: id,
                    event_id: EventId::new(),
                    read_version: 0,
                    new_state: Some(serde_json::json!({"seen": 1})),
                    deliverables: Vec::new(),
                    outbox: Vec::new(),
                    handoffs_due_at: None,
                    outcome: DeliveryOutcome { status: DeliveryStatus::Done, attempts: 1, outcome: "ok".into() },
                    now: Utc::now(),
                };
                assert_eq!(committer.commit_wakes(&[c]).await.unwrap(), vec![WakeResult::Committed(1)]);
            });
            let writer = store.clone();
            tasks.spawn(async move {
                let other = Tenant { id: TenantId::new(), name: "Other".into(), webhook_secret: "s".into(), created_at: Utc::now() };
                writer.create_tenant(&other).await.unwrap();
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        for id in ids {
            let context = store.latest_context(t.id, id).await.unwrap().expect("the committed context");
            assert_eq!(context.version, 1);
        }
        assert_eq!(store.list_tenants().await.unwrap().len(), 41);
    }
}
