//! `pstation diag chip`: the technician's look at the chip reader — the PC/SC readers pcscd
//! knows, whether a card is on the named one and whether it is an e-passport; with `--job`, the
//! whole check the station runs before printing (BAC with the job's key, DG1, Passive
//! Authentication), step by step, without the daemon.

use std::io::Write;
use std::path::{Path, PathBuf};

use pstation_chip::apdu::{Command, Response};
use pstation_chip::session::AID;

use super::{CmdResult, Exit};
use crate::chip::{self, ChipReader, Expected, LinkError};

/// `pstation diag chip` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ChipArgs {
    /// The reader: a PC/SC reader name (or part of it), or vpcd://HOST:PORT.
    #[arg(long)]
    pub reader: String,
    /// Check the chip against this job (JSON), as the station does before printing.
    #[arg(long, value_name = "JOB.json")]
    pub job: Option<PathBuf>,
    /// The booklet the job prints on (default: the job's document number).
    #[arg(long)]
    pub booklet: Option<String>,
    /// Trusted CSCA certificate files (default: the configuration's `[chip] csca`).
    #[arg(long = "csca", value_name = "FILE")]
    pub cscas: Vec<PathBuf>,
    /// Station configuration; the embedded default when absent.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs `pstation diag chip`.
pub fn run(args: ChipArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let reader = match ChipReader::parse(&args.reader) {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "--reader: {e}")?;
            return Ok(Exit::InvalidInput);
        }
    };
    let settings = match crate::config::Settings::load_or_default(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(Exit::InvalidInput);
        }
    };
    if let ChipReader::Pcsc(_) = &reader {
        match list_readers() {
            Ok(names) if names.is_empty() => writeln!(out, "PC/SC readers: none attached")?,
            Ok(names) => writeln!(out, "PC/SC readers: {}", names.join("; "))?,
            Err(e) => {
                writeln!(out, "PROBLEM chip-reader-unavailable: {e}")?;
                return Ok(Exit::Device);
            }
        }
    }
    let mut link = match chip::link::open(&reader, settings.chip.timeout) {
        Ok(l) => l,
        Err(e) => {
            writeln!(out, "PROBLEM {}: {e}", e.code())?;
            return Ok(Exit::Device);
        }
    };
    let Some(job_path) = &args.job else {
        return probe(link.as_mut(), out);
    };
    let mut cscas = settings.chip.cscas.clone();
    for f in &args.cscas {
        match read_certs(f) {
            Ok(c) => cscas.extend(c),
            Err(e) => {
                writeln!(err, "{}: {e}", f.display())?;
                return Ok(Exit::InvalidInput);
            }
        }
    }
    let payload = match std::fs::read(job_path) {
        Ok(p) => p,
        Err(e) => {
            writeln!(err, "{}: io: {e}", job_path.display())?;
            return Ok(Exit::InvalidInput);
        }
    };
    let booklet = args
        .booklet
        .clone()
        .unwrap_or_else(|| document_number(&payload));
    let renderer = match crate::station::render::Renderer::new(settings.clone()) {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(Exit::Internal);
        }
    };
    let lines = match renderer.mrz(&payload, &booklet) {
        Ok(l) => l,
        Err(e) => {
            writeln!(err, "{}: {e}", job_path.display())?;
            return Ok(Exit::InvalidInput);
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let report = chip::check(
        link.as_mut(),
        &Expected {
            mrz: [&lines[0], &lines[1]],
            booklet: &booklet,
        },
        &cscas,
        now,
    );
    writeln!(out, "chip check of booklet {booklet} on {}", link.name())?;
    for step in &report.steps {
        writeln!(
            out,
            "  {}",
            step_line(step.step, step.ok, step.detail.as_deref())
        )?;
    }
    if let Some(ds) = &report.document_signer {
        writeln!(out, "  Document Signer: {ds}")?;
    }
    if let Some(csca) = &report.csca {
        writeln!(out, "  CSCA: {csca}")?;
    }
    writeln!(
        out,
        "  read {:.1} ms ({} APDUs), Passive Authentication {:.1} ms",
        report.read_time.as_secs_f64() * 1e3,
        report.apdus,
        report.pa_time.as_secs_f64() * 1e3
    )?;
    match &report.result {
        Ok(()) => {
            writeln!(out, "OK the chip belongs to this job and is genuine")?;
            Ok(Exit::Ok)
        }
        Err(f) if matches!(f.code, "chip-reader-unavailable" | "chip-absent") => {
            writeln!(out, "PROBLEM {}: {}", f.code, f.message)?;
            Ok(Exit::Device)
        }
        Err(f) => {
            writeln!(out, "FAILED {}: {}", f.code, f.message)?;
            Ok(Exit::CheckFailed)
        }
    }
}

/// One step of a chip check as a line: `access    FAILED: chip-access-denied: …`.
pub(super) fn step_line(step: &str, ok: bool, detail: Option<&str>) -> String {
    format!(
        "{step:<9} {}{}",
        if ok { "ok" } else { "FAILED" },
        detail.map(|d| format!(": {d}")).unwrap_or_default()
    )
}

/// The document number a job's JSON names (the booklet it prints on unless told otherwise).
pub(super) fn document_number(payload: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v["document"]["number"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn list_readers() -> Result<Vec<String>, String> {
    let lib = pstation_pcsc::Library::load().map_err(|e| e.to_string())?;
    let ctx =
        pstation_pcsc::Context::establish(std::sync::Arc::new(lib)).map_err(|e| e.to_string())?;
    ctx.readers().map_err(|e| e.to_string())
}

fn read_certs(path: &Path) -> Result<Vec<x509_cert::Certificate>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("io: {e}"))?;
    pstation_chip::pa::parse_certificates(&bytes)
}

/// Without a job: is a card there, and is it an e-passport?
fn probe(link: &mut dyn chip::CardLink, out: &mut dyn Write) -> CmdResult {
    let atr = match link.connect() {
        Ok(atr) => atr,
        Err(e @ LinkError::NoCard) => {
            writeln!(out, "PROBLEM {}: {e}", e.code())?;
            return Ok(Exit::Device);
        }
        Err(e) => {
            writeln!(out, "PROBLEM {}: {e}", e.code())?;
            return Ok(Exit::Device);
        }
    };
    let hex: Vec<String> = atr.iter().map(|b| format!("{b:02X}")).collect();
    if hex.is_empty() {
        writeln!(out, "card on {} (the reader reports no ATR)", link.name())?;
    } else {
        writeln!(out, "card on {}: ATR {}", link.name(), hex.join(" "))?;
    }
    let select = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(AID).encode();
    let answer = link.transmit(&select).map(|a| Response::parse(&a));
    link.disconnect();
    match answer {
        Ok(Ok(r)) if r.ok() => {
            writeln!(
                out,
                "OK an e-passport (eMRTD application present); --job JOB.json checks it against a job"
            )?;
            Ok(Exit::Ok)
        }
        Ok(Ok(r)) => {
            writeln!(
                out,
                "FAILED chip-not-emrtd: the card has no eMRTD application (status {:04X})",
                r.sw
            )?;
            Ok(Exit::CheckFailed)
        }
        Ok(Err(e)) => {
            writeln!(out, "FAILED chip-read-failed: {e}")?;
            Ok(Exit::CheckFailed)
        }
        Err(e) => {
            writeln!(out, "PROBLEM {}: {e}", e.code())?;
            Ok(Exit::Device)
        }
    }
}
