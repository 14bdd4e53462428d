//! Training augmentations on gray faces: flip, brightness/contrast, down-and-up scaling,
//! blur, JPEG.
//!
//! Every random choice comes from the caller's RNG, so a seeded RNG gives the
//! same output bytes on every run and machine (the loader derives one per batch).
//! The loader applies them to the crops at the side it caches them at (the model's
//! input, or `data.online.size`), before any resize to the model's input, as a camera's
//! or a codec's losses come before a user's resize; sigma and JPEG blocks are in the
//! pixels of that side. Applied to real and fake faces alike, they keep global sharpness
//! and compression from telling the classes apart.
use crate::error::{Error, Result};
use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, ImageFormat, ImageResult};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Probabilities and ranges of the augmentations. `Default` turns them all on;
/// `AugmentConfig::none()` is the identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Probability of a horizontal flip (faces are left/right symmetric).
    pub hflip_prob: f64,
    /// Probability of a brightness/contrast jitter.
    pub jitter_prob: f64,
    /// Additive brightness shift, in [0, 1] units, drawn uniformly from this range.
    pub brightness: (f32, f32),
    /// Contrast factor around the image mean, drawn uniformly from this range.
    pub contrast: (f32, f32),
    /// Probability of scaling the image down and back up (triangle filter both ways): the
    /// softness of a face filmed small or a video's lower resolution.
    pub downscale_prob: f64,
    /// Side factor of the scaled-down image, drawn uniformly from this range (in (0, 1]).
    pub downscale: (f32, f32),
    /// Probability of a Gaussian blur.
    pub blur_prob: f64,
    /// Blur sigma in pixels, drawn uniformly from this range (both ends > 0).
    pub blur_sigma: (f32, f32),
    /// Probability of a JPEG re-compression: the artefacts differ between
    /// datasets, so the detector should not learn them.
    pub jpeg_prob: f64,
    /// JPEG quality, drawn uniformly from this inclusive range (1..=100).
    pub jpeg_quality: (u8, u8),
}

impl Default for AugmentConfig {
    fn default() -> Self {
        AugmentConfig {
            hflip_prob: 0.5,
            jitter_prob: 0.3,
            brightness: (-0.1, 0.1),
            contrast: (0.8, 1.2),
            downscale_prob: 0.0,
            downscale: (0.5, 1.0),
            blur_prob: 0.1,
            blur_sigma: (0.1, 2.0),
            jpeg_prob: 0.3,
            jpeg_quality: (40, 100),
        }
    }
}

impl AugmentConfig {
    /// No augmentation at all (every probability 0).
    pub fn none() -> Self {
        AugmentConfig {
            hflip_prob: 0.0,
            jitter_prob: 0.0,
            downscale_prob: 0.0,
            blur_prob: 0.0,
            jpeg_prob: 0.0,
            ..Default::default()
        }
    }

    /// Checks probabilities and ranges, so a bad config fails before training starts.
    pub fn validate(&self) -> Result<()> {
        let probs = [
            ("hflip_prob", self.hflip_prob),
            ("jitter_prob", self.jitter_prob),
            ("downscale_prob", self.downscale_prob),
            ("blur_prob", self.blur_prob),
            ("jpeg_prob", self.jpeg_prob),
        ];
        for (name, p) in probs {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::invalid(format!(
                    "augment.{name} = {p} is not a probability in [0, 1]"
                )));
            }
        }
        let ordered = |name: &str, (lo, hi): (f32, f32)| {
            if lo.is_finite() && hi.is_finite() && lo <= hi {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "augment.{name} = ({lo}, {hi}) must be finite with low <= high"
                )))
            }
        };
        ordered("brightness", self.brightness)?;
        ordered("contrast", self.contrast)?;
        ordered("downscale", self.downscale)?;
        ordered("blur_sigma", self.blur_sigma)?;
        if !(self.downscale.0 > 0.0 && self.downscale.1 <= 1.0) {
            return Err(Error::invalid(format!(
                "augment.downscale = ({}, {}) must lie in (0, 1]",
                self.downscale.0, self.downscale.1
            )));
        }
        if self.contrast.0 < 0.0 {
            return Err(Error::invalid("augment.contrast must not be negative"));
        }
        if self.blur_sigma.0 <= 0.0 {
            return Err(Error::invalid("augment.blur_sigma must be > 0"));
        }
        let (qlo, qhi) = self.jpeg_quality;
        if qlo == 0 || qhi > 100 || qlo > qhi {
            return Err(Error::invalid(format!(
                "augment.jpeg_quality = ({qlo}, {qhi}) must satisfy 1 <= low <= high <= 100"
            )));
        }
        Ok(())
    }
}

