//! The PJL + PCL printer driver: identity and status over a byte stream, and `print`, which
//! returns the confirmed outcome — completed only on `END` with our job name and page count.
//!
//! Design: one owner (a task) holds the driver; it writes through one half of the stream while
//! it keeps reading and dispatching status from the other, so unsolicited status never backs up.
//! Every read and write is bounded by a timeout. An outcome that cannot be known — link lost
//! after the first byte, the printer silent, no `END` in time — is `Unknown`, never a guess.

use std::time::Duration;

use pstation_pjl::pcl::{Bitmap, encode_job};
use pstation_pjl::pjl::{self, DeviceStatus, Frame, JobOptions, Message, ReplyParser};
use pstation_pjl::status::{Outcome, PrinterState, classify, judge_canceled, judge_end};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use pstation_printer_api::{
    DriverError, DriverSettings, Identity, JobClock, Link, LinkBytes, LinkTransfer, Overrun,
    PrintOutcome, PrinterStatus,
};

use super::transport::Stream;

/// One printer, owned by one task.
pub struct PjlPrinter {
    rd: ReadHalf<Box<dyn Stream>>,
    wr: WriteHalf<Box<dyn Stream>>,
    parser: ReplyParser,
    settings: DriverSettings,
    status: watch::Sender<PrinterStatus>,
    token: u64,
    buf: Vec<u8>,
    /// Frames read past a request's echo, handed to the next reader first.
    pending: std::collections::VecDeque<Frame>,
    /// Bytes written to and read from the link since it was opened.
    bytes: LinkBytes,
    /// What the last `print` put on the link.
    last_transfer: Option<LinkTransfer>,
    /// `USTATUS DEVICE = ON` was acknowledged on this link: the printer reports changes unasked.
    device_status_on: bool,
}

/// How often the engine asks an idle printer of this family for its status: a liveness check,
/// since the printer reports each change itself (every 2 s before; this is a fifth of that
/// traffic).
pub const LIVENESS_POLL: Duration = Duration::from_secs(10);

impl PjlPrinter {
    /// Takes over an open stream.
    pub fn attach(stream: Box<dyn Stream>, settings: DriverSettings) -> Self {
        let (rd, wr) = tokio::io::split(stream);
        let (status, _) = watch::channel(PrinterStatus::connecting());
        Self {
            rd,
            wr,
            parser: ReplyParser::new(),
            settings,
            status,
            token: 0,
            buf: vec![0; 4096],
            pending: std::collections::VecDeque::new(),
            bytes: LinkBytes::default(),
            last_transfer: None,
            device_status_on: false,
        }
    }

    /// Bytes on the link since it was opened.
    pub fn link_bytes(&self) -> LinkBytes {
        self.bytes
    }

    /// The job data the last `print` sent, when it sent all of it (or up to a host cancel);
    /// `None` before any print and when the link failed mid-job.
    pub fn last_transfer(&self) -> Option<LinkTransfer> {
        self.last_transfer
    }

    /// A live view of the printer's status.
    pub fn subscribe(&self) -> watch::Receiver<PrinterStatus> {
        self.status.subscribe()
    }

    /// The status last seen.
    pub fn last_status(&self) -> PrinterStatus {
        self.status.borrow().clone()
    }

    fn next_token(&mut self) -> String {
        self.token += 1;
        format!("PST{}-{}", std::process::id(), self.token)
    }

    fn lost(&mut self, why: &str) -> DriverError {
        self.status.send_modify(|s| {
            s.link = Link::Lost;
            s.state = PrinterState::Stopped;
            s.reasons = vec!["offline-report".to_owned()];
            s.waiting = false;
        });
        DriverError::LinkLost(why.to_owned())
    }

    fn dispatch(&mut self, m: &Message) {
        if let Message::Device(s) | Message::Timed(s) | Message::InfoStatus(s) = m {
            let previous = self.status.borrow().state;
            let next = status_from_device(s, previous);
            self.status.send_if_modified(|cur| {
                if *cur == next {
                    false
                } else {
                    *cur = next;
                    true
                }
            });
        }
    }

