//! The station daemon end to end: the HTTP API over a real socket, the print engine driving the
//! simulated printer, booklet confirmation, a fault that pauses and clears, hostile requests,
//! and real processes killed (`kill -9`) or stopped (SIGTERM) mid-print and restarted.

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
fn config_without_confirmation(dir: &Path) -> std::path::PathBuf {
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

#[test]
fn the_engine_waits_for_a_warming_printer_and_reads_its_counter_after_each_job() {
    // Issue 16 #6 and #8: a printer warming up is shown as such, with the operator's advice,
    // and a job waits for it (not failed, not refused); the page counter is current after the
    // job, without anyone asking.
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--warm-up-ms", "5000"]);
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        lab_toml().replace(
            "require_booklet_confirmation = true",
            "require_booklet_confirmation = false",
        ),
    )
    .expect("config");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    until("the printer shown warming up", || {
        get(&base, "/api/printer").1["printer"]["reasons"] == json!(["warming-up-report"])
    });
    let printer = get(&base, "/api/printer").1;
    assert_ne!(printer["printer"]["state"], "stopped", "{printer}");
    assert_eq!(
        printer["printer"]["advice"][0]["en"],
        "The printer is warming up; wait a moment, printing starts by itself",
        "{printer}"
    );
    let before = printer["identity"]["page_count"]
        .as_u64()
        .expect("a page counter");
    let (status, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X1234560", "last": "X1234569"}),
    );
    assert_eq!(status, 201);
    let (status, v) = submit(&base, "jobs/valid/santoso-budi.json");
    assert_eq!(status, 201, "{v}");
    until("printed once warm", || {
        job_state(&base, "SMD-2026-000123") == "printed"
    });
    let (_, v) = get(&base, "/api/jobs/SMD-2026-000123");
    let attempts = v["attempts"].as_array().expect("attempts");
    assert_eq!(
        attempts.len(),
        1,
        "one attempt, not a failed one first: {v}"
    );
    until("the counter read after the job", || {
        get(&base, "/api/printer").1["identity"]["page_count"].as_u64() == Some(before + 1)
    });
}

#[test]
fn a_job_prints_only_after_its_booklet_is_confirmed_and_a_cover_open_pauses_then_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (mut sim, device) = start_sim(&pages, &["--fault", "cover-open"]);
    let config = dir.path().join("station.toml");
    std::fs::write(&config, lab_toml()).expect("config");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);

    // Submitted before its booklet is in stock: held, saying why; the batch releases it.
    let (status, v) = submit(&base, "jobs/valid/santoso-budi.json");
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["job"]["state"], "held");
    let (status, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X1234560", "last": "X1234569"}),
    );
    assert_eq!(status, 201);
    assert_eq!(job_state(&base, "SMD-2026-000123"), "queued");
    // The same job again changes nothing; the same id with other content is refused.
    let (status, v) = submit(&base, "jobs/valid/santoso-budi.json");
    assert_eq!((status, &v["existing"]), (200, &json!(true)));
    let other = std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json"))
        .expect("fixture")
        .replace("SAMARINDA", "BALIKPAPAN");
    let (status, v) = http(
        "POST",
        &format!("{base}/api/jobs"),
        Some("application/json"),
        other.as_bytes(),
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );

    // The printer reports its cover open, with what to do in both languages.
    until("the cover-open status", || {
        get(&base, "/api/printer").1["printer"]["reasons"] == json!(["cover-open-error"])
    });
    let printer = get(&base, "/api/printer").1;
    assert_eq!(
        printer["printer"]["advice"][0]["id"],
        "Tutup penutup printer"
    );
    assert_eq!(
        printer["printer"]["advice"][0]["en"],
        "Close the printer cover"
    );

    // A wrong booklet number is refused; the right one is accepted, but the cover is open.
    let (status, v) = post(
        &base,
        "/api/jobs/SMD-2026-000123/confirm-booklet",
        json!({"booklet": "X1234568"}),
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("booklet-mismatch"))
    );
    let (status, _) = post(
        &base,
        "/api/jobs/SMD-2026-000123/confirm-booklet",
        json!({"booklet": "X1234567"}),
    );
    assert_eq!(status, 200);
    assert_eq!(job_state(&base, "SMD-2026-000123"), "queued");
    assert!(sim_jobs(&pages).is_empty(), "nothing reached the printer");

    // Closing the cover lets the engine go on by itself.
    {
        use std::io::Write;
        let stdin = sim.0.stdin.as_mut().expect("sim stdin");
        writeln!(stdin, "clear").expect("control");
    }
    until("the job printed", || {
        job_state(&base, "SMD-2026-000123") == "printed"
    });
    let (status, v) = post(&base, "/api/jobs/SMD-2026-000123/verify", json!({}));
    assert_eq!((status, &v["job"]["state"]), (200, &json!("completed")));
    let rec = get(&base, "/api/booklets/reconcile").1;
    assert_eq!(rec["balanced"], true, "{rec}");
    assert_eq!(rec["reconciliation"]["issued"], 1);
    let jobs = sim_jobs(&pages);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["name"], "SMD-2026-000123-a1");
    assert_eq!(jobs[0]["result"], "OK");
    // The event log tells the story, with who did what.
    let show = get(&base, "/api/jobs/SMD-2026-000123").1;
    let actions: Vec<&str> = show["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        [
            "submit",
            "hold-by-station",
            "release",
            "confirm-booklet-refused",
            "confirm-booklet",
            "start-printing",
            "print-confirmed",
            "verify"
        ]
    );
}

#[test]
fn hostile_requests_are_refused_with_codes_and_the_daemon_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_without_confirmation(dir.path());
    // No printer at all: the API works regardless.
    let (_serve, base, _) = start_serve(&dir.path().join("data"), "tcp://127.0.0.1:9", &config);
    let url = |p: &str| format!("{base}{p}");
    // (method, url, content type, body, status, error code)
    type Case<'a> = (&'a str, String, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "POST",
            url("/api/jobs"),
            Some("text/plain"),
            b"{}".to_vec(),
            415,
            "unsupported-media-type",
        ),
        (
            "POST",
            url("/api/jobs"),
            Some("application/json"),
            b"{not json".to_vec(),
            422,
            "invalid-job",
        ),
        (
            "POST",
            url("/api/jobs"),
            Some("application/json"),
            vec![b' '; 17 * 1024 * 1024],
            413,
            "body-too-large",
        ),
        (
            "PUT",
            url("/api/jobs"),
            Some("application/json"),
            b"{}".to_vec(),
            405,
            "method-not-allowed",
        ),
        (
            "GET",
            url("/api/jobs/..%2F..%2Fetc%2Fpasswd"),
            None,
            vec![],
            400,
            "invalid-id",
        ),
        (
            "GET",
            url("/api/jobs/NO-SUCH-JOB"),
            None,
            vec![],
            404,
            "not-found",
        ),
        (
            "GET",
            url("/api/jobs?state=done"),
            None,
            vec![],
            400,
            "invalid-state",
        ),
        (
            "POST",
            url("/api/jobs/NO-SUCH-JOB/explode"),
            Some("application/json"),
            b"{}".to_vec(),
            404,
            "unknown-action",
        ),
        (
            "POST",
            url("/api/jobs/NO-SUCH-JOB/hold"),
            Some("application/json"),
            b"{\"why\":1}".to_vec(),
            400,
            "invalid-body",
        ),
        (
            "POST",
            url("/api/booklets/batches"),
            Some("application/json"),
            b"{\"first\":\"X1\",\"last\":\"Y2\"}".to_vec(),
            409,
            "invalid-range",
        ),
        (
            "GET",
            url("/api/nothing-here"),
            None,
            vec![],
            404,
            "not-found",
        ),
    ];
    for (method, u, ct, body, status, code) in cases {
        let (got, v) = http(method, &u, ct, &body);
        assert_eq!(got, status, "{method} {u}: {v}");
        if !code.is_empty() {
            assert_eq!(v["error"]["code"], code, "{method} {u}: {v}");
        }
    }
    // An invalid user on an action.
    let robert = pstation::client::Client::new(
        &base,
        pstation::client::Credentials {
            user: Some("robert'); drop table".to_owned()),
            ..Default::default()
        },
    );
    let (status, v) = robert
        .raw(
            "POST",
            "/api/jobs/NO-SUCH-JOB/hold",
            Some((b"{}", "application/json")),
        )
        .expect("answer");
    assert_eq!(status, 400, "{v}");
    // Slow clients: a hundred connections that send half a request and then nothing hold no
    // one else up.
    let slow: Vec<std::net::TcpStream> = (0..100)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(base.trim_start_matches("http://"))
                .expect("connect");
            std::io::Write::write_all(
                &mut c,
                b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"job",
            )
            .expect("write");
            c
        })
        .collect();
    assert_eq!(get(&base, "/api/health").0, 200);
    drop(slow);
    // Nothing was stored, and the daemon still serves.
    let (status, v) = get(&base, "/api/jobs");
    assert_eq!((status, v["jobs"].as_array().map(Vec::len)), (200, Some(0)));
    assert_eq!(get(&base, "/api/health").0, 200);
    // The printer it cannot reach is reported as such.
    until("the printer reported offline", || {
        get(&base, "/api/printer").1["printer"]["link"] == "lost"
    });
}

