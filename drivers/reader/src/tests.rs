//! Golden byte tests of each framing, the faults a reader's bytes can carry, and properties
//! (no input panics; what the encoder sends decodes to the same lines, however it is chunked).

use proptest::prelude::*;

use crate::encode::{DEFAULT_EOD, DEFAULT_SOD};
use crate::{Decoder, Document, Event, Framing, FramingError, Garbled, GarbledKind, encode};

/// The ICAO 9303 Part 4 specimen (a fictitious person of the fictitious state Utopia).
const L1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
const L2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

fn doc(lines: &[&str]) -> Event {
    Event::Document(Document {
        lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        flag: None,
    })
}

fn rte_doc(lines: &[&str]) -> Event {
    Event::Document(Document {
        lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        flag: Some(b'0'),
    })
}

fn garbled(at: u64, kind: GarbledKind) -> Event {
    Event::Garbled(Garbled { at, kind })
}

fn decode_all(framing: Framing, bytes: &[u8]) -> Vec<Event> {
    let mut d = Decoder::new(framing);
    let mut events = d.push(bytes);
    events.extend(d.flush());
    events
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---- plain ----

#[test]
fn plain_golden_bytes_are_the_lines_each_ended_by_cr() {
    let bytes = encode(Framing::Plain, &[L1, L2]);
    assert_eq!(bytes, concat(&[L1.as_bytes(), b"\r", L2.as_bytes(), b"\r"]));
    // The second 44-character line completes a TD3 block: no flush needed.
    assert_eq!(
        Decoder::new(Framing::Plain).push(&bytes),
        vec![doc(&[L1, L2])]
    );
}

#[test]
fn plain_takes_cr_lf_and_lf_line_ends_and_trailing_spaces() {
    let crlf = concat(&[L1.as_bytes(), b"  \r\n", L2.as_bytes(), b"\r\n"]);
    assert_eq!(decode_all(Framing::Plain, &crlf), vec![doc(&[L1, L2])]);
    let lf = concat(&[L1.as_bytes(), b"\n", L2.as_bytes(), b"\n"]);
    assert_eq!(decode_all(Framing::Plain, &lf), vec![doc(&[L1, L2])]);
}

#[test]
fn plain_block_missing_a_line_comes_out_when_the_line_goes_quiet() {
    let mut d = Decoder::new(Framing::Plain);
    assert_eq!(d.push(concat(&[L2.as_bytes(), b"\r"]).as_slice()), vec![]);
    assert_eq!(d.flush(), vec![doc(&[L2])]);
    // An empty line ends a block too.
    let bytes = concat(&[L2.as_bytes(), b"\r\r"]);
    assert_eq!(Decoder::new(Framing::Plain).push(&bytes), vec![doc(&[L2])]);
}

#[test]
fn plain_unread_characters_become_question_marks() {
    let smudged = L2
        .replacen('8', "_", 1)
        .replacen('C', "?", 1)
        .replacen('T', "*", 1);
    let bytes = concat(&[L1.as_bytes(), b"\r", smudged.as_bytes(), b"\r"]);
    let events = decode_all(Framing::Plain, &bytes);
    let expected = L2
        .replacen('8', "?", 1)
        .replacen('C', "?", 1)
        .replacen('T', "?", 1);
    assert_eq!(events, vec![doc(&[L1, &expected])]);
    let Event::Document(d) = &events[0] else {
        unreachable!("a document")
    };
    assert_eq!(d.unreadable(), 3);
}

#[test]
fn plain_binary_and_overlong_lines_are_reported_and_the_next_document_still_reads() {
    let mut bytes = b"AB\x00\xFFCD\r".to_vec();
    bytes.extend(std::iter::repeat_n(b'X', 100));
    bytes.push(b'\r');
    let tail_at = bytes.len() as u64;
    bytes.extend(encode(Framing::Plain, &[L1, L2]));
    let events = decode_all(Framing::Plain, &bytes);
    assert_eq!(
        events,
        vec![
            garbled(0, GarbledKind::NotText),
            garbled(7, GarbledKind::LineTooLong),
            doc(&[L1, L2]),
        ],
        "document starts at byte {tail_at}"
    );
}

#[test]
fn plain_td1_card_is_three_lines() {
    let td1 = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];
    let bytes = encode(Framing::Plain, &td1);
    assert_eq!(Decoder::new(Framing::Plain).push(&bytes), vec![doc(&td1)]);
}

// ---- CUTE ----

