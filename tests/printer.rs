//! The PJL driver against the simulated passport printer, over TCP and over a real PTY opened
//! through `serialport`: each fault yields the right state, reasons and job outcome.
//!
//! Real time with a fast simulator (50 ms warm-up, 100 ms per booklet); no assertion on how long
//! anything took, only on what happened.

use std::sync::Arc;
use std::time::Duration;

use pstation::printer::pjl::{LinkUri as DeviceUri, PjlPrinter, transport};
use pstation::printer::{DriverSettings, Link, PrintJob, PrintOutcome};
use pstation_pjl::pcl::Bitmap;
use pstation_pjl::sim::SimConfig;
use pstation_sim::{Control, Printer, SimOptions, parse_control, serve};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) fn fast() -> SimOptions {
    SimOptions {
        printer: SimConfig {
            model: "PSTATION SIMULATED PASSPORT PRINTER".into(),
            warm_up_ms: 50,
            page_ms: 100,
            hopper: 10,
            page_count: 7,
            io_timeout_ms: 15_000,
        },
        baud: 0,
        out_dir: None,
    }
}

fn settings() -> DriverSettings {
    DriverSettings {
        connect_timeout: Duration::from_secs(5),
        reply_timeout: Duration::from_secs(5),
        write_timeout: Duration::from_secs(5),
        page_timeout: Duration::from_secs(3),
        max_pause: Duration::from_secs(20),
        heartbeat_s: 5,
    }
}

fn page() -> Bitmap {
    let mut r = Bitmap::blank(400, 60);
    for y in 10..50 {
        for x in 5..40 {
            r.bits[y * r.stride + x] = 0xA5;
        }
    }
    r
}

/// A simulator on an ephemeral TCP port; returns its URI and a control sender.
async fn tcp_sim(opts: SimOptions) -> (DeviceUri, mpsc::Sender<Control>, Arc<Printer>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let printer = Printer::new(opts);
    let (tx, rx) = mpsc::channel(16);
    let p = printer.clone();
    tokio::spawn(async move {
        if let Ok((sock, _)) = listener.accept().await {
            let _ = serve(p, sock, rx).await;
        }
    });
    (
        DeviceUri::parse(&format!("tcp://{addr}")).expect("uri"),
        tx,
        printer,
    )
}

async fn connect(uri: &DeviceUri) -> PjlPrinter {
    let stream = transport::open(uri, Duration::from_secs(5))
        .await
        .expect("open");
    PjlPrinter::attach(stream, settings())
}

