//! `pstation demo`: the main job on the embedded defaults. At this stage of the product it runs
//! the sample jobs shipped in the binary through validation, the station policy and the MRZ
//! engine, lays out the data page of every accepted job (PDF + PNG preview in `--out-dir`), and
//! shows what the station would accept and what it would refuse, and why.

use std::io::Write;

use std::path::Path;

use crate::config::Settings;
use crate::job::{self, ValidateOptions};
use crate::layout::build::Layout;
use crate::layout::fonts::Fonts;
use crate::layout::pdf::render_pdf;
use crate::layout::raster::render_page;
use crate::layout::template::Template;
use crate::mrz;

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
    let (mut accepted, mut refused) = (0, 0);
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
                writeln!(out)?;
            }
            Err(e) => {
                refused += 1;
                writeln!(out, "{name} ({}): REFUSED: {e}", job.job_id)?;
                writeln!(out)?;
            }
        }
    }
    writeln!(out, "{accepted} accepted, {refused} refused.")?;
    writeln!(
        out,
        "Next stages add the simulated printer and the durable queue to this demo."
    )?;
    Ok(super::Exit::Ok)
}
