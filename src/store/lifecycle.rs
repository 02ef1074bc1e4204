//! The job lifecycle as a pure function: which action moves a job from which state to which.
//! The store applies it inside the transaction that records the event, so the database never
//! holds a transition this table does not allow.
//!
//! ```text
//!  submit ─► received ─► queued ◄──release── held ◄──hold── queued
//!                          │                   ▲
//!                          │ (booklet not in stock: held, reason booklet-not-in-stock)
//!                          ▼
//!     engine: start ─► printing ──END ok──► printed ──verify──► completed
//!                        │  │                  │  └─(a reader is configured)─► reading ──read matches──► completed
//!                        │  │                  │       (reading: a read that differs ─► needs-verification;
//!                        │  │                  │        verify by hand needs a supervisor and a reason)
//!        nothing sent ◄──┘  └─unknown─► needs-verification ──verify──► completed
//!        (back to queued,                      ├──release (booklet blank)──► queued
//!         or failed)                           └──spoil──► spoiled ──reprint (2nd person)──► queued
//!                                                          ▲
//!                                    printed ──spoil───────┘
//!  cancel: queued | held | failed ─► canceled;  printing ─► (engine stops the job) ─► canceled
//!          only when nothing came out, else needs-verification.
//! ```

use std::fmt;

/// Where a job is. The words are stable: they are stored, shown and sent to the central office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    /// Accepted and stored; about to be queued (transient, seen only in the event log).
    Received,
    /// Waiting to print.
    Queued,
    /// Kept back by an operator or for a reason the station states (booklet not in stock).
    Held,
    /// An attempt is committed; bytes may be on their way to the printer.
    Printing,
    /// The printer confirmed the page came out (END with our name and page count).
    Printed,
    /// Printed, and a document reader is configured: the booklet waits for its MRZ to be read
    /// back before handover.
    Reading,
    /// An operator checked the booklet and handed it over. Terminal.
    Completed,
    /// Cancelled before anything came out. Terminal.
    Canceled,
    /// Nothing reached the printer and the job cannot go on by itself (e.g. it cannot be
    /// rendered). Safe to retry with `release`.
    Failed,
    /// The outcome is unknown (crash, power cut, link loss while sending): an operator must
    /// look at the booklet. Never reprinted automatically.
    NeedsVerification,
    /// The booklet is ruined; a reprint needs a second authorised person and a new booklet.
    Spoiled,
    /// An e-passport that cannot be (re)printed here: its booklet's chip holds its number, so
    /// the station asked the central office for a new signed job (on another booklet). Terminal
    /// for this job id.
    ReprintRequested,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 12] = [
        Self::Received,
        Self::Queued,
        Self::Held,
        Self::Printing,
        Self::Printed,
        Self::Reading,
        Self::Completed,
        Self::Canceled,
        Self::Failed,
        Self::NeedsVerification,
        Self::Spoiled,
        Self::ReprintRequested,
    ];

    /// The stable word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Queued => "queued",
            Self::Held => "held",
            Self::Printing => "printing",
            Self::Printed => "printed",
            Self::Reading => "reading",
            Self::Completed => "completed",
            Self::Canceled => "canceled",
            Self::Failed => "failed",
            Self::NeedsVerification => "needs-verification",
            Self::Spoiled => "spoiled",
            Self::ReprintRequested => "reprint-requested",
        }
    }

    /// Parses the stable word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No action moves a job out of this state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Canceled | Self::ReprintRequested
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A booklet's place in the accounting.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum BookletState {
    /// Blank, in the station's stock.
    InStock,
    /// Taken by a print attempt whose outcome is not settled yet (printing or in doubt).
    Loaded,
    /// Personalised and good.
    Issued,
    /// Ruined (with a reason).
    Spoiled,
}

impl BookletState {
    /// Every state.
    pub const ALL: [BookletState; 4] = [Self::InStock, Self::Loaded, Self::Issued, Self::Spoiled];

    /// The stable word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InStock => "in-stock",
            Self::Loaded => "loaded",
            Self::Issued => "issued",
            Self::Spoiled => "spoiled",
        }
    }

    /// Parses the stable word.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::InStock, Self::Loaded, Self::Issued, Self::Spoiled]
            .into_iter()
            .find(|b| b.as_str() == s)
    }
}

