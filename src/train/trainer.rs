//! The training loop of Algorithm 1: class-balanced batches, one optimizer step on (4) per
//! batch, validation at the end of each epoch, `best` chosen by validation frame AUC only.
use super::checkpoint::{self, CheckpointMeta};
use super::config::TrainConfig;
use super::ema::Ema;
use super::optim::Adam;
use super::schedule;
use crate::data::loader::{OnError, Sample, TrainLoader};
use crate::did::{loss::did_loss, DidModel};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, Record, Split};
use crate::metrics::LabelledMetrics;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};
use tch::{nn, Device};

/// Where a run writes: `config.toml`, `train_log.jsonl`, `epochs.jsonl` (and the same as
/// TensorBoard events in `tensorboard/`), `last.safetensors`,
/// `best.safetensors` (with `optim.ema`, both hold the weight average as the model).
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn last(&self) -> PathBuf {
        self.0.join("last.safetensors")
    }
    pub fn best(&self) -> PathBuf {
        self.0.join("best.safetensors")
    }
    pub fn log(&self) -> PathBuf {
        self.0.join("train_log.jsonl")
    }
    pub fn epochs(&self) -> PathBuf {
        self.0.join("epochs.jsonl")
    }
    pub fn config(&self) -> PathBuf {
        self.0.join("config.toml")
    }
}

pub struct TrainOptions {
    pub config: TrainConfig,
    pub out: PathBuf,
    /// Continue from `out/last.safetensors` (optimizer state, step, sampler position, RNG).
    pub resume: bool,
    pub device: Device,
    /// Show a progress bar (off for tests and non-terminals).
    pub progress: bool,
}

pub struct TrainSummary {
    pub steps: usize,
    pub best_val_auc: Option<f64>,
    /// Validation metrics (frame, video) of each finished epoch.
    pub epochs: Vec<[LabelledMetrics; 2]>,
}

/// The domain map: "real" first, then the forgery methods of the training split and the
/// online forgery methods, by name.
pub fn domain_map(train: &[&Record], cfg: &TrainConfig) -> Vec<String> {
    let online = &cfg.data.online;
    let manifest_fakes = online.uses_manifest_fakes();
    let mut fakes: Vec<String> = train
        .iter()
        .filter(|r| r.label == 1 && manifest_fakes)
        .map(|r| r.domain.clone())
        .chain(online.methods.iter().cloned())
        .collect();
    fakes.sort();
    fakes.dedup();
    std::iter::once("real".to_string()).chain(fakes).collect()
}

/// The training samples with their domain ids: every real face is domain 0, whatever its
/// source is called; a listed fake is its method's id, and is left out when online forgeries
/// replace listed fakes (the loader would drop it unread).
fn samples(m: &Manifest, recs: &[&Record], domains: &[String], cfg: &TrainConfig) -> Vec<Sample> {
    let listed_fakes = cfg.data.online.uses_manifest_fakes();
    recs.iter()
        .filter_map(|r| {
            let domain = match r.label {
                0 => 0,
                _ if !listed_fakes => return None,
                // domain_map lists every training fake's method when listed fakes are used.
                _ => domains.iter().position(|d| *d == r.domain)?,
            };
            Some(Sample {
                path: m.resolve(r),
                label: r.label,
                domain,
            })
        })
        .collect()
}

