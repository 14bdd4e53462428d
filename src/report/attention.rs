//! A sheet of faces with their attention maps (the paper's Fig. 6): each row is one face,
//! its `M_df` (where the detector looks) and its `M_dom` (where domain cues sit).
use super::inspect::FaceMaps;
use super::plot::{draw_err, register_font};
use crate::error::{Error, Result};
use image::{GrayImage, Rgb, RgbImage};
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

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

/// One row per face: face, `M_df` overlay, `M_dom` overlay (when the model has them),
/// captioned with domain, label and score.
pub fn sheet(faces: &[FaceMaps], tile: u32) -> Result<RgbImage> {
    if faces.is_empty() {
        return Err(Error::invalid("no faces for the attention sheet"));
    }
    register_font();
    let columns = 1 + faces[0].m_df.is_some() as u32 + faces[0].m_dom.is_some() as u32;
    let caption = 22u32;
    let header = 26u32;
    let (w, h) = (
        tile * columns + 4 * (columns + 1),
        header + (tile + caption) * faces.len() as u32,
    );
    let mut img = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    for (r, f) in faces.iter().enumerate() {
        let face = image::imageops::resize(&f.face, tile, tile, image::imageops::Triangle);
        let mut tiles = vec![image::DynamicImage::ImageLuma8(face.clone()).to_rgb8()];
        for m in [&f.m_df, &f.m_dom].into_iter().flatten() {
            tiles.push(overlay(&face, m, f.hw, 0.55)?);
        }
        let y = header + r as u32 * (tile + caption);
        for (c, t) in tiles.iter().enumerate() {
            let x = 4 + c as u32 * (tile + 4);
            image::imageops::overlay(&mut img, t, x as i64, y as i64);
        }
    }
    let (w, h) = img.dimensions();
    {
        let root = BitMapBackend::with_buffer(&mut img, (w, h)).into_drawing_area();
        let font = ("sans-serif", 13).into_font();
        let heads = ["face", "M_df", "M_dom"];
        for (c, head) in heads.iter().take(columns as usize).enumerate() {
            let x = 4 + c as i32 * (tile as i32 + 4);
            root.draw(&Text::new(*head, (x + 2, 6), ("sans-serif", 15)))
                .map_err(draw_err)?;
        }
        for (r, f) in faces.iter().enumerate() {
            let y = (header + r as u32 * (tile + caption) + tile + 3) as i32;
            let label = if f.label == 1 { "fake" } else { "real" };
            let text = format!("{} ({label}), P(fake)={:.2}", f.domain, f.score);
            root.draw(&Text::new(text, (6, y), font.clone()))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(img)
}
