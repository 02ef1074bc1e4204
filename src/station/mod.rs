//! The station daemon's core: `Station` (the store behind a mutex, live events, the printer's
//! status as the operator sees it, the current job's cancel switch), job submission with
//! validation and policy, and operator actions. The print engine (`engine`) and the HTTP API
//! (`api`) are built on it.
//!
//! Design: the store is synchronous SQLite; every call goes through `Station::db`, which runs
//! it on the blocking pool, so no SQLite call ever blocks the async runtime. Every change that
//! matters to someone watching is published as a `StationEvent` on a broadcast channel.

pub mod chip;
pub mod engine;
pub mod metrics;
pub mod nats;
pub mod outbox;
pub mod reading;
pub mod render;
pub mod retention;
pub mod session;
pub mod technician;
pub mod views;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::{Notify, broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::job::{self, ValidateOptions};
use crate::printer::{DriverSettings, Link, PrinterStatus};
use crate::problem::Problems;
use crate::store::{Action, JobRow, Store, StoreError, Submitted};

/// What the operator is told to do about a printer condition, in Indonesian and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advice {
    /// The IPP reason it answers.
    pub reason: String,
    /// Bahasa Indonesia.
    pub id: &'static str,
    /// English.
    pub en: &'static str,
}

/// The advice for a printer reason, if the operator can act on it
/// (`printer::reasons` holds the words).
pub fn advice(reason: &str) -> Option<Advice> {
    let (id, en) = crate::printer::reasons::words(reason).advice?;
    Some(Advice {
        reason: reason.to_owned(),
        id,
        en,
    })
}

/// The printer as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterView {
    /// `idle`, `processing` or `stopped`.
    pub state: &'static str,
    /// `printer-state-reasons` keywords.
    pub reasons: Vec<String>,
    /// `up` or `lost`.
    pub link: &'static str,
    /// The printer's panel text.
    pub display: Option<String>,
    /// The job printing now.
    pub job_id: Option<String>,
    /// What to do, for each reason the operator can act on.
    pub advice: Vec<Advice>,
}

impl PrinterView {
    /// Before the printer has been reached.
    pub fn connecting() -> Self {
        Self::from_parts(
            "stopped",
            vec!["connecting-to-device-report".to_owned()],
            "lost",
            None,
        )
    }

    fn from_parts(
        state: &'static str,
        reasons: Vec<String>,
        link: &'static str,
        display: Option<String>,
    ) -> Self {
        let advice = reasons.iter().filter_map(|r| advice(r)).collect();
        Self {
            state,
            reasons,
            link,
            display,
            job_id: None,
            advice,
        }
    }

    /// Adds a reason (and its advice) the station itself concluded; an `-error` one means the
    /// printer cannot go on by itself: stopped.
    pub fn add_reason(&mut self, reason: &str) {
        if reason.ends_with("-error") {
            self.state = "stopped";
        }
        if !self.reasons.iter().any(|r| r == reason) {
            self.reasons.push(reason.to_owned());
            self.advice.extend(advice(reason));
        }
    }

    /// From the driver's status.
    pub fn from_status(s: &PrinterStatus) -> Self {
        let state = s.state.as_str();
        let link = match s.link {
            Link::Up => "up",
            Link::Lost => "lost",
        };
        Self::from_parts(state, s.reasons.clone(), link, s.display.clone())
    }
}

/// Something that changed, for live watchers (the event stream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum StationEvent {
    /// A job changed state.
    Job {
        /// The job.
        job_id: String,
        /// Its state now.
        state: crate::store::JobState,
        /// Why.
        reason: Option<String>,
    },
    /// The printer's status changed.
    Printer(PrinterView),
    /// The document reader's state, or its last read, changed.
    Reader(reading::ReaderView),
    /// The chip reader's state, or its last check, changed.
    Chip(chip::ChipView),
    /// Sheets delivered for the job printing now.
    Progress {
        /// The job.
        job_id: String,
        /// The attempt (printer job name).
        attempt_id: String,
        /// Sheets out so far.
        sheets: u32,
        /// Sheets in the job.
        of: u32,
    },
}

