//! One IPP Everywhere printer, owned by one task: requests go over HTTP (blocking `ureq` calls on
//! the blocking pool, each bounded by the driver's timeouts), answers are read with the `ipp`
//! crate and judged by `model`. A print is Print-Job, then Get-Job-Attributes until the job
//! ends; an answer that never comes after the document may have reached the printer is
//! `Unknown`, never a retry.

use std::time::Duration;

use ipp::model::{DelimiterTag, Operation, StatusCode};
use ipp::prelude::{IppRequestResponse, IppValue};
use pstation_printer_api::{
    BoxFuture, Capabilities, DriverError, DriverSettings, Identity, JobClock, LinkBytes,
    LinkTransfer, OpenError, Overrun, PrintJob, PrintOutcome, PrinterDriver, PrinterState,
    PrinterStatus, Progress,
};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::IppUri;
use super::model::{self, Attrs, JobView, Send};
use super::pwg;

/// The most a printer's answer may hold (its attributes, never a document).
const MAX_ANSWER: u64 = 4 * 1024 * 1024;

/// Why a request got no IPP answer.
#[derive(Debug)]
enum CallError {
    /// No connection was made: nothing reached the printer.
    NotConnected(String),
    /// The printer (or something on the way) refused the request with an HTTP status: the
    /// operation was not performed.
    Refused(String),
    /// The request may have reached the printer, but no readable answer came.
    NoAnswer(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotConnected(w) | Self::Refused(w) | Self::NoAnswer(w) => f.write_str(w),
        }
    }
}

/// An IPP printer, owned by one task.
pub struct IppPrinter {
    target: IppUri,
    agent: ureq::Agent,
    settings: DriverSettings,
    caps: Capabilities,
    send: Send,
    status: watch::Sender<PrinterStatus>,
    bytes: LinkBytes,
    last_transfer: Option<LinkTransfer>,
    request_id: i32,
}

fn agent(target: &IppUri, settings: &DriverSettings) -> Result<ureq::Agent, OpenError> {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A fresh connection per request: a pooled one the printer has closed would make a
        // Print-Job's fate unknowable for no reason.
        .max_idle_connections(0)
        .timeout_connect(Some(settings.connect_timeout))
        .timeout_send_body(Some(settings.write_timeout))
        .timeout_recv_response(Some(settings.reply_timeout))
        .timeout_recv_body(Some(settings.reply_timeout));
    if let Some(ca) = &target.ca {
        use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
        let pem = std::fs::read(ca).map_err(|e| OpenError {
            code: "device-tls",
            message: format!("cannot read the printer's CA {}: {e}", ca.display()),
            hint: "check the ca= path in the device URI",
        })?;
        let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(OpenError {
                code: "device-tls",
                message: format!("{} holds no PEM certificate", ca.display()),
                hint: "give the CA certificate (PEM) that signed the printer's certificate",
            });
        }
        config = config.tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::Specific(std::sync::Arc::new(certs)))
                .build(),
        );
    }
    Ok(config.build().into())
}

/// Sends `body` to `url` and reads the IPP answer (blocking: run it on the blocking pool).
fn exchange(
    agent: &ureq::Agent,
    url: &str,
    body: &[u8],
) -> Result<(IppRequestResponse, u64), CallError> {
    let sent = agent
        .post(url)
        .header("content-type", "application/ipp")
        .send(body);
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            let not_connected = match &e {
                ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => true,
                ureq::Error::Timeout(t) => {
                    matches!(t, ureq::Timeout::Resolve | ureq::Timeout::Connect)
                }
                ureq::Error::Io(io) => matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::HostUnreachable
                        | std::io::ErrorKind::NetworkUnreachable
                        | std::io::ErrorKind::AddrNotAvailable
                ),
                _ => false,
            };
            return Err(if not_connected {
                CallError::NotConnected(format!("cannot connect to {url}: {e}"))
            } else {
                CallError::NoAnswer(format!("no answer from {url}: {e}"))
            });
        }
    };
    let status = response.status().as_u16();
    if status != 200 {
        return Err(CallError::Refused(format!("{url} answered HTTP {status}")));
    }
    let bytes = response
        .into_body()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_vec()
        .map_err(|e| CallError::NoAnswer(format!("the answer from {url} broke off: {e}")))?;
    let n = bytes.len() as u64;
    let parsed =
        ipp::parser::IppParser::new(ipp::reader::IppReader::new(std::io::Cursor::new(bytes)))
            .parse()
            .map_err(|e| CallError::NoAnswer(format!("the answer from {url} is not IPP: {e}")))?;
    Ok((parsed, n))
}

