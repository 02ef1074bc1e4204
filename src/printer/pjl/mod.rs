//! The PJL + PCL family: printers that take PJL job control and PCL 5 raster over a byte link
//! (serial, the USB printer class node, raw TCP) — our simulator among them. The protocol
//! itself (sans-IO) lives in the `pstation-pjl` crate under `drivers/`; here are the links, the
//! driver that owns one printer, and the family's entry in the registry.

pub mod driver;
pub mod link;
pub mod transport;

use pstation_printer_api::{
    BoxFuture, Capabilities, ConsoleSpec, DeviceUri, DocumentFormat, DriverError, DriverSettings,
    Family, Identity, LinkBytes, LinkTransfer, OpenError, PrintJob, PrintOutcome, PrinterDriver,
    PrinterStatus, Progress, RawConsole,
};
use tokio_util::sync::CancellationToken;

pub use driver::PjlPrinter;
pub use link::LinkUri;

/// The resolution the family renders bitmaps at: passport printers of this family print 300 dpi.
pub const DPI: u32 = 300;

/// The family in the registry: `serial://`, `usblp://`, `tcp://`.
pub struct PjlFamily;

impl Family for PjlFamily {
    fn name(&self) -> &'static str {
        "pjl-pcl"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["serial", "usblp", "tcp"]
    }

    fn examples(&self) -> &'static [&'static str] {
        &[
            "serial:///dev/ttyUSB0?baud=115200&flow=rtscts",
            "usblp:///dev/usb/lp0",
            "tcp://host:9100",
        ]
    }

    fn console(&self) -> Option<ConsoleSpec> {
        Some(ConsoleSpec {
            language: "PJL",
            read_only: check_read_only,
        })
    }

    fn check(&self, uri: &DeviceUri) -> Result<(), String> {
        LinkUri::parse(uri.as_str()).map(|_| ())
    }

    fn open<'a>(
        &'a self,
        uri: &'a DeviceUri,
        settings: &'a DriverSettings,
    ) -> BoxFuture<'a, Result<Box<dyn PrinterDriver>, OpenError>> {
        Box::pin(async move {
            let link = LinkUri::parse(uri.as_str()).map_err(OpenError::bad_uri)?;
            let stream = transport::open(&link, settings.connect_timeout).await?;
            Ok(Box::new(PjlPrinter::attach(stream, settings.clone())) as Box<dyn PrinterDriver>)
        })
    }
}

/// A technician's console line while the daemon owns the printer: `[@PJL] INFO|INQUIRE|DINQUIRE
/// <words>`, printable ASCII, at most 80 characters. Returns the command without `@PJL`.
pub fn check_read_only(line: &str) -> Result<String, String> {
    let cmd = line.trim();
    let cmd = cmd
        .strip_prefix("@PJL")
        .or_else(|| cmd.strip_prefix("@pjl"))
        .unwrap_or(cmd)
        .trim();
    if cmd.is_empty() || cmd.len() > 80 || !cmd.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err("a command is 1 to 80 printable ASCII characters".to_owned());
    }
    let verb = cmd
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if !matches!(verb.as_str(), "INFO" | "INQUIRE" | "DINQUIRE") {
        return Err(format!("{verb:?} is not read-only"));
    }
    Ok(cmd.to_owned())
}

impl PrinterDriver for PjlPrinter {
    fn family(&self) -> &'static str {
        "pjl-pcl"
    }

    fn capabilities(&self) -> &Capabilities {
        // Printers of this family take PCL raster at 300 dpi and say nothing about media.
        static CAPS: std::sync::OnceLock<Capabilities> = std::sync::OnceLock::new();
        CAPS.get_or_init(|| Capabilities {
            formats: vec![DocumentFormat::Bitmap],
            resolutions: vec![DPI],
            media: Vec::new(),
            color: false,
            console: Some("PJL"),
        })
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

    fn console(&mut self) -> Option<&mut dyn RawConsole> {
        Some(self)
    }

    fn idle_poll(&self) -> std::time::Duration {
        // The printer reports every change itself (`USTATUS DEVICE`); asking is a liveness
        // check only (a serial or USB link that goes away fails at once, a TCP printer that
        // dies silently is found within this).
        driver::LIVENESS_POLL
    }

    fn wait_for_change(&mut self, limit: std::time::Duration) -> BoxFuture<'_, bool> {
        Box::pin(PjlPrinter::wait_for_change(self, limit))
    }

    fn print<'a>(
        &'a mut self,
        job: PrintJob<'a>,
        cancel: &'a CancellationToken,
        progress: Progress<'a>,
    ) -> BoxFuture<'a, PrintOutcome> {
        Box::pin(async move {
            if job.pages.is_empty() {
                return PrintOutcome::FailedBeforeStart {
                    reason: "the PJL + PCL family prints bitmaps and the job has none".to_owned(),
                };
            }
            PjlPrinter::print(self, job.name, job.pages, job.dpi, cancel, progress).await
        })
    }
}

impl RawConsole for PjlPrinter {
    fn language(&self) -> &'static str {
        "PJL"
    }

    fn command<'a>(&'a mut self, line: &'a str) -> BoxFuture<'a, Result<Vec<String>, DriverError>> {
        Box::pin(async move {
            let command = line.trim().trim_start_matches("@PJL").trim();
            let frames = self
                .request_frames(command, "the technician's command")
                .await?;
            Ok(driver::frames_as_sent(&frames))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemons_console_takes_read_only_pjl_only() {
        assert_eq!(
            check_read_only("@PJL INFO STATUS"),
            Ok("INFO STATUS".to_owned())
        );
        assert_eq!(
            check_read_only("  dinquire copies "),
            Ok("dinquire copies".to_owned())
        );
        assert!(
            check_read_only("@PJL SET COPIES=2")
                .expect_err("an error")
                .contains("\"SET\"")
        );
        assert!(check_read_only("").is_err());
        assert!(check_read_only(&format!("INFO {}", "X".repeat(80))).is_err());
        assert!(check_read_only("INFO \u{7}").is_err());
    }
}
