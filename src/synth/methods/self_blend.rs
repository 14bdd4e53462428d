//! Self-blended images (Shiohara & Yamasaki, CVPR 2022): a face blended with a jittered copy
//! of itself. No second identity is involved, so what is left is the pure blending trace: a
//! boundary where brightness, contrast, sharpness or resolution steps, and a faint double edge
//! from the slight shift/scale of the copy. The blended region is the whole face or one part
//! of it.
use image::imageops::FilterType;
use image::{GrayImage, Rgb32FImage, RgbImage};
use imageproc::filter::gaussian_blur_f32;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::blend::{blend, feather, to_f32};
use super::geometry::{affine_about, resample_f32, warp_clamped, Frame};
use super::mask::{grow, hull_mask, transform};
use super::{symmetric, uniform, Face, Forgery};
use crate::error::{Error, Result};

pub struct SelfBlend;

// Sizes are in inter-ocular distances (iod), angles in radians.
const RX: (f32, f32) = (0.45, 0.7);
const RY: (f32, f32) = (0.45, 0.65);
const MASK_ANGLE: f32 = 0.07;
const MASK_ZOOM: f32 = 0.05;
const MASK_SHIFT: f32 = 0.04;
const MASK_GROW: f32 = 0.1;
const SIGMA: (f32, f32) = (0.04, 0.12);
const SOURCE_ZOOM: f32 = 0.04;
const SOURCE_SHIFT: f32 = 0.05;
/// Share of blends whose copy has a colour/brightness/contrast step.
const TONE_SHARE: f64 = 2.0 / 3.0;
/// Down-sampling factor of the low-resolution copy.
const LOW_RES: (f32, f32) = (1.6, 3.0);
/// How far hull points lie from the face centre at most, for the rotation/zoom allowance.
const HULL_REACH: f32 = 1.5;

impl Forgery for SelfBlend {
    fn name(&self) -> &'static str {
        "self_blend"
    }

    fn apply(
        &self,
        target: &Face,
        _donor: Option<&Face>,
        rng: &mut ChaCha8Rng,
    ) -> Result<RgbImage> {
        let img = &target.image;
        let frame = Frame::new(&target.landmarks);
        let d = frame.iod;
        // As in SBI, a third of the copies keep the face's tone and differ only in texture
        // and position: many forgeries change no brightness, and a detector that only looks
        // for a brightness step misses them.
        let tone = rng.random_bool(TONE_SHARE);
        let source = jittered_copy(img, &frame, tone, rng);

        let (rx, ry) = (uniform(rng, RX.0, RX.1) * d, uniform(rng, RY.0, RY.1) * d);
        // Half the blends cover the whole face, the rest one part of it (eyes and nose, nose
        // and mouth, or the mouth): real manipulations are often confined to a region, and a
        // detector should find a blend boundary wherever it runs.
        let lm = &target.landmarks;
        let points: Vec<[f32; 2]> = match rng.random_range(0..6) {
            0 => vec![lm[0], lm[1], lm[2]],
            1 => vec![lm[2], lm[3], lm[4]],
            2 => vec![lm[3], lm[4]],
            _ => lm.to_vec(),
        };
        let hull = hull_mask(img.width(), img.height(), &points, rx, ry, &frame);
        let angle = symmetric(rng, MASK_ANGLE);
        let zoom = 1.0 + symmetric(rng, MASK_ZOOM);
        let shift = [
            symmetric(rng, MASK_SHIFT) * d,
            symmetric(rng, MASK_SHIFT) * d,
        ];
        let moved = transform(&hull, &affine_about(frame.center, angle, zoom, shift));
        let region = grow(&moved, symmetric(rng, MASK_GROW) * d);
        let sigma = uniform(rng, SIGMA.0, SIGMA.1) * d;
        // As in SBI, half the blends are full strength, the rest partial.
        let strength = if rng.random_bool(0.5) {
            1.0
        } else {
            uniform(rng, 0.35, 1.0)
        };
        let footprint = self
            .footprint(target)
            .ok_or_else(|| Error::invalid("self_blend: no footprint"))?;
        Ok(blend(
            img,
            &source,
            &feather(&region, sigma, strength, &footprint),
        ))
    }

    fn footprint(&self, target: &Face) -> Option<GrayImage> {
        let (w, h) = target.image.dimensions();
        let frame = Frame::new(&target.landmarks);
        let d = frame.iod;
        let hull = hull_mask(w, h, &target.landmarks, RX.1 * d, RY.1 * d, &frame);
        // Gaussian kernels reach 2 sigma (imageproc's radius); +2 px for rounding.
        let margin = ((MASK_ANGLE + MASK_ZOOM) * HULL_REACH
            + MASK_SHIFT * std::f32::consts::SQRT_2
            + MASK_GROW
            + 2.0 * SIGMA.1)
            * d
            + 2.0;
        Some(grow(&hull, margin))
    }
}

