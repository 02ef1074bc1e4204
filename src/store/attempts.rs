//! Print attempts: begun by the engine before the first byte, ended with the printer's outcome
//! and the link's transfer, and listed for a job or the support bundle.

use super::*;

impl Store {
    /// Commits a new attempt *before the first byte*: the job becomes `printing` with attempt id
    /// `<job_id>-a<n>` and its booklet `loaded`. Returns the job with its attempt id.
    pub fn begin_attempt(&mut self, job_id: &str) -> Result<JobRow, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, job_id)?;
        lifecycle::next(job.state, Action::StartPrinting)?;
        if Self::booklet_state(&tx, &job.booklet)? != Some(BookletState::InStock) {
            return Err(
                BookletError::NotInStock("the job's booklet is not in stock".to_owned()).into(),
            );
        }
        let attempt = job.attempt + 1;
        let attempt_id = format!("{job_id}-a{attempt}");
        if self.chip_gate {
            // One passing chip check of this booklet lets one attempt print.
            let used = tx.exec(
                "UPDATE chip_checks SET used_by = ?3 WHERE seq = (
                     SELECT seq FROM chip_checks WHERE job_id = ?1 AND booklet = ?2
                     ORDER BY seq DESC LIMIT 1) AND result = 'ok' AND used_by IS NULL",
                params![job_id, job.booklet, attempt_id],
            )?;
            if used == 0 {
                return Err(StoreError::ChipRequired);
            }
        }
        tx.exec(
            "UPDATE jobs SET attempt = ?2, attempt_id = ?3, cancel_requested = 0 WHERE job_id = ?1",
            params![job_id, attempt, attempt_id],
        )?;
        let job = Self::job_in(&tx, job_id)?;
        Self::step(&tx, &job, Action::StartPrinting, "engine", None)?;
        Self::set_booklet(&tx, &job.booklet, BookletState::Loaded, Some(job_id), None)?;
        let job = Self::job_in(&tx, job_id)?;
        tx.commit()?;
        Ok(job)
    }

    /// Records how attempt `attempt_id` ended, and moves the booklet accordingly.
    pub fn end_attempt(
        &mut self,
        job_id: &str,
        attempt_id: &str,
        end: &AttemptEnd,
    ) -> Result<JobRow, StoreError> {
        self.end_attempt_with(job_id, attempt_id, end, None)
    }

    /// `end_attempt`, also recording what the driver measured on the link (same transaction).
    pub fn end_attempt_with(
        &mut self,
        job_id: &str,
        attempt_id: &str,
        end: &AttemptEnd,
        transfer: Option<Transfer>,
    ) -> Result<JobRow, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, job_id)?;
        if job.state != JobState::Printing || job.attempt_id.as_deref() != Some(attempt_id) {
            return Err(StoreError::StaleAttempt(job_id.to_owned()));
        }
        if let Some(t) = transfer {
            tx.exec(
                "UPDATE attempts SET bytes_sent = ?2, transfer_ms = ?3 WHERE attempt_id = ?1",
                params![
                    attempt_id,
                    i64::try_from(t.bytes).unwrap_or(i64::MAX),
                    t.duration
                        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                ],
            )?;
        }
        match end {
            AttemptEnd::Printed => {
                let to = Self::step(&tx, &job, Action::PrintConfirmed, "engine", None)?;
                Self::set_booklet(&tx, &job.booklet, BookletState::Issued, Some(job_id), None)?;
                if self.read_gate {
                    // The booklet goes to the reader before handover (same transaction: a
                    // printed job is never left ungated).
                    let printed = JobRow {
                        state: to,
                        ..job.clone()
                    };
                    Self::step(
                        &tx,
                        &printed,
                        Action::AwaitRead,
                        "engine",
                        Some("lay the booklet on the document reader"),
                    )?;
                }
            }
            AttemptEnd::NotSent(_) if job.cancel_requested => {
                // The operator asked to cancel and nothing was sent: cancelled, not requeued.
                Self::step(
                    &tx,
                    &job,
                    Action::CanceledWhilePrinting,
                    "engine",
                    Some("cancelled by the operator; nothing was sent"),
                )?;
                Self::set_booklet(&tx, &job.booklet, BookletState::InStock, None, None)?;
            }
            AttemptEnd::NotSent(why) => {
                Self::step(&tx, &job, Action::NotSent, "engine", Some(why))?;
                Self::set_booklet(&tx, &job.booklet, BookletState::InStock, None, None)?;
            }
            AttemptEnd::Failed(why) => {
                Self::step(&tx, &job, Action::Fail, "engine", Some(why))?;
                Self::set_booklet(&tx, &job.booklet, BookletState::InStock, None, None)?;
            }
            AttemptEnd::Canceled => {
                Self::step(
                    &tx,
                    &job,
                    Action::CanceledWhilePrinting,
                    "engine",
                    Some("cancelled; nothing came out"),
                )?;
                Self::set_booklet(&tx, &job.booklet, BookletState::InStock, None, None)?;
            }
            AttemptEnd::Unknown(why) => {
                // The booklet stays loaded: only a person can say whether it was used.
                Self::step(&tx, &job, Action::OutcomeUnknown, "engine", Some(why))?;
            }
        }
        let job = Self::job_in(&tx, job_id)?;
        tx.commit()?;
        Ok(job)
    }

    /// The newest `limit` attempts, newest first (of one job, or of all).
    pub fn attempts(&self, job_id: Option<&str>, limit: u32) -> Result<Vec<Attempt>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT attempt_id, job_id, started_at, ended_at, outcome, bytes_sent, transfer_ms
             FROM attempts WHERE ?1 IS NULL OR job_id = ?1 ORDER BY rowid DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![job_id, limit], |r| {
                Ok(Attempt {
                    attempt_id: r.get(0)?,
                    job_id: r.get(1)?,
                    started_at: r.get(2)?,
                    ended_at: r.get(3)?,
                    outcome: r.get(4)?,
                    bytes_sent: r.get::<_, Option<i64>>(5)?.map(|v| v.max(0) as u64),
                    transfer_ms: r.get::<_, Option<i64>>(6)?.map(|v| v.max(0) as u64),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
