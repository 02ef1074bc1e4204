//! The README's recipes, run as written: every fenced block marked `runnable` — a `sh` block as
//! one bash script, a `console` block command by command with each output compared — against
//! the binary under test (a `cargo` on PATH that runs it), with `/tmp/` and the recipes' ports
//! replaced by a folder and free ports made for the run. So the README cannot drift from the
//! product again (issue 16 #1).

use std::path::Path;
use std::process::Command;

/// One fenced block: its info string (`sh runnable`), text and first line number.
struct Block {
    info: String,
    text: String,
    line: usize,
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README")
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    text: String::new(),
                    line: i + 1,
                });
            }
            (Some(_), Some("")) => out.extend(open.take()),
            (Some(b), _) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed fence in README.md");
    out
}

fn is_shell(info: &str) -> bool {
    matches!(
        info.split_whitespace().next(),
        Some("sh" | "bash" | "shell" | "console")
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A folder with a `cargo` that runs the binary under test for `cargo run [flags] -- ARGS`.
fn cargo_shim(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\n\
         # `cargo run [-q] [--release] -- ARGS` runs the binary under test.\n\
         [ \"$1\" = run ] || { echo \"cargo shim: only 'cargo run ... -- ARGS'\" >&2; exit 99; }\n\
         while [ $# -gt 0 ] && [ \"$1\" != \"--\" ]; do shift; done\n\
         [ \"$1\" = \"--\" ] || { echo \"cargo shim: no '--'\" >&2; exit 99; }\n\
         shift\n\
         exec \"$PSTATION_BIN\" \"$@\"\n",
    )
    .expect("shim");
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

/// A bash running `script` from the repository's folder with the shim first on PATH.
fn bash(bin: &Path, api_port: u16, script: &str) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args(["600", "bash", "-c", script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("PSTATION_BIN", env!("CARGO_BIN_EXE_pstation"))
        .env("PSTATION_URL", format!("http://127.0.0.1:{api_port}"))
        .env_remove("PSTATION_TOKEN")
        .env_remove("PSTATION_USER")
        .env_remove("PSTATION_CONFIG");
    cmd
}

#[test]
fn every_shell_block_of_the_readme_is_runnable_but_the_set_up() {
    let text = readme();
    let all = blocks(&text);
    let runnable = all
        .iter()
        .filter(|b| is_shell(&b.info) && b.info.contains("runnable"))
        .count();
    assert!(runnable >= 3, "the README's recipes are marked runnable");
    for b in all.iter().filter(|b| is_shell(&b.info)) {
        // The two set-up commands are the suite's own entry points (scripts/test would run
        // this test again); CI runs them both.
        let set_up = b.text.contains("scripts/test") && b.text.contains("-- demo");
        assert!(
            b.info.contains("runnable") || set_up,
            "README.md line {}: a shell block not marked runnable:\n{}",
            b.line,
            b.text
        );
    }
}

#[test]
fn the_readme_recipes_run_as_written() {
    let text = readme();
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = cargo_shim(dir.path());
    for (n, b) in blocks(&text)
        .iter()
        .filter(|b| is_shell(&b.info) && b.info.contains("runnable"))
        .enumerate()
    {
        let tmp = dir.path().join(format!("run-{n}"));
        std::fs::create_dir_all(&tmp).expect("run folder");
        let (sim_port, api_port) = (free_port(), free_port());
        let recipe = b
            .text
            .replace("/tmp/", &format!("{}/", tmp.display()))
            .replace("9100", &sim_port.to_string())
            .replace("8631", &api_port.to_string());
        if b.info.starts_with("console") {
            // `$ command` lines, each followed by the output it must print.
            let mut steps: Vec<(String, String)> = Vec::new();
            for line in recipe.lines() {
                match line.strip_prefix("$ ") {
                    Some(cmd) => steps.push((cmd.to_owned(), String::new())),
                    None => {
                        let (_, expected) = steps.last_mut().expect("a command first");
                        expected.push_str(line);
                        expected.push('\n');
                    }
                }
            }
            for (cmd, expected) in steps {
                let out = bash(&bin, api_port, &cmd).output().expect("bash");
                let shown = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(
                    shown, expected,
                    "README.md line {}: `{cmd}` printed something else",
                    b.line
                );
            }
        } else {
            // Background jobs a recipe leaves are stopped when it ends, whatever happens.
            let script =
                format!("set -eu\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{recipe}");
            let out = bash(&bin, api_port, &script).output().expect("bash");
            assert!(
                out.status.success(),
                "README.md line {} failed ({}):\n{recipe}\n--- stdout\n{}\n--- stderr\n{}",
                b.line,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
