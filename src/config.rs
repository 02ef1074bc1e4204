//! Station configuration: the embedded documented default, TOML parsing into raw structs, and
//! validation into settings with every problem reported at once.
//!
//! Design: two stages. Each section of the file is read into its raw struct (`RawDaemon`, ...:
//! serde, unknown keys refused), one section at a time so that a problem in one does not hide
//! the others; each raw section then validates itself into its part of `Settings`, which holds
//! checked values and is passed explicitly — there is no global configuration. Keys added after
//! the first release have serde defaults, so an older file keeps loading; `[central]` and
//! `[api]` may be missing altogether.

use std::path::Path;

use serde::Deserialize;
use time::UtcOffset;

use crate::mrz::translit::{ADiaeresis, ARing, NTilde, ODiaeresis, TranslitOptions, UDiaeresis};
use crate::mrz::{EmptyOptionalCheck, MrzOptions};
use crate::policy::Policy;
use crate::problem::{Problem, Problems};

/// The embedded default configuration, with comments.
pub const DEFAULT_TOML: &str = include_str!("default-config.toml");

/// The largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    #[serde(default = "default_true")]
    require_tokens: bool,
    #[serde(default)]
    users: Vec<RawUser>,
    #[serde(default)]
    tls_listen: String,
    #[serde(default)]
    tls_cert: String,
    #[serde(default)]
    tls_key: String,
    #[serde(default)]
    tls_client_ca: String,
    #[serde(default = "default_session_idle_minutes")]
    session_idle_minutes: u32,
}

fn default_session_idle_minutes() -> u32 {
    15
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: String,
    role: String,
    token_sha256: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCentral {
    #[serde(default = "default_true")]
    require_signed_jobs: bool,
    #[serde(default)]
    keys: Vec<RawKey>,
    #[serde(default)]
    station_id: String,
    #[serde(default)]
    status_webhook: String,
    #[serde(default)]
    status_webhook_token: String,
    #[serde(default)]
    nats_url: String,
    #[serde(default)]
    nats_token: String,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    kid: String,
    public_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    listen: String,
    data_dir: String,
    device: String,
    require_booklet_confirmation: bool,
    max_store_mb: u64,
    /// Added after the first release: a configuration written before it keeps loading.
    #[serde(default = "default_min_free_mb")]
    min_free_mb: u64,
    /// Added with encryption at rest (schema 7).
    #[serde(default = "default_key_file")]
    key_file: String,
    /// Added with encryption at rest (schema 7).
    #[serde(default = "default_purge_after_days")]
    purge_after_days: u32,
}

fn default_min_free_mb() -> u64 {
    256
}

fn default_key_file() -> String {
    "/etc/pstation/store.key".to_owned()
}

fn default_purge_after_days() -> u32 {
    7
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRender {
    template: String,
    offset_x_mm: f32,
    offset_y_mm: f32,
    max_portrait_bytes: u64,
    max_portrait_megapixels: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStation {
    utc_offset: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMrz {
    empty_personal_number_check: String,
    transliteration: RawTranslit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTranslit {
    a_diaeresis: String,
    a_ring: String,
    o_diaeresis: String,
    u_diaeresis: String,
    n_tilde: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    issuing_state: String,
    nationality: String,
    document_codes: Vec<String>,
    number_prefixes: Vec<String>,
    names_letters_and_spaces_only: bool,
    standard_validity_years: u8,
    adult_validity_years: u8,
    adult_age: u8,
    married_counts_as_adult: bool,
}

/// Validated station settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The station's UTC offset, for "today".
    pub utc_offset: UtcOffset,
    /// MRZ choices of the issuing State.
    pub mrz: MrzOptions,
    /// The issuance policy.
    pub policy: Policy,
    /// Data page settings.
    pub render: RenderSettings,
    /// The daemon.
    pub daemon: DaemonSettings,
    /// The central office: signed approvals.
    pub central: CentralSettings,
    /// Who may use the HTTP API.
    pub api: ApiSettings,
}

/// Validated `[api]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiSettings {
    /// Every request but health and metrics needs a user's bearer token (`false` only in a lab:
    /// then anyone who can reach the API may do anything, named by `X-Pstation-User`).
    pub require_tokens: bool,
    /// The users.
    pub users: Vec<crate::central::auth::User>,
    /// The API over TLS as well, when configured.
    pub tls: Option<crate::central::link::TlsSettings>,
    /// A console session ends after this long without a request.
    pub session_idle: std::time::Duration,
}

/// Validated `[central]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CentralSettings {
    /// Accept only jobs signed by a key in `keys` (`false` only for a lab or a demo).
    pub require_signed_jobs: bool,
    /// The central office's public keys by id (several during a key rotation).
    pub keys: crate::central::jws::Keyring,
    /// This station's id in status reports (the host name when not configured).
    pub station_id: String,
    /// Where job status changes are delivered, if anywhere.
    pub webhook: Option<crate::central::link::Webhook>,
    /// The NATS server jobs come from and status goes to, if any.
    pub nats: Option<crate::central::link::NatsSettings>,
}

/// Validated `[daemon]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonSettings {
    /// The HTTP API's address.
    pub listen: std::net::SocketAddr,
    /// Where the store and rendered files live.
    pub data_dir: std::path::PathBuf,
    /// The printer.
    pub device: crate::printer::uri::DeviceUri,
    /// Print only after the operator confirmed the loaded booklet's number.
    pub require_booklet_confirmation: bool,
    /// The store's size limit in MB (new jobs are refused from 90 % of it).
    pub max_store_mb: u64,
    /// Free space in MB kept on the data folder's disk (new jobs are refused below it).
    pub min_free_mb: u64,
    /// The store key (outside the data folder): personal data in the store is sealed with it.
    pub key_file: std::path::PathBuf,
    /// Days after a job ended (completed or canceled) when its personal data is purged.
    pub purge_after_days: u32,
}

/// Validated `[render]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSettings {
    /// A template file, or `None` for the shipped template.
    pub template: Option<std::path::PathBuf>,
    /// The printer's calibration.
    pub calibration: crate::layout::build::Calibration,
    /// Portrait limits.
    pub limits: crate::layout::portrait::PortraitLimits,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the configuration: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the structure.
    #[error("{path}: config-syntax: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message (names the key and line).
        message: String,
    },
    /// Values are out of range; every problem is listed.
    #[error("{0}")]
    Invalid(Problems),
}

