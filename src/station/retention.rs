//! Retention: `daemon.purge_after_days` after a job ended (completed or canceled), its personal
//! data is purged from the store (`Store::purge_ended_before`), leaving the audit record. One
//! task sleeps until the next job falls due (at most an hour) or a job ends, then purges.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::{Station, StationEvent};

/// The longest the task sleeps between looks (a clock change or a missed event costs no more).
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// How long after an error the task tries again.
const RETRY: Duration = Duration::from_secs(60);

/// Purges ended jobs' personal data as their retention ends, until `shutdown`.
pub async fn run(station: Arc<Station>, shutdown: CancellationToken) {
    let keep = time::Duration::days(i64::from(station.options.settings.daemon.purge_after_days));
    let mut events = station.subscribe();
    loop {
        let wait = match purge_due(&station, keep).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::warn!(error = %e, "cannot purge ended jobs' personal data now; trying again");
                RETRY
            }
        };
        // Sleep until the next job is due, or a job ends (with no retention, it is due now).
        let deadline = tokio::time::sleep(wait);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                () = shutdown.cancelled() => return,
                ev = events.recv() => match ev {
                    Ok(StationEvent::Job { state, .. }) if state.is_terminal() => break,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }
}

/// Purges what is due now; returns how long until the next job is due.
async fn purge_due(
    station: &Arc<Station>,
    keep: time::Duration,
) -> Result<Duration, super::StationError> {
    let now = OffsetDateTime::now_utc();
    let cutoff = (now - keep).format(&Rfc3339).unwrap_or_default();
    let (purged, oldest) = station
        .db(move |s| Ok((s.purge_ended_before(&cutoff)?, s.oldest_unpurged_end()?)))
        .await?;
    if !purged.is_empty() {
        tracing::info!(
            jobs = purged.len(),
            "purged the personal data of ended jobs (retention over)"
        );
        // Pages rendered to the data folder by pstation before schema 7 go with their jobs.
        let dir = station.legacy_rendered_dir();
        let _ = tokio::task::spawn_blocking(move || {
            for id in purged {
                let _ = std::fs::remove_file(dir.join(format!("{id}.pdf")));
            }
        })
        .await;
    }
    let next = oldest
        .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok())
        .map(|ended| ended + keep - OffsetDateTime::now_utc());
    Ok(match next {
        Some(d) if d.is_negative() => Duration::from_millis(100),
        Some(d) => Duration::try_from(d).unwrap_or(MAX_WAIT).min(MAX_WAIT),
        None => MAX_WAIT,
    })
}