async fn wait_ready(p: &mut PjlPrinter) {
    for _ in 0..100 {
        if p.status().await.expect("status").ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never ready: {:?}", p.last_status());
}

#[tokio::test]
async fn a_job_completes_and_the_identity_reads_back_over_tcp() {
    let (uri, _tx, _) = tcp_sim(fast()).await;
    let mut p = connect(&uri).await;
    let id = p.identity().await.expect("identity");
    assert_eq!(id.model, "PSTATION SIMULATED PASSPORT PRINTER");
    assert_eq!(id.page_count, Some(7));
    wait_ready(&mut p).await;
    let mut sheets = Vec::new();
    let outcome = p
        .print(
            "SMD-2026-000123-a1",
            &[page()],
            300,
            &CancellationToken::new(),
            |n| sheets.push(n),
        )
        .await;
    assert_eq!(outcome, PrintOutcome::Confirmed { pages: 1 });
    assert_eq!(sheets, [1]);
    assert_eq!(p.identity().await.expect("identity").page_count, Some(8));
}

#[tokio::test]
async fn the_station_sees_only_the_driver_trait() {
    use pstation::printer::PrinterDriver;
    let (link, _tx, _) = tcp_sim(fast()).await;
    let DeviceUri::Tcp { addr } = link else {
        panic!("a TCP simulator");
    };
    let uri = pstation::printer::parse_uri(&format!("tcp://{addr}")).expect("uri");
    let mut driver: Box<dyn PrinterDriver> = pstation::printer::open(&uri, &settings())
        .await
        .expect("open");
    assert_eq!(driver.family(), "pjl-pcl");
    let mut status = driver.subscribe();
    for _ in 0..100 {
        if driver.status().await.expect("status").ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(status.borrow_and_update().ready());
    let pages = [page()];
    let job = PrintJob {
        name: "J-trait",
        job_id: "J",
        booklet: "X1",
        pdf: b"%PDF-",
        pages: &pages,
        dpi: 300,
    };
    let outcome = driver
        .print(job, &CancellationToken::new(), Box::new(|_| {}))
        .await;
    assert_eq!(outcome, PrintOutcome::Confirmed { pages: 1 });
}

#[tokio::test]
async fn an_idle_printers_change_arrives_unasked() {
    let (uri, _tx, printer) = tcp_sim(fast()).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    let written = p.link_bytes().written;
    // Nothing changes: the wait ends at its limit.
    assert!(!p.wait_for_change(Duration::from_millis(200)).await);
    let waiting = tokio::spawn(async move {
        let changed = p.wait_for_change(Duration::from_secs(60)).await;
        (changed, p)
    });
    printer
        .control(&Control::Fault(pstation_pjl::sim::Fault::CoverOpen))
        .await;
    let (changed, p) = waiting.await.expect("the wait");
    assert!(changed, "the cover reported itself");
    assert!(
        p.last_status().has("cover-open-error"),
        "{:?}",
        p.last_status()
    );
    // The driver heard it without asking: not one byte went to the printer meanwhile.
    assert_eq!(p.link_bytes().written, written);
}

#[tokio::test]
async fn a_cover_open_before_the_job_means_not_started_and_clearing_recovers() {
    let (uri, tx, _) = tcp_sim(fast()).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    tx.send(Control::Fault(pstation_pjl::sim::Fault::CoverOpen))
        .await
        .expect("control");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let outcome = p
        .print("J-cover", &[page()], 300, &CancellationToken::new(), |_| {})
        .await;
    assert!(
        matches!(outcome, PrintOutcome::FailedBeforeStart { ref reason } if reason.contains("cover-open-error")),
        "{outcome:?}"
    );
    assert!(p.last_status().has("cover-open-error"));
    tx.send(Control::Clear).await.expect("control");
    wait_ready(&mut p).await;
    assert_eq!(
        p.print("J-cover", &[page()], 300, &CancellationToken::new(), |_| {})
            .await,
        PrintOutcome::Confirmed { pages: 1 }
    );
}

#[tokio::test]
async fn a_cover_opened_mid_job_pauses_it_and_closing_it_completes_it() {
    let mut opts = fast();
    opts.printer.page_ms = 600;
    let (uri, tx, _) = tcp_sim(opts).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    let control = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        tx.send(Control::Fault(pstation_pjl::sim::Fault::CoverOpen))
            .await
            .expect("control");
        tokio::time::sleep(Duration::from_millis(400)).await;
        tx.send(Control::Clear).await.expect("control");
        tx
    });
    let outcome = p
        .print(
            "J-mid",
            &[page(), page()],
            300,
            &CancellationToken::new(),
            |_| {},
        )
        .await;
    assert_eq!(outcome, PrintOutcome::Confirmed { pages: 2 });
    let _ = control.await;
}

#[tokio::test]
async fn a_jam_makes_the_outcome_unknown() {
    let (uri, tx, _) = tcp_sim(fast()).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    tx.send(parse_control("jam@page1").expect("control"))
        .await
        .expect("control");
    let clear = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        tx.send(Control::Clear).await.expect("control");
        tx
    });
    let outcome = p
        .print("J-jam", &[page()], 300, &CancellationToken::new(), |_| {})
        .await;
    assert!(
        matches!(outcome, PrintOutcome::Unknown { .. }),
        "{outcome:?}"
    );
    let _ = clear.await;
}

#[tokio::test]
async fn a_power_cycle_mid_job_makes_the_outcome_unknown() {
    let mut opts = fast();
    opts.printer.page_ms = 400;
    let (uri, tx, _) = tcp_sim(opts).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    let cycle = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        tx.send(Control::Fault(pstation_pjl::sim::Fault::PowerCycle))
            .await
            .expect("control");
        tx
    });
    let outcome = p
        .print("J-power", &[page()], 300, &CancellationToken::new(), |_| {})
        .await;
    assert!(
        matches!(outcome, PrintOutcome::Unknown { .. }),
        "{outcome:?}"
    );
    let _ = cycle.await;
}

#[tokio::test]
async fn an_unplugged_cable_mid_job_makes_the_outcome_unknown_and_the_link_lost() {
    let mut opts = fast();
    opts.printer.page_ms = 1_000;
    let (uri, tx, _) = tcp_sim(opts).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    let drop = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send(Control::DropLink).await.expect("control");
        tx
    });
    let outcome = p
        .print(
            "J-unplug",
            &[page()],
            300,
            &CancellationToken::new(),
            |_| {},
        )
        .await;
    assert!(
        matches!(outcome, PrintOutcome::Unknown { ref reason } if reason.contains("link lost")),
        "{outcome:?}"
    );
    assert_eq!(p.last_status().link, Link::Lost);
    assert!(p.last_status().has("offline-report"));
    let _ = drop.await;
}

