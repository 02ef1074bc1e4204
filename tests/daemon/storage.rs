//! A full store, a full disk, a read-only data folder, and a backup taken while printing: new jobs
//! are refused with a reason and nothing accepted is lost.

use super::*;

#[test]
fn a_full_store_refuses_new_jobs_with_a_reason_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        lab_toml().replace("max_store_mb = 4096", "max_store_mb = 1"),
    )
    .expect("config");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    assert_eq!(
        post(
            &base,
            "/api/booklets/batches",
            json!({"first": "X7000000", "last": "X7000199"})
        )
        .0,
        201
    );
    let template = std::fs::read(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let mut accepted = 0;
    let refusal = loop {
        assert!(accepted < 200, "the store never filled");
        let body = String::from_utf8(template.clone())
            .expect("utf-8")
            .replace("SMD-2026-000123", &format!("FULL-{accepted:03}"))
            .replace("X1234567", &format!("X{:07}", 7_000_000 + accepted));
        let (s, v) = http(
            "POST",
            &format!("{base}/api/jobs"),
            Some("application/json"),
            body.as_bytes(),
        );
        if s != 201 {
            break (s, v);
        }
        accepted += 1;
    };
    assert_eq!(refusal.0, 507, "{}", refusal.1);
    assert_eq!(refusal.1["error"]["code"], "store-full");
    assert!(
        refusal.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("daemon.max_store_mb")),
        "{}",
        refusal.1
    );
    // Nothing accepted was lost, and an accepted job still prints and completes.
    assert_eq!(jobs_in(&base, "queued").len(), accepted);
    let (s, _) = post(
        &base,
        "/api/jobs/FULL-000/confirm-booklet",
        json!({"booklet": "X7000000"}),
    );
    assert_eq!(s, 200);
    until("printed", || job_state(&base, "FULL-000") == "printed");
    assert_eq!(post(&base, "/api/jobs/FULL-000/verify", json!({})).0, 200);
}

/// A small ext4 file system on a loop device, mounted for one test, so "disk full" and
/// "read-only" are the real thing: a root test process would ignore file permissions, and
/// ext4's `errors=remount-ro` is how a data folder really turns read-only under a running
/// daemon. Needs root (or CAP_SYS_ADMIN) and e2fsprogs, as `scripts/test` has in CI.
struct LoopDisk {
    image: std::path::PathBuf,
    at: std::path::PathBuf,
}

fn run_ok(cmd: &mut std::process::Command) {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl LoopDisk {
    fn new(dir: &Path, mb: u64) -> Self {
        let image = dir.join("disk.img");
        let at = dir.join("disk");
        std::fs::create_dir_all(&at).expect("mount point");
        let f = std::fs::File::create(&image).expect("image");
        f.set_len(mb * 1024 * 1024).expect("image size");
        // No blocks reserved for root: the daemon (root in CI) sees the disk as users do.
        run_ok(
            std::process::Command::new("mkfs.ext4")
                .args(["-q", "-F", "-m", "0"])
                .arg(&image),
        );
        let disk = Self { image, at };
        disk.mount("rw");
        disk
    }

    fn mount(&self, mode: &str) {
        run_ok(
            std::process::Command::new("mount")
                .args(["-o", &format!("loop,errors=remount-ro,{mode}")])
                .arg(&self.image)
                .arg(&self.at),
        );
    }

    fn umount(&self) {
        run_ok(std::process::Command::new("umount").arg(&self.at));
    }

    /// What the kernel does on a file-system error: the disk turns read-only under every
    /// open file.
    fn fail(&self) {
        let out = std::process::Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(&self.at)
            .output()
            .expect("findmnt");
        let source = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let dev = source.rsplit('/').next().unwrap_or("").to_owned();
        std::fs::write(
            format!("/sys/fs/ext4/{dev}/trigger_fs_error"),
            "pstation test",
        )
        .expect("trigger an ext4 error");
    }

    /// Unmounts, repairs (as after a real error) and mounts again in `mode`.
    fn repair(&self, mode: &str) {
        self.umount();
        // e2fsck exits 1 when it fixed something: that is expected after an error.
        let status = std::process::Command::new("e2fsck")
            .args(["-f", "-y"])
            .arg(&self.image)
            .output()
            .expect("e2fsck")
            .status;
        assert!(matches!(status.code(), Some(0 | 1)), "e2fsck: {status}");
        self.mount(mode);
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.at)
            .status();
    }
}

