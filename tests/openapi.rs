//! The OpenAPI document at `/api/openapi.json` against the real router: every route in
//! `src/station/api.rs` is documented and nothing else is, and every documented operation,
//! called on a running daemon with and without a token, answers with a documented status.

use std::collections::BTreeSet;

use serde_json::Value;

/// (METHOD, path) of every `.route(...)` in the router's source.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/station/api.rs"))
        .expect("api.rs");
    let mut routes = BTreeSet::new();
    for line in src
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(".route(\""))
    {
        let path = line
            .strip_prefix(".route(\"")
            .and_then(|rest| rest.split('"').next())
            .expect("path")
            .to_owned();
        let handlers = &line[line.find(',').expect("handlers")..];
        for method in ["get", "post", "put", "delete", "patch"] {
            let called = handlers.contains(&format!(" {method}("))
                || handlers.contains(&format!(".{method}("));
            if called {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

fn documented() -> (Value, BTreeSet<(String, String)>) {
    let doc: Value = serde_json::from_str(pstation::station::api::OPENAPI).expect("OpenAPI JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    (doc, ops)
}

#[test]
fn every_route_is_documented_and_every_documented_operation_exists() {
    let source = routes_in_source();
    assert!(source.len() >= 12, "the route scan found {source:?}");
    let (_, doc) = documented();
    assert_eq!(source, doc, "routes in api.rs vs paths in openapi.json");
}

#[test]
fn every_documented_operation_answers_with_a_documented_status() {
    let (doc, ops) = documented();
    let dir = tempfile::tempdir().expect("tempdir");
    let (token, line) = crate::util::new_token("root", "admin");
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        crate::util::default_toml()
            .replace("require_signed_jobs = true", "require_signed_jobs = false")
            .replace("users = []", &format!("users = [{line}]")),
    )
    .expect("config");
    let mut child = std::process::Command::new(crate::util::pstation().get_program())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--device",
            "tcp://127.0.0.1:9",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let base = loop {
        let mut l = String::new();
        assert!(std::io::BufRead::read_line(&mut reader, &mut l).expect("read") > 0);
        if let Some(u) = l.trim().strip_prefix("listening ") {
            break u.to_owned();
        }
    };
    std::thread::spawn(move || for _ in std::io::BufRead::lines(reader) {});
    let job = std::fs::read_to_string(crate::util::fixture("jobs/valid/santoso-budi.json"))
        .expect("fixture");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    for (method, path) in &ops {
        let url = format!(
            "{base}{}",
            path.replace("{id}", "SMD-2026-000123")
                .replace("{action}", "hold")
        );
        let body: &[u8] = match path.as_str() {
            "/api/jobs" => job.as_bytes(),
            "/api/booklets/batches" => br#"{"first": "X1234500", "last": "X1234599"}"#,
            _ => b"{}",
        };
        let documented: Vec<u16> = doc["paths"][path][method.to_lowercase()]["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .map(|k| k.parse().expect("status"))
            .collect();
        for with_token in [true, false] {
            let auth = format!("Bearer {token}");
            // The console's login takes the user's token in its body, not in a header.
            let login = format!("{{\"token\": \"{token}\"}}");
            let body: &[u8] = if path == "/api/session" && method == "POST" {
                if with_token { login.as_bytes() } else { b"{}" }
            } else {
                body
            };
            let resp = if method == "GET" || method == "DELETE" {
                let mut r = if method == "GET" {
                    agent.get(&url)
                } else {
                    agent.delete(&url)
                };
                if with_token {
                    r = r.header("authorization", &auth);
                }
                r.call()
            } else {
                let mut r = agent.post(&url).header("content-type", "application/json");
                if with_token {
                    r = r.header("authorization", &auth);
                }
                r.send(body)
            }
            .expect("request");
            let status = resp.status().as_u16();
            assert!(
                documented.contains(&status),
                "{method} {path} (token: {with_token}) answered {status}, documented {documented:?}"
            );
            // Operations without `security: []` need a token.
            let public =
                doc["paths"][path][method.to_lowercase()]["security"] == serde_json::json!([]);
            let login = path == "/api/session" && method == "POST";
            if !with_token && !login {
                assert_eq!(status == 401, !public, "{method} {path}");
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
