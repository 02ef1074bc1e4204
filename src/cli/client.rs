//! The operator's commands over the daemon's HTTP API: `submit`, `jobs`, `job …`,
//! `booklets …`, `printer status [--watch]`. Each prints a human summary (or the API's JSON
//! with `--json`) and maps the answer to an exit code: 0 done, 2 refused (the error code and
//! message on stderr), 3 the daemon failed, 5 the daemon could not be reached.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use serde::Serialize;
use serde_json::Value;

pub use super::client_booklets::BookletsCommand;
pub(super) use super::client_booklets::booklets;
use super::{CmdResult, Exit};
use crate::api::wire;
use crate::client::{Client, ClientError, Credentials, HEALTH_TIMEOUT};

/// Where the daemon is and who is acting.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The station daemon's address.
    #[arg(long, env = "PSTATION_URL", default_value = "http://127.0.0.1:8631")]
    pub url: String,
    /// Who is acting (recorded in the event log) on a lab station without tokens.
    #[arg(long, env = "PSTATION_USER")]
    pub user: Option<String>,
    /// Your API token (from `pstation token new`); sent as `Authorization: Bearer`.
    #[arg(long, env = "PSTATION_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A supervisor's token, for a reprint (the second person).
    #[arg(long, env = "PSTATION_SUPERVISOR_TOKEN", hide_env_values = true)]
    pub supervisor_token: Option<String>,
    /// Print the API's JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// `pstation submit` arguments.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The job JSON file (`-` for stdin).
    pub job: PathBuf,
    /// Daemon address and user.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `pstation health` arguments.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Keep asking for up to this many seconds while the daemon cannot be reached.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub wait: u64,
    /// Daemon address and user.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `pstation jobs` arguments.
#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    /// Only jobs in this state (queued, held, printing, printed, completed, ...).
    #[arg(long)]
    pub state: Option<String>,
    /// Daemon address and user.
    #[command(flatten)]
    pub client: ClientArgs,
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
        client: ClientArgs,
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
        client: ClientArgs,
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
        client: ClientArgs,
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
        client: ClientArgs,
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
        client: ClientArgs,
    },
    /// Confirm the number of the booklet loaded in the printer for this job.
    ConfirmBooklet {
        /// Job id.
        id: String,
        /// The booklet number, as typed or scanned.
        number: String,
        /// Daemon address and user.
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The printed booklet is good (after printed or needs-verification).
    Verify {
        /// Job id.
        id: String,
        /// Daemon address and user.
        #[command(flatten)]
        client: ClientArgs,
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
        client: ClientArgs,
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
        client: ClientArgs,
    },
    /// An e-passport (spoiled, or held by its chip check) goes back to the central office,
    /// which sends a new signed job on another booklet.
    RequestReprint {
        /// Job id.
        id: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
        /// Daemon address and user.
        #[command(flatten)]
        client: ClientArgs,
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
        client: ClientArgs,
    },
}

/// `pstation job …`: one action, one request.
pub(super) fn job(command: JobCommand, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let body = |reason: Option<String>| wire::ActionBody {
        reason,
        ..Default::default()
    };
    match command {
        JobCommand::Show { id, client } => show(&client, &id, out, err),
        JobCommand::Page {
            id,
            out: file,
            client,
        } => page(&client, &id, &file, out, err),
        JobCommand::Hold { id, reason, client } => {
            act(&client, &id, "hold", body(reason), out, err)
        }
        JobCommand::Release { id, reason, client } => {
            act(&client, &id, "release", body(reason), out, err)
        }
        JobCommand::Cancel { id, reason, client } => {
            act(&client, &id, "cancel", body(reason), out, err)
        }
        JobCommand::ConfirmBooklet { id, number, client } => {
            let confirm = wire::ActionBody {
                booklet: Some(number),
                ..Default::default()
            };
            act(&client, &id, "confirm-booklet", confirm, out, err)
        }
        JobCommand::Verify { id, client } => act(&client, &id, "verify", body(None), out, err),
        JobCommand::Spoil { id, reason, client } => {
            act(&client, &id, "spoil", body(Some(reason)), out, err)
        }
        JobCommand::Reprint {
            id,
            booklet,
            supervisor,
            reason,
            client,
        } => {
            let reprint = wire::ActionBody {
                booklet: Some(booklet),
                supervisor,
                reason,
            };
            act(&client, &id, "reprint", reprint, out, err)
        }
        JobCommand::RequestReprint { id, reason, client } => act(
            &client,
            &id,
            "request-reprint",
            body(Some(reason)),
            out,
            err,
        ),
    }
}

/// `pstation printer …`.
pub(super) fn printer(
    command: PrinterCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    match command {
        PrinterCommand::Status { watch, client } => printer_status(&client, watch, out, err),
    }
}

impl ClientArgs {
    /// The API client as this user.
    pub(super) fn client(&self) -> Client {
        Client::new(
            &self.url,
            Credentials {
                user: self.user.clone(),
                token: self.token.clone(),
                supervisor_token: self.supervisor_token.clone(),
            },
        )
    }
}

