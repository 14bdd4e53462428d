//! A trained detector: a checkpoint loaded into a model, and scoring of face images.
//! Only `G`, `A_df` and `C` run here (the paper's test-time path).
use crate::data::loader::{EvalLoader, EvalLoaderConfig, OnError, Sample, Skipped};
use crate::did::DidModel;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, Record};
use crate::metrics::ScoreRecord;
use crate::train::checkpoint::{self, CheckpointMeta};
use crate::train::config::TrainConfig;
use std::path::{Path, PathBuf};
use tch::{nn, Device};

pub struct Detector {
    pub vs: nn::VarStore,
    pub model: DidModel,
    pub meta: CheckpointMeta,
    pub config: TrainConfig,
    pub path: PathBuf,
}

impl Detector {
    /// Loads a checkpoint file, or a run folder's `best.safetensors` (else `last`).
    pub fn load(path: &Path, device: Device) -> Result<Self> {
        let file = if path.is_dir() {
            let best = path.join("best.safetensors");
            if best.exists() {
                best
            } else {
                path.join("last.safetensors")
            }
        } else {
            path.to_path_buf()
        };
        let ck = checkpoint::load(&file)?;
        let config: TrainConfig = serde_json::from_value(ck.meta.config.clone()).map_err(|e| {
            Error::invalid(format!("{}: bad config in checkpoint: {e}", file.display()))
        })?;
        let mut vs = nn::VarStore::new(device);
        let model = DidModel::new(&vs.root(), &config.model, ck.meta.domains.len() as i64)?;
        checkpoint::restore_vars(&vs, &ck.tensors, &file)?;
        vs.freeze();
        Ok(Detector {
            vs,
            model,
            meta: ck.meta,
            config,
            path: file,
        })
    }

    /// How this checkpoint was chosen, for every printed metric.
    /// The run folder and file (`did-seed0/best.safetensors`): what a server shows its
    /// visitors instead of the path.
    pub fn name(&self) -> String {
        let part = |p: Option<&Path>| {
            p.and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        };
        match (part(self.path.parent()), part(Some(&self.path))) {
            (Some(run), Some(file)) => format!("{run}/{file}"),
            (_, file) => file.unwrap_or_default(),
        }
    }

    pub fn checkpoint_rule(&self) -> String {
        let name = self.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if name == "best" {
            format!("best(val frame AUC, epoch {})", self.meta.epoch)
        } else {
            format!("{name}(epoch {}, step {})", self.meta.epoch, self.meta.step)
        }
    }
}

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

impl ScoreOptions {
    pub fn from_config(cfg: &TrainConfig, on_error: OnError) -> Self {
        ScoreOptions {
            size: cfg.model.size as u32,
            batch: cfg.data.eval_batch,
            workers: cfg.data.workers,
            on_error,
            flip: cfg.data.eval_flip,
        }
    }
}

/// Scores for the readable images; `skipped` lists the others with the reason.
pub struct Scored {
    pub records: Vec<ScoreRecord>,
    pub skipped: Vec<Skipped>,
}

/// P(fake) for each sample, in order; unreadable files per `on_error`.
pub fn score_samples(
    model: &DidModel,
    device: Device,
    samples: Vec<Sample>,
    opts: &ScoreOptions,
) -> Result<(Vec<Option<f64>>, Vec<Skipped>)> {
    let n = samples.len();
    let loader = EvalLoader::new(
        samples,
        &EvalLoaderConfig {
            size: opts.size,
            batch: opts.batch,
            workers: opts.workers,
            prefetch: 2,
            on_error: opts.on_error,
        },
    )?;
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
    let samples = records
        .iter()
        .map(|r| Sample {
            path: manifest.resolve(r),
            label: r.label,
            domain: 0,
        })
        .collect();
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
