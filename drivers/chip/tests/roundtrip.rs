//! The reading session against the virtual card, end to end in memory: a chip issued by the
//! test central office opens with its holder's key and passes Passive Authentication; each
//! fault (another person's chip, a changed DG1, a broken signature, an unknown CSCA, an expired
//! certificate, a mute chip) is caught as its own error; nothing panics on arbitrary bytes.

use std::collections::BTreeMap;

use proptest::prelude::*;
use pstation_chip::ChipError;
use pstation_chip::bac::{Bac, MrzInfo};
use pstation_chip::card::Card;
use pstation_chip::issue::{self, Holder, Party};
use pstation_chip::lds;
use pstation_chip::pa::{self, PaError};
use pstation_chip::session::{File, Session, Step};

/// 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;
const FROM: u64 = NOW - 86_400;
const MRZ: &str =
    "P<IDNSETIAWAN<<BUDI<CONTOH<<<<<<<<<<<<<<<<<<X1234567<2IDN9001011M3012315<<<<<<<<<<<<<<00";

fn authority() -> (Party, Party) {
    let csca = Party::csca(
        "CN=Test CSCA,O=pstation test central office,C=ID",
        "csca",
        FROM,
        3650,
    )
    .expect("CSCA");
    let ds = csca
        .document_signer(
            "CN=Test Document Signer 1,O=pstation test central office,C=ID",
            "ds",
            7,
            FROM,
            365,
        )
        .expect("DS");
    (csca, ds)
}

fn face() -> Vec<u8> {
    // Any bytes that start like a JPEG do for the LDS (the station's tests use real JPEGs).
    let mut f = vec![0xFF, 0xD8, 0xFF, 0xE0];
    f.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    f
}

fn access() -> MrzInfo {
    MrzInfo::new("X1234567", "900101", "350101").expect("valid")
}

fn counter_rng(seed: u8) -> pstation_chip::card::Rng {
    let mut n = seed;
    Box::new(move |buf: &mut [u8]| {
        for b in buf {
            n = n.wrapping_mul(31).wrapping_add(17);
            *b = n;
        }
    })
}

fn card() -> (Card, Party) {
    let (csca, ds) = authority();
    let face = face();
    let lds = issue::issue(
        &Holder {
            mrz: MRZ,
            face: &face,
            width: 413,
            height: 531,
        },
        &ds,
    )
    .expect("issued");
    (Card::new(&access(), &lds, counter_rng(5)), csca)
}

fn read(card: &mut Card, key: &MrzInfo) -> Result<BTreeMap<File, Vec<u8>>, ChipError> {
    let bac = Bac::new(key.keys(), [0x11; 8], [0x22; 16]);
    let mut session = Session::new(
        Box::new(bac),
        &[File::Com, File::Dg1, File::Dg2, File::Sod],
        &[File::Com, File::Dg1, File::Sod],
    );
    let mut answer = None;
    loop {
        match session.next(answer.as_deref())? {
            Step::Transmit(cmd) => answer = Some(card.transmit(&cmd).ok_or(ChipError::NoAnswer)?),
            Step::Done(files) => return Ok(files),
        }
    }
}

#[test]
fn a_chip_opens_with_its_holders_key_and_passes_passive_authentication() {
    let (mut card, csca) = card();
    let files = read(&mut card, &access()).expect("reads");
    assert_eq!(lds::parse_dg1(&files[&File::Dg1]).expect("DG1"), MRZ);
    assert_eq!(
        lds::parse_com(&files[&File::Com]).expect("COM"),
        vec![0x61, 0x75]
    );
    assert_eq!(
        lds::parse_dg2_face(&files[&File::Dg2]).expect("DG2"),
        face()
    );
    // Read whole and byte-exact, across many READ BINARY chunks.
    assert_eq!(files[&File::Dg2], card.file(File::Dg2).expect("has DG2"));
    let report = pa::verify(&files, std::slice::from_ref(&csca.certificate), NOW).expect("genuine");
    assert_eq!(report.groups_checked, vec![1, 2]);
    assert_eq!(report.hash_algorithm, "SHA-256");
    assert!(report.csca.contains("Test CSCA"), "{}", report.csca);
    assert!(report.document_signer.contains("Test Document Signer 1"));
}

#[test]
fn another_persons_chip_does_not_open() {
    let (mut card, _) = card();
    let other = MrzInfo::new("X1234567", "900102", "350101").expect("valid");
    assert!(matches!(
        read(&mut card, &other),
        Err(ChipError::AccessDenied { sw: 0x6300 })
    ));
}

