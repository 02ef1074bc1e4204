//! Turns a stored job into what the printer needs: the exact submitted bytes are parsed again,
//! the booklet number the job prints on becomes the document number (a reprint's new booklet),
//! the MRZ is generated and verified, the data page laid out as PDF and — for a printer that
//! takes bitmaps — rasterised to 1 bit at the printer's resolution.

use std::sync::Arc;

use pstation_printer_api::Bitmap;

use crate::config::Settings;
use crate::job::{self, ValidateOptions};
use crate::layout::build::Layout;
use crate::layout::fonts::Fonts;
use crate::layout::pdf::render_pdf;
use crate::layout::raster::render_page;
use crate::layout::template::Template;
use crate::mrz;

/// A job ready to print.
pub struct Rendered {
    /// The data page as PDF (shown to the counter on request, never kept on disk).
    pub pdf: Vec<u8>,
    /// The page as 1-bit bitmaps at `dpi` (none when the printer takes PDF only).
    pub pages: Vec<Bitmap>,
    /// The bitmaps' resolution (0 when there are none).
    pub dpi: u32,
}

impl Rendered {
    /// The print job for attempt `name` of job `job_id` on `booklet`.
    pub fn job<'a>(
        &'a self,
        name: &'a str,
        job_id: &'a str,
        booklet: &'a str,
    ) -> crate::printer::PrintJob<'a> {
        crate::printer::PrintJob {
            name,
            job_id,
            booklet,
            pdf: &self.pdf,
            pages: &self.pages,
            dpi: self.dpi,
        }
    }
}

/// Everything rendering needs, shared by the engine's blocking tasks.
pub struct Renderer {
    fonts: Arc<Fonts>,
    template: Template,
    settings: Settings,
}

/// Why a job could not be rendered (stable code first; no personal data).
#[derive(Debug, thiserror::Error, pstation_coded::Coded)]
pub enum RenderError {
    /// The station itself failed (fonts missing, the render task stopped).
    #[error("internal-error: {0}")]
    Internal(String),
    /// The page template does not load.
    #[error("template: {0}")]
    Template(String),
    /// The job's data does not fit the page.
    #[error("layout: {0}")]
    Layout(String),
    /// The stored job no longer validates.
    #[error("invalid-job: the stored job no longer validates: {0}")]
    InvalidJob(String),
    /// The MRZ cannot be made from the job.
    #[error("mrz: {0}")]
    Mrz(String),
    /// The page cannot be rasterised.
    #[error("raster: {0}")]
    Bitmap(String),
    /// The job's payload cannot be read from the store.
    #[error("store: {0}")]
    Store(#[source] crate::store::StoreError),
}

impl RenderError {
    /// The words after the code (the API carries the code beside them).
    pub fn message(&self) -> String {
        let text = self.to_string();
        match text.split_once(": ") {
            Some((code, rest)) if code == self.code() => rest.to_owned(),
            _ => text,
        }
    }
}

impl Renderer {
    /// A renderer with the settings' template (or the shipped one).
    pub fn new(settings: Settings) -> Result<Self, RenderError> {
        let fonts = Fonts::shared().map_err(|e| RenderError::Internal(e.to_string()))?;
        let template = match &settings.render.template {
            Some(path) => Template::load(path, &fonts),
            None => Template::default_template(&fonts),
        }
        .map_err(|e| RenderError::Template(e.to_string()))?;
        Ok(Self {
            fonts,
            template,
            settings,
        })
    }

    /// The station's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Renders the job submitted as `payload` on booklet `booklet`: the PDF, and its bitmap at
    /// `dpi` when the printer takes bitmaps.
    pub fn render(
        &self,
        payload: &[u8],
        booklet: &str,
        dpi: Option<u32>,
    ) -> Result<Rendered, RenderError> {
        let pdf = self.pdf(payload, booklet)?;
        Self::rendered(pdf, dpi)
    }

    fn rendered(pdf: Vec<u8>, dpi: Option<u32>) -> Result<Rendered, RenderError> {
        let pages = match dpi {
            Some(dpi) => vec![render_page(&pdf, dpi).map_err(raster_error)?.mono()],
            None => Vec::new(),
        };
        Ok(Rendered {
            pdf,
            pages,
            dpi: dpi.unwrap_or(0),
        })
    }

    /// Lays out the job submitted as `payload` on booklet `booklet` as a PDF data page.
    pub fn pdf(&self, payload: &[u8], booklet: &str) -> Result<Vec<u8>, RenderError> {
        let (job, td3) = self.job_and_mrz(payload, booklet)?;
        let page = self
            .layout()
            .data_page(&job, &td3)
            .map_err(|e| RenderError::Layout(e.to_string()))?;
        Ok(render_pdf(
            &page,
            &self.fonts,
            &format!("TD3 data page {}", job.job_id),
        ))
    }

    /// The counter's preview: the data page as a PNG at `dpi`.
    pub fn preview(&self, payload: &[u8], booklet: &str, dpi: u32) -> Result<Vec<u8>, RenderError> {
        let pdf = self.pdf(payload, booklet)?;
        render_page(&pdf, dpi)
            .and_then(|r| r.png())
            .map_err(raster_error)
    }

    /// The calibration page (rulers, zone outlines, the specimen MRZ, the offset in force) as
    /// the printer prints it: PDF, and a bitmap at `dpi` for a printer that takes bitmaps.
    pub fn calibration(&self, dpi: Option<u32>) -> Result<Rendered, RenderError> {
        let pdf = render_pdf(
            &self.layout().calibration_page(),
            &self.fonts,
            "calibration",
        );
        Self::rendered(pdf, dpi)
    }

    /// The two MRZ lines the job prints with on booklet `booklet` (no page is laid out).
    pub fn mrz(&self, payload: &[u8], booklet: &str) -> Result<[String; 2], RenderError> {
        let (_, td3) = self.job_and_mrz(payload, booklet)?;
        Ok([td3.line1, td3.line2])
    }

    /// The stored bytes parsed again, printed on `booklet`, and its verified MRZ.
    fn job_and_mrz(
        &self,
        payload: &[u8],
        booklet: &str,
    ) -> Result<(job::Job, mrz::Td3), RenderError> {
        let opts = ValidateOptions {
            require_portrait: true,
        };
        let mut job = job::parse_job(payload, &opts)
            .map_err(|p| RenderError::InvalidJob(p.codes().join(", ")))?;
        job.document.number = booklet.to_owned();
        let td3 = mrz::generate(&job.td3_input(), &self.settings.mrz)
            .map_err(|e| RenderError::Mrz(e.to_string()))?;
        Ok((job, td3))
    }

    fn layout(&self) -> Layout<'_> {
        Layout {
            template: &self.template,
            fonts: &self.fonts,
            limits: self.settings.render.limits,
            calibration: self.settings.render.calibration,
        }
    }
}

fn raster_error(e: crate::layout::raster::RasterError) -> RenderError {
    RenderError::Bitmap(e.to_string())
}
