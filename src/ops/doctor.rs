//! The station's self-check: one function per part of the station — the central office's keys
//! and links, the API's users and TLS files, the data folder, the store and its key, the clock,
//! the printer — each returning its checks (OK, WARNING: printing goes on, PROBLEM: it does
//! not, with what to do). `pstation doctor` prints them; the support bundle keeps them.

use std::path::Path;

use crate::api::wire;
use crate::client::{Client, ClientError, Credentials};
use crate::config::Settings;
use crate::printer::DriverSettings;

/// One check's result.
pub struct Check {
    /// What was checked (`config`, `printer`, ...).
    pub name: &'static str,
    /// What is wrong and what to do, when something is.
    pub problem: Option<String>,
    /// A problem that does not stop printing (shown as WARNING; the exit status ignores it).
    pub warning: bool,
    /// What was found, when all is well.
    pub detail: String,
}

impl Check {
    /// All is well.
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            problem: None,
            warning: false,
            detail: detail.into(),
        }
    }

    /// The station cannot print until this is fixed.
    pub fn problem(name: &'static str, what: impl Into<String>) -> Self {
        Self {
            name,
            problem: Some(what.into()),
            warning: false,
            detail: String::new(),
        }
    }

    /// Wrong, but printing goes on.
    pub fn warning(name: &'static str, what: impl Into<String>) -> Self {
        Self {
            warning: true,
            ..Self::problem(name, what)
        }
    }
}

/// Every check, in the order a technician reads them.
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether a PROBLEM stops printing.
    pub fn failed(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.problem.is_some() && !c.warning)
    }
}

/// The oldest time a station clock may show: before this build's schema existed, the clock
/// was never set (a dead CMOS battery shows 1970 or 2000).
const EARLIEST_SANE: &str = "2026-01-01T00:00:00Z";

/// Runs every check of a station whose configuration is `settings` (`config` says where it
/// came from, already checked).
pub fn run(settings: &Settings, config: Check) -> Report {
    let mut checks = vec![config];
    checks.extend(central_keys(settings));
    checks.extend(api_users(settings));
    checks.extend(tls(settings));
    checks.extend(webhook(settings));
    checks.extend(nats(settings));
    let data = settings.daemon.data_dir.clone();
    let (data_checks, daemon_running) = data_folder(settings, &data);
    checks.extend(data_checks);
    let db = data.join("station.db");
    let (store_checks, last_event) = store(&db);
    checks.extend(store_checks);
    checks.push(store_key_check(&settings.daemon.key_file, &data, &db));
    checks.extend(plain_copies_check(&data));
    checks.push(clock(settings, last_event));
    checks.push(printer(settings, &data, daemon_running));
    checks.push(reader(settings, daemon_running));
    checks.push(chip(settings, daemon_running));
    Report { checks }
}

