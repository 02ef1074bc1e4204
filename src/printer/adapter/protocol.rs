//! The adapter protocol, version 1 (docs/adapters.md), sans-IO: one JSON object per line, the
//! station's requests on the adapter's standard input, its answers and events on its standard
//! output. `encode` and `decode` are the codec; `PrintTracker` is the state machine of one
//! print, fed every line the adapter sends until it yields the outcome — never a guess: an
//! outcome for another job, a short count, an unknown word or a broken line is `Unknown`.

use base64::Engine as _;
use pstation_printer_api::{
    Bitmap, Capabilities, DocumentFormat, Identity, Link, PrintOutcome, PrinterState, PrinterStatus,
};
use serde::{Deserialize, Serialize};

/// The protocol version this station speaks.
pub const VERSION: u32 = 1;

/// The longest line the station reads from an adapter (a status or an outcome is far smaller).
pub const MAX_LINE: usize = 64 * 1024;

/// A page as bits: `width × height` pixels, rows of `ceil(width / 8)` bytes, most significant
/// bit first, 1 = ink, base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireBitmap {
    /// Pixels across.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Dots per inch.
    pub dpi: u32,
    /// The rows, base64.
    pub bits: String,
}

impl WireBitmap {
    /// `page` at `dpi`.
    pub fn from_bitmap(page: &Bitmap, dpi: u32) -> Self {
        Self {
            width: page.width,
            height: page.height,
            dpi,
            bits: base64::engine::general_purpose::STANDARD.encode(&page.bits),
        }
    }
}

/// What the adapter says it can take (in `hello`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCapabilities {
    /// `pdf` and/or `bitmap`, preferred first.
    pub formats: Vec<String>,
    /// Bitmap resolutions (dpi), preferred first; needed with `bitmap`.
    #[serde(default)]
    pub resolutions: Vec<u32>,
    /// Page formats (PWG media names).
    #[serde(default)]
    pub media: Vec<String>,
    /// Colour.
    #[serde(default)]
    pub color: bool,
}

/// The station to the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Request {
    /// First: the versions the station speaks.
    Hello {
        /// Request id.
        id: u64,
        /// Versions, highest first.
        protocol: Vec<u32>,
        /// `pstation 0.1.0`.
        station: String,
    },
    /// Who the printer is.
    Identity {
        /// Request id.
        id: u64,
    },
    /// The printer's status now.
    Status {
        /// Request id.
        id: u64,
    },
    /// Print one job; `accepted`, `progress` and one `outcome` follow.
    Print {
        /// Request id (the outcome carries it).
        id: u64,
        /// The name of this attempt (unique; the outcome carries it).
        job: String,
        /// The station's job id.
        job_id: String,
        /// The booklet printed into.
        booklet: String,
        /// Pages (impressions) in the job.
        pages: u32,
        /// The page as PDF, base64, when the adapter takes PDF.
        #[serde(skip_serializing_if = "Option::is_none")]
        pdf: Option<String>,
        /// The pages as bitmaps at a resolution the adapter asked for, when it takes bitmaps.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        bitmaps: Vec<WireBitmap>,
    },
    /// Stop `job` as far as the printer allows; the print's outcome still follows.
    Cancel {
        /// Request id.
        id: u64,
        /// The job's name.
        job: String,
    },
}

impl Request {
    /// The request id.
    pub fn id(&self) -> u64 {
        match self {
            Self::Hello { id, .. }
            | Self::Identity { id }
            | Self::Status { id }
            | Self::Print { id, .. }
            | Self::Cancel { id, .. } => *id,
        }
    }
}

