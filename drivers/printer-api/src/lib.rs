//! The printer-neutral seam of pstation: what the station needs from any printer family
//! (`PrinterDriver`), the factory that picks the family by the device URI's scheme
//! (`Registry`), and the types they share — the page as PDF or bitmap, capabilities, status in
//! the IPP vocabulary, identity and counters, and the confirmed outcome.
//!
//! Design: a family (PJL + PCL over serial/USB/TCP, IPP Everywhere, an external adapter
//! process) implements `Family` and `PrinterDriver`; the station holds a `Box<dyn
//! PrinterDriver>` and never learns which. Extras only some families have (a raw command
//! console) are optional capabilities, asked for with `console()`. Nothing here performs I/O
//! beyond the futures the families return, and this crate knows no family.

pub mod bitmap;
pub mod print;
pub mod reasons;
pub mod status;
pub mod uri;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use bitmap::Bitmap;
pub use print::{
    Capabilities, DocumentFormat, DriverError, DriverSettings, JobClock, OpenError, Overrun,
    PrintJob, PrintOutcome,
};
pub use status::{Identity, Link, LinkBytes, LinkTransfer, PrinterState, PrinterStatus};
pub use uri::{DeviceUri, UriError};

/// A boxed future, so the traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where `print` reports progress: the number of sheets delivered so far.
pub type Progress<'a> = Box<dyn FnMut(u32) + Send + 'a>;

/// What the station needs from any printer family. One task owns a driver.
pub trait PrinterDriver: Send {
    /// The family, for logs and diagnostics (`pjl-pcl`, `ipp`, `adapter`).
    fn family(&self) -> &'static str;
    /// What the printer takes, as found when it opened.
    fn capabilities(&self) -> &Capabilities;
    /// Model, page count, configuration.
    fn identity(&mut self) -> BoxFuture<'_, Result<Identity, DriverError>>;
    /// The current status (also published to subscribers).
    fn status(&mut self) -> BoxFuture<'_, Result<PrinterStatus, DriverError>>;
    /// A live view of the status.
    fn subscribe(&self) -> watch::Receiver<PrinterStatus>;
    /// Bytes on the link since it was opened (for metrics).
    fn link_bytes(&self) -> LinkBytes;
    /// What the last `print` sent and how long the printer took to read it, when it sent it all.
    fn last_transfer(&self) -> Option<LinkTransfer>;
    /// The printer's page counter now (read again after each job, so a technician sees it
    /// current).
    fn page_count(&mut self) -> BoxFuture<'_, Result<Option<u64>, DriverError>>;
    /// The raw command console, where the family has one.
    fn console(&mut self) -> Option<&mut dyn RawConsole> {
        None
    }
    /// How long an idle printer may go unasked (`status`) by the engine. A family whose
    /// printer reports its changes unasked (`wait_for_change`) asks seldom, only to know the
    /// link is alive; the others are polled this often.
    fn idle_poll(&self) -> Duration {
        Duration::from_secs(2)
    }
    /// Waits, while the printer is idle, until it reports a change of status by itself
    /// (published to subscribers) or `limit` passes; true when the status changed. Cancel-safe:
    /// the engine drops it when a job arrives. The default only waits: the engine asks next.
    fn wait_for_change(&mut self, limit: Duration) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            tokio::time::sleep(limit).await;
            false
        })
    }
    /// Prints `job` and returns the outcome the device confirmed — or `Unknown`, never a guess.
    /// Before the first byte reaches the printer every failure is `FailedBeforeStart` (safe to
    /// retry); after it, only the printer's own word ends a job. `cancel` stops the job as far
    /// as the device allows.
    fn print<'a>(
        &'a mut self,
        job: PrintJob<'a>,
        cancel: &'a CancellationToken,
        progress: Progress<'a>,
    ) -> BoxFuture<'a, PrintOutcome>;
}

/// A family's raw command console (PJL `INFO STATUS` ...), for technicians.
pub trait RawConsole: Send {
    /// The command language (`PJL`).
    fn language(&self) -> &'static str;
    /// Sends one command; the lines the printer answered, exactly as it sent them, so they can
    /// be compared with its manual.
    fn command<'a>(&'a mut self, line: &'a str) -> BoxFuture<'a, Result<Vec<String>, DriverError>>;
}

/// What a family's raw console is, known without a driver: its language and which commands are
/// safe while the daemon owns the printer (the daemon's console sends only those).
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSpec {
    /// The command language (`PJL`).
    pub language: &'static str,
    /// The command as sent when `line` is a read-only command, or why it is refused.
    pub read_only: fn(&str) -> Result<String, String>,
}

