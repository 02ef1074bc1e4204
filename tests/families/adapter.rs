//! The external adapter family: the shared outcome cases through the reference adapter (Python,
//! driving `ippeveprinter` with `ipptool`), the conformance kit passing it and failing each
//! broken adapter, and every way an adapter can misbehave ending in doubt — never a success,
//! never a stopped station.

use std::path::PathBuf;

use pstation::printer::{PrintOutcome, PrinterDriver};
use tokio_util::sync::CancellationToken;

use super::ipp::Ipp;
use super::{Fault, Rig};

fn reference_adapter() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("drivers/adapters/ipptool/pstation-adapter-ipptool")
}

fn misbehaving() -> PathBuf {
    crate::util::fixture("adapters/misbehaving.py")
}

/// The reference adapter in front of an `ippeveprinter`.
pub struct Adapter {
    printer: Ipp,
}

impl Adapter {
    pub fn start() -> Self {
        Self {
            printer: Ipp::start(""),
        }
    }
}

impl Rig for Adapter {
    fn uri(&self) -> String {
        format!(
            "adapter://{}?printer=ipp%3A%2F%2F127.0.0.1%3A{}%2Fipp%2Fprint&poll_ms=100",
            reference_adapter().display(),
            self.printer.port()
        )
    }

    async fn fault(&mut self, fault: Fault) {
        self.printer.fault(fault).await;
    }

    async fn clear(&mut self) {
        self.printer.clear().await;
    }

    fn received(&self) -> usize {
        self.printer.received()
    }
}

super::outcome_cases!(Adapter::start());

fn kit(program: &std::path::Path, args: &[&str]) -> (i32, String) {
    let (code, out, err) = crate::util::run(
        crate::util::pstation()
            .args([
                "adapter",
                "test",
                "--answer-timeout-s",
                "3",
                "--print-timeout-s",
                "20",
                "--",
            ])
            .arg(program)
            .args(args),
    );
    (code, format!("{out}{err}"))
}

#[test]
fn the_conformance_kit_passes_the_reference_adapter_and_fails_each_broken_one() {
    let printer = Ipp::start("");
    let target = format!("printer=ipp://127.0.0.1:{}/ipp/print", printer.port());
    let (code, out) = kit(&reference_adapter(), &[&target, "poll_ms=100"]);
    assert_eq!(code, 0, "{out}");
    for case in [
        "hello",
        "identity",
        "status",
        "unknown-request",
        "broken-line",
        "print",
        "cancel",
        "end-of-input",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("PASS") && l.contains(case)),
            "{case}: {out}"
        );
    }
    assert!(out.contains("8 of 8 cases passed"), "{out}");
    // The misbehaving adapter behaving is the control: the kit passes it too.
    assert_eq!(kit(&misbehaving(), &["ok"]).0, 0);
    for (mode, failed) in [
        ("die-mid-job", "print"),
        ("hang-mid-job", "print"),
        ("other-job", "print"),
        ("garbage", "print"),
        ("confirm-short", "print"),
        ("no-exit", "end-of-input"),
    ] {
        let (code, out) = kit(&misbehaving(), &[mode]);
        assert_eq!(code, 1, "{mode}: {out}");
        assert!(
            out.lines()
                .any(|l| l.starts_with("FAIL") && l.contains(failed)),
            "{mode} must fail {failed}: {out}"
        );
    }
    // A program that is not there fails to start, with its name.
    let (code, out) = kit(std::path::Path::new("/nonexistent/adapter"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL start") && out.contains("/nonexistent/adapter"),
        "{out}"
    );
}

async fn open_misbehaving(mode: &str) -> Box<dyn PrinterDriver> {
    let mut settings = super::settings();
    settings.reply_timeout = std::time::Duration::from_secs(2);
    settings.heartbeat_s = 1;
    let uri =
        pstation::printer::parse_uri(&format!("adapter://{}?{mode}", misbehaving().display()))
            .expect("uri");
    pstation::printer::open(&uri, &settings)
        .await
        .expect("open")
}

