//! How the central office and the station reach each other, as validated settings: the status
//! webhook, the NATS server and the API over TLS. Data only — the configuration builds them,
//! the station's outbox, NATS link and TLS listener use them — so neither has to know the other.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Where status goes over HTTP (`central.status_webhook`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<String>,
    /// This station's id, in every request.
    pub station_id: String,
}

/// Validated `central.nats_*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSettings {
    /// `nats://host:port` or `tls://host:port`.
    pub url: String,
    /// Authentication token, if the server wants one.
    pub token: Option<String>,
}

/// Whether `url` is one the NATS client takes: `nats://` or `tls://` with a host.
pub fn valid_nats_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("nats://")
        .or_else(|| url.strip_prefix("tls://"));
    rest.is_some_and(|r| {
        let host = r.rsplit('@').next().unwrap_or(r);
        !host.is_empty() && !host.starts_with(':') && !host.contains(['/', ' '])
    })
}

/// Validated `api.tls_*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Where the TLS API listens.
    pub listen: SocketAddr,
    /// The server's certificate chain (PEM, leaf first).
    pub cert: PathBuf,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, every client must present a certificate issued by one of these CAs (PEM).
    pub client_ca: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_the_nats_client_takes_are_told_from_the_rest() {
        for ok in [
            "nats://127.0.0.1:4222",
            "tls://nats.central.example:4222",
            "nats://user@host:4222",
            "nats://host",
        ] {
            assert!(valid_nats_url(ok), "{ok}");
        }
        for bad in [
            "",
            "127.0.0.1:4222",
            "http://host:4222",
            "nats://",
            "nats://:4222",
            "nats://host/path",
            "nats://a b",
        ] {
            assert!(!valid_nats_url(bad), "{bad}");
        }
    }
}
