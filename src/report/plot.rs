//! What every plot shares: the embedded font, drawing errors, atomic PNG writes.
use crate::error::{Error, Result};
use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, IntoDrawingArea, WHITE};
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

/// Text uses DejaVu Sans embedded by the `dejavu` crate: a fresh machine without system
/// fonts draws the same labels.
pub fn register_font() {
    FONT.call_once(|| {
        // The bytes are a valid TrueType font shipped by the crate; failure is a build bug.
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans font does not parse"));
    });
}

/// The drawing surface every plot draws on.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// A `w` x `h` white canvas for `draw`, returned as an image (no plotters encoder needed).
pub fn render(w: u32, h: u32, draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Result<RgbImage> {
    register_font();
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok(RgbImage::from_raw(w, h, buf).expect("buffer holds w*h*3 bytes"))
}

pub fn draw_err(e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("drawing a plot: {e}"))
}

/// PNG-encodes and writes atomically.
pub fn write_png(path: &Path, img: &RgbImage) -> Result<()> {
    crate::fsutil::write_png(path, img)
}
