//! One external adapter process, owned by one task: the station writes requests to its standard
//! input, a reader task turns its standard output into checked protocol lines, and its standard
//! error goes to the debug log. Every answer is awaited with a deadline; an adapter that dies,
//! hangs, sends a broken line or speaks of another job while one is printing makes that job
//! `Unknown`, and is stopped — the engine starts it again, as it reopens any lost link.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use pstation_printer_api::{
    BoxFuture, Capabilities, DocumentFormat, DriverError, DriverSettings, Identity, JobClock,
    LinkBytes, LinkTransfer, OpenError, Overrun, PrintJob, PrintOutcome, PrinterDriver,
    PrinterState, PrinterStatus, Progress,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::protocol::{self, MAX_LINE, Reply, Request, Step, WireBitmap};

/// What the reader task saw on the adapter's standard output.
#[derive(Debug)]
pub enum Line {
    /// A protocol line (and its size).
    Reply(Reply, u64),
    /// A line that is not the protocol.
    Bad(String),
    /// The output closed (the adapter exited) or failed.
    Closed(String),
}

/// Why waiting for a line ended without one.
enum Wait {
    /// The deadline passed.
    Timeout,
    /// The adapter broke the protocol or went away.
    Broken(String),
}

/// An adapter process speaking protocol 1.
pub struct AdapterPrinter {
    name: String,
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Line>,
    read: Arc<AtomicU64>,
    settings: DriverSettings,
    caps: Capabilities,
    adapter: String,
    status: watch::Sender<PrinterStatus>,
    written: u64,
    last_transfer: Option<LinkTransfer>,
    next_id: u64,
    dead: bool,
}

fn open_error(code: &'static str, message: String, hint: &'static str) -> OpenError {
    OpenError {
        code,
        message,
        hint,
    }
}

impl AdapterPrinter {
    /// Starts `program` with `args` and greets it; fails when it cannot start, does not answer
    /// `hello` in time, or speaks another protocol version.
    pub async fn open(
        program: PathBuf,
        args: Vec<String>,
        settings: DriverSettings,
    ) -> Result<Self, OpenError> {
        let name = program.file_name().map_or_else(
            || program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut child = Command::new(&program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                let (code, hint) = match e.kind() {
                    std::io::ErrorKind::NotFound => (
                        "device-not-found",
                        "install the adapter, or correct its path in the device URI",
                    ),
                    std::io::ErrorKind::PermissionDenied => (
                        "device-permission",
                        "make the adapter executable by the station's user",
                    ),
                    _ => (
                        "device-io",
                        "check the adapter's path and that it runs by hand",
                    ),
                };
                open_error(
                    code,
                    format!("cannot start the adapter {}: {e}", program.display()),
                    hint,
                )
            })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(open_error(
                "internal-error",
                "the adapter's pipes were not made".to_owned(),
                "report this",
            ));
        };
        let (tx, lines) = mpsc::channel(64);
        let read = Arc::new(AtomicU64::new(0));
        tokio::spawn(read_lines(stdout, tx, read.clone()));
        tokio::spawn(log_stderr(stderr, name.clone()));
        let (status, _) = watch::channel(PrinterStatus::connecting());
        let mut printer = Self {
            name,
            child,
            stdin,
            lines,
            read,
            settings,
            caps: Capabilities {
                formats: Vec::new(),
                resolutions: Vec::new(),
                media: Vec::new(),
                color: false,
                console: None,
            },
            adapter: String::new(),
            status,
            written: 0,
            last_transfer: None,
            next_id: 0,
            dead: false,
        };
        let hello = Request::Hello {
            id: printer.id(),
            protocol: vec![protocol::VERSION],
            station: format!("pstation {}", env!("CARGO_PKG_VERSION")),
        };
        let limit = printer.settings.connect_timeout;
        let answer = printer.ask(hello, "hello", limit).await.map_err(|e| {
            open_error(
                "adapter-hello",
                format!(
                    "the adapter {} did not greet the station: {e}",
                    printer.name
                ),
                "run `pstation adapter test -- PROGRAM ARGS` to see what it does wrong",
            )
        })?;
        match answer {
            Reply::Hello {
                protocol: v,
                adapter,
                capabilities,
                ..
            } => {
                if v != protocol::VERSION {
                    return Err(open_error(
                        "adapter-protocol",
                        format!(
                            "the adapter speaks protocol {v}; this station speaks {}",
                            protocol::VERSION
                        ),
                        "install an adapter for protocol 1, or a station that speaks its version",
                    ));
                }
                printer.caps = protocol::capabilities(&capabilities)
                    .map_err(|e| open_error("adapter-protocol", e, "fix the adapter's hello"))?;
                printer.adapter = adapter;
            }
            other => {
                return Err(open_error(
                    "adapter-protocol",
                    format!("the adapter answered hello with {other:?}"),
                    "fix the adapter's hello",
                ));
            }
        }
        tracing::info!(adapter = %printer.adapter, program = %printer.name, "adapter started");
        Ok(printer)
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn publish(&self, next: PrinterStatus) {
        self.status.send_if_modified(|cur| {
            if *cur == next {
                false
            } else {
                *cur = next;
                true
            }
        });
    }

