//! The `[daemon]` section: its file form and its validation into the daemon's settings (the
//! data folder, the printer, the store's limits).

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDaemon {
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

pub(super) fn default_min_free_mb() -> u64 {
    256
}

pub(super) fn default_key_file() -> String {
    "/etc/pstation/store.key".to_owned()
}

pub(super) fn default_purge_after_days() -> u32 {
    7
}

/// Validated `[daemon]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonSettings {
    /// The HTTP API's address.
    pub listen: std::net::SocketAddr,
    /// Where the store and rendered files live.
    pub data_dir: std::path::PathBuf,
    /// The printer.
    pub device: crate::printer::DeviceUri,
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

impl RawDaemon {
    pub(super) fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<DaemonSettings> {
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
        let device = match crate::printer::parse_uri(&d.device) {
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
