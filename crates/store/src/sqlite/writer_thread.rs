//! A SQLite write connection on a thread of its own, for the hot write paths of the embedded
//! store (the event log's inserts and dispatched marks, wake commits).
//!
//! Why not sqlx for these: sqlx runs every statement of a transaction as one round trip to its
//! connection's thread (`BEGIN`, each statement, `COMMIT`), and a handoff or a wake waits on
//! several such transactions one after the other. Here a whole transaction is one hand-off to
//! the thread and one reply, its statements prepared once and cached by the connection
//! (measured on the 2-core machine, a one-row transaction: p50 26 µs against 89 µs with sqlx).
//!
//! A small write finds the connection free most of the time when the load is light, and then
//! runs at once on the caller's thread ([`WriterThread::run_small`]): handing it to the thread
//! and waking the caller again costs more than the write (measured: a one-event insert 79 µs on
//! the connection, 167 µs through the thread; `bench handoff` at 200/s, p50 663 -> 451-481 µs
//! and p99 2.7-3.0 -> 1.2-1.4 ms). Large writes and the checkpoints stay on the thread, off the
//! async runtime's workers (running every write on the caller's thread, `bench wake` at
//! 10,000/s had p99 29-36 ms against 17-18 ms).

use crate::{StoreError, StoreResult};
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tokio::sync::oneshot;

/// A job runs its write and sends its caller the result.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// Set by the store's background checkpointer after each of its passes; the writer then
/// checkpoints itself after its next write. Why: the background pass copies frames back beside
/// the writers, but under a steady stream of writes it never copies the last frame, and SQLite
/// starts the WAL over only after a checkpoint that did: the WAL grew without bound (650 MB in
/// 10 s of `bench handoff` at 1,000/s). A checkpoint from the writer, between two of its
/// transactions, leaves no frame behind (unless another writer of the file wrote meanwhile; the
/// next round tries again), so the next write starts the WAL over, reusing the file. Right after
/// a background pass it has only the frames written meanwhile to copy and sync, and it runs
/// after the job that found it due has answered its caller, so only jobs queued behind it wait.
/// (Waiting for a gap between jobs instead was tried: under a steady load the gaps are rare, the
/// WAL piles up meanwhile, and the checkpoint that finally runs stalls longer: consult p99 at
/// 1,000/s 77-101 ms against 13-32 ms.)
pub(crate) type CheckpointDue = std::sync::Arc<std::sync::atomic::AtomicBool>;

/// Handle to the thread; the thread closes its connection and ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct WriterThread {
    jobs: mpsc::Sender<Job>,
    /// The one connection: the thread holds it for each job and each checkpoint, a caller of
    /// [`WriterThread::run_small`] when it finds it free.
    conn: Arc<Mutex<Connection>>,
    checkpoint_due: CheckpointDue,
    /// When the last write was asked for, in µs since `epoch`: the load signal of `run_small`.
    last_write_us: Arc<std::sync::atomic::AtomicU64>,
    epoch: std::time::Instant,
}

/// `run_small` runs a write on the caller's thread only when the writer has been asked for
/// nothing for this long: under a load of thousands of writes a second, blocking the async
/// runtime's workers for every write cost more than the hand-off saves (`bench wake` at
/// 10,000/s: p99 24-27 ms with no such guard, against 17-18 ms with every write on the thread).
const QUIET_FOR_INLINE: Duration = Duration::from_micros(500);

/// The caller's answer when its job panicked: the job fails alone, and the connection (its
/// open transaction rolled back as the guard unwound) stays usable.
fn panicked() -> StoreError {
    StoreError::Io(std::io::Error::other("a store write panicked"))
}

impl WriterThread {
    /// Opens `path` (which must exist, with its schema) with the settings of the store's other
    /// connections: WAL, `synchronous = NORMAL`, foreign keys on, no automatic checkpoint (the
    /// store's checkpointer does it, and this thread after it, see [`CheckpointDue`]), the WAL cut back to
    /// `JOURNAL_SIZE_LIMIT` when it starts over, a 5 s busy timeout.
    pub fn open(path: &Path, name: &str, checkpoint_due: CheckpointDue) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -65536;",
        )?;
        conn.pragma_update(None, "journal_size_limit", super::JOURNAL_SIZE_LIMIT)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let conn = Arc::new(Mutex::new(conn));
        let (shared, due) = (conn.clone(), checkpoint_due.clone());
        std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            while let Ok(job) = queue.recv() {
                // Never poisoned: every job runs inside `catch_unwind`.
                let mut conn = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                // A job that panics loses its own reply (its caller gets an error), not the
                // thread: the store keeps writing. An open transaction is rolled back when its
                // guard unwinds.
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut conn))).is_err() {
                    tracing::error!(thread = %std::thread::current().name().unwrap_or("writer"), "a store write panicked");
                }
                // The job's caller has its answer; only jobs queued behind wait on this.
                if due.swap(false, Ordering::Relaxed) {
                    checkpoint(&conn);
                }
            }
        })?;
        Ok(Self { jobs, conn, checkpoint_due, last_write_us: Default::default(), epoch: std::time::Instant::now() })
    }

    /// As [`WriterThread::run`], but a write that finds the connection free runs at once on the
    /// caller's thread, blocking it for the write: only for writes of a few rows. A due
    /// checkpoint is still left to the thread.
    pub async fn run_small<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        if !self.quiet_since_last_write() {
            return self.run(work).await;
        }
        let Ok(mut conn) = self.conn.try_lock() else { return self.run(work).await };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut conn))).unwrap_or_else(|_| Err(panicked()));
        drop(conn);
        if self.checkpoint_due.load(Ordering::Relaxed) {
            // The thread checkpoints after this empty job.
            let _ = self.jobs.send(Box::new(|_| {}));
        }
        result
    }

    /// Runs `work` on the thread's connection and returns its result. `work` owns its inputs:
    /// the caller may be cancelled while it runs, and the write then stands or fails on its own.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
        let gone = || StoreError::Io(std::io::Error::other("the store's writer thread has stopped"));
        self.quiet_since_last_write();
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(work(conn));
        });
        self.jobs.send(job).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

