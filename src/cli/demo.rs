//! `pstation demo`: the main job on the embedded defaults, end to end. It starts the station
//! daemon (store, print engine, HTTP API) on a fresh data folder with the simulated passport
//! printer and the simulated MRZ document reader on pseudo-terminals and a chip reader (the
//! station's vpcd port, where a test central office's virtual e-passports are laid), then plays
//! the counter operator over the HTTP API: receives booklet stock, submits the sample jobs
//! (some are refused, and it shows why), lays each booklet on the chip reader, confirms its
//! number and follows the printing live; each chip is checked before its page prints, and the
//! reader reads each printed page (its own OCR-B reading of the printer's bitmap) before
//! handover. One booklet's chip is another person's: caught, nothing printed. One page is
//! smudged: the reader catches it, the demo shows the differing position and spoils it. Both
//! go back to the central office as reprint requests, and its new signed jobs print on fresh
//! booklets. It reconciles the stock and names the folders holding the PDFs and the printer's
//! page PNGs; exit 0 only if every accepted application ended in a completed passport.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::client::ClientArgs;
use super::sim_reader::{Control, Fault};
use crate::api::wire;
use crate::chip::issuer::ChipFault;
use crate::client::{Client, ClientError, Credentials};
use crate::config::Settings;
use crate::job::{self, ValidateOptions};
use crate::mrz;
use crate::printer::DriverSettings;
use crate::store::JobState;

/// `pstation demo` arguments.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Judge the policy as on this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE", value_parser = super::parse_date)]
    pub today: Option<time::Date>,
    /// Where the data pages of accepted jobs are written.
    #[arg(long, value_name = "DIR", default_value = "pstation-demo")]
    pub out_dir: std::path::PathBuf,
}

/// The key id of the demo's own central office key.
const DEMO_KID: &str = "demo-central";

/// Booklet stock the demo receives: four boxes of 100 around the sample jobs' numbers.
const STOCK: &[(&str, &str)] = &[
    ("X1234500", "X1234599"),
    ("X1357900", "X1357999"),
    ("X2468000", "X2468099"),
    ("X7654300", "X7654399"),
];

/// The sample jobs (synthetic people; see `fixtures/README.md`).
const SAMPLES: &[(&str, &str)] = &[
    (
        "santoso-budi",
        include_str!("../../fixtures/jobs/valid/santoso-budi.json"),
    ),
    (
        "partini",
        include_str!("../../fixtures/jobs/valid/partini.json"),
    ),
    (
        "lestari-putri-ayu-minor",
        include_str!("../../fixtures/jobs/valid/lestari-putri-ayu-minor.json"),
    ),
    (
        "prawirodirjo-long-name",
        include_str!("../../fixtures/jobs/valid/prawirodirjo-long-name.json"),
    ),
    (
        "nuraini-punctuation",
        include_str!("../../fixtures/jobs/policy/nuraini-punctuation.json"),
    ),
    (
        "ten-years-for-a-minor",
        include_str!("../../fixtures/jobs/policy/ten-years-for-a-minor.json"),
    ),
    (
        "many-problems",
        include_str!("../../fixtures/jobs/invalid/many-problems.json"),
    ),
];

