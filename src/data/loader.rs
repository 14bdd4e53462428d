//! Batches for training and evaluation, decoded on worker threads ahead of the model.
//!
//! Training batch `b` is a pure function of (seed, b, sample list): which samples it
//! holds, their order and their augmentations. That makes a run resumable at any
//! batch and makes the output independent of the number of workers.
use super::augment::{augment, AugmentConfig};
use super::image::{flat_to_tensor, gray_to_f32, load_gray, resize_gray};
use super::online::{self, OnlineConfig};
use super::pipeline::Pipeline;
pub use super::sampler::Balance;
use super::sampler::{batch_rng, Sampler};
use crate::error::{Error, Result};
use image::GrayImage;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use tch::Tensor;

/// One image the loader may read; built by the caller (e.g. from a manifest record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub path: PathBuf,
    /// 0 real, 1 fake.
    pub label: u8,
    /// 0 real, 1..=k forgery methods (the model's domain map).
    pub domain: usize,
}

/// What the model consumes.
#[derive(Debug)]
pub struct Batch {
    /// Batch number (training) or chunk number (evaluation).
    pub number: u64,
    /// `[B, 1, S, S]` float in [0, 1].
    pub images: Tensor,
    /// `[B]` float, 0 real / 1 fake.
    pub labels: Tensor,
    /// `[B]` int64.
    pub domains: Tensor,
    /// Position of each row in the caller's sample list.
    pub indices: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainLoaderConfig {
    /// Side of the square model input.
    pub size: u32,
    /// Images per batch (at least 2, so both classes fit).
    pub batch: usize,
    pub balance: Balance,
    pub seed: u64,
    /// Decoding threads (at least 1 is used).
    pub workers: usize,
    /// Decoded batches kept ready ahead of the consumer.
    pub prefetch: usize,
    pub augment: AugmentConfig,
    /// Decode every image once, at `size` (at `online.size` when that is set and online
    /// methods are on), and keep the gray bytes in memory (n x side^2 bytes) instead of
    /// decoding PNGs every step. Unreadable files are then found up front.
    pub cache: bool,
    /// With `cache`: the share of unreadable files above which training refuses to start;
    /// below it they are left out and listed in [`TrainLoader::skipped`].
    pub max_unreadable: f64,
    /// Online forgeries of the real samples (off by default).
    pub online: OnlineConfig,
    /// The domain id of each `online.methods` entry (the model's domain map).
    pub online_domains: Vec<usize>,
}

impl Default for TrainLoaderConfig {
    fn default() -> Self {
        TrainLoaderConfig {
            size: 224,
            batch: 15,
            balance: Balance::Class,
            seed: 0,
            workers: 2,
            prefetch: 4,
            augment: AugmentConfig::default(),
            cache: true,
            max_unreadable: 0.05,
            online: OnlineConfig::default(),
            online_domains: Vec::new(),
        }
    }
}

/// An endless, class-balanced, augmented stream of training batches.
pub struct TrainLoader {
    pipeline: Pipeline<RawBatch>,
    size: u32,
    skipped: Vec<Skipped>,
    counts: SampleCounts,
}

/// What the training stream draws from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SampleCounts {
    pub real: usize,
    /// Fakes listed in the manifest (and used).
    pub manifest_fakes: usize,
    /// (real, method) pairs that online forgeries draw from.
    pub online_pairs: usize,
}

/// Everything a worker needs to make batch `b`, shared between the workers.
struct Source {
    samples: Vec<Sample>,
    /// Gray crops at `forge_size`, by sample (with `cache`).
    cache: Option<Vec<GrayImage>>,
    /// Side of the crops that fakes are made on ([`OnlineConfig::forge_size`]).
    forge_size: u32,
    /// For an online fake: (the real sample it is made from, index into `methods`).
    origin: Vec<Option<(usize, usize)>>,
    reals: Vec<usize>,
    methods: Vec<Box<dyn crate::synth::methods::Forgery>>,
}

