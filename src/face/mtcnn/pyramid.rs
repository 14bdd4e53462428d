//! P-Net's image pyramid from one summed-area table per frame. facenet resamples the whole
//! float frame once per level (`interpolate(mode="area")`), which on a 1280x720 frame cost
//! more than P-Net itself: every level read 11 MB per frame however small it was. Here each
//! level cell is four look-ups into the table, with libtorch's `adaptive_avg_pool2d` cell
//! bounds and its `sum / kh / kw` in float32 over sums of whole pixel values that float32
//! holds exactly, so the levels are the same numbers bit for bit.
use super::boxes::{area_cells, area_value};
use rayon::prelude::*;

/// Inclusive prefix sums of an RGB frame, `(h + 1) x (w + 1) x 3`, with a zero first row and
/// column. Sums wrap modulo 2^32; a window's sum comes out exact while it stays under 2^32
/// (any window of fewer than 16 million pixels).
struct SummedArea {
    w: usize,
    sums: Vec<u32>,
}

impl SummedArea {
    fn new(img: &image::RgbImage) -> SummedArea {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let stride = (w + 1) * 3;
        let mut sums = vec![0u32; (h + 1) * stride];
        let raw = img.as_raw();
        for y in 0..h {
            let mut row = [0u32; 3];
            let (above, here) = sums.split_at_mut((y + 1) * stride);
            let above = &above[y * stride..];
            for x in 0..w {
                for c in 0..3 {
                    row[c] = row[c].wrapping_add(raw[(y * w + x) * 3 + c] as u32);
                    let k = (x + 1) * 3 + c;
                    here[k] = above[k].wrapping_add(row[c]);
                }
            }
        }
        SummedArea { w, sums }
    }

    /// Sum of channel `c` over rows `y0..y1` and columns `x0..x1`.
    fn window(&self, c: usize, y0: usize, y1: usize, x0: usize, x1: usize) -> u32 {
        let at = |y: usize, x: usize| self.sums[(y * (self.w + 1) + x) * 3 + c];
        at(y1, x1)
            .wrapping_sub(at(y0, x1))
            .wrapping_sub(at(y1, x0))
            .wrapping_add(at(y0, x0))
    }
}

/// Every frame resampled to every `(height, width)` level and normalised as `(v - 127.5) *
/// 0.0078125`: per level, `frames x level_h x level_w x 3` values (channels last, the layout
/// facenet's permuted batch gives its kernels). Frames are done in parallel.
pub fn levels(imgs: &[image::RgbImage], sizes: &[(usize, usize)]) -> Vec<Vec<f32>> {
    let (w, h) = imgs.first().map_or((0, 0), |i| i.dimensions());
    let bounds: Vec<_> = sizes
        .iter()
        .map(|&(lh, lw)| (area_cells(h as usize, lh), area_cells(w as usize, lw)))
        .collect();
    let per_frame: Vec<Vec<Vec<f32>>> = imgs
        .par_iter()
        .map(|img| {
            let table = SummedArea::new(img);
            bounds
                .iter()
                .map(|(rows, cols)| {
                    let mut out = Vec::with_capacity(rows.len() * cols.len() * 3);
                    for &(y0, y1) in rows {
                        for &(x0, x1) in cols {
                            for c in 0..3 {
                                let sum = table.window(c, y0, y1, x0, x1);
                                out.push(area_value(sum, y1 - y0, x1 - x0));
                            }
                        }
                    }
                    out
                })
                .collect()
        })
        .collect();
    (0..sizes.len())
        .map(|l| {
            per_frame
                .iter()
                .flat_map(|f| f[l].iter().copied())
                .collect()
        })
        .collect()
}
