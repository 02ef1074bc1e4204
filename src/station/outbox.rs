//! Status back to the central office: the delivery task of the store's outbox, and its webhook
//! destination. Every job state change is an outbox row committed with its event; one task per
//! destination (`Destination`: the webhook here, NATS in `station::nats`) sends them, oldest
//! first, in batches, and moves that destination's cursor only after it confirmed the batch.
//!
//! Guarantees: at least once (a crash between the answer and the mark sends the batch again;
//! `event_id` is the central office's de-duplication key), in order per job (and overall: a
//! batch that fails is retried, whole, before anything newer), across restarts (the rows and
//! cursors are in the store). Failures back off exponentially from 1 s to 60 s; printing never
//! waits on this. The webhook's HTTP call is blocking (ureq) and runs on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Station;
use crate::retry::{Backoff, pause};
use crate::store::OutboxEntry;

/// Status changes sent in one request.
pub const BATCH: u32 = 100;

/// How often an idle task looks for new rows.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// The longest wait between failed attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub use crate::central::link::Webhook;

/// Why one delivery failed (logged with its code; the rows stay pending).
#[derive(Debug, thiserror::Error, pstation_coded::Coded)]
pub enum DeliveryError {
    /// No connection, timeout, TLS failure.
    #[error("status-unreachable: {0} — check the network and central.status_webhook")]
    Unreachable(String),
    /// The central office answered, but not 2xx.
    #[error("status-refused: the central office answered HTTP {0}")]
    Refused(u16),
    /// The NATS server did not take the status (down, no stream, no acknowledgement).
    #[error("status-nats: {0} — check central.nats_url and that the NATS server runs JetStream")]
    Nats(String),
}

/// Where outbox rows go: one delivery task per destination, each with its own cursor.
pub trait Destination: Send + Sync + 'static {
    /// The destination's name: its cursor in the store (`outbox_sinks.sink`) and its metric label.
    fn name(&self) -> &'static str;
    /// Delivers `batch` (oldest first, not empty); `Ok` only once the destination confirmed all.
    fn deliver(
        &self,
        batch: &[OutboxEntry],
    ) -> impl std::future::Future<Output = Result<(), DeliveryError>> + Send;
}

/// The webhook destination's cursor name.
pub const WEBHOOK: &str = "webhook";

/// The central office's HTTP endpoint, as a destination.
pub struct WebhookDestination {
    hook: Webhook,
    agent: ureq::Agent,
}

impl WebhookDestination {
    /// A destination POSTing to `hook`.
    pub fn new(hook: Webhook) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self { hook, agent }
    }
}

impl Destination for WebhookDestination {
    fn name(&self) -> &'static str {
        WEBHOOK
    }

    async fn deliver(&self, batch: &[OutboxEntry]) -> Result<(), DeliveryError> {
        let body = json!({"station_id": self.hook.station_id, "events": batch});
        let (agent, hook) = (self.agent.clone(), self.hook.clone());
        tokio::task::spawn_blocking(move || post(&agent, &hook, &body))
            .await
            .unwrap_or_else(|e| Err(DeliveryError::Unreachable(e.to_string())))
    }
}

/// Delivers the outbox to `dest` until `shutdown`.
pub async fn run<D: Destination>(station: Arc<Station>, dest: D, shutdown: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_secs(1), MAX_BACKOFF);
    let sink = dest.name();
    while !shutdown.is_cancelled() {
        let batch = match station.db(move |s| s.outbox_pending(sink, BATCH)).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                pause(&shutdown, backoff.next_wait()).await;
                continue;
            }
        };
        let Some(last) = batch.last().map(|e| e.event_id) else {
            pause(&shutdown, IDLE_POLL).await;
            continue;
        };
        let sent = tokio::select! {
            () = shutdown.cancelled() => break,
            r = dest.deliver(&batch) => r,
        };
        match sent {
            Ok(()) => {
                backoff.reset();
                if let Err(e) = station.db(move |s| s.outbox_delivered(sink, last)).await {
                    // Sent but not marked: it goes again (at least once).
                    tracing::error!(error = %e, sink, "cannot mark status as delivered");
                }
                tracing::debug!(events = batch.len(), up_to = last, sink, "status delivered");
            }
            Err(e) => {
                // `batch` is not empty: `last` came from it.
                tracing::warn!(code = e.code(), error = %e, sink, pending_from = batch[0].event_id, "status not delivered; retrying");
                pause(&shutdown, backoff.next_wait()).await;
            }
        }
    }
}

fn post(
    agent: &ureq::Agent,
    hook: &Webhook,
    body: &serde_json::Value,
) -> Result<(), DeliveryError> {
    let mut req = agent
        .post(&hook.url)
        .header("content-type", "application/json");
    if let Some(t) = &hook.token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    let resp = req
        .send_json(body)
        .map_err(|e| DeliveryError::Unreachable(e.to_string()))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(DeliveryError::Refused(status))
    }
}

/// Whether the central office's webhook answers at all (for `pstation doctor`): any HTTP answer
/// counts as reachable; the error says what failed otherwise.
pub fn probe(url: &str) -> Result<u16, DeliveryError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    agent
        .head(url)
        .call()
        .map(|r| r.status().as_u16())
        .map_err(|e| DeliveryError::Unreachable(e.to_string()))
}
