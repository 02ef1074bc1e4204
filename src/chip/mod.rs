//! The e-passport chip: a third device kind beside the printer and the document reader. Before
//! a booklet prints, its chip must open with the job's own access key, hold the MRZ the station
//! will print, and pass Passive Authentication. The protocol is `pstation-chip` (sans-IO, in
//! `drivers/`), PC/SC is `pstation-pcsc`; here is what the station makes of them.
//!
//! - `settings`: the `[chip]` section (the reader, the trusted CSCA certificates).
//! - `link`: the card link trait and its PC/SC, vpcd-port and direct implementations.
//! - `check`: the check itself, step by step, with a stable code per failure.

pub mod check;
pub mod issuer;
pub mod link;
pub mod settings;

pub use check::{Expected, Failure, Report, StepReport, check};
pub use link::{CardLink, DirectLink, LinkError, PcscLink, VpcdPort};
pub use settings::{ChipReader, ChipSettings, RawChip};

/// What a check found of the booklet's chip (the store's chip state, without `unread`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChipVerdict {
    /// Right.
    ReadOk,
    /// Wrong.
    Mismatch,
    /// Could not be read.
    Unreadable,
}

/// Every code a chip check can fail with.
pub const CODES: [&str; 14] = [
    "chip-reader-unavailable",
    "chip-absent",
    "chip-no-answer",
    "chip-not-emrtd",
    "chip-access-denied",
    "chip-read-failed",
    "chip-dg1-mismatch",
    "chip-hash-mismatch",
    "chip-sod-malformed",
    "chip-signature-invalid",
    "chip-ds-missing",
    "chip-algorithm-unsupported",
    "chip-csca-unknown",
    "chip-certificate-expired",
];
