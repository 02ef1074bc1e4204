//! The station's Prometheus metrics (`GET /metrics`, OpenMetrics text): counts read from the
//! store at scrape time (jobs by state, booklets by state, the status outbox's backlog), the
//! printer's state, reasons and link from its live view, print and transfer durations and link
//! bytes observed by the engine, document reads by result and how fast they were decided, and
//! API errors by code. Labels hold only fixed vocabulary
//! words — never a job id, a name or a number.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::PrinterView;
use crate::printer::LinkBytes;
use crate::store::{BookletState, JobState};

/// A label set of one word.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// A lifecycle, booklet or printer state.
    pub state: &'static str,
}

/// A status destination (`webhook`, `nats`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    /// The outbox destination.
    pub sink: &'static str,
}

/// A printer reason (IPP keyword).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The reason.
    pub reason: String,
}

/// An error code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    /// The stable code.
    pub code: &'static str,
}

/// A print attempt's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `printed`, `not-sent`, `failed`, `canceled` or `unknown`.
    pub outcome: &'static str,
}

/// A direction on the printer link.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    /// `written` (host to printer) or `read` (printer to host).
    pub direction: &'static str,
}

/// A document read's result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `match`, `mismatch`, `unreadable`, `other-booklet`, `unexpected` or `garbled`.
    pub result: &'static str,
}

/// API errors by code, counted where every API error becomes a response (process-wide).
pub static API_ERRORS: LazyLock<Family<CodeLabel, Counter>> = LazyLock::new(Family::default);

/// The printer states the view reports (IPP `printer-state`).
const PRINTER_STATES: [&str; 3] = ["idle", "processing", "stopped"];

fn print_buckets() -> Histogram {
    // 0.5 s to about 4 minutes: a booklet takes seconds; a slow link or a jam much longer.
    Histogram::new(exponential_buckets(0.5, 2.0, 10))
}

fn read_buckets() -> Histogram {
    // 1 ms to about 1 s: a read is decided in milliseconds (the target is 50 ms).
    Histogram::new(exponential_buckets(0.001, 2.0, 11))
}

fn transfer_buckets() -> Histogram {
    // 50 ms to about 50 s: a page's raster is a few hundred KB; 115200 baud moves ~11 KB/s.
    Histogram::new(exponential_buckets(0.05, 2.0, 11))
}

