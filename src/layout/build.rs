//! Builds the page model of a data page from a validated job, its verified MRZ, the template and
//! the printer's calibration; and the calibration page for technicians.

use time::Date;

use super::fonts::{Face, Fonts};
use super::page::{ImagePlacement, ImageRole, Item, LineItem, Page, PageImage, TextRole, TextRun};
use super::portrait::{self, PortraitError, PortraitLimits, PrintBox};
use super::template::{Align, Datum, MIN_PITCH_MM, NameOrder, Template};
use crate::job::{Job, Sex};
use crate::mrz::Td3;

/// ICAO 9303 Part 4 §4.2: MRZ geometry (not part of any template).
pub mod mrz_geometry {
    /// Left edge of the first character cell.
    pub const FIRST_CHAR_X_MM: f32 = 6.0;
    /// Character pitch.
    pub const PITCH_MM: f32 = 2.54;
    /// Centre line of line 1.
    pub const LINE1_CENTRE_MM: f32 = 15.75;
    /// Centre line of line 2.
    pub const LINE2_CENTRE_MM: f32 = 9.40;
}

/// OCR-B size whose 0.723 em advance is exactly 2.54 mm (7.2 pt).
pub const MRZ_SIZE_PT: f32 = 7.2 / 0.723;

/// The printer's calibration: an offset applied to everything on the page.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Calibration {
    /// Rightwards, in mm.
    pub offset_x_mm: f32,
    /// Upwards, in mm.
    pub offset_y_mm: f32,
}

/// Why a data page cannot be laid out. Every variant has a stable code (`code()`).
#[derive(Debug, Clone, PartialEq, thiserror::Error, pstation_coded::Coded)]
pub enum LayoutError {
    /// The job has no portrait.
    #[error("portrait: required: a portrait is needed to print the data page")]
    #[code("required")]
    NoPortrait,
    /// The portrait is unusable.
    #[error("portrait.data: {code}: {0}", code = .0.code())]
    #[code(inner)]
    Portrait(PortraitError),
    /// The VIZ name needs more lines than the template gives.
    #[error(
        "document.given_names: viz-name-too-long: the name needs {needed} lines of at most {max_chars} characters; the template allows {lines} — send the VIZ name shortened by the central office"
    )]
    NameTooLong {
        /// Lines needed.
        needed: usize,
        /// Lines allowed.
        lines: usize,
        /// Characters per line.
        max_chars: usize,
    },
    /// A value is wider than its field.
    #[error("{path}: viz-field-too-wide: {width:.1} mm of text in a {room:.1} mm field")]
    FieldTooWide {
        /// JSON path of the value.
        path: &'static str,
        /// Text width.
        width: f32,
        /// Field width.
        room: f32,
    },
    /// A character the VIZ font cannot draw.
    #[error("{path}: viz-glyph: character {ch:?} (U+{:04X}) has no glyph in the VIZ font", *.ch as u32)]
    Glyph {
        /// JSON path of the value.
        path: &'static str,
        /// The character.
        ch: char,
    },
}

/// Everything needed to lay out pages, loaded once.
pub struct Layout<'a> {
    /// The template.
    pub template: &'a Template,
    /// The fonts.
    pub fonts: &'a Fonts,
    /// Portrait limits.
    pub limits: PortraitLimits,
    /// The printer's offset.
    pub calibration: Calibration,
}

fn date_viz(d: Date, months: &[String]) -> String {
    let month = months
        .get(usize::from(u8::from(d.month())) - 1)
        .map(String::as_str)
        .unwrap_or("");
    format!("{:02} {month} {:04}", d.day(), d.year())
}

/// Ruler tick length for millimetre `mm`: long every 10, medium every 5, short otherwise.
fn tick_mm(mm: i32) -> f32 {
    if mm % 10 == 0 {
        2.5
    } else if mm % 5 == 0 {
        1.6
    } else {
        0.9
    }
}

