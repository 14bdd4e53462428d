//! Landmark geometry shared by the methods: a face-aligned frame (so every size scales with
//! the face, not the image), convex hulls around landmarks, and the similarity fit between
//! two faces' landmarks.
use image::imageops::{resize, FilterType};
use image::{Rgb, Rgb32FImage};
use imageproc::geometric_transformations::{warp_into_with, Interpolation, Projection};
use imageproc::geometry::convex_hull;
use imageproc::point::Point;

/// Axes of an aligned face: `right` runs along the eye line, `down` across it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    /// Midway between the eye midpoint and the mouth midpoint.
    pub center: [f32; 2],
    pub right: [f32; 2],
    pub down: [f32; 2],
    /// Inter-ocular distance in pixels: the unit of every random size.
    pub iod: f32,
}

impl Frame {
    pub fn new(lm: &[[f32; 2]; 5]) -> Frame {
        let (dx, dy) = (lm[1][0] - lm[0][0], lm[1][1] - lm[0][1]);
        let iod = (dx * dx + dy * dy).sqrt().max(1.0);
        let right = [dx / iod, dy / iod];
        let eyes = midpoint(lm[0], lm[1]);
        let mouth = midpoint(lm[3], lm[4]);
        Frame {
            center: midpoint(eyes, mouth),
            right,
            down: [-right[1], right[0]],
            iod,
        }
    }
}

pub(crate) fn midpoint(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
}

/// Convex hull of ellipses (semi-axis `rx` along the eye line, `ry` across it) centred on
/// each of `points`, as an open polygon ready for `draw_polygon`.
pub(crate) fn ellipse_hull(
    points: &[[f32; 2]],
    rx: f32,
    ry: f32,
    frame: &Frame,
) -> Vec<Point<i32>> {
    const STEPS: usize = 32;
    let mut pts = Vec::with_capacity(points.len() * STEPS);
    for p in points {
        for k in 0..STEPS {
            let (s, c) = (k as f32 * std::f32::consts::TAU / STEPS as f32).sin_cos();
            let (u, v) = (rx * c, ry * s);
            let x = p[0] + u * frame.right[0] + v * frame.down[0];
            let y = p[1] + u * frame.right[1] + v * frame.down[1];
            pts.push(Point::new(x.round() as i32, y.round() as i32));
        }
    }
    let mut hull = convex_hull(pts);
    if hull.len() > 1 && hull.first() == hull.last() {
        hull.pop();
    }
    hull
}

/// Rotation by `angle` and scaling by `scale` about `center`, then a shift.
pub(crate) fn affine_about(
    center: [f32; 2],
    angle: f32,
    scale: f32,
    shift: [f32; 2],
) -> Projection {
    Projection::translate(-center[0], -center[1])
        .and_then(Projection::rotate(angle))
        .and_then(Projection::scale(scale, scale))
        .and_then(Projection::translate(
            center[0] + shift[0],
            center[1] + shift[1],
        ))
}

/// `img` moved by `projection` into a `width` x `height` canvas (bilinear). Pre-images outside
/// `img` take the nearest edge pixel, so no black border can leak into a blend.
pub(crate) fn warp_clamped(
    img: &Rgb32FImage,
    projection: &Projection,
    width: u32,
    height: u32,
) -> Rgb32FImage {
    let inverse = projection.invert();
    // Bilinear needs the right/bottom neighbour inside the image.
    let max_x = (img.width() as f32 - 1.001).max(0.0);
    let max_y = (img.height() as f32 - 1.001).max(0.0);
    let mut out = Rgb32FImage::new(width, height);
    let mapping = |x: f32, y: f32| {
        let (u, v) = inverse * (x, y);
        (u.clamp(0.0, max_x), v.clamp(0.0, max_y))
    };
    warp_into_with(
        img,
        mapping,
        Interpolation::Bilinear,
        Rgb([0.0; 3]),
        &mut out,
    );
    out
}

/// `img` resized with a triangle filter.
pub(crate) fn resize_f32(img: &Rgb32FImage, width: u32, height: u32) -> Rgb32FImage {
    resample_f32(img, width, height, FilterType::Triangle)
}

/// `img` resized with `filter`. `image`'s resize clamps float pixels to [0, 1], so the
/// 0..255 values pass through that range and back.
pub(crate) fn resample_f32(
    img: &Rgb32FImage,
    width: u32,
    height: u32,
    filter: FilterType,
) -> Rgb32FImage {
    let mut unit = img.clone();
    unit.iter_mut().for_each(|v| *v /= 255.0);
    let mut out = resize(&unit, width, height, filter);
    out.iter_mut().for_each(|v| *v *= 255.0);
    out
}