impl Settings {
    /// The settings of the embedded default.
    pub fn default_settings() -> Result<Self, ConfigError> {
        Self::from_toml(DEFAULT_TOML, "(embedded default)")
    }

    /// `--config FILE` when given, else the embedded default.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            Some(p) => Self::load(p),
            None => Self::default_settings(),
        }
    }

    /// Loads and validates a configuration file (`-` is standard input).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let display = if path == Path::new("-") {
            "(stdin)".to_owned()
        } else {
            path.display().to_string()
        };
        let read_err = |source| ConfigError::Read {
            path: display.clone(),
            source,
        };
        let text = crate::fsio::read_bounded(path, MAX_CONFIG_BYTES).map_err(read_err)?;
        let Some(text) = text else {
            return Err(ConfigError::Syntax {
                path: display,
                message: format!("the file is larger than {MAX_CONFIG_BYTES} bytes"),
            });
        };
        Self::from_toml(&text, &display)
    }

    /// Parses and validates configuration text; `origin` names it in errors. A TOML syntax error
    /// stops at once (nothing after it can be read); otherwise every problem is reported
    /// together: unknown keys (with the known key they are closest to), values of the wrong
    /// type, missing keys and values out of range.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: origin.to_owned(),
            message: syntax_message(text, &e),
        })?;
        let mut problems = Vec::new();
        let mut top = toml::Value::Table(doc);
        strip_unknown(&mut top, "", &mut problems);
        let toml::Value::Table(doc) = top else {
            unreachable!("a table stays a table")
        };
        let station = section::<RawStation>(&doc, "station", false, &mut problems);
        let mrz = section::<RawMrz>(&doc, "mrz", false, &mut problems);
        let policy = section::<RawPolicy>(&doc, "policy", false, &mut problems);
        let render = section::<RawRender>(&doc, "render", false, &mut problems);
        let daemon = section::<RawDaemon>(&doc, "daemon", false, &mut problems);
        let central = section::<RawCentral>(&doc, "central", true, &mut problems);
        let api = section::<RawApi>(&doc, "api", true, &mut problems);
        let mut bad = |path: &str, message: String| {
            problems.push(Problem::new(path, "config-value", message));
        };
        let utc_offset = station.and_then(|s| s.validate(&mut bad));
        let mrz = mrz.and_then(|m| m.validate(&mut bad));
        let policy = policy.and_then(|p| p.validate(&mut bad));
        let render = render.and_then(|r| r.validate(&mut bad));
        let daemon = daemon.and_then(|d| d.validate(&mut bad));
        let central = central.and_then(|c| c.validate(&mut bad));
        let api = api.and_then(|a| a.validate(&mut bad));
        match (utc_offset, mrz, policy, render, daemon, central, api) {
            (
                Some(utc_offset),
                Some(mrz),
                Some(policy),
                Some(render),
                Some(daemon),
                Some(central),
                Some(api),
            ) if problems.is_empty() => Ok(Settings {
                utc_offset,
                mrz,
                policy,
                render,
                daemon,
                central,
                api,
            }),
            _ => Err(ConfigError::Invalid(Problems(problems))),
        }
    }
}

