//! The print engine: the one task that owns the printer. It keeps the link open (reopening with
//! backoff), publishes the printer's status (an idle printer's changes as it reports them), and
//! prints the oldest printable job when the printer is ready — committing the attempt before the
//! first byte, recording the confirmed outcome after — while the next job is rendered in the
//! background (a job waiting for its booklet's confirmation too).
//!
//! Invariants: a job is sent only after `Store::begin_attempt` committed it as `printing`; an
//! outcome the driver cannot confirm becomes `needs-verification` and is never retried here; on
//! shutdown the job printing now is finished (its outcome recorded) before the task returns.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::render::{RenderError, Rendered};
use super::{PrinterView, Station, StationEvent};
use crate::printer::{Link, LinkBytes, PrintOutcome, PrinterDriver};
use crate::retry::Backoff;
use crate::store::{AttemptEnd, StoreError, Transfer};

/// How long the engine waits before it tries again when the store or the disk failed. (An idle
/// printer is watched, not polled at this pace: `idle_watching`.)
const POLL: Duration = Duration::from_secs(2);
/// How long a printer may stay warming up (or testing itself, resetting) before the operator is
/// told it is stuck: a passport printer warms up in a minute or two.
const SETTLE_LIMIT: Duration = Duration::from_secs(300);

/// A job rendered ahead: its id, booklet and bitmap resolution, and the render.
type PreRender = (
    String,
    String,
    Option<u32>,
    JoinHandle<Result<Rendered, RenderError>>,
);

