//! The HTTP API and the operator's commands against a running daemon: hostile requests, tokens and
//! roles, refusals that leak nothing.

use super::*;

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
