//! The printer: its status and history, and the technician's requests (test page, identity,
//! read-only PJL commands) through the engine that owns the printer.

use super::*;

pub(super) async fn printer(
    State(st): State<Arc<Station>>,
    actor: Actor,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(WATCHERS, "printer status")?;
    let view = st.printer().borrow().clone();
    let history = st.printer_history(20).await?;
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
pub(super) const TECHNICIANS: &[Role] = &[Role::Technician];

pub(super) fn tech_error(e: &crate::station::technician::TechError) -> ApiError {
    use crate::station::technician::TechError;
    let status = match e {
        TechError::NotAllowed(_) => StatusCode::BAD_REQUEST,
        TechError::NotReady(_)
        | TechError::Busy
        | TechError::Command(_)
        | TechError::Render(_)
        | TechError::NotStarted(_)
        | TechError::OutcomeUnknown(_) => StatusCode::CONFLICT,
        TechError::Unreachable | TechError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError::new(status, e.code(), e.to_string())
}

/// `POST /api/printer/test-page`: the calibration page on one sheet, between jobs.
pub(super) async fn test_page(
    State(st): State<Arc<Station>>,
    actor: Actor,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(TECHNICIANS, "print a test page")?;
    match st
        .technician(crate::station::technician::Command::TestPage, &actor.name)
        .await
    {
        Ok(crate::station::technician::Answer::Printed { pages }) => {
            Ok(Json(json!({"outcome": "completed", "pages": pages})))
        }
        Ok(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL_ERROR,
            "unexpected answer",
        )),
        Err(e) => Err(tech_error(&e)),
    }
}

/// `POST /api/printer/identity`: the printer's identity and counters read again now (between
/// jobs), for the technician's page.
pub(super) async fn refresh_identity(
    State(st): State<Arc<Station>>,
    actor: Actor,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(WATCHERS, "read the printer's identity")?;
    match st
        .technician(crate::station::technician::Command::Identity, &actor.name)
        .await
    {
        Ok(crate::station::technician::Answer::Identity(id)) => Ok(Json(json!({"identity": id}))),
        Ok(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL_ERROR,
            "unexpected answer",
        )),
        Err(e) => Err(tech_error(&e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct PjlBody {
    command: String,
}

/// `POST /api/printer/pjl`: a read-only PJL command (`INFO STATUS`, `INQUIRE ...`), its answer.
pub(super) async fn pjl_command(
    State(st): State<Arc<Station>>,
    actor: Actor,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    actor.may(TECHNICIANS, "send a PJL command")?;
    let b: PjlBody = body_json(&headers, &body)?;
    let cmd = crate::station::technician::check_pjl(&b.command).map_err(|e| tech_error(&e))?;
    match st
        .technician(crate::station::technician::Command::Pjl(cmd), &actor.name)
        .await
    {
        Ok(crate::station::technician::Answer::Lines(lines)) => Ok(Json(json!({"lines": lines}))),
        Ok(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL_ERROR,
            "unexpected answer",
        )),
        Err(e) => Err(tech_error(&e)),
    }
}