/// How the station runs.
#[derive(Debug, Clone)]
pub struct StationOptions {
    /// Validated settings (the daemon's section names the device and data folder).
    pub settings: Settings,
    /// Driver timeouts.
    pub driver: DriverSettings,
    /// Judge the issuance policy as on this date instead of today (demos, tests).
    pub today: Option<time::Date>,
}

/// A job as it arrives.
#[derive(Debug, Clone)]
pub enum Submission {
    /// A compact JWS whose payload is the job (`Content-Type: application/jose`).
    Signed(Vec<u8>),
    /// The job JSON alone (accepted only when `central.require_signed_jobs` is false).
    Unsigned(Vec<u8>),
}

/// Why a request to the station failed.
#[derive(Debug, thiserror::Error, pstation_coded::Coded)]
pub enum StationError {
    /// The job is not valid or not allowed by the station policy.
    #[error("{0}")]
    #[code("invalid-job")]
    Invalid(Problems),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Not signed, or not signed right, by the central office.
    #[error(transparent)]
    Signature(#[from] crate::central::jws::SignatureError),
    /// The blocking pool is gone (shutting down).
    #[error("shutting-down: the station is stopping")]
    ShuttingDown,
}

/// What a failure means for whoever answers it (the API's status, the NATS intake's choice
/// between refusing a message for good and trying it again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request itself is wrong: a job that does not validate, or is not signed right.
    Invalid,
    /// No such job.
    NotFound,
    /// The state does not allow it (the lifecycle, a booklet rule, another job under the id).
    Conflict,
    /// A second person must approve it.
    Forbidden,
    /// The job's personal data was purged.
    Gone,
    /// The store is full: new jobs are refused.
    Full,
    /// Not now (the data folder is read-only, the station is stopping): try again.
    Unavailable,
    /// The station itself failed.
    Internal,
}

impl Failure {
    /// Sending the same request again changes nothing: it is refused for good.
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            Self::Invalid | Self::NotFound | Self::Conflict | Self::Forbidden | Self::Gone
        )
    }
}

impl StationError {
    /// What the failure means (see `Failure`).
    pub fn failure(&self) -> Failure {
        match self {
            Self::Invalid(_) | Self::Signature(_) => Failure::Invalid,
            Self::ShuttingDown => Failure::Unavailable,
            Self::Store(e) => match e {
                StoreError::NotFound(_) => Failure::NotFound,
                StoreError::Conflict(_)
                | StoreError::Transition(_)
                | StoreError::StaleAttempt(_)
                | StoreError::Booklet(_) => Failure::Conflict,
                StoreError::SecondPerson(_) => Failure::Forbidden,
                StoreError::ReadRequired
                | StoreError::ChipRequired
                | StoreError::ReprintCentral => Failure::Conflict,
                StoreError::Full(_) => Failure::Full,
                StoreError::ReadOnly(_) => Failure::Unavailable,
                StoreError::Purged(_) => Failure::Gone,
                StoreError::Sqlite(_)
                | StoreError::TooNew { .. }
                | StoreError::Migration { .. }
                | StoreError::Backup(_)
                | StoreError::Key(_)
                | StoreError::WrongKey { .. }
                | StoreError::Unsealable(_)
                | StoreError::NoKey => Failure::Internal,
            },
        }
    }

    /// The words of the answer (an invalid job's count of problems; the station stopping).
    pub fn message(&self) -> String {
        match self {
            Self::Invalid(problems) => format!("{} problem(s) in the job", problems.0.len()),
            Self::ShuttingDown => "the station is stopping".to_owned(),
            other => other.to_string(),
        }
    }

    /// An invalid job's problems, each with its path, code and words.
    pub fn problems(&self) -> Option<serde_json::Value> {
        let Self::Invalid(problems) = self else {
            return None;
        };
        Some(
            problems
                .0
                .iter()
                .map(|p| serde_json::json!({"path": p.path, "code": p.code, "message": p.message}))
                .collect(),
        )
    }

