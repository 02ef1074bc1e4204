//! The store's row types as it hands them out (jobs, events, booklets, batches, attempts, outbox
//! entries) and the event about to be appended.

use super::*;

/// A job as the store holds it (the payload is read separately: it carries personal data).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobRow {
    /// The central office's id.
    pub job_id: String,
    /// Where it is.
    pub state: JobState,
    /// Why it is there (held, failed, needs-verification), in words for the operator.
    pub reason: Option<String>,
    /// The booklet this job prints on (the passport number; a reprint's new booklet).
    pub booklet: String,
    /// The operator confirmed the loaded booklet's number.
    pub booklet_confirmed: bool,
    /// Attempts so far.
    pub attempt: u32,
    /// The current or last attempt's id (`<job_id>-a<n>`), the printer job name.
    pub attempt_id: Option<String>,
    /// An operator asked to cancel while printing.
    pub cancel_requested: bool,
    /// When it was received (RFC 3339, UTC).
    pub received_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// When its personal data (the submitted bytes) was purged, after it ended and its
    /// retention period passed (schema 7). The row and its events stay: the audit record.
    pub purged_at: Option<String>,
}

impl serde::Serialize for JobState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl schemars::JsonSchema for JobState {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "JobState".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": JobState::ALL.map(JobState::as_str),
        })
    }
}

impl<'de> serde::Deserialize<'de> for JobState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        JobState::parse(&word)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown job state {word:?}")))
    }
}

/// One entry of the append-only event log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// Position in the log (strictly increasing).
    pub seq: i64,
    /// The job, when the event is about one.
    pub job_id: Option<String>,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who: an operator's name, `engine`, `station`, `central`.
    pub actor: String,
    /// What (`Action::as_str`, or `booklets-received`, ...).
    pub action: String,
    /// The state before, for job events.
    pub from_state: Option<String>,
    /// The state after, for job events.
    pub to_state: Option<String>,
    /// Why, in words.
    pub reason: Option<String>,
    /// The attempt concerned.
    pub attempt_id: Option<String>,
    /// On a `submit` event: the central office's signature over the job bytes (a JWS with its
    /// payload detached; it re-verifies against the stored payload). Schema 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A job to store (see `Store::submit_batch`).
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    /// The central office's id.
    pub job_id: &'a str,
    /// The exact submitted bytes.
    pub payload: &'a [u8],
    /// Its booklet (passport number).
    pub booklet: &'a str,
    /// Who submitted it.
    pub actor: &'a str,
    /// The central office's signature over `payload` (a detached JWS), when it was signed.
    pub signature: Option<&'a str>,
}

/// What `submit` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// A new job.
    Created(JobRow),
    /// The same job (same id, same bytes) was already here: nothing changed.
    Existing(JobRow),
}

/// One booklet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
    /// What the station last found on its chip.
    pub chip_state: super::ChipState,
}

/// A batch of booklets received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

/// The booklet reconciliation: received = issued + spoiled + in stock, and what does not fit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reconciliation {
    /// Booklets received in all batches.
    pub received: u64,
    /// Issued.
    pub issued: u64,
    /// Spoiled.
    pub spoiled: u64,
    /// In stock.
    pub in_stock: u64,
    /// Taken by an attempt not yet settled (each is listed in `differences`).
    pub loaded: u64,
    /// Booklets by what the station last found on their chips.
    pub chips: super::ChipCounts,
    /// Every booklet or job that does not fit, in words.
    pub differences: Vec<String>,
}

impl Reconciliation {
    /// Received = issued + spoiled + in stock, with no differences.
    pub fn balanced(&self) -> bool {
        self.differences.is_empty()
            && self.received == self.issued + self.spoiled + self.in_stock
            && self.loaded == 0
    }
}

/// How an engine attempt ended, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptEnd {
    /// The printer confirmed the page.
    Printed,
    /// Nothing was sent; back to the queue.
    NotSent(String),
    /// Nothing was sent and it cannot go on by itself.
    Failed(String),
    /// Cancelled and nothing came out.
    Canceled,
    /// The outcome is unknown.
    Unknown(String),
}

/// What the driver measured while sending an attempt's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// Bytes the link accepted.
    pub bytes: u64,
    /// From the first byte sent until the printer said it had read the whole job (its echo of
    /// the token after the job's last byte); `None` when it never said so (cancelled, link
    /// lost, a fault mid-job).
    pub duration: Option<std::time::Duration>,
}

/// A job status change waiting for (or given to) the central office (`outbox` table).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxEntry {
    /// Unique and increasing per station: the central office's de-duplication key.
    pub event_id: i64,
    /// The job.
    pub job_id: String,
    /// Its new state.
    pub state: String,
    /// The job's booklet (passport) number.
    pub booklet: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Why, when the change has a stated reason (a hold, a spoil, a reprint request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One print attempt (`attempts` table).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attempt {
    /// `<job_id>-a<n>`.
    pub attempt_id: String,
    /// The job.
    pub job_id: String,
    /// Committed as `printing` (RFC 3339).
    pub started_at: String,
    /// When its outcome was recorded; none while printing.
    pub ended_at: Option<String>,
    /// `printed`, `not-sent`, `failed`, `canceled` or `unknown`.
    pub outcome: Option<String>,
    /// Bytes the link accepted (none before schema 2 or when not measured).
    pub bytes_sent: Option<u64>,
    /// Milliseconds from the first byte sent until the printer had read the whole job (none
    /// when it never said so, or before schema 2).
    pub transfer_ms: Option<u64>,
}

/// An event about to be appended.
pub(super) struct NewEvent<'a> {
    pub(super) job_id: Option<&'a str>,
    pub(super) signature: Option<&'a str>,
    pub(super) actor: &'a str,
    pub(super) action: &'a str,
    pub(super) from: Option<JobState>,
    pub(super) to: Option<JobState>,
    pub(super) reason: Option<&'a str>,
    pub(super) attempt_id: Option<&'a str>,
}
