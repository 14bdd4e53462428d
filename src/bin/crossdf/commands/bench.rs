//! `crossdf bench train|infer`: images/s and peak memory of the model on synthetic input.
use crossdf::backbone::BackboneKind;
use crossdf::bench::{self, Mode};
use crossdf::did::{MiArch, ModelConfig, Variant};

#[derive(Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    Train,
    Infer,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TArchArg {
    Paper,
    Reduced,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    mode: ModeArg,
    #[arg(long, default_value = "resnet50")]
    backbone: BackboneKind,
    #[arg(long, default_value = "did")]
    variant: Variant,
    #[arg(long, default_value_t = 224)]
    size: i64,
    /// Layers of the MI estimator T (the demo uses `reduced`)
    #[arg(long, value_enum, default_value = "paper")]
    t_arch: TArchArg,
    /// Images per step (default: 15 for train, 32 for infer)
    #[arg(long)]
    batch: Option<i64>,
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Also write the result as JSON
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

pub fn run(a: Args, device: crossdf::device::DeviceSpec) -> anyhow::Result<()> {
    let mode = match a.mode {
        ModeArg::Train => Mode::Train,
        ModeArg::Infer => Mode::Infer,
    };
    let batch = a.batch.unwrap_or(if mode == Mode::Train { 15 } else { 32 });
    anyhow::ensure!(a.steps > 0, "--steps must be at least 1");
    let cfg = ModelConfig {
        backbone: a.backbone,
        variant: a.variant,
        size: a.size,
        t_arch: match a.t_arch {
            TArchArg::Paper => MiArch::Paper,
            TArchArg::Reduced => MiArch::Reduced,
        },
        ..Default::default()
    };
    let device = device.resolve()?;
    let r = bench::run(mode, &cfg, batch, a.warmup, a.steps, device)?;
    println!(
        "{:?} {} {} (T {:?}) {}x{} batch {} on {} ({} threads): median {:.1} images/s over {} steps after {} warm-up; peak RSS {}",
        r.mode,
        cfg.backbone,
        cfg.variant,
        cfg.t_arch,
        cfg.size,
        cfg.size,
        batch,
        r.device,
        r.threads,
        r.median_images_per_s,
        r.steps,
        r.warmup,
        r.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.0} MiB"))
    );
    if let Some(p) = &a.json {
        crossdf::fsutil::write_atomic(p, serde_json::to_string_pretty(&r)?.as_bytes())?;
    }
    Ok(())
}
