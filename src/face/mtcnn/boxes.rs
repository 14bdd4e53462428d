//! MTCNN's box arithmetic, step for step as facenet-pytorch's `detect_face.py` does it (float32,
//! same operation order, same comparisons), so that both keep the same windows.
use std::cmp::Ordering;

/// A face window on its way through the cascade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Index of the image in the batch; NMS never lets two images' boxes suppress each other.
    pub image: usize,
    /// `[x1, y1, x2, y2]` in image pixels.
    pub bbox: [f32; 4],
    pub score: f32,
    /// The last net's box offsets, not yet applied.
    pub reg: [f32; 4],
}

/// P-Net's windows at one scale of one image (`generateBoundingBox`): every output cell whose
/// face probability reaches `threshold` becomes the 12x12 window it saw, mapped back to image
/// pixels. `prob` is the `h x w` face map, `reg` the `4 x h x w` offsets; cells in row order.
pub fn proposals(
    image: usize,
    prob: &[f32],
    reg: &[f32],
    (h, w): (usize, usize),
    scale: f64,
    threshold: f32,
) -> Vec<Candidate> {
    const STRIDE: f32 = 2.0;
    const CELL: f32 = 12.0;
    let s = scale as f32;
    let plane = h * w;
    let mut out = Vec::new();
    for (k, &p) in prob.iter().enumerate().take(plane) {
        if p < threshold {
            continue;
        }
        let (y, x) = ((k / w) as f32, (k % w) as f32);
        let q1 = |v: f32| ((STRIDE * v + 1.0) / s).floor();
        let q2 = |v: f32| ((STRIDE * v + (CELL - 1.0 + 1.0)) / s).floor();
        out.push(Candidate {
            image,
            bbox: [q1(x), q1(y), q2(x), q2(y)],
            score: p,
            reg: [
                reg[k],
                reg[plane + k],
                reg[2 * plane + k],
                reg[3 * plane + k],
            ],
        });
    }
    out
}

/// How two boxes' overlap is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// torchvision's `nms`: intersection over union of `(x2 - x1) * (y2 - y1)` areas; a box is
    /// dropped when the overlap exceeds the threshold (compared in double, as torchvision).
    Union,
    /// facenet's `nms_numpy(..., 'Min')`: intersection over the smaller area, Caffe's `+ 1`
    /// pixel convention; dropped when the overlap exceeds the threshold (in float32).
    Min,
}

/// Greedy non-maximum suppression within each image. Returns the kept indices, highest score
/// first (a stable sort, so equal scores keep their input order as torchvision's does).
pub fn nms(cands: &[Candidate], threshold: f64, overlap: Overlap) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&a, &b| {
        cands[b]
            .score
            .partial_cmp(&cands[a].score)
            .unwrap_or(Ordering::Equal)
    });
    let one = match overlap {
        Overlap::Union => 0.0f32,
        Overlap::Min => 1.0f32,
    };
    let area = |b: &[f32; 4]| (b[2] - b[0] + one) * (b[3] - b[1] + one);
    let mut suppressed = vec![false; cands.len()];
    let mut keep = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        if suppressed[i] {
            continue;
        }
        keep.push(i);
        let bi = &cands[i].bbox;
        let ai = area(bi);
        for &j in &order[pos + 1..] {
            if suppressed[j] || cands[j].image != cands[i].image {
                continue;
            }
            let bj = &cands[j].bbox;
            let iw = (bi[2].min(bj[2]) - bi[0].max(bj[0]) + one).max(0.0);
            let ih = (bi[3].min(bj[3]) - bi[1].max(bj[1]) + one).max(0.0);
            let inter = iw * ih;
            let aj = area(bj);
            suppressed[j] = match overlap {
                Overlap::Union => (inter / (ai + aj - inter)) as f64 > threshold,
                Overlap::Min => inter / ai.min(aj) > threshold as f32,
            };
        }
    }
    keep
}

