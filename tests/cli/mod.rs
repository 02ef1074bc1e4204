//! The `pstation` binary end to end: help, `mrz`, `mrz --check`, `validate`, `config`, `demo`
//! (the daemon with the simulated printer),
//! exit codes and the "invalid input: stderr only" rule.

mod devices;
mod render;

use crate::util::{fixture, pstation, run};

#[test]
fn help_lists_every_command_with_a_description() {
    let (code, out, _) = run(pstation().arg("--help"));
    assert_eq!(code, 0);
    for (cmd, words) in [
        ("demo", "Run the station demo"),
        ("mrz", "Print the two MRZ lines"),
        ("validate", "Validate a job"),
        ("config", "Configuration tools"),
        ("serve", "Run the station daemon"),
        ("submit", "Submit a job"),
        ("jobs", "List the station's jobs"),
        ("job", "Show a job or act on it"),
        ("booklets", "Booklet stock"),
        ("printer", "The printer as the station sees it"),
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(cmd))
            .unwrap_or_else(|| panic!("{cmd} missing from:\n{out}"));
        assert!(line.contains(words), "{line}");
    }
}

#[test]
fn mrz_prints_exactly_the_two_lines() {
    let (code, out, err) = run(pstation()
        .arg("mrz")
        .arg(fixture("jobs/valid/santoso-budi.json")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<\nX1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02\n"
    );
    assert_eq!(err, "");
}

#[test]
fn mrz_ignores_the_portrait_and_reads_stdin() {
    let job = r#"{"schema":1,"job_id":"T-1","document":{"code":"P","issuing_state":"UTO",
        "number":"L898902C3","surname":"Eriksson","given_names":"Anna Maria","nationality":"UTO",
        "date_of_birth":"1974-08-12","sex":"F","place_of_birth":"ZENITH","date_of_issue":"2002-04-16",
        "date_of_expiry":"2012-04-15","authority":"PASSPORT OFFICE","personal_number":"ZE184226B"}}"#;
    let (code, out, err) = run(pstation().args(["mrz", "-"]).write_stdin(job));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\n"
    );
}

#[test]
fn mrz_uses_the_configured_filler_for_position_43() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("station.toml");
    let (_, default, _) = run(pstation().args(["config", "default"]));
    std::fs::write(
        &config,
        default.replace(
            "empty_personal_number_check = \"0\"",
            "empty_personal_number_check = \"<\"",
        ),
    )
    .expect("write config");
    let (code, out, err) = run(pstation()
        .arg("mrz")
        .arg(fixture("jobs/valid/santoso-budi.json"))
        .arg("--config")
        .arg(&config));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with("X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<<2\n"),
        "{out}"
    );
}

#[test]
fn mrz_notes_a_truncated_name_on_stderr() {
    let (code, out, err) = run(pstation()
        .arg("mrz")
        .arg(fixture("jobs/valid/prawirodirjo-long-name.json")));
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2);
    assert!(err.contains("name-truncated"), "{err}");
    assert!(
        !err.contains("PRAWIRODIRJO") && !err.contains("Prawirodirjo"),
        "no names in notes: {err}"
    );
}

#[test]
fn invalid_input_exits_2_with_one_line_per_problem_and_nothing_on_stdout() {
    let (code, out, err) = run(pstation()
        .arg("mrz")
        .arg(fixture("jobs/invalid/many-problems.json")));
    assert_eq!(code, 2);
    assert_eq!(out, "");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    for line in lines {
        let parts: Vec<&str> = line.splitn(3, ": ").collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert!(
            parts[1].chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{line}"
        );
    }
}

#[test]
fn unreadable_and_garbage_input_is_an_input_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("garbage.json");
    std::fs::write(&binary, [0xff, 0x00, 0x13, 0x37]).expect("write");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, b"").expect("write");
    for path in [
        binary,
        empty,
        dir.path().join("missing.json"),
        dir.path().to_path_buf(),
        fixture("jobs/invalid/not-json.json"),
        fixture("jobs/invalid/duplicate-key.json"),
    ] {
        for cmd in ["mrz", "validate"] {
            let (code, out, err) = run(pstation().arg(cmd).arg(&path));
            assert_eq!(code, 2, "{cmd} {path:?}: {err}");
            assert_eq!(out, "");
            assert!(!err.contains("panicked"), "{err}");
            assert!(err.lines().count() >= 1);
        }
    }
}

