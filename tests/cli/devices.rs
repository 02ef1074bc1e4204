//! The technician's commands against the simulated printer on a PTY: `diag probe`, `diag
//! test-page`, faults and bad devices named with codes, the loopback test, and `sim`'s control words.

use super::*;

/// A `pstation sim` child process on an ephemeral TCP port and a PTY, killed on drop.
struct SimProcess {
    child: std::process::Child,
    port: String,
    pty: String,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(out: &std::path::Path, extra: &[&str]) -> SimProcess {
    use std::io::BufRead;
    let bin = assert_cmd::cargo::cargo_bin("pstation");
    let mut child = std::process::Command::new(bin)
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--pty",
            "--baud",
            "0",
            "--page-ms",
            "100",
            "--out",
        ])
        .arg(out)
        .args(if extra.contains(&"--warm-up-ms") {
            &[][..]
        } else {
            &["--warm-up-ms", "50"][..]
        })
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut port = String::new();
    let mut pty = String::new();
    while port.is_empty() || pty.is_empty() {
        let line = lines
            .next()
            .expect("sim printed its endpoints")
            .expect("line");
        if let Some(addr) = line.strip_prefix("listening ") {
            port = addr.rsplit(':').next().expect("port").to_owned();
        } else if let Some(path) = line.strip_prefix("pty ") {
            pty = path.to_owned();
        }
    }
    SimProcess { child, port, pty }
}

#[test]
fn diag_probes_and_prints_a_test_page_on_the_simulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path(), &[]);
    let tcp = format!("tcp://127.0.0.1:{}", sim.port);
    let (code, out, err) = run(pstation().args(["diag", "probe", "--device", &tcp]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("model PSTATION SIMULATED PASSPORT PRINTER"),
        "{out}"
    );
    let serial = format!("serial://{}?flow=none", sim.pty);
    let (code, out, err) = run(pstation().args(["diag", "test-page", "--device", &serial]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("completed: 1 page(s) confirmed"), "{out}");
    // The simulator logs the job and keeps the page as a PNG.
    let mut log = String::new();
    for _ in 0..200 {
        log = std::fs::read_to_string(dir.path().join("jobs.jsonl")).unwrap_or_default();
        if !log.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let entry: serde_json::Value =
        serde_json::from_str(log.lines().next().expect("a job line")).expect("json");
    assert_eq!(entry["result"], "OK");
    assert_eq!(entry["pages_printed"], 1);
    assert!(entry["start_ms"].as_u64() <= entry["end_ms"].as_u64());
    let png = entry["png"][0].as_str().expect("png path");
    let page = image::open(png).expect("png");
    assert_eq!((page.width(), page.height()), (1476, 1039));
}

#[test]
fn a_printer_warming_up_is_waited_for_in_words_not_refused() {
    // Issue 16 #6: warming up is a passing state, shown as such and waited for.
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path(), &["--warm-up-ms", "6000"]);
    let tcp = format!("tcp://127.0.0.1:{}", sim.port);
    let (code, out, err) = run(pstation().args(["diag", "status", "--device", &tcp]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("printer busy, it will be ready by itself"),
        "{out}"
    );
    assert!(out.contains("warming up (warming-up-report)"), "{out}");
    assert!(
        out.contains("what to do: The printer is warming up; wait a moment, printing starts by itself / Printer sedang pemanasan"),
        "{out}"
    );
    assert!(
        !out.contains("other-report") && !out.contains("stopped"),
        "{out}"
    );
    let (code, out, err) = run(pstation().args(["diag", "test-page", "--device", &tcp]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("waiting: warming up (") && out.contains("s of at most 180 s)"),
        "{out}"
    );
    assert!(out.contains("completed: 1 page(s) confirmed"), "{out}");
    let (code, out, _) = run(pstation().args(["diag", "status", "--device", &tcp]));
    assert_eq!(code, 0);
    assert!(out.starts_with("printer ready"), "{out}");
}

#[test]
fn diag_reports_a_printer_fault_and_bad_devices_with_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path(), &["--fault", "cover-open"]);
    let tcp = format!("tcp://127.0.0.1:{}", sim.port);
    let (code, out, _) = run(pstation().args(["diag", "status", "--device", &tcp]));
    assert_eq!(code, 0);
    assert!(out.contains("cover-open-error"), "{out}");
    let (code, _, err) = run(pstation().args(["diag", "test-page", "--device", &tcp]));
    assert_eq!(code, 4);
    assert!(
        err.contains("not-started") && err.contains("cover-open-error"),
        "{err}"
    );
    let (code, _, err) = run(pstation().args(["diag", "probe", "--device", "lpt://nowhere"]));
    assert_eq!(code, 2);
    assert!(err.contains("device-uri"), "{err}");
    let (code, _, err) =
        run(pstation().args(["diag", "probe", "--device", "serial:///dev/does-not-exist"]));
    assert_eq!(code, 4);
    assert!(err.contains("device-not-found"), "{err}");
    let (code, _, err) = run(pstation().args(["sim", "--fault", "meteor"]));
    assert_eq!(code, 2);
    assert!(err.contains("unknown-fault"), "{err}");
}

#[test]
fn diag_loopback_through_a_usblp_style_node() {
    // A FIFO opened read-write is its own loopback: what is written comes back. It stands in for
    // a loopback plug and exercises the usblp transport (a device node opened as a file).
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("lp0");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let uri = format!("usblp://{}", fifo.display());
    let (code, out, err) =
        run(pstation().args(["diag", "loopback", "--bytes", "20000", "--device", &uri]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("loopback ok: 20000 bytes intact"), "{out}");
    let (code, _, err) = run(pstation().args([
        "diag",
        "loopback",
        "--device",
        "usblp:///dev/nonexistent-lp9",
    ]));
    assert_eq!(code, 4);
    assert!(err.contains("device-not-found"), "{err}");
}

#[test]
fn sim_help_lists_every_control_word_and_an_unknown_word_names_them() {
    // Issue 16 #4.
    let (code, out, _) = run(pstation().args(["sim", "--help"]));
    assert_eq!(code, 0);
    for word in pstation_sim::control_words().split(", ") {
        let word = word.split('=').next().expect("word");
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(word)),
            "{word} in sim --help:\n{out}"
        );
    }
    // At run time (the simulator keeps serving after its stdin closes: read, then kill it).
    use std::io::{BufRead, Write};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pstation"))
        .args(["sim", "--listen", "127.0.0.1:0", "--warm-up-ms", "0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn sim");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "meteor").expect("write");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("unknown-command") {
                let _ = tx.send(line);
                return;
            }
        }
    });
    let err = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        err.contains("control: unknown-command: \"meteor\" is not a control word; the words are: ")
            && err.contains("cover-open")
            && err.contains("refill="),
        "{err}"
    );
}