/// What can happen to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Accepted: received → queued.
    Queue,
    /// Held by the station for a stated reason (e.g. its booklet is not in stock).
    HoldBySystem,
    /// Operator: hold a queued or failed job.
    Hold,
    /// Operator (or the station when the reason is gone): back to the queue.
    Release,
    /// Operator: cancel a job that has not started printing.
    Cancel,
    /// Operator: the loaded booklet's number matches (no state change).
    ConfirmBooklet,
    /// Engine: an attempt is committed before the first byte.
    StartPrinting,
    /// Engine: the printer confirmed the page.
    PrintConfirmed,
    /// Engine: nothing was sent; the job goes back to the queue.
    NotSent,
    /// Engine: nothing was sent and it cannot be retried by itself.
    Fail,
    /// Engine: the host cancelled and the printer reports nothing came out.
    CanceledWhilePrinting,
    /// Engine or recovery: the outcome cannot be known.
    OutcomeUnknown,
    /// Engine: the page is printed and a reader is configured; the booklet waits for a read.
    AwaitRead,
    /// Reader: the MRZ read back equals the one printed, every check digit right.
    ReadMatched,
    /// Reader: the read differs, has unreadable characters or is another booklet's.
    ReadFailed,
    /// Operator: the booklet is good (after printed or needs-verification).
    Verify,
    /// Operator: the booklet is ruined.
    Spoil,
    /// Operator with a second authorised person: print again on a new booklet.
    Reprint,
    /// Operator: an e-passport's booklet is spoiled or its chip refused it; the central office
    /// is asked for a new signed job on another booklet.
    RequestReprint,
}

impl Action {
    /// A stable word for the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::HoldBySystem => "hold-by-station",
            Self::Hold => "hold",
            Self::Release => "release",
            Self::Cancel => "cancel",
            Self::ConfirmBooklet => "confirm-booklet",
            Self::StartPrinting => "start-printing",
            Self::PrintConfirmed => "print-confirmed",
            Self::NotSent => "not-sent",
            Self::Fail => "fail",
            Self::CanceledWhilePrinting => "canceled-while-printing",
            Self::OutcomeUnknown => "outcome-unknown",
            Self::AwaitRead => "await-read",
            Self::ReadMatched => "read-matched",
            Self::ReadFailed => "read-failed",
            Self::Verify => "verify",
            Self::Spoil => "spoil",
            Self::Reprint => "reprint",
            Self::RequestReprint => "request-reprint",
        }
    }
}

impl Action {
    /// The outcome an action records for the attempt it ends (`attempts.outcome`), if it ends
    /// one.
    pub fn attempt_outcome(self) -> Option<&'static str> {
        match self {
            Self::PrintConfirmed => Some("printed"),
            Self::NotSent => Some("not-sent"),
            Self::Fail => Some("failed"),
            Self::CanceledWhilePrinting => Some("canceled"),
            Self::OutcomeUnknown => Some("unknown"),
            _ => None,
        }
    }
}

/// An action the job's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid-transition: cannot {action} a job that is {from}")]
pub struct InvalidTransition {
    /// The job's state.
    pub from: JobState,
    /// What was asked (`Action::as_str`).
    pub action: &'static str,
}

/// The state `action` moves a job in `from` to.
pub fn next(from: JobState, action: Action) -> Result<JobState, InvalidTransition> {
    use Action as A;
    use JobState as S;
    let to = match (from, action) {
        (S::Received, A::Queue) => S::Queued,
        (S::Received | S::Queued, A::HoldBySystem) => S::Held,
        (S::Queued | S::Failed, A::Hold) => S::Held,
        (S::Held | S::Failed, A::Release) => S::Queued,
        // An operator looked: the booklet is blank and untouched; it may print again.
        (S::NeedsVerification, A::Release) => S::Queued,
        (S::Queued | S::Held | S::Failed, A::Cancel) => S::Canceled,
        (S::Queued | S::Held, A::ConfirmBooklet) => from,
        (S::Queued, A::StartPrinting) => S::Printing,
        (S::Printing, A::PrintConfirmed) => S::Printed,
        (S::Printing, A::NotSent) => S::Queued,
        (S::Printing | S::Queued, A::Fail) => S::Failed,
        (S::Printing, A::CanceledWhilePrinting) => S::Canceled,
        (S::Printing, A::OutcomeUnknown) => S::NeedsVerification,
        (S::Printed, A::AwaitRead) => S::Reading,
        // A matching read also settles a job in doubt: the instrument saw the page.
        (S::Reading | S::NeedsVerification, A::ReadMatched) => S::Completed,
        (S::Reading, A::ReadFailed) => S::NeedsVerification,
        (S::Printed | S::Reading | S::NeedsVerification, A::Verify) => S::Completed,
        (S::Printed | S::Reading | S::NeedsVerification, A::Spoil) => S::Spoiled,
        (S::Spoiled, A::Reprint) => S::Queued,
        (S::Spoiled | S::Held, A::RequestReprint) => S::ReprintRequested,
        _ => {
            return Err(InvalidTransition {
                from,
                action: action.as_str(),
            });
        }
    };
    Ok(to)
}

