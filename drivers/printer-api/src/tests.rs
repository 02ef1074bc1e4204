//! The registry: a URI goes to the family of its scheme, errors name the forms that work, and
//! opening a printer that never answers ends at the connect timeout.

use super::*;

/// A family whose printers never answer the connection.
struct Silent;

impl Family for Silent {
    fn name(&self) -> &'static str {
        "silent"
    }
    fn schemes(&self) -> &'static [&'static str] {
        &["silent", "quiet"]
    }
    fn examples(&self) -> &'static [&'static str] {
        &["silent://host"]
    }
    fn check(&self, uri: &DeviceUri) -> Result<(), String> {
        if uri.authority().is_empty() {
            Err("a host is needed".to_owned())
        } else {
            Ok(())
        }
    }
    fn open<'a>(
        &'a self,
        _uri: &'a DeviceUri,
        _settings: &'a DriverSettings,
    ) -> BoxFuture<'a, Result<Box<dyn PrinterDriver>, OpenError>> {
        Box::pin(std::future::pending())
    }
}

struct Other;

impl Family for Other {
    fn name(&self) -> &'static str {
        "other"
    }
    fn schemes(&self) -> &'static [&'static str] {
        &["other"]
    }
    fn examples(&self) -> &'static [&'static str] {
        &["other:///x", "other://y"]
    }
    fn console(&self) -> Option<ConsoleSpec> {
        Some(ConsoleSpec {
            language: "OTHER",
            read_only: |l| Ok(l.to_owned()),
        })
    }
    fn check(&self, _uri: &DeviceUri) -> Result<(), String> {
        Ok(())
    }
    fn open<'a>(
        &'a self,
        _uri: &'a DeviceUri,
        _settings: &'a DriverSettings,
    ) -> BoxFuture<'a, Result<Box<dyn PrinterDriver>, OpenError>> {
        Box::pin(async {
            Err(OpenError {
                code: "device-not-found",
                message: "no such printer".to_owned(),
                hint: "plug it in",
            })
        })
    }
}

#[test]
fn a_uri_goes_to_the_family_of_its_scheme_and_errors_list_the_forms_that_work() {
    let r = Registry::new().with(Silent).with(Other);
    assert_eq!(r.family("quiet").map(Family::name), Some("silent"));
    assert_eq!(r.family("other").map(Family::name), Some("other"));
    assert!(r.family("ipp").is_none());
    let ok = r.parse("silent://printer:1").expect("ok");
    assert_eq!(ok.name(), "silent:printer:1");
    let e = r.parse("ipp://host/ipp/print").expect_err("an error");
    assert!(e.what.contains("no printer family serves \"ipp\""), "{e}");
    assert!(e.what.contains("silent, quiet, other"), "{e}");
    assert_eq!(e.expected, "silent://host, other:///x or other://y");
    let e = r.parse("silent:///dev/x").expect_err("an error");
    assert_eq!(
        e.to_string(),
        "device-uri: a host is needed; expected silent://host, other:///x or other://y"
    );
    assert!(r.parse("no-scheme").is_err());
    assert!(r.console(&ok).is_none());
    let other = r.parse("other:///x").expect("ok");
    assert_eq!(r.console(&other).map(|c| c.language), Some("OTHER"));
}

#[tokio::test(start_paused = true)]
async fn opening_a_printer_that_never_answers_ends_at_the_connect_timeout() {
    let r = Registry::new().with(Silent).with(Other);
    let settings = DriverSettings {
        connect_timeout: Duration::from_secs(7),
        ..DriverSettings::DEFAULT
    };
    let start = tokio::time::Instant::now();
    let e = r
        .open(&r.parse("silent://host").expect("ok"), &settings)
        .await
        .err()
        .expect("ok");
    assert_eq!(e.code, "device-timeout");
    assert!(e.message.contains("longer than 7 s"), "{e}");
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    let e = r
        .open(&r.parse("other://y").expect("ok"), &settings)
        .await
        .err()
        .expect("ok");
    assert_eq!(e.code, "device-not-found");
}