/// Runs the engine until `shutdown` (then finishes the current job and returns).
pub async fn run(station: Arc<Station>, shutdown: CancellationToken) {
    let mut driver: Option<Box<dyn PrinterDriver>> = None;
    let mut prerendered: Option<PreRender> = None;
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    // The open driver's link byte totals already counted in the metrics.
    let mut counted = LinkBytes::default();
    let uri = station.options.settings.daemon.device.clone();
    let require = station.options.settings.daemon.require_booklet_confirmation;
    let mut tech = station.take_technician_requests();
    // A technician's request held while the printer warms up (it runs once the printer is
    // ready; the API gives up on it after `technician::WAIT`).
    let mut held: Option<super::technician::Request> = None;
    // Since when the printer has been settling (warming up, self test, reset), if it is.
    let mut settling_since: Option<tokio::time::Instant> = None;
    while !shutdown.is_cancelled() {
        let Some(d) = driver.as_mut() else {
            // Nobody waits for a printer that is not there.
            settling_since = None;
            if let Some(req) = held.take() {
                let _ = req
                    .reply
                    .send(Err(super::technician::TechError::Unreachable));
            }
            while let Some(req) = tech.as_mut().and_then(|rx| rx.try_recv().ok()) {
                let _ = req
                    .reply
                    .send(Err(super::technician::TechError::Unreachable));
            }
            match crate::printer::open(&uri, &station.options.driver).await {
                Ok(mut d) => {
                    // Which printer this is (model, page counter), for technicians and the
                    // support bundle; a printer that does not answer is found by the status
                    // query next.
                    let identity = d.identity().await.ok();
                    tracing::info!(
                        family = d.family(),
                        model = identity.as_ref().map(|i| i.model.as_str()),
                        "printer link open"
                    );
                    station.set_identity(identity);
                    driver = Some(d);
                    counted = LinkBytes::default();
                    backoff.reset();
                }
                Err(e) => {
                    tracing::warn!(code = e.code, error = %e, "cannot open the printer");
                    publish_printer(&station, PrinterView::from_parts_lost(e.code)).await;
                    idle(&station, &shutdown, backoff.next_wait()).await;
                }
            }
            continue;
        };
        let t0 = tokio::time::Instant::now();
        let status = d.status().await;
        station
            .metrics
            .count_link_bytes(d.link_bytes(), &mut counted);
        let status = match status {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "printer status failed; reopening the link");
                let view = PrinterView::from_status(&d.subscribe().borrow());
                publish_printer(&station, view).await;
                driver = None;
                continue;
            }
        };
        let mut view = PrinterView::from_status(&status);
        if status.settling() {
            let since = *settling_since.get_or_insert_with(tokio::time::Instant::now);
            if since.elapsed() > SETTLE_LIMIT {
                view.add_reason("warm-up-too-long-error");
            }
        } else {
            settling_since = None;
        }
        publish_printer(&station, view).await;
        // A technician's request goes first, between jobs; one that needs the printer ready
        // waits while it warms up.
        if let Some(req) = held
            .take()
            .or_else(|| tech.as_mut().and_then(|rx| rx.try_recv().ok()))
        {
            if status.settling() && req.command.needs_ready() && !req.reply.is_closed() {
                held = Some(req);
            } else {
                super::technician::serve(&station, d.as_mut(), status.ready(), req).await;
                continue;
            }
        }
        if !status.ready() {
            idle_watching(&station, &shutdown, d.as_mut()).await;
            continue;
        }
        let t_status = t0.elapsed();
        let next = match station.db(move |s| s.next_printable(require)).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "the store failed; the engine waits");
                idle(&station, &shutdown, POLL).await;
                continue;
            }
        };
        let dpi = d.capabilities().bitmap_dpi();
        let Some(job) = next else {
            // A job waiting for its booklet to be confirmed is rendered now, so that the
            // confirmation starts the print at once.
            if require {
                render_ahead(&station, &mut prerendered, dpi).await;
            }
            idle_watching(&station, &shutdown, d.as_mut()).await;
            continue;
        };

        // Render (or take the page rendered while the previous job printed, or while it
        // waited for its booklet).
        let rendered = match prerendered.take() {
            Some((id, booklet, at, handle))
                if id == job.job_id && booklet == job.booklet && at == dpi =>
            {
                handle.await.unwrap_or_else(|_| Err(render_cancelled()))
            }
            other => {
                if let Some((_, _, _, h)) = other {
                    h.abort();
                }
                render(&station, &job.job_id, &job.booklet, dpi).await
            }
        };
        let rendered = match rendered {
            Ok(r) => r,
            Err(e @ RenderError::Store(StoreError::Full(_) | StoreError::ReadOnly(_))) => {
                // Not the job's fault: it stays queued and the engine waits for the disk.
                tracing::error!(job = %job.job_id, error = %e, "the engine waits");
                idle(&station, &shutdown, POLL).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(job = %job.job_id, code = e.code(), "the job cannot be rendered");
                let (id, why) = (job.job_id.clone(), e.to_string());
                if let Ok(row) = station.db(move |s| s.fail_queued(&id, &why)).await {
                    station.publish_job(&row);
                }
                continue;
            }
        };
        let t_render = t0.elapsed();
        // An e-passport's chip is checked before its page prints (with a chip reader).
        match station.chip_gate(&job).await {
            super::chip::Gate::Print => {}
            super::chip::Gate::Held => continue,
            super::chip::Gate::Wait => {
                idle(&station, &shutdown, super::chip::RETRY).await;
                continue;
            }
        }
        // Commit the attempt before the first byte.
        let id = job.job_id.clone();
        let job = match station.db(move |s| s.begin_attempt(&id)).await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(job = %job.job_id, error = %e, "cannot start the attempt");
                idle(&station, &shutdown, POLL).await;
                continue;
            }
        };
        station.publish_job(&job);
        let Some(attempt_id) = job.attempt_id.clone() else {
            continue;
        };
        let cancel = CancellationToken::new();
        *station.current.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((job.job_id.clone(), cancel.clone()));
        set_printing(&station, Some(job.job_id.clone()));

        // Render the following job while this one prints.
        if let Ok(Some(following)) = station.db(move |s| s.next_printable(require)).await {
            let st = station.clone();
            let (fid, fbook) = (following.job_id.clone(), following.booklet.clone());
            let handle = tokio::spawn(async move { render(&st, &fid, &fbook, dpi).await });
            prerendered = Some((following.job_id, following.booklet, dpi, handle));
        }

        // Everything logged about this attempt — here, in the driver, in the store calls — sits
        // in its span (inside the engine's, which names the printer).
        let span = tracing::info_span!("attempt", job = %job.job_id, attempt = %attempt_id);
        let lost = async {
            tracing::info!("printing");
            tracing::debug!(
                status_ms = t_status.as_secs_f64() * 1e3,
                rendered_ms = t_render.as_secs_f64() * 1e3,
                committed_ms = t0.elapsed().as_secs_f64() * 1e3,
                "time from the status check to sending"
            );
            let progress_station = station.clone();
            let (pjob, pattempt) = (job.job_id.clone(), attempt_id.clone());
            let progress = Box::new(move |sheets: u32| {
                let _ = progress_station.events.send(StationEvent::Progress {
                    job_id: pjob.clone(),
                    attempt_id: pattempt.clone(),
                    sheets,
                    of: 1,
                });
            });
            // While the job prints, every status the printer reports (cover, jam, booklets) reaches
            // the operator at once.
            let mut live = d.subscribe();
            let forward_station = station.clone();
            let forward = tokio::spawn(async move {
                while live.changed().await.is_ok() {
                    let view = PrinterView::from_status(&live.borrow_and_update());
                    publish_printer(&forward_station, view).await;
                }
            });
            let t_print = tokio::time::Instant::now();
            let outcome = d
                .print(
                    rendered.job(&attempt_id, &job.job_id, &job.booklet),
                    &cancel,
                    progress,
                )
                .await;
            forward.abort();
            station
                .metrics
                .count_link_bytes(d.link_bytes(), &mut counted);
            let transfer = d.last_transfer().map(|t| {
                if let Some(read) = t.read_by_printer {
                    station.metrics.transfer_seconds.observe(read.as_secs_f64());
                }
                Transfer {
                    bytes: t.bytes,
                    duration: t.read_by_printer,
                }
            });
            *station.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
            let end = match &outcome {
                PrintOutcome::Confirmed { .. } => AttemptEnd::Printed,
                PrintOutcome::FailedBeforeStart { reason } => AttemptEnd::NotSent(reason.clone()),
                PrintOutcome::CanceledByHost => AttemptEnd::Canceled,
                PrintOutcome::CanceledAtDevice => AttemptEnd::Unknown(
                    "cancelled at the printer's panel; look at the booklet".to_owned(),
                ),
                PrintOutcome::Unknown { reason } => AttemptEnd::Unknown(reason.clone()),
            };
            tracing::info!(outcome = end_word(&end), "attempt ended");
            station
                .metrics
                .print_seconds
                .get_or_create(&super::metrics::OutcomeLabel {
                    outcome: end_word(&end),
                })
                .observe(t_print.elapsed().as_secs_f64());
            let (id, aid) = (job.job_id.clone(), attempt_id.clone());
            let t_end = tokio::time::Instant::now();
            match station
                .db(move |s| s.end_attempt_with(&id, &aid, &end, transfer))
                .await
            {
                Ok(row) => station.publish_job(&row),
                Err(e) => tracing::error!(error = %e, "cannot record the outcome"),
            }
            tracing::debug!(
                recorded_ms = t_end.elapsed().as_secs_f64() * 1e3,
                "time to record the outcome"
            );
            set_printing(&station, None);
            // The page counter moved: technicians see it current.
            if !matches!(outcome, PrintOutcome::FailedBeforeStart { .. })
                && d.subscribe().borrow().link == Link::Up
            {
                match d.page_count().await {
                    Ok(n) => station.set_page_count(n),
                    Err(e) => tracing::debug!(error = %e, "cannot read the page counter"),
                }
            }
            d.subscribe().borrow().link == Link::Lost
        }
        .instrument(span)
        .await;
        if lost {
            driver = None;
        }
    }
    if let Some((_, _, _, h)) = prerendered {
        h.abort();
    }
    if let Some(req) = held {
        let _ = req
            .reply
            .send(Err(super::technician::TechError::ShuttingDown));
    }
    tracing::info!("print engine stopped");
}

