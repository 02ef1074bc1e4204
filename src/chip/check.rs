//! The chip check before printing: open the booklet's chip with the job's own access key (BAC
//! from the document number, date of birth and date of expiry the station will print), read
//! EF.COM, DG1, DG2 and EF.SOD, compare DG1 with the MRZ the station will print, and run
//! Passive Authentication against the trusted CSCAs. Each step is reported; a failure carries a
//! stable code and tells the operator what to do, in English and Indonesian.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pstation_chip::bac::{Bac, MrzInfo};
use pstation_chip::pa::{self, PaError};
use pstation_chip::session::{File, Session, Step};
use pstation_chip::{ChipError, lds};
use x509_cert::Certificate;

use super::link::{CardLink, LinkError};

/// Why a chip check failed. The code is stable; the message is for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The stable code (`chip-access-denied`, …).
    pub code: &'static str,
    /// What happened and what to do, in English and Indonesian.
    pub message: String,
}

/// One step as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// `answer`, `access`, `read`, `dg1`, `hashes`, `signature`, `chain`.
    pub step: &'static str,
    /// Whether it held.
    pub ok: bool,
    /// What was found (no personal data).
    pub detail: Option<String>,
}

/// What a chip check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `Ok` when every step held.
    pub result: Result<(), Failure>,
    /// Every step tried, in order.
    pub steps: Vec<StepReport>,
    /// The access protocol used.
    pub access: Option<&'static str>,
    /// The Document Signer certificate's subject.
    pub document_signer: Option<String>,
    /// The CSCA certificate's subject.
    pub csca: Option<String>,
    /// Connect, open and read every file.
    pub read_time: Duration,
    /// Passive Authentication.
    pub pa_time: Duration,
    /// How many APDUs were exchanged.
    pub apdus: u32,
}

impl Report {
    /// Whether anything is known of the booklet: `false` when no reader answered or no booklet
    /// lay on it (the engine waits and asks again; nothing is recorded).
    pub fn reached_booklet(&self) -> bool {
        !matches!(
            &self.result,
            Err(f) if matches!(f.code, "chip-reader-unavailable" | "chip-absent")
        )
    }

    /// What the booklet's own chip is now known to be: right, or — only once its chip opened
    /// with this job's key, so that it is surely this booklet's chip — wrong (`mismatch`) or not
    /// whole (`unreadable`). A chip that did not open may be another booklet laid by mistake,
    /// and a signature algorithm the station does not verify is the station's limit: neither
    /// says anything of this booklet (`None`).
    pub fn chip_state(&self) -> Option<crate::chip::ChipVerdict> {
        use crate::chip::ChipVerdict as V;
        match &self.result {
            Ok(()) => Some(V::ReadOk),
            Err(f) => match f.code {
                "chip-reader-unavailable"
                | "chip-absent"
                | "chip-no-answer"
                | "chip-not-emrtd"
                | "chip-access-denied"
                | "chip-algorithm-unsupported" => None,
                "chip-read-failed" | "chip-sod-malformed" => Some(V::Unreadable),
                _ => Some(V::Mismatch),
            },
        }
    }
}

/// What the station will print: the two MRZ lines (line 2 gives the access key).
pub struct Expected<'a> {
    /// Line 1 and line 2.
    pub mrz: [&'a str; 2],
    /// The booklet number (for the operator's message).
    pub booklet: &'a str,
}

/// Runs the check on the card now on `link`, at `now` (Unix seconds) for certificate validity.
pub fn check(
    link: &mut dyn CardLink,
    expected: &Expected<'_>,
    cscas: &[Certificate],
    now: u64,
) -> Report {
    let mut report = Report {
        result: Ok(()),
        steps: Vec::new(),
        access: None,
        document_signer: None,
        csca: None,
        read_time: Duration::ZERO,
        pa_time: Duration::ZERO,
        apdus: 0,
    };
    let t0 = Instant::now();
    let files = read(link, expected, &mut report);
    link.disconnect();
    report.read_time = t0.elapsed();
    let Some(files) = files else {
        return report;
    };
    let t1 = Instant::now();
    judge(&files, expected, cscas, now, &mut report);
    report.pa_time = t1.elapsed();
    report
}

fn fail(
    report: &mut Report,
    step: &'static str,
    code: &'static str,
    detail: String,
    message: String,
) {
    report.steps.push(StepReport {
        step,
        ok: false,
        detail: Some(format!("{code}: {detail}")),
    });
    report.result = Err(Failure { code, message });
}

