//! The event log's hash chain (schema 5): `verify` walks every event in order and recomputes
//! each link, so an event edited, inserted or removed — even by someone who dropped the
//! append-only triggers and edited the file — breaks the chain at that point.
//!
//! Limits, stated: removing the newest events leaves a shorter chain that still verifies; the
//! head hash (`ChainReport::head`) is what an outside record (the support bundle, the central
//! office) can compare against later. Events from before schema 5 carry no hash and are
//! reported as such.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// What the chain holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    /// Events before the chain began (written before schema 5).
    pub unchained: u64,
    /// Events in the chain, all verified.
    pub chained: u64,
    /// The newest event's hash (empty when the chain is empty).
    pub head: String,
}

/// Verifies the chain of the store at `path`, read-only.
pub fn verify(path: &Path) -> Result<Result<ChainReport, String>, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let schema: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if schema > super::SCHEMA_VERSION {
        return Err(StoreError::TooNew { found: schema });
    }
    if schema < 5 {
        return Ok(Err(format!(
            "the store has schema {schema}, before the event log was chained — start the daemon once to migrate it"
        )));
    }
    Ok(verify_conn(&conn)?)
}

/// Verifies the chain through an open connection: `Ok(Ok(report))`, or `Ok(Err(the first
/// broken place))`.
pub(crate) fn verify_conn(conn: &Connection) -> rusqlite::Result<Result<ChainReport, String>> {
    let mut stmt = conn.prepare(
        "SELECT seq, job_id, at, actor, action, from_state, to_state, reason, attempt_id, signature, hash
         FROM events ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut report = ChainReport {
        unchained: 0,
        chained: 0,
        head: String::new(),
    };
    let mut last_seq: Option<i64> = None;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let hash: Option<String> = r.get(10)?;
        let Some(hash) = hash else {
            if report.chained > 0 {
                return Ok(Err(format!(
                    "event {seq} has no hash, after the chain began: it was inserted"
                )));
            }
            report.unchained += 1;
            last_seq = Some(seq);
            continue;
        };
        if let Some(prev) = last_seq
            && seq != prev + 1
        {
            return Ok(Err(format!(
                "events {} to {} are missing: removed from the log",
                prev + 1,
                seq - 1
            )));
        }
        // Columns 1..=9 in order: `f` always has nine entries.
        let f: Vec<Option<String>> = (1..=9)
            .map(|i| r.get::<_, Option<String>>(i))
            .collect::<Result<_, _>>()?;
        let expected = super::event_hash(
            &report.head,
            seq,
            &[
                f[0].as_deref(),
                f[1].as_deref(),
                f[2].as_deref(),
                f[3].as_deref(),
                f[4].as_deref(),
                f[5].as_deref(),
                f[6].as_deref(),
                f[7].as_deref(),
                f[8].as_deref(),
            ],
        );
        if hash != expected {
            return Ok(Err(format!(
                "event {seq} does not match its hash: it (or one before it) was changed"
            )));
        }
        report.chained += 1;
        report.head = hash;
        last_seq = Some(seq);
    }
    Ok(Ok(report))
}
