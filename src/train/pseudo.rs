//! DID without method labels: pseudo-domains the model finds itself (the paper's stated
//! future work: `C_bar` needs every fake's forgery method, which scraped data rarely has).
//!
//! `--domains cluster[:K]` gives each fake training face one of K pseudo-domains; real faces
//! are always domain 0. The design:
//! - Features are GAP(I_os), L2-normalised: the part of the backbone's map that `A_df` leaves
//!   out, which is where DID wants the domain information to live.
//! - During the first [`warmup_steps`] steps the fakes' domain is ignored by `C_bar`'s loss
//!   (reals still train it) while their features are collected; then k-means (k-means++
//!   seeded from the run's seed) fits K centroids. Without `:K`, K is the one in 2..=
//!   [`K_MAX`] with the highest silhouette on those features.
//! - From then on each batch's fakes take the nearest centroid. At every epoch's end the
//!   centroids are refitted on that epoch's fake features, starting from the current ones so
//!   a pseudo-domain keeps its index (and `C_bar` its meaning) from epoch to epoch.
//! - The centroids travel in `last.safetensors`, so a resumed run assigns exactly as an
//!   unbroken one.
//! - `C_bar` always has 1 + [`K_MAX`] outputs, so K can be chosen after the model is built;
//!   the unused ones only learn to stay low.
//!
//! When the true methods are known (online forgeries, or listed fakes' domains), every
//! epoch logs how the pseudo-domains line up with them: a confusion table and the adjusted
//! Rand index.
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use tch::{Device, Tensor};

/// Most pseudo-domains a run may have.
pub const K_MAX: usize = 6;
/// k-means iterations per fit (features of a few hundred faces settle well before this).
const ITERS: usize = 50;

/// Where `C_bar`'s domain labels come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Domains {
    /// The forgery methods (the paper).
    #[default]
    Labels,
    /// Pseudo-domains by clustering; `None` chooses K from the data.
    Cluster(Option<usize>),
    /// No domain labels: trains as the no-dom ablation.
    None,
}

impl FromStr for Domains {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!("domains `{s}`: choose labels, cluster, cluster:K (K = 2..={K_MAX}) or none")
        };
        match s {
            "labels" => Ok(Domains::Labels),
            "cluster" => Ok(Domains::Cluster(None)),
            "none" => Ok(Domains::None),
            _ => match s.strip_prefix("cluster:").map(str::parse::<usize>) {
                Some(Ok(k)) if (2..=K_MAX).contains(&k) => Ok(Domains::Cluster(Some(k))),
                _ => Err(bad()),
            },
        }
    }
}

impl fmt::Display for Domains {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Domains::Labels => f.write_str("labels"),
            Domains::Cluster(None) => f.write_str("cluster"),
            Domains::Cluster(Some(k)) => write!(f, "cluster:{k}"),
            Domains::None => f.write_str("none"),
        }
    }
}

