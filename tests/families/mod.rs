//! The same outcome tests for every printer family, each against a device nobody stubbed: the
//! PJL family against our simulator, the IPP family against CUPS's `ippeveprinter`, the adapter
//! family against the reference adapter. A `Rig` starts the device, puts it into a fault and
//! counts the documents it received; the cases below hold for every rig.
//!
//! The cases are the CUPS failure modes turned into rules: a device that says "done" without
//! the page is never confirmed; a fault mid-job is unknown, never a success; a job is never sent
//! twice for one booklet, even when the answer to it is lost; opening a dead printer ends in
//! bounded time with a code.

mod adapter;
mod ipp;
mod pjl;

/// The shared outcome cases as tests of one family, each on a fresh rig made by `$rig`.
macro_rules! outcome_cases {
    ($rig:expr) => {
        #[tokio::test]
        async fn a_job_is_confirmed_and_received_once() {
            super::a_job_is_confirmed_and_received_once(&mut $rig).await;
        }

        #[tokio::test]
        async fn a_jam_mid_job_is_seen_and_never_confirmed() {
            super::a_jam_mid_job_is_seen_and_never_confirmed(&mut $rig).await;
        }

        #[tokio::test]
        async fn a_device_claiming_done_without_the_page_is_never_confirmed() {
            super::a_device_claiming_done_without_the_page_is_never_confirmed(&mut $rig).await;
        }

        #[tokio::test]
        async fn an_engine_fault_mid_job_is_unknown() {
            super::an_engine_fault_mid_job_is_unknown(&mut $rig).await;
        }

        #[tokio::test]
        async fn a_cancel_before_the_start_sends_nothing() {
            super::a_cancel_before_the_start_sends_nothing(&mut $rig).await;
        }
    };
}
use outcome_cases;

use std::time::Duration;

use pstation::printer::{DriverSettings, PrintOutcome, PrinterDriver, PrinterState, PrinterStatus};
use pstation::station::render::{Rendered, Renderer};
use tokio_util::sync::CancellationToken;

/// A fault a rig can put its device into, taking effect during the next job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The booklet jams during the job (cleared by `clear`).
    Jam,
    /// The device ends the job as done without printing the page.
    Lie,
    /// The device's engine fails mid-job.
    Abort,
}

/// A device of one family under test.
pub trait Rig {
    /// The device URI the station is configured with.
    fn uri(&self) -> String;
    /// Arms `fault` for the next job.
    fn fault(&mut self, fault: Fault) -> impl Future<Output = ()>;
    /// Clears the fault (an operator fixed the printer).
    fn clear(&mut self) -> impl Future<Output = ()>;
    /// Jobs (documents) the device has received so far.
    fn received(&self) -> usize;
}

/// Timeouts short enough for tests, long enough for a loaded 2-core machine.
pub fn settings() -> DriverSettings {
    DriverSettings {
        connect_timeout: Duration::from_secs(5),
        reply_timeout: Duration::from_secs(5),
        write_timeout: Duration::from_secs(10),
        page_timeout: Duration::from_secs(30),
        max_pause: Duration::from_secs(60),
        heartbeat_s: 5,
    }
}

/// The calibration page, rendered for `driver` (PDF, and bitmaps at its resolution).
pub fn page_for(driver: &dyn PrinterDriver) -> Rendered {
    let renderer = Renderer::new(pstation::config::Settings::default_settings().expect("settings"))
        .expect("renderer");
    renderer
        .calibration(driver.capabilities().bitmap_dpi())
        .expect("calibration page")
}

pub async fn open(uri: &str) -> Box<dyn PrinterDriver> {
    let uri = pstation::printer::parse_uri(uri).expect("uri");
    pstation::printer::open(&uri, &settings())
        .await
        .expect("open the printer")
}

