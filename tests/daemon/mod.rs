//! The station daemon end to end, over real sockets, PTYs and processes: the shared helpers
//! (start the simulator and the daemon, call the API through the library's client, wait)
//! here, the tests by subject in the files beside.

mod api;
mod central;
mod chip;
mod crashes;
mod ops;
pub(crate) mod printing;
mod reading;
mod storage;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{client, fixture, pstation};

/// A request through the library's client, untyped, for the tests of malformed requests:
/// (status, JSON body or `Null`). `content_type` `None` sends the body without one.
pub(crate) fn http(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let (base, path) = crate::util::split_url(url);
    let body = (method != "GET").then(|| (body, content_type.unwrap_or("")));
    client(base, None)
        .raw(method, path, body)
        .expect("the daemon answers")
}

pub(crate) fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    http(
        "POST",
        &format!("{base}{path}"),
        Some("application/json"),
        &serde_json::to_vec(&body).expect("json"),
    )
}

pub(crate) fn get(base: &str, path: &str) -> (u16, Value) {
    http("GET", &format!("{base}{path}"), None, b"")
}

fn submit(base: &str, job: &str) -> (u16, Value) {
    let bytes = std::fs::read(fixture(job)).expect("fixture");
    http(
        "POST",
        &format!("{base}/api/jobs"),
        Some("application/json"),
        &bytes,
    )
}

/// Polls until `check` holds (bounded; the bound is a hang guard, not a timing assertion).
pub(crate) fn until(what: &str, check: impl FnMut() -> bool) {
    until_for(what, 120, check);
}

