//! ICAO 9303 Part 3 §4.9 check digits: character values and the 7-3-1 weighted sum.

/// The value of one MRZ character: `0`-`9` are 0-9, `A`-`Z` are 10-35, the filler `<` is 0.
///
/// Returns `None` for any byte outside the MRZ character set.
pub fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The check digit over `field` as an ASCII digit (`b'0'..=b'9'`).
///
/// Returns `None` when the field holds a character outside `A-Z 0-9 <`.
pub fn check_digit(field: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, &c) in field.iter().enumerate() {
        sum += char_value(c)? * WEIGHTS[i % 3];
    }
    // `sum % 10` is below 10, so the cast cannot truncate.
    Some(b'0' + (sum % 10) as u8)
}

/// Whether `c` may appear in an MRZ at all.
pub fn is_mrz_char(c: u8) -> bool {
    char_value(c).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked examples of Part 3 Appendix A (recomputed in the reference).
    #[test]
    fn worked_examples_of_part_3_appendix_a() {
        assert_eq!(check_digit(b"520727"), Some(b'3'));
        assert_eq!(check_digit(b"AB2134<<<"), Some(b'5'));
        assert_eq!(check_digit(b"L898902C3"), Some(b'6'));
        let composite = b"HA672242<6YTO5802254M9601086<<<<<<<<<<<<<<08";
        let mut input = Vec::new();
        input.extend_from_slice(&composite[0..10]);
        input.extend_from_slice(&composite[13..20]);
        input.extend_from_slice(&composite[21..43]);
        assert_eq!(check_digit(&input), Some(b'8'));
    }

    #[test]
    fn filler_and_zero_weigh_the_same() {
        assert_eq!(check_digit(b"<<<<<<<<<<<<<<"), Some(b'0'));
        assert_eq!(check_digit(b"A<B"), check_digit(b"A0B"));
    }

    #[test]
    fn characters_outside_the_set_have_no_check_digit() {
        assert_eq!(check_digit(b"ab"), None);
        assert_eq!(check_digit(b"A B"), None);
        assert!(!is_mrz_char(b' '));
        assert!(is_mrz_char(b'<'));
    }
}
