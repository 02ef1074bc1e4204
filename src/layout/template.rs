//! The data page template: TOML (shipped as `templates/idn-td3.toml`, embedded as the default),
//! parsed into raw structs and validated into a `Template` with every problem reported at once.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::fonts::{Face, Fonts};
use crate::problem::{Problem, Problems};

/// The shipped Indonesian TD3 template.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../templates/idn-td3.toml");

/// ICAO 9303 Part 3 §3.2: captions 1.0-1.8 mm high.
pub const CAPTION_CAP_HEIGHT_MM: (f32, f32) = (1.0, 1.8);
/// ICAO 9303 Part 3 §3.2: never more than 15 characters per 25.4 mm.
pub const MIN_PITCH_MM: f32 = 25.4 / 15.0;
/// Zone VII, the MRZ, reaches 23.2 mm above the bottom edge; VIZ content stays above it.
pub const MRZ_ZONE_TOP_MM: f32 = 23.2;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    page: RawPage,
    text: RawText,
    values: RawValues,
    #[serde(default)]
    header: Vec<RawHeader>,
    portrait: RawBox,
    ghost: Option<RawGhost>,
    #[serde(default)]
    field: Vec<RawField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    width_mm: f32,
    height_mm: f32,
    margin_mm: f32,
    print_dpi: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    caption_size_pt: f32,
    value_size_pt: f32,
    header_size_pt: f32,
    caption_drop_mm: f32,
    value_drop_mm: f32,
    caption_separator: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValues {
    months: Vec<String>,
    sex_male: String,
    sex_female: String,
    sex_unspecified: String,
    name_order: String,
    name_max_chars: usize,
    name_lines: usize,
    #[serde(default)]
    nationality: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    text: String,
    text_en: Option<String>,
    x_mm: f32,
    y_mm: f32,
    align: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBox {
    x_mm: f32,
    y_mm: f32,
    width_mm: f32,
    height_mm: f32,
    greyscale: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGhost {
    x_mm: f32,
    y_mm: f32,
    width_mm: f32,
    height_mm: f32,
    fade: f32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    datum: String,
    caption: String,
    caption_en: Option<String>,
    x_mm: f32,
    row_top_mm: f32,
    width_mm: f32,
    line_pitch_mm: Option<f32>,
}

/// Which job value a field shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Datum {
    /// Document code (`P`).
    Type,
    /// Issuing State code (`IDN`).
    IssuingStateCode,
    /// Passport number.
    Number,
    /// The full name (one field, possibly several lines).
    Name,
    /// Nationality in words.
    Nationality,
    /// `DD MMM YYYY`.
    DateOfBirth,
    /// `L/M`, `P/F` or `X`.
    Sex,
    /// Place of birth.
    PlaceOfBirth,
    /// `DD MMM YYYY`.
    DateOfIssue,
    /// `DD MMM YYYY`.
    DateOfExpiry,
    /// Issuing office.
    Authority,
    /// Optional "No. Reg.".
    RegistrationNumber,
}

impl Datum {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "type" => Datum::Type,
            "issuing_state_code" => Datum::IssuingStateCode,
            "number" => Datum::Number,
            "name" => Datum::Name,
            "nationality" => Datum::Nationality,
            "date_of_birth" => Datum::DateOfBirth,
            "sex" => Datum::Sex,
            "place_of_birth" => Datum::PlaceOfBirth,
            "date_of_issue" => Datum::DateOfIssue,
            "date_of_expiry" => Datum::DateOfExpiry,
            "authority" => Datum::Authority,
            "registration_number" => Datum::RegistrationNumber,
            _ => return None,
        })
    }
}

/// Order of the name in the VIZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameOrder {
    /// `BUDI SANTOSO` (Indonesian practice).
    GivenSurname,
    /// `SANTOSO, BUDI` (ICAO fields 06/07 as one field).
    SurnameGiven,
}

/// Horizontal anchoring of a header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// `x_mm` is the left edge.
    Left,
    /// `x_mm` is the centre.
    Center,
}

/// A header line of Zone I.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderLine {
    /// National text.
    pub text: String,
    /// English text after the separator, in italic.
    pub text_en: Option<String>,
    /// Anchor x.
    pub x_mm: f32,
    /// Baseline.
    pub y_mm: f32,
    /// Anchoring.
    pub align: Align,
}

