//! The configuration's tests: the embedded default, every bad value reported at once, unknown
//! keys with suggestions, syntax errors shown where they are.

use super::*;

#[test]
fn a_configuration_written_before_min_free_mb_still_loads_with_its_default() {
    let old = DEFAULT_TOML
        .lines()
        .filter(|l| !l.starts_with("min_free_mb"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(old.len(), DEFAULT_TOML.len());
    let s = Settings::from_toml(&old, "old.toml").expect("old config");
    assert_eq!(s.daemon.min_free_mb, 256);
    // So do the keys added with encryption at rest.
    let older = old
        .lines()
        .filter(|l| !l.starts_with("key_file") && !l.starts_with("purge_after_days"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(older.len(), old.len());
    let s = Settings::from_toml(&older, "older.toml").expect("older config");
    assert_eq!(
        s.daemon.key_file,
        std::path::Path::new("/etc/pstation/store.key")
    );
    assert_eq!(s.daemon.purge_after_days, 7);
    let d = Settings::default_settings().expect("default config");
    assert_eq!(
        d.daemon.min_free_mb, 256,
        "the embedded default says the same"
    );
}

#[test]
fn the_embedded_default_parses_and_validates() {
    let s = Settings::default_settings().expect("default config");
    assert_eq!(s.mrz, MrzOptions::ICAO_DEFAULT);
    assert_eq!(s.policy.issuing_state, "IDN");
    assert_eq!(s.utc_offset, UtcOffset::from_hms(7, 0, 0).expect("offset"));
}

#[test]
fn every_bad_value_is_reported_at_once() {
    let text = DEFAULT_TOML
        .replace("utc_offset = \"+07:00\"", "utc_offset = \"7\"")
        .replace("n_tilde = \"N\"", "n_tilde = \"Ñ\"")
        .replace("issuing_state = \"IDN\"", "issuing_state = \"ZZZ\"");
    let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
        panic!("expected invalid");
    };
    let paths: Vec<_> = p.0.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "station.utc_offset",
            "mrz.transliteration.n_tilde",
            "policy.issuing_state"
        ]
    );
}

#[test]
fn bad_users_keys_and_webhooks_are_each_named() {
    let hash = "ab".repeat(32);
    let good_key = crate::central::jws::public_key_b64(
        &ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key(),
    );
    let text = DEFAULT_TOML
        .replace(
            "users = []",
            &format!(
                "users = [{{ name = \"ani\", role = \"cashier\", token_sha256 = \"{hash}\" }}, \
                 {{ name = \"budi\", role = \"operator\", token_sha256 = \"the-token\" }}, \
                 {{ name = \"sari\", role = \"supervisor\", token_sha256 = \"{hash}\" }}, \
                 {{ name = \"sari\", role = \"operator\", token_sha256 = \"{hash}\" }}]"
            ),
        )
        .replace(
            "keys = []",
            &format!(
                "keys = [{{ kid = \"co 1\", public_key = \"{good_key}\" }}, \
                 {{ kid = \"co-2\", public_key = \"AAAA\" }}, \
                 {{ kid = \"co-3\", public_key = \"{good_key}\" }}, \
                 {{ kid = \"co-3\", public_key = \"{good_key}\" }}]"
            ),
        )
        .replace(
            "status_webhook = \"\"",
            "status_webhook = \"ftp://central\"",
        );
    let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
        panic!("expected invalid");
    };
    let paths: Vec<_> = p.0.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "central.status_webhook",
            "central.keys[0].kid",
            "central.keys[1].public_key",
            "central.keys[3].kid",
            "api.users[0].role",
            "api.users[1].token_sha256",
            "api.users[3].name",
        ]
    );
    let s = Settings::default_settings().expect("default");
    assert!(s.central.require_signed_jobs && s.api.require_tokens);
    assert!(s.central.keys.is_empty() && s.api.users.is_empty());
    assert!(!s.central.station_id.is_empty());
    assert!(s.central.nats.is_none());
}

