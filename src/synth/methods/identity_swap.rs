//! FaceSwap / Deepfakes-style identity swap (FaceForensics++): the donor's inner face is
//! aligned onto the target's landmarks, colour-matched to the target and pasted through a
//! feathered landmark hull. The trace is another person's texture and geometry inside the
//! hull, with the target's colours and lighting outside it.
use image::{GrayImage, RgbImage};
use imageproc::geometric_transformations::Projection;
use rand_chacha::ChaCha8Rng;

use super::blend::{blend, feather, match_colour, to_f32};
use super::geometry::{similarity_fit, warp_clamped, Frame};
use super::mask::{grow, hull_mask};
use super::{symmetric, uniform, Face, Forgery};
use crate::error::{Error, Result};

pub struct IdentitySwap;

// Sizes in inter-ocular distances (iod).
const RX: (f32, f32) = (0.45, 0.6);
const RY: (f32, f32) = (0.5, 0.65);
const GROW: f32 = 0.05;
const SIGMA: (f32, f32) = (0.03, 0.1);
/// Landmark error of the swap pipeline's own alignment.
const ALIGN_SHIFT: f32 = 0.02;

impl Forgery for IdentitySwap {
    fn name(&self) -> &'static str {
        "identity_swap"
    }

    fn needs_donor(&self) -> bool {
        true
    }

    /// An error without a donor, or when the donor's landmarks admit no alignment (all in one
    /// point): pasting it unaligned would make a fake unlike this method's.
    fn apply(&self, target: &Face, donor: Option<&Face>, rng: &mut ChaCha8Rng) -> Result<RgbImage> {
        let donor = donor
            .ok_or_else(|| Error::invalid("identity_swap needs a donor face of another person"))?;
        let img = &target.image;
        let (w, h) = img.dimensions();
        let frame = Frame::new(&target.landmarks);
        let d = frame.iod;

        let shift = Projection::translate(
            symmetric(rng, ALIGN_SHIFT) * d,
            symmetric(rng, ALIGN_SHIFT) * d,
        );
        let fit = similarity_fit(&donor.landmarks, &target.landmarks).ok_or_else(|| {
            Error::invalid(format!(
                "identity_swap: the donor's landmarks {:?} admit no alignment",
                donor.landmarks
            ))
        })?;
        let aligned = warp_clamped(&to_f32(&donor.image), &fit.and_then(shift), w, h);

        let (rx, ry) = (uniform(rng, RX.0, RX.1) * d, uniform(rng, RY.0, RY.1) * d);
        let hull = hull_mask(w, h, &target.landmarks, rx, ry, &frame);
        let region = grow(&hull, symmetric(rng, GROW) * d);
        let sigma = uniform(rng, SIGMA.0, SIGMA.1) * d;
        let coloured = match_colour(&aligned, img, &region);
        let footprint = self
            .footprint(target)
            .ok_or_else(|| Error::invalid("identity_swap: no footprint"))?;
        Ok(blend(
            img,
            &coloured,
            &feather(&region, sigma, 1.0, &footprint),
        ))
    }

    fn footprint(&self, target: &Face) -> Option<GrayImage> {
        let (w, h) = target.image.dimensions();
        let frame = Frame::new(&target.landmarks);
        let d = frame.iod;
        let hull = hull_mask(w, h, &target.landmarks, RX.1 * d, RY.1 * d, &frame);
        Some(grow(&hull, (GROW + 2.0 * SIGMA.1) * d + 2.0))
    }
}
