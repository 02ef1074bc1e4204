//! The handover gate's records: every read a document reader sent (matched to a job or not),
//! the step it caused in the same transaction, the jobs waiting for a read, and verifying by
//! hand with a second person when a reader is configured.
//!
//! The lines read are personal data: sealed with the store key (`crypt`, associated data
//! `read:SEQ`), emptied with the job's payload at the end of its retention. The event log keeps
//! only the result and the differing positions, never the characters.

use super::*;

/// A read to record.
#[derive(Debug, Clone)]
pub struct NewRead<'a> {
    /// The job it was matched to (`None`: nobody expected it, or the bytes made no document).
    pub job_id: Option<&'a str>,
    /// `match`, `mismatch`, `unreadable`, `other-booklet`, `unexpected` or `garbled`.
    pub result: &'a str,
    /// The document number read (line 2, positions 1–9; `?` where unread).
    pub number: Option<&'a str>,
    /// The lines read, top to bottom.
    pub lines: &'a [String],
    /// The differing positions, (line, position).
    pub differences: &'a [(u8, usize)],
    /// For the operator and technician: what was wrong (no personal data).
    pub detail: Option<&'a str>,
    /// Who read it, as the event log names it: `reader`, or `keyboard:NAME` for a
    /// keyboard-wedge reader at the console of user NAME.
    pub actor: &'a str,
}

/// A recorded read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRow {
    /// Its sequence number.
    pub seq: i64,
    /// When it arrived (RFC 3339, UTC).
    pub at: String,
    /// The job it was matched to.
    pub job_id: Option<String>,
    /// The result word.
    pub result: String,
    /// The document number read.
    pub number: Option<String>,
    /// The lines read (empty once purged, or for a read without a document).
    pub lines: Vec<String>,
    /// The differing positions, (line, position).
    pub differences: Vec<(u8, usize)>,
    /// What was wrong.
    pub detail: Option<String>,
}

/// The result words a read may have (the `reads.result` column's check).
pub const READ_RESULTS: [&str; 6] = [
    "match",
    "mismatch",
    "unreadable",
    "other-booklet",
    "unexpected",
    "garbled",
];

impl Store {
    /// Whether a document reader gates handover: a printed job then waits for its read
    /// (`reading`) and a manual verify needs a second person.
    pub fn set_read_gate(&mut self, on: bool) {
        self.read_gate = on;
    }

    /// With the gate on: jobs left `printed` (printed before a reader was configured, or by an
    /// older pstation) wait for their read too. Returns how many moved.
    pub fn gate_printed(&mut self) -> Result<usize, StoreError> {
        if !self.read_gate {
            return Ok(0);
        }
        let printed = self.move_all(
            JobState::Printed,
            Action::AwaitRead,
            "a document reader is configured: the booklet waits for its read",
        )?;
        Ok(printed.len())
    }

