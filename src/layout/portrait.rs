//! Portrait processing with `image`: size and dimension checks before decoding (no decompression
//! bombs), EXIF orientation, a centred crop to the template's aspect (never stretched), scaling
//! to the print resolution, greyscale when the template asks, and the faded ghost image. Each
//! result is JPEG-encoded exactly once here; the PDF embeds those bytes unchanged.
//!
//! Speed (BENCHMARKS.md "Performance"): resampling with `fast_image_resize` (SIMD, the same
//! Catmull-Rom filter), encoding with `jpeg-encoder`, the ghost made from the prepared portrait
//! (a few thousand pixels) instead of the source, and a baseline JPEG that already has the print
//! size, aspect and colour passed through as it came.

use std::io::Cursor;

use std::borrow::Cow;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::page::{ImageRole, PageImage};
use crate::job::{MediaType, Portrait};

/// Limits checked before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortraitLimits {
    /// Largest encoded portrait.
    pub max_bytes: usize,
    /// Largest width × height.
    pub max_pixels: u64,
}

impl PortraitLimits {
    /// 20 MB and 40 megapixels.
    pub const DEFAULT: Self = Self {
        max_bytes: 20_000_000,
        max_pixels: 40_000_000,
    };
}

/// JPEG quality of the prepared portrait and ghost.
const JPEG_QUALITY: u8 = 90;

/// Why a portrait cannot be used. Every variant has a stable code (`code()`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, pstation_coded::Coded)]
pub enum PortraitError {
    /// No bytes.
    #[error("the portrait has no bytes")]
    #[code("portrait-empty")]
    Empty,
    /// Over the byte limit.
    #[error("the portrait is {bytes} bytes; at most {limit} are accepted")]
    #[code("portrait-too-large")]
    TooLarge {
        /// Size.
        bytes: usize,
        /// Limit.
        limit: usize,
    },
    /// Not a JPEG or PNG at all.
    #[error("the data is not a JPEG or PNG image")]
    #[code("portrait-not-an-image")]
    NotAnImage,
    /// The bytes are another format than declared.
    #[error("media_type says {declared} but the data is {found}")]
    #[code("portrait-mismatch")]
    FormatMismatch {
        /// What the job said.
        declared: &'static str,
        /// What the bytes are.
        found: &'static str,
    },
    /// Over the pixel limit (checked from the header).
    #[error(
        "the image header claims {width} x {height} pixels; at most {limit} pixels are accepted"
    )]
    #[code("portrait-too-many-pixels")]
    TooManyPixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Limit.
        limit: u64,
    },
    /// CMYK (or YCCK) JPEG: colours would print wrong.
    #[error("the JPEG is CMYK; send an RGB or greyscale portrait")]
    #[code("portrait-cmyk")]
    Cmyk,
    /// JPEG without an end marker.
    #[error("the JPEG is truncated (no end-of-image marker)")]
    #[code("portrait-truncated")]
    Truncated,
    /// Too few pixels for the print size.
    #[error(
        "the portrait is {width} x {height} pixels after cropping; at least {min_width} pixels across are needed to print {print_mm} mm wide"
    )]
    #[code("portrait-low-resolution")]
    LowResolution {
        /// Cropped width.
        width: u32,
        /// Cropped height.
        height: u32,
        /// Minimum width.
        min_width: u32,
        /// Print width in mm.
        print_mm: u32,
    },
    /// The decoder failed.
    #[error("the image cannot be decoded: {0}")]
    #[code("portrait-decode")]
    Decode(String),
}

/// The size an image prints at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrintBox {
    /// Width in mm.
    pub width_mm: f32,
    /// Height in mm.
    pub height_mm: f32,
    /// Print resolution.
    pub dpi: u32,
}

impl PrintBox {
    fn pixels(&self) -> (u32, u32) {
        let px = |mm: f32| ((mm / 25.4 * self.dpi as f32).round() as u32).max(1);
        (px(self.width_mm), px(self.height_mm))
    }
}

/// A decoded portrait, and its source when that can go on the page as it came.
pub struct Decoded<'a> {
    /// Upright pixels (EXIF orientation applied; transparency put on white).
    pub image: DynamicImage,
    /// The source bytes when they are a baseline JPEG shown as stored (no orientation to apply,
    /// no transparency): such a portrait that already has the print size is not re-encoded.
    pub baseline_jpeg: Option<&'a [u8]>,
}