#[test]
fn mrz_check_exits_0_for_valid_lines_and_1_naming_each_failed_check() {
    let l1 = "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<";
    let (code, out, _) = run(pstation().args([
        "mrz",
        "--check",
        l1,
        "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02",
    ]));
    assert_eq!((code, out.as_str()), (0, "valid\n"));
    // Position 43 may also be the filler.
    let (code, _, _) = run(pstation().args([
        "mrz",
        "--check",
        l1,
        "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<<2",
    ]));
    assert_eq!(code, 0);
    // Birth date changed (1990 → 1991): its check digit and the composite fail.
    let (code, out, err) = run(pstation().args([
        "mrz",
        "--check",
        l1,
        "X1234567<7IDN9101011M3501014<<<<<<<<<<<<<<02",
    ]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.contains("line 2 position 20: check-digit-birth"),
        "{err}"
    );
    assert!(
        err.contains("line 2 position 44: check-digit-composite"),
        "{err}"
    );
    // One filler too few.
    let (code, _, err) = run(pstation().args([
        "mrz",
        "--check",
        &l1[1..],
        "X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02",
    ]));
    assert_eq!(code, 1);
    assert!(err.contains("line-length"), "{err}");
    // A letter in position 44 is valid but noted.
    let (code, _, err) = run(pstation().args([
        "mrz",
        "--check",
        "P<IDNPRAWIRODIRJO<<RADEN<MAS<BAGUS<WICAKSONO",
        "X1357924<8IDN8511308M3601154<<<<<<<<<<<<<<02",
    ]));
    assert_eq!(code, 0);
    assert!(err.contains("may have been truncated"), "{err}");
}

#[test]
fn mrz_usage_errors_exit_2() {
    let (code, out, _) = run(pstation().args(["mrz", "--check", "ONLYONE"]));
    assert_eq!((code, out.as_str()), (2, ""));
    let (code, _, _) = run(pstation().arg("mrz"));
    assert_eq!(code, 2);
}

#[test]
fn validate_accepts_valid_jobs_and_applies_the_policy_on_request() {
    let (code, out, err) = run(pstation()
        .arg("validate")
        .arg(fixture("jobs/valid/partini.json")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "valid: SMD-2026-000124 (ICAO)\n");

    let minor10 = fixture("jobs/policy/ten-years-for-a-minor.json");
    let (code, _, _) = run(pstation().arg("validate").arg(&minor10));
    assert_eq!(code, 0, "ICAO rules alone accept it");
    let (code, out, err) = run(pstation()
        .args(["validate", "--policy", "--today", "2026-11-27"])
        .arg(&minor10));
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(
        err.starts_with("document.date_of_expiry: policy-validity-minor: "),
        "{err}"
    );

    // The issue date is judged against "today".
    let budi = fixture("jobs/valid/santoso-budi.json");
    let (code, _, err) = run(pstation()
        .args(["validate", "--policy", "--today", "2024-12-31"])
        .arg(&budi));
    assert_eq!(code, 2);
    assert!(err.contains("policy-issue-in-future"), "{err}");
    let (code, out, _) = run(pstation()
        .args(["validate", "--policy", "--today", "2026-11-27"])
        .arg(&budi));
    assert_eq!(code, 0);
    assert_eq!(out, "valid: SMD-2026-000123 (ICAO and station policy)\n");
}

#[test]
fn validate_requires_a_portrait_but_mrz_does_not() {
    let text = std::fs::read_to_string(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let mut job: serde_json::Value = serde_json::from_str(&text).expect("json");
    job.as_object_mut().expect("object").remove("portrait");
    let bytes = serde_json::to_vec(&job).expect("json");
    let (code, _, err) = run(pstation()
        .args(["validate", "-"])
        .write_stdin(bytes.clone()));
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "portrait: required: a portrait is needed to print the data page\n"
    );
    let (code, _, _) = run(pstation().args(["mrz", "-"]).write_stdin(bytes));
    assert_eq!(code, 0);
}

#[test]
fn config_default_is_valid_and_bad_configs_report_every_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, default, _) = run(pstation().args(["config", "default"]));
    assert_eq!(code, 0);
    let good = dir.path().join("good.toml");
    std::fs::write(&good, &default).expect("write");
    let (code, _, err) = run(pstation().args(["config", "check"]).arg(&good));
    assert_eq!(code, 0, "{err}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        default
            .replace("adult_age = 17", "adult_age = 40")
            .replace("u_diaeresis = \"UE\"", "u_diaeresis = \"Y\""),
    )
    .expect("write");
    let (code, out, err) = run(pstation().args(["config", "check"]).arg(&bad));
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains("mrz.transliteration.u_diaeresis: config-value"),
        "{err}"
    );
    assert!(err.contains("policy.adult_age: config-value"), "{err}");

    let (code, _, err) = run(pstation()
        .args(["validate", "--config"])
        .arg(&bad)
        .arg(fixture("jobs/valid/partini.json")));
    assert_eq!(code, 2);
    assert!(err.contains("policy.adult_age"), "{err}");
}

