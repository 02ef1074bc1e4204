//! The station's HTTP JSON API (axum), bound to 127.0.0.1 by default: submit and list jobs,
//! operator actions, printer status, booklets, and a live event stream (server-sent events).
//!
//! Every error is `{"error": {"code", "message"[, "problems"]}}` with a stable code — the
//! framework's own refusals (405, 413, 431, ...) included, rewritten by `errors_as_json` — and
//! counted in `pstation_api_errors_total`. Who acts is the owner of the request's bearer token
//! or console session (the `Actor` extractor). The handlers call the station's use cases,
//! never the store.

mod booklets;
mod chip;
pub mod console;
mod error;
mod jobs;
mod login;
mod printer;
mod reads;
mod request;
pub mod serve;
mod status;
pub mod tls;
pub mod wire;

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::central::auth::Role;
use crate::station::session::{self, SessionUser};
use crate::station::{Failure, Station, StationError, StationEvent, Submission};
use crate::store::{Action, BookletState, JobState, StoreError, Submitted};
pub use error::{ApiError, MAX_HEADER_BYTES, MAX_HEADERS, code};
pub use request::Actor;
use request::*;
pub use status::OPENAPI;

/// The largest request body (a job with its portrait is well under this).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The API's routes over a station.
pub fn router(station: Arc<Station>) -> Router {
    Router::new()
        .route("/api/health", get(status::health))
        .route("/metrics", get(status::metrics))
        .route("/api/jobs", post(jobs::submit).get(jobs::list_jobs))
        .route("/api/jobs/{id}", get(jobs::show_job))
        .route("/api/jobs/{id}/page.pdf", get(jobs::job_page))
        .route("/api/jobs/{id}/page.png", get(jobs::job_preview))
        .route("/api/jobs/{id}/mrz", get(jobs::job_mrz))
        .route("/api/jobs/{id}/reads", get(reads::job_reads))
        .route("/api/jobs/{id}/chip", get(chip::job_chip))
        .route("/api/jobs/{id}/{action}", post(jobs::job_action))
        .route("/api/reader/read", post(reads::typed_read))
        .route("/api/printer", get(printer::printer))
        .route("/api/printer/test-page", post(printer::test_page))
        .route("/api/printer/pjl", post(printer::console_command))
        .route("/api/printer/identity", post(printer::refresh_identity))
        .route("/api/booklets", get(booklets::booklets))
        .route("/api/booklets/batches", post(booklets::receive_batch))
        .route("/api/booklets/reconcile", get(booklets::reconcile))
        .route("/api/events", get(status::events))
        .route("/api/openapi.json", get(status::openapi))
        .route(
            "/api/session",
            get(login::session).post(login::login).delete(login::logout),
        )
        .route("/", get(console::root))
        .route("/console/", get(console::index))
        .route("/favicon.ico", get(console::favicon))
        .route("/console/{file}", get(console::asset))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(error::errors_as_json))
        .with_state(station)
}
