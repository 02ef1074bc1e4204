//! The `[reader]` section: which document reader gates handover, on which serial line, in which
//! framing — its file form, the device URI's syntax and their validation.

use std::path::PathBuf;
use std::time::Duration;

use pstation_reader::Framing;
use serde::Deserialize;

/// The `[reader]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReader {
    #[serde(default)]
    device: String,
    #[serde(default = "default_quiet_ms")]
    quiet_ms: u64,
}

fn default_quiet_ms() -> u64 {
    150
}

/// Where a document reader is: `serial:///dev/ttyUSB1?baud=9600&framing=cute` (also a PTY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderUri {
    /// The device node.
    pub path: PathBuf,
    /// Baud rate (default 9600, as readers ship).
    pub baud: u32,
    /// How the reader frames a document.
    pub framing: Framing,
}

impl ReaderUri {
    /// Parses a reader's device URI; the error names the part and says what to write.
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text.strip_prefix("serial://").ok_or_else(|| {
            format!("{text:?}: a document reader is on a serial line: serial:///dev/NODE?baud=9600&framing=plain|cute|rte")
        })?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if !path.starts_with('/') || path.len() < 2 {
            return Err(format!(
                "serial path {path:?} must be absolute, e.g. /dev/ttyUSB1"
            ));
        }
        let (mut baud, mut framing, mut sod, mut eod) = (9_600u32, "plain", None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("option {pair:?} is not key=value"))?;
            match k {
                "baud" => {
                    baud = v
                        .parse()
                        .ok()
                        .filter(|b| (300..=4_000_000).contains(b))
                        .ok_or_else(|| format!("baud {v:?} is not 300 to 4000000"))?;
                }
                "framing" => framing = v,
                "sod" => sod = Some(v),
                "eod" => eod = Some(v),
                other => {
                    return Err(format!(
                        "unknown reader option {other:?}; the options are baud, framing, sod, eod"
                    ));
                }
            }
        }
        let framing = Framing::parse(framing, sod, eod).map_err(|e| e.to_string())?;
        Ok(Self {
            path: PathBuf::from(path),
            baud,
            framing,
        })
    }

    /// A short name for logs and the console: `serial:/dev/ttyUSB1 (cute)`.
    pub fn name(&self) -> String {
        format!("serial:{} ({})", self.path.display(), self.framing)
    }
}

/// The validated `[reader]` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReaderSettings {
    /// The reader, when one is configured: printed booklets then wait for their read.
    pub device: Option<ReaderUri>,
    /// How long the line stays quiet before what is open is taken as ended (a plain reader
    /// that lost a line has no other end).
    pub quiet: Duration,
}

impl RawReader {
    /// Validates the section; each problem goes to `bad` with its key.
    pub fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<ReaderSettings> {
        let mut ok = true;
        let device = if self.device.trim().is_empty() {
            None
        } else {
            match ReaderUri::parse(self.device.trim()) {
                Ok(u) => Some(u),
                Err(e) => {
                    bad("reader.device", e);
                    ok = false;
                    None
                }
            }
        };
        if !(20..=5_000).contains(&self.quiet_ms) {
            bad(
                "reader.quiet_ms",
                format!("{} is not 20 to 5000 milliseconds", self.quiet_ms),
            );
            ok = false;
        }
        ok.then(|| ReaderSettings {
            device,
            quiet: Duration::from_millis(self.quiet_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_uris_are_checked_part_by_part() {
        let u = ReaderUri::parse("serial:///dev/ttyUSB1?baud=19200&framing=rte").expect("valid");
        assert_eq!((u.baud, u.framing), (19_200, Framing::Rte));
        assert_eq!(u.name(), "serial:/dev/ttyUSB1 (rte)");
        let u = ReaderUri::parse("serial:///dev/r").expect("defaults");
        assert_eq!((u.baud, u.framing), (9_600, Framing::Plain));
        for (bad, words) in [
            ("tcp://host:1", "serial line"),
            ("serial://dev/r", "absolute"),
            ("serial:///dev/r?baud=1", "baud"),
            ("serial:///dev/r?framing=x", "reader-framing-unknown"),
            ("serial:///dev/r?framing=plain&sod=1c", "only applies"),
            ("serial:///dev/r?flow=none", "unknown reader option"),
            ("serial:///dev/r?baud", "key=value"),
        ] {
            let e = ReaderUri::parse(bad).expect_err(bad);
            assert!(e.contains(words), "{bad}: {e}");
        }
    }
}
