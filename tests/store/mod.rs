//! The durable store on a real SQLite file: idempotent submission, the lifecycle as the store
//! enforces it, booklet accounting and reconciliation, start-up recovery, the append-only log.

mod audit;
mod chips;
mod migrations;
mod reads;

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
fn the_logs_checkpoints_run_in_their_own_thread_and_leave_nothing_behind() {
    let (dir, mut store) = open();
    let db = dir.path().join("station.db");
    let checkpoints = store.checkpoint_in_background(&db).expect("checkpointer");
    store
        .receive_batch("X1000000", "X1000399", "op")
        .expect("batch");
    // 300 jobs of 20 KB: about 1,500 log pages, past SQLite's 1,000-page automatic checkpoint.
    let payload = vec![b'x'; 20_000];
    let before = std::fs::metadata(&db).expect("db").len();
    for i in 0..300 {
        created(
            store
                .submit(
                    &format!("J{i}"),
                    &payload,
                    &format!("X{:07}", 1_000_000 + i),
                    "central",
                )
                .expect("submit"),
        );
    }
    // The thread is stopped (after its last checkpoint) only here; until then the pages it has
    // not copied yet are in the log alone.
    drop(checkpoints);
    let after = std::fs::metadata(&db).expect("db").len();
    assert!(
        after > before + 300 * 20_000,
        "the database file holds the jobs after the checkpoints: {before} -> {after} bytes"
    );
    // Everything in the log is in the database file: nothing is left to copy.
    let (frames, copied) = store.checkpoint_now().expect("checkpoint");
    assert_eq!(frames, copied);
    // And the data reads back, from a fresh connection too.
    drop(store);
    let store = Store::open(&db, &key()).expect("reopen");
    assert_eq!(store.payload("J299").expect("payload"), payload);
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
