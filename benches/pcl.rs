//! Criterion benchmark of the printer encoding: the fixture data page at 300 dpi, 1-bit, encoded
//! as PCL raster (modes 2/3, blank rows skipped) inside the PJL job envelope. Prints the bytes on
//! the wire against the uncompressed raster once, for BENCHMARKS.md.

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pstation_pjl::pcl::encode_page;
use pstation_pjl::pjl::{JobOptions, job};

fn bench(c: &mut Criterion) {
    let raster = common::budi_mono_300();
    let mut pcl = Vec::new();
    let stats = encode_page(&raster, 300, &mut pcl);
    let wire = job(
        &JobOptions {
            name: "SMD-2026-000123-1",
            echo_token: "E1",
            heartbeat_s: 30,
            end_token: None,
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