#[test]
fn kill_9_while_printing_leaves_the_job_needing_verification_and_it_is_never_reprinted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    // 19200 baud: the page takes about 18 s to send, so the kill lands mid-transfer.
    let (_sim, device) = start_sim(&pages, &["--baud", "19200"]);
    let config = config_without_confirmation(dir.path());
    let data = dir.path().join("data");
    let (mut serve, base, _) = start_serve(&data, &device, &config);
    assert_eq!(
        post(
            &base,
            "/api/booklets/batches",
            json!({"first": "X7654300", "last": "X7654399"})
        )
        .0,
        201
    );
    assert_eq!(submit(&base, "jobs/valid/partini.json").0, 201);
    until("printing", || {
        job_state(&base, "SMD-2026-000124") == "printing"
    });
    serve.0.kill().expect("kill -9"); // SIGKILL
    let _ = serve.0.wait();

    let (_serve2, base2, notes) = start_serve(&data, &device, &config);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("SMD-2026-000124") && n.contains("needs verification")),
        "{notes:?}"
    );
    assert_eq!(job_state(&base2, "SMD-2026-000124"), "needs-verification");
    // The restarted engine reaches the printer and has every chance to print; it must not.
    until("the printer idle again", || {
        get(&base2, "/api/printer").1["printer"]["state"] == "idle"
    });
    assert_eq!(
        post(
            &base2,
            "/api/booklets/batches",
            json!({"first": "X1234500", "last": "X1234599"})
        )
        .0,
        201
    );
    assert_eq!(submit(&base2, "jobs/valid/santoso-budi.json").0, 201);
    until("the next job printed", || {
        job_state(&base2, "SMD-2026-000123") == "printed"
    });
    assert_eq!(job_state(&base2, "SMD-2026-000124"), "needs-verification");
    let names: Vec<String> = sim_jobs(&pages)
        .iter()
        .map(|j| j["name"].as_str().unwrap_or("").to_owned())
        .collect();
    // The kill may land before or after its first bytes reached the printer; either way the
    // station never sent it again.
    assert!(
        names
            .iter()
            .filter(|n| n.starts_with("SMD-2026-000124"))
            .count()
            <= 1,
        "the job in doubt reached the printer more than once: {names:?}"
    );
    // Reconciliation names the booklet in doubt until a person decides.
    let rec = get(&base2, "/api/booklets/reconcile").1;
    assert_eq!(rec["balanced"], false);
    let (status, _) = post(
        &base2,
        "/api/jobs/SMD-2026-000124/spoil",
        json!({"reason": "half printed when the station died"}),
    );
    assert_eq!(status, 200);
    let (status, v) = post(
        &base2,
        "/api/jobs/SMD-2026-000124/reprint",
        json!({"booklet": "X7654322", "supervisor": "demo-operator"}),
    );
    // The header-less caller is "local"; a different supervisor approves.
    assert_eq!(status, 200, "{v}");
    let rec = get(&base2, "/api/booklets/reconcile").1;
    assert_eq!(rec["reconciliation"]["spoiled"], 1, "{rec}");
}

