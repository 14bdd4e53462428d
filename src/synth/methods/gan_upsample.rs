//! GAN-generated texture: generators upsample with transposed convolutions whose uneven
//! kernel overlap leaves a periodic checkerboard (Odena et al., Distill 2016), seen as peaks at
//! the Nyquist frequency (and at 1/4 for 4x) of the spectrum (Zhang et al. 2019, "AutoGAN";
//! Durall et al. 2020). The whole image is regenerated: downscaled, then upsampled by zero
//! insertion and a small random kernel whose output phases have unequal gains.
use image::imageops::{flip_horizontal, rotate90};
use image::{GrayImage, Luma, Rgb32FImage, RgbImage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::blend::{blend, to_f32, Alpha};
use super::geometry::resize_f32;
use super::{symmetric, uniform, Face, Forgery};
use crate::error::Result;

pub struct GanUpsample;

/// Gain difference between even and odd kernel taps: the checkerboard's depth.
const IMBALANCE: (f32, f32) = (0.06, 0.16);
/// Per-tap jitter; kept below the imbalance so the parity ripple cannot cancel.
const TAP_JITTER: f32 = 0.02;

impl Forgery for GanUpsample {
    fn name(&self) -> &'static str {
        "gan_upsample"
    }

    fn apply(
        &self,
        target: &Face,
        _donor: Option<&Face>,
        rng: &mut ChaCha8Rng,
    ) -> Result<RgbImage> {
        let img = &target.image;
        let (w, h) = img.dimensions();
        let factor = if rng.random_bool(0.5) { 2 } else { 4 };
        let small = resize_f32(&to_f32(img), w.div_ceil(factor), h.div_ceil(factor));
        let kx = kernel(factor, rng);
        let ky = kernel(factor, rng);
        let wide = upsample_rows(&small, &kx, factor, w);
        let up = transpose(&upsample_rows(&transpose(&wide), &ky, factor, h));
        // Half the time the generator output is only partly mixed in.
        let mix = if rng.random_bool(0.5) {
            1.0
        } else {
            uniform(rng, 0.6, 1.0)
        };
        Ok(blend(img, &up, &Alpha::from_pixel(w, h, Luma([mix]))))
    }

    fn footprint(&self, _target: &Face) -> Option<GrayImage> {
        None
    }
}

/// A bilinear transposed-convolution kernel (length 2f - 1, every output phase sums to 1)
/// with even taps boosted and odd taps cut, plus a little per-tap jitter; normalised so the
/// mean brightness is kept. With f even, each output phase uses taps of one parity only, so
/// adjacent outputs get unequal gains: a period-2 ripple.
fn kernel(factor: u32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let f = factor as f32;
    let imbalance = uniform(rng, IMBALANCE.0, IMBALANCE.1);
    let mut k: Vec<f32> = (0..2 * factor - 1)
        .map(|j| {
            let tent = 1.0 - (j as f32 - (f - 1.0)).abs() / f;
            let parity = if j % 2 == 0 {
                1.0 + imbalance
            } else {
                1.0 - imbalance
            };
            tent * parity * (1.0 + symmetric(rng, TAP_JITTER))
        })
        .collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v *= f / sum);
    k
}

/// 1-D transposed convolution along rows: input pixel i sits at output i * f (zero
/// insertion), then the kernel (centred on tap f - 1) spreads it. Input indices past the
/// edge repeat the edge pixel, so the border keeps the same phase pattern as the interior.
fn upsample_rows(img: &Rgb32FImage, k: &[f32], factor: u32, out_width: u32) -> Rgb32FImage {
    let f = factor as i64;
    let last = img.width() as i64 - 1;
    Rgb32FImage::from_fn(out_width, img.height(), |x, y| {
        let mut acc = [0.0f32; 3];
        for (j, &kj) in k.iter().enumerate() {
            let m = x as i64 + j as i64 - (f - 1);
            if m.rem_euclid(f) != 0 {
                continue;
            }
            let p = img.get_pixel(m.div_euclid(f).clamp(0, last) as u32, y);
            for (a, v) in acc.iter_mut().zip(p.0) {
                *a += kj * v;
            }
        }
        image::Rgb(acc)
    })
}

fn transpose(img: &Rgb32FImage) -> Rgb32FImage {
    flip_horizontal(&rotate90(img))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn flat_input_becomes_a_period_two_ripple() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for factor in [2, 4] {
            let k = kernel(factor, &mut rng);
            assert!((k.iter().sum::<f32>() - factor as f32).abs() < 1e-4);
            let flat = Rgb32FImage::from_pixel(8, 1, image::Rgb([100.0; 3]));
            let row = upsample_rows(&flat, &k, factor, 8 * factor);
            let v: Vec<f32> = row.pixels().map(|p| p.0[0]).collect();
            // Each output is 100 x (sum of its phase's taps): hand-compute the phase sums.
            for (x, &got) in v.iter().enumerate() {
                let phase: f32 = (0..k.len())
                    .filter(|j| {
                        (x as i64 + *j as i64 - (factor as i64 - 1)).rem_euclid(factor as i64) == 0
                    })
                    .map(|j| k[j])
                    .sum();
                assert!((got - 100.0 * phase).abs() < 1e-3);
            }
            // Even outputs brighter than odd ones (or the reverse), everywhere.
            let sign = (v[0] - v[1]).signum();
            assert!(
                v.windows(2).step_by(2).all(|p| (p[0] - p[1]) * sign > 5.0),
                "{v:?}"
            );
        }
    }

    #[test]
    fn transpose_swaps_axes() {
        let img = Rgb32FImage::from_fn(3, 2, |x, y| image::Rgb([(x * 10 + y) as f32; 3]));
        let t = transpose(&img);
        assert_eq!(t.dimensions(), (2, 3));
        assert_eq!(t.get_pixel(1, 2).0[0], 21.0);
    }
}
