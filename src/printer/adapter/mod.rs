//! The external adapter family: `adapter:///usr/lib/pstation/adapters/NAME?arg&key=value`. As a
//! CUPS backend does, the station runs the program and speaks a small versioned protocol with
//! it over its standard input and output (`protocol`; docs/adapters.md), so an integrator with a
//! vendor's SDK writes only the adapter. Each query item becomes one argument, percent-decoded.
//! The conformance kit that checks an adapter is `ops::conformance` (`pstation adapter test`).

pub mod driver;
pub mod protocol;

use std::path::PathBuf;

use pstation_printer_api::{
    BoxFuture, DeviceUri, DriverSettings, Family, OpenError, PrinterDriver,
};

pub use driver::AdapterPrinter;

/// The family in the registry: `adapter://`.
pub struct AdapterFamily;

/// A checked adapter URI: the program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterUri {
    /// The executable (absolute).
    pub program: PathBuf,
    /// Its arguments, from the query.
    pub args: Vec<String>,
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{s:?}: '%' must be followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} does not decode to UTF-8"))
}

impl AdapterUri {
    /// Checks `uri` (scheme `adapter`, an absolute path, no host).
    pub fn parse(uri: &DeviceUri) -> Result<Self, String> {
        if uri.scheme() != "adapter" {
            return Err(format!("scheme {:?} is not adapter", uri.scheme()));
        }
        if !uri.authority().is_empty() {
            return Err(format!(
                "an adapter runs on this station: adapter:///path (three slashes), not a host {:?}",
                uri.authority()
            ));
        }
        let program = percent_decode(uri.path())?;
        if !program.starts_with('/') || program.len() < 2 {
            return Err(
                "the adapter's path must be absolute: adapter:///usr/lib/pstation/adapters/NAME"
                    .to_owned(),
            );
        }
        let args = uri
            .query()
            .split('&')
            .filter(|a| !a.is_empty())
            .map(percent_decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            program: PathBuf::from(program),
            args,
        })
    }
}

impl Family for AdapterFamily {
    fn name(&self) -> &'static str {
        "adapter"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["adapter"]
    }

    fn examples(&self) -> &'static [&'static str] {
        &["adapter:///usr/lib/pstation/adapters/NAME?arg"]
    }

    fn check(&self, uri: &DeviceUri) -> Result<(), String> {
        AdapterUri::parse(uri).map(|_| ())
    }

    fn open<'a>(
        &'a self,
        uri: &'a DeviceUri,
        settings: &'a DriverSettings,
    ) -> BoxFuture<'a, Result<Box<dyn PrinterDriver>, OpenError>> {
        Box::pin(async move {
            let target = AdapterUri::parse(uri).map_err(OpenError::bad_uri)?;
            let printer =
                AdapterPrinter::open(target.program, target.args, settings.clone()).await?;
            Ok(Box::new(printer) as Box<dyn PrinterDriver>)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<AdapterUri, String> {
        AdapterUri::parse(&DeviceUri::parse_syntax(s).expect("syntax"))
    }

    #[test]
    fn an_adapter_uri_is_a_local_program_and_its_arguments() {
        assert_eq!(
            parse(
                "adapter:///usr/lib/pstation/adapters/evolis?printer=ipp%3A%2F%2Fh%2Fipp&poll_ms=100&-v"
            ),
            Ok(AdapterUri {
                program: PathBuf::from("/usr/lib/pstation/adapters/evolis"),
                args: vec![
                    "printer=ipp://h/ipp".to_owned(),
                    "poll_ms=100".to_owned(),
                    "-v".to_owned()
                ],
            })
        );
        assert_eq!(
            parse("adapter:///opt/a%20b").expect("ok").program,
            PathBuf::from("/opt/a b")
        );
        for (bad, words) in [
            ("adapter://host/x", "three slashes"),
            ("adapter:///", "absolute"),
            ("adapter:///x?%zz", "hex"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains(words), "{bad}: {e}");
        }
    }
}