/// `until` with a hang guard of `secs` seconds (for waits that span many jobs).
pub(crate) fn until_for(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < end, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn job_state(base: &str, id: &str) -> String {
    client(base, None)
        .job(id)
        .map(|d| d.job.state.as_str().to_owned())
        .unwrap_or_default()
}

/// A child process that is killed when the test ends.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `pstation sim --listen` and returns it with its `tcp://` URI.
pub(crate) fn start_sim(out: &Path, extra: &[&str]) -> (Proc, String) {
    let child = std::process::Command::new(pstation().get_program())
        .args(["sim", "--listen", "127.0.0.1:0"])
        .args(if extra.contains(&"--warm-up-ms") {
            &[][..]
        } else {
            &["--warm-up-ms", "100"][..]
        })
        // 300 ms a booklet unless the test says otherwise.
        .args(if extra.contains(&"--page-ms") {
            &[][..]
        } else {
            &["--page-ms", "300"][..]
        })
        .args(extra)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim");
    let mut child = Proc(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("listening line");
    // Keep reading its acknowledgements, so its stdout never closes under it.
    std::thread::spawn(move || for _ in reader.lines() {});
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .expect("listening")
        .to_owned();
    (child, format!("tcp://{addr}"))
}

/// Starts `pstation sim --pty` (a fresh PTY per host connection, followed by a symlink) and
/// returns it with the `serial://` URI of the link.
fn start_sim_pty(dir: &Path, out: &Path, extra: &[&str]) -> (Proc, String) {
    let link = dir.join("printer");
    let child = std::process::Command::new(pstation().get_program())
        .args(["sim", "--pty", "--warm-up-ms", "100"])
        .arg("--link")
        .arg(&link)
        .args(extra)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim");
    let mut child = Proc(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("pty line");
    assert!(line.starts_with("pty "), "{line}");
    std::thread::spawn(move || for _ in reader.lines() {});
    (
        child,
        format!("serial://{}?baud=115200&flow=none", link.display()),
    )
}

/// The embedded default, for a lab: unsigned jobs accepted and no API tokens (the signature
/// and roles tests configure theirs).
pub(crate) fn lab_toml() -> String {
    let text = crate::util::default_toml()
        .replace("require_signed_jobs = true", "require_signed_jobs = false")
        .replace("require_tokens = true", "require_tokens = false");
    assert!(
        text.contains("require_signed_jobs = false") && text.contains("require_tokens = false")
    );
    text
}

/// A station configuration that requires signed jobs and holds one central office key (made
/// by `pstation keys generate`), without booklet confirmation. Returns it and the private key.
fn signed_config(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = dir.join("central-office.jwk");
    let (code, out, err) = crate::util::run(
        pstation()
            .args(["keys", "generate", "--kid", "test-co", "--out"])
            .arg(&key),
    );
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("{ kid = "))
        .expect("the configuration line");
    // Tokens are the roles test's concern; here anyone local may call the API.
    let text = crate::util::default_toml()
        .replace("require_tokens = true", "require_tokens = false")
        .replace("keys = []", &format!("keys = [{line}]"))
        .replace(
            "require_booklet_confirmation = true",
            "require_booklet_confirmation = false",
        );
    assert!(text.contains("test-co"));
    let path = dir.join("signed.toml");
    std::fs::write(&path, text).expect("config");
    (path, key)
}

/// A lab configuration with booklet confirmation off (so a job prints as soon as it is queued).
pub(crate) fn config_without_confirmation(dir: &Path) -> std::path::PathBuf {
    let text = lab_toml().replace(
        "require_booklet_confirmation = true",
        "require_booklet_confirmation = false",
    );
    let path = dir.join("station.toml");
    std::fs::write(&path, text).expect("config");
    path
}

/// Starts `pstation serve` and returns it with its base URL.
pub(crate) fn start_serve(data: &Path, device: &str, config: &Path) -> (Proc, String, Vec<String>) {
    start_serve_logging(data, device, config, Stdio::null())
}

/// `start_serve` with the daemon's log (its standard error) sent to `log`.
pub(crate) fn start_serve_logging(
    data: &Path,
    device: &str,
    config: &Path,
    log: impl Into<Stdio>,
) -> (Proc, String, Vec<String>) {
    let child = std::process::Command::new(pstation().get_program())
        .args([
            "--log-level",
            "info",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--device",
            device,
        ])
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn serve");
    let mut child = Proc(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut notes = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "serve exited early: {notes:?}"
        );
        if let Some(url) = line.trim().strip_prefix("listening ") {
            // Keep draining stdout so the daemon never blocks on it.
            std::thread::spawn(move || for _ in reader.lines() {});
            return (child, url.to_owned(), notes);
        }
        notes.push(line.trim().to_owned());
    }
}

pub(crate) fn sim_jobs(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("jobs.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

pub(crate) fn jobs_in(base: &str, state: &str) -> Vec<pstation::api::wire::Job> {
    client(base, None)
        .jobs(Some(state))
        .expect("the job list")
        .jobs
}

pub(crate) fn control(sim: &mut Proc, word: &str) {
    use std::io::Write;
    let stdin = sim.0.stdin.as_mut().expect("sim stdin");
    writeln!(stdin, "{word}").expect("control");
}

pub(crate) fn doctor(args: &[&str]) -> (Option<i32>, String) {
    let out = pstation()
        .arg("doctor")
        .args(args)
        .output()
        .expect("doctor");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_words(&text);
    (out.status.code(), text)
}

/// A message a person reads is words: no JSON arrays or objects, no Rust debug notation.
pub(crate) fn assert_words(text: &str) {
    for notation in ["[\"", "\"]", "{\"", "Some(", "None", "[]", "{}"] {
        assert!(
            !text.contains(notation),
            "program notation {notation:?} in:\n{text}"
        );
    }
}

fn submit_as(base: &str, template: &str, id: &str, number: &str) -> (u16, Value) {
    let body = template
        .replace("SMD-2026-000123", id)
        .replace("X1234567", number);
    http(
        "POST",
        &format!("{base}/api/jobs"),
        Some("application/json"),
        body.as_bytes(),
    )
}
