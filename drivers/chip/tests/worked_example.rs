//! Golden tests: ICAO 9303 Part 11 Appendix D's worked example (document L898902C<, born
//! 690806, expiring 940623) replayed byte for byte — the keys, the challenge and cryptograms of
//! MUTUAL AUTHENTICATE, the session keys and counter, and the first protected SELECT and READ
//! BINARY commands and responses with their MACs.

use pstation_chip::apdu::{Command, Response};
use pstation_chip::bac::{Bac, BacKeys, MrzInfo, check_digit};
use pstation_chip::crypto;
use pstation_chip::session::{Access, AccessStep};
use pstation_chip::sm::{Channel, SecureChannel};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("hex in the test")
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    h(s).try_into().expect("length in the test")
}

#[test]
fn mrz_information_and_document_basic_access_keys() {
    let info = MrzInfo::new("L898902C", "690806", "940623").expect("valid");
    assert_eq!(info.as_str(), "L898902C<369080619406236");
    assert_eq!(check_digit(b"L898902C<"), 3);
    let seed = crypto::seed_of(info.as_str().as_bytes());
    assert_eq!(seed.to_vec(), h("239AB9CB282DAF66231DC5A4DF6BFBAE"));
    let keys = info.keys();
    assert_eq!(keys.enc.to_vec(), h("AB94FDECF2674FDFB9B391F85D7F76F2"));
    assert_eq!(keys.mac.to_vec(), h("7962D9ECE03D1ACD4C76089DCE131543"));
}

#[test]
fn mutual_authentication_and_session_keys() {
    let keys = MrzInfo::new("L898902C", "690806", "940623")
        .expect("valid")
        .keys();
    let mut bac = Bac::new(
        keys.clone(),
        arr("781723860C06C226"),
        arr("0B795240CB7049B01C19B33E32804F0B"),
    );
    let AccessStep::Transmit(challenge) = bac.step(None).expect("start") else {
        panic!("BAC starts with GET CHALLENGE")
    };
    assert_eq!(challenge.encode(), h("0084000008"));
    let AccessStep::Transmit(auth) = bac
        .step(Some(&Response::new(h("4608F91988702212"), 0x9000)))
        .expect("challenge")
    else {
        panic!("then MUTUAL AUTHENTICATE")
    };
    assert_eq!(
        auth.data,
        h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2 5F1448EEA8AD90A7")
    );
    assert_eq!(auth.encode()[..5], h("0082000028")[..]);
    let answer =
        h("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F 2F2D235D074D7449");
    let AccessStep::Open(_) = bac
        .step(Some(&Response::new(answer.clone(), 0x9000)))
        .expect("the worked example's answer opens")
    else {
        panic!("then the channel opens")
    };

    // The chip's side, with the worked example's K.IC, answers exactly the same bytes.
    let (resp, channel) = pstation_chip::bac::chip_authenticate(
        &keys,
        &arr("4608F91988702212"),
        &arr("0B4F80323EB3191CB04970CB4052790B"),
        &auth.data,
    )
    .expect("the chip accepts the example's cryptogram");
    assert_eq!(resp.data, answer);
    assert_eq!(
        channel.keys().0.to_vec(),
        h("979EC13B1CBFE9DCD01AB0FED307EAE5")
    );
    assert_eq!(
        channel.keys().1.to_vec(),
        h("F1CB1F1FB5ADF208806B89DC579DC1F8")
    );
    assert_eq!(channel.ssc(), 0x887022120C06C226);
}

#[test]
fn a_cryptogram_made_with_another_mrz_is_refused_by_both_sides() {
    let right = MrzInfo::new("L898902C", "690806", "940623")
        .expect("valid")
        .keys();
    let wrong = MrzInfo::new("L898902C", "690807", "940623")
        .expect("valid")
        .keys();
    let bac = Bac::new(wrong, [1; 8], [2; 16]);
    let cmd = bac.mutual_authenticate(&[3; 8]);
    assert_eq!(
        pstation_chip::bac::chip_authenticate(&right, &[3; 8], &[4; 16], &cmd.data).err(),
        Some(0x6300)
    );
}

