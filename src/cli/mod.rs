//! The `pstation` command line: the command enum and its one-line-per-command dispatcher (each
//! command's arguments, `clap::Args`, and its function are in the command's own file).
//! Commands write to the given output and error streams and return an `Exit` code, so they can
//! be tested without a process.
//!
//! Exit codes: 0 success; 1 a check ran and failed (`mrz --check`); 2 invalid input (usage,
//! job, configuration, unreadable file) — one line per problem on stderr, nothing on stdout;
//! 3 internal error (a bug: e.g. a generated MRZ failed its own verification); 4 the printer
//! could not be reached or did not confirm (diagnostics); 5 the station daemon could not be
//! reached (operator commands).

mod adapter;
mod bundle;
mod check;
mod client;
mod client_booklets;
pub mod daemon;
mod demo;
mod demo_chip;
mod diag;
mod diag_chip;
mod doctor;
mod keys;
mod ops;
mod render;
mod sim;
pub mod sim_chip;
pub mod sim_reader;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::{ConfigError, Settings};
use crate::job::{self, Job, MAX_JOB_BYTES, ValidateOptions};
use crate::logging::LogFormat;
use crate::mrz::MrzError;
use crate::problem::Problem;

/// Passport print station controller.
#[derive(Debug, Parser)]
#[command(name = "pstation", version, about, long_about = None)]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub log_format: LogFormat,
    /// Log filter (e.g. `info`, `pstation=debug`); PSTATION_LOG or RUST_LOG override it.
    #[arg(long, global = true, default_value = "warn")]
    pub log_level: String,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the station demo on the embedded defaults (sample jobs, no configuration needed).
    Demo(demo::DemoArgs),
    /// Print the two MRZ lines of a job, or check two given lines (--check).
    #[command(arg_required_else_help = true)]
    Mrz(check::MrzArgs),
    /// Validate a job against ICAO rules (and the station policy with --policy).
    Validate(check::ValidateArgs),
    /// Lay out TD3 data pages as PDF (and PNG preview), or the calibration page.
    Render(render::RenderArgs),
    /// Run the simulated passport printer on a PTY and/or TCP (control words on stdin).
    #[command(after_help = pstation_sim::control_help())]
    Sim(sim::SimArgs),
    /// A simulated MRZ document reader on a PTY: reads the printer simulator's page images with
    /// its own OCR-B reader and sends the lines in a reader's framing; faults on stdin.
    #[command(name = "sim-reader", after_help = format!("Control words (stdin, or --fault): {}", sim_reader::CONTROL_WORDS))]
    SimReader(sim_reader::SimReaderArgs),
    /// A virtual e-passport chip for a job, on a vpcd port (the station's own, or vsmartcard's
    /// vpcd in front of pcscd), with faults on demand.
    SimChip(sim_chip::SimChipArgs),
    /// Run the station daemon: durable queue, print engine and HTTP API (SIGTERM stops safely).
    Serve(daemon::ServeArgs),
    /// Self-check: configuration, data folder, store, clock and printer, each OK or PROBLEM with
    /// what to do; exit 0 only when the station can print.
    Doctor(doctor::DoctorArgs),
    /// Write a support bundle (.tar.gz): doctor's report, versions, the configuration without
    /// secrets, store counts, recent events and attempts, printer identity and history — no
    /// personal data.
    SupportBundle(bundle::BundleArgs),
    /// Audit tools: `audit verify` recomputes the event log's hash chain (exit 0 when intact).
    Audit {
        /// What to do.
        #[command(subcommand)]
        action: ops::AuditAction,
    },
    /// Copy the store to FILE, consistent while the daemon runs (checked before it is kept).
    Backup(ops::BackupArgs),
    /// Put a backup in place as the store (refused while the daemon runs; the old store is
    /// kept beside it).
    Restore(ops::RestoreArgs),
    /// Submit a job to the running station.
    Submit(client::SubmitArgs),
    /// Whether the running station is healthy (`GET /api/health`): exit 0 ok, 1 degraded (each
    /// problem named), 5 unreachable. `--wait SECS` asks again until it answers, e.g. right
    /// after `pstation serve &`.
    Health(client::HealthArgs),
    /// List the station's jobs.
    Jobs(client::JobsArgs),
    /// Show a job or act on it (hold, release, cancel, confirm-booklet, verify, spoil, reprint,
    /// request-reprint).
    Job {
        /// What to do.
        #[command(subcommand)]
        action: client::JobCommand,
    },
    /// Booklet stock: receive a batch, list, reconcile.
    Booklets {
        /// What to do.
        #[command(subcommand)]
        action: client::BookletsCommand,
    },
    /// The printer as the station sees it.
    Printer {
        /// What to do.
        #[command(subcommand)]
        action: client::PrinterCommand,
    },
    /// Printer adapters for vendor SDKs: `adapter test -- PROGRAM ARGS` runs the protocol's
    /// conformance cases against one.
    Adapter {
        /// What to do.
        #[command(subcommand)]
        action: adapter::AdapterCommand,
    },
    /// Technician diagnostics: ports, probe, status, test page, raw console (PJL).
    Diag {
        /// What to do.
        #[command(subcommand)]
        action: diag::DiagCommand,
    },
    /// Keys: the central office's signing key (`keys generate --kid ID --out KEY.jwk`, for
    /// integrators and tests) and the station's store key (`keys store-key --out FILE`).
    Keys {
        /// What to do.
        #[command(subcommand)]
        action: keys::KeysAction,
    },
    /// Sign a job as the central office does: a compact JWS (EdDSA) of its exact bytes.
    Sign(keys::SignArgs),
    /// API tokens: `token new --name NAME --role ROLE` prints a new token once and the
    /// `[api] users` line holding only its SHA-256.
    Token {
        /// What to do.
        #[command(subcommand)]
        action: keys::TokenAction,
    },
    /// Configuration tools.
    Config {
        /// What to do.
        #[command(subcommand)]
        action: check::ConfigAction,
    },
}