#[test]
fn a_changed_dg1_fails_its_hash() {
    let (mut card, csca) = card();
    card.replace_file(File::Dg1, lds::build_dg1(&MRZ.replace("BUDI", "BUDY")));
    let files = read(&mut card, &access()).expect("reads");
    assert_eq!(
        pa::verify(&files, &[csca.certificate], NOW),
        Err(PaError::HashMismatch { dg: 1 })
    );
}

#[test]
fn a_broken_signature_is_caught() {
    let (mut card, csca) = card();
    let mut sod = card.file(File::Sod).expect("SOD").to_vec();
    // The SOD ends with the signer's signature: change its last byte.
    let last = sod.len() - 1;
    sod[last] ^= 0x01;
    card.replace_file(File::Sod, sod);
    let files = read(&mut card, &access()).expect("reads");
    assert_eq!(
        pa::verify(&files, &[csca.certificate], NOW),
        Err(PaError::SignatureInvalid)
    );
}

#[test]
fn a_document_signer_from_an_unknown_csca_is_refused() {
    let (mut card, _) = card();
    let stranger = Party::csca(
        "CN=Test CSCA,O=pstation test central office,C=ID",
        "another key with the same name",
        FROM,
        3650,
    )
    .expect("CSCA");
    let files = read(&mut card, &access()).expect("reads");
    assert!(matches!(
        pa::verify(&files, &[stranger.certificate], NOW),
        Err(PaError::CscaUnknown { .. })
    ));
    assert!(matches!(
        pa::verify(&files, &[], NOW),
        Err(PaError::CscaUnknown { .. })
    ));
}

#[test]
fn certificates_are_checked_at_the_time_given() {
    let (mut card, csca) = card();
    let files = read(&mut card, &access()).expect("reads");
    assert_eq!(
        pa::verify(
            &files,
            std::slice::from_ref(&csca.certificate),
            NOW + 400 * 86_400
        ),
        Err(PaError::CertificateExpired {
            which: "document-signer"
        })
    );
    assert!(matches!(
        pa::verify(&files, &[csca.certificate], FROM - 10),
        Err(PaError::CertificateExpired { .. })
    ));
}

#[test]
fn a_mute_chip_is_no_answer() {
    let (card, _) = card();
    let mut card = card.mute();
    assert_eq!(read(&mut card, &access()), Err(ChipError::NoAnswer));
}

#[test]
fn files_before_access_control_are_refused() {
    let (mut card, _) = card();
    assert_eq!(
        card.transmit(&[
            0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0, 0, 2, 0x47, 0x10, 0x01
        ]),
        Some(vec![0x90, 0x00])
    );
    assert_eq!(
        card.transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01]),
        Some(vec![0x69, 0x82])
    );
}

#[test]
fn certificates_round_trip_through_pem() {
    let (csca, _) = authority();
    let pem = csca.certificate_pem().expect("PEM");
    let parsed = pa::parse_certificates(pem.as_bytes()).expect("parses");
    assert_eq!(parsed, vec![csca.certificate]);
    assert!(pa::parse_certificates(b"not a certificate").is_err());
}

#[test]
fn vpcd_frames_split_and_join() {
    use pstation_chip::vpcd::{Decoder, Message, encode};
    let mut d = Decoder::new();
    let mut stream = encode(&[4]);
    stream.extend(encode(&[0x00, 0x84, 0x00, 0x00, 0x08]));
    stream.extend(encode(&[1]));
    let (a, b) = stream.split_at(4);
    let mut got = d.push(a);
    got.extend(d.push(b));
    assert_eq!(
        got,
        vec![
            Message::GetAtr,
            Message::Apdu(vec![0x00, 0x84, 0x00, 0x00, 0x08]),
            Message::PowerOn
        ]
    );
}

proptest! {
    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = pstation_chip::apdu::Command::parse(&bytes);
        let _ = pstation_chip::apdu::Response::parse(&bytes);
        let _ = pstation_chip::apdu::read_all(&bytes);
        let _ = lds::parse_dg1(&bytes);
        let _ = lds::parse_dg2_face(&bytes);
        let _ = lds::parse_com(&bytes);
        let mut files = BTreeMap::new();
        files.insert(File::Sod, bytes.clone());
        files.insert(File::Dg1, bytes.clone());
        let _ = pa::verify(&files, &[], NOW);
        let (mut card, _) = card();
        let _ = card.transmit(&bytes);
        // A session fed arbitrary answers ends in an error or asks again; it never panics.
        let mut session = Session::new(
            Box::new(Bac::new(access().keys(), [1; 8], [2; 16])),
            &[File::Dg1],
            &[File::Dg1],
        );
        let _ = session.next(None);
        for chunk in bytes.chunks(9) {
            if session.next(Some(chunk)).is_err() {
                break;
            }
        }
        let _ = pstation_chip::vpcd::Decoder::new().push(&bytes);
    }
}