/// P-Net's calibration: offsets scaled by the window's `x2 - x1` (no `+ 1`, unlike [`bbreg`]).
pub fn calibrate(c: &mut Candidate) {
    let [x1, y1, x2, y2] = c.bbox;
    let (w, h) = (x2 - x1, y2 - y1);
    c.bbox = [
        x1 + c.reg[0] * w,
        y1 + c.reg[1] * h,
        x2 + c.reg[2] * w,
        y2 + c.reg[3] * h,
    ];
}

/// R- and O-Net's calibration (`bbreg`): offsets scaled by `x2 - x1 + 1`.
pub fn bbreg(c: &mut Candidate) {
    let [x1, y1, x2, y2] = c.bbox;
    let (w, h) = (x2 - x1 + 1.0, y2 - y1 + 1.0);
    c.bbox = [
        x1 + c.reg[0] * w,
        y1 + c.reg[1] * h,
        x2 + c.reg[2] * w,
        y2 + c.reg[3] * h,
    ];
}

/// `rerec`: the square with the box's centre and its longer side.
pub fn rerec(c: &mut Candidate) {
    let [x1, y1, x2, y2] = c.bbox;
    let (h, w) = (y2 - y1, x2 - x1);
    let l = w.max(h);
    let nx = x1 + w * 0.5 - l * 0.5;
    let ny = y1 + h * 0.5 - l * 0.5;
    c.bbox = [nx, ny, nx + l, ny + l];
}

/// The pixels a box crops (`pad`): rows `y0..y1`, columns `x0..x1` after truncating the box to
/// integers and clipping it to the image (facenet squeezes clipped boxes into the net's input
/// rather than padding them). `None` when nothing of the box is inside the image, where
/// facenet's loop skips the crop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

pub fn window(bbox: &[f32; 4], w: usize, h: usize) -> Option<Window> {
    let t = |v: f32| v.trunc() as i64;
    let x = t(bbox[0]).max(1);
    let y = t(bbox[1]).max(1);
    let ex = t(bbox[2]).min(w as i64);
    let ey = t(bbox[3]).min(h as i64);
    (ey > y - 1 && ex > x - 1).then(|| Window {
        x0: (x - 1) as usize,
        y0: (y - 1) as usize,
        x1: ex as usize,
        y1: ey as usize,
    })
}

/// Appends the window resampled to `size` x `size` with torch's `area` mode (adaptive average
/// pooling, facenet's `imresample`) and normalised as `(v - 127.5) * 0.0078125`, as planar
/// RGB (`3 x size x size`). The same numbers as libtorch's CPU kernel: its cell bounds
/// (`floor`/`ceil` of a float32 quotient), its `sum / kh / kw` in float32, and sums of whole
/// pixel values that float32 holds exactly. Done here rather than as one tensor op per box,
/// which cost about 0.5 ms a crop.
pub fn area_crop(img: &image::RgbImage, win: &Window, size: usize, out: &mut Vec<f32>) {
    let rows = area_cells(win.y1 - win.y0, size);
    let cols = area_cells(win.x1 - win.x0, size);
    let raw = img.as_raw();
    let stride = img.width() as usize * 3;
    let base = out.len();
    out.resize(base + 3 * size * size, 0.0);
    for (oy, &(y0, y1)) in rows.iter().enumerate() {
        for (ox, &(x0, x1)) in cols.iter().enumerate() {
            let mut sum = [0u32; 3];
            for y in y0..y1 {
                let row = (win.y0 + y) * stride;
                for x in x0..x1 {
                    let p = row + (win.x0 + x) * 3;
                    sum[0] += raw[p] as u32;
                    sum[1] += raw[p + 1] as u32;
                    sum[2] += raw[p + 2] as u32;
                }
            }
            for (c, &s) in sum.iter().enumerate() {
                out[base + (c * size + oy) * size + ox] = area_value(s, y1 - y0, x1 - x0);
            }
        }
    }
}

