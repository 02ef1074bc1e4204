//! The station daemon end to end: the HTTP API over a real socket, the print engine driving the
//! simulated printer, booklet confirmation, a fault that pauses and clears, hostile requests,
//! and real processes killed (`kill -9`) or stopped (SIGTERM) mid-print and restarted.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{fixture, pstation};

/// A blocking HTTP call: (status, JSON body).
fn http(method: &str, url: &str, content_type: Option<&str>, body: &[u8]) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let resp = if method == "GET" {
        agent.get(url).call()
    } else {
        let mut req = agent.post(url);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send(body)
    };
    let mut resp = resp.expect("the daemon answers");
    let status = resp.status().as_u16();
    let v = resp.body_mut().read_json().unwrap_or(Value::Null);
    (status, v)
}

fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    http(
        "POST",
        &format!("{base}{path}"),
        Some("application/json"),
        &serde_json::to_vec(&body).expect("json"),
    )
}

fn get(base: &str, path: &str) -> (u16, Value) {
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
fn until(what: &str, mut check: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(120);
    while !check() {
        assert!(Instant::now() < end, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn job_state(base: &str, id: &str) -> String {
    get(base, &format!("/api/jobs/{id}")).1["job"]["state"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// A child process that is killed when the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `pstation sim --listen` and returns it with its `tcp://` URI.
fn start_sim(out: &Path, extra: &[&str]) -> (Proc, String) {
    let child = std::process::Command::new(pstation().get_program())
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--warm-up-ms",
            "100",
            "--page-ms",
            "300",
        ])
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

/// A configuration with booklet confirmation off (so a job prints as soon as it is queued).
fn config_without_confirmation(dir: &Path) -> std::path::PathBuf {
    let text = pstation::config::DEFAULT_TOML.replace(
        "require_booklet_confirmation = true",
        "require_booklet_confirmation = false",
    );
    let path = dir.join("station.toml");
    std::fs::write(&path, text).expect("config");
    path
}

/// Starts `pstation serve` and returns it with its base URL.
fn start_serve(data: &Path, device: &str, config: &Path) -> (Proc, String, Vec<String>) {
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
        .stderr(Stdio::null())
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

fn sim_jobs(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("jobs.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn a_job_prints_only_after_its_booklet_is_confirmed_and_a_cover_open_pauses_then_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (mut sim, device) = start_sim(&pages, &["--fault", "cover-open"]);
    let config = dir.path().join("station.toml");
    std::fs::write(&config, pstation::config::DEFAULT_TOML).expect("config");
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
            "",
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
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .post(&url("/api/jobs/NO-SUCH-JOB/hold"))
        .header("x-pstation-user", "robert'); drop table")
        .header("content-type", "application/json")
        .send("{}")
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 400);
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
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("SMD-2026-000124"))
            .count(),
        1,
        "the job in doubt reached the printer once: {names:?}"
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
