//! The fonts shipped in `assets/fonts/` (OCR-B for the MRZ, DejaVu Sans for the VIZ), embedded
//! in the binary, parsed once and shared by every page. No system font lookup happens.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use printpdf::ParsedFont;

/// The faces a page may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Face {
    /// DejaVu Sans: VIZ values and national captions.
    Sans,
    /// DejaVu Sans Bold: the header.
    SansBold,
    /// DejaVu Sans Oblique: the English half of bilingual captions.
    SansOblique,
    /// OCR-B (Debian `fonts-ocr-b`): the MRZ.
    OcrB,
}

impl Face {
    /// Every face.
    pub const ALL: [Face; 4] = [Face::Sans, Face::SansBold, Face::SansOblique, Face::OcrB];

    /// The font file's bytes.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Face::Sans => include_bytes!("../../assets/fonts/DejaVuSans-LatinA.ttf"),
            Face::SansBold => include_bytes!("../../assets/fonts/DejaVuSans-Bold-LatinA.ttf"),
            Face::SansOblique => include_bytes!("../../assets/fonts/DejaVuSans-Oblique-LatinA.ttf"),
            Face::OcrB => include_bytes!("../../assets/fonts/OCRB.otf"),
        }
    }
}

/// Horizontal metrics of one face, in font units.
pub struct Metrics {
    units_per_em: f32,
    cap_height: f32,
    face: ttf_parser::Face<'static>,
}

impl Metrics {
    fn new(bytes: &'static [u8]) -> Option<Self> {
        let face = ttf_parser::Face::parse(bytes, 0).ok()?;
        let units_per_em = f32::from(face.units_per_em());
        let cap_height = face
            .capital_height()
            .map(f32::from)
            .or_else(|| {
                let gid = face.glyph_index('H')?;
                face.glyph_bounding_box(gid).map(|b| f32::from(b.y_max))
            })
            .unwrap_or(units_per_em * 0.7);
        Some(Self {
            units_per_em,
            cap_height,
            face,
        })
    }

    /// The advance of `c` in em, or `None` when the font has no glyph for it.
    pub fn advance_em(&self, c: char) -> Option<f32> {
        let gid = self.face.glyph_index(c)?;
        let adv = self.face.glyph_hor_advance(gid)?;
        Some(f32::from(adv) / self.units_per_em)
    }

    /// Whether every character of `text` has a glyph.
    pub fn covers(&self, text: &str) -> bool {
        text.chars()
            .all(|c| c == ' ' || self.face.glyph_index(c).is_some())
    }

    /// The width of `text` at `size_pt`, in millimetres (missing glyphs count as 0.5 em).
    pub fn width_mm(&self, text: &str, size_pt: f32) -> f32 {
        let em: f32 = text
            .chars()
            .map(|c| self.advance_em(c).unwrap_or(0.5))
            .sum();
        em * size_pt * MM_PER_PT
    }

    /// The cap height at `size_pt`, in millimetres.
    pub fn cap_height_mm(&self, size_pt: f32) -> f32 {
        self.cap_height / self.units_per_em * size_pt * MM_PER_PT
    }
}

/// Millimetres per PostScript point.
pub const MM_PER_PT: f32 = 25.4 / 72.0;

/// All faces, parsed for printpdf and for metrics.
pub struct Fonts {
    parsed: HashMap<Face, ParsedFont>,
    metrics: HashMap<Face, Metrics>,
}

/// A shipped font failed to parse (a broken build, not bad input).
#[derive(Debug, thiserror::Error)]
#[error("the embedded font {0:?} cannot be parsed")]
pub struct FontError(pub Face);

impl Fonts {
    /// The process-wide fonts, parsed on first use.
    pub fn shared() -> Result<Arc<Fonts>, FontError> {
        static FONTS: OnceLock<Result<Arc<Fonts>, Face>> = OnceLock::new();
        FONTS
            .get_or_init(|| Fonts::load().map(Arc::new))
            .clone()
            .map_err(FontError)
    }

    fn load() -> Result<Fonts, Face> {
        let mut parsed = HashMap::new();
        let mut metrics = HashMap::new();
        for face in Face::ALL {
            let mut warnings = Vec::new();
            let font = ParsedFont::from_bytes(face.bytes(), 0, &mut warnings).ok_or(face)?;
            parsed.insert(face, font);
            metrics.insert(face, Metrics::new(face.bytes()).ok_or(face)?);
        }
        Ok(Fonts { parsed, metrics })
    }

    /// The printpdf font of a face.
    pub fn parsed(&self, face: Face) -> &ParsedFont {
        // `load` inserted every face of `Face::ALL`, so the lookup cannot fail.
        &self.parsed[&face]
    }

    /// The metrics of a face.
    pub fn metrics(&self, face: Face) -> &Metrics {
        // `load` inserted every face of `Face::ALL`, so the lookup cannot fail.
        &self.metrics[&face]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocr_b_advances_723_per_mille_and_covers_the_mrz_alphabet() {
        let fonts = Fonts::shared().expect("fonts");
        let m = fonts.metrics(Face::OcrB);
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<".chars() {
            let adv = m.advance_em(c).expect("glyph");
            assert!((adv - 0.723).abs() < 1e-6, "{c}: {adv}");
        }
        assert!((m.cap_height_mm(1.0) / MM_PER_PT - 0.701).abs() < 0.01);
    }

    #[test]
    fn dejavu_covers_table_a_letters() {
        let fonts = Fonts::shared().expect("fonts");
        assert!(fonts.metrics(Face::Sans).covers("ÀÁÂÃÄÅÆÇÑÖØÜÝÞẞŁŒŽ"));
    }
}