impl IppPrinter {
    /// Asks the printer what it is and what it takes; fails when it cannot be reached or takes
    /// neither PDF nor a PWG raster this station writes.
    pub async fn open(target: IppUri, settings: DriverSettings) -> Result<Self, OpenError> {
        let agent = agent(&target, &settings)?;
        let (status, _) = watch::channel(PrinterStatus::connecting());
        let mut printer = Self {
            target,
            agent,
            settings,
            caps: Capabilities {
                formats: Vec::new(),
                resolutions: Vec::new(),
                media: Vec::new(),
                color: false,
                console: None,
            },
            send: Send::Pdf,
            status,
            bytes: LinkBytes::default(),
            last_transfer: None,
            request_id: 0,
        };
        let attrs = printer.printer_attributes(&[]).await.map_err(|e| {
            let (code, hint) = match e {
                CallError::NotConnected(_) => (
                    "device-unreachable",
                    "check that the printer is on and its address and port are right",
                ),
                CallError::Refused(_) => (
                    "device-refused",
                    "check the printer's path in the URI (often /ipp/print) and that IPP is enabled",
                ),
                CallError::NoAnswer(_) => (
                    "device-timeout",
                    "the printer did not answer: check it is an IPP printer and not busy restarting",
                ),
            };
            OpenError {
                code,
                message: e.to_string(),
                hint,
            }
        })?;
        let (caps, send) =
            model::capabilities(&attrs, printer.target.prefer).map_err(|message| OpenError {
                code: "printer-unsupported",
                message,
                hint: "enable PDF or PWG raster (IPP Everywhere) on the printer, or use its vendor adapter",
            })?;
        printer.caps = caps;
        printer.send = send;
        printer.publish(model::status(&attrs));
        Ok(printer)
    }

