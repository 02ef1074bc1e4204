//! What IPP attributes mean to the station, as pure functions: a printer's attributes become its
//! status (state, reasons in our vocabulary), capabilities and identity; a job's attributes
//! become its progress and, once it ends, the outcome — confirmed only when the printer says
//! `completed` *and* counts the impressions we sent. The requests themselves are built here too,
//! so their bytes can be checked without a network (the codec is the `ipp` crate).

use std::collections::BTreeMap;

use ipp::model::{DelimiterTag, IppVersion, Operation};
use ipp::prelude::{IppAttribute, IppAttributes, IppRequestResponse, IppValue, Uri};
use pstation_printer_api::{
    Capabilities, DocumentFormat, Identity, Link, PrintOutcome, PrinterState, PrinterStatus,
    reasons::SETTLING,
};

use super::pwg::RasterType;

/// The user name the station gives the printer (no person's name).
pub const USER: &str = "pstation";

/// One attribute group, by name; arrays flattened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs(BTreeMap<String, Vec<IppValue>>);

impl Attrs {
    /// The first group tagged `tag` in `attributes`.
    pub fn of(attributes: &IppAttributes, tag: DelimiterTag) -> Self {
        let mut map = BTreeMap::new();
        for group in attributes.groups_of(tag) {
            for a in group.attributes() {
                let values = match a.value() {
                    IppValue::Array(v) => v.clone(),
                    v => vec![v.clone()],
                };
                map.insert(a.name().to_string(), values);
            }
        }
        Self(map)
    }

    /// The values of `name` that are strings (keywords, text, names, MIME types, URIs).
    pub fn texts(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|v| match v {
                IppValue::Keyword(s) | IppValue::MimeMediaType(s) => Some(s.to_string()),
                IppValue::TextWithoutLanguage(s) => Some(s.to_string()),
                IppValue::NameWithoutLanguage(s) => Some(s.to_string()),
                IppValue::TextWithLanguage { text, .. } => Some(text.to_string()),
                IppValue::NameWithLanguage { name, .. } => Some(name.to_string()),
                IppValue::Uri(s) | IppValue::UriScheme(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The first string value of `name`.
    pub fn text(&self, name: &str) -> Option<String> {
        self.texts(name).into_iter().next()
    }

    /// The first integer or enum value of `name`.
    pub fn int(&self, name: &str) -> Option<i32> {
        self.0.get(name)?.iter().find_map(|v| match v {
            IppValue::Integer(n) | IppValue::Enum(n) => Some(*n),
            _ => None,
        })
    }

    /// The first boolean value of `name`.
    pub fn boolean(&self, name: &str) -> Option<bool> {
        self.0.get(name)?.iter().find_map(|v| match v {
            IppValue::Boolean(b) => Some(*b),
            _ => None,
        })
    }

    /// Resolutions of `name` in dots per inch (square ones only; dots per cm converted).
    pub fn resolutions(&self, name: &str) -> Vec<u32> {
        self.0
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|v| match v {
                IppValue::Resolution {
                    cross_feed,
                    feed,
                    units,
                } if cross_feed == feed && *cross_feed > 0 => {
                    let d = u32::try_from(*cross_feed).ok()?;
                    // 3 = dots per inch, 4 = dots per centimetre.
                    Some(if *units == 4 {
                        (d * 254).div_ceil(100)
                    } else {
                        d
                    })
                }
                _ => None,
            })
            .collect()
    }
}

/// Conditions that stop a booklet printer whatever severity the printer gives them (CUPS's
/// reference printer calls a jam `media-jam-warning` while processing and an empty tray
/// `media-empty-report` when idle — and then holds every job).
const BLOCKING: &[&str] = &[
    "media-jam",
    "cover-open",
    "door-open",
    "interlock-open",
    "media-empty",
    "media-needed",
    "input-tray-missing",
    "output-area-full",
    "output-tray-missing",
    "marker-supply-empty",
    "toner-empty",
    "marker-waste-full",
    "spool-area-full",
    "paused",
    "moving-to-paused",
    "shutdown",
];

/// Conditions that only warn or pass, for printers that report them without a suffix.
const REPORTS: &[&str] = &[
    "warming-up",
    "self-test",
    "resetting",
    "canceling-job",
    "connecting-to-device",
    "toner-low",
    "media-low",
    "marker-supply-low",
    "marker-waste-almost-full",
    "developer-low",
    "opc-near-eol",
    "fuser-under-temperature",
    "fuser-over-temperature",
];

/// A reason keyword in the station's vocabulary: the conditions that stop a booklet printer
/// are errors whatever their suffix; otherwise the printer's suffix stands, and a keyword
/// without one is an error (RFC 8011 §5.4.12) unless by its nature it only warns.
pub fn reason(keyword: &str) -> Option<String> {
    if keyword.is_empty() || keyword == "none" {
        return None;
    }
    let base = ["-report", "-warning", "-error"]
        .iter()
        .find_map(|s| keyword.strip_suffix(s));
    match base {
        Some(b) if BLOCKING.contains(&b) => Some(format!("{b}-error")),
        Some(_) => Some(keyword.to_owned()),
        None if BLOCKING.contains(&keyword) || !REPORTS.contains(&keyword) => {
            Some(format!("{keyword}-error"))
        }
        None => Some(format!("{keyword}-report")),
    }
}

/// The printer's status from its `printer-state`, `printer-state-reasons` and
/// `printer-state-message`. A printer that reports an error reason cannot print, whatever its
/// state says (CUPS's reference printer stays `processing` with `media-jam`).
pub fn status(attrs: &Attrs) -> PrinterStatus {
    let reasons: Vec<String> = attrs
        .texts("printer-state-reasons")
        .iter()
        .filter_map(|k| reason(k))
        .collect();
    let mut state = match attrs.int("printer-state") {
        Some(3) => PrinterState::Idle,
        Some(4) => PrinterState::Processing,
        _ => PrinterState::Stopped,
    };
    if reasons.iter().any(|r| r.ends_with("-error")) {
        state = PrinterState::Stopped;
    }
    let waiting =
        state != PrinterState::Stopped && reasons.iter().any(|r| SETTLING.contains(&r.as_str()));
    PrinterStatus {
        state,
        reasons,
        codes: Vec::new(),
        display: attrs
            .text("printer-state-message")
            .filter(|m| !m.trim().is_empty()),
        link: Link::Up,
        waiting,
    }
}

/// How the station sends pages to this printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    /// `application/pdf`.
    Pdf,
    /// `image/pwg-raster` of `kind` at `dpi`.
    Pwg {
        /// Resolution.
        dpi: u32,
        /// `black_1` or `sgray_8`.
        kind: RasterType,
    },
}

/// Which document format to use when the printer offers both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    /// PDF when offered (the page exactly as laid out, and small), else PWG raster.
    Pdf,
    /// PWG raster when offered, else PDF.
    PwgRaster,
}

