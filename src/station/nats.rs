//! The station's link to the central office over NATS JetStream: job intake from this station's
//! durable pull consumer, acknowledged only after the job is committed to the local store, and
//! the outbox destination that publishes job status back.
//!
//! Subjects and names (the station creates the streams when the central office has not):
//! - jobs arrive on `pstation.jobs.<station_id>` in the stream `PSTATION_JOBS` (work queue: a
//!   message leaves the stream once a station acknowledged it); the consumer is
//!   `pstation-<station_id>`, explicit acks. The payload is the same as the HTTP submission body:
//!   a compact JWS (or, only when `central.require_signed_jobs = false`, the job JSON).
//!   Publish with the header `Nats-Msg-Id: <job_id>` so the broker drops a repeated publish.
//! - status goes to `pstation.status.<station_id>` in the stream `PSTATION_STATUS`, each message
//!   with `Nats-Msg-Id: <station_id>-<event_id>`: `{"type":"status", ...the webhook's fields}`
//!   for every job state change (from the outbox: in order, at least once, across restarts), and
//!   `{"type":"refused", "job_id", "stream_seq", "error"}` for a message the station refuses for
//!   good (the HTTP answer's error body).
//!
//! A message is acknowledged after `Station::submit` committed it (a crash before the ack means
//! the broker sends it again, and the store answers `existing`: nothing is printed twice); a
//! message refused for good (4xx on HTTP: signature, validation, conflict) is terminated after
//! its refusal was published; one the station cannot take now (5xx: disk full, store read-only,
//! stopping) is sent back with a delay and comes again — never dropped, so `max_deliver` is
//! unlimited. Printing never waits on the broker: intake and status both retry in the
//! background while it is unreachable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::outbox::{DeliveryError, Destination};
use super::{Station, StationError, Submission};
use crate::retry::{Backoff, pause};
use crate::store::OutboxEntry;

/// The stream jobs are published to.
pub const JOBS_STREAM: &str = "PSTATION_JOBS";
/// The stream status is published to.
pub const STATUS_STREAM: &str = "PSTATION_STATUS";
/// The outbox cursor of the NATS destination.
pub const NATS: &str = "nats";
/// The actor recorded for jobs taken from NATS.
pub const ACTOR: &str = "central-nats";

/// Messages handled at once (their commits share the store's group commit).
const IN_FLIGHT: usize = 256;
/// How long the broker waits for an acknowledgement (or a progress acknowledgement) before
/// sending a message again: short, so that what a killed station had taken but not committed
/// comes back to its restarted self within seconds.
pub const ACK_WAIT: Duration = Duration::from_secs(5);
/// While a taken message is being committed, the broker is told "still working" this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// The long bound for safety: a message not committed after this long gets no more progress
/// acknowledgements, and the broker sends it again (the store recognises a repeat).
const MAX_HOLD: Duration = Duration::from_secs(60);
/// When a message the station could not take now comes again.
const RETRY_LATER: Duration = Duration::from_secs(10);
/// How long status stays in the status stream if the central office never reads it.
const STATUS_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

pub use crate::central::link::NatsSettings;

/// The subject this station's jobs arrive on.
pub fn jobs_subject(station_id: &str) -> String {
    format!("pstation.jobs.{station_id}")
}

/// The subject this station's status goes to.
pub fn status_subject(station_id: &str) -> String {
    format!("pstation.status.{station_id}")
}

/// This station's durable consumer.
pub fn consumer_name(station_id: &str) -> String {
    format!("pstation-{station_id}")
}