pub(super) fn run(
    today: Option<time::Date>,
    out_dir: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<super::Exit> {
    let mut settings = match Settings::default_settings() {
        Ok(s) => s,
        Err(e) => {
            writeln!(
                err,
                "$: internal-error: the embedded configuration is invalid: {e}"
            )?;
            return Ok(super::Exit::Internal);
        }
    };
    let station_dir = out_dir.join("station");
    let pages_dir = out_dir.join("printer");
    // A fresh demo: the previous run's store and pages go.
    for dir in [&station_dir, &pages_dir, &out_dir.join("pages")] {
        if dir.exists()
            && let Err(e) = std::fs::remove_dir_all(dir)
        {
            writeln!(
                err,
                "{}: io: cannot clear the previous demo: {e}",
                dir.display()
            )?;
            return Ok(super::Exit::InvalidInput);
        }
    }
    if let Err(e) = std::fs::create_dir_all(&pages_dir) {
        writeln!(
            err,
            "{}: io: cannot create the output folder: {e}",
            pages_dir.display()
        )?;
        return Ok(super::Exit::InvalidInput);
    }
    let Some(runtime) = super::runtime(err)? else {
        return Ok(super::Exit::Internal);
    };

    // The simulated passport printer on a pseudo-terminal, paced like a 115200-baud line.
    let sim = runtime.block_on(start_simulated_printer(&pages_dir));
    let (pty, _sim_guard) = match sim {
        Ok(v) => v,
        Err(e) => {
            writeln!(
                err,
                "demo: sim-failed: cannot start the simulated printer: {e}"
            )?;
            return Ok(super::Exit::Internal);
        }
    };
    // The simulated document reader beside it: it reads each page the printer prints, with its
    // own OCR-B reader, and sends the lines as a DESKO (IATA CUTE) reader does.
    let reader_link = out_dir.join("reader");
    let reader = runtime.block_on(start_simulated_reader(&pages_dir, &reader_link));
    let reader = match reader {
        Ok(v) => v,
        Err(e) => {
            writeln!(
                err,
                "demo: sim-failed: cannot start the simulated document reader: {e}"
            )?;
            return Ok(super::Exit::Internal);
        }
    };
    settings.reader.device = Some(crate::reader::ReaderUri {
        path: reader_link,
        baud: 9_600,
        framing: crate::reader::Framing::CUTE,
    });
    settings.daemon.data_dir = station_dir.clone();
    // The chip reader: the station's own vpcd port, where the test central office's virtual
    // e-passports are laid; the office's CSCA is the one Passive Authentication trusts.
    let office = match crate::chip::issuer::TestOffice::new() {
        Ok(o) => o,
        Err(e) => {
            writeln!(err, "demo: internal-error: {e}")?;
            return Ok(super::Exit::Internal);
        }
    };
    let csca_file = out_dir.join("csca.pem");
    if let Err(e) = office
        .csca_pem()
        .map_err(|e| e.to_string())
        .and_then(|pem| std::fs::write(&csca_file, pem).map_err(|e| e.to_string()))
    {
        writeln!(err, "{}: io: {e}", csca_file.display())?;
        return Ok(super::Exit::InvalidInput);
    }
    settings.chip = crate::chip::ChipSettings {
        reader: Some(crate::chip::ChipReader::Vpcd(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            0,
        )))),
        cscas: vec![office.csca.certificate.clone()],
        csca_files: vec![csca_file],
        ..Default::default()
    };
    // The store key, made for this run beside (not inside) the data folder, as on a station.
    let key_file = out_dir.join("store.key");
    if let Err(e) = std::fs::remove_file(&key_file)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        writeln!(
            err,
            "{}: io: cannot clear the previous demo's key: {e}",
            key_file.display()
        )?;
        return Ok(super::Exit::InvalidInput);
    }
    if let Err(e) = crate::store::StoreKey::generate(&key_file) {
        writeln!(err, "demo: {e}")?;
        return Ok(super::Exit::Internal);
    }
    settings.daemon.key_file = key_file;
    settings.daemon.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    settings.daemon.require_booklet_confirmation = true;
    // The demo plays the central office too: a key made for this run signs every job, and the
    // station accepts only jobs signed by it (as in production, with the office's real keys).
    let central_key = match crate::central::jws::generate_key() {
        Ok(k) => k,
        Err(e) => {
            writeln!(err, "demo: internal-error: {e}")?;
            return Ok(super::Exit::Internal);
        }
    };
    settings.central.require_signed_jobs = true;
    // And its API users: the central office submits, an operator works the counter; each with
    // a token made for this run (the station keeps their SHA-256 only).
    let (central_token, operator_token) = match (
        crate::central::auth::new_token(),
        crate::central::auth::new_token(),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            writeln!(err, "demo: internal-error: {e}")?;
            return Ok(super::Exit::Internal);
        }
    };
    settings.api.require_tokens = true;
    settings.api.users = vec![
        crate::central::auth::User {
            name: "central-office".to_owned(),
            role: crate::central::auth::Role::Central,
            token_sha256: crate::central::auth::hash_token(&central_token),
        },
        crate::central::auth::User {
            name: "demo-operator".to_owned(),
            role: crate::central::auth::Role::Operator,
            token_sha256: crate::central::auth::hash_token(&operator_token),
        },
    ];
    settings.central.keys = crate::central::jws::Keyring::default();
    if let Err(e) = settings
        .central
        .keys
        .insert(DEMO_KID, central_key.verifying_key())
    {
        writeln!(err, "demo: internal-error: {e}")?;
        return Ok(super::Exit::Internal);
    }
    settings.daemon.device =
        match crate::printer::parse_uri(&format!("serial://{pty}?baud=115200&flow=none")) {
            Ok(u) => u,
            Err(e) => {
                writeln!(err, "demo: internal-error: {e}")?;
                return Ok(super::Exit::Internal);
            }
        };
    let running = match runtime.block_on(super::daemon::start(
        settings.clone(),
        DriverSettings::DEFAULT,
        today,
    )) {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(super::Exit::Internal);
        }
    };
    let url = format!("http://{}", running.addr);
    let chip_reader = running.station.chip_view().reader.unwrap_or_default();
    let Some(chip_addr) = chip_reader
        .strip_prefix("vpcd://")
        .and_then(|a| a.parse().ok())
    else {
        writeln!(
            err,
            "demo: sim-failed: the chip reader's port did not open ({chip_reader})"
        )?;
        running.shutdown.cancel();
        return Ok(super::Exit::Internal);
    };
    let mut chips = super::demo_chip::Chips::new(office, chip_addr);
    writeln!(out, "pstation demo")?;
    writeln!(
        out,
        "  station daemon: {url} (data in {})",
        station_dir.display()
    )?;
    writeln!(
        out,
        "  simulated passport printer on {pty} (pages in {})",
        pages_dir.display()
    )?;
    writeln!(
        out,
        "  simulated MRZ document reader (CUTE framing) on {}, reading each printed page",
        reader.pty
    )?;
    writeln!(
        out,
        "  chip reader {chip_reader}: each booklet's e-passport chip (personalised by a test central office) is checked before its page prints"
    )?;
    writeln!(out)?;

    // Live events, as an operator's screen would show them.
    let (tx, live) = mpsc::channel::<String>();
    follow_events(&url, &operator_token, tx);
    let c = ClientArgs {
        url: url.clone(),
        user: None,
        token: Some(operator_token),
        supervisor_token: None,
        json: false,
    };
    let central = ClientArgs {
        token: Some(central_token),
        ..c.clone()
    };
    let data_pages = out_dir.join("pages");
    let result = operate(
        (&c, &central, &data_pages, &reader.controls, &mut chips),
        &settings,
        &central_key,
        today,
        &live,
        out,
        err,
    );
    running.shutdown.cancel();
    runtime.block_on(async {
        let _ = running.engine.await;
        let _ = running.server.await;
    });
    runtime.shutdown_background();
    let (accepted, completed) = match result? {
        Ok(counts) => counts,
        Err(exit) => return Ok(exit),
    };
    writeln!(out)?;
    writeln!(
        out,
        "Data pages (PDF, as the operator checked them; synthetic people): {}",
        data_pages.display()
    )?;
    writeln!(
        out,
        "Printed pages (PNG) and the printer's job log: {}",
        pages_dir.display()
    )?;
    Ok(if accepted > 0 && completed == accepted {
        super::Exit::Ok
    } else {
        super::Exit::Device
    })
}

