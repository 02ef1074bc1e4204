//! Reads the MRZ back from a printed page's 1-bit bitmap, as a document reader would: finds the
//! two OCR-B lines near the bottom of the page and recognises each character by template
//! matching against the embedded OCR-B font rendered through the same PDF → raster path at the
//! page's resolution. The reader simulator reads the page the printer simulator printed with
//! this, so a fault anywhere between the MRZ engine and the printer's bitmap shows as a bad read.
//!
//! How: templates are the 37 MRZ characters drawn isolated (three cells apart) on a page built
//! with the layout's own text runs at the MRZ size, so each has the same subpixel phase as on a
//! data page. On the page, the rows of ink in the bottom 30 mm give the line bands; a line's
//! origin is the one (tried over one character pitch from the line's leftmost ink) that makes
//! its first characters match best; then each 2.54 mm cell is compared with every template,
//! allowing a pixel or two of drift, by counting differing pixels (rows packed in `u128`). A
//! cell whose best template still differs in more than a third of their ink is unreadable: `?`.

use std::sync::Arc;

use pstation_printer_api::Bitmap;

use super::build::{MRZ_SIZE_PT, mrz_geometry};
use super::fonts::{Face, Fonts};
use super::page::{Item, Page, TextRole, TextRun};
use super::pdf::render_pdf;
use super::raster::{RasterError, render_page};

/// The characters an MRZ is made of.
pub const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<";
/// What a line holds where a character could not be recognised.
pub const UNREADABLE: char = '?';
/// A TD3 line's length.
const LINE: usize = 44;
/// The MRZ zone searched, from the bottom edge (Zone VII is 23.2 mm; the rest allows for the
/// printer's calibration offset).
const ZONE_MM: f32 = 30.0;
/// Characters per template row on the template page, each three cells from the next.
const PER_ROW: usize = 13;
/// Vertical drift tried, in pixels, each way.
const DY: i32 = 2;
/// Horizontal drift tried per cell, in pixels, each way.
const DX: i32 = 1;
/// Cells used to find a line's origin.
const ORIGIN_CELLS: usize = 4;

/// Why a reader cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadbackError {
    /// The resolution is outside what the reader handles.
    #[error("readback-dpi: {0} dpi is outside 150 to 1200 dpi")]
    Dpi(u32),
    /// The templates could not be rendered.
    #[error("readback-template: the OCR-B templates could not be rendered: {0}")]
    Template(RasterError),
    /// The template page did not show a character where it was drawn.
    #[error("readback-template: no ink where {0:?} was drawn")]
    Blank(char),
    /// A page image that cannot be decoded.
    #[error("readback-image: the page image cannot be read: {0}")]
    Image(String),
}

/// A page image (PNG, as the printer simulator writes each page) as a 1-bit bitmap: ink where
/// a pixel is darker than mid-grey.
pub fn bitmap_from_image(bytes: &[u8]) -> Result<Bitmap, ReadbackError> {
    let grey = image::load_from_memory(bytes)
        .map_err(|e| ReadbackError::Image(e.to_string()))?
        .to_luma8();
    let (w, h) = grey.dimensions();
    let mut page = Bitmap::blank(w, h);
    for (x, y, p) in grey.enumerate_pixels() {
        if p.0[0] < 128 {
            page.bits[y as usize * page.stride + (x / 8) as usize] |= 0x80 >> (x % 8);
        }
    }
    Ok(page)
}

/// The resolution a TD3 page image was printed at, from its width (125 mm).
pub fn page_dpi(page: &Bitmap) -> u32 {
    (page.width as f32 * 25.4 / 125.0).round() as u32
}

/// One character's template: its cell's rows (bit `w - 1 - k` is pixel `k`), from `top` rows
/// above the baseline.
#[derive(Debug, Clone)]
struct Template {
    ch: char,
    rows: Vec<u128>,
    ink: u32,
}