/// What an operator's action does, as the lifecycle decides it from the job's state, its
/// booklet's state and the reason given. The store applies a plan inside one transaction and
/// adds nothing of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The job moves to `to`; its booklet, if `booklet` says so, changes state too, and when
    /// `booklet_event` is set an extra event with that action records the booklet's change.
    Move {
        /// The job's new state.
        to: JobState,
        /// The booklet's new state, if it changes.
        booklet: Option<BookletState>,
        /// The action word of an extra booklet event (e.g. `booklet-spoiled`).
        booklet_event: Option<&'static str>,
    },
    /// The job is printing: the engine is asked to stop it (no state change now; the engine
    /// records what came out).
    RequestCancel,
}

/// Why the lifecycle refuses an operator's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The job's state does not allow the action.
    Transition(InvalidTransition),
    /// The action needs a reason (what the operator saw); the text says which.
    ReasonRequired(&'static str),
    /// Releasing a held job whose booklet is not in stock: it stays held.
    BookletNotInStock,
}

impl From<InvalidTransition> for Refusal {
    fn from(e: InvalidTransition) -> Self {
        Self::Transition(e)
    }
}

/// The operator's actions on a job (hold, release, cancel, verify, spoil) as a pure decision:
/// `state` is the job's, `booklet` its booklet's (`None`: not in the stock's books), `reason`
/// what the operator typed.
pub fn plan(
    state: JobState,
    booklet: Option<BookletState>,
    action: Action,
    reason: Option<&str>,
) -> Result<Plan, Refusal> {
    let given = reason.is_some_and(|r| !r.trim().is_empty());
    let moved = |booklet, booklet_event| -> Result<Plan, Refusal> {
        Ok(Plan::Move {
            to: next(state, action)?,
            booklet,
            booklet_event,
        })
    };
    match action {
        Action::Cancel if state == JobState::Printing => Ok(Plan::RequestCancel),
        Action::Hold | Action::Cancel => moved(None, None),
        // The operator looked at the booklet: blank and untouched, back in stock.
        Action::Release if state == JobState::NeedsVerification => {
            if !given {
                return Err(Refusal::ReasonRequired(
                    "releasing a job in doubt needs a reason (what the operator saw)",
                ));
            }
            moved(Some(BookletState::InStock), None)
        }
        // Released jobs whose booklet is still missing stay held, saying why.
        Action::Release => {
            let plan = moved(None, None)?;
            if booklet == Some(BookletState::InStock) {
                Ok(plan)
            } else {
                Err(Refusal::BookletNotInStock)
            }
        }
        Action::Verify => moved(Some(BookletState::Issued), None),
        Action::Spoil => {
            if !given {
                return Err(Refusal::ReasonRequired("a spoiled booklet needs a reason"));
            }
            moved(Some(BookletState::Spoiled), Some("booklet-spoiled"))
        }
        // The central office issues a new job on another booklet; a booklet still blank in
        // stock (its chip refused this job) is spoiled with it, as it can serve nobody else.
        Action::RequestReprint => {
            if !given {
                return Err(Refusal::ReasonRequired(
                    "a reprint request needs a reason (what is wrong with the booklet)",
                ));
            }
            if booklet == Some(BookletState::InStock) {
                moved(Some(BookletState::Spoiled), Some("booklet-spoiled"))
            } else {
                moved(None, None)
            }
        }
        other => Err(Refusal::Transition(InvalidTransition {
            from: state,
            action: other.as_str(),
        })),
    }
}

