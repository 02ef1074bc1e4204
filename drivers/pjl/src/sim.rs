//! The simulated passport printer's core: a sans-IO state machine that reads the host's PJL/PCL
//! bytes, answers like a PJL printer (replies and unsolicited `USTATUS`), "prints" each received
//! page after a warm-up and a per-booklet print time, keeps a booklet hopper, and injects faults.
//!
//! Design: `feed_from` takes host bytes from an I/O channel, `advance` takes the current time in
//! milliseconds; both return `Output`s (bytes for one channel's host, finished jobs). Time never
//! comes from the clock, so tests are deterministic. As on a real printer with several ports,
//! replies and status belong to the channel that asked for them: a job's `USTATUS JOB`/`PAGE`
//! go to the channel that sent the job, `USTATUS DEVICE`/`TIMED` to every channel that turned
//! them on. A job left open (no `EOJ`: the host hung up, was killed, or the link dropped) ends at
//! the channel's close, at the next `JOB` on that channel, or after the I/O timeout, printing
//! what was received — it never blocks later jobs. Pacing at the baud rate, PTY/TCP serving,
//! link drops and stalls belong to the I/O shell around this core.

use std::collections::BTreeMap;

use crate::pcl::{Bitmap, PclDecoder};
use crate::pjl::UEL;

/// An I/O channel (one host connection) of the printer.
pub type Channel = u32;

/// Faults a test or a technician can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Cover / door open (40021) until cleared.
    CoverOpen,
    /// Paper jam (40022) when page `n` (1-based) of a job is being printed; that page and the
    /// rest of the job are lost.
    JamAtPage(u32),
    /// Taken offline at the panel (40079) until cleared.
    Offline,
    /// Ink / toner low (10006): a warning, printing goes on.
    InkLow,
    /// Power cycle: every job in the printer vanishes without an END; warm-up follows.
    PowerCycle,
    /// The next reply is garbled.
    Garble,
    /// Hardware failure (50000) until cleared.
    Hardware,
    /// The next job's `END` misreports: a result or a name or page count the host did not send.
    BadEnd(BadEnd),
}

/// How the next `END` misreports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadEnd {
    /// `RESULT=USER_CANCELED` (cancelled at the panel).
    UserCanceled,
    /// `RESULT=HOST_CANCELED`.
    HostCanceled,
    /// `RESULT=RESOURCE_CANCELED`.
    ResourceCanceled,
    /// Another job's name.
    WrongName,
    /// One page fewer than printed.
    WrongPages,
}

/// Something the core produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Bytes to send to the host on `channel`.
    Send {
        /// The channel the bytes belong to.
        channel: Channel,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A job finished (its pages came out, or it ended otherwise).
    JobDone(JobRecord),
}

/// How a job's data ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnding {
    /// `EOJ` arrived.
    Eoj,
    /// The channel closed (hang-up, unplug) before `EOJ`.
    ChannelClosed,
    /// No data for the I/O timeout before `EOJ`.
    IoTimeout,
    /// A new `JOB` arrived on the channel before `EOJ`.
    NextJob,
    /// The printer was power-cycled before the job finished.
    PowerCycle,
}

impl JobEnding {
    /// A stable word for logs and the job log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eoj => "eoj",
            Self::ChannelClosed => "channel-closed",
            Self::IoTimeout => "io-timeout",
            Self::NextJob => "next-job",
            Self::PowerCycle => "power-cycle",
        }
    }
}

/// What the simulator did with one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// `JOB NAME=`.
    pub name: String,
    /// The channel that sent it.
    pub channel: Channel,
    /// Pages that came out.
    pub printed: Vec<Bitmap>,
    /// Pages received (a page cut off mid-data counts: the printer ejects what it drew).
    pub pages_received: u32,
    /// PJL/PCL bytes received for the job.
    pub bytes: usize,
    /// `RESULT=` reported (`None` when no END was sent, e.g. power cycle).
    pub result: Option<&'static str>,
    /// How the job's data ended.
    pub ending: JobEnding,
    /// When `JOB` arrived (simulator milliseconds).
    pub started_ms: u64,
    /// When the job ended at the printer (its `END` went out, or it vanished).
    pub ended_ms: u64,
}

