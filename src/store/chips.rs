//! E-passport chip checks in the store: the gate (`set_chip_gate`), recording a check with the
//! job's step in one transaction (a failed check holds the job and marks the booklet's chip),
//! a job's checks, and the booklets' chip states for reconciliation and metrics.

use super::*;

/// A booklet's chip, as the station last found it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ChipState {
    /// Never read by this station.
    #[default]
    Unread,
    /// Opened with its job's key, DG1 equal to the job's MRZ, Passive Authentication held.
    ReadOk,
    /// Read, and wrong: another person's key, another MRZ, a hash or signature that fails, a
    /// signer the station does not trust.
    Mismatch,
    /// The chip did not answer or could not be read whole.
    Unreadable,
}

impl ChipState {
    /// Every state.
    pub const ALL: [ChipState; 4] = [Self::Unread, Self::ReadOk, Self::Mismatch, Self::Unreadable];

    /// The stable word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unread => "unread",
            Self::ReadOk => "read-ok",
            Self::Mismatch => "mismatch",
            Self::Unreadable => "unreadable",
        }
    }

    /// Parses the stable word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One step of a chip check as recorded (no personal data: names of steps, codes, the
/// certificates' subject names).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChipStep {
    /// `answer`, `access`, `read`, `dg1`, `hashes`, `signature`, `chain`.
    pub step: String,
    /// Whether it held.
    pub ok: bool,
    /// What was found (a code and words, never a name or a number of the holder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A chip check to record.
#[derive(Debug, Clone)]
pub struct NewChipCheck<'a> {
    /// The job checked.
    pub job_id: &'a str,
    /// The booklet it was to print on.
    pub booklet: &'a str,
    /// `ok`, or the failure's `chip-*` code.
    pub result: &'a str,
    /// What the booklet's chip is now known to be (`None`: nothing of this booklet was learnt —
    /// its chip did not open with the job's key, so another booklet may have been on the
    /// reader).
    pub chip_state: Option<ChipState>,
    /// The access protocol (`BAC`), when the chip answered.
    pub access: Option<&'a str>,
    /// Every step tried, in order.
    pub steps: &'a [ChipStep],
    /// The Document Signer certificate's subject, when read.
    pub document_signer: Option<&'a str>,
    /// The CSCA certificate's subject, when the chain held.
    pub csca: Option<&'a str>,
    /// How long the check took.
    pub duration_ms: u64,
    /// For a failure: what the operator is told (the hold's reason).
    pub message: Option<&'a str>,
}

/// A recorded chip check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChipCheckRow {
    /// Its sequence number.
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The job.
    pub job_id: String,
    /// The booklet.
    pub booklet: String,
    /// `ok` or a `chip-*` code.
    pub result: String,
    /// The access protocol.
    pub access: Option<String>,
    /// The steps.
    pub steps: Vec<ChipStep>,
    /// The Document Signer's subject.
    pub document_signer: Option<String>,
    /// The CSCA's subject.
    pub csca: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// The attempt it let print.
    pub used_by: Option<String>,
}

/// Booklets by chip state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChipCounts {
    /// Never read.
    pub unread: u64,
    /// Read and right.
    pub read_ok: u64,
    /// Read and wrong.
    pub mismatch: u64,
    /// Could not be read.
    pub unreadable: u64,
}

impl Store {
    /// Whether a chip reader gates printing: an attempt then needs a passing chip check of its
    /// booklet (one check, one attempt), and a local reprint is refused (`reprint-central`).
    pub fn set_chip_gate(&mut self, on: bool) {
        self.chip_gate = on;
    }

    /// Records a chip check of a queued job's booklet and, in the same transaction, what it
    /// means: the booklet's chip state, and an event — `chip-checked` (the job stays queued and
    /// may print once), or, when the check failed, the job held by the station with the reason
    /// and its booklet confirmation withdrawn (the booklet stays blank in stock).
    pub fn record_chip_check(
        &mut self,
        check: &NewChipCheck<'_>,
    ) -> Result<(i64, JobRow), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let job = Self::job_in(&tx, check.job_id)?;
        let passed = check.result == "ok";
        if !passed {
            lifecycle::next(job.state, Action::HoldBySystem)?;
        } else if job.state != JobState::Queued {
            return Err(InvalidTransition {
                from: job.state,
                action: "chip-checked",
            }
            .into());
        }
        let steps = serde_json::to_string(check.steps).unwrap_or_else(|_| "[]".to_owned());
        tx.exec(
            "INSERT INTO chip_checks (at, job_id, booklet, result, access, steps, document_signer, csca, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                now(),
                check.job_id,
                check.booklet,
                check.result,
                check.access,
                steps,
                check.document_signer,
                check.csca,
                check.duration_ms as i64
            ],
        )?;
        let seq = tx.last_insert_rowid();
        if let Some(state) = check.chip_state {
            tx.exec(
                "UPDATE booklets SET chip_state = ?2, updated_at = ?3 WHERE number = ?1",
                params![check.booklet, state.as_str(), now()],
            )?;
        }
        if passed {
            Self::append_event(
                &tx,
                NewEvent {
                    job_id: Some(check.job_id),
                    actor: "chip-reader",
                    action: "chip-checked",
                    from: Some(job.state),
                    to: Some(job.state),
                    reason: None,
                    attempt_id: None,
                    signature: None,
                },
            )?;
        } else {
            tx.exec(
                "UPDATE jobs SET booklet_confirmed = 0 WHERE job_id = ?1",
                params![check.job_id],
            )?;
            let why = format!(
                "{}: {}",
                check.result,
                check.message.unwrap_or("the booklet's chip check failed")
            );
            Self::step(&tx, &job, Action::HoldBySystem, "chip-reader", Some(&why))?;
        }
        let job = Self::job_in(&tx, check.job_id)?;
        tx.commit()?;
        Ok((seq, job))
    }

    /// A job's chip checks, oldest first.
    pub fn chip_checks(&self, job_id: &str) -> Result<Vec<ChipCheckRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, job_id, booklet, result, access, steps, document_signer, csca, duration_ms, used_by
             FROM chip_checks WHERE job_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map([job_id], |r| {
                let steps: String = r.get(6)?;
                Ok(ChipCheckRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    job_id: r.get(2)?,
                    booklet: r.get(3)?,
                    result: r.get(4)?,
                    access: r.get(5)?,
                    // Written by `record_chip_check` from the same type.
                    steps: serde_json::from_str(&steps).unwrap_or_default(),
                    document_signer: r.get(7)?,
                    csca: r.get(8)?,
                    duration_ms: r.get::<_, i64>(9)? as u64,
                    used_by: r.get(10)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// How many booklets are in each chip state.
    pub fn chip_counts(&self) -> Result<ChipCounts, StoreError> {
        let mut counts = ChipCounts::default();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT chip_state, COUNT(*) FROM booklets GROUP BY chip_state")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        for (state, n) in rows {
            let n = n as u64;
            match ChipState::parse(&state) {
                Some(ChipState::Unread) => counts.unread = n,
                Some(ChipState::ReadOk) => counts.read_ok = n,
                Some(ChipState::Mismatch) => counts.mismatch = n,
                Some(ChipState::Unreadable) => counts.unreadable = n,
                // The CHECK constraint keeps the column to the four words.
                None => {}
            }
        }
        Ok(counts)
    }
}
