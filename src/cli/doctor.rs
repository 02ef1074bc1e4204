//! `pstation doctor`: the station's self-check — configuration, API users, TLS files, central office keys,
//! whether the central office's status webhook and NATS server answer, data folder (writable, free space,
//! lock), store (integrity, event log, schema), clock, and the printer (reachable, permitted,
//! ready) — one line per check with OK, WARNING (does not stop printing) or PROBLEM and what to
//! do. Exit 0 only when the station can print.

use std::io::Write;
use std::path::PathBuf;

use super::{CmdResult, Exit};
use crate::config::Settings;
use crate::printer::driver::open_driver;
use crate::printer::pjl_driver::DriverSettings;

/// `pstation doctor` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// Station configuration (TOML); the embedded default when absent.
    #[arg(long, env = "PSTATION_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data folder (overrides daemon.data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Printer device URI (overrides daemon.device).
    #[arg(long, value_name = "URI")]
    pub device: Option<String>,
}

/// One check's result.
struct Check {
    name: &'static str,
    problem: Option<String>,
    /// A problem that does not stop printing (shown as WARNING; the exit status ignores it).
    warning: bool,
    detail: String,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            problem: None,
            warning: false,
            detail: detail.into(),
        }
    }

    fn problem(name: &'static str, what: impl Into<String>) -> Self {
        Self {
            name,
            problem: Some(what.into()),
            warning: false,
            detail: String::new(),
        }
    }

    fn warning(name: &'static str, what: impl Into<String>) -> Self {
        Self {
            warning: true,
            ..Self::problem(name, what)
        }
    }
}

/// The oldest time a station clock may show: before this build's schema existed, the clock
/// was never set (a dead CMOS battery shows 1970 or 2000).
const EARLIEST_SANE: &str = "2026-01-01T00:00:00Z";