/// The adapter to the station.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Reply {
    /// The answer to `hello`.
    Hello {
        /// The request's id.
        id: u64,
        /// The version it chose.
        protocol: u32,
        /// Its name and version.
        adapter: String,
        /// What it takes.
        capabilities: WireCapabilities,
    },
    /// The answer to `identity`.
    Identity {
        /// The request's id.
        id: u64,
        /// Make and model.
        model: String,
        /// Impressions in the printer's life.
        #[serde(default)]
        page_count: Option<u64>,
        /// Further lines (firmware, serial number).
        #[serde(default)]
        config: Vec<String>,
    },
    /// The printer's status: the answer to `status` (with its id) or an event (without).
    Status {
        /// The request's id; none for an event.
        #[serde(default)]
        id: Option<u64>,
        /// `idle`, `processing` or `stopped`.
        state: String,
        /// `printer-state-reasons` keywords with their suffix.
        #[serde(default)]
        reasons: Vec<String>,
        /// Panel text or a message.
        #[serde(default)]
        message: Option<String>,
    },
    /// The print was taken: the printer may now be working on it.
    Accepted {
        /// The print request's id.
        id: u64,
        /// The job's name.
        job: String,
    },
    /// Sheets delivered so far.
    Progress {
        /// The job's name.
        job: String,
        /// Sheets out.
        sheets: u32,
    },
    /// How the print ended: `confirmed`, `failed-before-start`, `unknown`, `canceled` (by the
    /// station, nothing out), `canceled-at-device`.
    Outcome {
        /// The print request's id.
        id: u64,
        /// The job's name.
        job: String,
        /// The word.
        outcome: String,
        /// Pages confirmed (with `confirmed`).
        #[serde(default)]
        pages: Option<u32>,
        /// Why (with anything but `confirmed`).
        #[serde(default)]
        reason: Option<String>,
    },
    /// The answer to `cancel`.
    Ack {
        /// The request's id.
        id: u64,
    },
    /// A request it could not serve.
    Error {
        /// The request's id, when it could read one.
        #[serde(default)]
        id: Option<u64>,
        /// A stable code (`unsupported`, `bad-request`, `printer-unreachable`, ...).
        code: String,
        /// What happened.
        message: String,
    },
}

impl Reply {
    /// The id of the request this answers (`None` for events).
    pub fn answers(&self) -> Option<u64> {
        match self {
            Self::Hello { id, .. }
            | Self::Identity { id, .. }
            | Self::Accepted { id, .. }
            | Self::Outcome { id, .. }
            | Self::Ack { id } => Some(*id),
            Self::Status { id, .. } | Self::Error { id, .. } => *id,
            Self::Progress { .. } => None,
        }
    }
}

/// One line for the adapter.
pub fn encode(request: &Request) -> String {
    // Serialising these types cannot fail: strings, numbers and vectors only.
    let mut line = serde_json::to_string(request).unwrap_or_default();
    line.push('\n');
    line
}

/// One line from the adapter, checked: what is wrong names the field.
pub fn decode(line: &str) -> Result<Reply, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.len() > MAX_LINE {
        return Err(format!(
            "a line of {} bytes (at most {MAX_LINE})",
            line.len()
        ));
    }
    let de = &mut serde_json::Deserializer::from_str(line);
    let reply: Reply = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("not a protocol line: {}", e.inner())
        } else {
            format!("{path}: {}", e.inner())
        }
    })?;
    if let Reply::Status { state, reasons, .. } = &reply {
        status_parts(state, reasons)?;
    }
    Ok(reply)
}

fn status_parts(state: &str, reasons: &[String]) -> Result<PrinterState, String> {
    let state = match state {
        "idle" => PrinterState::Idle,
        "processing" => PrinterState::Processing,
        "stopped" => PrinterState::Stopped,
        other => {
            return Err(format!(
                "state: {other:?} is not idle, processing or stopped"
            ));
        }
    };
    for r in reasons {
        let keyword = r
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let suffixed = ["-report", "-warning", "-error"]
            .iter()
            .any(|s| r.ends_with(s) && r.len() > s.len());
        if !keyword || !suffixed {
            return Err(format!(
                "reasons: {r:?} is not a printer-state-reasons keyword with its -report, -warning or -error suffix"
            ));
        }
    }
    Ok(state)
}

/// A status line as the station's status (already checked by `decode`).
pub fn status(state: &str, reasons: &[String], message: Option<&str>) -> PrinterStatus {
    let state = status_parts(state, reasons).unwrap_or(PrinterState::Stopped);
    let waiting = state != PrinterState::Stopped
        && reasons
            .iter()
            .any(|r| pstation_printer_api::reasons::SETTLING.contains(&r.as_str()));
    PrinterStatus {
        state,
        reasons: reasons.to_vec(),
        codes: Vec::new(),
        display: message.map(str::to_owned),
        link: Link::Up,
        waiting,
    }
}

