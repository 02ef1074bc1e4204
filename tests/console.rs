//! The console in a real headless Chromium (Debian's `chromium` + `chromium-driver`), driven
//! over the W3C WebDriver protocol, against a real `pstation serve` and `pstation sim`: an
//! operator logs in, receives booklets, confirms a booklet and watches the job print and
//! complete; a cover-open fault appears with what to do and clears; a spoiled booklet is
//! reprinted with a supervisor's approval; a technician can look but not act (in the page and
//! at the API); logout ends the session. Screenshots are written to `docs/` when
//! `PSTATION_SCREENSHOTS=1`.
//!
//! The WebDriver client is the few JSON calls below over `ureq` (chromedriver listens on the
//! loopback): a WebDriver crate would bring a second HTTP and TLS stack for the same calls.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::daemon::{Proc, control, start_serve, start_sim, until};
use crate::util::new_token;

/// A W3C WebDriver session in chromedriver.
pub(crate) struct Browser {
    base: String,
    session: String,
    agent: ureq::Agent,
    _driver: Proc,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    pub(crate) fn start() -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let driver = Proc(
            std::process::Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver (Debian package chromium-driver; scripts/test installs it)"),
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        until("chromedriver answers", || {
            agent.get(&format!("{base}/status")).call().is_ok()
        });
        let profile = tempfile::tempdir().expect("profile");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1366,768",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let v = Self::send(&agent, "POST", &format!("{base}/session"), Some(caps));
        let session = v["sessionId"].as_str().expect("a session").to_owned();
        Self {
            base,
            session,
            agent,
            _driver: driver,
            _profile: profile,
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

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        Self::send(
            &self.agent,
            method,
            &format!("{}/session/{}{path}", self.base, self.session),
            body,
        )
    }

    pub(crate) fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page; its return value.
    pub(crate) fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// An async script: the last argument is the callback to call with the result.
    fn js_async(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": []})),
        )
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().expect("an element").to_owned()
    }

    pub(crate) fn exists(&self, css: &str) -> bool {
        self.js(
            "const e = document.querySelector(arguments[0]); return !!e && !e.closest('[hidden]');",
            json!([css]),
        ) == json!(true)
    }

    pub(crate) fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/click"), None);
    }

    /// Types `text` into the element, as a keyboard (or a barcode scanner) would.
    pub(crate) fn type_in(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Presses `keys` on the keyboard, one after the other, into whatever has the focus.
    fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
    }

    /// Presses Tab until the focus is on an element matching `css` (at most 60 times).
    fn tab_to(&self, css: &str) {
        for _ in 0..60 {
            if self.js(
                "return !!document.activeElement && document.activeElement.matches(arguments[0]);",
                json!([css]),
            ) == json!(true)
            {
                return;
            }
            self.press("\u{E004}");
        }
        panic!("Tab never reached {css}");
    }

    pub(crate) fn text(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
            json!([css]),
        )
        .as_str()
        .unwrap_or("")
        .to_owned()
    }

    pub(crate) fn wait_text(&self, what: &str, css: &str, want: &str) {
        until(what, || self.text(css).contains(want));
    }

    fn screenshot(&self, name: &str) {
        if std::env::var_os("PSTATION_SCREENSHOTS").is_none() {
            return;
        }
        use base64::Engine;
        let png = self.call("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64"))
            .expect("png");
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/console-{name}.png"));
        std::fs::write(&path, bytes).expect("screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
    }
}

