//! The seam between the station and printer families: an object-safe `PrinterDriver` trait and
//! `open_driver`, which picks the family for a device. A second family (an Evolis card printer,
//! IPP over USB) is one new module implementing the trait plus one line in `open_driver`; the
//! station only ever sees `Box<dyn PrinterDriver>`.

use std::future::Future;
use std::pin::Pin;

use pstation_pjl::pcl::Raster;
use tokio_util::sync::CancellationToken;

use super::pjl_driver::{
    DriverError, DriverSettings, Identity, LinkBytes, LinkTransfer, PjlPrinter, PrintOutcome,
    PrinterStatus,
};
use super::transport::{self, TransportError};
use super::uri::DeviceUri;

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the station needs from any printer family.
pub trait PrinterDriver: Send {
    /// The family, for logs and diagnostics (`pjl-pcl`).
    fn family(&self) -> &'static str;
    /// Model, page count, configuration.
    fn identity(&mut self) -> BoxFuture<'_, Result<Identity, DriverError>>;
    /// The current status (also published to subscribers).
    fn status(&mut self) -> BoxFuture<'_, Result<PrinterStatus, DriverError>>;
    /// A live view of the status.
    fn subscribe(&self) -> tokio::sync::watch::Receiver<PrinterStatus>;
    /// Bytes on the link since it was opened (for metrics).
    fn link_bytes(&self) -> LinkBytes;
    /// What the last `print` sent and how long it took, when it sent it all.
    fn last_transfer(&self) -> Option<LinkTransfer>;
    /// The printer's page counter now (read again after each job, so a technician sees it
    /// current).
    fn page_count(&mut self) -> BoxFuture<'_, Result<Option<u64>, DriverError>>;
    /// A technician's PJL command (`INFO STATUS`, ...): the lines the printer answered, exactly
    /// as it sent them, so they can be compared with its manual.
    fn command(&mut self, command: &str) -> BoxFuture<'_, Result<Vec<String>, DriverError>>;
    /// Prints pages as job `name`; the outcome is confirmed by the device or `Unknown`.
    /// `cancel` stops the job as far as the device allows (see `PjlPrinter::print`).
    fn print<'a>(
        &'a mut self,
        name: &'a str,
        pages: &'a [Raster],
        dpi: u32,
        cancel: &'a CancellationToken,
        progress: Box<dyn FnMut(u32) + Send + 'a>,
    ) -> BoxFuture<'a, PrintOutcome>;
}

impl PrinterDriver for PjlPrinter {
    fn family(&self) -> &'static str {
        "pjl-pcl"
    }

    fn identity(&mut self) -> BoxFuture<'_, Result<Identity, DriverError>> {
        Box::pin(PjlPrinter::identity(self))
    }

    fn status(&mut self) -> BoxFuture<'_, Result<PrinterStatus, DriverError>> {
        Box::pin(PjlPrinter::status(self))
    }

    fn subscribe(&self) -> tokio::sync::watch::Receiver<PrinterStatus> {
        PjlPrinter::subscribe(self)
    }

    fn link_bytes(&self) -> LinkBytes {
        PjlPrinter::link_bytes(self)
    }

    fn last_transfer(&self) -> Option<LinkTransfer> {
        PjlPrinter::last_transfer(self)
    }

    fn page_count(&mut self) -> BoxFuture<'_, Result<Option<u64>, DriverError>> {
        Box::pin(PjlPrinter::page_count(self))
    }

    fn command(&mut self, command: &str) -> BoxFuture<'_, Result<Vec<String>, DriverError>> {
        let command = command.to_owned();
        Box::pin(async move {
            let frames = self
                .request_frames(&command, "the technician's command")
                .await?;
            Ok(super::pjl_driver::frames_as_sent(&frames))
        })
    }

    fn print<'a>(
        &'a mut self,
        name: &'a str,
        pages: &'a [Raster],
        dpi: u32,
        cancel: &'a CancellationToken,
        progress: Box<dyn FnMut(u32) + Send + 'a>,
    ) -> BoxFuture<'a, PrintOutcome> {
        Box::pin(PjlPrinter::print(self, name, pages, dpi, cancel, progress))
    }
}

/// Opens the device and returns the driver of its family. Today every URI speaks PJL + PCL;
/// a family selector (a `?family=` option, or the probed `INFO ID`) goes here.
pub async fn open_driver(
    uri: &DeviceUri,
    settings: DriverSettings,
) -> Result<Box<dyn PrinterDriver>, TransportError> {
    let stream = transport::open(
        uri,
        settings
            .reply_timeout
            .max(std::time::Duration::from_secs(5)),
    )
    .await?;
    Ok(Box::new(PjlPrinter::attach(stream, settings)))
}