impl WriterThread {
    /// Records a write asked for now; true when the one before was asked for at least
    /// [`QUIET_FOR_INLINE`] ago.
    fn quiet_since_last_write(&self) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let before = self.last_write_us.swap(now, Ordering::Relaxed);
        now.saturating_sub(before) >= QUIET_FOR_INLINE.as_micros() as u64
    }
}

/// Copies back what the WAL holds beyond the database, from the writer's own connection.
fn checkpoint(conn: &Connection) {
    // (busy, frames in the WAL, frames copied back); a reader still on an old snapshot can
    // leave some behind, and the next round tries again.
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))) {
        Ok((frames, copied)) if copied < frames => tracing::debug!(frames, copied, "WAL checkpoint left frames for a reader"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint from the writer failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job with a bug: it inserts `n` inside a transaction, then panics.
    fn insert_then_panic(conn: &mut Connection, n: i64) -> StoreResult<()> {
        let tx = conn.transaction()?;
        tx.execute("INSERT INTO t VALUES (?1)", [n])?;
        panic!("a bug in a job");
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_thread_keeps_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        let writer = WriterThread::open(&path, "test-writer", Default::default()).unwrap();
        let failed = writer.run(|conn| insert_then_panic(conn, 1)).await;
        assert!(matches!(failed, Err(StoreError::Io(_))), "{failed:?}");
        let n: i64 = writer
            .run(|conn| {
                conn.execute("INSERT INTO t VALUES (2)", [])?;
                Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
            })
            .await
            .unwrap();
        assert_eq!(n, 1, "the panicked job's insert was rolled back; the next one stands");
    }

    /// Where a write ran: on the caller's thread, or on the writer thread.
    fn runs_on_writer_thread() -> bool {
        std::thread::current().name() == Some("test-writer")
    }

    #[tokio::test]
    async fn a_small_write_runs_on_the_callers_thread_only_when_the_writer_is_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        let writer = WriterThread::open(&path, "test-writer", Default::default()).unwrap();
        let insert = |n: i64| {
            move |conn: &mut Connection| {
                conn.execute("INSERT INTO t VALUES (?1)", [n])?;
                Ok(runs_on_writer_thread())
            }
        };
        // Set by hand rather than timed, so that a slow machine cannot flip the outcome.
        let quiet = || writer.last_write_us.store(0, Ordering::Relaxed);
        let busy = || writer.last_write_us.store(u64::MAX, Ordering::Relaxed);
        tokio::time::sleep(QUIET_FOR_INLINE).await;
        quiet();
        assert!(!writer.run_small(insert(1)).await.unwrap(), "quiet writer: the write ran at once, here");
        busy();
        assert!(writer.run_small(insert(2)).await.unwrap(), "a write asked for right after another goes to the thread");
        quiet();
        let failed = writer.run_small(|conn| insert_then_panic(conn, 3)).await;
        assert!(matches!(failed, Err(StoreError::Io(_))), "{failed:?}");
        let n: i64 = writer.run(|conn| Ok(conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)).await.unwrap();
        assert_eq!(n, 2, "the panicked write was rolled back; the connection keeps writing");
    }

    /// Without the writer's own checkpoint the WAL only grows under steady writes; with it, the
    /// write after the checkpoint starts the WAL over, and later writes reuse the file.
    #[tokio::test]
    async fn a_due_checkpoint_lets_the_next_write_start_the_wal_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let setup = Connection::open(&path).unwrap();
        setup.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER)").unwrap();
        let due = CheckpointDue::default();
        let writer = WriterThread::open(&path, "test-writer", due.clone()).unwrap();
        let writes = |from: i64| {
            writer.run(move |conn| {
                for n in from..from + 100 {
                    conn.execute("INSERT INTO t VALUES (?1)", [n])?;
                }
                Ok(())
            })
        };
        let wal_bytes = || std::fs::metadata(dir.path().join("w.db-wal")).map(|m| m.len()).unwrap_or(0);
        writes(0).await.unwrap();
        let first = wal_bytes();
        writes(100).await.unwrap();
        let grown = wal_bytes();
        assert!(grown > first, "no checkpoint: the WAL grows ({first} -> {grown} bytes)");
        // Due while the thread is idle or finishing a job: it checkpoints after its next job
        // (or the one it is finishing), once that job has answered; a job queued behind waits.
        due.store(true, Ordering::Relaxed);
        writer.run(|_| Ok(())).await.unwrap();
        let asked = std::time::Instant::now();
        while due.load(Ordering::Relaxed) {
            assert!(asked.elapsed() < Duration::from_secs(10), "the writer never took the request");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        writer.run(|_| Ok(())).await.unwrap(); // queued behind the checkpoint
        let checkpointed = wal_bytes();
        writes(200).await.unwrap(); // starts the WAL over
        writes(300).await.unwrap();
        assert_eq!(wal_bytes(), checkpointed, "the WAL file is reused from its start, not grown");
        let n: i64 = setup.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 400);
    }
}
