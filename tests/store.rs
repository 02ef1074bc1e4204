//! The durable store on a real SQLite file: idempotent submission, the lifecycle as the store
//! enforces it, booklet accounting and reconciliation, start-up recovery, the append-only log.

use pstation::store::Action;
use pstation::store::{AttemptEnd, BookletState, JobState, Store, StoreError, Submitted};

/// The store key of these tests (a real key file is the daemon's concern).
fn key() -> pstation::store::StoreKey {
    pstation::store::StoreKey::from_bytes([7; 32])
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("station.db"), &key()).expect("open");
    (dir, store)
}

fn created(s: Submitted) -> pstation::store::JobRow {
    match s {
        Submitted::Created(j) => j,
        Submitted::Existing(j) => panic!("expected a new job, got the existing {}", j.job_id),
    }
}

fn actions(store: &Store, job: &str) -> Vec<String> {
    store
        .events(Some(job), 0, 1000)
        .expect("events")
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[test]
fn the_store_is_wal_with_full_sync_and_reopens_with_its_data() {
    let (dir, mut store) = open();
    assert_eq!(store.durability().expect("pragmas"), ("wal".to_owned(), 2));
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    created(
        store
            .submit("J1", b"{one}", "X1000001", "central")
            .expect("submit"),
    );
    drop(store);
    let store = Store::open(&dir.path().join("station.db"), &key()).expect("reopen");
    assert_eq!(store.job("J1").expect("job").state, JobState::Queued);
    assert_eq!(store.payload("J1").expect("payload"), b"{one}");
}

#[test]
fn the_same_job_twice_is_a_no_op_and_the_same_id_with_other_content_changes_nothing() {
    let (_dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    let first = created(
        store
            .submit("J1", b"{one}", "X1000001", "central")
            .expect("submit"),
    );
    match store
        .submit("J1", b"{one}", "X1000001", "central")
        .expect("again")
    {
        Submitted::Existing(j) => assert_eq!(j, first),
        Submitted::Created(_) => panic!("a second job was created"),
    }
    let err = store
        .submit("J1", b"{two}", "X1000001", "central")
        .expect_err("conflict");
    assert_eq!(err.code(), "conflict");
    assert_eq!(store.payload("J1").expect("payload"), b"{one}");
    assert_eq!(store.jobs(None).expect("jobs").len(), 1);
    assert_eq!(actions(&store, "J1"), ["submit", "queue"]);
}

#[test]
fn a_job_whose_booklet_is_not_in_stock_is_held_until_the_batch_arrives() {
    let (_dir, mut store) = open();
    let job = created(
        store
            .submit("J1", b"{}", "X2000005", "central")
            .expect("submit"),
    );
    assert_eq!(job.state, JobState::Held);
    assert!(
        job.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("booklet-not-in-stock"))
    );
    assert!(store.next_printable(false).expect("next").is_none());
    let err = store
        .act("J1", Action::Release, "op", None)
        .expect_err("still missing");
    assert_eq!(err.code(), "booklet-not-in-stock");
    store
        .receive_batch("X2000000", "X2000009", "op")
        .expect("batch");
    assert_eq!(store.job("J1").expect("job").state, JobState::Queued);
    // An operator hold is not lifted by a batch.
    store
        .act("J1", Action::Hold, "op", Some("customer asked"))
        .expect("hold");
    store
        .receive_batch("X2000010", "X2000019", "op")
        .expect("batch");
    assert_eq!(store.job("J1").expect("job").state, JobState::Held);
}

#[test]
fn a_confirmed_job_prints_completes_and_the_booklets_reconcile() {
    let (_dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000004", "op")
        .expect("batch");
    created(
        store
            .submit("J1", b"{}", "X1000002", "central")
            .expect("submit"),
    );
    // The site requires the loaded booklet's number to be confirmed.
    assert!(store.next_printable(true).expect("next").is_none());
    let err = store
        .confirm_booklet("J1", "X1000003", "op")
        .expect_err("mismatch");
    assert_eq!(err.code(), "booklet-mismatch");
    store
        .confirm_booklet("J1", "X1000002", "op")
        .expect("confirm");
    let next = store.next_printable(true).expect("next").expect("a job");
    assert_eq!(next.job_id, "J1");
    let job = store.begin_attempt("J1").expect("begin");
    assert_eq!(job.state, JobState::Printing);
    assert_eq!(job.attempt_id.as_deref(), Some("J1-a1"));
    assert_eq!(
        store
            .booklets(Some(BookletState::Loaded))
            .expect("booklets")
            .len(),
        1
    );
    // An end for another attempt is refused.
    let stale = store
        .end_attempt("J1", "J1-a0", &AttemptEnd::Printed)
        .expect_err("stale");
    assert_eq!(stale.code(), "stale-attempt");
    store
        .end_attempt("J1", "J1-a1", &AttemptEnd::Printed)
        .expect("end");
    let done = store.act("J1", Action::Verify, "op", None).expect("verify");
    assert_eq!(done.state, JobState::Completed);
    let rec = store.reconcile().expect("reconcile");
    assert_eq!(
        (rec.received, rec.issued, rec.spoiled, rec.in_stock),
        (5, 1, 0, 4)
    );
    assert!(rec.balanced(), "{rec:?}");
    assert_eq!(
        actions(&store, "J1"),
        [
            "submit",
            "queue",
            "confirm-booklet-refused",
            "confirm-booklet",
            "start-printing",
            "print-confirmed",
            "verify"
        ]
    );
}

#[test]
fn an_unknown_outcome_waits_for_a_person_and_spoil_then_reprint_needs_a_second_one() {
    let (_dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000004", "op")
        .expect("batch");
    created(
        store
            .submit("J1", b"{}", "X1000000", "central")
            .expect("submit"),
    );
    store.begin_attempt("J1").expect("begin");
    let job = store
        .end_attempt("J1", "J1-a1", &AttemptEnd::Unknown("link lost".into()))
        .expect("end");
    assert_eq!(job.state, JobState::NeedsVerification);
    // Never printable again by itself, and reconciliation names the booklet in doubt.
    assert!(store.next_printable(false).expect("next").is_none());
    let rec = store.reconcile().expect("reconcile");
    assert!(!rec.balanced());
    assert!(
        rec.differences.iter().any(|d| d.contains("X1000000")),
        "{rec:?}"
    );
    let err = store
        .act("J1", Action::Spoil, "op", None)
        .expect_err("reason needed");
    assert_eq!(err.code(), "reason-required");
    store
        .act("J1", Action::Spoil, "op", Some("half printed"))
        .expect("spoil");
    let err = store
        .reprint("J1", "X1000001", "op", "op", None)
        .expect_err("same person");
    assert_eq!(err.code(), "second-person-required");
    let err = store
        .reprint("J1", "X1000000", "op", "sup", None)
        .expect_err("spoiled booklet");
    assert_eq!(err.code(), "booklet-not-in-stock");
    let job = store
        .reprint("J1", "X1000001", "op", "sup", Some("ink smear"))
        .expect("reprint");
    assert_eq!(
        (job.state, job.booklet.as_str(), job.booklet_confirmed),
        (JobState::Queued, "X1000001", false)
    );
    store.begin_attempt("J1").expect("begin again");
    store
        .end_attempt("J1", "J1-a2", &AttemptEnd::Printed)
        .expect("end");
    store.act("J1", Action::Verify, "op", None).expect("verify");
    let rec = store.reconcile().expect("reconcile");
    assert_eq!(
        (rec.received, rec.issued, rec.spoiled, rec.in_stock),
        (5, 1, 1, 3)
    );
    assert!(rec.balanced(), "{rec:?}");
}

#[test]
fn nothing_sent_returns_the_booklet_and_requeues_and_a_cancel_while_printing_is_a_request() {
    let (_dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000001", "op")
        .expect("batch");
    created(
        store
            .submit("J1", b"{}", "X1000000", "central")
            .expect("submit"),
    );
    store.begin_attempt("J1").expect("begin");
    let job = store
        .act("J1", Action::Cancel, "op", None)
        .expect("cancel request");
    assert_eq!(
        (job.state, job.cancel_requested),
        (JobState::Printing, true)
    );
    // The operator asked to cancel and nothing was sent: cancelled, not requeued.
    let job = store
        .end_attempt(
            "J1",
            "J1-a1",
            &AttemptEnd::NotSent("printer not ready".into()),
        )
        .expect("end");
    assert_eq!(job.state, JobState::Canceled);
    // Without a cancel request, nothing sent means back to the queue, booklet back in stock.
    created(
        store
            .submit("J2", b"{2}", "X1000001", "central")
            .expect("submit"),
    );
    store.begin_attempt("J2").expect("begin");
    let job = store
        .end_attempt(
            "J2",
            "J2-a1",
            &AttemptEnd::NotSent("printer not ready".into()),
        )
        .expect("end");
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(
        store
            .booklets(Some(BookletState::InStock))
            .expect("stock")
            .len(),
        2
    );
    store.begin_attempt("J2").expect("begin");
    store
        .end_attempt("J2", "J2-a2", &AttemptEnd::Canceled)
        .expect("end");
    assert_eq!(store.job("J2").expect("job").state, JobState::Canceled);
    assert!(store.reconcile().expect("reconcile").balanced());
}

#[test]
fn a_job_left_printing_by_a_crash_needs_verification_after_restart() {
    let (dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000001", "op")
        .expect("batch");
    created(
        store
            .submit("J1", b"{}", "X1000000", "central")
            .expect("submit"),
    );
    created(
        store
            .submit("J2", b"{}", "X1000001", "central")
            .expect("submit"),
    );
    store.begin_attempt("J1").expect("begin");
    drop(store); // the process dies here
    let mut store = Store::open(&dir.path().join("station.db"), &key()).expect("reopen");
    assert_eq!(store.recover().expect("recover"), ["J1"]);
    assert_eq!(
        store.job("J1").expect("job").state,
        JobState::NeedsVerification
    );
    assert_eq!(store.job("J2").expect("job").state, JobState::Queued);
    assert!(store.recover().expect("again").is_empty());
}

#[test]
fn booklet_batches_are_checked_and_all_or_nothing() {
    let (_dir, mut store) = open();
    for (a, b, code) in [
        ("X1", "Y2", "invalid-range"),
        ("X10", "X9", "invalid-range"),
        ("X0000001", "X0000000", "invalid-range"),
        ("x1000000", "x1000001", "invalid-range"),
        ("X0000000", "X0099999", "batch-too-large"),
    ] {
        let err = store.receive_batch(a, b, "op").expect_err(a);
        assert_eq!(err.code(), code, "{a}..{b}");
    }
    store
        .receive_batch("X1000005", "X1000009", "op")
        .expect("batch");
    let err = store
        .receive_batch("X1000000", "X1000005", "op")
        .expect_err("overlap");
    assert_eq!(err.code(), "booklet-already-received");
    assert_eq!(store.batches().expect("batches").len(), 1);
    assert_eq!(store.booklets(None).expect("booklets").len(), 5);
    assert!(store.reconcile().expect("reconcile").balanced());
}

#[test]
fn the_event_log_refuses_edits_and_deletions() {
    let (dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000000", "op")
        .expect("batch");
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("station.db")).expect("raw open");
    assert!(
        conn.execute("UPDATE events SET actor = 'someone else'", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM events", []).is_err());
}

#[test]
fn invalid_transitions_are_refused_with_a_stable_code() {
    let (_dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000000", "op")
        .expect("batch");
    created(
        store
            .submit("J1", b"{}", "X1000000", "central")
            .expect("submit"),
    );
    let err = store
        .act("J1", Action::Verify, "op", None)
        .expect_err("not printed");
    assert_eq!(err.code(), "invalid-transition");
    assert!(matches!(err, StoreError::Transition(_)));
    assert_eq!(
        store
            .act("nope", Action::Hold, "op", None)
            .expect_err("missing")
            .code(),
        "not-found"
    );
}

#[test]
fn a_job_in_doubt_whose_booklet_is_blank_is_released_by_a_person_with_a_reason() {
    let (_dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000000", "op")
        .expect("batch");
    created(
        store
            .submit("J1", b"{}", "X1000000", "central")
            .expect("submit"),
    );
    store.begin_attempt("J1").expect("begin");
    store
        .end_attempt("J1", "J1-a1", &AttemptEnd::Unknown("link lost".into()))
        .expect("end");
    let err = store
        .act("J1", Action::Release, "op", None)
        .expect_err("no reason");
    assert_eq!(err.code(), "reason-required");
    let job = store
        .act("J1", Action::Release, "op", Some("the booklet is blank"))
        .expect("release");
    assert_eq!(job.state, JobState::Queued);
    let stock = store.booklets(Some(BookletState::InStock)).expect("stock");
    assert_eq!((stock.len(), stock[0].job_id.as_deref()), (1, None));
    assert!(store.reconcile().expect("reconcile").balanced());
}

#[test]
fn a_full_store_refuses_new_jobs_and_keeps_room_for_the_accepted_ones() {
    let (_dir, mut store) = open();
    store.set_size_limit(512 * 1024).expect("limit");
    store
        .receive_batch("X1000000", "X1000999", "op")
        .expect("batch");
    let payload = vec![b'x'; 16 * 1024];
    let mut accepted = Vec::new();
    let refusal = loop {
        let i = accepted.len();
        assert!(i < 1000, "the limit never applied");
        let id = format!("J{i:04}");
        match store.submit(&id, &payload, &format!("X{:07}", 1_000_000 + i), "central") {
            Ok(s) => accepted.push(created(s).job_id),
            Err(e) => break e,
        }
    };
    assert_eq!(refusal.code(), "store-full");
    assert!(accepted.len() > 5, "{}", accepted.len());
    // Everything accepted is there, and can still go all the way through the lifecycle.
    assert_eq!(store.jobs(None).expect("jobs").len(), accepted.len());
    for id in accepted.iter().take(3) {
        let job = store.begin_attempt(id).expect("begin");
        let attempt = job.attempt_id.expect("attempt");
        store
            .end_attempt(id, &attempt, &AttemptEnd::Printed)
            .expect("end");
        store.act(id, Action::Verify, "op", None).expect("verify");
    }
    assert!(store.reconcile().expect("reconcile").balanced());
}

#[test]
fn the_store_check_finds_a_removed_event_and_a_state_the_log_does_not_explain() {
    let (dir, mut store) = open();
    let db = dir.path().join("station.db");
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    for (id, number) in [("J1", "X1000001"), ("J2", "X1000002")] {
        created(store.submit(id, b"{}", number, "central").expect("submit"));
    }
    store
        .act("J2", Action::Hold, "op", Some("wait"))
        .expect("hold");
    drop(store);
    let sound = pstation::store::backup::check(&db).expect("check");
    assert!(sound.problems.is_empty(), "{sound:?}");
    assert_eq!((sound.jobs, sound.booklets), (2, 10));

    // Someone with the file and sqlite3 removes the guard and edits history.
    let conn = rusqlite::Connection::open(&db).expect("raw open");
    conn.execute_batch(
        "DROP TRIGGER events_no_delete;
         DELETE FROM events WHERE job_id = 'J2' AND action = 'hold';
         UPDATE jobs SET state = 'completed' WHERE job_id = 'J1';",
    )
    .expect("tamper");
    drop(conn);
    let report = pstation::store::backup::check(&db).expect("check");
    assert_eq!(report.problems.len(), 2, "{report:?}");
    assert!(report.problems[0].contains("J1"), "{report:?}");
    assert!(report.problems[1].contains("J2"), "{report:?}");
}

/// (job id, state, attempt id, payload) of one job.
type JobSnap = (String, String, Option<String>, Vec<u8>);

/// Every job and every event as text, read with plain SQL so the comparison does not depend on
/// the code under test.
fn snapshot(path: &std::path::Path) -> (Vec<JobSnap>, Vec<String>) {
    let conn = rusqlite::Connection::open(path).expect("open for a snapshot");
    let mut jobs = conn
        .prepare("SELECT job_id, state, attempt_id, payload FROM jobs ORDER BY job_id")
        .expect("jobs");
    let jobs = jobs
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    let mut events = conn
        .prepare(
            "SELECT seq || '|' || ifnull(job_id, '') || '|' || at || '|' || actor || '|' || action
             || '|' || ifnull(from_state, '') || '|' || ifnull(to_state, '') || '|'
             || ifnull(reason, '') || '|' || ifnull(attempt_id, '') FROM events ORDER BY seq",
        )
        .expect("events");
    let events = events
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    (jobs, events)
}

#[test]
fn the_webhooks_delivered_status_stays_delivered_when_the_outbox_gets_a_cursor_per_destination() {
    // A schema-5 store whose webhook had confirmed the first 20 status changes.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db");
    std::fs::copy(crate::util::fixture("store/schema-5.db"), &db).expect("copy");
    let total: i64 = {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute(
            "UPDATE outbox SET delivered_at = '2026-11-30T00:00:00Z' WHERE seq <= 20",
            [],
        )
        .expect("mark");
        conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
            .expect("count")
    };
    assert!(total > 20, "the fixture has {total} status changes");
    let mut store = Store::open(&db, &key()).expect("open migrates");
    let webhook = store.outbox_pending("webhook", 1000).expect("pending");
    assert_eq!(webhook.first().map(|e| e.event_id), Some(21));
    assert_eq!(
        store.outbox_backlog("webhook").expect("backlog"),
        (total - 20) as u64
    );
    // A destination configured later starts from the first change; each has its own cursor.
    assert_eq!(store.outbox_backlog("nats").expect("backlog"), total as u64);
    store.outbox_delivered("nats", 5).expect("mark");
    store.outbox_delivered("nats", 3).expect("never moves back");
    assert_eq!(
        store.outbox_backlog("nats").expect("backlog"),
        (total - 5) as u64
    );
    assert_eq!(
        store.outbox_backlog("webhook").expect("backlog"),
        (total - 20) as u64
    );
}

#[test]
fn every_earlier_schema_migrates_at_open_keeping_every_job_booklet_and_event() {
    use pstation::store::{SCHEMA_VERSION, Transfer, backup};
    // One frozen store per earlier schema (fixtures/store/schema-N.db, made by the
    // make-store-fixture example with that schema's code).
    for version in 1..SCHEMA_VERSION {
        let fixture = crate::util::fixture(&format!("store/schema-{version}.db"));
        assert!(
            fixture.is_file(),
            "no frozen store for schema {version}: {fixture:?}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("station.db");
        std::fs::copy(&fixture, &db).expect("copy the fixture");
        assert_eq!(Store::schema_of(&db).expect("schema"), version);
        let (jobs_before, events_before) = snapshot(&db);
        assert_eq!(jobs_before.len(), 13);

        let mut store = Store::open(&db, &key()).expect("open migrates");
        assert_eq!(Store::schema_of(&db).expect("schema"), SCHEMA_VERSION);
        // Nothing lost or changed: every job with its state, attempt and bytes (now sealed with
        // the store key, schema 7: they open to exactly what was stored); every event.
        let (jobs_after, events_after) = snapshot(&db);
        let opened: Vec<JobSnap> = jobs_after
            .iter()
            .map(|(id, state, attempt, sealed)| {
                assert!(pstation::store::crypt::is_sealed(sealed), "{id} sealed");
                let plain = store.payload(id).expect("opens");
                (id.clone(), state.clone(), attempt.clone(), plain)
            })
            .collect();
        assert_eq!(opened, jobs_before);
        assert_eq!(store.key_id().expect("key id").as_deref(), Some(key().id()));
        // No plain payload is left anywhere in the store's files (freed pages are overwritten,
        // the write-ahead log emptied).
        for (_, _, _, plain) in &jobs_before {
            let needle = &plain[plain.len() / 2..plain.len() / 2 + 24];
            for f in [db.clone(), db.with_extension("db-wal")] {
                let bytes = std::fs::read(&f).unwrap_or_default();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "plain payload bytes in {f:?}"
                );
            }
        }
        assert_eq!(events_after, events_before);
        // Booklets: 20 received; the two taken by unsettled attempts (the unknown outcome and the
        // job left printing) are listed as differences until a person settles them.
        let r = store.reconcile().expect("reconcile");
        assert_eq!(r.received, 20);
        assert_eq!(r.received, r.issued + r.spoiled + r.in_stock + r.loaded);
        assert_eq!((r.issued, r.spoiled, r.loaded), (2, 2, 2));
        // The store as it was is kept beside it.
        let copies: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("station.db.schema-{version}-")))
            .collect();
        assert_eq!(copies.len(), 1, "{copies:?}");
        let copy = dir.path().join(&copies[0]);
        assert_eq!(Store::schema_of(&copy).expect("schema"), version);
        assert_eq!(
            snapshot(&copy),
            (jobs_before.clone(), events_before.clone())
        );

        // Schema 2's attempts, derived from the event log.
        let attempts = store.attempts(None, 100).expect("attempts");
        let outcome = |id: &str| {
            let a = attempts
                .iter()
                .find(|a| a.attempt_id == id)
                .unwrap_or_else(|| panic!("no attempt {id}"));
            (a.outcome.clone(), a.ended_at.is_some())
        };
        assert_eq!(attempts.len(), 7);
        assert_eq!(outcome("MIG-COMPLETED-a1"), (Some("printed".into()), true));
        assert_eq!(outcome("MIG-REQUEUED-a1"), (Some("not-sent".into()), true));
        assert_eq!(outcome("MIG-UNKNOWN-a1"), (Some("unknown".into()), true));
        assert_eq!(outcome("MIG-PRINTING-a1"), (None, false));
        assert!(attempts.iter().all(|a| a.bytes_sent.is_none()));

        // The store works on: recovery, a new attempt with its transfer figures, and the checks.
        assert_eq!(store.recover().expect("recover"), ["MIG-PRINTING"]);
        assert_eq!(
            outcome_of(&store, "MIG-PRINTING-a1"),
            Some("unknown".into())
        );
        let job = store.begin_attempt("MIG-REQUEUED").expect("second attempt");
        let aid = job.attempt_id.expect("attempt id");
        assert_eq!(aid, "MIG-REQUEUED-a2");
        let transfer = Transfer {
            bytes: 123_456,
            duration: Some(std::time::Duration::from_millis(789)),
        };
        store
            .end_attempt_with("MIG-REQUEUED", &aid, &AttemptEnd::Printed, Some(transfer))
            .expect("end");
        // A store from before the outbox (schema 4) starts with an empty one (that history was
        // never promised to anyone); every change after the migration is in it.
        let outbox = store.outbox_pending("webhook", 1000).expect("outbox");
        if version < 4 {
            assert_eq!(outbox.len(), 3);
        }
        let states: Vec<(&str, &str)> = outbox[outbox.len() - 3..]
            .iter()
            .map(|e| (e.job_id.as_str(), e.state.as_str()))
            .collect();
        assert_eq!(
            states,
            [
                ("MIG-PRINTING", "needs-verification"),
                ("MIG-REQUEUED", "printing"),
                ("MIG-REQUEUED", "printed")
            ]
        );
        let a2 = &store.attempts(Some("MIG-REQUEUED"), 1).expect("attempts")[0];
        assert_eq!((a2.bytes_sent, a2.transfer_ms), (Some(123_456), Some(789)));
        assert_eq!(a2.outcome.as_deref(), Some("printed"));
        drop(store);
        let report = backup::check(&db).expect("check");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.schema, SCHEMA_VERSION);
        // The event log's chain starts with schema 5: older events are before it. Then recover,
        // then the second attempt's start and end.
        let chain = pstation::store::audit::verify(&db)
            .expect("read")
            .expect("intact");
        if version < 5 {
            assert_eq!(chain.unchained as usize, events_before.len());
            assert_eq!(chain.chained, 3, "{chain:?}");
        } else {
            assert_eq!(chain.unchained, 0);
            assert_eq!(chain.chained as usize, events_before.len() + 3, "{chain:?}");
        }

        // Opening a current store again migrates nothing and copies nothing.
        drop(Store::open(&db, &key()).expect("reopen"));
        let n = std::fs::read_dir(dir.path())
            .expect("list")
            .filter(|e| {
                e.as_ref()
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .contains(".schema-")
            })
            .count();
        assert_eq!(n, 1);
    }
}

fn outcome_of(store: &Store, attempt_id: &str) -> Option<String> {
    store
        .attempts(None, 100)
        .expect("attempts")
        .into_iter()
        .find(|a| a.attempt_id == attempt_id)
        .and_then(|a| a.outcome)
}

#[test]
fn a_migration_that_fails_leaves_the_store_as_it_was_and_a_newer_store_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db");
    std::fs::copy(crate::util::fixture("store/schema-1.db"), &db).expect("copy");
    // A table in the way of schema 2's: its step fails half-way.
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch("CREATE TABLE attempts (x INTEGER); INSERT INTO attempts VALUES (7);")
            .expect("obstacle");
    }
    let before = snapshot(&db);
    let Err(err) = Store::open(&db, &key()) else {
        panic!("the migration should fail")
    };
    assert_eq!(err.code(), "store-migration");
    assert!(err.to_string().contains("schema 1"), "{err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert_eq!(Store::schema_of(&db).expect("schema"), 1);
    assert_eq!(snapshot(&db), before);
    let conn = rusqlite::Connection::open(&db).expect("open");
    let x: i64 = conn
        .query_row("SELECT x FROM attempts", [], |r| r.get(0))
        .expect("the obstacle is untouched");
    assert_eq!(x, 7);

    // A store from a newer pstation is refused, untouched.
    conn.pragma_update(None, "user_version", 99).expect("set");
    drop(conn);
    let Err(err) = Store::open(&db, &key()) else {
        panic!("a newer store should be refused")
    };
    assert_eq!(err.code(), "store-too-new");
    assert_eq!(Store::schema_of(&db).expect("schema"), 99);
}

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
