//! The handover gate end to end: the daemon with a document reader (`pstation sim-reader` on a
//! PTY, reading the pages the printer simulator printed with its own OCR-B reader) verifies the
//! booklets it reads right, parks every fault, and survives kill -9 without verifying anything
//! it has not read.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;

use super::printing::submit_numbered;
use super::{Proc, config_without_confirmation, get, post, start_serve, start_sim, until};
use crate::util::{client, pstation};

/// `pstation sim-reader` on a PTY linked at `dir/reader`, with its acknowledgements.
struct SimReader {
    proc: Proc,
    said: mpsc::Receiver<String>,
    /// Its reports of pages read, as they came.
    reads: Vec<String>,
}

impl SimReader {
    fn start(dir: &Path, framing: &str, watch: Option<&Path>) -> Self {
        let mut cmd = std::process::Command::new(pstation().get_program());
        cmd.args(["sim-reader", "--framing", framing, "--link"])
            .arg(dir.join("reader"));
        if let Some(w) = watch {
            cmd.arg("--watch").arg(w);
        }
        let mut child = Proc(
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sim-reader"),
        );
        let stdout = child.0.stdout.take().expect("stdout");
        let (tx, said) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = said.recv().expect("the pty line");
        assert!(first.starts_with("pty "), "{first}");
        Self {
            proc: child,
            said,
            reads: Vec::new(),
        }
    }

    /// Sends a control word and waits for the reader's answer to it (its reports of pages read
    /// meanwhile are passed over).
    fn say(&mut self, word: &str) -> String {
        self.send(word);
        loop {
            let line = self.next_line();
            if !line.starts_with("read ") {
                return line;
            }
        }
    }

    /// Sends a control word without waiting for an answer.
    fn send(&mut self, word: &str) {
        let stdin = self.proc.0.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{word}").expect("control word");
        stdin.flush().expect("flush");
    }

    fn next_line(&mut self) -> String {
        let line = self
            .said
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the sim-reader answers");
        if line.starts_with("read ") {
            self.reads.push(line.clone());
        }
        line
    }

    /// Waits until the reader has read the page of job `id`'s first attempt.
    fn wait_read(&mut self, id: &str) {
        let page = format!("/{id}-a1-page1.png:");
        while !self.reads.iter().any(|l| l.contains(&page)) {
            self.next_line();
        }
    }
}

/// A lab configuration (no booklet confirmation) with the reader at `dir/reader`.
fn config_with_reader(dir: &Path, framing: &str) -> PathBuf {
    let path = config_without_confirmation(dir);
    let text = std::fs::read_to_string(&path).expect("config").replace(
        "device = \"\"",
        &format!(
            "device = \"serial://{}?baud=9600&framing={framing}\"",
            dir.join("reader").display()
        ),
    );
    assert!(text.contains("framing="), "the [reader] device line");
    std::fs::write(&path, text).expect("config");
    path
}

fn state(base: &str, id: &str) -> String {
    client(base, None)
        .job(id)
        .map(|d| d.job.state.as_str().to_owned())
        .unwrap_or_default()
}

fn last_event(base: &str, id: &str) -> (String, String, String) {
    let d = client(base, None).job(id).expect("job");
    let e = d.events.last().expect("an event").clone();
    (e.actor, e.action, e.reason.unwrap_or_default())
}

fn metrics_text(base: &str) -> String {
    let mut resp = client(base, None)
        .send("GET", "/metrics", None, Some(pstation::client::TIMEOUT))
        .expect("scrape");
    resp.body_mut().read_to_string().expect("metrics text")
}

