//! The e-passport chip in the API: a job's chip checks (each step, the Document Signer and CSCA
//! names), shown to every role that may read jobs, passport numbers masked as the role
//! requires.

use super::*;

pub(super) async fn job_chip(
    State(st): State<Arc<Station>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(READERS, "see a job's chip checks")?;
    check_id(&id)?;
    let mut checks = st.chip_checks(&id).await?;
    checks.reverse();
    Ok(actor.shown(&wire::ChipCheckList {
        configured: st.options.settings.chip.reader.is_some(),
        checks: checks.into_iter().map(Into::into).collect(),
    }))
}
