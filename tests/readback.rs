//! The OCR-B readback (`layout::readback`) on real data pages: every fixture page reads back
//! exactly at the printers' resolutions and with a calibration offset; a smudge reads as a
//! difference or unreadable, never as the printed character; an erased line is missing.

use std::path::PathBuf;

use pstation::config::Settings;
use pstation::layout::fonts::Fonts;
use pstation::layout::readback::{MrzReader, UNREADABLE};
use pstation::station::render::Renderer;
use pstation_printer_api::Bitmap;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/jobs/valid");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 4, "{out:?}");
    out
}

fn renderer(offset: (f32, f32)) -> Renderer {
    let mut settings = Settings::default_settings().expect("settings");
    settings.render.calibration.offset_x_mm = offset.0;
    settings.render.calibration.offset_y_mm = offset.1;
    Renderer::new(settings).expect("renderer")
}

fn page(renderer: &Renderer, payload: &[u8], dpi: u32) -> Bitmap {
    let mut rendered = renderer
        .render(payload, "X1234567", Some(dpi))
        .expect("render");
    rendered.pages.remove(0)
}

fn reader(dpi: u32) -> MrzReader {
    MrzReader::new(&Fonts::shared().expect("fonts"), dpi).expect("reader")
}

/// Sets pixels of `page` in the rectangle to paper.
fn erase(page: &mut Bitmap, x: std::ops::Range<u32>, y: std::ops::Range<u32>) {
    for yy in y {
        for xx in x.clone() {
            let i = yy as usize * page.stride + (xx / 8) as usize;
            page.bits[i] &= !(0x80 >> (xx % 8));
        }
    }
}

#[test]
fn every_fixture_page_reads_back_exactly_at_300_and_600_dpi() {
    let renderer = renderer((0.0, 0.0));
    for dpi in [300, 600] {
        let reader = reader(dpi);
        for (name, payload) in fixtures() {
            let expected = renderer.mrz(&payload, "X1234567").expect("mrz");
            let read = reader.read(&page(&renderer, &payload, dpi));
            assert_eq!(read, expected.to_vec(), "{name} at {dpi} dpi");
        }
    }
}

#[test]
fn a_calibration_offset_moves_the_page_and_it_still_reads() {
    let reader = reader(300);
    for offset in [(1.5, -1.0), (-0.7, 0.9)] {
        let renderer = renderer(offset);
        let (name, payload) = fixtures().remove(0);
        let expected = renderer.mrz(&payload, "X1234567").expect("mrz");
        let read = reader.read(&page(&renderer, &payload, 300));
        assert_eq!(read, expected.to_vec(), "{name} offset {offset:?}");
    }
}

#[test]
fn a_smudge_is_never_read_as_what_was_printed_and_an_erased_line_is_missing() {
    let renderer = renderer((0.0, 0.0));
    let reader = reader(300);
    let (_, payload) = fixtures().remove(0);
    let expected = renderer.mrz(&payload, "X1234567").expect("mrz");
    let clean = page(&renderer, &payload, 300);
    let mm = |v: f32| (v * 300.0 / 25.4).round() as u32;
    let line2_rows = (clean.height - mm(11.5))..(clean.height - mm(7.3));
    // Wipe most of character 5 of line 2 (cells start at 6.0 mm, 2.54 mm apart).
    let mut smudged = clean.clone();
    let x = mm(6.0 + 2.54 * 4.0);
    erase(&mut smudged, x..x + mm(2.0), line2_rows.clone());
    let read = reader.read(&smudged);
    assert_eq!(read.len(), 2);
    assert_eq!(read[0], expected[0]);
    let got: Vec<char> = read[1].chars().collect();
    let want: Vec<char> = expected[1].chars().collect();
    assert_ne!(got[4], want[4], "{read:?}");
    for i in (0..44).filter(|&i| i != 4) {
        assert_eq!(got[i], want[i], "position {} of {read:?}", i + 1);
    }
    // A cell wiped clean is unreadable.
    let mut wiped = clean.clone();
    let x = mm(6.0 + 2.54 * 9.0);
    erase(&mut wiped, x..x + mm(2.54) - 1, line2_rows.clone());
    let read = reader.read(&wiped);
    assert_eq!(read[1].chars().nth(9), Some(UNREADABLE), "{read:?}");
    assert_eq!(
        read[1].chars().filter(|&c| c == UNREADABLE).count(),
        1,
        "{read:?}"
    );
    // Line 2 erased entirely: one line comes back, line 1.
    let mut lost = clean.clone();
    erase(&mut lost, 0..clean.width, line2_rows);
    assert_eq!(reader.read(&lost), vec![expected[0].clone()]);
}

#[test]
fn resolutions_outside_the_range_are_refused_with_a_code() {
    let fonts = Fonts::shared().expect("fonts");
    let e = MrzReader::new(&fonts, 100).expect_err("too coarse");
    assert!(e.to_string().starts_with("readback-dpi:"), "{e}");
}