/// A TOML syntax error as a person reads it: where (line and column), what, and the offending
/// line with a caret under the place, each on a line of its own.
fn syntax_message(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    let Some(span) = e.span() else {
        return message.to_owned();
    };
    let at = span.start.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..at].matches('\n').count() + 1;
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = text[line_start..line_end].trim_end_matches('\r');
    let column = text[line_start..at].chars().count() + 1;
    let gutter = line_no.to_string();
    format!(
        "line {line_no}, column {column}: {message}\n  {gutter} | {line}\n  {pad} | {caret}^",
        pad = " ".repeat(gutter.len()),
        caret = " ".repeat(column - 1),
    )
}

/// The sections of the file.
const SECTIONS: &[&str] = &[
    "station", "mrz", "policy", "render", "daemon", "central", "api",
];

/// The keys a table of the configuration may hold, by its path (array elements as `[]`).
fn known_keys(path: &str) -> Option<&'static [&'static str]> {
    Some(match path {
        "" => SECTIONS,
        "station" => fields_of::<RawStation>(),
        "mrz" => fields_of::<RawMrz>(),
        "mrz.transliteration" => fields_of::<RawTranslit>(),
        "policy" => fields_of::<RawPolicy>(),
        "render" => fields_of::<RawRender>(),
        "daemon" => fields_of::<RawDaemon>(),
        "central" => fields_of::<RawCentral>(),
        "central.keys[]" => fields_of::<RawKey>(),
        "api" => fields_of::<RawApi>(),
        "api.users[]" => fields_of::<RawUser>(),
        _ => return None,
    })
}

