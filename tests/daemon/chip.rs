//! The chip gate end to end: the daemon with a chip reader checks each booklet's chip before it
//! prints — a virtual e-passport (`pstation sim-chip`, its LDS issued by the test central
//! office) on the station's own vpcd port, and through real `pcscd` with vsmartcard's `vpcd` —
//! prints the genuine one, holds every fault with its code without printing, refuses a local
//! reprint and sends a reprint request to the central office instead.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};

use super::{Proc, config_without_confirmation, get, post, start_serve, start_sim, until};
use crate::util::{client, fixture, pstation, run};

/// A job file: the fixture with this id and booklet number (what the central office sent).
fn job_file(dir: &Path, id: &str, number: &str) -> PathBuf {
    let mut job: Value = serde_json::from_slice(
        &std::fs::read(fixture("jobs/valid/santoso-budi.json")).expect("fixture"),
    )
    .expect("json");
    job["job_id"] = json!(id);
    job["document"]["number"] = json!(number);
    let path = dir.join(format!("{id}.json"));
    std::fs::write(&path, serde_json::to_vec(&job).expect("json")).expect("job file");
    path
}

/// The lab configuration with a chip reader and the test CSCA (written by `sim-chip`).
fn config_with_chip(dir: &Path, reader: &str) -> PathBuf {
    let csca = dir.join("csca.pem");
    let (code, _, err) = run(pstation().args(["sim-chip", "--write-csca"]).arg(&csca));
    assert_eq!(code, 0, "{err}");
    let path = config_without_confirmation(dir);
    let text = std::fs::read_to_string(&path)
        .expect("config")
        .replace("reader = \"\"", &format!("reader = \"{reader}\""))
        .replace("csca = []", &format!("csca = [\"{}\"]", csca.display()))
        .replace("timeout_ms = 3000", "timeout_ms = 1000");
    assert!(text.contains("csca.pem") && text.contains("timeout_ms = 1000"));
    std::fs::write(&path, text).expect("config");
    path
}

/// `pstation sim-chip` for a job's booklet on `vpcd`, with a fault.
fn sim_chip(job: &Path, booklet: &str, vpcd: &str, fault: Option<&str>) -> Proc {
    let mut cmd = std::process::Command::new(pstation().get_program());
    cmd.arg("sim-chip")
        .arg("--job")
        .arg(job)
        .args(["--booklet", booklet, "--vpcd", vpcd]);
    if let Some(f) = fault {
        cmd.args(["--fault", f]);
    }
    Proc(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sim-chip"),
    )
}

fn state(base: &str, id: &str) -> String {
    client(base, None)
        .job(id)
        .map(|d| d.job.state.as_str().to_owned())
        .unwrap_or_default()
}

fn submit(base: &str, file: &Path) {
    let submitted = client(base, None)
        .submit(&std::fs::read(file).expect("job"))
        .expect("submitted");
    assert!(!submitted.existing);
}

fn metric(base: &str, line: &str) -> u64 {
    let mut resp = client(base, None)
        .send("GET", "/metrics", None, Some(pstation::client::TIMEOUT))
        .expect("scrape");
    let text = resp.body_mut().read_to_string().expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{line} ")))
        .map_or(0, |v| v.trim().parse().expect("a count"))
}

fn booklet(base: &str, number: &str) -> Value {
    let (status, body) = get(base, "/api/booklets");
    assert_eq!(status, 200, "{body}");
    body["booklets"]
        .as_array()
        .expect("booklets")
        .iter()
        .find(|b| b["number"] == number)
        .cloned()
        .expect("the booklet")
}

