//! PDF → raster with the pure-Rust `hayro`: 8-bit grey and 1-bit bitmaps at the printer's
//! resolution, and the PNG preview for operators.

use std::io::Cursor;
use std::sync::Arc;

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings, render};
use image::{GrayImage, ImageFormat, RgbImage};
pub use pstation_printer_api::Bitmap;

/// Why a PDF could not be rasterised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RasterError {
    /// hayro could not read the PDF.
    #[error("the PDF cannot be read for rasterising")]
    Unreadable,
    /// The PDF has no page.
    #[error("the PDF has no page")]
    NoPage,
    /// The requested resolution is out of range.
    #[error("{0} dpi is not supported; use 72 to 1200")]
    Dpi(u32),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// A rendered page: RGBA pixels (opaque) at a resolution.
pub struct Rendered {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
    /// The resolution.
    pub dpi: u32,
}

/// Renders the first page of `pdf` at `dpi` on white.
pub fn render_page(pdf: &[u8], dpi: u32) -> Result<Rendered, RasterError> {
    if !(72..=1200).contains(&dpi) {
        return Err(RasterError::Dpi(dpi));
    }
    let doc = Pdf::new(Arc::new(pdf.to_vec())).map_err(|_| RasterError::Unreadable)?;
    let pages = doc.pages();
    let page = pages.first().ok_or(RasterError::NoPage)?;
    let scale = dpi as f32 / 72.0;
    let pixmap = render(
        page,
        &RenderCache::new(),
        &InterpreterSettings::default(),
        &RenderSettings::default(),
        &PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: WHITE,
        },
    );
    // The background is opaque white, so premultiplied and straight colour are the same.
    Ok(Rendered {
        width: u32::from(pixmap.width()),
        height: u32::from(pixmap.height()),
        rgba: pixmap.data_as_u8_slice().to_vec(),
        dpi,
    })
}

impl Rendered {
    /// Pixels across and down.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The colour pixels.
    pub fn rgb(&self) -> RgbImage {
        let mut rgb = RgbImage::new(self.width, self.height);
        for (dst, src) in rgb.pixels_mut().zip(self.rgba.chunks_exact(4)) {
            dst.0 = [src[0], src[1], src[2]];
        }
        rgb
    }

    /// 8-bit grey (ITU-R BT.709 luma, integer weights 54/183/19 of 256).
    pub fn grey(&self) -> GrayImage {
        let data = self
            .rgba
            .chunks_exact(4)
            .map(|p| {
                ((54 * u32::from(p[0]) + 183 * u32::from(p[1]) + 19 * u32::from(p[2]) + 128) >> 8)
                    as u8
            })
            .collect();
        // `data` has exactly width × height entries (one per RGBA pixel).
        GrayImage::from_raw(self.width, self.height, data).unwrap_or_default()
    }

    /// 1-bit: `true` = ink. Text and lines are thresholded at 50 %; tones (the portrait) are
    /// halftoned with an 8 × 8 Bayer matrix, which keeps text edges sharp and is deterministic.
    pub fn mono(&self) -> Bitmap {
        let grey = self.grey();
        let (w, h) = grey.dimensions();
        let stride = w.div_ceil(8) as usize;
        let mut bits = vec![0u8; stride * h as usize];
        for (x, y, p) in grey.enumerate_pixels() {
            let threshold = (BAYER8[(y % 8) as usize][(x % 8) as usize] as u32 * 4 + 2) as u8;
            if p.0[0] < threshold {
                bits[y as usize * stride + (x / 8) as usize] |= 0x80 >> (x % 8);
            }
        }
        Bitmap {
            width: w,
            height: h,
            stride,
            bits,
        }
    }

    /// The PNG preview (RGB).
    pub fn png(&self) -> Result<Vec<u8>, RasterError> {
        let mut out = Cursor::new(Vec::new());
        self.rgb()
            .write_to(&mut out, ImageFormat::Png)
            .map_err(|e| RasterError::Png(e.to_string()))?;
        Ok(out.into_inner())
    }
}

/// The 8 × 8 Bayer ordered-dither matrix (values 0-63).
const BAYER8: [[u8; 8]; 8] = [
    [0, 32, 8, 40, 2, 34, 10, 42],
    [48, 16, 56, 24, 50, 18, 58, 26],
    [12, 44, 4, 36, 14, 46, 6, 38],
    [60, 28, 52, 20, 62, 30, 54, 22],
    [3, 35, 11, 43, 1, 33, 9, 41],
    [51, 19, 59, 27, 49, 17, 57, 25],
    [15, 47, 7, 39, 13, 45, 5, 37],
    [63, 31, 55, 23, 61, 29, 53, 21],
];