/// Removes every key the configuration does not know from `value` (a table at `path`), each
/// reported as `unknown-key` with the known key it most resembles, if one is close.
fn strip_unknown(value: &mut toml::Value, path: &str, problems: &mut Vec<Problem>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        toml::Value::Table(table) => {
            let schema_path = path_schema(path);
            let Some(known) = known_keys(&schema_path) else {
                return;
            };
            let unknown: Vec<String> = table
                .keys()
                .filter(|k| !known.contains(&k.as_str()))
                .cloned()
                .collect();
            for key in unknown {
                table.remove(&key);
                let place = if path.is_empty() {
                    "not a section of the configuration".to_owned()
                } else {
                    format!("not a setting of [{}]", schema_path.replace("[]", ""))
                };
                let hint = match closest(&key, known) {
                    Some(k) => format!("; did you mean {k}?"),
                    None => format!("; known: {}", known.join(", ")),
                };
                problems.push(Problem::new(
                    join(&key),
                    "unknown-key",
                    format!("{place}{hint}"),
                ));
            }
            for (key, child) in table.iter_mut() {
                strip_unknown(child, &join(key), problems);
            }
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                strip_unknown(item, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

/// `api.users[3]` → `api.users[]`.
fn path_schema(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// The known key closest to a misspelt one, when it is close enough to be what was meant.
fn closest(key: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 4).max(2) || (k.len() >= 4 && key.starts_with(k)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The field names a serde struct accepts (what `deny_unknown_fields` checks against), read
/// from its `Deserialize` implementation so the list can never drift from the struct.
fn fields_of<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor};
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Self::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// One section read into its raw struct; a missing section (unless `optional`), a missing key
/// or a value of the wrong type is a problem naming the key.
fn section<T: serde::de::DeserializeOwned>(
    doc: &toml::Table,
    name: &str,
    optional: bool,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let value = match doc.get(name) {
        Some(v) => v.clone(),
        None if optional => toml::Value::Table(toml::Table::new()),
        None => {
            problems.push(Problem::new(
                name,
                "missing-key",
                format!("the section [{name}] is missing (`pstation config default` shows every section)"),
            ));
            return None;
        }
    };
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.inner().message().trim().to_owned();
            let mut path = name.to_owned();
            if e.path().iter().next().is_some() {
                path = format!("{name}.{}", e.path());
            }
            let (code, path) = match inner
                .strip_prefix("missing field `")
                .and_then(|r| r.split_once('`'))
            {
                Some((field, _)) => ("missing-key", format!("{path}.{field}")),
                None => ("config-type", path),
            };
            let message = if code == "missing-key" {
                "missing (`pstation config default` shows it with its default)".to_owned()
            } else {
                inner
            };
            problems.push(Problem::new(path, code, message));
            None
        }
    }
}

impl RawStation {
    fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<UtcOffset> {
        let utc_offset = crate::clock::parse_offset(&self.utc_offset);
        if utc_offset.is_none() {
            bad(
                "station.utc_offset",
                format!("{:?} is not an offset like +07:00", self.utc_offset),
            );
        }
        utc_offset
    }
}

impl RawMrz {
    fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<MrzOptions> {
        let empty_optional_check = match self.empty_personal_number_check.as_str() {
            "0" => Some(EmptyOptionalCheck::Zero),
            "<" => Some(EmptyOptionalCheck::Filler),
            other => {
                bad(
                    "mrz.empty_personal_number_check",
                    format!("{other:?} must be \"0\" or \"<\""),
                );
                None
            }
        };
        let t = &self.transliteration;
        let mut choice = |key: &str, value: &str, allowed: &[&str]| -> Option<usize> {
            let i = allowed.iter().position(|a| *a == value);
            if i.is_none() {
                bad(
                    &format!("mrz.transliteration.{key}"),
                    format!("{value:?} must be one of {}", allowed.join(", ")),
                );
            }
            i
        };
        let a_diaeresis = choice("a_diaeresis", &t.a_diaeresis, &["AE", "A"])
            .map(|i| [ADiaeresis::Ae, ADiaeresis::A][i]);
        let a_ring = choice("a_ring", &t.a_ring, &["AA", "A"]).map(|i| [ARing::Aa, ARing::A][i]);
        let o_diaeresis = choice("o_diaeresis", &t.o_diaeresis, &["OE", "O"])
            .map(|i| [ODiaeresis::Oe, ODiaeresis::O][i]);
        let u_diaeresis = choice("u_diaeresis", &t.u_diaeresis, &["UE", "UXX", "U"])
            .map(|i| [UDiaeresis::Ue, UDiaeresis::Uxx, UDiaeresis::U][i]);
        let n_tilde =
            choice("n_tilde", &t.n_tilde, &["N", "NXX"]).map(|i| [NTilde::N, NTilde::Nxx][i]);
        Some(MrzOptions {
            translit: TranslitOptions {
                a_diaeresis: a_diaeresis?,
                a_ring: a_ring?,
                o_diaeresis: o_diaeresis?,
                u_diaeresis: u_diaeresis?,
                n_tilde: n_tilde?,
            },
            empty_optional_check: empty_optional_check?,
        })
    }
}

impl RawPolicy {
    fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<Policy> {
        let p = self;
        let mut ok = true;
        let mut bad = |path: &str, message: String| {
            ok = false;
            bad(path, message);
        };
        for (key, code) in [
            ("issuing_state", &p.issuing_state),
            ("nationality", &p.nationality),
        ] {
            if crate::mrz::codes::lookup(code).is_none() {
                bad(
                    &format!("policy.{key}"),
                    format!("{code:?} is not an ICAO code"),
                );
            }
        }
        if p.document_codes.is_empty() {
            bad("policy.document_codes", "list at least one code".to_owned());
        }
        for c in &p.document_codes {
            let b = c.as_bytes();
            if !(b.first() == Some(&b'P')
                && b.len() <= 2
                && b.get(1).is_none_or(u8::is_ascii_uppercase))
            {
                bad(
                    "policy.document_codes",
                    format!("{c:?} is not P or P plus one letter"),
                );
            }
        }
        let mut prefixes = Vec::new();
        for s in &p.number_prefixes {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_uppercase() => prefixes.push(c),
                _ => bad(
                    "policy.number_prefixes",
                    format!("{s:?} is not one letter A-Z"),
                ),
            }
        }
        if p.number_prefixes.is_empty() {
            bad(
                "policy.number_prefixes",
                "list at least one letter".to_owned(),
            );
        }
        if p.standard_validity_years == 0 || p.standard_validity_years >= p.adult_validity_years {
            bad(
                "policy.standard_validity_years",
                "must be at least 1 and less than adult_validity_years".to_owned(),
            );
        }
        if p.adult_validity_years > 10 {
            bad(
                "policy.adult_validity_years",
                "more than 10 years is not allowed for passports".to_owned(),
            );
        }
        if p.adult_age > 25 {
            bad("policy.adult_age", "must be 25 or less".to_owned());
        }
        ok.then(|| Policy {
            issuing_state: p.issuing_state.clone(),
            nationality: p.nationality.clone(),
            document_codes: p.document_codes.clone(),
            number_prefixes: prefixes,
            names_letters_and_spaces_only: p.names_letters_and_spaces_only,
            standard_validity_years: p.standard_validity_years,
            adult_validity_years: p.adult_validity_years,
            adult_age: p.adult_age,
            married_counts_as_adult: p.married_counts_as_adult,
        })
    }
}

impl RawRender {
    fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<RenderSettings> {
        let r = self;
        let mut ok = true;
        let mut bad = |path: &str, message: String| {
            ok = false;
            bad(path, message);
        };
        for (key, v) in [
            ("render.offset_x_mm", r.offset_x_mm),
            ("render.offset_y_mm", r.offset_y_mm),
        ] {
            if !v.is_finite() || !(-5.0..=5.0).contains(&v) {
                bad(
                    key,
                    format!("{v} is outside -5 to +5 mm; check the printer's feed"),
                );
            }
        }
        let job_limit = crate::job::MAX_PORTRAIT_BYTES as u64;
        if !(10_000..=job_limit).contains(&r.max_portrait_bytes) {
            bad(
                "render.max_portrait_bytes",
                format!("must be 10000 to {job_limit} (the job format's limit)"),
            );
        }
        if !(1..=200).contains(&r.max_portrait_megapixels) {
            bad(
                "render.max_portrait_megapixels",
                "must be 1 to 200".to_owned(),
            );
        }
        ok.then(|| RenderSettings {
            template: (!r.template.is_empty()).then(|| std::path::PathBuf::from(&r.template)),
            calibration: crate::layout::build::Calibration {
                offset_x_mm: r.offset_x_mm,
                offset_y_mm: r.offset_y_mm,
            },
            limits: crate::layout::portrait::PortraitLimits {
                max_bytes: r.max_portrait_bytes as usize,
                max_pixels: u64::from(r.max_portrait_megapixels) * 1_000_000,
            },
        })
    }
}

impl RawDaemon {
    fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<DaemonSettings> {
        let d = self;
        let mut ok = true;
        let mut bad = |path: &str, message: String| {
            ok = false;
            bad(path, message);
        };
        let listen = d.listen.parse::<std::net::SocketAddr>().ok();
        if listen.is_none() {
            bad(
                "daemon.listen",
                format!("{:?} is not an address like 127.0.0.1:8631", d.listen),
            );
        }
        if !(1..=1_000_000).contains(&d.max_store_mb) {
            bad(
                "daemon.max_store_mb",
                format!("{} must be 1 to 1000000 MB", d.max_store_mb),
            );
        }
        if d.min_free_mb > 1_000_000 {
            bad(
                "daemon.min_free_mb",
                format!("{} must be 0 to 1000000 MB", d.min_free_mb),
            );
        }
        if d.data_dir.trim().is_empty() {
            bad("daemon.data_dir", "must name a folder".to_owned());
        }
        if d.key_file.trim().is_empty() {
            bad("daemon.key_file", "must name a file".to_owned());
        } else if std::path::Path::new(&d.key_file).starts_with(&d.data_dir) {
            bad(
                "daemon.key_file",
                format!(
                    "{:?} is inside daemon.data_dir: keep the key outside it, so a copy of the data folder does not carry its key",
                    d.key_file
                ),
            );
        }
        if d.purge_after_days > 3650 {
            bad(
                "daemon.purge_after_days",
                format!("{} must be 0 to 3650 days", d.purge_after_days),
            );
        }
        let device = match crate::printer::uri::DeviceUri::parse(&d.device) {
            Ok(u) => Some(u),
            Err(e) => {
                bad("daemon.device", e.to_string());
                None
            }
        };
        let (listen, device) = (listen?, device?);
        ok.then(|| DaemonSettings {
            listen,
            data_dir: std::path::PathBuf::from(&d.data_dir),
            device,
            require_booklet_confirmation: d.require_booklet_confirmation,
            max_store_mb: d.max_store_mb,
            min_free_mb: d.min_free_mb,
            key_file: std::path::PathBuf::from(&d.key_file),
            purge_after_days: d.purge_after_days,
        })
    }
}

impl RawCentral {
    fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<CentralSettings> {
        let c = self;
        let mut ok = true;
        let mut bad = |path: &str, message: String| {
            ok = false;
            bad(path, message);
        };
        let station_id = if c.station_id.is_empty() {
            // A host name with nothing usable in it still gives a working default.
            Some(host_name())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "pstation".to_owned())
        } else {
            c.station_id.clone()
        };
        if !crate::central::auth::valid_name(&station_id) {
            bad(
                "central.station_id",
                format!("{station_id:?} must be 1 to 64 letters, digits or -_."),
            );
        }
        let hook = c.status_webhook.trim();
        let webhook = if hook.is_empty() {
            None
        } else if (hook.starts_with("http://") || hook.starts_with("https://"))
            && !hook.chars().any(char::is_whitespace)
        {
            Some(crate::central::link::Webhook {
                url: hook.to_owned(),
                token: (!c.status_webhook_token.is_empty()).then(|| c.status_webhook_token.clone()),
                station_id: station_id.clone(),
            })
        } else {
            bad(
                "central.status_webhook",
                format!("{hook:?} must be an http:// or https:// URL, or empty"),
            );
            None
        };
        let nats_url = c.nats_url.trim();
        let nats = if nats_url.is_empty() {
            None
        } else if crate::central::link::valid_nats_url(nats_url) {
            if station_id.contains('.') {
                bad(
                    "central.station_id",
                    format!(
                        "{station_id:?} must not contain '.' when central.nats_url is set (it is one NATS subject token); set central.station_id"
                    ),
                );
            }
            Some(crate::central::link::NatsSettings {
                url: nats_url.to_owned(),
                token: (!c.nats_token.is_empty()).then(|| c.nats_token.clone()),
            })
        } else {
            bad(
                "central.nats_url",
                format!("{nats_url:?} must be a nats:// or tls:// URL with a host, or empty"),
            );
            None
        };
        let mut keys = crate::central::jws::Keyring::default();
        for (i, k) in c.keys.iter().enumerate() {
            let path = format!("central.keys[{i}]");
            if !crate::central::jws::valid_kid(&k.kid) {
                bad(
                    &format!("{path}.kid"),
                    format!(
                        "{:?} must be 1 to 64 letters, digits or -_.: (the kid the central office puts in its signatures)",
                        k.kid
                    ),
                );
                continue;
            }
            match crate::central::jws::public_key(&k.public_key) {
                Ok(key) => {
                    if let Err(e) = keys.insert(&k.kid, key) {
                        bad(&format!("{path}.kid"), e);
                    }
                }
                Err(e) => bad(
                    &format!("{path}.public_key"),
                    format!(
                        "{e} — paste the base64url public key `pstation keys generate` printed"
                    ),
                ),
            }
        }
        ok.then_some(CentralSettings {
            require_signed_jobs: c.require_signed_jobs,
            keys,
            station_id,
            webhook,
            nats,
        })
    }
}