/// Simulator settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// `INFO ID` model name.
    pub model: String,
    /// Warm-up after power-on, in ms.
    pub warm_up_ms: u64,
    /// Time to personalise one booklet (one page), in ms.
    pub page_ms: u64,
    /// Blank booklets in the hopper.
    pub hopper: u32,
    /// Lifetime page count at start.
    pub page_count: u64,
    /// A job with no data for this long before its `EOJ` is ended (HP's default I/O timeout is
    /// 15 s).
    pub io_timeout_ms: u64,
}

impl SimConfig {
    /// A quick printer for tests: 1 s warm-up, 2 s per booklet, 50 booklets, 15 s I/O timeout.
    pub fn test_default() -> Self {
        Self {
            model: "PSTATION SIMULATED PASSPORT PRINTER".to_owned(),
            warm_up_ms: 1_000,
            page_ms: 2_000,
            hopper: 50,
            page_count: 0,
            io_timeout_ms: 15_000,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Unsolicited {
    device: bool,
    job: bool,
    page: bool,
    timed_s: u64,
}

/// What the printer keeps per I/O channel.
#[derive(Debug, Default)]
struct ChannelState {
    line: Vec<u8>,
    in_pcl: bool,
    pcl: Vec<u8>,
    notify: Unsolicited,
    last_timed: u64,
    /// Bytes received outside a job (they count towards the next job).
    loose_bytes: usize,
    /// When the channel last received a byte.
    last_rx: u64,
}

#[derive(Debug)]
struct ActiveJob {
    name: String,
    channel: Channel,
    pages: Vec<Bitmap>,
    bytes: usize,
    printed: usize,
    /// When the page being printed comes out.
    next_page_at: Option<u64>,
    /// How its data ended (`None` while data may still come).
    ending: Option<JobEnding>,
    started_ms: u64,
}

impl ActiveJob {
    fn ended(&self) -> bool {
        self.ending.is_some()
    }
}

/// The simulated printer.
#[derive(Debug)]
pub struct SimPrinter {
    cfg: SimConfig,
    now: u64,
    ready_at: u64,
    channels: BTreeMap<Channel, ChannelState>,
    faults: Vec<Fault>,
    garble_next: bool,
    hopper: u32,
    page_count: u64,
    queue: Vec<ActiveJob>,
    last_code: u32,
    jammed: bool,
}

impl SimPrinter {
    /// A printer that has just been switched on at time `now`.
    pub fn new(cfg: SimConfig, now: u64) -> Self {
        let hopper = cfg.hopper;
        let page_count = cfg.page_count;
        Self {
            ready_at: now + cfg.warm_up_ms,
            cfg,
            now,
            channels: BTreeMap::new(),
            faults: Vec::new(),
            garble_next: false,
            hopper,
            page_count,
            queue: Vec::new(),
            last_code: 10003,
            jammed: false,
        }
    }

    /// Booklets left in the hopper.
    pub fn hopper(&self) -> u32 {
        self.hopper
    }

    /// The engine's lifetime page count.
    pub fn page_count(&self) -> u64 {
        self.page_count
    }

    /// Takes `n` booklets out of the hopper (an "out of booklets" fault when it reaches 0).
    pub fn take_booklets(&mut self, n: u32) -> Vec<Output> {
        self.hopper = self.hopper.saturating_sub(n);
        self.advance(self.now)
    }

    /// Loads `n` more booklets.
    pub fn refill(&mut self, n: u32) -> Vec<Output> {
        self.hopper = self.hopper.saturating_add(n);
        self.advance(self.now)
    }

    /// Injects a fault at the current time.
    pub fn inject(&mut self, fault: Fault) -> Vec<Output> {
        match fault {
            Fault::Garble => self.garble_next = true,
            Fault::PowerCycle => {
                // Every job in the printer vanishes: no END is ever sent for any of them. The
                // record keeps what had come out and what had been received.
                let now = self.now;
                let out = self
                    .queue
                    .drain(..)
                    .map(|job| {
                        Output::JobDone(JobRecord {
                            name: job.name,
                            channel: job.channel,
                            pages_received: job.pages.len() as u32,
                            printed: job.pages.into_iter().take(job.printed).collect(),
                            bytes: job.bytes,
                            result: None,
                            ending: JobEnding::PowerCycle,
                            started_ms: job.started_ms,
                            ended_ms: now,
                        })
                    })
                    .collect();
                self.faults.clear();
                self.jammed = false;
                // Status settings, half-read lines and PCL data are volatile.
                for st in self.channels.values_mut() {
                    *st = ChannelState {
                        last_rx: now,
                        last_timed: now,
                        ..ChannelState::default()
                    };
                }
                self.ready_at = self.now + self.cfg.warm_up_ms;
                self.last_code = 10003;
                return out;
            }
            other => {
                if !self.faults.contains(&other) {
                    self.faults.push(other);
                }
            }
        }
        self.advance(self.now)
    }

    /// Clears every operator fault (cover closed, jam removed, back online, repaired).
    pub fn clear_faults(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        self.faults.retain(|f| matches!(f, Fault::InkLow));
        if std::mem::take(&mut self.jammed) && !self.queue.is_empty() {
            // The jammed booklet and the rest of the job are lost: the job ends short.
            let job = self.queue.remove(0);
            out.extend(self.end_job(job, "RESOURCE_CANCELED"));
        }
        out.extend(self.advance(self.now));
        out
    }

    /// The host on `channel` went away (hang-up, unplug, connection closed): its open job ends
    /// with what was received, and the channel's settings are forgotten.
    pub fn close_channel(&mut self, channel: Channel) -> Vec<Output> {
        if let Some(mut st) = self.channels.remove(&channel) {
            self.cut_open_job(channel, &mut st, JobEnding::ChannelClosed);
        }
        self.advance(self.now)
    }

    /// Ends `channel`'s open job (if any), decoding the PCL data it had as far as it got.
    fn cut_open_job(&mut self, channel: Channel, st: &mut ChannelState, why: JobEnding) {
        let partial = std::mem::take(&mut st.pcl);
        let was_in_pcl = std::mem::take(&mut st.in_pcl);
        if let Some(job) = self
            .queue
            .iter_mut()
            .rev()
            .find(|j| j.channel == channel && !j.ended())
        {
            if was_in_pcl {
                job.pages
                    .extend(PclDecoder::new().decode_partial(&partial).0);
            }
            job.ending = Some(why);
        }
    }

    /// The device status code now.
    pub fn code(&self) -> u32 {
        if self.jammed {
            return 40022;
        }
        // Operator conditions show even while warming up.
        for f in &self.faults {
            match f {
                Fault::CoverOpen => return 40021,
                Fault::Offline => return 40079,
                Fault::Hardware => return 50000,
                Fault::JamAtPage(_)
                | Fault::InkLow
                | Fault::PowerCycle
                | Fault::Garble
                | Fault::BadEnd(_) => {}
            }
        }
        if self.now < self.ready_at {
            return 10003;
        }
        // Booklets are needed only when the next page has to take one (not while the last
        // booklet is still being printed).
        if self.hopper == 0
            && self
                .queue
                .first()
                .is_some_and(|j| j.ended() && j.next_page_at.is_none() && j.printed < j.pages.len())
        {
            return 41101; // foreground media mount: booklets needed
        }
        if self.queue.first().is_some_and(ActiveJob::ended) {
            return 10023;
        }
        if self.faults.contains(&Fault::InkLow) {
            return 10006;
        }
        10001
    }

    fn online(code: u32) -> bool {
        matches!(code, 10001 | 10006 | 10023 | 10024)
    }

    fn display(code: u32) -> &'static str {
        match code {
            10001 => "00 READY",
            10003 => "02 WARMING UP",
            10006 => "16 INK LOW",
            10023 => "05 PRINTING",
            40021 => "12 COVER OPEN",
            40022 => "13 BOOKLET JAM",
            40079 => "OFFLINE",
            41101 => "LOAD BOOKLETS",
            50000 => "50 SERVICE",
            _ => "",
        }
    }

    fn frame(&mut self, channel: Channel, text: String) -> Output {
        let mut bytes = text.into_bytes();
        bytes.push(0x0C);
        if self.garble_next {
            self.garble_next = false;
            // Flip bits in the middle and cut the tail: a line-noise reply.
            let mid = bytes.len() / 2;
            for b in &mut bytes[mid..] {
                *b ^= 0x5A;
            }
            bytes.truncate(bytes.len() * 3 / 4);
        }
        Output::Send { channel, bytes }
    }

    fn status_lines(&self, code: u32) -> String {
        format!(
            "CODE={code}\r\nDISPLAY=\"{}\"\r\nONLINE={}\r\n",
            Self::display(code),
            if Self::online(code) { "TRUE" } else { "FALSE" }
        )
    }

    /// Feeds host bytes received on channel 0 at the current time.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Output> {
        self.feed_from(0, bytes)
    }

    /// Feeds host bytes received on `channel` at the current time.
    pub fn feed_from(&mut self, channel: Channel, bytes: &[u8]) -> Vec<Output> {
        let mut out = Vec::new();
        // The channel's state is taken out while its bytes are parsed and put back after.
        let mut st = self
            .channels
            .remove(&channel)
            .unwrap_or_else(|| ChannelState {
                last_timed: self.now,
                ..ChannelState::default()
            });
        st.last_rx = self.now;
        for &b in bytes {
            if let Some(job) = self
                .queue
                .iter_mut()
                .rev()
                .find(|j| j.channel == channel && !j.ended())
            {
                job.bytes += 1;
            } else {
                st.loose_bytes += 1;
            }
            if st.in_pcl {
                st.pcl.push(b);
                if st.pcl.ends_with(UEL) {
                    let len = st.pcl.len() - UEL.len();
                    let data: Vec<u8> = st.pcl.drain(..).take(len).collect();
                    st.in_pcl = false;
                    // A UEL resets PCL: a page drawn only in part is ejected as it is.
                    let (pages, _) = PclDecoder::new().decode_partial(&data);
                    if let Some(job) = self
                        .queue
                        .iter_mut()
                        .rev()
                        .find(|j| j.channel == channel && !j.ended())
                    {
                        job.pages.extend(pages);
                    }
                    st.line.clear();
                }
                continue;
            }
            if b == b'\n' {
                let line = std::mem::take(&mut st.line);
                out.extend(self.command_line(channel, &mut st, &line));
            } else if st.line.len() < 1024 {
                st.line.push(b);
            }
        }
        self.channels.insert(channel, st);
        out.extend(self.advance(self.now));
        out
    }

    fn command_line(&mut self, channel: Channel, st: &mut ChannelState, raw: &[u8]) -> Vec<Output> {
        let mut text = String::from_utf8_lossy(raw).into_owned();
        while let Some(pos) = text.find("\u{1b}%-12345X") {
            text.replace_range(pos..pos + 9, "");
        }
        let line = text.trim_end_matches('\r').trim();
        let Some(rest) = line.strip_prefix("@PJL") else {
            return Vec::new();
        };
        let cmd = rest.trim();
        if cmd.is_empty() {
            return Vec::new();
        }
        let upper = cmd.to_ascii_uppercase();
        let words: Vec<&str> = upper.split_whitespace().collect();
        let setting = |name: &str| -> Option<String> {
            let (_, v) = upper.split_once('=')?;
            upper.split_whitespace().nth(1).filter(|w| *w == name)?;
            Some(v.trim().to_owned())
        };
        let quoted_name = || -> String {
            cmd.split_once('"')
                .and_then(|(_, r)| r.split_once('"'))
                .map(|(n, _)| n.to_owned())
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        match words.as_slice() {
            ["ECHO", ..] => {
                let words = cmd.get(4..).unwrap_or("").trim();
                out.push(self.frame(channel, format!("@PJL ECHO {words}\r\n")));
            }
            ["INFO", "ID", ..] => {
                let model = self.cfg.model.clone();
                out.push(self.frame(channel, format!("@PJL INFO ID\r\n\"{model}\"\r\n")));
            }
            ["INFO", "STATUS", ..] => {
                let lines = self.status_lines(self.code());
                out.push(self.frame(channel, format!("@PJL INFO STATUS\r\n{lines}")));
            }
            ["INFO", "PAGECOUNT", ..] => {
                let n = self.page_count;
                out.push(self.frame(channel, format!("@PJL INFO PAGECOUNT\r\nPAGECOUNT={n}\r\n")));
            }
            ["INFO", "CONFIG", ..] => {
                let hopper = self.hopper;
                out.push(self.frame(channel, format!(
                    "@PJL INFO CONFIG\r\nRESOLUTION=300\r\nBOOKLETS={hopper}\r\nLANGUAGES [1 ENUMERATED]\r\n\tPCL\r\n"
                )));
            }
            ["INFO", "USTATUS", ..] => {
                let n = st.notify;
                let onoff = |b: bool| if b { "ON" } else { "OFF" };
                out.push(self.frame(channel, format!(
                    "@PJL INFO USTATUS\r\nDEVICE={} [3 ENUMERATED]\r\n\tOFF\r\n\tON\r\n\tVERBOSE\r\nJOB={} [2 ENUMERATED]\r\n\tOFF\r\n\tON\r\nPAGE={} [2 ENUMERATED]\r\n\tOFF\r\n\tON\r\nTIMED={} [2 RANGE]\r\n\t5\r\n\t300\r\n",
                    onoff(n.device),
                    onoff(n.job),
                    onoff(n.page),
                    n.timed_s
                )));
            }
            ["USTATUSOFF", ..] => st.notify = Unsolicited::default(),
            ["USTATUS", kind, ..] => {
                let value = setting(kind).unwrap_or_default();
                let on = value == "ON" || value == "VERBOSE";
                match *kind {
                    "DEVICE" => st.notify.device = on,
                    "JOB" => st.notify.job = on,
                    "PAGE" => st.notify.page = on,
                    "TIMED" => {
                        st.notify.timed_s = value
                            .parse::<u64>()
                            .map_or(0, |v| if v == 0 { 0 } else { v.clamp(5, 300) });
                        st.last_timed = self.now;
                    }
                    _ => out.push(self.frame(channel, format!("@PJL {cmd}\r\n?\r\n"))),
                }
            }
            ["JOB", ..] => {
                // Nested jobs are not supported: a JOB before the previous job's EOJ ends it.
                self.cut_open_job(channel, st, JobEnding::NextJob);
                let name = quoted_name();
                if st.notify.job {
                    out.push(self.frame(
                        channel,
                        format!("@PJL USTATUS JOB\r\nSTART\r\nNAME=\"{name}\"\r\n"),
                    ));
                }
                self.queue.push(ActiveJob {
                    name,
                    channel,
                    pages: Vec::new(),
                    bytes: std::mem::take(&mut st.loose_bytes),
                    printed: 0,
                    next_page_at: None,
                    ending: None,
                    started_ms: self.now,
                });
            }
            ["EOJ", ..] => {
                if let Some(job) = self
                    .queue
                    .iter_mut()
                    .rev()
                    .find(|j| j.channel == channel && !j.ended())
                {
                    job.ending = Some(JobEnding::Eoj);
                }
            }
            ["ENTER", ..] if upper.contains("PCL") => {
                st.in_pcl = true;
                st.pcl.clear();
            }
            ["COMMENT", ..] | ["SET", ..] | ["DEFAULT", ..] => {}
            _ => out.push(self.frame(channel, format!("@PJL {cmd}\r\n?\r\n"))),
        }
        out
    }

    fn end_job(&mut self, job: ActiveJob, result: &'static str) -> Vec<Output> {
        let mut out = Vec::new();
        let pages = job.printed;
        let bad = self.faults.iter().find_map(|f| match f {
            Fault::BadEnd(b) => Some(*b),
            _ => None,
        });
        self.faults.retain(|f| !matches!(f, Fault::BadEnd(_)));
        let (mut name, mut reported, mut result) = (job.name.clone(), pages, result);
        match bad {
            Some(BadEnd::UserCanceled) => result = "USER_CANCELED",
            Some(BadEnd::HostCanceled) => result = "HOST_CANCELED",
            Some(BadEnd::ResourceCanceled) => result = "RESOURCE_CANCELED",
            Some(BadEnd::WrongName) => name = format!("{name}-OTHER"),
            Some(BadEnd::WrongPages) => reported = pages.saturating_sub(1),
            None => {}
        }
        if self
            .channels
            .get(&job.channel)
            .is_some_and(|st| st.notify.job)
        {
            out.push(self.frame(job.channel, format!(
                "@PJL USTATUS JOB\r\nEND\r\nNAME=\"{name}\"\r\nPAGES={reported}\r\nRESULT={result}\r\n"
            )));
        }
        out.push(Output::JobDone(JobRecord {
            name: job.name,
            channel: job.channel,
            pages_received: job.pages.len() as u32,
            printed: job.pages.into_iter().take(pages).collect(),
            bytes: job.bytes,
            result: Some(result),
            ending: job.ending.unwrap_or(JobEnding::Eoj),
            started_ms: job.started_ms,
            ended_ms: self.now,
        }));
        out
    }

    /// Moves time forward to `now` (never backwards) and returns what happened meanwhile.
    pub fn advance(&mut self, now: u64) -> Vec<Output> {
        let before = self.now;
        self.now = self.now.max(now);
        // A page in progress does not advance while the printer is stopped (cover open,
        // offline): its completion moves back by the time spent stopped.
        if !Self::online(self.code())
            && let Some(at) = self.queue.first_mut().and_then(|j| j.next_page_at.as_mut())
        {
            *at += self.now - before;
        }
        // Jobs whose host went quiet before EOJ end at the I/O timeout.
        let timed_out: Vec<Channel> = self
            .channels
            .iter()
            .filter(|(_, st)| self.now >= st.last_rx.saturating_add(self.cfg.io_timeout_ms))
            .map(|(&c, _)| c)
            .filter(|c| self.queue.iter().any(|j| j.channel == *c && !j.ended()))
            .collect();
        for c in timed_out {
            if let Some(mut st) = self.channels.remove(&c) {
                self.cut_open_job(c, &mut st, JobEnding::IoTimeout);
                self.channels.insert(c, st);
            }
        }
        let mut out = Vec::new();
        loop {
            let code = self.code();
            if code != self.last_code {
                self.last_code = code;
                let lines = self.status_lines(code);
                let listening: Vec<Channel> = self
                    .channels
                    .iter()
                    .filter(|(_, st)| st.notify.device)
                    .map(|(&c, _)| c)
                    .collect();
                for c in listening {
                    out.push(self.frame(c, format!("@PJL USTATUS DEVICE\r\n{lines}")));
                }
            }
            let printing_blocked = !Self::online(code);
            let Some(job) = self.queue.first_mut() else {
                break;
            };
            if !job.ended() || printing_blocked {
                break;
            }
            if job.printed >= job.pages.len() {
                let job = self.queue.remove(0);
                out.extend(self.end_job(job, "OK"));
                continue;
            }
            match job.next_page_at {
                None => {
                    if self.hopper == 0 {
                        break;
                    }
                    let page_no = job.printed as u32 + 1;
                    if self.faults.contains(&Fault::JamAtPage(page_no)) {
                        // The booklet is taken and jams: it is consumed, nothing is delivered.
                        self.hopper -= 1;
                        self.jammed = true;
                        self.faults.retain(|f| *f != Fault::JamAtPage(page_no));
                        continue;
                    }
                    self.hopper -= 1;
                    job.next_page_at = Some(self.now.max(self.ready_at) + self.cfg.page_ms);
                }
                Some(at) if at <= self.now => {
                    job.printed += 1;
                    job.next_page_at = None;
                    self.page_count += 1;
                    let (n, channel) = (job.printed, job.channel);
                    if self.channels.get(&channel).is_some_and(|st| st.notify.page) {
                        out.push(self.frame(channel, format!("@PJL USTATUS PAGE\r\n{n}\r\n")));
                    }
                }
                Some(_) => break,
            }
        }
        let code = self.code();
        let due: Vec<Channel> = self
            .channels
            .iter()
            .filter(|(_, st)| {
                st.notify.timed_s > 0 && self.now >= st.last_timed + st.notify.timed_s * 1000
            })
            .map(|(&c, _)| c)
            .collect();
        for c in due {
            if let Some(st) = self.channels.get_mut(&c) {
                st.last_timed = self.now;
            }
            let lines = self.status_lines(code);
            out.push(self.frame(c, format!("@PJL USTATUS TIMED\r\n{lines}")));
        }
        out
    }

    /// When `advance` should next be called to make progress (a page due, warm-up over, a
    /// heartbeat, an I/O timeout), if anything is pending.
    pub fn next_deadline(&self) -> Option<u64> {
        let mut t: Option<u64> = None;
        let mut consider = |v: u64| t = Some(t.map_or(v, |c| c.min(v)));
        if self.now < self.ready_at {
            consider(self.ready_at);
        }
        if Self::online(self.code())
            && let Some(at) = self.queue.first().and_then(|j| j.next_page_at)
        {
            consider(at);
        }
        for (c, st) in &self.channels {
            if st.notify.timed_s > 0 {
                consider(st.last_timed + st.notify.timed_s * 1000);
            }
            if self.queue.iter().any(|j| j.channel == *c && !j.ended()) {
                consider(st.last_rx.saturating_add(self.cfg.io_timeout_ms));
            }
        }
        t
    }
}

#[cfg(test)]
mod tests;
