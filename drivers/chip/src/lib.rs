//! The e-passport chip, sans-IO: ISO/IEC 7816-4 APDUs, ICAO 9303 Basic Access Control and
//! secure messaging, the reading session, the LDS files (EF.COM, DG1, DG2, EF.SOD), Passive
//! Authentication, the virtual e-passport card with its vpcd link codec, and the test central
//! office that issues chips for tests and the demo.
//!
//! Design: nothing here performs I/O, keeps time or draws randomness. The reading
//! [`session::Session`] is fed the card's answers and returns the next command; the caller
//! moves the bytes (PC/SC, vpcd, or a direct call into a [`card::Card`]) and supplies random
//! values; [`pa::verify`] is given the time to check certificate validity at. The access step
//! is the [`session::Access`] trait: BAC ([`bac::Bac`]) today, PACE to plug in beside it.

pub mod apdu;
pub mod bac;
pub mod card;
pub mod crypto;
pub mod issue;
pub mod lds;
pub mod pa;
pub mod session;
pub mod sm;
pub mod vpcd;

/// What can go wrong reading a chip (the station maps these to its `chip-*` codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChipError {
    /// The card did not answer at all.
    #[error("the chip did not answer")]
    NoAnswer,
    /// The card has no eMRTD application.
    #[error("the card is not an e-passport (SELECT of the eMRTD application answered {sw:04X})")]
    NotAnEmrtd {
        /// The status word.
        sw: u16,
    },
    /// The access keys did not open the chip: another person's booklet, or wrong MRZ data.
    #[error("the chip does not open with this job's access key (status {sw:04X})")]
    AccessDenied {
        /// The status word of MUTUAL AUTHENTICATE.
        sw: u16,
    },
    /// The MRZ information needed for the access keys is not valid.
    #[error("the MRZ information for the access key is not valid: {field}")]
    MrzInfo {
        /// Which field.
        field: &'static str,
    },
    /// A step of the protocol answered an error status word.
    #[error("{step} answered {sw:04X}")]
    Card {
        /// The step.
        step: &'static str,
        /// The status word.
        sw: u16,
    },
    /// Selecting or reading a file answered an error status word.
    #[error("reading {file} answered {sw:04X}")]
    File {
        /// The file.
        file: &'static str,
        /// The status word.
        sw: u16,
    },
    /// Secure messaging broke (a MAC that does not verify, objects missing).
    #[error("secure messaging failed: {why}")]
    SecureMessaging {
        /// What was wrong.
        why: &'static str,
    },
    /// Bytes that do not have the form they must have.
    #[error("{what} is malformed: {why}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What was wrong.
        why: &'static str,
    },
}
