//! The store's audit record: the hash chain names an edited, inserted or removed event; personal
//! data sealed at rest and purged after retention while the audit record stays.

use super::*;

#[test]
fn the_hash_chain_names_an_edited_an_inserted_and_a_removed_event() {
    use pstation::store::audit;
    let (dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    for i in 1..=3 {
        created(
            store
                .submit(&format!("J{i}"), b"{}", &format!("X100000{i}"), "central")
                .expect("submit"),
        );
    }
    store
        .act("J2", Action::Hold, "op", Some("asked"))
        .expect("hold");
    drop(store);
    let db = dir.path().join("station.db");
    let report = audit::verify(&db).expect("read").expect("intact");
    assert_eq!((report.unchained, report.chained), (0, 8));
    assert_eq!(report.head.len(), 64);
    let cli = |db: &std::path::Path| {
        crate::util::run(
            crate::util::pstation()
                .args(["audit", "verify", "--file"])
                .arg(db),
        )
    };
    let (code, out, err) = cli(&db);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("8 events chained and verified"), "{out}");

    // Each tampering on a copy, with the append-only triggers dropped first.
    let tamper = |name: &str, sql: &str| {
        let copy = dir.path().join(format!("{name}.db"));
        std::fs::copy(&db, &copy).expect("copy");
        let conn = rusqlite::Connection::open(&copy).expect("open copy");
        conn.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
            .expect("drop triggers");
        conn.execute_batch(sql).expect("tamper");
        drop(conn);
        let broken = audit::verify(&copy)
            .expect("read")
            .expect_err("must be found");
        let (code, out, _) = cli(&copy);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("PROBLEM"), "{out}");
        broken
    };
    let edited = tamper(
        "edited",
        "UPDATE events SET actor = 'mallory' WHERE seq = 3",
    );
    assert!(edited.contains("event 3 does not match"), "{edited}");
    let reason = tamper(
        "reason",
        "UPDATE events SET reason = 'nothing' WHERE seq = 8",
    );
    assert!(reason.contains("event 8"), "{reason}");
    let removed = tamper("removed", "DELETE FROM events WHERE seq = 4");
    assert!(removed.contains("events 4 to 4 are missing"), "{removed}");
    let inserted = tamper(
        "inserted",
        "INSERT INTO events (seq, job_id, at, actor, action) VALUES (9, 'J1', '2026-11-30T00:00:00Z', 'x', 'verify')",
    );
    assert!(inserted.contains("event 9 has no hash"), "{inserted}");
    let forged = tamper(
        "forged",
        "INSERT INTO events (seq, job_id, at, actor, action, hash) VALUES (9, 'J1', '2026-11-30T00:00:00Z', 'x', 'verify', 'aaaa')",
    );
    assert!(forged.contains("event 9 does not match"), "{forged}");
    // The store check (doctor, backups) reports it too.
    let copy = dir.path().join("edited.db");
    let r = pstation::store::backup::check(&copy).expect("check");
    assert!(
        r.problems.iter().any(|p| p.starts_with("event log chain:")),
        "{:?}",
        r.problems
    );
}

/// A synthetic job's bytes whose personal fields are easy to look for.
fn personal_job(id: &str, number: &str) -> Vec<u8> {
    std::fs::read_to_string(crate::util::fixture("jobs/valid/santoso-budi.json"))
        .expect("fixture")
        .replace("SMD-2026-000123", id)
        .replace("X1234567", number)
        .into_bytes()
}

#[test]
fn personal_data_is_sealed_at_rest_and_opens_only_with_the_stores_own_key() {
    let (dir, mut store) = open();
    let db = dir.path().join("station.db");
    store
        .receive_batch("X1234560", "X1234569", "op")
        .expect("batch");
    let job = personal_job("SEAL-1", "X1234567");
    created(
        store
            .submit("SEAL-1", &job, "X1234567", "central")
            .expect("submit"),
    );
    assert_eq!(store.payload("SEAL-1").expect("opens"), job);
    drop(store);
    // Neither the store nor its write-ahead log holds the name, the date of birth or the
    // portrait's bytes in the clear (the passport number is the booklet's: kept for the audit).
    let text = String::from_utf8(job.clone()).expect("utf-8");
    let portrait_b64 = &text[text.find("\"data\": \"").expect("portrait") + 9..][..40];
    for f in [db.clone(), db.with_extension("db-wal")] {
        let bytes = std::fs::read(&f).unwrap_or_default();
        for needle in ["Santoso", "SAMARINDA", "1990-01-01", portrait_b64] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in {f:?}"
            );
        }
    }
    // Another key is refused by name before anything is read or written.
    let other = pstation::store::StoreKey::from_bytes([8; 32]);
    let before = std::fs::read(&db).expect("store");
    let err = Store::open(&db, &other).map(|_| ()).expect_err("wrong key");
    assert_eq!(err.code(), "store-key-wrong");
    assert!(err.to_string().contains(other.id()), "{err}");
    assert!(err.to_string().contains(key().id()), "{err}");
    assert_eq!(
        std::fs::read(&db).expect("store"),
        before,
        "nothing changed"
    );
    // Its own key opens it; a payload moved to another job's row does not open.
    let mut store = Store::open(&db, &key()).expect("own key");
    created(
        store
            .submit(
                "SEAL-2",
                &personal_job("SEAL-2", "X1234568"),
                "X1234568",
                "central",
            )
            .expect("submit"),
    );
    drop(store);
    let conn = rusqlite::Connection::open(&db).expect("sqlite");
    conn.execute(
        "UPDATE jobs SET payload = (SELECT payload FROM jobs WHERE job_id = 'SEAL-1') WHERE job_id = 'SEAL-2'",
        [],
    )
    .expect("swap");
    drop(conn);
    let store = Store::open(&db, &key()).expect("own key");
    assert_eq!(store.payload("SEAL-1").expect("opens"), job);
    assert_eq!(
        store.payload("SEAL-2").expect_err("moved").code(),
        "store-unsealable"
    );
    // A read-only opening (support bundle) reads jobs but no personal data.
    let ro = Store::open_read_only(&db).expect("read-only");
    assert_eq!(ro.job("SEAL-1").expect("job").state, JobState::Queued);
    assert_eq!(
        ro.payload("SEAL-1").expect_err("no key").code(),
        "store-key-needed"
    );
}