/// Connects (in the background: the client reconnects for ever) and runs the intake and the
/// status destination until `shutdown`.
pub async fn run(
    station: Arc<Station>,
    settings: NatsSettings,
    station_id: String,
    shutdown: CancellationToken,
) {
    let options = connect_options(&settings, &format!("pstation {station_id}"))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("NATS connected"),
                async_nats::Event::Disconnected => {
                    tracing::warn!(
                        code = "nats-unreachable",
                        "NATS disconnected; printing goes on"
                    )
                }
                other => tracing::debug!(event = %other, "NATS"),
            }
        });
    let client = match options.connect(settings.url.as_str()).await {
        Ok(c) => c,
        Err(e) => {
            // Only a URL the client cannot use gets here (config check refuses those first).
            tracing::error!(code = "nats-config", error = %e, "cannot use central.nats_url");
            return;
        }
    };
    let js = jetstream::new(client);
    let publisher = Arc::new(StatusPublisher {
        js: js.clone(),
        station_id: station_id.clone(),
        ready: AtomicBool::new(false),
    });
    let dest = NatsDestination(publisher.clone());
    let status = tokio::spawn(super::outbox::run(station.clone(), dest, shutdown.clone()));
    intake(station, js, publisher, station_id, shutdown).await;
    let _ = status.await;
}

/// The client options every connection of the station uses: its name and the token.
fn connect_options(settings: &NatsSettings, name: &str) -> async_nats::ConnectOptions {
    let options = async_nats::ConnectOptions::new().name(name);
    match &settings.token {
        Some(t) => options.token(t.clone()),
        None => options,
    }
}

/// Whether the NATS server answers with JetStream (for `pstation doctor`): how many jobs wait
/// for this station, or what failed. Waits at most about 10 s.
pub async fn probe(settings: &NatsSettings, station_id: &str) -> Result<String, String> {
    let client = connect_options(settings, "pstation doctor")
        .connection_timeout(Duration::from_secs(5))
        .connect(settings.url.as_str())
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let js = jetstream::new(client);
    let ask = async {
        use jetstream::context::GetStreamErrorKind;
        let stream = match js.get_stream(JOBS_STREAM).await {
            Ok(s) => s,
            Err(e) => {
                return match e.kind() {
                    GetStreamErrorKind::JetStream(j) if j.code() == 404 => Ok(format!(
                        "JetStream answers; no stream {JOBS_STREAM} yet (the station creates it)"
                    )),
                    _ => Err(format!(
                        "JetStream: {e} (is the server started with JetStream, -js?)"
                    )),
                };
            }
        };
        match stream.consumer_info(&consumer_name(station_id)).await {
            Ok(info) => Ok(format!(
                "JetStream answers; {} job(s) waiting for this station, {} taken and not yet acknowledged",
                info.num_pending, info.num_ack_pending
            )),
            Err(_) => Ok(format!(
                "JetStream answers; no consumer {} yet (the station creates it)",
                consumer_name(station_id)
            )),
        }
    };
    tokio::time::timeout(Duration::from_secs(5), ask)
        .await
        .map_err(|_| "JetStream did not answer in 5 s".to_owned())?
}

async fn jobs_consumer(
    js: &jetstream::Context,
    station_id: &str,
) -> Result<jetstream::consumer::Consumer<pull::Config>, String> {
    let stream = js
        .get_or_create_stream(stream::Config {
            name: JOBS_STREAM.to_owned(),
            subjects: vec!["pstation.jobs.>".to_owned()],
            retention: stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let name = consumer_name(station_id);
    let config = pull::Config {
        durable_name: Some(name.clone()),
        filter_subject: jobs_subject(station_id),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: ACK_WAIT,
        max_deliver: -1,
        max_ack_pending: (IN_FLIGHT * 4) as i64,
        ..Default::default()
    };
    let mut consumer = stream
        .get_or_create_consumer(&name, config.clone())
        .await
        .map_err(|e| e.to_string())?;
    if consumer.cached_info().config.ack_wait != ACK_WAIT {
        // A consumer made by an older station: the broker updates its editable settings when
        // the same durable is created again with them.
        match stream.create_consumer(config).await {
            Ok(c) => consumer = c,
            Err(e) => {
                tracing::warn!(code = "nats-consumer", error = %e, "cannot shorten the consumer's ack_wait; taken jobs of a killed station come back after the old one")
            }
        }
    }
    Ok(consumer)
}

/// Takes this station's jobs from its consumer until `shutdown`.
async fn intake(
    station: Arc<Station>,
    js: jetstream::Context,
    publisher: Arc<StatusPublisher>,
    station_id: String,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    while !shutdown.is_cancelled() {
        let pulled = match jobs_consumer(&js, &station_id).await {
            Ok(consumer) => consumer
                .stream()
                .max_messages_per_batch(IN_FLIGHT)
                .heartbeat(Duration::from_secs(5))
                .expires(Duration::from_secs(30))
                .messages()
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let mut messages = match pulled {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(code = "nats-unreachable", error = %e, "cannot pull this station's jobs; retrying");
                pause(&shutdown, backoff.next_wait()).await;
                continue;
            }
        };
        backoff.reset();
        tracing::info!(consumer = %consumer_name(&station_id), "taking jobs from NATS");
        let mut inflight = FuturesUnordered::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(()) = inflight.next(), if !inflight.is_empty() => {}
                next = messages.next(), if inflight.len() < IN_FLIGHT => match next {
                    Some(Ok(msg)) => {
                        inflight.push(take(station.clone(), publisher.clone(), msg));
                    }
                    Some(Err(e)) => {
                        use jetstream::consumer::pull::MessagesErrorKind as K;
                        tracing::warn!(code = "nats-unreachable", error = %e, "pulling jobs");
                        if matches!(e.kind(), K::ConsumerDeleted | K::PushBasedConsumer | K::RequestLimitExceeded) {
                            break;
                        }
                    }
                    None => break,
                },
            }
        }
        // What was taken is finished (committed and acknowledged, or sent back).
        while inflight.next().await.is_some() {}
    }
}