/// A rectangle on the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxMm {
    /// Left edge.
    pub x: f32,
    /// Bottom edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

/// A VIZ field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Which value.
    pub datum: Datum,
    /// National caption.
    pub caption: String,
    /// English caption.
    pub caption_en: Option<String>,
    /// Left edge of caption and value.
    pub x_mm: f32,
    /// Top of the row.
    pub row_top_mm: f32,
    /// Room for the value.
    pub width_mm: f32,
    /// Distance between value lines (multi-line fields).
    pub line_pitch_mm: f32,
}

/// A validated template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Page width (125).
    pub width_mm: f32,
    /// Page height (88).
    pub height_mm: f32,
    /// Clear margin at the left, right and top edges.
    pub margin_mm: f32,
    /// Print resolution the portrait is prepared for.
    pub print_dpi: u32,
    /// Caption size.
    pub caption_size_pt: f32,
    /// Value size.
    pub value_size_pt: f32,
    /// Header size.
    pub header_size_pt: f32,
    /// Caption baseline below the row top.
    pub caption_drop_mm: f32,
    /// Value baseline below the row top.
    pub value_drop_mm: f32,
    /// Between national and English captions.
    pub caption_separator: String,
    /// Month abbreviations, January first.
    pub months: Vec<String>,
    /// VIZ sex for M, F, X.
    pub sex: [String; 3],
    /// Name order.
    pub name_order: NameOrder,
    /// Characters per VIZ name line.
    pub name_max_chars: usize,
    /// Lines available for the name.
    pub name_lines: usize,
    /// Nationality words by code.
    pub nationality: BTreeMap<String, String>,
    /// Zone I.
    pub header: Vec<HeaderLine>,
    /// Zone V.
    pub portrait: BoxMm,
    /// Whether the portrait prints in greyscale.
    pub portrait_greyscale: bool,
    /// The ghost image, when the template places one, and its strength.
    pub ghost: Option<(BoxMm, f32)>,
    /// Zones II and III.
    pub fields: Vec<Field>,
}

/// Why a template could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("{path}: cannot read the template: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, or not the template's structure.
    #[error("{path}: template-syntax: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// Values out of range; every problem listed.
    #[error("{0}")]
    Invalid(Problems),
}

impl Template {
    /// The shipped template.
    pub fn default_template(fonts: &Fonts) -> Result<Template, TemplateError> {
        Template::from_toml(DEFAULT_TEMPLATE, "(embedded template)", fonts)
    }

    /// Loads and validates a template file.
    pub fn load(path: &Path, fonts: &Fonts) -> Result<Template, TemplateError> {
        let display = path.display().to_string();
        let text = crate::fsio::read_bounded(path, 1024 * 1024)
            .map_err(|source| TemplateError::Read {
                path: display.clone(),
                source,
            })?
            .ok_or_else(|| TemplateError::Syntax {
                path: display.clone(),
                message: "the file is larger than 1 MiB".to_owned(),
            })?;
        Template::from_toml(&text, &display, fonts)
    }

    /// Parses and validates template text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str, fonts: &Fonts) -> Result<Template, TemplateError> {
        let raw: RawTemplate = toml::from_str(text).map_err(|e| TemplateError::Syntax {
            path: origin.to_owned(),
            message: e.to_string().trim().replace('\n', " | "),
        })?;
        raw.validate(fonts)
    }
}

