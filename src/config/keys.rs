//! The configuration's keys: unknown ones named with the closest known key, each section read
//! on its own so that every problem is reported together, and TOML syntax errors shown as a
//! person reads them.

use super::*;

/// A TOML syntax error as a person reads it: where (line and column), what, and the offending
/// line with a caret under the place, each on a line of its own.
pub(super) fn syntax_message(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    let Some(span) = e.span() else {
        return message.to_owned();
    };
    let at = span.start.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..at].matches('\n').count() + 1;
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = text[line_start..line_end].trim_end_matches('\r');
    let column = text[line_start..at].chars().count() + 1;
    let gutter = line_no.to_string();
    format!(
        "line {line_no}, column {column}: {message}\n  {gutter} | {line}\n  {pad} | {caret}^",
        pad = " ".repeat(gutter.len()),
        caret = " ".repeat(column - 1),
    )
}

/// The sections of the file.
pub(super) const SECTIONS: &[&str] = &[
    "station", "mrz", "policy", "render", "daemon", "central", "api", "reader", "chip",
];

/// The keys a table of the configuration may hold, by its path (array elements as `[]`).
pub(super) fn known_keys(path: &str) -> Option<&'static [&'static str]> {
    Some(match path {
        "" => SECTIONS,
        "station" => fields_of::<RawStation>(),
        "mrz" => fields_of::<RawMrz>(),
        "mrz.transliteration" => fields_of::<RawTranslit>(),
        "policy" => fields_of::<RawPolicy>(),
        "render" => fields_of::<RawRender>(),
        "daemon" => fields_of::<RawDaemon>(),
        "central" => fields_of::<RawCentral>(),
        "central.keys[]" => fields_of::<RawKey>(),
        "api" => fields_of::<RawApi>(),
        "api.users[]" => fields_of::<RawUser>(),
        "reader" => fields_of::<crate::reader::RawReader>(),
        "chip" => fields_of::<crate::chip::RawChip>(),
        _ => return None,
    })
}

/// Removes every key the configuration does not know from `value` (a table at `path`), each
/// reported as `unknown-key` with the known key it most resembles, if one is close.
pub(super) fn strip_unknown(value: &mut toml::Value, path: &str, problems: &mut Vec<Problem>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        toml::Value::Table(table) => {
            let schema_path = path_schema(path);
            let Some(known) = known_keys(&schema_path) else {
                return;
            };
            let unknown: Vec<String> = table
                .keys()
                .filter(|k| !known.contains(&k.as_str()))
                .cloned()
                .collect();
            for key in unknown {
                table.remove(&key);
                let place = if path.is_empty() {
                    "not a section of the configuration".to_owned()
                } else {
                    format!("not a setting of [{}]", schema_path.replace("[]", ""))
                };
                let hint = match closest(&key, known) {
                    Some(k) => format!("; did you mean {k}?"),
                    None => format!("; known: {}", known.join(", ")),
                };
                problems.push(Problem::new(
                    join(&key),
                    "unknown-key",
                    format!("{place}{hint}"),
                ));
            }
            for (key, child) in table.iter_mut() {
                strip_unknown(child, &join(key), problems);
            }
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                strip_unknown(item, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

/// `api.users[3]` → `api.users[]`.
pub(super) fn path_schema(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// The known key closest to a misspelt one, when it is close enough to be what was meant.
pub(super) fn closest(key: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 4).max(2) || (k.len() >= 4 && key.starts_with(k)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The field names a serde struct accepts (what `deny_unknown_fields` checks against), read
/// from its `Deserialize` implementation so the list can never drift from the struct.
pub(super) fn fields_of<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor};
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Self::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// One section read into its raw struct; a missing section (unless `optional`), a missing key
/// or a value of the wrong type is a problem naming the key.
pub(super) fn section<T: serde::de::DeserializeOwned>(
    doc: &toml::Table,
    name: &str,
    optional: bool,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let value = match doc.get(name) {
        Some(v) => v.clone(),
        None if optional => toml::Value::Table(toml::Table::new()),
        None => {
            problems.push(Problem::new(
                name,
                "missing-key",
                format!("the section [{name}] is missing (`pstation config default` shows every section)"),
            ));
            return None;
        }
    };
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.inner().message().trim().to_owned();
            let mut path = name.to_owned();
            if e.path().iter().next().is_some() {
                path = format!("{name}.{}", e.path());
            }
            let (code, path) = match inner
                .strip_prefix("missing field `")
                .and_then(|r| r.split_once('`'))
            {
                Some((field, _)) => ("missing-key", format!("{path}.{field}")),
                None => ("config-type", path),
            };
            let message = if code == "missing-key" {
                "missing (`pstation config default` shows it with its default)".to_owned()
            } else {
                inner
            };
            problems.push(Problem::new(path, code, message));
            None
        }
    }
}
