//! The Debian package: `scripts/package-deb` builds it from the test's binary, and its contents,
//! control data, unit file, service user, configuration and udev rule are checked.

use std::path::Path;
use std::process::Command;

use crate::util::{pstation, run};

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a packaging tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// (mode, owner, path) of each entry in `dpkg-deb --contents`.
fn contents(deb: &Path) -> Vec<(String, String, String)> {
    sh(Command::new("dpkg-deb").arg("--contents").arg(deb))
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let path = f[5].trim_start_matches('.').to_owned();
            (f[0].to_owned(), f[1].to_owned(), path)
        })
        .collect()
}

#[test]
fn the_debian_package_holds_the_binary_unit_service_user_config_and_udev_rule() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_pstation");
    let written = sh(Command::new(repo.join("scripts/package-deb"))
        .args(["--binary", bin, "--compression", "none", "--out"])
        .arg(dir.path()));
    let mut written = written.lines();
    let deb = Path::new(written.next().expect("the package's path").trim());
    let dbgsym = Path::new(written.next().expect("the -dbgsym package's path").trim());
    assert!(
        deb.is_file(),
        "the script names the package it wrote: {deb:?}"
    );

    // Control data.
    let field = |name: &str| sh(Command::new("dpkg-deb").arg("--field").arg(deb).arg(name));
    assert_eq!(field("Package").trim(), "pstation");
    assert_eq!(field("Version").trim(), env!("CARGO_PKG_VERSION"));
    let arch = sh(Command::new("dpkg").arg("--print-architecture"));
    assert_eq!(field("Architecture").trim(), arch.trim());
    assert!(field("Depends").contains("systemd | adduser"));

    // Files, modes and owners.
    let listing = contents(deb);
    let entry = |path: &str| {
        listing
            .iter()
            .find(|(_, _, p)| p == path)
            .unwrap_or_else(|| panic!("{path} is not in the package: {listing:#?}"))
            .clone()
    };
    for (path, mode) in [
        ("/usr/bin/pstation", "-rwxr-xr-x"),
        ("/usr/lib/systemd/system/pstation.service", "-rw-r--r--"),
        ("/usr/lib/sysusers.d/pstation.conf", "-rw-r--r--"),
        ("/etc/pstation/config.toml", "-rw-r--r--"),
        (
            "/usr/share/doc/pstation/examples/99-pstation-printer.rules",
            "-rw-r--r--",
        ),
        ("/usr/share/doc/pstation/operations.md", "-rw-r--r--"),
        ("/usr/share/doc/pstation/adapters.md", "-rw-r--r--"),
        (
            "/usr/lib/pstation/adapters/pstation-adapter-ipptool",
            "-rwxr-xr-x",
        ),
        ("/usr/share/doc/pstation/README.md", "-rw-r--r--"),
        ("/usr/share/doc/pstation/copyright", "-rw-r--r--"),
    ] {
        let (m, owner, _) = entry(path);
        assert_eq!(m, mode, "{path}");
        assert_eq!(owner, "root/root", "{path}");
    }
    // Nothing else but the folders leading to them.
    for (mode, _, path) in &listing {
        if !mode.starts_with('d') {
            assert!(
                path.starts_with("/usr/bin/")
                    || path.starts_with("/usr/lib/")
                    || path.starts_with("/etc/pstation/")
                    || path.starts_with("/usr/share/doc/pstation/"),
                "unexpected file {path}"
            );
        }
    }
    // The data folder belongs to systemd (StateDirectory), not the package.
    assert!(!listing.iter().any(|(_, _, p)| p.starts_with("/var/")));

    // Maintainer scripts and the conffile.
    let control = dir.path().join("control");
    sh(Command::new("dpkg-deb")
        .arg("--control")
        .arg(deb)
        .arg(&control));
    assert_eq!(
        std::fs::read_to_string(control.join("conffiles")).expect("conffiles"),
        "/etc/pstation/config.toml\n"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).expect("postinst");
    assert!(postinst.contains("systemd-sysusers pstation.conf"));
    assert!(postinst.contains("systemctl enable pstation.service"));
    // The store key is made once, for the service user only, and never replaced.
    assert!(postinst.contains("if [ ! -e /etc/pstation/store.key ]"));
    assert!(postinst.contains("pstation keys store-key --out /etc/pstation/store.key"));
    assert!(postinst.contains("chown pstation:pstation /etc/pstation/store.key"));
    for script in ["postinst", "prerm", "postrm"] {
        sh(Command::new("sh").arg("-n").arg(control.join(script)));
    }

    // The unpacked files.
    let root = dir.path().join("root");
    sh(Command::new("dpkg-deb")
        .arg("--extract")
        .arg(deb)
        .arg(&root));
    // The packaged binary is the one given without its DWARF (issue 16 #20): it runs, keeps
    // its symbols, points at its debug file; the DWARF is in the -dbgsym package under the
    // binary's build id, and together they are the binary given.
    let packaged = root.join("usr/bin/pstation");
    let sections = |f: &Path| sh(Command::new("readelf").arg("-S").arg("-W").arg(f));
    let s = sections(&packaged);
    assert!(
        !s.contains(".debug_info"),
        "DWARF left in the packaged binary"
    );
    assert!(s.contains(".symtab") && s.contains(".gnu_debuglink"), "{s}");
    assert!(
        sections(Path::new(bin)).contains(".debug_info"),
        "the test binary has DWARF"
    );
    let (built, shipped) = (
        std::fs::metadata(bin).expect("binary").len(),
        std::fs::metadata(&packaged).expect("packaged").len(),
    );
    // Test builds keep line tables only, so the debug sections are a smaller share of them
    // than of a release build; what matters is that they were taken out.
    assert!(shipped < built, "stripped {shipped} of {built} bytes");
    let (code, out, _) = run(assert_cmd::Command::new(&packaged).arg("--version"));
    assert_eq!(code, 0);
    assert!(out.starts_with("pstation "), "{out}");
    let id = |f: &Path| {
        sh(Command::new("readelf").arg("-n").arg(f))
            .lines()
            .find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_owned))
            .expect("a build id")
    };
    let build_id = id(Path::new(bin));
    assert_eq!(id(&packaged), build_id);
    let dbg_field = |name: &str| {
        sh(Command::new("dpkg-deb")
            .arg("--field")
            .arg(dbgsym)
            .arg(name))
    };
    assert_eq!(dbg_field("Package").trim(), "pstation-dbgsym");
    assert_eq!(
        dbg_field("Depends").trim(),
        format!("pstation (= {})", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(dbg_field("Build-Ids").trim(), build_id);
    let debug_path = format!(
        "/usr/lib/debug/.build-id/{}/{}.debug",
        &build_id[..2],
        &build_id[2..]
    );
    assert!(
        contents(dbgsym).iter().any(|(_, _, p)| *p == debug_path),
        "{debug_path} in the -dbgsym package"
    );
    let dbg_root = dir.path().join("dbgsym");
    sh(Command::new("dpkg-deb")
        .arg("--extract")
        .arg(dbgsym)
        .arg(&dbg_root));
    let debug_file = dbg_root.join(debug_path.trim_start_matches('/'));
    assert!(sections(&debug_file).contains(".debug_info"));

    // The configuration is valid and is the embedded default.
    let config = root.join("etc/pstation/config.toml");
    let (code, _, err) = run(pstation().args(["config", "check"]).arg(&config));
    assert_eq!(code, 0, "{err}");
    let (_, default, _) = run(pstation().args(["config", "default"]));
    assert_eq!(std::fs::read_to_string(&config).expect("config"), default);
    assert!(default.contains("data_dir = \"/var/lib/pstation\""));
    assert!(default.contains("serial:///dev/pstation-printer"));

    // The unit: its keys as systemd reads them, and `systemd-analyze verify` without warnings
    // (pointed at the unpacked binary, since none is installed at /usr/bin here).
    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/system/pstation.service"))
        .expect("unit");
    let keys: Vec<(&str, &str)> = unit
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .filter_map(|l| l.split_once('='))
        .collect();
    let has = |k: &str, v: &str| keys.iter().any(|(kk, vv)| *kk == k && *vv == v);
    assert!(has("User", "pstation"));
    assert!(has("SupplementaryGroups", "dialout lp"));
    assert!(has("Restart", "on-failure"));
    assert!(has("StateDirectory", "pstation"));
    assert!(has("NoNewPrivileges", "yes"));
    assert!(has("ProtectSystem", "strict"));
    assert!(has("DevicePolicy", "closed"));
    assert!(has("DeviceAllow", "char-ttyUSB rw"));
    assert!(has("DeviceAllow", "char-usb rw"));
    assert!(
        !keys.iter().any(|(k, _)| *k == "PrivateDevices"),
        "PrivateDevices would hide the printer"
    );
    let exec = keys
        .iter()
        .find(|(k, _)| *k == "ExecStart")
        .expect("ExecStart")
        .1;
    assert!(exec.starts_with("/usr/bin/pstation serve --config /etc/pstation/config.toml"));
    assert!(exec.contains("--log-format json"));
    let local_unit = dir.path().join("pstation.service");
    std::fs::write(
        &local_unit,
        unit.replace(
            "/usr/bin/pstation",
            &root.join("usr/bin/pstation").display().to_string(),
        ),
    )
    .expect("write unit");
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&local_unit)
        .output()
        .expect("systemd-analyze");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The daemon accepts the unit's command line (the same flags, `--help` to stop there).
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    let (code, _, err) = run(pstation().args(&args).arg("--help"));
    assert_eq!(code, 0, "{err}");

    // The service user is in the printer groups.
    let sysusers =
        std::fs::read_to_string(root.join("usr/lib/sysusers.d/pstation.conf")).expect("sysusers");
    for line in ["u pstation -", "m pstation dialout", "m pstation lp"] {
        assert!(sysusers.contains(line), "{line}");
    }

    // The udev rule names the printer /dev/pstation-printer for the tty and usbmisc classes.
    let rule = std::fs::read_to_string(
        root.join("usr/share/doc/pstation/examples/99-pstation-printer.rules"),
    )
    .expect("udev rule");
    let rules: Vec<&str> = rule
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(rules.len(), 2);
    for r in &rules {
        assert!(r.contains("SYMLINK+=\"pstation-printer\""), "{r}");
        for key in ["ATTRS{idVendor}==", "ATTRS{idProduct}==", "ATTRS{serial}=="] {
            assert!(r.contains(key), "{r} lacks {key}");
        }
    }
    assert!(rules[0].starts_with("SUBSYSTEM==\"tty\"") && rules[0].contains("GROUP=\"dialout\""));
    assert!(rules[1].starts_with("SUBSYSTEM==\"usbmisc\"") && rules[1].contains("GROUP=\"lp\""));
}
