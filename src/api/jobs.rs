//! The jobs: submit, list, show, the data page (PDF, preview, MRZ) for the counter, and the
//! operator's actions.

use super::*;

pub(super) async fn submit(
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
                code::UNSUPPORTED_MEDIA_TYPE,
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
        Submitted::Created(job) => Ok((
            StatusCode::CREATED,
            Json(wire::JobAnswer {
                job: job.into(),
                existing: false,
            }),
        )
            .into_response()),
        Submitted::Existing(job) => Ok((
            StatusCode::OK,
            Json(wire::JobAnswer {
                job: job.into(),
                existing: true,
            }),
        )
            .into_response()),
    }
}

/// `?state=` of the job and booklet lists.
#[derive(Deserialize)]
pub(super) struct StateQuery {
    pub(super) state: Option<String>,
}

pub(super) async fn list_jobs(
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
                code::INVALID_STATE,
                format!(
                    "unknown state {s:?}; one of {}",
                    JobState::ALL.map(JobState::as_str).join(", ")
                ),
            )
        })?),
    };
    let jobs = st.jobs(state).await?;
    Ok(actor.shown(&wire::JobList {
        jobs: jobs.into_iter().map(Into::into).collect(),
    }))
}

pub(super) async fn show_job(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(READERS, "show a job")?;
    check_id(&id)?;
    let d = st.job_detail(&id).await?;
    Ok(actor.shown(&wire::JobDetail {
        job: d.job.into(),
        events: d.events.into_iter().map(Into::into).collect(),
        attempts: d.attempts.into_iter().map(Into::into).collect(),
    }))
}

/// The job's data page as it prints (PDF), for the counter to check a booklet against. It
/// carries personal data: only the counter's roles may see it, each view is in the audit log,
/// and nothing of it is cached or kept. A purged job answers 410.
pub(super) async fn job_page(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let pdf = personal_data(&st, &actor, id, "view-page", |r, p, b| r.pdf(p, b)).await?;
    Ok(private(pdf, "application/pdf"))
}

/// The resolution of the console's preview (the printer's is 300 dpi).
pub(super) const PREVIEW_DPI: u32 = 150;

/// Something made from a job's personal data (`make`, on the blocking pool) for a counter
/// user; the view is recorded as `what` first.
pub(super) async fn personal_data<T, F>(
    st: &Station,
    actor: &Actor,
    id: String,
    what: &'static str,
    make: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(
            &crate::station::render::Renderer,
            &[u8],
            &str,
        ) -> Result<T, crate::station::render::RenderError>
        + Send
        + 'static,
{
    actor.may(COUNTER, what)?;
    check_id(&id)?;
    st.open_personal_data(&id, &actor.name, what, make)
        .await?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.code(), e.message()))
}

/// A body of personal data: never cached.
pub(super) fn private(body: Vec<u8>, kind: &'static str) -> Response {
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
pub(super) async fn job_preview(
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
pub(super) async fn job_mrz(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let lines = personal_data(&st, &actor, id, "view-mrz", |r, p, b| r.mrz(p, b)).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(wire::Lines {
            lines: lines.to_vec(),
        }),
    )
        .into_response())
}

/// The second authorised person of a dual-control action: with tokens required, the holder of
/// the supervisor's token (their name from it, not from the body); in a lab, the name given.
fn second_person(
    st: &Station,
    headers: &HeaderMap,
    named: Option<String>,
    actor: &str,
    id: &str,
    peer: std::net::SocketAddr,
    what: &str,
) -> Result<String, ApiError> {
    if st.options.settings.api.require_tokens {
        let Some(u) = user_of(st, headers, "x-pstation-supervisor-token")
            .filter(|u| matches!(u.role, Role::Supervisor | Role::Admin))
        else {
            tracing::warn!(code = code::SECOND_PERSON_REQUIRED, user = %actor, job = %id, peer = %peer, action = what, "refused: no supervisor's token");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                code::SECOND_PERSON_REQUIRED,
                format!("{what} needs a supervisor's token in X-Pstation-Supervisor-Token"),
            ));
        };
        Ok(u.name.clone())
    } else {
        named.ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                code::MISSING_FIELD,
                format!("{what} needs \"supervisor\" in the body"),
            )
        })
    }
}

/// Logs a dual-control action the store refused because one person approved it alone.
fn refused_second_person(e: &StationError, actor: &str, id: &str, peer: std::net::SocketAddr) {
    if let StationError::Store(StoreError::SecondPerson(_)) = e {
        tracing::warn!(
            code = code::SECOND_PERSON_REQUIRED,
            user = %actor,
            job = %id,
            peer = %peer,
            "refused: approved by the person asking for it"
        );
    }
}

pub(super) async fn job_action(
    State(st): State<Arc<Station>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path((id, action)): Path<(String, String)>,
    actor: Actor,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<wire::JobAnswer>, ApiError> {
    actor.may(COUNTER, "act on a job")?;
    check_id(&id)?;
    let b: wire::ActionBody = body_json(&headers, &body)?;
    let missing = |field: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code::MISSING_FIELD,
            format!("{action} needs \"{field}\" in the body"),
        )
    };
    let job = match action.as_str() {
        "hold" => st.act(&id, Action::Hold, &actor.name, b.reason).await?,
        "release" => st.act(&id, Action::Release, &actor.name, b.reason).await?,
        "cancel" => st.act(&id, Action::Cancel, &actor.name, b.reason).await?,
        // With a supervisor (a reader gates the booklet, or a person saw what it cannot): verify
        // by hand, with a reason.
        "verify"
            if b.supervisor.is_some() || headers.contains_key("x-pstation-supervisor-token") =>
        {
            let sup = second_person(
                &st,
                &headers,
                b.supervisor,
                &actor.name,
                &id,
                peer,
                "verifying by hand",
            )?;
            st.verify_by_hand(&id, &actor.name, sup, b.reason)
                .await
                .inspect_err(|e| refused_second_person(e, &actor.name, &id, peer))?
        }
        "verify" => st.act(&id, Action::Verify, &actor.name, b.reason).await?,
        "spoil" => st.act(&id, Action::Spoil, &actor.name, b.reason).await?,
        "request-reprint" => {
            st.act(&id, Action::RequestReprint, &actor.name, b.reason)
                .await?
        }
        "confirm-booklet" => {
            let n = b.booklet.ok_or_else(|| missing("booklet"))?;
            st.confirm_booklet(&id, n, &actor.name).await?
        }
        "reprint" => {
            let n = b.booklet.ok_or_else(|| missing("booklet"))?;
            let sup = second_person(
                &st,
                &headers,
                b.supervisor,
                &actor.name,
                &id,
                peer,
                "a reprint",
            )?;
            st.reprint(&id, n, &actor.name, sup, b.reason)
                .await
                .inspect_err(|e| refused_second_person(e, &actor.name, &id, peer))?
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                code::UNKNOWN_ACTION,
                "actions: hold, release, cancel, verify, spoil, confirm-booklet, reprint, request-reprint",
            ));
        }
    };
    Ok(Json(wire::JobAnswer {
        job: job.into(),
        existing: false,
    }))
}
