//! A small versioned migration runner. Migrations are embedded in the binary as
//! `(version, name, sql)` per backend; applied versions are recorded in `waooaw_migrations`.
//! Each pending migration runs in its own transaction together with its bookkeeping row, so a
//! failed migration leaves nothing half-applied and running the runner twice is a no-op.

use crate::{StoreError, StoreResult};
use chrono::Utc;
use sqlx::{Executor, PgPool, Row, SqlitePool};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        sql: r#"
CREATE TABLE tenants (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    webhook_secret  TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE instances (
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    id                  TEXT PRIMARY KEY NOT NULL,
    specialization_id   TEXT NOT NULL,
    name                TEXT NOT NULL,
    role_title          TEXT NOT NULL DEFAULT '',
    industry            TEXT NOT NULL DEFAULT '',
    tone                TEXT NOT NULL DEFAULT '',
    focus_areas         TEXT NOT NULL DEFAULT '[]',
    escalation_contact  TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL CHECK (status IN ('trial', 'active', 'paused', 'retired')),
    hired_at            TEXT,
    trial_ends_at       TEXT,
    wake_count          INTEGER NOT NULL DEFAULT 0,
    last_woken_at       TEXT,
    context_version     INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX instances_tenant ON instances (tenant_id);

CREATE TABLE events (
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
CREATE INDEX events_status_accepted ON events (status, accepted_at);
CREATE INDEX events_tenant ON events (tenant_id);

CREATE TABLE deliveries (
    tenant_id       TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    instance_id     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('done', 'deferred', 'dead', 'expired')),
    attempts        INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    context_version INTEGER,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (event_id, instance_id)
);
CREATE INDEX deliveries_instance_status ON deliveries (tenant_id, instance_id, status);

CREATE TABLE work_contexts (
    tenant_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL REFERENCES instances(id),
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL,
    event_id    TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (instance_id, version)
);

CREATE TABLE dead_letters (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    error       TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    redriven_at TEXT
);
CREATE INDEX dead_letters_tenant ON dead_letters (tenant_id, created_at);
"#,
    },
    Migration { version: 2, name: "hot-path indexes", sql: HOT_PATH_INDEXES },
    Migration { version: 3, name: "decision engine", sql: SQLITE_DECISION_ENGINE },
    Migration { version: 4, name: "deliverables", sql: SQLITE_DELIVERABLES },
    Migration { version: 8, name: "work contexts appended, found by seq", sql: SQLITE_CONTEXT_SEQ },
    Migration { version: 9, name: "budgets", sql: SQLITE_BUDGETS },
    Migration { version: 10, name: "external outputs", sql: SQLITE_OUTPUTS },
    // Events live in the event log, whose schema (`sqlite::EVENT_LOG_SCHEMA`) carries the index;
    // the version is kept so both backends list the same migrations.
    Migration { version: 11, name: "conversations", sql: "SELECT 1" },
    Migration { version: 12, name: "coordinated tasks", sql: SQLITE_TASKS },
    Migration { version: 13, name: "conversation index led by the conversation", sql: "SELECT 1" },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        sql: r#"
CREATE TABLE tenants (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    webhook_secret  TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE instances (
    tenant_id           UUID NOT NULL REFERENCES tenants(id),
    id                  UUID PRIMARY KEY,
    specialization_id   TEXT NOT NULL,
    name                TEXT NOT NULL,
    role_title          TEXT NOT NULL DEFAULT '',
    industry            TEXT NOT NULL DEFAULT '',
    tone                TEXT NOT NULL DEFAULT '',
    focus_areas         JSONB NOT NULL DEFAULT '[]'::jsonb,
    escalation_contact  TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL CHECK (status IN ('trial', 'active', 'paused', 'retired')),
    hired_at            TIMESTAMPTZ,
    trial_ends_at       TIMESTAMPTZ,
    wake_count          BIGINT NOT NULL DEFAULT 0,
    last_woken_at       TIMESTAMPTZ,
    context_version     BIGINT NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX instances_tenant ON instances (tenant_id);

CREATE TABLE events (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL,
    type            TEXT NOT NULL,
    source          TEXT NOT NULL,
    ts              TIMESTAMPTZ NOT NULL,
    payload         JSONB NOT NULL,
    correlation_id  UUID NOT NULL,
    parent_id       UUID,
    priority        SMALLINT NOT NULL,
    target_instance UUID,
    status          TEXT NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'dispatched')),
    accepted_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_status_accepted ON events (status, accepted_at);
CREATE INDEX events_tenant ON events (tenant_id);

CREATE TABLE deliveries (
    tenant_id       UUID NOT NULL,
    event_id        UUID NOT NULL,
    instance_id     UUID NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('done', 'deferred', 'dead', 'expired')),
    attempts        INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    context_version BIGINT,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, instance_id)
);
CREATE INDEX deliveries_instance_status ON deliveries (tenant_id, instance_id, status);

