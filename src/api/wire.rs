//! The API's wire format: every request body and every answer as a serde type, shared by the
//! server (which builds its answers with them), the typed client (`src/client`) and the
//! tests. The store's rows are converted at this boundary; a change to one shows up here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::station::PrinterView;
use crate::store::{self, BookletState, JobState};

mod chip;
pub use chip::*;

/// `{"error": {...}}`: every refusal and failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error: its stable code, words for people, and an invalid job's problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable (see `openapi.json`'s list).
    pub code: String,
    /// For people.
    pub message: String,
    /// Each problem of an invalid job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<Problem>>,
}

/// One problem of an invalid job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// The JSON path of the value.
    #[serde(default)]
    pub path: String,
    /// Stable code.
    pub code: String,
    /// For people.
    pub message: String,
}

/// A job (no personal data: that stays sealed in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Job {
    /// The central office's id.
    pub job_id: String,
    /// Where it is.
    pub state: JobState,
    /// Why it is there, in words for the operator.
    pub reason: Option<String>,
    /// The booklet it prints on.
    pub booklet: String,
    /// The operator confirmed the loaded booklet's number.
    pub booklet_confirmed: bool,
    /// Attempts so far.
    pub attempt: u32,
    /// The current or last attempt's id.
    pub attempt_id: Option<String>,
    /// An operator asked to cancel while printing.
    pub cancel_requested: bool,
    /// When it was received (RFC 3339, UTC).
    pub received_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// When its personal data was purged.
    pub purged_at: Option<String>,
}

impl From<store::JobRow> for Job {
    fn from(r: store::JobRow) -> Self {
        Self {
            job_id: r.job_id,
            state: r.state,
            reason: r.reason,
            booklet: r.booklet,
            booklet_confirmed: r.booklet_confirmed,
            attempt: r.attempt,
            attempt_id: r.attempt_id,
            cancel_requested: r.cancel_requested,
            received_at: r.received_at,
            updated_at: r.updated_at,
            purged_at: r.purged_at,
        }
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// Position in the log.
    pub seq: i64,
    /// The job, when it is about one.
    pub job_id: Option<String>,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// The state before.
    pub from_state: Option<String>,
    /// The state after.
    pub to_state: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// The attempt concerned.
    pub attempt_id: Option<String>,
    /// A `submit` event's detached signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl From<store::Event> for Event {
    fn from(e: store::Event) -> Self {
        Self {
            seq: e.seq,
            job_id: e.job_id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            from_state: e.from_state,
            to_state: e.to_state,
            reason: e.reason,
            attempt_id: e.attempt_id,
            signature: e.signature,
        }
    }
}

/// One print attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attempt {
    /// `<job_id>-a<n>`.
    pub attempt_id: String,
    /// The job.
    pub job_id: String,
    /// When it started.
    pub started_at: String,
    /// When its outcome was recorded.
    pub ended_at: Option<String>,
    /// `printed`, `not-sent`, `failed`, `canceled` or `unknown`.
    pub outcome: Option<String>,
    /// Bytes the link accepted.
    pub bytes_sent: Option<u64>,
    /// Milliseconds the printer took to read the job.
    pub transfer_ms: Option<u64>,
}

impl From<store::Attempt> for Attempt {
    fn from(a: store::Attempt) -> Self {
        Self {
            attempt_id: a.attempt_id,
            job_id: a.job_id,
            started_at: a.started_at,
            ended_at: a.ended_at,
            outcome: a.outcome,
            bytes_sent: a.bytes_sent,
            transfer_ms: a.transfer_ms,
        }
    }
}

/// One booklet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Booklet {
    /// Its number.
    pub number: String,
    /// The batch it came in.
    pub batch_id: i64,
    /// Where it is.
    pub state: BookletState,
    /// The job it was used for.
    pub job_id: Option<String>,
    /// Why it was spoiled.
    pub reason: Option<String>,
    /// What the station last found on its chip: `unread`, `read-ok`, `mismatch`, `unreadable`.
    pub chip_state: store::ChipState,
}

