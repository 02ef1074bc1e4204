//! The station's HTTP JSON API (axum), bound to 127.0.0.1 by default: submit and list jobs,
//! operator actions, printer status, booklets, and a live event stream (server-sent events).
//!
//! Every error is `{"error": {"code", "message"[, "problems"]}}` with a stable code — the
//! framework's own refusals (405, 413, 431, ...) included, rewritten by `errors_as_json` — and
//! counted in `pstation_api_errors_total`. Who acts is the owner of the request's bearer token
//! or console session (the `Actor` extractor).

use std::convert::Infallible;
use std::sync::Arc;

use super::session::{self, SessionUser};
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

use super::{Station, StationError, StationEvent, Submission};
use crate::central::auth::Role;
use crate::store::{Action, BookletState, JobState, StoreError, Submitted};

/// The largest request body (a job with its portrait is well under this).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The API's routes over a station.
pub fn router(station: Arc<Station>) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/jobs", post(submit).get(list_jobs))
        .route("/api/jobs/{id}", get(show_job))
        .route("/api/jobs/{id}/page.pdf", get(job_page))
        .route("/api/jobs/{id}/page.png", get(job_preview))
        .route("/api/jobs/{id}/mrz", get(job_mrz))
        .route("/api/jobs/{id}/{action}", post(job_action))
        .route("/api/printer", get(printer))
        .route("/api/printer/test-page", post(test_page))
        .route("/api/printer/pjl", post(pjl_command))
        .route("/api/printer/identity", post(refresh_identity))
        .route("/api/booklets", get(booklets))
        .route("/api/booklets/batches", post(receive_batch))
        .route("/api/booklets/reconcile", get(reconcile))
        .route("/api/events", get(events))
        .route("/api/openapi.json", get(openapi))
        .route("/api/session", get(session).post(login).delete(logout))
        .route("/", get(super::console::root))
        .route("/console/", get(super::console::index))
        .route("/favicon.ico", get(super::console::favicon))
        .route("/console/{file}", get(super::console::asset))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(errors_as_json))
        .with_state(station)
}

/// The largest header block the API reads (names and values), and the most header lines.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// See `MAX_HEADER_BYTES`.
pub const MAX_HEADERS: usize = 100;

/// The one gate every request and answer passes: an oversized header block is refused (431)
/// before any handler runs, and an error answered by the framework itself rather than by an
/// `ApiError` (a 405 for a method a path does not have, a 413 for a body over `MAX_BODY`, a
/// 400 for a malformed query) is rewritten in the documented JSON shape, with a stable code,
/// and counted like every other.
async fn errors_as_json(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if req.headers().len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            format!(
                "the request's headers are {} lines, {bytes} bytes; at most {MAX_HEADERS} lines and {MAX_HEADER_BYTES} bytes are read",
                req.headers().len()
            ),
        )
        .into_response();
    }
    // (A body over the limit is read up to the limit and then refused, not refused from its
    // Content-Length: a client still writing would see its connection reset, not the answer.)
    let resp = next.run(req).await;
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    // The framework's own words (a rejection's text) are kept as the message when short.
    let text = axum::body::to_bytes(resp.into_body(), 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            format!(
                "this path does not take this method; it takes {} (see /api/openapi.json)",
                allow
                    .as_ref()
                    .and_then(|a| a.to_str().ok())
                    .unwrap_or("other methods")
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body-too-large",
            format!("the request body is over {MAX_BODY} bytes"),
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "headers-too-large",
            "the request's headers are too large".to_owned(),
        ),
        StatusCode::NOT_FOUND => ("not-found", text.unwrap_or_else(|| "no such route".into())),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            text.unwrap_or_else(|| "send application/json".into()),
        ),
        s if s.is_client_error() => (
            "bad-request",
            text.unwrap_or_else(|| s.canonical_reason().unwrap_or("bad request").to_owned()),
        ),
        s => (
            "internal-error",
            s.canonical_reason().unwrap_or("internal error").to_owned(),
        ),
    };
    let mut resp = ApiError::new(status, code, message).into_response();
    if let Some(a) = allow {
        resp.headers_mut().insert(header::ALLOW, a);
    }
    resp
}

