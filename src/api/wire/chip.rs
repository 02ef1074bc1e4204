//! The wire types of the e-passport chip: the chip reader's view, a job's chip checks with
//! their steps, and the booklets by chip state in the reconciliation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The chip reader as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Chip {
    /// Whether a chip reader is configured (without one, chips are not checked).
    pub configured: bool,
    /// The reader, e.g. `pcsc:OMNIKEY` or `vpcd://127.0.0.1:35963`.
    pub reader: Option<String>,
    /// `none`, `ready`, `waiting` (for a booklet on the reader) or `down`.
    pub state: String,
    /// Why it is not ready (`chip-reader-unavailable`, `chip-absent`).
    pub code: Option<String>,
    /// What happened and what to do.
    pub message: Option<String>,
    /// The last check.
    pub last: Option<LastChipCheck>,
}

/// The last chip check, for the chip panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LastChipCheck {
    /// The job.
    pub job_id: String,
    /// `ok` or the `chip-*` code.
    pub result: String,
}

impl From<&crate::station::chip::ChipView> for Chip {
    fn from(v: &crate::station::chip::ChipView) -> Self {
        Self {
            configured: v.configured,
            reader: v.reader.clone(),
            state: v.state.to_owned(),
            code: v.code.map(str::to_owned),
            message: v.message.clone(),
            last: v.last.as_ref().map(|l| LastChipCheck {
                job_id: l.job_id.clone(),
                result: l.result.clone(),
            }),
        }
    }
}

/// `GET /api/jobs/{id}/chip`: the chip checks of the job's booklets, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChipCheckList {
    /// Whether a chip reader is configured.
    pub configured: bool,
    /// The checks.
    pub checks: Vec<ChipCheck>,
}

/// One chip check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChipCheck {
    /// Its sequence number.
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The booklet checked.
    pub booklet: String,
    /// `ok` or the `chip-*` code.
    pub result: String,
    /// The access protocol (`BAC`).
    pub access: Option<String>,
    /// Each step, in order: `answer`, `access`, `read`, `dg1`, `hashes`, `signature`, `chain`.
    pub steps: Vec<ChipCheckStep>,
    /// The Document Signer certificate's subject.
    pub document_signer: Option<String>,
    /// The CSCA certificate's subject.
    pub csca: Option<String>,
    /// How long the check took.
    pub duration_ms: u64,
    /// The print attempt it allowed.
    pub used_by: Option<String>,
}

/// One step of a chip check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChipCheckStep {
    /// The step.
    pub step: String,
    /// Whether it held.
    pub ok: bool,
    /// What was found (a code and words; no personal data).
    pub detail: Option<String>,
}

impl From<crate::store::ChipCheckRow> for ChipCheck {
    fn from(r: crate::store::ChipCheckRow) -> Self {
        Self {
            seq: r.seq,
            at: r.at,
            booklet: r.booklet,
            result: r.result,
            access: r.access,
            steps: r
                .steps
                .into_iter()
                .map(|s| ChipCheckStep {
                    step: s.step,
                    ok: s.ok,
                    detail: s.detail,
                })
                .collect(),
            document_signer: r.document_signer,
            csca: r.csca,
            duration_ms: r.duration_ms,
            used_by: r.used_by,
        }
    }
}

/// Booklets by what the station last found on their chips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChipCounts {
    /// Never read.
    pub unread: u64,
    /// Opened with their job's key, DG1 right, Passive Authentication held.
    pub read_ok: u64,
    /// Read and wrong (another person's, changed, not genuine).
    pub mismatch: u64,
    /// Could not be read.
    pub unreadable: u64,
}
