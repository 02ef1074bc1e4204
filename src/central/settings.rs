//! The `[central]` and `[api]` sections of the station's configuration: the central office's
//! keys and links, the API's users and limits — their file form and its validation (the
//! central office link owns its settings; `config` only reads the file).

use serde::Deserialize;

/// The `[api]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
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

/// One `[[api.users]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    name: String,
    role: String,
    token_sha256: String,
}

/// The `[central]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCentral {
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

/// One `[[central.keys]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    kid: String,
    public_key: String,
}

/// Validated `[api]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiSettings {
    /// Every request but health and metrics needs a user's bearer token (`false` only in a lab:
    /// then anyone who can reach the API may do anything, named by `X-Pstation-User`).
    pub require_tokens: bool,
    /// The users.
    pub users: Vec<super::auth::User>,
    /// The API over TLS as well, when configured.
    pub tls: Option<super::link::TlsSettings>,
    /// A console session ends after this long without a request.
    pub session_idle: std::time::Duration,
}

/// Validated `[central]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CentralSettings {
    /// Accept only jobs signed by a key in `keys` (`false` only for a lab or a demo).
    pub require_signed_jobs: bool,
    /// The central office's public keys by id (several during a key rotation).
    pub keys: super::jws::Keyring,
    /// This station's id in status reports (the host name when not configured).
    pub station_id: String,
    /// Where job status changes are delivered, if anywhere.
    pub webhook: Option<super::link::Webhook>,
    /// The NATS server jobs come from and status goes to, if any.
    pub nats: Option<super::link::NatsSettings>,
}

impl RawCentral {
    /// Checks every value (each problem goes to `bad` with its key path); the settings when
    /// all are good.
    pub fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<CentralSettings> {
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
        if !super::auth::valid_name(&station_id) {
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
            Some(super::link::Webhook {
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
        } else if super::link::valid_nats_url(nats_url) {
            if station_id.contains('.') {
                bad(
                    "central.station_id",
                    format!(
                        "{station_id:?} must not contain '.' when central.nats_url is set (it is one NATS subject token); set central.station_id"
                    ),
                );
            }
            Some(super::link::NatsSettings {
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
        let mut keys = super::jws::Keyring::default();
        for (i, k) in c.keys.iter().enumerate() {
            let path = format!("central.keys[{i}]");
            if !super::jws::valid_kid(&k.kid) {
                bad(
                    &format!("{path}.kid"),
                    format!(
                        "{:?} must be 1 to 64 letters, digits or -_.: (the kid the central office puts in its signatures)",
                        k.kid
                    ),
                );
                continue;
            }
            match super::jws::public_key(&k.public_key) {
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
    /// Checks every value (each problem goes to `bad` with its key path); the settings when
    /// all are good.
    pub fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<ApiSettings> {
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
            listen.map(|listen| super::link::TlsSettings {
                listen,
                cert: a.tls_cert.trim().into(),
                key: a.tls_key.trim().into(),
                client_ca: Some(a.tls_client_ca.trim())
                    .filter(|c| !c.is_empty())
                    .map(Into::into),
            })
        };
        let mut users: Vec<super::auth::User> = Vec::new();
        for (i, u) in a.users.iter().enumerate() {
            let path = format!("api.users[{i}]");
            if !super::auth::valid_name(&u.name) {
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
            let Some(role) = super::auth::Role::parse(&u.role) else {
                bad(
                    &format!("{path}.role"),
                    format!(
                        "{:?} is not a role: central, operator, supervisor, technician or admin",
                        u.role
                    ),
                );
                continue;
            };
            let Some(token_sha256) = super::auth::parse_hash(&u.token_sha256) else {
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
            users.push(super::auth::User {
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
pub fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(64)
        .collect()
}