    fn next_id(&mut self) -> i32 {
        self.request_id = self.request_id.wrapping_add(1).max(1);
        self.request_id
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

    fn lost(&self) {
        self.publish(PrinterStatus::lost());
    }

    /// Sends a request (`body`: its bytes, then any document) and returns the answer.
    async fn call(&mut self, body: Vec<u8>) -> Result<IppRequestResponse, CallError> {
        let sent = body.len() as u64;
        let (agent, url) = (self.agent.clone(), self.target.url.clone());
        let answer = tokio::task::spawn_blocking(move || exchange(&agent, &url, &body))
            .await
            .map_err(|_| CallError::NoAnswer("the request was stopped".to_owned()))?;
        if !matches!(answer, Err(CallError::NotConnected(_))) {
            self.bytes.written += sent;
        }
        let (answer, read) = answer?;
        self.bytes.read += read;
        Ok(answer)
    }

    /// The bytes of a request for `operation` with `attrs` added (a request is never held
    /// across an await: its payload reader is not `Sync`).
    fn request(
        &mut self,
        operation: Operation,
        attrs: Vec<(&str, IppValue)>,
    ) -> Result<Vec<u8>, String> {
        let id = self.next_id();
        let mut req = model::request(operation, &self.target.printer_uri, id)?;
        for (name, value) in attrs {
            model::add(&mut req, name, value)?;
        }
        Ok(req.to_bytes().to_vec())
    }

    /// Get-Printer-Attributes (`names` empty: all).
    async fn printer_attributes(&mut self, names: &[&str]) -> Result<Attrs, CallError> {
        let mut attrs = Vec::new();
        if !names.is_empty() {
            let values: Result<Vec<IppValue>, String> =
                names.iter().map(|n| model::keyword(n)).collect();
            let values = values.map_err(CallError::NotConnected)?;
            attrs.push(("requested-attributes", IppValue::Array(values)));
        }
        let req = self
            .request(Operation::GetPrinterAttributes, attrs)
            .map_err(CallError::NotConnected)?;
        let answer = self.call(req).await?;
        let status = answer.header().status_code();
        if !status.is_success() {
            return Err(CallError::Refused(format!(
                "Get-Printer-Attributes: {status:?}"
            )));
        }
        Ok(Attrs::of(
            answer.attributes(),
            DelimiterTag::PrinterAttributes,
        ))
    }

    fn driver_error(&self, what: &str, e: CallError) -> DriverError {
        match e {
            CallError::NotConnected(w) => {
                self.lost();
                DriverError::LinkLost(w)
            }
            CallError::NoAnswer(w) => {
                self.lost();
                DriverError::Timeout(format!("{what} ({w})"))
            }
            CallError::Refused(w) => DriverError::Protocol(w),
        }
    }

    async fn job_attributes(&mut self, job_id: i32) -> Result<JobView, CallError> {
        let req = self
            .request(
                Operation::GetJobAttributes,
                vec![("job-id", IppValue::Integer(job_id))],
            )
            .map_err(CallError::NotConnected)?;
        let answer = self.call(req).await?;
        let status = answer.header().status_code();
        if !status.is_success() {
            return Err(CallError::Refused(format!(
                "Get-Job-Attributes: {status:?}"
            )));
        }
        Ok(JobView::from(&Attrs::of(
            answer.attributes(),
            DelimiterTag::JobAttributes,
        )))
    }

    async fn cancel_job(&mut self, job_id: i32) {
        let Ok(req) = self.request(
            Operation::CancelJob,
            vec![("job-id", IppValue::Integer(job_id))],
        ) else {
            return;
        };
        match self.call(req).await {
            Ok(a) => tracing::info!(job_id, status = ?a.header().status_code(), "Cancel-Job sent"),
            Err(e) => tracing::warn!(job_id, error = %e, "Cancel-Job got no answer"),
        }
    }

    async fn read_status(&mut self) -> Result<PrinterStatus, DriverError> {
        match self
            .printer_attributes(&[
                "printer-state",
                "printer-state-reasons",
                "printer-state-message",
            ])
            .await
        {
            Ok(attrs) => {
                let s = model::status(&attrs);
                self.publish(s.clone());
                Ok(s)
            }
            Err(e) => Err(self.driver_error("Get-Printer-Attributes", e)),
        }
    }

    /// The document in the form this printer takes, with its MIME type.
    fn document(&self, job: &PrintJob<'_>) -> Result<(Vec<u8>, &'static str), String> {
        match self.send {
            Send::Pdf if job.pdf.is_empty() => Err("the job has no PDF".to_owned()),
            Send::Pdf => Ok((job.pdf.to_vec(), "application/pdf")),
            Send::Pwg { dpi, kind } => {
                if job.pages.is_empty() || job.dpi != dpi {
                    return Err(format!(
                        "the printer takes PWG raster at {dpi} dpi and the job has {} bitmap(s) at {} dpi",
                        job.pages.len(),
                        job.dpi
                    ));
                }
                // The page size is in each page's header; no media name is claimed.
                Ok((pwg::encode(job.pages, dpi, kind, ""), "image/pwg-raster"))
            }
        }
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
        let (document, format) = match self.document(&job) {
            Ok(d) => d,
            Err(reason) => return PrintOutcome::FailedBeforeStart { reason },
        };
        let expected = u32::try_from(job.pages.len()).unwrap_or(u32::MAX).max(1);
        let req = model::name(job.name)
            .and_then(|name| Ok((name, model::mime(format)?)))
            .and_then(|(name, mime)| {
                self.request(
                    Operation::PrintJob,
                    vec![("job-name", name), ("document-format", mime)],
                )
            });
        let mut body = match req {
            Ok(r) => r,
            Err(reason) => return PrintOutcome::FailedBeforeStart { reason },
        };
        body.extend_from_slice(&document);
        let size = body.len() as u64;
        let t0 = Instant::now();
        let answer = self.call(body).await;
        let job_id = match answer {
            Err(CallError::NotConnected(w)) => {
                self.lost();
                return PrintOutcome::FailedBeforeStart { reason: w };
            }
            Err(CallError::Refused(w)) => {
                return PrintOutcome::FailedBeforeStart {
                    reason: format!("the printer refused the job: {w}"),
                };
            }
            Err(CallError::NoAnswer(w)) => {
                self.lost();
                return PrintOutcome::Unknown {
                    reason: format!("no answer to Print-Job, so the printer may have the job: {w}"),
                };
            }
            Ok(a) => {
                let status = a.header().status_code();
                if !status.is_success() {
                    // The printer answered and did not create the job (busy, a format it
                    // refuses): nothing will print.
                    let busy = status == StatusCode::ServerErrorBusy;
                    return PrintOutcome::FailedBeforeStart {
                        reason: format!(
                            "the printer refused the job ({status:?}){}",
                            if busy {
                                " — it is busy; the job waits"
                            } else {
                                ""
                            }
                        ),
                    };
                }
                let attrs = Attrs::of(a.attributes(), DelimiterTag::JobAttributes);
                match attrs.int("job-id") {
                    Some(id) => id,
                    None => {
                        return PrintOutcome::Unknown {
                            reason: "the printer accepted the job without a job-id; it cannot be followed".to_owned(),
                        };
                    }
                }
            }
        };
        self.last_transfer = Some(LinkTransfer {
            bytes: size,
            read_by_printer: Some(t0.elapsed()),
        });
        tracing::info!(job = %job.name, job_id, format, "the printer took the job");
        self.follow(job_id, expected, cancel, &mut progress).await
    }

    /// Polls the job until it ends. The clock runs only while the printer can print; a stopped
    /// printer (jam, cover, out of booklets) pauses it, up to `max_pause`.
    async fn follow(
        &mut self,
        job_id: i32,
        expected: u32,
        cancel: &CancellationToken,
        progress: &mut Progress<'_>,
    ) -> PrintOutcome {
        let silence = Duration::from_secs(u64::from(self.settings.heartbeat_s.max(5)) * 3);
        let mut clock = JobClock::new(&self.settings, expected);
        let mut last_heard = Instant::now();
        let mut canceled = false;
        let mut delivered = 0u32;
        // A booklet that jammed during the job may be damaged, whatever the printer says after.
        let mut jammed = false;
        loop {
            let poll = self.target.poll;
            if canceled {
                tokio::time::sleep(poll).await;
            } else {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        canceled = true;
                        // The job's state, not Cancel-Job's answer, decides the outcome.
                        self.cancel_job(job_id).await;
                    }
                    () = tokio::time::sleep(poll) => {}
                }
            }
            let now = Instant::now();
            match self.job_attributes(job_id).await {
                Ok(view) => {
                    last_heard = now;
                    let done = view
                        .impressions_completed
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(0);
                    if done > delivered {
                        delivered = done;
                        progress(done);
                    }
                    match model::judge(&view, expected, canceled) {
                        Some(PrintOutcome::Confirmed { .. }) if jammed => {
                            return PrintOutcome::Unknown {
                                reason: "the booklet jammed during the job and the printer then said it printed: look at the booklet".to_owned(),
                            };
                        }
                        Some(outcome) => return outcome,
                        None => {}
                    }
                }
                Err(e) => {
                    if now - last_heard > silence {
                        self.lost();
                        return PrintOutcome::Unknown {
                            reason: format!(
                                "the printer stopped answering about the job for {} s: {e}",
                                silence.as_secs()
                            ),
                        };
                    }
                    continue;
                }
            }
            let stopped = match self.read_status().await {
                Ok(s) => {
                    jammed |= s.has("media-jam-error");
                    s.state == PrinterState::Stopped
                }
                Err(_) => false,
            };
            if let Err(over) = clock.tick(stopped) {
                return PrintOutcome::Unknown {
                    reason: match over {
                        Overrun::Paused => self.status.borrow().stopped_too_long(),
                        Overrun::Budget => format!(
                            "the printer did not end the job in time ({delivered} of {expected} impressions reported)"
                        ),
                    },
                };
            }
        }
    }
}

