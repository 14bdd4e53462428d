//! ImageNet-1k class names and top-k read-out, to check that pretrained weights loaded right
//! (`crossdf weights check`): a correct load names what is in the photo.
use crate::data::image::{gray_to_f32, load_gray, resize_gray};
use crate::error::{Error, Result};
use image::GrayImage;
use std::path::Path;
use tch::{Kind, Tensor};

/// torchvision's category names, in class-index order (one per line).
const CLASSES: &str = include_str!("imagenet_classes.txt");

pub fn class_names() -> Vec<&'static str> {
    CLASSES.lines().collect()
}

#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub name: &'static str,
    pub prob: f64,
}

/// The `k` most probable classes of one image's logits (`[C]` or `[1, C]`), softmax over all C.
pub fn top_k(logits: &Tensor, k: usize) -> Result<Vec<Prediction>> {
    let names = class_names();
    let flat = logits.to_kind(Kind::Float).flatten(0, -1);
    let c = flat.size()[0];
    if c != names.len() as i64 {
        return Err(Error::invalid(format!(
            "expected {} ImageNet logits for one image, got {c}",
            names.len()
        )));
    }
    let k = k.min(names.len());
    let (probs, idx) = flat.softmax(0, Kind::Float).topk(k as i64, 0, true, true);
    let probs = Vec::<f32>::try_from(&probs)?;
    let idx = Vec::<i64>::try_from(&idx)?;
    Ok(idx
        .into_iter()
        .zip(probs)
        .map(|(i, p)| Prediction {
            class: i as usize,
            name: names[i as usize],
            prob: p as f64,
        })
        .collect())
}

/// The centred square of an image, as ImageNet evaluation crops (without the 0.875 margin,
/// so a face crop stays whole).
pub fn centre_square(img: &GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    let s = w.min(h);
    image::imageops::crop_imm(img, (w - s) / 2, (h - s) / 2, s, s).to_image()
}

/// An image file as DID sees it: BT.601 gray, centre square, `size` x `size` bilinear,
/// `[1, 1, size, size]` in [0, 1].
pub fn load_input(path: &Path, size: u32) -> Result<Tensor> {
    let img = resize_gray(&centre_square(&load_gray(path)?), size);
    crate::data::image::flat_to_tensor(&gray_to_f32(&img), 1, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousand_classes_in_torchvision_order() {
        let n = class_names();
        assert_eq!(n.len(), 1000);
        assert_eq!(n[0], "tench");
        assert_eq!(n[652], "military uniform");
        assert_eq!(n[999], "toilet tissue");
    }

    #[test]
    fn top_k_orders_by_probability() {
        let mut v = vec![0.0f32; 1000];
        v[7] = 3.0;
        v[3] = 2.0;
        v[999] = 1.0;
        let t = Tensor::from_slice(&v).view([1, 1000]);
        let p = top_k(&t, 3).unwrap();
        assert_eq!(
            p.iter().map(|p| p.class).collect::<Vec<_>>(),
            vec![7, 3, 999]
        );
        // softmax: e^3 / (e^3 + e^2 + e^1 + 997).
        let z = 3f64.exp() + 2f64.exp() + 1f64.exp() + 997.0;
        assert!((p[0].prob - 3f64.exp() / z).abs() < 1e-6);
        assert_eq!(p[2].name, "toilet tissue");
        assert!(top_k(&Tensor::zeros([10], (Kind::Float, tch::Device::Cpu)), 5).is_err());
    }

    #[test]
    fn centre_square_keeps_the_middle() {
        let img = GrayImage::from_fn(6, 4, |x, _| image::Luma([x as u8]));
        let c = centre_square(&img);
        assert_eq!(c.dimensions(), (4, 4));
        assert_eq!(c.get_pixel(0, 0).0[0], 1);
        assert_eq!(c.get_pixel(3, 3).0[0], 4);
    }
}