/// A printer family: the schemes it serves, how it checks a URI, how it opens a printer.
pub trait Family: Send + Sync {
    /// Its name (`pjl-pcl`).
    fn name(&self) -> &'static str;
    /// The URI schemes it serves.
    fn schemes(&self) -> &'static [&'static str];
    /// Example URIs, for error messages.
    fn examples(&self) -> &'static [&'static str];
    /// Its raw console, when it has one.
    fn console(&self) -> Option<ConsoleSpec> {
        None
    }
    /// Checks everything after the scheme (paths, options); the error says what is wrong.
    fn check(&self, uri: &DeviceUri) -> Result<(), String>;
    /// Opens the printer at `uri` (already checked).
    fn open<'a>(
        &'a self,
        uri: &'a DeviceUri,
        settings: &'a DriverSettings,
    ) -> BoxFuture<'a, Result<Box<dyn PrinterDriver>, OpenError>>;
}

/// The families a station knows, keyed by URI scheme.
#[derive(Default)]
pub struct Registry {
    families: Vec<Box<dyn Family>>,
}

impl Registry {
    /// No families.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a family (a scheme already served stays with the first).
    #[must_use]
    pub fn with(mut self, family: impl Family + 'static) -> Self {
        self.families.push(Box::new(family));
        self
    }

    /// The families, in the order added.
    pub fn families(&self) -> impl Iterator<Item = &dyn Family> {
        self.families.iter().map(|f| &**f)
    }

    /// The family serving `scheme`.
    pub fn family(&self, scheme: &str) -> Option<&dyn Family> {
        self.families().find(|f| f.schemes().contains(&scheme))
    }

    fn expected(&self) -> String {
        let all: Vec<&str> = self
            .families()
            .flat_map(|f| f.examples())
            .copied()
            .collect();
        match all.split_last() {
            None => "a printer family (none is registered)".to_owned(),
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }

    /// Parses `text` and has its family check it.
    pub fn parse(&self, text: &str) -> Result<DeviceUri, UriError> {
        let err = |what: String| UriError {
            what,
            expected: self.expected(),
        };
        let uri = DeviceUri::parse_syntax(text).map_err(err)?;
        let family = self.family(uri.scheme()).ok_or_else(|| {
            let schemes: Vec<&str> = self.families().flat_map(|f| f.schemes()).copied().collect();
            err(format!(
                "no printer family serves {:?} (known: {})",
                uri.scheme(),
                schemes.join(", ")
            ))
        })?;
        family.check(&uri).map_err(err)?;
        Ok(uri)
    }

    /// Opens the printer at `uri` with its family, bounded by `settings.connect_timeout`: a
    /// dead printer is reported, never waited for without end.
    pub async fn open(
        &self,
        uri: &DeviceUri,
        settings: &DriverSettings,
    ) -> Result<Box<dyn PrinterDriver>, OpenError> {
        let Some(family) = self.family(uri.scheme()) else {
            return Err(OpenError {
                code: "device-uri",
                message: format!("no printer family serves {:?}", uri.scheme()),
                hint: "check the device URI's scheme",
            });
        };
        let limit = settings.connect_timeout;
        match tokio::time::timeout(limit, family.open(uri, settings)).await {
            Ok(opened) => opened,
            Err(_) => Err(OpenError {
                code: "device-timeout",
                message: format!(
                    "opening {} took longer than {} s",
                    uri.name(),
                    limit.as_secs_f64()
                ),
                hint: "check that the printer is on and reachable; a USB device may be resetting",
            }),
        }
    }

    /// The raw console of the family serving `uri`, when it has one.
    pub fn console(&self, uri: &DeviceUri) -> Option<ConsoleSpec> {
        self.family(uri.scheme()).and_then(Family::console)
    }
}

/// What every family checks before the first byte of a job: a job cancelled already is
/// `CanceledByHost`; a printer whose `status` fails or is not ready makes the job
/// `FailedBeforeStart` (nothing was sent: safe to retry). Returns the ready status otherwise.
pub async fn preflight(
    cancel: &CancellationToken,
    status: impl Future<Output = Result<PrinterStatus, DriverError>>,
) -> Result<PrinterStatus, PrintOutcome> {
    if cancel.is_cancelled() {
        return Err(PrintOutcome::CanceledByHost);
    }
    match status.await {
        Err(e) => Err(PrintOutcome::FailedBeforeStart {
            reason: e.to_string(),
        }),
        Ok(s) if !s.ready() => Err(PrintOutcome::FailedBeforeStart {
            reason: s.why_not_ready(),
        }),
        Ok(s) => Ok(s),
    }
}

/// Waits while the printer is settling (warming up, self test, reset, cancelling) — asking its
/// status once a second — for at most `limit`; `on_wait` hears each status seen while waiting
/// and how long it has waited. Returns the status at the end: ready, a fault, or still settling
/// when `limit` ran out.
pub async fn wait_while_settling(
    driver: &mut dyn PrinterDriver,
    limit: Duration,
    mut on_wait: impl FnMut(&PrinterStatus, Duration),
) -> Result<PrinterStatus, DriverError> {
    let start = tokio::time::Instant::now();
    loop {
        let status = driver.status().await?;
        let waited = start.elapsed();
        if !status.settling() || waited >= limit {
            return Ok(status);
        }
        on_wait(&status, waited);
        tokio::time::sleep(Duration::from_secs(1).min(limit - waited)).await;
    }
}

#[cfg(test)]
mod tests;