/// libtorch's adaptive pooling cells of an input side `n` pooled to `o`: cell `i` is
/// `[floor(i n / o), ceil((i + 1) n / o))`, the integer products divided in float32 as its
/// CPU kernel does.
pub fn area_cells(n: usize, o: usize) -> Vec<(usize, usize)> {
    let of = o as f32;
    (0..o)
        .map(|i| {
            let start = ((i * n) as f32 / of).floor() as usize;
            let end = (((i + 1) * n) as f32 / of).ceil() as usize;
            (start, end)
        })
        .collect()
}

/// A cell's pixel sum over `kh x kw` pixels as libtorch's area pooling gives it (`sum / kh /
/// kw` in float32), normalised for the nets as facenet does: `(v - 127.5) * 0.0078125`.
pub fn area_value(sum: u32, kh: usize, kw: usize) -> f32 {
    let v = sum as f32 / kh as f32 / kw as f32;
    (v - 127.5) * 0.0078125
}

/// O-Net's landmarks (five x fractions, then five y) in image pixels, relative to the box the
/// net saw (before its own regression is applied).
pub fn landmarks(bbox: &[f32; 4], p: &[f32]) -> [[f32; 2]; 5] {
    let w = bbox[2] - bbox[0] + 1.0;
    let h = bbox[3] - bbox[1] + 1.0;
    std::array::from_fn(|k| [w * p[k] + bbox[0] - 1.0, h * p[5 + k] + bbox[1] - 1.0])
}

/// The scales of the image pyramid: the first maps `min_face` pixels to P-Net's 12, each next
/// one is `factor` times smaller, until the shorter side would fall under 12 pixels.
pub fn pyramid(h: usize, w: usize, min_face: f64, factor: f64) -> Vec<f64> {
    let m = 12.0 / min_face;
    let mut minl = h.min(w) as f64 * m;
    let mut scale = m;
    let mut out = Vec::new();
    while minl >= 12.0 {
        out.push(scale);
        scale *= factor;
        minl *= factor;
    }
    out
}

