//! The console's session: log in with a token, who is logged in, log out.

use super::*;

/// The session answer; `user` is null when nobody is logged in. The station's clock goes with
/// it so the console shows station-local times with their zone.
pub(super) fn session_answer(st: &Station, user: Option<&SessionUser>) -> wire::Session {
    let offset = st.options.settings.utc_offset;
    wire::Session {
        user: user.map(|u| wire::SessionUser {
            name: u.name.clone(),
            role: u.role.as_str().to_owned(),
        }),
        idle_timeout_s: st.sessions.idle().as_secs(),
        lab: !st.options.settings.api.require_tokens,
        utc_offset: crate::clock::offset_text(offset),
        zone: crate::clock::zone_name(offset),
    }
}

/// `POST /api/session`: the console's login with a user's token (typed or scanned). The
/// session id goes back only in an HttpOnly cookie; the login is in the event log.
pub(super) async fn login(
    State(st): State<Arc<Station>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: wire::LoginBody = body_json(&headers, &body)?;
    let user = match crate::central::auth::find(&st.options.settings.api.users, b.token.trim()) {
        Some(u) => SessionUser {
            name: u.name.clone(),
            role: u.role,
        },
        None => {
            tracing::warn!("refused: console login with an unknown token");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                code::UNAUTHORIZED,
                "a valid token is required",
            ));
        }
    };
    let id = st.sessions.start(user.clone()).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL_ERROR,
            format!("no random session id: {e}"),
        )
    })?;
    st.record_access(&user.name, "login").await?;
    tracing::info!(user = %user.name, role = user.role.as_str(), "console login");
    let mut resp = Json(session_answer(&st, Some(&user))).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&session::set_cookie(Some(&id))) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `GET /api/session`: who is logged in (the console asks at start). Asking is not an error:
/// nobody logged in is a 200 with `"user": null`.
pub(super) async fn session(
    State(st): State<Arc<Station>>,
    actor: Result<Actor, ApiError>,
) -> Result<Json<wire::Session>, ApiError> {
    match actor {
        Ok(actor) => Ok(Json(session_answer(
            &st,
            Some(&SessionUser {
                name: actor.name,
                role: actor.role,
            }),
        ))),
        Err(e) if e.status() == StatusCode::UNAUTHORIZED => Ok(Json(session_answer(&st, None))),
        Err(e) => Err(e),
    }
}

/// `DELETE /api/session`: logout; the cookie is removed and the session ends at once.
pub(super) async fn logout(
    State(st): State<Arc<Station>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(user) = session::cookie_value(&headers).and_then(|id| st.sessions.end(&id)) {
        st.record_access(&user.name, "logout").await?;
        tracing::info!(user = %user.name, "console logout");
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&session::set_cookie(None)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}
