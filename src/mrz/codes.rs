//! The table of ICAO issuing-State and nationality codes, kept as data in `icao-codes.tsv`.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The code table as shipped: one `code<TAB>source<TAB>name` row per line, `#` comments.
const TABLE: &str = include_str!("icao-codes.tsv");

/// Where a code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// ISO 3166-1 alpha-3.
    Iso3166,
    /// One of ICAO's additions (Doc 9303 Part 3 §5), e.g. `D`, `UTO`, `XXA`.
    Icao,
}

/// One entry of the code table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCode {
    /// The code as it appears in the VIZ and (padded with `<`) in the MRZ.
    pub code: &'static str,
    /// Where the code comes from.
    pub source: CodeSource,
    /// The English name of the State or organisation.
    pub name: &'static str,
}

fn table() -> &'static HashMap<&'static str, StateCode> {
    static CODES: OnceLock<HashMap<&'static str, StateCode>> = OnceLock::new();
    CODES.get_or_init(|| {
        let mut map = HashMap::new();
        for line in TABLE.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(code), Some(source), Some(name)) = (cols.next(), cols.next(), cols.next())
            else {
                // The table is checked by `the_shipped_table_is_well_formed`; a bad row is skipped
                // rather than aborting the daemon.
                continue;
            };
            let source = match source {
                "iso3166" => CodeSource::Iso3166,
                _ => CodeSource::Icao,
            };
            map.insert(code, StateCode { code, source, name });
        }
        map
    })
}

/// Looks up a code exactly as written in a job or the VIZ (`"IDN"`, `"D"`), without filler.
pub fn lookup(code: &str) -> Option<&'static StateCode> {
    table().get(code)
}

/// Looks up the three-position MRZ form of a code (`"D<<"` → Germany).
pub fn lookup_mrz(field: &str) -> Option<&'static StateCode> {
    lookup(field.trim_end_matches('<'))
}

/// The number of codes in the table.
pub fn len() -> usize {
    table().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_is_well_formed() {
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "row {line:?}");
            assert!(matches!(cols[1], "iso3166" | "icao"), "row {line:?}");
            assert!(
                (1..=3).contains(&cols[0].len()) && cols[0].bytes().all(|b| b.is_ascii_uppercase()),
                "code {:?}",
                cols[0]
            );
        }
        // 249 ISO 3166-1 entries plus ICAO's additions, no code twice.
        let rows = TABLE.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(rows, len(), "a code appears twice");
        assert!(len() > 249);
    }

    #[test]
    fn knows_iso_codes_and_icao_additions() {
        assert_eq!(lookup("IDN").map(|c| c.name), Some("Indonesia"));
        assert_eq!(lookup("UTO").map(|c| c.source), Some(CodeSource::Icao));
        assert!(lookup("XXA").is_some());
        assert_eq!(lookup_mrz("D<<").map(|c| c.code), Some("D"));
        assert!(lookup("ZZZ").is_none());
        assert!(lookup("idn").is_none());
    }
}
