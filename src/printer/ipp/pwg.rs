//! PWG Raster (PWG 5102.4), the bitmap format of IPP Everywhere: 1-bit pages become `black_1`
//! (1 = ink, exactly our bitmap's bits) or 8-bit `sgray_8` pages, each with its 1,796-byte
//! header and its lines compressed as the format says (a line-repeat count, then runs of
//! repeated or literal pixels). The decoder reads the same back, for tests and diagnostics.
//! Sans-IO: bytes in, bytes out.

use pstation_printer_api::Bitmap;

/// The raster types this encoder writes (`pwg-raster-document-type-supported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RasterType {
    /// 1 bit per pixel, 1 = black.
    Black1,
    /// 8 bits per pixel, 0 = black, 255 = white.
    Sgray8,
}

impl RasterType {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Black1 => "black_1",
            Self::Sgray8 => "sgray_8",
        }
    }
}

const SYNC: &[u8; 4] = b"RaS2";
const HEADER: usize = 1796;
/// `cupsColorSpace` values of PWG 5102.4.
const BLACK: u32 = 3;
const SGRAY: u32 = 18;

fn put_u32(h: &mut [u8], at: usize, v: u32) {
    h[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn get_u32(h: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
}

fn put_str(h: &mut [u8], at: usize, s: &str) {
    let n = s.len().min(63);
    h[at..at + n].copy_from_slice(&s.as_bytes()[..n]);
}

/// Encodes `pages` (all at `dpi`) as one PWG Raster document of type `kind`; `media` is the
/// PWG media name written in each page header (may be empty).
pub fn encode(pages: &[Bitmap], dpi: u32, kind: RasterType, media: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + 64 * 1024);
    out.extend_from_slice(SYNC);
    let total = pages.len() as u32;
    for page in pages {
        let bytes_per_line = match kind {
            RasterType::Black1 => page.stride,
            RasterType::Sgray8 => page.width as usize,
        };
        let mut h = [0u8; HEADER];
        put_str(&mut h, 0, "PwgRaster");
        put_u32(&mut h, 276, dpi);
        put_u32(&mut h, 280, dpi);
        put_u32(&mut h, 340, 1); // NumCopies
        // PageSize in points.
        let points = |px: u32| (u64::from(px) * 72).div_ceil(u64::from(dpi.max(1))) as u32;
        put_u32(&mut h, 352, points(page.width));
        put_u32(&mut h, 356, points(page.height));
        put_u32(&mut h, 372, page.width);
        put_u32(&mut h, 376, page.height);
        let (bits, space) = match kind {
            RasterType::Black1 => (1, BLACK),
            RasterType::Sgray8 => (8, SGRAY),
        };
        put_u32(&mut h, 384, bits);
        put_u32(&mut h, 388, bits);
        put_u32(&mut h, 392, bytes_per_line as u32);
        put_u32(&mut h, 396, 0); // chunky
        put_u32(&mut h, 400, space);
        put_u32(&mut h, 420, 1); // NumColors
        put_u32(&mut h, 452, total); // TotalPageCount
        put_u32(&mut h, 456, 1); // CrossFeedTransform
        put_u32(&mut h, 460, 1); // FeedTransform
        put_u32(&mut h, 480, 0x00ff_ffff); // AlternatePrimary
        put_str(&mut h, 1668, "relative");
        put_str(&mut h, 1732, media);
        out.extend_from_slice(&h);
        let line = |y: u32| -> Vec<u8> {
            match kind {
                RasterType::Black1 => page.row(y).to_vec(),
                RasterType::Sgray8 => (0..page.width)
                    .map(|x| if page.get(x, y) { 0 } else { 255 })
                    .collect(),
            }
        };
        let mut y = 0;
        while y < page.height {
            let current = line(y);
            let mut repeat = 0u32;
            while repeat < 255 && y + repeat + 1 < page.height && line(y + repeat + 1) == current {
                repeat += 1;
            }
            out.push(repeat as u8);
            compress_line(&current, &mut out);
            y += repeat + 1;
        }
    }
    out
}

/// One line: a run of 2 to 128 equal bytes is `n - 1` then the byte; 2 to 128 literal bytes
/// are `257 - n` then the bytes; a lone byte is a run of one.
fn compress_line(line: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < line.len() {
        let mut run = 1;
        while i + run < line.len() && run < 128 && line[i + run] == line[i] {
            run += 1;
        }
        if run > 1 || i + 1 == line.len() {
            out.push((run - 1) as u8);
            out.push(line[i]);
            i += run;
            continue;
        }
        // Literal bytes until a run of two or more starts (or 128 are gathered).
        let start = i;
        while i < line.len() && i - start < 128 && !(i + 1 < line.len() && line[i + 1] == line[i]) {
            i += 1;
        }
        let n = i - start;
        if n == 1 {
            out.push(0);
            out.push(line[start]);
        } else {
            out.push((257 - n) as u8);
            out.extend_from_slice(&line[start..i]);
        }
    }
}

/// A page read back from PWG Raster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedPage {
    /// The resolution across and down.
    pub dpi: (u32, u32),
    /// `black_1` or `sgray_8`.
    pub kind: RasterType,
    /// The page as a 1-bit bitmap (sgray: darker than mid-grey is ink).
    pub bitmap: Bitmap,
    /// The media name in the header.
    pub media: String,
}