#[test]
fn demo_runs_the_daemon_on_the_embedded_defaults_and_every_accepted_job_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = run(pstation()
        .args(["--log-level", "debug", "demo", "--today", "2026-11-27"])
        .current_dir(dir.path()));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("santoso-budi (SMD-2026-000123): ACCEPTED, queued"),
        "{out}"
    );
    assert!(
        out.contains("X1234567<7IDN9001011M3501014<<<<<<<<<<<<<<02"),
        "{out}"
    );
    assert!(
        out.contains("ten-years-for-a-minor: REFUSED (1 problems)"),
        "{out}"
    );
    assert!(out.contains("many-problems: REFUSED (5 problems)"), "{out}");
    // Every booklet's chip is checked before it prints, and every page read back by the
    // simulated document reader before handover.
    assert!(
        out.contains("SMD-2026-000123: chip checked, printed (confirmed by the printer), read back by the document reader: COMPLETED"),
        "{out}"
    );
    // The second booklet's chip is another person's: caught before anything prints, sent back
    // to the central office, whose new job prints on a fresh booklet.
    assert!(
        out.contains("SMD-2026-000124: the booklet's chip check FAILED (chip-access-denied): NOT printed, booklet X7654321 kept blank"),
        "{out}"
    );
    assert!(
        out.contains("      chip access    FAILED: chip-access-denied"),
        "{out}"
    );
    assert!(
        out.contains("SMD-2026-000124-R1: chip checked, printed on X1234500, read back by the document reader: COMPLETED"),
        "{out}"
    );
    // The third comes out smudged across its date of birth: caught, shown, spoiled, reissued.
    assert!(
        out.contains(
            "BPN-2026-000007: the document reader's read differs (unreadable): NOT handed over"
        ),
        "{out}"
    );
    assert!(
        out.contains("      read    X2468013<3IDN150310?F31020206471015003150034\n                                 ^\n"),
        "the differing position marked: {out}"
    );
    assert!(
        out.contains(
            "BPN-2026-000007: reprint requested (the document reader caught a smudged MRZ); the central office sent BPN-2026-000007-R1 on booklet X1234501"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "BPN-2026-000007-R1: chip checked, printed on X1234501, read back by the document reader: COMPLETED"
        ),
        "{out}"
    );
    assert!(
        out.contains("received 400 = issued 4 + spoiled 1 + in stock 395: balanced"),
        "{out}"
    );
    assert!(
        out.contains("4 accepted, 3 refused, 4 printed and completed."),
        "{out}"
    );
    // What the printer printed, and the station's data pages, are where the demo says.
    let log = std::fs::read_to_string(dir.path().join("pstation-demo/printer/jobs.jsonl"))
        .expect("the printer's job log");
    assert_eq!(
        log.lines().count(),
        5,
        "three jobs and two new jobs from the central office (the chip-refused job never printed): {log}"
    );
    for id in [
        "SMD-2026-000123",
        "SMD-2026-000124",
        "BPN-2026-000007",
        "JKT-2026-001001",
    ] {
        assert!(
            dir.path()
                .join(format!("pstation-demo/pages/{id}.pdf"))
                .exists()
        );
    }
    // What came out of the printer: never the chip-refused job, its replacement instead.
    for id in [
        "SMD-2026-000123",
        "SMD-2026-000124-R1",
        "BPN-2026-000007",
        "BPN-2026-000007-R1",
        "JKT-2026-001001",
    ] {
        assert!(
            dir.path()
                .join(format!("pstation-demo/printer/{id}-a1-page1.png"))
                .exists(),
            "{id}"
        );
    }
    assert!(
        !dir.path()
            .join("pstation-demo/printer/SMD-2026-000124-a1-page1.png")
            .exists()
    );
    // The daemon's log lines carry no personal data of the sample jobs.
    for personal in ["SANTOSO", "Santoso", "X1234567", "1990-01-01", "PARTINI"] {
        assert!(!err.contains(personal), "{personal} in the log: {err}");
    }
    // The station's data folder holds them only sealed (its key is beside it, not inside).
    let station = dir.path().join("pstation-demo/station");
    assert!(dir.path().join("pstation-demo/store.key").is_file());
    for entry in std::fs::read_dir(&station)
        .expect("station folder")
        .flatten()
    {
        if entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).expect("read");
            for personal in ["Santoso", "SANTOSO", "1990-01-01", "PARTINI", "Partini"] {
                assert!(
                    !bytes
                        .windows(personal.len())
                        .any(|w| w == personal.as_bytes()),
                    "{personal} in {:?}",
                    entry.path()
                );
            }
        }
    }
}

