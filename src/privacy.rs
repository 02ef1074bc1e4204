//! Who sees personal data, and how a passport number looks to someone who may not: the one
//! rule the API (and so the console and the CLI) applies to every answer.
//!
//! A passport number is personal: it names one person. Operators, supervisors, the central
//! office and administrators see it in full (they issue the booklet); a technician sees it
//! masked, `X12•••67` — enough to tell two booklets apart on a fault report, not to identify
//! anyone. The portrait, the page and the MRZ are the counter's only (see `api`).

use crate::central::auth::Role;

/// Whether `role` sees passport numbers in full.
pub fn sees_passport_numbers(role: Role) -> bool {
    role != Role::Technician
}

/// Whether `token` has the shape of a passport (booklet) number: one capital letter and seven
/// digits, as the policy accepts (`policy.passport_letters`).
fn is_passport_number(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() == 8 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
}

/// `X1234567` → `X12•••67`.
pub fn mask(number: &str) -> String {
    let n = number.len();
    if n < 6 || !number.is_ascii() {
        return "•".repeat(number.chars().count().max(3));
    }
    format!("{}•••{}", &number[..3], &number[n - 2..])
}

/// `text` with every passport number in it masked (a reason, a difference line, a field).
pub fn mask_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest
            .find(|c: char| c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let token = &rest[..end];
        if is_passport_number(token) {
            out.push_str(&mask(token));
        } else {
            out.push_str(token);
        }
        rest = &rest[end..];
    }
    out
}

/// Masks every passport number in every string of `v`, at any depth, unless `role` sees them.
pub fn shown_to(role: Role, v: &mut serde_json::Value) {
    if sees_passport_numbers(role) {
        return;
    }
    mask_value(v);
}

fn mask_value(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) if s.bytes().any(|b| b.is_ascii_digit()) => *s = mask_in(s),
        Value::Array(a) => a.iter_mut().for_each(mask_value),
        Value::Object(o) => o.values_mut().for_each(mask_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_technician_sees_passport_numbers_masked_everywhere_and_nothing_else_changes() {
        let mut v = json!({
            "job": {"job_id": "SMD-2026-000123", "booklet": "X1234567", "attempt": 2},
            "events": [{"reason": "reprint on X1234568 (was X1234567), approved by budi"}],
            "differences": ["X1234560..X1234569: 3 missing"],
            "at": "2026-12-05T08:07:50Z",
        });
        let before = v.clone();
        shown_to(Role::Operator, &mut v);
        assert_eq!(v, before);
        shown_to(Role::Technician, &mut v);
        assert_eq!(
            v,
            json!({
                "job": {"job_id": "SMD-2026-000123", "booklet": "X12•••67", "attempt": 2},
                "events": [{"reason": "reprint on X12•••68 (was X12•••67), approved by budi"}],
                "differences": ["X12•••60..X12•••69: 3 missing"],
                "at": "2026-12-05T08:07:50Z",
            })
        );
        for role in [Role::Central, Role::Supervisor, Role::Admin] {
            assert!(sees_passport_numbers(role));
        }
    }
}
