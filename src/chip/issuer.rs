//! The test central office's chip personalisation: for a job (its MRZ on a given booklet, its
//! portrait), the LDS a real office would write into the booklet's chip, signed by a test
//! Document Signer under a test CSCA — and the faults the station must catch. For tests, the
//! simulator and the demo only: the keys come from fixed seeds and are public.

use pstation_chip::bac::MrzInfo;
use pstation_chip::card::{Card, Rng};
use pstation_chip::issue::{self, Holder, Lds, Party};
use pstation_chip::lds;
use pstation_chip::session::File;

use crate::job::{self, ValidateOptions};
use crate::mrz::{self, MrzOptions};

/// The test CSCA's subject.
pub const CSCA_SUBJECT: &str = "CN=pstation Test CSCA,O=pstation test central office,C=ID";
/// The test Document Signer's subject.
pub const DS_SUBJECT: &str =
    "CN=pstation Test Document Signer 1,O=pstation test central office,C=ID";
/// 2025-01-01T00:00:00Z: the test certificates' start.
const FROM: u64 = 1_735_689_600;

/// A fault of the virtual chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChipFault {
    /// The chip was personalised for another person (another date of birth): BAC fails.
    OtherPerson,
    /// DG1 was overwritten after the SOD was signed (with the job's MRZ, so it reads right):
    /// its hash fails.
    Dg1Changed,
    /// The chip is signed and opens with the job's key, but holds another name: DG1 differs.
    Dg1Other,
    /// The SOD's signature is broken.
    BadSignature,
    /// The Document Signer was certified by a CSCA the station does not trust.
    UnknownCsca,
    /// The chip does not answer.
    Mute,
}

impl ChipFault {
    /// Every fault's word.
    pub const WORDS: &'static str =
        "other-person, dg1-changed, dg1-other, bad-signature, unknown-csca, mute";

    /// Parses a fault's word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "other-person" => Self::OtherPerson,
            "dg1-changed" => Self::Dg1Changed,
            "dg1-other" => Self::Dg1Other,
            "bad-signature" => Self::BadSignature,
            "unknown-csca" => Self::UnknownCsca,
            "mute" => Self::Mute,
            _ => return None,
        })
    }
}

/// The test central office: its CSCA, its Document Signer, and a stranger CSCA (with a DS)
/// nobody trusts.
pub struct TestOffice {
    /// The CSCA the station trusts (its PEM goes into `[chip] csca`).
    pub csca: Party,
    ds: Party,
    stranger_ds: Party,
}

/// Why a chip could not be made.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The job is not valid.
    #[error("the job is not valid: {0}")]
    Job(String),
    /// The MRZ could not be made.
    #[error("the job's MRZ cannot be made: {0}")]
    Mrz(String),
    /// The portrait could not be made a JPEG.
    #[error("the portrait cannot be encoded for DG2: {0}")]
    Portrait(String),
    /// The chip's data could not be signed.
    #[error("{0}")]
    Chip(#[from] pstation_chip::ChipError),
}

impl TestOffice {
    /// The office (the same keys and certificates every time).
    pub fn new() -> Result<Self, IssueError> {
        let csca = Party::csca(CSCA_SUBJECT, "pstation test CSCA", FROM, 20 * 365)?;
        let ds = csca.document_signer(DS_SUBJECT, "pstation test DS 1", 1, FROM, 12 * 365)?;
        let stranger = Party::csca(CSCA_SUBJECT, "a stranger's CSCA", FROM, 20 * 365)?;
        let stranger_ds =
            stranger.document_signer(DS_SUBJECT, "a stranger's DS", 1, FROM, 12 * 365)?;
        Ok(Self {
            csca,
            ds,
            stranger_ds,
        })
    }

    /// The CSCA certificate as PEM.
    pub fn csca_pem(&self) -> Result<String, IssueError> {
        Ok(self.csca.certificate_pem()?)
    }