/// The operator's part. Returns (accepted, completed) or the exit to give.
/// Plays the central office (submits with `central`) and the operator (everything else, `c`),
/// who saves each data page they check in `data_pages`.
fn operate(
    (c, central, data_pages, reader, chips): (
        &ClientArgs,
        &ClientArgs,
        &Path,
        &tokio::sync::mpsc::Sender<Control>,
        &mut super::demo_chip::Chips,
    ),
    settings: &Settings,
    central_key: &ed25519_dalek::SigningKey,
    today: Option<time::Date>,
    live: &mpsc::Receiver<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Result<(usize, usize), super::Exit>> {
    let (api, central_api) = (c.client(), central.client());
    // Refusals are part of the story; anything else ends the demo with its exit code.
    macro_rules! answer {
        ($call:expr) => {
            match $call {
                Ok(v) => Ok(v),
                Err(ClientError::Refused { error, .. }) => Err(error),
                Err(e) => return Ok(Err(super::client::failed(e, err)?)),
            }
        };
    }
    writeln!(out, "1. Booklet stock received:")?;
    for (first, last) in STOCK {
        match answer!(api.receive_batch(first, last)) {
            Ok(v) => writeln!(
                out,
                "   batch {}: {first}..{last} ({} booklets)",
                v.batch.batch_id, v.batch.count
            )?,
            Err(e) => writeln!(out, "   {first}..{last}: refused: {}", e.message)?,
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "2. Jobs from the central office ({} samples, judged on {}):",
        SAMPLES.len(),
        today.map_or_else(|| "today".to_owned(), |d| d.to_string())
    )?;
    let mut accepted = Vec::new();
    let mut refused = 0;
    for (name, text) in SAMPLES {
        // Signed as the central office signs: a JWS over the exact job bytes, valid a day.
        let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 86_400;
        let signed = crate::central::jws::sign(text.as_bytes(), central_key, DEMO_KID, exp);
        match answer!(central_api.submit(signed.as_bytes())) {
            Ok(v) => {
                let id = v.job.job_id.clone();
                writeln!(out, "   {name} ({id}): ACCEPTED, {}", v.job.state.as_str())?;
                // What will be printed: the MRZ, computed here the way the station does.
                if let Ok(job) = job::parse_job(
                    text.as_bytes(),
                    &ValidateOptions {
                        require_portrait: true,
                    },
                ) && let Ok(td3) = mrz::generate(&job.td3_input(), &settings.mrz)
                {
                    writeln!(out, "      {}", td3.line1)?;
                    writeln!(out, "      {}", td3.line2)?;
                    accepted.push((id, job.document.number.clone(), *text));
                }
            }
            Err(e) => {
                refused += 1;
                let problems = e.problems.unwrap_or_default();
                writeln!(out, "   {name}: REFUSED ({} problems)", problems.len())?;
                for p in problems {
                    writeln!(out, "      {}: {}: {}", p.path, p.code, p.message)?;
                }
            }
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "3. The operator loads each booklet and confirms its number; the station prints:"
    )?;
    let mut completed = 0;
    let mut used: Vec<String> = accepted.iter().map(|(_, n, _)| n.clone()).collect();
    for (n, (id, number, text)) in accepted.iter().enumerate() {
        // The second booklet's chip was personalised for another person: the chip check
        // must catch it before anything prints. The third comes out smudged across its date
        // of birth: the document reader must catch it.
        let fault = (n == 1).then_some(ChipFault::OtherPerson);
        let smudged = n == 2;
        if let Err(e) = chips.lay(text.as_bytes(), number, &settings.mrz, fault) {
            writeln!(out, "   {id}: the virtual chip could not be made: {e}")?;
            continue;
        }
        if smudged {
            let _ = reader.blocking_send(Control::Fault(Fault::Smudge(SMUDGE_AT)));
        }
        let confirm = wire::ActionBody {
            booklet: Some(number.clone()),
            ..Default::default()
        };
        match answer!(api.act(id, "confirm-booklet", &confirm)) {
            Ok(_) => writeln!(out, "   {id}: booklet confirmed")?,
            Err(e) => writeln!(out, "   {id}: confirmation refused: {}", e.message)?,
        }
        let state = settled(&api, id, live, out)?;
        chips.take_off();
        if smudged {
            let _ = reader.blocking_send(Control::Clear);
        }
        // The operator's copy of the data page (the station keeps none on disk).
        if std::fs::create_dir_all(data_pages).is_ok() {
            let mut quiet = Vec::new();
            super::client::page(
                c,
                id,
                &data_pages.join(format!("{id}.pdf")),
                &mut quiet,
                err,
            )?;
        }
        let reason = match state {
            Some(JobState::Completed) => {
                completed += 1;
                writeln!(
                    out,
                    "   {id}: chip checked, printed (confirmed by the printer), read back by the document reader: COMPLETED"
                )?;
                continue;
            }
            Some(JobState::Held) => {
                // The chip check refused the booklet: nothing printed, the booklet blank.
                let why = api
                    .job(id)
                    .ok()
                    .and_then(|d| d.job.reason)
                    .unwrap_or_default();
                let code = why.split(':').next().unwrap_or_default().to_owned();
                writeln!(
                    out,
                    "   {id}: the booklet's chip check FAILED ({code}): NOT printed, booklet {number} kept blank"
                )?;
                super::demo_chip::show_check(&api, id, out)?;
                "the booklet's chip was personalised for another person"
            }
            Some(JobState::NeedsVerification) => {
                // The reader read something else than was printed: shown, never handed over.
                super::demo_chip::show_read(&api, id, out)?;
                let reason = "the document reader caught a smudged MRZ";
                let spoil = wire::ActionBody {
                    reason: Some(reason.to_owned()),
                    ..Default::default()
                };
                if let Err(e) = answer!(api.act(id, "spoil", &spoil)) {
                    writeln!(out, "   {id}: spoil refused: {}", e.message)?;
                    continue;
                }
                reason
            }
            other => {
                writeln!(
                    out,
                    "   {id}: NOT printed ({}) — see `pstation job show {id}`",
                    other.map_or("unknown", JobState::as_str)
                )?;
                continue;
            }
        };
        // An e-passport is not reprinted at the counter (another booklet's chip holds another
        // number): the station asks the central office, which sends a new signed job.
        let request = wire::ActionBody {
            reason: Some(reason.to_owned()),
            ..Default::default()
        };
        if let Err(e) = answer!(api.act(id, "request-reprint", &request)) {
            writeln!(out, "   {id}: reprint request refused: {}", e.message)?;
            continue;
        }
        let fresh = match answer!(api.booklets(Some("in-stock"))) {
            Ok(list) => list
                .booklets
                .into_iter()
                .map(|b| b.number)
                .find(|b| !used.contains(b)),
            Err(_) => None,
        };
        let Some(fresh) = fresh else {
            writeln!(out, "   {id}: no booklet in stock for the reprint")?;
            continue;
        };
        used.push(fresh.clone());
        let new_id = format!("{id}-R1");
        let (new_id, new_text) = match super::demo_chip::reissue(
            &central_api,
            central_key,
            DEMO_KID,
            text,
            &new_id,
            &fresh,
        ) {
            Ok(v) => v,
            Err(e) => return Ok(Err(super::client::failed(e, err)?)),
        };
        writeln!(
            out,
            "   {id}: reprint requested ({reason}); the central office sent {new_id} on booklet {fresh}"
        )?;
        if let Err(e) = chips.lay(&new_text, &fresh, &settings.mrz, None) {
            writeln!(out, "   {new_id}: the virtual chip could not be made: {e}")?;
            continue;
        }
        let confirm = wire::ActionBody {
            booklet: Some(fresh.clone()),
            ..Default::default()
        };
        if let Err(e) = answer!(api.act(&new_id, "confirm-booklet", &confirm)) {
            writeln!(out, "   {new_id}: confirmation refused: {}", e.message)?;
        }
        let state = settled(&api, &new_id, live, out)?;
        chips.take_off();
        if state == Some(JobState::Completed) {
            completed += 1;
            writeln!(
                out,
                "   {new_id}: chip checked, printed on {fresh}, read back by the document reader: COMPLETED"
            )?;
        } else {
            writeln!(
                out,
                "   {new_id}: the reprint did not complete — see `pstation job show {new_id}`"
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "4. Booklet reconciliation:")?;
    if let Ok(v) = answer!(api.reconcile()) {
        let r = &v.reconciliation;
        writeln!(
            out,
            "   received {} = issued {} + spoiled {} + in stock {}: {}",
            r.received,
            r.issued,
            r.spoiled,
            r.in_stock,
            if v.balanced {
                "balanced"
            } else {
                "NOT balanced"
            }
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} accepted, {refused} refused, {completed} printed and completed.",
        accepted.len()
    )?;
    Ok(Ok((accepted.len(), completed)))
}

/// Follows the daemon's event stream on a thread, sending one line per event.
fn follow_events(url: &str, token: &str, tx: mpsc::Sender<String>) {
    let client = Client::new(url, Credentials::token(token));
    let _ = std::thread::Builder::new()
        .name("demo-events".into())
        .spawn(move || {
            let _ = client.events(|notice| {
                let text = match notice {
                    wire::Notice::Job {
                        job_id,
                        state,
                        reason,
                    } => format!(
                        "[job] {job_id} → {}{}",
                        state.as_str(),
                        reason.map(|r| format!(" ({r})")).unwrap_or_default()
                    ),
                    wire::Notice::Printer(p) => format!(
                        "[printer] {}{}",
                        p.state,
                        if p.reasons.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", p.reasons.join(", "))
                        }
                    ),
                    wire::Notice::Progress {
                        job_id, sheets, of, ..
                    } => format!("[printer] sheet {sheets} of {of} out for {job_id}"),
                    wire::Notice::Reader(r) => format!(
                        "[reader] {}{}",
                        r.state,
                        r.last
                            .map(|l| format!(": last read {}", l.result))
                            .unwrap_or_default()
                    ),
                    wire::Notice::Chip(ch) => format!(
                        "[chip] {}{}",
                        ch.state,
                        ch.last
                            .map(|l| format!(": {} checked {}", l.job_id, l.result))
                            .unwrap_or_default()
                    ),
                };
                tx.send(text).is_ok()
            });
        });
}

/// Starts the simulator on a PTY; returns the slave path and what keeps it alive.
async fn start_simulated_printer(pages: &Path) -> Result<(String, SimGuard), String> {
    use tokio_serial::SerialPort;
    let (master, slave) = tokio_serial::SerialStream::pair().map_err(|e| e.to_string())?;
    let path = slave.name().ok_or("the PTY has no name")?;
    let sim = pstation_sim::Printer::new(pstation_sim::SimOptions {
        printer: pstation_pjl::sim::SimConfig {
            model: "PSTATION SIMULATED PASSPORT PRINTER".to_owned(),
            warm_up_ms: 1_500,
            page_ms: 2_000,
            hopper: 50,
            page_count: 0,
            io_timeout_ms: 15_000,
        },
        baud: 115_200,
        out_dir: Some(pages.to_path_buf()),
    });
    let task = tokio::spawn(async move {
        let _ = pstation_sim::serve(sim, master, pstation_sim::no_control()).await;
    });
    Ok((
        path,
        SimGuard {
            _slave: slave,
            task,
        },
    ))
}

/// Keeps the simulator's PTY open and stops the simulator when dropped.
struct SimGuard {
    _slave: tokio_serial::SerialStream,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SimGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where the demo smudges the third booklet's MRZ: line 2, position 20 (its date of birth).
const SMUDGE_AT: usize = 20;

/// Waits until job `id` settles — read back and completed, parked, failed or cancelled — showing
/// the live events meanwhile; its state then (`None`: it did not settle in three minutes).
fn settled(
    api: &Client,
    id: &str,
    live: &mpsc::Receiver<String>,
    out: &mut dyn Write,
) -> std::io::Result<Option<JobState>> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        while let Ok(line) = live.try_recv() {
            writeln!(out, "      {line}")?;
            out.flush()?;
        }
        let state = api.job(id).ok().map(|v| v.job.state);
        if matches!(
            state,
            Some(
                JobState::Completed
                    | JobState::NeedsVerification
                    | JobState::Held
                    | JobState::Failed
                    | JobState::Canceled
            )
        ) {
            while let Ok(line) = live.try_recv() {
                writeln!(out, "      {line}")?;
            }
            return Ok(state);
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The simulated document reader of the demo: its PTY, and where its faults are sent.
struct SimReaderGuard {
    pty: String,
    controls: tokio::sync::mpsc::Sender<Control>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for SimReaderGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the simulated reader on a PTY linked at `link`, reading each new page in `pages`.
async fn start_simulated_reader(pages: &Path, link: &Path) -> Result<SimReaderGuard, String> {
    let (controls, control_rx) = tokio::sync::mpsc::channel(4);
    let (reports_tx, mut reports) = tokio::sync::mpsc::channel(64);
    let task = tokio::spawn(super::sim_reader::simulate(
        super::sim_reader::ReaderSim {
            framing: crate::reader::Framing::CUTE,
            link: Some(link.to_owned()),
            watch: Some(pages.to_owned()),
            faults: Vec::new(),
        },
        control_rx,
        reports_tx,
    ));
    let pty = match reports.recv().await {
        Some(line) => line.strip_prefix("pty ").unwrap_or(&line).to_owned(),
        None => return Err("the reader simulator stopped".to_owned()),
    };
    // Its reports are the reader's own business; the station's events tell the story.
    tokio::spawn(async move { while reports.recv().await.is_some() {} });
    Ok(SimReaderGuard {
        pty,
        controls,
        task,
    })
}
