//! The support bundle's contents: what second-line support needs to see, and nothing personal —
//! versions, the configuration with secrets removed, the store's counts, recent events and
//! attempts, the printer's identity and status history — and the archive they go in.
//! `pstation support-bundle` adds doctor's report and the running daemon's view.
//!
//! Invariant: no name, date of birth, passport or booklet number, portrait or typed free text
//! leaves the station in a bundle. Events keep only ids, states, actors, times and the reasons the
//! station itself wrote (with anything shaped like a document number masked); a reason a person
//! typed is dropped.

use std::path::Path;

use serde_json::{Value, json};

use crate::config::Settings;
use crate::store::{Event, SCHEMA_VERSION, Store};

/// How many of the newest events, attempts and printer states go in.
const EVENTS: u32 = 2000;
const ATTEMPTS: u32 = 500;
const PRINTER_HISTORY: u32 = 500;

/// Actors whose reasons are the station's own words (kept, numbers masked).
const STATION_ACTORS: [&str; 3] = ["engine", "station", "central"];

/// The configuration as the station reads it (comments dropped), secrets removed: `config`,
/// or the embedded default.
pub fn config_file(config: Option<&Path>) -> Vec<u8> {
    let config_text = match config {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("{}: {e}", p.display()))
            .map(|t| (p.display().to_string(), t)),
        None => Ok((
            "the embedded default".to_owned(),
            crate::config::DEFAULT_TOML.to_owned(),
        )),
    };
    let config_out = match config_text {
        Ok((from, text)) => match text.parse::<toml::Table>() {
            Ok(mut table) => {
                redact(&mut table);
                format!(
                    "# {from}, as the station reads it (comments dropped, secrets removed)\n{}",
                    toml::to_string_pretty(&table).unwrap_or_default()
                )
            }
            // The parser's message may quote the file; only its position goes out.
            Err(e) => format!(
                "# {from} does not parse as TOML (at {:?}); its text is not included\n",
                e.span()
            ),
        },
        Err(e) => format!("# cannot read the configuration: {e}\n"),
    };
    config_out.into_bytes()
}

/// JSON as people read it, with a final newline.
pub fn pretty(v: &Value) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

/// The versions of pstation, the OS and the kernel.
pub fn versions() -> String {
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let uname = rustix::system::uname();
    format!(
        "pstation {}\nstore schema {SCHEMA_VERSION}\nSQLite {}\ntarget {}-{}\nos {os}\nkernel {} {}\nbundle written {}\n",
        env!("CARGO_PKG_VERSION"),
        rusqlite::version(),
        std::env::consts::ARCH,
        std::env::consts::OS,
        uname.sysname().to_string_lossy(),
        uname.release().to_string_lossy(),
        crate::store::now(),
    )
}