/// Applies the configured augmentations in a fixed order: flip, brightness/contrast,
/// down-and-up scaling, blur, JPEG (last, as a dataset's compression would be).
///
/// Fails only if the in-memory JPEG round trip does; the caller names the file.
pub fn augment(img: &GrayImage, cfg: &AugmentConfig, rng: &mut impl Rng) -> ImageResult<GrayImage> {
    let mut out = img.clone();
    if draw(rng, cfg.hflip_prob) {
        image::imageops::flip_horizontal_in_place(&mut out);
    }
    if draw(rng, cfg.jitter_prob) {
        let b = uniform(rng, cfg.brightness);
        let c = uniform(rng, cfg.contrast);
        out = brightness_contrast(&out, b, c);
    }
    if draw(rng, cfg.downscale_prob) {
        let f = uniform(rng, cfg.downscale);
        out = down_and_up(&out, f);
    }
    if draw(rng, cfg.blur_prob) {
        let sigma = uniform(rng, cfg.blur_sigma);
        out = imageproc::filter::gaussian_blur_f32(&out, sigma);
    }
    if draw(rng, cfg.jpeg_prob) {
        let q = rng.random_range(cfg.jpeg_quality.0..=cfg.jpeg_quality.1);
        out = jpeg_round_trip(&out, q)?;
    }
    Ok(out)
}

/// `(p - mean) * contrast + mean + brightness * 255`, rounded and clamped to [0, 255].
pub fn brightness_contrast(img: &GrayImage, brightness: f32, contrast: f32) -> GrayImage {
    let raw = img.as_raw();
    let mean = if raw.is_empty() {
        0.0
    } else {
        raw.iter().map(|&p| p as f64).sum::<f64>() as f32 / raw.len() as f32
    };
    let shift = mean + brightness * 255.0;
    let data = raw
        .iter()
        .map(|&p| {
            ((p as f32 - mean) * contrast + shift)
                .round()
                .clamp(0.0, 255.0) as u8
        })
        .collect();
    GrayImage::from_raw(img.width(), img.height(), data).expect("same dimensions")
}

/// Scaled to `factor` of its sides (at least 1 px) and back, with a triangle filter.
pub fn down_and_up(img: &GrayImage, factor: f32) -> GrayImage {
    use image::imageops::{resize, FilterType};
    let (w, h) = img.dimensions();
    let side = |s: u32| ((s as f32 * factor).round() as u32).clamp(1, s.max(1));
    let (sw, sh) = (side(w), side(h));
    if (sw, sh) == (w, h) {
        return img.clone();
    }
    let small = resize(img, sw, sh, FilterType::Triangle);
    resize(&small, w, h, FilterType::Triangle)
}

/// Encodes as baseline JPEG at `quality` and decodes back.
pub fn jpeg_round_trip(img: &GrayImage, quality: u8) -> ImageResult<GrayImage> {
    let mut buf = Vec::new();
    JpegEncoder::new_with_quality(&mut buf, quality).encode_image(img)?;
    Ok(image::load_from_memory_with_format(&buf, ImageFormat::Jpeg)?.into_luma8())
}

/// A Bernoulli draw that consumes no randomness when the outcome is certain, so
/// disabled augmentations do not shift the RNG stream of the others.
fn draw(rng: &mut impl Rng, p: f64) -> bool {
    if p <= 0.0 {
        false
    } else if p >= 1.0 {
        true
    } else {
        rng.random_bool(p)
    }
}