/// What the printer takes (`document-format-supported`, the PWG raster resolutions and types,
/// `media-supported`, `color-supported`) and how the station will send to it.
pub fn capabilities(attrs: &Attrs, prefer: Prefer) -> Result<(Capabilities, Send), String> {
    let formats = attrs.texts("document-format-supported");
    let pdf = formats.iter().any(|f| f == "application/pdf");
    let types = attrs.texts("pwg-raster-document-type-supported");
    let kind = if types.iter().any(|t| t == "black_1") {
        Some(RasterType::Black1)
    } else if types.iter().any(|t| t == "sgray_8") {
        Some(RasterType::Sgray8)
    } else {
        None
    };
    let mut resolutions = attrs.resolutions("pwg-raster-document-resolution-supported");
    resolutions.sort_unstable_by(|a, b| b.cmp(a));
    resolutions.dedup();
    let pwg = formats.iter().any(|f| f == "image/pwg-raster")
        && kind.is_some()
        && !resolutions.is_empty();
    let raster = kind.zip(resolutions.first().copied()).filter(|_| pwg);
    let send = match (prefer, pdf, raster) {
        (Prefer::PwgRaster, _, Some((kind, dpi))) | (Prefer::Pdf, false, Some((kind, dpi))) => {
            Send::Pwg { dpi, kind }
        }
        (_, true, _) => Send::Pdf,
        (_, false, None) => {
            return Err(format!(
                "the printer takes neither PDF nor PWG raster in black_1 or sgray_8 (document-format-supported: {})",
                if formats.is_empty() {
                    "none".to_owned()
                } else {
                    formats.join(", ")
                }
            ));
        }
    };
    let formats = match send {
        Send::Pdf => vec![DocumentFormat::Pdf],
        Send::Pwg { .. } => vec![DocumentFormat::Bitmap],
    };
    Ok((
        Capabilities {
            formats,
            resolutions: if pwg { resolutions } else { Vec::new() },
            media: attrs.texts("media-supported"),
            color: attrs.boolean("color-supported").unwrap_or(false),
            console: None,
        },
        send,
    ))
}

/// Who the printer is: make and model, its impression counter when it reports one, and the
/// lines a technician compares with the printer's own page.
pub fn identity(attrs: &Attrs) -> Identity {
    let mut config = Vec::new();
    for name in [
        "printer-name",
        "printer-info",
        "printer-location",
        "printer-uuid",
        "printer-device-id",
        "printer-firmware-string-version",
        "document-format-supported",
    ] {
        let values: Vec<String> = attrs
            .texts(name)
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .collect();
        if !values.is_empty() {
            config.push(format!("{name}={}", values.join(",")));
        }
    }
    let dpi = attrs.resolutions("pwg-raster-document-resolution-supported");
    if !dpi.is_empty() {
        let dpi: Vec<String> = dpi.iter().map(|d| format!("{d}dpi")).collect();
        config.push(format!(
            "pwg-raster-document-resolution-supported={}",
            dpi.join(",")
        ));
    }
    Identity {
        model: attrs
            .text("printer-make-and-model")
            .unwrap_or_else(|| "an IPP printer that does not say its model".to_owned()),
        page_count: attrs
            .int("printer-impressions-completed")
            .and_then(|n| u64::try_from(n).ok()),
        config,
    }
}

