//! The chip gate: before the engine commits an attempt, the booklet's chip is checked against
//! the job (on a blocking thread: the card link blocks), the check is recorded with its effect
//! on the job in one transaction, and the operator sees the chip reader's state and last check.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::{Station, StationEvent, replace_if_changed};
use crate::chip::{self, CardLink, ChipReader, ChipVerdict, Expected, LinkError};
use crate::store::{ChipState, ChipStep, JobRow, NewChipCheck};

/// The chip reader as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChipView {
    /// Whether a chip reader is configured (without one, nothing is checked).
    pub configured: bool,
    /// The reader's name (`pcsc:…`, `vpcd://HOST:PORT`).
    pub reader: Option<String>,
    /// `none` (not configured), `ready`, `waiting` (for a booklet on the reader), `down`.
    pub state: &'static str,
    /// What to do, when not ready.
    pub message: Option<String>,
    /// The code of the state, when not ready.
    pub code: Option<&'static str>,
    /// The last check: its job and result (`ok` or a code).
    pub last: Option<LastCheck>,
}

/// The last chip check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastCheck {
    /// The job.
    pub job_id: String,
    /// `ok` or the failure's code.
    pub result: String,
}

/// The chip reader's link and what the operator is shown of it.
pub struct ChipGate {
    link: Mutex<Option<Box<dyn CardLink>>>,
    pub(super) view: watch::Sender<ChipView>,
}

/// What the engine does with the job after the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The chip is right (or no chip reader is configured): print.
    Print,
    /// The chip is wrong: the job is held (recorded); take the next job.
    Held,
    /// Nothing is known of the booklet (no reader, no booklet on it): wait and try again.
    Wait,
}

impl ChipGate {
    /// The gate for the settings: the link opened now (a vpcd port listens from the start, so
    /// a virtual card can connect before the first check); one that cannot open is opened again
    /// at the next check.
    pub fn new(settings: &chip::ChipSettings) -> Self {
        let (link, view) = match &settings.reader {
            None => (
                None,
                ChipView {
                    configured: false,
                    reader: None,
                    state: "none",
                    message: None,
                    code: None,
                    last: None,
                },
            ),
            Some(reader) => match chip::link::open(reader, settings.timeout) {
                Ok(link) => {
                    let name = link.name();
                    (Some(link), ready_view(name))
                }
                Err(e) => (None, down_view(reader, &e)),
            },
        };
        Self {
            link: Mutex::new(link),
            view: watch::channel(view).0,
        }
    }

    /// What the operator sees of the chip reader now.
    pub fn view(&self) -> ChipView {
        self.view.borrow().clone()
    }
}

fn ready_view(name: String) -> ChipView {
    ChipView {
        configured: true,
        reader: Some(name),
        state: "ready",
        message: None,
        code: None,
        last: None,
    }
}

fn down_view(reader: &ChipReader, e: &LinkError) -> ChipView {
    ChipView {
        configured: true,
        reader: Some(reader.name()),
        state: "down",
        message: Some(e.to_string()),
        code: Some(e.code()),
        last: None,
    }
}

impl Station {
    /// A job's chip checks, oldest first (a missing job is `not-found`).
    pub async fn chip_checks(
        &self,
        job_id: &str,
    ) -> Result<Vec<crate::store::ChipCheckRow>, super::StationError> {
        let id = job_id.to_owned();
        self.db(move |s| {
            s.job(&id)?;
            s.chip_checks(&id)
        })
        .await
    }

    /// The chip reader's view.
    pub fn chip_view(&self) -> ChipView {
        self.chip.view()
    }

    fn publish_chip(&self, change: impl FnOnce(&mut ChipView)) {
        let mut view = self.chip.view();
        change(&mut view);
        if replace_if_changed(&self.chip.view, &view) {
            let _ = self.events.send(StationEvent::Chip(view));
        }
    }

