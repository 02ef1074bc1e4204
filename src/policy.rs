//! The station's issuance policy: the rules a job must meet, beyond ICAO's, before this station
//! accepts it for printing (issuing State, number format, validity period, dates against today).
//!
//! Boundary: ICAO validity lives in `job` and `mrz`; this layer is configuration-driven and
//! applied only when a job is accepted for printing (or on `pstation validate --policy`).

use serde::Deserialize;
use time::{Date, Month};

use crate::job::Job;
use crate::problem::Problem;

/// Validated policy settings (see `[policy]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The only issuing State this station prints for.
    pub issuing_state: String,
    /// The nationality every holder must have.
    pub nationality: String,
    /// Accepted document codes, e.g. `["P"]`.
    pub document_codes: Vec<String>,
    /// Accepted first letters of the passport number (letter + 7 digits).
    pub number_prefixes: Vec<char>,
    /// Names may hold only letters and spaces (Indonesian practice).
    pub names_letters_and_spaces_only: bool,
    /// Validity in years for any holder.
    pub standard_validity_years: u8,
    /// The longer validity, only for adults (or married holders when so configured).
    pub adult_validity_years: u8,
    /// Age at the date of issue from which the longer validity is allowed.
    pub adult_age: u8,
    /// Whether a married minor may have the longer validity (Permenkumham 18/2022).
    pub married_counts_as_adult: bool,
}

/// The date `years` after `d`; 29 February maps to 28 February in a common year.
pub fn add_years(d: Date, years: i32) -> Option<Date> {
    let y = d.year() + years;
    Date::from_calendar_date(y, d.month(), d.day())
        .or_else(|_| Date::from_calendar_date(y, Month::February, 28))
        .ok()
}

/// Full years of age on `on` for someone born on `birth`.
pub fn age_on(birth: Date, on: Date) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

impl Policy {
    /// Every policy problem of `job`, judged on the station's date `today`.
    pub fn check(&self, job: &Job, today: Date) -> Vec<Problem> {
        let d = &job.document;
        let mut out = Vec::new();
        if d.issuing_state != self.issuing_state {
            out.push(Problem::new(
                "document.issuing_state",
                "policy-issuing-state",
                format!("this station prints only for {}", self.issuing_state),
            ));
        }
        if d.nationality != self.nationality {
            out.push(Problem::new(
                "document.nationality",
                "policy-nationality",
                format!("holders must have nationality {}", self.nationality),
            ));
        }
        if !self.document_codes.contains(&d.code) {
            out.push(Problem::new(
                "document.code",
                "policy-document-code",
                format!(
                    "accepted document codes: {}",
                    self.document_codes.join(", ")
                ),
            ));
        }
        let n = d.number.as_bytes();
        let shape =
            n.len() == 8 && n[0].is_ascii_uppercase() && n[1..].iter().all(u8::is_ascii_digit);
        if !shape || !self.number_prefixes.contains(&char::from(n[0])) {
            let prefixes: String = self.number_prefixes.iter().collect();
            out.push(Problem::new(
                "document.number",
                "policy-number-format",
                format!("must be one letter of [{prefixes}] followed by 7 digits"),
            ));
        }
        if self.names_letters_and_spaces_only {
            for (path, name) in [
                ("document.surname", &d.surname),
                ("document.given_names", &d.given_names),
            ] {
                if let Some(i) = name.chars().position(|c| !(c.is_alphabetic() || c == ' ')) {
                    out.push(Problem::new(
                        path,
                        "policy-name-punctuation",
                        format!(
                            "character at position {} is not a letter or space; Indonesian names carry no punctuation (M. Firman is written M FIRMAN)",
                            i + 1
                        ),
                    ));
                }
            }
        }
        if d.date_of_issue > today {
            out.push(Problem::new(
                "document.date_of_issue",
                "policy-issue-in-future",
                format!("the date of issue is after today ({today})"),
            ));
        }
        if d.date_of_birth > today {
            out.push(Problem::new(
                "document.date_of_birth",
                "policy-birth-in-future",
                format!("the date of birth is after today ({today})"),
            ));
        }
        if d.date_of_expiry <= today {
            out.push(Problem::new(
                "document.date_of_expiry",
                "policy-expired",
                format!("the passport would already be expired on {today}"),
            ));
        }
        let standard = add_years(d.date_of_issue, i32::from(self.standard_validity_years));
        let adult = add_years(d.date_of_issue, i32::from(self.adult_validity_years));
        let is_adult = age_on(d.date_of_birth, d.date_of_issue) >= i32::from(self.adult_age)
            || (self.married_counts_as_adult && d.married == Some(true));
        if Some(d.date_of_expiry) == adult && !is_adult {
            out.push(Problem::new(
                "document.date_of_expiry",
                "policy-validity-minor",
                format!(
                    "a {}-year passport needs a holder aged {} or more at issue{}; this holder gets {} years",
                    self.adult_validity_years,
                    self.adult_age,
                    if self.married_counts_as_adult { " (or married)" } else { "" },
                    self.standard_validity_years
                ),
            ));
        } else if Some(d.date_of_expiry) != standard && Some(d.date_of_expiry) != adult {
            out.push(Problem::new(
                "document.date_of_expiry",
                "policy-validity",
                format!(
                    "the expiry must be exactly {} or {} years after the date of issue",
                    self.standard_validity_years, self.adult_validity_years
                ),
            ));
        }
        out
    }
}