/// An API error.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    problems: Option<serde_json::Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            problems: None,
        }
    }
}

impl ApiError {
    /// The HTTP status: 4xx when the request itself is refused (sending it again changes
    /// nothing), 5xx when the station could not take it now.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The answer's JSON body: `{"error": {"code", "message", "problems"?}}`.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({"error": {"code": self.code, "message": self.message}});
        if let Some(p) = &self.problems {
            body["error"]["problems"] = p.clone();
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        super::metrics::API_ERRORS
            .get_or_create(&super::metrics::CodeLabel { code: self.code })
            .inc();
        let body = self.body();
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<StationError> for ApiError {
    fn from(e: StationError) -> Self {
        match e {
            StationError::Invalid(problems) => {
                let list: Vec<_> = problems
                    .0
                    .iter()
                    .map(|p| json!({"path": p.path, "code": p.code, "message": p.message}))
                    .collect();
                Self {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: "invalid-job",
                    message: format!("{} problem(s) in the job", list.len()),
                    problems: Some(list.into()),
                }
            }
            StationError::ShuttingDown => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting-down",
                "the station is stopping",
            ),
            StationError::Signature(e) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
            }
            StationError::Store(e) => {
                let status = match &e {
                    StoreError::NotFound(_) => StatusCode::NOT_FOUND,
                    StoreError::Conflict(_)
                    | StoreError::Transition(_)
                    | StoreError::StaleAttempt(_)
                    | StoreError::Booklet { .. } => StatusCode::CONFLICT,
                    StoreError::SecondPerson(_) => StatusCode::FORBIDDEN,
                    StoreError::Full(_) => StatusCode::INSUFFICIENT_STORAGE,
                    StoreError::ReadOnly(_) => StatusCode::SERVICE_UNAVAILABLE,
                    StoreError::Purged(_) => StatusCode::GONE,
                    StoreError::Sqlite(_)
                    | StoreError::TooNew { .. }
                    | StoreError::Migration { .. }
                    | StoreError::Backup(_)
                    | StoreError::Key(_)
                    | StoreError::WrongKey { .. }
                    | StoreError::Unsealable(_)
                    | StoreError::NoKey => {
                        tracing::error!(error = %e, "store failure");
                        StatusCode::INTERNAL_SERVER_ERROR
                    }
                };
                Self::new(status, e.code(), e.to_string())
            }
        }
    }
}

/// Who is acting, and in which role: the user whose bearer token came with the request; in a lab
/// (`api.require_tokens = false`) the `X-Pstation-User` header (or `local`), as admin.
pub struct Actor {
    /// Recorded as the actor of what they do.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

impl Actor {
    /// Refuses (403, nothing said about roles) unless the actor is an admin or has one of
    /// `roles`. The refusal is logged with who and what, for the audit trail.
    /// An answer as this user may see it: passport numbers masked for a role that does not see
    /// personal data (`crate::privacy`).
    fn shown(&self, mut v: serde_json::Value) -> Json<serde_json::Value> {
        crate::privacy::shown_to(self.role, &mut v);
        Json(v)
    }

    fn may(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            return Ok(());
        }
        tracing::warn!(user = %self.name, role = self.role.as_str(), what, "refused: role");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "not allowed",
        ))
    }
}

/// Everyone who may read jobs.
const READERS: &[Role] = &[
    Role::Central,
    Role::Operator,
    Role::Supervisor,
    Role::Technician,
];
/// Who may act on jobs and booklets at the counter.
const COUNTER: &[Role] = &[Role::Operator, Role::Supervisor];
/// Who may watch the printer and the booklets.
const WATCHERS: &[Role] = &[Role::Operator, Role::Supervisor, Role::Technician];