/// The station's metrics.
pub struct Metrics {
    registry: Registry,
    jobs: Family<StateLabel, Gauge>,
    queue_depth: Gauge,
    booklets: Family<StateLabel, Gauge>,
    printer_state: Family<StateLabel, Gauge>,
    printer_reasons: Family<ReasonLabel, Gauge>,
    link_up: Gauge,
    outbox_backlog: Family<SinkLabel, Gauge>,
    /// Seconds from an attempt's first byte to its outcome, by outcome.
    pub print_seconds: Family<OutcomeLabel, Histogram, fn() -> Histogram>,
    /// Seconds from a job's first byte on the link to its last.
    pub transfer_seconds: Histogram,
    /// Bytes on the printer link, by direction.
    pub link_bytes: Family<DirectionLabel, Counter>,
    /// Reads from the document reader, by result.
    pub reads: Family<ResultLabel, Counter>,
    /// Seconds from a read's last byte to the job's state change recorded.
    pub read_seconds: Histogram,
    /// 1 when the document reader's line is open.
    pub reader_up: Gauge,
    /// Chip checks, by result (`ok` or the `chip-*` code).
    chip_checks: Family<ResultLabel, Counter>,
    /// Seconds to open the chip and read its files.
    chip_read_seconds: Histogram,
    /// Seconds of Passive Authentication.
    chip_pa_seconds: Histogram,
    /// Booklets by chip state.
    booklet_chips: Family<StateLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("pstation");
        let jobs = Family::<StateLabel, Gauge>::default();
        registry.register(
            "jobs",
            "Jobs in the store, by lifecycle state",
            jobs.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Jobs queued to print (printable or waiting for a booklet confirmation)",
            queue_depth.clone(),
        );
        let booklets = Family::<StateLabel, Gauge>::default();
        registry.register(
            "booklets",
            "Booklets known to the station, by state",
            booklets.clone(),
        );
        let printer_state = Family::<StateLabel, Gauge>::default();
        registry.register(
            "printer_state",
            "1 for the printer's current state (idle, processing, stopped)",
            printer_state.clone(),
        );
        let printer_reasons = Family::<ReasonLabel, Gauge>::default();
        registry.register(
            "printer_reasons",
            "1 for each reason the printer reports now (IPP printer-state-reasons)",
            printer_reasons.clone(),
        );
        let link_up = Gauge::default();
        registry.register(
            "printer_link_up",
            "1 when the link to the printer is up",
            link_up.clone(),
        );
        let outbox_backlog = Family::<SinkLabel, Gauge>::default();
        registry.register(
            "outbox_backlog",
            "Job status changes not yet delivered to the central office, by destination",
            outbox_backlog.clone(),
        );
        let print_seconds =
            Family::<OutcomeLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                print_buckets,
            );
        registry.register(
            "print_duration_seconds",
            "Time from an attempt's first byte to its outcome",
            print_seconds.clone(),
        );
        let transfer_seconds = transfer_buckets();
        registry.register(
            "transfer_duration_seconds",
            "Time from a job's first byte sent on the printer link until the printer reported it had read the whole job (PJL: its echo of a token placed after the job's last byte; jobs it never confirmed reading are not counted)",
            transfer_seconds.clone(),
        );
        let link_bytes = Family::<DirectionLabel, Counter>::default();
        registry.register(
            "link_bytes",
            "Bytes on the printer link, by direction (written to the printer, read from it)",
            link_bytes.clone(),
        );
        let reads = Family::<ResultLabel, Counter>::default();
        registry.register(
            "reads",
            "MRZ reads from the document reader, by result (match, mismatch, unreadable, other-booklet, unexpected, garbled)",
            reads.clone(),
        );
        let read_seconds = read_buckets();
        registry.register(
            "read_decision_seconds",
            "Time from a read's last byte on the reader line to the job's state change recorded",
            read_seconds.clone(),
        );
        let reader_up = Gauge::default();
        registry.register(
            "reader_link_up",
            "1 when the document reader's line is open (0 also when no reader is configured)",
            reader_up.clone(),
        );
        let chip_checks = Family::<ResultLabel, Counter>::default();
        registry.register(
            "chip_checks",
            "E-passport chip checks before printing, by result (ok or the chip-* code)",
            chip_checks.clone(),
        );
        let chip_read_seconds = read_buckets();
        registry.register(
            "chip_read_seconds",
            "Time to open a booklet's chip (BAC) and read EF.COM, DG1, DG2 and EF.SOD",
            chip_read_seconds.clone(),
        );
        let chip_pa_seconds = read_buckets();
        registry.register(
            "chip_passive_authentication_seconds",
            "Time of a chip's Passive Authentication (hashes, SOD signature, CSCA chain)",
            chip_pa_seconds.clone(),
        );
        let booklet_chips = Family::<StateLabel, Gauge>::default();
        registry.register(
            "booklet_chips",
            "Booklets by what the station last found on their chips (unread, read-ok, mismatch, unreadable)",
            booklet_chips.clone(),
        );
        registry.register(
            "api_errors",
            "API requests refused, by error code",
            API_ERRORS.clone(),
        );
        Self {
            registry,
            jobs,
            queue_depth,
            booklets,
            printer_state,
            printer_reasons,
            link_up,
            outbox_backlog,
            print_seconds,
            transfer_seconds,
            link_bytes,
            reads,
            read_seconds,
            reader_up,
            chip_checks,
            chip_read_seconds,
            chip_pa_seconds,
            booklet_chips,
        }
    }

    /// Counts a chip check and its times.
    pub fn count_chip_check(&self, result: &'static str, report: &crate::chip::Report) {
        self.chip_checks
            .get_or_create(&ResultLabel { result })
            .inc();
        if report.access.is_some() {
            self.chip_read_seconds
                .observe(report.read_time.as_secs_f64());
        }
        if !report.pa_time.is_zero() {
            self.chip_pa_seconds.observe(report.pa_time.as_secs_f64());
        }
    }

    /// Sets the booklets-by-chip-state gauges.
    pub fn set_chip_counts(&self, chips: &crate::store::ChipCounts) {
        for (state, n) in [
            ("unread", chips.unread),
            ("read-ok", chips.read_ok),
            ("mismatch", chips.mismatch),
            ("unreadable", chips.unreadable),
        ] {
            self.booklet_chips
                .get_or_create(&StateLabel { state })
                .set(gauge(n));
        }
    }

    /// Adds the bytes a driver moved since `seen` (its totals at the last call) to the link
    /// counters, and remembers the new totals.
    pub fn count_link_bytes(&self, now: LinkBytes, seen: &mut LinkBytes) {
        for (direction, total, before) in [
            ("written", now.written, &mut seen.written),
            ("read", now.read, &mut seen.read),
        ] {
            if total > *before {
                self.link_bytes
                    .get_or_create(&DirectionLabel { direction })
                    .inc_by(total - *before);
            }
            *before = total;
        }
    }

    /// Sets the gauges from the store's counts and the printer's view, and encodes everything.
    pub fn render(
        &self,
        jobs: &[(JobState, u64)],
        booklets: &[(BookletState, u64)],
        outbox_backlog: &[(&'static str, u64)],
        printer: &PrinterView,
    ) -> Result<String, std::fmt::Error> {
        for (sink, n) in outbox_backlog {
            self.outbox_backlog
                .get_or_create(&SinkLabel { sink })
                .set(gauge(*n));
        }
        for state in JobState::ALL {
            let n = jobs
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            self.jobs
                .get_or_create(&StateLabel {
                    state: state.as_str(),
                })
                .set(gauge(n));
            if state == JobState::Queued {
                self.queue_depth.set(gauge(n));
            }
        }
        for state in BookletState::ALL {
            let n = booklets
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            self.booklets
                .get_or_create(&StateLabel {
                    state: state.as_str(),
                })
                .set(gauge(n));
        }
        for state in PRINTER_STATES {
            self.printer_state
                .get_or_create(&StateLabel { state })
                .set(i64::from(printer.state == state));
        }
        // Only the reasons reported now appear.
        self.printer_reasons.clear();
        for reason in &printer.reasons {
            self.printer_reasons
                .get_or_create(&ReasonLabel {
                    reason: reason.clone(),
                })
                .set(1);
        }
        self.link_up.set(i64::from(printer.link == "up"));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