    /// The error as the station answers it, over HTTP and on NATS alike:
    /// `{"code", "message", "problems"?}`.
    pub fn answer(&self) -> serde_json::Value {
        let mut answer = serde_json::json!({"code": self.code(), "message": self.message()});
        if let Some(problems) = self.problems() {
            answer["problems"] = problems;
        }
        answer
    }
}

/// One submission waiting for the group-commit writer.
struct SubmitRequest {
    job_id: String,
    payload: Vec<u8>,
    signature: Option<String>,
    booklet: String,
    actor: String,
    reply: tokio::sync::oneshot::Sender<Result<Submitted, StoreError>>,
}

/// The most submissions committed together.
const MAX_GROUP: usize = 256;

/// The group-commit writer: takes every submission waiting, stores them in one transaction (one
/// sync to disk), and answers each. Runs on its own thread until the station is dropped.
fn submit_writer(
    store: Arc<Mutex<Store>>,
    dir: PathBuf,
    rx: std::sync::mpsc::Receiver<SubmitRequest>,
) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let mut guard = store.lock().unwrap_or_else(|e| e.into_inner());
        let items: Vec<crate::store::NewJob<'_>> = group
            .iter()
            .map(|r| crate::store::NewJob {
                job_id: &r.job_id,
                payload: &r.payload,
                booklet: &r.booklet,
                actor: &r.actor,
                signature: r.signature.as_deref(),
            })
            .collect();
        match guard.submit_batch(&items) {
            Ok(results) => {
                drop(items);
                for (r, result) in group.into_iter().zip(results) {
                    let _ = r.reply.send(result.map_err(|e| classify(e, &dir)));
                }
            }
            Err(_) => {
                // The group failed as a whole (nothing stored): each one alone, so each gets
                // its own answer.
                drop(items);
                for r in group {
                    let item = crate::store::NewJob {
                        job_id: &r.job_id,
                        payload: &r.payload,
                        booklet: &r.booklet,
                        actor: &r.actor,
                        signature: r.signature.as_deref(),
                    };
                    let result = guard.submit_item(&item);
                    let _ = r.reply.send(result.map_err(|e| classify(e, &dir)));
                }
            }
        }
    }
}

fn disk_problem(dir: &std::path::Path, min_free_mb: u64) -> Option<StoreError> {
    let shown = dir.display();
    match crate::fsio::disk_state(dir) {
        Err(e) => Some(StoreError::ReadOnly(format!(
            "cannot read the state of the data folder {shown}: {e}"
        ))),
        Ok(d) if !d.writable => Some(StoreError::ReadOnly(format!("the data folder {shown}"))),
        Ok(d) if d.free_bytes < min_free_mb.saturating_mul(1024 * 1024) => {
            Some(StoreError::Full(format!(
                "the disk holding the data folder {shown} has {} MB free; new jobs are refused below daemon.min_free_mb = {min_free_mb} MB — free space there",
                d.free_bytes / (1024 * 1024)
            )))
        }
        Ok(_) => None,
    }
}

/// Names a store failure by its cause when the cause is the data folder's disk: SQLite reports
/// a file system turned read-only, or a write refused, as a plain I/O error. Runs only on
/// failures (it writes a probe file). Blocking.
fn classify(e: StoreError, dir: &std::path::Path) -> StoreError {
    if !matches!(e, StoreError::Sqlite(_)) {
        return e;
    }
    match crate::fsio::probe_write(dir) {
        Ok(()) => e,
        Err(io) => disk_io_problem(&io, dir),
    }
}

/// The store error for a failed write in the data folder `dir`: full, or read-only.
pub fn disk_io_problem(io: &std::io::Error, dir: &std::path::Path) -> StoreError {
    if io.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error()) {
        StoreError::Full(format!(
            "the disk holding the data folder {} is full ({io}) — free space there",
            dir.display()
        ))
    } else {
        StoreError::ReadOnly(format!("the data folder {}: {io}", dir.display()))
    }
}

/// Puts `view` in `tx` when it differs from what is there; whether it did (watchers wake only
/// for a change).
fn replace_if_changed<T: PartialEq + Clone>(tx: &watch::Sender<T>, view: &T) -> bool {
    tx.send_if_modified(|cur| {
        if cur == view {
            false
        } else {
            *cur = view.clone();
            true
        }
    })
}