/// Waits until the printer is ready (a fresh device may be warming up).
pub async fn ready(driver: &mut dyn PrinterDriver) {
    for _ in 0..200 {
        if driver.status().await.expect("status").ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never ready: {:?}", driver.subscribe().borrow().clone());
}

/// Waits until the device's received-count reaches `n` (a device may still be writing it).
pub async fn received(rig: &impl Rig, n: usize) {
    for _ in 0..200 {
        if rig.received() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rig.received(), n, "documents the device received");
}

async fn print(
    driver: &mut dyn PrinterDriver,
    name: &str,
    cancel: &CancellationToken,
) -> PrintOutcome {
    let page = page_for(driver);
    driver
        .print(
            page.job(name, "J-TEST", "X0000001"),
            cancel,
            Box::new(|_| {}),
        )
        .await
}

/// A job the device prints is confirmed, once.
pub async fn a_job_is_confirmed_and_received_once(rig: &mut impl Rig) {
    let mut d = open(&rig.uri()).await;
    ready(d.as_mut()).await;
    let id = d.identity().await.expect("identity");
    assert!(!id.model.is_empty());
    let outcome = print(d.as_mut(), "A-1", &CancellationToken::new()).await;
    assert_eq!(outcome, PrintOutcome::Confirmed { pages: 1 });
    received(rig, 1).await;
    assert!(d.last_transfer().is_some_and(|t| t.bytes > 0));
    assert!(d.link_bytes().written > 0 && d.link_bytes().read > 0);
}

/// A jam during the job: the station sees the printer stopped with the jam, and the outcome is
/// unknown (the booklet may be damaged), never confirmed — even when the printer goes on.
pub async fn a_jam_mid_job_is_seen_and_never_confirmed(rig: &mut impl Rig) {
    let mut d = open(&rig.uri()).await;
    ready(d.as_mut()).await;
    let mut live = d.subscribe();
    rig.fault(Fault::Jam).await;
    let cancel = CancellationToken::new();
    let page = page_for(d.as_ref());
    let job = page.job("B-jam", "J-TEST", "X0000002");
    let printing = d.print(job, &cancel, Box::new(|_| {}));
    tokio::pin!(printing);
    let mut seen: Option<PrinterStatus> = None;
    let outcome = loop {
        tokio::select! {
            o = &mut printing => break o,
            changed = live.changed(), if seen.is_none() => {
                changed.expect("status");
                let s = live.borrow_and_update().clone();
                if s.state == PrinterState::Stopped && s.has("media-jam-error") {
                    seen = Some(s);
                    rig.clear().await;
                }
            }
        }
    };
    assert!(
        seen.is_some(),
        "the jam was never reported; outcome {outcome:?}"
    );
    assert!(
        matches!(outcome, PrintOutcome::Unknown { .. }),
        "{outcome:?}"
    );
}

/// A device that says the job is done without having printed the page is not believed.
pub async fn a_device_claiming_done_without_the_page_is_never_confirmed(rig: &mut impl Rig) {
    let mut d = open(&rig.uri()).await;
    ready(d.as_mut()).await;
    rig.fault(Fault::Lie).await;
    let outcome = print(d.as_mut(), "C-lie", &CancellationToken::new()).await;
    assert!(
        matches!(outcome, PrintOutcome::Unknown { .. }),
        "{outcome:?}"
    );
}

/// An engine fault mid-job is unknown, never a success.
pub async fn an_engine_fault_mid_job_is_unknown(rig: &mut impl Rig) {
    let mut d = open(&rig.uri()).await;
    ready(d.as_mut()).await;
    rig.fault(Fault::Abort).await;
    let outcome = print(d.as_mut(), "D-abort", &CancellationToken::new()).await;
    assert!(
        matches!(outcome, PrintOutcome::Unknown { .. }),
        "{outcome:?}"
    );
}

/// A job cancelled before it starts sends nothing.
pub async fn a_cancel_before_the_start_sends_nothing(rig: &mut impl Rig) {
    let mut d = open(&rig.uri()).await;
    ready(d.as_mut()).await;
    let before = rig.received();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let outcome = print(d.as_mut(), "E-cancel", &cancel).await;
    assert_eq!(outcome, PrintOutcome::CanceledByHost);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rig.received(), before);
}
