//! File-system facts the station relies on: atomic replacement (temporary file, fsync, rename,
//! fsync of the folder), so a reader or a restart never sees a partial file; new private files
//! (keys: mode 0600, never replacing one); the data folder's
//! disk state (free space, writable — by `statvfs` and by a probe write); and the data folder's
//! lock (one daemon per store).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file in the same folder, fsync and rename, so
/// that a reader never sees a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to a new file at `path` readable by its owner only (mode 0600), synced; an
/// existing file is never replaced (keys: losing one loses what it opens).
pub fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The state of the disk holding a folder, as the station needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DiskState {
    /// Bytes an unprivileged writer may still use.
    pub free_bytes: u64,
    /// The file system's size.
    pub total_bytes: u64,
    /// The folder can be written by this process (not mounted read-only, permissions allow).
    pub writable: bool,
}

/// Reads the state of the disk holding `dir` (one `statvfs` and one `access`: cheap enough to
/// call per request). A file system the kernel made read-only after an error (ext4's
/// `errors=remount-ro`) may still look writable here; `probe_write` finds out for sure.
pub fn disk_state(dir: &Path) -> std::io::Result<DiskState> {
    let s = rustix::fs::statvfs(dir)?;
    let writable = !s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY)
        && rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_ok();
    Ok(DiskState {
        free_bytes: s.f_bavail.saturating_mul(s.f_frsize),
        total_bytes: s.f_blocks.saturating_mul(s.f_frsize),
        writable,
    })
}

/// Creates, syncs and removes a small file in `dir`: the one sure test that the folder can be
/// written now (an ext4 file system in emergency read-only mode passes `statvfs` and `access`).
pub fn probe_write(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(format!(".pstation-probe-{}", std::process::id()));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| {
            f.write_all(b"probe")?;
            f.sync_all()
        });
    let _ = std::fs::remove_file(&path);
    result
}

/// The data folder's lock: held by the running daemon (an exclusive `flock` on
/// `station.lock`), so a second daemon on the same store, or a restore under a running one, is
/// refused. The kernel releases it when the process ends, however it ends (even `kill -9`).
#[derive(Debug)]
pub struct DataLock {
    file: std::fs::File,
}

impl DataLock {
    /// Takes the lock of `dir`, or `Ok(None)` when another process holds it.
    pub fn try_acquire(dir: &Path) -> std::io::Result<Option<Self>> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("station.lock"))?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(Self { file })),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes where the holder can be reached into the lock file (`url http://…` and
    /// `pid …` lines), for `doctor` and `support-bundle` to find the running daemon.
    pub fn announce(&self, url: &str) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        let mut f = &self.file;
        f.set_len(0)?;
        f.seek(std::io::SeekFrom::Start(0))?;
        write!(f, "pid {}\nurl {url}\n", std::process::id())?;
        f.sync_data()
    }
}

/// The URL a running daemon announced in `dir`'s lock file, if any.
pub fn announced_url(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("station.lock")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("url "))
        .map(|u| u.trim().to_owned())
}

/// Reads a text file (`-`: standard input) of at most `max` bytes (`Ok(None)` when it is
/// larger), without trusting the file's reported size (a FIFO or `/dev/zero` reports none).
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    reader.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Ok(None);
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}
