//! Page model → PDF with printpdf: exactly the page size, fonts subset, text extractable, and the
//! prepared JPEGs embedded as they are (a DCTDecode image XObject) so printpdf never decodes or
//! re-encodes them.

use std::collections::{BTreeMap, HashMap};

use printpdf::{
    Color, DictItem, ExternalStream, ExternalXObject, FontId, Greyscale, Line, LinePoint, Mm, Op,
    PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Px, TextItem, XObjectId,
    XObjectTransform,
};

use super::fonts::{Face, Fonts, MM_PER_PT};
use super::page::{ImageRole, Item, Page, PageImage};

/// A prepared JPEG as an image XObject whose stream is the JPEG file itself.
fn jpeg_xobject(img: &PageImage) -> ExternalXObject {
    let name = |s: &str| DictItem::Name(s.as_bytes().to_vec());
    let mut dict = BTreeMap::new();
    dict.insert("Type".to_owned(), name("XObject"));
    dict.insert("Subtype".to_owned(), name("Image"));
    dict.insert("Width".to_owned(), DictItem::Int(i64::from(img.width_px)));
    dict.insert("Height".to_owned(), DictItem::Int(i64::from(img.height_px)));
    dict.insert(
        "ColorSpace".to_owned(),
        name(if img.grey { "DeviceGray" } else { "DeviceRGB" }),
    );
    dict.insert("BitsPerComponent".to_owned(), DictItem::Int(8));
    dict.insert("Filter".to_owned(), name("DCTDecode"));
    ExternalXObject {
        stream: ExternalStream {
            dict,
            content: img.jpeg.clone(),
            // Already compressed: no Flate on top.
            compress: false,
        },
        width: Some(Px(img.width_px as usize)),
        height: Some(Px(img.height_px as usize)),
        dpi: None,
    }
}

/// Draws `page` as a one-page PDF.
pub fn render_pdf(page: &Page, fonts: &Fonts, title: &str) -> Vec<u8> {
    let mut doc = PdfDocument::new(title);
    let mut font_ids: HashMap<Face, FontId> = HashMap::new();
    let mut image_ids: HashMap<ImageRole, (XObjectId, &PageImage)> = HashMap::new();
    for img in &page.images {
        let id = doc.add_xobject(&jpeg_xobject(img));
        image_ids.insert(img.role, (id, img));
    }

    let mut ops = Vec::with_capacity(page.items.len() * 6);
    // DeviceGray 0: pure black (K only). A colour device must not build the MRZ from C+M+Y,
    // which does not absorb in the near infrared (ICAO 9303 Part 3 §4.4).
    let black = || {
        Color::Greyscale(Greyscale {
            percent: 0.0,
            icc_profile: None,
        })
    };
    ops.push(Op::SetFillColor { col: black() });
    ops.push(Op::SetOutlineColor { col: black() });
    for item in &page.items {
        match item {
            Item::Text(t) => {
                let id = font_ids
                    .entry(t.face)
                    .or_insert_with(|| doc.add_font(fonts.parsed(t.face)))
                    .clone();
                // One text section per run: `SetTextCursor` is relative inside a section.
                ops.push(Op::StartTextSection);
                ops.push(Op::SetFont {
                    font: PdfFontHandle::External(id),
                    size: Pt(t.size_pt),
                });
                if t.spacing_mm > 0.0 {
                    ops.push(Op::SetCharacterSpacing {
                        multiplier: t.spacing_mm / MM_PER_PT,
                    });
                }
                ops.push(Op::SetTextCursor {
                    pos: Point::new(Mm(t.x_mm), Mm(t.y_mm)),
                });
                ops.push(Op::ShowText {
                    items: vec![TextItem::Text(t.text.clone())],
                });
                if t.spacing_mm > 0.0 {
                    ops.push(Op::SetCharacterSpacing { multiplier: 0.0 });
                }
                ops.push(Op::EndTextSection);
            }
            Item::Image(p) => {
                let Some((id, img)) = image_ids.get(&p.role) else {
                    continue;
                };
                // printpdf scales the unit square to width_px / dpi inches; choose the dpi that
                // gives exactly w_mm, then correct the height for rounding of the pixel grid.
                let dpi = img.width_px as f32 * 25.4 / p.w_mm;
                let natural_h_mm = img.height_px as f32 * 25.4 / dpi;
                ops.push(Op::UseXobject {
                    id: id.clone(),
                    transform: XObjectTransform {
                        translate_x: Some(Mm(p.x_mm).into()),
                        translate_y: Some(Mm(p.y_mm).into()),
                        dpi: Some(dpi),
                        scale_x: Some(1.0),
                        scale_y: Some(p.h_mm / natural_h_mm),
                        ..Default::default()
                    },
                });
            }
            Item::Line(l) => {
                ops.push(Op::SetOutlineThickness {
                    pt: Pt(l.width_mm / MM_PER_PT),
                });
                ops.push(Op::DrawLine {
                    line: Line {
                        points: vec![
                            LinePoint {
                                p: Point::new(Mm(l.x1_mm), Mm(l.y1_mm)),
                                bezier: false,
                            },
                            LinePoint {
                                p: Point::new(Mm(l.x2_mm), Mm(l.y2_mm)),
                                bezier: false,
                            },
                        ],
                        is_closed: false,
                    },
                });
            }
        }
    }
    let pdf_page = PdfPage::new(Mm(page.width_mm), Mm(page.height_mm), ops);
    let opts = PdfSaveOptions {
        optimize: true,
        subset_fonts: true,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    doc.with_pages(vec![pdf_page]).save(&opts, &mut warnings)
}
