//! What technicians use: metrics, doctor, the JSON logs and the support bundle, none of them holding
//! personal data.

use super::*;

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