impl RawApi {
    fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<ApiSettings> {
        let a = self;
        let mut ok = true;
        let mut bad = |path: &str, message: String| {
            ok = false;
            bad(path, message);
        };
        if !(1..=480).contains(&a.session_idle_minutes) {
            bad(
                "api.session_idle_minutes",
                format!("{} must be 1 to 480 minutes", a.session_idle_minutes),
            );
        }
        let tls = if a.tls_listen.trim().is_empty() {
            for (field, v) in [
                ("api.tls_cert", &a.tls_cert),
                ("api.tls_key", &a.tls_key),
                ("api.tls_client_ca", &a.tls_client_ca),
            ] {
                if !v.trim().is_empty() {
                    bad(
                        field,
                        "is set but api.tls_listen is empty: set both, or neither".to_owned(),
                    );
                }
            }
            None
        } else {
            let listen = a.tls_listen.trim().parse::<std::net::SocketAddr>().ok();
            if listen.is_none() {
                bad(
                    "api.tls_listen",
                    format!("{:?} is not an address like 0.0.0.0:8643", a.tls_listen),
                );
            }
            for (field, v) in [("api.tls_cert", &a.tls_cert), ("api.tls_key", &a.tls_key)] {
                if v.trim().is_empty() {
                    bad(
                        field,
                        "must name a PEM file when api.tls_listen is set".to_owned(),
                    );
                }
            }
            listen.map(|listen| crate::central::link::TlsSettings {
                listen,
                cert: a.tls_cert.trim().into(),
                key: a.tls_key.trim().into(),
                client_ca: Some(a.tls_client_ca.trim())
                    .filter(|c| !c.is_empty())
                    .map(Into::into),
            })
        };
        let mut users: Vec<crate::central::auth::User> = Vec::new();
        for (i, u) in a.users.iter().enumerate() {
            let path = format!("api.users[{i}]");
            if !crate::central::auth::valid_name(&u.name) {
                bad(
                    &format!("{path}.name"),
                    format!("{:?} must be 1-64 of A-Z a-z 0-9 . _ -", u.name),
                );
                continue;
            }
            if users.iter().any(|x| x.name == u.name) {
                bad(
                    &format!("{path}.name"),
                    format!("two users are named {:?}", u.name),
                );
                continue;
            }
            let Some(role) = crate::central::auth::Role::parse(&u.role) else {
                bad(
                    &format!("{path}.role"),
                    format!(
                        "{:?} is not a role: central, operator, supervisor, technician or admin",
                        u.role
                    ),
                );
                continue;
            };
            let Some(token_sha256) = crate::central::auth::parse_hash(&u.token_sha256) else {
                bad(
                    &format!("{path}.token_sha256"),
                    "must be 64 hex digits — paste the line `pstation token new` printed (never the token itself)".to_owned(),
                );
                continue;
            };
            if users.iter().any(|x| x.token_sha256 == token_sha256) {
                bad(
                    &format!("{path}.token_sha256"),
                    "two users have the same token".to_owned(),
                );
                continue;
            }
            users.push(crate::central::auth::User {
                name: u.name.clone(),
                role,
                token_sha256,
            });
        }
        ok.then(|| ApiSettings {
            require_tokens: a.require_tokens,
            users,
            tls,
            session_idle: std::time::Duration::from_secs(u64::from(a.session_idle_minutes) * 60),
        })
    }
}