/// Fills the file system holding `dir` with a ballast file until it is full.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("ballast");
    let mut f = std::fs::File::create(&path).expect("ballast");
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    // A last few bytes, then whatever the page cache still accepts.
    while f.write_all(&block[..512]).is_ok() {}
    let _ = f.sync_all();
    path
}

#[test]
fn a_full_disk_or_a_read_only_data_folder_refuses_new_jobs_with_a_reason_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = LoopDisk::new(dir.path(), 16);
    let data = disk.at.join("data");
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let config_with = |min_free: u64| {
        let path = dir.path().join(format!("station-{min_free}.toml"));
        std::fs::write(
            &path,
            lab_toml().replace("min_free_mb = 256", &format!("min_free_mb = {min_free}")),
        )
        .expect("config");
        path
    };
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);

    // 1. The free-space reserve: new jobs are refused before the disk is full.
    let (mut serve, base, _) = start_serve(&data, &device, &config_with(3));
    let (s, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X7100000", "last": "X7100999"}),
    );
    assert_eq!(s, 201);
    let mut accepted = 0;
    let refusal = loop {
        assert!(accepted < 1000, "the disk never filled");
        let (s, v) = submit_as(
            &base,
            &template,
            &format!("DISK-{accepted:03}"),
            &format!("X{:07}", 7_100_000 + accepted),
        );
        if s != 201 {
            break (s, v);
        }
        accepted += 1;
    };
    assert!(accepted > 0);
    assert_eq!(refusal.0, 507, "{}", refusal.1);
    assert_eq!(refusal.1["error"]["code"], "store-full");
    let message = refusal.1["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("daemon.min_free_mb"), "{message}");
    let health = client(&base, None).health().expect("health");
    assert_eq!(health.status, "degraded", "{health:?}");
    assert_eq!(health.problems[0].code, "store-full", "{health:?}");
    // Nothing accepted was lost, and an accepted job still prints in the reserve.
    assert_eq!(jobs_in(&base, "queued").len(), accepted);
    let (s, _) = post(
        &base,
        "/api/jobs/DISK-000/confirm-booklet",
        json!({"booklet": "X7100000"}),
    );
    assert_eq!(s, 200);
    until("printed", || job_state(&base, "DISK-000") == "printed");
    serve.0.kill().expect("kill");
    let _ = serve.0.wait();

    // 2. A disk really full (no reserve): SQLite's own "disk full" is the same refusal, the
    //    daemon keeps serving, and it accepts again once space is freed.
    let (mut serve, base, _) = start_serve(&data, &device, &config_with(0));
    let ballast = fill(&disk.at);
    // SQLite may still have room in the pages its files already hold; beyond them it reports
    // the disk full.
    let mut in_files = 0;
    let (s, v) = loop {
        assert!(in_files < 500, "the full disk never refused a job");
        let (s, v) = submit_as(
            &base,
            &template,
            &format!("DISK-F{in_files:03}"),
            &format!("X{:07}", 7_100_500 + in_files),
        );
        if s != 201 {
            break (s, v);
        }
        in_files += 1;
    };
    accepted += in_files;
    assert_eq!(s, 507, "{v}");
    assert_eq!(v["error"]["code"], "store-full", "{v}");
    assert_eq!(jobs_in(&base, "queued").len(), accepted - 1);
    assert_eq!(get(&base, "/api/health").0, 200, "the daemon keeps serving");
    std::fs::remove_file(&ballast).expect("free the disk");
    let (s, v) = submit_as(&base, &template, "DISK-FULL", "X7100900");
    assert_eq!(s, 201, "{v}");
    accepted += 1;

    // 3. The file system turns read-only under the running daemon (a disk error): new jobs
    //    are refused with their own code, an operator action cannot be recorded, reads work.
    disk.fail();
    let (s, v) = submit_as(&base, &template, "DISK-RO", "X7100901");
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["error"]["code"], "store-read-only", "{v}");
    assert_eq!(jobs_in(&base, "queued").len(), accepted - 1);
    let health = client(&base, None).health().expect("health");
    assert_eq!(health.status, "degraded", "{health:?}");
    assert_eq!(health.problems[0].code, "store-read-only", "{health:?}");
    assert!(
        !health.data_dir.as_ref().expect("the data folder").writable,
        "{health:?}"
    );
    let (s, v) = post(
        &base,
        "/api/jobs/DISK-001/confirm-booklet",
        json!({"booklet": "X7100001"}),
    );
    assert_eq!(s, 503, "an operator action cannot be recorded: {v}");
    assert_eq!(v["error"]["code"], "store-read-only", "{v}");
    assert_eq!(job_state(&base, "DISK-001"), "queued");
    serve.0.kill().expect("kill");
    let _ = serve.0.wait();

    // 4. Starting on a read-only data folder fails at once with a reason, and changes nothing.
    disk.repair("ro");
    let mut serve = Proc(
        std::process::Command::new(pstation().get_program())
            .args(["serve", "--listen", "127.0.0.1:0", "--device", &device])
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(config_with(0))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve"),
    );
    until_for("serve refuses to start", 60, || {
        serve.0.try_wait().ok().flatten().is_some()
    });
    let status = serve.0.wait().expect("status");
    assert_ne!(status.code(), Some(0));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut serve.0.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    assert!(
        err.contains("read-only") && err.contains(&data.display().to_string()),
        "{err}"
    );
    let (code, text) = doctor(&[
        "--data-dir",
        &data.display().to_string(),
        "--device",
        &device,
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PROBLEM  data folder") && text.contains("store-read-only"),
        "{text}"
    );
    disk.umount();
    disk.mount("rw");

    // 5. Writable again: every accepted job is there, in the state it was left in.
    let (_serve, base, _) = start_serve(&data, &device, &config_with(0));
    let all = client(&base, None).jobs(None).expect("the job list").jobs;
    assert_eq!(all.len(), accepted, "{all:?}");
    assert_eq!(job_state(&base, "DISK-000"), "printed");
    assert_eq!(jobs_in(&base, "queued").len(), accepted - 1);
}