/// The user a bearer token in `header` belongs to.
fn user_of<'a>(
    st: &'a Station,
    headers: &HeaderMap,
    header: &str,
) -> Option<&'a crate::central::auth::User> {
    let value = headers.get(header)?.to_str().ok()?;
    let token = if header == "authorization" {
        bearer_token(value)?
    } else {
        value.trim()
    };
    if token.is_empty() {
        return None;
    }
    crate::central::auth::find(&st.options.settings.api.users, token)
}

/// The token of an `Authorization` value: the scheme is required and is `Bearer` in any case
/// (RFC 9110 §11.1, RFC 6750 §2.1); a bare token or another scheme is no credential.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

impl FromRequestParts<Arc<Station>> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<Station>,
    ) -> Result<Self, Self::Rejection> {
        if !st.options.settings.api.require_tokens {
            return match parts.headers.get("x-pstation-user") {
                None => Ok(Self {
                    name: "local".to_owned(),
                    role: Role::Admin,
                }),
                Some(v) => match v.to_str() {
                    Ok(s) if crate::central::auth::valid_name(s) => Ok(Self {
                        name: s.to_owned(),
                        role: Role::Admin,
                    }),
                    _ => Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid-user",
                        "X-Pstation-User must be 1-64 of A-Z a-z 0-9 . _ -",
                    )),
                },
            };
        }
        if let Some(u) = user_of(st, &parts.headers, "authorization") {
            return Ok(Self {
                name: u.name.clone(),
                role: u.role,
            });
        }
        // The console: a session cookie. A change must also carry the console's header, which
        // a page from another site cannot send (no CORS here): the cookie alone is not enough.
        if parts.headers.get("authorization").is_none()
            && let Some(id) = session::cookie_value(&parts.headers)
        {
            let changes = parts.method != axum::http::Method::GET;
            if changes && parts.headers.get("x-pstation-console").is_none() {
                tracing::warn!(method = %parts.method, path = %parts.uri.path(), "refused: a session change without the console's header");
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "not allowed",
                ));
            }
            return match st.sessions.touch(&id) {
                Ok(u) => Ok(Self {
                    name: u.name,
                    role: u.role,
                }),
                Err(why) => {
                    tracing::info!(path = %parts.uri.path(), expired = why == session::Refused::Expired, "refused: no live session");
                    Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "a valid token is required",
                    ))
                }
            };
        }
        // Logged for the audit trail; the answer says nothing about why.
        tracing::warn!(method = %parts.method, path = %parts.uri.path(), "refused: no valid token");
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid token is required",
        ))
    }
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if crate::central::auth::valid_name(id) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-id",
            "a job id is 1-64 of A-Z a-z 0-9 . _ -",
        ))
    }
}

/// The request's media type, lower case, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    if media_type(headers).as_deref() == Some("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the body as Content-Type: application/json",
        ))
    }
}

/// Parses an optional JSON body (empty means `{}`).
fn body_json<T: for<'de> Deserialize<'de> + Default>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    require_json(headers)?;
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            format!("the request body is not the expected JSON: {e}"),
        )
    })
}

