//! The page as a 1-bit bitmap at a stated resolution: what a family that takes pixels (PCL
//! raster, PWG raster, a vendor SDK's bitmap call) prints from.

/// A 1-bit page: rows packed most significant bit first, 1 = ink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    /// Pixels across.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Bytes per row (`width.div_ceil(8)`).
    pub stride: usize,
    /// `stride × height` bytes, MSB first, 1 = ink.
    pub bits: Vec<u8>,
}

impl Bitmap {
    /// A blank page.
    pub fn blank(width: u32, height: u32) -> Self {
        let stride = width.div_ceil(8) as usize;
        Self {
            width,
            height,
            stride,
            bits: vec![0; stride * height as usize],
        }
    }

    /// Row `y` (`y < height`).
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.stride;
        &self.bits[start..start + self.stride]
    }

    /// Whether pixel (x, y) is ink (outside the page: no).
    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width
            && self
                .bits
                .get(y as usize * self.stride + (x / 8) as usize)
                .is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_page_has_whole_bytes_per_row_and_no_ink() {
        let b = Bitmap::blank(10, 3);
        assert_eq!((b.stride, b.bits.len()), (2, 6));
        assert!(!b.get(0, 0) && !b.get(9, 2) && !b.get(10, 0) && !b.get(0, 3));
        assert_eq!(b.row(2), &[0, 0]);
    }
}