/// A GET to a daemon found by other means than `--url` (doctor, support bundle), with the
/// technician's `PSTATION_TOKEN`: its JSON, or why not, in words.
pub(super) fn get_json(base: &str, path: &str) -> Result<Value, String> {
    let client = Client::new(base, Credentials::from_env());
    let url = format!("{}{path}", client.base());
    let mut resp = match client.send("GET", path, None, Some(HEALTH_TIMEOUT)) {
        Ok(r) => r,
        Err(ClientError::Unreachable { why, .. }) => return Err(format!("{url}: {why}")),
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.status().as_u16();
    let body: Value = resp
        .body_mut()
        .read_json()
        .map_err(|e| format!("{url}: HTTP {status}, not JSON: {e}"))?;
    if status >= 300 {
        let code = body["error"]["code"].as_str().unwrap_or("error");
        return Err(format!("{url}: HTTP {status} ({code})"));
    }
    Ok(body)
}

/// `pstation job page ID --out FILE`: the job's data page as it prints (PDF), written with mode
/// 0600 (it holds personal data). The view is recorded in the station's event log.
pub(super) fn page(
    c: &ClientArgs,
    id: &str,
    file: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let pdf = match c.client().page_pdf(id) {
        Ok(pdf) => pdf,
        Err(e) => return failed(e, err),
    };
    let written = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(file)
            .and_then(|mut f| f.write_all(&pdf))
    };
    if let Err(e) = written {
        writeln!(err, "{}: io: cannot write the page: {e}", file.display())?;
        return Ok(Exit::InvalidInput);
    }
    writeln!(
        out,
        "wrote {} ({} bytes): it holds personal data — delete it when the check is done",
        file.display(),
        pdf.len()
    )?;
    Ok(Exit::Ok)
}

/// Says why a request failed and returns its exit code: 2 refused, 3 the daemon failed (or
/// answered nonsense), 5 it could not be reached.
pub(super) fn failed(e: ClientError, err: &mut dyn Write) -> CmdResult {
    match e {
        ClientError::Refused { status, error } => {
            let (code, message) = (&error.code, &error.message);
            // Most messages already start with their code.
            if message.starts_with(&format!("{code}:")) {
                writeln!(err, "{message}")?;
            } else {
                writeln!(err, "{code}: {message}")?;
            }
            for p in error.problems.iter().flatten() {
                let path = if p.path.is_empty() { "$" } else { &p.path };
                writeln!(err, "{path}: {}: {}", p.code, p.message)?;
            }
            Ok(if status >= 500 {
                Exit::Internal
            } else {
                Exit::InvalidInput
            })
        }
        e @ ClientError::Unreachable { .. } => {
            writeln!(err, "{e}")?;
            Ok(Exit::Unavailable)
        }
        e @ ClientError::BadReply { .. } => {
            writeln!(err, "{e}")?;
            Ok(Exit::Internal)
        }
    }
}

fn job_line(j: &wire::Job) -> String {
    let mut line = format!(
        "{:<24} {:<19} attempt {}",
        j.job_id,
        j.state.as_str(),
        j.attempt,
    );
    // The passport number as the API shows it to this user (masked for a technician).
    line.push_str(&format!("  booklet {}", j.booklet));
    if j.booklet_confirmed {
        line.push_str(" (confirmed)");
    }
    if let Some(r) = &j.reason {
        line.push_str(&format!("  ({r})"));
    }
    line
}

/// Prints an answer (its JSON with `--json`, else `summary`), or why there is none.
pub(super) fn finish<T: Serialize>(
    answer: Result<T, ClientError>,
    c: &ClientArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    summary: impl FnOnce(&T, &mut dyn Write) -> std::io::Result<()>,
) -> CmdResult {
    match answer {
        Err(e) => failed(e, err),
        Ok(v) => {
            if c.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                )?;
            } else {
                summary(&v, out)?;
            }
            Ok(Exit::Ok)
        }
    }
}

/// `pstation submit JOB.json`.
pub(super) fn submit(
    c: &ClientArgs,
    path: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let bytes = match super::read_job_bytes(path) {
        Ok(b) => b,
        Err(problem) => {
            writeln!(err, "{problem}")?;
            return Ok(Exit::InvalidInput);
        }
    };
    finish(c.client().submit(&bytes), c, out, err, |v, out| {
        let note = if v.existing {
            " (already submitted: unchanged)"
        } else {
            ""
        };
        writeln!(out, "{}{note}", job_line(&v.job))
    })
}

/// `pstation jobs [--state S]`.
pub(super) fn jobs(
    c: &ClientArgs,
    state: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    finish(c.client().jobs(state), c, out, err, |v, out| {
        for j in &v.jobs {
            writeln!(out, "{}", job_line(j))?;
        }
        writeln!(out, "{} job(s)", v.jobs.len())
    })
}

/// The station's UTC offset, from its health answer (times are shown in the station's own
/// zone, as on its console); UTC when the daemon does not say.
pub(super) fn station_offset(c: &ClientArgs) -> time::UtcOffset {
    c.client()
        .health()
        .ok()
        .and_then(|h| crate::clock::parse_offset(&h.utc_offset))
        .unwrap_or(time::UtcOffset::UTC)
}