/// The job id a message was published under (`Nats-Msg-Id`), when it is a plain id.
fn msg_job_id(msg: &jetstream::Message) -> Option<String> {
    msg.headers
        .as_ref()
        .and_then(|h| h.get("Nats-Msg-Id"))
        .map(|v| v.as_str().to_owned())
        .filter(|id| crate::central::auth::valid_name(id))
}

/// One job message: submit, then acknowledge, terminate with a published refusal, or send back.
async fn take(station: Arc<Station>, publisher: Arc<StatusPublisher>, msg: jetstream::Message) {
    let station_id = &publisher.station_id;
    let payload = msg.payload.to_vec();
    let submission = if payload.trim_ascii_start().first() == Some(&b'{') {
        Submission::Unsigned(payload)
    } else {
        Submission::Signed(payload)
    };
    let seq = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
    // While the commit runs, the broker hears "still working" (the short ACK_WAIT stays short
    // only for a station that is gone), up to the long bound.
    let submitted = {
        let submit = station.submit(submission.clone(), ACTOR);
        tokio::pin!(submit);
        let started = tokio::time::Instant::now();
        let mut progress = tokio::time::interval_at(started + PROGRESS_EVERY, PROGRESS_EVERY);
        loop {
            tokio::select! {
                r = &mut submit => break r,
                _ = progress.tick(), if started.elapsed() < MAX_HOLD => {
                    let _ = msg.ack_with(AckKind::Progress).await;
                }
            }
        }
    };
    match submitted {
        Ok(_) => {
            if let Err(e) = msg.double_ack().await {
                // It comes again and the store recognises it: nothing is printed twice.
                tracing::warn!(code = "nats-ack", error = %e, seq, "a stored job's acknowledgement was lost; it will be recognised when it comes again");
            }
        }
        Err(e) => {
            if let StationError::Signature(e) = &e {
                // Which sender, with which key, for which job — never a personal value.
                let (kid, job) = match &submission {
                    Submission::Signed(compact) => crate::central::jws::claimed(compact),
                    Submission::Unsigned(_) => (None, None),
                };
                // A payload too damaged to read still has the id it was published under.
                let job = job.or_else(|| msg_job_id(&msg));
                tracing::warn!(
                    code = e.code(),
                    kid = kid.as_deref().unwrap_or("-"),
                    job = job.as_deref().unwrap_or("-"),
                    user = ACTOR,
                    peer = "nats",
                    seq,
                    "job refused: signature"
                );
            }
            if e.failure().is_refusal() {
                let job_id = msg_job_id(&msg);
                let body = json!({
                    "type": "refused",
                    "station_id": station_id,
                    "job_id": job_id,
                    "stream_seq": seq,
                    "error": e.answer(),
                });
                let msg_id = format!("{station_id}-refused-{seq}");
                match publisher.publish(&msg_id, &body).await {
                    Ok(()) => {
                        tracing::warn!(code = e.code(), seq, "job from NATS refused");
                        if let Err(e) = msg.ack_with(AckKind::Term).await {
                            tracing::warn!(code = "nats-ack", error = %e, seq, "cannot end a refused message; it will be refused again");
                        }
                    }
                    Err(e) => {
                        // Refused, but the central office was not told: keep it to try again.
                        tracing::warn!(code = e.code(), error = %e, seq, "cannot publish a refusal; the message comes again");
                        let _ = msg.ack_with(AckKind::Nak(Some(RETRY_LATER))).await;
                    }
                }
            } else {
                tracing::warn!(
                    code = e.code(),
                    seq,
                    "job from NATS not taken now; it comes again"
                );
                let _ = msg.ack_with(AckKind::Nak(Some(RETRY_LATER))).await;
            }
        }
    }
}