#[test]
fn sigterm_while_printing_finishes_the_job_before_stopping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "57600"]);
    let config = config_without_confirmation(dir.path());
    let data = dir.path().join("data");
    let (mut serve, base, _) = start_serve(&data, &device, &config);
    assert_eq!(
        post(
            &base,
            "/api/booklets/batches",
            json!({"first": "X7654300", "last": "X7654399"})
        )
        .0,
        201
    );
    assert_eq!(submit(&base, "jobs/valid/partini.json").0, 201);
    until("printing", || {
        job_state(&base, "SMD-2026-000124") == "printing"
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &serve.0.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = serve.0.wait().expect("serve exits");
    assert_eq!(exit.code(), Some(0));
    let (_serve2, base2, notes) = start_serve(&data, &device, &config);
    assert!(notes.is_empty(), "nothing was left in doubt: {notes:?}");
    assert_eq!(job_state(&base2, "SMD-2026-000124"), "printed");
}

/// A deterministic pseudo-random sequence (xorshift), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

pub(crate) fn jobs_in(base: &str, state: &str) -> Vec<pstation::api::wire::Job> {
    client(base, None)
        .jobs(Some(state))
        .expect("the job list")
        .jobs
}

#[test]
fn sigkill_during_a_100_job_run_over_a_pty_loses_nothing_and_prints_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    // A slow printer (400 ms a booklet) on an unpaced PTY: much of the run is spent `printing`.
    // The daemon opens the PTY through `serialport` exactly like a serial printer; a kill
    // closes its end, which the simulator sees as the cable's far end going away.
    let (_sim, device) = start_sim_pty(
        dir.path(),
        &pages,
        &["--baud", "0", "--page-ms", "400", "--hopper", "1000"],
    );
    let config = config_without_confirmation(dir.path());
    let data = dir.path().join("data");
    let template: Value = serde_json::from_slice(
        &std::fs::read(fixture("jobs/valid/santoso-budi.json")).expect("fixture"),
    )
    .expect("json");
    let ids: Vec<String> = (0..100).map(|i| format!("KILL-{i:03}")).collect();

    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for round in 0..10 {
        let (mut serve, base, _) = start_serve(&data, &device, &config);
        if round == 0 {
            let (s, _) = post(
                &base,
                "/api/booklets/batches",
                json!({"first": "X5000000", "last": "X5000199"}),
            );
            assert_eq!(s, 201);
            for (i, id) in ids.iter().enumerate() {
                let mut job = template.clone();
                job["job_id"] = json!(id);
                job["document"]["number"] = json!(format!("X{:07}", 5_000_000 + i));
                let (s, v) = http(
                    "POST",
                    &format!("{base}/api/jobs"),
                    Some("application/json"),
                    &serde_json::to_vec(&job).expect("json"),
                );
                assert_eq!(s, 201, "{v}");
            }
        }
        std::thread::sleep(Duration::from_millis(500 + rng.next() % 2500));
        serve.0.kill().expect("SIGKILL");
        let _ = serve.0.wait();
    }

    // The last run goes to the end; an operator settles every job in doubt by looking at what
    // the printer really did (the simulator's record).
    let (_serve, base, _) = start_serve(&data, &device, &config);
    let mut spare = 100;
    let mut settled = (0, 0, 0); // (verified, spoiled and reprinted, released)
    loop {
        // Up to 100 jobs print here: a generous guard for a loaded CI machine.
        until_for("no job queued or printing", 900, || {
            jobs_in(&base, "queued").is_empty() && jobs_in(&base, "printing").is_empty()
        });
        let doubt = jobs_in(&base, "needs-verification");
        let printed = jobs_in(&base, "printed");
        if doubt.is_empty() && printed.is_empty() {
            break;
        }
        let operator = client(&base, None);
        for j in printed {
            let verified = operator
                .act(&j.job_id, "verify", &Default::default())
                .expect("verify");
            assert_eq!(verified.job.state.as_str(), "completed");
        }
        let records = sim_jobs(&pages);
        for j in doubt {
            let id = j.job_id.as_str();
            let attempt = j.attempt_id.as_deref().expect("attempt");
            let mine: Vec<&Value> = records.iter().filter(|r| r["name"] == attempt).collect();
            let whole = mine
                .iter()
                .any(|r| r["pages_printed"] == 1 && r["ending"] == "eoj" && r["result"] == "OK");
            let some = mine
                .iter()
                .any(|r| r["pages_printed"].as_u64().unwrap_or(0) > 0);
            let (s, v) = if whole {
                settled.0 += 1;
                post(&base, &format!("/api/jobs/{id}/verify"), json!({}))
            } else if some {
                let (s, v) = post(
                    &base,
                    &format!("/api/jobs/{id}/spoil"),
                    json!({"reason": "partly printed"}),
                );
                assert_eq!(s, 200, "{v}");
                settled.1 += 1;
                spare += 1;
                post(
                    &base,
                    &format!("/api/jobs/{id}/reprint"),
                    json!({"booklet": format!("X{:07}", 5_000_000 + spare), "supervisor": "sup"}),
                )
            } else {
                settled.2 += 1;
                post(
                    &base,
                    &format!("/api/jobs/{id}/release"),
                    json!({"reason": "the booklet is blank"}),
                )
            };
            assert_eq!(s, 200, "{id}: {v}");
        }
    }

    eprintln!("jobs in doubt settled (verified, spoiled and reprinted, released): {settled:?}");
    // With ten kills, some land while a booklet is being printed (about half, with this
    // printer); a run where none did would not have tested the doubt path.
    assert_ne!(settled, (0, 0, 0), "no kill landed mid-print");
    // No accepted job lost: all 100 completed.
    let all = get(&base, "/api/jobs").1["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(all.len(), 100);
    assert!(all.iter().all(|j| j["state"] == "completed"), "{all:?}");
    // Nothing printed twice unless a person released or reprinted it after a doubt.
    let records = sim_jobs(&pages);
    for id in &ids {
        let out: Vec<&Value> = records
            .iter()
            .filter(|r| {
                r["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&format!("{id}-a")))
                    && r["pages_printed"].as_u64().unwrap_or(0) > 0
            })
            .collect();
        assert!(!out.is_empty(), "{id} never came out of the printer");
        let events = get(&base, &format!("/api/jobs/{id}")).1["events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if out.len() > 1 {
            let by_person = events.iter().any(|e| {
                (e["action"] == "release" && e["from_state"] == "needs-verification")
                    || e["action"] == "reprint"
            });
            assert!(
                by_person,
                "{id} printed {} times without a person deciding: {events:?}",
                out.len()
            );
        }
        // The event log is complete: every state change starts where the last one ended.
        let mut state = None::<String>;
        for e in &events {
            let (Some(from), Some(to)) = (e["from_state"].as_str(), e["to_state"].as_str()) else {
                continue;
            };
            if let Some(prev) = &state {
                assert_eq!(prev, from, "{id}: a gap in the event log: {events:?}");
            }
            state = Some(to.to_owned());
        }
        assert_eq!(state.as_deref(), Some("completed"), "{id}");
        // Every attempt the printer saw is an attempt the station recorded.
        for r in &out {
            let name = r["name"].as_str().unwrap_or("");
            assert!(
                events.iter().any(|e| e["attempt_id"] == name),
                "{name} reached the printer but is not in the event log"
            );
        }
    }
    // Every booklet accounted for.
    let rec = get(&base, "/api/booklets/reconcile").1;
    assert_eq!(rec["balanced"], true, "{rec}");
    let r = &rec["reconciliation"];
    assert_eq!(r["issued"], 100, "{rec}");
    assert_eq!(
        r["received"].as_u64(),
        Some(
            r["issued"].as_u64().unwrap_or(0)
                + r["spoiled"].as_u64().unwrap_or(0)
                + r["in_stock"].as_u64().unwrap_or(0)
        )
    );
}

pub(crate) fn control(sim: &mut Proc, word: &str) {
    use std::io::Write;
    let stdin = sim.0.stdin.as_mut().expect("sim stdin");
    writeln!(stdin, "{word}").expect("control");
}

fn printer_reasons(base: &str) -> Vec<String> {
    client(base, None)
        .printer()
        .expect("printer status")
        .printer
        .reasons
}

fn submit_numbered(base: &str, id: &str, number: &str) {
    let mut job: Value = serde_json::from_slice(
        &std::fs::read(fixture("jobs/valid/santoso-budi.json")).expect("fixture"),
    )
    .expect("json");
    job["job_id"] = json!(id);
    job["document"]["number"] = json!(number);
    let (s, v) = http(
        "POST",
        &format!("{base}/api/jobs"),
        Some("application/json"),
        &serde_json::to_vec(&job).expect("json"),
    );
    assert_eq!(s, 201, "{v}");
}

#[test]
fn jam_cover_open_out_of_booklets_and_unplug_mid_run_recover_without_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (mut sim, device) = start_sim(&pages, &["--baud", "0"]);
    let config = config_without_confirmation(dir.path());
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    assert_eq!(
        post(
            &base,
            "/api/booklets/batches",
            json!({"first": "X6000000", "last": "X6000009"})
        )
        .0,
        201
    );
    until("the printer ready", || {
        get(&base, "/api/printer").1["printer"]["state"] == "idle"
    });

    // A jam eats the booklet: the outcome is in doubt, a person spoils it and a supervisor
    // approves the reprint on a new booklet.
    control(&mut sim, "jam@page1");
    submit_numbered(&base, "F-JAM", "X6000000");
    until("the jam reported", || {
        printer_reasons(&base) == ["media-jam-error"]
    });
    let advice = get(&base, "/api/printer").1["printer"]["advice"][0]["en"].clone();
    assert_eq!(
        advice,
        "Open the printer, remove the jammed booklet, then close it"
    );
    control(&mut sim, "clear");
    until("the jammed job in doubt", || {
        job_state(&base, "F-JAM") == "needs-verification"
    });
    assert_eq!(
        post(&base, "/api/jobs/F-JAM/spoil", json!({"reason": "jammed"})).0,
        200
    );
    assert_eq!(
        post(
            &base,
            "/api/jobs/F-JAM/reprint",
            json!({"booklet": "X6000001", "supervisor": "sup"})
        )
        .0,
        200
    );
    until("the reprint printed", || {
        job_state(&base, "F-JAM") == "printed"
    });

    // Cover open: nothing is sent until it closes.
    control(&mut sim, "cover-open");
    until("cover open reported", || {
        printer_reasons(&base) == ["cover-open-error"]
    });
    submit_numbered(&base, "F-COVER", "X6000002");
    assert_eq!(job_state(&base, "F-COVER"), "queued");
    control(&mut sim, "clear");
    until("printed after the cover closed", || {
        job_state(&base, "F-COVER") == "printed"
    });

    // Out of booklets at the printer: the job waits in the printer until it is refilled.
    control(&mut sim, "out-of-booklets");
    submit_numbered(&base, "F-EMPTY", "X6000003");
    until("booklets needed", || {
        printer_reasons(&base) == ["media-needed-error"]
    });
    assert_eq!(job_state(&base, "F-EMPTY"), "printing");
    control(&mut sim, "refill=5");
    until("printed after the refill", || {
        job_state(&base, "F-EMPTY") == "printed"
    });

    // Unplugged and plugged back (the link drops; the station reopens it by itself).
    control(&mut sim, "link-drop");
    submit_numbered(&base, "F-UNPLUG", "X6000004");
    until("printed after the replug", || {
        job_state(&base, "F-UNPLUG") == "printed"
    });

    // Nothing lost, everything accounted for.
    for id in ["F-JAM", "F-COVER", "F-EMPTY", "F-UNPLUG"] {
        assert_eq!(
            post(&base, &format!("/api/jobs/{id}/verify"), json!({})).0,
            200,
            "{id}"
        );
    }
    let rec = get(&base, "/api/booklets/reconcile").1;
    assert_eq!(rec["balanced"], true, "{rec}");
    assert_eq!(
        (
            &rec["reconciliation"]["issued"],
            &rec["reconciliation"]["spoiled"]
        ),
        (&json!(4), &json!(1))
    );
}

#[test]
fn the_operator_commands_drive_the_daemon_and_report_refusals_and_an_absent_daemon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("station.toml");
    std::fs::write(&config, lab_toml()).expect("config");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let cli = |args: &[&str]| {
        crate::util::run(
            pstation()
                .args(args)
                .args(["--url", &base, "--user", "ayu"]),
        )
    };
    let (code, out, err) = cli(&["booklets", "receive", "X1234560", "X1234569"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(10 booklets) received"), "{out}");
    let job = fixture("jobs/valid/santoso-budi.json");
    let (code, out, err) = cli(&["submit", job.to_str().expect("path")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("SMD-2026-000123") && out.contains("queued"),
        "{out}"
    );
    // Invalid jobs are refused with one line per problem and exit 2.
    let bad = fixture("jobs/invalid/many-problems.json");
    let (code, out, err) = cli(&["submit", bad.to_str().expect("path")]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains("invalid-job") && err.contains("document.sex: sex:"),
        "{err}"
    );
    let (code, _, err) = cli(&["job", "confirm-booklet", "SMD-2026-000123", "X0000000"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("booklet-mismatch:"), "{err}");
    let (code, out, _) = cli(&[
        "job",
        "hold",
        "SMD-2026-000123",
        "--reason",
        "customer asked",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("held"), "{out}");
    let (code, out, _) = cli(&["jobs", "--state", "held"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("SMD-2026-000123") && out.ends_with("1 job(s)\n"),
        "{out}"
    );
    let (code, out, _) = cli(&["job", "show", "SMD-2026-000123"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("hold") && out.contains("ayu") && out.contains("customer asked"),
        "{out}"
    );
    let (code, out, _) = cli(&["job", "release", "SMD-2026-000123"]);
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = cli(&["job", "confirm-booklet", "SMD-2026-000123", "X1234567"]);
    assert_eq!(code, 0);
    until("printed", || {
        job_state(&base, "SMD-2026-000123") == "printed"
    });
    // Printed but not yet verified: the booklet is issued; the stock balances.
    let (code, out, _) = cli(&["booklets", "reconcile"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("received 10 = issued 1 + spoiled 0 + in stock 9"),
        "{out}"
    );
    let (code, out, _) = cli(&["printer", "status"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("printer idle (link up)"), "{out}");
    let (code, out, _) = cli(&["job", "show", "SMD-2026-000123", "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["job"]["state"], "printed");
    // No daemon there: exit 5 and what to check.
    let (code, _, err) = crate::util::run(pstation().args(["jobs", "--url", "http://127.0.0.1:9"]));
    assert_eq!(code, 5);
    assert!(err.contains("daemon-unreachable"), "{err}");
}

#[test]
fn a_full_store_refuses_new_jobs_with_a_reason_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        lab_toml().replace("max_store_mb = 4096", "max_store_mb = 1"),
    )
    .expect("config");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    assert_eq!(
        post(
            &base,
            "/api/booklets/batches",
            json!({"first": "X7000000", "last": "X7000199"})
        )
        .0,
        201
    );
    let template = std::fs::read(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let mut accepted = 0;
    let refusal = loop {
        assert!(accepted < 200, "the store never filled");
        let body = String::from_utf8(template.clone())
            .expect("utf-8")
            .replace("SMD-2026-000123", &format!("FULL-{accepted:03}"))
            .replace("X1234567", &format!("X{:07}", 7_000_000 + accepted));
        let (s, v) = http(
            "POST",
            &format!("{base}/api/jobs"),
            Some("application/json"),
            body.as_bytes(),
        );
        if s != 201 {
            break (s, v);
        }
        accepted += 1;
    };
    assert_eq!(refusal.0, 507, "{}", refusal.1);
    assert_eq!(refusal.1["error"]["code"], "store-full");
    assert!(
        refusal.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("daemon.max_store_mb")),
        "{}",
        refusal.1
    );
    // Nothing accepted was lost, and an accepted job still prints and completes.
    assert_eq!(jobs_in(&base, "queued").len(), accepted);
    let (s, _) = post(
        &base,
        "/api/jobs/FULL-000/confirm-booklet",
        json!({"booklet": "X7000000"}),
    );
    assert_eq!(s, 200);
    until("printed", || job_state(&base, "FULL-000") == "printed");
    assert_eq!(post(&base, "/api/jobs/FULL-000/verify", json!({})).0, 200);
}

/// A small ext4 file system on a loop device, mounted for one test, so "disk full" and
/// "read-only" are the real thing: a root test process would ignore file permissions, and
/// ext4's `errors=remount-ro` is how a data folder really turns read-only under a running
/// daemon. Needs root (or CAP_SYS_ADMIN) and e2fsprogs, as `scripts/test` has in CI.
struct LoopDisk {
    image: std::path::PathBuf,
    at: std::path::PathBuf,
}

fn run_ok(cmd: &mut std::process::Command) {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl LoopDisk {
    fn new(dir: &Path, mb: u64) -> Self {
        let image = dir.join("disk.img");
        let at = dir.join("disk");
        std::fs::create_dir_all(&at).expect("mount point");
        let f = std::fs::File::create(&image).expect("image");
        f.set_len(mb * 1024 * 1024).expect("image size");
        // No blocks reserved for root: the daemon (root in CI) sees the disk as users do.
        run_ok(
            std::process::Command::new("mkfs.ext4")
                .args(["-q", "-F", "-m", "0"])
                .arg(&image),
        );
        let disk = Self { image, at };
        disk.mount("rw");
        disk
    }

    fn mount(&self, mode: &str) {
        run_ok(
            std::process::Command::new("mount")
                .args(["-o", &format!("loop,errors=remount-ro,{mode}")])
                .arg(&self.image)
                .arg(&self.at),
        );
    }

    fn umount(&self) {
        run_ok(std::process::Command::new("umount").arg(&self.at));
    }

    /// What the kernel does on a file-system error: the disk turns read-only under every
    /// open file.
    fn fail(&self) {
        let out = std::process::Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(&self.at)
            .output()
            .expect("findmnt");
        let source = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let dev = source.rsplit('/').next().unwrap_or("").to_owned();
        std::fs::write(
            format!("/sys/fs/ext4/{dev}/trigger_fs_error"),
            "pstation test",
        )
        .expect("trigger an ext4 error");
    }

    /// Unmounts, repairs (as after a real error) and mounts again in `mode`.
    fn repair(&self, mode: &str) {
        self.umount();
        // e2fsck exits 1 when it fixed something: that is expected after an error.
        let status = std::process::Command::new("e2fsck")
            .args(["-f", "-y"])
            .arg(&self.image)
            .output()
            .expect("e2fsck")
            .status;
        assert!(matches!(status.code(), Some(0 | 1)), "e2fsck: {status}");
        self.mount(mode);
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.at)
            .status();
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

/// Fills the file system holding `dir` with a ballast file until it is full.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("ballast");
    let mut f = std::fs::File::create(&path).expect("ballast");
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    // A last few bytes, then whatever the page cache still accepts.
    while f.write_all(&block[..512]).is_ok() {}
    let _ = f.sync_all();
    path
}

#[test]
fn a_full_disk_or_a_read_only_data_folder_refuses_new_jobs_with_a_reason_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = LoopDisk::new(dir.path(), 16);
    let data = disk.at.join("data");
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let config_with = |min_free: u64| {
        let path = dir.path().join(format!("station-{min_free}.toml"));
        std::fs::write(
            &path,
            lab_toml().replace("min_free_mb = 256", &format!("min_free_mb = {min_free}")),
        )
        .expect("config");
        path
    };
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);

    // 1. The free-space reserve: new jobs are refused before the disk is full.
    let (mut serve, base, _) = start_serve(&data, &device, &config_with(3));
    let (s, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X7100000", "last": "X7100999"}),
    );
    assert_eq!(s, 201);
    let mut accepted = 0;
    let refusal = loop {
        assert!(accepted < 1000, "the disk never filled");
        let (s, v) = submit_as(
            &base,
            &template,
            &format!("DISK-{accepted:03}"),
            &format!("X{:07}", 7_100_000 + accepted),
        );
        if s != 201 {
            break (s, v);
        }
        accepted += 1;
    };
    assert!(accepted > 0);
    assert_eq!(refusal.0, 507, "{}", refusal.1);
    assert_eq!(refusal.1["error"]["code"], "store-full");
    let message = refusal.1["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("daemon.min_free_mb"), "{message}");
    let health = get(&base, "/api/health").1;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["problems"][0]["code"], "store-full", "{health}");
    // Nothing accepted was lost, and an accepted job still prints in the reserve.
    assert_eq!(jobs_in(&base, "queued").len(), accepted);
    let (s, _) = post(
        &base,
        "/api/jobs/DISK-000/confirm-booklet",
        json!({"booklet": "X7100000"}),
    );
    assert_eq!(s, 200);
    until("printed", || job_state(&base, "DISK-000") == "printed");
    serve.0.kill().expect("kill");
    let _ = serve.0.wait();

    // 2. A disk really full (no reserve): SQLite's own "disk full" is the same refusal, the
    //    daemon keeps serving, and it accepts again once space is freed.
    let (mut serve, base, _) = start_serve(&data, &device, &config_with(0));
    let ballast = fill(&disk.at);
    // SQLite may still have room in the pages its files already hold; beyond them it reports
    // the disk full.
    let mut in_files = 0;
    let (s, v) = loop {
        assert!(in_files < 500, "the full disk never refused a job");
        let (s, v) = submit_as(
            &base,
            &template,
            &format!("DISK-F{in_files:03}"),
            &format!("X{:07}", 7_100_500 + in_files),
        );
        if s != 201 {
            break (s, v);
        }
        in_files += 1;
    };
    accepted += in_files;
    assert_eq!(s, 507, "{v}");
    assert_eq!(v["error"]["code"], "store-full", "{v}");
    assert_eq!(jobs_in(&base, "queued").len(), accepted - 1);
    assert_eq!(get(&base, "/api/health").0, 200, "the daemon keeps serving");
    std::fs::remove_file(&ballast).expect("free the disk");
    let (s, v) = submit_as(&base, &template, "DISK-FULL", "X7100900");
    assert_eq!(s, 201, "{v}");
    accepted += 1;

    // 3. The file system turns read-only under the running daemon (a disk error): new jobs
    //    are refused with their own code, an operator action cannot be recorded, reads work.
    disk.fail();
    let (s, v) = submit_as(&base, &template, "DISK-RO", "X7100901");
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["error"]["code"], "store-read-only", "{v}");
    assert_eq!(jobs_in(&base, "queued").len(), accepted - 1);
    let health = get(&base, "/api/health").1;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["problems"][0]["code"], "store-read-only", "{health}");
    assert_eq!(health["data_dir"]["writable"], false, "{health}");
    let (s, v) = post(
        &base,
        "/api/jobs/DISK-001/confirm-booklet",
        json!({"booklet": "X7100001"}),
    );
    assert_eq!(s, 503, "an operator action cannot be recorded: {v}");
    assert_eq!(v["error"]["code"], "store-read-only", "{v}");
    assert_eq!(job_state(&base, "DISK-001"), "queued");
    serve.0.kill().expect("kill");
    let _ = serve.0.wait();

    // 4. Starting on a read-only data folder fails at once with a reason, and changes nothing.
    disk.repair("ro");
    let mut serve = Proc(
        std::process::Command::new(pstation().get_program())
            .args(["serve", "--listen", "127.0.0.1:0", "--device", &device])
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(config_with(0))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve"),
    );
    until_for("serve refuses to start", 60, || {
        serve.0.try_wait().ok().flatten().is_some()
    });
    let status = serve.0.wait().expect("status");
    assert_ne!(status.code(), Some(0));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut serve.0.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    assert!(
        err.contains("read-only") && err.contains(&data.display().to_string()),
        "{err}"
    );
    let (code, text) = doctor(&[
        "--data-dir",
        &data.display().to_string(),
        "--device",
        &device,
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PROBLEM  data folder") && text.contains("store-read-only"),
        "{text}"
    );
    disk.umount();
    disk.mount("rw");

    // 5. Writable again: every accepted job is there, in the state it was left in.
    let (_serve, base, _) = start_serve(&data, &device, &config_with(0));
    let all = get(&base, "/api/jobs").1["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(all.len(), accepted, "{all:?}");
    assert_eq!(job_state(&base, "DISK-000"), "printed");
    assert_eq!(jobs_in(&base, "queued").len(), accepted - 1);
}

#[test]
fn a_backup_taken_while_printing_restores_every_job_and_restore_waits_for_the_daemon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0", "--page-ms", "400"]);
    let config = config_without_confirmation(dir.path());
    let data = dir.path().join("data");
    let (mut serve, base, _) = start_serve(&data, &device, &config);
    let (s, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X7200000", "last": "X7200099"}),
    );
    assert_eq!(s, 201);
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    for i in 0..20 {
        let (s, v) = submit_as(
            &base,
            &template,
            &format!("BACKUP-{i:02}"),
            &format!("X{:07}", 7_200_000 + i),
        );
        assert_eq!(s, 201, "{v}");
    }
    until("a job printing", || !jobs_in(&base, "printing").is_empty());

    // The backup, taken while the engine writes.
    let file = dir.path().join("station-backup.db");
    let out = pstation()
        .arg("backup")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("backup");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("20 jobs") && text.contains("checks passed"),
        "{text}"
    );
    // Never over an existing file.
    let out = pstation()
        .arg("backup")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("backup");
    assert_eq!(out.status.code(), Some(2));

    // While the daemon runs, neither a restore nor a second daemon may touch its folder.
    let out = pstation()
        .arg("restore")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("restore");
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data-dir-busy"));
    let out = pstation()
        .args(["serve", "--listen", "127.0.0.1:0", "--device", &device])
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .output()
        .expect("second serve");
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("data-dir-busy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serve.0.kill().expect("kill");
    let _ = serve.0.wait();

    // Restored into the same folder (the old store kept aside), the station has every job,
    // and the copy passes the store's checks.
    let out = pstation()
        .arg("restore")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("restore");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("kept as"), "{text}");
    let report = pstation::store::backup::check(&data.join("station.db")).expect("check");
    assert!(report.problems.is_empty(), "{report:?}");
    assert_eq!(report.jobs, 20);
    // The restored event log's hash chain is whole.
    let (code, out, err) = crate::util::run(
        pstation()
            .args(["audit", "verify", "--data-dir"])
            .arg(&data),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("events chained and verified (0 from before the chain)"),
        "{out}"
    );
    let kept = std::fs::read_dir(&data)
        .expect("data")
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().contains("before-restore"));
    assert!(kept, "the replaced store is kept");
    let (_serve, base, _) = start_serve(&data, &device, &config);
    let all = get(&base, "/api/jobs").1["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(all.len(), 20);
    // The job printing when the copy was taken is in doubt after the restore, never requeued.
    assert!(all.iter().all(|j| j["state"] != "printing"), "{all:?}");
}

#[test]
fn metrics_count_jobs_booklets_prints_and_refusals_and_carry_no_personal_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let config = config_without_confirmation(dir.path());
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let (s, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X7300000", "last": "X7300009"}),
    );
    assert_eq!(s, 201);
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    for i in 0..2 {
        let (s, v) = submit_as(
            &base,
            &template,
            &format!("METRIC-{i}"),
            &format!("X{:07}", 7_300_000 + i),
        );
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = http(
        "POST",
        &format!("{base}/api/jobs"),
        Some("application/json"),
        b"{}",
    );
    assert_eq!(v["error"]["code"], "invalid-job", "{s} {v}");
    until("both printed", || jobs_in(&base, "printed").len() == 2);

    let mut resp = client(&base, None)
        .send("GET", "/metrics", None, Some(pstation::client::TIMEOUT))
        .expect("scrape");
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = resp.body_mut().read_to_string().expect("metrics text");
    for line in [
        "pstation_jobs{state=\"printed\"} 2",
        "pstation_jobs{state=\"queued\"} 0",
        "pstation_queue_depth 0",
        "pstation_booklets{state=\"issued\"} 2",
        "pstation_booklets{state=\"in-stock\"} 8",
        "pstation_print_duration_seconds_count{outcome=\"printed\"} 2",
        "pstation_api_errors_total{code=\"invalid-job\"} 1",
        "pstation_printer_link_up 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    // Each printed job's transfer was timed, and the link bytes counted: at least what the two
    // attempts sent (the driver measured it; the job detail shows it per attempt), plus the
    // status queries; and the printer's replies.
    assert!(
        text.lines()
            .any(|l| l == "pstation_transfer_duration_seconds_count 2"),
        "{text}"
    );
    let sample = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    };
    let mut sent = 0;
    for job in ["METRIC-0", "METRIC-1"] {
        let (_, v) = get(&base, &format!("/api/jobs/{job}"));
        let attempts = v["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 1, "{v}");
        assert_eq!(attempts[0]["outcome"], "printed", "{v}");
        assert!(attempts[0]["transfer_ms"].as_u64().is_some(), "{v}");
        sent += attempts[0]["bytes_sent"].as_u64().expect("bytes_sent");
    }
    assert!(sent > 1000, "a data page is more than 1000 bytes: {sent}");
    assert!(sample("pstation_link_bytes_total{direction=\"written\"}") > sent);
    assert!(sample("pstation_link_bytes_total{direction=\"read\"}") > 0);
    // Labels are vocabulary words only: no job id, name or number.
    for personal in ["METRIC-", "SANTOSO", "BUDI", "X73000"] {
        assert!(!text.contains(personal), "{personal} in the metrics");
    }
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

#[test]
fn doctor_passes_a_healthy_station_and_names_each_broken_condition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (mut sim, device) = start_sim(&pages, &["--baud", "0"]);
    let data = dir.path().join("data");
    let data_s = data.display().to_string();

    // No data folder yet.
    let (code, text) = doctor(&["--data-dir", &data_s, "--device", &device]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PROBLEM  data folder") && text.contains("does not exist"),
        "{text}"
    );

    // Healthy: a configuration with the central office's key.
    std::fs::create_dir_all(&data).expect("data");
    let (signed, _key) = signed_config(dir.path());
    let cfg = signed.display().to_string();
    // Warming up is a passing state (OK, "it will be ready by itself"); wait for it to end.
    until("the simulated printer is warm", || {
        let (code, text) = doctor(&["--config", &cfg, "--data-dir", &data_s, "--device", &device]);
        assert_eq!(code, Some(0), "{text}");
        text.contains("PRINTER ready")
    });
    let (code, text) = doctor(&["--config", &cfg, "--data-dir", &data_s, "--device", &device]);
    assert_eq!(code, Some(0), "{text}");
    for line in [
        &format!("OK       config: {cfg} is valid"),
        "OK       keys: 1 central office key(s): test-co",
        "OK       store: none yet",
        "OK       printer: PSTATION SIMULATED PASSPORT PRINTER ready",
        "the station can print",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }

    // The embedded default has no central office key: every job would be refused.
    let (code, text) = doctor(&["--data-dir", &data_s, "--device", &device]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PROBLEM  keys: no central office key in [central] keys")
            && text.contains("PROBLEM  api users: no user in [api] users"),
        "{text}"
    );

    // A wrong key in the configuration (not an Ed25519 public key): named, with what to do.
    let wrong = dir.path().join("wrong-key.toml");
    let text = std::fs::read_to_string(&signed).expect("config");
    let start = text.rfind("public_key = \"").expect("key line") + "public_key = \"".len();
    let mut broken = text.clone();
    broken.replace_range(start..start + 8, "AAAA");
    std::fs::write(&wrong, broken).expect("write");
    let (code, text) = doctor(&[
        "--config",
        &wrong.display().to_string(),
        "--data-dir",
        &data_s,
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PROBLEM  config:")
            && text.contains("central.keys[0].public_key")
            && text.contains("pstation keys generate"),
        "{text}"
    );

    // The printer's cover is open: a problem, with what to do in both languages.
    control(&mut sim, "cover-open");
    let (code, text) = doctor(&["--config", &cfg, "--data-dir", &data_s, "--device", &device]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PROBLEM  printer") && text.contains("Close the printer cover"),
        "{text}"
    );
    control(&mut sim, "clear");

    // No printer there.
    let (code, text) = doctor(&["--data-dir", &data_s, "--device", "tcp://127.0.0.1:9"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("PROBLEM  printer"), "{text}");

    // A running daemon holds the folder and the printer; its store is checked.
    let config = config_without_confirmation(dir.path());
    let lab = config.display().to_string();
    let (_serve, _base, _) = start_serve(&data, &device, &config);
    // The daemon holds the printer; doctor asks it (the address is in station.lock).
    until("the daemon sees the printer ready", || {
        doctor(&["--config", &lab, "--data-dir", &data_s, "--device", &device]).0 == Some(0)
    });
    let (code, text) = doctor(&["--config", &lab, "--data-dir", &data_s, "--device", &device]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "OK       printer: PSTATION SIMULATED PASSPORT PRINTER ready (seen by the running daemon)"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "OK       store: schema {}",
            pstation::store::SCHEMA_VERSION
        )),
        "{text}"
    );
    control(&mut sim, "cover-open");
    until("the daemon sees the cover open", || {
        doctor(&["--config", &lab, "--data-dir", &data_s, "--device", &device]).0 == Some(1)
    });
    let (_, text) = doctor(&["--config", &lab, "--data-dir", &data_s, "--device", &device]);
    assert!(
        text.contains("PROBLEM  printer: PSTATION SIMULATED PASSPORT PRINTER is not ready")
            && text.contains("Tutup penutup printer / Close the printer cover"),
        "{text}"
    );
}

/// Submits two synthetic people from the valid fixtures (`{prefix}-0`, `{prefix}-1`, passport
/// numbers `{number}0`, `{number}1`) and returns every personal value that must never leave the
/// station: names (as written and upper case), date of birth, registration number, place of
/// birth, the numbers and the start of each portrait.
fn submit_two_people(base: &str, prefix: &str, number: &str) -> Vec<String> {
    let mut personal = Vec::new();
    for (i, file) in ["santoso-budi.json", "partini.json"].iter().enumerate() {
        let text =
            std::fs::read_to_string(fixture(&format!("jobs/valid/{file}"))).expect("fixture");
        let mut v: Value = serde_json::from_str(&text).expect("json");
        v["job_id"] = format!("{prefix}-{i}").into();
        v["document"]["number"] = format!("{number}{i}").into();
        let d = &v["document"];
        for key in [
            "surname",
            "given_names",
            "date_of_birth",
            "registration_number",
            "place_of_birth",
        ] {
            if let Some(s) = d[key].as_str().filter(|s| s.len() > 3) {
                personal.push(s.to_owned());
                personal.push(s.to_uppercase());
            }
        }
        personal.push(format!("{number}{i}"));
        personal.push(v["portrait"]["data"].as_str().expect("portrait")[..40].to_owned());
        let (s, r) = http(
            "POST",
            &format!("{base}/api/jobs"),
            Some("application/json"),
            &serde_json::to_vec(&v).expect("json"),
        );
        assert_eq!(s, 201, "{r}");
    }
    personal
}

#[test]
fn logs_are_json_lines_with_job_attempt_and_printer_and_hold_no_personal_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &[]);
    let config = config_without_confirmation(dir.path());
    let log = dir.path().join("serve.log");
    // Debug level: more lines than a service writes, so more chances to leak.
    let child = std::process::Command::new(pstation().get_program())
        .args([
            "--log-format",
            "json",
            "--log-level",
            "pstation=debug",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--device",
            &device,
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn serve");
    let mut serve = Proc(child);
    let mut reader = BufReader::new(serve.0.stdout.take().expect("stdout"));
    let base = loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "serve exited"
        );
        if let Some(url) = line.trim().strip_prefix("listening ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || for _ in reader.lines() {});

    let (s, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X7400000", "last": "X7400009"}),
    );
    assert_eq!(s, 201);
    // Two synthetic people, printed; one refused (wrong booklet: a held job); one bad request.
    let mut personal = submit_two_people(&base, "LOG", "X740000");
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let (s, _) = submit_as(&base, &template, "LOG-HELD", "X7499999");
    assert_eq!(s, 201);
    personal.push("X7499999".into());
    let (s, _) = http(
        "POST",
        &format!("{base}/api/jobs"),
        Some("application/json"),
        b"{",
    );
    assert_eq!(s, 422);
    until("both printed", || jobs_in(&base, "printed").len() == 2);
    let (s, _) = post(&base, "/api/jobs/LOG-0/verify", json!({}));
    assert_eq!(s, 200);
    drop(serve);

    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.len() > 5, "{text}");
    for l in &lines {
        assert!(l["timestamp"].is_string() && l["level"].is_string(), "{l}");
    }
    // Each attempt's lines sit in its span, inside the engine's span naming the printer.
    for i in 0..2 {
        let ended = lines
            .iter()
            .find(|l| {
                l["fields"]["message"] == "attempt ended" && l["span"]["job"] == format!("LOG-{i}")
            })
            .unwrap_or_else(|| panic!("no 'attempt ended' for LOG-{i} in:\n{text}"));
        assert_eq!(ended["span"]["name"], "attempt", "{ended}");
        assert_eq!(ended["span"]["attempt"], format!("LOG-{i}-a1"), "{ended}");
        assert_eq!(ended["fields"]["outcome"], "printed", "{ended}");
        let spans = ended["spans"].as_array().expect("span list");
        let printer = format!("tcp:{}", device.trim_start_matches("tcp://"));
        assert!(
            spans
                .iter()
                .any(|s| s["name"] == "engine" && s["printer"] == printer.as_str()),
            "{ended}"
        );
        // The debug timing of the outcome's commit is in the same span.
        assert!(
            lines
                .iter()
                .any(|l| l["fields"]["message"] == "time to record the outcome"
                    && l["span"]["attempt"] == format!("LOG-{i}-a1")),
            "{text}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "job accepted" && l["fields"]["job"] == "LOG-HELD")
    );
    // No name, date of birth, registration or passport number, or portrait, anywhere.
    for value in &personal {
        assert!(
            !text.contains(value.as_str()),
            "{value:?} is in the log:\n{text}"
        );
    }
}

/// Every file of a `.tar.gz`, by name.
fn untar(path: &Path) -> Vec<(String, String)> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(path).expect("bundle"));
    let mut archive = tar::Archive::new(gz);
    let mut files = Vec::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").display().to_string();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).expect("utf-8 file");
        files.push((name, text));
    }
    files
}

#[test]
fn the_support_bundle_holds_doctor_config_events_attempts_and_printer_and_no_personal_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &[]);
    let config = config_without_confirmation(dir.path());
    let data = dir.path().join("data");
    let (serve, base, _) = start_serve(&data, &device, &config);
    let (s, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X7500000", "last": "X7500009"}),
    );
    assert_eq!(s, 201);
    let mut personal = submit_two_people(&base, "BUNDLE", "X750000");
    // Held by the station (its booklet is not in stock), then by an operator who typed a name.
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let (s, _) = submit_as(&base, &template, "BUNDLE-HELD", "X7599999");
    assert_eq!(s, 201);
    personal.push("X7599999".into());
    until("both printed", || jobs_in(&base, "printed").len() == 2);
    let (s, v) = post(
        &base,
        "/api/jobs/BUNDLE-0/verify",
        json!({"reason": "checked with Bapak Santoso at the counter"}),
    );
    assert_eq!(s, 200, "{v}");
    personal.push("Bapak".into());

    // While the daemon runs.
    let out = dir.path().join("bundle.tar.gz");
    let (code, _, err) = crate::util::run(
        pstation()
            .arg("support-bundle")
            .arg(&out)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["--device", &device]),
    );
    assert_eq!(code, 0, "{err}");
    let files = untar(&out);
    let file = |name: &str| -> &str {
        &files
            .iter()
            .find(|(n, _)| n.ends_with(&format!("/{name}")))
            .unwrap_or_else(|| {
                panic!(
                    "no {name} in {:?}",
                    files.iter().map(|f| &f.0).collect::<Vec<_>>()
                )
            })
            .1
    };
    assert!(
        files
            .iter()
            .all(|(n, _)| n.starts_with("pstation-support-"))
    );
    let doctor_txt = file("doctor.txt");
    assert!(
        doctor_txt.contains("(seen by the running daemon)") && doctor_txt.contains("exit status 0"),
        "{doctor_txt}"
    );
    assert!(file("versions.txt").contains(&format!("pstation {}", env!("CARGO_PKG_VERSION"))));
    assert!(
        file("versions.txt").contains(&format!("store schema {}", pstation::store::SCHEMA_VERSION))
    );
    let cfg: toml::Table = file("config.toml").parse().expect("config.toml parses");
    assert_eq!(cfg["daemon"]["require_booklet_confirmation"], false.into());
    let store: Value = serde_json::from_str(file("store.json")).expect("store.json");
    assert_eq!(store["schema"], pstation::store::SCHEMA_VERSION);
    assert_eq!(store["jobs_by_state"]["printed"], 1, "{store}");
    assert_eq!(store["jobs_by_state"]["completed"], 1, "{store}");
    assert_eq!(store["jobs_by_state"]["held"], 1, "{store}");
    assert_eq!(store["check"]["problems"], json!([]), "{store}");
    assert_eq!(
        store["event_chain"]["head"].as_str().map(str::len),
        Some(64),
        "{store}"
    );
    let events: Vec<Value> = file("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("event line"))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "start-printing" && e["job_id"] == "BUNDLE-1")
    );
    let verify = events
        .iter()
        .find(|e| e["action"] == "verify")
        .expect("the verify event");
    assert_eq!(verify["reason"], "(typed by a person; not included)");
    // A person reads the station's local time with its zone; the UTC time stays beside it
    // (issue 16 #14).
    let local = verify["at_local"].as_str().expect("at_local");
    assert_eq!(
        local,
        pstation::clock::local(
            verify["at"].as_str().expect("at"),
            time::UtcOffset::from_hms(7, 0, 0).expect("offset")
        )
    );
    assert!(local.ends_with(" WIB"), "{local}");
    let attempts: Vec<Value> = file("attempts.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("attempt line"))
        .collect();
    assert_eq!(attempts.len(), 2);
    assert!(
        attempts
            .iter()
            .all(|a| a["outcome"] == "printed" && a["bytes_sent"].as_u64() > Some(0))
    );
    assert!(file("printer-history.jsonl").lines().count() > 0);
    let printer: Value = serde_json::from_str(file("printer.json")).expect("printer.json");
    assert_eq!(
        printer["identity"]["model"],
        "PSTATION SIMULATED PASSPORT PRINTER"
    );
    let health: Value = serde_json::from_str(file("daemon-health.json")).expect("health");
    assert_eq!(health["status"], "ok", "{health}");

    // Nothing personal in any file.
    for (name, text) in &files {
        for value in &personal {
            assert!(
                !text.contains(value.as_str()),
                "{value:?} in {name}:\n{text}"
            );
        }
    }

    // A bundle never overwrites; without a daemon the printer is asked directly.
    let (code, _, err) = crate::util::run(pstation().arg("support-bundle").arg(&out));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("file-exists"), "{err}");
    drop(serve);
    let out2 = dir.path().join("bundle2.tar.gz");
    let (code, _, err) = crate::util::run(
        pstation()
            .arg("support-bundle")
            .arg(&out2)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["--device", &device]),
    );
    assert_eq!(code, 0, "{err}");
    let files = untar(&out2);
    let printer = &files
        .iter()
        .find(|(n, _)| n.ends_with("/printer.json"))
        .expect("printer.json")
        .1;
    let printer: Value = serde_json::from_str(printer).expect("json");
    assert_eq!(
        printer["identity"]["model"], "PSTATION SIMULATED PASSPORT PRINTER",
        "{printer}"
    );
    assert!(
        !files
            .iter()
            .any(|(n, _)| n.ends_with("/daemon-health.json"))
    );
}

