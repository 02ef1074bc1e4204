//! The station as monitoring and watchers see it: health, metrics, the OpenAPI document and
//! the live event stream.

use super::*;

/// The daemon is up; `status` is `degraded` (with the problems, each with its code and what to
/// do) when new jobs cannot be accepted because of the data folder's disk; and the printer's
/// state, reasons and advice (no job id, no personal data).
pub(super) async fn health(State(st): State<Arc<Station>>) -> Json<wire::Health> {
    let station = st.clone();
    let (disk, problem) = tokio::task::spawn_blocking(move || {
        let dir = &station.options.settings.daemon.data_dir;
        (
            crate::fsio::disk_state(dir).ok(),
            station.disk_problem_probed(),
        )
    })
    .await
    .unwrap_or((None, None));
    let problems: Vec<wire::HealthProblem> = problem
        .iter()
        .map(|p| wire::HealthProblem {
            code: p.code().to_owned(),
            message: p.to_string(),
        })
        .collect();
    // The printer as the operator sees it, without the job printing now: monitoring and
    // `pstation doctor` read it here, without a token.
    let mut printer = st.printer().borrow().clone();
    printer.job_id = None;
    Json(wire::Health {
        status: if problems.is_empty() {
            "ok"
        } else {
            "degraded"
        }
        .to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        utc_offset: crate::clock::offset_text(st.options.settings.utc_offset),
        printer: (&printer).into(),
        printer_model: st.identity().map(|i| i.model),
        data_dir: disk.map(|d| wire::DataDir {
            writable: d.writable && !problems.iter().any(|p| p.code == "store-read-only"),
            free_mb: d.free_bytes / (1024 * 1024),
            min_free_mb: st.options.settings.daemon.min_free_mb,
        }),
        problems,
    })
}

/// Prometheus metrics (OpenMetrics text).
pub(super) async fn metrics(State(st): State<Arc<Station>>) -> Result<Response, ApiError> {
    let counts = st.counts().await?;
    let view = st.printer().borrow().clone();
    st.metrics.set_chip_counts(&counts.chips);
    let text = st
        .metrics
        .render(&counts.jobs, &counts.booklets, &counts.backlog, &view)
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL_ERROR,
                format!("metrics: {e}"),
            )
        })?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// The API's description (OpenAPI 3.1), kept true by a test against these routes.
pub const OPENAPI: &str = include_str!("openapi.json");

pub(super) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Server-sent events: a `printer` snapshot first, then every `StationEvent` as it happens
/// (event name = its type). A watcher too slow to keep up misses events, never blocks others.
pub(super) async fn events(
    State(st): State<Arc<Station>>,
    actor: Actor,
) -> Result<Sse<impl tokio_stream::Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    actor.may(WATCHERS, "watch events")?;
    let snapshot = StationEvent::Printer(st.printer().borrow().clone());
    let rx = st.subscribe();
    let first = tokio_stream::once(snapshot);
    let live = BroadcastStream::new(rx).filter_map(Result::ok);
    // The stream ends when the station stops, so a graceful shutdown does not wait on it.
    let closing = st.closing.clone().cancelled_owned();
    let role = actor.role;
    let stream = futures_util::StreamExt::take_until(first.chain(live), closing).map(move |ev| {
        let notice = wire::Notice::from(&ev);
        let name = notice.name();
        let mut v = serde_json::to_value(&notice).unwrap_or_else(|_| json!({}));
        crate::privacy::shown_to(role, &mut v);
        let data = v.to_string();
        Ok(SseEvent::default().event(name).data(data))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
