//! A technician's requests to the printer while the daemon owns it: the calibration test page,
//! the identity, and read-only commands on the raw console of families that have one (PJL
//! `INFO`, `INQUIRE`, `DINQUIRE`). The API queues a request; the engine — the printer's one
//! owner — runs it between jobs and answers.

use std::time::Duration;

use tokio::sync::oneshot;

use super::Station;
use super::render::RenderError;
use crate::printer::{PrintOutcome, PrinterDriver};

/// What a technician asks of the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the calibration page (rulers, zones, the offset in force) on one sheet.
    TestPage,
    /// A read-only command on the family's raw console, already checked by `check_console`.
    Console(String),
    /// Read the printer's identity and counters again.
    Identity,
}

impl Command {
    /// Whether it needs the printer ready (a test page waits for a warm-up to end; a question
    /// is asked at once).
    pub fn needs_ready(&self) -> bool {
        matches!(self, Self::TestPage)
    }
}

/// The printer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The test page came out, confirmed by the printer.
    Printed {
        /// Sheets confirmed.
        pages: u32,
    },
    /// What the printer answered, line by line as it sent them.
    Lines(Vec<String>),
    /// The printer's identity and counters, read just now.
    Identity(crate::printer::Identity),
}

/// Why a request was not done. Each has a stable code (`code`).
#[derive(Debug, thiserror::Error, pstation_coded::Coded)]
pub enum TechError {
    /// The console takes read-only commands only.
    #[error(
        "pjl-not-allowed: {0} — the console sends read-only commands only (PJL: INFO, INQUIRE and DINQUIRE); for anything else stop the daemon and use `pstation diag console`"
    )]
    NotAllowed(String),
    /// The printer's family has no raw command console.
    #[error(
        "no-console: printers of the {0} family have no raw command console — use the test page, the identity and `pstation diag status` instead"
    )]
    NoConsole(&'static str),
    /// The printer is not ready (a fault, or printing a job that will not end soon).
    #[error("printer-not-ready: {0} — clear the printer's fault and try again")]
    NotReady(String),
    /// The daemon has no link to the printer.
    #[error("printer-unreachable: the printer is not connected — check its cable and power")]
    Unreachable,
    /// The printer did not answer the command.
    #[error("printer-command: {0}")]
    Command(String),
    /// The test page could not be made.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The test page was not started: nothing was sent.
    #[error("not-started: {0} (nothing was sent)")]
    NotStarted(String),
    /// Whether the test page came out is not known.
    #[error("outcome-unknown: {0} — look at the printer")]
    OutcomeUnknown(String),
    /// Another request is waiting.
    #[error("printer-busy: another technician request is waiting — try again in a moment")]
    Busy,
    /// The daemon is stopping.
    #[error("shutting-down: the station is stopping")]
    ShuttingDown,
}

/// A request waiting for the engine.
pub struct Request {
    /// What to do.
    pub command: Command,
    /// Who asked (for the event log).
    pub actor: String,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Result<Answer, TechError>>,
}

/// The most a request waits for the engine (a job printing now is finished first).
pub const WAIT: Duration = Duration::from_secs(180);

/// Checks a console line for the configured printer's family: its raw console's read-only
/// commands only. Returns the command as it will be sent.
pub fn check_console(station: &Station, line: &str) -> Result<String, TechError> {
    let uri = &station.options.settings.daemon.device;
    let registry = crate::printer::registry();
    let Some(console) = registry.console(uri) else {
        let family = registry
            .family(uri.scheme())
            .map_or("unknown", |f| f.name());
        return Err(TechError::NoConsole(family));
    };
    (console.read_only)(line).map_err(TechError::NotAllowed)
}

/// Runs `req` on the open printer (`ready`: its last status allows printing).
pub(super) async fn serve(
    station: &Station,
    driver: &mut dyn PrinterDriver,
    ready: bool,
    req: Request,
) {
    let answer = match &req.command {
        Command::Console(cmd) => match driver.console() {
            Some(console) => {
                tracing::info!(user = %req.actor, command = %cmd, language = console.language(), "technician's console command");
                console
                    .command(cmd)
                    .await
                    .map(Answer::Lines)
                    .map_err(|e| TechError::Command(e.to_string()))
            }
            None => Err(TechError::NoConsole(driver.family())),
        },
        Command::Identity => match driver.identity().await {
            Ok(id) => {
                station.set_identity(Some(id.clone()));
                Ok(Answer::Identity(id))
            }
            Err(e) => Err(TechError::Command(e.to_string())),
        },
        Command::TestPage if !ready => Err(TechError::NotReady(
            crate::printer::reasons::describe_with_keywords(&station.printer.borrow().reasons),
        )),
        Command::TestPage => test_page(station, driver, &req.actor).await,
    };
    let _ = req.reply.send(answer);
}

async fn test_page(
    station: &Station,
    driver: &mut dyn PrinterDriver,
    actor: &str,
) -> Result<Answer, TechError> {
    let renderer = station.renderer.clone();
    let dpi = driver.capabilities().bitmap_dpi();
    let page = tokio::task::spawn_blocking(move || renderer.calibration(dpi))
        .await
        .map_err(|_| TechError::ShuttingDown)?
        .map_err(TechError::Render)?;
    let name = format!(
        "TEST-PAGE-{}",
        time::OffsetDateTime::now_utc().unix_timestamp()
    );
    tracing::info!(user = %actor, job = %name, "technician's test page");
    let cancel = tokio_util::sync::CancellationToken::new();
    let outcome = driver
        .print(page.job(&name, "", ""), &cancel, Box::new(|_| {}))
        .await;
    let (result, what) = match outcome {
        PrintOutcome::Confirmed { pages } => (Ok(Answer::Printed { pages }), "test-page"),
        PrintOutcome::FailedBeforeStart { reason } => {
            (Err(TechError::NotStarted(reason)), "test-page-not-started")
        }
        PrintOutcome::Unknown { reason } => {
            (Err(TechError::OutcomeUnknown(reason)), "test-page-unknown")
        }
        PrintOutcome::CanceledAtDevice | PrintOutcome::CanceledByHost => (
            Err(TechError::OutcomeUnknown(
                "the test page was cancelled".to_owned(),
            )),
            "test-page-unknown",
        ),
    };
    let actor = actor.to_owned();
    let _ = station
        .db(move |s| s.record_access(None, &actor, what))
        .await;
    result
}