/// A process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0.
    Ok,
    /// 1: a check ran and failed.
    CheckFailed,
    /// 2: invalid input.
    InvalidInput,
    /// 3: internal error.
    Internal,
    /// 4: the device could not be reached or did not confirm.
    Device,
    /// 5: the station daemon could not be reached.
    Unavailable,
}

impl Exit {
    /// The numeric exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::CheckFailed => 1,
            Exit::InvalidInput => 2,
            Exit::Internal => 3,
            Exit::Device => 4,
            Exit::Unavailable => 5,
        }
    }
}

/// Runs one command. Output that is the command's result goes to `out`; problems and notes go
/// to `err`.
pub fn run(command: Command, out: &mut dyn Write, err: &mut dyn Write) -> Exit {
    let result = match command {
        Command::Demo(a) => demo::run(a.today, &a.out_dir, out, err),
        Command::Mrz(a) => check::mrz(a, out, err),
        Command::Validate(a) => check::validate(a, out, err),
        Command::Config { action } => check::config(action, out, err),
        Command::Render(a) => render::run(a, out, err),
        Command::Sim(a) => sim::run(a, out, err),
        Command::SimReader(a) => sim_reader::run(a, out, err),
        Command::SimChip(a) => sim_chip::run(a, out, err),
        Command::Serve(a) => daemon::run(a, out, err),
        Command::Doctor(a) => doctor::run(a, out, err),
        Command::SupportBundle(a) => bundle::run(a, out, err),
        Command::Audit { action } => ops::audit(action, out, err),
        Command::Backup(a) => ops::backup(a, out, err),
        Command::Restore(a) => ops::restore(a, out, err),
        Command::Submit(a) => client::submit(&a.client, &a.job, out, err),
        Command::Health(a) => client::health(&a.client, a.wait, out, err),
        Command::Jobs(a) => client::jobs(&a.client, a.state.as_deref(), out, err),
        Command::Job { action } => client::job(action, out, err),
        Command::Booklets { action } => client::booklets(action, out, err),
        Command::Printer { action } => client::printer(action, out, err),
        Command::Adapter { action } => adapter::run(action, out, err),
        Command::Diag { action } => diag::run(action, out, err),
        Command::Keys { action } => keys::keys(action, out, err),
        Command::Sign(a) => keys::sign(&a.job, &a.key, a.expires_in, a.out, out, err),
        Command::Token { action } => keys::token(action, out, err),
    };
    // A failed write to stdout/stderr (e.g. a closed pipe) leaves nothing useful to report.
    result.unwrap_or(Exit::Internal)
}

type CmdResult = std::io::Result<Exit>;

