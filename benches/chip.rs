//! E-passport chip benchmark (a bench binary, not criterion), for issue 20's figures:
//! 1. opening a virtual e-passport (BAC) and reading EF.COM, DG1, DG2 and EF.SOD, then Passive
//!    Authentication — the station's whole check — through three links: a direct call into the
//!    card, the station's own vpcd port (TCP loopback), and real `pcscd` with vsmartcard's
//!    `vpcd` (when pcscd runs);
//! 2. what the chip gate adds between "booklet confirmed" and the first byte of the job at the
//!    printer: the same daemon and simulated printer, with and without a chip reader, the first
//!    byte seen by a proxy on the printer link.
//!
//! `cargo bench --bench chip` runs the full sizes; under `cargo test` it runs tiny ones.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{job_with, settings};
use pstation::chip::issuer::{TestOffice, os_rng};
use pstation::chip::{self, CardLink, ChipReader, DirectLink, Expected, PcscLink, VpcdPort};
use pstation::cli::daemon;
use pstation::cli::sim_chip::ServedCard;
use pstation::printer::DriverSettings;
use pstation_sim::{no_control, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/jobs/valid/santoso-budi.json"
    ))
    .expect("fixture");
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| named.is_empty() || named.iter().any(|n| n == part);
    if wanted("read") {
        read(&fixture, if full { 50 } else { 2 }, full);
    }
    if wanted("confirm") {
        confirm(&fixture, if full { 100 } else { 2 });
    }
}

fn stats(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "median {:.1} ms, p95 {:.1} ms, worst {:.1} ms",
        p(0.5),
        p(0.95),
        p(1.0)
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The whole check `n` times on `link`: (read, Passive Authentication) times and APDUs.
fn run_checks(link: &mut dyn CardLink, lines: &[String; 2], office: &TestOffice, n: usize) {
    let cscas = [office.csca.certificate.clone()];
    let (mut reads, mut pas, mut apdus) = (Vec::new(), Vec::new(), 0);
    for _ in 0..n {
        let report = chip::check(
            link,
            &Expected {
                mrz: [&lines[0], &lines[1]],
                booklet: "X1234567",
            },
            &cscas,
            now(),
        );
        assert!(report.result.is_ok(), "{:?}", report.result);
        reads.push(report.read_time.as_secs_f64() * 1e3);
        pas.push(report.pa_time.as_secs_f64() * 1e3);
        apdus = report.apdus;
    }
    println!(
        "  {:<28} open + read EF.COM, DG1, DG2, EF.SOD ({apdus} APDUs): {}",
        link.name(),
        stats(reads)
    );
    println!(
        "  {:<28} Passive Authentication: {}",
        link.name(),
        stats(pas)
    );
}

fn read(fixture: &[u8], n: usize, full: bool) {
    let office = TestOffice::new().expect("office");
    let settings = pstation::config::Settings::default_settings().expect("settings");
    let renderer = pstation::station::render::Renderer::new(settings.clone()).expect("renderer");
    let lines = renderer.mrz(fixture, "X1234567").expect("mrz");
    let card = || {
        office
            .card(fixture, "X1234567", &settings.mrz, None, os_rng())
            .expect("card")
    };
    println!("chip check of the fixture job's virtual e-passport ({n} runs each)");
    let dg2 = card()
        .file(pstation_chip::session::File::Dg2)
        .map_or(0, <[u8]>::len);
    println!("  (DG2 holds the fixture's portrait: {dg2} bytes)");
    run_checks(&mut DirectLink { card: Some(card()) }, &lines, &office, n);

    let mut port = VpcdPort::bind("127.0.0.1:0".parse().expect("addr"), Duration::from_secs(3))
        .expect("vpcd port");
    let _served = ServedCard::start(card(), port.local_addr()).expect("card");
    run_checks(&mut port, &lines, &office, n);

    // Under `cargo test` (a smoke run) PC/SC is left to the integration test that owns pcscd.
    if !full {
        println!("  pcsc: measured by `cargo bench --bench chip` only");
    } else if std::path::Path::new("/run/pcscd/pcscd.comm").exists() {
        let _served =
            ServedCard::start(card(), "127.0.0.1:35963".parse().expect("addr")).expect("card");
        let mut link = PcscLink::new("Virtual PCD 00 00").expect("PC/SC");
        // Until pcscd has seen the card.
        let end = Instant::now() + Duration::from_secs(30);
        while link.connect().is_err() {
            assert!(
                Instant::now() < end,
                "the virtual card never appeared in pcscd"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        link.disconnect();
        // Each run takes seconds through vpcd: fewer runs.
        run_checks(&mut link, &lines, &office, n.min(10));
    } else {
        println!("  pcsc: not measured — pcscd is not running (start pcscd with vsmartcard-vpcd)");
    }
}

/// A TCP proxy to the printer that notes when a job's first byte (`@PJL JOB`) goes through.
async fn proxy(to: SocketAddr, seen: Arc<Mutex<Vec<Instant>>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let _ = client.set_nodelay(true);
            let Ok(mut printer) = tokio::net::TcpStream::connect(to).await else {
                continue;
            };
            let _ = printer.set_nodelay(true);
            let seen = seen.clone();
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.split();
                let (mut pr, mut pw) = printer.split();
                let up = async {
                    let mut buf = vec![0u8; 65536];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if buf[..n].windows(8).any(|w| w == b"@PJL JOB") {
                            seen.lock().expect("lock").push(Instant::now());
                        }
                        if pw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = tokio::io::copy(&mut pr, &mut cw);
                tokio::select! { _ = up => {}, _ = down => {} }
            });
        }
    });
    addr
}