/// Decodes a portrait safely and applies its EXIF orientation.
pub fn decode(portrait: &Portrait, limits: &PortraitLimits) -> Result<DynamicImage, PortraitError> {
    decode_source(portrait, limits).map(|d| d.image)
}

/// `decode`, keeping the source bytes where they may be passed through (`Decoded`).
pub fn decode_source<'a>(
    portrait: &'a Portrait,
    limits: &PortraitLimits,
) -> Result<Decoded<'a>, PortraitError> {
    let bytes = &portrait.data;
    if bytes.is_empty() {
        return Err(PortraitError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(PortraitError::TooLarge {
            bytes: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let found = image::guess_format(bytes).map_err(|_| PortraitError::NotAnImage)?;
    let (declared, found_name) = match (portrait.media_type, found) {
        (MediaType::Jpeg, ImageFormat::Jpeg) | (MediaType::Png, ImageFormat::Png) => (None, ""),
        (m, ImageFormat::Jpeg) => (Some(m), "image/jpeg"),
        (m, ImageFormat::Png) => (Some(m), "image/png"),
        _ => return Err(PortraitError::NotAnImage),
    };
    if let Some(m) = declared {
        return Err(PortraitError::FormatMismatch {
            declared: m.as_str(),
            found: found_name,
        });
    }
    if found == ImageFormat::Jpeg {
        if jpeg_components(bytes) == Some(4) {
            return Err(PortraitError::Cmyk);
        }
        let end = bytes.iter().rposition(|&b| b != 0).unwrap_or(0);
        if end < 1 || bytes[end - 1..=end] != [0xFF, 0xD9] {
            return Err(PortraitError::Truncated);
        }
    }
    let reader = ImageReader::with_format(Cursor::new(bytes.as_slice()), found);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| PortraitError::Decode(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(PortraitError::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(PortraitError::Decode("zero-sized image".to_owned()));
    }
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(width);
    decoder_limits.max_image_height = Some(height);
    decoder_limits.max_alloc = Some(limits.max_pixels * 8 + (64 << 20));
    decoder
        .set_limits(decoder_limits)
        .map_err(|e| PortraitError::Decode(e.to_string()))?;
    if matches!(
        decoder.original_color_type(),
        image::ExtendedColorType::Cmyk8 | image::ExtendedColorType::Cmyk16
    ) {
        return Err(PortraitError::Cmyk);
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img =
        DynamicImage::from_decoder(decoder).map_err(|e| PortraitError::Decode(e.to_string()))?;
    img.apply_orientation(orientation);
    let as_stored = found == ImageFormat::Jpeg
        && orientation == image::metadata::Orientation::NoTransforms
        && matches!(
            img,
            DynamicImage::ImageRgb8(_) | DynamicImage::ImageLuma8(_)
        )
        && jpeg_frame(bytes).is_some_and(|f| f.baseline);
    let baseline_jpeg = as_stored.then_some(bytes.as_slice());
    if img.color().has_alpha() {
        // A cut-out portrait: put it on white, as a photographer's background would be, instead
        // of letting the conversion drop alpha (which prints black or noise behind the head).
        let mut rgba = img.to_rgba8();
        for p in rgba.pixels_mut() {
            let a = u32::from(p.0[3]);
            for c in 0..3 {
                p.0[c] = ((u32::from(p.0[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
            }
            p.0[3] = 255;
        }
        img = DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).to_rgb8());
    }
    Ok(Decoded {
        image: img,
        baseline_jpeg,
    })
}

/// What a JPEG's frame header declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    /// Colour components (1 grey, 3 YCbCr, 4 CMYK/YCCK).
    components: u8,
    /// Baseline DCT (SOF0), the kind every PDF reader takes.
    baseline: bool,
}

/// The number of colour components a baseline/progressive JPEG declares in its frame header.
fn jpeg_components(bytes: &[u8]) -> Option<u8> {
    jpeg_frame(bytes).map(|f| f.components)
}

/// The first frame header of a JPEG.
fn jpeg_frame(bytes: &[u8]) -> Option<Frame> {
    let mut i = 2; // after SOI
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let is_sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            return bytes.get(i + 9).map(|&components| Frame {
                components,
                // 8-bit samples, sequential Huffman.
                baseline: marker == 0xC0 && bytes.get(i + 4) == Some(&8),
            });
        }
        if marker == 0xDA {
            return None; // start of scan before any frame header
        }
        i += 2 + len;
    }
    None
}

/// Crops `img` to the aspect of `target` around its centre, scales it to the print resolution
/// and encodes it as JPEG. `fade` (ghost images) lightens toward white; `grey` drops colour.
pub fn prepare(
    img: &DynamicImage,
    role: ImageRole,
    target: PrintBox,
    grey: bool,
    fade: Option<f32>,
) -> Result<PageImage, PortraitError> {
    let src = Pixels::of(img, grey || fade.is_some());
    Ok(prepare_pixels(&src, role, target, fade, None)?.0)
}

/// The portrait and, when the template has one, its ghost, for one page: the portrait from the
/// decoded source (passed through when it is a baseline JPEG of the print size already), the
/// ghost from the prepared portrait.
pub fn page_images(
    decoded: &Decoded<'_>,
    portrait: PrintBox,
    grey: bool,
    ghost: Option<(PrintBox, f32)>,
) -> Result<Vec<PageImage>, PortraitError> {
    // Grey when the page is, or when only a ghost (always grey) needs the pixels.
    let src = Pixels::of(&decoded.image, grey);
    let (face, pixels) = prepare_pixels(
        &src,
        ImageRole::Portrait,
        portrait,
        None,
        decoded.baseline_jpeg,
    )?;
    let mut images = vec![face];
    if let Some((b, fade)) = ghost {
        images.push(prepare_pixels(&pixels.grey(), ImageRole::Ghost, b, Some(fade), None)?.0);
    }
    Ok(images)
}

/// 8-bit grey or RGB pixels, row by row.
struct Pixels<'a> {
    width: u32,
    height: u32,
    grey: bool,
    data: Cow<'a, [u8]>,
}

impl<'a> Pixels<'a> {
    /// `img` as grey (`grey`) or RGB pixels, borrowed when it already is.
    fn of(img: &'a DynamicImage, grey: bool) -> Self {
        let data = match (img, grey) {
            (DynamicImage::ImageLuma8(l), true) => Cow::Borrowed(l.as_raw().as_slice()),
            (DynamicImage::ImageRgb8(c), false) => Cow::Borrowed(c.as_raw().as_slice()),
            (_, true) => Cow::Owned(img.to_luma8().into_raw()),
            (_, false) => Cow::Owned(img.to_rgb8().into_raw()),
        };
        Self {
            width: img.width(),
            height: img.height(),
            grey,
            data,
        }
    }

    /// The same pixels in grey (the luma weights `image` uses).
    fn grey(&self) -> Pixels<'_> {
        if self.grey {
            return Pixels {
                data: Cow::Borrowed(&self.data),
                ..*self
            };
        }
        let data = self
            .data
            .chunks_exact(3)
            .map(|p| {
                let (r, g, b) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
                // Rec. 709 luma in fixed point, rounded: as `image`'s `to_luma8`.
                ((2126 * r + 7152 * g + 722 * b + 5000) / 10_000) as u8
            })
            .collect();
        Pixels {
            width: self.width,
            height: self.height,
            grey: true,
            data: Cow::Owned(data),
        }
    }

    fn pixel_type(&self) -> PixelType {
        if self.grey {
            PixelType::U8
        } else {
            PixelType::U8x3
        }
    }
}

/// `prepare` on pixels; also returns the prepared pixels (the ghost is made from them). `source`
/// is the encoded source, passed through when the pixels need no change at all.
fn prepare_pixels<'p>(
    src: &'p Pixels<'_>,
    role: ImageRole,
    target: PrintBox,
    fade: Option<f32>,
    source: Option<&[u8]>,
) -> Result<(PageImage, Pixels<'p>), PortraitError> {
    let (tw, th) = target.pixels();
    let aspect = target.width_mm / target.height_mm;
    let (w, h) = (src.width, src.height);
    let (cw, ch) = if (w as f32 / h as f32) > aspect {
        (((h as f32 * aspect).round() as u32).clamp(1, w), h)
    } else {
        (w, ((w as f32 / aspect).round() as u32).clamp(1, h))
    };
    if role == ImageRole::Portrait && cw * 2 < tw {
        return Err(PortraitError::LowResolution {
            width: cw,
            height: ch,
            min_width: tw.div_ceil(2),
            print_mm: target.width_mm.round() as u32,
        });
    }
    let unchanged = (cw, ch) == (w, h) && (w, h) == (tw, th) && fade.is_none();
    let want = if src.grey { 1 } else { 3 };
    if unchanged && let Some(jpeg) = source.filter(|j| jpeg_components(j) == Some(want)) {
        let page = PageImage {
            role,
            width_px: tw,
            height_px: th,
            grey: src.grey,
            jpeg: jpeg.to_vec(),
        };
        let same = Pixels {
            data: Cow::Borrowed(&src.data),
            ..*src
        };
        return Ok((page, same));
    }
    let mut data = if unchanged {
        src.data.to_vec()
    } else {
        resample(src, ((w - cw) / 2, (h - ch) / 2, cw, ch), (tw, th))?
    };
    if let Some(strength) = fade {
        // Only grey pixels are faded (ghost images are grey).
        for v in &mut data {
            let ink = 255.0 - f32::from(*v);
            *v = (255.0 - ink * strength).round().clamp(0.0, 255.0) as u8;
        }
    }
    let jpeg = encode_jpeg(&data, tw, th, src.grey)?;
    let page = PageImage {
        role,
        width_px: tw,
        height_px: th,
        grey: src.grey,
        jpeg,
    };
    let out = Pixels {
        width: tw,
        height: th,
        grey: src.grey,
        data: Cow::Owned(data),
    };
    Ok((page, out))
}

/// The crop `(x, y, w, h)` of `src` resampled to `size` with the Catmull-Rom filter.
fn resample(
    src: &Pixels<'_>,
    crop: (u32, u32, u32, u32),
    size: (u32, u32),
) -> Result<Vec<u8>, PortraitError> {
    let failed = |e: &dyn std::fmt::Display| PortraitError::Decode(format!("resampling: {e}"));
    let view = ImageRef::new(src.width, src.height, &src.data, src.pixel_type())
        .map_err(|e| failed(&e))?;
    let mut out = Image::new(size.0, size.1, src.pixel_type());
    let (x, y, w, h) = crop;
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom))
        .crop(f64::from(x), f64::from(y), f64::from(w), f64::from(h));
    Resizer::new()
        .resize(&view, &mut out, &options)
        .map_err(|e| failed(&e))?;
    Ok(out.into_vec())
}