    /// Jobs a read may settle: waiting for their read (`reading`) or in doubt
    /// (`needs-verification`), oldest first.
    pub fn awaiting_read(&self) -> Result<Vec<JobRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM jobs WHERE state IN ('reading', 'needs-verification') ORDER BY rowid",
            Self::JOB_COLUMNS
        ))?;
        let rows = stmt
            .query_map([], Self::row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Records `read` and, when it names a job and `action` is given (`ReadMatched`,
    /// `ReadFailed`), moves the job by the reader in the same transaction. A job that moved on
    /// meanwhile is refused (`invalid-transition`) and nothing is recorded.
    pub fn record_read(
        &mut self,
        read: &NewRead<'_>,
        action: Option<Action>,
    ) -> Result<(i64, Option<JobRow>), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let differences = serde_json::to_string(read.differences).unwrap_or_default();
        tx.exec(
            "INSERT INTO reads (at, job_id, result, number, differences, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                now(),
                read.job_id,
                read.result,
                read.number,
                differences,
                read.detail
            ],
        )?;
        let seq = tx.last_insert_rowid();
        if !read.lines.is_empty() {
            let key = self.key.as_ref().ok_or(StoreError::NoKey)?;
            let sealed = key.seal(&format!("read:{seq}"), read.lines.join("\n").as_bytes())?;
            tx.exec(
                "UPDATE reads SET lines = ?2 WHERE seq = ?1",
                params![seq, sealed],
            )?;
        }
        let moved = match (read.job_id, action) {
            (Some(job_id), Some(mut action)) => {
                let job = Self::job_in(&tx, job_id)?;
                let mut why = read_reason(read);
                if action == Action::ReadMatched && self.chip_gate {
                    // Three ways: the printed MRZ equals the job's (this read), and the chip of
                    // this booklet held the job's MRZ in DG1 (the check that let this attempt
                    // print). Without that check the read alone settles nothing.
                    let check: Option<i64> = tx
                        .row(
                            "SELECT seq FROM chip_checks WHERE job_id = ?1 AND booklet = ?2
                             AND used_by = ?3 AND result = 'ok'",
                            params![job_id, job.booklet, job.attempt_id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    match check {
                        Some(seq) => {
                            why = format!(
                                "{why}; the printed MRZ, the job and the chip's DG1 (chip check {seq}) agree"
                            );
                        }
                        None if job.state == JobState::Reading => {
                            action = Action::ReadFailed;
                            why = "chip-unchecked: the printed MRZ matches, but this booklet's chip was not checked before it printed; verify by hand with a supervisor".to_owned();
                        }
                        None => {
                            tx.commit()?;
                            return Ok((seq, None));
                        }
                    }
                }
                Self::step(&tx, &job, action, read.actor, Some(&why))?;
                if action == Action::ReadMatched {
                    Self::set_booklet(&tx, &job.booklet, BookletState::Issued, Some(job_id), None)?;
                }
                Some(Self::job_in(&tx, job_id)?)
            }
            _ => None,
        };
        tx.commit()?;
        Ok((seq, moved))
    }

    /// The newest `limit` reads, newest first (of one job, or of all), with their lines opened.
    pub fn reads(&self, job_id: Option<&str>, limit: u32) -> Result<Vec<ReadRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, job_id, result, number, lines, differences, detail FROM reads
             WHERE ?1 IS NULL OR job_id = ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let raw = stmt
            .query_map(params![job_id, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<Vec<u8>>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        raw.into_iter()
            .map(|(seq, at, job_id, result, number, sealed, diffs, detail)| {
                let lines = match sealed.filter(|s| !s.is_empty()) {
                    None => Vec::new(),
                    Some(sealed) => {
                        let key = self.key.as_ref().ok_or(StoreError::NoKey)?;
                        let plain = key
                            .open(&format!("read:{seq}"), &sealed)
                            .map_err(|_| StoreError::Unsealable(format!("read {seq}")))?;
                        String::from_utf8_lossy(&plain)
                            .lines()
                            .map(str::to_owned)
                            .collect()
                    }
                };
                Ok(ReadRow {
                    seq,
                    at,
                    job_id,
                    result,
                    number,
                    lines,
                    differences: diffs
                        .and_then(|d| serde_json::from_str(&d).ok())
                        .unwrap_or_default(),
                    detail,
                })
            })
            .collect()
    }

    /// How many reads had each result (for the metrics).
    pub fn read_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT result, COUNT(*) FROM reads GROUP BY result")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .map(|r| r.map(|(k, n)| (k, n.max(0) as u64)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Verifies by hand a job a reader gates (waiting for its read, or in doubt): the
    /// operator and a second authorised person, with a reason (what they saw, e.g. the reader
    /// is faulty). With the gate off this is the ordinary verify, with the supervisor noted.
    pub fn verify_by_hand(
        &mut self,
        job_id: &str,
        actor: &str,
        supervisor: &str,
        reason: Option<&str>,
    ) -> Result<JobRow, StoreError> {
        if supervisor.trim().is_empty() || supervisor.trim() == actor.trim() {
            return Err(StoreError::SecondPerson(actor.to_owned()));
        }
        let Some(reason) = reason.filter(|r| !r.trim().is_empty()) else {
            return Err(BookletError::ReasonRequired(
                "verifying by hand what the reader has not matched needs a reason (what was seen, e.g. the reader is faulty)",
            )
            .into());
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, job_id)?;
        let why = format!("verified by hand, approved by {supervisor}: {reason}");
        Self::step(&tx, &job, Action::Verify, actor, Some(&why))?;
        Self::set_booklet(&tx, &job.booklet, BookletState::Issued, Some(job_id), None)?;
        let job = Self::job_in(&tx, job_id)?;
        tx.commit()?;
        Ok(job)
    }

    /// With the gate on, a verify of a job the reader gates needs `verify_by_hand`.
    pub(super) fn check_read_gate(
        gate: bool,
        state: JobState,
        action: Action,
    ) -> Result<(), StoreError> {
        if gate
            && action == Action::Verify
            && matches!(state, JobState::Reading | JobState::NeedsVerification)
        {
            return Err(StoreError::ReadRequired);
        }
        Ok(())
    }
}

/// The event's reason for a read: the result and the differing positions, never characters.
fn read_reason(read: &NewRead<'_>) -> String {
    let mut why = format!("read-{}", read.result);
    if !read.differences.is_empty() {
        let shown: Vec<String> = read
            .differences
            .iter()
            .take(12)
            .map(|(l, p)| format!("{l}:{p}"))
            .collect();
        why.push_str(&format!(
            ": {} position(s) differ (line:position {}{})",
            read.differences.len(),
            shown.join(" "),
            if read.differences.len() > 12 {
                " …"
            } else {
                ""
            }
        ));
    }
    if let Some(detail) = read.detail {
        why.push_str(&format!("; {detail}"));
    }
    why
}
