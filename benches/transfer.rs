//! Transfer benchmark (a bench binary, not criterion): the fixture data page at 300 dpi, 1-bit,
//! printed by the PJL driver over a real PTY to the simulator paced at 115200 baud 8N1, timed
//! end to end and compared with the link's limit, bytes × 10 / baud. `cargo bench --bench
//! transfer` runs 5 prints; under `cargo test` it runs one as a smoke test.

mod common;

use std::time::{Duration, Instant};

use pstation::printer::pjl::transport;
use pstation::printer::pjl::{LinkUri, PjlPrinter};
use pstation::printer::{DriverSettings, PrintOutcome};
use pstation_pjl::pcl::encode_job;
use pstation_pjl::pjl::{JobOptions, job};
use pstation_pjl::sim::SimConfig;
use pstation_sim::{Printer, SimOptions, serve};

const BAUD: u32 = 115_200;

fn main() {
    let runs = if std::env::args().any(|a| a == "--bench") {
        5
    } else {
        1
    };
    let raster = common::budi_mono_300();
    let mut pcl = Vec::new();
    encode_job(std::slice::from_ref(&raster), 300, &mut pcl);
    let wire = job(
        &JobOptions {
            name: "BENCH-000000-a1",
            echo_token: "PST0-0",
            heartbeat_s: 30,
            end_token: None,
        },
        &pcl,
    )
    .expect("job")
    .len();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (master, slave) = tokio_serial::SerialStream::pair().expect("pty pair");
        let path = {
            use tokio_serial::SerialPort;
            slave.name().expect("slave path")
        };
        let sim = Printer::new(SimOptions {
            printer: SimConfig {
                model: "BENCH".into(),
                warm_up_ms: 0,
                page_ms: 1,
                hopper: 1000,
                page_count: 0,
                io_timeout_ms: 15_000,
            },
            baud: BAUD,
            out_dir: None,
        });
        let (_tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            let _keep = slave;
            let _ = serve(sim, master, rx).await;
        });
        let uri = LinkUri::parse(&format!("serial://{path}?baud={BAUD}&flow=none")).expect("uri");
        let stream = transport::open(&uri, Duration::from_secs(5))
            .await
            .expect("open");
        let mut printer = PjlPrinter::attach(stream, DriverSettings::DEFAULT);
        let limit = wire as f64 * 10.0 / f64::from(BAUD);
        let mut times = Vec::new();
        for i in 0..runs {
            let start = Instant::now();
            let outcome = printer
                .print(
                    &format!("BENCH-{i:06}-a1"),
                    std::slice::from_ref(&raster),
                    300,
                    &tokio_util::sync::CancellationToken::new(),
                    |_| {},
                )
                .await;
            let t = start.elapsed().as_secs_f64();
            assert_eq!(outcome, PrintOutcome::Confirmed { pages: 1 });
            times.push(t);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "transfer over PTY at {BAUD} baud: {wire} bytes on the wire, link limit {limit:.3} s, \
             print() median {median:.3} s over {runs} run(s) = {:+.1} % of the limit \
             (includes the INFO STATUS request and the END reply)",
            (median / limit - 1.0) * 100.0
        );
    });
}