#[test]
fn only_jobs_signed_by_a_configured_key_are_accepted_and_the_signature_is_kept() {
    use pstation::central::jws::{self, Keyring, PrivateJwk};
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let (config, key_file) = signed_config(dir.path());
    let data = dir.path().join("data");
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let (_serve, base, _) = start_serve_logging(&data, &device, &config, log);
    let (s, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X7600000", "last": "X7600009"}),
    );
    assert_eq!(s, 201);
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let job = |id: &str, number: &str| {
        template
            .replace("SMD-2026-000123", id)
            .replace("X1234567", number)
            .into_bytes()
    };
    let jwk: PrivateJwk =
        serde_json::from_slice(&std::fs::read(&key_file).expect("key")).expect("jwk");
    let key = jwk.signing_key().expect("signing key");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let jose = |body: &[u8]| {
        http(
            "POST",
            &format!("{base}/api/jobs"),
            Some("application/jose"),
            body,
        )
    };

    // Signed with the CLI, submitted with the CLI: accepted.
    let job_file = dir.path().join("SIG-1.json");
    std::fs::write(&job_file, job("SIG-1", "X7600001")).expect("job");
    let jws_file = dir.path().join("SIG-1.jws");
    let (code, _, err) = crate::util::run(
        pstation()
            .arg("sign")
            .arg(&job_file)
            .arg("--key")
            .arg(&key_file)
            .arg("--out")
            .arg(&jws_file),
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = crate::util::run(
        pstation()
            .arg("submit")
            .arg(&jws_file)
            .args(["--url", &base]),
    );
    assert_eq!(code, 0, "{out}{err}");
    // The same signed job again: the same job, nothing new.
    let (s, v) = jose(&std::fs::read(&jws_file).expect("jws"));
    assert_eq!((s, v["existing"].clone()), (200, json!(true)), "{v}");

    // Refused, each with its reason, and nothing of them stored.
    let signed = |bytes: &[u8], k: &ed25519_dalek::SigningKey, kid: &str, exp: i64| {
        jws::sign(bytes, k, kid, exp)
    };
    let other = jws::generate_key().expect("key");
    let valid = signed(&job("SIG-BAD", "X7600002"), &key, "test-co", now + 600);
    let parts: Vec<&str> = valid.split('.').collect();
    let tampered = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut bytes = b64.decode(parts[1]).expect("payload");
        let at = bytes
            .windows(7)
            .position(|w| w == b"Santoso")
            .expect("name");
        bytes[at] = b'X';
        format!("{}.{}.{}", parts[0], b64.encode(bytes), parts[2])
    };
    let none_alg = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let h = b64.encode(br#"{"alg":"none","kid":"test-co","exp":9999999999}"#);
        format!("{h}.{}.", parts[1])
    };
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "unsigned",
            job("SIG-BAD", "X7600002"),
            "application/json",
            422,
            "signature-required",
        ),
        (
            "tampered",
            tampered.into_bytes(),
            "application/jose",
            422,
            "signature-invalid",
        ),
        (
            "unknown key",
            signed(&job("SIG-BAD", "X7600002"), &other, "test-co-2", now + 600).into_bytes(),
            "application/jose",
            422,
            "signature-unknown-key",
        ),
        (
            "forged (another key claiming ours)",
            signed(&job("SIG-BAD", "X7600002"), &other, "test-co", now + 600).into_bytes(),
            "application/jose",
            422,
            "signature-invalid",
        ),
        (
            "expired",
            signed(&job("SIG-BAD", "X7600002"), &key, "test-co", now - 3600).into_bytes(),
            "application/jose",
            422,
            "signature-expired",
        ),
        (
            "alg none",
            none_alg.into_bytes(),
            "application/jose",
            422,
            "signature-algorithm",
        ),
        (
            "not a JWS",
            b"hello".to_vec(),
            "application/jose",
            422,
            "signature-malformed",
        ),
        (
            "text/plain",
            valid.clone().into_bytes(),
            "text/plain",
            415,
            "unsupported-media-type",
        ),
        (
            "same id, other content",
            signed(&job("SIG-1", "X7600003"), &key, "test-co", now + 600).into_bytes(),
            "application/jose",
            409,
            "conflict",
        ),
    ];
    for (what, body, content_type, status, code) in cases {
        let (s, v) = http(
            "POST",
            &format!("{base}/api/jobs"),
            Some(content_type),
            &body,
        );
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {v}"
        );
    }
    // Every signature refusal is in the log at warn with its code, the key id and job id the
    // message claims, the user and the peer address — and no personal value (issue 16 #11).
    let text = std::fs::read_to_string(&log_path).expect("log");
    let refusals: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("job refused: signature"))
        .collect();
    assert_eq!(refusals.len(), 7, "{text}");
    for code in [
        "signature-required",
        "signature-invalid",
        "signature-unknown-key",
        "signature-expired",
        "signature-algorithm",
        "signature-malformed",
    ] {
        let line = refusals
            .iter()
            .find(|l| l.contains(code))
            .unwrap_or_else(|| panic!("{code} not logged:\n{text}"));
        assert!(
            line.contains("WARN") && line.contains("peer=127.0.0.1:"),
            "{line}"
        );
        assert!(line.contains("user="), "{line}");
    }
    let expired = refusals
        .iter()
        .find(|l| l.contains("signature-expired"))
        .expect("expired");
    assert!(
        expired.contains("test-co") && expired.contains("SIG-BAD"),
        "key id and job id: {expired}"
    );
    assert!(
        !text.contains("X7600002") && !text.contains("SANTOSO") && !text.contains("Santoso"),
        "no personal value in the log"
    );
    let (s, _) = get(&base, "/api/jobs/SIG-BAD");
    assert_eq!(s, 404, "nothing of a refused job is stored");
    let all = get(&base, "/api/jobs").1["jobs"]
        .as_array()
        .cloned()
        .expect("jobs");
    assert_eq!(all.len(), 1, "{all:?}");

    // The accepted job prints, and its submit event keeps the signature, which re-verifies
    // against the job's exact bytes (and not against other bytes).
    until("SIG-1 printed", || job_state(&base, "SIG-1") == "printed");
    let (_, v) = get(&base, "/api/jobs/SIG-1");
    let submit = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "submit")
        .expect("submit event")
        .clone();
    let detached = submit["signature"].as_str().expect("signature kept");
    let mut ring = Keyring::default();
    ring.insert("test-co", key.verifying_key()).expect("key");
    jws::verify_detached(detached, &std::fs::read(&job_file).expect("job"), &ring)
        .expect("the kept signature verifies");
    assert!(jws::verify_detached(detached, &job("SIG-1", "X7600009"), &ring).is_err());
}