fn metric(base: &str, result: &str) -> u64 {
    let text = metrics_text(base);
    let key = format!("pstation_reads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0, |v| v.trim().parse().expect("a count"))
}

#[test]
fn a_reader_verifies_the_booklets_it_reads_right_and_parks_each_fault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let mut reader = SimReader::start(dir.path(), "cute", Some(&pages));
    let config = config_with_reader(dir.path(), "cute");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let api = client(&base, None);
    api.receive_batch("X7000000", "X7000019").expect("batch");
    until("the reader connected", || {
        api.printer().expect("printer").reader.state == "connected"
    });

    // A clean page: read back by the reader, verified by it.
    submit_numbered(&base, "R-OK", "X7000000");
    until("R-OK verified by the reader", || {
        state(&base, "R-OK") == "completed"
    });
    let (actor, action, _) = last_event(&base, "R-OK");
    assert_eq!(
        (actor.as_str(), action.as_str()),
        ("reader", "read-matched")
    );
    let events = api.job("R-OK").expect("job").events;
    assert!(
        events.iter().any(|e| e.action == "await-read"),
        "printed, then waited for its read: {events:?}"
    );

    // Each fault parks the job with what was wrong, and the operator cannot just verify it.
    for (n, (fault, result)) in [
        ("substitute=2:12", "mismatch"),
        ("drop-line=1", "unreadable"),
        // Spaces in a CUTE frame are characters the reader could not read.
        ("pad", "unreadable"),
        ("other-booklet", "other-booklet"),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(reader.say(fault), format!("ok {fault}"));
        let id = format!("R-F{n}");
        submit_numbered(&base, &id, &format!("X70000{:02}", n + 1));
        until(&format!("{id} parked"), || {
            state(&base, &id) == "needs-verification"
        });
        let (actor, action, reason) = last_event(&base, &id);
        assert_eq!(
            (actor.as_str(), action.as_str()),
            ("reader", "read-failed"),
            "{id}"
        );
        assert!(
            reason.starts_with(&format!("read-{result}")),
            "{id}: {reason}"
        );
        assert_eq!(reader.say("clear"), "ok clear");
        let (status, body) = post(
            &base,
            &format!("/api/jobs/{id}/verify"),
            serde_json::json!({}),
        );
        assert_eq!(status, 409, "{id}: {body}");
        assert_eq!(body["error"]["code"], "read-required", "{body}");
    }
    // Garbage and silence move nothing: the job keeps waiting for a read.
    for (n, fault) in ["garbage", "silence"].into_iter().enumerate() {
        assert_eq!(reader.say(fault), format!("ok {fault}"));
        let id = format!("R-{fault}");
        submit_numbered(&base, &id, &format!("X70000{:02}", n + 10));
        reader.wait_read(&id);
        assert_eq!(state(&base, &id), "reading", "{id}");
        assert_eq!(reader.say("clear"), "ok clear");
    }
    until("the garbled read counted", || metric(&base, "garbled") >= 1);
    assert_eq!(metric(&base, "match"), 1);
    assert_eq!(metric(&base, "mismatch"), 1);
    assert_eq!(metric(&base, "unreadable"), 2);
    assert_eq!(metric(&base, "other-booklet"), 1);
    assert_eq!(
        api.printer()
            .expect("printer")
            .reader
            .last
            .expect("a read")
            .result,
        "garbled"
    );

    // A reader fault: a supervisor verifies by hand with a reason.
    let (status, body) = post(
        &base,
        "/api/jobs/R-silence/verify",
        serde_json::json!({"supervisor": "sari", "reason": "reader lens dirty; MRZ checked by eye"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["state"], "completed");
    // No personal data in what the station says of reads.
    assert!(!metrics_text(&base).contains("SANTOSO"));
    let (_, detail) = get(&base, "/api/jobs/R-F0");
    assert!(!detail.to_string().contains("SANTOSO"), "{detail}");
}

#[test]
fn kill_9_while_a_booklet_waits_for_its_read_loses_nothing_and_verifies_nothing_unread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    // No --watch: the operator lays the booklet on the reader when the test says so.
    let mut reader = SimReader::start(dir.path(), "rte", None);
    let config = config_with_reader(dir.path(), "rte");
    let data = dir.path().join("data");
    let (serve, base, _) = start_serve(&data, &device, &config);
    let api = client(&base, None);
    api.receive_batch("X7100000", "X7100009").expect("batch");
    submit_numbered(&base, "K-1", "X7100000");
    until("K-1 printed and waiting for its read", || {
        state(&base, "K-1") == "reading"
    });
    let page = pages.join("K-1-a1-page1.png");
    until("the page out of the printer", || page.is_file());

    // kill -9 while it waits; the restarted station still waits for the read.
    drop(serve);
    let (_serve, base, _) = start_serve(&data, &device, &config);
    assert_eq!(state(&base, "K-1"), "reading");
    let api = client(&base, None);
    until("the reader connected again", || {
        api.printer().expect("printer").reader.state == "connected"
    });
    assert_eq!(
        state(&base, "K-1"),
        "reading",
        "nothing verified without a read"
    );
    reader.send(&format!("read={}", page.display()));
    reader.wait_read("K-1");
    until("K-1 verified by its read", || {
        state(&base, "K-1") == "completed"
    });
    let (actor, action, _) = last_event(&base, "K-1");
    assert_eq!(
        (actor.as_str(), action.as_str()),
        ("reader", "read-matched")
    );
}

#[test]
fn diag_reader_shows_a_technician_the_raw_bytes_and_the_document_in_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A page as the printer simulator keeps it: the fixture job at 300 dpi, as PNG.
    let renderer = pstation::station::render::Renderer::new(
        pstation::config::Settings::default_settings().expect("settings"),
    )
    .expect("renderer");
    let payload = std::fs::read(crate::util::fixture("jobs/valid/partini.json")).expect("fixture");
    let rendered = renderer
        .render(&payload, "X7200000", Some(300))
        .expect("render");
    let page = dir.path().join("page.png");
    std::fs::write(
        &page,
        pstation_sim::raster_png(&rendered.pages[0]).expect("png"),
    )
    .expect("page");
    let mrz = renderer.mrz(&payload, "X7200000").expect("mrz");

    let mut reader = SimReader::start(dir.path(), "cute", None);
    let mut diag = Proc(
        std::process::Command::new(pstation().get_program())
            .args([
                "diag",
                "reader",
                "--count",
                "1",
                "--seconds",
                "120",
                "--device",
            ])
            .arg(format!(
                "serial://{}?framing=cute",
                dir.path().join("reader").display()
            ))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn diag"),
    );
    let mut lines = BufReader::new(diag.0.stdout.take().expect("stdout")).lines();
    let mut shown = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        shown.push(line.clone());
        if line == "reader connected" {
            break;
        }
    }
    reader.send(&format!("read={}", page.display()));
    shown.extend(lines.map_while(Result::ok));
    let status = diag.0.wait().expect("diag ends after one read");
    assert!(status.success(), "{shown:?}");
    let text = shown.join("\n");
    assert!(text.contains("raw <FS><STX>P<IDN"), "{text}");
    assert!(text.contains("document: 2 line(s), 0 unreadable"), "{text}");
    for line in &mrz {
        assert!(text.contains(&format!("  {line}")), "{line} in {text}");
    }

    // A reader that is not there: said with its code, exit 4.
    let (code, out, _) = crate::util::run(pstation().args([
        "diag",
        "reader",
        "--seconds",
        "1",
        "--device",
        "serial:///dev/no-such-reader?framing=rte",
    ]));
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("reader down reader-missing"), "{out}");
    // Doctor says the same of a configured reader that is not there.
    let config = dir.path().join("doctor.toml");
    std::fs::write(
        &config,
        crate::util::default_toml().replace(
            "device = \"\"",
            "device = \"serial:///dev/no-such-reader?framing=rte\"",
        ),
    )
    .expect("config");
    let (_, out, _) = crate::util::run(
        pstation()
            .args(["doctor", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data")),
    );
    assert!(
        out.lines()
            .any(|l| l
                .starts_with("PROBLEM  reader: serial:/dev/no-such-reader (rte): cannot open it")),
        "{out}"
    );
}

#[test]
fn the_console_shows_the_read_back_with_the_differing_position_and_takes_a_keyboard_reader() {
    use crate::console::{Browser, login};
    use crate::util::new_token;
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let mut reader = SimReader::start(dir.path(), "cute", Some(&pages));
    let (central, l1) = new_token("central-office", "central");
    let (operator, l2) = new_token("ani", "operator");
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        crate::util::default_toml()
            .replace("require_signed_jobs = true", "require_signed_jobs = false")
            .replace(
                "require_booklet_confirmation = true",
                "require_booklet_confirmation = false",
            )
            .replace("users = []", &format!("users = [{l1}, {l2}]"))
            .replace(
                "device = \"\"",
                &format!(
                    "device = \"serial://{}?framing=cute\"",
                    dir.path().join("reader").display()
                ),
            ),
    )
    .expect("config");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let counter = client(&base, Some(&operator));
    counter
        .receive_batch("X7300000", "X7300009")
        .expect("batch");
    let submit = |id: &str, number: &str| {
        let mut job: serde_json::Value = serde_json::from_slice(
            &std::fs::read(crate::util::fixture("jobs/valid/santoso-budi.json")).expect("fixture"),
        )
        .expect("json");
        job["job_id"] = id.into();
        job["document"]["number"] = number.into();
        client(&base, Some(&central))
            .submit(&serde_json::to_vec(&job).expect("json"))
            .expect("submitted");
    };
    let state = |id: &str| {
        counter
            .job(id)
            .map(|d| d.job.state.as_str().to_owned())
            .unwrap_or_default()
    };
    // One booklet read with a wrong character in its date of birth, one the reader stays silent on.
    assert_eq!(reader.say("substitute=2:20"), "ok substitute=2:20");
    submit("C-1", "X7300000");
    until("C-1 parked", || state("C-1") == "needs-verification");
    assert_eq!(reader.say("silence"), "ok silence");
    submit("C-2", "X7300001");
    reader.wait_read("C-2");
    assert_eq!(state("C-2"), "reading");

    let b = Browser::start();
    b.go(&format!("{base}/"));
    login(&b, &operator);
    until("the reader panel", || {
        b.js(
            "return document.querySelector('#reader-state').dataset.state || ''",
            serde_json::json!([]),
        ) == "connected"
    });
    b.go(&format!("{base}/#/job/C-1"));
    until("the read-back", || b.exists("#read-result"));
    assert_eq!(
        b.js(
            "return document.querySelector('#read-result').dataset.result",
            serde_json::json!([])
        ),
        "mismatch"
    );
    let marked = b.js(
        "return [...document.querySelectorAll('#read-lines mark.diff')].map(m => m.dataset.pos)",
        serde_json::json!([]),
    );
    assert_eq!(
        marked,
        serde_json::json!(["2:20"]),
        "the differing position is marked"
    );

    // The keyboard-wedge reader types both lines (each ended by Enter) into the job's field.
    let mrz = counter.mrz("C-2").expect("mrz").lines;
    b.go(&format!("{base}/#/job/C-2"));
    until("the wedge field", || b.exists("#wedge"));
    b.type_in("#wedge", &format!("{}\u{E007}{}\u{E007}", mrz[0], mrz[1]));
    until("C-2 verified by the typed read", || {
        state("C-2") == "completed"
    });
    // (The console, redrawing the job, records its view of the reads after the step.)
    let events = counter.job("C-2").expect("job").events;
    let matched = events
        .iter()
        .find(|e| e.action == "read-matched")
        .expect("the read's step");
    assert_eq!(matched.actor, "keyboard:ani");
    assert_eq!(matched.to_state.as_deref(), Some("completed"));
}