fn uniform(rng: &mut impl Rng, (lo, hi): (f32, f32)) -> f32 {
    if lo >= hi {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn textured(seed: u32) -> GrayImage {
        GrayImage::from_fn(48, 40, |x, y| {
            let v = (x * 37 + y * 91 + seed * 13).wrapping_mul(2654435761) >> 24;
            Luma([v as u8])
        })
    }

    fn variance(img: &GrayImage) -> f64 {
        let n = img.as_raw().len() as f64;
        let mean = img.as_raw().iter().map(|&p| p as f64).sum::<f64>() / n;
        img.as_raw()
            .iter()
            .map(|&p| (p as f64 - mean).powi(2))
            .sum::<f64>()
            / n
    }

    #[test]
    fn default_is_valid_and_bad_configs_are_rejected() {
        AugmentConfig::default().validate().unwrap();
        AugmentConfig::none().validate().unwrap();
        let bad = [
            AugmentConfig {
                hflip_prob: 1.5,
                ..Default::default()
            },
            AugmentConfig {
                blur_sigma: (0.0, 1.0),
                ..Default::default()
            },
            AugmentConfig {
                jpeg_quality: (90, 40),
                ..Default::default()
            },
            AugmentConfig {
                jpeg_quality: (40, 101),
                ..Default::default()
            },
            AugmentConfig {
                contrast: (1.2, 0.8),
                ..Default::default()
            },
            AugmentConfig {
                downscale: (0.0, 0.5),
                ..Default::default()
            },
            AugmentConfig {
                downscale: (0.5, 1.5),
                ..Default::default()
            },
        ];
        for cfg in bad {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
    }

    #[test]
    fn serde_fills_missing_fields_with_defaults() {
        let cfg: AugmentConfig = serde_json::from_str(r#"{"jpeg_prob": 0.0}"#).unwrap();
        assert_eq!(
            cfg,
            AugmentConfig {
                jpeg_prob: 0.0,
                ..Default::default()
            }
        );
        let back: AugmentConfig =
            serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn same_seed_same_bytes_different_seeds_differ() {
        // Everything likely so each image sees several random draws.
        let cfg = AugmentConfig {
            hflip_prob: 0.5,
            jitter_prob: 0.8,
            blur_prob: 0.5,
            jpeg_prob: 0.8,
            ..Default::default()
        };
        let mut any_difference = false;
        for i in 0..6 {
            let img = textured(i);
            let a = augment(&img, &cfg, &mut ChaCha8Rng::seed_from_u64(100 + i as u64)).unwrap();
            let b = augment(&img, &cfg, &mut ChaCha8Rng::seed_from_u64(100 + i as u64)).unwrap();
            assert_eq!(a.as_raw(), b.as_raw());
            let c = augment(&img, &cfg, &mut ChaCha8Rng::seed_from_u64(999 + i as u64)).unwrap();
            any_difference |= a.as_raw() != c.as_raw();
        }
        assert!(any_difference);
    }

    #[test]
    fn certain_flip_equals_imageops_flip() {
        let cfg = AugmentConfig {
            hflip_prob: 1.0,
            ..AugmentConfig::none()
        };
        let img = textured(3);
        let out = augment(&img, &cfg, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert_eq!(
            out.as_raw(),
            image::imageops::flip_horizontal(&img).as_raw()
        );
        assert_ne!(out.as_raw(), img.as_raw());
    }

    #[test]
    fn jpeg_at_quality_40_changes_texture_keeps_size() {
        let cfg = AugmentConfig {
            jpeg_prob: 1.0,
            jpeg_quality: (40, 40),
            ..AugmentConfig::none()
        };
        let img = textured(5);
        let out = augment(&img, &cfg, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        assert_eq!(out.dimensions(), img.dimensions());
        let changed = out
            .as_raw()
            .iter()
            .zip(img.as_raw())
            .filter(|(a, b)| a != b)
            .count();
        assert!(
            changed > img.as_raw().len() / 2,
            "only {changed} pixels changed"
        );
    }

    #[test]
    fn blur_reduces_checkerboard_variance() {
        let board = GrayImage::from_fn(32, 32, |x, y| Luma([((x + y) % 2) as u8 * 255]));
        let cfg = AugmentConfig {
            blur_prob: 1.0,
            blur_sigma: (1.0, 1.5),
            ..AugmentConfig::none()
        };
        let out = augment(&board, &cfg, &mut ChaCha8Rng::seed_from_u64(2)).unwrap();
        assert_eq!(out.dimensions(), board.dimensions());
        assert!(variance(&out) < 0.1 * variance(&board));
    }

    /// Halving a 2x2-block image and scaling back keeps it exactly (each block averages to
    /// itself, and the way up interpolates between equal block values only inside blocks);
    /// a pixel checkerboard, which has no energy below Nyquist, goes flat.
    #[test]
    fn down_and_up_keeps_coarse_content_and_removes_the_finest() {
        let board = GrayImage::from_fn(32, 32, |x, y| Luma([((x + y) % 2) as u8 * 200]));
        let cfg = AugmentConfig {
            downscale_prob: 1.0,
            downscale: (0.5, 0.5),
            ..AugmentConfig::none()
        };
        let out = augment(&board, &cfg, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
        assert_eq!(out.dimensions(), board.dimensions());
        assert!(
            variance(&out) < 0.01 * variance(&board),
            "{}",
            variance(&out)
        );
        let flat = GrayImage::from_pixel(20, 12, Luma([77]));
        assert_eq!(down_and_up(&flat, 0.3).as_raw(), flat.as_raw());
        assert_eq!(down_and_up(&board, 1.0).as_raw(), board.as_raw());
    }

    #[test]
    fn brightness_contrast_by_hand() {
        // mean 150; (100-150)*1.5 + 150 + 0.2*255 = 126; (200-150)*1.5 + 201 = 276 -> 255.
        let img = GrayImage::from_raw(2, 1, vec![100, 200]).unwrap();
        let cfg = AugmentConfig {
            jitter_prob: 1.0,
            brightness: (0.2, 0.2),
            contrast: (1.5, 1.5),
            ..AugmentConfig::none()
        };
        let out = augment(&img, &cfg, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        assert_eq!(out.as_raw(), &[126, 255]);
        // Contrast 0 collapses to the mean; negative brightness clamps at 0.
        assert_eq!(brightness_contrast(&img, 0.0, 0.0).as_raw(), &[150, 150]);
        assert_eq!(brightness_contrast(&img, -1.0, 1.0).as_raw(), &[0, 0]);
    }

    #[test]
    fn everything_disabled_is_identity() {
        let cfg = AugmentConfig::none();
        for i in 0..4 {
            let img = textured(i);
            let out = augment(&img, &cfg, &mut ChaCha8Rng::seed_from_u64(i as u64)).unwrap();
            assert_eq!(out.as_raw(), img.as_raw());
        }
    }
}
