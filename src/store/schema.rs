//! Opening the store: the schema, its migrations (`MIGRATIONS`, `PRAGMA user_version`), the
//! store key's adoption, the size limit and the durability settings.

use super::*;

/// The schema version this build writes (`PRAGMA user_version`): the number of `MIGRATIONS`.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Every schema change this project shipped, in order: migration `i` (0-based) takes a store from
/// schema `i` to `i + 1`. Never edit a shipped entry — append a new one (and freeze a fixture
/// store of the schema it replaces under `fixtures/store/`, see the fixtures README).
pub(super) const MIGRATIONS: [&str; 9] = [
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8,
    SCHEMA_V9,
];

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

/// Schema 8: the document reader's reads (`reads`): each with the job it was matched to (or
/// none), its result, the document number read, the lines read sealed with the store key
/// (`read:SEQ` as associated data) and the differing positions. Jobs need no change: the new
/// state `reading` is a word in `jobs.state`.
const SCHEMA_V8: &str = r#"
CREATE TABLE reads (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    job_id      TEXT,
    result      TEXT NOT NULL CHECK (result IN ('match', 'mismatch', 'unreadable', 'other-booklet', 'unexpected', 'garbled')),
    number      TEXT,
    lines       BLOB,
    differences TEXT,
    detail      TEXT
);
CREATE INDEX reads_job ON reads(job_id);
"#;

/// Schema 9: e-passport chips. Each booklet's chip state (`unread` until a chip check reads
/// it); every chip check with its steps, the Document Signer and CSCA names and the attempt
/// it let print (`used_by`: one passing check lets one attempt print); and the reason of each
/// state change in the outbox (a reprint request tells the central office why).
const SCHEMA_V9: &str = r#"
ALTER TABLE booklets ADD COLUMN chip_state TEXT NOT NULL DEFAULT 'unread'
    CHECK (chip_state IN ('unread', 'read-ok', 'mismatch', 'unreadable'));
ALTER TABLE outbox ADD COLUMN reason TEXT;
CREATE TABLE chip_checks (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    job_id          TEXT NOT NULL,
    booklet         TEXT NOT NULL,
    result          TEXT NOT NULL,
    access          TEXT,
    steps           TEXT NOT NULL,
    document_signer TEXT,
    csca            TEXT,
    duration_ms     INTEGER NOT NULL,
    used_by         TEXT
);
CREATE INDEX chip_checks_job ON chip_checks(job_id);
"#;

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
            read_gate: false,
            chip_gate: false,
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
            read_gate: false,
            chip_gate: false,
        })
    }

    /// Checks `key` against the one recorded in the store, or records it (a new store, or one
    /// from before schema 7, whose plain payloads are sealed now in the same transaction).
    pub(super) fn adopt_key(&mut self, key: &StoreKey) -> Result<(), StoreError> {
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
    pub(super) fn migrate(&mut self, path: &Path) -> Result<(), StoreError> {
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
}
