//! Device status codes → printer state and IPP-style reasons, and a job's end → its outcome
//! (pjl-pcl reference §5, §6 and §9).
//!
//! Design: the category (first two digits) decides first, exact codes refine it, so an unknown
//! vendor code still lands in the right category. Device faults are states, not errors.

/// `printer-state`, in the vocabulary every printer family shares.
pub use pstation_printer_api::PrinterState;

/// What one device code means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The state it forces, or `None` when the state is unchanged (warnings).
    pub state: Option<PrinterState>,
    /// `printer-state-reasons` keywords with their severity suffix.
    pub reason: Option<&'static str>,
    /// The condition passes by itself and a job must wait for it to end (warming up, self
    /// test, reset, cancelling a job): not a fault, nobody needs to act.
    pub wait: bool,
    /// The printer reports itself offline in this condition, yet takes a job (warming up, a
    /// self test and sleep end by themselves; sleep ends when data arrives): `ONLINE=FALSE`
    /// does not make it stopped.
    pub passing: bool,
}

/// Classifies one PJL device status code.
///
/// Transient conditions (warming up 10003, self test 10004, reset 10005, cancelling a job
/// 10007) are `processing` with a `-report` reason and `wait`: the printer is busy and will be
/// ready without anyone acting — a print queue waits for them, it does not call them faults.
/// Sleep (40000, and power save 35078) is `idle`: the next job wakes the printer. These
/// keywords are pstation's own, in the IPP style (`warming-up-report`, ...): RFC 8011 has none
/// for them.
pub fn classify(code: u32) -> Condition {
    let c = |state, reason| Condition {
        state,
        reason,
        wait: false,
        passing: false,
    };
    let busy = |reason| Condition {
        state: Some(PrinterState::Processing),
        reason: Some(reason),
        wait: true,
        passing: true,
    };
    let asleep = |reason| Condition {
        state: Some(PrinterState::Idle),
        reason: Some(reason),
        wait: false,
        passing: true,
    };
    use PrinterState::{Idle, Processing, Stopped};
    match code {
        10001 => c(Some(Idle), None),
        10023 | 10024 => c(Some(Processing), None),
        10002 | 40079 => c(Some(Stopped), Some("offline-report")),
        10003 => busy("warming-up-report"),
        10004 => busy("self-test-report"),
        10005 => busy("resetting-report"),
        10007 => busy("canceling-job-report"),
        40000 => asleep("sleep-report"),
        35078 => asleep("power-save-report"),
        10006 => c(None, Some("toner-low-report")),
        40021 => c(Some(Stopped), Some("cover-open-error")),
        40022 => c(Some(Stopped), Some("media-jam-error")),
        40019 => c(Some(Stopped), Some("output-area-full-error")),
        40038 => c(Some(Stopped), Some("toner-low-error")),
        40010 | 40020 | 40024 => c(Some(Stopped), Some("marker-supply-empty-error")),
        40050..=40079 => c(Some(Stopped), Some("other-error")),
        10000..=10999 => c(None, None),
        11000..=11999 => c(None, Some("media-empty-report")),
        12000..=12999 => c(None, Some("input-tray-missing-report")),
        15000..=15999 if code % 10 == 1 => c(Some(Stopped), Some("output-area-full-error")),
        15000..=15999 => c(None, Some("other-warning")),
        30000..=30999 | 35000..=35999 => c(None, Some("other-warning")),
        41000..=41999 => c(Some(Stopped), Some("media-needed-error")),
        42000..=42999 | 44000..=44999 => c(Some(Stopped), Some("media-jam-error")),
        40000..=40999 | 43000..=43999 | 50000..=50999 => c(Some(Stopped), Some("other-error")),
        // Parser errors and warnings (20xxx, 25xxx, 27xxx, 32xxx) are about a command, not the
        // device.
        _ => c(None, None),
    }
}

/// `RESULT=` of a `USTATUS JOB END`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// The last page reached the output bin.
    Ok,
    /// Cancelled at the control panel.
    UserCanceled,
    /// Cancelled by the host.
    HostCanceled,
    /// Cancelled for lack of a resource (e.g. no booklet).
    ResourceCanceled,
    /// A value this parser does not know.
    Other(String),
}

