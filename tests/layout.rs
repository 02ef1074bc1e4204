//! The data page measured on its outputs: page size, MRZ geometry and text read back with
//! poppler (`pdftotext -bbox`, `pdftoppm`), Zone V, margins, calibration offsets, raster vs PDF
//! agreement, font subsetting, the portrait embedded unchanged, bad images, and a snapshot of the
//! page model.

use std::path::Path;
use std::process::Command;

use image::GrayImage;
use pstation::job::{Job, MediaType, Portrait, ValidateOptions, parse_job};
use pstation::layout::build::{Calibration, Layout, LayoutError};
use pstation::layout::fonts::Fonts;
use pstation::layout::page::{ImageRole, Page, TextRole};
use pstation::layout::pdf::render_pdf;
use pstation::layout::portrait::{self, PortraitLimits};
use pstation::layout::raster::render_page;
use pstation::layout::template::Template;
use pstation::mrz::{self, MrzOptions, Td3};

use crate::util::{fixture, json_files};

const PT_PER_MM: f32 = 72.0 / 25.4;

fn job(path: &Path) -> Job {
    let bytes = std::fs::read(path).expect("fixture");
    parse_job(
        &bytes,
        &ValidateOptions {
            require_portrait: true,
        },
    )
    .expect("valid job")
}

