//! Station benchmark (a bench binary, not criterion), for issue 5's figures:
//! 1. durable submits through the HTTP API (the fixture job with its portrait), 32 clients;
//! 2. the engine's dequeue (`Store::next_printable`) with 100 and with 10,000 jobs queued, and
//!    the daemon's resident memory with the 10,000-job backlog;
//! 3. the gap between one booklet's end and the next one's start at the printer, from the
//!    simulator's own job log, printing 200 jobs in a row with a 300 ms booklet time (the gap
//!    does not depend on it; a long run lets the store's log grow through its checkpoints);
//! 4. (issue 6) NATS intake: signed jobs waiting in the station's JetStream subject on a real
//!    `nats-server -js`, taken, verified, committed and acknowledged by a starting station.
//!
//! `cargo bench --bench station` runs the full sizes; under `cargo test` it runs tiny ones as a
//! smoke test.

use std::time::{Duration, Instant};

mod common;

use common::{job_with, settings};
use pstation::cli::daemon;
use pstation::client::{Client, Credentials, TIMEOUT};
use pstation::printer::DriverSettings;
use pstation::store::Store;
use pstation_sim::{no_control, serve};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    // RUST_LOG=pstation=debug shows the engine's step timings.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/jobs/valid/santoso-budi.json"
    ))
    .expect("fixture");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // `cargo bench --bench station -- submits` runs only the parts named.
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| named.is_empty() || named.iter().any(|n| n == part);
    if wanted("submits") {
        // Signed (the production path) and unsigned (a lab station), in the same run.
        submits(&runtime, &fixture, if full { 4_000 } else { 40 }, true);
        submits(&runtime, &fixture, if full { 4_000 } else { 40 }, false);
    }
    if wanted("dequeue") {
        dequeue(&fixture, if full { 10_000 } else { 200 });
    }
    if wanted("gap") {
        gap(&runtime, &fixture, if full { 200 } else { 2 });
    }
    if wanted("nats") {
        nats_intake(&runtime, &fixture, if full { 5_000 } else { 50 });
    }
    if wanted("seal") {
        seal(&fixture, if full { 20_000 } else { 100 });
    }
}

/// Sealing and opening a job's payload with the store key (encryption at rest), alone: the cost
/// each submission and each print adds.
fn seal(fixture: &[u8], n: usize) {
    let key = pstation::store::StoreKey::from_bytes([7; 32]);
    let t0 = std::time::Instant::now();
    let mut sealed = Vec::new();
    for i in 0..n {
        sealed = key.seal(&format!("J{i}"), fixture).expect("seal");
    }
    let seal_us = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t0 = std::time::Instant::now();
    for _ in 0..n {
        let plain = key.open(&format!("J{}", n - 1), &sealed).expect("open");
        assert_eq!(plain.len(), fixture.len());
    }
    let open_us = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!(
        "seal a {}-byte payload (ChaCha20-Poly1305, ring): {seal_us:.1} µs; open: {open_us:.1} µs ({n} each)",
        fixture.len()
    );
}

