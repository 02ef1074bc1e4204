//! The one client of the station's API: every request the CLI, the demo, doctor, the support
//! bundle, the benches and the tests' helpers send goes through `Client::send`, so each carries
//! the same headers; the answers are the API's wire types (`crate::api::wire`). `raw` is the
//! same request without the typing, for the tests of malformed input. (Tests of what a
//! well-behaved client cannot send — raw TCP, foreign `Authorization` schemes, client
//! certificates — keep their own connections.)

use std::io::BufRead;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::wire;

/// How long one request may take (a page render is well under it).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// How long a health question may take (doctor, the bundle and `pstation health` ask it).
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is asking: what every request carries besides its body.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// `X-Pstation-User` (a lab station without tokens).
    pub user: Option<String>,
    /// `Authorization: Bearer`.
    pub token: Option<String>,
    /// `X-Pstation-Supervisor-Token` (a reprint's second person).
    pub supervisor_token: Option<String>,
}

impl Credentials {
    /// A bearer token only.
    pub fn token(token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..Self::default()
        }
    }

    /// A technician's token from `PSTATION_TOKEN`, when they have set one (doctor, support
    /// bundle: they find the daemon by its lock file, not by `--url`).
    pub fn from_env() -> Self {
        Self {
            token: std::env::var("PSTATION_TOKEN")
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
            ..Self::default()
        }
    }
}

/// Why a request got no answer of the expected type.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection (the daemon is not running there, or the network).
    #[error(
        "{url}: daemon-unreachable: {why} — is `pstation serve` running there? (--url, PSTATION_URL)"
    )]
    Unreachable {
        /// The daemon's address.
        url: String,
        /// What failed.
        why: String,
    },
    /// An answer that is not the API's (not JSON, not the documented shape).
    #[error("{url}: bad-reply: {why}")]
    BadReply {
        /// The request's URL.
        url: String,
        /// What was wrong.
        why: String,
    },
    /// The API refused or failed: its error, as it said it.
    #[error("{}", .error.message)]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The API's error.
        error: wire::ErrorDetail,
    },
}

/// A client of one station daemon, as one user.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    who: Credentials,
    /// The bound of each request's whole exchange (`TIMEOUT` unless set).
    timeout: Duration,
    /// One agent, so that the connections are kept and reused between requests.
    agent: ureq::Agent,
}

/// A request body and its media type.
pub type Body<'a> = Option<(&'a [u8], &'a str)>;