/// The running station.
pub struct Station {
    store: Arc<Mutex<Store>>,
    submits: std::sync::mpsc::Sender<SubmitRequest>,
    events: broadcast::Sender<StationEvent>,
    printer: watch::Sender<PrinterView>,
    reader: watch::Sender<reading::ReaderView>,
    chip: Arc<chip::ChipGate>,
    wake: Notify,
    current: Mutex<Option<(String, CancellationToken)>>,
    /// The printer's identity, read when the link opened and on a technician's request; its
    /// page counter read again after each job (none until the link opened).
    identity: Mutex<Option<crate::printer::Identity>>,
    /// Settings and driver timeouts.
    pub options: StationOptions,
    /// Cancelled when the station stops: the engine finishes its job, event streams end.
    pub closing: CancellationToken,
    renderer: Arc<render::Renderer>,
    /// Prometheus metrics.
    pub metrics: metrics::Metrics,
    /// The console's logged-in users.
    pub sessions: session::Sessions,
    /// Technicians' requests to the printer, for the engine (which takes the receiver).
    tech: tokio::sync::mpsc::Sender<technician::Request>,
    tech_rx: Mutex<Option<tokio::sync::mpsc::Receiver<technician::Request>>>,
}

impl Station {
    /// The printer's identity as read when its link last opened.
    pub fn identity(&self) -> Option<crate::printer::Identity> {
        self.identity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_identity(&self, id: Option<crate::printer::Identity>) {
        *self.identity.lock().unwrap_or_else(|e| e.into_inner()) = id;
    }

    /// The page counter read after a job.
    pub(crate) fn set_page_count(&self, count: Option<u64>) {
        if let Some(id) = self
            .identity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            id.page_count = count;
        }
    }

    /// A station over an open store.
    pub fn new(mut store: Store, options: StationOptions, renderer: render::Renderer) -> Arc<Self> {
        let (events, _) = broadcast::channel(1024);
        // With a document reader, printed booklets wait for their read before handover.
        store.set_read_gate(options.settings.reader.device.is_some());
        // With a chip reader, every attempt needs a passing chip check of its booklet.
        store.set_chip_gate(options.settings.chip.reader.is_some());
        let chip = Arc::new(chip::ChipGate::new(&options.settings.chip));
        let reader = watch::channel(reading::ReaderView::initial(&options.settings.reader)).0;
        let store = Arc::new(Mutex::new(store));
        let (submits, rx) = std::sync::mpsc::channel();
        let writer_store = store.clone();
        let dir = options.settings.daemon.data_dir.clone();
        // If the thread cannot start, submissions answer "shutting down" (the channel is closed).
        let _ = std::thread::Builder::new()
            .name("pstation-submit".into())
            .spawn(move || submit_writer(writer_store, dir, rx));
        let sessions = session::Sessions::new(options.settings.api.session_idle);
        let (tech, tech_rx) = tokio::sync::mpsc::channel(1);
        Arc::new(Self {
            store,
            submits,
            events,
            printer: watch::channel(PrinterView::connecting()).0,
            reader,
            chip,
            wake: Notify::new(),
            current: Mutex::new(None),
            identity: Mutex::new(None),
            options,
            closing: CancellationToken::new(),
            renderer: Arc::new(renderer),
            metrics: metrics::Metrics::new(),
            sessions,
            tech,
            tech_rx: Mutex::new(Some(tech_rx)),
        })
    }

    /// A technician's request to the printer, run by the engine between jobs: the answer, or
    /// why not (another request waiting, the printer unreachable or not ready, the daemon
    /// stopping, no answer within `technician::WAIT`).
    pub async fn technician(
        &self,
        command: technician::Command,
        actor: &str,
    ) -> Result<technician::Answer, technician::TechError> {
        use technician::TechError;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tech
            .try_send(technician::Request {
                command,
                actor: actor.to_owned(),
                reply,
            })
            .map_err(|e| match e {
                tokio::sync::mpsc::error::TrySendError::Full(_) => TechError::Busy,
                tokio::sync::mpsc::error::TrySendError::Closed(_) => TechError::ShuttingDown,
            })?;
        self.wake.notify_one();
        match tokio::time::timeout(technician::WAIT, answer).await {
            Ok(Ok(a)) => a,
            Ok(Err(_)) => Err(TechError::ShuttingDown),
            Err(_) => Err(TechError::NotReady(
                "the printer did not get to it in time".to_owned(),
            )),
        }
    }

