//! The IPP Everywhere family against CUPS's reference printer, `ippeveprinter` (Debian
//! `cups-ipp-utils`): the shared outcome cases, the document it received read back (the PDF's
//! MRZ, the PWG raster's pixels), a cut connection after Print-Job, a dead printer, and a
//! station that shows a stuck printer and resumes by itself.
//!
//! `ippeveprinter` needs a system D-Bus and `avahi-daemon` even with `-r off`; `services()`
//! starts them when they are not running (the suite runs as root in CI).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::Duration;

use pstation::printer::PrintOutcome;
use tokio_util::sync::CancellationToken;

use super::{Fault, Rig};

/// Starts the system D-Bus and avahi-daemon once, when they are not running
/// (`scripts/start-ipp-services`).
fn services() {
    static START: Once = Once::new();
    START.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/start-ipp-services");
        let ok = Command::new(script).status().is_ok_and(|s| s.success());
        assert!(
            ok,
            "ippeveprinter needs the system D-Bus and avahi-daemon: run the suite as root (scripts/test), or run {script} as root"
        );
    });
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// One `ippeveprinter` with the test engine, its spool directory and its control file.
pub struct Ipp {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    options: &'static str,
}

impl Ipp {
    /// Starts a printer that takes PDF and PWG raster (`options`: the device URI's query).
    pub fn start(options: &'static str) -> Self {
        services();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("spool")).expect("spool");
        let mut rig = Self {
            dir,
            port: free_port(),
            child: None,
            options,
        };
        rig.spawn();
        rig
    }

    fn spawn(&mut self) {
        let engine = crate::util::fixture("ipp/engine.sh");
        let log = std::fs::File::create(self.dir.path().join("ippeveprinter.log")).expect("log");
        let child = Command::new("ippeveprinter")
            .args(["-p", &self.port.to_string(), "-d"])
            .arg(self.dir.path().join("spool"))
            .args(["-k", "-r", "off", "-n", "localhost"])
            .args(["-f", "application/pdf,image/pwg-raster", "-c"])
            .arg(&engine)
            .args(["-M", "pstation-test", "-m", "TD3 Passport", "pstation-test"])
            .env("PSTATION_IPP_CONTROL", self.control())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ippeveprinter (Debian cups-ipp-utils; scripts/test installs it)");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("ippeveprinter did not listen: {}", self.log());
    }

    /// The printer as an operator power-cycles it after fixing it: its reasons are gone.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn control(&self) -> PathBuf {
        self.dir.path().join("control")
    }

    /// Sets the engine's control line (`jam`, `cover`, `lie`, `abort`, `hang`, `stop`, `ok`).
    pub fn set(&self, word: &str) {
        std::fs::write(self.control(), format!("{word}\n")).expect("control");
    }

    /// The documents received, oldest first (`.pdf`, `.pwg`; not the engine's empty output).
    pub fn documents(&self) -> Vec<PathBuf> {
        let mut docs: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("spool"))
            .expect("spool")
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "pdf" || e == "pwg" || e == "ras")
            })
            .collect();
        docs.sort();
        docs
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ippeveprinter.log")).unwrap_or_default()
    }
}

impl Drop for Ipp {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Rig for Ipp {
    fn uri(&self) -> String {
        let q = if self.options.is_empty() {
            "poll_ms=100".to_owned()
        } else {
            format!("poll_ms=100&{}", self.options)
        };
        format!("ipp://127.0.0.1:{}/ipp/print?{q}", self.port)
    }

    async fn fault(&mut self, fault: Fault) {
        self.set(match fault {
            Fault::Jam => "jam",
            Fault::Lie => "lie",
            Fault::Abort => "abort",
        });
    }

    async fn clear(&mut self) {
        self.set("ok");
    }