CREATE TABLE work_contexts (
    tenant_id   UUID NOT NULL,
    instance_id UUID NOT NULL REFERENCES instances(id),
    version     BIGINT NOT NULL,
    state       JSONB NOT NULL,
    event_id    UUID,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (instance_id, version)
);

CREATE TABLE dead_letters (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL,
    event_id    UUID NOT NULL,
    instance_id UUID NOT NULL,
    event_type  TEXT NOT NULL,
    error       TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    redriven_at TIMESTAMPTZ
);
CREATE INDEX dead_letters_tenant ON dead_letters (tenant_id, created_at);
"#,
    },
    Migration { version: 2, name: "hot-path indexes", sql: HOT_PATH_INDEXES },
    Migration { version: 3, name: "decision engine", sql: POSTGRES_DECISION_ENGINE },
    Migration { version: 4, name: "deliverables", sql: POSTGRES_DELIVERABLES },
    Migration { version: 8, name: "work contexts appended, found by seq", sql: POSTGRES_CONTEXT_SEQ },
    Migration { version: 9, name: "budgets", sql: POSTGRES_BUDGETS },
    Migration { version: 10, name: "external outputs", sql: POSTGRES_OUTPUTS },
    // SQLite keeps events in the event log, whose schema (`sqlite::EVENT_LOG_SCHEMA`) has this index.
    Migration { version: 11, name: "conversations", sql: "CREATE INDEX events_conversation ON events (tenant_id, correlation_id);" },
    Migration { version: 12, name: "coordinated tasks", sql: POSTGRES_TASKS },
    // Why the conversation comes first: see `sqlite::EVENT_LOG_SCHEMA`.
    Migration {
        version: 13,
        name: "conversation index led by the conversation",
        sql: "DROP INDEX events_conversation; CREATE INDEX events_in_conversation ON events (correlation_id, tenant_id);",
    },
];

