//! Five-point face alignment: a least-squares similarity transform (Umeyama, no reflection)
//! of the detector's landmarks onto a fixed template, then a bilinear warp to a square crop.
//!
//! Landmark order everywhere: left eye, right eye, nose, left mouth corner, right mouth corner,
//! "left" meaning the image's left (as MTCNN reports them).
use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::{warp_into_with, Interpolation};

/// Five `(x, y)` points in pixels.
pub type Landmarks = [[f32; 2]; 5];

/// ArcFace's reference points in a 112x112 crop (insightface), the de-facto standard template.
const ARCFACE_112: Landmarks = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// The paper's margin around the face: about 1.3 shows the whole head, not only the inner face.
pub const DEFAULT_MARGIN: f32 = 1.3;

/// The template scaled into a `size` x `size` crop and shrunk about the crop's centre by
/// `margin`, so that a larger margin leaves more of the head and background in view.
pub fn template(size: u32, margin: f32) -> Landmarks {
    let s = size as f32 / 112.0;
    let c = size as f32 / 2.0;
    ARCFACE_112.map(|[x, y]| [c + (x * s - c) / margin, c + (y * s - c) / margin])
}

/// `p -> s R p + t` with `a = s cos(theta)`, `b = s sin(theta)`:
/// `x' = a x - b y + tx`, `y' = b x + a y + ty`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    pub const IDENTITY: Similarity = Similarity {
        a: 1.0,
        b: 0.0,
        tx: 0.0,
        ty: 0.0,
    };

    /// Scale `s`, counter-clockwise angle `theta` (radians, y down so it turns clockwise on
    /// screen), then translation.
    pub fn new(scale: f32, theta: f32, tx: f32, ty: f32) -> Self {
        Similarity {
            a: scale * theta.cos(),
            b: scale * theta.sin(),
            tx,
            ty,
        }
    }

    pub fn apply(&self, [x, y]: [f32; 2]) -> [f32; 2] {
        [
            self.a * x - self.b * y + self.tx,
            self.b * x + self.a * y + self.ty,
        ]
    }

    pub fn scale(&self) -> f32 {
        self.a.hypot(self.b)
    }

    pub fn angle(&self) -> f32 {
        self.b.atan2(self.a)
    }

    /// The inverse map (a similarity too); undefined for a zero scale.
    pub fn inverse(&self) -> Similarity {
        let d = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / d, -self.b / d);
        Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }

    /// `self` after `first`: `p -> self(first(p))`.
    pub fn compose(&self, first: &Similarity) -> Similarity {
        Similarity {
            a: self.a * first.a - self.b * first.b,
            b: self.b * first.a + self.a * first.b,
            tx: self.a * first.tx - self.b * first.ty + self.tx,
            ty: self.b * first.tx + self.a * first.ty + self.ty,
        }
    }
}

/// The similarity that maps `src` onto `dst` with the least squared error.
///
/// In 2-D, Umeyama's solution restricted to proper rotations has a closed form: with centred
/// points, `a = sum(s . d) / sum |s|^2`, `b = sum(s x d) / sum |s|^2`.
pub fn similarity_transform(src: &Landmarks, dst: &Landmarks) -> Similarity {
    let mean = |p: &Landmarks| {
        let (mut x, mut y) = (0f64, 0f64);
        for q in p {
            x += q[0] as f64;
            y += q[1] as f64;
        }
        (x / 5.0, y / 5.0)
    };
    let (msx, msy) = mean(src);
    let (mdx, mdy) = mean(dst);
    let (mut dot, mut cross, mut var) = (0f64, 0f64, 0f64);
    for (s, d) in src.iter().zip(dst) {
        let (sx, sy) = (s[0] as f64 - msx, s[1] as f64 - msy);
        let (dx, dy) = (d[0] as f64 - mdx, d[1] as f64 - mdy);
        dot += sx * dx + sy * dy;
        cross += sx * dy - sy * dx;
        var += sx * sx + sy * sy;
    }
    if var <= f64::EPSILON {
        // All source points coincide: only the translation is defined.
        return Similarity {
            tx: (mdx - msx) as f32,
            ty: (mdy - msy) as f32,
            ..Similarity::IDENTITY
        };
    }
    let (a, b) = (dot / var, cross / var);
    Similarity {
        a: a as f32,
        b: b as f32,
        tx: (mdx - (a * msx - b * msy)) as f32,
        ty: (mdy - (b * msx + a * msy)) as f32,
    }
}

/// Warps `img` into a `size` x `size` crop where `to_crop` maps image points to crop points.
/// Bilinear; outside the photo the border pixels are repeated, so no black wedges appear.
pub fn warp(img: &RgbImage, to_crop: &Similarity, size: u32) -> RgbImage {
    let mut out = RgbImage::new(size, size);
    if img.width() == 0 || img.height() == 0 {
        return out;
    }
    let inv = to_crop.inverse();
    let (xmax, ymax) = (
        (img.width() as f32 - 1.001).max(0.0),
        (img.height() as f32 - 1.001).max(0.0),
    );
    warp_into_with(
        img,
        move |x, y| {
            let [u, v] = inv.apply([x, y]);
            (u.clamp(0.0, xmax), v.clamp(0.0, ymax))
        },
        Interpolation::Bilinear,
        Rgb([0, 0, 0]),
        &mut out,
    );
    out
}