/// A job as the printer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    /// `job-state` (3 pending … 9 completed).
    pub state: i32,
    /// `job-state-reasons`.
    pub reasons: Vec<String>,
    /// `job-impressions-completed`, when reported.
    pub impressions_completed: Option<i32>,
    /// `job-state-message`.
    pub message: Option<String>,
}

impl JobView {
    /// From a job attributes group.
    pub fn from(attrs: &Attrs) -> Self {
        Self {
            state: attrs.int("job-state").unwrap_or(0),
            reasons: attrs
                .texts("job-state-reasons")
                .into_iter()
                .filter(|r| r != "none")
                .collect(),
            impressions_completed: attrs.int("job-impressions-completed"),
            message: attrs.text("job-state-message"),
        }
    }

    fn why(&self) -> String {
        let mut parts = Vec::new();
        if !self.reasons.is_empty() {
            parts.push(format!("job-state-reasons {}", self.reasons.join(", ")));
        }
        if let Some(m) = self.message.as_deref().filter(|m| !m.trim().is_empty()) {
            parts.push(format!("\"{}\"", m.trim()));
        }
        if parts.is_empty() {
            "no reason given".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// The outcome of a job that has ended (`None` while it has not): `completed` with every
/// impression counted is confirmed; `completed` short of impressions (a printer that ran out of
/// booklets and still said completed), `aborted`, and a cancel with sheets out are unknown —
/// someone must look at the booklet.
pub fn judge(job: &JobView, expected: u32, canceled_by_us: bool) -> Option<PrintOutcome> {
    let done = job.impressions_completed.unwrap_or(0);
    let counted = u32::try_from(done).unwrap_or(0);
    match job.state {
        9 if counted >= expected => Some(PrintOutcome::Confirmed { pages: expected }),
        9 => Some(PrintOutcome::Unknown {
            reason: format!(
                "the printer said the job completed but counted {counted} of {expected} impressions ({})",
                job.why()
            ),
        }),
        7 if canceled_by_us && done == 0 => Some(PrintOutcome::CanceledByHost),
        7 if canceled_by_us => Some(PrintOutcome::Unknown {
            reason: format!("cancelled after {counted} of {expected} impressions"),
        }),
        7 => Some(PrintOutcome::CanceledAtDevice),
        8 => Some(PrintOutcome::Unknown {
            reason: format!(
                "the printer aborted the job after {counted} of {expected} impressions ({})",
                job.why()
            ),
        }),
        _ => None,
    }
}

/// Builds a request for `operation` on the printer at `printer_uri` with the station's user name.
pub fn request(
    operation: Operation,
    printer_uri: &str,
    request_id: i32,
) -> Result<IppRequestResponse, String> {
    let uri: Uri = printer_uri
        .parse()
        .map_err(|e| format!("printer URI {printer_uri:?}: {e}"))?;
    let mut req = IppRequestResponse::new(IppVersion::v1_1(), operation, Some(uri))
        .map_err(|e| e.to_string())?;
    req.header_mut().request_id = request_id;
    add(&mut req, "requesting-user-name", name(USER)?)?;
    Ok(req)
}

/// Adds an operation attribute.
pub fn add(req: &mut IppRequestResponse, attr: &str, value: IppValue) -> Result<(), String> {
    let attribute = IppAttribute::with_name(attr, value).map_err(|e| format!("{attr}: {e}"))?;
    req.attributes_mut()
        .add(DelimiterTag::OperationAttributes, attribute);
    Ok(())
}

/// A `name` value.
pub fn name(s: &str) -> Result<IppValue, String> {
    Ok(IppValue::NameWithoutLanguage(s.try_into().map_err(
        |_| format!("{s:?} is too long for an IPP name"),
    )?))
}

/// A `keyword` value.
pub fn keyword(s: &str) -> Result<IppValue, String> {
    Ok(IppValue::Keyword(s.try_into().map_err(|_| {
        format!("{s:?} is too long for an IPP keyword")
    })?))
}

/// A `mimeMediaType` value.
pub fn mime(s: &str) -> Result<IppValue, String> {
    Ok(IppValue::MimeMediaType(s.try_into().map_err(|_| {
        format!("{s:?} is too long for a MIME type")
    })?))
}

#[cfg(test)]
mod tests;