#[test]
fn json_logs_are_json_lines() {
    // At debug level the MRZ command logs its result (job id only, no personal data).
    let (code, out, err) = run(pstation()
        .args(["--log-format", "json", "--log-level", "debug", "mrz"])
        .arg(fixture("jobs/valid/santoso-budi.json")));
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2);
    assert!(err.lines().count() >= 1, "expected a debug event");
    for line in err.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(v.get("level").is_some(), "{line}");
    }
    assert!(
        !err.contains("SANTOSO") && !err.contains("X1234567"),
        "personal data logged: {err}"
    );
}

#[test]
fn config_check_reads_stdin_and_reports_every_problem_at_once() {
    // Issue 16 #3: the newcomer's file, with a misspelt key, a bad offset and a zero timeout.
    let (_, default, _) = run(pstation().args(["config", "default"]));
    let bad = default
        .replace("purge_after_days = 7", "purge_after_dayz = 7")
        .replace("utc_offset = \"+07:00\"", "utc_offset = \"WITA\"")
        .replace("session_idle_minutes = 15", "session_idle_minutes = 0");
    assert_ne!(bad, default);
    let (code, out, err) = run(pstation().args(["config", "check", "-"]).write_stdin(bad));
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    for want in [
        "daemon.purge_after_dayz: unknown-key: not a setting of [daemon]; did you mean purge_after_days?",
        "station.utc_offset: config-value: ",
        "api.session_idle_minutes: config-value: ",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "{want:?} in\n{err}"
        );
    }
    // The default itself is valid, read from standard input.
    let (code, out, err) = run(pstation()
        .args(["config", "check", "-"])
        .write_stdin(default));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "valid: (standard input)\n");
    // A syntax error: the line and column, then the line itself and a caret, each on its own.
    let (code, _, err) = run(pstation()
        .args(["config", "check", "-"])
        .write_stdin("[station]\nutc_offset = \"+07:00\"\nname = = 3\n"));
    assert_eq!(code, 2);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 3, "{err}");
    assert!(lines[0].contains("line 3, column"), "{err}");
    assert!(lines.iter().any(|l| l.ends_with("| name = = 3")), "{err}");
    assert!(lines.iter().any(|l| l.trim_end().ends_with('^')), "{err}");
    assert!(
        !err.contains(" | name = = 3 | "),
        "not squashed onto one line: {err}"
    );
}
