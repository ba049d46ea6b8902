//! The PostgreSQL store: UUID ids, TIMESTAMPTZ timestamps, JSONB documents.

use crate::common::corrupt;
use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection, Executor, PgConnection, PgPool, Pool, Postgres, Row, Transaction};
use uuid::Uuid;

type Db = Postgres;
const POSITIONAL_PARAMS: bool = false;
/// Locks the instance row a batched wake commit reads.
const INSTANCE_LOCK: &str = " FOR UPDATE OF i";
type DbRow = PgRow;

const POOL_SIZE: u32 = 10;

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The same pool: PostgreSQL takes concurrent writers itself.
    writer: PgPool,
    /// The same pool again (SQLite writes its event log through a writer of its own).
    event_writer: PgPool,
}

impl PgStore {
    /// Connects a pool of up to 10 connections. Runs no migration.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new().max_connections(POOL_SIZE).connect(url).await?;
        Ok(Self { writer: pool.clone(), event_writer: pool.clone(), pool })
    }

    /// Connects with every connection's `search_path` set to `schema`, creating the schema if it
    /// does not exist, so that several stores (parallel tests, say) can share one database in
    /// isolation. `schema` must be a plain identifier (ASCII letters, digits, `_`).
    pub async fn connect_with_schema(url: &str, schema: &str) -> StoreResult<Self> {
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !schema.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("schema name `{schema}` must be an identifier of ASCII letters, digits and _"),
            )));
        }
        let mut conn = PgConnection::connect(url).await?;
        let created = conn.execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str()).await;
        match created {
            Ok(_) => {}
            // Two connections racing to create the same schema can collide in the catalog.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {}
            Err(e) => return Err(e.into()),
        }
        conn.close().await?;
        let set_path = format!("SET search_path TO \"{schema}\"");
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .after_connect(move |conn, _meta| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    conn.execute(set_path.as_str()).await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Self { writer: pool.clone(), event_writer: pool.clone(), pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Drops a schema made by [`PgStore::connect_with_schema`] (benchmarks clean up after
    /// themselves); the same identifier rules apply.
    pub async fn drop_schema(url: &str, schema: &str) -> StoreResult<()> {
        if schema.is_empty() || !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("schema name `{schema}`"))));
        }
        let mut conn = PgConnection::connect(url).await?;
        conn.execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str()).await?;
        conn.close().await?;
        Ok(())
    }
}

async fn run_migrations(store: &PgStore) -> StoreResult<usize> {
    crate::migrations::run_postgres(&store.writer).await
}

async fn begin(pool: &Pool<Db>) -> StoreResult<Transaction<'static, Db>> {
    Ok(pool.begin().await?)
}

fn enc_id(id: Uuid) -> Uuid {
    id
}

