//! 95% intervals for AUC and EER from a bootstrap over identities.
//!
//! Frames of one person are not independent draws: a test set of 11 identities x 100 crops
//! holds about 11 pieces of evidence, not 1100. So the bootstrap resamples identities (all
//! of an identity's frames, real and fake, go in or out together) and reads the 2.5% and
//! 97.5% percentiles of the statistic (the percentile bootstrap). A record's identity is its
//! video id up to the first `@`: `synth` names a fake video `<identity>@<method>`; for any
//! other dataset the video itself is the unit.
use crate::metrics::{self, ScoreRecord};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Resamples per interval; enough for stable 2.5% / 97.5% percentiles (25 draws beyond each).
pub const RESAMPLES: usize = 1000;
/// The bootstrap's RNG seed: fixed, so a report prints the same interval on every run.
pub const SEED: u64 = 0x5EED;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
    /// Identities resampled.
    pub clusters: usize,
    /// Resamples where the statistic was defined (both classes present).
    pub resamples: usize,
}

impl Interval {
    pub fn excludes_zero(&self) -> bool {
        self.lo > 0.0 || self.hi < 0.0
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{:.3}, {:.3}]", self.lo, self.hi)
    }
}

/// AUC and EER intervals of one scores table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    pub auc: Interval,
    pub eer: Interval,
}

/// The identity a video id belongs to (see the module comment).
pub fn identity_of(video: &str) -> &str {
    video.split('@').next().unwrap_or(video)
}

/// Record indices grouped by identity, identities in sorted order.
pub fn clusters(videos: &[&str]) -> Vec<Vec<usize>> {
    let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, v) in videos.iter().enumerate() {
        by.entry(identity_of(v)).or_default().push(i);
    }
    by.into_values().collect()
}

/// One resample: `k` clusters drawn uniformly with replacement; the record indices they hold.
pub fn draw(clusters: &[Vec<usize>], rng: &mut ChaCha8Rng) -> Vec<usize> {
    let k = clusters.len();
    let mut out = Vec::new();
    for _ in 0..k {
        out.extend_from_slice(&clusters[rng.random_range(0..k)]);
    }
    out
}

/// The percentile interval of `stat` over `resamples` cluster resamples; `stat` gets the
/// resampled record indices and returns None where it is undefined (those draws are
/// skipped). None when fewer than half the draws were defined or there are < 2 clusters.
pub fn bootstrap(
    clusters: &[Vec<usize>],
    resamples: usize,
    seed: u64,
    stat: impl Fn(&[usize]) -> Option<f64>,
) -> Option<Interval> {
    bootstrap_many(clusters, resamples, seed, |idx| stat(idx).map(|v| [v])).map(|[i]| i)
}

/// As [`bootstrap`] for `N` statistics computed on the same draws (a draw counts when all
/// of them are defined and finite).
pub fn bootstrap_many<const N: usize>(
    clusters: &[Vec<usize>],
    resamples: usize,
    seed: u64,
    stat: impl Fn(&[usize]) -> Option<[f64; N]>,
) -> Option<[Interval; N]> {
    if clusters.len() < 2 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draws: Vec<[f64; N]> = (0..resamples)
        .filter_map(|_| stat(&draw(clusters, &mut rng)))
        .filter(|v| v.iter().all(|x| x.is_finite()))
        .collect();
    if draws.len() * 2 < resamples {
        return None;
    }
    Some(std::array::from_fn(|k| {
        let mut values: Vec<f64> = draws.iter().map(|d| d[k]).collect();
        values.sort_by(f64::total_cmp);
        Interval {
            lo: percentile(&values, 0.025),
            hi: percentile(&values, 0.975),
            clusters: clusters.len(),
            resamples: values.len(),
        }
    }))
}

/// Linear interpolation between order statistics (numpy's default, "linear").
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

fn pick(records: &[ScoreRecord], idx: &[usize]) -> (Vec<f64>, Vec<u8>) {
    idx.iter()
        .map(|&i| (records[i].score, records[i].label))
        .unzip()
}

/// AUC of the records at `idx`, None when they hold one class only.
pub fn auc_at(records: &[ScoreRecord], idx: &[usize]) -> Option<f64> {
    let (s, l) = pick(records, idx);
    metrics::auc(&s, &l).ok()
}

/// AUC and EER intervals of a scores table (frames or videos), clustered by identity; both
/// from the same draws.
pub fn intervals(records: &[ScoreRecord]) -> Option<Intervals> {
    let videos: Vec<&str> = records.iter().map(|r| r.video.as_str()).collect();
    let cl = clusters(&videos);
    let [auc, eer] = bootstrap_many(&cl, RESAMPLES, SEED, |idx| {
        let (s, l) = pick(records, idx);
        Some([metrics::auc(&s, &l).ok()?, metrics::eer(&s, &l).ok()?.eer])
    })?;
    Some(Intervals { auc, eer })
}

/// The paired difference mean_a(AUC) - mean_b(AUC) over runs (seeds) that scored the very
/// same records in the same order, with its identity-bootstrap interval: the point estimate
/// and the interval. None when the tables do not line up or the interval is undefined.
pub fn paired_auc_difference(
    a: &[&[ScoreRecord]],
    b: &[&[ScoreRecord]],
) -> Option<(f64, Interval)> {
    let first = a.first().or(b.first())?;
    let same = |t: &&[ScoreRecord]| {
        t.len() == first.len()
            && t.iter()
                .zip(first.iter())
                .all(|(x, y)| x.path == y.path && x.label == y.label && x.video == y.video)
    };
    if a.is_empty() || b.is_empty() || !a.iter().chain(b).all(same) {
        return None;
    }
    let mean_auc = |runs: &[&[ScoreRecord]], idx: &[usize]| -> Option<f64> {
        let v: Option<Vec<f64>> = runs.iter().map(|r| auc_at(r, idx)).collect();
        v.map(|v| v.iter().sum::<f64>() / v.len() as f64)
    };
    let all: Vec<usize> = (0..first.len()).collect();
    let point = mean_auc(a, &all)? - mean_auc(b, &all)?;
    let videos: Vec<&str> = first.iter().map(|r| r.video.as_str()).collect();
    let cl = clusters(&videos);
    let ci = bootstrap(&cl, RESAMPLES, SEED, |idx| {
        Some(mean_auc(a, idx)? - mean_auc(b, idx)?)
    })?;
    Some((point, ci))
}

#[cfg(test)]
#[path = "interval_tests.rs"]
mod tests;
