//! Device URIs in general: `scheme://authority/path?query`. The scheme picks the family (see
//! `Registry`); each family checks the rest (`serial:///dev/ttyUSB0?baud=115200`,
//! `ipp://host:631/ipp/print`, `adapter:///usr/lib/pstation/adapters/NAME?args`).

/// A syntactically valid device URI; its family has checked it when it came from
/// `Registry::parse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceUri {
    text: String,
    scheme_len: usize,
}

/// A URI that cannot be used: what is wrong, and the forms that would work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("device-uri: {what}; expected {expected}")]
pub struct UriError {
    /// What is wrong.
    pub what: String,
    /// Examples of the forms the station takes.
    pub expected: String,
}

impl DeviceUri {
    /// Splits `scheme://rest`; the scheme is lower-case letters, digits, `+`, `-` or `.`,
    /// starting with a letter. Control characters and spaces are refused anywhere.
    pub fn parse_syntax(text: &str) -> Result<Self, String> {
        let Some((scheme, _)) = text.split_once("://") else {
            return Err(format!("{text:?} has no scheme (scheme://...)"));
        };
        let scheme_ok = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
            && scheme
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
        if !scheme_ok {
            return Err(format!(
                "scheme {scheme:?} is not lower-case letters, digits, '+', '-' or '.'"
            ));
        }
        if let Some(bad) = text.chars().find(|c| c.is_control() || *c == ' ') {
            return Err(format!("{bad:?} is not allowed in a device URI"));
        }
        Ok(Self {
            text: text.to_owned(),
            scheme_len: scheme.len(),
        })
    }

    /// The whole URI as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The scheme (`serial`, `ipp`, `adapter` ...).
    pub fn scheme(&self) -> &str {
        &self.text[..self.scheme_len]
    }

    /// Everything after `://`.
    pub fn rest(&self) -> &str {
        &self.text[self.scheme_len + 3..]
    }

    /// The authority (`host:port`, empty for `serial:///dev/...`), without user information.
    pub fn authority(&self) -> &str {
        let rest = self.rest();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let auth = &rest[..end];
        auth.rsplit_once('@').map_or(auth, |(_, host)| host)
    }

    /// The path (`/dev/ttyUSB0`, `/ipp/print`), without the query.
    pub fn path(&self) -> &str {
        let rest = self.rest();
        let start = rest.find('/').unwrap_or(rest.len());
        let rest = &rest[start..];
        rest.split_once('?').map_or(rest, |(p, _)| p)
    }

    /// The query (`baud=9600&flow=none`), empty when there is none.
    pub fn query(&self) -> &str {
        self.text.split_once('?').map_or("", |(_, q)| q)
    }

    /// A short name for logs, spans and metrics labels: `scheme:authority/path`, without user
    /// information or options (`serial:/dev/ttyUSB0`, `ipp:host:631/ipp/print`).
    pub fn name(&self) -> String {
        format!("{}:{}{}", self.scheme(), self.authority(), self.path())
    }
}

impl std::fmt::Display for DeviceUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_splits_into_scheme_authority_path_and_query_and_its_name_hides_credentials() {
        let u = DeviceUri::parse_syntax("ipps://op:secret@printer.local:631/ipp/print?x=1")
            .expect("ok");
        assert_eq!(u.scheme(), "ipps");
        assert_eq!(u.authority(), "printer.local:631");
        assert_eq!(u.path(), "/ipp/print");
        assert_eq!(u.query(), "x=1");
        assert_eq!(u.name(), "ipps:printer.local:631/ipp/print");
        let s = DeviceUri::parse_syntax("serial:///dev/pts/3?baud=9600").expect("ok");
        assert_eq!((s.authority(), s.path()), ("", "/dev/pts/3"));
        assert_eq!(s.name(), "serial:/dev/pts/3");
        let t = DeviceUri::parse_syntax("tcp://127.0.0.1:9100").expect("ok");
        assert_eq!(
            (t.authority(), t.path(), t.query()),
            ("127.0.0.1:9100", "", "")
        );
        for bad in [
            "/dev/ttyS0",
            "Serial:///x",
            "1p://x",
            "ipp://a b",
            "ipp://a\nb",
        ] {
            assert!(DeviceUri::parse_syntax(bad).is_err(), "{bad}");
        }
    }
}