fn example_channel() -> SecureChannel {
    SecureChannel::new(
        arr("979EC13B1CBFE9DCD01AB0FED307EAE5"),
        arr("F1CB1F1FB5ADF208806B89DC579DC1F8"),
        0x887022120C06C226,
    )
}

#[test]
fn secure_messaging_select_and_read_binary() {
    let mut ifd = example_channel();
    let mut chip = example_channel();

    // SELECT EF.COM.
    let select = Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(h("011E"));
    let protected = ifd.protect(&select);
    assert_eq!(
        protected.encode(),
        h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
    );
    assert_eq!(chip.unwrap_command(&protected).expect("chip side"), select);
    let answer = chip.wrap_response(&Response::status(0x9000));
    assert_eq!(answer.encode(), h("990290008E08FA855A5D4C50A8ED9000"));
    assert_eq!(
        ifd.unprotect(&answer).expect("verifies"),
        Response::status(0x9000)
    );

    // READ BINARY of the first four bytes.
    let read = Command::new(0x00, 0xB0, 0x00, 0x00).with_le(4);
    let protected = ifd.protect(&read);
    assert_eq!(
        protected.encode(),
        h("0CB000000D9701048E08ED6705417E96BA5500")
    );
    assert_eq!(chip.unwrap_command(&protected).expect("chip side"), read);
    let answer = chip.wrap_response(&Response::new(h("60145F01"), 0x9000));
    assert_eq!(
        answer.encode(),
        h("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000")
    );
    assert_eq!(
        ifd.unprotect(&answer).expect("verifies").data,
        h("60145F01")
    );

    // READ BINARY of the remaining 18 bytes from offset 4.
    let read = Command::new(0x00, 0xB0, 0x00, 0x04).with_le(0x12);
    let protected = ifd.protect(&read);
    assert_eq!(
        protected.encode(),
        h("0CB000040D9701128E082EA28A70F3C7B53500")
    );
    assert_eq!(chip.unwrap_command(&protected).expect("chip side"), read);
    let body = h("04303130365F36063034303030305C026175");
    let answer = chip.wrap_response(&Response::new(body.clone(), 0x9000));
    assert_eq!(
        answer.encode(),
        h("871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000")
    );
    assert_eq!(ifd.unprotect(&answer).expect("verifies").data, body);
}

#[test]
fn a_response_with_a_changed_byte_fails_its_mac() {
    let mut ifd = example_channel();
    ifd.protect(&Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(h("011E")));
    let mut answer = Response::parse(&h("990290008E08FA855A5D4C50A8ED9000")).expect("parses");
    answer.data[2] ^= 0x01;
    assert!(ifd.unprotect(&answer).is_err());
}

#[test]
fn a_success_without_secure_messaging_or_its_protected_status_is_refused() {
    // Anyone between the station and the chip could answer a bare 90 00, or put a status word
    // outside the MAC: neither is taken.
    let mut ifd = example_channel();
    ifd.protect(&Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(h("011E")));
    assert!(ifd.unprotect(&Response::status(0x9000)).is_err());
    let mut ifd = example_channel();
    ifd.protect(&Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(h("011E")));
    // The worked example's answer without its DO 99: the MAC no longer covers a status word.
    assert!(
        ifd.unprotect(&Response::parse(&h("8E08FA855A5D4C50A8ED9000")).expect("parses"))
            .is_err()
    );
    // An error may come plain (the chip ends secure messaging with it).
    let mut ifd = example_channel();
    assert_eq!(
        ifd.unprotect(&Response::status(0x6988))
            .expect("plain error"),
        Response::status(0x6988)
    );
}

#[test]
fn a_command_cut_inside_its_extended_length_is_malformed_not_a_panic() {
    assert!(Command::parse(&h("00B0000000 01")).is_err());
}

#[test]
fn retail_mac_and_padding() {
    assert_eq!(crypto::pad(b""), h("8000000000000000"));
    assert_eq!(crypto::pad(&[1; 8]).len(), 16);
    assert_eq!(crypto::unpad(&h("0102800000000000")), Some(&[1u8, 2][..]));
    assert_eq!(crypto::unpad(&h("0102000000000000")), None);
    let keys = BacKeys::from_seed(&[0; 16]);
    assert_ne!(crypto::mac(&keys.mac, b"a"), crypto::mac(&keys.mac, b"b"));
}
