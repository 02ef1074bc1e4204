//! The operator's commands over the daemon's HTTP API: `submit`, `jobs`, `job …`,
//! `booklets …`, `printer status [--watch]`. Each prints a human summary (or the API's JSON
//! with `--json`) and maps the answer to an exit code: 0 done, 2 refused (the error code and
//! message on stderr), 3 the daemon failed, 5 the daemon could not be reached.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::{CmdResult, Exit};

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

/// A daemon's answer.
pub(super) enum Answer {
    /// 2xx with its JSON.
    Ok(Value),
    /// Any other status with its JSON error.
    Refused(u16, Value),
}

/// What every request to the daemon carries besides its body: who is asking.
#[derive(Debug, Clone, Default)]
pub(super) struct Credentials {
    /// `X-Pstation-User` (a lab station without tokens).
    pub user: Option<String>,
    /// `Authorization: Bearer`.
    pub token: Option<String>,
    /// `X-Pstation-Supervisor-Token` (a reprint's second person).
    pub supervisor_token: Option<String>,
}

impl Credentials {
    /// A technician's token from `PSTATION_TOKEN`, when they have set one (doctor, support
    /// bundle: they find the daemon by its lock file, not by `--url`).
    pub fn from_env() -> Self {
        Self {
            token: std::env::var("PSTATION_TOKEN")
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
            ..Self::default()
        }
    }
}

impl ClientArgs {
    fn credentials(&self) -> Credentials {
        Credentials {
            user: self.user.clone(),
            token: self.token.clone(),
            supervisor_token: self.supervisor_token.clone(),
        }
    }
}

/// A body and its media type.
pub(super) type Body<'a> = Option<(Vec<u8>, &'a str)>;

/// The one way the CLI sends a request to the daemon: every request — JSON calls, the page
/// download, the event stream, doctor's and the bundle's reads — goes through here, so each
/// carries the same headers. `timeout` bounds the whole exchange (`None` for a stream that is
/// followed until interrupted).
pub(super) fn send(
    base: &str,
    who: &Credentials,
    method: &str,
    path: &str,
    body: Body<'_>,
    timeout: Option<Duration>,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(timeout)
        .build()
        .into();
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut req = ureq::http::Request::builder().method(method).uri(&url);
    if let Some(u) = &who.user {
        req = req.header("x-pstation-user", u);
    }
    if let Some(t) = &who.token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(t) = &who.supervisor_token {
        req = req.header("x-pstation-supervisor-token", t);
    }
    match body {
        None => agent.run(req.body(()).map_err(ureq::Error::from)?),
        Some((bytes, content_type)) => {
            let req = req.header("content-type", content_type);
            agent.run(req.body(bytes).map_err(ureq::Error::from)?)
        }
    }
}

/// A GET to a daemon found by other means than `--url` (doctor, support bundle): its JSON, or
/// why not, in words.
pub(super) fn get_json(base: &str, path: &str) -> Result<Value, String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut resp = send(
        base,
        &Credentials::from_env(),
        "GET",
        path,
        None,
        Some(Duration::from_secs(10)),
    )
    .map_err(|e| format!("{url}: {e}"))?;
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

/// One request to the daemon (a JSON body, if any).
pub(super) fn call(
    c: &ClientArgs,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
    err: &mut dyn Write,
) -> std::io::Result<Result<Answer, Exit>> {
    call_typed(c, method, path, body, "application/json", err)
}

/// One request to the daemon with a body of `content_type`.
pub(super) fn call_typed(
    c: &ClientArgs,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
    content_type: &str,
    err: &mut dyn Write,
) -> std::io::Result<Result<Answer, Exit>> {
    let url = format!("{}{}", c.url.trim_end_matches('/'), path);
    let body = body.map(|b| (b, content_type));
    let mut resp = match request(c, method, path, body, Some(Duration::from_secs(60)), err)? {
        Ok(r) => r,
        Err(exit) => return Ok(Err(exit)),
    };
    let status = resp.status().as_u16();
    let value: Value = match resp.body_mut().read_json() {
        Ok(v) => v,
        Err(e) => {
            writeln!(
                err,
                "{url}: bad-reply: the daemon answered {status} with no JSON: {e}"
            )?;
            return Ok(Err(Exit::Internal));
        }
    };
    if (200..300).contains(&status) {
        Ok(Ok(Answer::Ok(value)))
    } else {
        Ok(Ok(Answer::Refused(status, value)))
    }
}

