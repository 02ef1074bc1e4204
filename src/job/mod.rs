//! The approved passport print job: the domain types and their validation from the central
//! office's JSON (schema version 1).
//!
//! Boundary: JSON exists only in `validate` and `strict_json`; `Job` and its parts are plain
//! domain types with no serde. The exact received bytes stay the job's identity (signatures and
//! idempotency compare bytes, never re-serialised JSON).

mod strict_json;
mod validate;

use time::Date;

pub use crate::mrz::Sex;
pub use validate::{MAX_JOB_BYTES, MAX_PORTRAIT_BYTES, ValidateOptions, parse_job};

/// The job schema version this build understands.
pub const SCHEMA_VERSION: u64 = 1;

/// A validated job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The central office's idempotency key: 1-64 of `A-Z a-z 0-9 . _ -`.
    pub job_id: String,
    /// What goes on the data page.
    pub document: Document,
    /// The holder's portrait; `None` only when validated without requiring it.
    pub portrait: Option<Portrait>,
}

/// The document data of a job, as approved.
#[derive(Clone, PartialEq, Eq)]
pub struct Document {
    /// `P` or `P` plus one letter.
    pub code: String,
    /// ICAO code, e.g. `IDN`.
    pub issuing_state: String,
    /// Up to 9 of `A-Z 0-9`.
    pub number: String,
    /// Primary identifier as written (NFC, original case, diacritics kept for the VIZ).
    pub surname: String,
    /// Secondary identifier as written; may be empty.
    pub given_names: String,
    /// ICAO code.
    pub nationality: String,
    /// Date of birth.
    pub date_of_birth: Date,
    /// Sex.
    pub sex: Sex,
    /// Place of birth for the VIZ.
    pub place_of_birth: String,
    /// Date of issue.
    pub date_of_issue: Date,
    /// Date of expiry.
    pub date_of_expiry: Date,
    /// Issuing office for the VIZ.
    pub authority: String,
    /// Up to 14 of `A-Z 0-9`; empty when unused.
    pub personal_number: String,
    /// VIZ field "No. Reg.", when given.
    pub registration_number: Option<String>,
    /// Marital status, when the central office states it (used by the validity policy).
    pub married: Option<bool>,
}

impl std::fmt::Debug for Document {
    // Personal data stays out of debug output (and so out of any log line).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("code", &self.code)
            .field("issuing_state", &self.issuing_state)
            .field("nationality", &self.nationality)
            .finish_non_exhaustive()
    }
}

/// Image formats accepted for portraits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `image/jpeg`.
    Jpeg,
    /// `image/png`.
    Png,
}

impl MediaType {
    /// The IANA media type name.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
        }
    }
}

/// The holder's portrait as sent (still encoded).
#[derive(Clone, PartialEq, Eq)]
pub struct Portrait {
    /// The declared (and magic-checked) format.
    pub media_type: MediaType,
    /// The encoded image bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Portrait {
    // Never dump image bytes (personal data) into debug output or logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portrait")
            .field("media_type", &self.media_type)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl Job {
    /// The MRZ engine's view of this job.
    pub fn td3_input(&self) -> crate::mrz::Td3Input<'_> {
        let d = &self.document;
        crate::mrz::Td3Input {
            document_code: &d.code,
            issuing_state: &d.issuing_state,
            surname: &d.surname,
            given_names: &d.given_names,
            number: &d.number,
            nationality: &d.nationality,
            date_of_birth: d.date_of_birth,
            sex: d.sex,
            date_of_expiry: d.date_of_expiry,
            personal_number: &d.personal_number,
        }
    }
}