fn confirm(fixture: &[u8], jobs: usize) {
    println!("booklet confirmed → the job's first byte at the printer ({jobs} jobs each)");
    let office = TestOffice::new().expect("office");
    for with_chip in [false, true] {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let device = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let printer = common::simulated_printer(100, 100, 0);
            tokio::spawn(async move {
                while let Ok((sock, _)) = listener.accept().await {
                    let _ = sock.set_nodelay(true);
                    let p = printer.clone();
                    tokio::spawn(async move { serve(p, sock, no_control()).await });
                }
            });
            format!("tcp://{}", proxy(addr, seen.clone()).await)
        });
        let mut s = settings(&dir.path().join("data"), &device, true);
        if with_chip {
            s.chip = chip::ChipSettings {
                reader: Some(ChipReader::Vpcd("127.0.0.1:0".parse().expect("addr"))),
                cscas: vec![office.csca.certificate.clone()],
                ..Default::default()
            };
        }
        let running = runtime
            .block_on(daemon::start(s.clone(), DriverSettings::DEFAULT, None))
            .expect("start");
        let station = running.station.clone();
        let chip_addr: Option<SocketAddr> = station
            .chip_view()
            .reader
            .and_then(|r| r.strip_prefix("vpcd://").and_then(|a| a.parse().ok()));
        let mut times = Vec::new();
        runtime.block_on(async {
            station
                .receive_batch("X5000000".into(), "X5000099".into(), "bench")
                .await
                .expect("batch");
        });
        for i in 0..jobs {
            let (id, number) = (format!("C-{i:04}"), format!("X{:07}", 5_000_000 + i));
            let body = job_with(fixture, &id, &number);
            let _card = chip_addr.map(|addr| {
                let card = office
                    .card(&body, &number, &s.mrz, None, os_rng())
                    .expect("card");
                ServedCard::start(card, addr).expect("served")
            });
            runtime.block_on(async {
                station
                    .submit(pstation::station::Submission::Unsigned(body), "bench")
                    .await
                    .expect("submit");
                // Let the engine see the job waiting for its confirmation, idle.
                tokio::time::sleep(Duration::from_millis(300)).await;
                let before = seen.lock().expect("lock").len();
                let t0 = Instant::now();
                station
                    .confirm_booklet(&id, number.clone(), "bench")
                    .await
                    .expect("confirm");
                let end = Instant::now() + Duration::from_secs(30);
                loop {
                    if let Some(at) = seen.lock().expect("lock").get(before) {
                        times.push(at.duration_since(t0).as_secs_f64() * 1e3);
                        break;
                    }
                    assert!(Instant::now() < end, "{id} never reached the printer");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                // Until it printed, before the next one.
                let end = Instant::now() + Duration::from_secs(30);
                while station
                    .job_detail(&id)
                    .await
                    .map(|d| d.job.state.as_str() != "printed")
                    .unwrap_or(true)
                {
                    assert!(Instant::now() < end, "{id} never printed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
        println!(
            "  {:<28} {}",
            if with_chip {
                "with the chip gate (vpcd)"
            } else {
                "without a chip reader"
            },
            stats(times)
        );
        running.shutdown.cancel();
        runtime.block_on(async {
            let _ = running.engine.await;
        });
        runtime.shutdown_background();
    }
}
