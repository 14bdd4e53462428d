//! Soft alpha masks, alpha blending and colour transfer: the compositing step every
//! region-based method ends with.
use image::{GrayImage, ImageBuffer, Luma, Rgb, Rgb32FImage, RgbImage};
use imageproc::filter::gaussian_blur_f32;

/// Per-pixel blend weight in [0, 1].
pub(crate) type Alpha = ImageBuffer<Luma<f32>, Vec<f32>>;

/// ITU-R BT.601 luma, the plane the detector sees.
pub(crate) fn luma(p: &Rgb<u8>) -> f32 {
    0.299 * p.0[0] as f32 + 0.587 * p.0[1] as f32 + 0.114 * p.0[2] as f32
}

/// Float copy on the 0..255 scale, so a chain of edits rounds only once.
pub(crate) fn to_f32(img: &RgbImage) -> Rgb32FImage {
    let data = img.as_raw().iter().map(|&v| v as f32).collect();
    Rgb32FImage::from_raw(img.width(), img.height(), data).expect("same length")
}

/// The mask Gaussian-feathered with `sigma` (none when `sigma` <= 0) and scaled by
/// `strength`, then zeroed outside `footprint`: the random mask may grow past the
/// method's footprint by a blur tail, and the footprint is promised to be exact.
pub(crate) fn feather(mask: &GrayImage, sigma: f32, strength: f32, footprint: &GrayImage) -> Alpha {
    let raw = mask.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
    let hard = Alpha::from_raw(mask.width(), mask.height(), raw).expect("same length");
    let mut alpha = if sigma > 0.0 {
        gaussian_blur_f32(&hard, sigma)
    } else {
        hard
    };
    for (a, f) in alpha.pixels_mut().zip(footprint.pixels()) {
        a.0[0] = if f.0[0] == 0 {
            0.0
        } else {
            (a.0[0] * strength).clamp(0.0, 1.0)
        };
    }
    alpha
}

/// `alpha * overlay + (1 - alpha) * base`; pixels with zero alpha are copied from `base`
/// bit for bit.
pub(crate) fn blend(base: &RgbImage, overlay: &Rgb32FImage, alpha: &Alpha) -> RgbImage {
    let mut out = base.clone();
    for ((o, v), a) in out.pixels_mut().zip(overlay.pixels()).zip(alpha.pixels()) {
        let a = a.0[0];
        if a <= 0.0 {
            continue;
        }
        for c in 0..3 {
            let mixed = a * v.0[c] + (1.0 - a) * o.0[c] as f32;
            o.0[c] = mixed.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Per-channel mean/std of `src` inside `mask` matched to those of `reference` inside the
/// same mask (Reinhard-style transfer in RGB, as face-swap pipelines do before blending).
/// The gain is held to [0.5, 2] so a flat region cannot blow the source up.
pub(crate) fn match_colour(
    src: &Rgb32FImage,
    reference: &RgbImage,
    mask: &GrayImage,
) -> Rgb32FImage {
    let stats = |values: &mut dyn Iterator<Item = [f32; 3]>| {
        let (mut n, mut s, mut s2) = (0.0f64, [0.0f64; 3], [0.0f64; 3]);
        for v in values {
            n += 1.0;
            for c in 0..3 {
                s[c] += v[c] as f64;
                s2[c] += (v[c] as f64).powi(2);
            }
        }
        let n = n.max(1.0);
        let mean = s.map(|x| x / n);
        let std = [0, 1, 2].map(|c| (s2[c] / n - mean[c] * mean[c]).max(0.0).sqrt());
        (mean, std)
    };
    let inside = |i: usize| mask.as_raw()[i] > 0;
    let (ms, ss) = stats(
        &mut src
            .pixels()
            .enumerate()
            .filter(|(i, _)| inside(*i))
            .map(|(_, p)| p.0),
    );
    let (mr, sr) = stats(
        &mut reference
            .pixels()
            .enumerate()
            .filter(|(i, _)| inside(*i))
            .map(|(_, p)| p.0.map(f32::from)),
    );
    let gain = [0, 1, 2].map(|c| {
        if ss[c] > 1e-6 {
            (sr[c] / ss[c]).clamp(0.5, 2.0)
        } else {
            1.0
        }
    });
    let mut out = src.clone();
    for p in out.pixels_mut() {
        for c in 0..3 {
            p.0[c] = ((p.0[c] as f64 - ms[c]) * gain[c] + mr[c]) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blend_mixes_by_alpha_and_copies_where_zero() {
        let base = RgbImage::from_pixel(2, 1, Rgb([100, 100, 100]));
        let over = Rgb32FImage::from_pixel(2, 1, Rgb([200.0, 0.0, 255.0]));
        let alpha = Alpha::from_raw(2, 1, vec![0.25, 0.0]).unwrap();
        let out = blend(&base, &over, &alpha);
        assert_eq!(out.get_pixel(0, 0).0, [125, 75, 139]);
        assert_eq!(out.get_pixel(1, 0).0, [100, 100, 100]);
    }

    #[test]
    fn feather_is_zero_outside_footprint_and_scaled_inside() {
        let mut mask = GrayImage::new(9, 1);
        mask.put_pixel(4, 0, Luma([255]));
        let mut foot = GrayImage::new(9, 1);
        for x in 3..6 {
            foot.put_pixel(x, 0, Luma([255]));
        }
        // sigma 1 blurs 2 pixels each way; the footprint cuts the outer tap off.
        let a = feather(&mask, 1.0, 0.5, &foot);
        assert_eq!(a.get_pixel(2, 0).0[0], 0.0);
        assert_eq!(a.get_pixel(6, 0).0[0], 0.0);
        let centre = a.get_pixel(4, 0).0[0];
        assert!(centre > 0.15 && centre < 0.5, "{centre}");
        assert!(a.get_pixel(3, 0).0[0] > 0.0);
        let hard = feather(&mask, 0.0, 0.5, &foot);
        assert_eq!(hard.get_pixel(4, 0).0[0], 0.5);
        assert_eq!(hard.get_pixel(3, 0).0[0], 0.0);
    }

    #[test]
    fn match_colour_matches_mean_and_std_in_mask() {
        // src channel 0 inside the mask: [10, 30] (mean 20, std 10); reference: [100, 140]
        // (mean 120, std 20). Pixel 2 is outside the mask and must not count.
        let src = Rgb32FImage::from_raw(3, 1, vec![10.0, 0.0, 0.0, 30.0, 0.0, 0.0, 90.0, 0.0, 0.0])
            .unwrap();
        let reference = RgbImage::from_raw(3, 1, vec![100, 5, 5, 140, 5, 5, 0, 0, 0]).unwrap();
        let mask = GrayImage::from_raw(3, 1, vec![255, 255, 0]).unwrap();
        let out = match_colour(&src, &reference, &mask);
        assert!((out.get_pixel(0, 0).0[0] - 100.0).abs() < 1e-3);
        assert!((out.get_pixel(1, 0).0[0] - 140.0).abs() < 1e-3);
        // Outside pixels follow the same map: (90 - 20) * 2 + 120.
        assert!((out.get_pixel(2, 0).0[0] - 260.0).abs() < 1e-3);
        // A flat channel keeps gain 1 and takes the reference mean.
        assert!((out.get_pixel(0, 0).0[1] - 5.0).abs() < 1e-3);
    }
}
