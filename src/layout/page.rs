//! The page model: everything on a data page in millimetres (text runs, images, lines), with the
//! origin at the bottom-left corner. Every output (PDF, raster, preview) is drawn from it.

use std::fmt;

use super::fonts::Face;

/// What a text run is, for tests and outputs that treat kinds differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRole {
    /// Zone I.
    Header,
    /// A field caption.
    Caption,
    /// A field value.
    Value,
    /// A machine readable zone line.
    Mrz,
    /// Calibration page text and ruler labels.
    Annotation,
}

/// One run of text on one baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRun {
    /// Kind of text.
    pub role: TextRole,
    /// Face.
    pub face: Face,
    /// Size in points.
    pub size_pt: f32,
    /// Left edge of the first character cell.
    pub x_mm: f32,
    /// Baseline.
    pub y_mm: f32,
    /// The text.
    pub text: String,
    /// Extra space after each character (0 normally; more when a value would be denser than
    /// 15 characters per inch).
    pub spacing_mm: f32,
}

/// Which image an image placement shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageRole {
    /// The holder's portrait (Zone V).
    Portrait,
    /// The faded second portrait.
    Ghost,
}

/// A prepared image: JPEG-encoded once, at the size it prints.
#[derive(Clone, PartialEq, Eq)]
pub struct PageImage {
    /// Which image.
    pub role: ImageRole,
    /// Pixels across.
    pub width_px: u32,
    /// Pixels down.
    pub height_px: u32,
    /// One channel (grey) or three (RGB).
    pub grey: bool,
    /// Baseline JPEG bytes.
    pub jpeg: Vec<u8>,
}

impl fmt::Debug for PageImage {
    // Never dump image bytes (personal data) into debug output, logs or snapshots.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageImage")
            .field("role", &self.role)
            .field("width_px", &self.width_px)
            .field("height_px", &self.height_px)
            .field("grey", &self.grey)
            .finish_non_exhaustive()
    }
}

/// Where an image goes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePlacement {
    /// Which image (an index into `Page::images` by role).
    pub role: ImageRole,
    /// Left edge.
    pub x_mm: f32,
    /// Bottom edge.
    pub y_mm: f32,
    /// Width.
    pub w_mm: f32,
    /// Height.
    pub h_mm: f32,
}

/// A straight stroke.
#[derive(Debug, Clone, PartialEq)]
pub struct LineItem {
    /// Start x.
    pub x1_mm: f32,
    /// Start y.
    pub y1_mm: f32,
    /// End x.
    pub x2_mm: f32,
    /// End y.
    pub y2_mm: f32,
    /// Stroke width.
    pub width_mm: f32,
}

/// Anything drawn on the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// Text.
    Text(TextRun),
    /// An image.
    Image(ImagePlacement),
    /// A line.
    Line(LineItem),
}

/// A data page (or calibration page), ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Page width.
    pub width_mm: f32,
    /// Page height.
    pub height_mm: f32,
    /// What is drawn, in painting order.
    pub items: Vec<Item>,
    /// The prepared images the placements refer to.
    pub images: Vec<PageImage>,
    /// Remarks for the operator (e.g. the name wraps onto a second line).
    pub notices: Vec<String>,
}

impl Page {
    /// Moves everything on the page by (dx, dy) millimetres: the printer's calibration offset.
    pub fn translate(&mut self, dx: f32, dy: f32) {
        for item in &mut self.items {
            match item {
                Item::Text(t) => {
                    t.x_mm += dx;
                    t.y_mm += dy;
                }
                Item::Image(i) => {
                    i.x_mm += dx;
                    i.y_mm += dy;
                }
                Item::Line(l) => {
                    l.x1_mm += dx;
                    l.x2_mm += dx;
                    l.y1_mm += dy;
                    l.y2_mm += dy;
                }
            }
        }
    }

    /// The text runs with a given role, in order.
    pub fn texts(&self, role: TextRole) -> impl Iterator<Item = &TextRun> {
        self.items.iter().filter_map(move |i| match i {
            Item::Text(t) if t.role == role => Some(t),
            _ => None,
        })
    }

    /// The prepared image with a role.
    pub fn image(&self, role: ImageRole) -> Option<&PageImage> {
        self.images.iter().find(|i| i.role == role)
    }
}
