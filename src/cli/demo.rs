//! `pstation demo`: the main job on the embedded defaults. At this stage of the product it runs
//! the sample jobs shipped in the binary through validation, the station policy and the MRZ
//! engine, lays out the data page of every accepted job (PDF + PNG preview in `--out-dir`),
//! prints it on the simulated passport printer (started in-process on a loopback port; its pages
//! land in `--out-dir/printer/`) through the real PJL driver, and shows what the station would
//! accept, refuse and why, and each printer-confirmed outcome.

use std::io::Write;

use std::path::Path;
use std::time::Duration;

use crate::config::Settings;
use crate::job::{self, ValidateOptions};
use crate::layout::build::Layout;
use crate::layout::fonts::Fonts;
use crate::layout::pdf::render_pdf;
use crate::layout::raster::render_page;
use crate::layout::template::Template;
use crate::mrz;
use crate::printer::pjl_driver::{DriverSettings, PjlPrinter, PrintOutcome};
use crate::printer::transport;
use crate::printer::uri::DeviceUri;

/// The sample jobs (synthetic people; see `fixtures/README.md`).
const SAMPLES: &[(&str, &str)] = &[
    (
        "santoso-budi",
        include_str!("../../fixtures/jobs/valid/santoso-budi.json"),
    ),
    (
        "partini",
        include_str!("../../fixtures/jobs/valid/partini.json"),
    ),
    (
        "lestari-putri-ayu-minor",
        include_str!("../../fixtures/jobs/valid/lestari-putri-ayu-minor.json"),
    ),
    (
        "prawirodirjo-long-name",
        include_str!("../../fixtures/jobs/valid/prawirodirjo-long-name.json"),
    ),
    (
        "nuraini-punctuation",
        include_str!("../../fixtures/jobs/policy/nuraini-punctuation.json"),
    ),
    (
        "ten-years-for-a-minor",
        include_str!("../../fixtures/jobs/policy/ten-years-for-a-minor.json"),
    ),
    (
        "many-problems",
        include_str!("../../fixtures/jobs/invalid/many-problems.json"),
    ),
];

