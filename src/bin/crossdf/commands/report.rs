//! `crossdf report`: ROC, per-method metrics, domain confusion, t-SNE and attention maps of
//! one checkpoint on one manifest split.
use crossdf::data::loader::OnError;
use crossdf::detector::{Detector, ScoreOptions};
use crossdf::manifest::{Manifest, Split};
use crossdf::report::model_report::{self, ModelReportOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint file, or a run folder (its best.safetensors, else last)
    #[arg(long)]
    model: PathBuf,
    /// Manifest to report on
    #[arg(long)]
    data: PathBuf,
    /// train | val | test
    #[arg(long, default_value = "test")]
    split: Split,
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
    let score = ScoreOptions {
        size: det.config.model.size as u32,
        batch: a.batch,
        workers: a.workers,
        on_error: OnError::Skip,
    };
    let opts = ModelReportOptions {
        split: a.split,
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
            a.split, d.domain, d.metrics.n_fake, d.metrics.auc, d.metrics.eer
        );
    }
    if r.skipped > 0 {
        println!("{} image(s) skipped (unreadable)", r.skipped);
    }
    println!("wrote {}", a.out.join("report.md").display());
    Ok(())
}