/// `pstation health [--wait SECS]`: the daemon's health in words; while it cannot be reached,
/// asked again every 200 ms for up to `wait` seconds (a daemon just started binds in well
/// under a second, but its store may take longer to open after a crash).
pub(super) fn health(
    c: &ClientArgs,
    wait: u64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let until = std::time::Instant::now() + Duration::from_secs(wait);
    let client = c.client();
    let v = loop {
        match client.health() {
            Ok(v) => break v,
            Err(ClientError::Unreachable { .. }) if std::time::Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e @ ClientError::Unreachable { .. }) => {
                writeln!(
                    err,
                    "{e}{}",
                    if wait > 0 {
                        format!(" (waited {wait} s)")
                    } else {
                        String::new()
                    }
                )?;
                return Ok(Exit::Unavailable);
            }
            Err(e) => return failed(e, err),
        }
    };
    if c.json {
        writeln!(out, "{}", serde_json::to_string(&v).unwrap_or_default())?;
    } else {
        writeln!(
            out,
            "station {} (pstation {}); printer {}{}",
            v.status,
            v.version,
            if v.printer.link == "lost" {
                "not connected"
            } else {
                &v.printer.state
            },
            v.printer_model
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )?;
        for p in &v.problems {
            writeln!(out, "  {}: {}", p.code, p.message)?;
        }
    }
    Ok(if v.status == "ok" {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}

/// `pstation job show ID`.
pub(super) fn show(
    c: &ClientArgs,
    id: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let answer = c.client().job(id);
    let offset = station_offset(c);
    finish(answer, c, out, err, |v, out| {
        writeln!(out, "{}", job_line(&v.job))?;
        for e in &v.events {
            writeln!(
                out,
                "  {}  {:<24} {:<12} {} → {}{}",
                crate::clock::local(&e.at, offset),
                e.action,
                e.actor,
                e.from_state.as_deref().unwrap_or("-"),
                e.to_state.as_deref().unwrap_or("-"),
                e.reason
                    .as_deref()
                    .map(|r| format!("  ({r})"))
                    .unwrap_or_default()
            )?;
        }
        Ok(())
    })
}

/// `pstation job ACTION ID` (hold, release, cancel, verify, spoil, confirm-booklet, reprint).
pub(super) fn act(
    c: &ClientArgs,
    id: &str,
    action: &str,
    body: wire::ActionBody,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    finish(c.client().act(id, action, &body), c, out, err, |v, out| {
        writeln!(out, "{}", job_line(&v.job))
    })
}

fn printer_line(p: &wire::Printer) -> String {
    let mut line = format!("printer {} (link {})", p.state, p.link);
    if !p.reasons.is_empty() {
        line.push_str(&format!(": {}", p.reasons.join(", ")));
    }
    if let Some(j) = &p.job_id {
        line.push_str(&format!("; printing {j}"));
    }
    for a in &p.advice {
        line.push_str(&format!("\n  → {} / {}", a.id, a.en));
    }
    line
}

/// `pstation printer status [--watch]`.
pub(super) fn printer_status(
    c: &ClientArgs,
    watch: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    if !watch {
        return finish(c.client().printer(), c, out, err, |v, out| {
            writeln!(out, "{}", printer_line(&v.printer))?;
            let r = &v.reader;
            if r.configured {
                writeln!(
                    out,
                    "reader {} {}{}{}",
                    r.device.as_deref().unwrap_or(""),
                    r.state,
                    r.message
                        .as_ref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default(),
                    r.last
                        .as_ref()
                        .map(|l| format!("; last read {} at {}", l.result, l.at))
                        .unwrap_or_default()
                )?;
            }
            Ok(())
        });
    }
    // Follow the event stream: one line per printer change (and job progress).
    let mut result = Ok(());
    let followed = c.client().events(|notice| {
        let line = if c.json {
            Some(serde_json::to_string(&notice).unwrap_or_default())
        } else {
            match &notice {
                wire::Notice::Printer(p) => Some(printer_line(p)),
                wire::Notice::Progress {
                    job_id, sheets, of, ..
                } => Some(format!("{job_id}: sheet {sheets} of {of} out")),
                wire::Notice::Reader(r) => Some(format!(
                    "reader {}{}",
                    r.state,
                    r.last
                        .as_ref()
                        .map(|l| format!(" (last read: {})", l.result))
                        .unwrap_or_default()
                )),
                wire::Notice::Chip(ch) => Some(format!(
                    "chip reader {}{}",
                    ch.state,
                    ch.last
                        .as_ref()
                        .map(|l| format!(" (last check: {} {})", l.job_id, l.result))
                        .unwrap_or_default()
                )),
                wire::Notice::Job { .. } => None,
            }
        };
        if let Some(line) = line {
            result = writeln!(out, "{line}").and_then(|()| out.flush());
        }
        result.is_ok()
    });
    if let Err(e) = followed {
        return failed(e, err);
    }
    result?;
    writeln!(err, "{}: the event stream ended (daemon stopped?)", c.url)?;
    Ok(Exit::Unavailable)
}