/// Why a PWG Raster document cannot be read: the byte offset and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pwg-raster: byte {at}: {what}")]
pub struct DecodeError {
    /// Byte offset.
    pub at: usize,
    /// What is wrong.
    pub what: String,
}

/// Reads a PWG Raster document (the types this encoder writes).
pub fn decode(data: &[u8]) -> Result<Vec<DecodedPage>, DecodeError> {
    let err = |at: usize, what: &str| DecodeError {
        at,
        what: what.to_owned(),
    };
    if data.get(..4) != Some(SYNC) {
        return Err(err(0, "not PWG Raster (no RaS2 sync word)"));
    }
    let mut at = 4;
    let mut pages = Vec::new();
    while at < data.len() {
        let h = data
            .get(at..at + HEADER)
            .ok_or_else(|| err(at, "page header cut short"))?;
        let (width, height) = (get_u32(h, 372), get_u32(h, 376));
        let (bits, space, bpl) = (get_u32(h, 384), get_u32(h, 400), get_u32(h, 392) as usize);
        let kind = match (bits, space) {
            (1, BLACK) => RasterType::Black1,
            (8, SGRAY) => RasterType::Sgray8,
            _ => return Err(err(at + 384, "only black_1 and sgray_8 are read")),
        };
        let expected = match kind {
            RasterType::Black1 => width.div_ceil(8) as usize,
            RasterType::Sgray8 => width as usize,
        };
        if bpl != expected || width == 0 || height == 0 || width > 20_000 || height > 20_000 {
            return Err(err(at + 372, "page size and bytes per line disagree"));
        }
        let media_raw = &h[1732..1796];
        let media = String::from_utf8_lossy(
            &media_raw[..media_raw.iter().position(|&b| b == 0).unwrap_or(64)],
        )
        .into_owned();
        let dpi = (get_u32(h, 276), get_u32(h, 280));
        at += HEADER;
        let mut bitmap = Bitmap::blank(width, height);
        let mut y = 0u32;
        let mut line = vec![0u8; bpl];
        while y < height {
            let repeat =
                u32::from(*data.get(at).ok_or_else(|| err(at, "page data cut short"))?) + 1;
            at += 1;
            let mut x = 0;
            while x < bpl {
                let c = *data.get(at).ok_or_else(|| err(at, "line cut short"))?;
                at += 1;
                if c == 128 {
                    line[x..].fill(match kind {
                        RasterType::Black1 => 0,
                        RasterType::Sgray8 => 255,
                    });
                    x = bpl;
                } else if c < 128 {
                    let n = usize::from(c) + 1;
                    let b = *data.get(at).ok_or_else(|| err(at, "run cut short"))?;
                    at += 1;
                    if x + n > bpl {
                        return Err(err(at, "a run passes the end of the line"));
                    }
                    line[x..x + n].fill(b);
                    x += n;
                } else {
                    let n = 257 - usize::from(c);
                    let src = data
                        .get(at..at + n)
                        .ok_or_else(|| err(at, "literal bytes cut short"))?;
                    if x + n > bpl {
                        return Err(err(at, "literal bytes pass the end of the line"));
                    }
                    line[x..x + n].copy_from_slice(src);
                    at += n;
                    x += n;
                }
            }
            for _ in 0..repeat.min(height - y) {
                let row = y as usize * bitmap.stride;
                match kind {
                    RasterType::Black1 => {
                        bitmap.bits[row..row + bitmap.stride].copy_from_slice(&line);
                    }
                    RasterType::Sgray8 => {
                        for (xx, &v) in line.iter().enumerate() {
                            if v < 128 {
                                bitmap.bits[row + xx / 8] |= 0x80 >> (xx % 8);
                            }
                        }
                    }
                }
                y += 1;
            }
        }
        pages.push(DecodedPage {
            dpi,
            kind,
            bitmap,
            media,
        });
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bitmap {
        let mut b = Bitmap::blank(203, 41);
        for y in 0..41u32 {
            for x in 0..203u32 {
                if (x * 7 + y * 3) % 11 < 3 || (20..30).contains(&y) {
                    b.bits[y as usize * b.stride + (x / 8) as usize] |= 0x80 >> (x % 8);
                }
            }
        }
        b
    }

    #[test]
    fn pages_read_back_exactly_in_both_types() {
        let pages = [sample(), Bitmap::blank(64, 300)];
        for kind in [RasterType::Black1, RasterType::Sgray8] {
            let doc = encode(&pages, 600, kind, "iso_b7_88x125mm");
            let back = decode(&doc).expect("decode");
            assert_eq!(back.len(), 2);
            for (p, b) in pages.iter().zip(&back) {
                assert_eq!(&b.bitmap, p, "{kind:?}");
                assert_eq!(
                    (b.dpi, b.kind, b.media.as_str()),
                    ((600, 600), kind, "iso_b7_88x125mm")
                );
            }
        }
    }

    #[test]
    fn the_header_and_a_line_are_byte_exact() {
        let mut b = Bitmap::blank(16, 1);
        b.bits = vec![0xFF, 0x0F];
        let doc = encode(&[b], 300, RasterType::Black1, "");
        assert_eq!(&doc[..4], b"RaS2");
        assert_eq!(doc.len(), 4 + 1796 + 1 + 3);
        // repeat 0, then a 2-byte literal: 257 - 2 = 255.
        assert_eq!(&doc[1800..], &[0, 255, 0xFF, 0x0F]);
        let h = &doc[4..1800];
        assert_eq!(get_u32(h, 372), 16);
        assert_eq!(get_u32(h, 384), 1);
        assert_eq!(get_u32(h, 400), 3);
        assert_eq!(get_u32(h, 452), 1);
        assert_eq!(
            get_u32(h, 352),
            4,
            "16 px at 300 dpi is 3.84 pt, rounded up"
        );
        // 300 blank lines: 256 (count byte 255) then 44 (byte 43); each a run of 8 zero bytes.
        let doc = encode(&[Bitmap::blank(64, 300)], 300, RasterType::Black1, "");
        assert_eq!(&doc[1800..], &[255, 7, 0, 43, 7, 0]);
    }

    #[test]
    fn bad_documents_say_which_byte() {
        assert_eq!(decode(b"RaS3").expect_err("an error").at, 0);
        let mut doc = encode(&[sample()], 300, RasterType::Black1, "");
        doc.truncate(doc.len() - 3);
        assert!(
            decode(&doc)
                .expect_err("an error")
                .what
                .contains("cut short")
        );
        let mut doc = encode(&[sample()], 300, RasterType::Black1, "");
        doc[4 + 384 + 3] = 4;
        assert_eq!(decode(&doc).expect_err("an error").at, 4 + 384);
    }
}
