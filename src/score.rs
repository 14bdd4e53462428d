//! Scoring faces with a model: P(fake) from `G`, `A_df` and `C` only (the paper's
//! test-time path), for manifests (validation, `eval`, `report`) and for the crops `detect`
//! and `serve` find. It sits below training, which validates with it, so data flows one
//! way: loader -> model -> scores -> metrics.
use crate::data::loader::{EvalLoader, EvalLoaderConfig, OnError, Sample, Skipped};
use crate::did::DidModel;
use crate::error::Result;
use crate::manifest::{Manifest, Record};
use crate::metrics::ScoreRecord;
use tch::Device;

pub struct ScoreOptions {
    pub size: u32,
    pub batch: usize,
    pub workers: usize,
    pub on_error: OnError,
    /// Average P(fake) of each face and its mirror image ([`DataConfig::eval_flip`]).
    ///
    /// [`DataConfig::eval_flip`]: crate::train::config::DataConfig::eval_flip
    pub flip: bool,
}

/// Scores for the readable images; `skipped` lists the others with the reason.
pub struct Scored {
    pub records: Vec<ScoreRecord>,
    pub skipped: Vec<Skipped>,
}

/// The rows of a feature matrix [N, c] (pooled features for t-SNE, clustering), as f32 on
/// the CPU; detached, so it also serves tensors that carry a gradient.
pub fn rows(t: &tch::Tensor) -> Result<Vec<Vec<f32>>> {
    let t = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(tch::Kind::Float)
        .contiguous();
    let (n, c) = (t.size()[0] as usize, t.size()[1] as usize);
    let flat = Vec::<f32>::try_from(t.reshape([-1]))?;
    Ok((0..n).map(|i| flat[i * c..(i + 1) * c].to_vec()).collect())
}

/// Batches of `samples` as these options score them.
pub fn loader(samples: Vec<Sample>, opts: &ScoreOptions) -> Result<EvalLoader> {
    EvalLoader::new(
        samples,
        &EvalLoaderConfig {
            size: opts.size,
            batch: opts.batch,
            workers: opts.workers,
            prefetch: 2,
            on_error: opts.on_error,
        },
    )
}

/// The samples of manifest records; domains do not matter when scoring.
pub fn record_samples(manifest: &Manifest, records: &[&Record]) -> Vec<Sample> {
    records
        .iter()
        .map(|r| Sample {
            path: manifest.resolve(r),
            label: r.label,
            domain: 0,
        })
        .collect()
}

/// P(fake) for each sample, in order; unreadable files per `on_error`.
pub fn score_samples(
    model: &DidModel,
    device: Device,
    samples: Vec<Sample>,
    opts: &ScoreOptions,
) -> Result<(Vec<Option<f64>>, Vec<Skipped>)> {
    let n = samples.len();
    let loader = loader(samples, opts)?;
    let _guard = tch::no_grad_guard();
    let mut scores = vec![None; n];
    let mut skipped = Vec::new();
    for chunk in loader {
        let chunk = chunk?;
        skipped.extend(chunk.skipped);
        if chunk.batch.indices.is_empty() {
            continue;
        }
        let s = score_batch(model, &chunk.batch.images.to_device(device), opts.flip);
        let s = Vec::<f32>::try_from(s.to_device(Device::Cpu))?;
        for (i, v) in chunk.batch.indices.iter().zip(s) {
            scores[*i] = Some(v as f64);
        }
    }
    Ok((scores, skipped))
}

/// P(fake) of gray faces [N, 1, S, S]; with `flip`, the mean over each face and its mirror
/// image (faces are left/right symmetric, forgery traces need not be).
pub fn score_batch(model: &DidModel, x: &tch::Tensor, flip: bool) -> tch::Tensor {
    let s = model.score(x);
    if flip {
        (s + model.score(&x.flip([3i64]))) / 2.0
    } else {
        s
    }
}

/// Scores manifest records into the `crossdf metrics` format (path, score, label, video).
pub fn score_records(
    model: &DidModel,
    device: Device,
    manifest: &Manifest,
    records: &[&Record],
    opts: &ScoreOptions,
) -> Result<Scored> {
    let samples = record_samples(manifest, records);
    let (scores, skipped) = score_samples(model, device, samples, opts)?;
    let records = records
        .iter()
        .zip(scores)
        .filter_map(|(r, s)| {
            s.map(|score| ScoreRecord {
                path: Some(r.path.to_string_lossy().into_owned()),
                score,
                label: r.label,
                video: r.video.clone(),
            })
        })
        .collect();
    Ok(Scored { records, skipped })
}
