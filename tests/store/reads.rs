//! The handover gate in the store: with a reader, a printed job waits for its read; a read
//! moves it in the same transaction as it is recorded; a verify without a read needs a second
//! person and a reason; what was read is sealed and purged with the job.

use super::*;
use pstation::store::NewRead;

const L1: &str = "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<";

/// A store with the gate on and job `id` printed on booklet `number` (now `reading`).
fn printed(store: &mut Store, id: &str, number: &str) {
    created(store.submit(id, b"{}", number, "central").expect("submit"));
    store.begin_attempt(id).expect("begin");
    let job = store
        .end_attempt(id, &format!("{id}-a1"), &AttemptEnd::Printed)
        .expect("end");
    assert_eq!(job.state, JobState::Reading, "{id}");
}

fn read<'a>(job: Option<&'a str>, result: &'a str, lines: &'a [String]) -> NewRead<'a> {
    NewRead {
        job_id: job,
        result,
        number: Some("X1000001<"),
        lines,
        differences: &[],
        detail: None,
        actor: "reader",
    }
}

#[test]
fn a_printed_job_waits_for_its_read_and_only_a_read_or_two_people_settle_it() {
    let (dir, mut store) = open();
    store.set_read_gate(true);
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    printed(&mut store, "J1", "X1000001");
    assert_eq!(
        actions(&store, "J1")[3..],
        ["print-confirmed", "await-read"],
        "printed, then waiting for the reader, in one transaction"
    );
    // A verify without a read is refused; by hand it needs a second person and a reason.
    let e = store
        .act("J1", Action::Verify, "op", None)
        .expect_err("gated");
    assert_eq!(e.code(), "read-required");
    let e = store
        .verify_by_hand("J1", "op", "op", Some("reader broken"))
        .expect_err("same person");
    assert_eq!(e.code(), "second-person-required");
    let e = store
        .verify_by_hand("J1", "op", "sup", None)
        .expect_err("no reason");
    assert_eq!(e.code(), "reason-required");

    // A matching read completes it; the read is recorded with the step.
    let lines = vec![L1.to_owned(), "X1000001<...".to_owned()];
    let (seq, moved) = store
        .record_read(
            &read(Some("J1"), "match", &lines),
            Some(Action::ReadMatched),
        )
        .expect("read");
    let moved = moved.expect("moved");
    assert_eq!(moved.state, JobState::Completed);
    let e = store.events(Some("J1"), 0, 100).expect("events");
    let last = e.last().expect("event");
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("reader", "read-matched")
    );
    let reads = store.reads(Some("J1"), 10).expect("reads");
    assert_eq!(reads.len(), 1);
    assert_eq!((reads[0].seq, reads[0].result.as_str()), (seq, "match"));
    assert_eq!(reads[0].lines, lines, "opens to what was read");

    // A failed read parks the next one; a supervisor settles it by hand.
    printed(&mut store, "J2", "X1000002");
    let (_, moved) = store
        .record_read(
            &NewRead {
                differences: &[(2, 5), (2, 6)],
                ..read(Some("J2"), "mismatch", &lines)
            },
            Some(Action::ReadFailed),
        )
        .expect("read");
    let moved = moved.expect("moved");
    assert_eq!(moved.state, JobState::NeedsVerification);
    let reason = moved.reason.unwrap_or_default();
    assert!(
        reason.starts_with("read-mismatch: 2 position(s) differ (line:position 2:5 2:6)"),
        "{reason}"
    );
    assert!(
        !reason.contains("SANTOSO"),
        "no characters in the log: {reason}"
    );
    let e = store
        .act("J2", Action::Verify, "op", None)
        .expect_err("gated");
    assert_eq!(e.code(), "read-required");
    let done = store
        .verify_by_hand("J2", "op", "sup", Some("reader lens dirty; checked by eye"))
        .expect("by hand");
    assert_eq!(done.state, JobState::Completed);
    assert!(done.reason.unwrap_or_default().contains("approved by sup"));

    // A read nobody expected is kept, with no job; counts by result.
    store
        .record_read(&read(None, "unexpected", &lines), None)
        .expect("read");
    let mut counts = store.read_counts().expect("counts");
    counts.sort();
    assert_eq!(
        counts,
        [
            ("match".into(), 1),
            ("mismatch".into(), 1),
            ("unexpected".into(), 1)
        ]
    );

    // What was read is sealed in the file, and goes with the job at the end of its retention.
    drop(store);
    let bytes = std::fs::read(dir.path().join("station.db")).expect("db");
    let wal = std::fs::read(dir.path().join("station.db-wal")).unwrap_or_default();
    for file in [&bytes, &wal] {
        assert!(
            !file.windows(7).any(|w| w == b"SANTOSO"),
            "plain MRZ in the store"
        );
    }
    let mut store = Store::open(&dir.path().join("station.db"), &key()).expect("reopen");
    assert_eq!(store.reads(Some("J1"), 10).expect("reads")[0].lines, lines);
    let purged = store
        .purge_ended_before("9999-01-01T00:00:00Z")
        .expect("purge");
    assert_eq!(purged.len(), 2);
    assert!(
        store
            .reads(None, 10)
            .expect("reads")
            .iter()
            .all(|r| r.lines.is_empty())
    );
}

#[test]
fn without_a_reader_a_printed_job_is_verified_as_before_and_gating_later_waits_for_reads() {
    let (_dir, mut store) = open();
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    created(
        store
            .submit("J1", b"{}", "X1000001", "central")
            .expect("submit"),
    );
    created(
        store
            .submit("J2", b"{}", "X1000002", "central")
            .expect("submit"),
    );
    for id in ["J1", "J2"] {
        store.begin_attempt(id).expect("begin");
        let job = store
            .end_attempt(id, &format!("{id}-a1"), &AttemptEnd::Printed)
            .expect("end");
        assert_eq!(job.state, JobState::Printed);
    }
    let done = store.act("J1", Action::Verify, "op", None).expect("verify");
    assert_eq!(done.state, JobState::Completed);
    // A reader configured now: the booklet still printed waits for its read.
    store.set_read_gate(true);
    assert_eq!(store.gate_printed().expect("gate"), 1);
    assert_eq!(store.job("J2").expect("job").state, JobState::Reading);
    assert_eq!(store.awaiting_read().expect("waiting").len(), 1);
}
