//! Writes the WAL files to disk a little at a time, every 50 ms, from a thread of its own.
//!
//! Why: with `synchronous = NORMAL` SQLite syncs a WAL only when it checkpoints, so a second of
//! writes (tens of MB under load) went to disk all at once inside the checkpoint, and the writer
//! threads' own checkpoint (see `writer_thread::CheckpointDue`) stalled every queued event and
//! wake commit while it did. Synced as it is written, the checkpoint finds little left to write
//! (measured on the 2-core machine, `bench wake` at 10,000 events/s: the background pass 110-137
//! ms -> 34 ms; wake latency p99 26-51 ms -> 13-19 ms; `bench handoff` at 1,000/s: handoff p99
//! 63 ms -> 14 ms). A commit is also on disk within 50 ms, where it used to wait for the next
//! checkpoint: a power cut loses less.
//!
//! The store's checkpointer also syncs the database files after each of its passes
//! ([`sync_database_files`]), for the same reason: what it wrote is then on disk before a
//! writer's own checkpoint has to sync it.
//!
//! `fdatasync` on a descriptor of our own is safe beside SQLite's: it only writes out what the
//! kernel already holds for the file. SQLite has no setting for this, hence the thread.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

const INTERVAL: Duration = Duration::from_millis(50);

/// Stops the thread when dropped (with the last clone of the store).
#[derive(Debug)]
pub(crate) struct WalFlusher {
    _stop: mpsc::Sender<()>,
}

impl WalFlusher {
    /// Starts flushing the WAL of each database file in `databases`.
    pub fn start(databases: Vec<PathBuf>) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let mut wals: Vec<Wal> = databases.into_iter().map(Wal::of).collect();
        std::thread::Builder::new().name("waooaw-wal-flush".into()).spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                for wal in &mut wals {
                    wal.flush();
                }
            }
        })?;
        Ok(Self { _stop: stop })
    }
}

/// Writes each database file, then its WAL, to disk from descriptors of our own (a missing file
/// is skipped: the WAL exists only while the database is open). Used after the checkpointer's
/// pass (see `checkpointer` in `sqlite.rs`), so that the writers' own checkpoint finds little
/// to sync. A failure is logged; the writers' checkpoint syncs what is left.
pub(crate) fn sync_database_files(databases: &[PathBuf]) {
    let wals: Vec<PathBuf> = databases.iter().map(|db| Wal::of(db.clone()).path).collect();
    for path in databases.iter().chain(&wals) {
        match File::options().write(true).open(path) {
            Ok(file) => {
                if let Err(e) = file.sync_data() {
                    tracing::warn!(file = %path.display(), error = %e, "syncing a database file failed");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(file = %path.display(), error = %e, "opening a database file to sync it failed"),
        }
    }
}

/// One WAL file, opened when it exists, and again if SQLite made a new one (it deletes the WAL
/// when its last connection closes).
struct Wal {
    path: PathBuf,
    open: Option<(File, u64)>,
}

impl Wal {
    fn of(database: PathBuf) -> Self {
        let mut name = database.into_os_string();
        name.push("-wal");
        Self { path: PathBuf::from(name), open: None }
    }

    fn flush(&mut self) {
        let Ok(current) = std::fs::metadata(&self.path) else {
            self.open = None;
            return;
        };
        if self.open.as_ref().is_none_or(|(_, inode)| *inode != current.ino()) {
            self.open = File::options().write(true).open(&self.path).ok().map(|f| (f, current.ino()));
        }
        if let Some((file, _)) = &self.open
            && let Err(e) = file.sync_data()
        {
            tracing::warn!(wal = %self.path.display(), error = %e, "syncing the WAL failed; the next checkpoint syncs it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncing_database_files_creates_none_that_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, b"pages").unwrap();
        sync_database_files(&[db.clone(), dir.path().join("gone.db")]);
        assert_eq!(std::fs::read(&db).unwrap(), b"pages", "an existing file is synced as it is");
        for missing in ["x.db-wal", "gone.db", "gone.db-wal"] {
            assert!(!dir.path().join(missing).exists(), "{missing} must not be created: SQLite owns its files");
        }
    }

    #[test]
    fn follows_the_wal_as_sqlite_creates_replaces_and_deletes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        let mut wal = Wal::of(path("x.db"));
        wal.flush();
        assert!(wal.open.is_none(), "no WAL yet, nothing opened");
        std::fs::write(path("x.db-wal"), b"frames").unwrap();
        wal.flush();
        let first = wal.open.as_ref().map(|(_, ino)| *ino).expect("opened once it exists");
        // Replaced while the old one is still open, so the two cannot share an inode number.
        std::fs::write(path("x.db-wal.new"), b"new frames").unwrap();
        std::fs::rename(path("x.db-wal.new"), path("x.db-wal")).unwrap();
        wal.flush();
        let second = wal.open.as_ref().map(|(_, ino)| *ino).expect("the new WAL is opened");
        assert_ne!(first, second, "a replaced WAL is reopened");
        std::fs::remove_file(path("x.db-wal")).unwrap();
        wal.flush();
        assert!(wal.open.is_none(), "a deleted WAL is let go");
    }
}
