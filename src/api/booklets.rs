//! The blank booklets: the stock, receiving a batch, and the reconciliation.

use super::jobs::StateQuery;
use super::*;

pub(super) async fn booklets(
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
                code::INVALID_STATE,
                format!("unknown booklet state {s:?}; one of in-stock, loaded, issued, spoiled"),
            )
        })?),
    };
    let (batches, list) = st.booklets(state).await?;
    Ok(actor.shown(&wire::BookletList {
        batches: batches.into_iter().map(Into::into).collect(),
        booklets: list.into_iter().map(Into::into).collect(),
    }))
}

pub(super) async fn receive_batch(
    State(st): State<Arc<Station>>,
    actor: Actor,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    actor.may(COUNTER, "receive booklets")?;
    require_json(&headers)?;
    let b: wire::BatchBody = body_json(&headers, &body)?;
    let batch = st.receive_batch(b.first, b.last, &actor.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::BatchAnswer {
            batch: batch.into(),
        }),
    )
        .into_response())
}

pub(super) async fn reconcile(
    State(st): State<Arc<Station>>,
    actor: Actor,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(WATCHERS, "reconcile booklets")?;
    let rec = st.reconcile().await?;
    let balanced = rec.balanced();
    Ok(actor.shown(&wire::ReconcileAnswer {
        reconciliation: rec.into(),
        balanced,
    }))
}
