//! What a print asks and what it answers: the job (the page as PDF and as bitmaps), what the
//! printer can take (capabilities), the timeouts every family honours, and the outcome —
//! confirmed by the device, failed before any byte, or unknown, never guessed.

use std::time::Duration;

use crate::bitmap::Bitmap;

/// A form a family can print the page from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    /// The data page as PDF, exactly as laid out.
    Pdf,
    /// The page as 1-bit bitmaps at one of the capabilities' resolutions.
    Bitmap,
}

/// What a printer can take, as its family found out when it opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The forms it prints from, the one it prefers first.
    pub formats: Vec<DocumentFormat>,
    /// Bitmap resolutions it accepts (dots per inch, the same across and down), best first.
    pub resolutions: Vec<u32>,
    /// Page formats (PWG media names such as `iso_b7_88x125mm`, or the family's own), as the
    /// printer reports them; empty when it does not say.
    pub media: Vec<String>,
    /// Whether it prints colour.
    pub color: bool,
    /// The language of its raw command console (`PJL`), when the family has one.
    pub console: Option<&'static str>,
}

impl Capabilities {
    /// The resolution to render bitmaps at, when the printer wants bitmaps (`None`: PDF only).
    pub fn bitmap_dpi(&self) -> Option<u32> {
        if self.formats.contains(&DocumentFormat::Bitmap) {
            self.resolutions.first().copied()
        } else {
            None
        }
    }
}

/// One print: a name unique to this attempt, and the page in every form the printer asked for.
#[derive(Debug, Clone, Copy)]
pub struct PrintJob<'a> {
    /// The name the device knows the job by (the station's attempt id): an outcome for any other
    /// name is not this job's.
    pub name: &'a str,
    /// The station's job id (for an adapter's log; no personal data).
    pub job_id: &'a str,
    /// The booklet number printed into.
    pub booklet: &'a str,
    /// The data page as PDF.
    pub pdf: &'a [u8],
    /// The pages as bitmaps at `dpi` (empty when the printer takes PDF only).
    pub pages: &'a [Bitmap],
    /// The bitmaps' resolution.
    pub dpi: u32,
}

/// Timeouts every family honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverSettings {
    /// Opening the link (a connection, a process's hello) must finish within this.
    pub connect_timeout: Duration,
    /// A reply must arrive within this.
    pub reply_timeout: Duration,
    /// One chunk of job data must be accepted within this.
    pub write_timeout: Duration,
    /// Time allowed per page, once the printer is ready, before the outcome becomes unknown.
    pub page_timeout: Duration,
    /// How long a job may stay paused by an operator condition (cover open, jam, no booklets).
    pub max_pause: Duration,
    /// Heartbeat or status-poll interval (seconds) while a job prints; the printer counts as
    /// silent after three missed.
    pub heartbeat_s: u16,
}

impl DriverSettings {
    /// Defaults for a passport printer.
    pub const DEFAULT: Self = Self {
        connect_timeout: Duration::from_secs(10),
        reply_timeout: Duration::from_secs(5),
        write_timeout: Duration::from_secs(30),
        page_timeout: Duration::from_secs(180),
        max_pause: Duration::from_secs(3600),
        heartbeat_s: 30,
    };
}

/// The result of `print`, as the device confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintOutcome {
    /// Nothing reached the printer: safe to retry.
    FailedBeforeStart {
        /// Why.
        reason: String,
    },
    /// The printer confirmed the job's pages came out.
    Confirmed {
        /// Pages confirmed.
        pages: u32,
    },
    /// Cancelled at the printer's panel (or by someone else at the printer).
    CanceledAtDevice,
    /// Cancelled by the host (the station) with no sheet out: nothing was printed.
    CanceledByHost,
    /// Cannot be known; an operator must look at the booklet. Never reprint automatically.
    Unknown {
        /// Why.
        reason: String,
    },
}

impl PrintOutcome {
    /// The keyword: `confirmed`, `failed-before-start`, `canceled-at-device`,
    /// `canceled-by-host`, `unknown`.
    pub fn keyword(&self) -> &'static str {
        match self {
            Self::FailedBeforeStart { .. } => "failed-before-start",
            Self::Confirmed { .. } => "confirmed",
            Self::CanceledAtDevice => "canceled-at-device",
            Self::CanceledByHost => "canceled-by-host",
            Self::Unknown { .. } => "unknown",
        }
    }
}