/// Aligns a face by its five landmarks; returns the crop and the landmarks in crop pixels.
pub fn align(
    img: &RgbImage,
    landmarks: &Landmarks,
    size: u32,
    margin: f32,
) -> (RgbImage, Landmarks) {
    let t = similarity_transform(landmarks, &template(size, margin));
    (warp(img, &t, size), landmarks.map(|p| t.apply(p)))
}

/// The enlarged square box crop used when landmarks cannot be trusted: the box's longer side
/// times `scale`, centred on the box, resized to `size`.
pub fn square_crop_transform(bbox: [f32; 4], scale: f32, size: u32) -> Similarity {
    let [x1, y1, x2, y2] = bbox;
    let side = ((x2 - x1).max(y2 - y1) * scale).max(1.0);
    let s = size as f32 / side;
    let (cx, cy) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
    let half = size as f32 / 2.0;
    Similarity {
        a: s,
        b: 0.0,
        tx: half - s * cx,
        ty: half - s * cy,
    }
}

/// See [`square_crop_transform`].
pub fn square_crop(img: &RgbImage, bbox: [f32; 4], scale: f32, size: u32) -> RgbImage {
    warp(img, &square_crop_transform(bbox, scale, size), size)
}

/// Whether the five points look like a face inside `bbox` (x1, y1, x2, y2): left/right in
/// order, eyes above nose above mouth, eye distance a sensible share of the box width, all
/// points near the box.
pub fn plausible(landmarks: &Landmarks, bbox: [f32; 4]) -> bool {
    let [le, re, nose, lm, rm] = *landmarks;
    let [x1, y1, x2, y2] = bbox;
    let (w, h) = (x2 - x1, y2 - y1);
    if !(w > 1.0 && h > 1.0) || landmarks.iter().flatten().any(|v| !v.is_finite()) {
        return false;
    }
    let eye_dist = (re[0] - le[0]).hypot(re[1] - le[1]);
    let eyes_y = (le[1] + re[1]) / 2.0;
    let mouth_y = (lm[1] + rm[1]) / 2.0;
    let inside = landmarks.iter().all(|p| {
        p[0] >= x1 - 0.2 * w && p[0] <= x2 + 0.2 * w && p[1] >= y1 - 0.2 * h && p[1] <= y2 + 0.2 * h
    });
    le[0] < re[0]
        && lm[0] < rm[0]
        && eyes_y < nose[1]
        && nose[1] < mouth_y
        && eye_dist >= 0.15 * w
        && eye_dist <= 0.8 * w
        && inside
}

/// One aligned face crop and how it was made.
#[derive(Debug, Clone)]
pub struct Aligned {
    pub image: RgbImage,
    /// The five landmarks in crop pixels.
    pub landmarks: Landmarks,
    /// Photo pixels -> crop pixels.
    pub transform: Similarity,
    /// True when the landmarks were implausible and the square box crop was used.
    pub fallback: bool,
}

