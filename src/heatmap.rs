//! Where the model looks on one face: `M_df` and `M_dom` (channel means of DID's attention
//! maps) and Grad-CAM of the deepfake logit on `I_X`, up-sampled onto the face as the model
//! saw it. `detect --heatmap` and the web page show them per face; `report` draws the sheet.
use crate::did::DidModel;
use crate::error::{Error, Result};
use image::{GrayImage, Rgb, RgbImage};
use plotters::style::colors::colormaps::ColorMap;
use plotters::style::colors::colormaps::ViridisRGB;
use tch::{Device, Kind, Tensor};

/// Bilinear up-sampling of an `h x w` map to `size x size`, sampling at pixel centres.
pub fn upsample(map: &[f32], (h, w): (usize, usize), size: u32) -> Result<Vec<f32>> {
    if map.len() != h * w || h == 0 || w == 0 {
        return Err(Error::invalid(format!(
            "attention map of {} values is not {h} x {w}",
            map.len()
        )));
    }
    let s = size as usize;
    let at = |y: usize, x: usize| map[y.min(h - 1) * w + x.min(w - 1)];
    let mut out = Vec::with_capacity(s * s);
    for py in 0..s {
        let fy = ((py as f32 + 0.5) * h as f32 / s as f32 - 0.5).max(0.0);
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        for px in 0..s {
            let fx = ((px as f32 + 0.5) * w as f32 / s as f32 - 0.5).max(0.0);
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let top = at(y0, x0) * (1.0 - tx) + at(y0, x0 + 1) * tx;
            let bottom = at(y0 + 1, x0) * (1.0 - tx) + at(y0 + 1, x0 + 1) * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    Ok(out)
}

/// The face in gray with the map in colour on top (`alpha` of the colour), the map
/// stretched to its own min..max so weak but structured attention stays visible.
pub fn overlay(face: &GrayImage, map: &[f32], hw: (usize, usize), alpha: f32) -> Result<RgbImage> {
    let size = face.width();
    let up = upsample(map, hw, size)?;
    let (lo, hi) = up
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let span = (hi - lo).max(1e-6);
    Ok(RgbImage::from_fn(size, face.height(), |x, y| {
        let g = face.get_pixel(x, y).0[0] as f32;
        let v = (up[(y * size + x) as usize] - lo) / span;
        let c = ViridisRGB.get_color(v);
        let mix = |ch: u8| ((1.0 - alpha) * g + alpha * ch as f32).round() as u8;
        Rgb([mix(c.0), mix(c.1), mix(c.2)])
    }))
}

/// A map of `hw` values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    pub values: Vec<f32>,
    pub hw: (usize, usize),
}

/// One face as the model saw it (gray, model size) and its maps.
#[derive(Debug, Clone)]
pub struct FaceHeat {
    pub face: GrayImage,
    /// `None` for variants without that attention network (bce; no-dom for `m_dom`).
    pub m_df: Option<Map>,
    pub m_dom: Option<Map>,
    pub grad_cam: Map,
}

fn maps(t: &Tensor) -> Result<Vec<Map>> {
    let t = t.to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
    let size = t.size();
    let (n, hw) = (size[0], (size[1] as usize, size[2] as usize));
    (0..n)
        .map(|i| {
            Ok(Map {
                values: Vec::<f32>::try_from(t.get(i).reshape([-1]))?,
                hw,
            })
        })
        .collect()
}

/// The maps of a batch of gray faces `x` [N, 1, S, S] in [0, 1] (on the model's device).
pub fn face_heats(model: &DidModel, x: &Tensor) -> Result<Vec<FaceHeat>> {
    let cam = maps(&model.grad_cam(x))?;
    let _guard = tch::no_grad_guard();
    let o = model.inspect(x);
    let channel_mean = |m: &Option<Tensor>| -> Result<Option<Vec<Map>>> {
        m.as_ref()
            .map(|m| maps(&m.mean_dim([1i64].as_slice(), false, Kind::Float)))
            .transpose()
    };
    let (m_df, m_dom) = (channel_mean(&o.m_df)?, channel_mean(&o.m_dom)?);
    let side = x.size()[3];
    let pixels = (x.to_device(Device::Cpu).to_kind(Kind::Float) * 255.0)
        .round()
        .clamp(0.0, 255.0)
        .to_kind(Kind::Uint8)
        .contiguous();
    cam.into_iter()
        .enumerate()
        .map(|(i, grad_cam)| {
            let bytes = Vec::<u8>::try_from(pixels.get(i as i64).reshape([-1]))?;
            let face = GrayImage::from_raw(side as u32, side as u32, bytes)
                .ok_or_else(|| Error::invalid("model input is not square"))?;
            Ok(FaceHeat {
                face,
                m_df: m_df.as_ref().map(|m| m[i].clone()),
                m_dom: m_dom.as_ref().map(|m| m[i].clone()),
                grad_cam,
            })
        })
        .collect()
}

/// One image of `tile`-pixel squares side by side: the face, then `M_df`, `M_dom` (those the
/// model has) and Grad-CAM, each over the face.
pub fn strip(h: &FaceHeat, tile: u32) -> Result<RgbImage> {
    let face = image::imageops::resize(&h.face, tile, tile, image::imageops::Triangle);
    let mut tiles = vec![image::DynamicImage::ImageLuma8(face.clone()).to_rgb8()];
    for m in [&h.m_df, &h.m_dom, &Some(h.grad_cam.clone())]
        .into_iter()
        .flatten()
    {
        tiles.push(overlay(&face, &m.values, m.hw, 0.55)?);
    }
    let gap = 4;
    let n = tiles.len() as u32;
    let mut out = RgbImage::from_pixel(n * tile + (n - 1) * gap, tile, Rgb([255, 255, 255]));
    for (i, t) in tiles.iter().enumerate() {
        image::imageops::overlay(&mut out, t, (i as u32 * (tile + gap)) as i64, 0);
    }
    Ok(out)
}

/// The names of `strip`'s columns for this model, in order.
pub fn strip_columns(h: &FaceHeat) -> Vec<&'static str> {
    let mut c = vec!["face"];
    if h.m_df.is_some() {
        c.push("M_df");
    }
    if h.m_dom.is_some() {
        c.push("M_dom");
    }
    c.push("Grad-CAM");
    c
}