/// One request to the daemon at `--url` as `--token`: its response, or the exit when it cannot
/// be reached (said on `err`).
fn request(
    c: &ClientArgs,
    method: &str,
    path: &str,
    body: Body<'_>,
    timeout: Option<Duration>,
    err: &mut dyn Write,
) -> std::io::Result<Result<ureq::http::Response<ureq::Body>, Exit>> {
    match send(&c.url, &c.credentials(), method, path, body, timeout) {
        Ok(r) => Ok(Ok(r)),
        Err(e) => {
            writeln!(
                err,
                "{}: daemon-unreachable: {e} — is `pstation serve` running there? (--url, PSTATION_URL)",
                c.url
            )?;
            Ok(Err(Exit::Unavailable))
        }
    }
}

/// `pstation job page ID --out FILE`: the job's data page as it prints (PDF), written with mode
/// 0600 (it holds personal data). The view is recorded in the station's event log.
pub fn page(
    c: &ClientArgs,
    id: &str,
    file: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let path = format!("/api/jobs/{}/page.pdf", urlencode(id));
    let mut resp = match request(c, "GET", &path, None, Some(Duration::from_secs(60)), err)? {
        Ok(r) => r,
        Err(exit) => return Ok(exit),
    };
    let status = resp.status().as_u16();
    if status != 200 {
        let v: Value = resp.body_mut().read_json().unwrap_or(Value::Null);
        return refused(status, &v, err);
    }
    let pdf = match resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
    {
        Ok(b) => b,
        Err(e) => {
            writeln!(err, "{}{path}: bad-reply: {e}", c.url)?;
            return Ok(Exit::Internal);
        }
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

/// Prints a refusal and returns its exit code.
fn refused(status: u16, v: &Value, err: &mut dyn Write) -> CmdResult {
    let code = v["error"]["code"].as_str().unwrap_or("error");
    let message = v["error"]["message"].as_str().unwrap_or("");
    // Most messages already start with their code.
    if message.starts_with(&format!("{code}:")) {
        writeln!(err, "{message}")?;
    } else {
        writeln!(err, "{code}: {message}")?;
    }
    if let Some(problems) = v["error"]["problems"].as_array() {
        for p in problems {
            writeln!(
                err,
                "{}: {}: {}",
                p["path"].as_str().unwrap_or("$"),
                p["code"].as_str().unwrap_or(""),
                p["message"].as_str().unwrap_or("")
            )?;
        }
    }
    Ok(if status >= 500 {
        Exit::Internal
    } else {
        Exit::InvalidInput
    })
}

fn job_line(j: &Value) -> String {
    let mut line = format!(
        "{:<24} {:<19} attempt {}",
        j["job_id"].as_str().unwrap_or("?"),
        j["state"].as_str().unwrap_or("?"),
        j["attempt"].as_u64().unwrap_or(0),
    );
    // The passport number as the API shows it to this user (masked for a technician).
    if let Some(b) = j["booklet"].as_str() {
        line.push_str(&format!("  booklet {b}"));
        if j["booklet_confirmed"].as_bool() == Some(true) {
            line.push_str(" (confirmed)");
        }
    }
    if let Some(r) = j["reason"].as_str() {
        line.push_str(&format!("  ({r})"));
    }
    line
}

fn finish(
    answer: Result<Answer, Exit>,
    c: &ClientArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    summary: impl FnOnce(&Value, &mut dyn Write) -> std::io::Result<()>,
) -> CmdResult {
    match answer {
        Err(exit) => Ok(exit),
        Ok(Answer::Refused(status, v)) => refused(status, &v, err),
        Ok(Answer::Ok(v)) => {
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
pub fn submit(c: &ClientArgs, path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let bytes = match super::read_job_bytes(path) {
        Ok(b) => b,
        Err(problem) => {
            writeln!(err, "{problem}")?;
            return Ok(Exit::InvalidInput);
        }
    };
    // A signed job (`pstation sign`) is a compact JWS: base64url of a JSON header first.
    let content_type = if bytes.starts_with(b"eyJ") {
        "application/jose"
    } else {
        "application/json"
    };
    let answer = call_typed(c, "POST", "/api/jobs", Some(bytes), content_type, err)?;
    finish(answer, c, out, err, |v, out| {
        let note = if v["existing"].as_bool() == Some(true) {
            " (already submitted: unchanged)"
        } else {
            ""
        };
        writeln!(out, "{}{note}", job_line(&v["job"]))
    })
}

/// `pstation jobs [--state S]`.
pub fn jobs(
    c: &ClientArgs,
    state: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let path = match state {
        Some(s) => format!("/api/jobs?state={}", urlencode(s)),
        None => "/api/jobs".to_owned(),
    };
    let answer = call(c, "GET", &path, None, err)?;
    finish(answer, c, out, err, |v, out| {
        let list = v["jobs"].as_array().cloned().unwrap_or_default();
        for j in &list {
            writeln!(out, "{}", job_line(j))?;
        }
        writeln!(out, "{} job(s)", list.len())
    })
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The station's UTC offset, from its health answer (times are shown in the station's own
/// zone, as on its console); UTC when the daemon does not say.
fn station_offset(c: &ClientArgs) -> time::UtcOffset {
    ask_health(c)
        .ok()
        .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
        .and_then(|v| {
            v["utc_offset"]
                .as_str()
                .and_then(crate::clock::parse_offset)
        })
        .unwrap_or(time::UtcOffset::UTC)
}

/// One `GET /api/health` (no token needed; sent with the user's like every request).
fn ask_health(c: &ClientArgs) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    send(
        &c.url,
        &c.credentials(),
        "GET",
        "/api/health",
        None,
        Some(Duration::from_secs(10)),
    )
}

/// `pstation health [--wait SECS]`: the daemon's health in words; while it cannot be reached,
/// asked again every 200 ms for up to `wait` seconds (a daemon just started binds in well
/// under a second, but its store may take longer to open after a crash).
pub fn health(c: &ClientArgs, wait: u64, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let until = std::time::Instant::now() + Duration::from_secs(wait);
    let mut resp = loop {
        match ask_health(c) {
            Ok(r) => break r,
            Err(_) if std::time::Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => {
                writeln!(
                    err,
                    "{}: daemon-unreachable: {e} — is `pstation serve` running there? (--url, PSTATION_URL){}",
                    c.url,
                    if wait > 0 {
                        format!(" (waited {wait} s)")
                    } else {
                        String::new()
                    }
                )?;
                return Ok(Exit::Unavailable);
            }
        }
    };
    let v: Value = match resp.body_mut().read_json() {
        Ok(v) => v,
        Err(e) => {
            writeln!(err, "{}/api/health: bad-reply: {e}", c.url)?;
            return Ok(Exit::Internal);
        }
    };
    if c.json {
        writeln!(out, "{v}")?;
    }
    let status = v["status"].as_str().unwrap_or("?");
    let printer = &v["printer"];
    if !c.json {
        writeln!(
            out,
            "station {status} (pstation {}); printer {}{}",
            v["version"].as_str().unwrap_or("?"),
            if printer["link"] == "lost" {
                "not connected"
            } else {
                printer["state"].as_str().unwrap_or("?")
            },
            v["printer_model"]
                .as_str()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )?;
        for p in v["problems"].as_array().cloned().unwrap_or_default() {
            writeln!(
                out,
                "  {}: {}",
                p["code"].as_str().unwrap_or("?"),
                p["message"].as_str().unwrap_or("")
            )?;
        }
    }
    Ok(if status == "ok" {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}

/// `pstation job show ID`.
pub fn show(c: &ClientArgs, id: &str, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let answer = call(c, "GET", &format!("/api/jobs/{}", urlencode(id)), None, err)?;
    let offset = station_offset(c);
    finish(answer, c, out, err, |v, out| {
        writeln!(out, "{}", job_line(&v["job"]))?;
        for e in v["events"].as_array().cloned().unwrap_or_default() {
            writeln!(
                out,
                "  {}  {:<24} {:<12} {} → {}{}",
                crate::clock::local(e["at"].as_str().unwrap_or(""), offset),
                e["action"].as_str().unwrap_or(""),
                e["actor"].as_str().unwrap_or(""),
                e["from_state"].as_str().unwrap_or("-"),
                e["to_state"].as_str().unwrap_or("-"),
                e["reason"]
                    .as_str()
                    .map(|r| format!("  ({r})"))
                    .unwrap_or_default()
            )?;
        }
        Ok(())
    })
}

/// `pstation job ACTION ID` (hold, release, cancel, verify, spoil, confirm-booklet, reprint).
pub fn act(
    c: &ClientArgs,
    id: &str,
    action: &str,
    body: Value,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let answer = call(
        c,
        "POST",
        &format!("/api/jobs/{}/{action}", urlencode(id)),
        Some(bytes),
        err,
    )?;
    finish(answer, c, out, err, |v, out| {
        writeln!(out, "{}", job_line(&v["job"]))
    })
}

/// `pstation booklets receive FIRST LAST`.
pub fn receive(
    c: &ClientArgs,
    first: &str,
    last: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let body = serde_json::json!({"first": first, "last": last});
    let answer = call(
        c,
        "POST",
        "/api/booklets/batches",
        serde_json::to_vec(&body).ok(),
        err,
    )?;
    finish(answer, c, out, err, |v, out| {
        let b = &v["batch"];
        writeln!(
            out,
            "batch {}: {}..{} ({} booklets) received",
            b["batch_id"],
            b["first"].as_str().unwrap_or(""),
            b["last"].as_str().unwrap_or(""),
            b["count"]
        )
    })
}

/// `pstation booklets list [--state S]`.
pub fn list_booklets(
    c: &ClientArgs,
    state: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let path = match state {
        Some(s) => format!("/api/booklets?state={}", urlencode(s)),
        None => "/api/booklets".to_owned(),
    };
    let answer = call(c, "GET", &path, None, err)?;
    let offset = station_offset(c);
    finish(answer, c, out, err, |v, out| {
        for b in v["batches"].as_array().cloned().unwrap_or_default() {
            writeln!(
                out,
                "batch {}: {}..{} ({}) received {} by {}",
                b["batch_id"],
                b["first"].as_str().unwrap_or(""),
                b["last"].as_str().unwrap_or(""),
                b["count"],
                crate::clock::local(b["received_at"].as_str().unwrap_or(""), offset),
                b["actor"].as_str().unwrap_or("")
            )?;
        }
        let list = v["booklets"].as_array().cloned().unwrap_or_default();
        for b in list.iter().filter(|b| b["state"] != "in-stock") {
            writeln!(
                out,
                "  {} {:<8} {}{}",
                b["number"].as_str().unwrap_or(""),
                b["state"].as_str().unwrap_or(""),
                b["job_id"].as_str().unwrap_or(""),
                b["reason"]
                    .as_str()
                    .map(|r| format!("  ({r})"))
                    .unwrap_or_default()
            )?;
        }
        let in_stock = list.iter().filter(|b| b["state"] == "in-stock").count();
        writeln!(out, "{} booklet(s) listed, {in_stock} in stock", list.len())
    })
}

/// `pstation booklets reconcile`: exit 1 when the stock does not balance.
pub fn reconcile(c: &ClientArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let answer = call(c, "GET", "/api/booklets/reconcile", None, err)?;
    let mut balanced = true;
    let exit = finish(answer, c, out, err, |v, out| {
        let r = &v["reconciliation"];
        balanced = v["balanced"].as_bool() == Some(true);
        writeln!(
            out,
            "received {} = issued {} + spoiled {} + in stock {}{}",
            r["received"],
            r["issued"],
            r["spoiled"],
            r["in_stock"],
            if r["loaded"].as_u64().unwrap_or(0) > 0 {
                format!(" + in the printer or in doubt {}", r["loaded"])
            } else {
                String::new()
            }
        )?;
        for d in r["differences"].as_array().cloned().unwrap_or_default() {
            writeln!(out, "  difference: {}", d.as_str().unwrap_or(""))?;
        }
        writeln!(
            out,
            "{}",
            if balanced { "balanced" } else { "NOT balanced" }
        )
    })?;
    Ok(if exit == Exit::Ok && !balanced {
        Exit::CheckFailed
    } else {
        exit
    })
}

fn printer_line(p: &Value) -> String {
    let mut line = format!(
        "printer {} (link {})",
        p["state"].as_str().unwrap_or("?"),
        p["link"].as_str().unwrap_or("?")
    );
    let reasons: Vec<&str> = p["reasons"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !reasons.is_empty() {
        line.push_str(&format!(": {}", reasons.join(", ")));
    }
    if let Some(j) = p["job_id"].as_str() {
        line.push_str(&format!("; printing {j}"));
    }
    for a in p["advice"].as_array().cloned().unwrap_or_default() {
        line.push_str(&format!(
            "\n  → {} / {}",
            a["id"].as_str().unwrap_or(""),
            a["en"].as_str().unwrap_or("")
        ));
    }
    line
}

/// `pstation printer status [--watch]`.
pub fn printer_status(
    c: &ClientArgs,
    watch: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    if !watch {
        let answer = call(c, "GET", "/api/printer", None, err)?;
        return finish(answer, c, out, err, |v, out| {
            writeln!(out, "{}", printer_line(&v["printer"]))
        });
    }
    // Follow the event stream: one line per printer change (and job progress).
    let mut resp = match request(c, "GET", "/api/events", None, None, err)? {
        Ok(r) if r.status().is_success() => r,
        Ok(mut r) => {
            let status = r.status().as_u16();
            let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
            return refused(status, &v, err);
        }
        Err(exit) => return Ok(exit),
    };
    let mut result = Ok(());
    read_events(resp.body_mut().as_reader(), |event, v| {
        let line = if c.json {
            Some(v.to_string())
        } else if event == "printer" {
            Some(printer_line(&v))
        } else if event == "progress" {
            Some(format!(
                "{}: sheet {} of {} out",
                v["job_id"].as_str().unwrap_or(""),
                v["sheets"],
                v["of"]
            ))
        } else {
            None
        };
        if let Some(line) = line {
            result = writeln!(out, "{line}").and_then(|()| out.flush());
        }
        result.is_ok()
    });
    result?;
    writeln!(err, "{}: the event stream ended (daemon stopped?)", c.url)?;
    Ok(Exit::Unavailable)
}

/// Reads a server-sent event stream, calling `on(event name, data)` for each JSON event until
/// the stream ends or `on` returns `false`.
pub(super) fn read_events(body: impl std::io::Read, mut on: impl FnMut(&str, Value) -> bool) {
    let mut event = String::new();
    for line in std::io::BufReader::new(body).lines() {
        let Ok(line) = line else { return };
        if let Some(name) = line.strip_prefix("event:") {
            event = name.trim().to_owned();
        } else if let Some(data) = line.strip_prefix("data:")
            && let Ok(v) = serde_json::from_str::<Value>(data.trim())
            && !on(&event, v)
        {
            return;
        }
    }
}