/// An OCR-B reader for pages at one resolution.
#[derive(Debug, Clone)]
pub struct MrzReader {
    dpi: u32,
    /// Pixels per character (2.54 mm).
    pitch: f32,
    /// Cell width in pixels.
    w: u32,
    /// Template rows: from `top` (negative: above the baseline) for `rows.len()` rows.
    top: i32,
    templates: Vec<Template>,
}

fn px(mm: f32, dpi: u32) -> f32 {
    mm * dpi as f32 / 25.4
}

impl MrzReader {
    /// Renders the templates at `dpi`.
    pub fn new(fonts: &Arc<Fonts>, dpi: u32) -> Result<Self, ReadbackError> {
        if !(150..=1200).contains(&dpi) {
            return Err(ReadbackError::Dpi(dpi));
        }
        let pitch = px(mrz_geometry::PITCH_MM, dpi);
        let w = pitch.round() as u32;
        let (width_mm, height_mm) = (125.0, 88.0);
        let baselines_mm = [70.0, 50.0, 30.0];
        let chars: Vec<char> = ALPHABET.chars().collect();
        let mut items = Vec::new();
        for (i, &c) in chars.iter().enumerate() {
            let (row, col) = (i / PER_ROW, i % PER_ROW);
            items.push(Item::Text(TextRun {
                role: TextRole::Mrz,
                face: Face::OcrB,
                size_pt: MRZ_SIZE_PT,
                x_mm: mrz_geometry::FIRST_CHAR_X_MM + mrz_geometry::PITCH_MM * (3 * col) as f32,
                y_mm: baselines_mm[row],
                text: c.to_string(),
                spacing_mm: 0.0,
            }));
        }
        let page = Page {
            width_mm,
            height_mm,
            items,
            images: Vec::new(),
            notices: Vec::new(),
        };
        let pdf = render_pdf(&page, fonts, "OCR-B templates");
        let bitmap = render_page(&pdf, dpi)
            .map_err(ReadbackError::Template)?
            .mono();
        let page_h = px(height_mm, dpi);
        // Each glyph's cell, and the band of rows (relative to the baseline) any glyph inks.
        let mut cells = Vec::new();
        let (mut top, mut bottom) = (i32::MAX, i32::MIN);
        for (i, &c) in chars.iter().enumerate() {
            let (row, col) = (i / PER_ROW, i % PER_ROW);
            let x = (px(mrz_geometry::FIRST_CHAR_X_MM, dpi) + pitch * (3 * col) as f32).round();
            let baseline = (page_h - px(baselines_mm[row], dpi)).round() as i32;
            let reach = (pitch * 1.5) as i32;
            let mut inked = false;
            for dy in -reach..=reach / 2 {
                if window(&bitmap, x as i64, i64::from(baseline + dy), w) != 0 {
                    top = top.min(dy);
                    bottom = bottom.max(dy);
                    inked = true;
                }
            }
            if !inked {
                return Err(ReadbackError::Blank(c));
            }
            cells.push((c, x as i64, baseline));
        }
        let templates = cells
            .into_iter()
            .map(|(ch, x, baseline)| {
                let rows: Vec<u128> = (top..=bottom)
                    .map(|dy| window(&bitmap, x, i64::from(baseline + dy), w))
                    .collect();
                let ink = rows.iter().map(|r| r.count_ones()).sum();
                Template { ch, rows, ink }
            })
            .collect();
        Ok(Self {
            dpi,
            pitch,
            w,
            top,
            templates,
        })
    }

    /// The resolution this reader reads.
    pub fn dpi(&self) -> u32 {
        self.dpi
    }

    /// The MRZ lines found on `page`, top to bottom (none, one or two), 44 characters each,
    /// with [`UNREADABLE`] where a character could not be recognised.
    pub fn read(&self, page: &Bitmap) -> Vec<String> {
        self.bands(page)
            .into_iter()
            .map(|(first, last)| self.read_line(page, first, last))
            .collect()
    }

