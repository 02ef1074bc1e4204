//! Byte-stream transports selected by a device URI: serial (`serialport` via `tokio-serial`, no
//! libudev), the USB printer class node opened as a file, and raw TCP. Every failure carries a
//! stable code and what to try.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use pstation_printer_api::OpenError;

use super::link::{Flow, LinkUri, Parity};

/// Anything the driver can talk through.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

fn from_io(what: &str, e: &std::io::Error) -> OpenError {
    use std::io::ErrorKind::*;
    let (code, hint) = match e.kind() {
        PermissionDenied => (
            "device-permission",
            "add the station's user to the dialout (serial) or lp (usblp) group, or check the udev rule",
        ),
        NotFound => (
            "device-not-found",
            "check the cable and the device path; prefer /dev/serial/by-id/... or the udev name",
        ),
        ConnectionRefused | TimedOut | HostUnreachable | NetworkUnreachable => (
            "device-unreachable",
            "check that the printer (or simulator) is on and listening on that host and port",
        ),
        WouldBlock | ResourceBusy | AddrInUse => (
            "device-busy",
            "another program holds the device; stop it (only one may own a printer)",
        ),
        _ => ("device-io", "check the cable, power and the device URI"),
    };
    OpenError {
        code,
        message: format!("{what}: {e}"),
        hint,
    }
}

/// Opens the transport of `uri` (exclusive for serial ports), bounded by `timeout`.
pub async fn open(uri: &LinkUri, timeout: Duration) -> Result<Box<dyn Stream>, OpenError> {
    let opened = tokio::time::timeout(timeout, open_inner(uri)).await;
    opened.unwrap_or_else(|_| {
        Err(OpenError {
            code: "device-timeout",
            message: format!(
                "opening the device took longer than {} s",
                timeout.as_secs()
            ),
            hint: "check the cable and power; a USB device may be resetting",
        })
    })
}

/// The USB printer-class node is not a tty and not pollable, so it gets two named threads doing
/// blocking reads and writes, bridged to an in-memory duplex stream: reads and writes never block
/// each other, and no blocking call runs on the async runtime. When the driver drops its end,
/// the writer thread ends; the reader thread ends at the device's next read error or EOF.
fn usblp(path: &std::path::Path) -> std::io::Result<Box<dyn Stream>> {
    use std::io::{Read, Write};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut device_r = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let mut device_w = device_r.try_clone()?;
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (mut theirs_rd, mut theirs_wr) = tokio::io::split(theirs);
    let handle = tokio::runtime::Handle::current();
    let handle_w = handle.clone();
    std::thread::Builder::new()
        .name("usblp-reader".to_owned())
        .spawn(move || {
            let mut buf = vec![0u8; 4096];
            loop {
                match device_r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if handle.block_on(theirs_wr.write_all(&buf[..n])).is_err() {
                            break;
                        }
                    }
                }
            }
        })?;
    std::thread::Builder::new()
        .name("usblp-writer".to_owned())
        .spawn(move || {
            let mut buf = vec![0u8; 4096];
            loop {
                match handle_w.block_on(theirs_rd.read(&mut buf)) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if device_w
                            .write_all(&buf[..n])
                            .and_then(|()| device_w.flush())
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        })?;
    Ok(Box::new(ours))
}

