//! ROC curves as PNG: one curve per model on shared axes, with the chance diagonal.
//!
//! Drawn by `plotters` into an RGB buffer and encoded by `image`, so no plotters encoder
//! is needed. Text uses DejaVu Sans embedded by the `dejavu` crate: a fresh machine
//! without system fonts draws the same labels.
use super::plot::draw_err;
use crate::error::{Error, Result};
use crate::metrics::RocPoint;
use image::RgbImage;
use plotters::prelude::*;
use std::path::Path;

/// One curve and the name (with its AUC) shown in the legend.
pub struct Curve<'a> {
    pub label: &'a str,
    pub auc: f64,
    pub points: &'a [RocPoint],
}

/// Renders `curves` (false positive rate on x, true positive rate on y, both 0..1).
pub fn render(title: &str, curves: &[Curve], width: u32, height: u32) -> Result<RgbImage> {
    if width < 200 || height < 150 {
        return Err(Error::invalid(format!(
            "ROC plot of {width}x{height} pixels is too small for axes and legend (min 200x150)"
        )));
    }
    super::plot::render(width, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("false positive rate (real called fake)")
            .y_desc("true positive rate (fake called fake)")
            .x_labels(6)
            .y_labels(6)
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.3)))
            .map_err(draw_err)?;
        for (i, c) in curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    c.points.iter().map(|p| (p.fpr, p.tpr)),
                    color.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(format!("{} (AUC {:.3})", c.label, c.auc))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        if !curves.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(draw_err)?;
        }
        Ok(())
    })
}

/// Renders and writes a PNG atomically.
pub fn write_png(
    path: &Path,
    title: &str,
    curves: &[Curve],
    width: u32,
    height: u32,
) -> Result<()> {
    super::plot::write_png(path, &render(title, curves, width, height)?)
}