fn pass(report: &mut Report, step: &'static str, detail: Option<String>) {
    report.steps.push(StepReport {
        step,
        ok: true,
        detail,
    });
}

/// The random values of the inspection system's side of BAC.
fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS's generator; should it ever fail, BAC still works (the chip adds its own
    // randomness to the session keys), so a zero value is no safety problem.
    let _ = getrandom::fill(&mut b);
    b
}

fn read(
    link: &mut dyn CardLink,
    expected: &Expected<'_>,
    report: &mut Report,
) -> Option<BTreeMap<File, Vec<u8>>> {
    let booklet = expected.booklet;
    if let Err(e) = link.connect() {
        let (code, message) = link_message(&e, booklet);
        fail(report, "answer", code, e.to_string(), message);
        return None;
    }
    pass(report, "answer", None);
    let line2 = expected.mrz[1];
    let key = line2
        .get(0..9)
        .zip(line2.get(13..19))
        .zip(line2.get(21..27))
        .ok_or(ChipError::MrzInfo { field: "line 2" })
        .and_then(|((number, birth), expiry)| MrzInfo::new(number, birth, expiry));
    let key = match key {
        Ok(k) => k,
        Err(e) => {
            fail(
                report,
                "access",
                "chip-access-denied",
                e.to_string(),
                both(
                    "the job's MRZ gives no access key; the job cannot be checked — ask the central office",
                    "MRZ permohonan ini tidak memberi kunci akses; tidak dapat diperiksa — hubungi kantor pusat",
                ),
            );
            return None;
        }
    };
    let bac = Bac::new(key.keys(), random(), random());
    let mut session = Session::new(
        Box::new(bac),
        &[File::Com, File::Dg1, File::Dg2, File::Sod],
        &[File::Com, File::Dg1, File::Sod],
    );
    report.access = Some(session.access_name());
    let mut answer: Option<Vec<u8>> = None;
    let mut opened = false;
    loop {
        let step = session.next(answer.as_deref());
        match step {
            Ok(Step::Transmit(cmd)) => {
                // The access protocol ends when the first file command goes out (CLA 0C).
                if !opened && cmd.first().is_some_and(|c| c & 0x0C == 0x0C) {
                    opened = true;
                    pass(
                        report,
                        "access",
                        Some(format!("{} opened", session.access_name())),
                    );
                }
                report.apdus += 1;
                match link.transmit(&cmd) {
                    Ok(a) => answer = Some(a),
                    Err(e) => {
                        let (code, message) = link_message(&e, booklet);
                        let step = if opened { "read" } else { "access" };
                        fail(report, step, code, e.to_string(), message);
                        return None;
                    }
                }
            }
            Ok(Step::Done(files)) => {
                let names: Vec<&str> = files.keys().map(|f| f.name()).collect();
                pass(report, "read", Some(names.join(", ")));
                return Some(files);
            }
            Err(e) => {
                let (step, code, message) = chip_message(&e, opened, booklet);
                fail(report, step, code, e.to_string(), message);
                return None;
            }
        }
    }
}