/// The face, slightly moved, with a colour/brightness/contrast jitter when `tone` (always
/// with a luma step, so the boundary reaches the gray plane) and a change of texture:
/// sharpened, blurred or brought down to a lower resolution, optional only when `tone`.
fn jittered_copy(img: &RgbImage, frame: &Frame, tone: bool, rng: &mut ChaCha8Rng) -> Rgb32FImage {
    let mut copy = to_f32(img);
    if tone {
        let contrast = 1.0 + symmetric(rng, 0.15);
        let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let brightness = sign * uniform(rng, 4.0, 18.0);
        let tint = [
            symmetric(rng, 8.0),
            symmetric(rng, 8.0),
            symmetric(rng, 8.0),
        ];
        for p in copy.pixels_mut() {
            for (v, t) in p.0.iter_mut().zip(tint) {
                *v = (*v - 128.0) * contrast + 128.0 + brightness + t;
            }
        }
    }
    match rng.random_range(if tone { 0 } else { 1 }..4) {
        0 => {}
        1 => {
            let amount = uniform(rng, 0.5, 1.5);
            let blurred = gaussian_blur_f32(&copy, 1.0);
            for (p, b) in copy.pixels_mut().zip(blurred.pixels()) {
                for c in 0..3 {
                    p.0[c] += amount * (p.0[c] - b.0[c]);
                }
            }
        }
        2 => copy = gaussian_blur_f32(&copy, uniform(rng, 0.6, 1.4)),
        _ => copy = low_resolution(&copy, uniform(rng, LOW_RES.0, LOW_RES.1)),
    }
    let d = frame.iod;
    let zoom = 1.0 + symmetric(rng, SOURCE_ZOOM);
    let shift = [
        symmetric(rng, SOURCE_SHIFT) * d,
        symmetric(rng, SOURCE_SHIFT) * d,
    ];
    let moved = affine_about(frame.center, 0.0, zoom, shift);
    warp_clamped(&copy, &moved, img.width(), img.height())
}

/// `img` sampled down by `factor` without a low-pass (nearest pixel, so it aliases) and
/// interpolated back up: the resolution mismatch a face generated at a lower resolution
/// leaves once pasted into a sharper frame (Li & Lyu 2019; SBI's source down-scaling).
fn low_resolution(img: &Rgb32FImage, factor: f32) -> Rgb32FImage {
    let (w, h) = img.dimensions();
    let small_w = ((w as f32 / factor).round() as u32).max(1);
    let small_h = ((h as f32 / factor).round() as u32).max(1);
    let small = resample_f32(img, small_w, small_h, FilterType::Nearest);
    resample_f32(&small, w, h, FilterType::Triangle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::align::{template, DEFAULT_MARGIN};
    use rand::SeedableRng;

    fn image(w: u32, h: u32, f: impl Fn(u32, u32) -> f32) -> Rgb32FImage {
        Rgb32FImage::from_fn(w, h, |x, y| image::Rgb([f(x, y); 3]))
    }

    #[test]
    fn low_resolution_aliases_fine_detail_and_keeps_smooth_shading() {
        // 1-px stripes sampled at every 2nd pixel come back flat at one stripe's value (a
        // low-pass would give their mean, 127.5): the copy has lost the detail, not blurred it.
        let stripes = image(64, 48, |x, _| if x % 2 == 0 { 0.0 } else { 255.0 });
        let out = low_resolution(&stripes, 2.0);
        assert_eq!(out.dimensions(), (64, 48));
        let first = out.get_pixel(0, 0).0[0];
        assert!(first == 0.0 || first == 255.0, "{first}");
        assert!(out.pixels().all(|p| p.0.iter().all(|&v| v == first)));
        // A gentle ramp has nothing above the new Nyquist limit and survives within the
        // half-step that nearest sampling shifts it by.
        let ramp = image(64, 48, |x, y| 40.0 + 2.0 * x as f32 + y as f32);
        let out = low_resolution(&ramp, 2.5);
        let worst = out
            .pixels()
            .zip(ramp.pixels())
            .skip(64 * 3)
            .map(|(a, b)| (a.0[0] - b.0[0]).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 6.0, "ramp moved by {worst}");
    }

    /// A gray face: a 128-level mean with detail at several scales, and the landmarks of an
    /// aligned crop.
    fn textured_face(side: u32) -> (RgbImage, Frame) {
        let img = RgbImage::from_fn(side, side, |x, y| {
            let (x, y) = (x as f32, y as f32);
            let v = 128.0
                + 30.0 * (x * 0.9).sin() * (y * 0.7).cos()
                + 20.0 * (x * 0.21 + y * 0.13).sin();
            image::Rgb([v.round() as u8; 3])
        });
        let lm = template(side, DEFAULT_MARGIN);
        (img, Frame::new(&lm))
    }

    /// Mean luma of the central half of the image (away from the clamped border).
    fn centre_mean(img: &Rgb32FImage) -> f32 {
        let (w, h) = img.dimensions();
        let mut sum = 0.0;
        let mut n = 0.0;
        for y in h / 4..3 * h / 4 {
            for x in w / 4..3 * w / 4 {
                sum += img.get_pixel(x, y).0[0];
                n += 1.0;
            }
        }
        sum / n
    }

    #[test]
    fn toneless_copies_keep_the_brightness_and_change_the_texture() {
        let (img, frame) = textured_face(112);
        let original = to_f32(&img);
        let base = centre_mean(&original);
        let mut tone_steps = 0.0;
        for seed in 0..20 {
            let copy = jittered_copy(&img, &frame, false, &mut ChaCha8Rng::seed_from_u64(seed));
            let shift = (centre_mean(&copy) - base).abs();
            assert!(
                shift < 1.5,
                "seed {seed}: a toneless copy moved the mean by {shift}"
            );
            let changed = copy
                .pixels()
                .zip(original.pixels())
                .map(|(a, b)| (a.0[0] - b.0[0]).abs())
                .fold(0.0f32, f32::max);
            assert!(changed > 5.0, "seed {seed}: the copy equals the face");
            let toned = jittered_copy(&img, &frame, true, &mut ChaCha8Rng::seed_from_u64(seed));
            tone_steps += (centre_mean(&toned) - base).abs() / 20.0;
        }
        // Brightness steps of 4-18 levels plus a tint: the mean moves by several levels.
        assert!(tone_steps > 5.0, "mean tone step {tone_steps}");
    }
}