    fn received(&self) -> usize {
        self.documents().len()
    }
}

super::outcome_cases!(Ipp::start(""));

/// The fixture job's data page as the station renders it for `driver`, and its MRZ.
fn data_page(dpi: Option<u32>) -> (pstation::station::render::Rendered, [String; 2]) {
    let renderer = pstation::station::render::Renderer::new(
        pstation::config::Settings::default_settings().expect("settings"),
    )
    .expect("renderer");
    let payload =
        std::fs::read(crate::util::fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let booklet = "X1234567";
    (
        renderer.render(&payload, booklet, dpi).expect("render"),
        renderer.mrz(&payload, booklet).expect("mrz"),
    )
}

/// Prints `page` as attempt `name`, expects it confirmed, and returns the one document the
/// printer received (its bytes and its file).
async fn print_the_one_document(
    rig: &Ipp,
    d: &mut dyn pstation::printer::PrinterDriver,
    page: &pstation::station::render::Rendered,
    name: &str,
) -> (Vec<u8>, PathBuf) {
    let outcome = d
        .print(
            page.job(name, "J", "X1234567"),
            &CancellationToken::new(),
            Box::new(|_| {}),
        )
        .await;
    assert_eq!(outcome, PrintOutcome::Confirmed { pages: 1 });
    let docs = rig.documents();
    assert_eq!(docs.len(), 1, "{docs:?}");
    (std::fs::read(&docs[0]).expect("document"), docs[0].clone())
}

#[tokio::test]
async fn the_pdf_the_printer_received_is_the_page_we_meant_and_its_mrz_reads_back() {
    let rig = Ipp::start("");
    let mut d = super::open(&rig.uri()).await;
    super::ready(d.as_mut()).await;
    assert_eq!(d.family(), "ipp");
    assert_eq!(d.capabilities().bitmap_dpi(), None, "PDF is preferred");
    let (page, mrz) = data_page(None);
    let (received, doc) = print_the_one_document(&rig, d.as_mut(), &page, "P-1").await;
    assert_eq!(
        received, page.pdf,
        "the printer received our PDF byte for byte"
    );
    // Read it back as a reader would: the text the printer's interpreter sees…
    let text = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&doc)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    for line in &mrz {
        assert!(
            text.lines().any(|l| l.trim() == line),
            "MRZ line {line} not read back from the received PDF"
        );
    }
    // …and the pixels it prints: rasterised, the received page is the page we rendered.
    let ours = pstation::layout::raster::render_page(&page.pdf, 300)
        .expect("ours")
        .mono();
    let theirs = pstation::layout::raster::render_page(&received, 300)
        .expect("theirs")
        .mono();
    assert_eq!(ours, theirs);
}

#[tokio::test]
async fn pwg_raster_goes_at_the_printers_resolution_and_reads_back_pixel_for_pixel() {
    let rig = Ipp::start("format=pwg-raster");
    let mut d = super::open(&rig.uri()).await;
    super::ready(d.as_mut()).await;
    let dpi = d.capabilities().bitmap_dpi();
    assert_eq!(
        dpi,
        Some(600),
        "ippeveprinter offers 300 and 600 dpi; the best is taken"
    );
    let (page, mrz) = data_page(dpi);
    let (received, _) = print_the_one_document(&rig, d.as_mut(), &page, "P-2").await;
    let pages = pstation::printer::ipp::pwg::decode(&received).expect("PWG raster");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].dpi, (600, 600));
    assert_eq!(
        pages[0].bitmap, page.pages[0],
        "the printed pixels are ours"
    );
    // Read as a document reader would: OCR-B off the pixels the printer received.
    let fonts = pstation::layout::fonts::Fonts::shared().expect("fonts");
    let reader = pstation::layout::readback::MrzReader::new(&fonts, 600).expect("reader");
    assert_eq!(reader.read(&pages[0].bitmap), mrz.to_vec());
}

#[tokio::test]
async fn a_cancel_while_the_printer_works_is_sent_with_cancel_job_and_nothing_printed() {
    let rig = Ipp::start("");
    let mut d = super::open(&rig.uri()).await;
    super::ready(d.as_mut()).await;
    rig.set("hang");
    let cancel = CancellationToken::new();
    let page = super::page_for(d.as_ref());
    let job = page.job("Q-cancel", "J", "X1");
    let printing = d.print(job, &cancel, Box::new(|_| {}));
    tokio::pin!(printing);
    // Once the printer holds the job (the engine runs), the station cancels it; the engine then
    // gives up without printing.
    let outcome = loop {
        tokio::select! {
            o = &mut printing => break o,
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                if rig.received() == 1 && !cancel.is_cancelled() {
                    cancel.cancel();
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    rig.set("stop");
                }
            }
        }
    };
    assert_eq!(outcome, PrintOutcome::CanceledByHost, "{}", rig.log());
}

