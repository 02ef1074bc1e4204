//! The API's errors: its own codes (each written once), the one JSON error shape, the
//! framework's refusals rewritten into it, and the station's errors mapped to HTTP statuses.

use super::*;

/// The codes the API answers with itself, each written once; the errors it passes on (the
/// store's, the signature's, the technician's) carry their own (`derive(Coded)`). All of them
/// are listed in `openapi.json` (`components.schemas.ErrorDetail.properties.code.enum`), which a test
/// checks.
pub mod code {
    macro_rules! codes {
        ($($name:ident = $code:literal,)*) => {
            $(
                #[doc = concat!("`", $code, "`")]
                pub const $name: &str = $code;
            )*
            /// Every code above.
            pub const CODES: &[&str] = &[$($code),*];
        };
    }
    codes! {
        HEADERS_TOO_LARGE = "headers-too-large",
        METHOD_NOT_ALLOWED = "method-not-allowed",
        BODY_TOO_LARGE = "body-too-large",
        UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type",
        BAD_REQUEST = "bad-request",
        INTERNAL_ERROR = "internal-error",
        INVALID_JOB = "invalid-job",
        SHUTTING_DOWN = "shutting-down",
        FORBIDDEN = "forbidden",
        INVALID_USER = "invalid-user",
        UNAUTHORIZED = "unauthorized",
        INVALID_ID = "invalid-id",
        INVALID_BODY = "invalid-body",
        INVALID_STATE = "invalid-state",
        MISSING_FIELD = "missing-field",
        SECOND_PERSON_REQUIRED = "second-person-required",
        UNKNOWN_ACTION = "unknown-action",
        NOT_FOUND = "not-found",
    }
}

/// The largest header block the API reads (names and values), and the most header lines.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// See `MAX_HEADER_BYTES`.
pub const MAX_HEADERS: usize = 100;

/// How much of a body declared too large is read and dropped before the refusal, at most.
const LINGER_BYTES: usize = 4 * super::MAX_BODY;
/// How long that reading may take, at most.
const LINGER: std::time::Duration = std::time::Duration::from_secs(10);

/// The one gate every request and answer passes: an oversized header block is refused (431)
/// before any handler runs, and an error answered by the framework itself rather than by an
/// `ApiError` (a 405 for a method a path does not have, a 413 for a body over `MAX_BODY`, a
/// 400 for a malformed query) is rewritten in the documented JSON shape, with a stable code,
/// and counted like every other.
pub(super) async fn errors_as_json(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if req.headers().len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            code::HEADERS_TOO_LARGE,
            format!(
                "the request's headers are {} lines, {bytes} bytes; at most {MAX_HEADERS} lines and {MAX_HEADER_BYTES} bytes are read",
                req.headers().len()
            ),
        )
        .into_response();
    }
    // A body declared over the limit is read to its end and dropped before the refusal (a
    // lingering close, bounded): a client still writing would otherwise see its connection
    // reset, not the answer. A body with no declared length is read up to the limit and refused.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > super::MAX_BODY as u64) {
        let mut body = req.into_body().into_data_stream();
        let mut drained = 0usize;
        let drain = async {
            while let Some(Ok(chunk)) = body.next().await {
                drained += chunk.len();
                if drained > LINGER_BYTES {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
        let mut resp = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::BODY_TOO_LARGE,
            format!("the request body is over {} bytes", super::MAX_BODY),
        )
        .into_response();
        resp.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return resp;
    }
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
            code::METHOD_NOT_ALLOWED,
            format!(
                "this path does not take this method; it takes {} (see /api/openapi.json)",
                allow
                    .as_ref()
                    .and_then(|a| a.to_str().ok())
                    .unwrap_or("other methods")
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            code::BODY_TOO_LARGE,
            format!("the request body is over {MAX_BODY} bytes"),
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            code::HEADERS_TOO_LARGE,
            "the request's headers are too large".to_owned(),
        ),
        StatusCode::NOT_FOUND => (
            code::NOT_FOUND,
            text.unwrap_or_else(|| "no such route".into()),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            code::UNSUPPORTED_MEDIA_TYPE,
            text.unwrap_or_else(|| "send application/json".into()),
        ),
        s if s.is_client_error() => (
            code::BAD_REQUEST,
            text.unwrap_or_else(|| s.canonical_reason().unwrap_or("bad request").to_owned()),
        ),
        s => (
            code::INTERNAL_ERROR,
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
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
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
        crate::station::metrics::API_ERRORS
            .get_or_create(&crate::station::metrics::CodeLabel { code: self.code })
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
        let status = match e.failure() {
            Failure::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Failure::NotFound => StatusCode::NOT_FOUND,
            Failure::Conflict => StatusCode::CONFLICT,
            Failure::Forbidden => StatusCode::FORBIDDEN,
            Failure::Gone => StatusCode::GONE,
            Failure::Full => StatusCode::INSUFFICIENT_STORAGE,
            Failure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Internal => {
                tracing::error!(error = %e, "store failure");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self {
            status,
            code: e.code(),
            message: e.message(),
            problems: e.problems(),
        }
    }
}

pub(super) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, code::NOT_FOUND, "no such route")
}
