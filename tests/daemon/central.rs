//! The central office's side: only jobs signed by a configured key are accepted, and status
//! changes reach the central office in order, at least once, across an outage and a kill.

use super::*;

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