/// A TCP proxy that forwards to `upstream` and cuts the `nth` connection (1-based) after the
/// request has been forwarded, before the answer reaches the client: the cable pulled at the
/// worst moment.
async fn cutting_proxy(upstream: u16, nth: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut client, _)) = listener.accept().await {
            n += 1;
            let cut = n == nth;
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                if !cut {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                let (mut cr, _cw) = client.split();
                let (mut sr, mut sw) = server.split();
                let (mut up, mut down) = (vec![0u8; 64 * 1024], [0u8; 1]);
                // Forward the request until the printer starts answering, then drop both.
                loop {
                    tokio::select! {
                        r = cr.read(&mut up) => match r {
                            Ok(0) | Err(_) => return,
                            Ok(k) => { if sw.write_all(&up[..k]).await.is_err() { return; } }
                        },
                        r = sr.read(&mut down) => { let _ = r; return; }
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn an_answer_lost_after_print_job_is_unknown_and_the_job_is_never_sent_twice() {
    let rig = Ipp::start("");
    // Connection 1 opens the printer, 2 is print's status check, 3 is Print-Job.
    let proxy = cutting_proxy(rig.port(), 3).await;
    let uri = format!("ipp://127.0.0.1:{proxy}/ipp/print?poll_ms=100");
    let mut d = super::open(&uri).await;
    let page = super::page_for(d.as_ref());
    let outcome = d
        .print(
            page.job("R-cut", "J", "X1"),
            &CancellationToken::new(),
            Box::new(|_| {}),
        )
        .await;
    assert!(
        matches!(outcome, PrintOutcome::Unknown { ref reason } if reason.contains("Print-Job")),
        "{outcome:?}"
    );
    // The printer did get the job, exactly once; nothing was sent again.
    super::received(&rig, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rig.received(), 1);
}

#[tokio::test]
async fn a_dead_printer_is_reported_in_bounded_time_with_a_code() {
    // Nothing listening.
    let port = free_port();
    let uri =
        pstation::printer::parse_uri(&format!("ipp://127.0.0.1:{port}/ipp/print")).expect("uri");
    let e = pstation::printer::open(&uri, &super::settings())
        .await
        .err()
        .expect("no printer");
    assert_eq!(e.code, "device-unreachable", "{e}");
    // Listening, never answering: the connect timeout ends it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let uri =
        pstation::printer::parse_uri(&format!("ipp://127.0.0.1:{port}/ipp/print")).expect("uri");
    let mut settings = super::settings();
    settings.reply_timeout = Duration::from_secs(1);
    settings.connect_timeout = Duration::from_secs(2);
    let e = pstation::printer::open(&uri, &settings)
        .await
        .err()
        .expect("no answer");
    assert!(e.code == "device-timeout", "a silent printer: {e}");
    drop(silent);
}

#[tokio::test]
async fn the_printers_reasons_are_read_in_the_stations_vocabulary() {
    let rig = Ipp::start("");
    let mut d = super::open(&rig.uri()).await;
    super::ready(d.as_mut()).await;
    // A printer that ran out of booklets (and claimed the job done) stays out of booklets: the
    // next job does not start.
    rig.set("lie");
    let page = super::page_for(d.as_ref());
    let first = d
        .print(
            page.job("S-1", "J", "X1"),
            &CancellationToken::new(),
            Box::new(|_| {}),
        )
        .await;
    assert!(matches!(first, PrintOutcome::Unknown { .. }), "{first:?}");
    let s = d.status().await.expect("status");
    assert!(s.has("media-empty-error"), "{s:?}");
    assert!(!s.ready());
    let second = d
        .print(
            page.job("S-2", "J", "X2"),
            &CancellationToken::new(),
            Box::new(|_| {}),
        )
        .await;
    assert!(
        matches!(second, PrintOutcome::FailedBeforeStart { ref reason } if reason.contains("out of booklets")),
        "{second:?}"
    );
    assert_eq!(rig.received(), 1, "the second job was never sent");
}

#[test]
fn a_station_on_an_ipp_printer_shows_it_stuck_and_resumes_by_itself_when_it_recovers() {
    use crate::daemon::{config_without_confirmation, start_serve, until};
    use pstation::store::JobState;
    let mut rig = Ipp::start("");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_without_confirmation(dir.path());
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &rig.uri(), &config);
    let api = crate::util::client(&base, None);
    api.receive_batch("X6000000", "X6000009").expect("batch");
    until("the printer ready", || {
        api.printer().expect("printer").printer.state == "idle"
    });
    let answer = api.printer().expect("printer");
    assert_eq!(answer.family, "ipp");
    assert_eq!(answer.console, None, "an IPP printer has no raw console");
    match api.pjl("INFO STATUS") {
        Err(pstation::client::ClientError::Refused { status, error }) => {
            assert_eq!(
                (status, error.code.as_str()),
                (409, "no-console"),
                "{error:?}"
            )
        }
        other => panic!("a console command to an IPP printer: {other:?}"),
    }

    // The printer runs out of booklets and still says the job completed: the job is in doubt,
    // and the printer is shown stuck, with what to do, on the console and in /metrics.
    rig.set("lie");
    let submit =
        |id: &str, number: &str| crate::daemon::printing::submit_numbered(&base, id, number);
    submit("SMD-2026-000901", "X6000001");
    until("the first job in doubt", || {
        api.job("SMD-2026-000901").expect("job").job.state == JobState::NeedsVerification
    });
    until("the printer shown out of booklets", || {
        api.printer()
            .expect("printer")
            .printer
            .reasons
            .contains(&"media-empty-error".to_owned())
    });
    let printer = api.printer().expect("printer").printer;
    assert_eq!(printer.state, "stopped");
    assert!(
        printer
            .advice
            .iter()
            .any(|a| a.en == "Load blank booklets into the printer"),
        "{printer:?}"
    );
    let metrics = api
        .send("GET", "/metrics", None, Some(pstation::client::TIMEOUT))
        .expect("metrics")
        .into_body()
        .read_to_string()
        .expect("text");
    assert!(
        metrics.contains("reason=\"media-empty-error\"} 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("reason"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The next job waits: nothing is sent to a printer that cannot print it.
    submit("SMD-2026-000902", "X6000002");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        api.job("SMD-2026-000902").expect("job").job.state,
        JobState::Queued
    );
    assert_eq!(rig.received(), 1);

    // Booklets loaded, the printer restarted: the station reconnects and prints by itself.
    rig.set("ok");
    rig.restart();
    until("the waiting job printed", || {
        api.job("SMD-2026-000902").expect("job").job.state == JobState::Printed
    });
    // Each job reached the printer once: the one in doubt was never sent again.
    until("the second document spooled", || rig.received() >= 2);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rig.received(), 2);
}

#[test]
fn the_technicians_console_on_an_ipp_printer_prints_a_test_page_and_offers_no_raw_console() {
    use crate::console::{Browser, login};
    use crate::daemon::{start_serve, until};
    let rig = Ipp::start("");
    let dir = tempfile::tempdir().expect("tempdir");
    let (technician, line) = crate::util::new_token("teknisi", "technician");
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        crate::util::default_toml()
            .replace("require_signed_jobs = true", "require_signed_jobs = false")
            .replace("users = []", &format!("users = [{line}]")),
    )
    .expect("config");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &rig.uri(), &config);
    let b = Browser::start();
    b.go(&format!("{base}/"));
    login(&b, &technician);
    b.go(&format!("{base}/console/#/technician"));
    until("the printer's identity", || {
        b.text("#view").contains("TD3 Passport")
    });
    assert_eq!(b.text("#family"), "ipp");
    assert!(
        b.exists("#no-console"),
        "a family without a raw console says so"
    );
    assert!(!b.exists("#pjl-form"), "and offers no console form");
    b.click("#test-page");
    b.wait_text("the test page", "#test-page-result", "✓");
    until("the printer received it", || rig.received() == 1);
}

#[test]
fn diag_probes_watches_and_prints_a_test_page_on_an_ipp_printer() {
    let rig = Ipp::start("");
    let uri = rig.uri();
    let (code, out, err) =
        crate::util::run(crate::util::pstation().args(["diag", "probe", "--device", &uri]));
    assert_eq!(code, 0, "{err}");
    for want in [
        "family ipp",
        "model pstation-test TD3 Passport",
        "printer ready",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let (code, out, err) =
        crate::util::run(crate::util::pstation().args(["diag", "status", "--device", &uri]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("printer ready"), "{out}");
    let (code, out, err) =
        crate::util::run(crate::util::pstation().args(["diag", "test-page", "--device", &uri]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("completed: 1 page(s) confirmed by the printer"),
        "{out}"
    );
    assert_eq!(rig.received(), 1);
    // No raw console in this family: said, with what to use instead.
    let (code, _, err) =
        crate::util::run(crate::util::pstation().args(["diag", "console", "--device", &uri]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-console"), "{err}");
    // A fault: the test page is refused before anything is sent, with the reason in words.
    rig.set("lie");
    let _ = crate::util::run(crate::util::pstation().args(["diag", "test-page", "--device", &uri]));
    let (code, out, err) =
        crate::util::run(crate::util::pstation().args(["diag", "test-page", "--device", &uri]));
    assert_eq!(code, 4, "{out}{err}");
    assert!(
        err.contains("not-started") && err.contains("out of booklets"),
        "{err}"
    );
}