/// A future run to its end on a runtime of its own (doctor is a short-lived command).
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(f))
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// The central office's keys: without one, every job is refused.
fn central_keys(settings: &Settings) -> Vec<Check> {
    let mut out = Vec::new();
    let central = &settings.central;
    if !central.require_signed_jobs {
        out.push(Check::ok(
            "keys",
            "signatures not required (central.require_signed_jobs = false, a lab setting: unsigned jobs print)",
        ));
    } else if central.keys.is_empty() {
        out.push(Check::problem(
            "keys",
            "no central office key in [central] keys: every job will be refused (signature-unknown-key) — add the line `pstation keys generate` printed at the central office",
        ));
    } else {
        out.push(Check::ok(
            "keys",
            format!(
                "{} central office key(s): {}",
                central.keys.len(),
                central.keys.kids().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    out
}

/// Who may use the API.
fn api_users(settings: &Settings) -> Vec<Check> {
    let mut out = Vec::new();
    let api = &settings.api;
    if !api.require_tokens {
        out.push(Check::ok(
            "api users",
            "tokens not required (api.require_tokens = false, a lab setting: anyone who reaches the API may act)",
        ));
    } else if api.users.is_empty() {
        out.push(Check::problem(
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
            out.push(Check::warning(
                "api users",
                format!(
                    "{} — no central (or admin) user: the central office cannot submit jobs over the API",
                    summary.join(", ")
                ),
            ));
        } else {
            out.push(Check::ok("api users", summary.join(", ")));
        }
    }
    out
}

/// The TLS API's files, when configured: the daemon would not start with a bad one.
fn tls(settings: &Settings) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(t) = &settings.api.tls {
        match crate::api::tls::server_config(t) {
            Ok(_) => out.push(Check::ok(
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
            Err(e) => out.push(Check::problem("tls", e.to_string())),
        }
    }
    out
}

/// The central office's status webhook: reachable (any HTTP answer) or not configured.
fn webhook(settings: &Settings) -> Vec<Check> {
    let mut out = Vec::new();
    let central = &settings.central;
    match &central.webhook {
        None => out.push(Check::ok(
            "central office",
            "no status webhook configured (central.status_webhook): status changes wait in the outbox",
        )),
        Some(hook) => match crate::station::outbox::probe(&hook.url) {
            Ok(status) => out.push(Check::ok(
                "central office",
                format!("{} answers (HTTP {status})", hook.url),
            )),
            Err(e) => out.push(Check::warning(
                "central office",
                format!(
                    "{}: {e}; status changes wait in the outbox and are sent when it answers (printing goes on)",
                    hook.url
                ),
            )),
        },
    }
    out
}

/// The central office's NATS server, when configured: jobs wait there while it is away.
fn nats(settings: &Settings) -> Vec<Check> {
    let mut out = Vec::new();
    let central = &settings.central;
    if let Some(nats) = &central.nats {
        let answer =
            block_on(crate::station::nats::probe(nats, &central.station_id)).and_then(|a| a);
        match answer {
            Ok(summary) => {
                out.push(Check::ok("central office NATS", format!("{}: {summary}", without_url_credentials(&nats.url))))
            }
            Err(e) => out.push(Check::warning(
                "central office NATS",
                format!(
                    "{}: {e}; jobs wait on the server and status in the outbox until it answers (printing goes on) — check the network and central.nats_url",
                    without_url_credentials(&nats.url)
                ),
            )),
        }
    }
    out
}

/// The data folder: writable, free space, and whether a daemon holds it (the second value).
fn data_folder(settings: &Settings, data: &Path) -> (Vec<Check>, bool) {
    let mut out = Vec::new();
    let mut daemon_running = false;
    // The data folder: writable, free space, who holds it.
    if !data.is_dir() {
        out.push(Check::problem(
            "data folder",
            format!(
                "{} does not exist — create it (owned by the pstation user) or start the daemon once",
                data.display()
            ),
        ));
    } else {
        match crate::fsio::probe_write(data) {
            Err(io) => out.push(Check::problem(
                "data folder",
                crate::station::disk_io_problem(&io, data).to_string(),
            )),
            Ok(()) => match crate::fsio::disk_state(data) {
                Ok(d) => {
                    let free_mb = d.free_bytes / (1024 * 1024);
                    let min = settings.daemon.min_free_mb;
                    if free_mb < min {
                        out.push(Check::problem(
                            "data folder",
                            format!(
                                "{}: {free_mb} MB free, below daemon.min_free_mb = {min}: new jobs are refused — free space there",
                                data.display()
                            ),
                        ));
                    } else {
                        out.push(Check::ok(
                            "data folder",
                            format!("{} writable, {free_mb} MB free", data.display()),
                        ));
                    }
                }
                Err(e) => out.push(Check::problem(
                    "data folder",
                    format!("{}: {e}", data.display()),
                )),
            },
        }
        match crate::fsio::DataLock::try_acquire(data) {
            Ok(Some(_free)) => {}
            Ok(None) => daemon_running = true,
            Err(_) => {} // reported by the writability check above
        }
    }
    (out, daemon_running)
}

/// The store: integrity and the event log; the time of its newest event (the second value).
fn store(db: &Path) -> (Vec<Check>, Option<String>) {
    let mut out = Vec::new();
    let mut last_event: Option<String> = None;
    if db.exists() {
        match crate::store::backup::check(db) {
            Ok(r) if r.problems.is_empty() => {
                out.push(Check::ok(
                    "store",
                    format!(
                        "schema {}, {} jobs, {} events, {} booklets; integrity and event log sound",
                        r.schema, r.jobs, r.events, r.booklets
                    ),
                ));
                last_event = newest_event(db);
            }
            Ok(r) => out.push(Check::problem(
                "store",
                format!(
                    "{}: {} — restore the last good backup (pstation restore FILE)",
                    db.display(),
                    r.problems.join("; ")
                ),
            )),
            Err(e) => out.push(Check::problem("store", format!("{}: {e}", db.display()))),
        }
    } else {
        out.push(Check::ok("store", "none yet (the daemon creates it)"));
    }
    (out, last_event)
}

/// The clock: set, and not behind the store's newest event.
fn clock(settings: &Settings, last_event: Option<String>) -> Check {
    let now = crate::store::now();
    if now.as_str() < EARLIEST_SANE {
        return Check::problem(
            "clock",
            format!("the system clock reads {now}: set the time (timedatectl, NTP)"),
        );
    }
    if let Some(last) = last_event.filter(|l| l.as_str() > now.as_str()) {
        return Check::problem(
            "clock",
            format!(
                "the system clock reads {now}, before the store's newest event ({last}): the clock went back — set the time (timedatectl, NTP)"
            ),
        );
    }
    let local = crate::clock::local(&now, settings.utc_offset);
    Check::ok("clock", format!("{local} ({now})"))
}

/// The printer: asked of the running daemon when one holds the data folder, else opened here.
fn printer(settings: &Settings, data: &Path, daemon_running: bool) -> Check {
    let device = settings.daemon.device.clone();
    if daemon_running {
        // The daemon holds the device: ask it what it sees.
        return match crate::fsio::announced_url(data) {
            None => Check::problem(
                "printer",
                "a daemon holds the data folder but did not say where it listens — restart it",
            ),
            // Health is open: doctor needs no token to hear what the daemon sees.
            Some(url) => match Client::new(&url, Credentials::from_env()).health() {
                Err(e) => {
                    let e = match e {
                        ClientError::Unreachable { url, why } => format!("{url}/api/health: {why}"),
                        other => other.to_string(),
                    };
                    Check::problem(
                        "printer",
                        format!(
                            "the running daemon does not answer ({e}) — look at its log (journalctl -u pstation) and restart it"
                        ),
                    )
                }
                Ok(health) => daemon_printer_check(&health),
            },
        };
    }
    let opened = block_on(async move {
        match crate::printer::open(&device, &DriverSettings::DEFAULT).await {
            Err(e) => Check::problem("printer", e.to_string()),
            Ok(mut p) => match (p.identity().await, p.status().await) {
                (Ok(id), Ok(s)) if s.ready() => Check::ok("printer", format!("{} ready", id.model)),
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
    opened.unwrap_or_else(|e| Check::problem("printer", e))
}

/// The document reader: none (booklets are verified by hand), or its line opens.
fn reader(settings: &Settings, daemon_running: bool) -> Check {
    let Some(uri) = settings.reader.device.clone() else {
        return Check::ok(
            "reader",
            "none configured: printed booklets are verified by hand ([reader] device)",
        );
    };
    if daemon_running {
        return Check::ok(
            "reader",
            format!(
                "{}: held by the running daemon (its state: the console's reader panel, `pstation printer status`)",
                uri.name()
            ),
        );
    }
    let opened = block_on(async move {
        use tokio_serial::SerialPortBuilderExt;
        tokio_serial::new(uri.path.display().to_string(), uri.baud)
            .open_native_async()
            .map(|_| ())
            .map_err(|e| {
                let io: std::io::Error = e.into();
                (uri.name(), io)
            })
    });
    match opened {
        Ok(Ok(())) => Check::ok(
            "reader",
            format!(
                "{} opens",
                settings
                    .reader
                    .device
                    .as_ref()
                    .map_or(String::new(), |u| u.name())
            ),
        ),
        Ok(Err((name, io))) => Check::problem(
            "reader",
            format!(
                "{name}: cannot open it ({io}) — check the reader's cable and power, the device path in [reader] device and the `dialout` group; `pstation diag reader` shows what it sends"
            ),
        ),
        Err(e) => Check::problem("reader", e),
    }
}

/// The chip reader: none (a warning: e-passport chips are not checked before printing), PC/SC
/// loads and the named reader is attached, or the vpcd port is free (or held by the daemon).
fn chip(settings: &Settings, daemon_running: bool) -> Check {
    use crate::chip::ChipReader;
    let chip = &settings.chip;
    let Some(reader) = &chip.reader else {
        return Check::warning(
            "chip",
            "no chip reader configured: booklets' e-passport chips are not checked before printing (a page could go into a booklet whose chip is another person's); set [chip] reader and csca",
        );
    };
    // The test central office's CSCA is public (its key comes from a seed in the source): a
    // station that trusts it accepts chips anyone can make.
    if let Ok(office) = crate::chip::issuer::TestOffice::new()
        && chip.cscas.contains(&office.csca.certificate)
    {
        return Check::problem(
            "chip",
            "[chip] csca trusts pstation's TEST CSCA (written by `pstation sim-chip --write-csca`): anyone can make chips it accepts — remove it and configure the country's real CSCA certificates",
        );
    }
    let trusted = format!(
        "{} CSCA certificate(s) from {} file(s)",
        chip.cscas.len(),
        chip.csca_files.len()
    );
    match reader {
        ChipReader::Vpcd(addr) if daemon_running => Check::ok(
            "chip",
            format!("vpcd://{addr}: the daemon's virtual-card port; {trusted}"),
        ),
        ChipReader::Vpcd(addr) => match std::net::TcpListener::bind(addr) {
            Ok(_) => Check::ok(
                "chip",
                format!("vpcd://{addr} can listen for a virtual card; {trusted}"),
            ),
            Err(e) => Check::problem(
                "chip",
                format!("vpcd://{addr}: cannot listen ({e}) — another program holds the port"),
            ),
        },
        ChipReader::Pcsc(pattern) => {
            let found = pstation_pcsc::Library::load()
                .map(std::sync::Arc::new)
                .and_then(pstation_pcsc::Context::establish)
                .and_then(|ctx| ctx.find_reader(pattern));
            match found {
                Ok(name) => Check::ok("chip", format!("PC/SC reader \"{name}\"; {trusted}")),
                Err(e) => Check::problem(
                    "chip",
                    format!(
                        "{e} — check the reader's cable, that pcscd runs (systemctl status pcscd), and [chip] reader; `pstation diag chip --reader NAME` lists the readers"
                    ),
                ),
            }
        }
    }
}

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
fn reasons_in_words(reasons: &[String]) -> String {
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
fn daemon_printer_check(health: &wire::Health) -> Check {
    let model = health.printer_model.as_deref().unwrap_or("the printer");
    let p = &health.printer;
    let words = reasons_in_words(&p.reasons);
    if p.link != "up" {
        return Check::problem(
            "printer",
            format!(
                "the daemon cannot reach {model}: {words} — check the cable, power and the device name (udev rule)"
            ),
        );
    }
    if p.state == "stopped" {
        return Check::problem("printer", format!("{model} is not ready: {words}"));
    }
    let state = match p.state.as_str() {
        "idle" => "ready",
        "processing" => "printing",
        _ => "in an unknown state",
    };
    // Warming up and the like are not problems: the printer gets ready by itself.
    let settling = p
        .reasons
        .iter()
        .any(|r| crate::printer::reasons::SETTLING.contains(&r.as_str()));
    let state = if settling {
        crate::printer::reasons::describe(&p.reasons) + " — it will be ready by itself"
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
pub fn without_url_credentials(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://(removed){}", &rest[at..]),
        None => s.to_owned(),
    }
}
