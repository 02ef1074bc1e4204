//! `pstation sim-chip`: a virtual e-passport for a job — the chip the test central office
//! would have written into booklet `--booklet` (BAC, secure messaging, EF.COM, DG1, DG2, EF.SOD
//! signed by the test Document Signer) — connected to a vpcd port as a card on a reader: the
//! station's own (`[chip] reader = "vpcd://…"`) or vsmartcard's `vpcd` in front of `pcscd`
//! (`reader = "Virtual PCD 00 00"`). Faults on demand (`--fault`); `--write-csca FILE` writes
//! the test CSCA certificate the station must trust.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pstation_chip::card::{ATR, Card};
use pstation_chip::vpcd::{self, Message};

use super::{CmdResult, Exit};
use crate::chip::issuer::{ChipFault, TestOffice, os_rng};

/// `pstation sim-chip` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SimChipArgs {
    /// The job (JSON) whose chip this is.
    #[arg(long, value_name = "JOB.json")]
    pub job: Option<PathBuf>,
    /// The booklet the chip is in (default: the job's document number).
    #[arg(long, value_name = "NUMBER")]
    pub booklet: Option<String>,
    /// Where the reader's vpcd port is.
    #[arg(long, default_value = "127.0.0.1:35963", value_name = "HOST:PORT")]
    pub vpcd: SocketAddr,
    /// What is wrong with the chip: other-person, dg1-changed, dg1-other, bad-signature,
    /// unknown-csca, mute.
    #[arg(long, value_name = "FAULT")]
    pub fault: Option<String>,
    /// Station configuration (for the MRZ's transliteration); the embedded default when absent.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the test CSCA certificate (PEM) to FILE (then serve only if --job is given).
    #[arg(long, value_name = "FILE")]
    pub write_csca: Option<PathBuf>,
}

/// Runs `pstation sim-chip`.
pub fn run(args: SimChipArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let office = match TestOffice::new() {
        Ok(o) => o,
        Err(e) => {
            writeln!(err, "sim-chip: internal-error: {e}")?;
            return Ok(Exit::Internal);
        }
    };
    if let Some(path) = &args.write_csca {
        let written = office
            .csca_pem()
            .map_err(|e| e.to_string())
            .and_then(|pem| std::fs::write(path, pem).map_err(|e| e.to_string()));
        if let Err(e) = written {
            writeln!(err, "{}: io: {e}", path.display())?;
            return Ok(Exit::InvalidInput);
        }
        writeln!(out, "test CSCA written to {}", path.display())?;
    }
    let Some(job_path) = &args.job else {
        if args.write_csca.is_some() {
            return Ok(Exit::Ok);
        }
        writeln!(
            err,
            "sim-chip: --job JOB.json is needed (or --write-csca FILE)"
        )?;
        return Ok(Exit::InvalidInput);
    };
    let fault = match args.fault.as_deref().map(|w| (w, ChipFault::parse(w))) {
        None => None,
        Some((_, Some(f))) => Some(f),
        Some((w, None)) => {
            writeln!(
                err,
                "sim-chip: unknown fault {w:?}; the faults are {}",
                ChipFault::WORDS
            )?;
            return Ok(Exit::InvalidInput);
        }
    };
    let payload = match std::fs::read(job_path) {
        Ok(p) => p,
        Err(e) => {
            writeln!(err, "{}: io: {e}", job_path.display())?;
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
    let booklet = args
        .booklet
        .clone()
        .unwrap_or_else(|| super::diag_chip::document_number(&payload));
    let card = match office.card(&payload, &booklet, &settings.mrz, fault, os_rng()) {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "{}: {e}", job_path.display())?;
            return Ok(Exit::InvalidInput);
        }
    };
    writeln!(
        out,
        "virtual e-passport {booklet}{} on vpcd {} (Ctrl-C to take it off the reader)",
        args.fault
            .as_deref()
            .map(|f| format!(" (fault: {f})"))
            .unwrap_or_default(),
        args.vpcd
    )?;
    out.flush()?;
    serve(card, args.vpcd, &AtomicBool::new(false));
    Ok(Exit::Ok)
}

/// Keeps `card` on the reader at `addr` until `stop`: connects (again, whenever the reader
/// goes away) and answers each message. Blocking.
pub fn serve(mut card: Card, addr: SocketAddr, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let _ = stream.set_nodelay(true);
        let mut decoder = vpcd::Decoder::new();
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            let n = match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    // vpcd sends a length and then the APDU in two writes; acknowledging at
                    // once (not after the kernel's delayed-ACK wait) spares each APDU ~40 ms
                    // of Nagle's stall on vpcd's side. Linux clears the flag after use.
                    let _ = rustix::net::sockopt::set_tcp_quickack(&stream, true);
                    n
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(_) => break,
            };
            for message in decoder.push(&buf[..n]) {
                let answer = match message {
                    Message::PowerOff | Message::PowerOn | Message::Reset => {
                        card.reset();
                        None
                    }
                    Message::GetAtr => Some(ATR.to_vec()),
                    Message::Control(_) => None,
                    // A mute chip answers nothing: the reader times out.
                    Message::Apdu(apdu) => card.transmit(&apdu),
                };
                if let Some(bytes) = answer
                    && stream.write_all(&vpcd::encode(&bytes)).is_err()
                {
                    break;
                }
            }
        }
    }
}

/// A virtual card served on a thread until the handle is dropped (the demo's booklets).
pub struct ServedCard {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServedCard {
    /// Serves `card` on a thread.
    pub fn start(card: Card, addr: SocketAddr) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sim-chip".into())
            .spawn(move || serve(card, addr, &flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ServedCard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
