//! Decoding, grayscale conversion, resizing and the tensor form the model sees.
//!
//! The detector works on one gray plane (DESIGN.md section 1). We compute the
//! BT.601 luma ourselves because `image`'s `to_luma8` uses Rec.709 weights.
use crate::error::{Error, Result};
use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageReader};
use std::path::Path;
use tch::Tensor;

/// ImageNet channel means (R, G, B) of the pretrained RGB backbones.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (R, G, B).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// ITU-R BT.601 luma of one 8-bit RGB pixel, rounded to nearest.
///
/// Integer arithmetic (weights in thousandths) keeps it exact: the weights sum
/// to 1000, so a gray pixel maps to itself.
pub fn luma_601(r: u8, g: u8, b: u8) -> u8 {
    let y = 299 * r as u32 + 587 * g as u32 + 114 * b as u32;
    ((y + 500) / 1000) as u8
}

/// Reads an image file (PNG, JPEG, WebP, BMP; format from the content) as BT.601 gray.
///
/// Alpha is ignored; 16-bit images are reduced to 8 bits before the luma.
pub fn load_gray(path: &Path) -> Result<GrayImage> {
    let reader = ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    let img = reader.decode().map_err(|source| Error::Image {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(to_gray(&img))
}

/// BT.601 gray of a decoded image (a gray image passes through unchanged).
pub fn to_gray(img: &DynamicImage) -> GrayImage {
    if let DynamicImage::ImageLuma8(g) = img {
        return g.clone();
    }
    let rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    let data = rgb
        .as_raw()
        .chunks_exact(3)
        .map(|p| luma_601(p[0], p[1], p[2]))
        .collect();
    GrayImage::from_raw(w, h, data).expect("one gray byte per RGB pixel")
}

/// Resizes to `size` x `size` with a triangle (bilinear) filter.
///
/// `image` widens the filter support by the scale factor when downscaling, so
/// this is antialiased (like PIL's bilinear resize). An image already at the
/// size is returned unchanged.
pub fn resize_gray(img: &GrayImage, size: u32) -> GrayImage {
    if img.dimensions() == (size, size) {
        return img.clone();
    }
    image::imageops::resize(img, size, size, FilterType::Triangle)
}

/// Pixels as `f32` in [0, 1] (pixel / 255), row-major.
pub fn gray_to_f32(img: &GrayImage) -> Vec<f32> {
    img.as_raw().iter().map(|&p| p as f32 / 255.0).collect()
}

/// Stacks `size` x `size` planes from `gray_to_f32` into a `[N, 1, size, size]` float tensor.
pub fn to_tensor(images: &[Vec<f32>], size: u32) -> Result<Tensor> {
    let plane = (size as usize) * (size as usize);
    let mut flat = Vec::with_capacity(images.len() * plane);
    for (i, img) in images.iter().enumerate() {
        if img.len() != plane {
            return Err(Error::invalid(format!(
                "image {i} has {} values, expected {size}x{size} = {plane}",
                img.len()
            )));
        }
        flat.extend_from_slice(img);
    }
    flat_to_tensor(&flat, images.len(), size)
}

/// Wraps a flat buffer of `n` planes of `size` x `size` as a `[n, 1, size, size]` tensor.
pub fn flat_to_tensor(flat: &[f32], n: usize, size: u32) -> Result<Tensor> {
    let s = size as i64;
    let expected = n * (size as usize) * (size as usize);
    if flat.len() != expected {
        return Err(Error::invalid(format!(
            "image buffer holds {} values, expected {n}x1x{size}x{size} = {expected}",
            flat.len()
        )));
    }
    Ok(Tensor::from_slice(flat).f_view([n as i64, 1, s, s])?)
}

/// What a pretrained RGB backbone sees: `[N, 1, H, W]` gray in [0, 1] becomes
/// `[N, 3, H, W]`, the plane replicated to R, G, B and normalised with ImageNet
/// mean/std. Built from differentiable ops (broadcasting does the replication),
/// so the model may call it inside `forward`.
pub fn normalise_imagenet(x: &Tensor) -> Tensor {
    let stats = |v: &[f32; 3]| {
        Tensor::from_slice(v)
            .view([1, 3, 1, 1])
            .to_device(x.device())
            .to_kind(x.kind())
    };
    (x - stats(&IMAGENET_MEAN)) / stats(&IMAGENET_STD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};
    use tch::Kind;

    #[test]
    fn luma_of_hand_picked_pixels() {
        // 0.299*255 = 76.245, 0.587*255 = 149.685, 0.114*255 = 29.07,
        // 0.299*10 + 0.587*200 + 0.114*30 = 2.99 + 117.4 + 3.42 = 123.81.
        assert_eq!(luma_601(255, 0, 0), 76);
        assert_eq!(luma_601(0, 255, 0), 150);
        assert_eq!(luma_601(0, 0, 255), 29);
        assert_eq!(luma_601(10, 200, 30), 124);
        assert_eq!(luma_601(255, 255, 255), 255);
        assert_eq!(luma_601(77, 77, 77), 77);
    }

    fn rgb_fixture() -> RgbImage {
        let px = [
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [10, 200, 30],
            [255, 255, 255],
            [0, 0, 0],
        ];
        RgbImage::from_fn(3, 2, |x, y| Rgb(px[(y * 3 + x) as usize]))
    }
    const FIXTURE_GRAY: [u8; 6] = [76, 150, 29, 124, 255, 0];

    #[test]
    fn png_rgb_and_rgba_read_back_as_bt601_gray() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rgb.png");
        rgb_fixture().save(&p).unwrap();
        assert_eq!(load_gray(&p).unwrap().as_raw(), &FIXTURE_GRAY);

        // Alpha must not change the luma.
        let rgba = RgbaImage::from_fn(3, 2, |x, y| {
            let Rgb([r, g, b]) = *rgb_fixture().get_pixel(x, y);
            Rgba([r, g, b, (x * 60 + y * 20) as u8])
        });
        let p = dir.path().join("rgba.png");
        rgba.save(&p).unwrap();
        assert_eq!(load_gray(&p).unwrap().as_raw(), &FIXTURE_GRAY);
    }

    #[test]
    fn bmp_and_lossless_webp_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let bmp = dir.path().join("a.bmp");
        rgb_fixture().save(&bmp).unwrap();
        assert_eq!(load_gray(&bmp).unwrap().as_raw(), &FIXTURE_GRAY);

        let webp = dir.path().join("a.webp");
        let img = rgb_fixture();
        let mut buf = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut buf)
            .write_image(img.as_raw(), 3, 2, image::ExtendedColorType::Rgb8)
            .unwrap();
        std::fs::write(&webp, &buf).unwrap();
        assert_eq!(load_gray(&webp).unwrap().as_raw(), &FIXTURE_GRAY);
    }

    #[test]
    fn jpeg_decodes_close_to_source_and_format_comes_from_content() {
        let dir = tempfile::tempdir().unwrap();
        // A smooth gradient survives JPEG at quality 100 within a few levels.
        let src = GrayImage::from_fn(32, 24, |x, y| image::Luma([(x * 4 + y * 2) as u8]));
        let mut buf = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 100)
            .encode_image(&src)
            .unwrap();
        // Misleading extension: the decoder must sniff the content.
        let p = dir.path().join("really_a_jpeg.png");
        std::fs::write(&p, &buf).unwrap();
        let got = load_gray(&p).unwrap();
        assert_eq!(got.dimensions(), (32, 24));
        for (a, b) in got.as_raw().iter().zip(src.as_raw()) {
            assert!((*a as i32 - *b as i32).abs() <= 3, "{a} vs {b}");
        }
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.png");
        let err = load_gray(&missing).unwrap_err();
        assert!(matches!(err, Error::Io { ref path, .. } if path == &missing));
        assert!(err.to_string().contains("missing.png"));

        let garbage = dir.path().join("garbage.png");
        std::fs::write(&garbage, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let err = load_gray(&garbage).unwrap_err();
        assert!(matches!(err, Error::Image { ref path, .. } if path == &garbage));
        assert!(err.to_string().contains("garbage.png"));
    }

    #[test]
    fn resize_shape_constant_and_noop() {
        let src = GrayImage::from_fn(300, 260, |x, y| image::Luma([((x + y) % 256) as u8]));
        let out = resize_gray(&src, 224);
        assert_eq!(out.dimensions(), (224, 224));

        let flat = GrayImage::from_pixel(300, 260, image::Luma([137]));
        let out = resize_gray(&flat, 224);
        assert!(out.as_raw().iter().all(|&p| p == 137));
        let up = resize_gray(&GrayImage::from_pixel(50, 40, image::Luma([9])), 224);
        assert!(up.as_raw().iter().all(|&p| p == 9));

        let same = resize_gray(&src, 300);
        assert_eq!(same.dimensions(), (300, 300));
        let square = GrayImage::from_fn(64, 64, |x, y| image::Luma([(x * y % 251) as u8]));
        assert_eq!(resize_gray(&square, 64).as_raw(), square.as_raw());
    }

    #[test]
    fn downscaling_is_antialiased() {
        // A 1-pixel checkerboard halved: without antialiasing every output pixel
        // would pick a 0 or a 255; with it they average to mid gray.
        let board = GrayImage::from_fn(64, 64, |x, y| image::Luma([((x + y) % 2) as u8 * 255]));
        let out = resize_gray(&board, 16);
        assert!(out.as_raw().iter().all(|&p| (100..=155).contains(&p)));
    }

    #[test]
    fn tensor_shape_and_values() {
        let a = GrayImage::from_raw(2, 2, vec![0, 51, 102, 255]).unwrap();
        let b = GrayImage::from_raw(2, 2, vec![255, 0, 0, 0]).unwrap();
        let t = to_tensor(&[gray_to_f32(&a), gray_to_f32(&b)], 2).unwrap();
        assert_eq!(t.size(), [2, 1, 2, 2]);
        assert_eq!(t.kind(), Kind::Float);
        let v = Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
        assert_eq!(v, [0.0, 0.2, 0.4, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert!(to_tensor(&[vec![0.0; 3]], 2).is_err());
    }

    #[test]
    fn imagenet_normalisation_at_known_pixels() {
        let x = Tensor::from_slice(&[0.5f32, 0.0, 1.0, 0.25]).view([1, 1, 2, 2]);
        let y = normalise_imagenet(&x);
        assert_eq!(y.size(), [1, 3, 2, 2]);
        for (i, g) in [0.5f32, 0.0, 1.0, 0.25].iter().enumerate() {
            let (h, w) = ((i / 2) as i64, (i % 2) as i64);
            for c in 0..3 {
                let want = (g - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
                let got = y.double_value(&[0, c as i64, h, w]) as f32;
                assert!((got - want).abs() < 1e-6, "c{c} px{i}: {got} vs {want}");
            }
        }
        // gray 0.5 -> ((0.5-0.485)/0.229, (0.5-0.456)/0.224, (0.5-0.406)/0.225)
        assert!((y.double_value(&[0, 0, 0, 0]) - 0.065502).abs() < 1e-5);
        assert!((y.double_value(&[0, 1, 0, 0]) - 0.196429).abs() < 1e-5);
        assert!((y.double_value(&[0, 2, 0, 0]) - 0.417778).abs() < 1e-5);
    }

    #[test]
    fn imagenet_normalisation_is_differentiable() {
        let x = Tensor::from_slice(&[0.3f32, 0.7])
            .view([1, 1, 1, 2])
            .set_requires_grad(true);
        normalise_imagenet(&x).sum(Kind::Float).backward();
        let want: f32 = IMAGENET_STD.iter().map(|s| 1.0 / s).sum();
        let g = x.grad();
        for i in 0..2 {
            assert!((g.double_value(&[0, 0, 0, i]) as f32 - want).abs() < 1e-4);
        }
    }
}