impl Browser {
    /// The browser console's SEVERE entries since the last call (the red lines of the
    /// developer tools: failed loads, uncaught errors), read through chromedriver's log API.
    fn severe(&self) -> Vec<String> {
        self.call("POST", "/se/log", Some(json!({"type": "browser"})))
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every screen the user's menu offers, and `job`'s: each drawn, with no program notation
    /// or missing value (`null`, `undefined`, `NaN`, `[object Object]`) shown to the person.
    fn tour(&self, base: &str, job: &str, who: &str) {
        for hash in [
            "#/queue".to_owned(),
            format!("#/job/{job}"),
            "#/booklets".to_owned(),
            "#/technician".to_owned(),
        ] {
            self.js(
                "document.querySelector('#view').replaceChildren();",
                json!([]),
            );
            self.go(&format!("{base}/console/{hash}"));
            until(&format!("{who}: {hash} drawn"), || self.exists("#view h1"));
            // The job screen draws its preview and MRZ after the rest: let them arrive.
            std::thread::sleep(Duration::from_millis(300));
            let text = self.text("body");
            for bad in ["null", "undefined", "NaN", "[object Object]"] {
                assert!(
                    !text.contains(bad),
                    "{who} {hash}: {bad:?} shown in\n{text}"
                );
            }
        }
    }
}

/// A `fetch` from inside the page (its session cookie, the console's header): the status.
fn page_fetch(b: &Browser, method: &str, path: &str, body: &str) -> i64 {
    b.js_async(&format!(
        "const done = arguments[arguments.length - 1];
         fetch({path:?}, {{method: {method:?}, credentials: 'same-origin',
           headers: {{'content-type': 'application/json', 'x-pstation-console': '1'}},
           body: {method:?} === 'GET' ? undefined : {body:?}}})
           .then(r => done(r.status), e => done(-1));"
    ))
    .as_i64()
    .unwrap_or(-1)
}

/// A request to the station as `token`'s owner, through the library's client.
fn api(method: &str, url: &str, token: &str, body: Value) -> (u16, Value) {
    let (base, path) = crate::util::split_url(url);
    let bytes = serde_json::to_vec(&body).expect("json");
    let body = (method != "GET").then_some((bytes.as_slice(), "application/json"));
    crate::util::client(base, Some(token))
        .raw(method, path, body)
        .expect("the daemon answers")
}

fn job(id: &str, number: &str) -> Vec<u8> {
    std::fs::read_to_string(crate::util::fixture("jobs/valid/santoso-budi.json"))
        .expect("fixture")
        .replace("SMD-2026-000123", id)
        .replace("X1234567", number)
        .into_bytes()
}

pub(crate) fn login(b: &Browser, token: &str) {
    until("the login form", || b.exists("#login-token"));
    b.type_in("#login-token", &format!("{token}\u{E007}"));
    until("logged in", || b.exists("#nav"));
}

#[test]
fn an_operator_prints_and_completes_a_job_sees_a_fault_and_reprints_with_a_supervisor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = dir.path().join("pages");
    let (mut sim, device) = start_sim(&pages, &["--page-ms", "1500"]);
    let (central, l1) = new_token("central-office", "central");
    let (operator, l2) = new_token("ani", "operator");
    let (supervisor, l3) = new_token("budi", "supervisor");
    let (technician, l4) = new_token("teknisi", "technician");
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        crate::util::default_toml()
            .replace("require_signed_jobs = true", "require_signed_jobs = false")
            .replace("users = []", &format!("users = [{l1}, {l2}, {l3}, {l4}]"))
            .replace("utc_offset = \"+07:00\"", "utc_offset = \"+08:00\""),
    )
    .expect("config");
    let (_serve, base, _) = start_serve(&dir.path().join("data"), &device, &config);
    let b = Browser::start();

    // The console opens on its login; first paint measured by the browser.
    b.go(&format!("{base}/"));
    until("the login form", || b.exists("#login-token"));
    // A first visit leaves no red line in the developer tools: "am I logged in?" is answered
    // 200 with no user, and the icon is served (issue 16 #15).
    assert_eq!(page_fetch(&b, "GET", "/api/session", ""), 200);
    let icon = b.js_async(
        "const done = arguments[arguments.length - 1];
         fetch('/favicon.ico').then(r => done([r.status, r.headers.get('content-type')]), e => done(null));",
    );
    assert_eq!(icon, json!([200, "image/svg+xml"]));
    let severe = b.severe();
    assert!(
        severe.is_empty(),
        "the first visit logged errors: {severe:?}"
    );
    let paint = b.js(
        "const p = performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : null;",
        json!([]),
    );
    println!("console first contentful paint: {paint} ms");
    // A wrong token is refused in words.
    b.type_in("#login-token", "not-a-token\u{E007}");
    b.wait_text("the refusal", "#login-error", "Token tidak dikenal");
    b.screenshot("login");
    login(&b, &operator);
    assert!(b.text("#who").contains("ani (operator)"));

    // Booklets received at the counter.
    b.go(&format!("{base}/console/#/booklets"));
    until("the booklets page", || b.exists("#batch-first"));
    b.type_in("#batch-first", "X1234560");
    b.type_in("#batch-last", "X1234569\u{E007}");
    until("ten in stock", || {
        b.text(".cards").contains("Stok\n10") || b.text(".cards").contains("Stok 10")
    });
    assert!(b.text("#balance").contains("Seimbang"));

    // A job arrives from the central office; the queue shows it, found by passport number.
    let (s, v) = api(
        "POST",
        &format!("{base}/api/jobs"),
        &central,
        serde_json::from_slice(&job("CON-1", "X1234561")).expect("json"),
    );
    assert_eq!(s, 201, "{v}");
    b.go(&format!("{base}/console/#/queue"));
    until("the job in the queue", || {
        b.exists("tr[data-job=\"CON-1\"]")
    });
    b.type_in("#search", "x1234561");
    assert!(b.exists("tr[data-job=\"CON-1\"]"));
    b.screenshot("queue");
    b.click("tr[data-job=\"CON-1\"] a");
    until("the job's page", || b.exists("#confirm-number"));
    // The preview and the MRZ (each view is in the job's history).
    until("the preview", || {
        b.js(
            "const i = document.querySelector('img.preview'); return !!i && i.complete && i.naturalWidth > 0;",
            json!([]),
        ) == json!(true)
    });
    until("the MRZ", || b.text("pre.mrz").lines().count() == 2);
    let mrz = b.text("pre.mrz");
    assert!(mrz.lines().all(|l| l.len() == 44), "{mrz}");
    // Times are the station's (utc_offset +08:00) with the zone, whatever the browser's zone
    // is; the API keeps UTC (issue 16 #14).
    let (_, shown) = api(
        "GET",
        &format!("{base}/api/jobs/CON-1"),
        &operator,
        json!({}),
    );
    let received = shown["job"]["received_at"].as_str().expect("received_at");
    assert!(received.ends_with('Z'), "{received}");
    let wita = time::UtcOffset::from_hms(8, 0, 0).expect("offset");
    let first_event = pstation::clock::local(shown["events"][0]["at"].as_str().expect("at"), wita);
    assert!(first_event.ends_with(" WITA"), "{first_event}");
    assert!(
        b.text("#view").contains(&first_event),
        "{first_event} on the job screen"
    );
    assert!(mrz.starts_with("P<IDNSANTOSO<<BUDI"), "{mrz}");
    // The operator scans the loaded booklet (the scanner types the number and Enter).
    b.type_in("#confirm-number", "X1234561\u{E007}");
    // It prints and the page follows by itself (server-sent events), then the operator checks.
    until("printing shown", || {
        b.exists("[data-job=\"CON-1\"] .badge[data-state=\"printing\"]")
            || b.exists("[data-job=\"CON-1\"] .badge[data-state=\"printed\"]")
    });
    b.screenshot("job-printing");
    until("printed shown", || b.exists("#act-verify"));
    b.click("#act-verify");
    until("completed shown", || {
        b.exists("[data-job=\"CON-1\"] .badge[data-state=\"completed\"]")
    });
    let (_, shown) = api(
        "GET",
        &format!("{base}/api/jobs/CON-1"),
        &operator,
        json!({}),
    );
    let actions: Vec<&str> = shown["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert!(
        actions.contains(&"view-page") && actions.contains(&"view-mrz"),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"confirm-booklet") && actions.contains(&"verify"),
        "{actions:?}"
    );
    b.severe(); // (the wrong token's 401 above is a real refusal)
    b.tour(&base, "CON-1", "operator");
    assert!(
        b.severe().is_empty(),
        "the operator's screens logged errors"
    );

    // The printer's cover opens: the panel says what to do in both languages, live; the moment
    // it appears is compared with the daemon's own record of the change.
    b.js(
        "window.__seen = null; new MutationObserver(() => {
           if (document.querySelector('#printer-advice li[data-reason=\"cover-open-error\"]') && !window.__seen)
             window.__seen = Date.now();
         }).observe(document.querySelector('#printer-advice'), {childList: true, subtree: true});",
        json!([]),
    );
    control(&mut sim, "cover-open");
    b.wait_text(
        "the cover advice",
        "#printer-advice",
        "Tutup penutup printer / Close the printer cover",
    );
    b.screenshot("printer-fault");
    let seen = b
        .js("return window.__seen;", json!([]))
        .as_i64()
        .expect("seen");
    let (_, p) = api("GET", &format!("{base}/api/printer"), &operator, json!({}));
    let recorded = p["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|h| h["reasons"].as_str().unwrap_or("").contains("cover-open"))
        .and_then(|h| h["at"].as_str())
        .map(|at| {
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                .expect("time")
        })
        .expect("the daemon recorded the cover");
    let latency = seen - (recorded.unix_timestamp_nanos() / 1_000_000) as i64;
    println!("status change to screen: {latency} ms after the daemon recorded it");
    control(&mut sim, "clear");
    until("the fault clears", || {
        b.text("#printer-advice").is_empty() && b.exists("#printer-state[data-state=\"idle\"]")
    });

    // A second job is spoiled; its reprint needs a supervisor's token, not the operator's own.
    let (s, _) = api(
        "POST",
        &format!("{base}/api/jobs"),
        &central,
        serde_json::from_slice(&job("CON-2", "X1234562")).expect("json"),
    );
    assert_eq!(s, 201);
    b.go(&format!("{base}/console/#/job/CON-2"));
    until("the second job", || b.exists("#confirm-number"));
    b.type_in("#confirm-number", "X1234562\u{E007}");
    until("printed", || b.exists("#act-spoil"));
    b.click("#act-spoil");
    until("the reason asked", || b.exists("#ask-reason"));
    b.type_in("#ask-reason", "ribbon smudge\u{E007}");
    until("spoiled", || b.exists("#act-reprint"));
    b.click("#act-reprint");
    until("the reprint asked", || b.exists("#ask-supervisor"));
    b.type_in("#ask-booklet", "X1234563");
    b.type_in("#ask-reason", "smudged");
    b.type_in("#ask-supervisor", &format!("{operator}\u{E007}"));
    b.wait_text(
        "the second person refused",
        "#action-error",
        "second-person-required",
    );
    b.click("#act-reprint");
    until("the reprint asked again", || b.exists("#ask-supervisor"));
    b.type_in("#ask-booklet", "X1234563");
    b.type_in("#ask-reason", "smudged");
    b.type_in("#ask-supervisor", &format!("{supervisor}\u{E007}"));
    until("queued again on the new booklet", || {
        b.exists("[data-job=\"CON-2\"] .badge[data-state=\"queued\"]")
            && b.text("[data-job=\"CON-2\"]").contains("X1234563")
    });
    let (_, shown) = api(
        "GET",
        &format!("{base}/api/jobs/CON-2"),
        &operator,
        json!({}),
    );
    let reprint = shown["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "reprint")
        .cloned()
        .expect("a reprint event");
    assert_eq!(reprint["actor"], "ani");
    assert!(
        reprint["reason"].as_str().unwrap_or("").contains("budi"),
        "{reprint}"
    );
    until("the new booklet's preview", || {
        b.js(
            "const i = document.querySelector('img.preview'); return !!i && i.complete && i.naturalWidth > 0;",
            json!([]),
        ) == json!(true)
            && b.text("pre.mrz").contains("X1234563")
    });
    b.screenshot("job-detail");
    // Live updates redraw the page, not the preview: one recorded view per job and booklet.
    let views = |id: &str| {
        let (_, shown) = api(
            "GET",
            &format!("{base}/api/jobs/{id}"),
            &operator,
            json!({}),
        );
        shown["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["action"] == "view-page")
            .count()
    };
    assert_eq!(views("CON-1"), 1);
    assert_eq!(views("CON-2"), 2, "the first booklet and the reprint's");

    // English, and the booklets reconcile.
    b.click("#lang");
    b.go(&format!("{base}/console/#/booklets"));
    until("the booklets in English", || {
        b.text("#balance").contains("Balanced")
    });
    assert!(b.text("#nav").contains("Queue"));
    assert!(b.text("#spoiled").contains("X1234562"));
    b.screenshot("booklets");

    // By keyboard alone: Tab to the job in the queue, Enter opens it, the booklet's number and
    // Enter confirm it, Tab to "Printed correctly" and Enter completes it.
    let (s, _) = api(
        "POST",
        &format!("{base}/api/jobs"),
        &central,
        serde_json::from_slice(&job("CON-3", "X1234564")).expect("json"),
    );
    assert_eq!(s, 201);
    b.go(&format!("{base}/console/#/queue"));
    // The search typed earlier is still in the box (kept while the console is open): cleared.
    until("the queue", || b.exists("#search"));
    b.js(
        "const s = document.querySelector('#search'); s.value = ''; s.dispatchEvent(new Event('input'));",
        json!([]),
    );
    until("the third job listed", || {
        b.exists("tr[data-job=\"CON-3\"]")
    });
    b.tab_to("tr[data-job=\"CON-3\"]");
    b.press("\u{E007}");
    until("its page, the number field focused", || {
        b.js(
            "return document.activeElement && document.activeElement.id;",
            json!([]),
        ) == json!("confirm-number")
    });
    b.press("X1234564\u{E007}");
    until("printed, by keyboard", || b.exists("#act-verify"));
    b.tab_to("#act-verify");
    b.press("\u{E007}");
    until("completed, by keyboard", || {
        b.exists("[data-job=\"CON-3\"] .badge[data-state=\"completed\"]")
    });

    // Logout ends the session: the cookie no longer opens anything.
    b.click("#logout");
    until("the login form again", || b.exists("#login-token"));
    assert_eq!(page_fetch(&b, "GET", "/api/jobs", ""), 401);
    let asked = b.js_async(
        "const done = arguments[arguments.length - 1];
         fetch('/api/session').then(r => r.json()).then(v => done(v.user), e => done('failed'));",
    );
    assert_eq!(asked, Value::Null, "nobody logged in: user null");

    // A technician sees the printer and the jobs, and may not act: no buttons, and the API
    // refuses the same request made with their session.
    login(&b, &technician);
    b.severe();
    b.tour(&base, "CON-2", "technician");
    assert!(
        b.severe().is_empty(),
        "the technician's screens logged errors"
    );
    // A passport number is personal: masked for the technician (issue 16 #16).
    b.go(&format!("{base}/console/#/queue"));
    until("the queue for the technician", || {
        b.exists("tr[data-job=\"CON-2\"]")
    });
    let row = b.text("tr[data-job=\"CON-2\"]");
    assert!(
        row.contains("X12•••63") && !row.contains("X1234563"),
        "{row}"
    );
    b.go(&format!("{base}/console/#/job/CON-2"));
    until("the job for the technician", || {
        b.exists("[data-job=\"CON-2\"]")
    });
    assert!(!b.exists("#act-hold") && !b.exists("#act-cancel") && !b.exists("#confirm-number"));
    assert!(
        !b.exists("img.preview"),
        "no personal data for the technician"
    );
    assert_eq!(
        page_fetch(&b, "POST", "/api/jobs/CON-2/hold", "{\"reason\": \"x\"}"),
        403
    );
    // Without the console's header, a session cannot change anything (another site's form).
    let no_header = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/jobs/CON-2/hold', {method: 'POST', credentials: 'same-origin',
               headers: {'content-type': 'application/json'}, body: '{}'})
               .then(r => done(r.status), e => done(-1));",
        )
        .as_i64();
    assert_eq!(no_header, Some(403));
    b.go(&format!("{base}/console/#/technician"));
    until("the device identity", || {
        b.text("#view")
            .contains("PSTATION SIMULATED PASSPORT PRINTER")
    });
    // (In English: the language chosen earlier in this browser stays.)
    assert!(b.text("#identity").contains("Page counter"));
    let page_count = || -> u64 {
        let text = b.text("#page-count");
        text.split_whitespace()
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("a page counter: {text:?}"))
    };
    let before = page_count();
    // The calibration page on one sheet, between jobs, confirmed by the printer.
    b.click("#test-page");
    b.wait_text("the test page", "#test-page-result", "Printed");
    until("the simulator printed it", || {
        crate::daemon::sim_jobs(&pages)
            .iter()
            .any(|j| j["name"].as_str().unwrap_or("").starts_with("TEST-PAGE-"))
    });
    // The read-only PJL console: the printer's answer; a command that changes things is refused.
    b.js(
        "document.querySelector('#pjl-command').value = '';",
        json!([]),
    );
    b.type_in("#pjl-command", "INFO ID\u{E007}");
    b.wait_text(
        "the printer's answer",
        "#pjl-output",
        "PSTATION SIMULATED PASSPORT PRINTER",
    );
    b.js(
        "document.querySelector('#pjl-command').value = '';",
        json!([]),
    );
    b.type_in("#pjl-command", "DEFAULT COPIES=2\u{E007}");
    b.wait_text("the refusal", "#pjl-output", "pjl-not-allowed");
    b.screenshot("technician");
    // The operator may not print test pages (UI: no button; API: refused).
    let (s, v) = api(
        "POST",
        &format!("{base}/api/printer/test-page"),
        &operator,
        json!({}),
    );
    assert_eq!(s, 403, "{v}");
    let (s, _) = api(
        "GET",
        &format!("{base}/api/jobs/CON-2"),
        &technician,
        json!({}),
    );
    assert_eq!(s, 200);
    // The technician's page counter is current: read again on request, it has counted the
    // test page (issue 16 #8).
    b.go(&format!("{base}/console/#/technician"));
    until("the technician page", || b.exists("#identity-refresh"));
    b.click("#identity-refresh");
    until("the counter read again, one page more", || {
        b.exists("#page-count") && page_count() > before
    });

    // A supervisor's screens, the same check.
    b.click("#logout");
    until("the login form again", || b.exists("#login-token"));
    login(&b, &supervisor);
    b.severe();
    b.tour(&base, "CON-2", "supervisor");
    assert!(
        b.severe().is_empty(),
        "the supervisor's screens logged errors"
    );
}
