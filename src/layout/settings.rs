//! The `[render]` section of the station's configuration: its file form and its validation
//! into the renderer's settings (the layout owns its settings; `config` only reads the file).

use serde::Deserialize;

/// The `[render]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRender {
    template: String,
    offset_x_mm: f32,
    offset_y_mm: f32,
    max_portrait_bytes: u64,
    max_portrait_megapixels: u32,
}

/// Validated `[render]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSettings {
    /// A template file, or `None` for the shipped template.
    pub template: Option<std::path::PathBuf>,
    /// The printer's calibration.
    pub calibration: super::build::Calibration,
    /// Portrait limits.
    pub limits: super::portrait::PortraitLimits,
}

impl RawRender {
    /// Checks every value (each problem goes to `bad` with its key path); the settings when
    /// all are good.
    pub fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<RenderSettings> {
        let r = self;
        let mut ok = true;
        let mut bad = |path: &str, message: String| {
            ok = false;
            bad(path, message);
        };
        for (key, v) in [
            ("render.offset_x_mm", r.offset_x_mm),
            ("render.offset_y_mm", r.offset_y_mm),
        ] {
            if !v.is_finite() || !(-5.0..=5.0).contains(&v) {
                bad(
                    key,
                    format!("{v} is outside -5 to +5 mm; check the printer's feed"),
                );
            }
        }
        let job_limit = crate::job::MAX_PORTRAIT_BYTES as u64;
        if !(10_000..=job_limit).contains(&r.max_portrait_bytes) {
            bad(
                "render.max_portrait_bytes",
                format!("must be 10000 to {job_limit} (the job format's limit)"),
            );
        }
        if !(1..=200).contains(&r.max_portrait_megapixels) {
            bad(
                "render.max_portrait_megapixels",
                "must be 1 to 200".to_owned(),
            );
        }
        ok.then(|| RenderSettings {
            template: (!r.template.is_empty()).then(|| std::path::PathBuf::from(&r.template)),
            calibration: super::build::Calibration {
                offset_x_mm: r.offset_x_mm,
                offset_y_mm: r.offset_y_mm,
            },
            limits: super::portrait::PortraitLimits {
                max_bytes: r.max_portrait_bytes as usize,
                max_pixels: u64::from(r.max_portrait_megapixels) * 1_000_000,
            },
        })
    }
}