    /// The virtual card in booklet `booklet` for the job `payload` (its JSON), with `fault`.
    pub fn card(
        &self,
        payload: &[u8],
        booklet: &str,
        opts: &MrzOptions,
        fault: Option<ChipFault>,
        rng: Rng,
    ) -> Result<Card, IssueError> {
        let validate = ValidateOptions {
            require_portrait: true,
        };
        let mut job = job::parse_job(payload, &validate)
            .map_err(|p| IssueError::Job(p.codes().join(", ")))?;
        job.document.number = booklet.to_owned();
        let td3 =
            mrz::generate(&job.td3_input(), opts).map_err(|e| IssueError::Mrz(e.to_string()))?;
        let (face, width, height) = face_jpeg(job.portrait.as_ref())?;
        let line2 = td3.line2.as_str();
        let mut mrz = format!("{}{}", td3.line1, td3.line2);
        let true_mrz = mrz.clone();
        if matches!(fault, Some(ChipFault::Dg1Other | ChipFault::Dg1Changed)) {
            // Another name in the same place (line 1 after "P<IDN"), signed as it is.
            mrz.replace_range(5..9, "LAIN");
        }
        let signer = if fault == Some(ChipFault::UnknownCsca) {
            &self.stranger_ds
        } else {
            &self.ds
        };
        let lds = issue::issue(
            &Holder {
                mrz: &mrz,
                face: &face,
                width,
                height,
            },
            signer,
        )?;
        let access = if fault == Some(ChipFault::OtherPerson) {
            // Another person: another date of birth (1 January 1970).
            MrzInfo::new(&line2[0..9], "700101", &line2[21..27])?
        } else {
            MrzInfo::new(&line2[0..9], &line2[13..19], &line2[21..27])?
        };
        let mut card = Card::new(&access, &lds, rng);
        match fault {
            Some(ChipFault::Dg1Changed) => {
                // Written over after signing with the MRZ the job prints: it reads right, but
                // its hash is not the one the Document Signer signed.
                card.replace_file(File::Dg1, lds::build_dg1(&true_mrz));
            }
            Some(ChipFault::BadSignature) => {
                if let Some(sod) = lds.files.get(&File::Sod) {
                    let mut sod = sod.clone();
                    // The SOD ends with the signer's signature: change its last byte.
                    if let Some(last) = sod.last_mut() {
                        *last ^= 0x01;
                    }
                    card.replace_file(File::Sod, sod);
                }
            }
            Some(ChipFault::Mute) => card = card.mute(),
            _ => {}
        }
        Ok(card)
    }

    /// The LDS alone (benchmarks, tests).
    pub fn lds(&self, mrz: &str, face: &[u8], width: u16, height: u16) -> Result<Lds, IssueError> {
        Ok(issue::issue(
            &Holder {
                mrz,
                face,
                width,
                height,
            },
            &self.ds,
        )?)
    }
}

/// The portrait as a JPEG for DG2, with its size.
fn face_jpeg(portrait: Option<&job::Portrait>) -> Result<(Vec<u8>, u16, u16), IssueError> {
    let p = portrait.ok_or_else(|| IssueError::Portrait("the job has no portrait".into()))?;
    let img = image::load_from_memory(&p.data).map_err(|e| IssueError::Portrait(e.to_string()))?;
    let (w, h) = (
        img.width().min(u16::MAX as u32) as u16,
        img.height().min(u16::MAX as u32) as u16,
    );
    if p.data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok((p.data.clone(), w, h));
    }
    let mut out = Vec::new();
    img.to_rgb8()
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .map_err(|e| IssueError::Portrait(e.to_string()))?;
    Ok((out, w, h))
}

/// A card's randomness from the operating system.
pub fn os_rng() -> Rng {
    Box::new(|buf: &mut [u8]| {
        // Should the OS generator fail, the card's session keys still mix in the reader's
        // randomness; a simulator needs no more.
        let _ = getrandom::fill(buf);
    })
}