/// The daemon is up; `status` is `degraded` (with the problems, each with its code and what to
/// do) when new jobs cannot be accepted because of the data folder's disk; and the printer's
/// state, reasons and advice (no job id, no personal data).
async fn health(State(st): State<Arc<Station>>) -> Json<serde_json::Value> {
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
    let problems: Vec<serde_json::Value> = problem
        .iter()
        .map(|p| json!({"code": p.code(), "message": p.to_string()}))
        .collect();
    // The printer as the operator sees it, without the job printing now: monitoring and
    // `pstation doctor` read it here, without a token.
    let mut printer = st.printer().borrow().clone();
    printer.job_id = None;
    Json(json!({
        "status": if problems.is_empty() { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "utc_offset": crate::clock::offset_text(st.options.settings.utc_offset),
        "printer": printer,
        "printer_model": st.identity().map(|i| i.model),
        "data_dir": disk.map(|d| json!({
            "writable": d.writable && !problems.iter().any(|p| p["code"] == "store-read-only"),
            "free_mb": d.free_bytes / (1024 * 1024),
            "min_free_mb": st.options.settings.daemon.min_free_mb,
        })),
        "problems": problems,
    }))
}

/// Prometheus metrics (OpenMetrics text).
async fn metrics(State(st): State<Arc<Station>>) -> Result<Response, ApiError> {
    // The backlog of each status destination configured.
    let central = &st.options.settings.central;
    let sinks: Vec<&'static str> = [
        central.webhook.as_ref().map(|_| super::outbox::WEBHOOK),
        central.nats.as_ref().map(|_| super::nats::NATS),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (jobs, booklets, backlog) = st
        .db(move |s| {
            let backlog = sinks
                .iter()
                .map(|sink| Ok((*sink, s.outbox_backlog(sink)?)))
                .collect::<Result<Vec<_>, crate::store::StoreError>>()?;
            Ok((s.job_counts()?, s.booklet_counts()?, backlog))
        })
        .await?;
    let view = st.printer().borrow().clone();
    let text = st
        .metrics
        .render(&jobs, &booklets, &backlog, &view)
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
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

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such route")
}

async fn submit(
    State(st): State<Arc<Station>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    actor: Actor,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    actor.may(&[Role::Central], "submit")?;
    let submission = match media_type(&headers).as_deref() {
        Some("application/jose") => Submission::Signed(body.to_vec()),
        Some("application/json") => Submission::Unsigned(body.to_vec()),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send a signed job as Content-Type: application/jose (a compact JWS), or an unsigned one as application/json where the station allows it",
            ));
        }
    };
    let submitted = st.submit(submission.clone(), &actor.name).await;
    if let Err(StationError::Signature(e)) = &submitted {
        // Which sender, with which key, for which job — never a personal value.
        let (kid, job) = match &submission {
            Submission::Signed(compact) => crate::central::jws::claimed(compact),
            Submission::Unsigned(_) => (None, None),
        };
        tracing::warn!(
            code = e.code(),
            kid = kid.as_deref().unwrap_or("-"),
            job = job.as_deref().unwrap_or("-"),
            user = %actor.name,
            peer = %peer,
            "job refused: signature"
        );
    }
    match submitted? {
        Submitted::Created(job) => {
            Ok((StatusCode::CREATED, Json(json!({"job": job}))).into_response())
        }
        Submitted::Existing(job) => {
            Ok((StatusCode::OK, Json(json!({"job": job, "existing": true}))).into_response())
        }
    }
}

/// `?state=` of the job and booklet lists.
#[derive(Deserialize)]
struct StateQuery {
    state: Option<String>,
}

async fn list_jobs(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Query(q): Query<StateQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(READERS, "list jobs")?;
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid-state",
                format!(
                    "unknown state {s:?}; one of {}",
                    JobState::ALL.map(JobState::as_str).join(", ")
                ),
            )
        })?),
    };
    let jobs = st.db(move |s| s.jobs(state)).await?;
    Ok(actor.shown(json!({"jobs": jobs})))
}

async fn show_job(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(READERS, "show a job")?;
    check_id(&id)?;
    let (job, events, attempts) = st
        .db(move |s| {
            Ok((
                s.job(&id)?,
                s.events(Some(&id), 0, 1000)?,
                s.attempts(Some(&id), 100)?,
            ))
        })
        .await?;
    Ok(actor.shown(json!({"job": job, "events": events, "attempts": attempts})))
}

/// The job's data page as it prints (PDF), for the counter to check a booklet against. It
/// carries personal data: only the counter's roles may see it, each view is in the audit log,
/// and nothing of it is cached or kept. A purged job answers 410.
async fn job_page(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let pdf = personal_data(&st, &actor, id, "view-page", |r, p, b| r.pdf(p, b)).await?;
    Ok(private(pdf, "application/pdf"))
}

