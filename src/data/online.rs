//! Online forgeries: fresh randomised fakes of the real training faces, made inside every
//! training batch (the way self-blended-image training works), so no fake repeats and the
//! detector cannot memorise a fixed set of forgeries.
//!
//! A fake is made from the cached real crop at `size` (the model's input size unless set):
//! at the model's size no resize can smooth its trace away afterwards; at the crops' own
//! side it is resized with the real faces, as a forgery of a prepared face would be. Crops
//! from `prepare` and `synth` are aligned onto the 5-point template, so the template (scaled
//! to that side) stands in for the face's landmarks; the methods only need them for
//! face-shaped masks and regions.
use crate::error::{Error, Result};
use crate::face::align::{template, DEFAULT_MARGIN};
use crate::synth::methods::{self, Face, Forgery};
use image::{GrayImage, RgbImage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Which methods make the online fakes; off when `methods` is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineConfig {
    /// `synth` method names (`crossdf synth --help` lists them); each is one fake domain.
    pub methods: Vec<String>,
    /// Alignment margin of the crops (the landmark template depends on it).
    pub margin: f32,
    /// Keep the manifest's own fakes in training too (otherwise only online fakes are used).
    pub keep_manifest_fakes: bool,
    /// Side at which fakes are made: the training crops are cached at this side, each fake
    /// is made there, and every face, real or fake, is then resized to the model's input the
    /// way evaluation resizes a stored crop. A real forgery is made on the face at its own
    /// resolution, not at the detector's, and the detector sees its trace only after that
    /// resize. Set it to the side of the stored crops (224 from `prepare`): at any other
    /// side the real faces are resized twice in training but once in evaluation. `None`
    /// makes fakes at the model's input size.
    pub size: Option<u32>,
    /// Slots per round of fakes for each method, in the order of `methods` (empty: one
    /// each). With `balance = "class_domain"` a method of share 2 makes twice the fakes of
    /// one of share 1: subtle traces (a blend boundary) need more examples than loud ones
    /// (an up-sampling grid).
    pub shares: Vec<u32>,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        OnlineConfig {
            methods: Vec::new(),
            margin: DEFAULT_MARGIN,
            keep_manifest_fakes: false,
            size: None,
            shares: Vec::new(),
        }
    }
}

impl OnlineConfig {
    pub fn enabled(&self) -> bool {
        !self.methods.is_empty()
    }

    /// Whether the manifest's own training fakes are used (always, without online fakes).
    pub fn uses_manifest_fakes(&self) -> bool {
        !self.enabled() || self.keep_manifest_fakes
    }

    /// Side of the cached crops and of the forgeries for a model of input side `model_size`.
    pub fn forge_size(&self, model_size: u32) -> u32 {
        match self.size {
            Some(s) if self.enabled() => s,
            _ => model_size,
        }
    }

    /// The methods, in the order given; an unknown name is an error that lists the known ones.
    pub fn resolve(&self) -> Result<Vec<Box<dyn Forgery>>> {
        if !self.shares.is_empty() && self.shares.len() != self.methods.len() {
            return Err(Error::invalid(format!(
                "data.online.shares has {} entries for {} methods: give one per method or none",
                self.shares.len(),
                self.methods.len()
            )));
        }
        if self.shares.contains(&0) {
            return Err(Error::invalid(
                "data.online.shares: a share of 0 makes no fakes; drop the method instead",
            ));
        }
        methods::by_names(&self.methods)
    }

    /// Share of method `m` (an index into `methods`).
    pub fn share(&self, m: usize) -> u32 {
        self.shares.get(m).copied().unwrap_or(1)
    }
}

/// A gray crop as the RGB face the methods take, with the template landmarks.
fn as_face(img: &GrayImage, margin: f32) -> Face {
    let (w, h) = img.dimensions();
    let image = RgbImage::from_fn(w, h, |x, y| {
        let v = img.get_pixel(x, y)[0];
        image::Rgb([v, v, v])
    });
    Face {
        image,
        landmarks: template(w, margin),
        identity: String::new(),
    }
}

