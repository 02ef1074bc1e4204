//! Printer families benchmark (a bench binary, issue 18): the time from "booklet confirmed" to
//! the printer's confirmation of the same job, on each family — PJL + PCL over a PTY at
//! 115,200 baud to the simulator, IPP to CUPS's `ippeveprinter`, and the reference adapter
//! (Python + `ipptool`) in front of `ippeveprinter` — and the station's overhead beyond the
//! device's own time (the simulator's clock from `JOB` to `END`; the IPP engine's run, from
//! `fixtures/ipp/engine.sh`'s timestamps). The simulator's booklet takes 100 ms, as the IPP
//! engine's does.
//!
//! `cargo bench --bench families` runs 20 jobs per family; under `cargo test` it runs one as a
//! smoke test. It needs `ippeveprinter` (cups-ipp-utils) and, started by
//! `scripts/start-ipp-services`, the system D-Bus and avahi-daemon.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{job_with, settings};
use pstation::cli::daemon;
use pstation::printer::DriverSettings;
use pstation::station::StationEvent;
use pstation::store::JobState;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let jobs = if full { 20 } else { 1 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = Command::new(format!("{ROOT}/scripts/start-ipp-services"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "scripts/start-ipp-services (run as root)");
    println!("confirm → printer's confirmation, {jobs} job(s) per family (ms: median / worst)");
    pjl(&runtime, jobs);
    let ipp = Ipp::start();
    run_family(&runtime, "IPP → ippeveprinter", &ipp.uri(), jobs, |i| {
        ipp.engine_ms(i)
    });
    drop(ipp);
    let ipp = Ipp::start();
    let adapter = format!(
        "adapter://{ROOT}/drivers/adapters/ipptool/pstation-adapter-ipptool?printer=ipp%3A%2F%2F127.0.0.1%3A{}%2Fipp%2Fprint&poll_ms=100",
        ipp.port
    );
    run_family(
        &runtime,
        "adapter (Python) → ippeveprinter",
        &adapter,
        jobs,
        |i| ipp.engine_ms(i),
    );
}

fn stats(name: &str, what: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let worst = ms[ms.len() - 1];
    println!("  {name:<36} {what:<22} {median:>8.1} / {worst:>8.1}");
}

/// Confirms each job's booklet in turn and times it until the job is printed; `device_ms(i)`
/// is the device's own time for the `i`-th job.
fn run_family(
    runtime: &tokio::runtime::Runtime,
    name: &str,
    device: &str,
    jobs: usize,
    device_ms: impl Fn(usize) -> f64,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture =
        std::fs::read(format!("{ROOT}/fixtures/jobs/valid/santoso-budi.json")).expect("fixture");
    let running = runtime
        .block_on(daemon::start(
            settings(&dir.path().join("data"), device, true),
            DriverSettings::DEFAULT,
            None,
        ))
        .expect("start");
    let station = running.station.clone();
    let totals = runtime.block_on(async {
        station
            .receive_batch("X5000000".into(), "X5000099".into(), "bench")
            .await
            .expect("batch");
        // The printer ready before the clock starts (a first status, a warm-up).
        let mut view = station.printer();
        while view.borrow_and_update().state != "idle" {
            tokio::time::timeout(Duration::from_secs(60), view.changed())
                .await
                .expect("the printer gets ready")
                .expect("view");
        }
        let mut totals = Vec::new();
        for i in 0..jobs {
            let (id, number) = (format!("F-{i:06}"), format!("X{:07}", 5_000_000 + i));
            station
                .submit(
                    pstation::station::Submission::Unsigned(job_with(&fixture, &id, &number)),
                    "bench",
                )
                .await
                .expect("submit");
            let mut events = station.subscribe();
            let t0 = Instant::now();
            station
                .confirm_booklet(&id, number, "bench")
                .await
                .expect("confirm");
            loop {
                match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
                    Ok(Ok(StationEvent::Job { job_id, state, .. })) if job_id == id => {
                        if state == JobState::Printed {
                            break;
                        }
                        assert!(
                            !matches!(state, JobState::NeedsVerification | JobState::Failed),
                            "{name}: job {id} ended {state:?}"
                        );
                    }
                    Ok(_) => {}
                    Err(_) => panic!("{name}: job {id} not printed in 60 s"),
                }
            }
            totals.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        totals
    });
    running.shutdown.cancel();
    runtime.block_on(async {
        let _ = running.engine.await;
        let _ = running.server.await;
    });
    let device: Vec<f64> = (0..jobs).map(&device_ms).collect();
    let overhead: Vec<f64> = totals.iter().zip(&device).map(|(t, d)| t - d).collect();
    stats(name, "confirm → confirmed", totals);
    stats(name, "device's own time", device);
    stats(name, "station overhead", overhead);
}

/// The simulator on a PTY at 115,200 baud, served in this process; device time from its clock.
fn pjl(runtime: &tokio::runtime::Runtime, jobs: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("printer");
    let printer = common::simulated_printer(100, 100, 115_200);
    let mut records = printer.subscribe_records();
    let (ready, mut slave) = tokio::sync::mpsc::channel(4);
    let p = printer.clone();
    let l = link.clone();
    let _sim = runtime.spawn(async move { pstation_sim::serve_pty(p, Some(l), ready).await });
    runtime.block_on(slave.recv()).expect("a PTY");
    let device = format!("serial://{}?baud=115200&flow=none", link.display());
    let times = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let t = times.clone();
    let _collect = runtime.spawn(async move {
        while let Ok(r) = records.recv().await {
            t.lock()
                .expect("times")
                .push((r.ended_ms - r.started_ms) as f64);
        }
    });
    run_family(
        runtime,
        "PJL → simulator, PTY 115,200 baud",
        &device,
        jobs,
        |i| {
            // The record arrives as the END goes out, before the station has read it.
            times.lock().expect("times").get(i).copied().unwrap_or(0.0)
        },
    );
}

/// `ippeveprinter` with the test engine, recording the engine's own time per page.
struct Ipp {
    child: std::process::Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Ipp {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = dir.path().join("spool");
        std::fs::create_dir(&spool).expect("spool");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new("ippeveprinter")
            .args(["-p", &port.to_string(), "-d"])
            .arg(&spool)
            .args([
                "-r",
                "off",
                "-n",
                "localhost",
                "-f",
                "application/pdf,image/pwg-raster",
            ])
            .arg("-c")
            .arg(PathBuf::from(ROOT).join("fixtures/ipp/engine.sh"))
            .args([
                "-M",
                "pstation-bench",
                "-m",
                "TD3 Passport",
                "pstation-bench",
            ])
            .env("PSTATION_IPP_TIMES", dir.path().join("times"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ippeveprinter (cups-ipp-utils)");
        let end = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < end, "ippeveprinter did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, dir, port }
    }

    fn uri(&self) -> String {
        format!("ipp://127.0.0.1:{}/ipp/print?poll_ms=100", self.port)
    }

    /// The engine's run for the `i`-th page, in ms.
    fn engine_ms(&self, i: usize) -> f64 {
        let text = std::fs::read_to_string(self.dir.path().join("times")).unwrap_or_default();
        text.lines()
            .nth(i)
            .and_then(|l| {
                let (a, b) = l.split_once(' ')?;
                Some((b.parse::<f64>().ok()? - a.parse::<f64>().ok()?) * 1e3)
            })
            .unwrap_or(0.0)
    }
}

impl Drop for Ipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
