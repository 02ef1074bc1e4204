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
        chip_state: if result == "ok" {
            ChipState::ReadOk
        } else {
            ChipState::Mismatch
        },
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
