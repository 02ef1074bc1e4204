//! Criterion benchmark of the printer encoding: the fixture data page at 300 dpi, 1-bit, encoded
//! as PCL raster (modes 2/3, blank rows skipped) inside the PJL job envelope. Prints the bytes on
//! the wire against the uncompressed raster once, for BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pstation::job::{ValidateOptions, parse_job};
use pstation::layout::build::{Calibration, Layout};
use pstation::layout::fonts::Fonts;
use pstation::layout::pdf::render_pdf;
use pstation::layout::portrait::PortraitLimits;
use pstation::layout::raster::render_page;
use pstation::layout::template::Template;
use pstation::mrz::{self, MrzOptions};
use pstation_pjl::pcl::encode_page;
use pstation_pjl::pjl::{JobOptions, job};

fn bench(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let bytes =
        std::fs::read(format!("{root}/fixtures/jobs/valid/santoso-budi.json")).expect("fixture");
    let job_data = parse_job(
        &bytes,
        &ValidateOptions {
            require_portrait: true,
        },
    )
    .expect("valid");
    let fonts = Fonts::shared().expect("fonts");
    let template = Template::default_template(&fonts).expect("template");
    let layout = Layout {
        template: &template,
        fonts: &fonts,
        limits: PortraitLimits::DEFAULT,
        calibration: Calibration::default(),
    };
    let td3 = mrz::generate(&job_data.td3_input(), &MrzOptions::ICAO_DEFAULT).expect("mrz");
    let page = layout.data_page(&job_data, &td3).expect("page");
    let pdf = render_pdf(&page, &fonts, "bench");
    let raster = render_page(&pdf, 300).expect("raster").mono();
    let mut pcl = Vec::new();
    let stats = encode_page(&raster, 300, &mut pcl);
    let wire = job(
        &JobOptions {
            name: "SMD-2026-000123-1",
            echo_token: "E1",
            heartbeat_s: 30,
        },
        &pcl,
    )
    .expect("job");
    eprintln!(
        "raster {} x {} = {} bytes uncompressed; PCL {} bytes; on the wire {} bytes = {:.1} %; {:?}; \
         at 115200 baud 8N1 the wire takes {:.2} s",
        raster.width,
        raster.height,
        raster.bits.len(),
        pcl.len(),
        wire.len(),
        wire.len() as f64 * 100.0 / raster.bits.len() as f64,
        stats,
        wire.len() as f64 * 10.0 / 115_200.0
    );
    c.bench_function("pcl_encode_page_300dpi_1bit", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(64 * 1024);
            encode_page(black_box(&raster), 300, &mut out);
            out
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
