//! The API over TLS, end to end: a `pstation serve` process with `api.tls_listen`, certificates
//! made for the test by rcgen (a CA, the station's certificate for 127.0.0.1, a client
//! certificate from that CA and one from another CA), called with rustls clients — with and
//! without client certificates, with plain HTTP on the TLS port — and a key file that is not a
//! key.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::daemon::{doctor, start_serve, start_sim};
use crate::util::{fixture, pstation};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A certificate authority: its certificate (PEM) and what signs with it.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = p.self_signed(&key).expect("CA certificate");
    (cert.pem(), Issuer::new(p, key))
}

/// A leaf certificate and its key (PEM), for a server (`names` = its addresses) or a client.
fn leaf(
    issuer: &Issuer<'_, KeyPair>,
    name: &str,
    names: &[&str],
    client: bool,
) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    p.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    let cert = p.signed_by(&key, issuer).expect("certificate");
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// A rustls client trusting `ca`, presenting `client` (certificate, key) when given.
fn agent(ca: &str, client: Option<&(String, String)>) -> ureq::Agent {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
    let root = Certificate::from_pem(ca.as_bytes()).expect("CA PEM");
    let mut tls = TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(vec![root])));
    if let Some((cert, key)) = client {
        tls = tls.client_cert(Some(ClientCert::new_with_certs(
            &[Certificate::from_pem(cert.as_bytes()).expect("cert PEM")],
            PrivateKey::from_pem(key.as_bytes()).expect("key PEM"),
        )));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// GET over `agent`: the status, or the transport error.
fn status(agent: &ureq::Agent, url: &str, token: Option<&str>) -> Result<u16, String> {
    let mut req = agent.get(url);
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    req.call()
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

fn config(dir: &Path, name: &str, central_line: &str, tls: &[(&str, &Path)]) -> PathBuf {
    let mut text = crate::util::default_toml()
        .replace("require_signed_jobs = true", "require_signed_jobs = false")
        .replace("users = []", &format!("users = [{central_line}]"))
        .replace("tls_listen = \"\"", "tls_listen = \"127.0.0.1:0\"");
    for (key, path) in tls {
        text = text.replace(
            &format!("{key} = \"\""),
            &format!("{key} = \"{}\"", path.display()),
        );
    }
    assert!(text.contains("tls_listen = \"127.0.0.1:0\""));
    write(dir, name, &text)
}

fn tls_url(notes: &[String]) -> String {
    notes
        .iter()
        .find_map(|l| l.strip_prefix("listening-tls "))
        .unwrap_or_else(|| panic!("no TLS address in {notes:?}"))
        .to_owned()
}

#[test]
fn the_api_over_tls_wants_a_client_certificate_from_its_ca_and_tokens_still_decide() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (ca_pem, issuer) = ca("pstation test CA");
    let (other_ca_pem, other_issuer) = ca("someone else's CA");
    let (server_cert, server_key) = leaf(&issuer, "station", &["127.0.0.1"], false);
    let client = leaf(&issuer, "central office", &[], true);
    let stranger = leaf(&other_issuer, "stranger", &[], true);
    let ca_path = write(d, "ca.pem", &ca_pem);
    let cert_path = write(d, "station.pem", &server_cert);
    let key_path = write(d, "station.key", &server_key);
    let (token, central_line) = crate::util::new_token("central-office", "central");

    let pages = d.join("pages");
    let (_sim, device) = start_sim(&pages, &["--baud", "0"]);
    let cfg = config(
        d,
        "mtls.toml",
        &central_line,
        &[
            ("tls_cert", &cert_path),
            ("tls_key", &key_path),
            ("tls_client_ca", &ca_path),
        ],
    );
    let data = d.join("data");
    let (mut serve, base, notes) = start_serve(&data, &device, &cfg);
    let tls = tls_url(&notes);
    assert!(tls.starts_with("https://127.0.0.1:"), "{tls}");
    let health = format!("{tls}/api/health");

    // The central office with its certificate: served; tokens and roles apply as on HTTP.
    let office = agent(&ca_pem, Some(&client));
    assert_eq!(status(&office, &health, None), Ok(200));
    let jobs = format!("{tls}/api/jobs");
    assert_eq!(status(&office, &jobs, None), Ok(401));
    assert_eq!(status(&office, &jobs, Some(&token)), Ok(200));
    let body = std::fs::read(fixture("jobs/valid/santoso-budi.json")).expect("fixture");
    let resp = office
        .post(&jobs)
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(&body[..])
        .expect("submit over TLS");
    assert_eq!(resp.status().as_u16(), 201);

    // No certificate, one from another CA, plain HTTP on the TLS port: refused at the door.
    for (who, a) in [
        ("no certificate", agent(&ca_pem, None)),
        ("a stranger's certificate", agent(&ca_pem, Some(&stranger))),
    ] {
        assert!(status(&a, &health, None).is_err(), "{who} was let in");
    }
    let plain = tls.replacen("https://", "http://", 1);
    let plain_agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    assert!(status(&plain_agent, &format!("{plain}/api/health"), None).is_err());
    // A client that does not trust the station's CA refuses the station (the other CA's root).
    assert!(status(&agent(&other_ca_pem, Some(&client)), &health, None).is_err());
    // The station still serves, over TLS and on its loopback HTTP address.
    assert_eq!(status(&office, &health, None), Ok(200));
    assert_eq!(
        status(&plain_agent, &format!("{base}/api/health"), None),
        Ok(200)
    );

    let (cfg_s, data_s) = (cfg.display().to_string(), data.display().to_string());
    // Once the printer has warmed up, the station can print: exit 0 (bounded; a hang guard).
    let end = std::time::Instant::now() + Duration::from_secs(60);
    let text = loop {
        let (code, text) = doctor(&[
            "--config",
            &cfg_s,
            "--data-dir",
            &data_s,
            "--device",
            &device,
        ]);
        if code == Some(0) {
            break text;
        }
        assert!(std::time::Instant::now() < end, "{text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        text.contains("OK       tls: 127.0.0.1:0: certificate and key load; clients must present a certificate from api.tls_client_ca"),
        "{text}"
    );
    serve.0.kill().expect("kill");
    let _ = serve.0.wait();

    // Without a client CA: TLS alone, no client certificate asked for.
    let cfg = config(
        d,
        "tls.toml",
        &central_line,
        &[("tls_cert", &cert_path), ("tls_key", &key_path)],
    );
    let (_serve, _, notes) = start_serve(&data, &device, &cfg);
    let health = format!("{}/api/health", tls_url(&notes));
    assert_eq!(status(&agent(&ca_pem, None), &health, None), Ok(200));

    // A key file that holds no key: the daemon does not start and says which setting; doctor
    // calls it a problem.
    let cfg = config(
        d,
        "bad.toml",
        &central_line,
        &[("tls_cert", &cert_path), ("tls_key", &ca_path)],
    );
    let out = std::process::Command::new(pstation().get_program())
        .args(["serve", "--listen", "127.0.0.1:0", "--device", &device])
        .arg("--data-dir")
        .arg(d.join("data-bad"))
        .arg("--config")
        .arg(&cfg)
        .stdin(Stdio::null())
        .output()
        .expect("serve");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("tls-config: api.tls_key = "), "{err}");
    let cfg_s = cfg.display().to_string();
    let (code, text) = doctor(&[
        "--config",
        &cfg_s,
        "--data-dir",
        &data_s,
        "--device",
        &device,
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PROBLEM  tls: tls-config: api.tls_key = "),
        "{text}"
    );
}