/// Baseline JPEG at `JPEG_QUALITY`, checked to hold the components the PDF will declare.
fn encode_jpeg(data: &[u8], w: u32, h: u32, grey: bool) -> Result<Vec<u8>, PortraitError> {
    let too_large = || PortraitError::Decode(format!("{w} x {h} pixels is too large for JPEG"));
    let (w16, h16) = (
        u16::try_from(w).map_err(|_| too_large())?,
        u16::try_from(h).map_err(|_| too_large())?,
    );
    let colour = if grey {
        jpeg_encoder::ColorType::Luma
    } else {
        jpeg_encoder::ColorType::Rgb
    };
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, JPEG_QUALITY);
    // Colour at half resolution both ways (4:2:0), as a camera's and an ICAO photo's JPEG:
    // the eye and the printer's dots do not see more, and it is a third less to encode.
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    encoder
        .encode(data, w16, h16, colour)
        .map_err(|e| PortraitError::Decode(e.to_string()))?;
    // The PDF colour space must match what the encoder really wrote.
    let components = jpeg_components(&jpeg);
    if components != Some(if grey { 1 } else { 3 }) {
        return Err(PortraitError::Decode(format!(
            "the JPEG encoder wrote {components:?} components"
        )));
    }
    Ok(jpeg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;

    fn jpeg_of(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }));
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .expect("encode");
        out
    }

    fn portrait(media_type: MediaType, data: Vec<u8>) -> Portrait {
        Portrait { media_type, data }
    }

    #[test]
    fn crops_to_the_aspect_without_stretching() {
        let img = decode(
            &portrait(MediaType::Jpeg, jpeg_of(600, 600)),
            &PortraitLimits::DEFAULT,
        )
        .expect("decodes");
        let target = PrintBox {
            width_mm: 35.0,
            height_mm: 45.0,
            dpi: 300,
        };
        let out = prepare(&img, ImageRole::Portrait, target, false, None).expect("prepares");
        assert_eq!((out.width_px, out.height_px), (413, 531));
        assert!(!out.grey);
        let back = image::load_from_memory(&out.jpeg).expect("jpeg");
        assert_eq!((back.width(), back.height()), (413, 531));
    }

    #[test]
    fn a_baseline_jpeg_of_the_print_size_goes_through_as_it_came_and_the_ghost_is_made_from_it() {
        let target = PrintBox {
            width_mm: 35.0,
            height_mm: 45.0,
            dpi: 300,
        };
        let ghost = PrintBox {
            width_mm: 9.0,
            height_mm: 11.57,
            dpi: 300,
        };
        let exact = portrait(MediaType::Jpeg, jpeg_of(413, 531));
        let decoded = decode_source(&exact, &PortraitLimits::DEFAULT).expect("decodes");
        let images = page_images(&decoded, target, false, Some((ghost, 0.35))).expect("images");
        assert_eq!(images[0].jpeg, exact.data, "not re-encoded");
        assert_eq!((images[1].width_px, images[1].height_px), (106, 137));
        assert!(images[1].grey && images[1].role == ImageRole::Ghost);
        let back = image::load_from_memory(&images[1].jpeg)
            .expect("jpeg")
            .to_luma8();
        // Faded toward white: even the source's darkest corner is light in the ghost.
        assert!(back.pixels().all(|p| p.0[0] >= 150), "faded");
        // A grey page does not take a colour source as it is; another size is resampled.
        let grey = page_images(&decoded, target, true, None).expect("grey");
        assert!(grey[0].grey && grey[0].jpeg != exact.data);
        let other = portrait(MediaType::Jpeg, jpeg_of(600, 800));
        let decoded = decode_source(&other, &PortraitLimits::DEFAULT).expect("decodes");
        let resampled = page_images(&decoded, target, false, None).expect("images");
        assert_eq!((resampled[0].width_px, resampled[0].height_px), (413, 531));
        assert_ne!(resampled[0].jpeg, other.data);
    }

    #[test]
    fn a_header_claiming_too_many_pixels_is_refused_before_decoding() {
        let limits = PortraitLimits {
            max_bytes: 1 << 20,
            max_pixels: 100 * 100,
        };
        let err =
            decode(&portrait(MediaType::Jpeg, jpeg_of(200, 200)), &limits).expect_err("too big");
        assert_eq!(err.code(), "portrait-too-many-pixels");
    }

    #[test]
    fn transparent_portraits_are_put_on_white() {
        let img = image::RgbaImage::from_fn(300, 400, |x, _| {
            if x < 150 {
                image::Rgba([0, 0, 0, 0])
            } else {
                image::Rgba([10, 20, 30, 255])
            }
        });
        let mut png = Cursor::new(Vec::new());
        DynamicImage::ImageRgba8(img)
            .write_to(&mut png, ImageFormat::Png)
            .expect("png");
        let decoded = decode(
            &portrait(MediaType::Png, png.into_inner()),
            &PortraitLimits::DEFAULT,
        )
        .expect("decodes");
        let rgb = decoded.to_rgb8();
        assert_eq!(rgb.get_pixel(10, 10).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(200, 10).0, [10, 20, 30]);
    }

    #[test]
    fn cmyk_frame_headers_are_detected() {
        // SOI, SOF0 with 4 components, then filler.
        let mut b = vec![
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x14, 0x08, 0x00, 0x10, 0x00, 0x10, 0x04,
        ];
        b.extend_from_slice(&[0; 16]);
        assert_eq!(jpeg_components(&b), Some(4));
        assert_eq!(jpeg_components(&jpeg_of(8, 8)), Some(3));
        assert_eq!(jpeg_components(&[0xFF, 0xD8]), None);
    }
}
