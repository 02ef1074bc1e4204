//! `pstation demo`: the main job on the embedded defaults. At this stage of the product it runs
//! the sample jobs shipped in the binary through validation, the station policy and the MRZ
//! engine, and shows what the station would accept and what it would refuse, and why.

use std::io::Write;

use crate::config::Settings;
use crate::job::{self, ValidateOptions};
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
        include_str!("../../fixtures/jobs/valid/nuraini-punctuation.json"),
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
        match mrz::generate(&job.td3_input(), &settings.mrz) {
            Ok(td3) => {
                accepted += 1;
                let note = if td3.name_truncated {
                    "  (name truncated in the MRZ; shown in full on the page)"
                } else {
                    ""
                };
                writeln!(out, "{name} ({}): ACCEPTED{note}", job.job_id)?;
                writeln!(out, "    {}", td3.line1)?;
                writeln!(out, "    {}", td3.line2)?;
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
        "Next stages add the data page (PDF), the simulated printer and the durable queue to this demo."
    )?;
    Ok(super::Exit::Ok)
}
