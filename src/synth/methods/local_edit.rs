//! NeuralTextures-style local re-rendering (FaceForensics++) and attribute edits: only the
//! mouth (or, drawn at random, the eyes) is re-rendered, either smoothed and re-shaded with a
//! band-limited texture or smoothed and moved (mouth opening, gaze), and pasted through a small
//! feathered mask. The trace is confined to one small region and has no identity change.
use image::{GrayImage, Luma, Rgb32FImage, RgbImage};
use imageproc::filter::gaussian_blur_f32;
use imageproc::geometric_transformations::Projection;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::blend::{blend, feather, to_f32};
use super::geometry::{midpoint, warp_clamped, Frame};
use super::mask::{grow, hull_mask, union};
use super::{symmetric, uniform, Face, Forgery};
use crate::error::{Error, Result};

pub struct LocalEdit;

// Sizes in inter-ocular distances (iod).
const RX: f32 = 0.3;
const RY: f32 = 0.26;
const GROW: f32 = 0.04;
const SIGMA: (f32, f32) = (0.03, 0.07);
const EYES_PROBABILITY: f64 = 0.35;

impl Forgery for LocalEdit {
    fn name(&self) -> &'static str {
        "local_edit"
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
        let lm = &target.landmarks;
        let pair = if rng.random_bool(EYES_PROBABILITY) {
            [lm[0], lm[1]]
        } else {
            [lm[3], lm[4]]
        };
        let source = to_f32(img);
        let rendered = if rng.random_bool(0.5) {
            retextured(&source, d, rng)
        } else {
            moved(&source, midpoint(pair[0], pair[1]), &frame, rng)
        };
        let region = grow(&region(w, h, &pair, &frame), symmetric(rng, GROW) * d);
        let sigma = uniform(rng, SIGMA.0, SIGMA.1) * d;
        let footprint = self
            .footprint(target)
            .ok_or_else(|| Error::invalid("local_edit: no footprint"))?;
        Ok(blend(
            img,
            &rendered,
            &feather(&region, sigma, 1.0, &footprint),
        ))
    }

    /// Both candidate regions: the footprint cannot know which one the rng will pick.
    fn footprint(&self, target: &Face) -> Option<GrayImage> {
        let (w, h) = target.image.dimensions();
        let frame = Frame::new(&target.landmarks);
        let lm = &target.landmarks;
        let both = union(
            &region(w, h, &[lm[0], lm[1]], &frame),
            &region(w, h, &[lm[3], lm[4]], &frame),
        );
        Some(grow(&both, (GROW + 2.0 * SIGMA.1) * frame.iod + 2.0))
    }
}

fn region(w: u32, h: u32, pair: &[[f32; 2]; 2], frame: &Frame) -> GrayImage {
    hull_mask(w, h, pair, RX * frame.iod, RY * frame.iod, frame)
}

/// A smooth render shaded with gray band-limited noise: the plastic, slightly blotchy look
/// of a neural-texture render.
fn retextured(source: &Rgb32FImage, d: f32, rng: &mut ChaCha8Rng) -> Rgb32FImage {
    let mut out = gaussian_blur_f32(source, uniform(rng, 0.025, 0.05) * d);
    let (w, h) = source.dimensions();
    let white: Vec<f32> = (0..w * h).map(|_| rng.sample(StandardNormal)).collect();
    let white = image::ImageBuffer::<Luma<f32>, _>::from_raw(w, h, white).expect("same length");
    let shade = gaussian_blur_f32(&white, uniform(rng, 0.015, 0.035) * d);
    let rms = (shade.as_raw().iter().map(|v| v * v).sum::<f32>() / (w * h) as f32).sqrt();
    let amplitude = uniform(rng, 6.0, 14.0) / rms.max(1e-6);
    for (p, s) in out.pixels_mut().zip(shade.pixels()) {
        for c in 0..3 {
            p.0[c] += amplitude * s.0[0];
        }
    }
    out
}

/// A smoothed copy stretched and shifted across the eye line about `centre`.
fn moved(
    source: &Rgb32FImage,
    centre: [f32; 2],
    frame: &Frame,
    rng: &mut ChaCha8Rng,
) -> Rgb32FImage {
    let d = frame.iod;
    let smooth = gaussian_blur_f32(source, uniform(rng, 0.015, 0.03) * d);
    let stretch = 1.0 + symmetric(rng, 0.15);
    let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let shift = sign * uniform(rng, 0.05, 0.12) * d;
    // Stretch along `down` only: rotate the frame to the axes, scale, rotate back.
    let angle = frame.right[1].atan2(frame.right[0]);
    let projection = Projection::translate(-centre[0], -centre[1])
        .and_then(Projection::rotate(-angle))
        .and_then(Projection::scale(1.0, stretch))
        .and_then(Projection::rotate(angle))
        .and_then(Projection::translate(
            centre[0] + shift * frame.down[0],
            centre[1] + shift * frame.down[1],
        ));
    let (w, h) = source.dimensions();
    warp_clamped(&smooth, &projection, w, h)
}
