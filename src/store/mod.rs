//! The durable store: one SQLite file (WAL, `synchronous=FULL`) holding jobs, the append-only
//! event log, booklet stock and the printer status history. Every state change is one
//! transaction that checks the lifecycle (`lifecycle::next`), updates the row and appends the
//! event, so the event log and the rows never disagree.
//!
//! Design: a plain synchronous `Store` owning one `rusqlite::Connection`; the daemon keeps it
//! behind a mutex and calls it from `spawn_blocking`, never on the async runtime. The schema,
//! its invariants and the recovery rules are documented in ARCHITECTURE.md ("The store").

pub mod audit;
pub mod backup;
pub mod crypt;
pub mod lifecycle;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

pub use crypt::{KeyError, StoreKey};
pub use lifecycle::{Action, InvalidTransition, JobState};

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

/// The schema version this build writes (`PRAGMA user_version`): the number of `MIGRATIONS`.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Every schema change this project shipped, in order: migration `i` (0-based) takes a store from
/// schema `i` to `i + 1`. Never edit a shipped entry — append a new one (and freeze a fixture
/// store of the schema it replaces under `fixtures/store/`, see the fixtures README).
const MIGRATIONS: [&str; 7] = [
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7,
];

/// The most booklets one batch may hold.
pub const MAX_BATCH: u64 = 10_000;

/// Why a store operation failed. Each has a stable code (`StoreError::code`).
#[derive(Debug, thiserror::Error)]
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
    Transition(#[from] InvalidTransition),
    /// A booklet rule was broken.
    #[error("{code}: {message}")]
    Booklet {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A reprint without a second authorised person.
    #[error("second-person-required: a reprint needs a supervisor other than {0:?}")]
    SecondPerson(String),
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

impl StoreError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "store",
            Self::Full(_) => "store-full",
            Self::ReadOnly(_) => "store-read-only",
            Self::TooNew { .. } => "store-too-new",
            Self::Migration { .. } => "store-migration",
            Self::NotFound(_) => "not-found",
            Self::Conflict(_) => "conflict",
            Self::Transition(_) => "invalid-transition",
            Self::Booklet { code, .. } => code,
            Self::SecondPerson(_) => "second-person-required",
            Self::StaleAttempt(_) => "stale-attempt",
            Self::Backup(_) => "backup",
            Self::Key(e) => e.code(),
            Self::WrongKey { .. } => "store-key-wrong",
            Self::Unsealable(_) => "store-unsealable",
            Self::Purged(_) => "purged",
            Self::NoKey => "store-key-needed",
        }
    }

    fn booklet(code: &'static str, message: impl Into<String>) -> Self {
        Self::Booklet {
            code,
            message: message.into(),
        }
    }
}

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

/// A booklet's place in the accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BookletState {
    /// Blank, in the station's stock.
    InStock,
    /// Taken by a print attempt whose outcome is not settled yet (printing or in doubt).
    Loaded,
    /// Personalised and good.
    Issued,
    /// Ruined (with a reason).
    Spoiled,
}

impl BookletState {
    /// Every state.
    pub const ALL: [BookletState; 4] = [Self::InStock, Self::Loaded, Self::Issued, Self::Spoiled];

    /// The stable word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InStock => "in-stock",
            Self::Loaded => "loaded",
            Self::Issued => "issued",
            Self::Spoiled => "spoiled",
        }
    }

    /// Parses the stable word.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::InStock, Self::Loaded, Self::Issued, Self::Spoiled]
            .into_iter()
            .find(|b| b.as_str() == s)
    }
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
struct NewEvent<'a> {
    job_id: Option<&'a str>,
    signature: Option<&'a str>,
    actor: &'a str,
    action: &'a str,
    from: Option<JobState>,
    to: Option<JobState>,
    reason: Option<&'a str>,
    attempt_id: Option<&'a str>,
}