#[test]
fn cute_golden_bytes() {
    let bytes = encode(Framing::CUTE, &[L1, L2]);
    let mut want = vec![0x1C, 0x02];
    want.extend_from_slice(L1.as_bytes());
    want.push(0x0D);
    want.extend_from_slice(L2.as_bytes());
    want.extend_from_slice(&[0x0D, 0x03, 0x1D]);
    assert_eq!(bytes, want);
    assert_eq!((DEFAULT_SOD, DEFAULT_EOD), (0x1C, 0x1D));
    // The document is out at ETX, before the EOD byte.
    let mut d = Decoder::new(Framing::CUTE);
    assert_eq!(d.push(&bytes[..bytes.len() - 1]), vec![doc(&[L1, L2])]);
    assert_eq!(d.push(&bytes[bytes.len() - 1..]), vec![]);
    assert_eq!(d.flush(), vec![]);
}

#[test]
fn cute_with_configured_control_bytes_checks_them() {
    let framing = Framing::parse("cute", Some("0x10"), Some("11")).expect("valid bytes");
    let bytes = encode(framing, &[L1, L2]);
    assert_eq!((bytes[0], bytes[bytes.len() - 1]), (0x10, 0x11));
    assert_eq!(decode_all(framing, &bytes), vec![doc(&[L1, L2])]);
    // A frame with another SOD still reads; the odd byte is reported.
    let other = encode(Framing::CUTE, &[L1, L2]);
    assert_eq!(
        decode_all(framing, &other),
        vec![
            garbled(0, GarbledKind::Stray { count: 1 }),
            doc(&[L1, L2]),
            garbled(other.len() as u64 - 1, GarbledKind::Stray { count: 1 }),
        ]
    );
}

#[test]
fn cute_three_lines_no_sod_and_a_missing_line() {
    let bytes = concat(&[
        b"\x02",
        L1.as_bytes(),
        b"\r",
        L2.as_bytes(),
        b"\rLINE3<<\r\x03",
    ]);
    assert_eq!(
        decode_all(Framing::CUTE, &bytes),
        vec![doc(&[L1, L2, "LINE3<<"])]
    );
    let bytes = concat(&[b"\x1C\x02", L2.as_bytes(), b"\r\x03\x1D"]);
    assert_eq!(decode_all(Framing::CUTE, &bytes), vec![doc(&[L2])]);
}

#[test]
fn cute_truncated_reopened_overlong_and_stray_frames_are_reported() {
    // Truncated: the line goes quiet inside a frame.
    let cut = concat(&[b"\x1C\x02", L1.as_bytes()]);
    assert_eq!(
        decode_all(Framing::CUTE, &cut),
        vec![garbled(1, GarbledKind::Truncated)]
    );
    // Reopened: STX before ETX; the second frame reads.
    let mut bytes = cut.clone();
    let second_stx = bytes.len() as u64;
    bytes.extend(concat(&[
        b"\x02",
        L1.as_bytes(),
        b"\r",
        L2.as_bytes(),
        b"\r\x03\x1D",
    ]));
    assert_eq!(
        decode_all(Framing::CUTE, &bytes),
        vec![garbled(second_stx, GarbledKind::Reopened), doc(&[L1, L2])]
    );
    // Too long.
    let mut long = b"\x02".to_vec();
    long.extend(std::iter::repeat_n(b'A', 2000));
    let events = decode_all(Framing::CUTE, &long);
    assert_eq!(events[0], garbled(0, GarbledKind::FrameTooLong));
    // Text outside a frame (a plain reader on a CUTE setting).
    let plain = encode(Framing::Plain, &[L1, L2]);
    assert_eq!(
        decode_all(Framing::CUTE, &plain),
        vec![garbled(0, GarbledKind::Stray { count: 90 })]
    );
}

// ---- RTE ----

#[test]
fn rte_golden_bytes() {
    let bytes = encode(Framing::Rte, &[L1, L2]);
    // SOH, length 140 (0x8C: "OU" STX flag, three lines of 44 + CR, ETX), then the body.
    assert_eq!(&bytes[..6], &[0x01, 0x8C, b'O', b'U', 0x02, b'0']);
    assert_eq!(&bytes[6..51], concat(&[&[b'_'; 44][..], b"\r"]).as_slice());
    assert_eq!(&bytes[51..96], concat(&[L1.as_bytes(), b"\r"]).as_slice());
    assert_eq!(&bytes[96..141], concat(&[L2.as_bytes(), b"\r"]).as_slice());
    assert_eq!(bytes[141], 0x03);
    // The BCC: XOR of the length byte through ETX, pinned (computed apart, in Python).
    assert_eq!(bytes[142], 0xA1);
    assert_eq!(bytes.len(), 143);
    assert_eq!(
        Decoder::new(Framing::Rte).push(&bytes),
        vec![rte_doc(&[L1, L2])]
    );
}

