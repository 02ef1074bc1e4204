//! `pstation render`: one job's PDF and preview, many jobs, invalid jobs refused, the calibration
//! page, the station policy, and outputs that would overwrite each other.

use super::*;

#[test]
fn render_writes_the_pdf_and_preview_of_one_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("page.pdf");
    let png = dir.path().join("page.png");
    let (code, out, err) = run(pstation()
        .arg("render")
        .arg(fixture("jobs/valid/santoso-budi.json"))
        .arg("--out")
        .arg(&pdf)
        .arg("--png")
        .arg(&png)
        .args(["--dpi", "150"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), pdf.display().to_string());
    assert!(std::fs::read(&pdf).expect("pdf").starts_with(b"%PDF-"));
    let preview = image::load_from_memory(&std::fs::read(&png).expect("png")).expect("decodes");
    // 125 x 88 mm at 150 dpi.
    assert_eq!((preview.width(), preview.height()), (738, 519));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temporary files left: {leftovers:?}");
}

#[test]
fn render_many_jobs_writes_one_pdf_per_job_and_nothing_for_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A job whose portrait is a CMYK JPEG: valid JSON, bad image.
    let text = std::fs::read_to_string(fixture("jobs/valid/partini.json")).expect("fixture");
    let mut bad: serde_json::Value = serde_json::from_str(&text).expect("json");
    let cmyk = std::fs::read(fixture("portraits/bad/cmyk.jpg")).expect("cmyk");
    use base64::Engine as _;
    bad["job_id"] = "BAD-IMAGE-1".into();
    bad["portrait"] = serde_json::json!({
        "media_type": "image/jpeg",
        "data": base64::engine::general_purpose::STANDARD.encode(cmyk),
    });
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, serde_json::to_vec(&bad).expect("json")).expect("write");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("mkdir");
    let (code, out, err) = run(pstation()
        .arg("render")
        .arg(fixture("jobs/valid/santoso-budi.json"))
        .arg(&bad_path)
        .arg(fixture("jobs/valid/partini.json"))
        .arg("--out-dir")
        .arg(&out_dir));
    assert_eq!(code, 2, "{err}");
    // Laid out on every core, told in the order given.
    let written: Vec<&str> = out.lines().collect();
    assert_eq!(written.len(), 2, "{out}");
    assert!(
        written[0].ends_with("SMD-2026-000123.pdf") && written[1].ends_with("SMD-2026-000124.pdf"),
        "{out}"
    );
    assert!(err.contains("portrait.data: portrait-cmyk"), "{err}");
    let mut files: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["SMD-2026-000123.pdf", "SMD-2026-000124.pdf"]);
}

#[test]
fn render_refuses_invalid_jobs_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("page.pdf");
    let (code, out, err) = run(pstation()
        .arg("render")
        .arg(fixture("jobs/invalid/expiry-before-issue.json"))
        .arg("--out")
        .arg(&pdf)
        .arg("--png")
        .arg(dir.path().join("page.png")));
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains("document.date_of_expiry: expiry-before-issue"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    // Usage errors.
    let (code, _, _) = run(pstation()
        .arg("render")
        .arg(fixture("jobs/valid/partini.json")));
    assert_eq!(code, 2);
    let (code, _, err) = run(pstation()
        .arg("render")
        .arg(fixture("jobs/valid/partini.json"))
        .arg("--out")
        .arg(&pdf)
        .args(["--offset-x", "9"]));
    assert_eq!(code, 2);
    assert!(err.contains("--offset-x"), "{err}");
}

#[test]
fn render_calibration_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("cal.pdf");
    let (code, _, err) = run(pstation()
        .args(["render", "--calibration", "--offset-x", "-0.4", "--out"])
        .arg(&pdf));
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&pdf).expect("pdf").starts_with(b"%PDF-"));
}

#[test]
fn render_applies_the_station_policy_unless_told_icao_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("page.pdf");
    let minor10 = fixture("jobs/policy/ten-years-for-a-minor.json");
    let (code, out, err) = run(pstation()
        .arg("render")
        .arg(&minor10)
        .args(["--today", "2026-11-27", "--out"])
        .arg(&pdf));
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.starts_with("document.date_of_expiry: policy-validity-minor: "),
        "{err}"
    );
    assert!(!pdf.exists());
    let (code, _, err) = run(pstation()
        .arg("render")
        .arg(&minor10)
        .args(["--icao-only", "--out"])
        .arg(&pdf));
    assert_eq!(code, 0, "{err}");
    assert!(pdf.exists());
}

#[test]
fn render_refuses_outputs_that_would_overwrite_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let same = dir.path().join("page.pdf");
    let (code, _, err) = run(pstation()
        .arg("render")
        .arg(fixture("jobs/valid/partini.json"))
        .arg("--out")
        .arg(&same)
        .arg("--png")
        .arg(&same));
    assert_eq!(code, 2);
    assert!(err.contains("same-path"), "{err}");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("mkdir");
    let partini = fixture("jobs/valid/partini.json");
    let (code, out, err) = run(pstation()
        .arg("render")
        .arg(&partini)
        .arg(&partini)
        .arg("--out-dir")
        .arg(&out_dir));
    assert_eq!(code, 2, "{err}");
    assert_eq!(out.lines().count(), 1);
    assert!(err.contains("duplicate-job-id"), "{err}");
    // The second copy's page was laid out and staged beside the first; nothing of it is left.
    let files: Vec<_> = std::fs::read_dir(&out_dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
}