#[tokio::test]
async fn a_job_completes_over_a_real_pty_opened_through_serialport() {
    let (master, slave) = tokio_serial::SerialStream::pair().expect("pty pair");
    let path = {
        use tokio_serial::SerialPort;
        slave.name().expect("slave path")
    };
    let printer = Printer::new(fast());
    let (_tx, rx) = mpsc::channel(4);
    let server = tokio::spawn(async move { serve(printer, master, rx).await });
    let uri = DeviceUri::parse(&format!("serial://{path}?baud=115200&flow=none")).expect("uri");
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    assert_eq!(
        p.print("J-pty", &[page()], 300, &CancellationToken::new(), |_| {})
            .await,
        PrintOutcome::Confirmed { pages: 1 }
    );
    // A second open of the same port is refused: one owner per printer.
    let second = transport::open(&uri, Duration::from_secs(2)).await;
    assert!(
        matches!(second, Err(ref e) if e.code == "device-busy"),
        "{:?}",
        second.err()
    );
    drop(slave);
    server.abort();
}

#[tokio::test]
async fn every_misreported_end_is_a_cancellation_or_unknown_never_completed() {
    for (word, expect) in [
        ("end=user-canceled", "canceled-at-device"),
        ("end=host-canceled", "canceled-by-host"),
        ("end=resource-canceled", "unknown"),
        ("end=wrong-name", "unknown"),
        ("end=wrong-pages", "unknown"),
    ] {
        let (uri, tx, _) = tcp_sim(fast()).await;
        let mut p = connect(&uri).await;
        wait_ready(&mut p).await;
        tx.send(parse_control(word).expect("control"))
            .await
            .expect("control");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let outcome = p
            .print("J-end", &[page()], 300, &CancellationToken::new(), |_| {})
            .await;
        let got = match outcome {
            PrintOutcome::CanceledAtDevice => "canceled-at-device",
            PrintOutcome::CanceledByHost => "canceled-by-host",
            PrintOutcome::Unknown { .. } => "unknown",
            _ => "other",
        };
        assert_eq!(got, expect, "{word}: {outcome:?}");
    }
}

#[tokio::test]
async fn ink_low_is_a_warning_offline_refuses_to_start_and_garbled_replies_are_survived() {
    let (uri, tx, _) = tcp_sim(fast()).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    tx.send(parse_control("ink-low").expect("control"))
        .await
        .expect("control");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let status = p.status().await.expect("status");
    assert!(
        status.ready() && status.has("toner-low-report"),
        "{status:?}"
    );
    assert_eq!(
        p.print("J-ink", &[page()], 300, &CancellationToken::new(), |_| {})
            .await,
        PrintOutcome::Confirmed { pages: 1 }
    );

    tx.send(parse_control("garble").expect("control"))
        .await
        .expect("control");
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The garbled reply is dropped; the next requests and the job go through.
    let _ = p.status().await;
    wait_ready(&mut p).await;
    assert_eq!(
        p.print(
            "J-garble",
            &[page()],
            300,
            &CancellationToken::new(),
            |_| {}
        )
        .await,
        PrintOutcome::Confirmed { pages: 1 }
    );

    tx.send(parse_control("offline").expect("control"))
        .await
        .expect("control");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let outcome = p
        .print("J-off", &[page()], 300, &CancellationToken::new(), |_| {})
        .await;
    assert!(
        matches!(outcome, PrintOutcome::FailedBeforeStart { ref reason } if reason.contains("offline-report")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_stalled_printer_makes_the_outcome_unknown() {
    let (uri, tx, _) = tcp_sim(fast()).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    tx.send(Control::Stall).await.expect("control");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let outcome = p
        .print("J-stall", &[page()], 300, &CancellationToken::new(), |_| {})
        .await;
    // Either the status request times out before the job (nothing sent) or the END never comes.
    assert!(
        matches!(
            outcome,
            PrintOutcome::FailedBeforeStart { .. } | PrintOutcome::Unknown { .. }
        ),
        "{outcome:?}"
    );
    assert_ne!(outcome, PrintOutcome::Confirmed { pages: 1 });
}

#[tokio::test]
async fn the_driver_reopens_a_device_that_appears_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("ttyPRN");
    let uri = DeviceUri::parse(&format!("serial://{}?flow=none", link.display())).expect("uri");
    let link2 = link.clone();
    // The printer is plugged in 300 ms after the station starts looking for it.
    let plug = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (master, slave) = tokio_serial::SerialStream::pair().expect("pty pair");
        let path = {
            use tokio_serial::SerialPort;
            slave.name().expect("slave path")
        };
        std::os::unix::fs::symlink(&path, &link2).expect("symlink");
        let (_tx, rx) = mpsc::channel(4);
        let _ = serve(Printer::new(fast()), master, rx).await;
        drop(slave);
    });
    let stream = transport::open_with_backoff(
        &uri,
        Duration::from_secs(2),
        Duration::from_millis(400),
        Duration::from_secs(10),
    )
    .await
    .expect("opened once plugged in");
    let mut p = PjlPrinter::attach(stream, settings());
    wait_ready(&mut p).await;
    assert_eq!(
        p.print(
            "J-replug",
            &[page()],
            300,
            &CancellationToken::new(),
            |_| {}
        )
        .await,
        PrintOutcome::Confirmed { pages: 1 }
    );
    plug.abort();
}