/// This machine's host name, as a station id ("" when it has none usable).
fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_written_before_min_free_mb_still_loads_with_its_default() {
        let old = DEFAULT_TOML
            .lines()
            .filter(|l| !l.starts_with("min_free_mb"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(old.len(), DEFAULT_TOML.len());
        let s = Settings::from_toml(&old, "old.toml").expect("old config");
        assert_eq!(s.daemon.min_free_mb, 256);
        // So do the keys added with encryption at rest.
        let older = old
            .lines()
            .filter(|l| !l.starts_with("key_file") && !l.starts_with("purge_after_days"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(older.len(), old.len());
        let s = Settings::from_toml(&older, "older.toml").expect("older config");
        assert_eq!(
            s.daemon.key_file,
            std::path::Path::new("/etc/pstation/store.key")
        );
        assert_eq!(s.daemon.purge_after_days, 7);
        let d = Settings::default_settings().expect("default config");
        assert_eq!(
            d.daemon.min_free_mb, 256,
            "the embedded default says the same"
        );
    }

    #[test]
    fn the_embedded_default_parses_and_validates() {
        let s = Settings::default_settings().expect("default config");
        assert_eq!(s.mrz, MrzOptions::ICAO_DEFAULT);
        assert_eq!(s.policy.issuing_state, "IDN");
        assert_eq!(s.utc_offset, UtcOffset::from_hms(7, 0, 0).expect("offset"));
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let text = DEFAULT_TOML
            .replace("utc_offset = \"+07:00\"", "utc_offset = \"7\"")
            .replace("n_tilde = \"N\"", "n_tilde = \"Ñ\"")
            .replace("issuing_state = \"IDN\"", "issuing_state = \"ZZZ\"");
        let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
            panic!("expected invalid");
        };
        let paths: Vec<_> = p.0.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "station.utc_offset",
                "mrz.transliteration.n_tilde",
                "policy.issuing_state"
            ]
        );
    }

    #[test]
    fn bad_users_keys_and_webhooks_are_each_named() {
        let hash = "ab".repeat(32);
        let good_key = crate::central::jws::public_key_b64(
            &ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key(),
        );
        let text = DEFAULT_TOML
            .replace(
                "users = []",
                &format!(
                    "users = [{{ name = \"ani\", role = \"cashier\", token_sha256 = \"{hash}\" }}, \
                     {{ name = \"budi\", role = \"operator\", token_sha256 = \"the-token\" }}, \
                     {{ name = \"sari\", role = \"supervisor\", token_sha256 = \"{hash}\" }}, \
                     {{ name = \"sari\", role = \"operator\", token_sha256 = \"{hash}\" }}]"
                ),
            )
            .replace(
                "keys = []",
                &format!(
                    "keys = [{{ kid = \"co 1\", public_key = \"{good_key}\" }}, \
                     {{ kid = \"co-2\", public_key = \"AAAA\" }}, \
                     {{ kid = \"co-3\", public_key = \"{good_key}\" }}, \
                     {{ kid = \"co-3\", public_key = \"{good_key}\" }}]"
                ),
            )
            .replace(
                "status_webhook = \"\"",
                "status_webhook = \"ftp://central\"",
            );
        let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
            panic!("expected invalid");
        };
        let paths: Vec<_> = p.0.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "central.status_webhook",
                "central.keys[0].kid",
                "central.keys[1].public_key",
                "central.keys[3].kid",
                "api.users[0].role",
                "api.users[1].token_sha256",
                "api.users[3].name",
            ]
        );
        let s = Settings::default_settings().expect("default");
        assert!(s.central.require_signed_jobs && s.api.require_tokens);
        assert!(s.central.keys.is_empty() && s.api.users.is_empty());
        assert!(!s.central.station_id.is_empty());
        assert!(s.central.nats.is_none());
    }

    #[test]
    fn a_nats_url_is_checked_and_needs_a_station_id_that_is_one_subject_token() {
        let with = |url: &str, id: &str| {
            DEFAULT_TOML
                .replace("nats_url = \"\"", &format!("nats_url = \"{url}\""))
                .replace("station_id = \"\"", &format!("station_id = \"{id}\""))
        };
        let paths = |text: &str| match Settings::from_toml(text, "t") {
            Err(ConfigError::Invalid(p)) => p.0.iter().map(|p| p.path.clone()).collect(),
            Err(e) => panic!("{e}"),
            Ok(_) => Vec::new(),
        };
        assert_eq!(
            paths(&with("http://nats:4222", "mpp-01")),
            ["central.nats_url"]
        );
        assert_eq!(
            paths(&with("nats://nats:4222", "mpp.jakarta")),
            ["central.station_id"]
        );
        let s = Settings::from_toml(
            &with("tls://nats.central.example:4222", "mpp-01")
                .replace("nats_token = \"\"", "nats_token = \"t0k\""),
            "t",
        )
        .expect("valid");
        assert_eq!(
            s.central.nats,
            Some(crate::central::link::NatsSettings {
                url: "tls://nats.central.example:4222".into(),
                token: Some("t0k".into()),
            })
        );
    }

    #[test]
    fn unknown_keys_are_reported_with_every_other_problem_and_a_suggestion() {
        // The newcomer's file of issue 16: a misspelt key, a bad offset and a zero timeout.
        let text = DEFAULT_TOML
            .replace("purge_after_days = 7", "purge_after_dayz = 7")
            .replace("utc_offset = \"+07:00\"", "utc_offset = \"WITA\"")
            .replace("session_idle_minutes = 15", "session_idle_minutes = 0")
            .replace("[policy]", "[policy]\nissuing_sate = \"IDN\"")
            .replace("[render]", "[rendering]\nx = 1\n\n[render]")
            .replace(
                "users = []",
                "users = [{ name = \"ani\", role = \"operator\", rol = \"x\", token_sha256 = \"\" }]",
            );
        let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
            panic!("expected invalid");
        };
        let lines: Vec<String> = p.0.iter().map(ToString::to_string).collect();
        let has = |want: &str| lines.iter().any(|l| l.contains(want));
        assert!(
            has(
                "daemon.purge_after_dayz: unknown-key: not a setting of [daemon]; did you mean purge_after_days?"
            ),
            "{lines:#?}"
        );
        assert!(
            has(
                "policy.issuing_sate: unknown-key: not a setting of [policy]; did you mean issuing_state?"
            ),
            "{lines:#?}"
        );
        assert!(
            has("rendering: unknown-key: not a section of the configuration; did you mean render?"),
            "{lines:#?}"
        );
        assert!(
            has("api.users[0].rol: unknown-key: not a setting of [api.users]; did you mean role?"),
            "{lines:#?}"
        );
        assert!(
            has("api.users[0].token_sha256: config-value:"),
            "{lines:#?}"
        );
        assert!(has("station.utc_offset: config-value:"), "{lines:#?}");
        assert!(has("api.session_idle_minutes: config-value:"), "{lines:#?}");
        // A key nobody could have meant lists the known ones instead.
        let text = DEFAULT_TOML.replace("[station]", "[station]\nbanana = 1");
        let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
            panic!("expected invalid");
        };
        assert_eq!(
            p.to_string(),
            "station.banana: unknown-key: not a setting of [station]; known: utc_offset"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_or_a_missing_key_is_named_with_the_rest() {
        let text = DEFAULT_TOML
            .replace("max_store_mb = 4096", "max_store_mb = \"big\"")
            .replace("adult_age = 17\n", "")
            .replace("n_tilde = \"N\"", "n_tilde = \"Ñ\"");
        let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
            panic!("expected invalid");
        };
        let lines: Vec<String> = p.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with("policy.adult_age: missing-key:"),
            "{lines:#?}"
        );
        assert!(
            lines[1].starts_with("daemon.max_store_mb: config-type:"),
            "{lines:#?}"
        );
        assert!(
            lines[2].starts_with("mrz.transliteration.n_tilde: config-value:"),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_syntax_error_shows_line_column_and_the_line_on_lines_of_their_own() {
        let text = "[station]\nutc_offset = +07:00\n";
        let err = Settings::from_toml(text, "station.toml").expect_err("syntax");
        let shown = err.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 3, "{shown}");
        assert!(
            lines[0].starts_with("station.toml: config-syntax: line 2, column 14: "),
            "{shown}"
        );
        assert_eq!(lines[1], "  2 | utc_offset = +07:00");
        assert_eq!(lines[2], "    |              ^");
        assert!(
            !shown.contains(" | ") || !lines[0].contains(" | "),
            "{shown}"
        );
    }
}
