//! The API over TLS (rustls with the ring provider): the server configuration from PEM files,
//! optional client certificates checked against a CA, and `TlsListener`, an `axum::serve`
//! listener whose handshakes run in their own tasks (a slow or broken client never holds up the
//! accept loop; a failed handshake is logged at debug and dropped).
//!
//! The station serves the same routes on its plain `daemon.listen` (loopback by default, for
//! the counter PC's own tools) and, when `api.tls_listen` is set, over TLS for the network —
//! the central office, or a console on another machine. Tokens and roles apply on both.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_util::sync::CancellationToken;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub use crate::central::link::TlsSettings;

/// Why the TLS API cannot start. Each names the setting to fix.
#[derive(Debug, thiserror::Error, pstation_coded::Coded)]
pub enum TlsError {
    /// A PEM file cannot be read or holds nothing usable.
    #[error("tls-config: {field} = {path}: {why} — give a readable PEM file")]
    File {
        /// The setting (`api.tls_cert`, `api.tls_key`, `api.tls_client_ca`).
        field: &'static str,
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// rustls refused the combination (a key that does not match the certificate, ...).
    #[error("tls-config: {0} — check that api.tls_key belongs to api.tls_cert")]
    Rustls(String),
    /// The address cannot be bound.
    #[error("tls-listen: cannot listen on {0}: {1} — is another program using the port?")]
    Listen(SocketAddr, std::io::Error),
}

fn file_error(field: &'static str, path: &Path, why: impl ToString) -> TlsError {
    TlsError::File {
        field,
        path: path.display().to_string(),
        why: why.to_string(),
    }
}

fn certificates(
    field: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(field, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(field, path, e))?;
    if certs.is_empty() {
        return Err(file_error(field, path, "no CERTIFICATE block in it"));
    }
    Ok(certs)
}

/// The rustls server configuration (HTTP/1.1; client certificates required when a CA is set).
/// Also what `pstation doctor` checks. Blocking (reads files).
pub fn server_config(s: &TlsSettings) -> Result<rustls::ServerConfig, TlsError> {
    let certs = certificates("api.tls_cert", &s.cert)?;
    let key =
        PrivateKeyDer::from_pem_file(&s.key).map_err(|e| file_error("api.tls_key", &s.key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match &s.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certificates("api.tls_client_ca", ca)? {
                roots
                    .add(c)
                    .map_err(|e| file_error("api.tls_client_ca", ca, e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| file_error("api.tls_client_ca", ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A TLS listener for `axum::serve`: accepted connections whose handshake completed.
pub struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Binds `s.listen` and accepts until `shutdown`.
    pub async fn bind(
        s: &TlsSettings,
        config: rustls::ServerConfig,
        shutdown: CancellationToken,
    ) -> Result<Self, TlsError> {
        let tcp = TcpListener::bind(s.listen)
            .await
            .map_err(|e| TlsError::Listen(s.listen, e))?;
        let local = tcp
            .local_addr()
            .map_err(|e| TlsError::Listen(s.listen, e))?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    () = shutdown.cancelled() => return,
                    r = tcp.accept() => match r {
                        Ok(c) => c,
                        Err(e) => {
                            // Out of file descriptors and the like: pause, then go on.
                            tracing::warn!(error = %e, "TLS accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept loop ended (shutting down): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