impl Source {
    /// Sample `i` at `forge_size`.
    fn image(&self, i: usize) -> Result<Cow<'_, GrayImage>> {
        match &self.cache {
            Some(c) => Ok(Cow::Borrowed(&c[i])),
            None => Ok(Cow::Owned(resize_gray(
                &load_gray(&self.samples[i].path)?,
                self.forge_size,
            ))),
        }
    }
}

impl TrainLoader {
    /// Starts the workers; the first batch returned is number `start_batch`, identical
    /// to the one a run started at 0 would return there.
    pub fn new(samples: Vec<Sample>, cfg: &TrainLoaderConfig, start_batch: u64) -> Result<Self> {
        check_common(&samples, cfg.size, cfg.batch)?;
        cfg.augment.validate()?;
        let methods = cfg.online.resolve()?;
        if methods.len() != cfg.online_domains.len() {
            return Err(Error::invalid(format!(
                "online forgeries: {} methods but {} domain ids",
                methods.len(),
                cfg.online_domains.len()
            )));
        }
        // Listed fakes that online forgeries replace are dropped before anything is decoded;
        // positions stay those of the caller's list.
        let listed: Vec<(usize, Sample)> = samples
            .into_iter()
            .enumerate()
            .filter(|(_, s)| s.label == 0 || cfg.online.uses_manifest_fakes())
            .collect();
        let forge_size = cfg.online.forge_size(cfg.size);
        let (mut samples, cache, skipped) = if cfg.cache {
            let d = decode_all(listed, forge_size, cfg.max_unreadable)?;
            (d.samples, Some(d.images), d.skipped)
        } else {
            (
                listed.into_iter().map(|(_, s)| s).collect(),
                None,
                Vec::new(),
            )
        };
        let reals: Vec<usize> = (0..samples.len())
            .filter(|&i| samples[i].label == 0)
            .collect();
        let counts = SampleCounts {
            real: reals.len(),
            manifest_fakes: samples.len() - reals.len(),
            online_pairs: reals.len() * methods.len(),
        };
        let mut origin = vec![None; samples.len()];
        for (m, &domain) in cfg.online_domains.iter().enumerate() {
            for &r in &reals {
                let s = Sample {
                    path: samples[r].path.clone(),
                    label: 1,
                    domain,
                };
                samples.push(s);
                origin.push(Some((r, m)));
            }
        }
        let shares = cfg
            .online_domains
            .iter()
            .enumerate()
            .map(|(m, &d)| (d, cfg.online.share(m)))
            .collect();
        let sampler = Sampler::new(&samples, cfg.batch, cfg.balance, cfg.seed, &shares)?;
        let source = Arc::new(Source {
            samples,
            cache,
            forge_size,
            origin,
            reals,
            methods,
        });
        let cfg = Arc::new(cfg.clone());
        let pipeline = Pipeline::spawn(cfg.workers, cfg.prefetch, start_batch, u64::MAX, || {
            let (source, cfg, mut sampler) = (source.clone(), cfg.clone(), sampler.clone());
            move |b| train_batch(b, &source, &cfg, &mut sampler)
        })?;
        Ok(TrainLoader {
            pipeline,
            size: cfg.size,
            skipped,
            counts,
        })
    }

    /// Files left out because they could not be read (with `cache`).
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    pub fn counts(&self) -> SampleCounts {
        self.counts
    }

    /// The next batch in order; a decode error names the file.
    pub fn next_batch(&mut self) -> Result<Batch> {
        let raw = self
            .pipeline
            .next()
            .ok_or_else(|| Error::invalid("training batch numbers exhausted (u64::MAX)"))??;
        Ok(raw.into_batch(self.size)?.0)
    }

    /// Number of the batch the next call returns.
    pub fn next_number(&self) -> u64 {
        self.pipeline.position()
    }
}

/// What evaluation does with a file it cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Report it in `EvalBatch::skipped` and go on.
    #[default]
    Skip,
    /// Stop with an error naming the file.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalLoaderConfig {
    pub size: u32,
    pub batch: usize,
    pub workers: usize,
    pub prefetch: usize,
    pub on_error: OnError,
}