impl From<store::Booklet> for Booklet {
    fn from(b: store::Booklet) -> Self {
        Self {
            number: b.number,
            batch_id: b.batch_id,
            state: b.state,
            job_id: b.job_id,
            reason: b.reason,
            chip_state: b.chip_state,
        }
    }
}

/// A batch of booklets received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Batch {
    /// Its id.
    pub batch_id: i64,
    /// First number.
    pub first: String,
    /// Last number.
    pub last: String,
    /// How many.
    pub count: u64,
    /// When.
    pub received_at: String,
    /// Who.
    pub actor: String,
}

impl From<store::Batch> for Batch {
    fn from(b: store::Batch) -> Self {
        Self {
            batch_id: b.batch_id,
            first: b.first,
            last: b.last,
            count: b.count,
            received_at: b.received_at,
            actor: b.actor,
        }
    }
}

/// The booklet reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reconciliation {
    /// Received in all batches.
    pub received: u64,
    /// Issued.
    pub issued: u64,
    /// Spoiled.
    pub spoiled: u64,
    /// In stock.
    pub in_stock: u64,
    /// Taken by an attempt not yet settled.
    pub loaded: u64,
    /// Booklets by chip state.
    pub chips: ChipCounts,
    /// What does not fit, in words.
    pub differences: Vec<String>,
}

impl From<store::Reconciliation> for Reconciliation {
    fn from(r: store::Reconciliation) -> Self {
        Self {
            received: r.received,
            issued: r.issued,
            spoiled: r.spoiled,
            in_stock: r.in_stock,
            loaded: r.loaded,
            chips: ChipCounts {
                unread: r.chips.unread,
                read_ok: r.chips.read_ok,
                mismatch: r.chips.mismatch,
                unreadable: r.chips.unreadable,
            },
            differences: r.differences,
        }
    }
}

/// The printer as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Printer {
    /// `idle`, `processing` or `stopped`.
    pub state: String,
    /// IPP-style reasons.
    pub reasons: Vec<String>,
    /// `up` or `lost`.
    pub link: String,
    /// The printer's panel text.
    pub display: Option<String>,
    /// The job printing now.
    pub job_id: Option<String>,
    /// What to do, for each reason the operator can act on.
    pub advice: Vec<Advice>,
}

/// What to do about a printer reason, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Advice {
    /// The reason it answers.
    pub reason: String,
    /// Bahasa Indonesia.
    pub id: String,
    /// English.
    pub en: String,
}

impl From<&PrinterView> for Printer {
    fn from(v: &PrinterView) -> Self {
        Self {
            state: v.state.to_owned(),
            reasons: v.reasons.clone(),
            link: v.link.to_owned(),
            display: v.display.clone(),
            job_id: v.job_id.clone(),
            advice: v
                .advice
                .iter()
                .map(|a| Advice {
                    reason: a.reason.to_owned(),
                    id: a.id.to_owned(),
                    en: a.en.to_owned(),
                })
                .collect(),
        }
    }
}

/// Who the printer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Identity {
    /// Its model.
    pub model: String,
    /// Pages printed in its life.
    pub page_count: Option<u64>,
    /// Its configuration lines.
    pub config: Vec<String>,
}

impl From<crate::printer::Identity> for Identity {
    fn from(i: crate::printer::Identity) -> Self {
        Self {
            model: i.model,
            page_count: i.page_count,
            config: i.config,
        }
    }
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// `ok`, or `degraded` when new jobs cannot be accepted.
    pub status: String,
    /// The daemon's version.
    pub version: String,
    /// The station's UTC offset (`+07:00`).
    pub utc_offset: String,
    /// The printer (without the job printing now).
    pub printer: Printer,
    /// The printer's model, once known.
    pub printer_model: Option<String>,
    /// The data folder's disk.
    pub data_dir: Option<DataDir>,
    /// Why it is degraded.
    pub problems: Vec<HealthProblem>,
}

/// The data folder's disk, in `Health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DataDir {
    /// The station can write it.
    pub writable: bool,
    /// Free space.
    pub free_mb: u64,
    /// The least free space new jobs need.
    pub min_free_mb: u64,
}

/// One reason the station is degraded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HealthProblem {
    /// Stable code.
    pub code: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// A job after a submission or an action (`existing`: the same job was already here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobAnswer {
    /// The job now.
    pub job: Job,
    /// A submission of a job already here (nothing changed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
}