#[test]
fn a_backup_taken_while_printing_restores_every_job_and_restore_waits_for_the_daemon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0", "--page-ms", "400"]);
    let config = config_without_confirmation(dir.path());
    let data = dir.path().join("data");
    let (mut serve, base, _) = start_serve(&data, &device, &config);
    let (s, _) = post(
        &base,
        "/api/booklets/batches",
        json!({"first": "X7200000", "last": "X7200099"}),
    );
    assert_eq!(s, 201);
    let template =
        std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    for i in 0..20 {
        let (s, v) = submit_as(
            &base,
            &template,
            &format!("BACKUP-{i:02}"),
            &format!("X{:07}", 7_200_000 + i),
        );
        assert_eq!(s, 201, "{v}");
    }
    until("a job printing", || !jobs_in(&base, "printing").is_empty());

    // The backup, taken while the engine writes.
    let file = dir.path().join("station-backup.db");
    let out = pstation()
        .arg("backup")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("backup");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("20 jobs") && text.contains("checks passed"),
        "{text}"
    );
    // Never over an existing file.
    let out = pstation()
        .arg("backup")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("backup");
    assert_eq!(out.status.code(), Some(2));

    // While the daemon runs, neither a restore nor a second daemon may touch its folder.
    let out = pstation()
        .arg("restore")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("restore");
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data-dir-busy"));
    let out = pstation()
        .args(["serve", "--listen", "127.0.0.1:0", "--device", &device])
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .output()
        .expect("second serve");
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("data-dir-busy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serve.0.kill().expect("kill");
    let _ = serve.0.wait();

    // Restored into the same folder (the old store kept aside), the station has every job,
    // and the copy passes the store's checks.
    let out = pstation()
        .arg("restore")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("restore");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("kept as"), "{text}");
    let report = pstation::store::backup::check(&data.join("station.db")).expect("check");
    assert!(report.problems.is_empty(), "{report:?}");
    assert_eq!(report.jobs, 20);
    // The restored event log's hash chain is whole.
    let (code, out, err) = crate::util::run(
        pstation()
            .args(["audit", "verify", "--data-dir"])
            .arg(&data),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("events chained and verified (0 from before the chain)"),
        "{out}"
    );
    let kept = std::fs::read_dir(&data)
        .expect("data")
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().contains("before-restore"));
    assert!(kept, "the replaced store is kept");
    let (_serve, base, _) = start_serve(&data, &device, &config);
    let all = client(&base, None).jobs(None).expect("the job list").jobs;
    assert_eq!(all.len(), 20);
    // The job printing when the copy was taken is in doubt after the restore, never requeued.
    assert!(
        all.iter()
            .all(|j| j.state != pstation::store::JobState::Printing),
        "{all:?}"
    );
}