#[test]
fn rte_bad_bcc_length_and_frame_are_reported() {
    let mut bytes = encode(Framing::Rte, &[L1, L2]);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    assert_eq!(
        decode_all(Framing::Rte, &bytes),
        vec![garbled(
            last as u64,
            GarbledKind::Bcc {
                expected: 0xA1,
                got: 0xA1 ^ 0x55
            }
        )]
    );
    // A flipped bit inside a line also breaks the BCC.
    let mut bytes = encode(Framing::Rte, &[L1, L2]);
    bytes[60] ^= 0x01;
    assert!(matches!(
        decode_all(Framing::Rte, &bytes)[..],
        [Event::Garbled(Garbled {
            kind: GarbledKind::Bcc { .. },
            ..
        })]
    ));
    assert_eq!(
        decode_all(Framing::Rte, b"\x01\x03"),
        vec![garbled(1, GarbledKind::Length { declared: 3 })]
    );
    // A well-checked frame without "OU" STX.
    let body = b"XX\x020L\r\x03";
    let len = body.len() as u8;
    let bcc = body.iter().fold(len, |a, &b| a ^ b);
    let frame = concat(&[&[0x01, len], body, &[bcc]]);
    assert_eq!(
        decode_all(Framing::Rte, &frame),
        vec![garbled(0, GarbledKind::Malformed)]
    );
    // Cut short, then quiet.
    let bytes = encode(Framing::Rte, &[L1, L2]);
    assert_eq!(
        decode_all(Framing::Rte, &bytes[..70]),
        vec![garbled(0, GarbledKind::Truncated)]
    );
}

#[test]
fn rte_keeps_the_bottom_line_last_and_unpads_short_lines() {
    // Only the bottom line was read: one line, and it is line 2.
    let bytes = encode(Framing::Rte, &[L2]);
    assert_eq!(decode_all(Framing::Rte, &bytes), vec![rte_doc(&[L2])]);
    let td1 = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];
    assert_eq!(
        decode_all(Framing::Rte, &encode(Framing::Rte, &td1)),
        vec![rte_doc(&td1)]
    );
    // An unread last character of a TD3 line stays unread (no padding to strip there).
    let smudged = format!("{}_", &L2[..43]);
    let events = decode_all(Framing::Rte, &encode(Framing::Rte, &[L1, &smudged]));
    assert_eq!(events, vec![rte_doc(&[L1, &format!("{}?", &L2[..43])])]);
}

// ---- settings ----

#[test]
fn framing_settings_are_checked_with_a_code() {
    assert_eq!(Framing::parse("plain", None, None), Ok(Framing::Plain));
    assert_eq!(Framing::parse("rte", None, None), Ok(Framing::Rte));
    assert_eq!(Framing::parse("cute", None, None), Ok(Framing::CUTE));
    let e = Framing::parse("desk", None, None).expect_err("unknown");
    assert!(e.to_string().starts_with("reader-framing-unknown:"), "{e}");
    assert_eq!(
        Framing::parse("cute", Some("0x100"), None),
        Err(FramingError::Byte {
            key: "sod",
            value: "0x100".into()
        })
    );
    assert_eq!(
        Framing::parse("cute", None, Some("0x41")),
        Err(FramingError::Clashes {
            key: "eod",
            byte: 0x41
        })
    );
    assert_eq!(
        Framing::parse("cute", Some("02"), None),
        Err(FramingError::Clashes {
            key: "sod",
            byte: 0x02
        })
    );
    assert_eq!(
        Framing::parse("rte", Some("1c"), None),
        Err(FramingError::NotCute("sod"))
    );
    assert_eq!(
        Framing::parse("cute", Some("1c"), Some("1d")).map(|f| f.to_string()),
        Ok("cute sod=0x1C eod=0x1D".into())
    );
}

// ---- properties ----

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::Plain),
        Just(Framing::CUTE),
        Just(Framing::Rte)
    ]
}

fn mrz_line() -> impl Strategy<Value = String> {
    "[A-Z0-9<]{44}"
}

proptest! {
    #[test]
    fn no_input_panics(framing in framing(), bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut d = Decoder::new(framing);
        for chunk in bytes.chunks(7) {
            for event in d.push(chunk) {
                if let Event::Document(doc) = event {
                    for line in &doc.lines {
                        prop_assert!(line.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<' || c == '?'));
                    }
                }
            }
        }
        d.flush();
    }

    #[test]
    fn what_is_encoded_decodes_to_the_same_lines_however_chunked(
        framing in framing(),
        l1 in mrz_line(),
        l2 in mrz_line(),
        cut in 0usize..200,
    ) {
        let mut bytes = encode(framing, &[&l1, &l2]);
        bytes.extend(encode(framing, &[&l1, &l2]));
        let cut = cut.min(bytes.len());
        let mut d = Decoder::new(framing);
        let mut events = d.push(&bytes[..cut]);
        events.extend(d.push(&bytes[cut..]));
        events.extend(d.flush());
        let flag = (framing == Framing::Rte).then_some(b'0');
        let one = Event::Document(Document { lines: vec![l1, l2], flag });
        prop_assert_eq!(events, vec![one.clone(), one]);
    }
}
