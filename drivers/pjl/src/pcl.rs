//! PCL 5 raster graphics: the page encoder the driver sends and the decoder the simulator uses.
//!
//! Design: a 1-bit page (`Bitmap`, rows packed MSB first, 1 = ink) becomes one raster block.
//! Every row is compressed with TIFF PackBits (mode 2) and with delta row (mode 3) against the
//! seed row, and the shorter is sent, counting the 5-byte mode switch as a penalty (as
//! Ghostscript's `ljet4` driver does). Runs of blank rows become one `ESC*b#Y` skip; the row
//! after a skip is always sent in mode 2, so the result does not depend on whether the printer
//! clears its seed row on a skip (some do not).

use thiserror::Error;

const ESC: u8 = 0x1B;
const FF: u8 = 0x0C;

pub use pstation_printer_api::Bitmap;

/// TIFF PackBits (PCL compression mode 2).
pub fn packbits(row: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < row.len() {
        // A run of at least 3 equal bytes is worth a repeat code.
        let mut run = 1;
        while i + run < row.len() && run < 128 && row[i + run] == row[i] {
            run += 1;
        }
        if run >= 3 {
            out.push((1i16 - run as i16) as i8 as u8);
            out.push(row[i]);
            i += run;
            continue;
        }
        // Literal bytes up to the next run of 3 (or 128 bytes).
        let start = i;
        while i < row.len() && i - start < 128 {
            if i + 2 < row.len() && row[i] == row[i + 1] && row[i] == row[i + 2] {
                break;
            }
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&row[start..i]);
    }
}

/// Delta row (PCL compression mode 3): the changes of `row` against `seed` (same length).
pub fn delta_row(row: &[u8], seed: &[u8], out: &mut Vec<u8>) {
    let mut last = 0; // position after the previous replacement
    let mut i = 0;
    while i < row.len() {
        if row[i] == seed.get(i).copied().unwrap_or(0) {
            i += 1;
            continue;
        }
        let start = i;
        while i < row.len() && i - start < 8 && row[i] != seed.get(i).copied().unwrap_or(0) {
            i += 1;
        }
        let count = i - start;
        let offset = start - last;
        let field = offset.min(31);
        out.push((((count - 1) as u8) << 5) | field as u8);
        if offset >= 31 {
            let mut rem = offset - 31;
            while rem >= 255 {
                out.push(255);
                rem -= 255;
            }
            out.push(rem as u8);
        }
        out.extend_from_slice(&row[start..i]);
        last = i;
    }
}

fn escape(out: &mut Vec<u8>, group: &[u8], value: usize, terminator: u8) {
    out.push(ESC);
    out.extend_from_slice(group);
    out.extend_from_slice(value.to_string().as_bytes());
    out.push(terminator);
}

/// How a page was encoded (for metrics and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeStats {
    /// Rows sent in mode 2.
    pub rows_mode2: u32,
    /// Rows sent in mode 3.
    pub rows_mode3: u32,
    /// Blank rows skipped.
    pub rows_skipped: u32,
}