/// A stand-in for the central office's status endpoint (a real HTTP server): answers 503 while
/// down, records every request body while up, and checks the bearer token.
struct CentralOffice {
    up: std::sync::atomic::AtomicBool,
    bad_auth: std::sync::atomic::AtomicUsize,
    refused: std::sync::atomic::AtomicUsize,
    got: std::sync::Mutex<Vec<Value>>,
}

fn start_central_office() -> (std::sync::Arc<CentralOffice>, String) {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let central = Arc::new(CentralOffice {
        up: false.into(),
        bad_auth: 0.into(),
        refused: 0.into(),
        got: std::sync::Mutex::new(Vec::new()),
    });
    let state = central.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/status",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let c = state.clone();
                        async move {
                            if headers.get("authorization").and_then(|v| v.to_str().ok())
                                != Some("Bearer status-secret")
                            {
                                c.bad_auth.fetch_add(1, Ordering::SeqCst);
                                return axum::http::StatusCode::UNAUTHORIZED;
                            }
                            if !c.up.load(Ordering::SeqCst) {
                                c.refused.fetch_add(1, Ordering::SeqCst);
                                return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                            }
                            let v: Value = serde_json::from_slice(&body).expect("JSON status");
                            c.got.lock().expect("lock").push(v);
                            axum::http::StatusCode::NO_CONTENT
                        }
                    },
                ),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv().expect("central office address");
    (central, format!("http://{addr}/status"))
}

