//! A read against the MRZ the station printed, as a pure decision: which booklet the read is
//! (the document number, line 2 positions 1–9), and whether every position is what was printed
//! with every check digit right.

use serde::Serialize;

use crate::mrz::td3;
use pstation_reader::{Document, UNREADABLE};

/// A TD3 line's length.
const LINE: usize = 44;
/// The document number: line 2, positions 1 to 9.
const NUMBER: std::ops::Range<usize> = 0..9;

/// One position where a read differs from what was printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// 1 or 2.
    pub line: u8,
    /// 1-based position in the line.
    pub position: usize,
    /// What was printed there.
    pub expected: char,
    /// What the reader read (`?`: it could not read it; absent: the line is shorter or missing).
    pub read: Option<char>,
}

/// What a read says of the booklet the station printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Both lines equal the printed ones at every position, and every check digit holds.
    Match,
    /// The read is of another booklet: its document number is not this job's.
    OtherBooklet {
        /// The number read (with `?` where unreadable).
        number: String,
        /// Every position where it differs from what was printed for this job.
        differences: Vec<Difference>,
    },
    /// The same booklet, but positions differ, could not be read, or a line is missing.
    Differs {
        /// Every differing position, line 1 then line 2.
        differences: Vec<Difference>,
        /// How many of them the reader could not read.
        unreadable: usize,
        /// Lines the read lacks (1, 2).
        missing: Vec<u8>,
    },
}

impl Verdict {
    /// The stable word recorded with the read and counted in the metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::OtherBooklet { .. } => "other-booklet",
            Self::Differs {
                unreadable,
                missing,
                ..
            } if *unreadable > 0 || !missing.is_empty() => "unreadable",
            Self::Differs { .. } => "mismatch",
        }
    }
}

/// The document number a read carries (line 2, positions 1–9, filler kept), when it has a
/// TD3-length bottom line. A read with fewer lines takes its last line as the bottom one.
pub fn read_number(read: &Document) -> Option<String> {
    let line2 = read.lines.last()?;
    (line2.len() == LINE).then(|| line2[NUMBER].to_owned())
}

/// Judges `read` against the two lines printed for the job.
///
/// Which lines the read holds: two or more lines are the top and bottom lines (the last two);
/// one line is the line it is closer to (a reader that lost a line sends the other). The read
/// is another booklet's when its document number differs from the job's at a position the
/// reader did read; an unreadable number position is a difference of this booklet, not a
/// reason to call it another.
pub fn judge(expected: [&str; 2], read: &Document) -> Verdict {
    let (top, bottom) = placed(expected, &read.lines);
    let (differences, missing) = compare(expected, top, bottom);
    if let Some(bottom) = bottom {
        let read_no = bottom.get(NUMBER).unwrap_or(bottom);
        let expected_no = &expected[1][NUMBER];
        let clash = read_no.len() == expected_no.len()
            && read_no
                .chars()
                .zip(expected_no.chars())
                .any(|(r, e)| r != UNREADABLE && r != e);
        if clash {
            return Verdict::OtherBooklet {
                number: read_no.to_owned(),
                differences,
            };
        }
    }
    let mut differences = differences;
    if differences.is_empty() && missing.is_empty() {
        // Equal to what was printed; the check digits are verified again on what was read, so a
        // wrong expectation (a corrupted record) can never pass as a match.
        if let (Some(t), Some(b)) = (top, bottom) {
            if td3::check(t, b).is_valid() {
                return Verdict::Match;
            }
            differences.push(Difference {
                line: 2,
                position: LINE,
                expected: '?',
                read: b.chars().last(),
            });
        }
    }
    let unreadable = differences
        .iter()
        .filter(|d| d.read == Some(UNREADABLE))
        .count();
    Verdict::Differs {
        differences,
        unreadable,
        missing,
    }
}