    /// The rows of the (at most two, lowest) MRZ lines in the zone: (first, last) ink rows.
    fn bands(&self, page: &Bitmap) -> Vec<(u32, u32)> {
        let zone_top = page
            .height
            .saturating_sub(px(ZONE_MM, self.dpi).round() as u32);
        let height = self.templates.first().map_or(0, |t| t.rows.len()) as u32;
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for y in zone_top..page.height {
            if page.row(y).iter().all(|&b| b == 0) {
                continue;
            }
            match runs.last_mut() {
                Some((_, last)) if y - *last <= height / 3 + 1 => *last = y,
                _ => runs.push((y, y)),
            }
        }
        runs.retain(|&(a, b)| {
            let h = b - a + 1;
            h * 2 >= height && h <= height * 2
        });
        let keep = runs.len().saturating_sub(2);
        runs.split_off(keep)
    }

    /// One line whose ink runs from row `first` to `last`.
    fn read_line(&self, page: &Bitmap, first: u32, last: u32) -> String {
        // The baseline: the band's last row is the lowest ink, which the templates' `bottom`
        // row matches.
        let bottom = self.top + self.templates[0].rows.len() as i32 - 1;
        let baseline = last as i32 - bottom;
        let _ = first;
        // The leftmost ink in the band.
        let left = (0..page.width)
            .find(|&x| (first..=last).any(|y| page.get(x, y)))
            .unwrap_or(0) as i64;
        // The origin: tried over one pitch left of the first ink.
        let mut best = (u32::MAX, left);
        for x0 in (left - self.w as i64)..=left {
            let score: u32 = (0..ORIGIN_CELLS)
                .map(|i| self.classify(page, self.cell_x(x0, i), baseline).1)
                .sum();
            if score < best.0 {
                best = (score, x0);
            }
        }
        let x0 = best.1;
        (0..LINE)
            .map(|i| {
                let (c, _) = self.classify(page, self.cell_x(x0, i), baseline);
                c
            })
            .collect()
    }

    fn cell_x(&self, x0: i64, i: usize) -> i64 {
        x0 + (self.pitch * i as f32).round() as i64
    }

    /// The character in the cell at `x` on the line whose baseline is `baseline`, and how many
    /// pixels differ from its template (`?` when it is unreadable).
    fn classify(&self, page: &Bitmap, x: i64, baseline: i32) -> (char, u32) {
        let n = self.templates[0].rows.len() as i32;
        let mut best = (UNREADABLE, u32::MAX, 0u32, 0u32);
        for dx in -DX..=DX {
            // The cell's rows with room for the vertical drift.
            let rows: Vec<u128> = (self.top - DY..self.top + n + DY)
                .map(|dy| window(page, x + i64::from(dx), i64::from(baseline + dy), self.w))
                .collect();
            for dy in 0..=(2 * DY) as usize {
                let cell = &rows[dy..dy + n as usize];
                let cell_ink: u32 = cell.iter().map(|r| r.count_ones()).sum();
                for t in &self.templates {
                    let diff: u32 = t
                        .rows
                        .iter()
                        .zip(cell)
                        .map(|(a, b)| (a ^ b).count_ones())
                        .sum();
                    if diff < best.1 {
                        best = (t.ch, diff, t.ink, cell_ink);
                    }
                }
            }
        }
        let (c, diff, t_ink, cell_ink) = best;
        if diff.saturating_mul(3) > t_ink + cell_ink || cell_ink == 0 {
            (UNREADABLE, diff)
        } else {
            (c, diff)
        }
    }
}

/// `w` pixels of row `y` from column `x` (bit `w - 1 - k` is pixel `x + k`); outside the page
/// is paper.
fn window(page: &Bitmap, x: i64, y: i64, w: u32) -> u128 {
    let Ok(y) = u32::try_from(y) else {
        return 0;
    };
    if y >= page.height {
        return 0;
    }
    let row = page.row(y);
    let mut out = 0u128;
    for k in 0..i64::from(w) {
        let bit = u32::try_from(x + k)
            .ok()
            .filter(|&xx| xx < page.width)
            .is_some_and(|xx| row[(xx / 8) as usize] & (0x80 >> (xx % 8)) != 0);
        out = (out << 1) | u128::from(bit);
    }
    out
}
