//! The handover gate, as the station runs it: the reader's task (its link's state for the
//! console, each read matched to a job and judged), reads typed by a keyboard-wedge reader into
//! the console, and verifying by hand with a supervisor.
//!
//! Which job a read is for: the document number in line 2 (positions 1–9) is the booklet the
//! job printed on, so the read goes to the job waiting for a read (`reading`) or in doubt
//! (`needs-verification`) whose booklet it is (`?` in the number matches any character). When
//! no such job exists and exactly one job waits for its read, the read is judged against that
//! one — another booklet laid on the reader parks it. Otherwise the read is nobody's: recorded
//! as `unexpected` (or `garbled` when the bytes made no document), shown to the operator and
//! counted, and no job moves.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Station, StationError, StationEvent};
use crate::reader::link::{self, LinkState, ReaderMsg};
use crate::reader::{Document, Event, Garbled, Verdict, judge, read_number};
use crate::store::{Action, JobRow, JobState, NewRead};

/// The reader as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaderView {
    /// Whether a reader is configured (without one, handover is verified by hand).
    pub configured: bool,
    /// The reader's device and framing (`serial:/dev/ttyUSB1 (cute)`).
    pub device: Option<String>,
    /// `none`, `connecting`, `connected` or `down`.
    pub state: String,
    /// Why it is down (stable code).
    pub code: Option<String>,
    /// What happened and what to try.
    pub message: Option<String>,
    /// The last read: when, its result, and the job it was matched to.
    pub last: Option<LastRead>,
}

/// The newest read, for the reader panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastRead {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Its result word.
    pub result: String,
    /// The job it was matched to.
    pub job_id: Option<String>,
}

impl ReaderView {
    /// The view before the reader task starts.
    pub fn initial(settings: &crate::reader::ReaderSettings) -> Self {
        Self {
            configured: settings.device.is_some(),
            device: settings.device.as_ref().map(|d| d.name()),
            state: if settings.device.is_some() {
                "connecting"
            } else {
                "none"
            }
            .to_owned(),
            code: None,
            message: None,
            last: None,
        }
    }
}

/// What one read did.
#[derive(Debug, Clone)]
pub struct ReadOutcome {
    /// The read's sequence number in the store.
    pub seq: i64,
    /// Its result word.
    pub result: &'static str,
    /// The job it moved or was matched to, as it is now.
    pub job: Option<JobRow>,
}

/// Runs the reader until `stop`, when one is configured.
pub async fn run(station: Arc<Station>, stop: CancellationToken) {
    let settings = station.options.settings.reader.clone();
    let Some(uri) = settings.device else {
        return;
    };
    let (tx, mut rx) = mpsc::channel(64);
    let link = tokio::spawn(link::run(uri, settings.quiet, false, tx, stop.clone()));
    while let Some(msg) = rx.recv().await {
        match msg {
            ReaderMsg::State(state) => station.set_reader_state(&state),
            ReaderMsg::Event { event, at } => {
                let done = match event {
                    Event::Document(doc) => station.read_document(doc, "reader").await,
                    Event::Garbled(g) => station.read_garbled(&g).await,
                };
                match done {
                    Ok(_) => station
                        .metrics
                        .read_seconds
                        .observe(at.elapsed().as_secs_f64()),
                    Err(e) => tracing::warn!(error = %e, "a read could not be recorded"),
                }
            }
            ReaderMsg::Raw(_) => {}
        }
    }
    let _ = link.await;
}

impl Station {
    /// The reader's state now.
    pub fn reader(&self) -> ReaderView {
        self.reader.borrow().clone()
    }

    /// Changes the reader's view; publishes it when it changed, and says whether it did.
    fn publish_reader(&self, update: impl FnOnce(&mut ReaderView)) -> bool {
        let mut view = self.reader.borrow().clone();
        update(&mut view);
        let changed = super::replace_if_changed(&self.reader, &view);
        if changed {
            let _ = self.events.send(StationEvent::Reader(view));
        }
        changed
    }