/// Every position where the read's lines differ from the printed ones, and the lines it lacks.
fn compare(
    expected: [&str; 2],
    top: Option<&str>,
    bottom: Option<&str>,
) -> (Vec<Difference>, Vec<u8>) {
    let mut differences = Vec::new();
    let mut missing = Vec::new();
    for (n, (want, got)) in [(1u8, (expected[0], top)), (2u8, (expected[1], bottom))] {
        let Some(got) = got else {
            missing.push(n);
            continue;
        };
        let got: Vec<char> = got.chars().collect();
        for (i, e) in want.chars().enumerate() {
            let r = got.get(i).copied();
            if r != Some(e) {
                differences.push(Difference {
                    line: n,
                    position: i + 1,
                    expected: e,
                    read: r,
                });
            }
        }
        // Extra characters beyond the printed line are differences too.
        for (i, &r) in got.iter().enumerate().skip(want.chars().count()) {
            differences.push(Difference {
                line: n,
                position: i + 1,
                expected: '<',
                read: Some(r),
            });
        }
    }
    (differences, missing)
}

/// The read's top and bottom lines.
fn placed<'a>(expected: [&str; 2], lines: &'a [String]) -> (Option<&'a str>, Option<&'a str>) {
    match lines {
        [] => (None, None),
        [only] => {
            let off = |want: &str| {
                want.chars()
                    .zip(only.chars())
                    .filter(|(a, b)| a != b)
                    .count()
                    + want.len().abs_diff(only.len())
            };
            if off(expected[0]) < off(expected[1]) {
                (Some(only), None)
            } else {
                (None, Some(only))
            }
        }
        [.., top, bottom] => (Some(top), Some(bottom)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const L2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    fn read(lines: &[&str]) -> Document {
        Document {
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
            flag: None,
        }
    }

    #[test]
    fn the_printed_lines_read_back_are_a_match() {
        assert_eq!(judge([L1, L2], &read(&[L1, L2])), Verdict::Match);
        assert_eq!(read_number(&read(&[L1, L2])).as_deref(), Some("L898902C3"));
    }

    #[test]
    fn a_changed_or_unread_character_is_a_difference_at_its_position() {
        let smudged = L1.replacen("ANNA", "ANMA", 1);
        let v = judge([L1, L2], &read(&[&smudged, L2]));
        assert_eq!(v.code(), "mismatch");
        let Verdict::Differs { differences, .. } = v else {
            unreachable!("differs")
        };
        assert_eq!(
            differences,
            vec![Difference {
                line: 1,
                position: 18,
                expected: 'N',
                read: Some('M')
            }]
        );
        let unread = format!("{}?", &L2[..43]);
        let v = judge([L1, L2], &read(&[L1, &unread]));
        assert_eq!(v.code(), "unreadable");
    }

    #[test]
    fn a_read_of_another_booklet_is_named_as_such() {
        let other = L2.replacen("L898902C3", "X12345678", 1);
        let v = judge([L1, L2], &read(&[L1, &other]));
        assert_eq!(v.code(), "other-booklet");
        let Verdict::OtherBooklet {
            number,
            differences,
        } = v
        else {
            unreachable!("another booklet")
        };
        assert_eq!(number, "X12345678");
        // Its differing positions are shown too: the number's nine.
        assert_eq!(
            differences.iter().map(|d| d.position).collect::<Vec<_>>(),
            (1..=9).collect::<Vec<_>>()
        );
        // An unreadable number position is not another booklet.
        let unread_no = L2.replacen("L898", "L?98", 1);
        assert_eq!(
            judge([L1, L2], &read(&[L1, &unread_no])).code(),
            "unreadable"
        );
    }

    #[test]
    fn a_missing_line_is_named_and_never_a_match() {
        let v = judge([L1, L2], &read(&[L2]));
        assert_eq!(
            v,
            Verdict::Differs {
                differences: vec![],
                unreadable: 0,
                missing: vec![1]
            }
        );
        assert_eq!(v.code(), "unreadable");
        let v = judge([L1, L2], &read(&[L1]));
        assert!(
            matches!(v, Verdict::Differs { ref missing, .. } if missing == &[2]),
            "{v:?}"
        );
        assert_eq!(judge([L1, L2], &read(&[])).code(), "unreadable");
    }

    #[test]
    fn a_wrong_expectation_never_matches_even_if_read_alike() {
        // A composite check digit that does not hold: equal lines are still not a match.
        let bad = format!("{}9", &L2[..43]);
        assert_ne!(judge([L1, &bad], &read(&[L1, &bad])), Verdict::Match);
    }

    #[test]
    fn extra_characters_are_differences() {
        let long = format!("{L1}<<");
        let v = judge([L1, L2], &read(&[&long, L2]));
        assert_eq!(v.code(), "mismatch");
    }
}