impl RawTemplate {
    /// Every number of the template with its path (to refuse NaN and infinities up front).
    fn numbers(&self) -> Vec<(String, f32)> {
        let p = &self.page;
        let t = &self.text;
        let mut v = vec![
            ("page.width_mm".to_owned(), p.width_mm),
            ("page.height_mm".to_owned(), p.height_mm),
            ("page.margin_mm".to_owned(), p.margin_mm),
            ("text.caption_size_pt".to_owned(), t.caption_size_pt),
            ("text.value_size_pt".to_owned(), t.value_size_pt),
            ("text.header_size_pt".to_owned(), t.header_size_pt),
            ("text.caption_drop_mm".to_owned(), t.caption_drop_mm),
            ("text.value_drop_mm".to_owned(), t.value_drop_mm),
            ("portrait.x_mm".to_owned(), self.portrait.x_mm),
            ("portrait.y_mm".to_owned(), self.portrait.y_mm),
            ("portrait.width_mm".to_owned(), self.portrait.width_mm),
            ("portrait.height_mm".to_owned(), self.portrait.height_mm),
        ];
        if let Some(g) = &self.ghost {
            for (k, x) in [
                ("x_mm", g.x_mm),
                ("y_mm", g.y_mm),
                ("width_mm", g.width_mm),
                ("height_mm", g.height_mm),
                ("fade", g.fade),
            ] {
                v.push((format!("ghost.{k}"), x));
            }
        }
        for (i, h) in self.header.iter().enumerate() {
            v.push((format!("header[{i}].x_mm"), h.x_mm));
            v.push((format!("header[{i}].y_mm"), h.y_mm));
        }
        for (i, f) in self.field.iter().enumerate() {
            v.push((format!("field[{i}].x_mm"), f.x_mm));
            v.push((format!("field[{i}].row_top_mm"), f.row_top_mm));
            v.push((format!("field[{i}].width_mm"), f.width_mm));
            v.push((
                format!("field[{i}].line_pitch_mm"),
                f.line_pitch_mm.unwrap_or(0.0),
            ));
        }
        v
    }