/// Encodes one page at `dpi` as a complete PCL page: reset, resolution, raster block, form feed.
pub fn encode_page(page: &Bitmap, dpi: u32, out: &mut Vec<u8>) -> EncodeStats {
    let mut stats = EncodeStats::default();
    out.extend_from_slice(&[ESC, b'E']);
    escape(out, b"&l", 0, b'O'); // portrait
    escape(out, b"*t", dpi as usize, b'R');
    escape(out, b"*r", 0, b'F'); // follow the logical page orientation
    escape(out, b"*r", page.width as usize, b'S');
    escape(out, b"*r", page.height as usize, b'T');
    escape(out, b"*p", 0, b'X');
    escape(out, b"*p", 0, b'Y');
    escape(out, b"*r", 1, b'A');
    let mut seed = vec![0u8; page.stride];
    let mut mode = 0u8;
    let mut blank = 0usize;
    let mut after_skip = false;
    let (mut m2, mut m3) = (
        Vec::with_capacity(page.stride + 8),
        Vec::with_capacity(page.stride + 8),
    );
    for y in 0..page.height {
        let row = page.row(y);
        if row.iter().all(|&b| b == 0) {
            blank += 1;
            continue;
        }
        if blank > 0 {
            escape(out, b"*b", blank, b'Y');
            stats.rows_skipped += blank as u32;
            blank = 0;
            seed.iter_mut().for_each(|b| *b = 0);
            after_skip = true;
        }
        let trimmed = &row[..row.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)];
        m2.clear();
        packbits(trimmed, &mut m2);
        m3.clear();
        delta_row(row, &seed, &mut m3);
        let penalty = |m: u8| if mode == m { 0 } else { 5 };
        let use3 = !after_skip && m3.len() + penalty(3) < m2.len() + penalty(2);
        let (want, data) = if use3 { (3, &m3) } else { (2, &m2) };
        if mode != want {
            escape(out, b"*b", want as usize, b'M');
            mode = want;
        }
        escape(out, b"*b", data.len(), b'W');
        out.extend_from_slice(data);
        if use3 {
            stats.rows_mode3 += 1;
        } else {
            stats.rows_mode2 += 1;
        }
        seed.copy_from_slice(row);
        after_skip = false;
    }
    out.extend_from_slice(&[ESC, b'*', b'r', b'C']);
    out.push(FF);
    stats
}

/// Encodes a whole job's pages at `dpi`: each page as `encode_page` makes it (it opens with a
/// reset), and a final reset (`ESC E`) after the last form feed, so the job is bracketed by a
/// reset at both ends as HP's PCL/PJL technical reference asks — nothing one job sets (mode,
/// resolution, margins) is left for the next. The statistics are summed over the pages.
pub fn encode_job(pages: &[Bitmap], dpi: u32, out: &mut Vec<u8>) -> EncodeStats {
    let mut total = EncodeStats::default();
    for page in pages {
        let s = encode_page(page, dpi, out);
        total.rows_mode2 += s.rows_mode2;
        total.rows_mode3 += s.rows_mode3;
        total.rows_skipped += s.rows_skipped;
    }
    out.extend_from_slice(&[ESC, b'E']);
    total
}

/// A PCL stream the decoder could not accept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PclError {
    /// A transfer row decodes to more bytes than the declared width.
    #[error("byte {offset}: a raster row decodes to {got} bytes; the declared width holds {width}")]
    RowTooLong {
        /// Stream offset of the transfer command.
        offset: usize,
        /// Decoded bytes.
        got: usize,
        /// Bytes per row.
        width: usize,
    },
    /// Compressed data ended inside a code.
    #[error("byte {offset}: compressed row data ends inside a code")]
    Truncated {
        /// Stream offset of the transfer command.
        offset: usize,
    },
    /// An unsupported compression mode.
    #[error("byte {offset}: compression mode {mode} is not supported (0, 1, 2 and 3 are)")]
    Mode {
        /// Stream offset.
        offset: usize,
        /// The mode.
        mode: usize,
    },
    /// Raster data before the width is known, or a page too large.
    #[error("byte {offset}: {what}")]
    Geometry {
        /// Stream offset.
        offset: usize,
        /// What is wrong.
        what: &'static str,
    },
}

/// The largest page the decoder accepts (pixels each way).
pub const MAX_DIMENSION: usize = 20_000;
/// The most pages one stream may carry (further pages are dropped, bounding memory).
pub const MAX_PAGES: usize = 16;

/// Decodes a PCL stream's raster pages (what a printer would print). Unknown escapes are skipped.
#[derive(Debug, Default)]
pub struct PclDecoder {
    width_px: usize,
    height_px: usize,
    dpi: usize,
    mode: usize,
    seed: Vec<u8>,
    rows: Vec<Vec<u8>>,
    y: usize,
    in_raster: bool,
    pages: Vec<Bitmap>,
}

impl PclDecoder {
    /// A decoder with no page started.
    pub fn new() -> Self {
        Self {
            dpi: 300,
            ..Self::default()
        }
    }

