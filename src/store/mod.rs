//! The durable store: one SQLite file (WAL, `synchronous=FULL`) holding jobs, the append-only
//! event log, booklet stock and the printer status history. Every state change is one
//! transaction that applies the lifecycle's decision (`lifecycle::plan` for the operator's
//! actions, `lifecycle::next` for the engine's steps), updates the row and appends the event,
//! so the event log and the rows never disagree.
//!
//! Design: a plain synchronous `Store` owning one `rusqlite::Connection`; the daemon keeps it
//! behind a mutex and calls it from `spawn_blocking`, never on the async runtime. The schema,
//! its invariants and the recovery rules are documented in ARCHITECTURE.md ("The store").
//!
//! One `Store`, its methods by concern: `schema` (open, migrations, key adoption), `rows` (the
//! row types), `events` (the append-only log and its hash chain, the lifecycle step), `jobs`,
//! `attempts`, `booklets`, `outbox`, `reads` (the reader's gate), `privacy` (access records, retention purge), `history`
//! (printer status); `crypt` (the store key, sealing), `backup`, `audit` (the chain's check)
//! and `lifecycle` (the pure rules).

mod attempts;
pub mod audit;
pub mod backup;
mod booklets;
mod checkpoint;
mod chips;
pub mod crypt;
mod events;
mod history;
mod jobs;
pub mod lifecycle;
mod outbox;
mod privacy;
mod reads;
mod rows;
mod schema;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

pub use checkpoint::Checkpointer;
pub use chips::{ChipCheckRow, ChipCounts, ChipState, ChipStep, NewChipCheck};
pub use crypt::{KeyError, StoreKey};
pub use lifecycle::{Action, BookletState, InvalidTransition, JobState, Plan, Refusal};
pub use reads::{NewRead, READ_RESULTS, ReadRow};
pub use rows::*;
pub use schema::SCHEMA_VERSION;

/// Statements through the connection's prepared-statement cache: the store runs the same few
/// statements over and over (a submission is nine), and parsing SQL each time was a tenth of the
/// submit path's CPU.
trait Cached {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// The most booklets one batch may hold.
pub const MAX_BATCH: u64 = 10_000;

/// Why a store operation failed. Each has a stable code (`StoreError::code`).
#[derive(Debug, thiserror::Error, pstation_coded::Coded)]
pub enum StoreError {
    /// SQLite failed.
    #[error("store: {0} — check the data folder's disk space and permissions")]
    Sqlite(rusqlite::Error),
    /// The store reached its size limit or the disk is full: new jobs are refused. The message
    /// says which, and what to do.
    #[error("store-full: {0}; jobs already accepted are kept")]
    Full(String),
    /// The data folder cannot be written (mounted read-only, or its permissions).
    #[error(
        "store-read-only: {0} — the data folder cannot be written (mounted read-only, or its permissions); make it writable and the station resumes; jobs already accepted are kept"
    )]
    ReadOnly(String),
    /// The file was written by a newer pstation.
    #[error(
        "store-too-new: the store has schema {found}; this pstation knows up to {SCHEMA_VERSION} — upgrade pstation"
    )]
    TooNew {
        /// The file's schema version.
        found: i64,
    },
    /// The schema could not be brought up to date; the store is unchanged.
    #[error(
        "store-migration: the store (schema {from}) could not be upgraded: {why} — nothing was changed; keep the data folder as it is, free disk space if it is full, and report this with `pstation support-bundle`"
    )]
    Migration {
        /// The schema the store has.
        from: i64,
        /// What failed.
        why: String,
    },
    /// No such job.
    #[error("not-found: no job {0:?}")]
    NotFound(String),
    /// The same job id was submitted with different content.
    #[error("conflict: job {0:?} was already submitted with different content")]
    Conflict(String),
    /// The lifecycle does not allow it.
    #[error(transparent)]
    #[code("invalid-transition")]
    Transition(#[from] InvalidTransition),
    /// A booklet rule was broken.
    #[error(transparent)]
    Booklet(#[from] BookletError),
    /// A reprint, or a verify by hand of a booklet the reader gates, without a second
    /// authorised person.
    #[error("second-person-required: this needs a supervisor other than {0:?}")]
    SecondPerson(String),
    /// A verify of a booklet the reader gates, without a read.
    #[error(
        "read-required: a document reader checks this booklet: lay it on the reader; if the reader is faulty, verify by hand with a supervisor and a reason"
    )]
    ReadRequired,
    /// An e-passport attempt without a passing chip check of its booklet.
    #[error(
        "chip-check-required: this station checks each booklet's chip before printing; lay the booklet on the chip reader and confirm it again"
    )]
    ChipRequired,
    /// A local reprint of an e-passport: the new booklet's chip holds another number.
    #[error(
        "reprint-central: an e-passport is reprinted only by the central office (the new booklet's chip holds its own number); request a reprint instead"
    )]
    ReprintCentral,
    /// A backup could not be taken, checked or restored.
    #[error("backup: {0}")]
    Backup(String),
    /// The engine's attempt is not the job's current one.
    #[error("stale-attempt: job {0:?} has another attempt in progress")]
    StaleAttempt(String),
    /// The store key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key file is not the key this store's personal data is sealed with.
    #[error(
        "store-key-wrong: the store's personal data is sealed with key {store}, the key file holds key {file} — put back this station's own key file (from its key backup); nothing was changed"
    )]
    WrongKey {
        /// The id of the key the store was sealed with.
        store: String,
        /// The id of the key in the file.
        file: String,
    },
    /// A job's sealed payload does not open with the store key.
    #[error(
        "store-unsealable: job {0:?}'s personal data does not open with the store key: the store file is damaged — restore it from a backup (`pstation restore`)"
    )]
    Unsealable(String),
    /// The job's personal data was purged after its retention period.
    #[error("purged: job {0:?}'s personal data was purged after its retention period")]
    Purged(String),
    /// The store was opened without its key (read-only tools): personal data cannot be read.
    #[error(
        "store-key-needed: this store was opened without its key; personal data cannot be read"
    )]
    NoKey,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            Self::Full(format!(
                "the disk or the store is full ({e}) — free disk space in the data folder or raise daemon.max_store_mb"
            ))
        } else if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) {
            Self::ReadOnly(e.to_string())
        } else {
            Self::Sqlite(e)
        }
    }
}