/// What agents produced, written with the wake that produced them (see `wake_commit.rs`).
const SQLITE_DELIVERABLES: &str = r#"
CREATE TABLE deliverables (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    id            TEXT PRIMARY KEY NOT NULL,
    instance_id   TEXT NOT NULL REFERENCES instances(id),
    event_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX deliverables_instance ON deliverables (tenant_id, instance_id, created_at);
"#;

const POSTGRES_DELIVERABLES: &str = r#"
CREATE TABLE deliverables (
    tenant_id     UUID NOT NULL REFERENCES tenants(id),
    id            UUID PRIMARY KEY,
    instance_id   UUID NOT NULL REFERENCES instances(id),
    event_id      UUID NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX deliverables_instance ON deliverables (tenant_id, instance_id, created_at);
"#;

/// Indexes on the hot write path cost a page write per row; these keep only the rows that the
/// queries look for (undispatched events, deferred deliveries) and drop an index no query uses.
/// Work contexts become an append-only log: each wake's snapshot gets the next `seq` and the
/// instance row points at its current one (`context_seq`). Why: the (instance, version) key put
/// every wake's insert on a random page of its index, and with SQLite's one writer those page
/// writes were ~40% of a wake's commit; an append touches the log's last page only. SQLite
/// rebuilds the table without that key (the commit's version check keeps versions unique);
/// PostgreSQL keeps its key and gains the column.
const SQLITE_CONTEXT_SEQ: &str = r#"
ALTER TABLE work_contexts RENAME TO work_contexts_keyed;
CREATE TABLE work_contexts (
    seq         INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL,
    event_id    TEXT,
    created_at  TEXT NOT NULL
);
INSERT INTO work_contexts (tenant_id, instance_id, version, state, event_id, created_at)
    SELECT tenant_id, instance_id, version, state, event_id, created_at FROM work_contexts_keyed ORDER BY instance_id, version;
ALTER TABLE instances ADD COLUMN context_seq INTEGER;
CREATE INDEX work_contexts_migrating ON work_contexts (instance_id, version);
UPDATE instances SET context_seq =
    (SELECT w.seq FROM work_contexts w WHERE w.instance_id = instances.id AND w.version = instances.context_version);
DROP INDEX work_contexts_migrating;
DROP TABLE work_contexts_keyed;
"#;

const POSTGRES_CONTEXT_SEQ: &str = r#"
ALTER TABLE work_contexts ADD COLUMN seq BIGSERIAL;
ALTER TABLE instances ADD COLUMN context_seq BIGINT;
UPDATE instances i SET context_seq = w.seq FROM work_contexts w WHERE w.instance_id = i.id AND w.version = i.context_version;
"#;

/// Budget overrides (`subject` is '' for the tenant, else an instance id) and the spend ledger:
/// one row per tenant, scope (`tenant`, `instance:<id>`, `spec:<id>`) and period (a UTC day
/// `2026-11-25` or month `2026-11`), amounts in tokens and micro-dollars (integers, so a
/// limit compares exactly). Reservations are checked and taken by one conditional UPDATE.
const SQLITE_BUDGETS: &str = r#"
CREATE TABLE budget_overrides (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    subject     TEXT NOT NULL,
    limits      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, subject)
);
CREATE TABLE budget_ledger (
    tenant_id         TEXT NOT NULL,
    scope             TEXT NOT NULL,
    period            TEXT NOT NULL,
    spent_tokens      INTEGER NOT NULL DEFAULT 0,
    spent_microusd    INTEGER NOT NULL DEFAULT 0,
    reserved_tokens   INTEGER NOT NULL DEFAULT 0,
    reserved_microusd INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, scope, period)
);
"#;

const POSTGRES_BUDGETS: &str = r#"
CREATE TABLE budget_overrides (
    tenant_id   UUID NOT NULL REFERENCES tenants(id),
    subject     TEXT NOT NULL,
    limits      JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, subject)
);
CREATE TABLE budget_ledger (
    tenant_id         UUID NOT NULL,
    scope             TEXT NOT NULL,
    period            TEXT NOT NULL,
    spent_tokens      BIGINT NOT NULL DEFAULT 0,
    spent_microusd    BIGINT NOT NULL DEFAULT 0,
    reserved_tokens   BIGINT NOT NULL DEFAULT 0,
    reserved_microusd BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, scope, period)
);
"#;