/// The resolution of the console's preview (the printer's is 300 dpi).
const PREVIEW_DPI: u32 = 150;

/// Something made from a job's personal data (`make`, on the blocking pool) for a counter
/// user; the view is recorded as `what` first.
async fn personal_data<T, F>(
    st: &Station,
    actor: &Actor,
    id: String,
    what: &'static str,
    make: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&super::render::Renderer, &[u8], &str) -> Result<T, super::render::RenderError>
        + Send
        + 'static,
{
    actor.may(COUNTER, what)?;
    check_id(&id)?;
    let name = actor.name.clone();
    let (payload, booklet) = st
        .db(move |s| {
            let job = s.job(&id)?;
            let payload = s.payload(&id)?;
            s.record_access(Some(&id), &name, what)?;
            Ok((payload, job.booklet))
        })
        .await?;
    let renderer = st.renderer.clone();
    tokio::task::spawn_blocking(move || make(&renderer, &payload, &booklet))
        .await
        .map_err(|_| StationError::ShuttingDown)?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.code, e.message))
}

/// A body of personal data: never cached.
fn private(body: Vec<u8>, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The data page as the console previews it (PNG, 150 dpi); like `page.pdf`, counter roles
/// only, each view recorded, not cached.
async fn job_preview(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let png = personal_data(&st, &actor, id, "view-page", |r, p, b| {
        r.preview(p, b, PREVIEW_DPI)
    })
    .await?;
    Ok(private(png, "image/png"))
}

/// The job's two MRZ lines as they print (counter roles, each view recorded).
async fn job_mrz(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let lines = personal_data(&st, &actor, id, "view-mrz", |r, p, b| r.mrz(p, b)).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"lines": lines})),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    token: String,
}

/// The session answer; `user` is null when nobody is logged in. The station's clock goes with
/// it so the console shows station-local times with their zone.
fn session_answer(st: &Station, user: Option<&SessionUser>) -> serde_json::Value {
    let offset = st.options.settings.utc_offset;
    json!({
        "user": user.map(|u| json!({"name": u.name, "role": u.role.as_str()})),
        "idle_timeout_s": st.sessions.idle().as_secs(),
        "lab": !st.options.settings.api.require_tokens,
        "utc_offset": crate::clock::offset_text(offset),
        "zone": crate::clock::zone_name(offset),
    })
}

/// `POST /api/session`: the console's login with a user's token (typed or scanned). The
/// session id goes back only in an HttpOnly cookie; the login is in the event log.
async fn login(
    State(st): State<Arc<Station>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: LoginBody = body_json(&headers, &body)?;
    let user = match crate::central::auth::find(&st.options.settings.api.users, b.token.trim()) {
        Some(u) => SessionUser {
            name: u.name.clone(),
            role: u.role,
        },
        None => {
            tracing::warn!("refused: console login with an unknown token");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid token is required",
            ));
        }
    };
    let id = st.sessions.start(user.clone()).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            format!("no random session id: {e}"),
        )
    })?;
    let name = user.name.clone();
    st.db(move |s| s.record_access(None, &name, "login"))
        .await?;
    tracing::info!(user = %user.name, role = user.role.as_str(), "console login");
    let mut resp = Json(session_answer(&st, Some(&user))).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&session::set_cookie(Some(&id))) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `GET /api/session`: who is logged in (the console asks at start). Asking is not an error:
/// nobody logged in is a 200 with `"user": null`.
async fn session(
    State(st): State<Arc<Station>>,
    actor: Result<Actor, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match actor {
        Ok(actor) => Ok(Json(session_answer(
            &st,
            Some(&SessionUser {
                name: actor.name,
                role: actor.role,
            }),
        ))),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Ok(Json(session_answer(&st, None))),
        Err(e) => Err(e),
    }
}

