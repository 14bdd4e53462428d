//! Procedural forgery methods for the synthetic cross-domain benchmark: each method is one
//! forgery domain, imitating the kind of trace a family of real deepfakes leaves (blending
//! boundaries, identity mismatch, upsampling spectra, resolution mismatch, local re-rendering).
//! Traces differ in kind and all reach the luma plane, because the detector sees grayscale.
use image::{GrayImage, RgbImage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

mod blend;
mod geometry;
mod mask;
mod sheet;

pub mod face_warp;
pub mod gan_upsample;
pub mod identity_swap;
pub mod local_edit;
pub mod self_blend;

pub use face_warp::FaceWarp;
pub use gan_upsample::GanUpsample;
pub use identity_swap::IdentitySwap;
pub use local_edit::LocalEdit;
pub use self_blend::SelfBlend;
pub use sheet::contact_sheet;

/// An aligned face: `image` is size x size RGB; `landmarks` are the 5 points in pixel coordinates
/// of `image`: left eye, right eye, nose tip, left mouth corner, right mouth corner.
#[derive(Clone, Debug)]
pub struct Face {
    pub image: RgbImage,
    pub landmarks: [[f32; 2]; 5],
    pub identity: String,
}

pub trait Forgery: Send + Sync {
    /// Domain name used in the manifest (e.g. "self_blend").
    fn name(&self) -> &'static str;
    /// True when `apply` needs a donor face of another identity.
    fn needs_donor(&self) -> bool {
        false
    }
    /// Deterministic for a given rng state; returns an image of the same size as `target.image`.
    fn apply(
        &self,
        target: &Face,
        donor: Option<&Face>,
        rng: &mut ChaCha8Rng,
    ) -> crate::error::Result<RgbImage>;
    /// Pixels this method may change: Some(mask, 255 = may change) or None when the whole image may change.
    fn footprint(&self, target: &Face) -> Option<GrayImage>;
}

/// Every method, in a fixed order (the order fixes domain ids downstream).
pub fn all_methods() -> Vec<Box<dyn Forgery>> {
    vec![
        Box::new(SelfBlend),
        Box::new(IdentitySwap),
        Box::new(GanUpsample),
        Box::new(FaceWarp),
        Box::new(LocalEdit),
    ]
}

pub fn method_by_name(name: &str) -> Option<Box<dyn Forgery>> {
    all_methods().into_iter().find(|m| m.name() == name)
}

/// The named methods, in the order given; an unknown name is an error listing the known ones.
pub fn by_names(names: &[String]) -> crate::Result<Vec<Box<dyn Forgery>>> {
    names
        .iter()
        .map(|n| {
            method_by_name(n).ok_or_else(|| {
                let known: Vec<_> = all_methods().iter().map(|m| m.name()).collect();
                crate::Error::invalid(format!(
                    "unknown forgery method `{n}` (known: {})",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

/// A draw from [lo, hi]; every random strength goes through here so ranges read alike.
pub(crate) fn uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    if hi > lo {
        rng.random_range(lo..=hi)
    } else {
        lo
    }
}

/// A draw from [-hi, hi].
pub(crate) fn symmetric(rng: &mut ChaCha8Rng, hi: f32) -> f32 {
    uniform(rng, -hi, hi)
}