impl Serialize for Domains {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Domains {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Steps whose fakes only provide features for the first fit.
pub fn warmup_steps(steps_per_epoch: usize) -> usize {
    steps_per_epoch.clamp(1, 20)
}

/// The domain names a clustering run's `C_bar` and checkpoints use.
pub fn names() -> Vec<String> {
    std::iter::once("real".to_string())
        .chain((1..=K_MAX).map(|k| format!("pseudo-{k}")))
        .collect()
}

fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(x: &[f32], centroids: &[Vec<f32>]) -> usize {
    let mut best = (0, f32::INFINITY);
    for (k, c) in centroids.iter().enumerate() {
        let d = dist2(x, c);
        if d < best.1 {
            best = (k, d);
        }
    }
    best.0
}

/// Rows scaled to unit length (a zero row stays zero).
pub fn normalise(rows: &mut [Vec<f32>]) {
    for r in rows {
        let n = r.iter().map(|v| v * v).sum::<f32>().sqrt();
        if n > 0.0 {
            r.iter_mut().for_each(|v| *v /= n);
        }
    }
}

/// Pseudo-domain (0-based) of each row.
pub fn assign(rows: &[Vec<f32>], centroids: &[Vec<f32>]) -> Vec<usize> {
    rows.iter().map(|r| nearest(r, centroids)).collect()
}

/// k-means++ seeding: each next centre drawn with probability proportional to its squared
/// distance from the nearest centre so far.
fn seed_centroids(rows: &[Vec<f32>], k: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f32>> {
    let mut c = vec![rows[rng.random_range(0..rows.len())].clone()];
    while c.len() < k {
        let d: Vec<f64> = rows
            .iter()
            .map(|r| dist2(r, &c[nearest(r, &c)]) as f64)
            .collect();
        let total: f64 = d.iter().sum();
        if total <= 0.0 {
            c.push(rows[rng.random_range(0..rows.len())].clone());
            continue;
        }
        let mut u = rng.random::<f64>() * total;
        let pick = d
            .iter()
            .position(|&di| {
                u -= di;
                u <= 0.0
            })
            .unwrap_or(rows.len() - 1);
        c.push(rows[pick].clone());
    }
    c
}

/// Lloyd's k-means from `init` (or k-means++ under `seed`); a centre left without rows keeps
/// its place, so indices stay stable.
pub fn kmeans(
    rows: &[Vec<f32>],
    k: usize,
    init: Option<&[Vec<f32>]>,
    seed: u64,
) -> Result<Vec<Vec<f32>>> {
    if rows.len() < k {
        return Err(Error::invalid(format!(
            "pseudo-domains: {} fake faces cannot make {k} clusters",
            rows.len()
        )));
    }
    let mut c = match init {
        Some(c) => c.to_vec(),
        None => seed_centroids(rows, k, &mut ChaCha8Rng::seed_from_u64(seed)),
    };
    for _ in 0..ITERS {
        let a = assign(rows, &c);
        let dim = rows[0].len();
        let mut sums = vec![vec![0f32; dim]; k];
        let mut counts = vec![0usize; k];
        for (r, &j) in rows.iter().zip(&a) {
            counts[j] += 1;
            sums[j].iter_mut().zip(r).for_each(|(s, v)| *s += v);
        }
        let mut moved = false;
        for j in 0..k {
            if counts[j] == 0 {
                continue;
            }
            let mean: Vec<f32> = sums[j].iter().map(|s| s / counts[j] as f32).collect();
            moved |= mean != c[j];
            c[j] = mean;
        }
        if !moved {
            break;
        }
    }
    Ok(c)
}

/// Mean silhouette of a labelling (a row alone in its cluster counts 0).
pub fn silhouette(rows: &[Vec<f32>], labels: &[usize], k: usize) -> f64 {
    let n = rows.len();
    let mut total = 0.0;
    for i in 0..n {
        let mut sum = vec![0f64; k];
        let mut cnt = vec![0usize; k];
        for j in 0..n {
            if i != j {
                sum[labels[j]] += (dist2(&rows[i], &rows[j]) as f64).sqrt();
                cnt[labels[j]] += 1;
            }
        }
        let own = labels[i];
        if cnt[own] == 0 {
            continue;
        }
        let a = sum[own] / cnt[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && cnt[c] > 0)
            .map(|c| sum[c] / cnt[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b).max(1e-12);
        }
    }
    total / n as f64
}

/// K given, or the K in 2..=K_MAX whose clustering has the highest silhouette.
pub fn fit(rows: &[Vec<f32>], k: Option<usize>, seed: u64) -> Result<Vec<Vec<f32>>> {
    if let Some(k) = k {
        return kmeans(rows, k, None, seed);
    }
    let mut best: Option<(f64, Vec<Vec<f32>>)> = None;
    for k in 2..=K_MAX.min(rows.len()) {
        let c = kmeans(rows, k, None, seed)?;
        let s = silhouette(rows, &assign(rows, &c), k);
        if best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, c));
        }
    }
    best.map(|(_, c)| c)
        .ok_or_else(|| Error::invalid("pseudo-domains: fewer than 2 fake faces to cluster"))
}

fn choose2(n: u64) -> f64 {
    (n * n.saturating_sub(1)) as f64 / 2.0
}