    /// Checks the chip of `job`'s booklet before it prints (see [`Gate`]).
    pub(super) async fn chip_gate(&self, job: &JobRow) -> Gate {
        let Some(reader) = self.options.settings.chip.reader.clone() else {
            return Gate::Print;
        };
        let (id, booklet) = (job.job_id.clone(), job.booklet.clone());
        let payload = match self.db(move |s| s.payload(&id)).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(job = %job.job_id, error = %e, "cannot open the job for its chip check");
                return Gate::Wait;
            }
        };
        let renderer = self.renderer.clone();
        let b = booklet.clone();
        let lines = match tokio::task::spawn_blocking(move || renderer.mrz(&payload, &b)).await {
            Ok(Ok(lines)) => lines,
            _ => return Gate::Wait,
        };
        let settings = self.options.settings.chip.clone();
        let gate = self.chip.clone();
        let b = booklet.clone();
        let report = tokio::task::spawn_blocking(move || {
            let mut guard = gate.link.lock().unwrap_or_else(|e| e.into_inner());
            if guard.is_none() {
                match chip::link::open(&reader, settings.timeout) {
                    Ok(l) => *guard = Some(l),
                    Err(e) => return Err(e),
                }
            }
            let link = guard.as_mut().ok_or(LinkError::NoCard)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let expected = Expected {
                mrz: [&lines[0], &lines[1]],
                booklet: &b,
            };
            Ok((
                link.name(),
                chip::check(link.as_mut(), &expected, &settings.cscas, now),
            ))
        })
        .await;
        let (name, report) = match report {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                let reader = self.options.settings.chip.reader.clone();
                if let Some(reader) = reader {
                    let view = down_view(&reader, &e);
                    self.publish_chip(|v| {
                        *v = ChipView {
                            last: v.last.clone(),
                            ..view
                        }
                    });
                }
                return Gate::Wait;
            }
            Err(_) => return Gate::Wait,
        };
        let result = report.result.as_ref().err().map_or("ok", |f| f.code);
        self.metrics.count_chip_check(result, &report);
        if !report.reached_booklet() {
            // No reader, no booklet on it: nothing is known of the booklet; the operator is
            // told, and the engine asks again.
            let (code, message) = report
                .result
                .as_ref()
                .err()
                .map(|f| (f.code, f.message.clone()))
                .unwrap_or(("chip-absent", String::new()));
            self.publish_chip(|v| {
                v.reader = Some(name.clone());
                v.state = if code == "chip-absent" {
                    "waiting"
                } else {
                    "down"
                };
                v.code = Some(code);
                v.message = Some(message);
            });
            return Gate::Wait;
        }
        let steps: Vec<ChipStep> = report
            .steps
            .iter()
            .map(|s| ChipStep {
                step: s.step.to_owned(),
                ok: s.ok,
                detail: s.detail.clone(),
            })
            .collect();
        let message = report.result.as_ref().err().map(|f| f.message.clone());
        let chip_state = report.chip_state().map(|v| match v {
            ChipVerdict::ReadOk => ChipState::ReadOk,
            ChipVerdict::Mismatch => ChipState::Mismatch,
            ChipVerdict::Unreadable => ChipState::Unreadable,
        });
        let duration_ms = (report.read_time + report.pa_time).as_millis() as u64;
        let (id, b) = (job.job_id.clone(), booklet.clone());
        let (ds, csca, access) = (
            report.document_signer.clone(),
            report.csca.clone(),
            report.access,
        );
        let code = result.to_owned();
        let recorded = self
            .db(move |s| {
                s.record_chip_check(&NewChipCheck {
                    job_id: &id,
                    booklet: &b,
                    result: &code,
                    chip_state,
                    access,
                    steps: &steps,
                    document_signer: ds.as_deref(),
                    csca: csca.as_deref(),
                    duration_ms,
                    message: message.as_deref(),
                })
            })
            .await;
        let row = match recorded {
            Ok((_, row)) => row,
            Err(e) => {
                tracing::error!(job = %job.job_id, error = %e, "cannot record the chip check");
                return Gate::Wait;
            }
        };
        tracing::info!(
            job = %row.job_id,
            result,
            read_ms = report.read_time.as_secs_f64() * 1e3,
            pa_ms = report.pa_time.as_secs_f64() * 1e3,
            "chip checked"
        );
        self.publish_chip(|v| {
            v.reader = Some(name.clone());
            v.state = "ready";
            v.code = None;
            v.message = None;
            v.last = Some(LastCheck {
                job_id: row.job_id.clone(),
                result: result.to_owned(),
            });
        });
        if report.result.is_ok() {
            Gate::Print
        } else {
            self.publish_job(&row);
            Gate::Held
        }
    }
}

/// How long the engine waits before asking a reader that was down, or empty, again.
pub(super) const RETRY: Duration = Duration::from_secs(2);
