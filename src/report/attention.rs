//! A sheet of faces with their attention maps (the paper's Fig. 6): each row is one face,
//! its `M_df` (where the detector looks) and its `M_dom` (where domain cues sit).
use super::inspect::FaceMaps;
use super::plot::{draw_err, register_font};
use crate::error::{Error, Result};
pub use crate::heatmap::{overlay, upsample};
use image::{Rgb, RgbImage};
use plotters::prelude::*;

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
