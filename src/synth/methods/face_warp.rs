//! Face-warping artifacts (Li & Lyu, CVPRW 2019, "FWA"): deepfake pipelines synthesise the
//! face at a low fixed resolution and affine-warp it back into the frame, so the face is
//! blurrier than its surroundings and slightly misregistered. Imitated by shrinking and
//! blurring the image, warping it back with a small perturbation, and pasting the face part
//! through a smooth mask.
use image::{GrayImage, RgbImage};
use imageproc::filter::gaussian_blur_f32;
use imageproc::geometric_transformations::Projection;
use rand_chacha::ChaCha8Rng;

use super::blend::{blend, feather, to_f32};
use super::geometry::{affine_about, resize_f32, warp_clamped, Frame};
use super::mask::{grow, hull_mask};
use super::{symmetric, uniform, Face, Forgery};
use crate::error::{Error, Result};

pub struct FaceWarp;

/// Fraction of the image size the face is synthesised at.
const SCALE: (f32, f32) = (0.22, 0.5);
/// Blur at the low resolution, in low-resolution pixels.
const BLUR: (f32, f32) = (0.4, 1.2);
const ANGLE: f32 = 0.03;
const ZOOM: f32 = 0.03;
// Sizes in inter-ocular distances (iod).
const SHIFT: f32 = 0.03;
const RX: (f32, f32) = (0.55, 0.75);
const RY: (f32, f32) = (0.55, 0.7);
const SIGMA: (f32, f32) = (0.05, 0.12);

impl Forgery for FaceWarp {
    fn name(&self) -> &'static str {
        "face_warp"
    }

    fn apply(
        &self,
        target: &Face,
        _donor: Option<&Face>,
        rng: &mut ChaCha8Rng,
    ) -> Result<RgbImage> {
        let img = &target.image;
        let (w, h) = img.dimensions();
        let frame = Frame::new(&target.landmarks);
        let d = frame.iod;

        let scale = uniform(rng, SCALE.0, SCALE.1);
        let (sw, sh) = (small_side(w, scale), small_side(h, scale));
        let small = resize_f32(&to_f32(img), sw, sh);
        let small = gaussian_blur_f32(&small, uniform(rng, BLUR.0, BLUR.1));
        // Low-resolution pixel centres onto full-resolution ones, then the misregistration.
        let back = Projection::translate(0.5, 0.5)
            .and_then(Projection::scale(
                w as f32 / sw as f32,
                h as f32 / sh as f32,
            ))
            .and_then(Projection::translate(-0.5, -0.5))
            .and_then(affine_about(
                frame.center,
                symmetric(rng, ANGLE),
                1.0 + symmetric(rng, ZOOM),
                [symmetric(rng, SHIFT) * d, symmetric(rng, SHIFT) * d],
            ));
        let face = warp_clamped(&small, &back, w, h);

        let (rx, ry) = (uniform(rng, RX.0, RX.1) * d, uniform(rng, RY.0, RY.1) * d);
        let region = hull_mask(w, h, &target.landmarks, rx, ry, &frame);
        let sigma = uniform(rng, SIGMA.0, SIGMA.1) * d;
        let footprint = self
            .footprint(target)
            .ok_or_else(|| Error::invalid("face_warp: no footprint"))?;
        Ok(blend(img, &face, &feather(&region, sigma, 1.0, &footprint)))
    }

    fn footprint(&self, target: &Face) -> Option<GrayImage> {
        let (w, h) = target.image.dimensions();
        let frame = Frame::new(&target.landmarks);
        let d = frame.iod;
        let hull = hull_mask(w, h, &target.landmarks, RX.1 * d, RY.1 * d, &frame);
        Some(grow(&hull, 2.0 * SIGMA.1 * d + 2.0))
    }
}

fn small_side(side: u32, scale: f32) -> u32 {
    ((side as f32 * scale).round() as u32).clamp(4, side.max(4))
}
