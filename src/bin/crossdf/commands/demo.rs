//! `crossdf demo`: the paper's experiment end to end on the synthetic benchmark.
use anyhow::Context;
use crossdf::demo::{self, DemoOptions};
use crossdf::metrics::Level;
use crossdf::report;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Output folder: data/ (benchmark, reused), runs/<variant>/, report/
    #[arg(long, default_value = "crossdf-demo")]
    pub out: PathBuf,
    /// Fewer training steps (about 5 minutes on a 2-core CPU instead of 20)
    #[arg(long)]
    pub quick: bool,
    /// Seed of the benchmark, the splits and every training run
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// cpu | cuda | cuda:N
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut opts = DemoOptions::new(args.out);
    opts.quick = args.quick;
    opts.seed = args.seed;
    opts.device = crossdf::device::parse(&args.device)?;
    opts.progress = std::io::stderr().is_terminal();
    eprintln!(
        "demo: training on real + {}, holding out {}",
        opts.methods.seen.join(", "),
        opts.methods.held_out.join(", ")
    );
    let summary = demo::run(&opts, &|line| eprintln!("{line}"))
        .with_context(|| format!("running the demo in {}", opts.out.display()))?;
    println!("\n{}\n", summary.title);
    print!("{}", report::results_table(&summary.results, Level::Frame));
    if let Some(line) = report::compare_cross_auc(&summary.results, "did", "bce") {
        println!("\n{line}");
    }
    println!(
        "\nwall time {:.0} s; report in {} (summary.md, summary.json, roc_intra.png, roc_cross.png)",
        start.elapsed().as_secs_f64(),
        opts.report_dir().display()
    );
    Ok(())
}
