//! The append-only event log: appending an event in the state change's transaction (with its
//! place in the hash chain and its outbox row), the lifecycle step, and reading events back.

use super::*;

impl Store {
    pub(super) fn append_event(tx: &Connection, e: NewEvent<'_>) -> Result<(), StoreError> {
        // A job's state change is also news for the central office: the outbox row commits
        // with the event or not at all. An event that leaves the state as it was (a booklet
        // confirmed while queued) is not a change.
        if let (Some(job_id), Some(to)) = (e.job_id, e.to)
            && e.from != Some(to)
        {
            tx.exec(
                "INSERT INTO outbox (job_id, state, booklet, at, reason)
                 SELECT job_id, ?2, booklet, ?3, ?4 FROM jobs WHERE job_id = ?1",
                params![job_id, to.as_str(), now(), e.reason],
            )?;
        }
        // The next link of the chain: this IMMEDIATE transaction holds the write lock, so the
        // last event cannot change under us (events are never deleted: a trigger refuses it).
        let (last_seq, prev): (i64, Option<String>) = tx
            .row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, None));
        let seq = last_seq + 1;
        let at = now();
        let (from, to) = (e.from.map(JobState::as_str), e.to.map(JobState::as_str));
        let hash = event_hash(
            prev.as_deref().unwrap_or(""),
            seq,
            &[
                e.job_id,
                Some(&at),
                Some(e.actor),
                Some(e.action),
                from,
                to,
                e.reason,
                e.attempt_id,
                e.signature,
            ],
        );
        tx.exec(
            "INSERT INTO events (seq, job_id, at, actor, action, from_state, to_state, reason, attempt_id, signature, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                seq,
                e.job_id,
                at,
                e.actor,
                e.action,
                from,
                to,
                e.reason,
                e.attempt_id,
                e.signature,
                hash
            ],
        )?;
        Ok(())
    }

    /// Moves a job by `action` inside `tx`: checks the lifecycle, updates state and reason,
    /// appends the event. Returns the new state.
    pub(super) fn step(
        tx: &Connection,
        job: &JobRow,
        action: Action,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<JobState, StoreError> {
        let to = lifecycle::next(job.state, action)?;
        tx.exec(
            "UPDATE jobs SET state = ?2, reason = ?3, updated_at = ?4 WHERE job_id = ?1",
            params![job.job_id, to.as_str(), reason, now()],
        )?;
        Self::append_event(
            tx,
            NewEvent {
                job_id: Some(&job.job_id),
                actor,
                action: action.as_str(),
                from: Some(job.state),
                to: Some(to),
                reason,
                attempt_id: job.attempt_id.as_deref(),
                signature: None,
            },
        )?;
        // The attempts table follows the same steps (the schema-2 migration derives it from the
        // event log in the same way).
        if let Some(attempt_id) = job.attempt_id.as_deref() {
            if action == Action::StartPrinting {
                tx.exec(
                    "INSERT INTO attempts (attempt_id, job_id, started_at) VALUES (?1, ?2, ?3)",
                    params![attempt_id, job.job_id, now()],
                )?;
            } else if let Some(outcome) = action.attempt_outcome() {
                tx.exec(
                    "UPDATE attempts SET ended_at = ?2, outcome = ?3
                     WHERE attempt_id = ?1 AND ended_at IS NULL",
                    params![attempt_id, now(), outcome],
                )?;
            }
        }
        Ok(to)
    }

    /// The event log from `after` (exclusive), oldest first, at most `limit` entries.
    pub fn events(
        &self,
        job_id: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, job_id, at, actor, action, from_state, to_state, reason, attempt_id, signature FROM events
             WHERE seq > ?1 AND (?2 IS NULL OR job_id = ?2) ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![after, job_id, limit], |r| {
                Ok(Event {
                    seq: r.get(0)?,
                    job_id: r.get(1)?,
                    at: r.get(2)?,
                    actor: r.get(3)?,
                    action: r.get(4)?,
                    from_state: r.get(5)?,
                    to_state: r.get(6)?,
                    reason: r.get(7)?,
                    attempt_id: r.get(8)?,
                    signature: r.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The newest `limit` events, oldest first.
    pub fn recent_events(&self, limit: u32) -> Result<Vec<Event>, StoreError> {
        let newest: i64 = self
            .conn
            .row("SELECT ifnull(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
        self.events(None, (newest - i64::from(limit)).max(0), limit)
    }
}