impl Client {
    /// A client of the daemon at `base` (`http://127.0.0.1:8631`) as `who`.
    pub fn new(base: &str, who: Credentials) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            who,
            timeout: TIMEOUT,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    /// The same client with each request bounded by `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The daemon's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The one way a request is sent: the credentials' headers, `body` with its media type
    /// (none when empty), `timeout` for the whole exchange (`None` for a stream followed until
    /// it ends).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Body<'_>,
        timeout: Option<Duration>,
    ) -> Result<ureq::http::Response<ureq::Body>, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(u) = &self.who.user {
            req = req.header("x-pstation-user", u);
        }
        if let Some(t) = &self.who.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(t) = &self.who.supervisor_token {
            req = req.header("x-pstation-supervisor-token", t);
        }
        if let Some((_, content_type)) = body
            && !content_type.is_empty()
        {
            // An empty media type sends the body without one (tests of what the API does then).
            req = req.header("content-type", content_type);
        }
        let agent = &self.agent;
        let sent = match body {
            None => req.body(()).map_err(ureq::Error::from).and_then(|r| {
                agent.run(agent.configure_request(r).timeout_global(timeout).build())
            }),
            Some((bytes, _)) => req
                .body(bytes.to_vec())
                .map_err(ureq::Error::from)
                .and_then(|r| {
                    agent.run(agent.configure_request(r).timeout_global(timeout).build())
                }),
        };
        sent.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            why: e.to_string(),
        })
    }

    /// A request and its answer as it came: the status and the JSON body (`Null` when the
    /// body is not JSON). For tests of what the API does with malformed requests.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        body: Body<'_>,
    ) -> Result<(u16, Value), ClientError> {
        let mut resp = self.send(method, path, body, Some(self.timeout))?;
        let status = resp.status().as_u16();
        Ok((status, resp.body_mut().read_json().unwrap_or(Value::Null)))
    }

    /// A request answered with `T` on 2xx, with the API's error otherwise.
    pub fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Body<'_>,
    ) -> Result<T, ClientError> {
        let mut resp = self.send(method, path, body, Some(self.timeout))?;
        let status = resp.status().as_u16();
        let url = format!("{}{path}", self.base);
        let bad = |why: String| ClientError::BadReply {
            url: url.clone(),
            why: format!("the daemon answered {status} {why}"),
        };
        let value: Value = resp
            .body_mut()
            .read_json()
            .map_err(|e| bad(format!("with no JSON: {e}")))?;
        if (200..300).contains(&status) {
            serde_json::from_value(value).map_err(|e| bad(format!("with another shape: {e}")))
        } else {
            let body: wire::ErrorBody = serde_json::from_value(value)
                .map_err(|e| bad(format!("with no error body: {e}")))?;
            Err(ClientError::Refused {
                status,
                error: body.error,
            })
        }
    }

    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        // The wire types serialise to JSON without fail (strings, numbers, lists).
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.call("POST", path, Some((&bytes, "application/json")))
    }

    /// `GET /api/health` (no token needed), bounded by `HEALTH_TIMEOUT` at most.
    pub fn health(&self) -> Result<wire::Health, ClientError> {
        self.clone()
            .with_timeout(self.timeout.min(HEALTH_TIMEOUT))
            .call("GET", "/api/health", None)
    }

    /// `POST /api/jobs`: a job as submitted, signed (a compact JWS, `eyJ...`) or plain JSON.
    pub fn submit(&self, job: &[u8]) -> Result<wire::JobAnswer, ClientError> {
        let content_type = if job.starts_with(b"eyJ") {
            "application/jose"
        } else {
            "application/json"
        };
        self.call("POST", "/api/jobs", Some((job, content_type)))
    }

    /// `GET /api/jobs[?state=S]`.
    pub fn jobs(&self, state: Option<&str>) -> Result<wire::JobList, ClientError> {
        self.call("GET", &with_state("/api/jobs", state), None)
    }

    /// `GET /api/jobs/{id}`.
    pub fn job(&self, id: &str) -> Result<wire::JobDetail, ClientError> {
        self.call("GET", &format!("/api/jobs/{}", urlencode(id)), None)
    }

    /// `POST /api/jobs/{id}/{action}`.
    pub fn act(
        &self,
        id: &str,
        action: &str,
        body: &wire::ActionBody,
    ) -> Result<wire::JobAnswer, ClientError> {
        self.post(&format!("/api/jobs/{}/{action}", urlencode(id)), body)
    }

    /// `GET /api/jobs/{id}/mrz`: the lines the job prints with (the view is recorded).
    pub fn mrz(&self, id: &str) -> Result<wire::Lines, ClientError> {
        self.call("GET", &format!("/api/jobs/{}/mrz", urlencode(id)), None)
    }

    /// `GET /api/jobs/{id}/reads`: what the document reader read of the job's booklet, beside
    /// the lines printed (the view is recorded).
    pub fn reads(&self, id: &str) -> Result<wire::ReadList, ClientError> {
        self.call("GET", &format!("/api/jobs/{}/reads", urlencode(id)), None)
    }

    /// `GET /api/jobs/{id}/chip`: the chip checks of the job's booklets, newest first.
    pub fn chip_checks(&self, id: &str) -> Result<wire::ChipCheckList, ClientError> {
        self.call("GET", &format!("/api/jobs/{}/chip", urlencode(id)), None)
    }

    /// `GET /api/jobs/{id}/page.pdf`: the data page as it prints (the view is recorded).
    pub fn page_pdf(&self, id: &str) -> Result<Vec<u8>, ClientError> {
        let path = format!("/api/jobs/{}/page.pdf", urlencode(id));
        let mut resp = self.send("GET", &path, None, Some(self.timeout))?;
        let status = resp.status().as_u16();
        let url = format!("{}{path}", self.base);
        if status != 200 {
            let error = resp
                .body_mut()
                .read_json::<wire::ErrorBody>()
                .map_err(|e| ClientError::BadReply {
                    url: url.clone(),
                    why: format!("the daemon answered {status} with no error body: {e}"),
                })?
                .error;
            return Err(ClientError::Refused { status, error });
        }
        resp.body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| ClientError::BadReply {
                url,
                why: e.to_string(),
            })
    }

    /// `POST /api/booklets/batches`.
    pub fn receive_batch(&self, first: &str, last: &str) -> Result<wire::BatchAnswer, ClientError> {
        let body = wire::BatchBody {
            first: first.to_owned(),
            last: last.to_owned(),
        };
        self.post("/api/booklets/batches", &body)
    }

    /// `GET /api/booklets[?state=S]`.
    pub fn booklets(&self, state: Option<&str>) -> Result<wire::BookletList, ClientError> {
        self.call("GET", &with_state("/api/booklets", state), None)
    }

    /// `GET /api/booklets/reconcile`.
    pub fn reconcile(&self) -> Result<wire::ReconcileAnswer, ClientError> {
        self.call("GET", "/api/booklets/reconcile", None)
    }

    /// `GET /api/printer`.
    pub fn printer(&self) -> Result<wire::PrinterAnswer, ClientError> {
        self.call("GET", "/api/printer", None)
    }

    /// `POST /api/printer/test-page`.
    pub fn test_page(&self) -> Result<wire::TestPageAnswer, ClientError> {
        self.call("POST", "/api/printer/test-page", None)
    }

    /// `POST /api/printer/identity`.
    pub fn identity(&self) -> Result<wire::IdentityAnswer, ClientError> {
        self.call("POST", "/api/printer/identity", None)
    }

    /// `POST /api/printer/pjl`.
    pub fn pjl(&self, command: &str) -> Result<wire::Lines, ClientError> {
        let body = wire::PjlBody {
            command: command.to_owned(),
        };
        self.post("/api/printer/pjl", &body)
    }

    /// Follows `GET /api/events`, calling `on` for each notice until the stream ends (the
    /// daemon stops) or `on` returns `false`. Notices of a type this client does not know are
    /// skipped.
    pub fn events(&self, mut on: impl FnMut(wire::Notice) -> bool) -> Result<(), ClientError> {
        let mut resp = self.send("GET", "/api/events", None, None)?;
        let status = resp.status().as_u16();
        if status != 200 {
            let url = format!("{}/api/events", self.base);
            let error = resp
                .body_mut()
                .read_json::<wire::ErrorBody>()
                .map_err(|e| ClientError::BadReply {
                    url,
                    why: format!("the daemon answered {status} with no error body: {e}"),
                })?
                .error;
            return Err(ClientError::Refused { status, error });
        }
        for line in std::io::BufReader::new(resp.body_mut().as_reader()).lines() {
            let Ok(line) = line else { break };
            if let Some(data) = line.strip_prefix("data:")
                && let Ok(notice) = serde_json::from_str::<wire::Notice>(data.trim())
                && !on(notice)
            {
                break;
            }
        }
        Ok(())
    }
}

fn with_state(path: &str, state: Option<&str>) -> String {
    match state {
        Some(s) => format!("{path}?state={}", urlencode(s)),
        None => path.to_owned(),
    }
}

/// Percent-encodes everything but unreserved characters (a job id, a state word).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