impl Default for EvalLoaderConfig {
    fn default() -> Self {
        EvalLoaderConfig {
            size: 224,
            batch: 32,
            workers: 2,
            prefetch: 4,
            on_error: OnError::Skip,
        }
    }
}

/// A file evaluation could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Position in the sample list.
    pub index: usize,
    pub path: PathBuf,
    pub reason: String,
}

/// One evaluation chunk: the readable samples of `batch.indices`, plus those skipped.
/// With `OnError::Skip` a chunk may hold no image at all (`images` is `[0, 1, S, S]`).
#[derive(Debug)]
pub struct EvalBatch {
    pub batch: Batch,
    pub skipped: Vec<Skipped>,
}

/// The samples in list order, in chunks of `batch`, without augmentation or sampling.
pub struct EvalLoader {
    pipeline: Pipeline<RawBatch>,
    size: u32,
    chunks: u64,
    failed: bool,
}

impl EvalLoader {
    pub fn new(samples: Vec<Sample>, cfg: &EvalLoaderConfig) -> Result<Self> {
        check_common(&samples, cfg.size, cfg.batch)?;
        let chunks = samples.len().div_ceil(cfg.batch) as u64;
        let samples = Arc::new(samples);
        let cfg = Arc::new(cfg.clone());
        let pipeline = Pipeline::spawn(cfg.workers, cfg.prefetch, 0, chunks, || {
            let (samples, cfg) = (samples.clone(), cfg.clone());
            move |c| eval_chunk(c, &samples, &cfg)
        })?;
        Ok(EvalLoader {
            pipeline,
            size: cfg.size,
            chunks,
            failed: false,
        })
    }

    /// Number of chunks the loader yields in all.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }
}

impl Iterator for EvalLoader {
    type Item = Result<EvalBatch>;

    /// Ends after the last chunk, or right after the first error.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.pipeline.next()?.and_then(|raw| {
            let (batch, skipped) = raw.into_batch(self.size)?;
            Ok(EvalBatch { batch, skipped })
        });
        self.failed = item.is_err();
        Some(item)
    }
}

fn check_common(samples: &[Sample], size: u32, batch: usize) -> Result<()> {
    if size == 0 || batch == 0 {
        return Err(Error::invalid("image size and batch size must be positive"));
    }
    if let Some(s) = samples.iter().find(|s| s.label > 1) {
        return Err(Error::invalid(format!(
            "{}: label {} is neither 0 (real) nor 1 (fake)",
            s.path.display(),
            s.label
        )));
    }
    Ok(())
}

/// A batch as the workers build it: plain vectors, turned into tensors on the consumer.
struct RawBatch {
    number: u64,
    pixels: Vec<f32>,
    labels: Vec<f32>,
    domains: Vec<i64>,
    indices: Vec<usize>,
    skipped: Vec<Skipped>,
}

impl RawBatch {
    fn with_capacity(number: u64, n: usize, size: u32) -> Self {
        RawBatch {
            number,
            pixels: Vec::with_capacity(n * (size as usize).pow(2)),
            labels: Vec::with_capacity(n),
            domains: Vec::with_capacity(n),
            indices: Vec::with_capacity(n),
            skipped: Vec::new(),
        }
    }

    fn push(&mut self, index: usize, sample: &Sample, pixels: &[f32]) {
        self.pixels.extend_from_slice(pixels);
        self.labels.push(sample.label as f32);
        self.domains.push(sample.domain as i64);
        self.indices.push(index);
    }

    fn into_batch(self, size: u32) -> Result<(Batch, Vec<Skipped>)> {
        let n = self.indices.len();
        let batch = Batch {
            number: self.number,
            images: flat_to_tensor(&self.pixels, n, size)?,
            labels: Tensor::from_slice(&self.labels),
            domains: Tensor::from_slice(&self.domains),
            indices: self.indices,
        };
        Ok((batch, self.skipped))
    }
}

