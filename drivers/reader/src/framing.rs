//! Which serial form a reader sends, as configured in the reader's device URI
//! (`framing=plain|cute|rte`, and for CUTE optionally `sod=0x..&eod=0x..`).

use std::fmt;

/// How a reader frames the lines it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// CR-ended lines, one block per document.
    Plain,
    /// `<SOD><STX>lines<ETX><EOD>` (IATA CUTE, DESKO). `None`: any one byte is taken.
    Cute {
        /// The start-of-document byte, when configured.
        sod: Option<u8>,
        /// The end-of-document byte, when configured.
        eod: Option<u8>,
    },
    /// `<SOH><len>"OU"<STX><flag>lines<ETX><BCC>` (3M / Thales RTE).
    Rte,
}

/// A framing setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The name is not one of ours.
    #[error(
        "reader-framing-unknown: framing {0:?} is not known; use plain, cute or rte (the reader's manual says which it sends)"
    )]
    Unknown(String),
    /// A control byte is not `0x00`..`0xFF` written in hex.
    #[error("reader-framing-byte: {key}={value:?} is not one byte in hex (e.g. {key}=0x1C)")]
    Byte {
        /// `sod` or `eod`.
        key: &'static str,
        /// What was written.
        value: String,
    },
    /// A control byte would be read as MRZ text or a line end.
    #[error(
        "reader-framing-byte: {key}=0x{byte:02X} is a character of the lines themselves; SOD and EOD must be control bytes other than STX, ETX, CR and LF"
    )]
    Clashes {
        /// `sod` or `eod`.
        key: &'static str,
        /// The byte.
        byte: u8,
    },
    /// `sod`/`eod` given for a framing that has none.
    #[error("reader-framing-byte: {0} only applies to framing=cute")]
    NotCute(&'static str),
}

impl Framing {
    /// CUTE with any SOD / EOD byte accepted.
    pub const CUTE: Framing = Framing::Cute {
        sod: None,
        eod: None,
    };

    /// Parses `name` (`plain`, `cute`, `rte`) with the optional CUTE control bytes as written
    /// in a URI (`0x1C`, `1c`).
    pub fn parse(name: &str, sod: Option<&str>, eod: Option<&str>) -> Result<Self, FramingError> {
        let framing = match name {
            "plain" => Self::Plain,
            "cute" | "desko" => Self::Cute {
                sod: sod.map(|v| byte("sod", v)).transpose()?,
                eod: eod.map(|v| byte("eod", v)).transpose()?,
            },
            "rte" | "3m" => Self::Rte,
            other => return Err(FramingError::Unknown(other.to_owned())),
        };
        if !matches!(framing, Self::Cute { .. }) {
            if sod.is_some() {
                return Err(FramingError::NotCute("sod"));
            }
            if eod.is_some() {
                return Err(FramingError::NotCute("eod"));
            }
        }
        Ok(framing)
    }

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Cute { .. } => "cute",
            Self::Rte => "rte",
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if let Self::Cute { sod, eod } = self {
            if let Some(b) = sod {
                write!(f, " sod=0x{b:02X}")?;
            }
            if let Some(b) = eod {
                write!(f, " eod=0x{b:02X}")?;
            }
        }
        Ok(())
    }
}

fn byte(key: &'static str, value: &str) -> Result<u8, FramingError> {
    let digits = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
        .unwrap_or(value);
    let b = if (1..=2).contains(&digits.len()) {
        u8::from_str_radix(digits, 16).ok()
    } else {
        None
    }
    .ok_or_else(|| FramingError::Byte {
        key,
        value: value.to_owned(),
    })?;
    if b >= 0x20 || [crate::STX, crate::ETX, crate::CR, crate::LF].contains(&b) {
        return Err(FramingError::Clashes { key, byte: b });
    }
    Ok(b)
}
