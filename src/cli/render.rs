//! `pstation render`: data pages (PDF, optional PNG preview) for one or many jobs, and the
//! calibration page. Files are written atomically: a job that fails leaves nothing behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{CmdResult, Exit, load_settings};
use crate::config::Settings;
use crate::job::{self, ValidateOptions};
use crate::layout::build::{Calibration, Layout};
use crate::layout::fonts::Fonts;
use crate::layout::pdf::render_pdf;
use crate::layout::raster::render_page;
use crate::layout::template::{Template, TemplateError};
use crate::mrz;

/// What `pstation render` was asked to do.
#[derive(Debug, Clone, clap::Args)]
pub struct RenderArgs {
    /// Job JSON files (`-` for stdin).
    pub jobs: Vec<PathBuf>,
    /// Print the calibration page (rulers, zone outlines, MRZ test line) instead.
    #[arg(long)]
    pub calibration: bool,
    /// Output PDF for one job or the calibration page.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output folder for several jobs (`<job_id>.pdf` each).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Also write a PNG preview (one job or the calibration page).
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Resolution of the preview.
    #[arg(long, default_value_t = 300)]
    pub dpi: u32,
    /// Calibration offset to the right, in mm (overrides the configuration).
    #[arg(long, value_name = "MM", allow_hyphen_values = true)]
    pub offset_x: Option<f32>,
    /// Calibration offset upwards, in mm (overrides the configuration).
    #[arg(long, value_name = "MM", allow_hyphen_values = true)]
    pub offset_y: Option<f32>,
    /// Station configuration (TOML); the embedded default when absent.
    #[arg(long, env = "PSTATION_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data page template (TOML); the configured or shipped template when absent.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Apply ICAO rules only, not the station policy (specimens, other States' data).
    #[arg(long)]
    pub icao_only: bool,
    /// Judge the policy as on this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE", value_parser = super::parse_date)]
    pub today: Option<time::Date>,
}

/// Why one job could not be rendered.
enum JobFailure {
    /// Bad input: problems were written.
    Invalid,
    /// A bug (the MRZ failed its own verification).
    Internal,
}

pub use crate::fsio::write_atomic;

fn load_template(
    path: Option<&Path>,
    fonts: &Fonts,
    err: &mut dyn Write,
) -> std::io::Result<Option<Template>> {
    let loaded = match path {
        Some(p) => Template::load(p, fonts),
        None => Template::default_template(fonts),
    };
    match loaded {
        Ok(t) => Ok(Some(t)),
        Err(TemplateError::Invalid(problems)) => {
            for p in &problems.0 {
                writeln!(err, "{p}")?;
            }
            Ok(None)
        }
        Err(e) => {
            writeln!(err, "{e}")?;
            Ok(None)
        }
    }
}

/// Renders one job file to PDF bytes, or writes its problems to `err` as
/// `<json path>: <code>: <message>` lines (prefixed with the file when several jobs are given).
fn render_job(
    path: &Path,
    prefix: &str,
    settings: &Settings,
    ctx: &RenderContext<'_>,
    err: &mut dyn Write,
) -> std::io::Result<Result<(String, Vec<u8>), JobFailure>> {
    let bytes = match super::read_job_bytes(path) {
        Ok(b) => b,
        Err(p) => {
            writeln!(err, "{p}")?;
            return Ok(Err(JobFailure::Invalid));
        }
    };
    let opts = ValidateOptions {
        require_portrait: true,
    };
    let job = match job::parse_job(&bytes, &opts) {
        Ok(j) => j,
        Err(problems) => {
            for p in &problems.0 {
                writeln!(err, "{prefix}{p}")?;
            }
            return Ok(Err(JobFailure::Invalid));
        }
    };
    if let Some(today) = ctx.policy_today {
        let problems = settings.policy.check(&job, today);
        if !problems.is_empty() {
            for p in &problems {
                writeln!(err, "{prefix}{p}")?;
            }
            return Ok(Err(JobFailure::Invalid));
        }
    }
    let td3 = match mrz::generate(&job.td3_input(), &settings.mrz) {
        Ok(t) => t,
        Err(e) => match super::mrz_problem(&e) {
            Some(p) => {
                writeln!(err, "{prefix}{p}")?;
                return Ok(Err(JobFailure::Invalid));
            }
            None => {
                tracing::error!(job_id = %job.job_id, error = %e, "MRZ self-check failed");
                writeln!(err, "{prefix}$: internal-error: {e}")?;
                return Ok(Err(JobFailure::Internal));
            }
        },
    };
    let page = match ctx.layout.data_page(&job, &td3) {
        Ok(p) => p,
        Err(e) => {
            writeln!(err, "{prefix}{e}")?;
            return Ok(Err(JobFailure::Invalid));
        }
    };
    if td3.possibly_truncated {
        writeln!(
            err,
            "note: {prefix}{}",
            super::truncation_note(&job, td3.name_truncated)
        )?;
    }
    for n in &page.notices {
        writeln!(err, "note: {prefix}job {}: {n}", job.job_id)?;
    }
    let pdf = render_pdf(
        &page,
        ctx.layout.fonts,
        &format!("TD3 data page {}", job.job_id),
    );
    tracing::info!(job_id = %job.job_id, bytes = pdf.len(), "data page rendered");
    Ok(Ok((job.job_id, pdf)))
}

