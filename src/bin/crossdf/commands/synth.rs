//! `crossdf synth`: the synthetic cross-domain benchmark from registry face photos.
use anyhow::Context;
use crossdf::synth::{build_with_progress, registry_faces, SynthOptions};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder (images/, manifest.jsonl, sheets/, synth.json); a second run reuses its images
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the splits, the jitter and every forgery
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Forgery methods, comma separated (default: all)
    #[arg(long, value_delimiter = ',')]
    pub methods: Vec<String>,
    /// Real variants per face, and fakes per face and method
    #[arg(long, default_value_t = 4)]
    pub per_face: usize,
    /// Side of the aligned face crops, in pixels
    #[arg(long, default_value_t = 224)]
    pub size: u32,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let cache = crossdf::assets::cache_root()?;
    let faces = registry_faces(&cache).context("loading the registry face photos")?;
    let opts = SynthOptions {
        seed: args.seed,
        methods: args.methods,
        per_face: args.per_face,
        size: args.size,
        ..SynthOptions::default()
    };
    eprintln!(
        "synth: {} real faces from the registry photos (cache {})",
        faces.len(),
        cache.display()
    );
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} images, eta {eta}")
            .expect("valid progress template"),
    );
    let summary = build_with_progress(&faces, &opts, &args.out, &|n| match n {
        0 => bar.inc(1),
        total => bar.set_length(total as u64),
    })
    .with_context(|| format!("building the benchmark in {}", args.out.display()))?;
    bar.finish_and_clear();
    println!(
        "{}: split by identity (about 60/20/20), seed {}; {} images written, {} reused, {:.1} s",
        args.out.display(),
        summary.seed,
        summary.written,
        summary.reused,
        start.elapsed().as_secs_f64()
    );
    print!("{summary}");
    if summary.fallback_crops > 0 {
        println!(
            "{} faces used the square box crop (implausible landmarks)",
            summary.fallback_crops
        );
    }
    Ok(())
}
