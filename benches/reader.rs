//! Document reader benchmark (a bench binary, issue 19): the reader simulator's OCR-B accuracy
//! on every fixture page (the data page of each valid fixture job, at 300 and 600 dpi, with and
//! without a calibration offset: every character must read right; the calibration page is not
//! one, its rulers and zone outlines cross the MRZ zone on purpose), its time per page; and the time from a reader's last byte (the ETX of a CUTE frame, written on a
//! PTY) to the job's state change as the station publishes it (target: 50 ms).
//!
//! `cargo bench --bench reader` reads every page and times 50 reads; under `cargo test` it reads
//! one page and times one read, as a smoke test.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

mod common;

use common::{job_with, settings};
use pstation::cli::daemon;
use pstation::layout::fonts::Fonts;
use pstation::layout::readback::MrzReader;
use pstation::printer::DriverSettings;
use pstation::station::StationEvent;
use pstation::station::render::Renderer;
use pstation::store::JobState;
use pstation_pjl::sim::SimConfig;
use pstation_sim::{Printer, SimOptions};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    accuracy(full);
    decision(if full { 50 } else { 1 });
}

fn percentile(ms: &mut [f64], p: f64) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[((ms.len() - 1) as f64 * p).round() as usize]
}

/// Every fixture page read back by the simulator's OCR-B reader.
fn accuracy(full: bool) {
    let fonts = Fonts::shared().expect("fonts");
    let mut fixtures: Vec<_> = std::fs::read_dir(format!("{ROOT}/fixtures/jobs/valid"))
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    fixtures.sort();
    let (dpis, offsets): (&[u32], &[(f32, f32)]) = if full {
        (&[300, 600], &[(0.0, 0.0), (1.5, -1.0)])
    } else {
        (&[300], &[(0.0, 0.0)])
    };
    println!(
        "OCR-B read-back of every fixture page (characters right / read; ms a page: median / worst)"
    );
    for &dpi in dpis {
        let reader = MrzReader::new(&fonts, dpi).expect("reader");
        for &(dx, dy) in offsets {
            let mut s = pstation::config::Settings::default_settings().expect("settings");
            s.render.calibration.offset_x_mm = dx;
            s.render.calibration.offset_y_mm = dy;
            let renderer = Renderer::new(s).expect("renderer");
            let mut pages = Vec::new();
            for path in fixtures.iter().take(if full { usize::MAX } else { 1 }) {
                let payload = std::fs::read(path).expect("fixture");
                let page = renderer
                    .render(&payload, "X1234567", Some(dpi))
                    .expect("render")
                    .pages
                    .remove(0);
                let mrz = renderer.mrz(&payload, "X1234567").expect("mrz");
                pages.push((page, mrz.to_vec()));
            }
            let (mut right, mut total, mut ms) = (0usize, 0usize, Vec::new());
            for (page, expected) in &pages {
                let t0 = Instant::now();
                let read = reader.read(page);
                ms.push(t0.elapsed().as_secs_f64() * 1e3);
                for (i, want) in expected.iter().enumerate() {
                    let got = read.get(i).map_or("", String::as_str);
                    total += want.len();
                    right += want
                        .chars()
                        .zip(got.chars())
                        .filter(|(a, b)| a == b)
                        .count();
                }
            }
            let pct = 100.0 * right as f64 / total as f64;
            let (median, worst) = (percentile(&mut ms, 0.5), percentile(&mut ms, 1.0));
            println!(
                "  {dpi} dpi, offset ({dx:+.1}, {dy:+.1}) mm: {} pages, {right} / {total} characters ({pct:.2} %); {median:.1} / {worst:.1} ms",
                pages.len()
            );
            assert_eq!(right, total, "every character of a clean page reads right");
        }
    }
}

