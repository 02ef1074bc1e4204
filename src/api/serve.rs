//! The HTTP server loop: accepts connections from a listener (plain TCP or TLS) and serves the
//! API over HTTP/1.1 with the station's own limits, so that every refusal — an oversized header
//! block included — is answered by the API's JSON error shape, and each request knows its peer.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio_util::sync::CancellationToken;
use tower_service::Service;

/// The transport's own bounds, far above the API's (`api::MAX_HEADER_BYTES`,
/// `api::MAX_HEADERS`): a request between the two is answered 431 in JSON by the API; only a
/// header block beyond these gets hyper's bare 431 and the connection closed.
const TRANSPORT_MAX_BUF: usize = 1024 * 1024;
const TRANSPORT_MAX_HEADERS: usize = 1000;
/// A client has this long to send its request head (slow-loris bound).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// After shutdown, connections still open (an event stream, a slow client) get this long.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown`, then lets open connections finish (bounded).
/// Each request carries `ConnectInfo<SocketAddr>` (the peer, for refusal logs).
pub async fn serve<L>(mut listener: L, app: Router, shutdown: CancellationToken)
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    let mut conns = tokio::task::JoinSet::new();
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    loop {
        let (io, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            c = listener.accept() => c,
        };
        // Reap finished connections so the set does not grow with the station's uptime.
        while conns.try_join_next().is_some() {}
        let app = app.clone();
        let svc =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let mut app = app.clone();
                async move { app.call(req.map(axum::body::Body::new)).await }
            });
        let mut closing = closing_rx.clone();
        conns.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(TRANSPORT_MAX_BUF)
                .max_headers(TRANSPORT_MAX_HEADERS);
            let conn = builder.serve_connection(TokioIo::new(io), svc);
            tokio::pin!(conn);
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::trace!(%peer, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    _ = closing.changed() => conn.as_mut().graceful_shutdown(),
                }
            }
        });
    }
    let _ = closing_tx.send(true);
    if tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!(
            open = conns.len(),
            "connections still open after shutdown: closed"
        );
        conns.abort_all();
    }
}
