//! t-SNE of feature vectors (the paper's Fig. 5: do fakes of different methods share one
//! cluster in I_df, and do domains separate in I_dom?), and its scatter plot.
//!
//! The embedding is `bhtsne`'s; we only pick perplexity for small sets, seed the start so a
//! report is reproducible, and subsample large sets evenly per domain.
use super::plot::draw_err;
use crate::error::{Error, Result};
use image::RgbImage;
use plotters::prelude::*;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use std::collections::BTreeMap;
use std::path::Path;

/// Indices of at most `max` items, the same share of each group, in input order.
pub fn subsample(groups: &[String], max: usize) -> Vec<usize> {
    if groups.len() <= max {
        return (0..groups.len()).collect();
    }
    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        members.entry(g).or_default().push(i);
    }
    let frac = max as f64 / groups.len() as f64;
    let mut keep: Vec<usize> = members
        .values()
        .flat_map(|idx| {
            let k = ((idx.len() as f64 * frac).floor() as usize).max(1);
            // Evenly spaced through the group, deterministic.
            (0..k).map(move |j| idx[j * idx.len() / k])
        })
        .collect();
    keep.sort_unstable();
    keep.truncate(max);
    keep
}

/// Perplexity 30 (the common default), lowered for small sets: bhtsne needs
/// `n - 1 >= 3 * perplexity`.
pub fn perplexity_for(n: usize) -> f32 {
    (((n.saturating_sub(1)) as f32) / 3.0).clamp(1.0, 30.0)
}

/// 2-D embedding of `features` (rows of equal length), seeded.
pub fn embed(features: &[Vec<f32>], seed: u64, epochs: usize) -> Result<Vec<[f32; 2]>> {
    let n = features.len();
    if n < 5 {
        return Err(Error::invalid(format!(
            "t-SNE needs at least 5 points, got {n}"
        )));
    }
    let dim = features[0].len();
    if let Some(bad) = features.iter().position(|f| f.len() != dim) {
        return Err(Error::invalid(format!(
            "feature {bad} has {} values, the first has {dim}",
            features[bad].len()
        )));
    }
    if features.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::invalid("features hold NaN or infinite values"));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0f32, 1e-4).expect("valid normal");
    let start: Vec<f32> = (0..n * 2).map(|_| normal.sample(&mut rng)).collect();
    let rows: Vec<&[f32]> = features.iter().map(|f| f.as_slice()).collect();
    // bhtsne's parallel sums vary with thread timing; one thread makes a seed reproducible.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| Error::thread_pool("t-SNE thread pool", e))?;
    Ok(pool.install(|| fit(&rows, start, epochs)))
}

fn fit(rows: &[&[f32]], start: Vec<f32>, epochs: usize) -> Vec<[f32; 2]> {
    let n = rows.len();
    let sq =
        |a: &&[f32], b: &&[f32]| -> f32 { a.iter().zip(*b).map(|(x, y)| (x - y).powi(2)).sum() };
    let mut t = bhtsne::tSNE::new(rows);
    t.embedding_dim(2)
        .perplexity(perplexity_for(n))
        .epochs(epochs)
        .initial_embedding(start);
    if n > 400 {
        t.barnes_hut(0.5, |a, b| sq(a, b).sqrt());
    } else {
        t.exact(sq);
    }
    let y = t.embedding();
    y.chunks(2).map(|p| [p[0], p[1]]).collect()
}

/// A scatter plot: one colour per group (legend), fakes filled, reals hollow.
pub fn render(
    title: &str,
    points: &[[f32; 2]],
    groups: &[String],
    fake: &[bool],
    size: (u32, u32),
) -> Result<RgbImage> {
    let (w, h) = size;
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in points {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    let pad = |a: f32, b: f32| ((b - a) * 0.05).max(1e-3);
    let (px, py) = (pad(x0, x1), pad(y0, y1));
    let names: Vec<&String> = {
        let mut v: Vec<&String> = groups.iter().collect();
        v.sort();
        v.dedup();
        v
    };
    super::plot::render(w, h, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .build_cartesian_2d((x0 - px)..(x1 + px), (y0 - py)..(y1 + py))
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_axes()
            .draw()
            .map_err(draw_err)?;
        for (gi, name) in names.iter().enumerate() {
            let color = Palette99::pick(gi).to_rgba();
            let pts: Vec<_> = points
                .iter()
                .zip(groups)
                .zip(fake)
                .filter(|((_, g), _)| g == name)
                .map(|((p, _), f)| (p[0], p[1], *f))
                .collect();
            chart
                .draw_series(pts.iter().map(|&(x, y, f)| {
                    let style = if f {
                        color.filled()
                    } else {
                        color.stroke_width(1)
                    };
                    Circle::new((x, y), 3, style)
                }))
                .map_err(draw_err)?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, color.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        Ok(())
    })
}

/// Embeds, renders and writes one t-SNE plot.
pub fn write_png(
    path: &Path,
    title: &str,
    features: &[Vec<f32>],
    groups: &[String],
    fake: &[bool],
    seed: u64,
) -> Result<()> {
    let points = embed(features, seed, 1000)?;
    let img = render(title, &points, groups, fake, (720, 620))?;
    super::plot::write_png(path, &img)
}
