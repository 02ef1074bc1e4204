//! The adapter conformance kit (`pstation adapter test -- PROGRAM ARGS`): runs protocol 1's
//! cases against any adapter program and reports each — greeting, identity, status, a request
//! from a future version, a broken line, a print to its outcome, a cancel, and exit at end of
//! input. It speaks to the program directly (not through the driver), so it can send what a
//! well-behaved station never would and see exactly what the adapter does.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::printer::adapter::driver::{Line, read_lines};
use crate::printer::adapter::protocol::{self, Reply, Request, WireBitmap};
use crate::station::render::Renderer;

/// How one case went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case (`hello`, `print`, ...).
    pub name: &'static str,
    /// Whether the adapter did what protocol 1 says.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

/// How long the kit waits for an answer, and for a print's outcome.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// An answer to hello, identity, status, cancel, an unknown request.
    pub answer: Duration,
    /// A print's outcome.
    pub print: Duration,
}

impl Limits {
    /// 10 s for answers, 120 s for a print.
    pub const DEFAULT: Self = Self {
        answer: Duration::from_secs(10),
        print: Duration::from_secs(120),
    };
}

struct Session {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Line>,
    next_id: u64,
    /// How long a line may take to be taken in.
    limit: Duration,
}

impl Session {
    fn start(program: &PathBuf, args: &[String], limit: Duration) -> Result<Self, String> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the adapter's pipes were not made".to_owned());
        };
        let (tx, lines) = mpsc::channel(64);
        tokio::spawn(read_lines(
            stdout,
            tx,
            std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)),
        ));
        Ok(Self {
            child,
            stdin,
            lines,
            next_id: 0,
            limit,
        })
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    async fn write(&mut self, line: &str) -> Result<(), String> {
        let written = tokio::time::timeout(self.limit, async {
            self.stdin.write_all(line.as_bytes()).await?;
            self.stdin.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("it stopped reading its input: {e}")),
            Err(_) => Err(format!("it took no input for {} s", self.limit.as_secs())),
        }
    }

    async fn send(&mut self, req: &Request) -> Result<(), String> {
        self.write(&protocol::encode(req)).await
    }

    /// Lines until `done` says the case is answered, or `limit` passes.
    async fn until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Reply) -> Option<Result<String, String>>,
    ) -> Result<String, String> {
        let end = Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(end, self.lines.recv()).await {
                Err(_) => return Err(format!("no answer in {} s", limit.as_secs())),
                Ok(None) => return Err("its output closed (it exited)".to_owned()),
                Ok(Some(Line::Closed(why))) => return Err(why),
                Ok(Some(Line::Bad(why))) => return Err(why),
                Ok(Some(Line::Reply(reply, _))) => {
                    if let Some(r) = done(&reply) {
                        return r;
                    }
                }
            }
        }
    }

    async fn ask(
        &mut self,
        req: Request,
        limit: Duration,
        check: impl Fn(&Reply) -> Result<String, String>,
    ) -> Result<String, String> {
        let id = req.id();
        self.send(&req).await?;
        self.until(limit, |r| (r.answers() == Some(id)).then(|| check(r)))
            .await
    }
}

fn result(name: &'static str, r: Result<String, String>) -> CaseResult {
    match r {
        Ok(detail) => CaseResult {
            name,
            passed: true,
            detail,
        },
        Err(detail) => CaseResult {
            name,
            passed: false,
            detail,
        },
    }
}

/// The print request for the calibration page, in the forms `caps` asked for.
fn print_request(
    id: u64,
    job: &str,
    caps: &protocol::WireCapabilities,
    renderer: &Renderer,
) -> Result<Request, String> {
    let dpi = caps
        .formats
        .iter()
        .any(|f| f == "bitmap")
        .then(|| caps.resolutions.first().copied())
        .flatten();
    let page = renderer.calibration(dpi).map_err(|e| e.to_string())?;
    Ok(Request::Print {
        id,
        job: job.to_owned(),
        job_id: "CONFORMANCE".to_owned(),
        booklet: "X0000000".to_owned(),
        pages: 1,
        pdf: caps
            .formats
            .iter()
            .any(|f| f == "pdf")
            .then(|| base64::engine::general_purpose::STANDARD.encode(&page.pdf)),
        bitmaps: page
            .pages
            .iter()
            .map(|p| WireBitmap::from_bitmap(p, page.dpi))
            .collect(),
    })
}

