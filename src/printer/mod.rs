//! Printers: the families this station can drive, each behind the neutral seam of the
//! `pstation-printer-api` crate (`PrinterDriver`, `Registry`). The station, the API, doctor and
//! diagnostics open printers through `registry()` and never name a family.
//!
//! Families: `pjl` (PJL + PCL over serial, USB printer class, raw TCP), `ipp` (IPP Everywhere),
//! `adapter` (an external program speaking the adapter protocol, for vendor SDKs).
//! Boundary: a new family is a new module here implementing `Family` and `PrinterDriver`, and
//! one line in `registry`.

pub mod adapter;
pub mod ipp;
pub mod pjl;

use std::sync::OnceLock;

pub use pstation_printer_api::{
    Capabilities, DeviceUri, DriverError, DriverSettings, Identity, Link, LinkBytes, LinkTransfer,
    OpenError, PrintJob, PrintOutcome, PrinterDriver, PrinterState, PrinterStatus, Registry,
    UriError, reasons,
};

/// Every family this station knows, keyed by URI scheme.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::new()
            .with(pjl::PjlFamily)
            .with(ipp::IppFamily)
            .with(adapter::AdapterFamily)
    })
}

/// Parses and checks a device URI with the family of its scheme.
pub fn parse_uri(text: &str) -> Result<DeviceUri, UriError> {
    registry().parse(text)
}

/// Opens the printer at `uri` with its family, bounded by `settings.connect_timeout`.
pub async fn open(
    uri: &DeviceUri,
    settings: &DriverSettings,
) -> Result<Box<dyn PrinterDriver>, OpenError> {
    registry().open(uri, settings).await
}

/// Serial loopback test (TX wired to RX): sends `bytes` and reads them back through the link of
/// `uri`; returns bytes per second. Only byte links (`serial`, `usblp`, `tcp`) have one.
pub async fn loopback(uri: &DeviceUri, bytes: usize) -> Result<f64, String> {
    let link = pjl::LinkUri::parse(uri.as_str()).map_err(|e| {
        format!("device-uri: {e}; a loopback test needs a byte link (serial, usblp or tcp)")
    })?;
    pjl::transport::loopback(&link, bytes).await
}
