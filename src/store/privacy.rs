//! Personal data over time: who opened a page or logged in (recorded as events), and the
//! retention purge that empties a payload (and the lines a reader read of it) once its job has
//! ended long enough ago.

use super::*;

impl Store {
    /// Records an access in the event log without changing any state: who saw a job's personal
    /// data (`view-page`, `view-mrz` with its `job_id`), who logged in to or out of the console
    /// (`login`, `logout`, no job). Who read what is part of the audit record.
    pub fn record_access(
        &mut self,
        job_id: Option<&str>,
        actor: &str,
        action: &str,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::append_event(
            &tx,
            NewEvent {
                job_id,
                actor,
                action,
                from: None,
                to: None,
                reason: None,
                attempt_id: None,
                signature: None,
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Purges the personal data of every job that ended (completed or canceled) before
    /// `ended_before` (RFC 3339, UTC, as the store writes times): its sealed payload is emptied
    /// and `purged_at` set, and a `purge` event by `station` records it. The row, its events,
    /// attempts and booklet stay (the audit record). Returns the purged jobs' ids.
    pub fn purge_ended_before(&mut self, ended_before: &str) -> Result<Vec<String>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let due: Vec<JobRow> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {} FROM jobs WHERE purged_at IS NULL AND state IN ('completed', 'canceled', 'reprint-requested') AND updated_at < ?1 ORDER BY updated_at",
                Self::JOB_COLUMNS
            ))?;
            stmt.query_map([ended_before], Self::row)?
                .collect::<Result<_, _>>()?
        };
        for job in &due {
            debug_assert!(job.state.is_terminal());
            tx.exec(
                "UPDATE jobs SET payload = X'', purged_at = ?2 WHERE job_id = ?1",
                params![job.job_id, now()],
            )?;
            // What the document reader read of it goes with it.
            tx.exec(
                "UPDATE reads SET lines = NULL WHERE job_id = ?1",
                params![job.job_id],
            )?;
            Self::append_event(
                &tx,
                NewEvent {
                    job_id: Some(&job.job_id),
                    actor: "station",
                    action: "purge",
                    from: Some(job.state),
                    to: Some(job.state),
                    reason: Some("retention period over: personal data removed"),
                    attempt_id: None,
                    signature: None,
                },
            )?;
        }
        // Reads nobody expected belong to no job: they go after the same period.
        tx.exec(
            "UPDATE reads SET lines = NULL WHERE job_id IS NULL AND lines IS NOT NULL AND at < ?1",
            [ended_before],
        )?;
        tx.commit()?;
        Ok(due.into_iter().map(|j| j.job_id).collect())
    }

    /// When the next job's retention starts counting down to a purge: the oldest `updated_at`
    /// of the ended jobs not purged yet.
    pub fn oldest_unpurged_end(&self) -> Result<Option<String>, StoreError> {
        Ok(self.conn.row(
            "SELECT MIN(updated_at) FROM jobs WHERE purged_at IS NULL AND state IN ('completed', 'canceled', 'reprint-requested')",
            [],
            |r| r.get(0),
        )?)
    }
}
