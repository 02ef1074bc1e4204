//! The device's change on the operator's screen (issue 21, a bench binary): a simulated printer
//! on a real pseudo-terminal paced at 115,200 baud, the daemon driving it over `serial://`, and
//! the console open in a real headless Chromium (chromedriver). The cover is opened and closed
//! at the simulator; each change is timed from the simulator's clock (the wall clock read as
//! the change is applied) to the browser's (`performance.timeOrigin + performance.now()` in a
//! `MutationObserver` on the console's printer badge): same machine, same clock. Then the
//! bytes on the line while the printer sits idle for a minute, from the daemon's link counters.
//!
//! `cargo bench --bench console` runs the full size (60 changes); under `cargo test` it runs
//! two changes and a short idle window as a smoke test. Needs Debian's `chromium` and
//! `chromium-driver` (scripts/test installs them).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::settings;
use pstation::cli::daemon;
use pstation::printer::DriverSettings;
use pstation_pjl::sim::Fault;
use pstation_sim::{Control, serve_pty};
use serde_json::{Value, json};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (changes, idle) = if full {
        (60, Duration::from_secs(60))
    } else {
        (2, Duration::from_secs(3))
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("printer");
    let printer = common::simulated_printer(1_000, 100, 115_200);
    let (ready_tx, mut ready) = tokio::sync::mpsc::channel(4);
    let p = printer.clone();
    let l = link.clone();
    runtime.spawn(async move { serve_pty(p, Some(l), ready_tx).await });
    runtime.block_on(ready.recv()).expect("a PTY");
    let device = format!("serial://{}?baud=115200", link.display());
    let running = runtime
        .block_on(daemon::start(
            settings(&dir.path().join("data"), &device, true),
            DriverSettings::DEFAULT,
            None,
        ))
        .expect("start");
    let base = format!("http://{}", running.addr);
    let browser = Browser::start();
    browser.go(&format!("{base}/console/"));
    browser.until("the console shows the printer idle", |b| {
        b.js(
            "return document.querySelector('#printer-state')?.dataset.state || '';",
            json!([]),
        ) == json!("idle")
    });
    // Every change of the printer badge, with the browser's clock in epoch milliseconds.
    browser.js(
        "window.__changes = [];
         const badge = document.querySelector('#printer-state');
         new MutationObserver(() => window.__changes.push(
             {state: badge.dataset.state, at: performance.timeOrigin + performance.now()}))
           .observe(badge, {attributes: true, attributeFilter: ['data-state']});",
        json!([]),
    );
    let mut latencies = Vec::new();
    for i in 0..changes {
        let (control, want) = if i % 2 == 0 {
            (Control::Fault(Fault::CoverOpen), "stopped")
        } else {
            (Control::Clear, "idle")
        };
        // Changes fall anywhere in the daemon's cycle: a varying pause before each.
        std::thread::sleep(Duration::from_millis(150 + (i as u64 * 137) % 700));
        let seen_before = browser.changes().len();
        let at_sim = epoch_ms();
        runtime.block_on(printer.control(&control));
        let at_browser = browser.until_change(seen_before, want);
        latencies.push(at_browser - at_sim);
    }
    let (read0, written0) = link_bytes(&base);
    let t0 = Instant::now();
    std::thread::sleep(idle);
    let (read1, written1) = link_bytes(&base);
    let minutes = t0.elapsed().as_secs_f64() / 60.0;
    println!(
        "printer change → console, simulator clock to browser clock, {changes} changes (cover opened, closed) over a 115,200-baud PTY: {}",
        stats(&latencies)
    );
    println!("  every change (ms): {:?}", rounded(&latencies));
    println!(
        "line traffic with the printer idle: {:.0} bytes/min to the printer, {:.0} bytes/min from it ({:.0} s window)",
        (written1 - written0) / minutes,
        (read1 - read0) / minutes,
        minutes * 60.0
    );
    running.shutdown.cancel();
    runtime.block_on(async {
        let _ = running.engine.await;
        let _ = running.server.await;
    });
    drop(browser);
    runtime.shutdown_background();
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn stats(v: &[f64]) -> String {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "median {:.0} ms, p95 {:.0} ms, worst {:.0} ms, best {:.0} ms",
        at(0.5),
        at(0.95),
        at(1.0),
        at(0.0)
    )
}

fn rounded(v: &[f64]) -> Vec<i64> {
    v.iter().map(|x| x.round() as i64).collect()
}

/// The daemon's printer-link byte counters (read, written), from its metrics.
fn link_bytes(base: &str) -> (f64, f64) {
    let text = ureq::get(&format!("{base}/metrics"))
        .call()
        .expect("metrics")
        .body_mut()
        .read_to_string()
        .expect("text");
    let value = |direction: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("pstation_link_bytes_total")
                    && l.contains(&format!("direction=\"{direction}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (value("read"), value("written"))
}

/// A W3C WebDriver session in Debian's chromedriver and headless Chromium (the calls this
/// bench needs; the console tests have the fuller client).
struct Browser {
    base: String,
    session: String,
    agent: ureq::Agent,
    driver: std::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; scripts/test installs it)");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let end = Instant::now() + Duration::from_secs(30);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < end, "chromedriver did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("profile");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1366,768",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let v = send(&agent, "POST", &format!("{base}/session"), Some(caps));
        let session = v["sessionId"].as_str().expect("a session").to_owned();
        Self {
            base,
            session,
            agent,
            driver,
            _profile: profile,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        send(&self.agent, method, &url, body)
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    fn until(&self, what: &str, ok: impl Fn(&Self) -> bool) {
        let end = Instant::now() + Duration::from_secs(30);
        while !ok(self) {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn changes(&self) -> Vec<Value> {
        self.js("return window.__changes;", json!([]))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The browser's time of the first badge change to `want` after the first `skip` changes.
    fn until_change(&self, skip: usize, want: &str) -> f64 {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(c) = self
                .changes()
                .iter()
                .skip(skip)
                .find(|c| c["state"] == want)
            {
                return c["at"].as_f64().expect("a time");
            }
            assert!(
                Instant::now() < end,
                "the console never showed the printer {want}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn send(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Value {
    let resp = match method {
        "GET" => agent.get(url).call(),
        "DELETE" => agent.delete(url).call(),
        _ => agent.post(url).send_json(body.unwrap_or_else(|| json!({}))),
    };
    let mut resp = resp.expect("chromedriver answers");
    let status = resp.status().as_u16();
    let v: Value = resp.body_mut().read_json().expect("WebDriver JSON");
    assert!(status < 300, "{method} {url}: {status} {v}");
    v["value"].clone()
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = send(
            &self.agent,
            "DELETE",
            &format!("{}/session/{}", self.base, self.session),
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