fn end_word(end: &AttemptEnd) -> &'static str {
    match end {
        AttemptEnd::Printed => "printed",
        AttemptEnd::NotSent(_) => "not-sent",
        AttemptEnd::Failed(_) => "failed",
        AttemptEnd::Canceled => "canceled",
        AttemptEnd::Unknown(_) => "unknown",
    }
}

fn render_cancelled() -> RenderError {
    RenderError::Internal("rendering stopped".to_owned())
}

/// Renders a job (its payload opened from the store), on the blocking pool. Nothing of it is
/// written to disk: the personal data stays sealed in the store.
async fn render(
    station: &Station,
    job_id: &str,
    booklet: &str,
    dpi: Option<u32>,
) -> Result<Rendered, RenderError> {
    let id = job_id.to_owned();
    let payload = station
        .db(move |s| s.payload(&id))
        .await
        .map_err(|e| match e {
            super::StationError::Store(e) => RenderError::Store(e),
            other => RenderError::Internal(other.to_string()),
        })?;
    let renderer = station.renderer.clone();
    let booklet = booklet.to_owned();
    tokio::task::spawn_blocking(move || renderer.render(&payload, &booklet, dpi))
        .await
        .unwrap_or_else(|_| Err(render_cancelled()))
}

async fn publish_printer(station: &Station, view: PrinterView) {
    let mut view = view;
    let job_id = station.printer.borrow().job_id.clone();
    view.job_id = job_id;
    if station.publish_printer(view.clone()) {
        // The history is written beside the print path, never in its way.
        let store = station.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = store.lock().unwrap_or_else(|e| e.into_inner());
            let _ = s.record_printer_status(view.state, &view.reasons, view.link);
        });
    }
}