#[test]
fn a_nats_url_is_checked_and_needs_a_station_id_that_is_one_subject_token() {
    let with = |url: &str, id: &str| {
        DEFAULT_TOML
            .replace("nats_url = \"\"", &format!("nats_url = \"{url}\""))
            .replace("station_id = \"\"", &format!("station_id = \"{id}\""))
    };
    let paths = |text: &str| match Settings::from_toml(text, "t") {
        Err(ConfigError::Invalid(p)) => p.0.iter().map(|p| p.path.clone()).collect(),
        Err(e) => panic!("{e}"),
        Ok(_) => Vec::new(),
    };
    assert_eq!(
        paths(&with("http://nats:4222", "mpp-01")),
        ["central.nats_url"]
    );
    assert_eq!(
        paths(&with("nats://nats:4222", "mpp.jakarta")),
        ["central.station_id"]
    );
    let s = Settings::from_toml(
        &with("tls://nats.central.example:4222", "mpp-01")
            .replace("nats_token = \"\"", "nats_token = \"t0k\""),
        "t",
    )
    .expect("valid");
    assert_eq!(
        s.central.nats,
        Some(crate::central::link::NatsSettings {
            url: "tls://nats.central.example:4222".into(),
            token: Some("t0k".into()),
        })
    );
}

#[test]
fn unknown_keys_are_reported_with_every_other_problem_and_a_suggestion() {
    // The newcomer's file of issue 16: a misspelt key, a bad offset and a zero timeout.
    let text = DEFAULT_TOML
        .replace("purge_after_days = 7", "purge_after_dayz = 7")
        .replace("utc_offset = \"+07:00\"", "utc_offset = \"WITA\"")
        .replace("session_idle_minutes = 15", "session_idle_minutes = 0")
        .replace("[policy]", "[policy]\nissuing_sate = \"IDN\"")
        .replace("[render]", "[rendering]\nx = 1\n\n[render]")
        .replace(
            "users = []",
            "users = [{ name = \"ani\", role = \"operator\", rol = \"x\", token_sha256 = \"\" }]",
        );
    let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
        panic!("expected invalid");
    };
    let lines: Vec<String> = p.0.iter().map(ToString::to_string).collect();
    let has = |want: &str| lines.iter().any(|l| l.contains(want));
    assert!(
        has(
            "daemon.purge_after_dayz: unknown-key: not a setting of [daemon]; did you mean purge_after_days?"
        ),
        "{lines:#?}"
    );
    assert!(
        has(
            "policy.issuing_sate: unknown-key: not a setting of [policy]; did you mean issuing_state?"
        ),
        "{lines:#?}"
    );
    assert!(
        has("rendering: unknown-key: not a section of the configuration; did you mean render?"),
        "{lines:#?}"
    );
    assert!(
        has("api.users[0].rol: unknown-key: not a setting of [api.users]; did you mean role?"),
        "{lines:#?}"
    );
    assert!(
        has("api.users[0].token_sha256: config-value:"),
        "{lines:#?}"
    );
    assert!(has("station.utc_offset: config-value:"), "{lines:#?}");
    assert!(has("api.session_idle_minutes: config-value:"), "{lines:#?}");
    // A key nobody could have meant lists the known ones instead.
    let text = DEFAULT_TOML.replace("[station]", "[station]\nbanana = 1");
    let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
        panic!("expected invalid");
    };
    assert_eq!(
        p.to_string(),
        "station.banana: unknown-key: not a setting of [station]; known: utc_offset"
    );
}

#[test]
fn a_value_of_the_wrong_type_or_a_missing_key_is_named_with_the_rest() {
    let text = DEFAULT_TOML
        .replace("max_store_mb = 4096", "max_store_mb = \"big\"")
        .replace("adult_age = 17\n", "")
        .replace("n_tilde = \"N\"", "n_tilde = \"Ñ\"");
    let Err(ConfigError::Invalid(p)) = Settings::from_toml(&text, "t") else {
        panic!("expected invalid");
    };
    let lines: Vec<String> = p.0.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with("policy.adult_age: missing-key:"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("daemon.max_store_mb: config-type:"),
        "{lines:#?}"
    );
    assert!(
        lines[2].starts_with("mrz.transliteration.n_tilde: config-value:"),
        "{lines:#?}"
    );
}

#[test]
fn a_syntax_error_shows_line_column_and_the_line_on_lines_of_their_own() {
    let text = "[station]\nutc_offset = +07:00\n";
    let err = Settings::from_toml(text, "station.toml").expect_err("syntax");
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(
        lines[0].starts_with("station.toml: config-syntax: line 2, column 14: "),
        "{shown}"
    );
    assert_eq!(lines[1], "  2 | utc_offset = +07:00");
    assert_eq!(lines[2], "    |              ^");
    assert!(
        !shown.contains(" | ") || !lines[0].contains(" | "),
        "{shown}"
    );
}