/// The `[policy]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    issuing_state: String,
    nationality: String,
    document_codes: Vec<String>,
    number_prefixes: Vec<String>,
    names_letters_and_spaces_only: bool,
    standard_validity_years: u8,
    adult_validity_years: u8,
    adult_age: u8,
    married_counts_as_adult: bool,
}

impl RawPolicy {
    /// Checks every value (each problem goes to `bad` with its key path); the settings when
    /// all are good.
    pub fn validate(&self, bad: &mut impl FnMut(&str, String)) -> Option<Policy> {
        let p = self;
        let mut ok = true;
        let mut bad = |path: &str, message: String| {
            ok = false;
            bad(path, message);
        };
        for (key, code) in [
            ("issuing_state", &p.issuing_state),
            ("nationality", &p.nationality),
        ] {
            if crate::mrz::codes::lookup(code).is_none() {
                bad(
                    &format!("policy.{key}"),
                    format!("{code:?} is not an ICAO code"),
                );
            }
        }
        if p.document_codes.is_empty() {
            bad("policy.document_codes", "list at least one code".to_owned());
        }
        for c in &p.document_codes {
            let b = c.as_bytes();
            if !(b.first() == Some(&b'P')
                && b.len() <= 2
                && b.get(1).is_none_or(u8::is_ascii_uppercase))
            {
                bad(
                    "policy.document_codes",
                    format!("{c:?} is not P or P plus one letter"),
                );
            }
        }
        let mut prefixes = Vec::new();
        for s in &p.number_prefixes {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_uppercase() => prefixes.push(c),
                _ => bad(
                    "policy.number_prefixes",
                    format!("{s:?} is not one letter A-Z"),
                ),
            }
        }
        if p.number_prefixes.is_empty() {
            bad(
                "policy.number_prefixes",
                "list at least one letter".to_owned(),
            );
        }
        if p.standard_validity_years == 0 || p.standard_validity_years >= p.adult_validity_years {
            bad(
                "policy.standard_validity_years",
                "must be at least 1 and less than adult_validity_years".to_owned(),
            );
        }
        if p.adult_validity_years > 10 {
            bad(
                "policy.adult_validity_years",
                "more than 10 years is not allowed for passports".to_owned(),
            );
        }
        if p.adult_age > 25 {
            bad("policy.adult_age", "must be 25 or less".to_owned());
        }
        ok.then(|| Policy {
            issuing_state: p.issuing_state.clone(),
            nationality: p.nationality.clone(),
            document_codes: p.document_codes.clone(),
            number_prefixes: prefixes,
            names_letters_and_spaces_only: p.names_letters_and_spaces_only,
            standard_validity_years: p.standard_validity_years,
            adult_validity_years: p.adult_validity_years,
            adult_age: p.adult_age,
            married_counts_as_adult: p.married_counts_as_adult,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn anniversaries_and_ages() {
        assert_eq!(
            add_years(date!(2025 - 01 - 01), 10),
            Some(date!(2035 - 01 - 01))
        );
        assert_eq!(
            add_years(date!(2024 - 02 - 29), 5),
            Some(date!(2029 - 02 - 28))
        );
        assert_eq!(
            add_years(date!(2024 - 02 - 29), 4),
            Some(date!(2028 - 02 - 29))
        );
        assert_eq!(age_on(date!(2008 - 06 - 15), date!(2025 - 06 - 14)), 16);
        assert_eq!(age_on(date!(2008 - 06 - 15), date!(2025 - 06 - 15)), 17);
    }
}