impl JobResult {
    /// Parses the keyword.
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_uppercase().as_str() {
            "OK" => JobResult::Ok,
            "USER_CANCELED" | "USER_CANCELLED" => JobResult::UserCanceled,
            "HOST_CANCELED" | "HOST_CANCELLED" => JobResult::HostCanceled,
            "RESOURCE_CANCELED" | "RESOURCE_CANCELLED" => JobResult::ResourceCanceled,
            other => JobResult::Other(other.to_owned()),
        }
    }
}

/// A job's end as the printer reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEnd {
    /// `NAME=`.
    pub name: String,
    /// `PAGES=`.
    pub pages: Option<u32>,
    /// `ID=`.
    pub id: Option<u32>,
    /// `RESULT=`, when the firmware reports it.
    pub result: Option<JobResult>,
}

/// What the station concludes about a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every page is in the output bin.
    Completed,
    /// Cancelled at the device (nothing more will come out).
    CanceledAtDevice,
    /// Cancelled by the host.
    CanceledByHost,
    /// Cannot be known: an operator must look at the booklet. Never reprint automatically.
    Unknown(String),
}

/// The station's rule (reference §6): completed only when `END` names our job, reports the page
/// count we sent and, when present, `RESULT=OK`. Anything else is unknown or a cancellation.
pub fn judge_end(expected_name: &str, expected_pages: u32, end: &JobEnd) -> Outcome {
    if end.name != expected_name {
        return Outcome::Unknown(format!("the printer ended another job ({:?})", end.name));
    }
    match &end.result {
        Some(JobResult::UserCanceled) => return Outcome::CanceledAtDevice,
        Some(JobResult::HostCanceled) => return Outcome::CanceledByHost,
        Some(JobResult::ResourceCanceled) => {
            return Outcome::Unknown(
                "the printer cancelled the job for lack of a resource".to_owned(),
            );
        }
        Some(JobResult::Other(r)) => return Outcome::Unknown(format!("unknown job result {r:?}")),
        Some(JobResult::Ok) | None => {}
    }
    match end.pages {
        Some(p) if p == expected_pages => Outcome::Completed,
        Some(p) => Outcome::Unknown(format!(
            "the printer reports {p} pages; {expected_pages} were sent"
        )),
        None => Outcome::Unknown("the printer did not report a page count".to_owned()),
    }
}

