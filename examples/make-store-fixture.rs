//! Writes a station store with jobs in every lifecycle state, booklets in every state and some
//! printer history — the fixture the schema-migration tests open with today's code
//! (`fixtures/store/schema-<N>.db`). Run it with the code of the schema being frozen:
//!
//!     cargo run --example make-store-fixture -- fixtures/store/schema-1.db
//!
//! The jobs are the synthetic fixture jobs (`fixtures/jobs/valid`) with new ids and numbers.
//! From schema 7 their payloads are sealed with the fixed test key `StoreKey::from_bytes([7; 32])`
//! that the migration tests open the fixtures with (never a station's key).

use std::path::{Path, PathBuf};

use pstation::store::{Action, AttemptEnd, Store, StoreError, StoreKey};

fn job(file: &str, id: &str, number: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/jobs/valid")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
    v["job_id"] = id.into();
    v["document"]["number"] = number.into();
    serde_json::to_vec_pretty(&v).expect("JSON")
}

fn main() -> Result<(), StoreError> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .expect("usage: make-store-fixture OUT.db");
    assert!(!out.exists(), "{out:?} exists; remove it first");
    let mut s = Store::open(&out, &StoreKey::from_bytes([7; 32]))?;
    s.receive_batch("X1000000", "X1000019", "gudang")?;
    let files = [
        "santoso-budi.json",
        "partini.json",
        "lestari-putri-ayu-minor.json",
        "prawirodirjo-long-name.json",
    ];
    let submit = |s: &mut Store, n: usize, id: &str, number: &str| {
        s.submit(
            id,
            &job(files[n % files.len()], id, number),
            number,
            "central",
        )
        .map(|_| ())
    };
    // completed: printed and verified.
    submit(&mut s, 0, "MIG-COMPLETED", "X1000001")?;
    s.begin_attempt("MIG-COMPLETED")?;
    s.end_attempt("MIG-COMPLETED", "MIG-COMPLETED-a1", &AttemptEnd::Printed)?;
    s.act("MIG-COMPLETED", Action::Verify, "operator-1", None)?;
    // printed, not yet verified.
    submit(&mut s, 1, "MIG-PRINTED", "X1000002")?;
    s.begin_attempt("MIG-PRINTED")?;
    s.end_attempt("MIG-PRINTED", "MIG-PRINTED-a1", &AttemptEnd::Printed)?;
    // queued after a first attempt that sent nothing.
    submit(&mut s, 2, "MIG-REQUEUED", "X1000003")?;
    s.begin_attempt("MIG-REQUEUED")?;
    s.end_attempt(
        "MIG-REQUEUED",
        "MIG-REQUEUED-a1",
        &AttemptEnd::NotSent("the printer is not ready: cover-open-error".into()),
    )?;
    // needs verification: the link was lost mid-job.
    submit(&mut s, 3, "MIG-UNKNOWN", "X1000004")?;
    s.begin_attempt("MIG-UNKNOWN")?;
    s.end_attempt(
        "MIG-UNKNOWN",
        "MIG-UNKNOWN-a1",
        &AttemptEnd::Unknown("link lost while sending after 4096 bytes".into()),
    )?;
    // spoiled, then reprinted on a new booklet with a supervisor: queued again.
    submit(&mut s, 0, "MIG-REPRINT", "X1000005")?;
    s.begin_attempt("MIG-REPRINT")?;
    s.end_attempt("MIG-REPRINT", "MIG-REPRINT-a1", &AttemptEnd::Printed)?;
    s.act(
        "MIG-REPRINT",
        Action::Spoil,
        "operator-1",
        Some("smudged photo"),
    )?;
    s.reprint(
        "MIG-REPRINT",
        "X1000006",
        "operator-1",
        "supervisor-1",
        None,
    )?;
    // spoiled and left so.
    submit(&mut s, 1, "MIG-SPOILED", "X1000007")?;
    s.begin_attempt("MIG-SPOILED")?;
    s.end_attempt("MIG-SPOILED", "MIG-SPOILED-a1", &AttemptEnd::Printed)?;
    s.act("MIG-SPOILED", Action::Spoil, "operator-1", Some("jammed"))?;
    // cancelled by the operator; held by the operator; held by the station (no booklet).
    submit(&mut s, 2, "MIG-CANCELED", "X1000008")?;
    s.act(
        "MIG-CANCELED",
        Action::Cancel,
        "operator-1",
        Some("applicant asked"),
    )?;
    submit(&mut s, 3, "MIG-HELD", "X1000009")?;
    s.act(
        "MIG-HELD",
        Action::Hold,
        "operator-1",
        Some("customer asked"),
    )?;
    submit(&mut s, 0, "MIG-NO-BOOKLET", "X3000001")?;
    // failed: cannot be rendered.
    submit(&mut s, 1, "MIG-FAILED", "X1000010")?;
    s.fail_queued(
        "MIG-FAILED",
        "render-failed: the portrait cannot be decoded",
    )?;
    // queued, confirmed booklet; queued, not confirmed.
    submit(&mut s, 2, "MIG-CONFIRMED", "X1000011")?;
    s.confirm_booklet("MIG-CONFIRMED", "X1000011", "operator-1")?;
    submit(&mut s, 3, "MIG-QUEUED", "X1000012")?;
    // printing when the station stopped (a kill): the next start must recover it.
    submit(&mut s, 0, "MIG-PRINTING", "X1000013")?;
    s.begin_attempt("MIG-PRINTING")?;
    // Printer history.
    s.record_printer_status("stopped", &["connecting-to-device-report"], "lost")?;
    s.record_printer_status::<&str>("idle", &[], "up")?;
    s.record_printer_status("stopped", &["cover-open-error"], "up")?;
    s.record_printer_status::<&str>("idle", &[], "up")?;
    drop(s);
    // One self-contained file: fold the WAL in.
    let conn = rusqlite::Connection::open(&out).expect("reopen");
    conn.pragma_update(None, "journal_mode", "DELETE")
        .expect("journal_mode");
    println!("wrote {}", out.display());
    Ok(())
}
