//! The printer-state-reasons vocabulary in words: what each keyword means to a person (a short
//! English label for technicians' lines) and what the operator should do about it, in Bahasa
//! Indonesia and English. One table, read by the daemon's printer view, the console, doctor and
//! diagnostics, so a condition is named the same way everywhere.

/// The reasons of a printer that is busy getting ready by itself (PJL 10003-10005, 10007): a
/// job waits for them to pass; nobody needs to act.
pub const SETTLING: &[&str] = &[
    "warming-up-report",
    "self-test-report",
    "resetting-report",
    "canceling-job-report",
];

/// One reason keyword in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    /// A few English words for a technician's line (`cover open`).
    pub label: &'static str,
    /// What the operator does, in Bahasa Indonesia and English; `None` when nothing is to be
    /// done (a warning that needs no action now).
    pub advice: Option<(&'static str, &'static str)>,
}

/// The words for a reason keyword (its `-report`/`-warning`/`-error` suffix included).
pub fn words(reason: &str) -> Words {
    let w = |label, advice| Words { label, advice };
    match reason {
        "cover-open-error" | "door-open-error" => w(
            "cover open",
            Some(("Tutup penutup printer", "Close the printer cover")),
        ),
        "media-jam-error" => w(
            "booklet jammed",
            Some((
                "Buka printer, keluarkan buku paspor yang macet, lalu tutup kembali",
                "Open the printer, remove the jammed booklet, then close it",
            )),
        ),
        "media-needed-error" | "media-empty-error" => w(
            "out of booklets",
            Some((
                "Isi buku paspor kosong ke printer",
                "Load blank booklets into the printer",
            )),
        ),
        "media-empty-report" => w("an input tray is empty", None),
        "input-tray-missing-report" => w("an input tray is missing", None),
        "output-area-full-error" => w(
            "output tray full",
            Some((
                "Ambil buku paspor dari baki keluaran",
                "Take the booklets out of the output tray",
            )),
        ),
        "offline-report" => w(
            "offline",
            Some((
                "Periksa kabel dan daya printer, lalu tekan tombol online",
                "Check the printer's cable and power, then press online",
            )),
        ),
        "connecting-to-device-report" => w(
            "connecting",
            Some(("Menghubungkan ke printer…", "Connecting to the printer…")),
        ),
        "warming-up-report" => w(
            "warming up",
            Some((
                "Printer sedang pemanasan; tunggu sebentar, pencetakan mulai sendiri",
                "The printer is warming up; wait a moment, printing starts by itself",
            )),
        ),
        "self-test-report" => w(
            "running its self test",
            Some((
                "Printer sedang uji mandiri; tunggu sebentar",
                "The printer is running its self test; wait a moment",
            )),
        ),
        "resetting-report" => w(
            "resetting",
            Some((
                "Printer sedang diatur ulang; tunggu sebentar",
                "The printer is resetting; wait a moment",
            )),
        ),
        "canceling-job-report" => w(
            "cancelling a job",
            Some((
                "Printer sedang membatalkan pekerjaan; tunggu sebentar",
                "The printer is cancelling a job; wait a moment",
            )),
        ),
        "warm-up-too-long-error" => w(
            "warming up for too long",
            Some((
                "Printer belum siap setelah lama pemanasan: matikan lalu nyalakan, atau hubungi teknisi",
                "The printer has not finished warming up: switch it off and on, or call a technician",
            )),
        ),
        "sleep-report" => w("asleep (the next job wakes it)", None),
        "power-save-report" => w("in power save (the next job wakes it)", None),
        "toner-low-report" | "marker-supply-low-report" => w(
            "ink low",
            Some((
                "Tinta hampir habis; siapkan pengganti",
                "Ink is low; have a replacement ready",
            )),
        ),
        "toner-low-error" => w(
            "ink low, stopped",
            Some((
                "Tinta habis: ganti kartrid, lalu tekan tombol lanjut di printer",
                "Ink is out: replace the cartridge, then press continue on the printer",
            )),
        ),
        "marker-supply-empty-error" => w(
            "no ink cartridge",
            Some((
                "Pasang kartrid tinta",
                "Put an ink cartridge in the printer",
            )),
        ),
        "other-error" => w(
            "needs service",
            Some((
                "Printer perlu servis; lihat panel printer dan hubungi teknisi",
                "The printer needs service; look at its panel and call a technician",
            )),
        ),
        "other-warning" | "other-report" => w(
            "a condition shown on its panel",
            Some(("Lihat panel printer", "Look at the printer's panel")),
        ),
        _ => w("a condition this station does not know", None),
    }
}

/// The reasons as a technician's line: `cover open, ink low` (`ready` when there are none).
pub fn describe<S: AsRef<str>>(reasons: &[S]) -> String {
    if reasons.is_empty() {
        return "no condition reported".to_owned();
    }
    reasons
        .iter()
        .map(|r| words(r.as_ref()).label)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The reasons with their keywords, for technicians' lines and logs:
/// `cover open (cover-open-error), ink low (toner-low-report)`.
pub fn describe_with_keywords<S: AsRef<str>>(reasons: &[S]) -> String {
    if reasons.is_empty() {
        return "no condition reported".to_owned();
    }
    reasons
        .iter()
        .map(|r| {
            let r = r.as_ref();
            format!("{} ({r})", words(r).label)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_words_with_or_without_their_keywords() {
        assert_eq!(
            describe(&["cover-open-error", "toner-low-report"]),
            "cover open, ink low"
        );
        assert_eq!(
            describe_with_keywords(&[String::from("media-jam-error")]),
            "booklet jammed (media-jam-error)"
        );
        assert_eq!(describe::<&str>(&[]), "no condition reported");
        assert!(words("media-jam-error").advice.is_some());
        assert!(words("no-such-reason").advice.is_none());
    }
}