    /// The adapter is given up: stopped, reported lost; the engine starts it again.
    fn lost(&mut self, why: &str) -> DriverError {
        if !self.dead {
            tracing::warn!(adapter = %self.name, why, "stopping the adapter");
            self.dead = true;
            let _ = self.child.start_kill();
        }
        self.publish(PrinterStatus::lost());
        DriverError::LinkLost(format!("the adapter {}: {why}", self.name))
    }

    async fn send(&mut self, req: &Request) -> Result<u64, DriverError> {
        if self.dead {
            return Err(DriverError::LinkLost(format!(
                "the adapter {} is not running",
                self.name
            )));
        }
        let line = protocol::encode(req);
        let limit = self.settings.write_timeout;
        let written = tokio::time::timeout(limit, async {
            self.stdin.write_all(line.as_bytes()).await?;
            self.stdin.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => {
                self.written += line.len() as u64;
                Ok(line.len() as u64)
            }
            Ok(Err(e)) => Err(self.lost(&format!("it stopped reading its input ({e})"))),
            Err(_) => Err(self.lost("it took no input for too long")),
        }
    }

    /// The next line before `until`; status events update the status on the way.
    async fn next(&mut self, until: Instant) -> Result<Reply, Wait> {
        match tokio::time::timeout_at(until, self.lines.recv()).await {
            Err(_) => Err(Wait::Timeout),
            Ok(None) => Err(Wait::Broken("its output closed".to_owned())),
            Ok(Some(Line::Closed(why) | Line::Bad(why))) => Err(Wait::Broken(why)),
            Ok(Some(Line::Reply(reply, _))) => {
                if let Reply::Status {
                    state,
                    reasons,
                    message,
                    ..
                } = &reply
                {
                    self.publish(protocol::status(state, reasons, message.as_deref()));
                }
                Ok(reply)
            }
        }
    }

    /// Sends `req` and waits up to `limit` for its answer; events on the way are taken in.
    async fn ask(
        &mut self,
        req: Request,
        what: &str,
        limit: Duration,
    ) -> Result<Reply, DriverError> {
        let id = req.id();
        self.send(&req).await?;
        let until = Instant::now() + limit;
        loop {
            match self.next(until).await {
                Ok(Reply::Error {
                    id: Some(i),
                    code,
                    message,
                }) if i == id => {
                    return Err(DriverError::Protocol(format!("{what}: {code}: {message}")));
                }
                Ok(reply) if reply.answers() == Some(id) => return Ok(reply),
                Ok(other) => tracing::debug!(?other, "an adapter line for no one waiting"),
                Err(Wait::Timeout) => {
                    let _ = self.lost(&format!("no answer to {what} in {} s", limit.as_secs_f64()));
                    return Err(DriverError::Timeout(format!("the adapter's {what}")));
                }
                Err(Wait::Broken(why)) => return Err(self.lost(&why)),
            }
        }
    }

    async fn read_status(&mut self) -> Result<PrinterStatus, DriverError> {
        let id = self.id();
        let limit = self.settings.reply_timeout;
        match self.ask(Request::Status { id }, "status", limit).await? {
            Reply::Status {
                state,
                reasons,
                message,
                ..
            } => Ok(protocol::status(&state, &reasons, message.as_deref())),
            other => Err(self.lost(&format!("it answered status with {other:?}"))),
        }
    }

    async fn read_identity(&mut self) -> Result<Identity, DriverError> {
        let id = self.id();
        let limit = self.settings.reply_timeout;
        match self
            .ask(Request::Identity { id }, "identity", limit)
            .await?
        {
            Reply::Identity {
                model,
                page_count,
                config,
                ..
            } => Ok(protocol::identity(&model, page_count, &config)),
            other => Err(self.lost(&format!("it answered identity with {other:?}"))),
        }
    }

    /// The print request for `job`, in the forms the adapter asked for.
    fn print_request(&mut self, job: &PrintJob<'_>) -> Result<(Request, u32), String> {
        let pdf = (self.caps.formats.contains(&DocumentFormat::Pdf) && !job.pdf.is_empty())
            .then(|| base64::engine::general_purpose::STANDARD.encode(job.pdf));
        let bitmaps: Vec<WireBitmap> = if self.caps.formats.contains(&DocumentFormat::Bitmap)
            && self.caps.resolutions.contains(&job.dpi)
        {
            job.pages
                .iter()
                .map(|p| WireBitmap::from_bitmap(p, job.dpi))
                .collect()
        } else {
            Vec::new()
        };
        if pdf.is_none() && bitmaps.is_empty() {
            return Err(format!(
                "the job has no form the adapter takes (it takes {:?} at {:?} dpi; the job has a PDF of {} bytes and {} bitmap(s) at {} dpi)",
                self.caps.formats,
                self.caps.resolutions,
                job.pdf.len(),
                job.pages.len(),
                job.dpi
            ));
        }
        let pages = u32::try_from(job.pages.len()).unwrap_or(u32::MAX).max(1);
        let id = self.id();
        Ok((
            Request::Print {
                id,
                job: job.name.to_owned(),
                job_id: job.job_id.to_owned(),
                booklet: job.booklet.to_owned(),
                pages,
                pdf,
                bitmaps,
            },
            pages,
        ))
    }

    async fn print_job(
        &mut self,
        job: PrintJob<'_>,
        cancel: &CancellationToken,
        mut progress: Progress<'_>,
    ) -> PrintOutcome {
        self.last_transfer = None;
        if let Err(outcome) = pstation_printer_api::preflight(cancel, self.read_status()).await {
            return outcome;
        }
        let (req, expected) = match self.print_request(&job) {
            Ok(r) => r,
            Err(reason) => return PrintOutcome::FailedBeforeStart { reason },
        };
        let mut tracker = protocol::PrintTracker::new(req.id(), job.name, expected);
        let t0 = Instant::now();
        let size = match self.send(&req).await {
            Ok(n) => n,
            // The line never reached the adapter whole: it cannot have acted on it.
            Err(e) => {
                return PrintOutcome::FailedBeforeStart {
                    reason: e.to_string(),
                };
            }
        };
        drop(req);
        let outcome = self
            .follow(&mut tracker, expected, cancel, &mut progress, t0, size)
            .await;
        if matches!(outcome, PrintOutcome::Unknown { .. }) && !self.dead {
            // Whatever the adapter says later about this job must not reach the next one.
            let _ = self.lost("a job it printed ended in doubt");
        }
        outcome
    }

    async fn follow(
        &mut self,
        tracker: &mut protocol::PrintTracker,
        expected: u32,
        cancel: &CancellationToken,
        progress: &mut Progress<'_>,
        t0: Instant,
        size: u64,
    ) -> PrintOutcome {
        let heartbeat = Duration::from_secs(u64::from(self.settings.heartbeat_s.max(1)));
        let mut clock = JobClock::new(&self.settings, expected);
        let mut next_poll = Instant::now() + heartbeat;
        let mut pending: Option<(u64, Instant)> = None;
        loop {
            let now = Instant::now();
            let stopped = self.status.borrow().state == PrinterState::Stopped;
            if let Err(over) = clock.tick(stopped) {
                return PrintOutcome::Unknown {
                    reason: match over {
                        Overrun::Paused => self.status.borrow().stopped_too_long(),
                        Overrun::Budget => "the adapter did not end the job in time".to_owned(),
                    },
                };
            }
            if let Some((_, deadline)) = pending
                && now >= deadline
            {
                return PrintOutcome::Unknown {
                    reason: format!(
                        "the adapter stopped answering while printing (no status in {} s)",
                        self.settings.reply_timeout.as_secs_f64()
                    ),
                };
            }
            if pending.is_none() && now >= next_poll {
                let id = self.id();
                if let Err(e) = self.send(&Request::Status { id }).await {
                    return PrintOutcome::Unknown {
                        reason: format!("the adapter went away while printing: {e}"),
                    };
                }
                pending = Some((id, now + self.settings.reply_timeout));
                next_poll = now + heartbeat;
            }
            let wake = pending
                .map_or(next_poll, |(_, d)| d.min(next_poll))
                .min(now + Duration::from_secs(1));
            let line = tokio::select! {
                biased;
                () = cancel.cancelled(), if !tracker.is_canceled() => {
                    tracker.cancel();
                    let id = self.id();
                    let name = tracker.job().to_owned();
                    if let Err(e) = self.send(&Request::Cancel { id, job: name }).await {
                        return PrintOutcome::Unknown {
                            reason: format!("the adapter went away while cancelling: {e}"),
                        };
                    }
                    continue;
                }
                l = self.next(wake) => l,
            };
            let reply = match line {
                Ok(r) => r,
                Err(Wait::Timeout) => continue,
                Err(Wait::Broken(why)) => {
                    let _ = self.lost(&why);
                    return PrintOutcome::Unknown {
                        reason: format!("the adapter broke off while printing: {why}"),
                    };
                }
            };
            if let (Some((id, _)), Some(answers)) = (pending, reply.answers())
                && id == answers
            {
                pending = None;
            }
            match tracker.feed(&reply) {
                Step::Nothing => {}
                Step::Accepted => {
                    self.last_transfer = Some(LinkTransfer {
                        bytes: size,
                        read_by_printer: Some(t0.elapsed()),
                    });
                }
                Step::Progress(n) => progress(n),
                Step::Done(outcome) => return outcome,
            }
        }
    }
}

/// Turns the adapter's output into lines for the owner; ends at the first broken line or EOF.
pub async fn read_lines(
    stdout: tokio::process::ChildStdout,
    tx: mpsc::Sender<Line>,
    read: Arc<AtomicU64>,
) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let got = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await;
        let line = match got {
            Ok(0) => Line::Closed("it closed its output (exited)".to_owned()),
            Err(e) => Line::Closed(format!("reading its output failed: {e}")),
            Ok(n) if !buf.ends_with(b"\n") && n > MAX_LINE => {
                Line::Bad(format!("a line longer than {MAX_LINE} bytes"))
            }
            Ok(n) => {
                read.fetch_add(n as u64, Ordering::Relaxed);
                match std::str::from_utf8(&buf) {
                    Err(_) => Line::Bad("a line that is not UTF-8".to_owned()),
                    Ok(text) if text.trim().is_empty() => continue,
                    Ok(text) => match protocol::decode(text) {
                        Ok(reply) => Line::Reply(reply, n as u64),
                        Err(e) => Line::Bad(format!("a line that is not the protocol: {e}")),
                    },
                }
            }
        };
        let end = !matches!(line, Line::Reply(..));
        if tx.send(line).await.is_err() || end {
            return;
        }
    }
}

