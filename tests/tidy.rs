//! Repository hygiene: every Rust file opens with a `//!` line saying what lives there, no
//! test is switched off with an ignore attribute or relies on a should-panic attribute, and the
//! parts of `src/` use each other only downwards (`LAYERS`).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc_and_no_test_is_disabled() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "drivers"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "{files:?}");
    let ignore = ["#[", "ignore]"].concat();
    let should_panic = ["#[", "should_panic"].concat();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(
            text.starts_with("//! "),
            "{file:?} must start with a `//!` line"
        );
        assert!(!text.contains(&ignore), "{file:?} disables a test");
        assert!(!text.contains(&should_panic), "{file:?} uses should_panic");
    }
}

/// What each part of `src/` may use of the others (`use crate::…` and `crate::…` paths), lowest
/// first; ARCHITECTURE.md states the same rules in words. `cli` is the top and may use anything.
const LAYERS: &[(&str, &[&str])] = &[
    ("problem", &[]),
    ("clock", &[]),
    ("fsio", &[]),
    ("logging", &[]),
    ("retry", &[]),
    ("mrz", &[]),
    ("job", &["mrz", "problem"]),
    ("policy", &["job", "mrz", "problem"]),
    ("layout", &["job", "mrz", "problem", "fsio"]),
    ("store", &["job", "problem", "fsio", "clock"]),
    ("printer", &["problem", "fsio", "retry"]),
    ("reader", &["mrz", "problem", "fsio", "retry"]),
    ("chip", &["job", "mrz", "problem", "fsio", "retry"]),
    ("central", &["job", "store", "problem", "fsio", "retry"]),
    ("privacy", &["central"]),
    // The configuration: the file parsed and validated into typed settings, below everything
    // that uses them.
    (
        "config",
        &[
            "central", "clock", "job", "layout", "mrz", "policy", "printer", "problem", "fsio",
            "reader", "chip",
        ],
    ),
    (
        "station",
        &[
            "store", "central", "printer", "layout", "job", "mrz", "policy", "problem", "fsio",
            "clock", "privacy", "retry", "config", "reader", "chip",
        ],
    ),
    // The HTTP API over the station's use cases: the store's types (states, rows) pass
    // through it, but it never calls the store (`the_api_calls_the_station_never_the_store`).
    (
        "api",
        &[
            "station", "central", "store", "printer", "privacy", "clock", "fsio", "reader", "chip",
        ],
    ),
    // The one client of the API: its wire types only (`the_client_knows_only_the_wire_format`).
    ("client", &["api"]),
    // Operations (the self-check) over the station's parts; the CLI prints them.
    (
        "ops",
        &[
            "api", "client", "config", "station", "store", "central", "printer", "fsio", "clock",
            "reader", "chip",
        ],
    ),
];

#[test]
fn the_client_knows_only_the_wire_format() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/client");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for (i, _) in text.match_indices("crate::api::") {
            assert!(
                text[i..].starts_with("crate::api::wire"),
                "{file:?} uses the API's server side: the client knows only crate::api::wire"
            );
        }
    }
}

/// The engine, the API, doctor, the bundle and diagnostics know no printer family: they open
/// printers through `printer::open` / `printer::registry` and speak `PrinterDriver`. Only the
/// families themselves (`src/printer/`), the simulator's commands and the PJL family's own tests
/// and benches name one.
#[test]
fn only_the_printer_families_name_a_printer_family() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 50, "{files:?}");
    // The simulator is a PJL printer: starting it is not driving it.
    let allowed = ["src/printer/", "src/cli/sim.rs", "src/cli/demo.rs"];
    for file in files {
        let rel = file.strip_prefix(&root).expect("under the root");
        if allowed.iter().any(|a| rel.starts_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        for needle in [
            "printer::pjl",
            "pstation_pjl::pcl",
            "pstation_pjl::pjl",
            "pstation_pjl::status",
            "PjlPrinter",
        ] {
            assert!(
                !text.contains(needle),
                "{rel:?} names a printer family ({needle}): use pstation_printer_api's PrinterDriver and printer::open"
            );
        }
    }
    // The demo only configures the simulator.
    let demo = std::fs::read_to_string(root.join("src/cli/demo.rs")).expect("demo");
    assert!(!demo.contains("printer::pjl") && !demo.contains("PjlPrinter"));
    // And the seam's crate knows no family, nor the station.
    let mut seam = Vec::new();
    rust_files(&root.join("drivers/printer-api"), &mut seam);
    assert!(seam.len() >= 5, "{seam:?}");
    for file in seam {
        let text = std::fs::read_to_string(&file).expect("read");
        for needle in [
            "pstation_pjl",
            "pstation::",
            "crate::printer",
            "ipp::",
            "serialport",
        ] {
            assert!(
                !text.contains(needle),
                "{file:?} names {needle}: the seam knows no family"
            );
        }
    }
}

#[test]
fn the_api_calls_the_station_never_the_store() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    assert!(files.len() > 5, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for needle in [".db(", " Store::", "store::Store"] {
            assert!(
                !text.contains(needle),
                "{file:?} reaches the store ({needle}): add a use case to the station (src/station/views.rs) and call that"
            );
        }
    }
}

/// No Rust file grows past what a newcomer reads in one sitting: split it by concern (tests
/// included; data and generated files are not Rust files).
#[test]
fn no_rust_file_is_over_800_lines() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "drivers"] {
        rust_files(&root.join(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern: {long:#?}");
}

/// The part of `src/` a file belongs to: its folder, or its name for a top-level file.
fn part_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

#[test]
fn layers_only_point_down_and_no_part_reaches_itself_through_others() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .collect();
    for m in &modules {
        assert!(
            *m == "cli" || LAYERS.iter().any(|(name, _)| name == m),
            "src/{m} has no layer rule in tests/tidy.rs (and ARCHITECTURE.md)"
        );
    }
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut used = std::collections::BTreeSet::new();
    for file in files {
        let Some(part) = part_of(&src, &file) else {
            continue;
        };
        if matches!(part.as_str(), "cli" | "main" | "lib") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        // `crate::x` anywhere, and `crate::{x, y}` groups.
        let mut targets = Vec::new();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                targets.extend(
                    group
                        .split(',')
                        .filter_map(|g| g.trim().split("::").next().map(|s| s.trim().to_owned())),
                );
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                targets.push(rest[..end].to_owned());
            }
        }
        let allowed = LAYERS
            .iter()
            .find(|(name, _)| *name == part)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("{file:?}: src/{part} has no layer rule"));
        for t in targets {
            if t == part || !modules.contains(&t.as_str()) {
                continue; // itself, or an item of the crate root (e.g. `today_at`)
            }
            assert!(
                allowed.contains(&t.as_str()),
                "{file:?}: src/{part} must not depend on src/{t} (the layer rules in tests/tidy.rs and ARCHITECTURE.md)"
            );
            used.insert((part.clone(), t));
        }
    }
    // No cycle (the table above could allow one by mistake): the graph orders.
    let mut edges: Vec<(String, String)> = used.into_iter().collect();
    let mut left: Vec<&str> = modules.iter().copied().filter(|m| *m != "cli").collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|m| edges.iter().any(|(f, _)| f == m));
        let gone: Vec<String> = modules
            .iter()
            .filter(|m| !left.contains(m))
            .map(|m| m.to_string())
            .collect();
        edges.retain(|(_, t)| !gone.contains(t));
        assert!(
            left.len() < before || left.is_empty(),
            "a cycle among {left:?}: {edges:?}"
        );
    }
}