#[cfg(test)]
mod tests {
    /// The operator's actions, state by state: the table `plan` implements.
    #[test]
    fn plan_table() {
        use Action as A;
        use BookletState as B;
        use JobState as S;
        let why = Some("seen blank");
        let mv = |to, booklet, booklet_event| {
            Ok(Plan::Move {
                to,
                booklet,
                booklet_event,
            })
        };
        type Case<'a> = (S, Option<B>, A, Option<&'a str>, Result<Plan, Refusal>);
        let cases: Vec<Case> = vec![
            (S::Queued, None, A::Hold, None, mv(S::Held, None, None)),
            (S::Failed, None, A::Hold, None, mv(S::Held, None, None)),
            (
                S::Held,
                Some(B::InStock),
                A::Release,
                None,
                mv(S::Queued, None, None),
            ),
            (
                S::Held,
                Some(B::Loaded),
                A::Release,
                None,
                Err(Refusal::BookletNotInStock),
            ),
            (
                S::Held,
                None,
                A::Release,
                None,
                Err(Refusal::BookletNotInStock),
            ),
            (
                S::NeedsVerification,
                Some(B::Loaded),
                A::Release,
                why,
                mv(S::Queued, Some(B::InStock), None),
            ),
            (
                S::NeedsVerification,
                Some(B::Loaded),
                A::Release,
                Some("  "),
                Err(Refusal::ReasonRequired(
                    "releasing a job in doubt needs a reason (what the operator saw)",
                )),
            ),
            (
                S::Printing,
                Some(B::Loaded),
                A::Cancel,
                None,
                Ok(Plan::RequestCancel),
            ),
            (
                S::Queued,
                None,
                A::Cancel,
                None,
                mv(S::Canceled, None, None),
            ),
            (
                S::Printed,
                Some(B::Loaded),
                A::Verify,
                None,
                mv(S::Completed, Some(B::Issued), None),
            ),
            (
                S::NeedsVerification,
                Some(B::Loaded),
                A::Verify,
                None,
                mv(S::Completed, Some(B::Issued), None),
            ),
            (
                S::Printed,
                Some(B::Loaded),
                A::Spoil,
                why,
                mv(S::Spoiled, Some(B::Spoiled), Some("booklet-spoiled")),
            ),
            (
                S::Printed,
                Some(B::Loaded),
                A::Spoil,
                None,
                Err(Refusal::ReasonRequired("a spoiled booklet needs a reason")),
            ),
        ];
        for (state, booklet, action, reason, want) in cases {
            assert_eq!(
                plan(state, booklet, action, reason),
                want,
                "{state} {action:?}"
            );
        }
        // Refusals by the state table, and actions that are not the operator's.
        for (state, action) in [
            (S::Completed, A::Hold),
            (S::Printing, A::Hold),
            (S::Completed, A::Cancel),
            (S::Queued, A::Verify),
            (S::Queued, A::Spoil),
            (S::Queued, A::StartPrinting),
            (S::Spoiled, A::Reprint),
        ] {
            assert!(
                matches!(
                    plan(state, Some(B::InStock), action, why),
                    Err(Refusal::Transition(_))
                ),
                "{state} {action:?}"
            );
        }
    }

    use super::*;

    #[test]
    fn state_words_round_trip() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobState::parse("done"), None);
    }

    #[test]
    fn terminal_states_accept_nothing() {
        let actions = [
            Action::Queue,
            Action::HoldBySystem,
            Action::Hold,
            Action::Release,
            Action::Cancel,
            Action::ConfirmBooklet,
            Action::StartPrinting,
            Action::PrintConfirmed,
            Action::NotSent,
            Action::Fail,
            Action::CanceledWhilePrinting,
            Action::OutcomeUnknown,
            Action::AwaitRead,
            Action::ReadMatched,
            Action::ReadFailed,
            Action::Verify,
            Action::Spoil,
            Action::Reprint,
        ];
        for s in JobState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for a in actions {
                assert!(next(s, a).is_err(), "{s} {a:?}");
            }
        }
    }

    #[test]
    fn a_job_in_doubt_is_never_queued_again_without_a_person() {
        // From needs-verification the ways out are operator actions only: verify (it printed),
        // spoil (it is ruined) or release (it is blank); from spoiled only a reprint (which the
        // store allows only with a second authorised person).
        for a in [
            Action::HoldBySystem,
            Action::NotSent,
            Action::StartPrinting,
            Action::Queue,
        ] {
            assert!(next(JobState::NeedsVerification, a).is_err(), "{a:?}");
            assert!(next(JobState::Printed, a).is_err(), "{a:?}");
        }
        assert_eq!(
            next(JobState::NeedsVerification, Action::Verify),
            Ok(JobState::Completed)
        );
        assert_eq!(
            next(JobState::Spoiled, Action::Reprint),
            Ok(JobState::Queued)
        );
    }

    #[test]
    fn a_booklet_waiting_for_its_read_leaves_only_by_a_read_or_a_person() {
        use Action as A;
        use JobState as S;
        assert_eq!(next(S::Printed, A::AwaitRead), Ok(S::Reading));
        assert_eq!(next(S::Reading, A::ReadMatched), Ok(S::Completed));
        assert_eq!(next(S::Reading, A::ReadFailed), Ok(S::NeedsVerification));
        assert_eq!(next(S::NeedsVerification, A::ReadMatched), Ok(S::Completed));
        // A failed read of a job already in doubt changes nothing; nothing but a read or a
        // person moves a job that waits for its read.
        assert!(next(S::NeedsVerification, A::ReadFailed).is_err());
        for a in [
            A::Queue,
            A::HoldBySystem,
            A::Hold,
            A::Release,
            A::Cancel,
            A::StartPrinting,
            A::PrintConfirmed,
            A::NotSent,
            A::OutcomeUnknown,
            A::AwaitRead,
            A::Reprint,
        ] {
            assert!(next(S::Reading, a).is_err(), "{a:?}");
        }
        // Reads act only on printed booklets.
        for s in JobState::ALL {
            if !matches!(s, S::Reading | S::NeedsVerification) {
                assert!(next(s, A::ReadMatched).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn printing_can_only_start_from_the_queue() {
        for s in JobState::ALL {
            assert_eq!(
                next(s, Action::StartPrinting).is_ok(),
                s == JobState::Queued,
                "{s}"
            );
        }
    }
}