/// The store.
pub struct Store {
    conn: Connection,
    /// New jobs are refused at this many pages (90 % of the size limit), so the jobs already
    /// accepted always have room to be printed and recorded.
    submit_limit_pages: Option<i64>,
    /// The key the payloads are sealed with (`None` for read-only tools: no personal data).
    key: Option<StoreKey>,
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

const SCHEMA_V1: &str = r#"
CREATE TABLE jobs (
    job_id            TEXT PRIMARY KEY,
    state             TEXT NOT NULL,
    reason            TEXT,
    payload           BLOB NOT NULL,
    payload_sha256    TEXT NOT NULL,
    booklet           TEXT NOT NULL,
    booklet_confirmed INTEGER NOT NULL DEFAULT 0,
    attempt           INTEGER NOT NULL DEFAULT 0,
    attempt_id        TEXT,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    received_at       TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX jobs_state ON jobs(state);
CREATE INDEX jobs_booklet ON jobs(booklet);
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    reason     TEXT,
    attempt_id TEXT
);
CREATE INDEX events_job ON events(job_id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TABLE booklet_batches (
    batch_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    first       TEXT NOT NULL,
    last        TEXT NOT NULL,
    count       INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    actor       TEXT NOT NULL
);
CREATE TABLE booklets (
    number     TEXT PRIMARY KEY,
    batch_id   INTEGER NOT NULL REFERENCES booklet_batches(batch_id),
    state      TEXT NOT NULL CHECK (state IN ('in-stock', 'loaded', 'issued', 'spoiled')),
    job_id     TEXT,
    reason     TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE printer_status (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    state   TEXT NOT NULL,
    reasons TEXT NOT NULL,
    link    TEXT NOT NULL
);
"#;

/// Schema 2: one row per print attempt — when it started and ended, its outcome and the bytes
/// sent and the transfer time the driver measured — for technicians and the support bundle.
/// Attempts before schema 2 are filled in from the event log (without transfer figures).
const SCHEMA_V2: &str = r#"
CREATE TABLE attempts (
    attempt_id  TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    outcome     TEXT CHECK (outcome IN ('printed', 'not-sent', 'failed', 'canceled', 'unknown')),
    bytes_sent  INTEGER,
    transfer_ms INTEGER
);
CREATE INDEX attempts_job ON attempts(job_id);
INSERT INTO attempts (attempt_id, job_id, started_at)
    SELECT attempt_id, job_id, at FROM events
    WHERE action = 'start-printing' AND attempt_id IS NOT NULL
    ORDER BY seq;
UPDATE attempts SET (ended_at, outcome) = (
    SELECT e.at, CASE e.action
        WHEN 'print-confirmed' THEN 'printed'
        WHEN 'not-sent' THEN 'not-sent'
        WHEN 'fail' THEN 'failed'
        WHEN 'canceled-while-printing' THEN 'canceled'
        WHEN 'outcome-unknown' THEN 'unknown' END
    FROM events e
    WHERE e.attempt_id = attempts.attempt_id
      AND e.action IN ('print-confirmed', 'not-sent', 'fail', 'canceled-while-printing', 'outcome-unknown')
    ORDER BY e.seq LIMIT 1
);
"#;

/// Schema 3: the central office's signature of each submitted job, kept in its `submit` event.
const SCHEMA_V3: &str = "ALTER TABLE events ADD COLUMN signature TEXT;";

/// Schema 4: the outbox of job status changes for the central office. Every job event that
/// changes a state adds a row in the same transaction; the delivery task sends them in order and
/// marks them delivered. Older stores start with an empty outbox (their history was never
/// promised to anyone).
const SCHEMA_V4: &str = r#"
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       TEXT NOT NULL,
    state        TEXT NOT NULL,
    booklet      TEXT NOT NULL,
    at           TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX outbox_pending ON outbox(seq) WHERE delivered_at IS NULL;
"#;

/// Schema 5: the event log is hash-chained. Each new event stores the SHA-256 of the previous
/// event's hash and its own fields (`event_hash`); `audit::verify` recomputes the chain, so an
/// edited, inserted or removed event is found even with the triggers dropped. Events written
/// before schema 5 have no hash; the chain starts at the first event after the migration.
const SCHEMA_V5: &str = "ALTER TABLE events ADD COLUMN hash TEXT;";

/// Schema 6: the outbox has one cursor per destination (`webhook`, `nats`) instead of one
/// `delivered_at` mark, so status reaches each destination configured, each at its own pace.
/// The webhook's cursor starts where schema 4's marks ended.
const SCHEMA_V6: &str = r#"
CREATE TABLE outbox_sinks (
    sink      TEXT PRIMARY KEY,
    delivered INTEGER NOT NULL
);
INSERT INTO outbox_sinks (sink, delivered)
    SELECT 'webhook', COALESCE(MAX(seq), 0) FROM outbox WHERE delivered_at IS NOT NULL;
DROP INDEX outbox_pending;
ALTER TABLE outbox DROP COLUMN delivered_at;
"#;

/// Schema 7: personal data at rest. Payloads are sealed with the store key (`crypt`; stores
/// from before are sealed by `Store::open` in the same start, as Rust code, not SQL); the key's
/// id is recorded so a wrong key file is refused by name; a job's payload is emptied when its
/// retention ends (`purged_at`), its row and events staying as the audit record.
const SCHEMA_V7: &str = r#"
ALTER TABLE jobs ADD COLUMN purged_at TEXT;
CREATE TABLE store_key (
    one    INTEGER PRIMARY KEY CHECK (one = 1),
    key_id TEXT NOT NULL,
    since  TEXT NOT NULL
);
"#;

/// The hash of one event in the chain: SHA-256 (hex) of the JSON array of the previous hash
/// (`""` for the first), the event's `seq`, and its fields in column order (job_id, at, actor,
/// action, from_state, to_state, reason, attempt_id, signature).
pub(crate) fn event_hash(prev: &str, seq: i64, fields: &[Option<&str>; 9]) -> String {
    let mut all = vec![serde_json::json!(prev), serde_json::json!(seq)];
    all.extend(fields.iter().map(|f| serde_json::json!(f)));
    sha256_hex(serde_json::Value::Array(all).to_string().as_bytes())
}

/// Splits a booklet number into its letter prefix and its digits (`X1234567` → `X`, 1234567,
/// 7 digits).
fn split_number(n: &str) -> Option<(&str, u64, usize)> {
    let digits_at = n.find(|c: char| c.is_ascii_digit())?;
    let (prefix, digits) = n.split_at(digits_at);
    if prefix.is_empty()
        || !prefix.chars().all(|c| c.is_ascii_uppercase())
        || digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || n.len() > 9
    {
        return None;
    }
    Some((prefix, digits.parse().ok()?, digits.len()))
}

impl Store {
    /// Opens (creating if needed) the store at `path`, in WAL mode with full sync, and brings
    /// its schema up to date.
    /// Personal data is sealed with `key`: the first key a store is opened with is its key
    /// (payloads written before schema 7 are sealed then, in one transaction); any other key is
    /// refused (`store-key-wrong`) before anything is read or written.
    pub fn open(path: &Path, key: &StoreKey) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(64);
        // Freed pages (a purged or re-sealed payload) are overwritten, not left in the file.
        conn.pragma_update(None, "secure_delete", "ON")?;
        let mut store = Self {
            conn,
            submit_limit_pages: None,
            key: None,
        };
        store.migrate(path)?;
        store.adopt_key(key)?;
        Ok(store)
    }

    /// Opens an existing store for reading only (support bundle, reports): no migration, no
    /// write; a store from a newer pstation is refused. Works beside a running daemon (WAL).
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew { found: version });
        }
        Ok(Self {
            conn,
            submit_limit_pages: None,
            key: None,
        })
    }

    /// Checks `key` against the one recorded in the store, or records it (a new store, or one
    /// from before schema 7, whose plain payloads are sealed now in the same transaction).
    fn adopt_key(&mut self, key: &StoreKey) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let recorded: Option<String> = tx
            .query_row("SELECT key_id FROM store_key", [], |r| r.get(0))
            .optional()?;
        let mut sealed = 0usize;
        match recorded {
            Some(id) if id == key.id() => {}
            Some(id) => {
                return Err(StoreError::WrongKey {
                    store: id,
                    file: key.id().to_owned(),
                });
            }
            None => {
                let plain: Vec<(String, Vec<u8>)> = {
                    let mut stmt = tx.prepare(
                        "SELECT job_id, payload FROM jobs WHERE purged_at IS NULL AND substr(payload, 1, 4) <> X'50534531'",
                    )?;
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<Result<_, _>>()?
                };
                for (job_id, payload) in &plain {
                    tx.execute(
                        "UPDATE jobs SET payload = ?2 WHERE job_id = ?1",
                        params![job_id, key.seal(job_id, payload)?],
                    )?;
                }
                tx.execute(
                    "INSERT INTO store_key (one, key_id, since) VALUES (1, ?1, ?2)",
                    params![key.id(), now()],
                )?;
                sealed = plain.len();
            }
        }
        tx.commit()?;
        if sealed > 0 {
            // Pages freed by older pstation (without secure_delete) may still hold plain
            // payloads: the file is rebuilt, and the write-ahead log emptied.
            self.conn.execute_batch("VACUUM")?;
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            tracing::info!(
                jobs = sealed,
                key_id = key.id(),
                "sealed the personal data of a store from before encryption at rest"
            );
        }
        self.key = Some(key.clone());
        Ok(())
    }

    /// The id of the key the store's personal data is sealed with (`None` before schema 7 or
    /// before a key was first used).
    pub fn key_id(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT key_id FROM store_key", [], |r| r.get(0))
            .optional()?)
    }

    /// Caps the store at `max_bytes`: SQLite refuses to grow past it, and new jobs are refused
    /// from 90 % of it (`store-full`), keeping room for the accepted jobs' state changes.
    pub fn set_size_limit(&mut self, max_bytes: u64) -> Result<(), StoreError> {
        let page: i64 = self
            .conn
            .pragma_query_value(None, "page_size", |r| r.get(0))?;
        let pages = (max_bytes / page.max(512) as u64).max(16) as i64;
        self.conn.pragma_update(None, "max_page_count", pages)?;
        self.submit_limit_pages = Some(pages * 9 / 10);
        Ok(())
    }

    /// Brings the schema up to `SCHEMA_VERSION`. An existing store is first copied to
    /// `<store>.schema-<old>-<unix time>` (never deleted here), then every missing step runs in
    /// one transaction.
    fn migrate(&mut self, path: &Path) -> Result<(), StoreError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew { found: version });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        if version >= 1 {
            // An upgrade: keep the store as it was before touching it.
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let copy = format!("{}.schema-{version}-{stamp}", path.display());
            self.conn
                .execute("VACUUM INTO ?1", [&copy])
                .map_err(|e| StoreError::Migration {
                    from: version,
                    why: format!("cannot keep a copy as {copy}: {e}"),
                })?;
            tracing::info!(from = version, to = SCHEMA_VERSION, %copy, "migrating the store");
        }
        // All steps in one transaction: the store is either migrated or untouched.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(|e| StoreError::Migration {
                from: version,
                why: format!("step {} to {}: {e}", i, i + 1),
            })?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    /// The schema version of the store file at `path`, without opening it for writing (0 for a
    /// file with no pstation schema).
    pub fn schema_of(path: &Path) -> Result<i64, StoreError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// `journal_mode` and `synchronous` as SQLite reports them (for diagnostics and tests).
    pub fn durability(&self) -> Result<(String, i64), StoreError> {
        let mode: String = self
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        let sync: i64 = self
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))?;
        Ok((mode, sync))
    }

    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
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

    const JOB_COLUMNS: &'static str = "job_id, state, reason, booklet, booklet_confirmed, attempt, attempt_id, cancel_requested, received_at, updated_at, purged_at";

    /// One job.
    pub fn job(&self, job_id: &str) -> Result<JobRow, StoreError> {
        Self::job_in(&self.conn, job_id)
    }

    fn job_in(conn: &Connection, job_id: &str) -> Result<JobRow, StoreError> {
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
                "SELECT {} FROM jobs WHERE purged_at IS NULL AND state IN ('completed', 'canceled') AND updated_at < ?1 ORDER BY updated_at",
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
        tx.commit()?;
        Ok(due.into_iter().map(|j| j.job_id).collect())
    }

    /// When the next job's retention starts counting down to a purge: the oldest `updated_at`
    /// of the ended jobs not purged yet.
    pub fn oldest_unpurged_end(&self) -> Result<Option<String>, StoreError> {
        Ok(self.conn.row(
            "SELECT MIN(updated_at) FROM jobs WHERE purged_at IS NULL AND state IN ('completed', 'canceled')",
            [],
            |r| r.get(0),
        )?)
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

    fn append_event(tx: &Connection, e: NewEvent<'_>) -> Result<(), StoreError> {
        // A job's state change is also news for the central office: the outbox row commits
        // with the event or not at all. An event that leaves the state as it was (a booklet
        // confirmed while queued) is not a change.
        if let (Some(job_id), Some(to)) = (e.job_id, e.to)
            && e.from != Some(to)
        {
            tx.exec(
                "INSERT INTO outbox (job_id, state, booklet, at)
                 SELECT job_id, ?2, booklet, ?3 FROM jobs WHERE job_id = ?1",
                params![job_id, to.as_str(), now()],
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
    fn step(
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

    fn booklet_state(tx: &Connection, number: &str) -> Result<Option<BookletState>, StoreError> {
        let s: Option<String> = tx
            .row(
                "SELECT state FROM booklets WHERE number = ?1",
                [number],
                |r| r.get(0),
            )
            .optional()?;
        Ok(s.as_deref().and_then(BookletState::parse))
    }

    fn set_booklet(
        tx: &Connection,
        number: &str,
        state: BookletState,
        job_id: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        tx.exec(
            "UPDATE booklets SET state = ?2, job_id = CASE WHEN ?2 = 'in-stock' THEN NULL ELSE COALESCE(?3, job_id) END, reason = ?4, updated_at = ?5 WHERE number = ?1",
            params![number, state.as_str(), job_id, reason, now()],
        )?;
        Ok(())
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
    fn submit_in(
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
        match action {
            Action::Cancel if job.state == JobState::Printing => {
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
            Action::Hold | Action::Cancel => {
                Self::step(&tx, &job, action, actor, reason)?;
            }
            Action::Release if job.state == JobState::NeedsVerification => {
                // The operator looked at the booklet: blank and untouched, back in stock.
                let Some(why) = reason.filter(|r| !r.trim().is_empty()) else {
                    return Err(StoreError::booklet(
                        "reason-required",
                        "releasing a job in doubt needs a reason (what the operator saw)",
                    ));
                };
                Self::step(&tx, &job, Action::Release, actor, Some(why))?;
                Self::set_booklet(&tx, &job.booklet, BookletState::InStock, None, None)?;
            }
            Action::Release => {
                // Released jobs whose booklet is still missing stay held, saying why.
                let to = lifecycle::next(job.state, Action::Release)?;
                debug_assert_eq!(to, JobState::Queued);
                if Self::booklet_state(&tx, &job.booklet)? == Some(BookletState::InStock) {
                    Self::step(&tx, &job, Action::Release, actor, reason)?;
                } else {
                    return Err(StoreError::booklet(
                        "booklet-not-in-stock",
                        format!(
                            "job {job_id:?} cannot be released: its booklet is not in stock — receive the batch that holds it"
                        ),
                    ));
                }
            }
            Action::Verify => {
                let to = Self::step(&tx, &job, Action::Verify, actor, reason)?;
                debug_assert_eq!(to, JobState::Completed);
                Self::set_booklet(&tx, &job.booklet, BookletState::Issued, Some(job_id), None)?;
            }
            Action::Spoil => {
                let Some(why) = reason.filter(|r| !r.trim().is_empty()) else {
                    return Err(StoreError::booklet(
                        "reason-required",
                        "a spoiled booklet needs a reason",
                    ));
                };
                Self::step(&tx, &job, Action::Spoil, actor, Some(why))?;
                Self::set_booklet(
                    &tx,
                    &job.booklet,
                    BookletState::Spoiled,
                    Some(job_id),
                    Some(why),
                )?;
                Self::append_event(
                    &tx,
                    NewEvent {
                        job_id: Some(job_id),
                        actor,
                        action: "booklet-spoiled",
                        from: None,
                        to: None,
                        reason: Some(why),
                        attempt_id: job.attempt_id.as_deref(),
                        signature: None,
                    },
                )?;
            }
            other => {
                return Err(InvalidTransition {
                    from: job.state,
                    action: other.as_str(),
                }
                .into());
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
            return Err(StoreError::booklet(
                "booklet-mismatch",
                format!(
                    "the booklet number does not match job {job_id:?} — load the job's booklet and type its number again"
                ),
            ));
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
        if supervisor.trim().is_empty() || supervisor.trim() == actor.trim() {
            return Err(StoreError::SecondPerson(actor.to_owned()));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, job_id)?;
        lifecycle::next(job.state, Action::Reprint)?;
        if Self::booklet_state(&tx, new_booklet)? != Some(BookletState::InStock) {
            return Err(StoreError::booklet(
                "booklet-not-in-stock",
                "the new booklet is not in stock — receive it or choose another",
            ));
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

    /// Commits a new attempt *before the first byte*: the job becomes `printing` with attempt id
    /// `<job_id>-a<n>` and its booklet `loaded`. Returns the job with its attempt id.
    pub fn begin_attempt(&mut self, job_id: &str) -> Result<JobRow, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, job_id)?;
        lifecycle::next(job.state, Action::StartPrinting)?;
        if Self::booklet_state(&tx, &job.booklet)? != Some(BookletState::InStock) {
            return Err(StoreError::booklet(
                "booklet-not-in-stock",
                "the job's booklet is not in stock",
            ));
        }
        let attempt = job.attempt + 1;
        let attempt_id = format!("{job_id}-a{attempt}");
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
                Self::step(&tx, &job, Action::PrintConfirmed, "engine", None)?;
                Self::set_booklet(&tx, &job.booklet, BookletState::Issued, Some(job_id), None)?;
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

    /// Start-up recovery: a job left `printing` by a crash, kill or power cut may or may not
    /// have reached the printer, so it becomes `needs-verification` (never requeued). Returns
    /// the jobs moved.
    pub fn recover(&mut self) -> Result<Vec<String>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stuck: Vec<JobRow> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {} FROM jobs WHERE state = 'printing' ORDER BY rowid",
                Self::JOB_COLUMNS
            ))?;
            stmt.query_map([], Self::row)?
                .collect::<Result<Vec<_>, _>>()?
        };
        for job in &stuck {
            Self::step(
                &tx,
                job,
                Action::OutcomeUnknown,
                "station",
                Some("the station stopped while this job was printing; look at the booklet"),
            )?;
        }
        tx.commit()?;
        Ok(stuck.into_iter().map(|j| j.job_id).collect())
    }

    /// Receives booklets `first..=last` (same letter prefix, same digit count) as one batch.
    /// Jobs held only because their booklet was missing are queued again.
    pub fn receive_batch(
        &mut self,
        first: &str,
        last: &str,
        actor: &str,
    ) -> Result<Batch, StoreError> {
        let bad = |what: &str| {
            StoreError::booklet(
                "invalid-range",
                format!("{what} — booklet numbers are a letter prefix and digits, e.g. X1000000"),
            )
        };
        let (p1, a, w1) =
            split_number(first).ok_or_else(|| bad("the first number is not a booklet number"))?;
        let (p2, b, w2) =
            split_number(last).ok_or_else(|| bad("the last number is not a booklet number"))?;
        if p1 != p2 || w1 != w2 {
            return Err(bad("the first and last numbers differ in prefix or length"));
        }
        if b < a {
            return Err(bad("the last number is below the first"));
        }
        let count = b - a + 1;
        if count > MAX_BATCH {
            return Err(StoreError::booklet(
                "batch-too-large",
                format!("{count} booklets in one batch; at most {MAX_BATCH}"),
            ));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let at = now();
        tx.exec(
            "INSERT INTO booklet_batches (first, last, count, received_at, actor) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![first, last, count as i64, at, actor],
        )?;
        let batch_id = tx.last_insert_rowid();
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO booklets (number, batch_id, state, updated_at) VALUES (?1, ?2, 'in-stock', ?3)
                 ON CONFLICT(number) DO NOTHING",
            )?;
            for n in a..=b {
                let number = format!("{p1}{n:0w1$}");
                if ins.execute(params![number, batch_id, at])? == 0 {
                    return Err(StoreError::booklet(
                        "booklet-already-received",
                        format!(
                            "booklet {number} was received before; nothing of this batch was stored"
                        ),
                    ));
                }
            }
        }
        Self::append_event(
            &tx,
            NewEvent {
                job_id: None,
                actor,
                action: "booklets-received",
                from: None,
                to: None,
                reason: Some(&format!("batch {batch_id}: {first}..{last} ({count})")),
                attempt_id: None,
                signature: None,
            },
        )?;
        // Jobs waiting for these booklets go back to the queue.
        let waiting: Vec<JobRow> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {} FROM jobs j WHERE state = 'held' AND reason = ?1
                 AND EXISTS (SELECT 1 FROM booklets b WHERE b.number = j.booklet AND b.state = 'in-stock')
                 ORDER BY rowid",
                Self::JOB_COLUMNS
            ))?;
            stmt.query_map([BOOKLET_NOT_IN_STOCK], Self::row)?
                .collect::<Result<Vec<_>, _>>()?
        };
        for job in &waiting {
            Self::step(
                &tx,
                job,
                Action::Release,
                "station",
                Some("its booklet arrived"),
            )?;
        }
        tx.commit()?;
        Ok(Batch {
            batch_id,
            first: first.to_owned(),
            last: last.to_owned(),
            count,
            received_at: at,
            actor: actor.to_owned(),
        })
    }

    /// Every batch received.
    pub fn batches(&self) -> Result<Vec<Batch>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT batch_id, first, last, count, received_at, actor FROM booklet_batches ORDER BY batch_id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Batch {
                    batch_id: r.get(0)?,
                    first: r.get(1)?,
                    last: r.get(2)?,
                    count: r.get::<_, i64>(3)? as u64,
                    received_at: r.get(4)?,
                    actor: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Booklets, optionally in one state.
    pub fn booklets(&self, state: Option<BookletState>) -> Result<Vec<Booklet>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT number, batch_id, state, job_id, reason FROM booklets
             WHERE ?1 IS NULL OR state = ?1 ORDER BY number",
        )?;
        let rows = stmt
            .query_map([state.map(BookletState::as_str)], |r| {
                let s: String = r.get(2)?;
                Ok(Booklet {
                    number: r.get(0)?,
                    batch_id: r.get(1)?,
                    // The CHECK constraint keeps the column to these four words.
                    state: BookletState::parse(&s).unwrap_or(BookletState::Loaded),
                    job_id: r.get(3)?,
                    reason: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Proves received = issued + spoiled + in stock and lists every difference: booklets
    /// taken by an unsettled attempt, issued booklets without a printed job, printed jobs
    /// without an issued booklet.
    pub fn reconcile(&self) -> Result<Reconciliation, StoreError> {
        let received: i64 = self.conn.row(
            "SELECT COALESCE(SUM(count), 0) FROM booklet_batches",
            [],
            |r| r.get(0),
        )?;
        let count = |state: &str| -> Result<u64, StoreError> {
            let n: i64 = self.conn.row(
                "SELECT COUNT(*) FROM booklets WHERE state = ?1",
                [state],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        };
        let mut rec = Reconciliation {
            received: received as u64,
            issued: count("issued")?,
            spoiled: count("spoiled")?,
            in_stock: count("in-stock")?,
            loaded: count("loaded")?,
            differences: Vec::new(),
        };
        let stored: i64 = self
            .conn
            .row("SELECT COUNT(*) FROM booklets", [], |r| r.get(0))?;
        if stored != received {
            rec.differences.push(format!(
                "{received} booklets received in batches but {stored} on record"
            ));
        }
        let mut q =
            |sql: &str, what: &dyn Fn(String, String) -> String| -> Result<(), StoreError> {
                let mut stmt = self.conn.prepare_cached(sql)?;
                let found = stmt
                    .query_map([], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                for (a, b) in found {
                    rec.differences.push(what(a, b.unwrap_or_default()));
                }
                Ok(())
            };
        q(
            "SELECT number, job_id FROM booklets WHERE state = 'loaded' ORDER BY number",
            &|n, j| {
                format!(
                    "booklet {n} is in the printer or in doubt (job {j}): finish printing or verify/spoil the job"
                )
            },
        )?;
        q(
            "SELECT b.number, b.job_id FROM booklets b WHERE b.state = 'issued' AND NOT EXISTS
               (SELECT 1 FROM jobs j WHERE j.job_id = b.job_id AND j.booklet = b.number AND j.state IN ('printed', 'completed'))
             ORDER BY b.number",
            &|n, j| format!("booklet {n} is issued but job {j} is not printed or completed on it"),
        )?;
        q(
            "SELECT j.job_id, j.booklet FROM jobs j WHERE j.state IN ('printed', 'completed') AND NOT EXISTS
               (SELECT 1 FROM booklets b WHERE b.number = j.booklet AND b.state = 'issued')
             ORDER BY j.job_id",
            &|j, n| format!("job {j} is printed but its booklet {n} is not recorded as issued"),
        )?;
        Ok(rec)
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

    /// Appends the printer's status to its history.
    pub fn record_printer_status(
        &mut self,
        state: &str,
        reasons: &[&str],
        link: &str,
    ) -> Result<(), StoreError> {
        self.conn.exec(
            "INSERT INTO printer_status (at, state, reasons, link) VALUES (?1, ?2, ?3, ?4)",
            params![now(), state, reasons.join(","), link],
        )?;
        Ok(())
    }

    /// How many jobs are in each state (states with none are left out).
    pub fn job_counts(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        self.counts_by_state(
            "SELECT state, COUNT(*) FROM jobs GROUP BY state",
            JobState::parse,
        )
    }

    /// How many booklets are in each state (states with none are left out).
    pub fn booklet_counts(&self) -> Result<Vec<(BookletState, u64)>, StoreError> {
        self.counts_by_state(
            "SELECT state, COUNT(*) FROM booklets GROUP BY state",
            BookletState::parse,
        )
    }

    fn counts_by_state<S>(
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

    /// The oldest `limit` status changes not yet delivered to the destination `sink`, in order.
    pub fn outbox_pending(&self, sink: &str, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, job_id, state, booklet, at FROM outbox
             WHERE seq > COALESCE((SELECT delivered FROM outbox_sinks WHERE sink = ?1), 0)
             ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![sink, limit], |r| {
                Ok(OutboxEntry {
                    event_id: r.get(0)?,
                    job_id: r.get(1)?,
                    state: r.get(2)?,
                    booklet: r.get(3)?,
                    at: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Marks every status change up to `up_to` (an `event_id`, inclusive) as delivered to
    /// `sink`. The cursor never moves back.
    pub fn outbox_delivered(&mut self, sink: &str, up_to: i64) -> Result<(), StoreError> {
        self.conn.exec(
            "INSERT INTO outbox_sinks (sink, delivered) VALUES (?1, ?2)
             ON CONFLICT (sink) DO UPDATE SET delivered = MAX(delivered, excluded.delivered)",
            params![sink, up_to],
        )?;
        Ok(())
    }

    /// How many status changes wait for delivery to `sink`.
    pub fn outbox_backlog(&self, sink: &str) -> Result<u64, StoreError> {
        let n: i64 = self.conn.row(
            "SELECT COUNT(*) FROM outbox
             WHERE seq > COALESCE((SELECT delivered FROM outbox_sinks WHERE sink = ?1), 0)",
            [sink],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// The last `limit` printer statuses, newest first: (at, state, reasons, link).
    pub fn printer_history(
        &self,
        limit: u32,
    ) -> Result<Vec<(String, String, String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, state, reasons, link FROM printer_status ORDER BY seq DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

/// The reason a job waits for its booklet.
pub const BOOKLET_NOT_IN_STOCK: &str =
    "booklet-not-in-stock: the job's booklet is not in stock; receive the batch that holds it";
