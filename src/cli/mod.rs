//! The `pstation` command line: argument definitions (clap) and one function per command.
//! Commands write to the given output and error streams and return an `Exit` code, so they can
//! be tested without a process.
//!
//! Exit codes: 0 success; 1 a check ran and failed (`mrz --check`); 2 invalid input (usage,
//! job, configuration, unreadable file) — one line per problem on stderr, nothing on stdout;
//! 3 internal error (a bug: e.g. a generated MRZ failed its own verification); 4 the printer
//! could not be reached or did not confirm (diagnostics); 5 the station daemon could not be
//! reached (operator commands).

mod bundle;
mod client;
pub mod daemon;
mod demo;
mod diag;
mod doctor;
mod keys;
mod ops;
mod render;
mod sim;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::api::wire;
use crate::config::{ConfigError, DEFAULT_TOML, Settings};
use crate::job::{self, Job, MAX_JOB_BYTES, ValidateOptions};
use crate::logging::LogFormat;
use crate::mrz::{self, MrzError};
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
    Demo {
        /// Judge the policy as on this date (YYYY-MM-DD) instead of today.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        today: Option<time::Date>,
        /// Where the data pages of accepted jobs are written.
        #[arg(long, value_name = "DIR", default_value = "pstation-demo")]
        out_dir: PathBuf,
    },
    /// Print the two MRZ lines of a job, or check two given lines (--check).
    #[command(arg_required_else_help = true)]
    Mrz {
        /// The job JSON file (`-` for stdin).
        #[arg(required_unless_present = "check", conflicts_with = "check")]
        job: Option<PathBuf>,
        /// Check two MRZ lines instead: exit 0 when valid, 1 naming each failed check.
        #[arg(long, num_args = 2, value_names = ["LINE1", "LINE2"])]
        check: Option<Vec<String>>,
        /// Station configuration (TOML); the embedded default when absent.
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate a job against ICAO rules (and the station policy with --policy).
    Validate {
        /// The job JSON file (`-` for stdin).
        job: PathBuf,
        /// Also apply the station's issuance policy.
        #[arg(long)]
        policy: bool,
        /// Station configuration (TOML); the embedded default when absent.
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
        /// Judge the policy as on this date (YYYY-MM-DD) instead of today.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        today: Option<time::Date>,
    },
    /// Lay out TD3 data pages as PDF (and PNG preview), or the calibration page.
    Render {
        /// Job JSON files (`-` for stdin).
        jobs: Vec<PathBuf>,
        /// Print the calibration page (rulers, zone outlines, MRZ test line) instead.
        #[arg(long)]
        calibration: bool,
        /// Output PDF for one job or the calibration page.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Output folder for several jobs (`<job_id>.pdf` each).
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Also write a PNG preview (one job or the calibration page).
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Resolution of the preview.
        #[arg(long, default_value_t = 300)]
        dpi: u32,
        /// Calibration offset to the right, in mm (overrides the configuration).
        #[arg(long, value_name = "MM", allow_hyphen_values = true)]
        offset_x: Option<f32>,
        /// Calibration offset upwards, in mm (overrides the configuration).
        #[arg(long, value_name = "MM", allow_hyphen_values = true)]
        offset_y: Option<f32>,
        /// Station configuration (TOML); the embedded default when absent.
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
        /// Data page template (TOML); the configured or shipped template when absent.
        #[arg(long, value_name = "FILE")]
        template: Option<PathBuf>,
        /// Apply ICAO rules only, not the station policy (specimens, other States' data).
        #[arg(long)]
        icao_only: bool,
        /// Judge the policy as on this date (YYYY-MM-DD) instead of today.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        today: Option<time::Date>,
    },
    /// Run the simulated passport printer on a PTY and/or TCP (control words on stdin).
    #[command(after_help = pstation_sim::control_help())]
    Sim {
        /// Listen on TCP (e.g. 127.0.0.1:0; the bound port is printed).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Serve on a pseudo-terminal (the default when --listen is absent); prints its path.
        /// Each host connection gets a fresh PTY (like a USB adapter re-enumerating): the
        /// printed path serves one connection; use --link for a name that lasts.
        #[arg(long)]
        pty: bool,
        /// Keep a symlink at PATH pointing at the current pseudo-terminal.
        #[arg(long, value_name = "PATH")]
        link: Option<PathBuf>,
        /// Pace reads at this baud rate (8N1); 0 = no pacing.
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Write a PNG per printed page and jobs.jsonl here.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// A control word applied at start, e.g. cover-open or jam@page1 (repeatable; the
        /// words are listed below).
        #[arg(long, value_name = "FAULT")]
        fault: Vec<String>,
        /// Blank booklets in the hopper.
        #[arg(long, default_value_t = 50)]
        hopper: u32,
        /// Time to personalise one booklet, in ms.
        #[arg(long, default_value_t = 8_000)]
        page_ms: u64,
        /// Warm-up after power-on, in ms.
        #[arg(long, default_value_t = 3_000)]
        warm_up_ms: u64,
    },
    /// Run the station daemon: durable queue, print engine and HTTP API (SIGTERM stops safely).
    Serve {
        /// Station configuration (TOML); the embedded default when absent.
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
        /// Data folder (overrides daemon.data_dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Printer device URI (overrides daemon.device).
        #[arg(long, value_name = "URI")]
        device: Option<String>,
        /// API address (overrides daemon.listen; port 0 picks a free port, printed).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Self-check: configuration, data folder, store, clock and printer, each OK or PROBLEM with
    /// what to do; exit 0 only when the station can print.
    Doctor {
        /// Station configuration (TOML); the embedded default when absent.
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
        /// Data folder (overrides daemon.data_dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Printer device URI (overrides daemon.device).
        #[arg(long, value_name = "URI")]
        device: Option<String>,
    },
    /// Write a support bundle (.tar.gz): doctor's report, versions, the configuration without
    /// secrets, store counts, recent events and attempts, printer identity and history — no
    /// personal data.
    SupportBundle {
        /// The .tar.gz to write (must not exist).
        out: PathBuf,
        /// Station configuration (TOML); the embedded default when absent.
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
        /// Data folder (overrides daemon.data_dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Printer device URI (overrides daemon.device).
        #[arg(long, value_name = "URI")]
        device: Option<String>,
    },
    /// Audit tools: `audit verify` recomputes the event log's hash chain (exit 0 when intact).
    Audit {
        /// What to do.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Copy the store to FILE, consistent while the daemon runs (checked before it is kept).
    Backup {
        /// The new backup file.
        file: PathBuf,
        /// Station configuration (for daemon.data_dir).
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
        /// Data folder (overrides daemon.data_dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Put a backup in place as the store (refused while the daemon runs; the old store is
    /// kept beside it).
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Station configuration (for daemon.data_dir).
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
        /// Data folder (overrides daemon.data_dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Submit a job to the running station.
    Submit {
        /// The job JSON file (`-` for stdin).
        job: PathBuf,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// Whether the running station is healthy (`GET /api/health`): exit 0 ok, 1 degraded (each
    /// problem named), 5 unreachable. `--wait SECS` asks again until it answers, e.g. right
    /// after `pstation serve &`.
    Health {
        /// Keep asking for up to this many seconds while the daemon cannot be reached.
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        wait: u64,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// List the station's jobs.
    Jobs {
        /// Only jobs in this state (queued, held, printing, printed, completed, ...).
        #[arg(long)]
        state: Option<String>,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// Show a job or act on it (hold, release, cancel, confirm-booklet, verify, spoil, reprint).
    Job {
        /// What to do.
        #[command(subcommand)]
        action: JobCommand,
    },
    /// Booklet stock: receive a batch, list, reconcile.
    Booklets {
        /// What to do.
        #[command(subcommand)]
        action: BookletsCommand,
    },
    /// The printer as the station sees it.
    Printer {
        /// What to do.
        #[command(subcommand)]
        action: PrinterCommand,
    },
    /// Technician diagnostics: ports, probe, status, test page, raw PJL console.
    Diag {
        /// What to do.
        #[command(subcommand)]
        action: DiagCommand,
    },
    /// Keys: the central office's signing key (`keys generate --kid ID --out KEY.jwk`, for
    /// integrators and tests) and the station's store key (`keys store-key --out FILE`).
    Keys {
        /// What to do.
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Sign a job as the central office does: a compact JWS (EdDSA) of its exact bytes.
    Sign {
        /// The job JSON file (`-` for stdin).
        job: PathBuf,
        /// The private key (JWK) from `pstation keys generate`.
        #[arg(long)]
        key: PathBuf,
        /// Seconds until the approval expires.
        #[arg(long, default_value_t = 86_400)]
        expires_in: u32,
        /// Write the JWS here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// API tokens: `token new --name NAME --role ROLE` prints a new token once and the
    /// `[api] users` line holding only its SHA-256.
    Token {
        /// What to do.
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Configuration tools.
    Config {
        /// What to do.
        #[command(subcommand)]
        action: ConfigAction,
    },
}

/// `pstation audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify the event log's hash chain: any edited, inserted or removed event is named.
    Verify {
        /// Station configuration (for daemon.data_dir).
        #[arg(long, env = "PSTATION_CONFIG")]
        config: Option<PathBuf>,
        /// Data folder (overrides daemon.data_dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Verify this store file instead (e.g. a backup).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// `pstation token …`.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a token for a user.
    New {
        /// The user's name (recorded as the actor of what they do).
        #[arg(long)]
        name: String,
        /// central, operator, supervisor, technician or admin.
        #[arg(long)]
        role: String,
    },
}

/// `pstation keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Make a new Ed25519 key pair: the private key as a JWK file (mode 0600) and the line for
    /// the stations' `[central] keys`.
    Generate {
        /// The key id the signatures will carry (e.g. co-2026-1).
        #[arg(long)]
        kid: String,
        /// Where to write the private key (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Make the station's store key (the personal data in the store is encrypted with it): a
    /// new random key in a file of mode 0600, never replacing one. Keep it outside the data
    /// folder (daemon.key_file) and back it up apart from it.
    StoreKey {
        /// Where to write it (must not exist), e.g. /etc/pstation/store.key.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `pstation job …`.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// The job and its event history.
    Show {
        /// Job id.
        id: String,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// The job's data page as it prints (PDF), to check a booklet against (operator,
    /// supervisor). The file holds personal data: delete it when done.
    Page {
        /// Job id.
        id: String,
        /// Where to write the PDF.
        #[arg(long)]
        out: PathBuf,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// Keep a queued job from printing.
    Hold {
        /// Job id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// Put a held or failed job back in the queue, or one in doubt whose booklet is blank.
    Release {
        /// Job id.
        id: String,
        /// Why (required for a job in doubt: what the operator saw).
        #[arg(long)]
        reason: Option<String>,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// Cancel a job (a printing job is stopped as far as the printer allows).
    Cancel {
        /// Job id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// Confirm the number of the booklet loaded in the printer for this job.
    ConfirmBooklet {
        /// Job id.
        id: String,
        /// The booklet number, as typed or scanned.
        number: String,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// The printed booklet is good (after printed or needs-verification).
    Verify {
        /// Job id.
        id: String,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// The booklet is ruined.
    Spoil {
        /// Job id.
        id: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// Print a spoiled job again on a new booklet, approved by a second person.
    Reprint {
        /// Job id.
        id: String,
        /// The new booklet's number.
        #[arg(long)]
        booklet: String,
        /// The approving supervisor (not the operator), on a lab station; with tokens the
        /// supervisor is the owner of --supervisor-token.
        #[arg(long)]
        supervisor: Option<String>,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
}

/// `pstation booklets …`.
#[derive(Debug, Subcommand)]
pub enum BookletsCommand {
    /// Receive a batch of blank booklets (FIRST..=LAST).
    Receive {
        /// First number of the batch.
        first: String,
        /// Last number of the batch.
        last: String,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// Batches and booklets (only those not in stock, unless --state).
    List {
        /// Only booklets in this state (in-stock, loaded, issued, spoiled).
        #[arg(long)]
        state: Option<String>,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
    /// Prove received = issued + spoiled + in stock; exit 1 and list differences otherwise.
    Reconcile {
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
}

/// `pstation printer …`.
#[derive(Debug, Subcommand)]
pub enum PrinterCommand {
    /// State, reasons and what to do; with --watch, every change.
    Status {
        /// Follow changes until interrupted.
        #[arg(long)]
        watch: bool,
        /// Daemon address and user.
        #[command(flatten)]
        client: client::ClientArgs,
    },
}

/// `pstation diag …`.
#[derive(Debug, Subcommand)]
pub enum DiagCommand {
    /// List serial ports (with USB VID/PID/serial number) and USB printer-class nodes.
    Ports,
    /// Model, firmware configuration, page count and status of a printer.
    Probe {
        /// Device URI (serial://..., usblp://..., tcp://...).
        #[arg(long)]
        device: String,
    },
    /// The printer's status now, or on every change with --watch.
    Status {
        /// Device URI.
        #[arg(long)]
        device: String,
        /// Keep watching until interrupted.
        #[arg(long)]
        watch: bool,
    },
    /// Print the calibration page; exit 0 only when the printer confirms it came out.
    TestPage {
        /// Device URI.
        #[arg(long)]
        device: String,
    },
    /// Raw PJL: one command per line on stdin, the replies on stdout.
    Console {
        /// Device URI.
        #[arg(long)]
        device: String,
    },
    /// Serial loopback test (TX wired to RX): data integrity and throughput.
    Loopback {
        /// Device URI.
        #[arg(long)]
        device: String,
        /// How many bytes to send.
        #[arg(long, default_value_t = 65_536)]
        bytes: usize,
    },
}

/// `pstation config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the embedded default configuration, with comments.
    Default,
    /// Check a configuration file and report every problem.
    Check {
        /// The TOML file (`-` for standard input).
        file: PathBuf,
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
        Command::Demo { today, out_dir } => demo::run(today, &out_dir, out, err),
        Command::Mrz {
            check: Some(lines), ..
        } => mrz_check(&lines, out, err),
        Command::Mrz {
            job: Some(job),
            config,
            ..
        } => mrz_of_job(&job, config.as_deref(), out, err),
        Command::Mrz { .. } => {
            let _ = writeln!(
                err,
                "usage: pstation mrz JOB.json | pstation mrz --check LINE1 LINE2"
            );
            Ok(Exit::InvalidInput)
        }
        Command::Validate {
            job,
            policy,
            config,
            today,
        } => validate(&job, policy, config.as_deref(), today, out, err),
        Command::Config { action } => config_command(action, out, err),
        Command::Token {
            action: TokenAction::New { name, role },
        } => keys::new_token(&name, &role, out, err),
        Command::Keys {
            action: KeysAction::Generate { kid, out: file },
        } => keys::generate(&kid, &file, out, err),
        Command::Keys {
            action: KeysAction::StoreKey { out: file },
        } => keys::store_key(&file, out, err),
        Command::Sign {
            job,
            key,
            expires_in,
            out: file,
        } => keys::sign(&job, &key, expires_in, file, out, err),
        Command::Serve {
            config,
            data_dir,
            device,
            listen,
        } => daemon::run(
            daemon::ServeArgs {
                config,
                data_dir,
                device,
                listen,
            },
            out,
            err,
        ),
        Command::Submit { job, client } => client::submit(&client, &job, out, err),
        Command::SupportBundle {
            out: file,
            config,
            data_dir,
            device,
        } => bundle::run(
            bundle::BundleArgs {
                out: file,
                config,
                data_dir,
                device,
            },
            out,
            err,
        ),
        Command::Doctor {
            config,
            data_dir,
            device,
        } => doctor::run(
            doctor::DoctorArgs {
                config,
                data_dir,
                device,
            },
            out,
            err,
        ),
        Command::Audit {
            action:
                AuditAction::Verify {
                    config,
                    data_dir,
                    file,
                },
        } => ops::audit_verify(config.as_deref(), data_dir, file, out, err),
        Command::Backup {
            file,
            config,
            data_dir,
        } => ops::backup(config.as_deref(), data_dir, &file, out, err),
        Command::Restore {
            file,
            config,
            data_dir,
        } => ops::restore(config.as_deref(), data_dir, &file, out, err),
        Command::Jobs { state, client } => client::jobs(&client, state.as_deref(), out, err),
        Command::Health { wait, client } => client::health(&client, wait, out, err),
        Command::Job { action } => match action {
            JobCommand::Show { id, client } => client::show(&client, &id, out, err),
            JobCommand::Page {
                id,
                out: file,
                client,
            } => client::page(&client, &id, &file, out, err),
            JobCommand::Hold { id, reason, client } => client::act(
                &client,
                &id,
                "hold",
                wire::ActionBody {
                    reason,
                    ..Default::default()
                },
                out,
                err,
            ),
            JobCommand::Release { id, reason, client } => client::act(
                &client,
                &id,
                "release",
                wire::ActionBody {
                    reason,
                    ..Default::default()
                },
                out,
                err,
            ),
            JobCommand::Cancel { id, reason, client } => client::act(
                &client,
                &id,
                "cancel",
                wire::ActionBody {
                    reason,
                    ..Default::default()
                },
                out,
                err,
            ),
            JobCommand::ConfirmBooklet { id, number, client } => client::act(
                &client,
                &id,
                "confirm-booklet",
                wire::ActionBody {
                    booklet: Some(number),
                    ..Default::default()
                },
                out,
                err,
            ),
            JobCommand::Verify { id, client } => client::act(
                &client,
                &id,
                "verify",
                wire::ActionBody::default(),
                out,
                err,
            ),
            JobCommand::Spoil { id, reason, client } => client::act(
                &client,
                &id,
                "spoil",
                wire::ActionBody {
                    reason: Some(reason),
                    ..Default::default()
                },
                out,
                err,
            ),
            JobCommand::Reprint {
                id,
                booklet,
                supervisor,
                reason,
                client,
            } => client::act(
                &client,
                &id,
                "reprint",
                wire::ActionBody {
                    booklet: Some(booklet),
                    supervisor,
                    reason,
                },
                out,
                err,
            ),
        },
        Command::Booklets { action } => match action {
            BookletsCommand::Receive {
                first,
                last,
                client,
            } => client::receive(&client, &first, &last, out, err),
            BookletsCommand::List { state, client } => {
                client::list_booklets(&client, state.as_deref(), out, err)
            }
            BookletsCommand::Reconcile { client } => client::reconcile(&client, out, err),
        },
        Command::Printer {
            action: PrinterCommand::Status { watch, client },
        } => client::printer_status(&client, watch, out, err),
        Command::Sim {
            listen,
            pty,
            link,
            baud,
            out: out_dir,
            fault,
            hopper,
            page_ms,
            warm_up_ms,
        } => sim::run(
            sim::SimArgs {
                listen,
                pty,
                link,
                baud,
                out: out_dir,
                faults: fault,
                hopper,
                page_ms,
                warm_up_ms,
            },
            out,
            err,
        ),
        Command::Diag { action } => diag::run(
            match action {
                DiagCommand::Ports => diag::DiagAction::Ports,
                DiagCommand::Probe { device } => diag::DiagAction::Probe(device),
                DiagCommand::Status { device, watch } => diag::DiagAction::Status(device, watch),
                DiagCommand::TestPage { device } => diag::DiagAction::TestPage(device),
                DiagCommand::Console { device } => diag::DiagAction::Console(device),
                DiagCommand::Loopback { device, bytes } => {
                    diag::DiagAction::Loopback(device, bytes)
                }
            },
            out,
            err,
        ),
        Command::Render {
            jobs,
            calibration,
            out: out_file,
            out_dir,
            png,
            dpi,
            offset_x,
            offset_y,
            config,
            template,
            icao_only,
            today,
        } => render::run(
            render::RenderArgs {
                icao_only,
                today,
                jobs,
                calibration,
                out: out_file,
                out_dir,
                png,
                dpi,
                offset_x,
                offset_y,
                config,
                template,
            },
            out,
            err,
        ),
    };
    // A failed write to stdout/stderr (e.g. a closed pipe) leaves nothing useful to report.
    result.unwrap_or(Exit::Internal)
}

type CmdResult = std::io::Result<Exit>;

fn load_settings(path: Option<&Path>, err: &mut dyn Write) -> std::io::Result<Option<Settings>> {
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
        match crate::printer::uri::DeviceUri::parse(d) {
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
fn load_job(
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

fn mrz_of_job(
    path: &Path,
    config: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some(settings) = load_settings(config, err)? else {
        return Ok(Exit::InvalidInput);
    };
    let opts = ValidateOptions {
        require_portrait: false,
    };
    let Some(job) = load_job(path, &opts, err)? else {
        return Ok(Exit::InvalidInput);
    };
    match mrz::generate(&job.td3_input(), &settings.mrz) {
        Ok(td3) => {
            tracing::debug!(job_id = %job.job_id, truncated = td3.name_truncated, "MRZ generated and verified");
            writeln!(out, "{}", td3.line1)?;
            writeln!(out, "{}", td3.line2)?;
            if td3.possibly_truncated {
                writeln!(err, "note: {}", truncation_note(&job, td3.name_truncated))?;
            }
            Ok(Exit::Ok)
        }
        Err(e) => match mrz_problem(&e) {
            Some(p) => {
                writeln!(err, "{p}")?;
                Ok(Exit::InvalidInput)
            }
            None => {
                tracing::error!(job_id = %job.job_id, error = %e, "MRZ self-check failed");
                writeln!(err, "$: internal-error: {e}")?;
                Ok(Exit::Internal)
            }
        },
    }
}

fn mrz_check(lines: &[String], out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let [l1, l2] = lines else {
        writeln!(err, "usage: pstation mrz --check LINE1 LINE2")?;
        return Ok(Exit::InvalidInput);
    };
    let report = mrz::check(l1, l2);
    for note in &report.notes {
        writeln!(err, "note: {note}")?;
    }
    if report.is_valid() {
        writeln!(out, "valid")?;
        Ok(Exit::Ok)
    } else {
        for f in &report.failures {
            writeln!(err, "{f}")?;
        }
        Ok(Exit::CheckFailed)
    }
}

/// `--today`: an ISO date, parsed by clap (a bad value is a usage error, exit 2).
fn parse_date(s: &str) -> Result<time::Date, String> {
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

fn validate(
    path: &Path,
    policy: bool,
    config: Option<&Path>,
    today: Option<time::Date>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some(settings) = load_settings(config, err)? else {
        return Ok(Exit::InvalidInput);
    };
    let today = today.unwrap_or_else(|| crate::today_at(settings.utc_offset));
    let opts = ValidateOptions {
        require_portrait: true,
    };
    let Some(job) = load_job(path, &opts, err)? else {
        return Ok(Exit::InvalidInput);
    };
    let mut problems = Vec::new();
    if policy {
        problems.extend(settings.policy.check(&job, today));
    }
    let mut truncated = None;
    match mrz::generate(&job.td3_input(), &settings.mrz) {
        Ok(td3) => truncated = td3.possibly_truncated.then_some(td3.name_truncated),
        Err(e) => match mrz_problem(&e) {
            Some(p) => problems.push(p),
            None => {
                tracing::error!(job_id = %job.job_id, error = %e, "MRZ self-check failed");
                writeln!(err, "$: internal-error: {e}")?;
                return Ok(Exit::Internal);
            }
        },
    }
    if !problems.is_empty() {
        for p in &problems {
            writeln!(err, "{p}")?;
        }
        return Ok(Exit::InvalidInput);
    }
    if let Some(truncated) = truncated {
        writeln!(err, "note: {}", truncation_note(&job, truncated))?;
    }
    let scope = if policy {
        "ICAO and station policy"
    } else {
        "ICAO"
    };
    writeln!(out, "valid: {} ({scope})", job.job_id)?;
    Ok(Exit::Ok)
}

fn config_command(action: ConfigAction, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    match action {
        ConfigAction::Default => {
            out.write_all(DEFAULT_TOML.as_bytes())?;
            Ok(Exit::Ok)
        }
        ConfigAction::Check { file } => match load_settings(Some(&file), err)? {
            Some(_) => {
                let name = if file.as_os_str() == "-" {
                    "(standard input)".into()
                } else {
                    file.display().to_string()
                };
                writeln!(out, "valid: {name}")?;
                Ok(Exit::Ok)
            }
            None => Ok(Exit::InvalidInput),
        },
    }
}