#[test]
fn an_ended_job_loses_its_personal_data_after_retention_and_keeps_its_audit_record() {
    let (dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    for (id, number) in [
        ("DONE", "X1000001"),
        ("GONE", "X1000002"),
        ("WAIT", "X1000003"),
    ] {
        created(
            store
                .submit(id, &personal_job(id, number), number, "central")
                .expect("submit"),
        );
    }
    store.begin_attempt("DONE").expect("begin");
    store
        .end_attempt("DONE", "DONE-a1", &AttemptEnd::Printed)
        .expect("end");
    store
        .act("DONE", Action::Verify, "op", None)
        .expect("verify");
    store
        .act("GONE", Action::Cancel, "op", Some("applicant withdrew"))
        .expect("cancel");
    let done = store.job("DONE").expect("job");
    // Not yet: both ended after the cutoff.
    assert!(
        store
            .purge_ended_before("2000-01-01T00:00:00Z")
            .expect("purge")
            .is_empty()
    );
    assert_eq!(
        store.oldest_unpurged_end().expect("oldest"),
        Some(done.updated_at.clone())
    );
    let events_before = store.events(None, 0, 1000).expect("events").len();
    let mut purged = store
        .purge_ended_before("9999-01-01T00:00:00Z")
        .expect("purge");
    purged.sort();
    assert_eq!(purged, ["DONE", "GONE"], "the queued job keeps its data");
    assert_eq!(store.oldest_unpurged_end().expect("oldest"), None);
    // Purged: no personal data, the record stays (id, booklet, states, times, who).
    for id in ["DONE", "GONE"] {
        assert_eq!(store.payload(id).expect_err("purged").code(), "purged");
        let job = store.job(id).expect("job");
        assert!(job.purged_at.is_some());
        assert!(job.state.is_terminal());
        assert_eq!(
            actions(&store, id).last().map(String::as_str),
            Some("purge")
        );
    }
    assert_eq!(store.job("DONE").expect("job").booklet, "X1000001");
    assert!(store.payload("WAIT").is_ok());
    let events = store.events(None, 0, 1000).expect("events");
    assert_eq!(events.len(), events_before + 2);
    let purge = events.last().expect("event");
    assert_eq!(
        (
            purge.actor.as_str(),
            purge.from_state.as_deref(),
            purge.to_state.as_deref()
        ),
        ("station", Some("canceled"), Some("canceled"))
    );
    // A purge is no news for the central office (the state did not change).
    let outbox = store.outbox_pending("webhook", 1000).expect("outbox");
    assert!(outbox.iter().all(|e| e.state != "purge"));
    assert_eq!(
        outbox
            .iter()
            .filter(|e| e.job_id == "GONE")
            .map(|e| e.state.as_str())
            .collect::<Vec<_>>(),
        ["received", "queued", "canceled"]
    );
    // Twice is once.
    assert!(
        store
            .purge_ended_before("9999-01-01T00:00:00Z")
            .expect("purge")
            .is_empty()
    );
    // The same job sent again is still known: never queued (or printed) again.
    let again = store
        .submit(
            "DONE",
            &personal_job("DONE", "X1000001"),
            "X1000001",
            "central",
        )
        .expect("resubmit");
    assert!(matches!(again, Submitted::Existing(ref j) if j.state == JobState::Completed));
    let err = store
        .submit("DONE", b"{other}", "X1000001", "central")
        .expect_err("conflict");
    assert_eq!(err.code(), "conflict");
    let rec = store.reconcile().expect("reconcile");
    assert!(rec.balanced(), "{rec:?}");
    drop(store);
    let chain = pstation::store::audit::verify(&dir.path().join("station.db"))
        .expect("read")
        .expect("intact");
    assert_eq!(chain.chained as usize, events_before + 2);
}