pub(super) fn run(args: DoctorArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let mut checks = Vec::new();
    let mut settings = match Settings::load_or_default(args.config.as_deref()) {
        Ok(s) => {
            checks.push(Check::ok(
                "config",
                match &args.config {
                    Some(p) => format!("{} is valid", p.display()),
                    None => "the embedded default".to_owned(),
                },
            ));
            s
        }
        Err(e) => {
            writeln!(out, "PROBLEM  config: {e}")?;
            writeln!(out, "the station cannot start: fix the configuration first")?;
            return Ok(Exit::CheckFailed);
        }
    };
    if !super::apply_overrides(&mut settings, args.data_dir, args.device.as_deref(), err)? {
        return Ok(Exit::InvalidInput);
    }
    // The central office's keys: without one, every job is refused.
    let central = &settings.central;
    if !central.require_signed_jobs {
        checks.push(Check::ok(
            "keys",
            "signatures not required (central.require_signed_jobs = false, a lab setting: unsigned jobs print)",
        ));
    } else if central.keys.is_empty() {
        checks.push(Check::problem(
            "keys",
            "no central office key in [central] keys: every job will be refused (signature-unknown-key) — add the line `pstation keys generate` printed at the central office",
        ));
    } else {
        checks.push(Check::ok(
            "keys",
            format!(
                "{} central office key(s): {}",
                central.keys.len(),
                central.keys.kids().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    // Who may use the API.
    let api = &settings.api;
    if !api.require_tokens {
        checks.push(Check::ok(
            "api users",
            "tokens not required (api.require_tokens = false, a lab setting: anyone who reaches the API may act)",
        ));
    } else if api.users.is_empty() {
        checks.push(Check::problem(
            "api users",
            "no user in [api] users: nobody can submit a job or act on one — add the lines `pstation token new --name NAME --role ROLE` prints",
        ));
    } else {
        let count =
            |r: crate::central::auth::Role| api.users.iter().filter(|u| u.role == r).count();
        let summary: Vec<String> = crate::central::auth::Role::ALL
            .into_iter()
            .filter(|r| count(*r) > 0)
            .map(|r| format!("{} {}", r.as_str(), count(r)))
            .collect();
        let submitters =
            count(crate::central::auth::Role::Central) + count(crate::central::auth::Role::Admin);
        if submitters == 0 {
            checks.push(Check::warning(
                "api users",
                format!(
                    "{} — no central (or admin) user: the central office cannot submit jobs over the API",
                    summary.join(", ")
                ),
            ));
        } else {
            checks.push(Check::ok("api users", summary.join(", ")));
        }
    }
    // The TLS API's files, when configured: the daemon would not start with a bad one.
    if let Some(t) = &settings.api.tls {
        match crate::api::tls::server_config(t) {
            Ok(_) => checks.push(Check::ok(
                "tls",
                format!(
                    "{}: certificate and key load{}",
                    t.listen,
                    if t.client_ca.is_some() {
                        "; clients must present a certificate from api.tls_client_ca"
                    } else {
                        ""
                    }
                ),
            )),
            Err(e) => checks.push(Check::problem("tls", e.to_string())),
        }
    }
    // The central office's status webhook: reachable (any HTTP answer) or not configured.
    match &central.webhook {
        None => checks.push(Check::ok(
            "central office",
            "no status webhook configured (central.status_webhook): status changes wait in the outbox",
        )),
        Some(hook) => match crate::station::outbox::probe(&hook.url) {
            Ok(status) => checks.push(Check::ok(
                "central office",
                format!("{} answers (HTTP {status})", hook.url),
            )),
            Err(e) => checks.push(Check::warning(
                "central office",
                format!(
                    "{}: {e}; status changes wait in the outbox and are sent when it answers (printing goes on)",
                    hook.url
                ),
            )),
        },
    }
    // The central office's NATS server, when configured: jobs wait there while it is away.
    if let Some(nats) = &central.nats {
        let answer = match super::runtime(err)? {
            Some(rt) => rt.block_on(crate::station::nats::probe(nats, &central.station_id)),
            None => Err("no async runtime".to_owned()),
        };
        match answer {
            Ok(summary) => {
                checks.push(Check::ok("central office NATS", format!("{}: {summary}", without_url_credentials(&nats.url))))
            }
            Err(e) => checks.push(Check::warning(
                "central office NATS",
                format!(
                    "{}: {e}; jobs wait on the server and status in the outbox until it answers (printing goes on) — check the network and central.nats_url",
                    without_url_credentials(&nats.url)
                ),
            )),
        }
    }
    let data = settings.daemon.data_dir.clone();
    let mut daemon_running = false;
    // The data folder: writable, free space, who holds it.
    if !data.is_dir() {
        checks.push(Check::problem(
            "data folder",
            format!(
                "{} does not exist — create it (owned by the pstation user) or start the daemon once",
                data.display()
            ),
        ));
    } else {
        match crate::fsio::probe_write(&data) {
            Err(io) => checks.push(Check::problem(
                "data folder",
                crate::station::disk_io_problem(&io, &data).to_string(),
            )),
            Ok(()) => match crate::fsio::disk_state(&data) {
                Ok(d) => {
                    let free_mb = d.free_bytes / (1024 * 1024);
                    let min = settings.daemon.min_free_mb;
                    if free_mb < min {
                        checks.push(Check::problem(
                            "data folder",
                            format!(
                                "{}: {free_mb} MB free, below daemon.min_free_mb = {min}: new jobs are refused — free space there",
                                data.display()
                            ),
                        ));
                    } else {
                        checks.push(Check::ok(
                            "data folder",
                            format!("{} writable, {free_mb} MB free", data.display()),
                        ));
                    }
                }
                Err(e) => checks.push(Check::problem(
                    "data folder",
                    format!("{}: {e}", data.display()),
                )),
            },
        }
        match crate::fsio::DataLock::try_acquire(&data) {
            Ok(Some(_free)) => {}
            Ok(None) => daemon_running = true,
            Err(_) => {} // reported by the writability check above
        }
    }
    // The store.
    let db = data.join("station.db");
    let mut last_event: Option<String> = None;
    if db.exists() {
        match crate::store::backup::check(&db) {
            Ok(r) if r.problems.is_empty() => {
                checks.push(Check::ok(
                    "store",
                    format!(
                        "schema {}, {} jobs, {} events, {} booklets; integrity and event log sound",
                        r.schema, r.jobs, r.events, r.booklets
                    ),
                ));
                last_event = newest_event(&db);
            }
            Ok(r) => checks.push(Check::problem(
                "store",
                format!(
                    "{}: {} — restore the last good backup (pstation restore FILE)",
                    db.display(),
                    r.problems.join("; ")
                ),
            )),
            Err(e) => checks.push(Check::problem("store", format!("{}: {e}", db.display()))),
        }
    } else {
        checks.push(Check::ok("store", "none yet (the daemon creates it)"));
    }
    checks.push(store_key_check(&settings.daemon.key_file, &data, &db));
    if let Some(w) = plain_copies_check(&data) {
        checks.push(w);
    }
    // The clock.
    let now = crate::store::now();
    if now.as_str() < EARLIEST_SANE {
        checks.push(Check::problem(
            "clock",
            format!("the system clock reads {now}: set the time (timedatectl, NTP)"),
        ));
    } else if let Some(last) = last_event.filter(|l| l.as_str() > now.as_str()) {
        checks.push(Check::problem(
            "clock",
            format!(
                "the system clock reads {now}, before the store's newest event ({last}): the clock went back — set the time (timedatectl, NTP)"
            ),
        ));
    } else {
        let local = crate::clock::local(&now, settings.utc_offset);
        checks.push(Check::ok("clock", format!("{local} ({now})")));
    }
    // The printer.
    let device = settings.daemon.device.clone();
    if daemon_running {
        // The daemon holds the device: ask it what it sees.
        checks.push(match crate::fsio::announced_url(&data) {
            None => Check::problem(
                "printer",
                "a daemon holds the data folder but did not say where it listens — restart it",
            ),
            // Health is open: doctor needs no token to hear what the daemon sees.
            Some(url) => match super::client::get_json(&url, "/api/health") {
                Err(e) => Check::problem(
                    "printer",
                    format!(
                        "the running daemon does not answer ({e}) — look at its log (journalctl -u pstation) and restart it"
                    ),
                ),
                Ok(v) => daemon_printer_check(&v),
            },
        });
    } else {
        let Some(runtime) = super::runtime(err)? else {
            return Ok(Exit::Internal);
        };
        let check = runtime.block_on(async move {
            match open_driver(&device, DriverSettings::DEFAULT).await {
                Err(e) => Check::problem("printer", e.to_string()),
                Ok(mut p) => match (p.identity().await, p.status().await) {
                    (Ok(id), Ok(s)) if s.ready() => {
                        Check::ok("printer", format!("{} ready", id.model))
                    }
                    (Ok(id), Ok(s)) if s.settling() => Check::ok(
                        "printer",
                        format!(
                            "{} {} — it will be ready by itself",
                            id.model,
                            crate::printer::reasons::describe(&s.reasons)
                        ),
                    ),
                    (Ok(id), Ok(s)) => Check::problem(
                        "printer",
                        format!(
                            "{} is not ready: {}",
                            id.model,
                            reasons_in_words(&s.reasons)
                        ),
                    ),
                    (Err(e), _) | (_, Err(e)) => Check::problem("printer", e.to_string()),
                },
            }
        });
        checks.push(check);
    }
    let mut failed = false;
    for c in &checks {
        match &c.problem {
            None => writeln!(out, "OK       {}: {}", c.name, c.detail)?,
            Some(p) if c.warning => writeln!(out, "WARNING  {}: {p}", c.name)?,
            Some(p) => {
                failed = true;
                writeln!(out, "PROBLEM  {}: {p}", c.name)?;
            }
        }
    }
    if failed {
        writeln!(
            out,
            "the station cannot print until every PROBLEM above is fixed"
        )?;
        Ok(Exit::CheckFailed)
    } else {
        writeln!(out, "the station can print")?;
        Ok(Exit::Ok)
    }
}

/// The printer as the running daemon reports it (`GET /api/health`).
/// Copies an upgrade kept of a store from before encryption at rest (schema < 7) hold personal
/// data in the clear: a warning names them.
fn plain_copies_check(data: &std::path::Path) -> Option<Check> {
    let copies: Vec<String> = std::fs::read_dir(data)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.strip_prefix("station.db.schema-")
                .and_then(|r| r.split('-').next())
                .and_then(|v| v.parse::<u32>().ok())
                .is_some_and(|v| v < 7)
        })
        .collect();
    (!copies.is_empty()).then(|| {
        Check::warning(
            "plain copies",
            format!(
                "{} in {} kept by an upgrade from before encryption at rest hold personal data in the clear — once the station works on this version, delete them (or move them to offline storage)",
                copies.join(", "),
                data.display()
            ),
        )
    })
}

/// The store key: present, private, outside the data folder, and the store's own.
fn store_key_check(
    key_file: &std::path::Path,
    data: &std::path::Path,
    db: &std::path::Path,
) -> Check {
    let key = match crate::store::crypt::check_outside(key_file, data)
        .and_then(|()| crate::store::StoreKey::load(key_file))
    {
        Ok(k) => k,
        Err(e) => return Check::problem("store key", e.to_string()),
    };
    // A store from before encryption at rest (or a new one) has no key recorded yet.
    let recorded = if db.exists() {
        crate::store::Store::open_read_only(db)
            .and_then(|s| s.key_id())
            .ok()
            .flatten()
    } else {
        None
    };
    match recorded {
        Some(id) if id != key.id() => Check::problem(
            "store key",
            crate::store::StoreError::WrongKey {
                store: id,
                file: key.id().to_owned(),
            }
            .to_string(),
        ),
        Some(_) => Check::ok(
            "store key",
            format!(
                "{} (key id {}) opens the store",
                key_file.display(),
                key.id()
            ),
        ),
        None => Check::ok(
            "store key",
            format!(
                "{} (key id {}); the store takes it at the daemon's next start",
                key_file.display(),
                key.id()
            ),
        ),
    }
}

/// Reasons in words with what to do, for doctor's lines: `cover open — Tutup penutup
/// printer / Close the printer cover`.
fn reasons_in_words(reasons: &[&str]) -> String {
    if reasons.is_empty() {
        return "no condition reported".to_owned();
    }
    reasons
        .iter()
        .map(|r| {
            let w = crate::printer::reasons::words(r);
            match w.advice {
                Some((id, en)) => format!("{} ({r}) — {id} / {en}", w.label),
                None => format!("{} ({r})", w.label),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The printer as the running daemon reports it (`GET /api/health`).
fn daemon_printer_check(v: &serde_json::Value) -> Check {
    let model = v["printer_model"].as_str().unwrap_or("the printer");
    let p = &v["printer"];
    let reasons: Vec<&str> = p["reasons"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let words = reasons_in_words(&reasons);
    if p["link"] != "up" {
        return Check::problem(
            "printer",
            format!(
                "the daemon cannot reach {model}: {words} — check the cable, power and the device name (udev rule)"
            ),
        );
    }
    if p["state"] == "stopped" {
        return Check::problem("printer", format!("{model} is not ready: {words}"));
    }
    let state = match p["state"].as_str() {
        Some("idle") => "ready",
        Some("processing") => "printing",
        _ => "in an unknown state",
    };
    // Warming up and the like are not problems: the printer gets ready by itself.
    let settling = reasons
        .iter()
        .any(|r| crate::printer::reasons::SETTLING.contains(r));
    let state = if settling {
        crate::printer::reasons::describe(&reasons) + " — it will be ready by itself"
    } else {
        state.to_owned()
    };
    Check::ok(
        "printer",
        format!("{model} {state} (seen by the running daemon)"),
    )
}

/// The newest event's time in the store, read-only.
fn newest_event(db: &std::path::Path) -> Option<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row("SELECT MAX(at) FROM events", [], |r| r.get(0))
        .ok()
        .flatten()
}

/// A URL's user and password replaced (`nats://user:pass@host` → `nats://(removed)@host`);
/// anything else unchanged.
pub(super) fn without_url_credentials(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://(removed){}", &rest[at..]),
        None => s.to_owned(),
    }
}