    fn validate(self, fonts: &Fonts) -> Result<Template, TemplateError> {
        let not_finite: Vec<Problem> = self
            .numbers()
            .into_iter()
            .filter(|(_, x)| !x.is_finite())
            .map(|(path, x)| {
                Problem::new(
                    path,
                    "template-value",
                    format!("{x} is not a finite number"),
                )
            })
            .collect();
        if !not_finite.is_empty() {
            return Err(TemplateError::Invalid(Problems(not_finite)));
        }
        let mut problems = Vec::new();
        let mut bad = |path: String, message: String| {
            problems.push(Problem::new(path, "template-value", message));
        };
        let p = &self.page;
        if (p.width_mm - 125.0).abs() > 0.75 || (p.height_mm - 88.0).abs() > 0.75 {
            bad(
                "page".into(),
                "a TD3 page is 125 x 88 mm (ICAO 9303 Part 4, ±0.75 mm)".into(),
            );
        }
        if !(2.0..=10.0).contains(&p.margin_mm) {
            bad(
                "page.margin_mm".into(),
                "ICAO requires at least 2.0 mm".into(),
            );
        }
        if !(150..=1200).contains(&p.print_dpi) {
            bad("page.print_dpi".into(), "must be 150 to 1200".into());
        }
        let t = &self.text;
        let sans = fonts.metrics(Face::Sans);
        let cap = sans.cap_height_mm(t.caption_size_pt);
        if !(CAPTION_CAP_HEIGHT_MM.0..=CAPTION_CAP_HEIGHT_MM.1).contains(&cap) {
            bad(
                "text.caption_size_pt".into(),
                format!("gives captions {cap:.2} mm high; ICAO wants 1.0 to 1.8 mm"),
            );
        }
        // Density: the narrowest likely value, digits and upper case, on average.
        let sample = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let pitch = sans.width_mm(sample, t.value_size_pt) / sample.chars().count() as f32;
        if pitch < MIN_PITCH_MM {
            bad(
                "text.value_size_pt".into(),
                format!(
                    "gives {pitch:.2} mm per character; ICAO allows at most 15 per inch ({MIN_PITCH_MM:.2} mm)"
                ),
            );
        }
        if !(5.0..=14.0).contains(&t.header_size_pt) {
            bad("text.header_size_pt".into(), "must be 5 to 14 pt".into());
        }
        if !(0.5..=6.35).contains(&t.caption_drop_mm)
            || !(t.caption_drop_mm..=6.35).contains(&t.value_drop_mm)
        {
            bad(
                "text.value_drop_mm".into(),
                "caption and value baselines must lie inside their 6.35 mm row, caption first"
                    .into(),
            );
        }
        let v = &self.values;
        if v.months.len() != 12
            || v.months
                .iter()
                .any(|m| m.is_empty() || m.chars().count() > 4)
        {
            bad(
                "values.months".into(),
                "twelve abbreviations of 1 to 4 characters (ICAO Part 3 §3.8)".into(),
            );
        }
        let name_order = match v.name_order.as_str() {
            "given-surname" => Some(NameOrder::GivenSurname),
            "surname-given" => Some(NameOrder::SurnameGiven),
            other => {
                bad(
                    "values.name_order".into(),
                    format!("{other:?} must be given-surname or surname-given"),
                );
                None
            }
        };
        if !(10..=60).contains(&v.name_max_chars) {
            bad("values.name_max_chars".into(), "must be 10 to 60".into());
        }
        if !(1..=4).contains(&v.name_lines) {
            bad("values.name_lines".into(), "must be 1 to 4".into());
        }

        let inside = |x: f32, y: f32, w: f32| {
            x >= p.margin_mm
                && x + w <= p.width_mm - p.margin_mm
                && y >= 0.0
                && y <= p.height_mm - p.margin_mm
        };
        let mut header = Vec::new();
        for (i, h) in self.header.iter().enumerate() {
            let align = match h.align.as_str() {
                "left" => Align::Left,
                "center" => Align::Center,
                other => {
                    bad(
                        format!("header[{i}].align"),
                        format!("{other:?} must be left or center"),
                    );
                    continue;
                }
            };
            let text = match &h.text_en {
                Some(en) => format!("{}{}{en}", h.text, t.caption_separator),
                None => h.text.clone(),
            };
            let w = fonts
                .metrics(Face::SansBold)
                .width_mm(&text, t.header_size_pt);
            let left = if align == Align::Center {
                h.x_mm - w / 2.0
            } else {
                h.x_mm
            };
            let top = h.y_mm
                + fonts
                    .metrics(Face::SansBold)
                    .cap_height_mm(t.header_size_pt);
            if !inside(left, top, w) || h.y_mm < 70.1 {
                bad(
                    format!("header[{i}]"),
                    "must lie in Zone I (above 70.1 mm) inside the margins".into(),
                );
            }
            header.push(HeaderLine {
                text: h.text.clone(),
                text_en: h.text_en.clone(),
                x_mm: h.x_mm,
                y_mm: h.y_mm,
                align,
            });
        }

        let pb = &self.portrait;
        let portrait = BoxMm {
            x: pb.x_mm,
            y: pb.y_mm,
            w: pb.width_mm,
            h: pb.height_mm,
        };
        if !(26.0..=35.0).contains(&pb.width_mm) || !(32.0..=45.0).contains(&pb.height_mm) {
            bad(
                "portrait".into(),
                "ICAO: 26-35 mm wide and 32-45 mm high".into(),
            );
        }
        if pb.x_mm < p.margin_mm
            || pb.y_mm < MRZ_ZONE_TOP_MM
            || pb.y_mm + pb.height_mm > p.height_mm - p.margin_mm
        {
            bad("portrait".into(), "must lie in Zone V: 2 mm from the left edge, above the MRZ zone, below the top margin".into());
        }
        let ghost = self.ghost.as_ref().and_then(|g| {
            let b = BoxMm {
                x: g.x_mm,
                y: g.y_mm,
                w: g.width_mm,
                h: g.height_mm,
            };
            if !inside(b.x, b.y + b.h, b.w) || b.y < MRZ_ZONE_TOP_MM || b.w <= 0.0 || b.h <= 0.0 {
                bad(
                    "ghost".into(),
                    "must lie inside the margins and above the MRZ zone".into(),
                );
                return None;
            }
            if !(0.05..=1.0).contains(&g.fade) {
                bad("ghost.fade".into(), "must be 0.05 to 1.0".into());
                return None;
            }
            Some((b, g.fade))
        });

        let mut fields = Vec::new();
        let mut seen = Vec::new();
        for (i, f) in self.field.iter().enumerate() {
            let Some(datum) = Datum::parse(&f.datum) else {
                bad(
                    format!("field[{i}].datum"),
                    format!("{:?} is not a known datum", f.datum),
                );
                continue;
            };
            if seen.contains(&datum) {
                bad(
                    format!("field[{i}].datum"),
                    format!("{:?} appears twice", f.datum),
                );
            }
            seen.push(datum);
            let caption = match &f.caption_en {
                Some(en) => format!("{}{}{en}", f.caption, t.caption_separator),
                None => f.caption.clone(),
            };
            let cw = sans.width_mm(&caption, t.caption_size_pt);
            if cw > f.width_mm {
                bad(
                    format!("field[{i}].caption"),
                    format!(
                        "{caption:?} is {cw:.1} mm wide at {} pt; the field is {} mm",
                        t.caption_size_pt, f.width_mm
                    ),
                );
            }
            let pitch = f.line_pitch_mm.unwrap_or(0.0);
            let lines = if datum == Datum::Name {
                v.name_lines
            } else {
                1
            };
            let lowest = f.row_top_mm - t.value_drop_mm - pitch * (lines.saturating_sub(1)) as f32;
            if !inside(f.x_mm, f.row_top_mm, f.width_mm) || lowest < MRZ_ZONE_TOP_MM {
                bad(
                    format!("field[{i}]"),
                    "must lie inside the margins and above the MRZ zone".into(),
                );
            }
            if f.x_mm < portrait.x + portrait.w
                && f.row_top_mm > portrait.y
                && lowest < portrait.y + portrait.h
            {
                bad(
                    format!("field[{i}]"),
                    "overlaps the portrait (Zone V)".into(),
                );
            }
            if datum == Datum::Name
                && lines > 1
                && !(t.value_drop_mm - t.caption_drop_mm..=6.35).contains(&pitch)
            {
                bad(
                    format!("field[{i}].line_pitch_mm"),
                    "too small for the value size".into(),
                );
            }
            fields.push(Field {
                datum,
                caption: f.caption.clone(),
                caption_en: f.caption_en.clone(),
                x_mm: f.x_mm,
                row_top_mm: f.row_top_mm,
                width_mm: f.width_mm,
                line_pitch_mm: pitch,
            });
        }
        for required in [
            Datum::Type,
            Datum::IssuingStateCode,
            Datum::Number,
            Datum::Name,
            Datum::Nationality,
            Datum::DateOfBirth,
            Datum::Sex,
            Datum::PlaceOfBirth,
            Datum::DateOfIssue,
            Datum::DateOfExpiry,
            Datum::Authority,
        ] {
            if !seen.contains(&required) {
                bad(
                    "field".into(),
                    format!("the mandatory field {required:?} has no place (ICAO Part 4 §3)"),
                );
            }
        }

        let Some(name_order) = name_order else {
            return Err(TemplateError::Invalid(Problems(problems)));
        };
        if !problems.is_empty() {
            return Err(TemplateError::Invalid(Problems(problems)));
        }
        Ok(Template {
            width_mm: p.width_mm,
            height_mm: p.height_mm,
            margin_mm: p.margin_mm,
            print_dpi: p.print_dpi,
            caption_size_pt: t.caption_size_pt,
            value_size_pt: t.value_size_pt,
            header_size_pt: t.header_size_pt,
            caption_drop_mm: t.caption_drop_mm,
            value_drop_mm: t.value_drop_mm,
            caption_separator: t.caption_separator.clone(),
            months: v.months.clone(),
            sex: [
                v.sex_male.clone(),
                v.sex_female.clone(),
                v.sex_unspecified.clone(),
            ],
            name_order,
            name_max_chars: v.name_max_chars,
            name_lines: v.name_lines,
            nationality: v.nationality.clone(),
            header,
            portrait,
            portrait_greyscale: pb.greyscale,
            ghost,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_template_is_valid() {
        let fonts = Fonts::shared().expect("fonts");
        let t = Template::default_template(&fonts).expect("valid");
        assert_eq!(t.fields.len(), 12);
    }

    #[test]
    fn nan_and_out_of_range_values_are_refused_with_their_paths() {
        let fonts = Fonts::shared().expect("fonts");
        let text = DEFAULT_TEMPLATE.replace("line_pitch_mm = 3.6", "line_pitch_mm = nan");
        let Err(TemplateError::Invalid(p)) = Template::from_toml(&text, "t", &fonts) else {
            panic!("NaN accepted");
        };
        assert_eq!(p.0[0].path, "field[3].line_pitch_mm");
        let text = DEFAULT_TEMPLATE
            .replace("caption_size_pt = 5.2", "caption_size_pt = 9.0")
            .replace("width_mm = 35.0", "width_mm = 40.0");
        let Err(TemplateError::Invalid(p)) = Template::from_toml(&text, "t", &fonts) else {
            panic!("accepted");
        };
        let paths: Vec<&str> = p.0.iter().map(|p| p.path.as_str()).collect();
        assert!(
            paths.contains(&"text.caption_size_pt") && paths.contains(&"portrait"),
            "{paths:?}"
        );
    }
}
