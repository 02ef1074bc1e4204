//! The chip gate in the store: with a chip reader, an attempt needs a passing chip check of its
//! booklet (one check, one attempt); a failed check holds the job, withdraws its booklet
//! confirmation and marks the booklet's chip in the same transaction; an e-passport is reprinted
//! only through the central office, whose outbox row carries the reason.

use super::*;
use pstation::store::{ChipState, ChipStep, NewChipCheck};

fn check<'a>(
    job: &'a str,
    booklet: &'a str,
    result: &'a str,
    steps: &'a [ChipStep],
) -> NewChipCheck<'a> {
    NewChipCheck {
        job_id: job,
        booklet,
        result,
        chip_state: Some(if result == "ok" {
            ChipState::ReadOk
        } else {
            ChipState::Mismatch
        }),
        access: Some("BAC"),
        steps,
        document_signer: Some("CN=DS"),
        csca: Some("CN=CSCA"),
        duration_ms: 120,
        message: Some("the chip does not open · cip tidak terbuka"),
    }
}

fn steps(ok: bool) -> Vec<ChipStep> {
    vec![ChipStep {
        step: "access".into(),
        ok,
        detail: None,
    }]
}

#[test]
fn one_passing_check_lets_one_attempt_print() {
    let (_dir, mut store) = open();
    store.set_chip_gate(true);
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    created(
        store
            .submit("J1", b"{}", "X1000001", "central")
            .expect("submit"),
    );
    let e = store.begin_attempt("J1").expect_err("no chip check yet");
    assert_eq!(e.code(), "chip-check-required");

    let ok = steps(true);
    let (_, job) = store
        .record_chip_check(&check("J1", "X1000001", "ok", &ok))
        .expect("recorded");
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(
        actions(&store, "J1").last().map(String::as_str),
        Some("chip-checked")
    );
    store.begin_attempt("J1").expect("the check lets it print");
    let job = store
        .end_attempt("J1", "J1-a1", &AttemptEnd::NotSent("cover open".into()))
        .expect("not sent");
    assert_eq!(job.state, JobState::Queued);
    // The check was used by the first attempt: the next one needs its own.
    let e = store.begin_attempt("J1").expect_err("used");
    assert_eq!(e.code(), "chip-check-required");
    let checks = store.chip_checks("J1").expect("checks");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].used_by.as_deref(), Some("J1-a1"));
    assert_eq!(checks[0].steps, ok);
    let counts = store.chip_counts().expect("counts");
    assert_eq!((counts.read_ok, counts.unread), (1, 9));
    assert_eq!(store.reconcile().expect("reconcile").chips, counts);
}

#[test]
fn a_failed_check_holds_the_job_unprinted_and_marks_the_booklet() {
    let (_dir, mut store) = open();
    store.set_chip_gate(true);
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    created(
        store
            .submit("J2", b"{}", "X1000002", "central")
            .expect("submit"),
    );
    store
        .confirm_booklet("J2", "X1000002", "op")
        .expect("confirmed");
    let failed = steps(false);
    let (_, job) = store
        .record_chip_check(&check("J2", "X1000002", "chip-access-denied", &failed))
        .expect("recorded");
    assert_eq!(job.state, JobState::Held);
    assert!(
        !job.booklet_confirmed,
        "the operator confirms again after fixing it"
    );
    let reason = job.reason.clone().unwrap_or_default();
    assert!(
        reason.starts_with("chip-access-denied: the chip does not open"),
        "{reason}"
    );
    let booklet = store
        .booklets(None)
        .expect("booklets")
        .into_iter()
        .find(|b| b.number == "X1000002")
        .expect("booklet");
    assert_eq!(
        (booklet.state, booklet.chip_state),
        (BookletState::InStock, ChipState::Mismatch)
    );
    // A check of a job that is not queued (already held) changes nothing and is refused.
    let ok = steps(true);
    let e = store
        .record_chip_check(&check("J2", "X1000002", "ok", &ok))
        .expect_err("not queued");
    assert_eq!(e.code(), "invalid-transition");
    assert_eq!(store.chip_checks("J2").expect("checks").len(), 1);

    // No local reprint of an e-passport; the central office is asked, with the reason, and the
    // booklet whose chip refused the job is spoiled with the request.
    let e = store
        .reprint("J2", "X1000003", "op", "sup", None)
        .expect_err("central only");
    assert_eq!(e.code(), "reprint-central");
    let e = store
        .act("J2", Action::RequestReprint, "op", None)
        .expect_err("a reason");
    assert_eq!(e.code(), "reason-required");
    let job = store
        .act(
            "J2",
            Action::RequestReprint,
            "op",
            Some("another person's chip"),
        )
        .expect("requested");
    assert_eq!(job.state, JobState::ReprintRequested);
    let pending = store.outbox_pending("webhook", 100).expect("outbox");
    let last = pending.last().expect("a status change");
    assert_eq!(
        (last.state.as_str(), last.reason.as_deref()),
        ("reprint-requested", Some("another person's chip"))
    );
    let held = pending
        .iter()
        .find(|e| e.state == "held")
        .expect("the hold went out too");
    assert!(
        held.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("chip-access-denied")),
        "{held:?}"
    );
    let rec = store.reconcile().expect("reconcile");
    assert_eq!((rec.spoiled, rec.chips.mismatch), (1, 1));
    assert!(rec.balanced(), "{rec:?}");
}

#[test]
fn with_a_reader_too_a_read_completes_only_what_its_chip_check_let_print() {
    use pstation::store::NewRead;
    let (_dir, mut store) = open();
    store.set_chip_gate(true);
    store.set_read_gate(true);
    store
        .receive_batch("X1000000", "X1000009", "op")
        .expect("batch");
    let lines = vec!["P<IDN".to_owned(), "X1000001<".to_owned()];
    let read = |job: &'static str| NewRead {
        job_id: Some(job),
        result: "match",
        number: Some("X1000001<"),
        lines: &[],
        differences: &[],
        detail: None,
        actor: "reader",
    };
    // Checked, printed, read back: the three agree.
    created(
        store
            .submit("J3", b"{}", "X1000001", "central")
            .expect("submit"),
    );
    let ok = steps(true);
    store
        .record_chip_check(&check("J3", "X1000001", "ok", &ok))
        .expect("checked");
    store.begin_attempt("J3").expect("begin");
    store
        .end_attempt("J3", "J3-a1", &AttemptEnd::Printed)
        .expect("printed");
    let (_, moved) = store
        .record_read(
            &NewRead {
                lines: &lines,
                ..read("J3")
            },
            Some(Action::ReadMatched),
        )
        .expect("read");
    let job = moved.expect("moved");
    assert_eq!(job.state, JobState::Completed);
    assert!(
        job.reason
            .as_deref()
            .is_some_and(|r| r.contains("the printed MRZ, the job and the chip's DG1")),
        "{job:?}"
    );

    // Printed before the chip gate was on (no check for its attempt): the read alone does not
    // settle it.
    store.set_chip_gate(false);
    created(
        store
            .submit("J4", b"{}", "X1000002", "central")
            .expect("submit"),
    );
    store.begin_attempt("J4").expect("begin");
    store
        .end_attempt("J4", "J4-a1", &AttemptEnd::Printed)
        .expect("printed");
    store.set_chip_gate(true);
    let (_, moved) = store
        .record_read(&read("J4"), Some(Action::ReadMatched))
        .expect("read");
    let job = moved.expect("moved");
    assert_eq!(job.state, JobState::NeedsVerification);
    assert!(
        job.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("chip-unchecked")),
        "{job:?}"
    );
}
