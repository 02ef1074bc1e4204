//! Personal data on a running station: sealed in the store with the key file the configuration
//! names (a missing, shared, misplaced or foreign key is refused by name, and nothing is
//! created), the data page shown to the counter on request only (each view in the event log,
//! nothing of it written to disk), and purged when the job's retention ends, the audit record
//! staying.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::daemon::{start_serve, start_sim, until};
use crate::util::{fixture, new_token, pstation};

/// A call with a bearer token: (status, content type, body bytes).
fn call(method: &str, url: &str, token: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let (base, path) = crate::util::split_url(url);
    let body = (method != "GET").then_some((body, "application/json"));
    let mut resp = crate::util::client(base, Some(token))
        .send(method, path, body, Some(pstation::client::TIMEOUT))
        .expect("the daemon answers");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .expect("body");
    (resp.status().as_u16(), ct, bytes)
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

/// `pstation serve` that must fail to start: (exit code, stderr).
fn serve_fails(data: &Path, config: &Path) -> (Option<i32>, String) {
    let out = pstation()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--device",
            "tcp://127.0.0.1:9",
        ])
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("serve");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What the store holds, row by row (the file itself may change when SQLite folds its log in).
fn store_content(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("sqlite");
    let mut rows = Vec::new();
    for sql in [
        "SELECT job_id || state || hex(payload) || ifnull(purged_at, '') FROM jobs",
        "SELECT seq || action || ifnull(hash, '') FROM events",
        "SELECT key_id FROM store_key",
    ] {
        let mut stmt = conn.prepare(sql).expect("query");
        rows.extend(
            stmt.query_map([], |r| r.get::<_, String>(0))
                .expect("rows")
                .map(|r| r.expect("row")),
        );
    }
    rows
}

/// Every byte under `dir`, file by file.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("list").flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out
}

