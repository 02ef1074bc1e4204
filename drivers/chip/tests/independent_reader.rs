//! An independent reader: the pure-Rust `dmrtd` crate opens the virtual card with BAC, reads
//! EF.COM, DG1, DG2 and EF.SOD through its own SFI-based READ BINARY and 3DES secure messaging,
//! and runs its own Passive Authentication (hashes, DS signature, DS → CSCA).

use chrono::NaiveDate;
use der::{DecodePem, Encode};
use dmrtd::auth::passive::{self, ChainStatus, DataGroup, PassiveAuthError, TrustAnchor};
use dmrtd::com::{TransceiveError, Transceiver};
use dmrtd::lds::ef::ElementaryFile;
use dmrtd::passport::Passport;
use dmrtd::proto::dba_key::DBAKey;
use pstation_chip::bac::MrzInfo;
use pstation_chip::card::Card;
use pstation_chip::issue::{self, Holder, Party};
use pstation_chip::lds;
use pstation_chip::session::File;

/// 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;
const FROM: u64 = NOW - 86_400;
/// Check-digit-valid TD3 (the project's reference vector): dmrtd validates every check digit.
const MRZ: &str = concat!(
    "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<",
    "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02",
);

/// dmrtd's transport: straight into the card, in-process.
struct InProcess<'a>(&'a mut Card);

impl Transceiver for InProcess<'_> {
    fn transceive(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransceiveError> {
        self.0
            .transmit(apdu)
            .ok_or_else(|| TransceiveError::new("the chip did not answer"))
    }
}

fn face() -> Vec<u8> {
    let mut f = vec![0xFF, 0xD8, 0xFF, 0xE0];
    f.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    f
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

fn issued_card() -> (Card, Party) {
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
    let access = MrzInfo::new("X1234567", "900101", "350101").expect("valid");
    (Card::new(&access, &lds, counter_rng(5)), csca)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn holder_key() -> DBAKey {
    DBAKey::new("X1234567", date(1990, 1, 1), date(2035, 1, 1), false).expect("BAC key")
}

/// The CSCA as dmrtd wants it: DER. (From PEM, as `[chip] csca` files hold it.)
fn csca_anchor(csca: &Party) -> TrustAnchor {
    let pem = csca.certificate_pem().expect("PEM");
    let der = x509_cert::Certificate::from_pem(pem.as_bytes())
        .expect("PEM parses")
        .to_der()
        .expect("DER");
    TrustAnchor::from_certificate(&der).expect("CSCA parses")
}

struct Read {
    com: dmrtd::lds::df1::efcom::EfCOM,
    dg1: dmrtd::lds::df1::efdg1::EfDG1,
    dg2: dmrtd::lds::df1::efdg2::EfDG2,
    sod: dmrtd::lds::df1::efsod::EfSOD,
}

fn read_with_dmrtd(card: &mut Card, key: DBAKey) -> Result<Read, dmrtd::passport::PassportError> {
    let mut passport = Passport::new(InProcess(card));
    passport.start_session(key)?; // plain SELECT AID, GET CHALLENGE, EXTERNAL AUTHENTICATE
    Ok(Read {
        com: passport.read_ef_com()?,
        dg1: passport.read_ef_dg1()?,
        dg2: passport.read_ef_dg2()?,
        sod: passport.read_ef_sod()?,
    })
}

#[test]
fn dmrtd_reads_the_virtual_card_and_passes_passive_authentication() {
    let (mut card, csca) = issued_card();
    let read = read_with_dmrtd(&mut card, holder_key()).expect("dmrtd reads the chip");

    assert_eq!(read.com.version(), "0107");
    assert_eq!(read.com.unicode_version(), "040000");
    let tags: Vec<u32> = read.com.dg_tags().iter().map(|t| t.0).collect();
    assert_eq!(tags, vec![0x61, 0x75]);
    assert_eq!(read.dg1.mrz().document_number(), "X1234567");
    assert_eq!(read.dg1.to_bytes(), card.file(File::Dg1).expect("DG1"));
    assert_eq!(read.dg2.image_data.as_deref(), Some(face().as_slice()));
    assert_eq!((read.dg2.image_width, read.dg2.image_height), (413, 531));
    assert_eq!(read.sod.to_bytes(), card.file(File::Sod).expect("SOD"));

    let pa = passive::verify(
        read.sod.to_bytes(),
        &[
            DataGroup {
                number: 1,
                bytes: read.dg1.to_bytes(),
            },
            DataGroup {
                number: 2,
                bytes: read.dg2.to_bytes(),
            },
        ],
        &[csca_anchor(&csca)],
    )
    .expect("EF.SOD consistent and DS signature valid");
    assert_eq!(pa.verified_groups, vec![1, 2]);
    assert_eq!(pa.sod_groups, vec![1, 2]);
    assert!(matches!(pa.chain, ChainStatus::Trusted { .. }));
    assert!(pa.is_authentic() && pa.covers_all_groups());
}

#[test]
fn dmrtd_cannot_open_the_chip_with_another_persons_key() {
    let (mut card, _) = issued_card();
    let other = DBAKey::new("Y7654321", date(1990, 1, 1), date(2035, 1, 1), false).expect("key");
    let err = read_with_dmrtd(&mut card, other)
        .err()
        .expect("BAC must fail");
    assert!(err.message.contains("BAC step failed"), "{err}"); // code is None for BAC failures
}

#[test]
fn dmrtd_flags_a_changed_dg2() {
    let (mut card, csca) = issued_card();
    card.replace_file(
        File::Dg2,
        lds::build_dg2(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], 1, 1),
    );
    let read = read_with_dmrtd(&mut card, holder_key()).expect("still reads");
    let err = passive::verify(
        read.sod.to_bytes(),
        &[
            DataGroup {
                number: 1,
                bytes: read.dg1.to_bytes(),
            },
            DataGroup {
                number: 2,
                bytes: read.dg2.to_bytes(),
            },
        ],
        &[csca_anchor(&csca)],
    )
    .expect_err("hash mismatch");
    assert_eq!(err, PassiveAuthError::DataGroupHashMismatch(2));
}

#[test]
fn dmrtd_does_not_anchor_to_an_unknown_csca() {
    let (mut card, _) = issued_card();
    let stranger = Party::csca("CN=Other CSCA,C=ID", "other", FROM, 3650).expect("CSCA");
    let read = read_with_dmrtd(&mut card, holder_key()).expect("reads");
    let pa = passive::verify(
        read.sod.to_bytes(),
        &[DataGroup {
            number: 1,
            bytes: read.dg1.to_bytes(),
        }],
        &[csca_anchor(&stranger)],
    )
    .expect("internally consistent");
    assert_eq!(pa.chain, ChainStatus::Unverified); // Ok(..), not Err — must check
    assert!(!pa.is_authentic());
}