pub(super) fn load_settings(
    path: Option<&Path>,
    err: &mut dyn Write,
) -> std::io::Result<Option<Settings>> {
    match Settings::load_or_default(path) {
        Ok(s) => Ok(Some(s)),
        Err(ConfigError::Invalid(problems)) => {
            for p in &problems.0 {
                writeln!(err, "{p}")?;
            }
            Ok(None)
        }
        Err(e) => {
            writeln!(err, "{e}")?;
            Ok(None)
        }
    }
}

/// Applies `--data-dir` and `--device` to `settings`; `false` (the problem written to `err`)
/// when the device URI is not valid.
fn apply_overrides(
    settings: &mut Settings,
    data_dir: Option<PathBuf>,
    device: Option<&str>,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    if let Some(d) = data_dir {
        settings.daemon.data_dir = d;
    }
    if let Some(d) = device {
        match crate::printer::parse_uri(d) {
            Ok(u) => settings.daemon.device = u,
            Err(e) => {
                writeln!(err, "--device: {e}")?;
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Reads a job file (or stdin for `-`), refusing more than `MAX_JOB_BYTES`.
pub fn read_job_bytes(path: &Path) -> Result<Vec<u8>, Problem> {
    let display = path.display().to_string();
    let mut reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Box::new(f),
            Err(e) => return Err(Problem::new(display, "io", format!("cannot open: {e}"))),
        }
    };
    let mut bytes = Vec::new();
    let limit = MAX_JOB_BYTES as u64 + 1;
    if let Err(e) = reader.by_ref().take(limit).read_to_end(&mut bytes) {
        return Err(Problem::new(display, "io", format!("cannot read: {e}")));
    }
    if bytes.len() > MAX_JOB_BYTES {
        return Err(Problem::new(
            display,
            "too-large",
            format!("the job is larger than {MAX_JOB_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// Reads and validates a job; on failure writes every problem to `err`.
pub(super) fn load_job(
    path: &Path,
    opts: &ValidateOptions,
    err: &mut dyn Write,
) -> std::io::Result<Option<Job>> {
    let bytes = match read_job_bytes(path) {
        Ok(b) => b,
        Err(p) => {
            writeln!(err, "{p}")?;
            return Ok(None);
        }
    };
    match job::parse_job(&bytes, opts) {
        Ok(job) => Ok(Some(job)),
        Err(problems) => {
            for p in &problems.0 {
                writeln!(err, "{p}")?;
            }
            Ok(None)
        }
    }
}

/// Maps an MRZ engine error on a validated job to a problem line, or `None` for internal errors.
pub(crate) fn mrz_problem(e: &MrzError) -> Option<Problem> {
    match e {
        MrzError::InvalidField { field, reason } => Some(Problem::new(
            format!("document.{field}"),
            "mrz-field",
            reason.clone(),
        )),
        MrzError::Untransliterable { field, source } => Some(Problem::new(
            format!("document.{field}"),
            "name-character",
            source.to_string(),
        )),
        MrzError::Name(n) => Some(Problem::new("document.surname", "mrz-name", n.to_string())),
        MrzError::SelfCheck(_) => None,
    }
}

/// The operator's note for a letter in line 1 position 44.
pub(crate) fn truncation_note(job: &Job, truncated: bool) -> String {
    if truncated {
        format!(
            "document.given_names: name-truncated: the name of job {} does not fit the 39 MRZ positions and was truncated; the VIZ shows it in full",
            job.job_id
        )
    } else {
        format!(
            "document.given_names: name-possibly-truncated: the name of job {} fills all 39 MRZ positions; readers will flag it as possibly truncated",
            job.job_id
        )
    }
}

/// `--today`: an ISO date, parsed by clap (a bad value is a usage error, exit 2).
pub(super) fn parse_date(s: &str) -> Result<time::Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &format)
        .map_err(|_| format!("date-format: {s:?} is not a date YYYY-MM-DD"))
}

/// The tokio runtime for the commands that do I/O (demo, sim, diag), or `None` after saying why.
pub(crate) fn runtime(err: &mut dyn Write) -> std::io::Result<Option<tokio::runtime::Runtime>> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => Ok(Some(r)),
        Err(e) => {
            writeln!(err, "$: internal-error: cannot start the runtime: {e}")?;
            Ok(None)
        }
    }
}