/// Least-squares similarity (rotation, uniform scale, shift; no reflection) taking `from`
/// onto `to`; `None` when `from` is degenerate (all points equal).
pub(crate) fn similarity_fit(from: &[[f32; 2]], to: &[[f32; 2]]) -> Option<Projection> {
    let n = from.len().min(to.len());
    if n == 0 {
        return None;
    }
    let mean = |pts: &[[f32; 2]]| {
        let (sx, sy) = pts[..n]
            .iter()
            .fold((0.0, 0.0), |(sx, sy), p| (sx + p[0], sy + p[1]));
        [sx / n as f32, sy / n as f32]
    };
    let (mf, mt) = (mean(from), mean(to));
    // In complex numbers the fit is z -> (a + ib) z + t with (a + ib) = sum(conj(f) t) / sum(|f|^2).
    let (mut dot, mut cross, mut norm) = (0.0f32, 0.0f32, 0.0f32);
    for (f, t) in from[..n].iter().zip(&to[..n]) {
        let (fx, fy) = (f[0] - mf[0], f[1] - mf[1]);
        let (tx, ty) = (t[0] - mt[0], t[1] - mt[1]);
        dot += fx * tx + fy * ty;
        cross += fx * ty - fy * tx;
        norm += fx * fx + fy * fy;
    }
    if norm <= f32::EPSILON {
        return None;
    }
    let (a, b) = (dot / norm, cross / norm);
    let tx = mt[0] - (a * mf[0] - b * mf[1]);
    let ty = mt[1] - (b * mf[0] + a * mf[1]);
    Projection::from_matrix([a, -b, tx, b, a, ty, 0.0, 0.0, 1.0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_fit_recovers_a_known_transform() {
        let from = [
            [83.0, 102.0],
            [141.0, 102.0],
            [112.0, 134.0],
            [90.0, 163.0],
            [134.0, 163.0],
        ];
        // Hand-made: rotate by 0.1 rad, scale 1.2, shift (5, -3).
        let (s, c) = 0.1f32.sin_cos();
        let to: Vec<[f32; 2]> = from
            .iter()
            .map(|p| {
                [
                    1.2 * (c * p[0] - s * p[1]) + 5.0,
                    1.2 * (s * p[0] + c * p[1]) - 3.0,
                ]
            })
            .collect();
        let fit = similarity_fit(&from, &to).unwrap();
        for (f, t) in from.iter().zip(&to) {
            let (x, y) = fit * (f[0], f[1]);
            assert!(
                (x - t[0]).abs() < 1e-2 && (y - t[1]).abs() < 1e-2,
                "{x},{y} vs {t:?}"
            );
        }
        assert!(similarity_fit(&[[1.0, 1.0]; 5], &to).is_none());
    }

    #[test]
    fn warp_clamped_shifts_and_repeats_the_edge() {
        let img = Rgb32FImage::from_fn(4, 3, |x, _| Rgb([x as f32 * 10.0; 3]));
        let out = warp_clamped(&img, &Projection::translate(1.0, 0.0), 5, 3);
        let row: Vec<f32> = (0..5).map(|x| out.get_pixel(x, 1).0[0]).collect();
        // out(x) = img(x - 1), edge-clamped on both sides (29.99 is the bilinear edge guard).
        assert_eq!(&row[..4], &[0.0, 0.0, 10.0, 20.0]);
        assert!((row[4] - 29.99).abs() < 1e-3, "{row:?}");
    }

    #[test]
    fn resize_f32_keeps_the_0_255_scale() {
        // Without the round trip through [0, 1], image's resize would clamp 200 to 1.
        let flat = Rgb32FImage::from_pixel(6, 6, Rgb([200.0; 3]));
        let small = resize_f32(&flat, 3, 3);
        assert!(small.pixels().all(|p| (p.0[0] - 200.0).abs() < 1e-3));
        let step = Rgb32FImage::from_fn(8, 2, |x, _| Rgb([if x < 4 { 0.0 } else { 200.0 }; 3]));
        let half = resize_f32(&step, 4, 1);
        let row: Vec<f32> = half.pixels().map(|p| p.0[0]).collect();
        assert!(row[0] < 1e-3 && (row[3] - 200.0).abs() < 1e-3, "{row:?}");
        assert!((row.iter().sum::<f32>() - 400.0).abs() < 1e-2, "{row:?}");
    }

    /// Five landmarks of an upright face in a 224 crop.
    const LEVEL_FACE: [[f32; 2]; 5] = [
        [83.0, 102.0],
        [141.0, 102.0],
        [112.0, 134.0],
        [90.0, 163.0],
        [134.0, 163.0],
    ];

    #[test]
    fn frame_of_a_level_face_points_down_the_image() {
        let lm = LEVEL_FACE;
        let f = Frame::new(&lm);
        assert_eq!(f.iod, 58.0);
        assert_eq!(f.right, [1.0, 0.0]);
        assert_eq!(f.down, [-0.0, 1.0]);
        assert_eq!(f.center, [112.0, 132.5]);
    }

    #[test]
    fn ellipse_hull_spans_the_ellipses() {
        let lm = LEVEL_FACE;
        let f = Frame::new(&lm);
        let hull = ellipse_hull(&lm, 10.0, 20.0, &f);
        let xs = hull.iter().map(|p| p.x);
        let ys = hull.iter().map(|p| p.y);
        assert_eq!(xs.clone().min(), Some(73));
        assert_eq!(xs.max(), Some(151));
        assert_eq!(ys.clone().min(), Some(82));
        assert_eq!(ys.max(), Some(183));
    }
}