    fn set_reader_state(&self, state: &LinkState) {
        self.metrics
            .reader_up
            .set(i64::from(*state == LinkState::Connected));
        // A reader that is down stays "down" while the link tries again: the panel and the log
        // hear of it once, not at every attempt.
        if *state == LinkState::Connecting && self.reader.borrow().state == "down" {
            return;
        }
        let changed = self.publish_reader(|v| {
            let (word, code, message) = match state {
                LinkState::Connecting => ("connecting", None, None),
                LinkState::Connected => ("connected", None, None),
                LinkState::Down { code, message } => {
                    ("down", Some((*code).to_owned()), Some(message.clone()))
                }
            };
            v.state = word.to_owned();
            v.code = code;
            v.message = message;
        });
        if changed {
            match state {
                LinkState::Down { code, message } => {
                    tracing::warn!(code, %message, "document reader down");
                }
                other => tracing::info!(state = ?other, "document reader"),
            }
        }
    }

    /// A document read (by the reader, or typed into the console by a keyboard-wedge reader:
    /// `source` names which): matched to a job, judged, recorded, and the job moved in the same
    /// transaction.
    pub async fn read_document(
        &self,
        doc: Document,
        source: &str,
    ) -> Result<ReadOutcome, StationError> {
        let number = read_number(&doc);
        let waiting = self.db(|s| s.awaiting_read()).await?;
        let target = target(&waiting, number.as_deref());
        let Some(job) = target else {
            let (lines, who) = (doc.lines.clone(), source.to_owned());
            let (seq, _) = self
                .db(move |s| {
                    s.record_read(
                        &NewRead {
                            job_id: None,
                            result: "unexpected",
                            number: number.as_deref(),
                            lines: &lines,
                            differences: &[],
                            detail: Some("no job waits for this booklet's read"),
                            actor: &who,
                        },
                        None,
                    )
                })
                .await?;
            return Ok(self.after_read(seq, "unexpected", None, source));
        };
        let (id, booklet) = (job.job_id.clone(), job.booklet.clone());
        let payload = self.db(move |s| s.payload(&id)).await?;
        let renderer = self.renderer.clone();
        let expected = tokio::task::spawn_blocking(move || renderer.mrz(&payload, &booklet))
            .await
            .map_err(|_| StationError::ShuttingDown)?;
        let expected = match expected {
            Ok(lines) => lines,
            Err(e) => {
                // The job no longer renders: the read cannot be judged. It is kept, and the job
                // stays where it is for a person to look at.
                tracing::error!(job = %job.job_id, code = %e.code(), "a read's job cannot be rendered to judge it");
                let (job_id, lines) = (job.job_id.clone(), doc.lines.clone());
                let who = source.to_owned();
                let detail = format!("the job's MRZ cannot be made to compare ({})", e.code());
                let (seq, _) = self
                    .db(move |s| {
                        s.record_read(
                            &NewRead {
                                job_id: Some(&job_id),
                                result: "unexpected",
                                number: number.as_deref(),
                                lines: &lines,
                                differences: &[],
                                detail: Some(&detail),
                                actor: &who,
                            },
                            None,
                        )
                    })
                    .await?;
                return Ok(self.after_read(seq, "unexpected", Some(job), source));
            }
        };
        let verdict = judge([&expected[0], &expected[1]], &doc);
        let result = verdict.code();
        let action = match &verdict {
            Verdict::Match => Some(Action::ReadMatched),
            _ if job.state == JobState::Reading => Some(Action::ReadFailed),
            _ => None,
        };
        let (differences, detail) = match &verdict {
            Verdict::Match => (Vec::new(), None),
            Verdict::OtherBooklet { differences, .. } => (
                differences.iter().map(|d| (d.line, d.position)).collect(),
                Some("the booklet on the reader is not this job's".to_owned()),
            ),
            Verdict::Differs {
                differences,
                missing,
                ..
            } => (
                differences.iter().map(|d| (d.line, d.position)).collect(),
                (!missing.is_empty()).then(|| {
                    let lines: Vec<String> = missing.iter().map(u8::to_string).collect();
                    format!("line(s) {} not read", lines.join(", "))
                }),
            ),
        };
        let job_id = job.job_id.clone();
        let (lines, who) = (doc.lines.clone(), source.to_owned());
        let (seq, moved) = self
            .db(move |s| {
                s.record_read(
                    &NewRead {
                        job_id: Some(&job_id),
                        result,
                        number: number.as_deref(),
                        lines: &lines,
                        differences: &differences,
                        detail: detail.as_deref(),
                        actor: &who,
                    },
                    action,
                )
            })
            .await?;
        let row = moved.unwrap_or(job);
        Ok(self.after_read(seq, result, Some(row), source))
    }