/// A failure outside a print (identity, status, a console command). Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// No reply in time.
    #[error(
        "printer-timeout: no reply to {0} in time — check the cable, baud rate and flow control"
    )]
    Timeout(String),
    /// The link closed or failed.
    #[error("link-lost: {0} — check the cable and power; the station reconnects by itself")]
    LinkLost(String),
    /// The printer said something the protocol does not allow, or cannot carry what was asked.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The family has no such thing (a raw console on a family without one).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl DriverError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "printer-timeout",
            Self::LinkLost(_) => "link-lost",
            Self::Protocol(_) => "protocol",
            Self::Unsupported(_) => "unsupported",
        }
    }
}

/// A printer that could not be opened: a stable code, what happened, what a technician can try.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message} — {hint}")]
pub struct OpenError {
    /// Stable code (`device-not-found`, `device-unreachable`, `device-timeout`, ...).
    pub code: &'static str,
    /// What happened.
    pub message: String,
    /// What a technician can try.
    pub hint: &'static str,
}

impl OpenError {
    /// A device URI its family refused (`device-uri`).
    pub fn bad_uri(what: String) -> Self {
        Self {
            code: "device-uri",
            message: what,
            hint: "correct the device URI",
        }
    }
}

/// How a job's time ran out (see `JobClock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    /// The printer stayed stopped (an operator condition) longer than `max_pause`.
    Paused,
    /// The printer could print and the job did not end within its pages' time.
    Budget,
}

/// The time a job may take, the same in every family: `page_timeout` per page, counted only
/// while the printer can print; while it is stopped (a jam, an open cover, no booklets) the
/// clock pauses, for at most `max_pause`. Each driver ticks it whenever it looks at the job.
#[derive(Debug, Clone)]
pub struct JobClock {
    budget: Duration,
    paused: Duration,
    max_pause: Duration,
    last: tokio::time::Instant,
}

impl JobClock {
    /// The clock of a job of `pages` pages, starting now.
    pub fn new(settings: &DriverSettings, pages: u32) -> Self {
        Self {
            budget: settings.page_timeout * pages.max(1),
            paused: Duration::ZERO,
            max_pause: settings.max_pause,
            last: tokio::time::Instant::now(),
        }
    }

    /// Counts the time since the last tick against the job: as a pause when the printer is
    /// `stopped`, else against its pages' time. `Err` once either runs out.
    pub fn tick(&mut self, stopped: bool) -> Result<(), Overrun> {
        let now = tokio::time::Instant::now();
        let elapsed = now - self.last;
        self.last = now;
        if stopped {
            self.paused += elapsed;
            if self.paused > self.max_pause {
                return Err(Overrun::Paused);
            }
        } else if let Some(left) = self.budget.checked_sub(elapsed) {
            self.budget = left;
        } else {
            return Err(Overrun::Budget);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_jobs_clock_runs_only_while_the_printer_can_print_and_pauses_only_so_long() {
        let settings = DriverSettings {
            page_timeout: Duration::from_secs(10),
            max_pause: Duration::from_secs(30),
            ..DriverSettings::DEFAULT
        };
        let mut clock = JobClock::new(&settings, 2);
        tokio::time::advance(Duration::from_secs(15)).await;
        assert_eq!(clock.tick(false), Ok(()));
        // Stopped for 25 s: a pause, not the pages' time.
        tokio::time::advance(Duration::from_secs(25)).await;
        assert_eq!(clock.tick(true), Ok(()));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(clock.tick(false), Ok(()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(clock.tick(false), Err(Overrun::Budget));
        let mut clock = JobClock::new(&settings, 1);
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(clock.tick(true), Err(Overrun::Paused));
    }

    #[test]
    fn bitmaps_are_rendered_only_for_a_printer_that_takes_them() {
        let mut caps = Capabilities {
            formats: vec![DocumentFormat::Pdf],
            resolutions: vec![600, 300],
            media: Vec::new(),
            color: false,
            console: None,
        };
        assert_eq!(caps.bitmap_dpi(), None);
        caps.formats.push(DocumentFormat::Bitmap);
        assert_eq!(caps.bitmap_dpi(), Some(600));
        assert_eq!(PrintOutcome::CanceledByHost.keyword(), "canceled-by-host");
        assert_eq!(
            DriverError::Timeout("INFO ID".into()).code(),
            "printer-timeout"
        );
    }
}