/// `f` over `items` on up to `workers` threads, the results in `items`' order.
fn par_map<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = workers.min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            // A worker's panic is this thread's, as it would be without workers.
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// What every job of one `render` run shares.
struct RenderContext<'a> {
    layout: Layout<'a>,
    /// `Some(today)` applies the station policy.
    policy_today: Option<time::Date>,
}

fn write_outputs(
    pdf_path: &Path,
    pdf: &[u8],
    png: Option<(&Path, u32)>,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    // Render the preview first so that a failure leaves neither file.
    let png_bytes = match png {
        Some((_, dpi)) => match render_page(pdf, dpi).and_then(|r| r.png()) {
            Ok(b) => Some(b),
            Err(e) => {
                writeln!(err, "{}: preview: {e}", pdf_path.display())?;
                return Ok(false);
            }
        },
        None => None,
    };
    if let Err(e) = write_atomic(pdf_path, pdf) {
        writeln!(err, "{}: io: cannot write: {e}", pdf_path.display())?;
        return Ok(false);
    }
    if let (Some((png_path, _)), Some(bytes)) = (png, png_bytes)
        && let Err(e) = write_atomic(png_path, &bytes)
    {
        writeln!(err, "{}: io: cannot write: {e}", png_path.display())?;
        let _ = std::fs::remove_file(pdf_path);
        return Ok(false);
    }
    Ok(true)
}

