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
    let staged = Staged::write(path, bytes)?;
    let dir = staged.dir();
    staged.publish()?;
    sync_dir(&dir);
    Ok(())
}

/// A file written whole under a temporary name beside its final path, not yet visible there:
/// `sync` puts its bytes on disk, `publish` renames it into place (then `sync_dir` makes the
/// name durable — once for many files), dropping it removes it. `write_atomic` in steps, for
/// batches: written all, then synced all (on a journalling file system the first sync commits
/// every file written before it, so the others cost little), then published.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    /// Its bytes are on disk. (No file stays open meanwhile: a batch may stage thousands.)
    synced: bool,
}

impl Staged {
    /// Writes `bytes` under a temporary name unique to this process and call (not synced yet).
    pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<Self> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let staged = Self {
            tmp: folder_of(path).join(format!(".{name}.tmp-{}-{n}", std::process::id())),
            path: path.to_owned(),
            synced: false,
        };
        std::fs::File::create(&staged.tmp)?.write_all(bytes)?;
        Ok(staged)
    }

    /// Puts the file's bytes on disk (before `publish`).
    pub fn sync(&mut self) -> std::io::Result<()> {
        if !self.synced {
            std::fs::File::open(&self.tmp)?.sync_all()?;
            self.synced = true;
        }
        Ok(())
    }

    /// Notes that `sync_file_system` has put the file's bytes on disk since it was written.
    pub fn synced_with_file_system(&mut self) {
        self.synced = true;
    }

    /// The folder the file goes into.
    pub fn dir(&self) -> PathBuf {
        folder_of(&self.path)
    }

    /// Syncs the file (when `sync` was not called) and renames it into place, atomically
    /// replacing what was there.
    pub fn publish(mut self) -> std::io::Result<()> {
        self.sync()?;
        std::fs::rename(&self.tmp, &self.path)?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Syncs a folder, so that the names renamed into it are on disk (best effort: some file
/// systems cannot sync a folder, and the files themselves are synced already).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Puts every file written on the file system holding `dir` on disk, in one go (`syncfs`): for a
/// batch of new files, one commit instead of one per file.
pub fn sync_file_system(dir: &Path) -> std::io::Result<()> {
    let d = std::fs::File::open(dir)?;
    rustix::fs::syncfs(&d)?;
    Ok(())
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
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