    /// The resolution last set with `ESC*t#R`.
    pub fn dpi(&self) -> usize {
        self.dpi
    }

    fn stride(&self) -> usize {
        self.width_px.div_ceil(8)
    }

    fn put_row(&mut self, row: Vec<u8>) {
        if self.rows.len() <= self.y {
            self.rows.resize(self.y + 1, Vec::new());
        }
        self.rows[self.y] = row;
        self.y += 1;
    }

    fn finish_page(&mut self) {
        if self.pages.len() >= MAX_PAGES {
            self.rows.clear();
            self.y = 0;
            return;
        }
        let stride = self.stride();
        let height = self.height_px.max(self.rows.len());
        if stride == 0 || height == 0 {
            self.rows.clear();
            self.y = 0;
            return;
        }
        let mut bits = vec![0u8; stride * height];
        for (y, row) in self.rows.iter().enumerate() {
            let n = row.len().min(stride);
            bits[y * stride..y * stride + n].copy_from_slice(&row[..n]);
        }
        self.pages.push(Bitmap {
            width: self.width_px as u32,
            height: height as u32,
            stride,
            bits,
        });
        self.rows.clear();
        self.y = 0;
    }

    /// Decodes a whole PCL stream and returns its pages.
    pub fn decode(mut self, data: &[u8]) -> Result<Vec<Bitmap>, PclError> {
        self.run(data)?;
        if !self.rows.is_empty() {
            self.finish_page();
        }
        Ok(self.pages)
    }

    /// Decodes a stream that may have been cut off or damaged, as a printer does: every page
    /// decoded up to the first error, then the page in progress as far as it got (a PCL printer
    /// ejects a partly drawn page at the next reset), and the error if there was one.
    pub fn decode_partial(mut self, data: &[u8]) -> (Vec<Bitmap>, Option<PclError>) {
        let error = self.run(data).err();
        if !self.rows.is_empty() {
            self.finish_page();
        }
        (self.pages, error)
    }

    fn run(&mut self, data: &[u8]) -> Result<(), PclError> {
        let mut i = 0;
        while i < data.len() {
            match data[i] {
                FF => {
                    self.finish_page();
                    i += 1;
                }
                ESC if data.get(i + 1) == Some(&b'E') => {
                    // A reset ends a page that had no form feed (so two pages never merge).
                    if !self.rows.is_empty() {
                        self.finish_page();
                    }
                    self.mode = 0;
                    i += 2;
                }
                ESC if data.get(i + 1).is_some_and(|c| (33..=47).contains(c)) => {
                    i = self.escape(data, i)?;
                }
                _ => i += 1,
            }
        }
        Ok(())
    }