/// One fake of `target` by `method`; `donor` is used when the method needs one. Every random
/// choice comes from `rng`, so the same RNG state gives the same bytes.
pub fn forge(
    method: &dyn Forgery,
    target: &GrayImage,
    donor: &GrayImage,
    margin: f32,
    rng: &mut ChaCha8Rng,
) -> crate::error::Result<GrayImage> {
    let face = as_face(target, margin);
    let donor = method.needs_donor().then(|| as_face(donor, margin));
    let fake = method.apply(&face, donor.as_ref(), rng)?;
    let (w, h) = fake.dimensions();
    Ok(GrayImage::from_fn(w, h, |x, y| {
        let p = fake.get_pixel(x, y);
        image::Luma([super::image::luma_601(p[0], p[1], p[2])])
    }))
}

/// Draws a donor index among `reals` other than `target` (when there is another).
pub fn pick_donor(reals: &[usize], target: usize, rng: &mut ChaCha8Rng) -> usize {
    if reals.len() < 2 {
        return target;
    }
    loop {
        let d = reals[rng.random_range(0..reals.len())];
        if d != target {
            return d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn face(seed: u32) -> GrayImage {
        GrayImage::from_fn(64, 64, |x, y| {
            let r = ((x as f32 - 32.0).powi(2) + (y as f32 - 34.0).powi(2)).sqrt();
            let skin = if r < 22.0 { 170.0 } else { 60.0 };
            let tex = ((x * 13 + y * 7 + seed * 31).wrapping_mul(2654435761) >> 28) as f32;
            image::Luma([(skin + tex) as u8])
        })
    }

    #[test]
    fn every_method_changes_the_face_deterministically() {
        for m in methods::all_methods() {
            let (t, d) = (face(1), face(2));
            let a = forge(
                m.as_ref(),
                &t,
                &d,
                DEFAULT_MARGIN,
                &mut ChaCha8Rng::seed_from_u64(5),
            )
            .unwrap();
            let b = forge(
                m.as_ref(),
                &t,
                &d,
                DEFAULT_MARGIN,
                &mut ChaCha8Rng::seed_from_u64(5),
            )
            .unwrap();
            let c = forge(
                m.as_ref(),
                &t,
                &d,
                DEFAULT_MARGIN,
                &mut ChaCha8Rng::seed_from_u64(6),
            )
            .unwrap();
            assert_eq!(a, b, "{}: same rng, same fake", m.name());
            assert_eq!(a.dimensions(), t.dimensions());
            assert_ne!(a, t, "{}: the fake differs from the real face", m.name());
            assert_ne!(a, c, "{}: another draw, another fake", m.name());
        }
    }

    #[test]
    fn unknown_method_names_the_known_ones() {
        let cfg = OnlineConfig {
            methods: vec!["self_blend".into(), "nope".into()],
            ..Default::default()
        };
        let e = cfg.resolve().err().unwrap().to_string();
        assert!(e.contains("nope") && e.contains("self_blend"), "{e}");
    }

    #[test]
    fn shares_must_match_the_methods() {
        let mut cfg = OnlineConfig {
            methods: vec!["self_blend".into(), "gan_upsample".into()],
            shares: vec![2],
            ..Default::default()
        };
        let e = cfg.resolve().err().unwrap().to_string();
        assert!(e.contains("1 entries for 2 methods"), "{e}");
        cfg.shares = vec![2, 0];
        assert!(cfg.resolve().is_err());
        cfg.shares = vec![2, 1];
        assert_eq!(cfg.resolve().unwrap().len(), 2);
        assert_eq!((cfg.share(0), cfg.share(1)), (2, 1));
        cfg.shares.clear();
        assert_eq!(cfg.share(1), 1);
    }
}
