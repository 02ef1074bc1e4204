//! The OpenAPI document at `/api/openapi.json` against the real router: every route in
//! `src/api/mod.rs` is documented and nothing else is, and every documented operation,
//! called on a running daemon with and without a token, answers with a documented status.

use std::collections::BTreeSet;

use serde_json::Value;

/// (METHOD, path) of every `.route(...)` in the router's source.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api/mod.rs"))
        .expect("api/mod.rs");
    // One line per `.route(...)`, however rustfmt wrapped it.
    let flat: String = src.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut routes = BTreeSet::new();
    for call in flat.split(".route(").skip(1) {
        let call = call.trim_start();
        let Some(rest) = call.strip_prefix('"') else {
            continue;
        };
        let path = rest.split('"').next().expect("path").to_owned();
        let call = &call[..call.find(".route(").unwrap_or(call.len())];
        let handlers = &call[call.find(',').expect("handlers")..];
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
    let doc: Value = serde_json::from_str(pstation::api::OPENAPI).expect("OpenAPI JSON");
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
            // Operations without `security: []` (or an optional `{}` among them) need a token.
            let security = &doc["paths"][path][method.to_lowercase()]["security"];
            let public = security == &serde_json::json!([])
                || security
                    .as_array()
                    .is_some_and(|a| a.contains(&serde_json::json!({})));
            let login = path == "/api/session" && method == "POST";
            if !with_token && !login {
                assert_eq!(status == 401, !public, "{method} {path}");
            }
        }
    }
    framework_errors_are_json_documented_and_counted(&doc, &base, &agent, &token);
    let _ = child.kill();
    let _ = child.wait();
}

/// One raw HTTP/1.1 exchange (the request as bytes; the server may answer before reading all
/// of it): (status, body).
fn raw(base: &str, request: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.strip_prefix("http://").expect("http base");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let _ = s.write_all(request);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, body.to_owned())
}