/// A `nats-server -js` on a free port with its store in `dir` (killed on drop).
struct NatsServer(std::process::Child, u16);

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nats_server(dir: &std::path::Path) -> NatsServer {
    let bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| "nats-server".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let child = std::process::Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nats-server (Debian package nats-server; scripts/test installs it)");
    let server = NatsServer(child, port);
    let end = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < end, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn nats_intake(runtime: &tokio::runtime::Runtime, fixture: &[u8], n: usize) {
    use async_nats::jetstream;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = nats_server(&dir.path().join("nats"));
    let url = format!("nats://127.0.0.1:{}", server.1);
    let key = pstation::central::jws::generate_key().expect("key");
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    // The central office publishes n signed jobs before the station starts.
    let bytes = runtime.block_on(async {
        let client = async_nats::connect(&url).await.expect("connect");
        let js = jetstream::new(client);
        js.get_or_create_stream(jetstream::stream::Config {
            name: pstation::station::nats::JOBS_STREAM.to_owned(),
            subjects: vec!["pstation.jobs.>".to_owned()],
            retention: jetstream::stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await
        .expect("stream");
        let mut acks = Vec::new();
        let mut bytes = 0;
        for i in 0..n {
            let id = format!("N-{i:06}");
            let job = job_with(fixture, &id, &format!("X{:07}", 3_000_000 + i));
            let body = pstation::central::jws::sign(&job, &key, "bench-1", exp);
            bytes = body.len();
            let mut h = async_nats::HeaderMap::new();
            h.insert("Nats-Msg-Id", id.as_str());
            acks.push(
                js.publish_with_headers(
                    pstation::station::nats::jobs_subject("bench"),
                    h,
                    body.into_bytes().into(),
                )
                .await
                .expect("publish"),
            );
        }
        for a in acks {
            a.await.expect("stored");
        }
        bytes
    });
    let mut s = settings(&dir.path().join("data"), "tcp://127.0.0.1:9", true);
    s.central.require_signed_jobs = true;
    s.central
        .keys
        .insert("bench-1", key.verifying_key())
        .expect("key");
    s.central.station_id = "bench".into();
    s.central.nats = Some(pstation::station::nats::NatsSettings {
        url: url.clone(),
        token: None,
    });
    let start = Instant::now();
    let running = runtime
        .block_on(daemon::start(s, DriverSettings::DEFAULT, None))
        .expect("start");
    let stored = |st: &std::sync::Arc<pstation::station::Station>| -> u64 {
        runtime
            .block_on(st.db(|s| s.job_counts()))
            .expect("counts")
            .iter()
            .map(|(_, c)| c)
            .sum()
    };
    while stored(&running.station) < n as u64 {
        assert!(start.elapsed() < Duration::from_secs(600), "intake stalled");
        std::thread::sleep(Duration::from_millis(5));
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "NATS intake: {n} signed jobs of {bytes} bytes (JWS, portrait included) waiting on pstation.jobs.bench, taken by a starting station (connect, consumer, verify, durable commit, ack) in {t:.2} s = {:.0} jobs/s",
        n as f64 / t
    );
    running.shutdown.cancel();
    runtime.block_on(async {
        let _ = running.engine.await;
        let _ = running.server.await;
        for t in running.background {
            let _ = t.await;
        }
    });
    drop(server);
}

fn submits(runtime: &tokio::runtime::Runtime, fixture: &[u8], n: usize, signed: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = pstation::central::jws::generate_key().expect("key");
    let mut s = settings(&dir.path().join("data"), "tcp://127.0.0.1:9", true);
    // The production path: signed jobs from a user with the central role.
    let token = pstation::central::auth::new_token().expect("token");
    if signed {
        s.central.require_signed_jobs = true;
        s.central
            .keys
            .insert("bench-1", key.verifying_key())
            .expect("key");
        s.api.require_tokens = true;
        s.api.users = vec![pstation::central::auth::User {
            name: "central-office".into(),
            role: pstation::central::auth::Role::Central,
            token_sha256: pstation::central::auth::hash_token(&token),
        }];
    }
    let who = Credentials::token(token.as_str());
    // No printer: only the API and the store are measured.
    let running = runtime
        .block_on(daemon::start(s, DriverSettings::DEFAULT, None))
        .expect("start");
    let url = format!("http://{}", running.addr);
    let clients = 32;
    // Signed by the "central office" before the clock starts: its cost is not the station's.
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let bodies: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let job = job_with(
                fixture,
                &format!("B-{i:06}"),
                &format!("X{:07}", 2_000_000 + i),
            );
            if signed {
                pstation::central::jws::sign(&job, &key, "bench-1", exp).into_bytes()
            } else {
                job
            }
        })
        .collect();
    let content_type = if signed {
        "application/jose"
    } else {
        "application/json"
    };
    let bytes = bodies[0].len();
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..clients {
            let (url, bodies, content_type, who) = (&url, &bodies, content_type, &who);
            s.spawn(move || {
                // One client per thread: it keeps its connection between requests.
                let client = Client::new(url, who.clone());
                for body in bodies.iter().skip(c).step_by(clients) {
                    let (status, answer) = client
                        .raw("POST", "/api/jobs", Some((&body[..], content_type)))
                        .expect("submit");
                    assert_eq!(status, 201, "{answer}");
                }
            });
        }
    });
    let t = start.elapsed().as_secs_f64();
    println!(
        "submits through the API, {}: {n} jobs of {bytes} bytes (portrait included) by {clients} clients in {t:.2} s = {:.0} jobs/s (durable: WAL, synchronous=FULL; concurrent submissions share one commit)",
        if signed {
            "signed (JWS EdDSA, verified) with a central token"
        } else {
            "unsigned, no tokens (lab)"
        },
        n as f64 / t
    );
    running.shutdown.cancel();
    runtime.block_on(async {
        let _ = running.engine.await;
        let _ = running.server.await;
    });
}