#[test]
fn a_station_needs_its_own_key_shows_pages_on_request_and_purges_ended_jobs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).expect("keys folder");
    let key_file = keys.join("store.key");
    let (central, central_line) = new_token("central-office", "central");
    let (operator, operator_line) = new_token("ani", "operator");
    let toml = |key: &Path| {
        crate::util::default_toml()
            .replace("require_signed_jobs = true", "require_signed_jobs = false")
            .replace(
                "require_booklet_confirmation = true",
                "require_booklet_confirmation = false",
            )
            .replace(
                "users = []",
                &format!("users = [{central_line}, {operator_line}]"),
            )
            .replace("purge_after_days = 7", "purge_after_days = 0")
            .replace(
                &format!(
                    "key_file = {:?}",
                    crate::util::store_key_file().display().to_string()
                ),
                &format!("key_file = {:?}", key.display().to_string()),
            )
    };
    let config = dir.path().join("station.toml");
    std::fs::write(&config, toml(&key_file)).expect("config");

    // No key file: refused with what to do, and nothing is created.
    let (code, err) = serve_fails(&data, &config);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("store-key-missing"), "{err}");
    assert!(err.contains("pstation keys store-key --out"), "{err}");
    assert!(!data.exists(), "no data folder made without a key");
    let (code, out) = crate::daemon::doctor(&["--config", config.to_str().expect("utf-8")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("PROBLEM  store key: store-key-missing"),
        "{out}"
    );

    // A key made by the tool, private; readable by others it is refused.
    let (code, out, err) = crate::util::run(
        pstation()
            .args(["keys", "store-key", "--out"])
            .arg(&key_file),
    );
    assert_eq!(code, 0, "{err}");
    let key_id = pstation::store::StoreKey::load(&key_file)
        .expect("key")
        .id()
        .to_owned();
    assert!(out.contains(&key_id), "{out}");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (code, err) = serve_fails(&data, &config);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("store-key-permissions"), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // A key kept inside the data folder is refused by the configuration check.
    let inside = dir.path().join("inside.toml");
    std::fs::write(&inside, toml(&data.join("store.key"))).expect("config");
    let (code, err) = serve_fails(&data, &inside);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("daemon.key_file"), "{err}");
    // ... and through a link, by the start.
    std::fs::create_dir_all(&data).expect("data");
    std::fs::copy(&key_file, data.join("copied.key")).expect("copy");
    let link = dir.path().join("link.key");
    std::os::unix::fs::symlink(data.join("copied.key"), &link).expect("symlink");
    let linked = dir.path().join("linked.toml");
    std::fs::write(&linked, toml(&link)).expect("config");
    let (code, err) = serve_fails(&data, &linked);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("store-key-inside-data-dir"), "{err}");
    std::fs::remove_file(data.join("copied.key")).expect("rm");

    // The station runs with its key.
    let pages = dir.path().join("pages");
    let (mut sim, device) = start_sim(&pages, &[]);
    let (serve, base, _) = start_serve(&data, &device, &config);
    let (s, _, b) = call(
        "POST",
        &format!("{base}/api/booklets/batches"),
        &operator,
        br#"{"first": "X1234560", "last": "X1234569"}"#,
    );
    assert_eq!(s, 201, "{}", String::from_utf8_lossy(&b));
    let job = std::fs::read(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let (s, _, b) = call("POST", &format!("{base}/api/jobs"), &central, &job);
    assert_eq!(s, 201, "{}", String::from_utf8_lossy(&b));
    let id = "SMD-2026-000123";
    let job_url = format!("{base}/api/jobs/{id}");
    let state = || json_of(&call("GET", &job_url, &operator, b"").2)["job"]["state"].clone();
    until("printed", || state() == "printed");

    // The page, to the counter only; each view is recorded with who looked.
    let page_url = format!("{job_url}/page.pdf");
    let (s, _, b) = call("GET", &page_url, &central, b"");
    assert_eq!(s, 403, "{}", String::from_utf8_lossy(&b));
    let (s, ct, pdf) = call("GET", &page_url, &operator, b"");
    assert_eq!((s, ct.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let pdf_file = dir.path().join("shown.pdf");
    std::fs::write(&pdf_file, &pdf).expect("write");
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf_file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("SANTOSO"), "{text}");
    let events = json_of(&call("GET", &job_url, &operator, b"").2)["events"].clone();
    let views: Vec<&Value> = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "view-page")
        .collect();
    assert_eq!(views.len(), 1, "{events}");
    assert_eq!(views[0]["actor"], "ani");
    // The operator's CLI writes the same page (mode 0600).
    let saved = dir.path().join("check.pdf");
    let (code, out, err) = crate::util::run(
        pstation()
            .args([
                "job", "page", id, "--url", &base, "--token", &operator, "--out",
            ])
            .arg(&saved),
    );
    assert_eq!(code, 0, "{out}{err}");
    let mode = std::fs::metadata(&saved)
        .expect("saved")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(std::fs::read(&saved).expect("pdf").starts_with(b"%PDF-"));

    // Nothing under the data folder holds the person's name, birth place or date of birth, or
    // the portrait's bytes: the store is sealed, and no page is kept.
    let job_text = String::from_utf8(job.clone()).expect("utf-8");
    let portrait = &job_text[job_text.find("\"data\": \"").expect("portrait") + 9..][..40];
    for (path, bytes) in files_under(&data) {
        for needle in ["Santoso", "SANTOSO", "SAMARINDA", "1990-01-01", portrait] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in {path:?}"
            );
        }
    }

    // Verified: completed, and with no retention (purge_after_days = 0) purged at once.
    let (s, _, b) = call("POST", &format!("{job_url}/verify"), &operator, b"{}");
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    until("purged", || {
        !json_of(&call("GET", &job_url, &operator, b"").2)["job"]["purged_at"].is_null()
    });
    let shown = json_of(&call("GET", &job_url, &operator, b"").2);
    assert_eq!(shown["job"]["state"], "completed");
    assert_eq!(shown["job"]["booklet"], "X1234567");
    let last = shown["events"]
        .as_array()
        .and_then(|e| e.last())
        .cloned()
        .expect("events");
    assert_eq!(
        (&last["action"], &last["actor"]),
        (&json!("purge"), &json!("station"))
    );
    let (s, _, b) = call("GET", &page_url, &operator, b"");
    assert_eq!(s, 410);
    assert_eq!(json_of(&b)["error"]["code"], "purged");
    // The same job sent again is known: not stored, not printed again.
    let (s, _, b) = call("POST", &format!("{base}/api/jobs"), &central, &job);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    assert_eq!(json_of(&b)["job"]["state"], "completed");

    let (code, out) = crate::daemon::doctor(&[
        "--config",
        config.to_str().expect("utf-8"),
        "--data-dir",
        data.to_str().expect("utf-8"),
    ]);
    assert!(
        out.contains(&format!("OK       store key: {}", key_file.display())),
        "{out}"
    );
    assert!(out.contains(&key_id), "{out}");
    assert_ne!(code, Some(1), "{out}");
    drop(serve);
    sim.0.kill().expect("kill");
    let _ = sim.0.wait();
    assert_eq!(crate::daemon::sim_jobs(&pages).len(), 1, "printed once");

    // Another station's key does not open this store: refused by name, the store unchanged.
    let other = keys.join("other.key");
    pstation::store::StoreKey::generate(&other).expect("other key");
    let other_config = dir.path().join("other.toml");
    std::fs::write(&other_config, toml(&other)).expect("config");
    let before = store_content(&data.join("station.db"));
    let (code, err) = serve_fails(&data, &other_config);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("store-key-wrong"), "{err}");
    assert!(err.contains(&key_id), "{err}");
    assert!(
        store_content(&data.join("station.db")) == before,
        "the store changed"
    );
    let (code, out) = crate::daemon::doctor(&[
        "--config",
        other_config.to_str().expect("utf-8"),
        "--data-dir",
        data.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("PROBLEM  store key: store-key-wrong"), "{out}");
}
