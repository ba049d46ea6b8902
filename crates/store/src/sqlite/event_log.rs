//! The event log's row writes (`<name>.events.db`), run on its writer thread: inserts and
//! dispatched marks, one transaction each.

use crate::StoreResult;
use rusqlite::{Connection, TransactionBehavior};

/// An event row as stored, every column already encoded (text ids and timestamps, JSON text).
pub(crate) struct EventRow {
    pub id: String,
    pub tenant_id: String,
    pub event_type: String,
    pub source: String,
    pub ts: String,
    pub payload: String,
    pub correlation_id: String,
    pub parent_id: Option<String>,
    pub priority: i16,
    pub target_instance: Option<String>,
}

const INSERT: &str = "INSERT INTO events (id, tenant_id, type, source, ts, payload, correlation_id, parent_id, priority, \
                      target_instance, status, accepted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'accepted', ?11) \
                      ON CONFLICT (id) DO NOTHING";
const MARK_DISPATCHED: &str = "UPDATE events SET status = 'dispatched' WHERE id = ?1 AND status = 'accepted'";

/// Inserts the rows with the one `accepted_at`; an id already stored is kept as it is.
pub(crate) fn insert(conn: &mut Connection, rows: &[EventRow], accepted_at: &str) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(INSERT)?;
        for r in rows {
            insert.execute(rusqlite::params![
                r.id,
                r.tenant_id,
                r.event_type,
                r.source,
                r.ts,
                r.payload,
                r.correlation_id,
                r.parent_id,
                r.priority,
                r.target_instance,
                accepted_at,
            ])?;
        }
    }
    Ok(tx.commit()?)
}

pub(crate) fn mark_dispatched(conn: &mut Connection, ids: &[String]) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut mark = tx.prepare_cached(MARK_DISPATCHED)?;
        for id in ids {
            mark.execute([id])?;
        }
    }
    Ok(tx.commit()?)
}
