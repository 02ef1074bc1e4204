//! The station's use cases for readers (the API, the console): what they list, show, open and
//! record, each one call, so that no handler reaches the store itself.

use super::render::{RenderError, Renderer};
use super::{Station, StationError};
use crate::store::{
    Attempt, Batch, Booklet, BookletState, Event, JobRow, JobState, Reconciliation, StoreError,
};

/// A job as its detail page shows it.
pub struct JobDetail {
    /// The job.
    pub job: JobRow,
    /// Its events, oldest first (at most 1000).
    pub events: Vec<Event>,
    /// Its print attempts (at most 100).
    pub attempts: Vec<Attempt>,
}

/// The counts `/metrics` exports besides the printer's state.
pub struct Counts {
    /// Jobs per state.
    pub jobs: Vec<(JobState, u64)>,
    /// Booklets per state.
    pub booklets: Vec<(BookletState, u64)>,
    /// Status updates not yet delivered, per destination configured.
    pub backlog: Vec<(&'static str, u64)>,
    /// Booklets by chip state.
    pub chips: crate::store::ChipCounts,
}

impl Station {
    /// The jobs, all or in one state.
    pub async fn jobs(&self, state: Option<JobState>) -> Result<Vec<JobRow>, StationError> {
        self.db(move |s| s.jobs(state)).await
    }

    /// One job with its events and attempts.
    pub async fn job_detail(&self, id: &str) -> Result<JobDetail, StationError> {
        let id = id.to_owned();
        self.db(move |s| {
            Ok(JobDetail {
                job: s.job(&id)?,
                events: s.events(Some(&id), 0, 1000)?,
                attempts: s.attempts(Some(&id), 100)?,
            })
        })
        .await
    }

    /// Opens job `id`'s personal data for `viewer` and makes `what` of it with `make` (on the
    /// blocking pool, from the payload and the job's booklet). The view is recorded in the
    /// audit log first: nothing is shown that is not recorded. The caller checks the viewer's
    /// role.
    pub async fn open_personal_data<T, F>(
        &self,
        id: &str,
        viewer: &str,
        what: &'static str,
        make: F,
    ) -> Result<Result<T, RenderError>, StationError>
    where
        T: Send + 'static,
        F: FnOnce(&Renderer, &[u8], &str) -> Result<T, RenderError> + Send + 'static,
    {
        let (id, name) = (id.to_owned(), viewer.to_owned());
        let (payload, booklet) = self
            .db(move |s| {
                let job = s.job(&id)?;
                let payload = s.payload(&id)?;
                s.record_access(Some(&id), &name, what)?;
                Ok((payload, job.booklet))
            })
            .await?;
        let renderer = self.renderer.clone();
        tokio::task::spawn_blocking(move || make(&renderer, &payload, &booklet))
            .await
            .map_err(|_| StationError::ShuttingDown)
    }

    /// Records that `user` did `what` (a login, a logout) in the audit log.
    pub async fn record_access(&self, user: &str, what: &'static str) -> Result<(), StationError> {
        let user = user.to_owned();
        self.db(move |s| s.record_access(None, &user, what)).await
    }

    /// The last `limit` printer statuses, newest first: (at, state, reasons, link).
    pub async fn printer_history(
        &self,
        limit: u32,
    ) -> Result<Vec<(String, String, String, String)>, StationError> {
        self.db(move |s| s.printer_history(limit)).await
    }

    /// The batches received and the booklets, all or in one state.
    pub async fn booklets(
        &self,
        state: Option<BookletState>,
    ) -> Result<(Vec<Batch>, Vec<Booklet>), StationError> {
        self.db(move |s| Ok((s.batches()?, s.booklets(state)?)))
            .await
    }

    /// Every booklet received accounted for.
    pub async fn reconcile(&self) -> Result<Reconciliation, StationError> {
        self.db(|s| s.reconcile()).await
    }

    /// The jobs and booklets per state, and the status backlog of each destination configured.
    pub async fn counts(&self) -> Result<Counts, StationError> {
        let central = &self.options.settings.central;
        let sinks: Vec<&'static str> = [
            central.webhook.as_ref().map(|_| super::outbox::WEBHOOK),
            central.nats.as_ref().map(|_| super::nats::NATS),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.db(move |s| {
            let backlog = sinks
                .iter()
                .map(|sink| Ok((*sink, s.outbox_backlog(sink)?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(Counts {
                jobs: s.job_counts()?,
                booklets: s.booklet_counts()?,
                backlog,
                chips: s.chip_counts()?,
            })
        })
        .await
    }
}
