//! The IPP model: request bytes (golden), a printer's attributes as status, capabilities and
//! identity, and every way a job can end.

use super::*;

fn attrs(pairs: Vec<(&str, IppValue)>) -> Attrs {
    let mut a = IppAttributes::new();
    for (name, value) in pairs {
        a.add(
            DelimiterTag::PrinterAttributes,
            IppAttribute::with_name(name, value).expect("a name"),
        );
    }
    Attrs::of(&a, DelimiterTag::PrinterAttributes)
}

fn kw(s: &str) -> IppValue {
    keyword(s).expect("ok")
}

fn kws(list: &[&str]) -> IppValue {
    IppValue::Array(list.iter().map(|s| kw(s)).collect())
}

fn res(dpi: i32) -> IppValue {
    IppValue::Resolution {
        cross_feed: dpi,
        feed: dpi,
        units: 3,
    }
}

#[test]
fn a_get_printer_attributes_request_is_byte_exact() {
    let mut req = request(Operation::GetPrinterAttributes, "ipp://h:631/ipp/print", 7).expect("ok");
    add(&mut req, "requested-attributes", kw("printer-state")).expect("ok");
    let bytes = req.to_bytes();
    let mut expected: Vec<u8> = vec![0x01, 0x01, 0x00, 0x0B, 0, 0, 0, 7, 0x01];
    let mut attr = |tag: u8, name: &str, value: &str| {
        expected.push(tag);
        expected.extend_from_slice(&(name.len() as u16).to_be_bytes());
        expected.extend_from_slice(name.as_bytes());
        expected.extend_from_slice(&(value.len() as u16).to_be_bytes());
        expected.extend_from_slice(value.as_bytes());
    };
    attr(0x47, "attributes-charset", "utf-8");
    attr(0x48, "attributes-natural-language", "en");
    attr(0x45, "printer-uri", "ipp://h:631/ipp/print");
    attr(0x42, "requesting-user-name", "pstation");
    attr(0x44, "requested-attributes", "printer-state");
    expected.push(0x03);
    assert_eq!(bytes.as_ref(), expected.as_slice());
}

#[test]
fn conditions_that_stop_a_booklet_printer_are_errors_whatever_their_suffix() {
    assert_eq!(reason("none"), None);
    assert_eq!(reason("media-jam").as_deref(), Some("media-jam-error"));
    assert_eq!(reason("cover-open").as_deref(), Some("cover-open-error"));
    assert_eq!(reason("toner-low").as_deref(), Some("toner-low-report"));
    assert_eq!(reason("warming-up").as_deref(), Some("warming-up-report"));
    // CUPS's reference printer: a jam while processing, an empty tray while idle.
    assert_eq!(
        reason("media-jam-warning").as_deref(),
        Some("media-jam-error")
    );
    assert_eq!(
        reason("media-empty-report").as_deref(),
        Some("media-empty-error")
    );
    assert_eq!(
        reason("toner-low-warning").as_deref(),
        Some("toner-low-warning")
    );
    assert_eq!(reason("other").as_deref(), Some("other-error"));
}

#[test]
fn a_printer_with_an_error_reason_is_stopped_whatever_its_state() {
    let s = status(&attrs(vec![
        ("printer-state", IppValue::Enum(4)),
        ("printer-state-reasons", kws(&["media-jam", "toner-low"])),
        (
            "printer-state-message",
            IppValue::TextWithoutLanguage("Jammed.".try_into().expect("ok")),
        ),
    ]));
    assert_eq!(s.state, PrinterState::Stopped);
    assert_eq!(s.reasons, ["media-jam-error", "toner-low-report"]);
    assert_eq!(s.display.as_deref(), Some("Jammed."));
    assert!(!s.ready());
    let idle = status(&attrs(vec![
        ("printer-state", IppValue::Enum(3)),
        ("printer-state-reasons", kw("none")),
    ]));
    assert!(idle.ready() && idle.reasons.is_empty());
    let warming = status(&attrs(vec![
        ("printer-state", IppValue::Enum(3)),
        ("printer-state-reasons", kw("warming-up")),
    ]));
    assert!(warming.settling() && !warming.ready());
    assert_eq!(
        status(&attrs(vec![("printer-state", IppValue::Enum(5))])).state,
        PrinterState::Stopped
    );
}