/// Runs `f` with the shipped template, the shared fonts and the default portrait limits.
fn with_layout<R>(calibration: Calibration, f: impl FnOnce(&Layout<'_>) -> R) -> R {
    let fonts = Fonts::shared().expect("fonts");
    let template = Template::default_template(&fonts).expect("template");
    f(&Layout {
        template: &template,
        fonts: &fonts,
        limits: PortraitLimits::DEFAULT,
        calibration,
    })
}

fn render(job: &Job, calibration: Calibration) -> (Vec<u8>, Page, Td3) {
    with_layout(calibration, |layout| {
        let td3 = mrz::generate(&job.td3_input(), &MrzOptions::ICAO_DEFAULT).expect("mrz");
        let page = layout.data_page(job, &td3).expect("page");
        (render_pdf(&page, layout.fonts, "test"), page, td3)
    })
}

fn budi() -> Job {
    job(&fixture("jobs/valid/santoso-budi.json"))
}

fn tool(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .expect("poppler-utils must be installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// One word of `pdftotext -bbox`, converted to millimetres with a bottom-left origin.
#[derive(Debug)]
struct Word {
    text: String,
    x_min: f32,
    x_max: f32,
    /// Height of the word box (font size × (ascent + descent)).
    height: f32,
}

fn words(pdf: &[u8]) -> Vec<Word> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("page.pdf");
    std::fs::write(&path, pdf).expect("write");
    let html = String::from_utf8(tool(
        Command::new("pdftotext").arg("-bbox").arg(&path).arg("-"),
    ))
    .expect("utf-8");
    let attr = |line: &str, name: &str| -> f32 {
        let start = line.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
        let end = start + line[start..].find('"').expect("quote");
        line[start..end].parse().expect("number")
    };
    html.lines()
        .filter(|l| l.trim_start().starts_with("<word"))
        .map(|l| {
            let text_start = l.find('>').expect(">") + 1;
            let text_end = l.rfind("</word>").expect("</word>");
            Word {
                text: l[text_start..text_end]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
                x_min: attr(l, "xMin") / PT_PER_MM,
                x_max: attr(l, "xMax") / PT_PER_MM,
                height: (attr(l, "yMax") - attr(l, "yMin")) / PT_PER_MM,
            }
        })
        .collect()
}

/// poppler's 8-bit grey rendering.
fn poppler_grey(pdf: &[u8], dpi: u32) -> GrayImage {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("page.pdf");
    std::fs::write(&path, pdf).expect("write");
    let png = tool(
        Command::new("pdftoppm")
            .args(["-gray", "-png", "-singlefile", "-r", &dpi.to_string()])
            .arg(&path),
    );
    image::load_from_memory(&png).expect("png").to_luma8()
}

/// Rows (from the bottom edge, in mm) holding ink between `x0..x1` mm, within `y0..y1` mm.
fn ink_rows_mm(
    img: &GrayImage,
    dpi: u32,
    (x0, x1): (f32, f32),
    (y0, y1): (f32, f32),
) -> Option<(f32, f32)> {
    let px = |mm: f32| (mm / 25.4 * dpi as f32).round() as u32;
    let h = img.height();
    let mut lowest = None;
    let mut highest = None;
    for row in 0..h {
        let y_mm = (h - row) as f32 / dpi as f32 * 25.4;
        if y_mm < y0 || y_mm > y1 {
            continue;
        }
        if (px(x0)..px(x1).min(img.width())).any(|x| img.get_pixel(x, row).0[0] < 128) {
            let top = (h - row) as f32 * 25.4 / dpi as f32;
            let bottom = (h - row - 1) as f32 * 25.4 / dpi as f32;
            highest = Some(highest.map_or(top, |v: f32| v.max(top)));
            lowest = Some(lowest.map_or(bottom, |v: f32| v.min(bottom)));
        }
    }
    Some((lowest?, highest?))
}

/// |a(x, y) − b(x + dx, y + dy)| minimised over a 3 × 3 neighbourhood: two renderers (or two
/// positions) may place an edge half a pixel apart.
fn neighbourhood_diff(a: &GrayImage, b: &GrayImage, x: u32, y: u32, (dx, dy): (u32, u32)) -> u8 {
    let v = a.get_pixel(x, y).0[0];
    let mut best = u8::MAX;
    for ny in (y + dy).saturating_sub(1)..=(y + dy + 1).min(b.height() - 1) {
        for nx in (x + dx).saturating_sub(1)..=(x + dx + 1).min(b.width() - 1) {
            best = best.min(v.abs_diff(b.get_pixel(nx, ny).0[0]));
        }
    }
    best
}

#[test]
fn the_page_is_exactly_125_by_88_mm() {
    let (pdf, _, _) = render(&budi(), Calibration::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("page.pdf");
    std::fs::write(&path, &pdf).expect("write");
    let info = String::from_utf8(tool(Command::new("pdfinfo").arg(&path))).expect("utf-8");
    let line = info
        .lines()
        .find(|l| l.starts_with("Page size:"))
        .expect("page size");
    let nums: Vec<f32> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!((nums[0] / PT_PER_MM - 125.0).abs() < 0.01, "{line}");
    assert!((nums[1] / PT_PER_MM - 88.0).abs() < 0.01, "{line}");
}

#[test]
fn both_mrz_lines_read_back_exactly_and_sit_where_icao_says_for_every_fixture() {
    for path in json_files("jobs/valid") {
        let job = job(&path);
        let (pdf, _, td3) = render(&job, Calibration::default());
        let words = words(&pdf);
        let grey = poppler_grey(&pdf, 600);
        for (line, centre, band) in [
            (&td3.line1, 15.75, (12.8, 19.5)),
            (&td3.line2, 9.40, (5.5, 12.6)),
        ] {
            let w = words
                .iter()
                .find(|w| &w.text == line)
                .unwrap_or_else(|| panic!("{path:?}: {line} not extracted from {words:?}"));
            assert!(
                (w.x_min - 6.0).abs() <= 0.25,
                "{path:?}: first character at {} mm",
                w.x_min
            );
            let span = w.x_max - w.x_min;
            assert!(
                (span - 111.76).abs() <= 0.3,
                "{path:?}: 44 characters span {span} mm"
            );
            let (bottom, top) = ink_rows_mm(&grey, 600, (5.0, 121.0), band).expect("ink");
            let measured = (bottom + top) / 2.0;
            assert!(
                (measured - centre).abs() <= 0.25,
                "{path:?}: centre line at {measured} mm, expected {centre}"
            );
        }
    }
}

#[test]
fn the_portrait_fills_zone_v_within_icao_sizes() {
    let (pdf, _, _) = render(&budi(), Calibration::default());
    let grey = poppler_grey(&pdf, 300);
    let dpi = 300.0;
    let h = grey.height();
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (u32::MAX, 0, u32::MAX, 0);
    for (x, y, p) in grey.enumerate_pixels() {
        let x_mm = x as f32 / dpi * 25.4;
        let y_mm = (h - y) as f32 / dpi * 25.4;
        // Zone V below the header (Zone I may overlap it, ICAO Part 4 §3).
        if x_mm < 37.5 && y_mm > 23.2 && y_mm < 78.0 && p.0[0] < 250 {
            x_min = x_min.min(x);
            x_max = x_max.max(x + 1);
            y_min = y_min.min(h - y - 1);
            y_max = y_max.max(h - y);
        }
    }
    let mm = |v: u32| v as f32 / dpi * 25.4;
    let (left, right, bottom, top) = (mm(x_min), mm(x_max), mm(y_min), mm(y_max));
    assert!(
        left >= 2.0 - 0.1 && right <= 37.0 + 0.1,
        "x {left}..{right}"
    );
    let (w, hh) = (right - left, top - bottom);
    // Anti-aliasing may darken one extra pixel (0.085 mm) on each side.
    assert!(
        (26.0..=35.2).contains(&w) && (32.0..=45.2).contains(&hh),
        "{w} x {hh} mm"
    );
    assert!((bottom - 30.55).abs() < 0.2, "bottom at {bottom} mm");
}

#[test]
fn nothing_is_printed_in_the_2_mm_margins() {
    for path in json_files("jobs/valid") {
        let (pdf, _, _) = render(&job(&path), Calibration::default());
        let grey = poppler_grey(&pdf, 300);
        let (w, h) = grey.dimensions();
        let margin = (2.0 / 25.4 * 300.0) as u32;
        for (x, y, p) in grey.enumerate_pixels() {
            if x < margin || x >= w - margin || y < margin {
                assert!(
                    p.0[0] >= 250,
                    "{path:?}: ink at ({x}, {y}) px, inside the margin"
                );
            }
        }
        let _ = h;
    }
}

#[test]
fn a_calibration_offset_moves_everything_by_exactly_the_offset() {
    let job = budi();
    let (plain, _, td3) = render(&job, Calibration::default());
    let (moved, _, _) = render(
        &job,
        Calibration {
            offset_x_mm: 1.0,
            offset_y_mm: -0.5,
        },
    );
    // Text: exactly 1.0 mm to the right.
    let a = words(&plain);
    let b = words(&moved);
    let x = |ws: &[Word], t: &str| ws.iter().find(|w| w.text == t).expect("word").x_min;
    assert!((x(&b, &td3.line2) - x(&a, &td3.line2) - 1.0).abs() < 0.01);
    assert!((x(&b, "X1234567") - x(&a, "X1234567") - 1.0).abs() < 0.01);
    // Pixels: at 254 dpi one millimetre is 10 pixels, so the shift is (10, 5) pixels exactly.
    let ga = poppler_grey(&plain, 254);
    let gb = poppler_grey(&moved, 254);
    let (w, h) = ga.dimensions();
    let (mut compared, mut different) = (0u64, 0u64);
    for y in 0..h - 6 {
        for x in 0..w - 11 {
            compared += 1;
            if neighbourhood_diff(&ga, &gb, x, y, (10, 5)) > 48 {
                different += 1;
            }
        }
    }
    assert!(
        different * 10_000 < compared,
        "{different} of {compared} pixels differ after the shift"
    );
}

#[test]
fn the_raster_agrees_with_poppler_rendering_of_the_pdf() {
    let (pdf, _, _) = render(&budi(), Calibration::default());
    let ours = render_page(&pdf, 300).expect("raster");
    let grey = ours.grey();
    let reference = poppler_grey(&pdf, 300);
    let w = grey.width().min(reference.width());
    let h = grey.height().min(reference.height());
    assert!(
        grey.width().abs_diff(reference.width()) <= 1
            && grey.height().abs_diff(reference.height()) <= 1
    );
    let (mut sum, mut big, mut n) = (0u64, 0u64, 0u64);
    for y in 0..h {
        for x in 0..w {
            let d = neighbourhood_diff(&grey, &reference, x, y, (0, 0));
            sum += u64::from(d);
            if d > 64 {
                big += 1;
            }
            n += 1;
        }
    }
    let mean = sum as f64 / n as f64;
    assert!(mean < 2.0, "mean difference {mean}");
    // Glyph anti-aliasing differs slightly between renderers; a misplaced element would differ
    // by tens of thousands of pixels (the MRZ alone has about 30,000 ink pixels at 300 dpi).
    assert!(
        (big as f64) < n as f64 * 0.005,
        "{big} of {n} pixels differ by more than 64"
    );

    // The 1-bit raster marks ink where the grey raster is dark, in the text-only MRZ zone.
    let mono = ours.mono();
    let (mut agree, mut total) = (0u64, 0u64);
    for y in (h - 300)..h {
        for x in 0..w {
            total += 1;
            if mono.get(x, y) == (grey.get_pixel(x, y).0[0] < 128) {
                agree += 1;
            }
        }
    }
    assert!(agree as f64 > total as f64 * 0.98, "{agree} of {total}");
    assert_eq!((mono.width, mono.height), ours.dimensions());
}

#[test]
fn fonts_are_subset_and_text_is_extractable() {
    let (pdf, _, _) = render(&budi(), Calibration::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("page.pdf");
    std::fs::write(&path, &pdf).expect("write");
    let fonts = String::from_utf8(tool(Command::new("pdffonts").arg(&path))).expect("utf-8");
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 4, "{fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name ... emb sub uni object-id gen
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], ["yes", "yes", "yes"], "{row}");
        assert!(cols[0].chars().nth(6) == Some('+'), "subset tag: {row}");
    }
    let text: String = words(&pdf).iter().map(|w| w.text.clone() + " ").collect();
    for expected in [
        "REPUBLIK",
        "PASPOR",
        "Nama",
        "Lengkap",
        "Full",
        "Name",
        "BUDI",
        "SANTOSO",
        "01",
        "JAN",
        "1990",
        "L/M",
        "INDONESIA",
        "2C11JA0123456",
    ] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
}

#[test]
fn the_prepared_portrait_is_embedded_byte_for_byte() {
    let (pdf, page, _) = render(&budi(), Calibration::default());
    for role in [ImageRole::Portrait, ImageRole::Ghost] {
        let jpeg = &page.image(role).expect("image").jpeg;
        assert!(
            pdf.windows(jpeg.len()).any(|w| w == jpeg.as_slice()),
            "{role:?} was re-encoded"
        );
    }
}

#[test]
fn captions_are_1_to_1_8_mm_high_and_values_no_denser_than_15_per_inch() {
    let (pdf, page, _) = render(&budi(), Calibration::default());
    let fonts = Fonts::shared().expect("fonts");
    // Cap heights from the sizes measured in the PDF: the word box is size × 1.164 (DejaVu's
    // ascent + descent), the cap height 0.729 of the size.
    let words_of = |role| -> Vec<String> {
        page.texts(role)
            .flat_map(|t| {
                t.text
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let others: Vec<String> = [words_of(TextRole::Header), words_of(TextRole::Value)].concat();
    let caption_words: Vec<String> = words_of(TextRole::Caption)
        .into_iter()
        .filter(|w| !others.contains(w))
        .collect();
    let ws = words(&pdf);
    for w in ws.iter().filter(|w| caption_words.contains(&w.text)) {
        let cap = w.height / 1.164 * 0.729;
        assert!((1.0..=1.8).contains(&cap), "{}: {cap} mm", w.text);
    }
    let value_words: Vec<String> = page
        .texts(TextRole::Value)
        .flat_map(|t| {
            t.text
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut checked = 0;
    for w in ws
        .iter()
        .filter(|w| value_words.contains(&w.text) && w.text.chars().count() >= 2)
    {
        let pitch = (w.x_max - w.x_min) / w.text.chars().count() as f32;
        assert!(
            pitch >= 25.4 / 15.0 - 0.01,
            "{}: {pitch} mm per character",
            w.text
        );
        checked += 1;
    }
    assert!(checked >= 8, "{checked}");
    let _ = fonts;
}

#[test]
fn a_long_name_wraps_visibly_and_a_name_too_long_for_the_template_is_refused() {
    let long = job(&fixture("jobs/valid/prawirodirjo-long-name.json"));
    let (pdf, page, _) = render(&long, Calibration::default());
    assert_eq!(page.notices.len(), 1, "{:?}", page.notices);
    let text: Vec<String> = words(&pdf).into_iter().map(|w| w.text).collect();
    for part in [
        "RADEN",
        "MAS",
        "BAGUS",
        "WICAKSONO",
        "ADININGRAT",
        "PRAWIRODIRJO",
    ] {
        assert!(
            text.contains(&part.to_owned()),
            "{part} missing: never silently cut"
        );
    }
    let mut longer = long.clone();
    longer.document.given_names =
        "Raden Mas Bagus Wicaksono Adiningrat Kusumo Hadiwijoyo Soerjosoemarno".into();
    let td3 = mrz::generate(&longer.td3_input(), &MrzOptions::ICAO_DEFAULT).expect("mrz");
    let err = with_layout(Calibration::default(), |layout| {
        layout.data_page(&longer, &td3)
    })
    .expect_err("three lines");
    assert_eq!(err.code(), "viz-name-too-long");
    assert!(matches!(
        err,
        LayoutError::NameTooLong {
            needed: 3,
            lines: 2,
            max_chars: 34
        }
    ));
}

#[test]
fn bad_images_get_a_clear_error_and_no_panic() {
    let cases: &[(&str, MediaType, &str)] = &[
        ("truncated.jpg", MediaType::Jpeg, "portrait-truncated"),
        (
            "claims-20000x20000.png",
            MediaType::Png,
            "portrait-too-many-pixels",
        ),
        ("zero-bytes.jpg", MediaType::Jpeg, "portrait-empty"),
        ("cmyk.jpg", MediaType::Jpeg, "portrait-cmyk"),
        (
            "png-declared-as-jpeg.jpg",
            MediaType::Jpeg,
            "portrait-mismatch",
        ),
        ("not-an-image.jpg", MediaType::Jpeg, "portrait-not-an-image"),
    ];
    for (file, media_type, code) in cases {
        let data = std::fs::read(fixture(&format!("portraits/bad/{file}"))).expect("fixture");
        let err = portrait::decode(
            &Portrait {
                media_type: *media_type,
                data,
            },
            &PortraitLimits::DEFAULT,
        )
        .expect_err(file);
        assert_eq!(err.code(), *code, "{file}: {err}");
        assert!(!err.to_string().is_empty());
    }
    // A portrait too small to print at 300 dpi.
    let tiny = image::RgbImage::from_pixel(60, 80, image::Rgb([200, 200, 200]));
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(tiny)
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("png");
    let mut small = budi();
    small.portrait = Some(Portrait {
        media_type: MediaType::Png,
        data: png.into_inner(),
    });
    let td3 = mrz::generate(&small.td3_input(), &MrzOptions::ICAO_DEFAULT).expect("mrz");
    let err = with_layout(Calibration::default(), |layout| {
        layout.data_page(&small, &td3)
    })
    .expect_err("tiny");
    assert_eq!(err.code(), "portrait-low-resolution");
}

#[test]
fn exif_orientation_is_honoured() {
    // A 300 x 400 portrait stored on its side (400 x 300) with EXIF orientation 6 (rotate 90° CW):
    // the processed portrait must come out upright, dark band at the top.
    let mut img = image::RgbImage::from_pixel(300, 400, image::Rgb([230, 230, 230]));
    for y in 0..60 {
        for x in 0..300 {
            img.put_pixel(x, y, image::Rgb([20, 20, 20]));
        }
    }
    // Stored rotated 90° counter-clockwise; orientation 6 tells viewers to rotate it back.
    let stored = image::imageops::rotate270(&img);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&stored)
        .expect("encode");
    // Insert an APP1 Exif segment with Orientation = 6 after SOI.
    let tiff: Vec<u8> = [
        b"MM\x00\x2a\x00\x00\x00\x08".as_slice(),
        &[0x00, 0x01],
        &[
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,
        ],
        &[0x00, 0x00, 0x00, 0x00],
    ]
    .concat();
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
    with_exif.extend_from_slice(&len.to_be_bytes());
    with_exif.extend_from_slice(&app1);
    with_exif.extend_from_slice(&jpeg[2..]);
    let decoded = portrait::decode(
        &Portrait {
            media_type: MediaType::Jpeg,
            data: with_exif,
        },
        &PortraitLimits::DEFAULT,
    )
    .expect("decodes");
    assert_eq!(
        (decoded.width(), decoded.height()),
        (300, 400),
        "rotated upright"
    );
    let top = decoded.to_luma8().get_pixel(150, 10).0[0];
    let bottom = decoded.to_luma8().get_pixel(150, 390).0[0];
    assert!(top < 80 && bottom > 180, "top {top}, bottom {bottom}");
}

#[test]
fn the_page_model_snapshot_of_the_reference_job() {
    let (_, page, _) = render(&budi(), Calibration::default());
    insta::assert_debug_snapshot!("santoso_budi_page_model", page);
}

#[test]
fn the_calibration_page_shows_rulers_and_the_specimen_mrz() {
    let calibration = Calibration {
        offset_x_mm: 0.5,
        offset_y_mm: 0.0,
    };
    let pdf = with_layout(calibration, |layout| {
        render_pdf(&layout.calibration_page(), layout.fonts, "calibration")
    });
    let ws = words(&pdf);
    let line2 = ws
        .iter()
        .find(|w| w.text == "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
        .expect("MRZ test line");
    assert!(
        (line2.x_min - 6.5).abs() < 0.05,
        "offset applied: {}",
        line2.x_min
    );
    for label in ["10", "50", "110", "+0.50"] {
        assert!(ws.iter().any(|w| w.text == label), "{label}");
    }
}

#[test]
fn rasters_at_600_dpi_and_a_greyscale_template() {
    let (pdf, _, _) = render(&budi(), Calibration::default());
    let r600 = render_page(&pdf, 600).expect("raster");
    // 125 x 88 mm at 600 dpi.
    assert_eq!(r600.dimensions(), (2952, 2078));
    let mono = r600.mono();
    assert_eq!(mono.stride, 369);
    // The MRZ zone has ink; the top margin has none.
    let ink = |y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (0..mono.width).map(move |x| (x, y)))
            .filter(|&(x, y)| mono.get(x, y))
            .count()
    };
    assert!(ink(1700, 1900) > 10_000);
    assert_eq!(ink(0, 40), 0);

    let fonts = Fonts::shared().expect("fonts");
    let text = pstation::layout::template::DEFAULT_TEMPLATE
        .replace("greyscale = false", "greyscale = true");
    let template = Template::from_toml(&text, "grey", &fonts).expect("valid");
    let layout = Layout {
        template: &template,
        fonts: &fonts,
        limits: PortraitLimits::DEFAULT,
        calibration: Calibration::default(),
    };
    let job = budi();
    let td3 = mrz::generate(&job.td3_input(), &MrzOptions::ICAO_DEFAULT).expect("mrz");
    let page = layout.data_page(&job, &td3).expect("page");
    assert!(page.image(ImageRole::Portrait).expect("portrait").grey);
}