impl StoreError {}

/// A booklet rule was broken: the request is refused, nothing was changed (except the audit
/// record of a mismatch).
#[derive(Debug, thiserror::Error, pstation_coded::Coded)]
pub enum BookletError {
    /// Spoiling, or releasing a held job, needs a reason.
    #[error("reason-required: {0}")]
    ReasonRequired(&'static str),
    /// The booklet is not in stock (not received, used, spoiled or voided).
    #[error("booklet-not-in-stock: {0}")]
    NotInStock(String),
    /// The booklet number typed by the operator is not the job's.
    #[error(
        "booklet-mismatch: the booklet number does not match job {0:?} — load the job's booklet and type its number again"
    )]
    Mismatch(String),
    /// A batch's first and last numbers do not form a range.
    #[error("invalid-range: {0} — booklet numbers are a letter prefix and digits, e.g. X1000000")]
    InvalidRange(&'static str),
    /// A batch larger than `MAX_BATCH`.
    #[error("batch-too-large: {0} booklets in one batch; at most {MAX_BATCH}")]
    BatchTooLarge(u64),
    /// A booklet of the batch was received before.
    #[error(
        "booklet-already-received: booklet {0} was received before; nothing of this batch was stored"
    )]
    AlreadyReceived(String),
}

/// The store.
pub struct Store {
    conn: Connection,
    /// New jobs are refused at this many pages (90 % of the size limit), so the jobs already
    /// accepted always have room to be printed and recorded.
    submit_limit_pages: Option<i64>,
    /// The key the payloads are sealed with (`None` for read-only tools: no personal data).
    key: Option<StoreKey>,
    /// A document reader gates handover (`reads`): printed jobs wait for a read.
    read_gate: bool,
    /// A chip reader gates printing (`chip_checks`): an attempt needs a passing chip check.
    chip_gate: bool,
}

/// Now, as the store writes times (RFC 3339, UTC).
pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        // Formatting the current UTC time as RFC 3339 cannot fail for years 0-9999.
        .unwrap_or_default()
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash of one event in the chain: SHA-256 (hex) of the JSON array of the previous hash
/// (`""` for the first), the event's `seq`, and its fields in column order (job_id, at, actor,
/// action, from_state, to_state, reason, attempt_id, signature).
pub(crate) fn event_hash(prev: &str, seq: i64, fields: &[Option<&str>; 9]) -> String {
    let mut all = vec![serde_json::json!(prev), serde_json::json!(seq)];
    all.extend(fields.iter().map(|f| serde_json::json!(f)));
    sha256_hex(serde_json::Value::Array(all).to_string().as_bytes())
}

/// The reason a job waits for its booklet.
pub const BOOKLET_NOT_IN_STOCK: &str =
    "booklet-not-in-stock: the job's booklet is not in stock; receive the batch that holds it";