/// The reader's last byte → the job's state change, through the running station.
fn decision(reads: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    // The printer: the simulator over TCP, unpaced, a booklet in 50 ms.
    let (printer_uri, _printer) = runtime.block_on(async {
        let printer = Printer::new(SimOptions {
            printer: SimConfig {
                model: "BENCH".into(),
                warm_up_ms: 0,
                page_ms: 50,
                hopper: 10_000,
                page_count: 0,
                io_timeout_ms: 15_000,
            },
            baud: 0,
            out_dir: None,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listen");
        let addr = listener.local_addr().expect("addr");
        let p = printer.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let p = p.clone();
                tokio::spawn(pstation_sim::serve(p, sock, pstation_sim::no_control()));
            }
        });
        (format!("tcp://{addr}"), task)
    });
    // The reader: this side of a PTY pair; the station opens the other by its path.
    let (mut master, slave) = runtime
        .block_on(async { tokio_serial::SerialStream::pair() })
        .expect("pty");
    let slave_path = tokio_serial::SerialPort::name(&slave).expect("pty name");
    let mut s = settings(&dir.path().join("data"), &printer_uri, false);
    s.reader.device = Some(
        pstation::reader::ReaderUri::parse(&format!("serial://{slave_path}?framing=cute"))
            .expect("reader uri"),
    );
    let renderer = Renderer::new(s.clone()).expect("renderer");
    let running = runtime
        .block_on(daemon::start(s, DriverSettings::DEFAULT, None))
        .expect("start");
    let station = running.station.clone();
    let fixture =
        std::fs::read(format!("{ROOT}/fixtures/jobs/valid/santoso-budi.json")).expect("fixture");
    let mut ms = Vec::new();
    runtime.block_on(async {
        station
            .receive_batch("X5100000".into(), "X5100099".into(), "bench")
            .await
            .expect("batch");
        let mut reader = station.subscribe();
        while station.reader().state != "connected" {
            let _ = tokio::time::timeout(Duration::from_secs(30), reader.recv()).await;
        }
        for i in 0..reads {
            let (id, number) = (format!("R-{i:06}"), format!("X{:07}", 5_100_000 + i));
            let payload = job_with(&fixture, &id, &number);
            let mut events = station.subscribe();
            station
                .submit(
                    pstation::station::Submission::Unsigned(payload.clone()),
                    "bench",
                )
                .await
                .expect("submit");
            wait(&mut events, &id, JobState::Reading).await;
            let mrz = renderer.mrz(&payload, &number).expect("mrz");
            let frame =
                pstation_reader::encode(pstation_reader::Framing::CUTE, &[&mrz[0], &mrz[1]]);
            let (head, tail) = frame.split_at(frame.len() - 2);
            AsyncWriteExt::write_all(&mut master, head)
                .await
                .expect("write");
            AsyncWriteExt::flush(&mut master).await.expect("flush");
            // The head arrives and waits; the clock starts with the ETX.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let t0 = Instant::now();
            AsyncWriteExt::write_all(&mut master, tail)
                .await
                .expect("write");
            AsyncWriteExt::flush(&mut master).await.expect("flush");
            wait(&mut events, &id, JobState::Completed).await;
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    });
    running.shutdown.cancel();
    runtime.block_on(async {
        let _ = running.engine.await;
        let _ = running.server.await;
    });
    drop(slave);
    let (median, p95, worst) = (
        percentile(&mut ms, 0.5),
        percentile(&mut ms, 0.95),
        percentile(&mut ms, 1.0),
    );
    println!(
        "reader's last byte → job completed, {reads} read(s): median {median:.2} ms, p95 {p95:.2} ms, worst {worst:.2} ms (target 50 ms)"
    );
    let _ = std::io::stdout().flush();
}

async fn wait(
    events: &mut tokio::sync::broadcast::Receiver<StationEvent>,
    id: &str,
    want: JobState,
) {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
            Ok(Ok(StationEvent::Job { job_id, state, .. })) if job_id == id => {
                if state == want {
                    return;
                }
                assert!(
                    !matches!(state, JobState::NeedsVerification | JobState::Failed),
                    "job {id} ended {state:?}"
                );
            }
            Ok(_) => {}
            Err(_) => panic!("job {id} did not reach {want:?} in 60 s"),
        }
    }
}
