//! Who is asking and what they sent: the `Actor` extractor (bearer token or console
//! session), the roles each route admits, and the checks of ids, media types and JSON bodies.

use super::*;

/// Who is acting, and in which role: the user whose bearer token came with the request; in a lab
/// (`api.require_tokens = false`) the `X-Pstation-User` header (or `local`), as admin.
pub struct Actor {
    /// Recorded as the actor of what they do.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

impl Actor {
    /// An answer as this user may see it: passport numbers masked for a role that does not see
    /// personal data (`crate::privacy`).
    pub(super) fn shown<T: serde::Serialize>(&self, answer: &T) -> Json<serde_json::Value> {
        // Serialising the wire types (strings, numbers, lists) cannot fail.
        let mut v = serde_json::to_value(answer).unwrap_or_default();
        crate::privacy::shown_to(self.role, &mut v);
        Json(v)
    }

    /// Refuses (403, nothing said about roles) unless the actor is an admin or has one of
    /// `roles`. The refusal is logged with who and what, for the audit trail.
    pub(super) fn may(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            return Ok(());
        }
        tracing::warn!(user = %self.name, role = self.role.as_str(), what, "refused: role");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            "not allowed",
        ))
    }
}

/// Everyone who may read jobs.
pub(super) const READERS: &[Role] = &[
    Role::Central,
    Role::Operator,
    Role::Supervisor,
    Role::Technician,
];
/// Who may act on jobs and booklets at the counter.
pub(super) const COUNTER: &[Role] = &[Role::Operator, Role::Supervisor];
/// Who may watch the printer and the booklets.
pub(super) const WATCHERS: &[Role] = &[Role::Operator, Role::Supervisor, Role::Technician];

/// The user a bearer token in `header` belongs to.
pub(super) fn user_of<'a>(
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
pub(super) fn bearer_token(value: &str) -> Option<&str> {
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
                        code::INVALID_USER,
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
                    code::FORBIDDEN,
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
                        code::UNAUTHORIZED,
                        "a valid token is required",
                    ))
                }
            };
        }
        // Logged for the audit trail; the answer says nothing about why.
        tracing::warn!(method = %parts.method, path = %parts.uri.path(), "refused: no valid token");
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHORIZED,
            "a valid token is required",
        ))
    }
}

pub(super) fn check_id(id: &str) -> Result<(), ApiError> {
    if crate::central::auth::valid_name(id) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_ID,
            "a job id is 1-64 of A-Z a-z 0-9 . _ -",
        ))
    }
}

/// The request's media type, lower case, without parameters.
pub(super) fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

pub(super) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    if media_type(headers).as_deref() == Some("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::UNSUPPORTED_MEDIA_TYPE,
            "send the body as Content-Type: application/json",
        ))
    }
}

/// Parses an optional JSON body (empty means `{}`).
pub(super) fn body_json<T: for<'de> Deserialize<'de> + Default>(
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
            code::INVALID_BODY,
            format!("the request body is not the expected JSON: {e}"),
        )
    })
}
