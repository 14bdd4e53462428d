//! What every plot shares: the embedded font, drawing errors, atomic PNG writes.
use crate::error::{Error, Result};
use image::RgbImage;
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

pub fn draw_err(e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("drawing a plot: {e}"))
}

/// PNG-encodes and writes atomically.
pub fn write_png(path: &Path, img: &RgbImage) -> Result<()> {
    crate::fsutil::write_png(path, img)
}
