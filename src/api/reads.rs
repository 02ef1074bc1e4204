//! The document reader over HTTP: a job's reads beside what was printed (personal data:
//! counter roles, each view recorded), and the lines a keyboard-wedge reader types into the
//! console, read as any reader's.

use super::jobs::personal_data;
use super::*;

/// The most lines a typed read may have, and the longest line.
const MAX_LINES: usize = 3;
const MAX_LINE: usize = 64;

pub(super) async fn job_reads(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let expected =
        personal_data(&st, &actor, id.clone(), "view-reads", |r, p, b| r.mrz(p, b)).await?;
    let reads = st.reads(&id, 20).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(wire::ReadList {
            expected: expected.to_vec(),
            reads: reads.into_iter().map(Into::into).collect(),
        }),
    )
        .into_response())
}

pub(super) async fn typed_read(
    State(st): State<Arc<Station>>,
    actor: Actor,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<wire::ReadAnswer>, ApiError> {
    actor.may(COUNTER, "type a read")?;
    let b: wire::ReadBody = body_json(&headers, &body)?;
    if b.lines.is_empty()
        || b.lines.len() > MAX_LINES
        || b.lines.iter().any(|l| l.chars().count() > MAX_LINE)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_BODY,
            format!("\"lines\": one to {MAX_LINES} MRZ lines of at most {MAX_LINE} characters"),
        ));
    }
    let done = st.typed_read(&b.lines, &actor.name).await?;
    Ok(Json(wire::ReadAnswer {
        result: done.result.to_owned(),
        job: done.job.map(Into::into),
    }))
}