/// Shows (or clears) the job printing now in the printer's view, for every watcher.
fn set_printing(station: &Station, job_id: Option<String>) {
    let mut view = station.printer.borrow().clone();
    view.job_id = job_id;
    station.publish_printer(view);
}

/// Starts rendering the oldest queued job whose booklet is in stock (confirmed or not), unless
/// it is rendered or rendering already.
async fn render_ahead(
    station: &Arc<Station>,
    prerendered: &mut Option<PreRender>,
    dpi: Option<u32>,
) {
    let Ok(Some(next)) = station.db(|s| s.next_printable(false)).await else {
        return;
    };
    if let Some((id, booklet, at, _)) = prerendered.as_ref()
        && *id == next.job_id
        && *booklet == next.booklet
        && *at == dpi
    {
        return;
    }
    if let Some((_, _, _, h)) = prerendered.take() {
        h.abort();
    }
    let st = station.clone();
    let (id, booklet) = (next.job_id.clone(), next.booklet.clone());
    let handle = tokio::spawn(async move { render(&st, &id, &booklet, dpi).await });
    *prerendered = Some((next.job_id, next.booklet, dpi, handle));
}

/// Waits, with the printer idle, for the printer to report a change (published at once), a
/// wake-up (a job changed, a technician's request) or shutdown — at most the family's idle poll,
/// after which the engine asks the printer.
async fn idle_watching(
    station: &Station,
    shutdown: &CancellationToken,
    driver: &mut dyn PrinterDriver,
) {
    let limit = driver.idle_poll();
    let changed = tokio::select! {
        changed = driver.wait_for_change(limit) => changed,
        () = station.wake.notified() => false,
        () = shutdown.cancelled() => false,
    };
    if changed {
        let view = PrinterView::from_status(&driver.subscribe().borrow());
        publish_printer(station, view).await;
    }
}

/// Waits for a poll interval, a wake-up (a job changed) or shutdown.
async fn idle(station: &Station, shutdown: &CancellationToken, d: Duration) {
    tokio::select! {
        () = tokio::time::sleep(d) => {}
        () = station.wake.notified() => {}
        () = shutdown.cancelled() => {}
    }
}

impl PrinterView {
    fn from_parts_lost(code: &'static str) -> Self {
        let mut v = Self::from_parts("stopped", vec!["offline-report".to_owned()], "lost", None);
        v.display = Some(code.to_owned());
        v
    }
}