const OUTCOMES: &[&str] = &[
    "confirmed",
    "failed-before-start",
    "unknown",
    "canceled",
    "canceled-at-device",
];

/// Waits for the outcome of print `id` / `job`; anything about another job fails the case.
async fn outcome_of(
    s: &mut Session,
    id: u64,
    job: &str,
    limit: Duration,
) -> Result<(String, Vec<String>), String> {
    let mut seen = Vec::new();
    let r = s
        .until(limit, |r| match r {
            Reply::Accepted { id: i, job: j } if *i == id && j == job => {
                seen.push("accepted".to_owned());
                None
            }
            Reply::Progress { job: j, sheets } if j == job => {
                seen.push(format!("progress {sheets}"));
                None
            }
            Reply::Outcome {
                id: i,
                job: j,
                outcome,
                pages,
                ..
            } => Some(if *i != id || j != job {
                Err(format!("an outcome for another job ({j:?}, request {i})"))
            } else if !OUTCOMES.contains(&outcome.as_str()) {
                Err(format!("the outcome {outcome:?} is not a protocol word"))
            } else if outcome == "confirmed" && pages.is_none_or(|p| p < 1) {
                Err("confirmed without the pages printed".to_owned())
            } else {
                Ok(outcome.clone())
            }),
            Reply::Accepted { job: j, .. } | Reply::Progress { job: j, .. } if j != job => {
                Some(Err(format!("a line about another job ({j:?})")))
            }
            Reply::Error {
                id: Some(i),
                code,
                message,
            } if *i == id => Some(Ok(format!("error {code}: {message}"))),
            _ => None,
        })
        .await?;
    Ok((r, seen))
}