    /// Reads once (bounded by `until`), returning the frames parsed.
    async fn read_some(&mut self, until: Instant) -> Result<Vec<Frame>, ReadEnd> {
        if !self.pending.is_empty() {
            return Ok(self.pending.drain(..).collect());
        }
        match tokio::time::timeout_at(until, self.rd.read(&mut self.buf)).await {
            Err(_) => Err(ReadEnd::Timeout),
            Ok(Ok(0)) => Err(ReadEnd::Closed(
                "the printer closed the link (read 0 bytes)".into(),
            )),
            Ok(Err(e)) => Err(ReadEnd::Closed(format!("read failed: {e}"))),
            Ok(Ok(n)) => {
                self.bytes.read += n as u64;
                let frames = self.parser.feed_frames(&self.buf[..n]);
                for f in &frames {
                    self.dispatch(&f.message);
                }
                Ok(frames)
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
        let limit = self.settings.write_timeout;
        match tokio::time::timeout(limit, async {
            self.wr.write_all(bytes).await?;
            self.wr.flush().await
        })
        .await
        {
            Err(_) => Err(DriverError::Timeout("a write".to_owned())),
            Ok(Err(e)) => Err(self.lost(&format!("write failed: {e}"))),
            Ok(Ok(())) => {
                self.bytes.written += bytes.len() as u64;
                Ok(())
            }
        }
    }

    /// Sends `command` followed by an ECHO and returns everything read up to that echo; stale
    /// input from before is discarded by the echo token.
    pub async fn request(
        &mut self,
        command: &str,
        what: &'static str,
    ) -> Result<Vec<Message>, DriverError> {
        Ok(self
            .request_frames(command, what)
            .await?
            .into_iter()
            .map(|f| f.message)
            .collect())
    }

    /// `request`, each answer with the lines the printer sent for it.
    pub async fn request_frames(
        &mut self,
        command: &str,
        what: &'static str,
    ) -> Result<Vec<Frame>, DriverError> {
        let token = self.next_token();
        let bytes =
            pjl::request(command, &token).map_err(|e| DriverError::Protocol(e.to_string()))?;
        self.write(&bytes).await?;
        let until = Instant::now() + self.settings.reply_timeout;
        let mut got = Vec::new();
        loop {
            match self.read_some(until).await {
                Ok(frames) => {
                    let mut rest = frames.into_iter();
                    for f in rest.by_ref() {
                        if f.message == Message::Echo(token.clone()) {
                            // Whatever came after the echo belongs to the next reader.
                            self.pending.extend(rest);
                            return Ok(got);
                        }
                        got.push(f);
                    }
                }
                Err(ReadEnd::Timeout) => return Err(DriverError::Timeout(what.to_owned())),
                Err(ReadEnd::Closed(why)) => return Err(self.lost(&why)),
            }
        }
    }

    /// `INFO ID`, `INFO PAGECOUNT`, `INFO CONFIG`.
    pub async fn identity(&mut self) -> Result<Identity, DriverError> {
        let mut id = Identity {
            model: String::new(),
            page_count: None,
            config: Vec::new(),
        };
        for m in self.request("INFO ID", "INFO ID").await? {
            if let Message::InfoId(model) = m {
                id.model = model;
            }
        }
        for m in self.request("INFO PAGECOUNT", "INFO PAGECOUNT").await? {
            if let Message::PageCount(n) = m {
                id.page_count = n;
            }
        }
        for m in self.request("INFO CONFIG", "INFO CONFIG").await? {
            if let Message::Info { lines, .. } = m {
                id.config = lines;
            }
        }
        Ok(id)
    }

    /// `INFO PAGECOUNT`.
    pub async fn page_count(&mut self) -> Result<Option<u64>, DriverError> {
        let mut count = None;
        for m in self.request("INFO PAGECOUNT", "INFO PAGECOUNT").await? {
            if let Message::PageCount(n) = m {
                count = n;
            }
        }
        Ok(count)
    }

    /// `INFO STATUS`, also published to subscribers. The first time on a link it also turns
    /// on the printer's unsolicited device status on this channel (`USTATUS DEVICE = ON`,
    /// which a job's envelope sets too), so that an idle printer's changes arrive unasked.
    pub async fn status(&mut self) -> Result<PrinterStatus, DriverError> {
        if !self.device_status_on {
            self.request("USTATUS DEVICE = ON", "USTATUS DEVICE")
                .await?;
            self.device_status_on = true;
        }
        self.request("INFO STATUS", "INFO STATUS").await?;
        Ok(self.last_status())
    }

    /// Reads what an idle printer sends unasked until its status changes (true) or `limit`
    /// passes (false). A link that closes is a change (to lost). Frames other than status
    /// (a late answer to an earlier request) are dropped, as the next request's echo would.
    /// Cancel-safe: a read cut short loses no byte.
    pub async fn wait_for_change(&mut self, limit: Duration) -> bool {
        if !self.device_status_on {
            tokio::time::sleep(limit).await;
            return false;
        }
        let before = self.last_status();
        let until = Instant::now() + limit;
        loop {
            match self.read_some(until).await {
                Ok(_) => {
                    if *self.status.borrow() != before {
                        return true;
                    }
                }
                Err(ReadEnd::Timeout) => return false,
                Err(ReadEnd::Closed(why)) => {
                    let _ = self.lost(&why);
                    return true;
                }
            }
        }
    }

    /// Prints `pages` as job `name` and returns the confirmed outcome. `progress` is called with
    /// the number of sheets delivered so far.
    ///
    /// `cancel` stops the job: before the first byte it is `CanceledByHost` (nothing sent);
    /// while sending, the rest of the data is dropped, the job is closed with `EOJ`, and only an
    /// `END` reporting no sheet out counts as cancelled (anything else is `Unknown`: a booklet
    /// may be partly printed). Once every byte is sent the booklet is being personalised and
    /// cannot be stopped from the host; the outcome is then whatever the printer reports.
    pub async fn print(
        &mut self,
        name: &str,
        pages: &[Bitmap],
        dpi: u32,
        cancel: &CancellationToken,
        mut progress: impl FnMut(u32),
    ) -> PrintOutcome {
        self.last_transfer = None;
        // Before the first byte of the job: anything that fails is safe to retry.
        if let Err(outcome) = pstation_printer_api::preflight(cancel, self.status()).await {
            return outcome;
        }
        let mut pcl = Vec::new();
        encode_job(pages, dpi, &mut pcl);
        let token = self.next_token();
        let end_token = self.next_token();
        let job = match pjl::job(
            &JobOptions {
                name,
                echo_token: &token,
                heartbeat_s: self.settings.heartbeat_s,
                end_token: Some(&end_token),
            },
            &pcl,
        ) {
            Ok(j) => j,
            Err(e) => {
                return PrintOutcome::FailedBeforeStart {
                    reason: e.to_string(),
                };
            }
        };
        let expected = pages.len() as u32;

        // Send in chunks while reading, so status never backs up behind our data.
        let mut sent = 0usize;
        let mut tracker = JobTracker {
            name: name.to_owned(),
            token: token.clone(),
            end_token,
            read_all: None,
            synced: false,
            started: false,
            delivered: 0,
            end: None,
        };
        let mut canceled = false;
        let mut first_byte: Option<Instant> = None;
        'send: for chunk in job.chunks(1024) {
            let mut off = 0;
            while off < chunk.len() {
                let limit = self.settings.write_timeout;
                let write = tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        canceled = true;
                        break 'send;
                    }
                    w = tokio::time::timeout(limit, self.wr.write(&chunk[off..])) => w,
                };
                match write {
                    Ok(Ok(0)) | Ok(Err(_)) => {
                        let why = "the link refused data (write failed)".to_owned();
                        let _ = self.lost(&why);
                        // Only a failure before any byte was accepted is safe to retry.
                        return if sent == 0 {
                            PrintOutcome::FailedBeforeStart { reason: why }
                        } else {
                            PrintOutcome::Unknown {
                                reason: format!("link lost while sending after {sent} bytes"),
                            }
                        };
                    }
                    Ok(Ok(n)) => {
                        first_byte.get_or_insert_with(Instant::now);
                        off += n;
                        sent += n;
                        self.bytes.written += n as u64;
                    }
                    Err(_) => {
                        return if sent == 0 {
                            PrintOutcome::FailedBeforeStart {
                                reason: "the printer accepted no data (write timed out)".to_owned(),
                            }
                        } else {
                            PrintOutcome::Unknown {
                                reason: "the printer stopped accepting data (write timed out)"
                                    .to_owned(),
                            }
                        };
                    }
                }
            }
            if let Ok(Err(_)) | Err(_) =
                tokio::time::timeout(self.settings.write_timeout, self.wr.flush()).await
            {
                let _ = self.lost("flush failed");
                return PrintOutcome::Unknown {
                    reason: format!("link lost while sending after {sent} bytes"),
                };
            }
            // Drain whatever the printer said meanwhile, without waiting.
            while let Ok(frames) = self
                .read_some(Instant::now() + Duration::from_millis(1))
                .await
            {
                for f in frames {
                    track(f.message, &mut tracker, &mut progress);
                }
            }
        }
        if canceled {
            if sent == 0 {
                return PrintOutcome::CanceledByHost;
            }
            tracing::info!(job = %name, sent, "cancelling a job while sending it");
            // Close the job where the data stopped; the printer ends it with what it has.
            let trailer = match pjl::end_of_job(name) {
                Ok(t) => t,
                Err(e) => {
                    return PrintOutcome::Unknown {
                        reason: format!("cancelled after {sent} bytes; cannot end the job: {e}"),
                    };
                }
            };
            if let Err(e) = self.write(&trailer).await {
                return PrintOutcome::Unknown {
                    reason: format!(
                        "cancelled after {sent} bytes; the printer did not take the end of the job: {e}"
                    ),
                };
            }
        }
        let end = self.await_end(&mut tracker, expected, &mut progress).await;
        if let Some(t) = first_byte {
            self.last_transfer = Some(LinkTransfer {
                bytes: sent as u64,
                read_by_printer: tracker.read_all.map(|at| at.saturating_duration_since(t)),
            });
        }
        let end = match end {
            Ok(end) => end,
            Err(unknown) => return unknown,
        };
        let outcome = if canceled {
            judge_canceled(name, &end)
        } else {
            judge_end(name, expected, &end)
        };
        match outcome {
            Outcome::Completed => PrintOutcome::Confirmed { pages: expected },
            Outcome::CanceledAtDevice => PrintOutcome::CanceledAtDevice,
            Outcome::CanceledByHost => PrintOutcome::CanceledByHost,
            Outcome::Unknown(reason) => PrintOutcome::Unknown { reason },
        }
    }

    /// Waits for our job's `END`. The clock runs only while the printer is ready; an operator
    /// condition (cover, jam, booklets) pauses it, up to `max_pause`. Silence, link loss and
    /// running out of time are `Err(Unknown)`.
    async fn await_end(
        &mut self,
        tracker: &mut JobTracker,
        expected: u32,
        progress: &mut impl FnMut(u32),
    ) -> Result<pstation_pjl::status::JobEnd, PrintOutcome> {
        let silence = Duration::from_secs(u64::from(self.settings.heartbeat_s.max(5)) * 3);
        let mut clock = JobClock::new(&self.settings, expected);
        let mut last_heard = Instant::now();
        loop {
            if let Some(end) = tracker.end.take() {
                return Ok(end);
            }
            let until = Instant::now() + silence.min(Duration::from_secs(1).max(silence / 10));
            let result = self.read_some(until).await;
            let now = Instant::now();
            let status = self.last_status();
            if let Err(over) = clock.tick(status.state == PrinterState::Stopped) {
                return Err(PrintOutcome::Unknown {
                    reason: match over {
                        Overrun::Paused => status.stopped_too_long(),
                        Overrun::Budget => format!(
                            "no end of job from the printer in time ({} of {expected} sheets reported)",
                            tracker.delivered
                        ),
                    },
                });
            }
            match result {
                Ok(frames) => {
                    last_heard = now;
                    for f in frames {
                        track(f.message, tracker, progress);
                    }
                }
                Err(ReadEnd::Timeout) => {
                    if self.settings.heartbeat_s > 0 && now - last_heard > silence {
                        let _ = self.lost("no heartbeat from the printer");
                        return Err(PrintOutcome::Unknown {
                            reason: format!(
                                "the printer went silent (no heartbeat for {} s)",
                                silence.as_secs()
                            ),
                        });
                    }
                }
                Err(ReadEnd::Closed(why)) => {
                    let _ = self.lost(&why);
                    return Err(PrintOutcome::Unknown {
                        reason: format!("link lost during the job: {why}"),
                    });
                }
            }
        }
    }
}