/// Opens `uri`, retrying with exponential back-off (100 ms doubling to `max_delay`) while the
/// device is missing, unreachable or busy — an unplugged cable, a printer switched off, a USB
/// device re-enumerating — until `give_up` has passed. Permission and URI problems fail at once
/// (retrying cannot fix them).
pub async fn open_with_backoff(
    uri: &LinkUri,
    per_attempt: Duration,
    max_delay: Duration,
    give_up: Duration,
) -> Result<Box<dyn Stream>, OpenError> {
    let deadline = tokio::time::Instant::now() + give_up;
    let mut delay = Duration::from_millis(100);
    loop {
        match open(uri, per_attempt).await {
            Ok(s) => return Ok(s),
            Err(e) if e.code == "device-permission" => return Err(e),
            Err(e) => {
                let now = tokio::time::Instant::now();
                if now + delay > deadline {
                    return Err(e);
                }
                tracing::debug!(
                    code = e.code,
                    delay_ms = delay.as_millis() as u64,
                    "device not available; retrying"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(max_delay);
            }
        }
    }
}

async fn open_inner(uri: &LinkUri) -> Result<Box<dyn Stream>, OpenError> {
    match uri {
        LinkUri::Serial {
            path,
            baud,
            flow,
            parity,
            data_bits,
            stop_bits,
        } => {
            use tokio_serial::SerialPortBuilderExt;
            let display = path.display().to_string();
            let builder = tokio_serial::new(display.clone(), *baud)
                .flow_control(match flow {
                    Flow::RtsCts => tokio_serial::FlowControl::Hardware,
                    Flow::None => tokio_serial::FlowControl::None,
                })
                .parity(match parity {
                    Parity::None => tokio_serial::Parity::None,
                    Parity::Even => tokio_serial::Parity::Even,
                    Parity::Odd => tokio_serial::Parity::Odd,
                })
                .data_bits(if *data_bits == 7 {
                    tokio_serial::DataBits::Seven
                } else {
                    tokio_serial::DataBits::Eight
                })
                .stop_bits(if *stop_bits == 2 {
                    tokio_serial::StopBits::Two
                } else {
                    tokio_serial::StopBits::One
                });
            match builder.open_native_async() {
                Ok(port) => Ok(Box::new(port)),
                Err(e) => {
                    let io: std::io::Error = e.into();
                    let mut err = from_io(&display, &io);
                    if io.to_string().contains("lock") {
                        err.code = "device-busy";
                        err.hint = "another program holds the device; stop it (only one may own a printer)";
                    }
                    Err(err)
                }
            }
        }
        LinkUri::Usblp { path } => {
            usblp(path).map_err(|e| from_io(&path.display().to_string(), &e))
        }
        LinkUri::Tcp { addr } => tokio::net::TcpStream::connect(addr)
            .await
            .map(|s| {
                let _ = s.set_nodelay(true);
                Box::new(s) as Box<dyn Stream>
            })
            .map_err(|e| from_io(addr, &e)),
    }
}

/// Sends a pattern and reads it back through a loopback plug; returns bytes per second.
pub async fn loopback(uri: &LinkUri, bytes: usize) -> Result<f64, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = open(uri, Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    let (mut rd, mut wr) = tokio::io::split(stream);
    // Every byte value, in an order that is not a simple counter, so swapped or dropped bytes
    // show up.
    let pattern: Vec<u8> = (0..bytes)
        .map(|i| ((i * 7 + i / 256) % 256) as u8)
        .collect();
    let start = std::time::Instant::now();
    let expected = pattern.clone();
    let writer = tokio::spawn(async move {
        for chunk in pattern.chunks(1024) {
            wr.write_all(chunk).await?;
        }
        wr.flush().await?;
        Ok::<_, std::io::Error>(wr)
    });
    let mut got = 0usize;
    let mut buf = vec![0u8; 4096];
    while got < bytes {
        let n = match tokio::time::timeout(Duration::from_secs(5), rd.read(&mut buf)).await {
            Err(_) => {
                return Err(format!(
                    "loopback-timeout: {got} of {bytes} bytes came back — fit the loopback plug (TX to RX, RTS to CTS) and check the baud rate"
                ));
            }
            Ok(Err(e)) => return Err(format!("link-lost: {e}")),
            Ok(Ok(0)) => return Err("link-lost: the device closed (read 0 bytes)".to_owned()),
            Ok(Ok(n)) => n,
        };
        for (i, &b) in buf[..n].iter().enumerate() {
            let at = got + i;
            if expected.get(at) != Some(&b) {
                return Err(format!(
                    "loopback-mismatch: byte {at}: sent 0x{:02x}, got 0x{b:02x} — check parity, data bits and flow control (never XON/XOFF)",
                    expected.get(at).copied().unwrap_or(0)
                ));
            }
        }
        got += n;
    }
    let _ = writer.await;
    Ok(bytes as f64 / start.elapsed().as_secs_f64().max(1e-9))
}