/// The one way anything reaches this station's status subject — job status from the outbox
/// and refusals from the intake alike: it makes sure the status stream exists before the first
/// publish (a fresh broker has none), and again after a publish failed (it may have been
/// deleted).
pub struct StatusPublisher {
    js: jetstream::Context,
    station_id: String,
    /// The status stream is known to exist.
    ready: AtomicBool,
}

impl StatusPublisher {
    async fn ensure_stream(&self) -> Result<(), DeliveryError> {
        if self.ready.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.js
            .get_or_create_stream(stream::Config {
                name: STATUS_STREAM.to_owned(),
                subjects: vec!["pstation.status.>".to_owned()],
                max_age: STATUS_MAX_AGE,
                ..Default::default()
            })
            .await
            .map_err(|e| DeliveryError::Nats(e.to_string()))?;
        self.ready.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn failed(&self, e: impl std::fmt::Display) -> DeliveryError {
        self.ready.store(false, Ordering::Relaxed);
        DeliveryError::Nats(e.to_string())
    }

    /// Sends one message; the returned future resolves when the stream has it.
    async fn send(
        &self,
        msg_id: &str,
        body: &serde_json::Value,
    ) -> Result<jetstream::context::PublishAckFuture, DeliveryError> {
        self.ensure_stream().await?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        self.js
            .publish_with_headers(
                status_subject(&self.station_id),
                headers,
                body.to_string().into(),
            )
            .await
            .map_err(|e| self.failed(e))
    }

    /// Publishes one message and waits for the stream to have it.
    async fn publish(&self, msg_id: &str, body: &serde_json::Value) -> Result<(), DeliveryError> {
        let ack = self.send(msg_id, body).await?;
        ack.await.map_err(|e| self.failed(e))?;
        Ok(())
    }
}

/// The status destination: each outbox row as one message on `pstation.status.<station_id>`.
pub struct NatsDestination(Arc<StatusPublisher>);

impl Destination for NatsDestination {
    fn name(&self) -> &'static str {
        NATS
    }

    async fn deliver(&self, batch: &[OutboxEntry]) -> Result<(), DeliveryError> {
        let p = &self.0;
        // Published back to back, then every acknowledgement awaited: one round trip per batch.
        let mut acks = Vec::with_capacity(batch.len());
        for e in batch {
            let body = json!({
                "type": "status",
                "station_id": p.station_id,
                "event_id": e.event_id,
                "job_id": e.job_id,
                "state": e.state,
                "booklet": e.booklet,
                "at": e.at,
            });
            let msg_id = format!("{}-{}", p.station_id, e.event_id);
            acks.push(p.send(&msg_id, &body).await?);
        }
        for ack in acks {
            ack.await.map_err(|e| p.failed(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_names_carry_the_station_id() {
        assert_eq!(jobs_subject("mpp-01"), "pstation.jobs.mpp-01");
        assert_eq!(status_subject("mpp-01"), "pstation.status.mpp-01");
        assert_eq!(consumer_name("mpp-01"), "pstation-mpp-01");
    }
}