fn enc_ts(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

fn enc_json(v: &serde_json::Value) -> Json<&serde_json::Value> {
    Json(v)
}

fn get_uuid(r: &DbRow, col: &str, _table: &'static str) -> StoreResult<Uuid> {
    Ok(r.try_get(col)?)
}

fn get_opt_uuid(r: &DbRow, col: &str, _table: &'static str) -> StoreResult<Option<Uuid>> {
    Ok(r.try_get(col)?)
}

fn get_ts(r: &DbRow, col: &str, _table: &'static str) -> StoreResult<DateTime<Utc>> {
    Ok(r.try_get(col)?)
}

fn get_opt_ts(r: &DbRow, col: &str, _table: &'static str) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(r.try_get(col)?)
}

fn get_json(r: &DbRow, col: &str, table: &'static str) -> StoreResult<serde_json::Value> {
    match r.try_get::<Json<serde_json::Value>, _>(col) {
        Ok(Json(v)) => Ok(v),
        Err(sqlx::Error::ColumnDecode { source, .. }) => Err(corrupt(table, format!("{col}: {source}"))),
        Err(e) => Err(e.into()),
    }
}

/// An id column as hyphenated lowercase text, as SQLite stores it.
fn sql_id_text(col: &str) -> String {
    format!("{col}::text")
}

/// A timestamp column's UTC day, `YYYY-MM-DD`, whatever the session's time zone.
fn sql_utc_day(col: &str) -> String {
    format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
}

/// Stores events in the log (the `events` table), several hundred rows per statement; an id
/// already stored is kept as it is.
async fn write_events(store: &PgStore, events: &[waooaw_domain::Event], accepted_at: DateTime<Utc>) -> StoreResult<()> {
    use crate::common::{EVENT_CHUNK, insert_events_sql};
    let mut tx = begin(&store.event_writer).await?;
    let mut full_chunk_sql: Option<String> = None;
    for chunk in events.chunks(EVENT_CHUNK) {
        let partial_sql;
        let sql = if chunk.len() == EVENT_CHUNK {
            full_chunk_sql.get_or_insert_with(|| insert_events_sql(EVENT_CHUNK, POSITIONAL_PARAMS)).as_str()
        } else {
            partial_sql = insert_events_sql(chunk.len(), POSITIONAL_PARAMS);
            partial_sql.as_str()
        };
        let mut q = sqlx::query(sql);
        for e in chunk {
            q = q
                .bind(enc_id(e.id.0))
                .bind(enc_id(e.tenant_id.0))
                .bind(e.event_type.as_str())
                .bind(e.source.as_str())
                .bind(enc_ts(e.timestamp))
                .bind(enc_json(&e.payload))
                .bind(enc_id(e.correlation_id.0))
                .bind(e.parent_id.map(|p| enc_id(p.0)))
                .bind(e.priority.as_i16())
                .bind(e.target_instance.map(|t| enc_id(t.0)))
                .bind(enc_ts(accepted_at));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Marks stored events dispatched, several hundred per statement.
async fn write_dispatched(store: &PgStore, ids: &[waooaw_domain::EventId]) -> StoreResult<()> {
    use crate::common::{ID_CHUNK, placeholders};
    let mut tx = begin(&store.event_writer).await?;
    for chunk in ids.chunks(ID_CHUNK) {
        let sql = format!(
            "UPDATE events SET status = 'dispatched' WHERE status = 'accepted' AND id IN ({})",
            placeholders(1, chunk.len(), POSITIONAL_PARAMS)
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(enc_id(id.0));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

mod wake_batched {
    use super::*;
    use crate::common::placeholders;
    use crate::{WakeCommit, WakeResult};
    use waooaw_domain::InstanceStatus;

    impl PgStore {
        crate::wake_commit::commit_wakes_impl!();
    }
}

/// A batch of wake commits in one transaction and a handful of multi-row statements.
async fn write_wakes(store: &PgStore, commits: &[crate::WakeCommit]) -> StoreResult<Vec<crate::WakeResult>> {
    store.commit_wakes_batched(commits).await
}

/// The outbox's recorded attempts, one transaction on the pool.
async fn write_outbox_attempts(store: &PgStore, attempts: &[(waooaw_domain::TenantId, String, crate::OutboxAttempt)]) -> StoreResult<()> {
    let mut tx = begin(&store.writer).await?;
    for (tenant, key, a) in attempts {
        sqlx::query(
            "UPDATE outbox SET status = $3, attempts = $4, last_error = $5, url = $6, next_attempt_at = $7 \
             WHERE tenant_id = $1 AND key = $2",
        )
        .bind(enc_id(tenant.0))
        .bind(key.as_str())
        .bind(a.status.as_str())
        .bind(a.attempts)
        .bind(a.last_error.as_deref())
        .bind(a.url.as_deref())
        .bind(enc_ts(a.next_attempt_at))
        .execute(&mut *tx)
        .await?;
    }
    Ok(tx.commit().await?)
}

impl_store!(PgStore, "postgres");