/// Trains on `train`'s `train` split, validating on `val`'s `val` split after every epoch.
pub fn train(
    opts: &TrainOptions,
    train: &Manifest,
    val: Option<&Manifest>,
) -> Result<TrainSummary> {
    let cfg = &opts.config;
    cfg.validate()?;
    let run = RunDir(opts.out.clone());
    std::fs::create_dir_all(&run.0).map_err(|e| Error::io(&run.0, e))?;

    let train_recs: Vec<&Record> = train.split(Split::Train).collect();
    if train_recs.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no records with split \"train\"",
            train.path.display()
        )));
    }
    let domains = domain_map(&train_recs, cfg);
    let train_samples = samples(train, &train_recs, &domains, cfg);
    // C_bar's domains: the methods, or pseudo-domains found while training.
    let mut pseudo = match cfg.domains {
        super::pseudo::Domains::Cluster(k) => Some(super::pseudo::Pseudo::new(
            k,
            cfg.seed,
            cfg.schedule.steps_per_epoch,
        )),
        _ => None,
    };
    let model_domains = match pseudo {
        Some(_) => super::pseudo::names(),
        None => domains.clone(),
    };
    let val_set = val.map(|m| (m, m.split(Split::Val).collect::<Vec<_>>()));
    if let Some((m, recs)) = &val_set {
        if recs.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no records with split \"val\" for validation",
                m.path.display()
            )));
        }
    }

    let mut vs = nn::VarStore::new(opts.device);
    tch::manual_seed(cfg.seed as i64);
    let model = DidModel::new(&vs.root(), &cfg.model, model_domains.len() as i64)?;
    if cfg.model.freeze_backbone {
        for (name, var) in vs.variables() {
            if name.starts_with("backbone.") {
                let _ = var.set_requires_grad(false);
            }
        }
    }
    let mut opt = Adam::new(&vs.variables(), cfg.optim.clone());
    let mut start_step = 0usize;
    let mut best_val_auc = None;
    let mut resumed = None;
    // A run killed before its first checkpoint has nothing to resume: start it afresh.
    let resume = opts.resume && run.last().exists();
    if opts.resume && !resume {
        eprintln!(
            "nothing to resume in {}: no checkpoint was saved yet (last.safetensors is written \
             at the end of each epoch); starting from step 0",
            run.0.display()
        );
    }
    if resume {
        let ck = checkpoint::load(&run.last())?;
        if ck.meta.domains != model_domains {
            return Err(Error::invalid(format!(
                "cannot resume {}: its domains {:?} differ from this training split's {:?}",
                run.last().display(),
                ck.meta.domains,
                model_domains
            )));
        }
        checkpoint::restore_vars(&vs, &ck.tensors, &run.last())?;
        opt.load_state(&ck.tensors, ck.meta.step)?;
        if let Some(p) = &mut pseudo {
            p.load(&ck.tensors)?;
        }
        start_step = ck.meta.step as usize;
        best_val_auc = ck.meta.best_val_auc;
        truncate_log(&run.log(), start_step)?;
        truncate_log(&run.epochs(), start_step)?;
        resumed = Some(ck.tensors);
    } else {
        if let Some(w) = &cfg.weights {
            // A file, or a registry name (fetched and converted once into the cache).
            let (file, _) = crate::backbone::pretrained::resolve(
                &w.to_string_lossy(),
                Some(cfg.model.backbone),
            )?;
            crate::backbone::pretrained::load_backbone(
                &mut vs,
                "backbone.",
                cfg.model.backbone,
                &file,
            )?;
        }
        for p in [run.log(), run.epochs()] {
            let _ = std::fs::remove_file(p);
        }
    }
    crate::fsutil::write_atomic(&run.config(), cfg.to_toml().as_bytes())?;
    vs.set_kind(tch::Kind::Float);
    let mut ema = cfg.optim.ema.map(|d| Ema::new(&vs, d));
    if let (Some(e), Some(tensors)) = (&mut ema, &resumed) {
        e.load(tensors, &run.last())?;
    }
    drop(resumed);

    let total = cfg.total_steps();
    let bar = progress_bar(opts.progress, total as u64, start_step as u64);
    let mut loader = TrainLoader::new(
        train_samples,
        &cfg.loader_config(&domains),
        start_step as u64,
    )?;
    write_skipped(&run.0.join("skipped.jsonl"), loader.skipped())?;
    let counts = loader.counts();
    bar.println(format!(
        "training on {} real images, {} listed fakes, {} (real, method) pairs for online forgeries{}",
        counts.real,
        counts.manifest_fakes,
        counts.online_pairs,
        match loader.skipped().len() {
            0 => String::new(),
            n => format!("; {n} unreadable files left out (skipped.jsonl)"),
        }
    ));
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.log())
        .map_err(|e| Error::io(run.log(), e))?;
    let mut board = super::tensorboard::Board::create(&run.0, &run.log(), &run.epochs())?;
    let mut epochs = Vec::new();

    for step in start_step..total {
        // Dropout draws depend on (seed, step) only, so a resumed run repeats them.
        tch::manual_seed(cfg.seed.wrapping_add(step as u64) as i64);
        let batch = loader.next_batch()?;
        let q = step as f64 / total as f64;
        let beta = schedule::beta(q);
        opt.lr_scale = schedule::lr_factor(cfg.schedule.lr, step, total, cfg.schedule.warmup_steps);
        let lrs = (opt.lr_backbone(), opt.lr_heads());
        let images = batch.images.to_device(opts.device);
        let labels = batch.labels.to_device(opts.device);
        let out = model.forward_t(&images, true, beta);
        let doms = match (&mut pseudo, &out.os_pooled) {
            (Some(p), Some(f)) => p.batch_domains(&batch.labels, &batch.domains, f)?,
            _ => batch.domains.to_device(opts.device),
        };
        let terms = did_loss(&out, &labels, &doms, cfg.model.variant, &cfg.loss);
        opt.zero_grad();
        terms.total.backward();
        opt.step();
        if let Some(e) = &mut ema {
            e.update(step + 1);
        }
        if let Some(p) = &mut pseudo {
            p.after_step(step + 1)?;
        }
        let named = terms.named();
        if named.iter().any(|(_, v)| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "loss became non-finite at step {step}: {named:?}; lower the learning rate"
            )));
        }
        let epoch = step / cfg.schedule.steps_per_epoch;
        if step % cfg.schedule.log_every == 0 || step + 1 == total {
            let mut line = serde_json::json!({
                "step": step + 1, "epoch": epoch + 1, "beta": beta,
                "lr_backbone": lrs.0, "lr_heads": lrs.1,
            });
            for (k, v) in &named {
                line[*k] = serde_json::json!(v);
            }
            writeln!(log, "{line}").map_err(|e| Error::io(run.log(), e))?;
            board.train(&line)?;
            bar.set_message(
                named
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.4}"))
                    .collect::<Vec<_>>()
                    .join("  "),
            );
        }
        bar.inc(1);
        if (step + 1) % cfg.schedule.steps_per_epoch == 0 || step + 1 == total {
            let val_metrics = match &val_set {
                Some((m, recs)) => {
                    let score = || {
                        crate::score::score_records(
                            &model,
                            opts.device,
                            m,
                            recs,
                            &cfg.score_options(OnError::Fail),
                        )
                    };
                    let scored = match &ema {
                        Some(e) => e.with_average(score)?,
                        None => score()?,
                    };
                    let m = crate::metrics::frame_and_video_points(
                        &scored.records,
                        "val",
                        "this epoch",
                    )?;
                    bar.println(format!("epoch {}: {}\n         {}", epoch + 1, m[0], m[1]));
                    Some(m)
                }
                None => None,
            };
            let val_auc = val_metrics.as_ref().map(|m| m[0].metrics.auc);
            let improved = match (val_auc, best_val_auc) {
                (Some(a), Some(b)) => a > b,
                (Some(_), None) => true,
                _ => false,
            };
            if improved {
                best_val_auc = val_auc;
            }
            let meta = CheckpointMeta {
                config: serde_json::to_value(cfg).expect("config serialises"),
                domains: model_domains.clone(),
                step: (step + 1) as i64,
                epoch: epoch + 1,
                val: val_metrics
                    .as_ref()
                    .map(|m| serde_json::to_value(m).expect("metrics serialise")),
                best_val_auc,
                crossdf_version: env!("CARGO_PKG_VERSION").to_string(),
            };
            let weights = match &ema {
                Some(e) => e.model_tensors(),
                None => checkpoint::model_tensors(&vs),
            };
            if improved {
                checkpoint::save(&run.best(), &weights, &meta)?;
            }
            let mut with_opt = weights;
            with_opt.extend(opt.state());
            if let Some(e) = &ema {
                with_opt.extend(e.state());
            }
            let pseudo_log = match &mut pseudo {
                Some(p) => {
                    let summary = p.end_epoch(&domains)?;
                    with_opt.extend(p.state());
                    bar.println(format!("         pseudo-domains vs methods: {summary}"));
                    Some(summary)
                }
                None => None,
            };
            checkpoint::save(&run.last(), &with_opt, &meta)?;
            let mut line = serde_json::json!({
                "step": step + 1, "epoch": epoch + 1, "val": meta.val, "best_val_auc": best_val_auc,
                "saved_best": improved, "unreadable_left_out": loader.skipped().len(),
            });
            if let Some(p) = pseudo_log {
                line["pseudo_domains"] = p;
            }
            append_line(&run.epochs(), &line)?;
            board.epoch(&line)?;
            if let Some(m) = val_metrics {
                epochs.push(m);
            }
        }
    }
    bar.finish_and_clear();
    Ok(TrainSummary {
        steps: total,
        best_val_auc,
        epochs,
    })
}