/// `GET /api/jobs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobList {
    /// The jobs.
    pub jobs: Vec<Job>,
}

/// `GET /api/jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobDetail {
    /// The job.
    pub job: Job,
    /// Its events, oldest first.
    pub events: Vec<Event>,
    /// Its print attempts.
    pub attempts: Vec<Attempt>,
}

/// `GET /api/jobs/{id}/mrz`: the two lines the job prints with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Lines {
    /// The lines.
    pub lines: Vec<String>,
}

/// `POST /api/jobs/{id}/{action}`'s body (each action reads the fields it needs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// Why (spoil, hold, release, cancel, reprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The booklet number typed by the operator (confirm-booklet) or the new booklet (reprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booklet: Option<String>,
    /// The approving supervisor (reprint, on a lab station).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<String>,
}

/// `POST /api/booklets/batches`'s body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// The first number.
    pub first: String,
    /// The last number.
    pub last: String,
}

/// `POST /api/booklets/batches`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BatchAnswer {
    /// The batch received.
    pub batch: Batch,
}

/// `GET /api/booklets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BookletList {
    /// Every batch received.
    pub batches: Vec<Batch>,
    /// The booklets asked for.
    pub booklets: Vec<Booklet>,
}

/// `GET /api/booklets/reconcile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReconcileAnswer {
    /// The counts and the differences.
    pub reconciliation: Reconciliation,
    /// Every booklet accounted for.
    pub balanced: bool,
}

/// `GET /api/printer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrinterAnswer {
    /// The printer now.
    pub printer: Printer,
    /// Its family (`pjl-pcl`, `ipp`, `adapter`), from the device URI.
    pub family: String,
    /// The language of the family's raw command console (`PJL`); none when it has none (then
    /// `POST /api/printer/pjl` answers `no-console`).
    pub console: Option<String>,
    /// Who it is, once asked.
    pub identity: Option<Identity>,
    /// Its last statuses, newest first.
    pub history: Vec<PrinterRecord>,
    /// The calibration in force.
    pub calibration: Calibration,
    /// The document reader that checks each printed booklet.
    pub reader: Reader,
    /// The chip reader that checks each booklet's chip before it prints.
    pub chip: Chip,
}

/// The document reader as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reader {
    /// Whether a reader is configured (without one, handover is verified by hand).
    pub configured: bool,
    /// Its device and framing, e.g. `serial:/dev/ttyUSB1 (cute)`.
    pub device: Option<String>,
    /// `none`, `connecting`, `connected` or `down`.
    pub state: String,
    /// Why it is down (stable code: `reader-missing`, `reader-permission`, `reader-busy`,
    /// `reader-io`, `reader-closed`).
    pub code: Option<String>,
    /// What happened and what to try.
    pub message: Option<String>,
    /// The newest read.
    pub last: Option<LastRead>,
}

/// The newest read, for the reader panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LastRead {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// `match`, `mismatch`, `unreadable`, `other-booklet`, `unexpected` or `garbled`.
    pub result: String,
    /// The job it was matched to.
    pub job_id: Option<String>,
}

impl From<&crate::station::reading::ReaderView> for Reader {
    fn from(v: &crate::station::reading::ReaderView) -> Self {
        Self {
            configured: v.configured,
            device: v.device.clone(),
            state: v.state.clone(),
            code: v.code.clone(),
            message: v.message.clone(),
            last: v.last.as_ref().map(|l| LastRead {
                at: l.at.clone(),
                result: l.result.clone(),
                job_id: l.job_id.clone(),
            }),
        }
    }
}

/// One recorded printer status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PrinterRecord {
    /// When.
    pub at: String,
    /// Its state.
    pub state: String,
    /// Its reasons (comma-separated).
    pub reasons: String,
    /// `up` or `lost`.
    pub link: String,
}

/// The page offset in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Calibration {
    /// Across, mm.
    pub offset_x_mm: f32,
    /// Down, mm.
    pub offset_y_mm: f32,
}

/// `POST /api/printer/pjl`'s body: one read-only PJL command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PjlBody {
    /// The command (`INFO STATUS`, ...).
    pub command: String,
}

