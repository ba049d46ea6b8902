//! The embedded SQLite store. Ids are stored as hyphenated lowercase UUID text, timestamps as
//! fixed-width RFC 3339 UTC text with microseconds (`2025-01-02T03:04:05.123456Z`, so text order
//! is time order), JSON as text.

use crate::StoreResult;
use crate::common::corrupt;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Pool, Row, Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

type Db = Sqlite;
const POSITIONAL_PARAMS: bool = true;
/// No row locks in SQLite: a write transaction already excludes every other writer.
const INSTANCE_LOCK: &str = "";
type DbRow = SqliteRow;

const POOL_SIZE: u32 = 4;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Readers: WAL lets them run beside the writer.
    pool: SqlitePool,
    /// The one writer connection. SQLite allows one writer at a time; queueing writers here, in
    /// order, beats letting them collide in SQLite's busy handler, which sleeps up to 100 ms.
    writer: SqlitePool,
    /// The WAL checkpointer; stopped when the last clone of the store is dropped, so its pool
    /// handle does not keep the database open.
    _checkpointer: std::sync::Arc<AbortOnDrop>,
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
            // `checkpointer` copies the WAL back from a reader connection instead.
            .pragma("wal_autocheckpoint", "0");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        // No liveness ping before each use: an embedded file does not drop connections, and the
        // ping is one more round trip to the connection's thread per query.
        let pool = SqlitePoolOptions::new().max_connections(POOL_SIZE).test_before_acquire(false).connect_with(options).await?;
        let checkpointer = std::sync::Arc::new(AbortOnDrop(tokio::spawn(checkpointer(pool.clone()))));
        Ok(Self { pool, writer, _checkpointer: checkpointer })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Copies the WAL back into the database once a second, from a reader connection, without
/// blocking the writer (`PASSIVE`); aborted when the last clone of the store is dropped. Hot
/// pages written many times in that second are copied once.
async fn checkpointer(pool: SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying in a second");
        }
    }
}

async fn run_migrations(pool: &SqlitePool) -> StoreResult<usize> {
    crate::migrations::run_sqlite(pool).await
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
    }
}