fn rss_kb_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn dequeue(fixture: &[u8], backlog: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    // The store key outside the data folder (the daemon below refuses one inside it).
    let key_dir = tempfile::tempdir().expect("tempdir");
    let key_file = key_dir.path().join("store.key");
    let key = pstation::store::StoreKey::generate(&key_file).expect("store key");
    let mut store = Store::open(&dir.path().join("station.db"), &key).expect("store");
    store
        .receive_batch(
            "X3000000",
            &format!("X{:07}", 3_000_000 + backlog - 1),
            "bench",
        )
        .expect("batch");
    let measure = |queued: usize, store: &mut Store| {
        let reps = 2_000;
        let start = Instant::now();
        for _ in 0..reps {
            let next = store.next_printable(false).expect("next");
            assert!(next.is_some());
        }
        let per = start.elapsed().as_secs_f64() / f64::from(reps) * 1e6;
        println!("dequeue (next_printable) with {queued} jobs queued: {per:.1} µs");
    };
    for i in 0..backlog {
        let id = format!("Q-{i:06}");
        let body = job_with(fixture, &id, &format!("X{:07}", 3_000_000 + i));
        store
            .submit(&id, &body, &format!("X{:07}", 3_000_000 + i), "bench")
            .expect("submit");
        if i + 1 == 100 {
            measure(100, &mut store);
        }
    }
    measure(backlog, &mut store);
    drop(store);
    // The daemon itself (the release binary) on that store: its resident memory once serving,
    // with a technician's token to list the backlog.
    let token = pstation::central::auth::new_token().expect("token");
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        pstation::config::DEFAULT_TOML
            .replace(
                "users = []",
                &format!(
                    "users = [{{ name = \"bench\", role = \"technician\", token_sha256 = \"{}\" }}]",
                    pstation::central::auth::hex(&pstation::central::auth::hash_token(&token))
                ),
            )
            .replace(
                "key_file = \"/etc/pstation/store.key\"",
                &format!("key_file = {:?}", key_file.display().to_string()),
            ),
    )
    .expect("config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pstation"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--device",
            "tcp://127.0.0.1:9",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("listening");
    let url = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or("")
        .to_owned();
    // List the whole backlog once through the API, then read the daemon's memory.
    let listed = Client::new(&url, Credentials::token(token.as_str()))
        .send("GET", "/api/jobs?state=queued", None, Some(TIMEOUT))
        .expect("list")
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .expect("body")
        .len();
    std::thread::sleep(Duration::from_millis(500));
    let rss = rss_kb_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "daemon resident memory with a {backlog}-job backlog (after listing it, {listed} bytes): {rss} KB"
    );
}

fn gap(runtime: &tokio::runtime::Runtime, fixture: &[u8], jobs: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    // The printer writes no PNGs here: only the protocol path is timed, by the printer's clock.
    let (addr, printer, _sim) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let printer = common::simulated_printer(300, 1_000, 0);
        let p = printer.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let _ = sock.set_nodelay(true);
                let p = p.clone();
                tokio::spawn(async move { serve(p, sock, no_control()).await });
            }
        });
        (addr, printer, task)
    });
    let mut records = printer.subscribe_records();
    let running = runtime
        .block_on(daemon::start(
            settings(&dir.path().join("data"), &format!("tcp://{addr}"), false),
            DriverSettings::DEFAULT,
            None,
        ))
        .expect("start");
    let station = running.station.clone();
    let recs = runtime.block_on(async {
        station
            .receive_batch("X4000000".into(), "X4000999".into(), "bench")
            .await
            .expect("batch");
        for i in 0..jobs {
            let body = job_with(
                fixture,
                &format!("G-{i:06}"),
                &format!("X{:07}", 4_000_000 + i),
            );
            station
                .submit(pstation::station::Submission::Unsigned(body), "bench")
                .await
                .expect("submit");
        }
        let mut recs = Vec::new();
        while recs.len() < jobs {
            let r = tokio::time::timeout(Duration::from_secs(60), records.recv())
                .await
                .expect("the printer finishes every job")
                .expect("record");
            recs.push(r);
        }
        recs
    });
    assert!(
        recs.iter().all(|r| r.result == Some("OK")),
        "every job printed"
    );
    let gaps: Vec<u64> = recs
        .windows(2)
        .map(|w| w[1].started_ms.saturating_sub(w[0].ended_ms))
        .collect();
    let mut sorted = gaps.clone();
    sorted.sort_unstable();
    let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    let over: Vec<(usize, u64)> = gaps
        .iter()
        .enumerate()
        .filter(|(_, g)| **g > 50)
        .map(|(i, g)| (i + 1, *g))
        .collect();
    println!(
        "gap between one booklet's END and the next job's JOB at the printer (300 ms booklets, {jobs} jobs in a row, printer clock): {} gaps, median {} ms, p95 {} ms, worst {} ms; over 50 ms: {} {over:?}",
        gaps.len(),
        at(0.5),
        at(0.95),
        at(1.0),
        over.len()
    );
    running.shutdown.cancel();
    runtime.block_on(async {
        let _ = running.engine.await;
        let _ = running.server.await;
    });
}
