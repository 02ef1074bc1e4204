//! The operator and technician console: three files (`assets/console/`) embedded in the binary
//! and served by the daemon itself — no CDN, no second web server. The page is public; every
//! piece of data it shows comes from the API behind a session (`station::session`).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

const INDEX: &str = include_str!("../../assets/console/index.html");
const SCRIPT: &str = include_str!("../../assets/console/console.js");
const STYLE: &str = include_str!("../../assets/console/console.css");
const ICON: &str = include_str!("../../assets/console/icon.svg");

/// What a browser may do with the console's pages: only this origin's scripts, styles, images
/// (the preview arrives as a blob) and API calls; no frames.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `/`: the console.
pub async fn root() -> Redirect {
    Redirect::to("/console/")
}

/// `/console/{file}`: the console's page, script and style.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "" | "index.html" => (INDEX, "text/html; charset=utf-8"),
        "console.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "console.css" => (STYLE, "text/css; charset=utf-8"),
        "icon.svg" => (ICON, "image/svg+xml"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// `/favicon.ico`: the console's icon (browsers ask for it on every visit; SVG is understood
/// whatever the name says).
pub async fn favicon() -> Response {
    asset(Path("icon.svg".to_owned())).await
}

/// `/console/`: the page itself.
pub async fn index() -> Response {
    asset(Path(String::new())).await
}
