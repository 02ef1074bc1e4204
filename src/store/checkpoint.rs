//! The write-ahead log's checkpoints, moved off the writers' path: the daemon's connection stops
//! checkpointing inside its commits, and one background thread with its own connection copies
//! committed pages from the log into the database file when the log has grown.
//!
//! Why: with SQLite's default, the commit that takes the log past 1,000 pages also runs the
//! checkpoint — it writes those pages into the database file and syncs it — so one job's
//! outcome, or one group of submissions, now and then waited for a whole checkpoint. Here the
//! same threshold (seen by a hook after each commit) only wakes the thread. Durability does not
//! change: a commit is durable when its frames are synced to the log (`synchronous=FULL`),
//! before and after this; a checkpoint only copies what is already durable, and one cut short by
//! a crash is redone from the log when the store opens. A `PASSIVE` checkpoint never waits for
//! (or blocks) the writer or readers.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Store, StoreError};

/// The log's size, in pages, that wakes the thread (SQLite's own automatic threshold).
const DUE_PAGES: i32 = 1_000;

/// A quiet log is checkpointed this long after the last look, whatever its size.
const QUIET: Duration = Duration::from_secs(5);

/// The shortest pause between two checkpoints (a log that keeps growing past the threshold is
/// copied in steps, not in a loop).
const PAUSE: Duration = Duration::from_millis(100);

/// The log file is cut back to this size when it starts over (it may grow past it in a burst).
const LOG_LIMIT_BYTES: i64 = 16 << 20;

/// What the writer's hook and the owner tell the thread.
#[derive(Default)]
struct Signal {
    due: bool,
    stop: bool,
}

type Shared = Arc<(Mutex<Signal>, Condvar)>;

/// The background checkpointer; stops (after a last checkpoint) when dropped.
pub struct Checkpointer {
    signal: Shared,
    thread: Option<JoinHandle<()>>,
}

impl Store {
    /// Hands the write-ahead log's checkpoints to a background thread with its own connection to
    /// the store at `path` (this store's file). Keep the returned value as long as the store.
    pub fn checkpoint_in_background(&mut self, path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let signal: Shared = Arc::default();
        let theirs = signal.clone();
        let thread = match std::thread::Builder::new()
            .name("store-checkpoint".to_owned())
            .spawn(move || run(&conn, &theirs))
        {
            Ok(t) => t,
            Err(e) => {
                // Still correct, only slower now and then: SQLite keeps checkpointing in commits.
                tracing::warn!(error = %e, "no checkpoint thread; commits keep checkpointing");
                return Ok(Checkpointer {
                    signal,
                    thread: None,
                });
            }
        };
        self.conn
            .pragma_update(None, "journal_size_limit", LOG_LIMIT_BYTES)?;
        // Off first: the pragma replaces the commit hook set next.
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let wake = signal.clone();
        self.conn
            .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages| {
                if pages >= DUE_PAGES {
                    let (lock, cvar) = &*wake;
                    lock.lock().unwrap_or_else(|e| e.into_inner()).due = true;
                    cvar.notify_one();
                }
                Ok(())
            }))?;
        Ok(Checkpointer {
            signal,
            thread: Some(thread),
        })
    }

    /// The log's frames and how many of them are in the database file
    /// (`PRAGMA wal_checkpoint(PASSIVE)` on this connection; for tests and diagnostics).
    pub fn checkpoint_now(&self) -> Result<(i64, i64), StoreError> {
        passive(&self.conn)
    }
}

fn passive(conn: &Connection) -> Result<(i64, i64), StoreError> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })?)
}

fn run(conn: &Connection, signal: &(Mutex<Signal>, Condvar)) {
    let (lock, cvar) = signal;
    loop {
        {
            let state = lock.lock().unwrap_or_else(|e| e.into_inner());
            let (mut state, _) = cvar
                .wait_timeout_while(state, QUIET, |s| !s.due && !s.stop)
                .unwrap_or_else(|e| e.into_inner());
            state.due = false;
            if state.stop {
                drop(state);
                // One last checkpoint, then the thread ends.
                let _ = passive(conn);
                return;
            }
        }
        // Copied and the database file synced beside (not in front of) the writers; nothing new
        // in the log costs one read of its index.
        if let Err(e) = passive(conn) {
            tracing::warn!(error = %e, "cannot checkpoint the store's log now; trying again");
        }
        std::thread::sleep(PAUSE);
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.signal;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        cvar.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