/// The lines of frames as the printer sent them (a technician's console shows these); bytes
/// that were not a PJL message are counted.
pub fn frames_as_sent(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .flat_map(|f| match &f.message {
            Message::Garbage(n) => vec![format!("({n} bytes that were not a PJL message)")],
            _ => f.lines.clone(),
        })
        .collect()
}

/// The status a PJL device status report means, given the state before it.
fn status_from_device(s: &DeviceStatus, previous: PrinterState) -> PrinterStatus {
    let mut state = None;
    let mut reasons = Vec::new();
    let (mut waiting, mut passing) = (false, false);
    for &code in &s.codes {
        let c = classify(code);
        if state.is_none() || c.state == Some(PrinterState::Stopped) {
            state = c.state.or(state);
        }
        if let Some(r) = c.reason {
            reasons.push(r.to_owned());
        }
        waiting |= c.wait;
        passing |= c.passing;
    }
    // A printer warming up (or asleep) says it is not online; it is not stopped.
    if s.online == Some(false) && !passing && state != Some(PrinterState::Stopped) {
        state = Some(PrinterState::Stopped);
        if reasons.is_empty() {
            reasons.push("offline-report".to_owned());
        }
    }
    // Warnings (toner low, a tray empty) set no state; online means it can print.
    if state.is_none() && s.online == Some(true) && previous == PrinterState::Stopped {
        state = Some(PrinterState::Idle);
    }
    PrinterStatus {
        state: state.unwrap_or(previous),
        reasons,
        codes: s.codes.iter().map(u32::to_string).collect(),
        display: s.display.clone(),
        link: Link::Up,
        waiting: waiting && state != Some(PrinterState::Stopped),
    }
}