/// Adjusted Rand index of two labellings of the same items (1: the same partition up to
/// names; about 0: no better than chance).
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    let table = confusion(a, b);
    let rows: Vec<u64> = table.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<u64> = (0..table.first().map_or(0, Vec::len))
        .map(|j| table.iter().map(|r| r[j]).sum())
        .collect();
    let index: f64 = table.iter().flatten().map(|&n| choose2(n)).sum();
    let (sa, sb) = (
        rows.iter().map(|&n| choose2(n)).sum::<f64>(),
        cols.iter().map(|&n| choose2(n)).sum::<f64>(),
    );
    let expected = sa * sb / choose2(a.len() as u64).max(1.0);
    let max = (sa + sb) / 2.0;
    if (max - expected).abs() < 1e-12 {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// Counts of (a = i, b = j).
pub fn confusion(a: &[usize], b: &[usize]) -> Vec<Vec<u64>> {
    let (na, nb) = (
        a.iter().max().map_or(0, |m| m + 1),
        b.iter().max().map_or(0, |m| m + 1),
    );
    let mut t = vec![vec![0u64; nb]; na];
    for (&i, &j) in a.iter().zip(b) {
        t[i][j] += 1;
    }
    t
}

/// Checkpoint entry of the centroids.
const STATE_KEY: &str = "pseudo.centroids";
/// `C_bar`'s loss ignores this target (tch's cross-entropy default).
const IGNORE: i64 = -100;

/// A training run's pseudo-domains: the centroids and this epoch's fake features.
pub struct Pseudo {
    k: Option<usize>,
    seed: u64,
    warmup: usize,
    centroids: Option<Vec<Vec<f32>>>,
    feats: Vec<Vec<f32>>,
    /// True domain id (>= 1) of each collected fake, and its pseudo-domain when one was given.
    truth: Vec<usize>,
    given: Vec<Option<usize>>,
}

impl Pseudo {
    pub fn new(k: Option<usize>, seed: u64, steps_per_epoch: usize) -> Self {
        Pseudo {
            k,
            seed,
            warmup: warmup_steps(steps_per_epoch),
            centroids: None,
            feats: Vec::new(),
            truth: Vec::new(),
            given: Vec::new(),
        }
    }

    /// `C_bar`'s targets for a batch: reals 0, fakes 1 + their nearest centroid (ignored
    /// before the first fit). `true_domains` are the loader's method ids, kept for the log.
    pub fn batch_domains(
        &mut self,
        labels: &Tensor,
        true_domains: &Tensor,
        os_pooled: &Tensor,
    ) -> Result<Tensor> {
        let labels = Vec::<f32>::try_from(labels.to_device(Device::Cpu).reshape([-1]))?;
        let truth = Vec::<i64>::try_from(true_domains.to_device(Device::Cpu).reshape([-1]))?;
        let mut rows = crate::score::rows(os_pooled)?;
        normalise(&mut rows);
        let mut out = Vec::with_capacity(labels.len());
        for ((l, t), r) in labels.iter().zip(truth).zip(rows) {
            if *l < 0.5 {
                out.push(0);
                continue;
            }
            let given = self.centroids.as_ref().map(|c| nearest(&r, c));
            out.push(given.map_or(IGNORE, |g| g as i64 + 1));
            self.feats.push(r);
            self.truth.push(t.max(0) as usize);
            self.given.push(given);
        }
        Ok(Tensor::from_slice(&out).to_device(os_pooled.device()))
    }

    /// After step `done` (1-based): the first fit once the warm-up's features are in.
    pub fn after_step(&mut self, done: usize) -> Result<()> {
        if self.centroids.is_none() && done >= self.warmup {
            let c = fit(&self.feats, self.k, self.seed)?;
            for (g, r) in self.given.iter_mut().zip(&self.feats) {
                *g = Some(nearest(r, &c));
            }
            self.centroids = Some(c);
        }
        Ok(())
    }

    /// At an epoch's end: refit on the epoch's fakes from the current centroids, and say how
    /// the pseudo-domains given this epoch line up with the true ones (named `true_names`,
    /// indexed by true id).
    pub fn end_epoch(&mut self, true_names: &[String]) -> Result<serde_json::Value> {
        let Some(c) = &self.centroids else {
            return Ok(serde_json::Value::Null);
        };
        let given: Vec<usize> = self.given.iter().map(|g| g.unwrap_or(0)).collect();
        let truth: Vec<usize> = self.truth.iter().map(|t| t.saturating_sub(1)).collect();
        let k = c.len();
        let mut table = confusion(&given, &truth);
        table.resize(k, Vec::new());
        let methods: Vec<&String> = true_names.iter().skip(1).collect();
        for row in &mut table {
            row.resize(methods.len(), 0);
        }
        let summary = serde_json::json!({
            "k": k,
            "fakes": given.len(),
            "adjusted_rand_index": adjusted_rand_index(&given, &truth),
            "true_methods": methods,
            "confusion": table,
        });
        if self.feats.len() >= k {
            self.centroids = Some(kmeans(&self.feats, k, Some(c), self.seed)?);
        }
        self.feats.clear();
        self.truth.clear();
        self.given.clear();
        Ok(summary)
    }

    /// The centroids as a checkpoint tensor [K, c] (none before the first fit).
    pub fn state(&self) -> Option<(String, Tensor)> {
        let c = self.centroids.as_ref()?;
        let flat: Vec<f32> = c.iter().flatten().copied().collect();
        let t = Tensor::from_slice(&flat).view([c.len() as i64, -1]);
        Some((STATE_KEY.to_string(), t))
    }

    /// Takes the centroids of a checkpoint (a run resumed before the first fit has none).
    pub fn load(&mut self, tensors: &HashMap<String, Tensor>) -> Result<()> {
        if let Some(t) = tensors.get(STATE_KEY) {
            self.centroids = Some(crate::score::rows(t)?);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "pseudo_tests.rs"]
mod tests;