    /// Parses one parameterised escape starting at `start`; returns the index after it.
    fn escape(&mut self, data: &[u8], start: usize) -> Result<usize, PclError> {
        let family = data[start + 1];
        let Some(&group) = data.get(start + 2) else {
            return Ok(data.len());
        };
        let mut i = start + 3;
        if !(96..=126).contains(&group) {
            return Ok(start + 2);
        }
        loop {
            // A value: [+|-]digits[.digits]; a missing value means 0.
            let vstart = i;
            while i < data.len() && matches!(data[i], b'+' | b'-' | b'.' | b'0'..=b'9') {
                i += 1;
            }
            let text = std::str::from_utf8(&data[vstart..i]).unwrap_or("0");
            let value = text
                .split('.')
                .next()
                .and_then(|s| s.trim_start_matches('+').parse::<i64>().ok())
                .unwrap_or(0)
                .clamp(0, i64::from(u32::MAX)) as usize;
            let Some(&param) = data.get(i) else {
                return Ok(data.len());
            };
            i += 1;
            let last = (64..=94).contains(&param);
            let p = param.to_ascii_uppercase();
            i = self.command(family, group, p, value, data, i, start)?;
            if last || !(96..=126).contains(&param) {
                return Ok(i);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn command(
        &mut self,
        family: u8,
        group: u8,
        p: u8,
        value: usize,
        data: &[u8],
        i: usize,
        at: usize,
    ) -> Result<usize, PclError> {
        match (family, group, p) {
            (b'*', b't', b'R') => self.dpi = value,
            (b'*', b'r', b'S') => {
                if value > MAX_DIMENSION {
                    return Err(PclError::Geometry {
                        offset: at,
                        what: "raster width over 20000 pixels",
                    });
                }
                self.width_px = value;
            }
            (b'*', b'r', b'T') => {
                if value > MAX_DIMENSION {
                    return Err(PclError::Geometry {
                        offset: at,
                        what: "raster height over 20000 pixels",
                    });
                }
                self.height_px = value;
            }
            (b'*', b'r', b'A') => {
                self.in_raster = true;
                self.seed = vec![0; self.stride()];
            }
            (b'*', b'r', b'B' | b'C') => {
                self.in_raster = false;
                if p == b'C' {
                    self.mode = 0;
                }
            }
            (b'*', b'b', b'M') => {
                if value > 3 {
                    return Err(PclError::Mode {
                        offset: at,
                        mode: value,
                    });
                }
                self.mode = value;
            }
            (b'*', b'b', b'Y') => {
                if self.y.saturating_add(value) > MAX_DIMENSION {
                    return Err(PclError::Geometry {
                        offset: at,
                        what: "raster offset beyond 20000 rows",
                    });
                }
                self.y += value;
                self.seed.iter_mut().for_each(|b| *b = 0);
            }
            (b'*', b'b', b'W' | b'V') => {
                let end = i.saturating_add(value).min(data.len());
                let payload = &data[i..end];
                if payload.len() < value {
                    return Err(PclError::Truncated { offset: at });
                }
                let stride = self.stride();
                if stride == 0 {
                    return Err(PclError::Geometry {
                        offset: at,
                        what: "raster data before the width (ESC*r#S)",
                    });
                }
                if self.y >= MAX_DIMENSION {
                    return Err(PclError::Geometry {
                        offset: at,
                        what: "more than 20000 raster rows",
                    });
                }
                if self.seed.len() != stride {
                    self.seed = vec![0; stride];
                }
                let row = decode_row(self.mode, payload, &self.seed, stride, at)?;
                self.seed.copy_from_slice(&row);
                self.put_row(row);
                return Ok(end);
            }
            _ => {}
        }
        Ok(i)
    }
}

fn decode_row(
    mode: usize,
    data: &[u8],
    seed: &[u8],
    stride: usize,
    at: usize,
) -> Result<Vec<u8>, PclError> {
    let too_long = |got| PclError::RowTooLong {
        offset: at,
        got,
        width: stride,
    };
    let mut row = Vec::with_capacity(stride);
    match mode {
        0 => row.extend_from_slice(data),
        1 => {
            for pair in data.chunks(2) {
                let [count, byte] = pair else {
                    return Err(PclError::Truncated { offset: at });
                };
                row.extend(std::iter::repeat_n(*byte, usize::from(*count) + 1));
                if row.len() > stride {
                    return Err(too_long(row.len()));
                }
            }
        }
        2 => {
            let mut i = 0;
            while i < data.len() {
                let n = data[i] as i8;
                i += 1;
                match n {
                    0..=127 => {
                        let len = n as usize + 1;
                        let lit = data
                            .get(i..i + len)
                            .ok_or(PclError::Truncated { offset: at })?;
                        row.extend_from_slice(lit);
                        i += len;
                    }
                    -127..=-1 => {
                        let b = *data.get(i).ok_or(PclError::Truncated { offset: at })?;
                        row.extend(std::iter::repeat_n(b, (1 - i16::from(n)) as usize));
                        i += 1;
                    }
                    -128 => {}
                }
                if row.len() > stride {
                    return Err(too_long(row.len()));
                }
            }
        }
        3 => {
            row.extend_from_slice(seed);
            let mut pos = 0usize;
            let mut i = 0;
            while i < data.len() {
                let cmd = data[i];
                i += 1;
                let count = usize::from(cmd >> 5) + 1;
                let mut offset = usize::from(cmd & 31);
                if offset == 31 {
                    loop {
                        let extra = *data.get(i).ok_or(PclError::Truncated { offset: at })?;
                        i += 1;
                        offset += usize::from(extra);
                        if extra != 255 {
                            break;
                        }
                    }
                }
                pos += offset;
                let bytes = data
                    .get(i..i + count)
                    .ok_or(PclError::Truncated { offset: at })?;
                if pos + count > stride {
                    return Err(too_long(pos + count));
                }
                row[pos..pos + count].copy_from_slice(bytes);
                pos += count;
                i += count;
            }
            return Ok(row);
        }
        other => {
            return Err(PclError::Mode {
                offset: at,
                mode: other,
            });
        }
    }
    if row.len() > stride {
        return Err(too_long(row.len()));
    }
    row.resize(stride, 0);
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_matches_the_tiff_specification_example() {
        // Apple's TIFF PackBits example: unpacked AA AA AA 80 00 2A AA AA AA AA 80 00 2A 22 AA×10.
        let raw = [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22,
            0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        let mut out = Vec::new();
        packbits(&raw, &mut out);
        assert_eq!(
            out,
            [
                0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7,
                0xAA
            ]
        );
        assert_eq!(
            decode_row(2, &out, &[], raw.len(), 0).expect("decodes"),
            raw
        );
    }

    #[test]
    fn delta_row_golden_bytes() {
        // Seed all zero; row changes bytes 2-3 and 300.
        let seed = vec![0u8; 320];
        let mut row = seed.clone();
        row[2] = 0xFF;
        row[3] = 0x0F;
        row[300] = 0x80;
        let mut out = Vec::new();
        delta_row(&row, &seed, &mut out);
        // (2-1)<<5 | 2 = 0x22, FF 0F; then offset 300-4 = 296 = 31 + 255 + 10: 0x1F FF 0A 80.
        assert_eq!(out, [0x22, 0xFF, 0x0F, 0x1F, 0xFF, 0x0A, 0x80]);
        assert_eq!(decode_row(3, &out, &seed, 320, 0).expect("decodes"), row);
    }

    #[test]
    fn a_page_golden_stream() {
        let mut page = Bitmap::blank(16, 4);
        page.bits[2] = 0xF0; // row 1: F0 00
        page.bits[6] = 0xF0; // row 3: F0 00 (after one blank row)
        let mut out = Vec::new();
        let stats = encode_page(&page, 300, &mut out);
        let expected: &[u8] =
            b"\x1bE\x1b&l0O\x1b*t300R\x1b*r0F\x1b*r16S\x1b*r4T\x1b*p0X\x1b*p0Y\x1b*r1A\
\x1b*b1Y\x1b*b2M\x1b*b2W\x00\xf0\
\x1b*b1Y\x1b*b2W\x00\xf0\
\x1b*rC\x0c";
        assert_eq!(out, expected, "{:?}", String::from_utf8_lossy(&out));
        assert_eq!(
            stats,
            EncodeStats {
                rows_mode2: 2,
                rows_mode3: 0,
                rows_skipped: 2
            }
        );
        let pages = PclDecoder::new().decode(&out).expect("decodes");
        assert_eq!(pages, [Bitmap { height: 4, ..page }]);
    }

    #[test]
    fn a_job_is_bracketed_by_a_reset_at_both_ends() {
        let mut page = Bitmap::blank(16, 1);
        page.bits[0] = 0x80;
        let mut out = Vec::new();
        encode_job(&[page.clone(), page.clone()], 300, &mut out);
        let one: &[u8] =
            b"\x1bE\x1b&l0O\x1b*t300R\x1b*r0F\x1b*r16S\x1b*r1T\x1b*p0X\x1b*p0Y\x1b*r1A\
\x1b*b2M\x1b*b2W\x00\x80\x1b*rC\x0c";
        let expected = [one, one, b"\x1bE"].concat();
        assert_eq!(out, expected, "{:?}", String::from_utf8_lossy(&out));
        assert_eq!(
            PclDecoder::new().decode(&out).expect("decodes"),
            [page.clone(), page]
        );
    }

    #[test]
    fn similar_rows_use_delta_row() {
        let mut page = Bitmap::blank(800, 3);
        for y in 0..3 {
            for x in 0..100 {
                page.bits[y * 100 + x] = (x * 7) as u8 | 1;
            }
        }
        page.bits[100 + 10] = 0;
        page.bits[200 + 50] = 0;
        let mut out = Vec::new();
        let stats = encode_page(&page, 300, &mut out);
        assert_eq!(stats.rows_mode2, 1);
        assert_eq!(stats.rows_mode3, 2);
        assert_eq!(PclDecoder::new().decode(&out).expect("decodes"), [page]);
    }

    #[test]
    fn a_reset_without_a_form_feed_still_separates_pages() {
        let mut a = Bitmap::blank(8, 1);
        a.bits[0] = 0x81;
        let mut one = Vec::new();
        encode_page(&a, 300, &mut one);
        // Drop the form feed of the first page.
        one.pop();
        let mut two = one.clone();
        two.push(FF);
        let mut stream = one;
        stream.extend_from_slice(&two);
        let pages = PclDecoder::new().decode(&stream).expect("decodes");
        assert_eq!(pages.len(), 2);
    }

    #[test]
    fn bad_streams_are_errors_not_panics() {
        let too_long = b"\x1b*r8S\x1b*r1A\x1b*b0M\x1b*b3W\xff\xff\xff\x0c";
        assert!(matches!(
            PclDecoder::new().decode(too_long),
            Err(PclError::RowTooLong { .. })
        ));
        let truncated = b"\x1b*r64S\x1b*r1A\x1b*b2M\x1b*b9W\x05\x01";
        assert!(matches!(
            PclDecoder::new().decode(truncated),
            Err(PclError::Truncated { .. })
        ));
        let no_width = b"\x1b*r1A\x1b*b1W\x00";
        assert!(matches!(
            PclDecoder::new().decode(no_width),
            Err(PclError::Geometry { .. })
        ));
        let mode9 = b"\x1b*b9M";
        assert!(matches!(
            PclDecoder::new().decode(mode9),
            Err(PclError::Mode { .. })
        ));
        assert_eq!(
            PclDecoder::new().decode(b"\x1b\x1b\x1b*").expect("ignored"),
            []
        );
    }

    #[test]
    fn a_cut_off_stream_yields_its_whole_pages_and_the_page_in_progress() {
        let mut a = Bitmap::blank(16, 4);
        a.bits[0] = 0xFF;
        a.bits[6] = 0x0F;
        let mut stream = Vec::new();
        encode_page(&a, 300, &mut stream);
        let whole = stream.len();
        encode_page(&a, 300, &mut stream);
        // Cut the second page after its first row: the printer ejects what it drew.
        // The first transfer command of the second page: `ESC*b#W` then # data bytes.
        let tail = &stream[whole..];
        let (data_at, count) = (0..tail.len())
            .filter(|&i| tail[i..].starts_with(b"\x1b*b"))
            .find_map(|i| {
                let digits = tail[i + 3..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                let n: usize = std::str::from_utf8(&tail[i + 3..i + 3 + digits])
                    .ok()?
                    .parse()
                    .ok()?;
                (tail.get(i + 3 + digits) == Some(&b'W')).then_some((i + 4 + digits, n))
            })
            .expect("a transfer command");
        let first_row_end = whole + data_at + count;
        let (pages, error) = PclDecoder::new().decode_partial(&stream[..first_row_end]);
        assert_eq!(error, None);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0], a);
        assert!(pages[1].get(0, 0), "the drawn row is there");
        assert!(!pages[1].get(4, 3), "the rest is blank");
        // Cut inside a compressed row: whole pages and the error.
        let (pages, error) = PclDecoder::new().decode_partial(&stream[..first_row_end - 1]);
        assert_eq!(pages.len(), 1);
        assert!(
            matches!(error, Some(PclError::Truncated { .. })),
            "{error:?}"
        );
    }
}