#[tokio::test]
async fn an_online_warning_from_the_start_still_counts_as_ready() {
    // Regression (review): warm-up sets Stopped; a later 10006 with ONLINE=TRUE must mean ready.
    let mut opts = fast();
    opts.printer.hopper = 1;
    let (uri, tx, _) = tcp_sim(opts).await;
    tx.send(parse_control("ink-low").expect("control"))
        .await
        .expect("control");
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    // The hopper's last booklet prints too.
    assert_eq!(
        p.print("J-last", &[page()], 300, &CancellationToken::new(), |_| {})
            .await,
        PrintOutcome::Confirmed { pages: 1 }
    );
}

/// A page that compresses badly (a dense pseudo-random pattern), so its data takes long to send.
fn heavy_page() -> Bitmap {
    let mut r = Bitmap::blank(1600, 1000);
    let mut x: u32 = 0x1234_5678;
    for b in &mut r.bits {
        // xorshift: deterministic noise.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    r
}

#[tokio::test]
async fn a_cancel_before_the_first_byte_sends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = fast();
    opts.out_dir = Some(dir.path().to_owned());
    let (uri, _tx, printer) = tcp_sim(opts).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let outcome = p.print("J-cancel0", &[page()], 300, &cancel, |_| {}).await;
    assert_eq!(outcome, PrintOutcome::CanceledByHost);
    // The printer never heard of it: no booklet used, no job logged, and the next job prints.
    assert_eq!(printer.hopper().await, 10);
    assert_eq!(
        p.print("J-after", &[page()], 300, &CancellationToken::new(), |_| {})
            .await,
        PrintOutcome::Confirmed { pages: 1 }
    );
    let log = std::fs::read_to_string(dir.path().join("jobs.jsonl")).expect("job log");
    assert!(!log.contains("J-cancel0"), "{log}");
}

#[tokio::test]
async fn a_cancel_while_sending_closes_the_job_and_never_claims_nothing_printed_when_a_sheet_came_out()
 {
    // Over a real PTY paced at 115200 baud the heavy page takes about 20 s to send; the PTY
    // buffers some KB, so the driver is still sending when the cancel comes, and what it already
    // wrote (the job header and the first rows) reaches the printer, at line speed.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = fast();
    opts.baud = 115_200;
    opts.out_dir = Some(dir.path().to_owned());
    let (master, slave) = tokio_serial::SerialStream::pair().expect("pty pair");
    let path = {
        use tokio_serial::SerialPort;
        slave.name().expect("slave path")
    };
    let printer = Printer::new(opts);
    let sim = printer.clone();
    let server = tokio::spawn(async move { serve(sim, master, mpsc::channel(1).1).await });
    let uri = DeviceUri::parse(&format!("serial://{path}?baud=115200&flow=none")).expect("uri");
    let stream = transport::open(&uri, Duration::from_secs(5))
        .await
        .expect("open");
    // What is already in the PTY buffer drains at line speed before the END can come.
    let mut p = PjlPrinter::attach(
        stream,
        DriverSettings {
            page_timeout: Duration::from_secs(60),
            ..settings()
        },
    );
    wait_ready(&mut p).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let outcome = p
        .print("J-cancel1", &[heavy_page()], 300, &cancel, |_| {})
        .await;
    // The partly drawn page is ejected by the printer (PCL semantics): the driver must say so.
    assert!(
        matches!(outcome, PrintOutcome::Unknown { ref reason } if reason.contains("1 sheet(s) out")),
        "{outcome:?}"
    );
    // The printer is not blocked by the cut job: the next one completes.
    assert_eq!(
        p.print("J-next", &[page()], 300, &CancellationToken::new(), |_| {})
            .await,
        PrintOutcome::Confirmed { pages: 1 }
    );
    let log = std::fs::read_to_string(dir.path().join("jobs.jsonl")).expect("job log");
    let jobs: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(jobs.len(), 2, "{log}");
    assert_eq!(jobs[0]["name"], "J-cancel1");
    assert_eq!(jobs[0]["ending"], "eoj");
    assert_eq!(jobs[0]["pages_printed"], 1);
    assert!(
        jobs[0]["bytes"].as_u64().expect("bytes") < 100_000,
        "the rest of the data was never sent: {log}"
    );
    assert_eq!(jobs[1]["name"], "J-next");
    server.abort();
    drop(slave);
}