/// GitHub connections (the token sealed by the caller; the store never sees it in clear) and the
/// outbox of external side effects, one row per tenant and idempotency key.
const SQLITE_OUTPUTS: &str = r#"
CREATE TABLE github_connections (
    tenant_id    TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id),
    repository   TEXT NOT NULL,
    token_sealed TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE TABLE outbox (
    tenant_id       TEXT NOT NULL,
    key             TEXT NOT NULL,
    instance_id     TEXT NOT NULL,
    action          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    url             TEXT,
    next_attempt_at TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
"#;

const POSTGRES_OUTPUTS: &str = r#"
CREATE TABLE github_connections (
    tenant_id    UUID PRIMARY KEY REFERENCES tenants(id),
    repository   TEXT NOT NULL,
    token_sealed TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE TABLE outbox (
    tenant_id       UUID NOT NULL,
    key             TEXT NOT NULL,
    instance_id     UUID NOT NULL,
    action          JSONB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    url             TEXT,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
"#;

/// Tasks a coordinator routed by its RACI matrix: who holds the lease and until when. A lease
/// changes hands only by a conditional update on the holder it replaces.
const SQLITE_TASKS: &str = r#"
CREATE TABLE tasks (
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    id               TEXT NOT NULL,
    task_type        TEXT NOT NULL,
    coordinator      TEXT NOT NULL,
    package          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('assigned', 'done', 'failed')),
    holder           TEXT,
    lease_expires_at TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 1,
    outcome          TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tasks_expiring ON tasks (lease_expires_at) WHERE status = 'assigned';
"#;

const POSTGRES_TASKS: &str = r#"
CREATE TABLE tasks (
    tenant_id        UUID NOT NULL REFERENCES tenants(id),
    id               UUID NOT NULL,
    task_type        TEXT NOT NULL,
    coordinator      TEXT NOT NULL,
    package          JSONB NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('assigned', 'done', 'failed')),
    holder           UUID,
    lease_expires_at TIMESTAMPTZ NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 1,
    outcome          TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tasks_expiring ON tasks (lease_expires_at) WHERE status = 'assigned';
"#;

const HOT_PATH_INDEXES: &str = r#"
DROP INDEX events_tenant;
DROP INDEX events_status_accepted;
CREATE INDEX events_undispatched ON events (accepted_at) WHERE status = 'accepted';
DROP INDEX deliveries_instance_status;
CREATE INDEX deliveries_deferred ON deliveries (tenant_id, instance_id) WHERE status = 'deferred';
"#;

/// The decision engine's tables: its cache, memories, decision log and escalations.
///
/// `memories.seq` is the order in which processes pick up new memories for their in-memory
/// indexes: AUTOINCREMENT (not a plain rowid) so that deleting the newest memory never lets its
/// seq be handed out again. Vectors are little-endian f32 bytes. The decision log repeats the
/// decision's verdict, method, confidence, cost and tokens as columns: summaries sum them in SQL,
/// and the floats come back exactly (a JSON round trip of an f64 may be off by one unit).
const SQLITE_DECISION_ENGINE: &str = r#"
CREATE TABLE decision_cache (
    tenant_id           TEXT NOT NULL,
    key                 TEXT NOT NULL,
    specialization_id   TEXT NOT NULL,
    spec_version        TEXT NOT NULL,
    decision            TEXT NOT NULL,
    confidence          REAL NOT NULL,
    cost_usd            REAL NOT NULL,
    expires_at          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX decision_cache_spec ON decision_cache (specialization_id, spec_version);
CREATE INDEX decision_cache_expires ON decision_cache (expires_at);

CREATE TABLE memories (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    tenant_id       TEXT NOT NULL,
    instance_id     TEXT,
    kind            TEXT NOT NULL,
    text            TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    embedding_id    TEXT NOT NULL,
    vector          BLOB NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX memories_tenant ON memories (tenant_id);

CREATE TABLE decisions (
    id                  TEXT PRIMARY KEY NOT NULL,
    tenant_id           TEXT NOT NULL,
    instance_id         TEXT NOT NULL,
    specialization_id   TEXT NOT NULL,
    request_type        TEXT NOT NULL,
    context             TEXT NOT NULL,
    decision            TEXT NOT NULL,
    verdict             TEXT NOT NULL,
    method              TEXT NOT NULL,
    confidence          REAL NOT NULL,
    cost_usd            REAL NOT NULL,
    tokens_in           INTEGER NOT NULL,
    tokens_out          INTEGER NOT NULL,
    created_at          TEXT NOT NULL
);
CREATE INDEX decisions_tenant_time ON decisions (tenant_id, created_at);
CREATE INDEX decisions_instance_time ON decisions (tenant_id, instance_id, created_at);

CREATE TABLE escalations (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL,
    instance_id     TEXT NOT NULL,
    event_id        TEXT,
    request         TEXT NOT NULL,
    question        TEXT NOT NULL,
    urgency         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'answered')),
    answer_verdict  TEXT,
    answer_text     TEXT,
    answered_by     TEXT,
    created_at      TEXT NOT NULL,
    answered_at     TEXT
);
CREATE INDEX escalations_tenant_status ON escalations (tenant_id, status, created_at);
"#;

/// The same tables as [`SQLITE_DECISION_ENGINE`] in PostgreSQL types. `memories.seq` is an
/// identity column: values are handed out at insert, not at commit, so a transaction can commit
/// a lower seq after a higher one is already visible (readers of `memories_after` re-read an
/// overlap window for that).
const POSTGRES_DECISION_ENGINE: &str = r#"
CREATE TABLE decision_cache (
    tenant_id           UUID NOT NULL,
    key                 TEXT NOT NULL,
    specialization_id   TEXT NOT NULL,
    spec_version        TEXT NOT NULL,
    decision            JSONB NOT NULL,
    confidence          DOUBLE PRECISION NOT NULL,
    cost_usd            DOUBLE PRECISION NOT NULL,
    expires_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX decision_cache_spec ON decision_cache (specialization_id, spec_version);
CREATE INDEX decision_cache_expires ON decision_cache (expires_at);

CREATE TABLE memories (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              UUID NOT NULL UNIQUE,
    tenant_id       UUID NOT NULL,
    instance_id     UUID,
    kind            TEXT NOT NULL,
    text            TEXT NOT NULL,
    metadata        JSONB NOT NULL,
    embedding_id    TEXT NOT NULL,
    vector          BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX memories_tenant ON memories (tenant_id);

CREATE TABLE decisions (
    id                  UUID PRIMARY KEY,
    tenant_id           UUID NOT NULL,
    instance_id         UUID NOT NULL,
    specialization_id   TEXT NOT NULL,
    request_type        TEXT NOT NULL,
    context             JSONB NOT NULL,
    decision            JSONB NOT NULL,
    verdict             TEXT NOT NULL,
    method              TEXT NOT NULL,
    confidence          DOUBLE PRECISION NOT NULL,
    cost_usd            DOUBLE PRECISION NOT NULL,
    tokens_in           BIGINT NOT NULL,
    tokens_out          BIGINT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX decisions_tenant_time ON decisions (tenant_id, created_at);
CREATE INDEX decisions_instance_time ON decisions (tenant_id, instance_id, created_at);

CREATE TABLE escalations (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL,
    instance_id     UUID NOT NULL,
    event_id        UUID,
    request         JSONB NOT NULL,
    question        TEXT NOT NULL,
    urgency         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'answered')),
    answer_verdict  TEXT,
    answer_text     TEXT,
    answered_by     TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    answered_at     TIMESTAMPTZ
);
CREATE INDEX escalations_tenant_status ON escalations (tenant_id, status, created_at);
"#;

fn failed(m: &Migration, source: sqlx::Error) -> StoreError {
    StoreError::Migration { version: m.version, name: m.name, source }
}

/// Applies the pending SQLite migrations; returns how many ran.
pub(crate) async fn run_sqlite(pool: &SqlitePool) -> StoreResult<usize> {
    run_sqlite_through(pool, i64::MAX).await
}

/// The migrations up to version `last`: tests build the schema of an earlier release with it.
pub(crate) async fn run_sqlite_through(pool: &SqlitePool, last: i64) -> StoreResult<usize> {
    pool.execute(
        "CREATE TABLE IF NOT EXISTS waooaw_migrations (
            version    INTEGER PRIMARY KEY NOT NULL,
            name       TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )
    .await?;
    let mut applied = 0;
    for m in SQLITE.iter().filter(|m| m.version <= last) {
        // IMMEDIATE takes the write lock up front, so two processes migrating at once serialise
        // here and the second sees the first one's bookkeeping row.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let done =
            sqlx::query("SELECT 1 FROM waooaw_migrations WHERE version = $1").bind(m.version).fetch_optional(&mut *tx).await?.is_some();
        if done {
            tx.rollback().await?;
            continue;
        }
        tx.execute(m.sql).await.map_err(|e| failed(m, e))?;
        sqlx::query("INSERT INTO waooaw_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(crate::sqlite::enc_ts(Utc::now()))
            .execute(&mut *tx)
            .await
            .map_err(|e| failed(m, e))?;
        tx.commit().await.map_err(|e| failed(m, e))?;
        tracing::info!(version = m.version, name = m.name, "applied sqlite migration");
        applied += 1;
    }
    Ok(applied)
}

/// Applies the pending PostgreSQL migrations; returns how many ran.
pub(crate) async fn run_postgres(pool: &PgPool) -> StoreResult<usize> {
    // Serialise concurrent migrators (several processes starting at once) on an advisory lock
    // held for each migration's transaction.
    const LOCK_KEY: i64 = 0x5741_4f4f_4157; // "WAOOAW"
    pool.execute(
        "CREATE TABLE IF NOT EXISTS waooaw_migrations (
            version    BIGINT PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL
        )",
    )
    .await
    .or_else(|e| match &e {
        // Two connections racing on CREATE TABLE IF NOT EXISTS can still collide in the catalog.
        sqlx::Error::Database(db) if db.is_unique_violation() => Ok(Default::default()),
        _ => Err(e),
    })?;
    let mut applied = 0;
    for m in POSTGRES {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LOCK_KEY).execute(&mut *tx).await?;
        let done = sqlx::query("SELECT version FROM waooaw_migrations WHERE version = $1")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<i64, _>("version"))
            .transpose()?
            .is_some();
        if done {
            tx.rollback().await?;
            continue;
        }
        tx.execute(m.sql).await.map_err(|e| failed(m, e))?;
        sqlx::query("INSERT INTO waooaw_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await
            .map_err(|e| failed(m, e))?;
        tx.commit().await.map_err(|e| failed(m, e))?;
        tracing::info!(version = m.version, name = m.name, "applied postgres migration");
        applied += 1;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(list: &[Migration]) {
        assert!(!list.is_empty());
        for pair in list.windows(2) {
            assert!(pair[0].version < pair[1].version, "versions must strictly increase");
        }
        assert!(list.iter().all(|m| m.version > 0 && !m.name.is_empty() && !m.sql.trim().is_empty()));
    }

    #[test]
    fn migration_lists_are_ordered_and_parallel() {
        check(SQLITE);
        check(POSTGRES);
        let s: Vec<_> = SQLITE.iter().map(|m| (m.version, m.name)).collect();
        let p: Vec<_> = POSTGRES.iter().map(|m| (m.version, m.name)).collect();
        assert_eq!(s, p, "both backends carry the same migrations");
    }

    /// Every table a migration creates, as `(name, column definitions)`.
    fn tables(list: &[Migration]) -> Vec<(&'static str, &'static str)> {
        let mut found = Vec::new();
        for m in list {
            let mut rest = m.sql;
            while let Some(at) = rest.find("CREATE TABLE ") {
                rest = &rest[at + "CREATE TABLE ".len()..];
                let name = &rest[..rest.find(" (").expect("column list")];
                let body = &rest[..rest.find(");").expect("table closed")];
                found.push((name, body));
            }
        }
        found
    }

    #[test]
    fn every_table_carries_tenant_id() {
        let customer = [
            "instances",
            "events",
            "deliveries",
            "work_contexts",
            "dead_letters",
            "decision_cache",
            "memories",
            "decisions",
            "escalations",
            "deliverables",
            "budget_overrides",
            "budget_ledger",
            "github_connections",
            "outbox",
            "tasks",
        ];
        for list in [SQLITE, POSTGRES] {
            let tables = tables(list);
            let mut names: Vec<_> = tables.iter().map(|(name, _)| *name).collect();
            // A table rebuilt by a later migration is created twice.
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), customer.len() + 1, "a new table must be listed here: {names:?}");
            for (name, body) in tables {
                if name == "tenants" {
                    continue;
                }
                assert!(customer.contains(&name), "{name} is not a known customer table");
                assert!(body.lines().any(|l| l.trim_start().starts_with("tenant_id ")), "{name} lacks a tenant_id column");
            }
        }
    }
}