#[test]
fn the_format_is_pdf_first_pwg_raster_at_the_best_resolution_or_refused() {
    let both = attrs(vec![
        (
            "document-format-supported",
            IppValue::Array(vec![
                mime("application/octet-stream").expect("ok"),
                mime("application/pdf").expect("ok"),
                mime("image/pwg-raster").expect("ok"),
            ]),
        ),
        (
            "pwg-raster-document-resolution-supported",
            IppValue::Array(vec![res(300), res(600)]),
        ),
        (
            "pwg-raster-document-type-supported",
            kws(&["black_1", "sgray_8"]),
        ),
        ("media-supported", kws(&["iso_b7_88x125mm"])),
    ]);
    let (caps, send) = capabilities(&both, Prefer::Pdf).expect("ok");
    assert_eq!(send, Send::Pdf);
    assert_eq!(caps.bitmap_dpi(), None);
    assert_eq!(caps.resolutions, [600, 300]);
    assert_eq!(caps.media, ["iso_b7_88x125mm"]);
    let (caps, send) = capabilities(&both, Prefer::PwgRaster).expect("ok");
    assert_eq!(
        send,
        Send::Pwg {
            dpi: 600,
            kind: RasterType::Black1
        }
    );
    assert_eq!(caps.bitmap_dpi(), Some(600));
    let raster_only = attrs(vec![
        (
            "document-format-supported",
            mime("image/pwg-raster").expect("ok"),
        ),
        ("pwg-raster-document-resolution-supported", res(300)),
        ("pwg-raster-document-type-supported", kw("sgray_8")),
    ]);
    assert_eq!(
        capabilities(&raster_only, Prefer::Pdf).expect("ok").1,
        Send::Pwg {
            dpi: 300,
            kind: RasterType::Sgray8
        }
    );
    let neither = attrs(vec![(
        "document-format-supported",
        mime("application/postscript").expect("ok"),
    )]);
    let e = capabilities(&neither, Prefer::Pdf).expect_err("an error");
    assert!(e.contains("application/postscript"), "{e}");
}

#[test]
fn identity_names_the_model_and_the_lines_a_technician_compares() {
    let id = identity(&attrs(vec![
        (
            "printer-make-and-model",
            IppValue::TextWithoutLanguage("Example TestPass".try_into().expect("ok")),
        ),
        ("printer-impressions-completed", IppValue::Integer(42)),
        ("printer-resolution-supported", res(600)),
        ("pwg-raster-document-resolution-supported", res(600)),
    ]));
    assert_eq!(id.model, "Example TestPass");
    assert_eq!(id.page_count, Some(42));
    assert_eq!(
        id.config,
        ["pwg-raster-document-resolution-supported=600dpi"]
    );
}

fn job(state: i32, done: Option<i32>) -> JobView {
    JobView {
        state,
        reasons: vec!["job-completed-successfully".to_owned()],
        impressions_completed: done,
        message: None,
    }
}

#[test]
fn a_job_is_confirmed_only_when_completed_with_every_impression_counted() {
    assert_eq!(judge(&job(5, Some(0)), 1, false), None);
    assert_eq!(judge(&job(6, Some(0)), 1, false), None);
    assert_eq!(
        judge(&job(9, Some(1)), 1, false),
        Some(PrintOutcome::Confirmed { pages: 1 })
    );
    // A printer that ran out of booklets and still said completed.
    for done in [Some(0), None] {
        match judge(&job(9, done), 1, false) {
            Some(PrintOutcome::Unknown { reason }) => {
                assert!(reason.contains("0 of 1 impressions"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        judge(&job(8, Some(0)), 1, false),
        Some(PrintOutcome::Unknown { .. })
    ));
    assert_eq!(
        judge(&job(7, Some(0)), 1, true),
        Some(PrintOutcome::CanceledByHost)
    );
    assert!(matches!(
        judge(&job(7, Some(1)), 1, true),
        Some(PrintOutcome::Unknown { .. })
    ));
    assert_eq!(
        judge(&job(7, Some(0)), 1, false),
        Some(PrintOutcome::CanceledAtDevice)
    );
    // Cancelled too late: it printed.
    assert_eq!(
        judge(&job(9, Some(1)), 1, true),
        Some(PrintOutcome::Confirmed { pages: 1 })
    );
}