/// Aligns by the landmarks when they are plausible, else falls back to the square box crop
/// (scale `margin * 1.2`, about the head size the template's margin gives).
pub fn align_or_crop(
    img: &RgbImage,
    bbox: [f32; 4],
    landmarks: &Landmarks,
    size: u32,
    margin: f32,
) -> Aligned {
    let (transform, fallback) = if plausible(landmarks, bbox) {
        (
            similarity_transform(landmarks, &template(size, margin)),
            false,
        )
    } else {
        (square_crop_transform(bbox, margin * 1.2, size), true)
    };
    Aligned {
        image: warp(img, &transform, size),
        landmarks: landmarks.map(|p| transform.apply(p)),
        transform,
        fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACE: Landmarks = [
        [130.0, 160.0],
        [190.0, 158.0],
        [161.0, 195.0],
        [138.0, 230.0],
        [184.0, 229.0],
    ];

    #[test]
    fn template_at_112_without_margin_is_arcface() {
        assert_eq!(template(112, 1.0), ARCFACE_112);
        let t = template(224, 1.3);
        // Hand computed: 112 + (38.2946 * 2 - 112) / 1.3 = 112 - 35.4006 / 1.3.
        assert!(
            (t[0][0] - (112.0 - 35.4108 / 1.3)).abs() < 1e-3,
            "{:?}",
            t[0]
        );
    }

    #[test]
    fn recovers_a_known_similarity_exactly() {
        let truth = Similarity::new(1.7, 0.35, -40.0, 12.5);
        let dst = FACE.map(|p| truth.apply(p));
        let est = similarity_transform(&FACE, &dst);
        for (got, want) in [
            (est.a, truth.a),
            (est.b, truth.b),
            (est.tx, truth.tx),
            (est.ty, truth.ty),
        ] {
            assert!((got - want).abs() < 1e-4, "{est:?} vs {truth:?}");
        }
        assert!((est.scale() - 1.7).abs() < 1e-5);
        assert!((est.angle() - 0.35).abs() < 1e-5);
    }

    #[test]
    fn inverse_and_compose_round_trip() {
        let t = Similarity::new(0.6, -1.1, 7.0, -3.0);
        let id = t.inverse().compose(&t);
        let p = id.apply([123.0, -45.0]);
        assert!(
            (p[0] - 123.0).abs() < 1e-3 && (p[1] + 45.0).abs() < 1e-3,
            "{p:?}"
        );
    }

    #[test]
    fn never_reflects() {
        // Mirrored destination: the best proper similarity cannot match it, and must not flip.
        let dst = FACE.map(|[x, y]| [400.0 - x, y]);
        let t = similarity_transform(&FACE, &dst);
        let m = [[t.a, -t.b], [t.b, t.a]];
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        assert!(det >= 0.0);
    }

    /// Draws 3x3 white dots at the landmarks of a rotated, scaled, shifted copy of the
    /// template and checks that the eye dots land on the template after alignment (by their
    /// intensity centroid): this pins the warp's direction and pixel convention.
    #[test]
    fn aligned_eye_dots_land_on_the_template() {
        let pose = Similarity::new(2.8, 0.3, 60.0, -20.0);
        let lm = ARCFACE_112.map(|p| pose.apply(p));
        let mut img = RgbImage::new(480, 420);
        for p in &lm {
            let (cx, cy) = (p[0].round() as i32, p[1].round() as i32);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    img.put_pixel((cx + dx) as u32, (cy + dy) as u32, Rgb([255, 255, 255]));
                }
            }
        }
        let (crop, crop_lm) = align(&img, &lm, 224, DEFAULT_MARGIN);
        let tpl = template(224, DEFAULT_MARGIN);
        for k in 0..2 {
            // Centroid of brightness in a 15 px window around the template position.
            let (mut sx, mut sy, mut sw) = (0f32, 0f32, 0f32);
            let (tx, ty) = (tpl[k][0].round() as i32, tpl[k][1].round() as i32);
            for y in ty - 7..=ty + 7 {
                for x in tx - 7..=tx + 7 {
                    let v = crop.get_pixel(x as u32, y as u32)[0] as f32;
                    sx += v * x as f32;
                    sy += v * y as f32;
                    sw += v;
                }
            }
            assert!(sw > 0.0, "no dot near eye {k}");
            let (gx, gy) = (sx / sw, sy / sw);
            // Dots were drawn at rounded positions: allow that half pixel (scaled) plus 2 px.
            let err = (gx - tpl[k][0]).hypot(gy - tpl[k][1]);
            assert!(
                err < 2.0,
                "eye {k}: dot at ({gx}, {gy}), template {:?}",
                tpl[k]
            );
            let lerr = (crop_lm[k][0] - tpl[k][0]).hypot(crop_lm[k][1] - tpl[k][1]);
            assert!(lerr < 1e-2, "returned landmark {k} off by {lerr}");
        }
    }

    #[test]
    fn plausibility_rejects_swapped_or_tiny_landmarks() {
        let bbox = [100.0, 110.0, 220.0, 270.0];
        assert!(plausible(&FACE, bbox));
        let mut swapped = FACE;
        swapped.swap(0, 1);
        assert!(!plausible(&swapped, bbox));
        let tiny = FACE.map(|[x, y]| [160.0 + (x - 160.0) * 0.05, 190.0 + (y - 190.0) * 0.05]);
        assert!(!plausible(&tiny, bbox));
        let upside_down = FACE.map(|[x, y]| [x, 400.0 - y]);
        assert!(!plausible(&upside_down, bbox));
    }

    #[test]
    fn fallback_square_crop_centres_the_box() {
        // A white box on black: the square crop (scale 1) must fill the crop's centre.
        let mut img = RgbImage::new(300, 200);
        for y in 50..150 {
            for x in 100..180 {
                img.put_pixel(x, y, Rgb([255, 255, 255]));
            }
        }
        let bbox = [100.0, 50.0, 180.0, 150.0];
        let mut swapped = FACE;
        swapped.swap(0, 1);
        let out = align_or_crop(&img, bbox, &swapped, 100, 1.0 / 1.2);
        assert!(out.fallback);
        // Side = 100 px -> 1:1; the box spans x in [10, 90), y in [0, 100).
        assert_eq!(out.image.get_pixel(50, 50)[0], 255);
        assert_eq!(out.image.get_pixel(5, 50)[0], 0);
        assert_eq!(out.image.get_pixel(95, 50)[0], 0);
    }
}
