//! `crossdf eval`: frame- and video-level metrics of a checkpoint on a manifest split.
use super::{ModelOnData, OnErrorArg};
use anyhow::Context;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    on: ModelOnData,
    /// Write both levels' metrics as JSON
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write per-image scores (JSON Lines, the `crossdf metrics` format)
    #[arg(long)]
    scores: Option<PathBuf>,
    /// What to do with an image that cannot be read
    #[arg(long, value_enum, default_value = "fail")]
    on_error: OnErrorArg,
}

pub fn run(a: Args, device: crossdf::device::DeviceSpec) -> anyhow::Result<()> {
    let (device, det, manifest) = a.on.load(device)?;
    let records: Vec<_> = manifest.split(a.on.split).collect();
    anyhow::ensure!(
        !records.is_empty(),
        "{}: no records with split \"{}\"",
        a.on.data.display(),
        a.on.split
    );
    let opts = a.on.score_options(&det, a.on_error.into());
    let scored = crossdf::score::score_records(&det.model, device, &manifest, &records, &opts)?;
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
        a.on.split.as_str(),
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