/// `DELETE /api/session`: logout; the cookie is removed and the session ends at once.
async fn logout(State(st): State<Arc<Station>>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(user) = session::cookie_value(&headers).and_then(|id| st.sessions.end(&id)) {
        let name = user.name.clone();
        st.db(move |s| s.record_access(None, &name, "logout"))
            .await?;
        tracing::info!(user = %user.name, "console logout");
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&session::set_cookie(None)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    reason: Option<String>,
    booklet: Option<String>,
    supervisor: Option<String>,
}

async fn job_action(
    State(st): State<Arc<Station>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path((id, action)): Path<(String, String)>,
    actor: Actor,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(COUNTER, "act on a job")?;
    check_id(&id)?;
    let b: ActionBody = body_json(&headers, &body)?;
    let missing = |field: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing-field",
            format!("{action} needs \"{field}\" in the body"),
        )
    };
    let job = match action.as_str() {
        "hold" => st.act(&id, Action::Hold, &actor.name, b.reason).await?,
        "release" => st.act(&id, Action::Release, &actor.name, b.reason).await?,
        "cancel" => st.act(&id, Action::Cancel, &actor.name, b.reason).await?,
        "verify" => st.act(&id, Action::Verify, &actor.name, b.reason).await?,
        "spoil" => st.act(&id, Action::Spoil, &actor.name, b.reason).await?,
        "confirm-booklet" => {
            let n = b.booklet.ok_or_else(|| missing("booklet"))?;
            st.confirm_booklet(&id, n, &actor.name).await?
        }
        "reprint" => {
            let n = b.booklet.ok_or_else(|| missing("booklet"))?;
            let sup = if st.options.settings.api.require_tokens {
                // The second person proves presence with their own token; their name is taken
                // from it, not from the body.
                let Some(u) = user_of(&st, &headers, "x-pstation-supervisor-token")
                    .filter(|u| matches!(u.role, Role::Supervisor | Role::Admin))
                else {
                    tracing::warn!(code = "second-person-required", user = %actor.name, job = %id, peer = %peer, "refused: reprint without a supervisor's token");
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "second-person-required",
                        "a reprint needs a supervisor's token in X-Pstation-Supervisor-Token",
                    ));
                };
                u.name.clone()
            } else {
                b.supervisor.ok_or_else(|| missing("supervisor"))?
            };
            st.reprint(&id, n, &actor.name, sup, b.reason)
                .await
                .inspect_err(|e| {
                    if let StationError::Store(StoreError::SecondPerson(_)) = e {
                        tracing::warn!(
                            code = "second-person-required",
                            user = %actor.name,
                            job = %id,
                            peer = %peer,
                            "refused: a reprint approved by the person asking for it"
                        );
                    }
                })?
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown-action",
                "actions: hold, release, cancel, verify, spoil, confirm-booklet, reprint",
            ));
        }
    };
    Ok(Json(json!({"job": job})))
}

async fn printer(
    State(st): State<Arc<Station>>,
    actor: Actor,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(WATCHERS, "printer status")?;
    let view = st.printer().borrow().clone();
    let history = st.db(|s| s.printer_history(20)).await?;
    let history: Vec<_> = history
        .into_iter()
        .map(|(at, state, reasons, link)| json!({"at": at, "state": state, "reasons": reasons, "link": link}))
        .collect();
    let c = st.options.settings.render.calibration;
    Ok(Json(json!({
        "printer": view,
        "identity": st.identity(),
        "history": history,
        "calibration": {"offset_x_mm": c.offset_x_mm, "offset_y_mm": c.offset_y_mm},
    })))
}

/// Who may send requests to the printer itself.
const TECHNICIANS: &[Role] = &[Role::Technician];