fn progress_bar(show: bool, total: u64, pos: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total).with_position(pos);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {elapsed} < {eta}  {msg}")
            .expect("valid template"),
    );
    bar
}

/// `skipped.jsonl`: one line per training file left out, with the reason.
fn write_skipped(path: &Path, skipped: &[crate::data::Skipped]) -> Result<()> {
    let text: String = skipped
        .iter()
        .map(|s| {
            format!(
                "{}\n",
                serde_json::json!({"path": s.path.to_string_lossy(), "reason": s.reason})
            )
        })
        .collect();
    crate::fsutil::write_atomic(path, text.as_bytes())
}

fn append_line(path: &Path, line: &serde_json::Value) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    writeln!(f, "{line}").map_err(|e| Error::io(path, e))
}

/// Drops log lines past `step` (written after the checkpoint a run resumes from).
fn truncate_log(path: &Path, step: usize) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = String::new();
    for (i, l) in lines.iter().enumerate() {
        let parsed = serde_json::from_str::<serde_json::Value>(l)
            .ok()
            .and_then(|v| v["step"].as_u64());
        match parsed {
            Some(s) if s as usize <= step => kept.push_str(&format!("{l}\n")),
            Some(_) => {}
            // A kill can tear the line being written; only the last line may be torn.
            None if i + 1 == lines.len() => {}
            None => {
                return Err(Error::invalid(format!(
                    "{}:{}: not a log line with a step; the run folder was edited or \
                     damaged: repair or remove this line, or train afresh without --resume",
                    path.display(),
                    i + 1
                )))
            }
        }
    }
    crate::fsutil::write_atomic(path, kept.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn resuming_keeps_logged_steps_up_to_the_checkpoint_and_only_a_torn_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("train_log.jsonl");
        let lines = "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n{\"st";
        std::fs::write(&log, lines).unwrap();
        super::truncate_log(&log, 2).unwrap();
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "{\"step\":1}\n{\"step\":2}\n"
        );
        // A damaged line before the end is refused with file and line, and the file is kept.
        let damaged = "{\"step\":1}\nnot json\n{\"step\":2}\n";
        std::fs::write(&log, damaged).unwrap();
        let e = super::truncate_log(&log, 2).unwrap_err().to_string();
        assert!(e.contains("train_log.jsonl:2:"), "{e}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), damaged);
    }
}
