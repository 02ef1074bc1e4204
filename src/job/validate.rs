//! Job JSON → `Job`: every field checked, every problem reported at once with its JSON path and
//! a stable code.

use base64::Engine as _;
use serde_json::{Map, Value};
use time::{Date, Month};
use unicode_normalization::UnicodeNormalization;

use super::{Document, Job, MediaType, Portrait, SCHEMA_VERSION, Sex, strict_json};
use crate::mrz::{codes, translit};
use crate::problem::{Problem, Problems};

/// The largest job document accepted (a 20 MB portrait in base64 plus the fields).
pub const MAX_JOB_BYTES: usize = 32 * 1024 * 1024;
/// The largest decoded portrait accepted at the job level (the layout applies its own,
/// configurable limits on dimensions before decoding).
pub const MAX_PORTRAIT_BYTES: usize = 20 * 1024 * 1024;
/// The longest name field accepted as input (characters).
const MAX_NAME_CHARS: usize = 120;
/// ICAO element 12: place of birth, at most 27 characters.
const MAX_PLACE_OF_BIRTH: usize = 27;
/// The longest issuing-office text accepted (characters).
const MAX_AUTHORITY: usize = 40;

/// What validation requires besides the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Whether a missing portrait is a problem (`pstation mrz` does not need one).
    pub require_portrait: bool,
}

const TOP_FIELDS: &[&str] = &["schema", "job_id", "document", "portrait"];
const DOCUMENT_FIELDS: &[&str] = &[
    "code",
    "issuing_state",
    "number",
    "surname",
    "given_names",
    "nationality",
    "date_of_birth",
    "sex",
    "place_of_birth",
    "date_of_issue",
    "date_of_expiry",
    "authority",
    "personal_number",
    "registration_number",
    "married",
];
const PORTRAIT_FIELDS: &[&str] = &["media_type", "data"];

