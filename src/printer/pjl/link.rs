//! The PJL family's links: `serial:///dev/ttyUSB0?baud=115200&flow=rtscts`, `usblp:///dev/usb/lp0`,
//! `tcp://host:9100`, checked with errors that name the part and say what to try.

use std::path::PathBuf;

/// Serial flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// None.
    None,
    /// RTS/CTS (the default: never XON/XOFF with binary raster).
    RtsCts,
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    /// None.
    None,
    /// Even.
    Even,
    /// Odd.
    Odd,
}

/// Where a PJL printer is: the byte link it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkUri {
    /// RS-232 or USB CDC-ACM, also a PTY.
    Serial {
        /// The device node.
        path: PathBuf,
        /// Baud rate.
        baud: u32,
        /// Flow control.
        flow: Flow,
        /// Parity.
        parity: Parity,
        /// Data bits (7 or 8).
        data_bits: u8,
        /// Stop bits (1 or 2).
        stop_bits: u8,
    },
    /// USB printer class node, opened as a file.
    Usblp {
        /// The device node.
        path: PathBuf,
    },
    /// A raw TCP socket (port 9100 on lab printers, the simulator).
    Tcp {
        /// `host:port`.
        addr: String,
    },
}

impl LinkUri {
    /// A short name for logs and spans: `serial:/dev/ttyUSB0`, `usblp:/dev/usb/lp0`,
    /// `tcp:host:9100`.
    pub fn name(&self) -> String {
        match self {
            Self::Serial { path, .. } => format!("serial:{}", path.display()),
            Self::Usblp { path } => format!("usblp:{}", path.display()),
            Self::Tcp { addr } => format!("tcp:{addr}"),
        }
    }

    /// Parses and validates a device URI.
    pub fn parse(s: &str) -> Result<LinkUri, String> {
        let err = |what: String| what;
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| err(format!("{s:?} has no scheme")))?;
        match scheme {
            "serial" => {
                let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
                if !path.starts_with('/') {
                    return Err(err(format!("serial path {path:?} must be absolute")));
                }
                let (mut baud, mut flow, mut parity, mut data_bits, mut stop_bits) =
                    (115_200u32, Flow::RtsCts, Parity::None, 8u8, 1u8);
                for pair in query.split(['&', '+']).filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once('=')
                        .ok_or_else(|| err(format!("option {pair:?} is not key=value")))?;
                    match k {
                        "baud" => {
                            baud = v
                                .parse()
                                .ok()
                                .filter(|b| (300..=4_000_000).contains(b))
                                .ok_or_else(|| err(format!("baud {v:?} is not 300 to 4000000")))?;
                        }
                        "flow" => {
                            flow = match v {
                                "rtscts" | "hard" => Flow::RtsCts,
                                "none" => Flow::None,
                                "soft" | "xonxoff" => {
                                    return Err(err(
                                        "flow=soft is refused: XON/XOFF corrupts binary raster; use rtscts".into(),
                                    ));
                                }
                                other => {
                                    return Err(err(format!(
                                        "flow {other:?} is not rtscts or none"
                                    )));
                                }
                            }
                        }
                        "parity" => {
                            parity = match v {
                                "none" => Parity::None,
                                "even" => Parity::Even,
                                "odd" => Parity::Odd,
                                other => {
                                    return Err(err(format!(
                                        "parity {other:?} is not none, even or odd"
                                    )));
                                }
                            }
                        }
                        "bits" | "data" => {
                            data_bits = v
                                .parse()
                                .ok()
                                .filter(|b| *b == 7 || *b == 8)
                                .ok_or_else(|| err(format!("data bits {v:?} are not 7 or 8")))?;
                        }
                        "stop" => {
                            stop_bits = v
                                .parse()
                                .ok()
                                .filter(|b| *b == 1 || *b == 2)
                                .ok_or_else(|| err(format!("stop bits {v:?} are not 1 or 2")))?;
                        }
                        other => return Err(err(format!("unknown serial option {other:?}"))),
                    }
                }
                Ok(LinkUri::Serial {
                    path: PathBuf::from(path),
                    baud,
                    flow,
                    parity,
                    data_bits,
                    stop_bits,
                })
            }
            "usblp" => {
                if !rest.starts_with('/') || rest.contains('?') {
                    return Err(err(format!(
                        "usblp path {rest:?} must be an absolute device path"
                    )));
                }
                Ok(LinkUri::Usblp {
                    path: PathBuf::from(rest),
                })
            }
            "tcp" => {
                let (host, port) = rest
                    .trim_end_matches('/')
                    .rsplit_once(':')
                    .ok_or_else(|| err(format!("{rest:?} has no port")))?;
                if host.is_empty() || port.parse::<u16>().ok().filter(|p| *p > 0).is_none() {
                    return Err(err(format!("{rest:?} is not host:port")));
                }
                Ok(LinkUri::Tcp {
                    addr: format!("{host}:{port}"),
                })
            }
            other => Err(err(format!("scheme {other:?} is not serial, usblp or tcp"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_schemes_with_defaults_and_options() {
        assert_eq!(
            LinkUri::parse("serial:///dev/ttyUSB0?baud=9600&flow=none&parity=even&stop=2"),
            Ok(LinkUri::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 9600,
                flow: Flow::None,
                parity: Parity::Even,
                data_bits: 8,
                stop_bits: 2
            })
        );
        assert!(matches!(
            LinkUri::parse("serial:///dev/pts/3"),
            Ok(LinkUri::Serial {
                baud: 115_200,
                flow: Flow::RtsCts,
                ..
            })
        ));
        assert_eq!(
            LinkUri::parse("usblp:///dev/usb/lp0"),
            Ok(LinkUri::Usblp {
                path: "/dev/usb/lp0".into()
            })
        );
        assert_eq!(
            LinkUri::parse("tcp://127.0.0.1:9100"),
            Ok(LinkUri::Tcp {
                addr: "127.0.0.1:9100".into()
            })
        );
    }

    #[test]
    fn bad_uris_say_what_is_wrong() {
        for (uri, words) in [
            ("ttyUSB0", "no scheme"),
            ("serial://dev/tty", "absolute"),
            ("serial:///dev/tty?baud=12", "baud"),
            ("serial:///dev/tty?flow=soft", "XON/XOFF"),
            ("serial:///dev/tty?colour=red", "unknown serial option"),
            ("tcp://host", "no port"),
            ("tcp://:9100", "host:port"),
            ("lpt://x", "scheme"),
        ] {
            let e = LinkUri::parse(uri).expect_err(uri);
            assert!(e.to_string().contains(words), "{uri}: {e}");
        }
    }
}