/// Issue 16 #10: the framework's own refusals (405, 413, 431, 404) are the documented JSON
/// shape with a stable code, listed in the OpenAPI document, and counted.
fn framework_errors_are_json_documented_and_counted(
    doc: &Value,
    base: &str,
    agent: &ureq::Agent,
    token: &str,
) {
    let code_of = |body: &str| -> String {
        let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        v["error"]["message"].as_str().expect("message");
        v["error"]["code"].as_str().expect("code").to_owned()
    };
    let host = base.strip_prefix("http://").expect("http");
    let put = format!(
        "PUT /api/jobs HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    let (status, body) = raw(base, put.as_bytes());
    assert_eq!(
        (status, code_of(&body).as_str()),
        (405, "method-not-allowed"),
        "{body}"
    );
    let mut big = format!(
        "POST /api/jobs HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        pstation::api::MAX_BODY + 1
    )
    .into_bytes();
    big.resize(big.len() + pstation::api::MAX_BODY + 1, b' ');
    let (status, body) = raw(base, &big);
    assert_eq!(
        (status, code_of(&body).as_str()),
        (413, "body-too-large"),
        "{body}"
    );
    let mut many = format!("GET /api/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-Filler-{i}: {}\r\n", "v".repeat(200)));
    }
    many.push_str("\r\n");
    let (status, body) = raw(base, many.as_bytes());
    assert_eq!(
        (status, code_of(&body).as_str()),
        (431, "headers-too-large"),
        "{body}"
    );
    let (status, body) = raw(
        base,
        format!("GET /console/nothing.js HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(
        (status, code_of(&body).as_str()),
        (404, "not-found"),
        "{body}"
    );
    // Documented: each code in the document's list of errors any request may get.
    let listed = doc["components"]["responses"].to_string();
    for code in [
        "method-not-allowed",
        "body-too-large",
        "headers-too-large",
        "not-found",
    ] {
        assert!(listed.contains(code), "{code} not in components.responses");
    }
    // Counted.
    let metrics = agent
        .get(&format!("{base}/metrics"))
        .call()
        .expect("metrics")
        .body_mut()
        .read_to_string()
        .expect("text");
    for code in ["method-not-allowed", "body-too-large", "headers-too-large"] {
        let line = format!("pstation_api_errors_total{{code=\"{code}\"}} 1");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

/// Every stable error code the API can answer with: its own, and those of the errors it passes
/// on (each written once, in its enum's messages: `derive(Coded)`).
fn api_codes() -> Vec<(&'static str, &'static [&'static str])> {
    use pstation::api;
    use pstation::station::{render, technician};
    vec![
        ("api", api::code::CODES),
        ("StoreError", pstation::store::StoreError::CODES),
        ("BookletError", pstation::store::BookletError::CODES),
        ("KeyError", pstation::store::KeyError::CODES),
        (
            "SignatureError",
            pstation::central::jws::SignatureError::CODES,
        ),
        ("TechError", technician::TechError::CODES),
        ("RenderError", render::RenderError::CODES),
    ]
}

/// Codes the station uses only in logs and the doctor, never in an API answer.
fn internal_codes() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("LayoutError", pstation::layout::build::LayoutError::CODES),
        (
            "PortraitError",
            pstation::layout::portrait::PortraitError::CODES,
        ),
        (
            "DeliveryError",
            pstation::station::outbox::DeliveryError::CODES,
        ),
        ("TlsError", pstation::api::tls::TlsError::CODES),
    ]
}

/// Codes that two types share on purpose: the same meaning, reached two ways.
const SHARED: &[(&str, &str)] = &[
    // The API's "no such route" and the store's "no such job": nothing is there.
    ("not-found", "nothing is at this path or id"),
    // The API refuses a reprint without a supervisor's token; the store one approved by the
    // person asking: both need a second person.
    ("second-person-required", "a reprint needs a second person"),
    // The API while the daemon stops, and the technician's request cut short by it.
    ("shutting-down", "the station is stopping"),
    // The API's own failures and the renderer's (fonts missing, task stopped).
    ("internal-error", "the station itself failed"),
    // A job that does not validate, on submission (API) or when its stored copy is rendered.
    ("invalid-job", "the job does not validate"),
    // SQLite failed, answered by the store or met by the renderer reading a payload.
    ("store", "the store failed"),
];

#[test]
fn error_codes_are_kebab_case_unique_per_meaning_and_documented() {
    let doc: Value = serde_json::from_str(pstation::api::OPENAPI).expect("OpenAPI JSON");
    let documented: BTreeSet<&str> =
        doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
            .as_array()
            .expect("ErrorDetail.code has an enum of every code")
            .iter()
            .map(|v| v.as_str().expect("codes are strings"))
            .collect();
    let mut owner: std::collections::BTreeMap<&str, &str> = Default::default();
    let mut problems = Vec::new();
    let (api, internal) = (api_codes(), internal_codes());
    for (ty, codes) in api.iter().chain(internal.iter()) {
        assert!(!codes.is_empty(), "{ty} has no codes");
        for &code in *codes {
            let kebab = code.split('-').all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
            if !kebab {
                problems.push(format!("{ty}: {code:?} is not kebab-case"));
            }
            if let Some(other) = owner.insert(code, ty)
                && other != *ty
                && !SHARED.iter().any(|(c, _)| *c == code)
            {
                problems.push(format!(
                    "{code:?} is used by {other} and {ty}: give one of them its own code, or \
                     list it in SHARED if it means the same"
                ));
            }
        }
    }
    for (code, _) in SHARED {
        let users = api
            .iter()
            .chain(internal.iter())
            .filter(|(_, c)| c.contains(code))
            .count();
        if users < 2 {
            problems.push(format!("SHARED lists {code:?}, which only one type uses"));
        }
    }
    for (ty, codes) in &api {
        for code in *codes {
            if !documented.contains(code) {
                problems.push(format!(
                    "{ty}: {code:?} can be answered by the API but is not in openapi.json's \
                     Error.code enum"
                ));
            }
        }
    }
    let answerable: BTreeSet<&str> = api.iter().flat_map(|(_, c)| c.iter().copied()).collect();
    for code in &documented {
        if !answerable.contains(code) {
            problems.push(format!(
                "openapi.json documents {code:?}, which no error carries"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nthe API's codes: {answerable:?}",
        problems.join("\n")
    );
}

/// Every code the API answers with is written once: handlers name `api::code` constants (or an
/// error's `code()`), never a string literal.
#[test]
fn the_api_names_its_codes_from_the_table() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api");
    let mut body = String::new();
    for entry in std::fs::read_dir(dir).expect("src/api").flatten() {
        if entry.path().extension().is_some_and(|e| e == "rs") {
            body += &std::fs::read_to_string(entry.path()).expect("read");
        }
    }
    let table = body.find("pub mod code {").expect("the code table");
    let end = table + body[table..].find("\n}\n").expect("end of the table");
    body.replace_range(table..end, "");
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut literal = Vec::new();
    for (i, _) in flat.match_indices("ApiError::new(") {
        let args = &flat[i..];
        let second = args.split(',').nth(1).unwrap_or("").trim();
        if second.starts_with('"') {
            literal.push(args.chars().take(80).collect::<String>());
        }
    }
    assert!(
        flat.matches("ApiError::new(").count() > 10,
        "the handlers build their errors with ApiError::new"
    );
    assert!(
        literal.is_empty(),
        "codes written as literals: {literal:#?}"
    );
}

/// The wire types' schemas, as `schemars` derives them from `pstation::api::wire` (the
/// components the API's answers and bodies are made of), keyed by type name.
fn wire_schemas() -> serde_json::Map<String, Value> {
    use pstation::api::wire;
    use schemars::generate::SchemaSettings;
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .for_serialize()
        .into_generator();
    generator.subschema_for::<wire::ErrorBody>();
    generator.subschema_for::<wire::Health>();
    generator.subschema_for::<wire::JobAnswer>();
    generator.subschema_for::<wire::JobList>();
    generator.subschema_for::<wire::JobDetail>();
    generator.subschema_for::<wire::Lines>();
    generator.subschema_for::<wire::Session>();
    generator.subschema_for::<wire::PrinterAnswer>();
    generator.subschema_for::<wire::TestPageAnswer>();
    generator.subschema_for::<wire::IdentityAnswer>();
    generator.subschema_for::<wire::BookletList>();
    generator.subschema_for::<wire::BatchAnswer>();
    generator.subschema_for::<wire::ReconcileAnswer>();
    generator.subschema_for::<wire::ActionBody>();
    generator.subschema_for::<wire::BatchBody>();
    generator.subschema_for::<wire::PjlBody>();
    generator.subschema_for::<wire::LoginBody>();
    generator.subschema_for::<wire::ReadList>();
    generator.subschema_for::<wire::ReadBody>();
    generator.subschema_for::<wire::ReadAnswer>();
    generator.subschema_for::<wire::ChipCheckList>();
    generator.take_definitions(true)
}

/// The documented schema says what the generated one says: the same keys and values, except
/// words (descriptions, titles, examples) and an `enum` narrowing a string (the error codes).
fn conforms(documented: &Value, generated: &Value) -> bool {
    const WORDS: [&str; 4] = ["description", "title", "examples", "enum"];
    match (documented, generated) {
        (Value::Object(d), Value::Object(g)) => {
            d.keys()
                .all(|k| g.contains_key(k) || WORDS.contains(&k.as_str()))
                && g.iter().all(|(k, gv)| {
                    WORDS.contains(&k.as_str()) || d.get(k).is_some_and(|dv| conforms(dv, gv))
                })
        }
        (Value::Array(d), Value::Array(g)) => {
            d.len() == g.len() && d.iter().zip(g).all(|(d, g)| conforms(d, g))
        }
        (d, g) => d == g,
    }
}

#[test]
fn the_documented_schemas_are_the_wire_types() {
    let doc: Value = serde_json::from_str(pstation::api::OPENAPI).expect("OpenAPI JSON");
    let components = doc["components"]["schemas"]
        .as_object()
        .expect("components");
    let generated = wire_schemas();
    let mut wrong = Vec::new();
    for (name, schema) in &generated {
        match components.get(name) {
            Some(documented) if conforms(documented, schema) => {}
            Some(_) => wrong.push(format!("{name} differs from api::wire::{name}")),
            None => wrong.push(format!("{name} is not in components.schemas")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\n\nthe wire types' schemas:\n{}",
        wrong.join("\n"),
        serde_json::to_string_pretty(&generated).unwrap_or_default()
    );
    // Each answer and body points at its wire type.
    let op = |method: &str, path: &str| doc["paths"][path][method].clone();
    let refers = |v: &Value, ty: &str| v["$ref"] == format!("#/components/schemas/{ty}");
    let answers = [
        ("get", "/api/health", "200", "Health"),
        ("post", "/api/jobs", "201", "JobAnswer"),
        ("post", "/api/jobs", "200", "JobAnswer"),
        ("get", "/api/jobs", "200", "JobList"),
        ("get", "/api/jobs/{id}", "200", "JobDetail"),
        ("get", "/api/jobs/{id}/mrz", "200", "Lines"),
        ("get", "/api/jobs/{id}/reads", "200", "ReadList"),
        ("get", "/api/jobs/{id}/chip", "200", "ChipCheckList"),
        ("post", "/api/reader/read", "200", "ReadAnswer"),
        ("post", "/api/jobs/{id}/{action}", "200", "JobAnswer"),
        ("get", "/api/session", "200", "Session"),
        ("post", "/api/session", "200", "Session"),
        ("get", "/api/printer", "200", "PrinterAnswer"),
        ("post", "/api/printer/test-page", "200", "TestPageAnswer"),
        ("post", "/api/printer/pjl", "200", "Lines"),
        ("post", "/api/printer/identity", "200", "IdentityAnswer"),
        ("get", "/api/booklets", "200", "BookletList"),
        ("post", "/api/booklets/batches", "201", "BatchAnswer"),
        ("get", "/api/booklets/reconcile", "200", "ReconcileAnswer"),
    ];
    for (method, path, status, ty) in answers {
        let schema =
            &op(method, path)["responses"][status]["content"]["application/json"]["schema"];
        assert!(
            refers(schema, ty),
            "{method} {path} {status}: {schema} is not {ty}"
        );
    }
    let bodies = [
        ("post", "/api/jobs/{id}/{action}", "ActionBody"),
        ("post", "/api/booklets/batches", "BatchBody"),
        ("post", "/api/printer/pjl", "PjlBody"),
        ("post", "/api/session", "LoginBody"),
    ];
    for (method, path, ty) in bodies {
        let schema = &op(method, path)["requestBody"]["content"]["application/json"]["schema"];
        assert!(
            refers(schema, ty),
            "{method} {path} body: {schema} is not {ty}"
        );
    }
}
