//! Shared helpers for the integration tests: fixture paths and running the `pstation` binary.

use std::path::PathBuf;

use assert_cmd::Command;

/// The station's API client (the library's one client) for the daemon at `base`, as the
/// owner of `token` (none: a lab station, or a request without credentials).
pub fn client(base: &str, token: Option<&str>) -> pstation::client::Client {
    let who = token.map_or_else(pstation::client::Credentials::default, |t| {
        pstation::client::Credentials::token(t)
    });
    pstation::client::Client::new(base, who)
}

/// `url` split into the daemon's base and the path (`http://127.0.0.1:1/api/x` →
/// `http://127.0.0.1:1`, `/api/x`).
pub fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let at = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    (&url[..at], &url[at..])
}

/// The repository's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A fixture file's path.
pub fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// The JSON files of one fixture folder, sorted by name.
pub fn json_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .expect("fixture folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// The `pstation` binary with logging environment cleared.
pub fn pstation() -> Command {
    let mut cmd = Command::cargo_bin("pstation").expect("binary");
    cmd.env_remove("PSTATION_LOG")
        .env_remove("RUST_LOG")
        .env_remove("PSTATION_CONFIG");
    cmd
}

/// The output of a finished command as text: (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run pstation");
    (
        out.status.code().expect("exit code, not a signal"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

/// `pstation token new`: (the token, the `[api] users` line).
pub fn new_token(name: &str, role: &str) -> (String, String) {
    let (code, out, err) = run(pstation().args(["token", "new", "--name", name, "--role", role]));
    assert_eq!(code, 0, "{err}");
    let token = out
        .lines()
        .find_map(|l| {
            l.split_once("it is not shown again): ")
                .map(|x| x.1.to_owned())
        })
        .expect("token line");
    let line = out
        .lines()
        .find(|l| l.starts_with("{ name = "))
        .expect("config line")
        .to_owned();
    assert!(
        !line.contains(&token),
        "the configuration line holds no token"
    );
    (token, line)
}

/// The store key the tests' stations use: one file, made once (mode 0600) in the target
/// folder's scratch space and shared by every store the tests create (each store adopts the key
/// it is first opened with).
pub fn store_key_file() -> &'static std::path::Path {
    static KEY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-store.key");
        if !path.exists() {
            // Another test process may make it at the same moment: either file is a good key.
            let _ = pstation::store::StoreKey::generate(&path);
        }
        pstation::store::StoreKey::load(&path).expect("the tests' store key");
        path
    })
}

/// The embedded default configuration with `daemon.key_file` set to the tests' store key.
pub fn default_toml() -> String {
    let default = "key_file = \"/etc/pstation/store.key\"";
    assert!(pstation::config::DEFAULT_TOML.contains(default));
    pstation::config::DEFAULT_TOML.replace(
        default,
        &format!("key_file = {:?}", store_key_file().display().to_string()),
    )
}