/// `POST /api/printer/test-page`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TestPageAnswer {
    /// `completed`.
    pub outcome: String,
    /// Pages the printer confirmed.
    pub pages: u32,
}

/// `POST /api/printer/identity`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IdentityAnswer {
    /// Who the printer is.
    pub identity: Identity,
}

/// `POST /api/session`'s body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The user's API token.
    pub token: String,
}

/// `GET /api/session`: who is logged in to the console, and the station's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Session {
    /// The user, when logged in.
    pub user: Option<SessionUser>,
    /// Seconds of inactivity that end a session.
    pub idle_timeout_s: u64,
    /// A lab station (no tokens).
    pub lab: bool,
    /// The station's UTC offset.
    pub utc_offset: String,
    /// Its zone name (WIB, WITA, WIT).
    pub zone: String,
}

/// A logged-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionUser {
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: String,
}

/// One notice of the live event stream (`GET /api/events`): its SSE event name is the `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Notice {
    /// A job changed state.
    Job {
        /// The job.
        job_id: String,
        /// Its state now.
        state: JobState,
        /// Why.
        reason: Option<String>,
    },
    /// The printer's status changed.
    Printer(Printer),
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
    /// The document reader's state, or its last read, changed.
    Reader(Reader),
    /// The chip reader's state, or its last check, changed.
    Chip(Chip),
}

impl From<&crate::station::StationEvent> for Notice {
    fn from(e: &crate::station::StationEvent) -> Self {
        use crate::station::StationEvent as E;
        match e {
            E::Job {
                job_id,
                state,
                reason,
            } => Self::Job {
                job_id: job_id.clone(),
                state: *state,
                reason: reason.clone(),
            },
            E::Printer(view) => Self::Printer(view.into()),
            E::Reader(view) => Self::Reader(view.into()),
            E::Chip(view) => Self::Chip(view.into()),
            E::Progress {
                job_id,
                attempt_id,
                sheets,
                of,
            } => Self::Progress {
                job_id: job_id.clone(),
                attempt_id: attempt_id.clone(),
                sheets: *sheets,
                of: *of,
            },
        }
    }
}

impl Notice {
    /// The SSE event name: `job`, `printer`, `progress`, `reader` or `chip`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Job { .. } => "job",
            Self::Printer(_) => "printer",
            Self::Progress { .. } => "progress",
            Self::Reader(_) => "reader",
            Self::Chip(_) => "chip",
        }
    }
}

/// `GET /api/jobs/{id}/reads`: what the document reader read of the job's booklet, beside what
/// was printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReadList {
    /// The two lines the job printed with.
    pub expected: Vec<String>,
    /// Its reads, newest first.
    pub reads: Vec<Read>,
}

/// One read of a booklet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Read {
    /// Its sequence number.
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// `match`, `mismatch`, `unreadable`, `other-booklet`, `unexpected` or `garbled`.
    pub result: String,
    /// The document number read (`?` where unread).
    pub number: Option<String>,
    /// The lines read, top to bottom (`?` where unread; none once purged).
    pub lines: Vec<String>,
    /// Where it differs from what was printed.
    pub differences: Vec<Position>,
    /// What was wrong, in words.
    pub detail: Option<String>,
}

/// A position in the MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Position {
    /// 1 or 2.
    pub line: u8,
    /// 1 to 44.
    pub position: usize,
}

impl From<store::ReadRow> for Read {
    fn from(r: store::ReadRow) -> Self {
        Self {
            seq: r.seq,
            at: r.at,
            result: r.result,
            number: r.number,
            lines: r.lines,
            differences: r
                .differences
                .into_iter()
                .map(|(line, position)| Position { line, position })
                .collect(),
            detail: r.detail,
        }
    }
}

/// `POST /api/reader/read`: the lines a keyboard-wedge reader typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// The MRZ lines, top to bottom (one to three).
    pub lines: Vec<String>,
}

/// `POST /api/reader/read`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReadAnswer {
    /// `match`, `mismatch`, `unreadable`, `other-booklet` or `unexpected`.
    pub result: String,
    /// The job it was matched to, as it is now.
    pub job: Option<Job>,
}
