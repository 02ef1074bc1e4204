//! Setup shared by the benchmarks: the SANTOSO / BUDI fixture job and its data page.

#![allow(dead_code)] // each bench binary uses a part of this module

use pstation::job::{Job, ValidateOptions, parse_job};
use pstation::layout::build::{Calibration, Layout};
use pstation::layout::fonts::Fonts;
use pstation::layout::pdf::render_pdf;
use pstation::layout::portrait::PortraitLimits;
use pstation::layout::raster::{Bitmap, render_page};
use pstation::layout::template::Template;
use pstation::mrz::{self, MrzOptions};

/// The fixture job `fixtures/jobs/valid/santoso-budi.json`.
pub fn budi_job() -> Job {
    let root = env!("CARGO_MANIFEST_DIR");
    let bytes =
        std::fs::read(format!("{root}/fixtures/jobs/valid/santoso-budi.json")).expect("fixture");
    parse_job(
        &bytes,
        &ValidateOptions {
            require_portrait: true,
        },
    )
    .expect("valid")
}

/// Runs `f` with the shipped template, shared fonts and default limits.
pub fn with_layout<R>(f: impl FnOnce(&Layout<'_>) -> R) -> R {
    let fonts = Fonts::shared().expect("fonts");
    let template = Template::default_template(&fonts).expect("template");
    f(&Layout {
        template: &template,
        fonts: &fonts,
        limits: PortraitLimits::DEFAULT,
        calibration: Calibration::default(),
    })
}

/// The fixture job's data page at 300 dpi, 1 bit: what the printer driver sends.
pub fn budi_mono_300() -> Bitmap {
    let job = budi_job();
    with_layout(|layout| {
        let td3 = mrz::generate(&job.td3_input(), &MrzOptions::ICAO_DEFAULT).expect("mrz");
        let page = layout.data_page(&job, &td3).expect("page");
        let pdf = render_pdf(&page, layout.fonts, "bench");
        render_page(&pdf, 300).expect("raster").mono()
    })
}
