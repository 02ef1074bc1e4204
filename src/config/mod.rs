//! Station configuration: the embedded documented default, TOML parsing into raw structs, and
//! validation into settings with every problem reported at once.
//!
//! Design: two stages. Each section of the file is read into its raw struct (`RawDaemon`, ...:
//! serde, unknown keys refused), one section at a time so that a problem in one does not hide
//! the others; each raw section then validates itself into its part of `Settings`, which holds
//! checked values and is passed explicitly — there is no global configuration. Keys added after
//! the first release have serde defaults, so an older file keeps loading; `[central]` and
//! `[api]` may be missing altogether.

mod daemon;
mod keys;
#[cfg(test)]
mod tests;

use std::path::Path;

use serde::Deserialize;
use time::UtcOffset;

use crate::mrz::MrzOptions;
use crate::policy::Policy;
use crate::problem::{Problem, Problems};

pub use crate::central::settings::{ApiSettings, CentralSettings};
use crate::central::settings::{RawApi, RawCentral, RawKey, RawUser};
use crate::clock::RawStation;
use crate::layout::settings::RawRender;
pub use crate::layout::settings::RenderSettings;
use crate::mrz::settings::{RawMrz, RawTranslit};
use crate::policy::RawPolicy;
pub use daemon::DaemonSettings;
use daemon::RawDaemon;
use keys::{section, strip_unknown, syntax_message};

/// The embedded default configuration, with comments.
pub const DEFAULT_TOML: &str = include_str!("default-config.toml");

/// The largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

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
    /// The document reader that checks each printed booklet before handover (none: manual
    /// verify).
    pub reader: crate::reader::ReaderSettings,
    /// The chip reader that checks each e-passport booklet before it prints (none: no chip
    /// checks; doctor warns).
    pub chip: crate::chip::ChipSettings,
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
        let reader = section::<crate::reader::RawReader>(&doc, "reader", true, &mut problems);
        let chip = section::<crate::chip::RawChip>(&doc, "chip", true, &mut problems);
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
        let reader = reader.and_then(|r| r.validate(&mut bad));
        let chip = chip.and_then(|c| c.validate(&mut bad));
        match (
            utc_offset, mrz, policy, render, daemon, central, api, reader, chip,
        ) {
            (
                Some(utc_offset),
                Some(mrz),
                Some(policy),
                Some(render),
                Some(daemon),
                Some(central),
                Some(api),
                Some(reader),
                Some(chip),
            ) if problems.is_empty() => Ok(Settings {
                utc_offset,
                mrz,
                policy,
                render,
                daemon,
                central,
                api,
                reader,
                chip,
            }),
            _ => Err(ConfigError::Invalid(Problems(problems))),
        }
    }
}