pub(super) fn run(args: RenderArgs, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let Some(settings) = load_settings(args.config.as_deref(), err)? else {
        return Ok(Exit::InvalidInput);
    };
    if !(72..=1200).contains(&args.dpi) {
        writeln!(
            err,
            "--dpi: dpi: {} is not supported; use 72 to 1200",
            args.dpi
        )?;
        return Ok(Exit::InvalidInput);
    }
    let fonts = match Fonts::shared() {
        Ok(f) => f,
        Err(e) => {
            writeln!(err, "$: internal-error: {e}")?;
            return Ok(Exit::Internal);
        }
    };
    let template_path = args
        .template
        .as_deref()
        .or(settings.render.template.as_deref());
    let Some(template) = load_template(template_path, &fonts, err)? else {
        return Ok(Exit::InvalidInput);
    };
    let calibration = Calibration {
        offset_x_mm: args
            .offset_x
            .unwrap_or(settings.render.calibration.offset_x_mm),
        offset_y_mm: args
            .offset_y
            .unwrap_or(settings.render.calibration.offset_y_mm),
    };
    for (flag, v) in [
        ("--offset-x", calibration.offset_x_mm),
        ("--offset-y", calibration.offset_y_mm),
    ] {
        if !(-5.0..=5.0).contains(&v) || !v.is_finite() {
            writeln!(err, "{flag}: offset: {v} mm is outside -5 to +5 mm")?;
            return Ok(Exit::InvalidInput);
        }
    }
    let layout = Layout {
        template: &template,
        fonts: &fonts,
        limits: settings.render.limits,
        calibration,
    };
    let policy_today = (!args.icao_only).then(|| {
        args.today
            .unwrap_or_else(|| crate::today_at(settings.utc_offset))
    });
    let ctx = RenderContext {
        layout,
        policy_today,
    };
    if let (Some(a), Some(b)) = (&args.out, &args.png)
        && a == b
    {
        writeln!(err, "--png: same-path: the preview would overwrite the PDF")?;
        return Ok(Exit::InvalidInput);
    }

    if args.calibration {
        let (Some(out_path), true) = (&args.out, args.jobs.is_empty()) else {
            writeln!(
                err,
                "usage: pstation render --calibration --out cal.pdf [--png cal.png]"
            )?;
            return Ok(Exit::InvalidInput);
        };
        let page = ctx.layout.calibration_page();
        let pdf = render_pdf(&page, &fonts, "TD3 calibration page");
        let ok = write_outputs(
            out_path,
            &pdf,
            args.png.as_deref().map(|p| (p, args.dpi)),
            err,
        )?;
        if ok {
            writeln!(out, "{}", out_path.display())?;
        }
        return Ok(if ok { Exit::Ok } else { Exit::InvalidInput });
    }

    match (&args.out, &args.out_dir, args.jobs.len()) {
        (Some(out_path), None, 1) => {
            let (_, pdf) = match render_job(&args.jobs[0], "", &settings, &ctx, err)? {
                Ok(r) => r,
                Err(JobFailure::Invalid) => return Ok(Exit::InvalidInput),
                Err(JobFailure::Internal) => return Ok(Exit::Internal),
            };
            if !write_outputs(
                out_path,
                &pdf,
                args.png.as_deref().map(|p| (p, args.dpi)),
                err,
            )? {
                return Ok(Exit::InvalidInput);
            }
            writeln!(out, "{}", out_path.display())?;
            Ok(Exit::Ok)
        }
        (None, Some(dir), n) if n >= 1 && args.png.is_none() => {
            // Every core lays out pages, each job on its own, and writes its file under a
            // temporary name; all are synced together; then, in the order the jobs were given, each job's
            // messages are told and its file renamed into place — or removed, when an earlier
            // file has the same job id — and the folder is synced once for all of them.
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            let mut rendered = par_map(&args.jobs, cores, |job_path| {
                let prefix = format!("{}: ", job_path.display());
                let mut messages = Vec::new();
                let result =
                    render_job(job_path, &prefix, &settings, &ctx, &mut messages).map(|r| {
                        r.map(|(job_id, pdf)| {
                            let target = dir.join(format!("{job_id}.pdf"));
                            let staged = crate::fsio::Staged::write(&target, &pdf);
                            (job_id, target, staged)
                        })
                    });
                (prefix, messages, result)
            });
            // All written, then put on disk together: one commit of the file system for the
            // batch instead of one per file (each file is still synced on its own if that fails).
            if crate::fsio::sync_file_system(dir).is_ok() {
                for (_, _, result) in &mut rendered {
                    if let Ok(Ok((_, _, Ok(staged)))) = result {
                        staged.synced_with_file_system();
                    }
                }
            }
            let mut exit = Exit::Ok;
            let mut written: Vec<String> = Vec::new();
            let mut published = Vec::new();
            for (prefix, messages, result) in rendered {
                err.write_all(&messages)?;
                let failed = match result? {
                    Ok((job_id, _, _)) if written.contains(&job_id) => {
                        // Its staged file (if any) is removed as it drops.
                        writeln!(
                            err,
                            "{prefix}job_id: duplicate-job-id: another file in this run has the same job_id; nothing written for this one"
                        )?;
                        Exit::InvalidInput
                    }
                    Ok((job_id, target, staged)) => {
                        match staged.and_then(crate::fsio::Staged::publish) {
                            Ok(()) => {
                                written.push(job_id);
                                published.push(target);
                                continue;
                            }
                            Err(e) => {
                                writeln!(err, "{}: io: cannot write: {e}", target.display())?;
                                Exit::InvalidInput
                            }
                        }
                    }
                    Err(JobFailure::Invalid) => Exit::InvalidInput,
                    Err(JobFailure::Internal) => Exit::Internal,
                };
                if failed == Exit::Internal || exit == Exit::Ok {
                    exit = failed;
                }
            }
            crate::fsio::sync_dir(dir);
            for target in published {
                writeln!(out, "{}", target.display())?;
            }
            Ok(exit)
        }
        _ => {
            writeln!(
                err,
                "usage: pstation render JOB.json --out page.pdf [--png page.png] [--dpi 300] | pstation render J1.json J2.json ... --out-dir DIR | pstation render --calibration --out cal.pdf"
            )?;
            Ok(Exit::InvalidInput)
        }
    }
}