#[test]
fn status_changes_reach_the_central_office_in_order_at_least_once_across_an_outage_and_a_kill() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let (central, url) = start_central_office();
    let config = dir.path().join("status.toml");
    std::fs::write(
        &config,
        lab_toml()
            .replace(
                "require_booklet_confirmation = true",
                "require_booklet_confirmation = false",
            )
            .replace("station_id = \"\"", "station_id = \"MPP-TEST-01\"")
            .replace(
                "status_webhook = \"\"",
                &format!("status_webhook = \"{url}\""),
            )
            .replace(
                "status_webhook_token = \"\"",
                "status_webhook_token = \"status-secret\"",
            ),
    )
    .expect("config");
    let data = dir.path().join("data");
    let (serve, base, _) = start_serve(&data, &device, &config);
    let (s, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X7700000", "last": "X7700009"}),
    );
    assert_eq!(s, 201);
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let ids = ["ST-0", "ST-1", "ST-2"];
    for (i, id) in ids.iter().enumerate() {
        let (s, v) = submit_as(&base, &template, id, &format!("X770000{i}"));
        assert_eq!(s, 201, "{v}");
    }
    // The central office is down: printing goes on, the changes wait in the outbox.
    until("all printed", || jobs_in(&base, "printed").len() == 3);
    until("the station tried and was refused", || {
        central.refused.load(Ordering::SeqCst) > 0
    });
    let backlog = |base: &str| -> u64 {
        let mut resp = client(base, None)
            .send("GET", "/metrics", None, Some(pstation::client::TIMEOUT))
            .expect("scrape");
        let text = resp.body_mut().read_to_string().expect("text");
        text.lines()
            .find_map(|l| {
                l.strip_prefix("pstation_outbox_backlog{sink=\"webhook\"} ")?
                    .parse()
                    .ok()
            })
            .expect("pstation_outbox_backlog")
    };
    // received, queued, printing, printed for each job.
    assert_eq!(backlog(&base), 12);
    let (s, _) = post(&base, "/api/jobs/ST-0/verify", json!({}));
    assert_eq!(s, 200);
    // Killed (no chance to send anything more), restarted: the outbox is still there.
    drop(serve);
    let (_serve, base, _) = start_serve(&data, &device, &config);
    assert_eq!(backlog(&base), 13);
    central.up.store(true, Ordering::SeqCst);
    until("everything delivered", || backlog(&base) == 0);
    assert_eq!(central.bad_auth.load(Ordering::SeqCst), 0);

    // Every change arrived (at least once), each job's in the order of its event log.
    let got = central.got.lock().expect("lock").clone();
    let mut seen = std::collections::BTreeMap::new();
    let mut last_id = 0;
    for body in &got {
        assert_eq!(body["station_id"], "MPP-TEST-01", "{body}");
        for e in body["events"].as_array().expect("events") {
            let id = e["event_id"].as_i64().expect("event_id");
            assert!(id > last_id, "event ids only go up: {id} after {last_id}");
            last_id = id;
            seen.insert(id, e.clone());
        }
    }
    for (i, id) in ids.iter().enumerate() {
        let states: Vec<&str> = seen
            .values()
            .filter(|e| e["job_id"] == *id)
            .map(|e| e["state"].as_str().expect("state"))
            .collect();
        let (_, v) = get(&base, &format!("/api/jobs/{id}"));
        let logged: Vec<&str> = v["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["to_state"].as_str())
            .collect();
        assert_eq!(states, logged, "{id}");
        let mut expected = vec!["received", "queued", "printing", "printed"];
        if i == 0 {
            expected.push("completed");
        }
        assert_eq!(states, expected, "{id}");
        assert!(
            seen.values()
                .filter(|e| e["job_id"] == *id)
                .all(|e| e["booklet"] == format!("X770000{i}"))
        );
    }

    // doctor: the central office answers; an unreachable one is a warning, not a stop.
    let data_s = data.display().to_string();
    let (code, text) = doctor(&[
        "--config",
        &config.display().to_string(),
        "--data-dir",
        &data_s,
    ]);
    assert!(
        text.contains(&format!("OK       central office: {url} answers (HTTP")),
        "{text}"
    );
    let unreachable = dir.path().join("unreachable.toml");
    std::fs::write(
        &unreachable,
        std::fs::read_to_string(&config)
            .expect("config")
            .replace(&url, "http://127.0.0.1:9/status"),
    )
    .expect("config");
    let (code2, text) = doctor(&[
        "--config",
        &unreachable.display().to_string(),
        "--data-dir",
        &data_s,
    ]);
    assert!(
        text.contains("WARNING  central office: http://127.0.0.1:9/status: status-unreachable"),
        "{text}"
    );
    assert_eq!(
        code, code2,
        "an unreachable central office does not change the verdict"
    );
}

