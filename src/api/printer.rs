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
    let c = st.options.settings.render.calibration;
    let uri = &st.options.settings.daemon.device;
    let registry = crate::printer::registry();
    // Passport numbers in what the readers say (a chip check's message) are masked for a role
    // that does not see them.
    Ok(actor.shown(&wire::PrinterAnswer {
        printer: (&view).into(),
        family: registry
            .family(uri.scheme())
            .map_or("unknown", |f| f.name())
            .to_owned(),
        console: registry.console(uri).map(|c| c.language.to_owned()),
        identity: st.identity().map(Into::into),
        reader: (&st.reader()).into(),
        chip: (&st.chip_view()).into(),
        history: history
            .into_iter()
            .map(|(at, state, reasons, link)| wire::PrinterRecord {
                at,
                state,
                reasons,
                link,
            })
            .collect(),
        calibration: wire::Calibration {
            offset_x_mm: c.offset_x_mm,
            offset_y_mm: c.offset_y_mm,
        },
    }))
}

/// Who may send requests to the printer itself.
pub(super) const TECHNICIANS: &[Role] = &[Role::Technician];

pub(super) fn tech_error(e: &crate::station::technician::TechError) -> ApiError {
    use crate::station::technician::TechError;
    let status = match e {
        TechError::NotAllowed(_) => StatusCode::BAD_REQUEST,
        TechError::NotReady(_)
        | TechError::NoConsole(_)
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
) -> Result<Json<wire::TestPageAnswer>, ApiError> {
    actor.may(TECHNICIANS, "print a test page")?;
    match st
        .technician(crate::station::technician::Command::TestPage, &actor.name)
        .await
    {
        Ok(crate::station::technician::Answer::Printed { pages }) => {
            Ok(Json(wire::TestPageAnswer {
                outcome: "completed".to_owned(),
                pages,
            }))
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
) -> Result<Json<wire::IdentityAnswer>, ApiError> {
    actor.may(WATCHERS, "read the printer's identity")?;
    match st
        .technician(crate::station::technician::Command::Identity, &actor.name)
        .await
    {
        Ok(crate::station::technician::Answer::Identity(id)) => Ok(Json(wire::IdentityAnswer {
            identity: id.into(),
        })),
        Ok(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL_ERROR,
            "unexpected answer",
        )),
        Err(e) => Err(tech_error(&e)),
    }
}

/// `POST /api/printer/pjl`: a read-only command on the printer family's raw console (PJL:
/// `INFO STATUS`, `INQUIRE ...`), its answer; `no-console` for a family without one.
pub(super) async fn console_command(
    State(st): State<Arc<Station>>,
    actor: Actor,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<wire::Lines>, ApiError> {
    actor.may(TECHNICIANS, "send a PJL command")?;
    let b: wire::PjlBody = body_json(&headers, &body)?;
    let cmd =
        crate::station::technician::check_console(&st, &b.command).map_err(|e| tech_error(&e))?;
    match st
        .technician(
            crate::station::technician::Command::Console(cmd),
            &actor.name,
        )
        .await
    {
        Ok(crate::station::technician::Answer::Lines(lines)) => Ok(Json(wire::Lines { lines })),
        Ok(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL_ERROR,
            "unexpected answer",
        )),
        Err(e) => Err(tech_error(&e)),
    }
}
