//! `crossdf demo`: the paper's experiment end to end on the synthetic benchmark.
use anyhow::Context;
use crossdf::demo::{self, DemoOptions};
use crossdf::report;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder: data/ (benchmark, reused), runs/<variant>-seed<k>/, report/
    #[arg(long, default_value = "crossdf-demo")]
    pub out: PathBuf,
    /// Fewer training steps and one seed per variant (a few minutes on a 2-core CPU)
    #[arg(long)]
    pub quick: bool,
    /// Also train the ablations (no-dom, no-mi) and the alpha sweep of Fig. 4 (first seed)
    #[arg(long)]
    pub ablations: bool,
    /// Seed of the benchmark and its splits
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training seeds of did and bce (default 3 seeds; 1 with --quick)
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
}

pub fn run(args: Args, device: crossdf::device::DeviceSpec) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut opts = DemoOptions::new(args.out);
    opts.quick = args.quick;
    opts.seed = args.seed;
    opts.ablations = args.ablations;
    opts.seeds = match (args.seeds, args.quick) {
        (Some(s), _) => s,
        (None, true) => vec![0],
        (None, false) => vec![0, 1, 2],
    };
    anyhow::ensure!(!opts.seeds.is_empty(), "--seeds needs at least one seed");
    opts.device = device.resolve()?;
    opts.progress = std::io::stderr().is_terminal();
    eprintln!(
        "demo: training on real + {}, holding out {}; seeds {:?}",
        opts.methods.seen.join(", "),
        opts.methods.held_out.join(", "),
        opts.seeds
    );
    let summary = demo::run(&opts, &|line| eprintln!("{line}"))
        .with_context(|| format!("running the demo in {}", opts.out.display()))?;
    println!("\n{}\n", summary.title);
    print!("{}", report::aggregate_table(&summary.aggregates));
    println!();
    for c in &summary.comparisons {
        println!("- {}", c.sentence());
    }
    println!(
        "\nwall time {:.0} s; every run with its intervals in {}/summary.md (and summary.json, roc_intra.png, roc_cross.png)",
        start.elapsed().as_secs_f64(),
        opts.report_dir().display()
    );
    Ok(())
}
