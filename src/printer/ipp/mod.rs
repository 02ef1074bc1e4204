//! The IPP Everywhere family: `ipp://host[:port]/path` and `ipps://` (TLS). The page goes as PDF
//! or PWG raster — whichever the printer's `document-format-supported` offers (PDF first, or
//! `?format=pwg-raster`) — with Print-Job; the outcome is the job's own `job-state` and
//! `job-impressions-completed`, polled until the job ends; Cancel-Job stops it; identity and
//! status come from Get-Printer-Attributes. Tested against CUPS's `ippeveprinter`.
//!
//! Options: `format=pdf|pwg-raster` (which to prefer), `poll_ms=N` (how often a printing job is
//! asked about, 50 to 10,000 ms; default 500), `ca=/path/ca.pem` (the CA that signed an `ipps`
//! printer's certificate, when it is not a public one).

pub mod driver;
pub mod model;
pub mod pwg;

use std::path::PathBuf;
use std::time::Duration;

use pstation_printer_api::{
    BoxFuture, DeviceUri, DriverSettings, Family, OpenError, PrinterDriver,
};

pub use driver::IppPrinter;
use model::Prefer;

/// The family in the registry: `ipp://`, `ipps://`.
pub struct IppFamily;

/// A checked IPP device URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IppUri {
    /// Where HTTP requests go (`http://host:631/ipp/print`).
    pub url: String,
    /// The `printer-uri` operation attribute (`ipp://host:631/ipp/print`).
    pub printer_uri: String,
    /// Which format to prefer.
    pub prefer: Prefer,
    /// How often a printing job is asked about.
    pub poll: Duration,
    /// The CA for an `ipps` printer's certificate, when not a public one.
    pub ca: Option<PathBuf>,
}

impl IppUri {
    /// Checks `uri` (scheme `ipp` or `ipps`).
    pub fn parse(uri: &DeviceUri) -> Result<Self, String> {
        let tls = match uri.scheme() {
            "ipp" => false,
            "ipps" => true,
            other => return Err(format!("scheme {other:?} is not ipp or ipps")),
        };
        let authority = uri.authority();
        if authority.is_empty() {
            return Err("an IPP URI needs a host: ipp://host:631/ipp/print".to_owned());
        }
        if uri.rest().contains('@') {
            return Err(
                "credentials in the URI are refused (they would appear in logs); the printer must accept the station's user name".to_owned(),
            );
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("port {p:?} is not 1 to 65535"))?;
                (h.to_owned(), port)
            }
            _ => (authority.to_owned(), 631),
        };
        if host.is_empty() {
            return Err(format!("{authority:?} has no host"));
        }
        let path = match uri.path() {
            "" | "/" => "/ipp/print",
            p => p,
        };
        let (mut prefer, mut poll, mut ca) = (Prefer::Pdf, Duration::from_millis(500), None);
        for pair in uri.query().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("option {pair:?} is not key=value"))?;
            match k {
                "format" => {
                    prefer = match v {
                        "pdf" => Prefer::Pdf,
                        "pwg-raster" => Prefer::PwgRaster,
                        other => return Err(format!("format {other:?} is not pdf or pwg-raster")),
                    }
                }
                "poll_ms" => {
                    let ms = v
                        .parse::<u64>()
                        .ok()
                        .filter(|ms| (50..=10_000).contains(ms))
                        .ok_or_else(|| format!("poll_ms {v:?} is not 50 to 10000"))?;
                    poll = Duration::from_millis(ms);
                }
                "ca" if tls => {
                    if !v.starts_with('/') {
                        return Err(format!("ca {v:?} must be an absolute path"));
                    }
                    ca = Some(PathBuf::from(v));
                }
                "ca" => return Err("ca= is for ipps:// only".to_owned()),
                other => return Err(format!("unknown IPP option {other:?}")),
            }
        }
        let (http, ipp) = if tls {
            ("https", "ipps")
        } else {
            ("http", "ipp")
        };
        Ok(Self {
            url: format!("{http}://{host}:{port}{path}"),
            printer_uri: format!("{ipp}://{host}:{port}{path}"),
            prefer,
            poll,
            ca,
        })
    }
}

impl Family for IppFamily {
    fn name(&self) -> &'static str {
        "ipp"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["ipp", "ipps"]
    }

    fn examples(&self) -> &'static [&'static str] {
        &["ipp://host:631/ipp/print", "ipps://host/ipp/print"]
    }

    fn check(&self, uri: &DeviceUri) -> Result<(), String> {
        IppUri::parse(uri).map(|_| ())
    }

    fn open<'a>(
        &'a self,
        uri: &'a DeviceUri,
        settings: &'a DriverSettings,
    ) -> BoxFuture<'a, Result<Box<dyn PrinterDriver>, OpenError>> {
        Box::pin(async move {
            let target = IppUri::parse(uri).map_err(OpenError::bad_uri)?;
            let printer = IppPrinter::open(target, settings.clone()).await?;
            Ok(Box::new(printer) as Box<dyn PrinterDriver>)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<IppUri, String> {
        IppUri::parse(&DeviceUri::parse_syntax(s).expect("syntax"))
    }

    #[test]
    fn ipp_uris_default_the_port_and_path_and_check_their_options() {
        let u = parse("ipp://printer.local").expect("ok");
        assert_eq!(u.url, "http://printer.local:631/ipp/print");
        assert_eq!(u.printer_uri, "ipp://printer.local:631/ipp/print");
        assert_eq!(
            (u.prefer, u.poll, u.ca),
            (Prefer::Pdf, Duration::from_millis(500), None)
        );
        let u = parse("ipps://10.0.0.5:8443/ipp/passport?format=pwg-raster&poll_ms=100&ca=/etc/pstation/ca.pem").expect("ok");
        assert_eq!(u.url, "https://10.0.0.5:8443/ipp/passport");
        assert_eq!(u.prefer, Prefer::PwgRaster);
        assert_eq!(u.poll, Duration::from_millis(100));
        assert_eq!(u.ca, Some(PathBuf::from("/etc/pstation/ca.pem")));
        for (bad, words) in [
            ("ipp:///ipp/print", "needs a host"),
            ("ipp://h:0/ipp/print", "port"),
            ("ipp://h:x/", "port"),
            ("ipp://u:p@h/ipp/print", "credentials"),
            ("ipp://h/?format=ps", "format"),
            ("ipp://h/?poll_ms=5", "poll_ms"),
            ("ipp://h/?ca=/x.pem", "ipps"),
            ("ipps://h/?ca=x.pem", "absolute"),
            ("ipp://h/?colour=1", "unknown IPP option"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains(words), "{bad}: {e}");
        }
    }
}