/// Splits a name into lines of at most `max` characters at spaces (a longer word is split).
fn wrap(name: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in name.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let sep = usize::from(used > 0);
            if used + sep + word.len() <= max {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A single word longer than a line: split it.
            let rest = word.split_off(max);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

impl Layout<'_> {
    fn run(
        &self,
        role: TextRole,
        face: Face,
        size_pt: f32,
        x_mm: f32,
        y_mm: f32,
        text: &str,
    ) -> TextRun {
        TextRun {
            role,
            face,
            size_pt,
            x_mm,
            y_mm,
            text: text.to_owned(),
            spacing_mm: 0.0,
        }
    }

    /// National caption in the upright face, the separator, then the English in oblique.
    fn bilingual(
        &self,
        items: &mut Vec<Item>,
        (role, face, size): (TextRole, Face, f32),
        (x, y, align): (f32, f32, Align),
        national: &str,
        english: Option<&str>,
    ) {
        let first = match english {
            Some(_) => format!("{national}{}", self.template.caption_separator),
            None => national.to_owned(),
        };
        let w1 = self.fonts.metrics(face).width_mm(&first, size);
        let w2 = english.map_or(0.0, |e| {
            self.fonts.metrics(Face::SansOblique).width_mm(e, size)
        });
        let left = match align {
            Align::Left => x,
            Align::Center => x - (w1 + w2) / 2.0,
        };
        items.push(Item::Text(self.run(role, face, size, left, y, &first)));
        if let Some(e) = english {
            items.push(Item::Text(self.run(
                role,
                Face::SansOblique,
                size,
                left + w1,
                y,
                e,
            )));
        }
    }

    /// A value run, checked for glyphs, width and density (letter-spaced if denser than
    /// 15 characters per inch).
    fn value(
        &self,
        path: &'static str,
        x: f32,
        y: f32,
        room: f32,
        text: &str,
    ) -> Result<TextRun, LayoutError> {
        let m = self.fonts.metrics(Face::Sans);
        if let Some(ch) = text
            .chars()
            .find(|&c| c != ' ' && !m.covers(&c.to_string()))
        {
            return Err(LayoutError::Glyph { path, ch });
        }
        let size = self.template.value_size_pt;
        let n = text.chars().count().max(1) as f32;
        let natural = m.width_mm(text, size);
        let spacing = ((MIN_PITCH_MM * n - natural) / n).max(0.0);
        let width = natural + spacing * n;
        if width > room {
            return Err(LayoutError::FieldTooWide { path, width, room });
        }
        let mut run = self.run(TextRole::Value, Face::Sans, size, x, y, text);
        run.spacing_mm = spacing;
        Ok(run)
    }

    /// The data page of a job whose MRZ has already been generated and verified.
    pub fn data_page(&self, job: &Job, td3: &Td3) -> Result<Page, LayoutError> {
        let t = self.template;
        let portrait_src = job.portrait.as_ref().ok_or(LayoutError::NoPortrait)?;
        let decoded =
            portrait::decode_source(portrait_src, &self.limits).map_err(LayoutError::Portrait)?;
        let images = portrait::page_images(
            &decoded,
            PrintBox {
                width_mm: t.portrait.w,
                height_mm: t.portrait.h,
                dpi: t.print_dpi,
            },
            t.portrait_greyscale,
            t.ghost.map(|(b, fade)| {
                (
                    PrintBox {
                        width_mm: b.w,
                        height_mm: b.h,
                        dpi: t.print_dpi,
                    },
                    fade,
                )
            }),
        )
        .map_err(LayoutError::Portrait)?;
        self.data_page_with_images(job, td3, images)
    }

    /// The data page from already prepared images (the portrait step is separate so that it can
    /// be measured and cached on its own).
    pub fn data_page_with_images(
        &self,
        job: &Job,
        td3: &Td3,
        images: Vec<PageImage>,
    ) -> Result<Page, LayoutError> {
        let t = self.template;
        let d = &job.document;
        let mut items = Vec::new();
        let mut notices = Vec::new();

        // Zone V first (painted under everything else), then the ghost image.
        for img in &images {
            let b = match img.role {
                ImageRole::Portrait => t.portrait,
                ImageRole::Ghost => match t.ghost {
                    Some((b, _)) => b,
                    None => continue,
                },
            };
            items.push(Item::Image(ImagePlacement {
                role: img.role,
                x_mm: b.x,
                y_mm: b.y,
                w_mm: b.w,
                h_mm: b.h,
            }));
        }

        // Zone I.
        for h in &t.header {
            self.bilingual(
                &mut items,
                (TextRole::Header, Face::SansBold, t.header_size_pt),
                (h.x_mm, h.y_mm, h.align),
                &h.text,
                h.text_en.as_deref(),
            );
        }

        // Zones II and III.
        let upper = |s: &str| s.to_uppercase();
        for f in &t.fields {
            let caption_y = f.row_top_mm - t.caption_drop_mm;
            let value_y = f.row_top_mm - t.value_drop_mm;
            let values: Vec<(&'static str, String)> = match f.datum {
                Datum::Type => vec![("document.code", d.code.clone())],
                Datum::IssuingStateCode => {
                    vec![("document.issuing_state", d.issuing_state.clone())]
                }
                Datum::Number => vec![("document.number", d.number.clone())],
                Datum::Name => {
                    let full = match (t.name_order, d.given_names.is_empty()) {
                        (_, true) => upper(&d.surname),
                        (NameOrder::GivenSurname, false) => {
                            upper(&format!("{} {}", d.given_names, d.surname))
                        }
                        (NameOrder::SurnameGiven, false) => {
                            upper(&format!("{}, {}", d.surname, d.given_names))
                        }
                    };
                    let lines = wrap(&full, t.name_max_chars);
                    if lines.len() > t.name_lines {
                        return Err(LayoutError::NameTooLong {
                            needed: lines.len(),
                            lines: t.name_lines,
                            max_chars: t.name_max_chars,
                        });
                    }
                    if lines.len() > 1 {
                        notices.push(format!(
                            "the name has more than {} characters and is printed on {} lines",
                            t.name_max_chars,
                            lines.len()
                        ));
                    }
                    lines.into_iter().map(|l| ("document.surname", l)).collect()
                }
                Datum::Nationality => vec![(
                    "document.nationality",
                    t.nationality
                        .get(&d.nationality)
                        .cloned()
                        .unwrap_or_else(|| d.nationality.clone()),
                )],
                Datum::DateOfBirth => vec![(
                    "document.date_of_birth",
                    date_viz(d.date_of_birth, &t.months),
                )],
                Datum::Sex => vec![(
                    "document.sex",
                    match d.sex {
                        Sex::Male => t.sex[0].clone(),
                        Sex::Female => t.sex[1].clone(),
                        Sex::Unspecified => t.sex[2].clone(),
                    },
                )],
                Datum::PlaceOfBirth => vec![("document.place_of_birth", upper(&d.place_of_birth))],
                Datum::DateOfIssue => vec![(
                    "document.date_of_issue",
                    date_viz(d.date_of_issue, &t.months),
                )],
                Datum::DateOfExpiry => vec![(
                    "document.date_of_expiry",
                    date_viz(d.date_of_expiry, &t.months),
                )],
                Datum::Authority => vec![("document.authority", upper(&d.authority))],
                Datum::RegistrationNumber => match &d.registration_number {
                    Some(r) => vec![("document.registration_number", r.clone())],
                    // ICAO Part 3 §3.2: an unused optional field shows no caption.
                    None => continue,
                },
            };
            self.bilingual(
                &mut items,
                (TextRole::Caption, Face::Sans, t.caption_size_pt),
                (f.x_mm, caption_y, Align::Left),
                &f.caption,
                f.caption_en.as_deref(),
            );
            for (i, (path, text)) in values.iter().enumerate() {
                let y = value_y - f.line_pitch_mm * i as f32;
                items.push(Item::Text(self.value(path, f.x_mm, y, f.width_mm, text)?));
            }
        }

        // Zone VII.
        self.mrz(&mut items, &td3.line1, &td3.line2);

        let mut page = Page {
            width_mm: t.width_mm,
            height_mm: t.height_mm,
            items,
            images,
            notices,
        };
        page.translate(self.calibration.offset_x_mm, self.calibration.offset_y_mm);
        Ok(page)
    }

    fn mrz(&self, items: &mut Vec<Item>, line1: &str, line2: &str) {
        use mrz_geometry::*;
        let half_cap = self.fonts.metrics(Face::OcrB).cap_height_mm(MRZ_SIZE_PT) / 2.0;
        for (line, centre) in [(line1, LINE1_CENTRE_MM), (line2, LINE2_CENTRE_MM)] {
            items.push(Item::Text(self.run(
                TextRole::Mrz,
                Face::OcrB,
                MRZ_SIZE_PT,
                FIRST_CHAR_X_MM,
                centre - half_cap,
                line,
            )));
        }
    }

    /// The calibration page: millimetre rulers, zone outlines, the ICAO specimen MRZ at the MRZ
    /// positions, and the offset in force.
    pub fn calibration_page(&self) -> Page {
        let t = self.template;
        let mut items = Vec::new();
        let line = |x1: f32, y1: f32, x2: f32, y2: f32, w: f32| {
            Item::Line(LineItem {
                x1_mm: x1,
                y1_mm: y1,
                x2_mm: x2,
                y2_mm: y2,
                width_mm: w,
            })
        };
        let rect = |items: &mut Vec<Item>, x: f32, y: f32, w: f32, h: f32| {
            items.push(line(x, y, x + w, y, 0.15));
            items.push(line(x + w, y, x + w, y + h, 0.15));
            items.push(line(x + w, y + h, x, y + h, 0.15));
            items.push(line(x, y + h, x, y, 0.15));
        };
        let label = |x: f32, y: f32, s: &str| {
            Item::Text(self.run(TextRole::Annotation, Face::Sans, 4.5, x, y, s))
        };

        // Horizontal ruler along y = 26 mm, from 2 to 123 mm.
        let (ry, x0, x1) = (26.0, 2.0, 123.0);
        items.push(line(x0, ry, x1, ry, 0.1));
        for mm in (x0 as i32)..=(x1 as i32) {
            let len = tick_mm(mm);
            items.push(line(mm as f32, ry, mm as f32, ry + len, 0.1));
            if mm % 10 == 0 && mm <= 110 {
                items.push(label(mm as f32 + 0.3, ry + 1.6, &mm.to_string()));
            }
        }
        // Vertical ruler along x = 123.5 mm, from 2 to 86 mm (labels above the MRZ zone only).
        let (rx, y0, y1) = (123.5, 2.0, 86.0);
        items.push(line(rx, y0, rx, y1, 0.1));
        for mm in (y0 as i32)..=(y1 as i32) {
            let len = tick_mm(mm);
            items.push(line(rx - len, mm as f32, rx, mm as f32, 0.1));
            if mm % 10 == 0 && mm >= 30 {
                items.push(label(rx - 5.0, mm as f32 + 0.4, &mm.to_string()));
            }
        }
        // Zone outlines: Zone V, the VIZ rows, the MRZ zone and its two print bands.
        rect(
            &mut items,
            t.portrait.x,
            t.portrait.y,
            t.portrait.w,
            t.portrait.h,
        );
        for n in 0..8 {
            let y = 79.65 - n as f32 * 6.35;
            items.push(line(37.0, y, 117.0, y, 0.05));
        }
        items.push(line(2.0, 23.2, 120.0, 23.2, 0.15));
        rect(&mut items, 6.0, 13.60, 114.0, 4.3);
        rect(&mut items, 6.0, 7.25, 114.0, 4.3);
        items.push(Item::Text(self.run(
            TextRole::Annotation,
            Face::SansBold,
            7.0,
            38.0,
            83.0,
            "pstation calibration page - ICAO 9303 TD3, 125 x 88 mm",
        )));
        items.push(label(
            38.0,
            80.0,
            &format!(
                "offset x {:+.2} mm, y {:+.2} mm; VIZ rows every 6.35 mm; MRZ bands 6.0-120.0 mm",
                self.calibration.offset_x_mm, self.calibration.offset_y_mm
            ),
        ));
        // The ICAO specimen (Utopia, fictional) as the MRZ test line.
        self.mrz(
            &mut items,
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
        );
        let mut page = Page {
            width_mm: t.width_mm,
            height_mm: t.height_mm,
            items,
            images: Vec::new(),
            notices: Vec::new(),
        };
        page.translate(self.calibration.offset_x_mm, self.calibration.offset_y_mm);
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_wrap_at_spaces_and_never_lose_characters() {
        assert_eq!(wrap("BUDI SANTOSO", 34), ["BUDI SANTOSO"]);
        let long = "RADEN MAS BAGUS WICAKSONO ADININGRAT PRAWIRODIRJO";
        let lines = wrap(long, 34);
        assert_eq!(
            lines,
            ["RADEN MAS BAGUS WICAKSONO", "ADININGRAT PRAWIRODIRJO"]
        );
        assert_eq!(lines.join(" "), long);
        assert_eq!(wrap("ABCDEFGHIJ", 4), ["ABCD", "EFGH", "IJ"]);
    }

    #[test]
    fn dates_are_dd_mmm_yyyy() {
        let months: Vec<String> = [
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            date_viz(time::macros::date!(1990 - 01 - 01), &months),
            "01 JAN 1990"
        );
        assert_eq!(
            date_viz(time::macros::date!(2035 - 12 - 31), &months),
            "31 DEC 2035"
        );
    }
}