pub(super) fn run(
    today: Option<time::Date>,
    out_dir: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<super::Exit> {
    let settings = match Settings::default_settings() {
        Ok(s) => s,
        Err(e) => {
            writeln!(
                err,
                "$: internal-error: the embedded configuration is invalid: {e}"
            )?;
            return Ok(super::Exit::Internal);
        }
    };
    let fonts = match Fonts::shared() {
        Ok(f) => f,
        Err(e) => {
            writeln!(err, "$: internal-error: {e}")?;
            return Ok(super::Exit::Internal);
        }
    };
    let template = match Template::default_template(&fonts) {
        Ok(t) => t,
        Err(e) => {
            writeln!(
                err,
                "$: internal-error: the shipped template is invalid: {e}"
            )?;
            return Ok(super::Exit::Internal);
        }
    };
    let layout = Layout {
        template: &template,
        fonts: &fonts,
        limits: settings.render.limits,
        calibration: settings.render.calibration,
    };
    if let Err(e) = std::fs::create_dir_all(out_dir) {
        writeln!(
            err,
            "{}: io: cannot create the output folder: {e}",
            out_dir.display()
        )?;
        return Ok(super::Exit::InvalidInput);
    }
    let today = today.unwrap_or_else(|| crate::today_at(settings.utc_offset));
    writeln!(
        out,
        "pstation demo: {} sample jobs through validation, the station policy ({} passports) and the MRZ engine, judged on {today}.",
        SAMPLES.len(),
        settings.policy.issuing_state
    )?;
    writeln!(out)?;
    let Some(runtime) = super::runtime(err)? else {
        return Ok(super::Exit::Internal);
    };
    let mut printer = runtime.block_on(start_simulated_printer(&out_dir.join("printer")));
    match &printer {
        Ok(_) => writeln!(
            out,
            "Simulated passport printer started (pages in {}).\n",
            out_dir.join("printer").display()
        )?,
        Err(e) => writeln!(
            out,
            "The simulated printer could not start ({e}); pages will be laid out only.\n"
        )?,
    }
    let (mut accepted, mut refused, mut confirmed) = (0, 0, 0);
    for (name, text) in SAMPLES {
        let opts = ValidateOptions {
            require_portrait: true,
        };
        let job = match job::parse_job(text.as_bytes(), &opts) {
            Ok(job) => job,
            Err(problems) => {
                refused += 1;
                writeln!(out, "{name}: REFUSED ({} problems)", problems.0.len())?;
                for p in &problems.0 {
                    writeln!(out, "    {p}")?;
                }
                writeln!(out)?;
                continue;
            }
        };
        let policy_problems = settings.policy.check(&job, today);
        if !policy_problems.is_empty() {
            refused += 1;
            writeln!(
                out,
                "{name} ({}): REFUSED by the station policy",
                job.job_id
            )?;
            for p in &policy_problems {
                writeln!(out, "    {p}")?;
            }
            writeln!(out)?;
            continue;
        }
        let page = mrz::generate(&job.td3_input(), &settings.mrz)
            .map_err(|e| e.to_string())
            .and_then(|td3| {
                layout
                    .data_page(&job, &td3)
                    .map(|page| (td3, page))
                    .map_err(|e| e.to_string())
            });
        match page {
            Ok((td3, page)) => {
                accepted += 1;
                let note = if td3.name_truncated {
                    "  (name truncated in the MRZ; shown in full on the page)"
                } else {
                    ""
                };
                writeln!(out, "{name} ({}): ACCEPTED{note}", job.job_id)?;
                writeln!(out, "    {}", td3.line1)?;
                writeln!(out, "    {}", td3.line2)?;
                let pdf = render_pdf(&page, &fonts, &format!("TD3 data page {}", job.job_id));
                let pdf_path = out_dir.join(format!("{}.pdf", job.job_id));
                let png_path = out_dir.join(format!("{}.png", job.job_id));
                let png = render_page(&pdf, 150).and_then(|r| r.png());
                match png {
                    Ok(png) => {
                        super::render::write_atomic(&pdf_path, &pdf)?;
                        super::render::write_atomic(&png_path, &png)?;
                        writeln!(
                            out,
                            "    data page: {} ({} bytes), preview: {}",
                            pdf_path.display(),
                            pdf.len(),
                            png_path.display()
                        )?;
                    }
                    Err(e) => writeln!(out, "    preview failed: {e}")?,
                }
                if let Ok(p) = printer.as_mut() {
                    let outcome = render_page(&pdf, 300).map(|r| r.mono()).map(|raster| {
                        runtime.block_on(p.print(
                            &format!("{}-a1", job.job_id),
                            &[raster],
                            300,
                            &tokio_util::sync::CancellationToken::new(),
                            |_| {},
                        ))
                    });
                    match outcome {
                        Ok(PrintOutcome::Completed { pages }) => {
                            confirmed += 1;
                            writeln!(
                                out,
                                "    printed: {pages} page confirmed by the printer (END with our job name and page count)"
                            )?;
                        }
                        Ok(other) => writeln!(out, "    printed: NOT confirmed: {other:?}")?,
                        Err(e) => writeln!(out, "    raster failed: {e}")?,
                    }
                }
                writeln!(out)?;
            }
            Err(e) => {
                refused += 1;
                writeln!(out, "{name} ({}): REFUSED: {e}", job.job_id)?;
                writeln!(out)?;
            }
        }
    }
    writeln!(
        out,
        "{accepted} accepted, {refused} refused, {confirmed} printed and confirmed by the printer."
    )?;
    writeln!(
        out,
        "Next stages add the durable queue (SQLite), booklet accounting and the daemon to this demo."
    )?;
    drop(printer);
    runtime.shutdown_background();
    Ok(super::Exit::Ok)
}

/// Starts the simulator on an ephemeral loopback port and connects the PJL driver to it.
async fn start_simulated_printer(pages: &Path) -> Result<PjlPrinter, String> {
    tokio::fs::create_dir_all(pages)
        .await
        .map_err(|e| format!("{}: {e}", pages.display()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let sim = pstation_sim::Printer::new(pstation_sim::SimOptions {
        printer: pstation_pjl::sim::SimConfig {
            model: "PSTATION SIMULATED PASSPORT PRINTER".to_owned(),
            warm_up_ms: 200,
            page_ms: 300,
            hopper: 50,
            page_count: 0,
            io_timeout_ms: 15_000,
        },
        baud: 0,
        out_dir: Some(pages.to_path_buf()),
    });
    tokio::spawn(async move {
        if let Ok((sock, _)) = listener.accept().await {
            let (_tx, rx) = tokio::sync::mpsc::channel(1);
            let _ = pstation_sim::serve(sim, sock, rx).await;
        }
    });
    let uri = DeviceUri::parse(&format!("tcp://{addr}")).map_err(|e| e.to_string())?;
    let stream = transport::open(&uri, Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    let mut printer = PjlPrinter::attach(stream, DriverSettings::DEFAULT);
    // Wait for the warm-up to finish.
    for _ in 0..50 {
        if printer.status().await.map_err(|e| e.to_string())?.ready() {
            return Ok(printer);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the simulated printer did not become ready".to_owned())
}