#[tokio::test]
async fn two_hosts_on_one_printer_each_hear_only_their_own_replies_and_jobs() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let printer = Printer::new(fast());
    let p2 = printer.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let p = p2.clone();
            tokio::spawn(async move { serve(p, sock, mpsc::channel(1).1).await });
        }
    });
    // Host B: a raw connection that asks for device status and listens.
    let mut b = tokio::net::TcpStream::connect(addr).await.expect("connect");
    {
        use tokio::io::AsyncWriteExt;
        let req = pstation_pjl::pjl::request("USTATUS DEVICE = ON", "HOST-B").expect("request");
        b.write_all(&req).await.expect("write");
    }
    // Host A prints.
    let uri = DeviceUri::parse(&format!("tcp://{addr}")).expect("uri");
    let mut a = connect(&uri).await;
    wait_ready(&mut a).await;
    assert_eq!(
        a.print(
            "J-host-a",
            &[page()],
            300,
            &CancellationToken::new(),
            |_| {}
        )
        .await,
        PrintOutcome::Confirmed { pages: 1 }
    );
    // Host B stops listening only after its own echo and a settle time past A's job.
    let mut parser = pstation_pjl::pjl::ReplyParser::new();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        use tokio::io::AsyncReadExt;
        match tokio::time::timeout(Duration::from_millis(300), b.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend(parser.feed(&buf[..n])),
            _ => break,
        }
    }
    use pstation_pjl::pjl::Message;
    assert!(seen.contains(&Message::Echo("HOST-B".into())), "{seen:?}");
    assert!(
        !seen.iter().any(|m| matches!(
            m,
            Message::JobStart { .. } | Message::JobEnd(_) | Message::Page(_)
        ) || matches!(m, Message::Echo(t) if t != "HOST-B")),
        "host B got host A's messages: {seen:?}"
    );
}

#[tokio::test]
async fn the_transfer_time_is_the_printers_read_not_the_socket_write() {
    // Issue 16 #9: over TCP the kernel takes a job at once; the simulator reads it at 115200
    // baud (11,520 bytes/s). The recorded transfer ends when the printer echoed the token after
    // the job's last byte, so it cannot be shorter than the bytes at that rate.
    let mut opts = fast();
    opts.baud = 115_200;
    let (uri, _tx, _) = tcp_sim(opts).await;
    let mut p = connect(&uri).await;
    wait_ready(&mut p).await;
    let mut r = Bitmap::blank(800, 120);
    let mut x: u32 = 0x1234_5678;
    for b in &mut r.bits {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let outcome = p
        .print("TRANSFER-1", &[r], 300, &CancellationToken::new(), |_| {})
        .await;
    assert_eq!(outcome, PrintOutcome::Confirmed { pages: 1 });
    let t = p.last_transfer().expect("a transfer");
    assert!(t.bytes > 10_000, "{t:?}");
    let at_line_rate = Duration::from_secs_f64(t.bytes as f64 * 10.0 / 115_200.0);
    let read = t.read_by_printer.expect("the printer echoed the end token");
    assert!(
        read >= at_line_rate.mul_f64(0.9),
        "{read:?} for {} bytes: the printer cannot read faster than {at_line_rate:?}",
        t.bytes
    );
}
