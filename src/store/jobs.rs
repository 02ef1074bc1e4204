//! Jobs: reading them, submitting (idempotent by id and SHA-256 of the exact bytes), the
//! operator's actions, the booklet confirmation, reprints, what prints next, start-up recovery.

use super::*;

impl Store {
    /// A job as read by a `SELECT` of `JOB_COLUMNS`.
    pub(super) fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
        let state: String = r.get("state")?;
        Ok(JobRow {
            job_id: r.get("job_id")?,
            // The column only ever holds words written by this module.
            state: JobState::parse(&state).unwrap_or(JobState::NeedsVerification),
            reason: r.get("reason")?,
            booklet: r.get("booklet")?,
            booklet_confirmed: r.get::<_, i64>("booklet_confirmed")? != 0,
            attempt: r.get("attempt")?,
            attempt_id: r.get("attempt_id")?,
            cancel_requested: r.get::<_, i64>("cancel_requested")? != 0,
            received_at: r.get("received_at")?,
            updated_at: r.get("updated_at")?,
            purged_at: r.get("purged_at")?,
        })
    }

    /// The job columns every job query selects, in `row`'s order.
    pub(super) const JOB_COLUMNS: &'static str = "job_id, state, reason, booklet, booklet_confirmed, attempt, attempt_id, cancel_requested, received_at, updated_at, purged_at";

    /// One job.
    pub fn job(&self, job_id: &str) -> Result<JobRow, StoreError> {
        Self::job_in(&self.conn, job_id)
    }

    pub(super) fn job_in(conn: &Connection, job_id: &str) -> Result<JobRow, StoreError> {
        conn.row(
            &format!("SELECT {} FROM jobs WHERE job_id = ?1", Self::JOB_COLUMNS),
            [job_id],
            Self::row,
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(job_id.to_owned()))
    }

    /// The exact bytes the job was submitted with (opened with the store key).
    pub fn payload(&self, job_id: &str) -> Result<Vec<u8>, StoreError> {
        let (sealed, purged): (Vec<u8>, Option<String>) = self
            .conn
            .row(
                "SELECT payload, purged_at FROM jobs WHERE job_id = ?1",
                [job_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(job_id.to_owned()))?;
        if purged.is_some() {
            return Err(StoreError::Purged(job_id.to_owned()));
        }
        let key = self.key.as_ref().ok_or(StoreError::NoKey)?;
        key.open(job_id, &sealed)
            .map_err(|_| StoreError::Unsealable(job_id.to_owned()))
    }

    /// Jobs, oldest first, optionally in one state.
    pub fn jobs(&self, state: Option<JobState>) -> Result<Vec<JobRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM jobs WHERE ?1 IS NULL OR state = ?1 ORDER BY rowid",
            Self::JOB_COLUMNS
        ))?;
        let rows = stmt
            .query_map([state.map(JobState::as_str)], Self::row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Jobs whose booklet (passport number) is `number`.
    pub fn jobs_with_booklet(&self, number: &str) -> Result<Vec<JobRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM jobs WHERE booklet = ?1 ORDER BY rowid",
            Self::JOB_COLUMNS
        ))?;
        let rows = stmt
            .query_map([number], Self::row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Stores a validated job (its exact bytes) and queues it — or holds it when its booklet
    /// is not in stock. The same id with the same bytes returns the existing job unchanged; the
    /// same id with other bytes is a conflict and changes nothing.
    pub fn submit(
        &mut self,
        job_id: &str,
        payload: &[u8],
        booklet: &str,
        actor: &str,
    ) -> Result<Submitted, StoreError> {
        self.submit_item(&NewJob {
            job_id,
            payload,
            booklet,
            actor,
            signature: None,
        })
    }

    /// `submit` of one `NewJob` (with its signature, if any), in its own transaction.
    pub fn submit_item(&mut self, item: &NewJob<'_>) -> Result<Submitted, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = self.key.as_ref().ok_or(StoreError::NoKey)?;
        let result = Self::submit_in(&tx, self.submit_limit_pages, key, item)?;
        tx.commit()?;
        result
    }

    /// Several submissions in one transaction (one sync to disk for all: group commit). Each
    /// gets its own result, exactly as `submit` would give it in this order; a failure of the
    /// database itself fails them all (nothing is stored).
    pub fn submit_batch(
        &mut self,
        items: &[NewJob<'_>],
    ) -> Result<Vec<Result<Submitted, StoreError>>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let key = self.key.as_ref().ok_or(StoreError::NoKey)?;
        let mut results = Vec::with_capacity(items.len());
        for it in items {
            results.push(Self::submit_in(&tx, self.submit_limit_pages, key, it)?);
        }
        tx.commit()?;
        Ok(results)
    }

    /// One submission inside `tx`. The outer `Err` is a database failure (the transaction must
    /// not commit); the inner one is this job's refusal (nothing of it was written).
    pub(super) fn submit_in(
        tx: &Connection,
        limit_pages: Option<i64>,
        key: &StoreKey,
        item: &NewJob<'_>,
    ) -> Result<Result<Submitted, StoreError>, StoreError> {
        let NewJob {
            job_id,
            payload,
            booklet,
            actor,
            signature,
        } = *item;
        let sha = sha256_hex(payload);
        let existing: Option<String> = tx
            .row(
                "SELECT payload_sha256 FROM jobs WHERE job_id = ?1",
                [job_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(existing) = existing {
            return Ok(if existing == sha {
                Ok(Submitted::Existing(Self::job_in(tx, job_id)?))
            } else {
                Err(StoreError::Conflict(job_id.to_owned()))
            });
        }
        if let Some(limit) = limit_pages {
            let pages: i64 = tx.row("PRAGMA page_count", [], |r| r.get(0))?;
            if pages >= limit {
                return Ok(Err(StoreError::Full(format!(
                    "the store holds {pages} pages; new jobs are refused from {limit} — raise daemon.max_store_mb or complete and purge old jobs"
                ))));
            }
        }
        // The row is written once, already in the state it moves to on arrival (queued, or
        // held when its booklet is not in stock): rewriting it would write the payload to the
        // WAL twice. The event log still records both steps, each checked by the lifecycle.
        let (action, reason) = if Self::booklet_state(tx, booklet)? == Some(BookletState::InStock) {
            (Action::Queue, None)
        } else {
            (Action::HoldBySystem, Some(BOOKLET_NOT_IN_STOCK))
        };
        let to = lifecycle::next(JobState::Received, action)?;
        let at = now();
        // Only the sealed bytes are written; the digest (of the plain bytes) answers the same
        // job submitted again, and stays after a purge so an old id can never print again.
        let sealed = key.seal(job_id, payload)?;
        tx.exec(
            "INSERT INTO jobs (job_id, state, reason, payload, payload_sha256, booklet, received_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![job_id, to.as_str(), reason, sealed, sha, booklet, at],
        )?;
        Self::append_event(
            tx,
            NewEvent {
                job_id: Some(job_id),
                actor,
                action: "submit",
                from: None,
                to: Some(JobState::Received),
                reason: None,
                attempt_id: None,
                signature,
            },
        )?;
        Self::append_event(
            tx,
            NewEvent {
                job_id: Some(job_id),
                actor: "station",
                action: action.as_str(),
                from: Some(JobState::Received),
                to: Some(to),
                reason,
                attempt_id: None,
                signature: None,
            },
        )?;
        Ok(Ok(Submitted::Created(Self::job_in(tx, job_id)?)))
    }

    /// An operator action on a job: hold, release, cancel, verify, spoil. Cancelling a job that
    /// is printing only records the request; the engine stops the job and records the outcome.
    pub fn act(
        &mut self,
        job_id: &str,
        action: Action,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<JobRow, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, job_id)?;
        Self::check_read_gate(self.read_gate, job.state, action)?;
        let booklet = Self::booklet_state(&tx, &job.booklet)?;
        let plan = lifecycle::plan(job.state, booklet, action, reason).map_err(|r| match r {
            Refusal::Transition(e) => StoreError::Transition(e),
            Refusal::ReasonRequired(why) => BookletError::ReasonRequired(why).into(),
            Refusal::BookletNotInStock => BookletError::NotInStock(format!(
                "job {job_id:?} cannot be released: its booklet is not in stock — receive the batch that holds it"
            ))
            .into(),
        })?;
        // A held booklet goes with a reprint request only when its own chip was found wrong or
        // unreadable; one whose chip never opened with this job's key may be another person's
        // good booklet, laid by mistake: it stays in stock.
        let plan = match plan {
            Plan::Move {
                to,
                booklet: Some(BookletState::Spoiled),
                ..
            } if action == Action::RequestReprint && job.state == JobState::Held => {
                let chip: Option<String> = tx
                    .row(
                        "SELECT chip_state FROM booklets WHERE number = ?1",
                        [&job.booklet],
                        |r| r.get(0),
                    )
                    .optional()?;
                if matches!(chip.as_deref(), Some("mismatch" | "unreadable")) {
                    plan
                } else {
                    Plan::Move {
                        to,
                        booklet: None,
                        booklet_event: None,
                    }
                }
            }
            other => other,
        };
        match plan {
            Plan::RequestCancel => {
                tx.exec(
                    "UPDATE jobs SET cancel_requested = 1, updated_at = ?2 WHERE job_id = ?1",
                    params![job_id, now()],
                )?;
                Self::append_event(
                    &tx,
                    NewEvent {
                        job_id: Some(job_id),
                        actor,
                        action: "cancel-requested",
                        from: Some(job.state),
                        to: Some(job.state),
                        reason,
                        attempt_id: job.attempt_id.as_deref(),
                        signature: None,
                    },
                )?;
            }
            Plan::Move {
                to,
                booklet,
                booklet_event,
            } => {
                let moved = Self::step(&tx, &job, action, actor, reason)?;
                debug_assert_eq!(moved, to);
                if let Some(state) = booklet {
                    // An issued or spoiled booklet names its job; a spoiled one keeps the reason.
                    let (owner, why) = match state {
                        BookletState::InStock => (None, None),
                        BookletState::Spoiled => (Some(job_id), reason),
                        _ => (Some(job_id), None),
                    };
                    Self::set_booklet(&tx, &job.booklet, state, owner, why)?;
                }
                if let Some(event) = booklet_event {
                    Self::append_event(
                        &tx,
                        NewEvent {
                            job_id: Some(job_id),
                            actor,
                            action: event,
                            from: None,
                            to: None,
                            reason,
                            attempt_id: job.attempt_id.as_deref(),
                            signature: None,
                        },
                    )?;
                }
            }
        }
        let job = Self::job_in(&tx, job_id)?;
        tx.commit()?;
        Ok(job)
    }

    /// The operator confirms the booklet loaded in the printer is `number`; it must be the
    /// job's booklet.
    pub fn confirm_booklet(
        &mut self,
        job_id: &str,
        number: &str,
        actor: &str,
    ) -> Result<JobRow, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, job_id)?;
        lifecycle::next(job.state, Action::ConfirmBooklet)?;
        if number.trim() != job.booklet {
            Self::append_event(
                &tx,
                NewEvent {
                    job_id: Some(job_id),
                    actor,
                    action: "confirm-booklet-refused",
                    from: Some(job.state),
                    to: Some(job.state),
                    reason: Some("the number typed is not this job's booklet"),
                    attempt_id: None,
                    signature: None,
                },
            )?;
            tx.commit()?;
            return Err(BookletError::Mismatch(job_id.to_owned()).into());
        }
        tx.exec(
            "UPDATE jobs SET booklet_confirmed = 1, updated_at = ?2 WHERE job_id = ?1",
            params![job_id, now()],
        )?;
        Self::append_event(
            &tx,
            NewEvent {
                job_id: Some(job_id),
                actor,
                action: Action::ConfirmBooklet.as_str(),
                from: Some(job.state),
                to: Some(job.state),
                reason: None,
                attempt_id: None,
                signature: None,
            },
        )?;
        let job = Self::job_in(&tx, job_id)?;
        tx.commit()?;
        Ok(job)
    }

    /// A spoiled job printed again on booklet `new_booklet` (which must be in stock), approved
    /// by `supervisor`, a second person.
    pub fn reprint(
        &mut self,
        job_id: &str,
        new_booklet: &str,
        actor: &str,
        supervisor: &str,
        reason: Option<&str>,
    ) -> Result<JobRow, StoreError> {
        if self.chip_gate {
            return Err(StoreError::ReprintCentral);
        }
        if supervisor.trim().is_empty() || supervisor.trim() == actor.trim() {
            return Err(StoreError::SecondPerson(actor.to_owned()));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, job_id)?;
        lifecycle::next(job.state, Action::Reprint)?;
        if Self::booklet_state(&tx, new_booklet)? != Some(BookletState::InStock) {
            return Err(BookletError::NotInStock(
                "the new booklet is not in stock — receive it or choose another".to_owned(),
            )
            .into());
        }
        tx.exec(
            "UPDATE jobs SET booklet = ?2, booklet_confirmed = 0, cancel_requested = 0 WHERE job_id = ?1",
            params![job_id, new_booklet],
        )?;
        let why = format!(
            "approved by {supervisor}{}",
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        );
        Self::step(&tx, &job, Action::Reprint, actor, Some(&why))?;
        let job = Self::job_in(&tx, job_id)?;
        tx.commit()?;
        Ok(job)
    }

    /// The oldest queued job the engine may print now: its booklet in stock and, when the site
    /// requires it, confirmed by the operator.
    pub fn next_printable(&self, require_confirmation: bool) -> Result<Option<JobRow>, StoreError> {
        let job = self
            .conn
            .row(
                &format!(
                    "SELECT {} FROM jobs j WHERE state = 'queued' AND (?1 = 0 OR booklet_confirmed = 1)
                     AND EXISTS (SELECT 1 FROM booklets b WHERE b.number = j.booklet AND b.state = 'in-stock')
                     ORDER BY rowid LIMIT 1",
                    Self::JOB_COLUMNS
                ),
                [i64::from(require_confirmation)],
                Self::row,
            )
            .optional()?;
        Ok(job)
    }

    /// A job that cannot be rendered or printed by itself (before any attempt).
    pub fn fail_queued(&mut self, job_id: &str, why: &str) -> Result<JobRow, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, job_id)?;
        Self::step(&tx, &job, Action::Fail, "engine", Some(why))?;
        let job = Self::job_in(&tx, job_id)?;
        tx.commit()?;
        Ok(job)
    }

    /// Start-up recovery: a job left `printing` by a crash, kill or power cut may or may not
    /// have reached the printer, so it becomes `needs-verification` (never requeued). Returns
    /// the jobs moved.
    pub fn recover(&mut self) -> Result<Vec<String>, StoreError> {
        let stuck = self.move_all(
            JobState::Printing,
            Action::OutcomeUnknown,
            "the station stopped while this job was printing; look at the booklet",
        )?;
        Ok(stuck.into_iter().map(|j| j.job_id).collect())
    }

    /// Moves every job in state `from` by `action`, as the station, with `reason`, in one
    /// transaction (start-up steps); returns the jobs as they were.
    pub(super) fn move_all(
        &mut self,
        from: JobState,
        action: Action,
        reason: &str,
    ) -> Result<Vec<JobRow>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let jobs: Vec<JobRow> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {} FROM jobs WHERE state = ?1 ORDER BY rowid",
                Self::JOB_COLUMNS
            ))?;
            stmt.query_map([from.as_str()], Self::row)?
                .collect::<Result<Vec<_>, _>>()?
        };
        for job in &jobs {
            Self::step(&tx, job, action, "station", Some(reason))?;
        }
        tx.commit()?;
        Ok(jobs)
    }

    /// How many jobs are in each state (states with none are left out).
    pub fn job_counts(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        self.counts_by_state(
            "SELECT state, COUNT(*) FROM jobs GROUP BY state",
            JobState::parse,
        )
    }

    pub(super) fn counts_by_state<S>(
        &self,
        sql: &str,
        parse: fn(&str) -> Option<S>,
    ) -> Result<Vec<(S, u64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| Some((parse(&s)?, n.max(0) as u64)))
            .collect())
    }
}