/// The adapter's capabilities as the station's.
pub fn capabilities(c: &WireCapabilities) -> Result<Capabilities, String> {
    let mut formats = Vec::new();
    for f in &c.formats {
        formats.push(match f.as_str() {
            "pdf" => DocumentFormat::Pdf,
            "bitmap" => DocumentFormat::Bitmap,
            other => {
                return Err(format!(
                    "capabilities.formats: {other:?} is not pdf or bitmap"
                ));
            }
        });
    }
    if formats.is_empty() {
        return Err("capabilities.formats: the adapter takes no format".to_owned());
    }
    if formats.contains(&DocumentFormat::Bitmap)
        && (c.resolutions.is_empty() || c.resolutions.iter().any(|d| !(72..=2400).contains(d)))
    {
        return Err(
            "capabilities.resolutions: bitmaps need resolutions of 72 to 2400 dpi".to_owned(),
        );
    }
    Ok(Capabilities {
        formats,
        resolutions: c.resolutions.clone(),
        media: c.media.clone(),
        color: c.color,
        console: None,
    })
}

/// The answer to `identity` as the station's.
pub fn identity(model: &str, page_count: Option<u64>, config: &[String]) -> Identity {
    Identity {
        model: model.to_owned(),
        page_count,
        config: config.to_vec(),
    }
}

/// What a line meant to the print in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing for the print (an answer to another request, a status event).
    Nothing,
    /// The adapter took the job.
    Accepted,
    /// Sheets delivered.
    Progress(u32),
    /// The print is over.
    Done(PrintOutcome),
}

/// One print as the adapter reports it.
#[derive(Debug, Clone)]
pub struct PrintTracker {
    id: u64,
    job: String,
    expected: u32,
    accepted: bool,
    canceled: bool,
}

impl PrintTracker {
    /// The print request `id` for job `job` of `expected` pages.
    pub fn new(id: u64, job: &str, expected: u32) -> Self {
        Self {
            id,
            job: job.to_owned(),
            expected,
            accepted: false,
            canceled: false,
        }
    }

    /// The station asked to cancel.
    pub fn cancel(&mut self) {
        self.canceled = true;
    }

    /// Whether the station asked to cancel.
    pub fn is_canceled(&self) -> bool {
        self.canceled
    }

    /// The job's name.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// Whether the adapter has taken the job (after that, only its outcome ends it).
    pub fn accepted(&self) -> bool {
        self.accepted
    }

    /// Feeds one line the adapter sent.
    pub fn feed(&mut self, reply: &Reply) -> Step {
        let unknown = |reason: String| Step::Done(PrintOutcome::Unknown { reason });
        match reply {
            Reply::Accepted { id, job } if *id == self.id && *job == self.job => {
                self.accepted = true;
                Step::Accepted
            }
            Reply::Accepted { job, .. } => unknown(format!(
                "the adapter accepted another job ({job:?}) while ours was printing"
            )),
            Reply::Progress { job, sheets } if *job == self.job => Step::Progress(*sheets),
            Reply::Progress { .. } => Step::Nothing,
            Reply::Outcome {
                id,
                job,
                outcome,
                pages,
                reason,
            } => {
                if *id != self.id || *job != self.job {
                    return unknown(format!(
                        "the adapter reported an outcome for another job ({job:?}, request {id})"
                    ));
                }
                let why = reason
                    .clone()
                    .unwrap_or_else(|| "the adapter gave no reason".to_owned());
                Step::Done(match outcome.as_str() {
                    "confirmed" => match pages {
                        Some(n) if *n >= self.expected => PrintOutcome::Confirmed {
                            pages: self.expected,
                        },
                        other => PrintOutcome::Unknown {
                            reason: format!(
                                "the adapter confirmed {} of {} pages",
                                other.map_or("an unstated number".to_owned(), |n| n.to_string()),
                                self.expected
                            ),
                        },
                    },
                    "failed-before-start" => PrintOutcome::FailedBeforeStart { reason: why },
                    "unknown" => PrintOutcome::Unknown { reason: why },
                    "canceled" if self.canceled => PrintOutcome::CanceledByHost,
                    "canceled" => PrintOutcome::Unknown {
                        reason: format!("the adapter cancelled a job nobody cancelled: {why}"),
                    },
                    "canceled-at-device" => PrintOutcome::CanceledAtDevice,
                    other => PrintOutcome::Unknown {
                        reason: format!("the adapter's outcome {other:?} is not a protocol word"),
                    },
                })
            }
            Reply::Error {
                id: Some(id),
                code,
                message,
            } if *id == self.id => {
                if self.accepted {
                    unknown(format!(
                        "the adapter failed after taking the job: {code}: {message}"
                    ))
                } else {
                    Step::Done(PrintOutcome::FailedBeforeStart {
                        reason: format!("the adapter refused the job: {code}: {message}"),
                    })
                }
            }
            _ => Step::Nothing,
        }
    }
}

#[cfg(test)]
mod tests;
