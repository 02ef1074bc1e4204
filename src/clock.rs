//! Times as people read them: the station's events are kept and sent in UTC (RFC 3339), and
//! shown in the station's own time with its zone (`2026-12-05 15:07:50 WITA`) wherever a person
//! reads them — the console, the CLI, the support bundle.

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The zone's name for an offset: Indonesia's WIB, WITA and WIT, else `UTC+hh:mm`.
pub fn zone_name(offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    match (h, m) {
        (7, 0) => "WIB".to_owned(),
        (8, 0) => "WITA".to_owned(),
        (9, 0) => "WIT".to_owned(),
        (0, 0) => "UTC".to_owned(),
        _ => {
            let sign = if offset.is_negative() { '-' } else { '+' };
            format!("UTC{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
        }
    }
}

/// `+hh:mm` of an offset (what the API and the console are told).
pub fn offset_text(offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

/// An RFC 3339 time shown at `offset`, to the second, with the zone's name. A value that is not
/// RFC 3339 is shown as it is (it is still truthful, only less friendly).
pub fn local(at: &str, offset: UtcOffset) -> String {
    match OffsetDateTime::parse(at, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(offset);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                zone_name(offset)
            )
        }
        Err(_) => at.to_owned(),
    }
}

/// Parses `+hh:mm` / `-hh:mm`.
pub fn parse_offset(s: &str) -> Option<UtcOffset> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 6
        || !matches!(b[0], b'+' | b'-')
        || b[3] != b':'
        || !digits(1..3)
        || !digits(4..6)
    {
        return None;
    }
    let h: i8 = s.get(1..3)?.parse().ok()?;
    let m: i8 = s.get(4..6)?.parse().ok()?;
    let sign = if b[0] == b'-' { -1 } else { 1 };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// The `[station]` section as written: the station's UTC offset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStation {
    utc_offset: String,
}

impl RawStation {
    /// Checks every value (each problem goes to `bad` with its key path); the settings when
    /// all are good.
    pub fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<UtcOffset> {
        let utc_offset = crate::clock::parse_offset(&self.utc_offset);
        if utc_offset.is_none() {
            bad(
                "station.utc_offset",
                format!("{:?} is not an offset like +07:00", self.utc_offset),
            );
        }
        utc_offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_is_shown_in_the_station_zone_with_its_name() {
        let wita = parse_offset("+08:00").expect("offset");
        assert_eq!(
            local("2026-12-05T07:07:50.123Z", wita),
            "2026-12-05 15:07:50 WITA"
        );
        assert_eq!(
            local(
                "2026-12-05T23:30:00Z",
                parse_offset("+07:00").expect("offset")
            ),
            "2026-12-06 06:30:00 WIB"
        );
        assert_eq!(
            local(
                "2026-12-05T23:30:00Z",
                parse_offset("-03:30").expect("offset")
            ),
            "2026-12-05 20:00:00 UTC-03:30"
        );
        assert_eq!(local("yesterday", wita), "yesterday");
        assert_eq!(offset_text(wita), "+08:00");
        assert!(parse_offset("8").is_none() && parse_offset("+8:00").is_none());
    }
}