/// Runs every case against `program args`; the results in order.
pub async fn run(
    program: PathBuf,
    args: Vec<String>,
    renderer: &Renderer,
    limits: Limits,
) -> Vec<CaseResult> {
    let mut results = Vec::new();
    let mut s = match Session::start(&program, &args, limits.answer) {
        Ok(s) => s,
        Err(e) => {
            results.push(result("start", Err(e)));
            return results;
        }
    };
    // hello
    let id = s.id();
    let mut wire_caps = None;
    let hello = async {
        s.send(&Request::Hello {
            id,
            protocol: vec![protocol::VERSION],
            station: format!("pstation-conformance {}", env!("CARGO_PKG_VERSION")),
        })
        .await?;
        s.until(limits.answer, |r| {
            if r.answers() != Some(id) {
                return None;
            }
            Some(match r {
                Reply::Hello {
                    protocol: v,
                    adapter,
                    capabilities,
                    ..
                } => {
                    if *v != protocol::VERSION {
                        Err(format!("it chose protocol {v}; the station offered 1"))
                    } else {
                        protocol::capabilities(capabilities).map(|_| {
                            wire_caps = Some(capabilities.clone());
                            format!(
                                "protocol 1, adapter {adapter:?}, takes {}",
                                capabilities.formats.join(" and ")
                            )
                        })
                    }
                }
                other => Err(format!("answered with {other:?}")),
            })
        })
        .await
    }
    .await;
    let greeted = hello.is_ok();
    results.push(result("hello", hello));
    if !greeted {
        return results;
    }
    // identity
    let id = s.id();
    let identity = s
        .ask(Request::Identity { id }, limits.answer, |r| match r {
            Reply::Identity { model, .. } if !model.trim().is_empty() => {
                Ok(format!("model {model:?}"))
            }
            Reply::Identity { .. } => Err("an identity without a model".to_owned()),
            other => Err(format!("answered with {other:?}")),
        })
        .await;
    results.push(result("identity", identity));
    // status
    let id = s.id();
    let status = s
        .ask(Request::Status { id }, limits.answer, |r| match r {
            Reply::Status { state, reasons, .. } => Ok(format!(
                "{state}{}",
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", reasons.join(", "))
                }
            )),
            other => Err(format!("answered with {other:?}")),
        })
        .await;
    results.push(result("status", status));
    // A request from a later version: an error with its id, and the adapter goes on.
    let id = s.id();
    let future = async {
        s.write(&format!("{{\"type\":\"x-future-request\",\"id\":{id}}}\n"))
            .await?;
        s.until(limits.answer, |r| match r {
            Reply::Error {
                id: Some(i), code, ..
            } if *i == id => Some(Ok(format!("error {code}"))),
            other if other.answers() == Some(id) => {
                Some(Err(format!("answered with {other:?} instead of an error")))
            }
            _ => None,
        })
        .await
    }
    .await;
    results.push(result("unknown-request", future));
    // A broken line: the adapter says so (an error without an id) or ignores it, and goes on.
    let broken = async {
        s.write("this is not a protocol line\n").await?;
        let id = s.id();
        s.ask(Request::Status { id }, limits.answer, |r| match r {
            Reply::Status { .. } => Ok("still answering after a broken line".to_owned()),
            other => Err(format!("answered with {other:?}")),
        })
        .await
    }
    .await;
    results.push(result("broken-line", broken));
    // print
    let Some(caps) = wire_caps else {
        results.push(result(
            "print",
            Err("no capabilities to print with".to_owned()),
        ));
        return results;
    };
    let id = s.id();
    let print = async {
        let req = print_request(id, "CONFORMANCE-1", &caps, renderer)?;
        s.send(&req).await?;
        let (outcome, seen) = outcome_of(&mut s, id, "CONFORMANCE-1", limits.print).await?;
        Ok(format!(
            "{}outcome {outcome}",
            if seen.is_empty() {
                String::new()
            } else {
                format!("{}, ", seen.join(", "))
            }
        ))
    }
    .await;
    results.push(result("print", print));
    // cancel: acknowledged, and the print still ends with an outcome.
    let id = s.id();
    let cancel = async {
        let req = print_request(id, "CONFORMANCE-2", &caps, renderer)?;
        s.send(&req).await?;
        let cid = s.id();
        s.send(&Request::Cancel {
            id: cid,
            job: "CONFORMANCE-2".to_owned(),
        })
        .await?;
        let mut acked = false;
        let (outcome, _) = {
            let mut seen_outcome = None;
            let end = Instant::now() + limits.print;
            while seen_outcome.is_none() || !acked {
                let left = end.saturating_duration_since(Instant::now());
                let r = s
                    .until(left, |r| match r {
                        Reply::Ack { id } if *id == cid => Some(Ok("ack".to_owned())),
                        Reply::Error {
                            id: Some(i), code, ..
                        } if *i == cid => Some(Ok(format!("error {code}"))),
                        Reply::Outcome {
                            id: i,
                            job,
                            outcome,
                            ..
                        } => Some(if *i == id && job == "CONFORMANCE-2" {
                            Ok(format!("outcome {outcome}"))
                        } else {
                            Err(format!("an outcome for another job ({job:?})"))
                        }),
                        _ => None,
                    })
                    .await?;
                if let Some(o) = r.strip_prefix("outcome ") {
                    seen_outcome = Some(o.to_owned());
                } else {
                    acked = true;
                }
            }
            (seen_outcome.unwrap_or_default(), ())
        };
        if !OUTCOMES.contains(&outcome.as_str()) {
            return Err(format!("the outcome {outcome:?} is not a protocol word"));
        }
        Ok(format!("acknowledged; the print ended {outcome}"))
    }
    .await;
    results.push(result("cancel", cancel));
    // end of input: the adapter exits by itself.
    let eof = async {
        drop(s.stdin);
        match tokio::time::timeout(limits.answer, s.child.wait()).await {
            Err(_) => Err(format!(
                "still running {} s after its input closed",
                limits.answer.as_secs()
            )),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(status)) if status.success() => Ok("exited 0".to_owned()),
            Ok(Ok(status)) => Err(format!("exited with {status}")),
        }
    }
    .await;
    results.push(result("end-of-input", eof));
    results
}