/// Parses and validates a job document.
pub fn parse_job(bytes: &[u8], opts: &ValidateOptions) -> Result<Job, Problems> {
    if bytes.len() > MAX_JOB_BYTES {
        return Err(Problems(vec![Problem::new(
            "$",
            "too-large",
            format!(
                "the job is {} bytes; at most {MAX_JOB_BYTES} are accepted",
                bytes.len()
            ),
        )]));
    }
    let value = strict_json::parse(bytes).map_err(|e| {
        Problems(vec![Problem::new(
            "$",
            "json-syntax",
            format!("not valid JSON: {e}"),
        )])
    })?;
    let mut v = Validator::default();
    let job = v.job(&value, opts);
    match job {
        Some(job) if v.problems.is_empty() => Ok(job),
        _ => Err(Problems(v.problems)),
    }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn report(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.problems.push(Problem::new(path, code, message));
    }

    fn object<'a>(
        &mut self,
        v: &'a Value,
        path: &str,
        known: &[&str],
    ) -> Option<&'a Map<String, Value>> {
        let Some(map) = v.as_object() else {
            self.report(
                path,
                "type",
                format!("expected an object, found {}", kind(v)),
            );
            return None;
        };
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                self.report(
                    &join(path, key),
                    "unknown-field",
                    format!("unknown field; expected one of: {}", known.join(", ")),
                );
            }
        }
        Some(map)
    }

    /// A string field; `None` (with a problem reported) when missing or not a string.
    fn string<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<&'a str> {
        let p = join(path, key);
        match map.get(key) {
            None | Some(Value::Null) => {
                self.report(&p, "required", "required field is missing");
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.report(
                    &p,
                    "type",
                    format!("expected a string, found {}", kind(other)),
                );
                None
            }
        }
    }

    /// An optional string field: absent or null is `Some(None)`.
    fn optional_string<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<Option<&'a str>> {
        match map.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s)),
            Some(other) => {
                self.report(
                    &join(path, key),
                    "type",
                    format!("expected a string, found {}", kind(other)),
                );
                None
            }
        }
    }

    fn job(&mut self, v: &Value, opts: &ValidateOptions) -> Option<Job> {
        let top = self.object(v, "$", TOP_FIELDS)?;
        match top.get("schema") {
            None => self.report("schema", "required", "required field is missing"),
            Some(Value::Number(n)) if n.as_u64() == Some(SCHEMA_VERSION) => {}
            Some(other) => self.report(
                "schema",
                "unsupported-schema",
                format!(
                    "schema {other} is not supported; this station reads schema {SCHEMA_VERSION}"
                ),
            ),
        }
        let job_id = self.string(top, "", "job_id").and_then(|id| {
            let ok_chars = id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if id.is_empty() || id.len() > 64 || !ok_chars {
                self.report(
                    "job_id",
                    "job-id-format",
                    "must be 1 to 64 of A-Z a-z 0-9 . _ -",
                );
                None
            } else {
                Some(id.to_owned())
            }
        });
        let document = match top.get("document") {
            None => {
                self.report("document", "required", "required field is missing");
                None
            }
            Some(d) => self.document(d),
        };
        let portrait = match top.get("portrait") {
            None | Some(Value::Null) => {
                if opts.require_portrait {
                    self.report(
                        "portrait",
                        "required",
                        "a portrait is needed to print the data page",
                    );
                }
                None
            }
            Some(p) => self.portrait(p),
        };
        Some(Job {
            job_id: job_id?,
            document: document?,
            portrait,
        })
    }

    fn document(&mut self, v: &Value) -> Option<Document> {
        const P: &str = "document";
        let d = self.object(v, P, DOCUMENT_FIELDS)?;

        let code = self.string(d, P, "code").and_then(|c| {
            let b = c.as_bytes();
            if b.first() == Some(&b'P')
                && b.len() <= 2
                && b.get(1).is_none_or(u8::is_ascii_uppercase)
            {
                Some(c.to_owned())
            } else {
                self.report(
                    "document.code",
                    "document-code",
                    format!("{c:?} is not P or P plus one upper-case letter"),
                );
                None
            }
        });
        let issuing_state = self.state_code(d, "issuing_state");
        let nationality = self.state_code(d, "nationality");
        let number = self.string(d, P, "number").and_then(|n| {
            if n.is_empty() || n.len() > 9 || !is_upper_alnum(n) {
                self.report(
                    "document.number",
                    "number-format",
                    "must be 1 to 9 of A-Z 0-9 (upper case)",
                );
                None
            } else {
                Some(n.to_owned())
            }
        });
        let surname = self.name(d, "surname", true);
        let given_names = self.name(d, "given_names", false);
        let date_of_birth = self.date(d, "date_of_birth");
        let date_of_issue = self.date(d, "date_of_issue");
        let date_of_expiry = self.date(d, "date_of_expiry");
        let sex = self.string(d, P, "sex").and_then(|s| match s {
            "M" => Some(Sex::Male),
            "F" => Some(Sex::Female),
            "X" => Some(Sex::Unspecified),
            other => {
                self.report("document.sex", "sex", format!("{other:?} is not M, F or X"));
                None
            }
        });
        let place_of_birth = self.viz_text(d, "place_of_birth", MAX_PLACE_OF_BIRTH);
        let authority = self.viz_text(d, "authority", MAX_AUTHORITY);
        let personal_number = self.optional_string(d, P, "personal_number").and_then(|n| {
            let n = n.unwrap_or("");
            if n.len() > 14 || !is_upper_alnum(n) {
                self.report(
                    "document.personal_number",
                    "personal-number-format",
                    "must be up to 14 of A-Z 0-9 (upper case)",
                );
                None
            } else {
                Some(n.to_owned())
            }
        });
        let registration_number = self
            .optional_string(d, P, "registration_number")
            .and_then(|r| match r {
                None => Some(None),
                Some(r) if !r.is_empty() && r.len() <= 20 && is_upper_alnum(r) => {
                    Some(Some(r.to_owned()))
                }
                Some(_) => {
                    self.report(
                        "document.registration_number",
                        "registration-number-format",
                        "must be 1 to 20 of A-Z 0-9 (upper case)",
                    );
                    None
                }
            });
        let married = match d.get("married") {
            None | Some(Value::Null) => Some(None),
            Some(Value::Bool(b)) => Some(Some(*b)),
            Some(other) => {
                self.report(
                    "document.married",
                    "type",
                    format!("expected true or false, found {}", kind(other)),
                );
                None
            }
        };

        // Cross-field date rules.
        if let (Some(birth), Some(issue)) = (date_of_birth, date_of_issue)
            && issue < birth
        {
            self.report(
                "document.date_of_issue",
                "issue-before-birth",
                "the date of issue is before the date of birth",
            );
        }
        if let (Some(issue), Some(expiry)) = (date_of_issue, date_of_expiry)
            && expiry <= issue
        {
            self.report(
                "document.date_of_expiry",
                "expiry-before-issue",
                "the date of expiry must be after the date of issue",
            );
        }
        if let (Some(birth), Some(expiry)) = (date_of_birth, date_of_expiry)
            && expiry <= birth
        {
            self.report(
                "document.date_of_expiry",
                "expiry-before-birth",
                "the date of expiry must be after the date of birth",
            );
        }

        Some(Document {
            code: code?,
            issuing_state: issuing_state?,
            number: number?,
            surname: surname?,
            given_names: given_names?,
            nationality: nationality?,
            date_of_birth: date_of_birth?,
            sex: sex?,
            place_of_birth: place_of_birth?,
            date_of_issue: date_of_issue?,
            date_of_expiry: date_of_expiry?,
            authority: authority?,
            personal_number: personal_number?,
            registration_number: registration_number?,
            married: married?,
        })
    }

    fn state_code(&mut self, d: &Map<String, Value>, key: &str) -> Option<String> {
        let c = self.string(d, "document", key)?;
        if codes::lookup(c).is_some() {
            Some(c.to_owned())
        } else {
            self.report(
                &join("document", key),
                "unknown-state-code",
                format!("{c:?} is not an ICAO code (ISO 3166-1 alpha-3 or an ICAO addition such as D, UTO, XXA), in upper case"),
            );
            None
        }
    }

    /// A name as written: NFC-normalised, transliterable by Table A; the primary identifier must
    /// hold at least one letter.
    fn name(&mut self, d: &Map<String, Value>, key: &str, primary: bool) -> Option<String> {
        let path = join("document", key);
        let raw = self.string(d, "document", key)?;
        let name: String = raw.nfc().collect();
        if name.chars().count() > MAX_NAME_CHARS {
            self.report(
                &path,
                "too-long",
                format!("at most {MAX_NAME_CHARS} characters"),
            );
            return None;
        }
        match translit::components(&name, &translit::TranslitOptions::FIRST_FORMS) {
            Err(bad) => {
                self.report(&path, "name-character", bad.to_string());
                None
            }
            Ok(c) if c.is_empty() && primary => {
                self.report(
                    &path,
                    "name-empty",
                    "the surname (primary identifier) must contain letters",
                );
                None
            }
            Ok(c) if c.is_empty() && !name.trim().is_empty() => {
                self.report(
                    &path,
                    "name-empty",
                    "only punctuation: send \"\" when there are no given names",
                );
                None
            }
            Ok(_) => Some(name.trim().to_owned()),
        }
    }

    /// Free text for the VIZ (place of birth, issuing office): Latin letters (with Table A
    /// diacritics), digits, spaces and `. , - ' / ( )`.
    fn viz_text(&mut self, d: &Map<String, Value>, key: &str, max: usize) -> Option<String> {
        let path = join("document", key);
        let raw = self.string(d, "document", key)?;
        let text: String = raw.nfc().collect();
        let text = text.trim();
        if text.is_empty() {
            self.report(&path, "empty", "must not be empty");
            return None;
        }
        if text.chars().count() > max {
            self.report(
                &path,
                "too-long",
                format!("at most {max} characters (ICAO 9303 Part 4)"),
            );
            return None;
        }
        for (i, c) in text.chars().enumerate() {
            let ok = c.is_ascii_alphanumeric()
                || matches!(c, ' ' | '.' | ',' | '-' | '\'' | '/' | '(' | ')')
                || (c.is_alphabetic()
                    && translit::components(
                        &c.to_string(),
                        &translit::TranslitOptions::FIRST_FORMS,
                    )
                    .is_ok());
            if !ok {
                self.report(
                    &path,
                    "text-character",
                    format!(
                        "character {c:?} (U+{:04X}) at position {} is not allowed",
                        c as u32,
                        i + 1
                    ),
                );
                return None;
            }
        }
        Some(text.to_owned())
    }

    /// An ISO date `YYYY-MM-DD` that is a real calendar day, in 1900-2099 (the MRZ encodes
    /// two-digit years, read as 19YY or 20YY).
    fn date(&mut self, d: &Map<String, Value>, key: &str) -> Option<Date> {
        let path = join("document", key);
        let s = self.string(d, "document", key)?;
        let b = s.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            self.report(&path, "date-format", "not an ISO date YYYY-MM-DD");
            return None;
        }
        // The shape check makes these ASCII digit runs, so parsing cannot fail.
        let num = |r: std::ops::Range<usize>| s[r].parse::<u16>().unwrap_or(0);
        let (y, m, day) = (num(0..4), num(5..7), num(8..10));
        let date = Month::try_from(m as u8)
            .ok()
            .and_then(|month| Date::from_calendar_date(i32::from(y), month, day as u8).ok());
        let Some(date) = date else {
            self.report(
                &path,
                "invalid-date",
                "not a calendar date (check the day and month)",
            );
            return None;
        };
        // The MRZ writes two-digit years: expiry dates are read as 20YY, birth dates as 19YY or
        // 20YY (ICAO 9303 Part 3 §4.8; the reference's §11).
        let years = if key == "date_of_expiry" {
            2000..=2099
        } else {
            1900..=2099
        };
        if !years.contains(&y) {
            self.report(
                &path,
                "date-out-of-range",
                format!("years from {} to {} only", years.start(), years.end()),
            );
            return None;
        }
        Some(date)
    }

    fn portrait(&mut self, v: &Value) -> Option<Portrait> {
        const P: &str = "portrait";
        let p = self.object(v, P, PORTRAIT_FIELDS)?;
        let media_type = self.string(p, P, "media_type").and_then(|m| match m {
            "image/jpeg" => Some(MediaType::Jpeg),
            "image/png" => Some(MediaType::Png),
            other => {
                self.report(
                    "portrait.media_type",
                    "media-type",
                    format!("{other:?} is not image/jpeg or image/png"),
                );
                None
            }
        });
        let encoded = self.string(p, P, "data")?;
        if encoded.len() > MAX_PORTRAIT_BYTES / 3 * 4 + 4 {
            self.report(
                "portrait.data",
                "portrait-too-large",
                format!("the portrait is over {MAX_PORTRAIT_BYTES} bytes"),
            );
            return None;
        }
        let data = match base64::engine::general_purpose::STANDARD.decode(encoded) {
            Ok(d) => d,
            Err(e) => {
                self.report(
                    "portrait.data",
                    "base64",
                    format!("not standard base64: {e}"),
                );
                return None;
            }
        };
        if data.is_empty() {
            self.report(
                "portrait.data",
                "portrait-empty",
                "the portrait has no bytes",
            );
            return None;
        }
        let media_type = media_type?;
        let magic_ok = match media_type {
            MediaType::Jpeg => data.starts_with(&[0xFF, 0xD8, 0xFF]),
            MediaType::Png => data.starts_with(b"\x89PNG\r\n\x1a\n"),
        };
        if !magic_ok {
            self.report(
                "portrait.data",
                "portrait-mismatch",
                format!(
                    "the data does not start like {}; check media_type",
                    media_type.as_str()
                ),
            );
            return None;
        }
        Some(Portrait { media_type, data })
    }
}

fn is_upper_alnum(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() || path == "$" {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
