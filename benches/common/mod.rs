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

/// The simulated passport printer the station benches drive: 100 ms warm-up, `page_ms` a
/// booklet, `hopper` booklets, paced at `baud` (0: unpaced), no pages written.
pub fn simulated_printer(
    page_ms: u64,
    hopper: u32,
    baud: u32,
) -> std::sync::Arc<pstation_sim::Printer> {
    pstation_sim::Printer::new(pstation_sim::SimOptions {
        printer: pstation_pjl::sim::SimConfig {
            model: "PSTATION SIMULATED PASSPORT PRINTER".into(),
            warm_up_ms: 100,
            page_ms,
            hopper,
            page_count: 0,
            io_timeout_ms: 15_000,
        },
        baud,
        out_dir: None,
    })
}

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

/// The fixture job under another id and passport number.
pub fn job_with(fixture: &[u8], id: &str, number: &str) -> Vec<u8> {
    let text = std::str::from_utf8(fixture).expect("utf-8");
    text.replace("SMD-2026-000123", id)
        .replace("X1234567", number)
        .into_bytes()
}

/// Station settings for a benchmark: data in `dir`, the printer at `device`, booklet
/// confirmation as `confirm`, unsigned jobs and no API tokens (a lab).
pub fn settings(dir: &std::path::Path, device: &str, confirm: bool) -> pstation::config::Settings {
    let mut s = pstation::config::Settings::default_settings().expect("settings");
    s.daemon.data_dir = dir.to_owned();
    // The store key beside the data folder (made the first time, as a station's installer does).
    s.daemon.key_file = dir.with_extension("key");
    if !s.daemon.key_file.exists() {
        pstation::store::StoreKey::generate(&s.daemon.key_file).expect("store key");
    }
    s.daemon.listen = "127.0.0.1:0".parse().expect("addr");
    s.daemon.device = pstation::printer::parse_uri(device).expect("uri");
    s.daemon.require_booklet_confirmation = confirm;
    // Lab: unsigned jobs, no API tokens (the submit bench's production run adds both).
    s.central.require_signed_jobs = false;
    s.api.require_tokens = false;
    s
}
