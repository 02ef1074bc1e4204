//! The symmetric cryptography of Basic Access Control and its secure messaging (ICAO 9303
//! Part 11 §9.7, §9.8): key derivation from a seed, two-key 3DES-CBC with a zero IV, the
//! ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC") and padding method 2.

use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use des::{Des, TdesEde2};
use sha1::{Digest, Sha1};

/// A two-key 3DES key (K_a ‖ K_b), DES parity adjusted.
pub type Key16 = [u8; 16];

/// Which key a seed is turned into (the 32-bit counter of Part 11 §9.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// The encryption key (counter 1).
    Enc,
    /// The MAC key (counter 2).
    Mac,
}

/// Derives K_enc or K_mac from a 16-byte seed: the first 16 bytes of SHA-1(seed ‖ counter),
/// with each byte's parity bit adjusted (odd parity, as DES keys carry it).
pub fn derive_key(seed: &[u8; 16], key_use: KeyUse) -> Key16 {
    let counter: [u8; 4] = match key_use {
        KeyUse::Enc => [0, 0, 0, 1],
        KeyUse::Mac => [0, 0, 0, 2],
    };
    let mut h = Sha1::new();
    h.update(seed);
    h.update(counter);
    let digest = h.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    for b in &mut key {
        *b = with_odd_parity(*b);
    }
    key
}

/// The first 16 bytes of SHA-1 of `data` (K_seed from the MRZ information).
pub fn seed_of(data: &[u8]) -> [u8; 16] {
    let digest = Sha1::digest(data);
    let mut seed = [0u8; 16];
    seed.copy_from_slice(&digest[..16]);
    seed
}

/// `b` with its lowest bit set so that the byte has an odd number of ones.
fn with_odd_parity(b: u8) -> u8 {
    let high = b & 0xFE;
    if high.count_ones().is_multiple_of(2) {
        high | 1
    } else {
        high
    }
}

/// ISO/IEC 9797-1 padding method 2: `0x80`, then zeros to a multiple of 8 bytes (always adds at
/// least one byte).
pub fn pad(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    out.extend_from_slice(data);
    out.push(0x80);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    out
}

/// Removes padding method 2; `None` when the data does not end in `0x80 0x00*`.
pub fn unpad(data: &[u8]) -> Option<&[u8]> {
    let end = data.iter().rposition(|&b| b != 0)?;
    (data[end] == 0x80 && data.len() - end <= 8).then(|| &data[..end])
}

/// Two-key 3DES-CBC encryption with a zero IV; `data` must be a multiple of 8 bytes (callers
/// pad first).
pub fn encrypt(key: &Key16, data: &[u8]) -> Vec<u8> {
    debug_assert!(data.len().is_multiple_of(8));
    let cipher = TdesEde2::new(GenericArray::from_slice(key));
    let mut chain = [0u8; 8];
    let mut out = Vec::with_capacity(data.len());
    for block in data.chunks(8) {
        let mut b = [0u8; 8];
        for (i, x) in block.iter().enumerate() {
            b[i] = x ^ chain[i];
        }
        let mut ga = GenericArray::from(b);
        cipher.encrypt_block(&mut ga);
        chain.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    out
}

/// Two-key 3DES-CBC decryption with a zero IV; `None` when `data` is not a multiple of 8 bytes.
pub fn decrypt(key: &Key16, data: &[u8]) -> Option<Vec<u8>> {
    if !data.len().is_multiple_of(8) {
        return None;
    }
    let cipher = TdesEde2::new(GenericArray::from_slice(key));
    let mut chain = [0u8; 8];
    let mut out = Vec::with_capacity(data.len());
    for block in data.chunks(8) {
        let mut ga = GenericArray::clone_from_slice(block);
        cipher.decrypt_block(&mut ga);
        for (i, x) in ga.iter().enumerate() {
            out.push(x ^ chain[i]);
        }
        chain.copy_from_slice(block);
    }
    Some(out)
}

/// The retail MAC (ISO/IEC 9797-1 MAC algorithm 3 with DES, padding method 2) of `data` under
/// the two-key `key`: single-DES CBC with K_a over the padded data, then the last block
/// decrypted with K_b and encrypted with K_a again.
pub fn mac(key: &Key16, data: &[u8]) -> [u8; 8] {
    let ka = Des::new(GenericArray::from_slice(&key[..8]));
    let kb = Des::new(GenericArray::from_slice(&key[8..]));
    let padded = pad(data);
    let mut h = GenericArray::from([0u8; 8]);
    for block in padded.chunks(8) {
        for (i, x) in block.iter().enumerate() {
            h[i] ^= x;
        }
        ka.encrypt_block(&mut h);
    }
    kb.decrypt_block(&mut h);
    ka.encrypt_block(&mut h);
    h.into()
}

/// Constant-time equality of two MACs (a MAC compared byte by byte with an early exit tells an
/// attacker how many leading bytes were right).
pub fn same_mac(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