fn tech_error(e: &super::technician::TechError) -> ApiError {
    use super::technician::TechError;
    let status = match e {
        TechError::NotAllowed(_) => StatusCode::BAD_REQUEST,
        TechError::NotReady(_) | TechError::Busy | TechError::Failed { .. } => StatusCode::CONFLICT,
        TechError::Unreachable | TechError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError::new(status, e.code(), e.to_string())
}

/// `POST /api/printer/test-page`: the calibration page on one sheet, between jobs.
async fn test_page(
    State(st): State<Arc<Station>>,
    actor: Actor,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(TECHNICIANS, "print a test page")?;
    match st
        .technician(super::technician::Command::TestPage, &actor.name)
        .await
    {
        Ok(super::technician::Answer::Printed { pages }) => {
            Ok(Json(json!({"outcome": "completed", "pages": pages})))
        }
        Ok(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "unexpected answer",
        )),
        Err(e) => Err(tech_error(&e)),
    }
}

/// `POST /api/printer/identity`: the printer's identity and counters read again now (between
/// jobs), for the technician's page.
async fn refresh_identity(
    State(st): State<Arc<Station>>,
    actor: Actor,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(WATCHERS, "read the printer's identity")?;
    match st
        .technician(super::technician::Command::Identity, &actor.name)
        .await
    {
        Ok(super::technician::Answer::Identity(id)) => Ok(Json(json!({"identity": id}))),
        Ok(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "unexpected answer",
        )),
        Err(e) => Err(tech_error(&e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PjlBody {
    command: String,
}

/// `POST /api/printer/pjl`: a read-only PJL command (`INFO STATUS`, `INQUIRE ...`), its answer.
async fn pjl_command(
    State(st): State<Arc<Station>>,
    actor: Actor,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(TECHNICIANS, "send a PJL command")?;
    let b: PjlBody = body_json(&headers, &body)?;
    let cmd = super::technician::check_pjl(&b.command).map_err(|e| tech_error(&e))?;
    match st
        .technician(super::technician::Command::Pjl(cmd), &actor.name)
        .await
    {
        Ok(super::technician::Answer::Lines(lines)) => Ok(Json(json!({"lines": lines}))),
        Ok(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "unexpected answer",
        )),
        Err(e) => Err(tech_error(&e)),
    }
}

async fn booklets(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Query(q): Query<StateQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(WATCHERS, "list booklets")?;
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(BookletState::parse(s).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid-state",
                format!("unknown booklet state {s:?}; one of in-stock, loaded, issued, spoiled"),
            )
        })?),
    };
    let (batches, list) = st
        .db(move |s| Ok((s.batches()?, s.booklets(state)?)))
        .await?;
    Ok(actor.shown(json!({"batches": batches, "booklets": list})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    first: String,
    last: String,
}

async fn receive_batch(
    State(st): State<Arc<Station>>,
    actor: Actor,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    actor.may(COUNTER, "receive booklets")?;
    require_json(&headers)?;
    let b: BatchBody = body_json(&headers, &body)?;
    let batch = st.receive_batch(b.first, b.last, &actor.name).await?;
    Ok((StatusCode::CREATED, Json(json!({"batch": batch}))).into_response())
}

async fn reconcile(
    State(st): State<Arc<Station>>,
    actor: Actor,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(WATCHERS, "reconcile booklets")?;
    let rec = st.db(|s| s.reconcile()).await?;
    let balanced = rec.balanced();
    Ok(actor.shown(json!({"reconciliation": rec, "balanced": balanced})))
}

/// Server-sent events: a `printer` snapshot first, then every `StationEvent` as it happens
/// (event name = its type). A watcher too slow to keep up misses events, never blocks others.
async fn events(
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
        let name = match &ev {
            StationEvent::Job { .. } => "job",
            StationEvent::Printer(_) => "printer",
            StationEvent::Progress { .. } => "progress",
        };
        let mut v = serde_json::to_value(&ev).unwrap_or_else(|_| json!({}));
        crate::privacy::shown_to(role, &mut v);
        let data = v.to_string();
        Ok(SseEvent::default().event(name).data(data))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