    /// The engine's end of the technicians' requests (taken once, by the engine).
    pub(crate) fn take_technician_requests(
        &self,
    ) -> Option<tokio::sync::mpsc::Receiver<technician::Request>> {
        self.tech_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Where pstation before schema 7 kept each job's rendered page (plain PDF); each is
    /// removed when its job is purged. Nothing is written there any more.
    pub fn legacy_rendered_dir(&self) -> PathBuf {
        self.options.settings.daemon.data_dir.join("rendered")
    }

    /// Why new jobs cannot be accepted now because of the data folder's disk, if they cannot:
    /// it is read-only, or its free space is below `daemon.min_free_mb` (kept so the jobs
    /// already accepted have room to print and be recorded). Blocking (two system calls).
    pub fn disk_problem(&self) -> Option<StoreError> {
        disk_problem(
            &self.options.settings.daemon.data_dir,
            self.options.settings.daemon.min_free_mb,
        )
    }

    /// `disk_problem`, and a write probe (a file created, synced and removed) for what the
    /// kernel does not report as read-only. For health checks, not for every request.
    pub fn disk_problem_probed(&self) -> Option<StoreError> {
        let dir = &self.options.settings.daemon.data_dir;
        self.disk_problem().or_else(|| {
            crate::fsio::probe_write(dir)
                .err()
                .map(|io| disk_io_problem(&io, dir))
        })
    }

    /// Runs `f` on the store, on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, StationError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        let dir = self.options.settings.daemon.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            let t0 = std::time::Instant::now();
            let mut guard = store.lock().unwrap_or_else(|e| e.into_inner());
            let waited = t0.elapsed();
            let result = f(&mut guard).map_err(|e| classify(e, &dir));
            let total = t0.elapsed();
            if total > std::time::Duration::from_millis(50) {
                tracing::debug!(
                    waited_ms = waited.as_secs_f64() * 1e3,
                    total_ms = total.as_secs_f64() * 1e3,
                    "slow store call"
                );
            }
            result
        })
        .await
        .map_err(|_| StationError::ShuttingDown)?
        .map_err(StationError::Store)
    }

    /// Live events.
    pub fn subscribe(&self) -> broadcast::Receiver<StationEvent> {
        self.events.subscribe()
    }

    /// The printer's status, live.
    pub fn printer(&self) -> watch::Receiver<PrinterView> {
        self.printer.subscribe()
    }

    fn publish_job(&self, row: &JobRow) {
        let _ = self.events.send(StationEvent::Job {
            job_id: row.job_id.clone(),
            state: row.state,
            reason: row.reason.clone(),
        });
        self.wake.notify_one();
    }

    fn publish_printer(&self, view: PrinterView) -> bool {
        let changed = replace_if_changed(&self.printer, &view);
        if changed {
            let _ = self.events.send(StationEvent::Printer(view));
        }
        changed
    }

    /// Validates `bytes` as a job (schema and station policy), then stores and queues it. The
    /// same job again returns the existing one; the same id with other content is refused.
    pub async fn submit(&self, body: Submission, actor: &str) -> Result<Submitted, StationError> {
        let renderer = self.renderer.clone();
        let central = self.options.settings.central.clone();
        let today = self.options.today;
        let (dir, min_free) = (
            self.options.settings.daemon.data_dir.clone(),
            self.options.settings.daemon.min_free_mb,
        );
        let checked = tokio::task::spawn_blocking(move || {
            let settings = renderer.settings();
            // The signature first: nothing of an unapproved job is even parsed.
            let (bytes, signature) = match body {
                Submission::Signed(compact) => {
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    let a = crate::central::jws::verify(&compact, &central.keys, now)?;
                    (a.job, Some(a.detached))
                }
                Submission::Unsigned(_) if central.require_signed_jobs => {
                    return Err(crate::central::jws::SignatureError::Required.into());
                }
                Submission::Unsigned(bytes) => (bytes, None),
            };
            let job = job::parse_job(
                &bytes,
                &ValidateOptions {
                    require_portrait: true,
                },
            )
            .map_err(StationError::Invalid)?;
            let today = today.unwrap_or_else(|| crate::today_at(settings.utc_offset));
            let problems = settings.policy.check(&job, today);
            if !problems.is_empty() {
                return Err(StationError::Invalid(Problems(problems)));
            }
            if let Some(problem) = disk_problem(&dir, min_free) {
                return Err(StationError::Store(problem));
            }
            Ok((
                job.job_id.clone(),
                job.document.number.clone(),
                bytes,
                signature,
            ))
        })
        .await
        .map_err(|_| StationError::ShuttingDown)?;
        let (job_id, number, bytes, signature) = checked?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let request = SubmitRequest {
            job_id,
            payload: bytes,
            signature,
            booklet: number,
            actor: actor.to_owned(),
            reply,
        };
        self.submits
            .send(request)
            .map_err(|_| StationError::ShuttingDown)?;
        let result = answer.await.map_err(|_| StationError::ShuttingDown)??;
        if let Submitted::Created(row) = &result {
            tracing::info!(job = %row.job_id, state = %row.state, "job accepted");
            self.publish_job(row);
        }
        Ok(result)
    }

    /// An operator action. Cancelling the job that is printing asks the engine to stop it.
    pub async fn act(
        &self,
        job_id: &str,
        action: Action,
        actor: &str,
        reason: Option<String>,
    ) -> Result<JobRow, StationError> {
        let (id, who) = (job_id.to_owned(), actor.to_owned());
        let row = self
            .db(move |s| s.act(&id, action, &who, reason.as_deref()))
            .await?;
        if action == Action::Cancel && row.cancel_requested {
            let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((id, token)) = current.as_ref()
                && id == job_id
            {
                token.cancel();
            }
        }
        tracing::info!(job = %row.job_id, action = action.as_str(), %actor, state = %row.state, "operator action");
        self.publish_job(&row);
        Ok(row)
    }

    /// The operator confirms the loaded booklet's number for a job.
    pub async fn confirm_booklet(
        &self,
        job_id: &str,
        number: String,
        actor: &str,
    ) -> Result<JobRow, StationError> {
        let (id, who) = (job_id.to_owned(), actor.to_owned());
        let row = self
            .db(move |s| s.confirm_booklet(&id, &number, &who))
            .await?;
        tracing::info!(job = %row.job_id, %actor, "booklet confirmed");
        self.publish_job(&row);
        Ok(row)
    }

    /// A spoiled job printed again on a new booklet, approved by a second person.
    pub async fn reprint(
        &self,
        job_id: &str,
        new_booklet: String,
        actor: &str,
        supervisor: String,
        reason: Option<String>,
    ) -> Result<JobRow, StationError> {
        let (id, who) = (job_id.to_owned(), actor.to_owned());
        let row = self
            .db(move |s| s.reprint(&id, &new_booklet, &who, &supervisor, reason.as_deref()))
            .await?;
        tracing::info!(job = %row.job_id, %actor, "reprint approved");
        self.publish_job(&row);
        Ok(row)
    }

    /// Booklets received.
    pub async fn receive_batch(
        &self,
        first: String,
        last: String,
        actor: &str,
    ) -> Result<crate::store::Batch, StationError> {
        let who = actor.to_owned();
        let batch = self
            .db(move |s| s.receive_batch(&first, &last, &who))
            .await?;
        tracing::info!(batch = batch.batch_id, count = batch.count, %actor, "booklets received");
        // Jobs waiting for these booklets may be queued now.
        let released = self
            .db(|s| s.jobs(Some(crate::store::JobState::Queued)))
            .await?;
        for row in &released {
            self.publish_job(row);
        }
        Ok(batch)
    }
}