#[tokio::test]
async fn a_dying_hanging_or_lying_adapter_leaves_the_job_in_doubt_and_is_stopped() {
    for mode in [
        "die-mid-job",
        "hang-mid-job",
        "other-job",
        "garbage",
        "confirm-short",
    ] {
        let mut d = open_misbehaving(mode).await;
        super::ready(d.as_mut()).await;
        let page = super::page_for(d.as_ref());
        let outcome = d
            .print(
                page.job("M-1", "J", "X1"),
                &CancellationToken::new(),
                Box::new(|_| {}),
            )
            .await;
        assert!(
            matches!(outcome, PrintOutcome::Unknown { .. }),
            "{mode}: {outcome:?}"
        );
        // The adapter was given up: the station sees the link lost and will start it again.
        assert_eq!(
            d.subscribe().borrow().link,
            pstation::printer::Link::Lost,
            "{mode}"
        );
        assert!(d.status().await.is_err(), "{mode}");
    }
    // The control: the same adapter behaving is confirmed.
    let mut d = open_misbehaving("ok").await;
    let page = super::page_for(d.as_ref());
    let outcome = d
        .print(
            page.job("M-2", "J", "X1"),
            &CancellationToken::new(),
            Box::new(|_| {}),
        )
        .await;
    assert_eq!(outcome, PrintOutcome::Confirmed { pages: 1 });
}

#[test]
fn a_station_survives_an_adapter_that_dies_mid_job_and_prints_the_next_job_through_it_again() {
    use crate::daemon::{config_without_confirmation, start_serve, until};
    use pstation::store::JobState;
    let dir = tempfile::tempdir().expect("tempdir");
    let flag = dir.path().join("died");
    let device = format!(
        "adapter://{}?die-once={}",
        misbehaving().display(),
        flag.display()
    );
    let config = config_without_confirmation(dir.path());
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let api = crate::util::client(&base, None);
    api.receive_batch("X6000000", "X6000009").expect("batch");
    let submit =
        |id: &str, number: &str| crate::daemon::printing::submit_numbered(&base, id, number);
    submit("SMD-2026-000911", "X6000001");
    until("the job in doubt", || {
        api.job("SMD-2026-000911").expect("job").job.state == JobState::NeedsVerification
    });
    assert!(flag.exists(), "the adapter died on that job");
    assert_eq!(api.printer().expect("printer").family, "adapter");
    submit("SMD-2026-000912", "X6000002");
    until("the next job printed through a new adapter", || {
        api.job("SMD-2026-000912").expect("job").job.state == JobState::Printed
    });
    // The job in doubt was never printed again.
    assert_eq!(
        api.job("SMD-2026-000911").expect("job").job.state,
        JobState::NeedsVerification
    );
}

#[test]
fn diag_probes_and_prints_a_test_page_through_an_adapter() {
    let uri = format!("adapter://{}?ok", misbehaving().display());
    let (code, out, err) =
        crate::util::run(crate::util::pstation().args(["diag", "probe", "--device", &uri]));
    assert_eq!(code, 0, "{err}");
    for want in [
        "family adapter",
        "model Imaginary Booklet Printer",
        "printer ready",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let (code, out, err) =
        crate::util::run(crate::util::pstation().args(["diag", "test-page", "--device", &uri]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("completed: 1 page(s)"), "{out}");
    // An adapter that is not there: a code and what to do.
    let (code, _, err) = crate::util::run(crate::util::pstation().args([
        "diag",
        "probe",
        "--device",
        "adapter:///nonexistent/adapter",
    ]));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("device-not-found"), "{err}");
    // A URI of no family: invalid input naming the forms that work.
    let (code, _, err) = crate::util::run(crate::util::pstation().args([
        "diag",
        "probe",
        "--device",
        "lpd://host/queue",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no printer family serves \"lpd\"") && err.contains("ipp://"),
        "{err}"
    );
}