/// (user or raw Authorization value, method, path, body, expected status).
type Case<'a> = (Option<&'a str>, &'a str, &'a str, &'a [u8], u16);

#[test]
fn tokens_and_roles_decide_who_may_do_what_and_refusals_leak_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let users = [
        ("co", "central"),
        ("ani", "operator"),
        ("budi", "operator"),
        ("sari", "supervisor"),
        ("tek", "technician"),
        ("root", "admin"),
    ];
    let mut tokens = std::collections::HashMap::new();
    let mut lines = Vec::new();
    for (name, role) in users {
        let (t, l) = crate::util::new_token(name, role);
        tokens.insert(name, t);
        lines.push(l);
    }
    let config = dir.path().join("roles.toml");
    std::fs::write(
        &config,
        crate::util::default_toml()
            .replace("require_signed_jobs = true", "require_signed_jobs = false")
            .replace(
                "require_booklet_confirmation = true",
                "require_booklet_confirmation = false",
            )
            .replace("users = []", &format!("users = [{}]", lines.join(", "))),
    )
    .expect("config");
    let data = dir.path().join("data");
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let (_serve, base, _) = start_serve_logging(&data, &device, &config, log);
    let call =
        |who: Option<&str>, method: &str, path: &str, body: &[u8], extra: &[(&str, &str)]| {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let url = format!("{base}{path}");
            let auth = who.map(|w| match tokens.get(w) {
                Some(t) => format!("Bearer {t}"),
                None => w.to_owned(), // a raw header value
            });
            let mut resp = if method == "GET" {
                let mut r = agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                r.call()
            } else {
                let mut r = agent.post(&url).header("content-type", "application/json");
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                for (k, v) in extra {
                    r = r.header(*k, *v);
                }
                r.send(body)
            }
            .expect("request");
            let status = resp.status().as_u16();
            let text = resp.body_mut().read_to_string().unwrap_or_default();
            (status, text)
        };
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let job = |id: &str, n: &str| {
        template
            .replace("SMD-2026-000123", id)
            .replace("X1234567", n)
    };
    let batch = br#"{"first": "X7800000", "last": "X7800009"}"#;

    // Who may do what: (user, method, path, body, expected status).
    let j1 = job("ROLE-1", "X7800001");
    let j2 = job("ROLE-2", "X7800002");
    let table: Vec<Case> = vec![
        (None, "GET", "/api/health", b"", 200),
        (None, "GET", "/metrics", b"", 200),
        (None, "GET", "/api/jobs", b"", 401),
        (Some("Bearer not-a-token"), "GET", "/api/jobs", b"", 401),
        (Some("Basic YWxpOnB3"), "GET", "/api/jobs", b"", 401),
        (Some("ani"), "POST", "/api/booklets/batches", batch, 201),
        (Some("tek"), "POST", "/api/booklets/batches", batch, 403),
        (Some("ani"), "POST", "/api/jobs", j1.as_bytes(), 403),
        (Some("tek"), "POST", "/api/jobs", j1.as_bytes(), 403),
        (Some("co"), "POST", "/api/jobs", j1.as_bytes(), 201),
        (Some("root"), "POST", "/api/jobs", j2.as_bytes(), 201),
        (Some("co"), "GET", "/api/jobs/ROLE-1", b"", 200),
        (Some("tek"), "GET", "/api/jobs/ROLE-1", b"", 200),
        (Some("co"), "GET", "/api/printer", b"", 403),
        (Some("tek"), "GET", "/api/printer", b"", 200),
        (Some("co"), "GET", "/api/booklets/reconcile", b"", 403),
        (Some("co"), "GET", "/api/events", b"", 403),
        (Some("co"), "POST", "/api/jobs/ROLE-1/hold", b"{}", 403),
        (Some("tek"), "POST", "/api/jobs/ROLE-1/hold", b"{}", 403),
    ];
    for (who, method, path, body, expected) in &table {
        let (status, text) = call(*who, method, path, body, &[]);
        assert_eq!(status, *expected, "{who:?} {method} {path}: {text}");
        // Refusals say nothing about users, roles or why.
        if status == 401 {
            assert_eq!(
                text,
                r#"{"error":{"code":"unauthorized","message":"a valid token is required"}}"#
            );
        }
        if status == 403 {
            assert_eq!(
                text,
                r#"{"error":{"code":"forbidden","message":"not allowed"}}"#
            );
        }
    }
    // A passport number is personal: a technician sees it masked, in every answer; the other
    // roles see it in full (issue 16 #16).
    for (who, path, full) in [
        ("tek", "/api/jobs/ROLE-1", false),
        ("tek", "/api/jobs", false),
        ("tek", "/api/booklets", false),
        ("ani", "/api/jobs/ROLE-1", true),
        ("ani", "/api/booklets", true),
        ("sari", "/api/jobs", true),
        ("co", "/api/jobs/ROLE-1", true),
        ("root", "/api/jobs", true),
    ] {
        let (status, text) = call(Some(who), "GET", path, b"", &[]);
        assert_eq!(status, 200, "{who} {path}: {text}");
        assert_eq!(text.contains("X7800001"), full, "{who} {path}: {text}");
        assert_eq!(text.contains("X78•••01"), !full, "{who} {path}: {text}");
    }
    let (_, text) = call(Some("tek"), "GET", "/api/jobs/ROLE-1", b"", &[]);
    assert!(text.contains("ROLE-1"), "job ids stay readable: {text}");
    // The CLI shows what the API answers: masked for the technician too.
    let cli = |who: &str, args: &[&str]| {
        let out = pstation()
            .args(args)
            .args(["--url", &base])
            .env("PSTATION_TOKEN", &tokens[who])
            .output()
            .expect("pstation");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = cli("tek", &["job", "show", "ROLE-1"]);
    assert!(
        shown.contains("X78•••01") && !shown.contains("X7800001"),
        "{shown}"
    );
    let shown = cli("ani", &["job", "show", "ROLE-1"]);
    assert!(shown.contains("X7800001"), "{shown}");
    // Its times are the station's, with the zone (issue 16 #14): `  2026-12-05 23:31:34 WIB  submit`.
    assert!(
        shown
            .lines()
            .skip(1)
            .all(|l| l.trim_start().get(19..24) == Some(" WIB ")),
        "{shown}"
    );
    // `printer status --watch` goes through the same client path as every other command: with
    // tokens required, its event stream carries the token (issue 16 #2).
    let watch = |token: &str| {
        use std::io::BufRead;
        let mut child = std::process::Command::new(pstation().get_program())
            .args(["printer", "status", "--watch", "--url", &base])
            .env("PSTATION_TOKEN", token)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watch");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let first = BufReader::new(stdout).lines().next();
            let _ = tx.send(first.and_then(Result::ok));
        });
        let first = rx.recv_timeout(Duration::from_secs(60)).ok().flatten();
        // A stream that answered keeps going: stop it; a refused one ends by itself.
        if first.is_some() {
            let _ = child.kill();
        }
        let status = child.wait().expect("wait");
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err);
        (first, status.code(), err)
    };
    let (first, _, err) = watch(&tokens["tek"]);
    let first = first.unwrap_or_else(|| panic!("no line from --watch: {err}"));
    assert!(first.starts_with("printer "), "{first}");
    let (first, code, err) = watch("not-a-token");
    assert_eq!((first, code), (None, Some(2)), "{err}");
    assert!(err.contains("unauthorized"), "{err}");
    // The PJL console answers with the printer's own lines (issue 16 #7).
    let (status, text) = call(
        Some("tek"),
        "POST",
        "/api/printer/pjl",
        br#"{"command": "INFO STATUS"}"#,
        &[],
    );
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).expect("json");
    let lines: Vec<&str> = v["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l.as_str().expect("line"))
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("@PJL INFO STATUS")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("CODE=1"))
            && lines.iter().any(|l| l.starts_with("DISPLAY=\""))
            && lines.iter().any(|l| l.starts_with("ONLINE=")),
        "{lines:?}"
    );
    assert!(
        !text.contains("InfoStatus") && !text.contains("Some("),
        "{text}"
    );
    // The scheme is required and case-insensitive (RFC 9110 §11.1, RFC 6750 §2.1).
    for (header, expected) in [
        (tokens["tek"].clone(), 401),
        (format!("Basic {}", tokens["tek"]), 401),
        (format!("bearer {}", tokens["tek"]), 200),
        (format!("BEARER  {}", tokens["tek"]), 200),
        (format!("Bearer {} x", tokens["tek"]), 401),
    ] {
        let (status, text) = call(Some(&header), "GET", "/api/printer", b"", &[]);
        assert_eq!(status, expected, "Authorization scheme: {text}");
    }
    // The actor recorded is the token's owner, whatever a header claims.
    until("ROLE-1 printed", || {
        let (_, t) = call(Some("ani"), "GET", "/api/jobs/ROLE-1", b"", &[]);
        t.contains(r#""state":"printed""#)
    });
    let (status, _) = call(
        Some("ani"),
        "POST",
        "/api/jobs/ROLE-1/spoil",
        br#"{"reason": "smudged"}"#,
        &[("x-pstation-user", "sari")],
    );
    assert_eq!(status, 200);
    // A reprint needs a second person: a supervisor's token, not a name in the body, and not
    // the operator's own token.
    let reprint = br#"{"booklet": "X7800005", "supervisor": "sari"}"#;
    let sari = tokens["sari"].clone();
    let ani = tokens["ani"].clone();
    let budi = tokens["budi"].clone();
    for (header, expected) in [
        (None, 403),
        (Some(ani.as_str()), 403),
        (Some(budi.as_str()), 403),
        (Some("forged"), 403),
    ] {
        let extra: Vec<(&str, &str)> = header
            .map(|h| vec![("x-pstation-supervisor-token", h)])
            .unwrap_or_default();
        let (status, text) = call(
            Some("ani"),
            "POST",
            "/api/jobs/ROLE-1/reprint",
            reprint,
            &extra,
        );
        assert_eq!(status, expected, "{header:?}: {text}");
        assert!(text.contains("second-person-required"), "{text}");
    }
    // The supervisor cannot approve their own reprint either.
    let (status, text) = call(
        Some("sari"),
        "POST",
        "/api/jobs/ROLE-1/reprint",
        reprint,
        &[("x-pstation-supervisor-token", &sari)],
    );
    assert_eq!(status, 403, "{text}");
    // ... and that refusal is in the log, with who, which job and from where (issue 16 #11).
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        log.lines().any(|l| l.contains("WARN")
            && l.contains("second-person-required")
            && l.contains("user=sari")
            && l.contains("ROLE-1")
            && l.contains("peer=127.0.0.1:")),
        "{log}"
    );
    let (status, text) = call(
        Some("ani"),
        "POST",
        "/api/jobs/ROLE-1/reprint",
        reprint,
        &[("x-pstation-supervisor-token", &sari)],
    );
    assert_eq!(status, 200, "{text}");
    let (_, text) = call(Some("root"), "GET", "/api/jobs/ROLE-1", b"", &[]);
    let v: Value = serde_json::from_str(&text).expect("json");
    let events = v["events"].as_array().expect("events");
    let by = |action: &str| {
        events
            .iter()
            .find(|e| e["action"] == action)
            .map(|e| e["actor"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(by("submit").as_deref(), Some("co"));
    assert_eq!(by("spoil").as_deref(), Some("ani"), "not the header's sari");
    assert_eq!(by("reprint").as_deref(), Some("ani"));
    let reprint_event = events
        .iter()
        .find(|e| e["action"] == "reprint")
        .expect("reprint event");
    assert!(
        reprint_event["reason"]
            .as_str()
            .unwrap_or("")
            .contains("sari"),
        "the approving supervisor is recorded: {reprint_event}"
    );
    // The CLI sends the token.
    let (code, out, err) = crate::util::run(
        pstation()
            .args(["jobs", "--url", &base])
            .env("PSTATION_TOKEN", &tokens["tek"]),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ROLE-1"));
    let (code, _, err) = crate::util::run(pstation().args(["jobs", "--url", &base]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unauthorized"), "{err}");
}