/// The store's files for the bundle, or a note saying why there are none.
pub fn store_files(db: &std::path::Path, offset: time::UtcOffset) -> Vec<(String, Vec<u8>)> {
    // Each time also in the station's own zone, as its people read it.
    let local = |at: &str| crate::clock::local(at, offset);
    if !db.exists() {
        return vec![(
            "store.json".into(),
            pretty(&json!({"store": "none yet", "path": db.display().to_string()})),
        )];
    }
    let store = match Store::open_read_only(db) {
        Ok(s) => s,
        Err(e) => {
            return vec![(
                "store.json".into(),
                pretty(&json!({"error": e.to_string(), "code": e.code()})),
            )];
        }
    };
    let mut files = Vec::new();
    let schema = Store::schema_of(db).unwrap_or(0);
    let counts = |r: Result<Vec<(String, u64)>, _>| -> Value {
        match r {
            Ok(v) => v
                .into_iter()
                .map(|(k, n)| (k, json!(n)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            Err(e) => json!({"error": format!("{e}")}),
        }
    };
    let jobs = counts(store.job_counts().map(|v| {
        v.into_iter()
            .map(|(s, n)| (s.as_str().to_owned(), n))
            .collect()
    }));
    let booklets = counts(store.booklet_counts().map(|v| {
        v.into_iter()
            .map(|(s, n)| (s.as_str().to_owned(), n))
            .collect()
    }));
    let check = match crate::store::backup::check(db) {
        Ok(r) => {
            json!({"problems": r.problems, "jobs": r.jobs, "events": r.events, "booklets": r.booklets})
        }
        Err(e) => json!({"error": e.to_string()}),
    };
    // The event log's chain head: a later bundle's chain must contain it.
    let chain = match crate::store::audit::verify(db) {
        Ok(Ok(r)) => json!(r),
        Ok(Err(broken)) => json!({"broken": broken}),
        Err(e) => json!({"error": e.to_string()}),
    };
    files.push((
        "store.json".into(),
        pretty(&json!({
            "schema": schema,
            "jobs_by_state": jobs,
            "booklets_by_state": booklets,
            "check": check,
            "event_chain": chain,
        })),
    ));
    let events = match store.recent_events(EVENTS) {
        Ok(events) => {
            let mut text = String::new();
            for e in events {
                let mut v = json!(scrub(e));
                v["at_local"] = json!(local(v["at"].as_str().unwrap_or("")));
                text.push_str(&v.to_string());
                text.push('\n');
            }
            text
        }
        Err(e) => format!("{}\n", json!({"error": e.to_string()})),
    };
    files.push(("events.jsonl".into(), events.into_bytes()));
    let attempts = match store.attempts(None, ATTEMPTS) {
        Ok(a) => a
            .iter()
            .map(|a| {
                let mut v = json!(a);
                v["started_at_local"] = json!(local(&a.started_at));
                v.to_string() + "\n"
            })
            .collect::<String>(),
        Err(e) => format!("{}\n", json!({"error": e.to_string()})),
    };
    files.push(("attempts.jsonl".into(), attempts.into_bytes()));
    let history = match store.printer_history(PRINTER_HISTORY) {
        Ok(h) => h
            .into_iter()
            .map(|(at, state, reasons, link)| {
                json!({"at": at, "at_local": local(&at), "state": state, "reasons": reasons, "link": link}).to_string()
                    + "\n"
            })
            .collect::<String>(),
        Err(e) => format!("{}\n", json!({"error": e.to_string()})),
    };
    files.push(("printer-history.jsonl".into(), history.into_bytes()));
    files
}

/// An event as it may leave the station: a person's typed reason is dropped; the station's own
/// reasons keep their words with document numbers masked.
fn scrub(mut e: Event) -> Event {
    e.reason = e.reason.map(|r| {
        if STATION_ACTORS.contains(&e.actor.as_str()) {
            mask_numbers(&r)
        } else {
            "(typed by a person; not included)".to_owned()
        }
    });
    e
}

/// Replaces every word shaped like a passport or booklet number (one or two capital letters
/// and 6 to 8 digits) with `<number>`.
fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let letters = word.chars().take_while(|c| c.is_ascii_uppercase()).count();
        let digits = word.len() - letters;
        if (1..=2).contains(&letters)
            && (6..=8).contains(&digits)
            && word[letters..].chars().all(|c| c.is_ascii_digit())
        {
            out.push_str("<number>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Replaces the value of every key that names a secret (token, secret, password, key) at any
/// depth with `"(removed)"`.
fn redact(table: &mut toml::Table) {
    for (k, v) in table.iter_mut() {
        let key = k.to_ascii_lowercase();
        let secret = ["token", "secret", "password", "passphrase", "private"]
            .iter()
            .any(|w| key.contains(w))
            || key == "key"
            || key.ends_with("_key")
            || key.ends_with("_keys");
        if secret {
            *v = toml::Value::String("(removed)".into());
        } else {
            redact_value(v);
        }
    }
}

fn redact_value(v: &mut toml::Value) {
    match v {
        toml::Value::Table(t) => redact(t),
        toml::Value::Array(a) => a.iter_mut().for_each(redact_value),
        toml::Value::String(s) => *s = super::doctor::without_url_credentials(s),
        _ => {}
    }
}

/// The printer's identity and status, asked directly (no daemon holds it).
pub fn probe_printer(settings: &Settings) -> Value {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return json!({"error": format!("cannot start the runtime: {e}")}),
    };
    let device = settings.daemon.device.clone();
    runtime.block_on(async move {
        use crate::printer::DriverSettings;
        match crate::printer::open(&device, &DriverSettings::DEFAULT).await {
            Err(e) => json!({"device": device.name(), "error": e.to_string()}),
            Ok(mut p) => {
                let identity = p.identity().await;
                let status = p.status().await;
                json!({
                    "device": device.name(),
                    "identity": identity.as_ref().ok(),
                    "identity_error": identity.as_ref().err().map(|e| e.to_string()),
                    "printer": status.as_ref().ok().map(crate::station::PrinterView::from_status),
                    "status_error": status.as_ref().err().map(|e| e.to_string()),
                })
            }
        }
    })
}

/// A gzipped tar of `files` under the folder `root`.
pub fn tarball(root: &str, files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_cksum();
        tar.append_data(&mut header, format!("{root}/{name}"), bytes.as_slice())?;
    }
    tar.into_inner()?.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_and_other_words_kept() {
        assert_eq!(
            mask_numbers("booklet-not-in-stock: X7400001 is not in stock (batch AB1234567)"),
            "booklet-not-in-stock: <number> is not in stock (batch <number>)"
        );
        assert_eq!(
            mask_numbers("link lost while sending after 4096 bytes; SMD-2026-000123"),
            "link lost while sending after 4096 bytes; SMD-2026-000123"
        );
    }

    #[test]
    fn secrets_are_removed_at_any_depth() {
        let mut t: toml::Table = r#"
            [central]
            token = "abc"
            public_keys = ["k1", "k2"]
            url = "https://central.example"
            nats_url = "tls://station7:hunter2@nats.central.example:4222"
            [[central.peers]]
            api_key = "zzz"
            name = "peer"
            [daemon]
            max_store_mb = 10
        "#
        .parse()
        .expect("toml");
        redact(&mut t);
        let text = toml::to_string(&t).expect("toml");
        for secret in ["abc", "k1", "zzz", "hunter2", "station7"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        for kept in [
            "https://central.example",
            "tls://(removed)@nats.central.example:4222",
            "peer",
            "max_store_mb = 10",
        ] {
            assert!(text.contains(kept), "{kept} not in {text}");
        }
    }

    #[test]
    fn a_typed_reason_is_dropped_and_the_stations_own_is_masked() {
        let e = |actor: &str, reason: &str| Event {
            seq: 1,
            job_id: Some("J1".into()),
            at: "2026-11-30T00:00:00Z".into(),
            actor: actor.into(),
            action: "hold".into(),
            from_state: None,
            to_state: None,
            reason: Some(reason.into()),
            attempt_id: None,
            signature: None,
        };
        assert_eq!(
            scrub(e("operator-1", "Ibu Santoso asked"))
                .reason
                .as_deref(),
            Some("(typed by a person; not included)")
        );
        assert_eq!(
            scrub(e("station", "booklet-not-in-stock: X1234567"))
                .reason
                .as_deref(),
            Some("booklet-not-in-stock: <number>")
        );
    }
}