/// Judges the `END` of a job the host cancelled while sending it. Only a job from which no sheet
/// came out counts as cancelled; a sheet out means a booklet may be partly personalised, which
/// only a person can judge.
pub fn judge_canceled(expected_name: &str, end: &JobEnd) -> Outcome {
    if end.name != expected_name {
        return Outcome::Unknown(format!("the printer ended another job ({:?})", end.name));
    }
    match end.pages {
        Some(0) => Outcome::CanceledByHost,
        Some(n) => Outcome::Unknown(format!(
            "cancelled while sending, but the printer reports {n} sheet(s) out: look at the booklet"
        )),
        None => Outcome::Unknown(
            "cancelled while sending; the printer did not report a page count".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_the_device_codes_produce_has_words_and_the_faults_have_advice() {
        use pstation_printer_api::reasons::{SETTLING, words};
        let mut seen = std::collections::BTreeSet::new();
        for code in 10_000..=59_999 {
            if let Some(r) = classify(code).reason {
                seen.insert(r);
            }
        }
        for code in [10003, 10004, 10005, 10007] {
            assert!(
                classify(code).reason.is_some_and(|r| SETTLING.contains(&r)),
                "{code}"
            );
        }
        for r in seen {
            let w = words(r);
            assert_ne!(w.label, words("no-such-reason").label, "{r} has no words");
            if r.ends_with("-error") {
                assert!(w.advice.is_some(), "{r}: a fault says what to do");
            }
        }
    }

    #[test]
    fn a_host_cancel_counts_only_when_no_sheet_came_out() {
        let end = |name: &str, pages| JobEnd {
            name: name.to_owned(),
            pages,
            id: None,
            result: Some(JobResult::Ok),
        };
        assert_eq!(
            judge_canceled("J", &end("J", Some(0))),
            Outcome::CanceledByHost
        );
        assert!(matches!(
            judge_canceled("J", &end("J", Some(1))),
            Outcome::Unknown(_)
        ));
        assert!(matches!(
            judge_canceled("J", &end("J", None)),
            Outcome::Unknown(_)
        ));
        assert!(matches!(
            judge_canceled("J", &end("K", Some(0))),
            Outcome::Unknown(_)
        ));
    }

    #[test]
    fn codes_map_to_the_reference_table() {
        let r = |code| classify(code).reason;
        let s = |code| classify(code).state;
        assert_eq!((s(10001), r(10001)), (Some(PrinterState::Idle), None));
        assert_eq!(r(40021), Some("cover-open-error"));
        assert_eq!(r(40022), Some("media-jam-error"));
        assert_eq!(r(42203), Some("media-jam-error"));
        assert_eq!(r(44100), Some("media-jam-error"));
        assert_eq!(r(41204), Some("media-needed-error"));
        assert_eq!((s(10006), r(10006)), (None, Some("toner-low-report")));
        assert_eq!(r(40079), Some("offline-report"));
        assert_eq!(r(10003), Some("warming-up-report"));
        // Every transient condition of the table passes by itself: a job waits, nobody acts.
        for code in [10003, 10004, 10005, 10007] {
            let c = classify(code);
            assert!(c.wait && c.passing, "{code}");
            assert_eq!(c.state, Some(PrinterState::Processing), "{code}");
            assert!(c.reason.is_some_and(|r| r.ends_with("-report")), "{code}");
        }
        // Sleep and power save take a job (it wakes the printer).
        for code in [40000, 35078] {
            let c = classify(code);
            assert!(!c.wait && c.passing, "{code}");
            assert_eq!(c.state, Some(PrinterState::Idle), "{code}");
        }
        // Every other code of the 40xxx range stops printing and is no transient state.
        for code in 40001..=40999 {
            let c = classify(code);
            assert_eq!(c.state, Some(PrinterState::Stopped), "{code}");
            assert!(!c.wait && !c.passing, "{code}");
        }
        assert_eq!(r(15011), Some("output-area-full-error"));
        assert_eq!(r(50012), Some("other-error"));
        assert_eq!(s(40065), Some(PrinterState::Stopped));
        assert_eq!(
            classify(27002),
            Condition {
                state: None,
                reason: None,
                wait: false,
                passing: false,
            }
        );
    }

    #[test]
    fn only_our_name_with_the_right_pages_completes() {
        let end = |name: &str, pages, result| JobEnd {
            name: name.to_owned(),
            pages,
            id: None,
            result,
        };
        assert_eq!(
            judge_end("J1", 1, &end("J1", Some(1), Some(JobResult::Ok))),
            Outcome::Completed
        );
        assert_eq!(
            judge_end("J1", 1, &end("J1", Some(1), None)),
            Outcome::Completed
        );
        assert!(matches!(
            judge_end("J1", 1, &end("J2", Some(1), Some(JobResult::Ok))),
            Outcome::Unknown(_)
        ));
        assert!(matches!(
            judge_end("J1", 1, &end("J1", Some(0), Some(JobResult::Ok))),
            Outcome::Unknown(_)
        ));
        assert!(matches!(
            judge_end("J1", 1, &end("J1", None, None)),
            Outcome::Unknown(_)
        ));
        assert_eq!(
            judge_end("J1", 1, &end("J1", Some(0), Some(JobResult::UserCanceled))),
            Outcome::CanceledAtDevice
        );
        assert_eq!(
            judge_end("J1", 1, &end("J1", Some(0), Some(JobResult::HostCanceled))),
            Outcome::CanceledByHost
        );
        assert!(matches!(
            judge_end(
                "J1",
                1,
                &end("J1", Some(0), Some(JobResult::ResourceCanceled))
            ),
            Outcome::Unknown(_)
        ));
    }
}
