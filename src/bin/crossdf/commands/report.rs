//! `crossdf report`: ROC, per-method metrics, domain confusion, t-SNE and attention maps of
//! one checkpoint on one manifest split.
use super::ModelOnData;
use crossdf::data::loader::OnError;
use crossdf::report::model_report::{self, ModelReportOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    on: ModelOnData,
    /// Folder for report.md, report.json and the plots
    #[arg(long)]
    out: PathBuf,
    /// Most faces in the t-SNE plots (subsampled evenly per domain)
    #[arg(long, default_value_t = 800)]
    tsne_max: usize,
    /// Faces per domain in the attention-map sheet (0: none)
    #[arg(long, default_value_t = 3)]
    maps: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(a: Args, device: crossdf::device::DeviceSpec) -> anyhow::Result<()> {
    let (device, det, manifest) = a.on.load(device)?;
    let score = a.on.score_options(&det, OnError::Skip);
    let opts = ModelReportOptions {
        split: a.on.split,
        out: a.out.clone(),
        tsne_max: a.tsne_max,
        maps_per_domain: a.maps,
        seed: a.seed,
    };
    let r = model_report::write(&det, device, &manifest, &score, &opts, &|l| {
        eprintln!("{l}")
    })?;
    for l in &r.levels {
        println!("{l}");
    }
    for d in &r.per_domain {
        println!(
            "frame-level  split={}  {:<16} fakes={:<5} AUC={:.4}  EER={:.4}",
            a.on.split, d.domain, d.metrics.n_fake, d.metrics.auc, d.metrics.eer
        );
    }
    if r.skipped > 0 {
        println!("{} image(s) skipped (unreadable)", r.skipped);
    }
    println!("wrote {}", a.out.join("report.md").display());
    Ok(())
}