    /// Bytes from the reader that made no document: recorded and shown, no job moves.
    pub async fn read_garbled(&self, g: &Garbled) -> Result<ReadOutcome, StationError> {
        let detail = format!("{}: {g}", g.kind.code());
        let (seq, _) = self
            .db(move |s| {
                s.record_read(
                    &NewRead {
                        job_id: None,
                        result: "garbled",
                        number: None,
                        lines: &[],
                        differences: &[],
                        detail: Some(&detail),
                        actor: "reader",
                    },
                    None,
                )
            })
            .await?;
        Ok(self.after_read(seq, "garbled", None, "reader"))
    }

    fn after_read(
        &self,
        seq: i64,
        result: &'static str,
        job: Option<JobRow>,
        source: &str,
    ) -> ReadOutcome {
        self.metrics
            .reads
            .get_or_create(&super::metrics::ResultLabel { result })
            .inc();
        let job_id = job.as_ref().map(|j| j.job_id.clone());
        match &job_id {
            Some(id) => tracing::info!(job = %id, result, source, "booklet read"),
            None => tracing::warn!(result, source, "a read no job was waiting for"),
        }
        self.publish_reader(|v| {
            v.last = Some(LastRead {
                at: crate::store::now(),
                result: result.to_owned(),
                job_id: job_id.clone(),
            });
        });
        if let Some(row) = &job {
            self.publish_job(row);
        }
        ReadOutcome { seq, result, job }
    }

    /// A job's reads, newest first (their lines opened: the caller shows them to a counter
    /// role and records the view).
    pub async fn reads(
        &self,
        job_id: &str,
        limit: u32,
    ) -> Result<Vec<crate::store::ReadRow>, StationError> {
        let id = job_id.to_owned();
        self.db(move |s| {
            s.job(&id)?;
            s.reads(Some(&id), limit)
        })
        .await
    }

    /// The two lines a keyboard-wedge reader typed into the console, read as a document:
    /// surrounding blanks dropped, anything outside `A-Z0-9<` unreadable.
    pub async fn typed_read(
        &self,
        lines: &[String],
        actor: &str,
    ) -> Result<ReadOutcome, StationError> {
        let doc = Document {
            lines: lines
                .iter()
                .map(|l| {
                    l.trim()
                        .chars()
                        .map(|c| {
                            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<' {
                                c
                            } else {
                                '?'
                            }
                        })
                        .collect()
                })
                .filter(|l: &String| !l.is_empty())
                .collect(),
            flag: None,
        };
        self.read_document(doc, &format!("keyboard:{actor}")).await
    }

    /// Verifies by hand, with a supervisor, a job the reader gates (the reader is faulty, or
    /// a person saw what it cannot).
    pub async fn verify_by_hand(
        &self,
        job_id: &str,
        actor: &str,
        supervisor: String,
        reason: Option<String>,
    ) -> Result<JobRow, StationError> {
        let (id, who) = (job_id.to_owned(), actor.to_owned());
        let row = self
            .db(move |s| s.verify_by_hand(&id, &who, &supervisor, reason.as_deref()))
            .await?;
        tracing::info!(job = %row.job_id, %actor, "verified by hand with a supervisor");
        self.publish_job(&row);
        Ok(row)
    }
}

/// The job a read with document number `number` is for (see the module's docs).
fn target(waiting: &[JobRow], number: Option<&str>) -> Option<JobRow> {
    let fits = |booklet: &str, number: &str| {
        let padded = format!("{booklet:<<9}");
        padded.len() == number.len()
            && padded
                .chars()
                .zip(number.chars())
                .all(|(b, n)| n == '?' || b == n)
    };
    if let Some(number) = number {
        let by_number: Vec<&JobRow> = waiting
            .iter()
            .filter(|j| fits(&j.booklet, number))
            .collect();
        match by_number.as_slice() {
            [one] => return Some((*one).clone()),
            [] => {}
            _ => return None,
        }
    }
    let reading: Vec<&JobRow> = waiting
        .iter()
        .filter(|j| j.state == JobState::Reading)
        .collect();
    match reading.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}