fn judge(
    files: &BTreeMap<File, Vec<u8>>,
    expected: &Expected<'_>,
    cscas: &[Certificate],
    now: u64,
    report: &mut Report,
) {
    let booklet = expected.booklet;
    // DG1 equals the MRZ the station will print, position by position.
    let want = format!("{}{}", expected.mrz[0], expected.mrz[1]);
    match files.get(&File::Dg1).map(|d| lds::parse_dg1(d)) {
        Some(Ok(mrz)) if mrz == want => pass(report, "dg1", Some("equals the MRZ to print".into())),
        Some(Ok(mrz)) => {
            let positions: Vec<String> = want
                .bytes()
                .zip(mrz.bytes().chain(std::iter::repeat(b' ')))
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .map(|(i, _)| format!("{}:{}", i / 44 + 1, i % 44 + 1))
                .collect();
            fail(
                report,
                "dg1",
                "chip-dg1-mismatch",
                format!("differs at line:position {}", positions.join(" ")),
                both(
                    &format!(
                        "the chip's MRZ is not the one this job prints on {booklet}: do not print; request a reprint from the central office"
                    ),
                    &format!(
                        "MRZ di cip tidak sama dengan yang akan dicetak pada {booklet}: jangan dicetak; minta cetak ulang ke kantor pusat"
                    ),
                ),
            );
            return;
        }
        _ => {
            fail(
                report,
                "dg1",
                "chip-read-failed",
                "DG1 is not an MRZ".into(),
                unreadable(booklet),
            );
            return;
        }
    }
    match pa::verify(files, cscas, now) {
        Ok(pa) => {
            let groups: Vec<String> = pa.groups_checked.iter().map(|g| format!("DG{g}")).collect();
            pass(
                report,
                "hashes",
                Some(format!("{} {}", pa.hash_algorithm, groups.join(", "))),
            );
            pass(
                report,
                "signature",
                Some("the Document Signer's signature holds".into()),
            );
            pass(
                report,
                "chain",
                Some("signed by a trusted CSCA, both valid".into()),
            );
            report.document_signer = Some(pa.document_signer);
            report.csca = Some(pa.csca);
        }
        Err(e) => {
            let (step, code) = match &e {
                PaError::HashMismatch { .. } => ("hashes", "chip-hash-mismatch"),
                PaError::SodMalformed(_) => ("hashes", "chip-sod-malformed"),
                PaError::Unsupported(_) => ("signature", "chip-algorithm-unsupported"),
                PaError::SignatureInvalid => ("signature", "chip-signature-invalid"),
                PaError::DsMissing => ("signature", "chip-ds-missing"),
                PaError::CscaUnknown { .. } => ("chain", "chip-csca-unknown"),
                PaError::CertificateExpired { .. } => ("chain", "chip-certificate-expired"),
            };
            if step != "hashes" {
                pass(report, "hashes", None);
            }
            if step == "chain" {
                pass(report, "signature", None);
            }
            fail(
                report,
                step,
                code,
                e.to_string(),
                both(
                    &format!(
                        "the chip of {booklet} is not genuine as issued ({e}): do not print; keep the booklet apart and request a reprint from the central office"
                    ),
                    &format!(
                        "cip buku {booklet} tidak asli seperti diterbitkan: jangan dicetak; pisahkan buku ini dan minta cetak ulang ke kantor pusat"
                    ),
                ),
            );
        }
    }
}

fn both(en: &str, id: &str) -> String {
    format!("{en} · {id}")
}

fn unreadable(booklet: &str) -> String {
    both(
        &format!(
            "the chip of {booklet} could not be read whole: lay it flat on the reader, release the job and confirm the booklet again; if it fails again, request a reprint"
        ),
        &format!(
            "cip buku {booklet} tidak terbaca utuh: letakkan rata di pembaca, lepaskan job dan konfirmasi lagi; bila gagal lagi, minta cetak ulang"
        ),
    )
}

fn link_message(e: &LinkError, booklet: &str) -> (&'static str, String) {
    match e {
        LinkError::Unavailable(_) => (
            "chip-reader-unavailable",
            both(
                "the chip reader is not available: a technician checks its cable and pcscd (pstation doctor)",
                "pembaca cip tidak tersedia: teknisi memeriksa kabel dan pcscd (pstation doctor)",
            ),
        ),
        LinkError::NoCard => (
            "chip-absent",
            both(
                &format!("no booklet is on the chip reader: lay booklet {booklet} on it"),
                &format!("tidak ada buku di pembaca cip: letakkan buku {booklet} di atasnya"),
            ),
        ),
        LinkError::NoAnswer(_) => ("chip-no-answer", unreadable(booklet)),
    }
}

fn chip_message(
    e: &ChipError,
    opened: bool,
    booklet: &str,
) -> (&'static str, &'static str, String) {
    match e {
        ChipError::AccessDenied { .. } => (
            "access",
            "chip-access-denied",
            both(
                &format!(
                    "the chip does not open with this job's data: this is not booklet {booklet}, or not this person's — lay the right booklet on the reader, release the job and confirm again"
                ),
                &format!(
                    "cip tidak terbuka dengan data permohonan ini: ini bukan buku {booklet} atau bukan milik pemohon ini — letakkan buku yang benar, lepaskan job dan konfirmasi lagi"
                ),
            ),
        ),
        ChipError::NotAnEmrtd { .. } => (
            "answer",
            "chip-not-emrtd",
            both(
                "the card on the reader is not an e-passport: lay the booklet, not another card",
                "kartu di pembaca bukan paspor elektronik: letakkan buku paspor, bukan kartu lain",
            ),
        ),
        ChipError::NoAnswer => ("answer", "chip-no-answer", unreadable(booklet)),
        _ => (
            if opened { "read" } else { "access" },
            "chip-read-failed",
            unreadable(booklet),
        ),
    }
}