/// The readable samples with their decoded images, and the unreadable ones.
struct Decoded {
    samples: Vec<Sample>,
    images: Vec<GrayImage>,
    skipped: Vec<Skipped>,
}

/// Decodes every (position, sample) once at `size` (in parallel); unreadable ones are left
/// out and returned as skipped, unless more than `max_share` of them are.
fn decode_all(samples: Vec<(usize, Sample)>, size: u32, max_share: f64) -> Result<Decoded> {
    use rayon::prelude::*;
    let decoded: Vec<Result<GrayImage>> = samples
        .par_iter()
        .map(|(_, s)| Ok(resize_gray(&load_gray(&s.path)?, size)))
        .collect();
    let n = samples.len();
    let (mut kept, mut cache, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for ((index, s), d) in samples.into_iter().zip(decoded) {
        match d {
            Ok(img) => {
                kept.push(s);
                cache.push(img);
            }
            Err(e) => skipped.push(Skipped {
                index,
                path: s.path,
                reason: reason(&e),
            }),
        }
    }
    if !skipped.is_empty() && skipped.len() as f64 > max_share * n as f64 {
        let first: Vec<String> = skipped
            .iter()
            .take(3)
            .map(|s| format!("{}: {}", s.path.display(), s.reason))
            .collect();
        return Err(Error::invalid(format!(
            "{} of {n} training images cannot be read (more than {:.0}%), e.g. {}",
            skipped.len(),
            max_share * 100.0,
            first.join("; ")
        )));
    }
    Ok(Decoded {
        samples: kept,
        images: cache,
        skipped,
    })
}

fn train_batch(
    b: u64,
    src: &Source,
    cfg: &TrainLoaderConfig,
    sampler: &mut Sampler,
) -> Result<RawBatch> {
    let mut rng = batch_rng(cfg.seed, b);
    let mut indices = sampler.indices(b);
    // Mixed order: the decorrelation's marginal pairs (roll by one) then pair
    // across classes as often as within them.
    indices.shuffle(&mut rng);
    let mut raw = RawBatch::with_capacity(b, indices.len(), cfg.size);
    for i in indices {
        let s = &src.samples[i];
        let img = match src.origin[i] {
            None => src.image(i)?,
            Some((real, m)) => {
                let method = src.methods[m].as_ref();
                let donor = if method.needs_donor() {
                    src.image(online::pick_donor(&src.reals, real, &mut rng))?
                } else {
                    Cow::Owned(GrayImage::new(1, 1))
                };
                let target = src.image(real)?;
                let fake = online::forge(method, &target, &donor, cfg.online.margin, &mut rng)
                    .map_err(|e| {
                        e.context(format!(
                            "online {} forgery of {}",
                            method.name(),
                            src.samples[real].path.display()
                        ))
                    })?;
                Cow::Owned(fake)
            }
        };
        // Augmented at the cached side, then resized as evaluation resizes a stored crop.
        let img = augment(&img, &cfg.augment, &mut rng).map_err(|source| Error::Image {
            path: s.path.clone(),
            source,
        })?;
        raw.push(i, s, &gray_to_f32(&resize_gray(&img, cfg.size)));
    }
    Ok(raw)
}

fn eval_chunk(c: u64, samples: &[Sample], cfg: &EvalLoaderConfig) -> Result<RawBatch> {
    let start = c as usize * cfg.batch;
    let end = (start + cfg.batch).min(samples.len());
    let mut raw = RawBatch::with_capacity(c, end - start, cfg.size);
    for (i, s) in samples.iter().enumerate().take(end).skip(start) {
        match load_gray(&s.path) {
            Ok(img) => raw.push(i, s, &gray_to_f32(&resize_gray(&img, cfg.size))),
            Err(e) if cfg.on_error == OnError::Skip => raw.skipped.push(Skipped {
                index: i,
                path: s.path.clone(),
                reason: reason(&e),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(raw)
}

/// The cause without the path (which `Skipped` holds already).
fn reason(e: &Error) -> String {
    match e {
        Error::Io { source, .. } => source.to_string(),
        Error::Image { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "loader_tests.rs"]
mod tests;