enum ReadEnd {
    Timeout,
    Closed(String),
}

/// What `print` has seen of its own job so far.
struct JobTracker {
    name: String,
    token: String,
    /// Echoed once the printer has read the whole job.
    end_token: String,
    /// When that echo arrived.
    read_all: Option<Instant>,
    /// The job's ECHO came back: everything after it belongs to this job's time.
    synced: bool,
    /// `USTATUS JOB START` with our name.
    started: bool,
    delivered: u32,
    end: Option<pstation_pjl::status::JobEnd>,
}

/// Dispatches one message to the job being printed: stale input before the job's echo, and
/// pages or ends of other jobs, are ignored (an END for another name does not end ours).
fn track(m: Message, t: &mut JobTracker, progress: &mut impl FnMut(u32)) {
    match m {
        Message::Echo(tok) if tok == t.token => t.synced = true,
        Message::Echo(tok) if tok == t.end_token => {
            t.read_all.get_or_insert_with(Instant::now);
        }
        Message::JobStart { name } if t.synced && name == t.name => t.started = true,
        Message::Page(n) if t.started => {
            t.delivered = n;
            progress(n);
        }
        Message::JobEnd(e) if t.synced && t.end.is_none() => {
            if e.name == t.name {
                t.end = Some(e);
            } else {
                tracing::warn!(other = %e.name, "the printer ended another job while ours was printing");
            }
        }
        _ => {}
    }
}
