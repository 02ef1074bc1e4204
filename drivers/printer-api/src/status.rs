//! What a printer is doing, in the IPP vocabulary every family maps to: `idle`, `processing`,
//! `stopped`, plus `printer-state-reasons` keywords (RFC 8011 §5.4.12 and the PWG registry);
//! who it is (identity and counters); and the bytes on its link.

use std::time::Duration;

/// `printer-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrinterState {
    /// Ready, nothing printing.
    Idle,
    /// Printing.
    Processing,
    /// Cannot print until something changes (an operator, warm-up, the link).
    Stopped,
}

impl PrinterState {
    /// The IPP keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Processing => "processing",
            Self::Stopped => "stopped",
        }
    }
}

/// The link to the printer (cable, socket, adapter process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Talking.
    Up,
    /// Closed or failed: reported as `offline-report`.
    Lost,
}

/// What the operator sees about the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterStatus {
    /// idle / processing / stopped.
    pub state: PrinterState,
    /// `printer-state-reasons` keywords (`cover-open-error`, `media-jam-error`,
    /// `offline-report` ...), never `none`.
    pub reasons: Vec<String>,
    /// The device's own status codes, as the family names them (PJL device codes such as
    /// `40021`), for technicians comparing with the manual; empty where the family has none.
    pub codes: Vec<String>,
    /// Panel text or the printer's state message, for humans.
    pub display: Option<String>,
    /// The link.
    pub link: Link,
    /// A transient condition (warming up, self test, reset, cancelling) that ends by itself:
    /// a job waits for it, nobody needs to act.
    pub waiting: bool,
}

impl PrinterStatus {
    /// Before the printer has answered.
    pub fn connecting() -> Self {
        Self {
            state: PrinterState::Stopped,
            reasons: vec!["connecting-to-device-report".to_owned()],
            codes: Vec::new(),
            display: None,
            link: Link::Up,
            waiting: false,
        }
    }

    /// The link is gone: stopped, `offline-report`.
    pub fn lost() -> Self {
        Self {
            state: PrinterState::Stopped,
            reasons: vec!["offline-report".to_owned()],
            codes: Vec::new(),
            display: None,
            link: Link::Lost,
            waiting: false,
        }
    }

    /// Whether a job may start now.
    pub fn ready(&self) -> bool {
        self.link == Link::Up && self.state != PrinterState::Stopped && !self.waiting
    }

    /// Why a job cannot start now, in words with the reason keywords.
    pub fn why_not_ready(&self) -> String {
        let what = crate::reasons::describe_with_keywords(&self.reasons);
        if self.link == Link::Lost {
            format!("the printer is not connected: {what}")
        } else if self.settling() {
            format!("the printer is busy and will be ready by itself: {what}")
        } else {
            format!("the printer is not ready: {what}")
        }
    }

    /// Whether the printer will be ready by itself (warming up, ...): wait, do not report a
    /// fault.
    pub fn settling(&self) -> bool {
        self.link == Link::Up && self.state != PrinterState::Stopped && self.waiting
    }

    /// Why a job paused by this status ran out of time: `the printer stayed stopped (booklet
    /// jammed (media-jam-error)) too long`.
    pub fn stopped_too_long(&self) -> String {
        format!(
            "the printer stayed stopped ({}) too long",
            crate::reasons::describe_with_keywords(&self.reasons)
        )
    }

    /// Whether `reason` is among the reasons.
    pub fn has(&self, reason: &str) -> bool {
        self.reasons.iter().any(|r| r == reason)
    }
}

/// Who the printer is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// Make and model (`INFO ID`, `printer-make-and-model`, the adapter's `model`).
    pub model: String,
    /// Pages (impressions) printed in the printer's life, when it says.
    pub page_count: Option<u64>,
    /// Further lines about the printer (firmware, serial number, configuration), as it gave them.
    pub config: Vec<String>,
}

/// Bytes on the link since the driver attached to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkBytes {
    /// Host to printer.
    pub written: u64,
    /// Printer to host.
    pub read: u64,
}

/// One job's data on the link, as `print` sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkTransfer {
    /// Bytes the link accepted.
    pub bytes: u64,
    /// The transfer as the printer saw it: from the first byte written until the printer had
    /// read the whole job (a family that cannot tell says `None`). Over a socket the kernel
    /// accepts a job long before the printer has read it, so the time of the writes alone says
    /// nothing.
    pub read_by_printer: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_idle_or_processing_printer_on_a_live_link_with_nothing_to_wait_for_is_ready() {
        let mut s = PrinterStatus::connecting();
        assert!(!s.ready() && !s.settling());
        s.state = PrinterState::Idle;
        s.reasons.clear();
        assert!(s.ready());
        s.waiting = true;
        s.reasons.push("warming-up-report".to_owned());
        assert!(!s.ready() && s.settling());
        assert!(
            s.why_not_ready().contains("ready by itself"),
            "{}",
            s.why_not_ready()
        );
        let lost = PrinterStatus::lost();
        assert!(!lost.ready() && lost.has("offline-report"));
        assert!(
            lost.why_not_ready()
                .starts_with("the printer is not connected")
        );
        assert_eq!(PrinterState::Processing.as_str(), "processing");
    }
}
