//! `crossdf eval`: frame- and video-level metrics of a checkpoint on a manifest split.
use anyhow::Context;
use crossdf::data::loader::OnError;
use crossdf::detector::{self, Detector, ScoreOptions};
use crossdf::manifest::{Manifest, Split};
use std::path::PathBuf;

#[derive(Clone, Copy, clap::ValueEnum)]
enum OnErrorArg {
    Skip,
    Fail,
}

#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint file, or a run folder (its best.safetensors, else last)
    #[arg(long)]
    model: PathBuf,
    /// Manifest to evaluate on
    #[arg(long)]
    data: PathBuf,
    /// train | val | test
    #[arg(long, default_value = "test")]
    split: Split,
    /// Write both levels' metrics as JSON
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write per-image scores (JSON Lines, the `crossdf metrics` format)
    #[arg(long)]
    scores: Option<PathBuf>,
    /// What to do with an image that cannot be read
    #[arg(long, value_enum, default_value = "fail")]
    on_error: OnErrorArg,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let device = crossdf::device::parse(&a.device)?;
    let det = Detector::load(&a.model, device)?;
    let manifest = Manifest::read(&a.data)?;
    let records: Vec<_> = manifest.split(a.split).collect();
    anyhow::ensure!(
        !records.is_empty(),
        "{}: no records with split \"{}\"",
        a.data.display(),
        a.split
    );
    let opts = ScoreOptions {
        size: det.config.model.size as u32,
        batch: a.batch,
        workers: a.workers,
        on_error: match a.on_error {
            OnErrorArg::Skip => OnError::Skip,
            OnErrorArg::Fail => OnError::Fail,
        },
    };
    let scored = detector::score_records(&det.model, device, &manifest, &records, &opts)?;
    for s in &scored.skipped {
        eprintln!("skipped {}: {}", s.path.display(), s.reason);
    }
    if !scored.skipped.is_empty() {
        eprintln!("{} image(s) skipped", scored.skipped.len());
    }
    if let Some(p) = &a.scores {
        crossdf::metrics::write_scores(p, &scored.records)?;
    }
    let levels = crossdf::metrics::frame_and_video(
        &scored.records,
        a.split.as_str(),
        &det.checkpoint_rule(),
    )
    .context("computing metrics")?;
    println!(
        "model {} ({} / {})",
        det.path.display(),
        det.config.model.variant,
        det.config.model.backbone
    );
    for l in &levels {
        println!("{l}");
    }
    if let Some(p) = &a.json {
        let text = serde_json::to_string_pretty(&levels)?;
        crossdf::fsutil::write_atomic(p, text.as_bytes())?;
    }
    Ok(())
}
