//! Backups of the store: a consistent copy taken while the daemon runs (SQLite's online backup
//! API inside one read transaction), the checks a copy must pass before it is trusted
//! (`check`), and the swap that puts a backup in place (`restore_into`), which never deletes
//! the store it replaces.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{SCHEMA_VERSION, StoreError};

/// What a store holds, and whether it passed its checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// `PRAGMA user_version`.
    pub schema: i64,
    /// Jobs.
    pub jobs: u64,
    /// Event log entries.
    pub events: u64,
    /// Booklets known.
    pub booklets: u64,
    /// Problems found (empty: the store is sound).
    pub problems: Vec<String>,
}

/// Checks the store file at `path` without changing it: SQLite's integrity check, the schema
/// version, the event log against the jobs (each job's state changes follow on from one
/// another and end in the job's current state), and the event log's hash chain.
pub fn check(path: &Path) -> Result<CheckReport, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let schema: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let mut problems = Vec::new();
    if schema > SCHEMA_VERSION {
        return Err(StoreError::TooNew { found: schema });
    }
    if schema < 1 {
        problems.push("the file has no pstation schema (user_version 0)".to_owned());
        return Ok(CheckReport {
            schema,
            jobs: 0,
            events: 0,
            booklets: 0,
            problems,
        });
    }
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if integrity != ["ok"] {
        problems.extend(integrity.into_iter().map(|p| format!("integrity: {p}")));
    }
    let count = |sql: &str| -> Result<u64, StoreError> {
        Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))?.max(0) as u64)
    };
    let jobs = count("SELECT COUNT(*) FROM jobs")?;
    let events = count("SELECT COUNT(*) FROM events")?;
    let booklets = count("SELECT COUNT(*) FROM booklets")?;
    // Walk every job's state changes in log order.
    let mut stmt = conn.prepare(
        "SELECT j.job_id, j.state, e.from_state, e.to_state FROM jobs j
         LEFT JOIN events e ON e.job_id = j.job_id AND e.to_state IS NOT NULL
         ORDER BY j.rowid, e.seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut current: Option<(String, String, Option<String>)> = None; // (job, state, last to)
    let finish = |c: Option<(String, String, Option<String>)>, problems: &mut Vec<String>| {
        if let Some((job, state, last)) = c
            && last.as_deref() != Some(state.as_str())
        {
            problems.push(format!(
                "job {job}: its state is {state} but its event log ends at {}",
                last.as_deref().unwrap_or("nothing")
            ));
        }
    };
    while let Some(r) = rows.next()? {
        let (job, state): (String, String) = (r.get(0)?, r.get(1)?);
        let (from, to): (Option<String>, Option<String>) = (r.get(2)?, r.get(3)?);
        if current.as_ref().is_none_or(|c| c.0 != job) {
            finish(current.take(), &mut problems);
            current = Some((job.clone(), state, None));
        }
        let Some(c) = current.as_mut() else { continue };
        if let (Some(prev), Some(from)) = (&c.2, &from)
            && prev != from
        {
            problems.push(format!(
                "job {job}: a gap in the event log ({prev} then a change from {from})"
            ));
        }
        if to.is_some() {
            c.2 = to;
        }
    }
    finish(current, &mut problems);
    if schema >= 5
        && let Err(broken) = super::audit::verify_conn(&conn)?
    {
        problems.push(format!("event log chain: {broken}"));
    }
    Ok(CheckReport {
        schema,
        jobs,
        events,
        booklets,
        problems,
    })
}

/// Copies the store at `from` to `to` (a new file, written through a temporary file and
/// renamed), consistent as of one moment even while the daemon writes: the whole copy runs in
/// one step of SQLite's backup API, inside one read transaction of the WAL. Returns the copy's
/// check report; a copy that fails its checks is removed and reported as an error.
pub fn backup(from: &Path, to: &Path) -> Result<CheckReport, StoreError> {
    let src = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(std::time::Duration::from_secs(10))?;
    let tmp = temp_beside(to);
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        {
            let mut dst = Connection::open(&tmp)?;
            let b = rusqlite::backup::Backup::new(&src, &mut dst)?;
            // -1: every page in one step, so the copy is one snapshot. A writer holding a lock
            // for a moment (busy) is waited for, up to ten seconds.
            let mut tries = 0;
            loop {
                match b.step(-1)? {
                    rusqlite::backup::StepResult::Done => break,
                    rusqlite::backup::StepResult::More => {}
                    _ if tries < 200 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    _ => {
                        return Err(StoreError::Backup(
                            "the store stayed locked for ten seconds; try again".to_owned(),
                        ));
                    }
                }
            }
            drop(b);
            // A plain rollback-journal file: one self-contained file to keep or move.
            dst.pragma_update(None, "journal_mode", "DELETE")?;
        }
        let report = check(&tmp)?;
        if !report.problems.is_empty() {
            return Err(StoreError::Backup(format!(
                "the copy failed its checks: {}",
                report.problems.join("; ")
            )));
        }
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::Backup(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, to)
            .map_err(|e| StoreError::Backup(format!("{}: {e}", to.display())))?;
        Ok(report)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Puts the backup `file` in place as the store at `db` (the daemon must not be running: the
/// caller holds the data folder's lock). The backup is checked first; the store it replaces,
/// with its WAL, is moved aside as `station.db.before-restore-<unix time>` — never deleted.
/// Returns the backup's report and where the old store went (if there was one).
pub fn restore_into(file: &Path, db: &Path) -> Result<(CheckReport, Option<PathBuf>), StoreError> {
    let report = check(file)?;
    if !report.problems.is_empty() {
        return Err(StoreError::Backup(format!(
            "{} failed its checks: {}",
            file.display(),
            report.problems.join("; ")
        )));
    }
    let tmp = temp_beside(db);
    std::fs::copy(file, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .map_err(|e| StoreError::Backup(format!("{}: {e}", tmp.display())))?;
    let mut aside = None;
    if db.exists() {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let old = db.with_extension(format!("db.before-restore-{stamp}"));
        for suffix in ["", "-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{suffix}", db.display()));
            if from.exists() {
                let to = PathBuf::from(format!("{}{suffix}", old.display()));
                std::fs::rename(&from, &to)
                    .map_err(|e| StoreError::Backup(format!("{}: {e}", from.display())))?;
            }
        }
        aside = Some(old);
    }
    std::fs::rename(&tmp, db).map_err(|e| StoreError::Backup(format!("{}: {e}", db.display())))?;
    if let Some(dir) = db.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok((report, aside))
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}
