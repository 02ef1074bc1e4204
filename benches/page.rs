//! Criterion benchmark of the data page: portrait preparation, page model, PDF, and the 300 dpi
//! raster, for a fixture job carrying the 600 x 800 photo-like JPEG portrait. Prints the PDF
//! size once so BENCHMARKS.md can record it.

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pstation::job::{MediaType, Portrait};
use pstation::layout::build::{Calibration, Layout};
use pstation::layout::fonts::Fonts;
use pstation::layout::page::ImageRole;
use pstation::layout::pdf::render_pdf;
use pstation::layout::portrait::{self, PortraitLimits, PrintBox};
use pstation::layout::raster::render_page;
use pstation::layout::template::Template;
use pstation::mrz::{self, MrzOptions};

fn bench(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut job = common::budi_job();
    job.portrait = Some(Portrait {
        media_type: MediaType::Jpeg,
        data: std::fs::read(format!("{root}/fixtures/portraits/silhouette-600x800.jpg"))
            .expect("portrait"),
    });
    let fonts = Fonts::shared().expect("fonts");
    let template = Template::default_template(&fonts).expect("template");
    let layout = Layout {
        template: &template,
        fonts: &fonts,
        limits: PortraitLimits::DEFAULT,
        calibration: Calibration::default(),
    };
    let td3 = mrz::generate(&job.td3_input(), &MrzOptions::ICAO_DEFAULT).expect("mrz");
    let page = layout.data_page(&job, &td3).expect("page");
    let pdf = render_pdf(&page, &fonts, "bench");
    eprintln!("PDF size: {} bytes", pdf.len());
    let images = page.images.clone();

    c.bench_function("pdf_from_page_model", |b| {
        b.iter(|| render_pdf(black_box(&page), &fonts, "bench"))
    });
    c.bench_function("page_model_from_prepared_images", |b| {
        b.iter(|| layout.data_page_with_images(black_box(&job), &td3, images.clone()))
    });
    let src = job.portrait.clone().expect("portrait");
    c.bench_function("portrait_decode_crop_scale_encode_600x800", |b| {
        b.iter(|| {
            let img = portrait::decode(black_box(&src), &PortraitLimits::DEFAULT).expect("decode");
            portrait::prepare(
                &img,
                ImageRole::Portrait,
                PrintBox {
                    width_mm: 35.0,
                    height_mm: 45.0,
                    dpi: 300,
                },
                false,
                None,
            )
        })
    });
    c.bench_function("job_to_pdf_total", |b| {
        b.iter(|| {
            let page = layout.data_page(black_box(&job), &td3).expect("page");
            render_pdf(&page, &fonts, "bench")
        })
    });
    let mut g = c.benchmark_group("raster");
    g.sample_size(30);
    g.bench_function("raster_300dpi_grey", |b| {
        b.iter(|| render_page(black_box(&pdf), 300).expect("raster").grey())
    });
    g.bench_function("raster_300dpi_mono", |b| {
        b.iter(|| render_page(black_box(&pdf), 300).expect("raster").mono())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