/// The size P-Net sees at one scale (facenet's `int(h * scale + 1)`).
pub fn level_size(h: usize, w: usize, scale: f64) -> (i64, i64) {
    (
        (h as f64 * scale + 1.0) as i64,
        (w as f64 * scale + 1.0) as i64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(image: usize, bbox: [f32; 4], score: f32) -> Candidate {
        Candidate {
            image,
            bbox,
            score,
            reg: [0.0; 4],
        }
    }

    #[test]
    fn proposals_map_cells_back_to_windows() {
        // A 2x3 map at scale 0.5: cell (y=1, x=2) -> floor((2*2+1)/0.5) = 10, floor((4+12)/0.5) = 32.
        let prob = [0.1, 0.2, 0.3, 0.4, 0.5, 0.9];
        let reg: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let c = proposals(3, &prob, &reg, (2, 3), 0.5, 0.6);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].image, 3);
        assert_eq!(c[0].bbox, [10.0, 6.0, 32.0, 28.0]);
        assert_eq!(c[0].score, 0.9);
        assert_eq!(c[0].reg, [5.0, 11.0, 17.0, 23.0]);
        // The threshold is inclusive, as facenet's `probs >= thresh`.
        assert_eq!(proposals(0, &prob, &reg, (2, 3), 1.0, 0.5).len(), 2);
    }

    #[test]
    fn union_nms_keeps_the_best_of_each_cluster_and_each_image() {
        let c = [
            cand(0, [0.0, 0.0, 10.0, 10.0], 0.8),
            cand(0, [1.0, 0.0, 11.0, 10.0], 0.9), // IoU 90/110 = 0.818 with the first
            cand(0, [5.0, 0.0, 15.0, 10.0], 0.7), // IoU 60/140 = 0.43 with the second
            cand(1, [0.0, 0.0, 10.0, 10.0], 0.5), // another image: never suppressed
        ];
        assert_eq!(nms(&c, 0.7, Overlap::Union), vec![1, 2, 3]);
        assert_eq!(nms(&c, 0.3, Overlap::Union), vec![1, 3]);
        // Strictly greater: an IoU equal to the threshold (50/100) keeps the box.
        let h = [
            cand(0, [0.0, 0.0, 10.0, 10.0], 0.9),
            cand(0, [0.0, 0.0, 10.0, 5.0], 0.8),
        ];
        assert_eq!(nms(&h, 0.5, Overlap::Union).len(), 2);
        assert_eq!(nms(&h, 0.49, Overlap::Union).len(), 1);
    }

    #[test]
    fn min_nms_drops_boxes_inside_larger_ones() {
        // The small box lies inside the large one: intersection over the smaller area is 1.
        let c = [
            cand(0, [0.0, 0.0, 99.0, 99.0], 0.95),
            cand(0, [10.0, 10.0, 29.0, 29.0], 0.99),
        ];
        assert_eq!(nms(&c, 0.7, Overlap::Min), vec![1]);
        assert_eq!(nms(&c, 0.7, Overlap::Union), vec![1, 0]);
        // Caffe's +1: [0,0,9,9] and [5,0,14,9] share 5x10 of 10x10 pixels = 0.5.
        let d = [
            cand(0, [0.0, 0.0, 9.0, 9.0], 0.9),
            cand(0, [5.0, 0.0, 14.0, 9.0], 0.8),
        ];
        assert_eq!(nms(&d, 0.5, Overlap::Min).len(), 2);
        assert_eq!(nms(&d, 0.49, Overlap::Min).len(), 1);
    }

    #[test]
    fn regression_and_squaring_follow_facenet() {
        let mut c = cand(0, [10.0, 20.0, 30.0, 60.0], 1.0);
        c.reg = [0.1, -0.1, 0.2, 0.05];
        let close = |a: [f32; 4], b: [f32; 4]| a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5);
        let mut p = c;
        calibrate(&mut p);
        assert!(close(p.bbox, [12.0, 16.0, 34.0, 62.0]), "{:?}", p.bbox);
        let mut b = c;
        bbreg(&mut b);
        // Widths with +1: 21 and 41.
        assert!(close(b.bbox, [12.1, 15.9, 34.2, 62.05]), "{:?}", b.bbox);
        let mut s = c;
        rerec(&mut s);
        assert_eq!(s.bbox, [0.0, 20.0, 40.0, 60.0]);
    }

    #[test]
    fn windows_truncate_and_clip() {
        let w = window(&[-3.7, 2.9, 50.2, 40.99], 40, 30).unwrap();
        assert_eq!(
            w,
            Window {
                x0: 0,
                y0: 1,
                x1: 40,
                y1: 30
            }
        );
        assert_eq!(window(&[45.0, 0.0, 60.0, 10.0], 40, 30), None);
        assert_eq!(window(&[0.0, -20.0, 10.0, -5.0], 40, 30), None);
    }

    #[test]
    fn landmarks_are_fractions_of_the_box_with_caffes_offsets() {
        let p = [0.0, 0.5, 1.0, 0.25, 0.75, 0.0, 0.5, 1.0, 0.1, 0.9];
        let l = landmarks(&[9.0, 19.0, 28.0, 58.0], &p);
        assert_eq!(l[0], [8.0, 18.0]);
        assert_eq!(l[1], [18.0, 38.0]);
        assert_eq!(l[2], [28.0, 58.0]);
    }

    #[test]
    fn pyramid_matches_facenets_loop() {
        // 100x60 with min face 20: 60*0.6 = 36 -> 25.5 -> 18.1 -> 12.8 -> 9.1 (stop).
        let s = pyramid(100, 60, 20.0, 0.709);
        assert_eq!(s.len(), 4);
        assert!((s[0] - 0.6).abs() < 1e-12 && (s[3] - 0.6 * 0.709f64.powi(3)).abs() < 1e-12);
        assert_eq!(level_size(100, 60, 0.6), (61, 37));
        assert!(pyramid(11, 500, 12.0, 0.709).is_empty());
    }
}