impl PrinterDriver for IppPrinter {
    fn family(&self) -> &'static str {
        "ipp"
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn identity(&mut self) -> BoxFuture<'_, Result<Identity, DriverError>> {
        Box::pin(async move {
            match self.printer_attributes(&[]).await {
                Ok(attrs) => Ok(model::identity(&attrs)),
                Err(e) => Err(self.driver_error("Get-Printer-Attributes", e)),
            }
        })
    }

    fn status(&mut self) -> BoxFuture<'_, Result<PrinterStatus, DriverError>> {
        Box::pin(self.read_status())
    }

    fn subscribe(&self) -> watch::Receiver<PrinterStatus> {
        self.status.subscribe()
    }

    fn link_bytes(&self) -> LinkBytes {
        self.bytes
    }

    fn last_transfer(&self) -> Option<LinkTransfer> {
        self.last_transfer
    }

    fn page_count(&mut self) -> BoxFuture<'_, Result<Option<u64>, DriverError>> {
        Box::pin(async move {
            match self
                .printer_attributes(&["printer-impressions-completed"])
                .await
            {
                Ok(attrs) => Ok(attrs
                    .int("printer-impressions-completed")
                    .and_then(|n| u64::try_from(n).ok())),
                Err(e) => Err(self.driver_error("Get-Printer-Attributes", e)),
            }
        })
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
