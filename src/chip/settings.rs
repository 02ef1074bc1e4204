//! The `[chip]` section: which chip reader checks each e-passport booklet before it prints
//! (a PC/SC reader by name, or the station's own port for a virtual card), the CSCA
//! certificates Passive Authentication trusts, and how long a card may take.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use x509_cert::Certificate;

/// The `[chip]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChip {
    #[serde(default)]
    reader: String,
    #[serde(default)]
    csca: Vec<String>,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    3_000
}

/// Where the chip reader is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChipReader {
    /// A PC/SC reader: the first whose name contains this (case-insensitive), e.g.
    /// `Virtual PCD 00 00` or `OMNIKEY`.
    Pcsc(String),
    /// The station's own vpcd port: a virtual card (`pstation sim-chip`) connects to it, as it
    /// would to vsmartcard's `vpcd` (for tests and the demo, without `pcscd`).
    Vpcd(SocketAddr),
}

impl ChipReader {
    /// Parses the `reader` value: `vpcd://HOST:PORT`, else a PC/SC reader name pattern.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(addr) = text.strip_prefix("vpcd://") {
            return addr.parse().map(Self::Vpcd).map_err(|_| {
                format!("{addr:?} is not HOST:PORT (an IP address and a port), e.g. vpcd://127.0.0.1:35963")
            });
        }
        if text.chars().any(char::is_control) {
            return Err("a reader name has no control characters".to_owned());
        }
        Ok(Self::Pcsc(text.to_owned()))
    }

    /// A short name for logs and the console.
    pub fn name(&self) -> String {
        match self {
            Self::Pcsc(p) => format!("pcsc:{p}"),
            Self::Vpcd(a) => format!("vpcd://{a}"),
        }
    }
}

/// The validated `[chip]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipSettings {
    /// The reader, when one is configured: every booklet's chip is then checked before it
    /// prints, and e-passports are reprinted only through the central office.
    pub reader: Option<ChipReader>,
    /// The trusted CSCA certificates, read from the `csca` files.
    pub cscas: Vec<Certificate>,
    /// The files they were read from.
    pub csca_files: Vec<PathBuf>,
    /// How long a card may take to be found and to answer one command.
    pub timeout: Duration,
}

impl Default for ChipSettings {
    fn default() -> Self {
        Self {
            reader: None,
            cscas: Vec::new(),
            csca_files: Vec::new(),
            timeout: Duration::from_millis(default_timeout_ms()),
        }
    }
}

impl RawChip {
    /// Validates the section (reading the CSCA files); each problem goes to `bad` with its key.
    pub fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<ChipSettings> {
        let mut ok = true;
        let reader = if self.reader.trim().is_empty() {
            None
        } else {
            match ChipReader::parse(&self.reader) {
                Ok(r) => Some(r),
                Err(e) => {
                    bad("chip.reader", e);
                    ok = false;
                    None
                }
            }
        };
        if !(200..=60_000).contains(&self.timeout_ms) {
            bad(
                "chip.timeout_ms",
                format!("{} is not 200 to 60000 milliseconds", self.timeout_ms),
            );
            ok = false;
        }
        let mut cscas = Vec::new();
        let mut csca_files = Vec::new();
        for (i, file) in self.csca.iter().enumerate() {
            let key = format!("chip.csca[{i}]");
            let path = PathBuf::from(file);
            if !path.is_absolute() {
                bad(&key, format!("{file:?} must be an absolute path"));
                ok = false;
                continue;
            }
            match std::fs::read(&path) {
                Ok(bytes) => match pstation_chip::pa::parse_certificates(&bytes) {
                    Ok(certs) if !certs.is_empty() => {
                        cscas.extend(certs);
                        csca_files.push(path);
                    }
                    Ok(_) => {
                        bad(&key, format!("{file}: no certificate in the file"));
                        ok = false;
                    }
                    Err(e) => {
                        bad(
                            &key,
                            format!("{file}: not a PEM or DER X.509 certificate ({e})"),
                        );
                        ok = false;
                    }
                },
                Err(e) => {
                    bad(&key, format!("{file}: cannot be read ({e})"));
                    ok = false;
                }
            }
        }
        if reader.is_some() && self.csca.is_empty() {
            bad(
                "chip.csca",
                "a chip reader needs the CSCA certificate files that Passive Authentication trusts (csca = [\"/etc/pstation/csca/IDN.pem\"])".to_owned(),
            );
            ok = false;
        }
        ok.then(|| ChipSettings {
            reader,
            cscas,
            csca_files,
            timeout: Duration::from_millis(self.timeout_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_values_are_a_pcsc_pattern_or_a_vpcd_port() {
        assert_eq!(
            ChipReader::parse("Virtual PCD 00 00"),
            Ok(ChipReader::Pcsc("Virtual PCD 00 00".into()))
        );
        assert_eq!(
            ChipReader::parse("vpcd://127.0.0.1:35963").map(|r| r.name()),
            Ok("vpcd://127.0.0.1:35963".to_owned())
        );
        assert!(
            ChipReader::parse("vpcd://localhost")
                .expect_err("no port")
                .contains("HOST:PORT")
        );
    }

    #[test]
    fn a_reader_without_cscas_and_unreadable_files_are_named() {
        let raw: RawChip = toml::from_str(
            "reader = \"Virtual PCD\"\ncsca = [\"relative.pem\", \"/nonexistent/x.pem\"]\ntimeout_ms = 5",
        )
        .expect("parses");
        let mut problems = Vec::new();
        assert!(
            raw.validate(&mut |k: &str, m: String| problems.push(format!("{k}: {m}")))
                .is_none()
        );
        let text = problems.join("\n");
        for want in [
            "chip.csca[0]",
            "absolute",
            "chip.csca[1]",
            "chip.timeout_ms",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
        let raw: RawChip = toml::from_str("reader = \"x\"").expect("parses");
        let mut problems = Vec::new();
        assert!(
            raw.validate(&mut |k: &str, m: String| problems.push(format!("{k}: {m}")))
                .is_none()
        );
        assert!(problems[0].starts_with("chip.csca:"), "{problems:?}");
    }
}