/// The adapter's standard error, to the debug log (adapters must not write personal data there).
async fn log_stderr(stderr: tokio::process::ChildStderr, name: String) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line: String = line.chars().take(300).collect();
        tracing::debug!(adapter = %name, "{line}");
    }
}

impl PrinterDriver for AdapterPrinter {
    fn family(&self) -> &'static str {
        "adapter"
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn identity(&mut self) -> BoxFuture<'_, Result<Identity, DriverError>> {
        Box::pin(self.read_identity())
    }

    fn status(&mut self) -> BoxFuture<'_, Result<PrinterStatus, DriverError>> {
        Box::pin(async move {
            let s = self.read_status().await?;
            self.publish(s.clone());
            Ok(s)
        })
    }

    fn subscribe(&self) -> watch::Receiver<PrinterStatus> {
        self.status.subscribe()
    }

    fn link_bytes(&self) -> LinkBytes {
        LinkBytes {
            written: self.written,
            read: self.read.load(Ordering::Relaxed),
        }
    }

    fn last_transfer(&self) -> Option<LinkTransfer> {
        self.last_transfer
    }

    fn page_count(&mut self) -> BoxFuture<'_, Result<Option<u64>, DriverError>> {
        Box::pin(async move { Ok(self.read_identity().await?.page_count) })
    }

    fn print<'a>(
        &'a mut self,
        job: PrintJob<'a>,
        cancel: &'a CancellationToken,
        progress: Progress<'a>,
    ) -> BoxFuture<'a, PrintOutcome> {
        Box::pin(self.print_job(job, cancel, progress))
    }
}