#[test]
fn the_chip_gate_prints_the_genuine_booklet_and_holds_every_fault_unprinted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let config = config_with_chip(dir.path(), "vpcd://127.0.0.1:0");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let api = client(&base, None);
    api.receive_batch("X8000000", "X8000019").expect("batch");
    let chip = api.printer().expect("printer").chip;
    assert_eq!((chip.configured, chip.state.as_str()), (true, "ready"));
    let vpcd = chip
        .reader
        .expect("the vpcd port")
        .trim_start_matches("vpcd://")
        .to_owned();

    // No booklet on the reader: the job waits, queued, and the operator is told.
    let ok = job_file(dir.path(), "C-OK", "X8000000");
    submit(&base, &ok);
    until("the chip reader waits for the booklet", || {
        api.printer().expect("printer").chip.state == "waiting"
    });
    assert_eq!(state(&base, "C-OK"), "queued");
    // The genuine booklet: checked, then printed.
    let card = sim_chip(&ok, "X8000000", &vpcd, None);
    until("C-OK printed", || state(&base, "C-OK") == "printed");
    drop(card);
    let (status, checks) = get(&base, "/api/jobs/C-OK/chip");
    assert_eq!(status, 200, "{checks}");
    let check = &checks["checks"][0];
    assert_eq!(check["result"], "ok", "{checks}");
    assert_eq!(check["access"], "BAC");
    assert_eq!(check["used_by"], "C-OK-a1");
    let steps: Vec<&str> = check["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            assert_eq!(s["ok"], true, "{s}");
            s["step"].as_str().expect("step")
        })
        .collect();
    assert_eq!(
        steps,
        [
            "answer",
            "access",
            "read",
            "dg1",
            "hashes",
            "signature",
            "chain"
        ]
    );
    assert!(
        check["document_signer"]
            .as_str()
            .is_some_and(|d| d.contains("pstation Test Document Signer 1")),
        "{check}"
    );
    assert!(
        check["csca"]
            .as_str()
            .is_some_and(|c| c.contains("pstation Test CSCA"))
    );
    assert_eq!(booklet(&base, "X8000000")["chip_state"], "read-ok");

    // Each fault: the job is held with the code, nothing is sent to the printer, the booklet
    // stays blank in stock with its chip marked.
    // A chip that does not open with the job's key may be another booklet laid by mistake:
    // nothing is recorded against this booklet's chip (it stays `unread`).
    let faults = [
        ("other-person", "chip-access-denied", "access", "unread"),
        ("dg1-other", "chip-dg1-mismatch", "dg1", "mismatch"),
        ("dg1-changed", "chip-hash-mismatch", "hashes", "mismatch"),
        (
            "bad-signature",
            "chip-signature-invalid",
            "signature",
            "mismatch",
        ),
        ("unknown-csca", "chip-csca-unknown", "chain", "mismatch"),
        ("mute", "chip-no-answer", "access", "unread"),
    ];
    for (n, (fault, code, step, chip_state)) in faults.into_iter().enumerate() {
        let (id, number) = (format!("C-F{n}"), format!("X80000{:02}", n + 1));
        let file = job_file(dir.path(), &id, &number);
        let card = sim_chip(&file, &number, &vpcd, Some(fault));
        submit(&base, &file);
        until(&format!("{id} held ({fault})"), || {
            state(&base, &id) == "held"
        });
        drop(card);
        let detail = api.job(&id).expect("job");
        assert!(detail.attempts.is_empty(), "{id}: nothing was sent");
        let reason = detail.job.reason.clone().unwrap_or_default();
        assert!(reason.starts_with(code), "{id}: {reason}");
        // Told what to do, in both languages.
        assert!(reason.contains(" · "), "{id}: {reason}");
        let (_, checks) = get(&base, &format!("/api/jobs/{id}/chip"));
        let check = &checks["checks"][0];
        assert_eq!(check["result"], code, "{id}: {checks}");
        let failed: Vec<&Value> = check["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter(|s| s["ok"] == false)
            .collect();
        assert_eq!(failed.len(), 1, "{id}: {checks}");
        assert_eq!(failed[0]["step"], step, "{id}: {checks}");
        let b = booklet(&base, &number);
        assert_eq!(
            (b["state"].as_str(), b["chip_state"].as_str()),
            (Some("in-stock"), Some(chip_state)),
            "{id}"
        );
    }
    assert!(
        !pages.join("C-F0-a1-page1.png").exists(),
        "a refused booklet is never printed"
    );

    // An e-passport is not reprinted locally: spoiled, it goes to the central office.
    let (status, body) = post(
        &base,
        "/api/jobs/C-OK/spoil",
        json!({"reason": "laminate bubbled"}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &base,
        "/api/jobs/C-OK/reprint",
        json!({"booklet": "X8000010", "supervisor": "sup-1"}),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "reprint-central", "{body}");
    let (status, body) = post(&base, "/api/jobs/C-OK/request-reprint", json!({}));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("reason-required")),
        "a reprint request needs a reason: {body}"
    );
    let (status, body) = post(
        &base,
        "/api/jobs/C-OK/request-reprint",
        json!({"reason": "laminate bubbled"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"]["state"], "reprint-requested");
    // A held job whose booklet's chip was found wrong: the booklet is spoiled with the request.
    let (status, body) = post(
        &base,
        "/api/jobs/C-F1/request-reprint",
        json!({"reason": "the booklet's chip holds another name"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(booklet(&base, "X8000002")["state"], "spoiled");
    // One whose chip never opened (perhaps another person's good booklet): it stays in stock.
    let (status, body) = post(
        &base,
        "/api/jobs/C-F0/request-reprint",
        json!({"reason": "the chip does not open with this job's data"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(booklet(&base, "X8000001")["state"], "in-stock");

    // Counted: checks by result, booklets by chip state, in metrics and reconciliation.
    assert_eq!(
        metric(&base, "pstation_chip_checks_total{result=\"ok\"}"),
        1
    );
    assert_eq!(
        metric(
            &base,
            "pstation_chip_checks_total{result=\"chip-hash-mismatch\"}"
        ),
        1
    );
    assert_eq!(
        metric(&base, "pstation_booklet_chips{state=\"mismatch\"}"),
        4
    );
    assert_eq!(
        metric(&base, "pstation_booklet_chips{state=\"read-ok\"}"),
        1
    );
    let (_, rec) = get(&base, "/api/booklets/reconcile");
    let chips = &rec["reconciliation"]["chips"];
    // C-OK's booklet was read right (then spoiled with it); four were read and wrong.
    assert_eq!(chips["read_ok"], 1, "{rec}");
    assert_eq!(chips["mismatch"], 4, "{rec}");
    assert_eq!(chips["unreadable"], 0, "{rec}");
}

/// pcscd started here, stopped with SIGTERM at the end (so that it removes its socket).
struct Pcscd(std::process::Child);

impl Drop for Pcscd {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// pcscd with vsmartcard's vpcd: running already (its socket answers), or started here (the
/// suite's `scripts/test` installs both as root). Nothing is skipped: without them the test
/// fails saying what to do.
fn pcscd() -> Option<Pcscd> {
    let socket = Path::new("/run/pcscd/pcscd.comm");
    if std::os::unix::net::UnixStream::connect(socket).is_ok() {
        return None;
    }
    let child = std::process::Command::new("pcscd")
        .arg("--foreground")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pcscd (Debian: pcscd vsmartcard-vpcd; scripts/test installs them as root)");
    let proc = Pcscd(child);
    until("pcscd listens", || {
        std::os::unix::net::UnixStream::connect(socket).is_ok()
    });
    Some(proc)
}

#[test]
fn through_pcscd_and_vpcd_the_station_and_diag_read_the_virtual_passport() {
    assert!(
        Path::new("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists(),
        "vsmartcard-vpcd is not installed (scripts/test installs it as root)"
    );
    let _pcscd = pcscd();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with_chip(dir.path(), "Virtual PCD 00 00");
    let csca = dir.path().join("csca.pem");

    // The technician's view: the reader, the card, the whole check. vpcd offers two readers
    // (ports 35963 and 35964): the genuine booklet stays on the first for the whole test, the
    // other person's is laid on the second (vpcd does not always see a card taken off and
    // another laid on the same reader at once; a real reader does).
    let job = job_file(dir.path(), "P-OK", "X8100000");
    let _card = sim_chip(&job, "X8100000", "127.0.0.1:35963", None);
    let _other = sim_chip(&job, "X8100000", "127.0.0.1:35964", Some("other-person"));
    let diag = |reader: &str| {
        run(pstation()
            .args(["diag", "chip", "--reader", reader, "--job"])
            .arg(&job)
            .arg("--csca")
            .arg(&csca))
    };
    for (reader, exit, want) in [
        (
            "Virtual PCD 00 00",
            0,
            &[
                "PC/SC readers: Virtual PCD 00 00",
                "access    ok: BAC opened",
                "chain     ok",
                "OK the chip belongs to this job and is genuine",
            ][..],
        ),
        (
            "Virtual PCD 00 01",
            1,
            &[
                "access    FAILED: chip-access-denied",
                "FAILED chip-access-denied",
            ][..],
        ),
    ] {
        let mut seen = (-1, String::new(), String::new());
        let end = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while seen.0 != exit {
            assert!(
                std::time::Instant::now() < end,
                "{reader}: the card was not read: {seen:?}"
            );
            seen = diag(reader);
        }
        for w in want {
            assert!(seen.1.contains(w), "{reader}: {w} in {}", seen.1);
        }
    }

    // The daemon through PC/SC: the genuine booklet prints.
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let api = client(&base, None);
    api.receive_batch("X8100000", "X8100009").expect("batch");
    submit(&base, &job);
    until("P-OK printed after its chip check through pcscd", || {
        state(&base, "P-OK") == "printed"
    });
    let (_, checks) = get(&base, "/api/jobs/P-OK/chip");
    assert_eq!(checks["checks"][0]["result"], "ok", "{checks}");
    assert_eq!(
        api.printer().expect("printer").chip.reader.as_deref(),
        Some("pcsc:Virtual PCD 00 00")
    );
}

#[test]
fn the_console_shows_the_chip_check_step_by_step_and_offers_the_reprint_request() {
    use crate::console::{Browser, login};
    use crate::util::new_token;
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let (central, l1) = new_token("central-office", "central");
    let (operator, l2) = new_token("ani", "operator");
    let config = config_with_chip(dir.path(), "vpcd://127.0.0.1:0");
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace("require_tokens = false", "require_tokens = true")
        .replace("users = []", &format!("users = [{l1}, {l2}]"));
    std::fs::write(&config, text).expect("config");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let counter = client(&base, Some(&operator));
    counter
        .receive_batch("X8200000", "X8200009")
        .expect("batch");
    let vpcd = counter
        .printer()
        .expect("printer")
        .chip
        .reader
        .expect("the vpcd port")
        .trim_start_matches("vpcd://")
        .to_owned();
    let file = job_file(dir.path(), "K-1", "X8200000");
    let _card = sim_chip(&file, "X8200000", &vpcd, Some("other-person"));
    client(&base, Some(&central))
        .submit(&std::fs::read(&file).expect("job"))
        .expect("submitted");
    until("K-1 held by its chip check", || {
        counter
            .job("K-1")
            .map(|d| d.job.state.as_str() == "held")
            .unwrap_or(false)
    });

    let b = Browser::start();
    b.go(&format!("{base}/"));
    login(&b, &operator);
    until("the chip panel", || {
        b.js(
            "return document.querySelector('#chip-state').dataset.state || ''",
            json!([]),
        ) == "ready"
    });
    b.go(&format!("{base}/#/job/K-1"));
    until("the chip check", || b.exists("#chip-result"));
    assert_eq!(
        b.js(
            "return document.querySelector('#chip-result').dataset.result",
            json!([])
        ),
        "chip-access-denied"
    );
    let steps = b.js(
        "return [...document.querySelectorAll('#chipcheck li.chip-step')].map(l => l.dataset.step + '=' + l.dataset.ok)",
        json!([]),
    );
    assert_eq!(steps, json!(["answer=true", "access=false"]));
    // A held e-passport goes back to the central office; no local reprint is offered.
    let buttons = b.js(
        "return [...document.querySelectorAll('.actions button')].map(x => x.id)",
        json!([]),
    );
    assert!(b.exists("#act-request-reprint"), "{buttons}");
    assert!(!b.exists("#act-reprint"));
}
