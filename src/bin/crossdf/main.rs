//! The `crossdf` command line: parses arguments, calls the library, maps errors to one message.
mod commands;

use clap::{Parser, Subcommand};
use crossdf::device::DeviceSpec;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "crossdf",
    version,
    about = "Cross-domain deepfake detection with Deep Information Decomposition (DID)"
)]
struct Cli {
    /// Where models run: cpu, cuda or cuda:N (needs a CUDA build of libtorch, see LIBTORCH)
    #[arg(long, global = true, default_value = "cpu", value_parser = device_spec)]
    device: DeviceSpec,
    #[command(subcommand)]
    command: Command,
}

fn device_spec(s: &str) -> Result<DeviceSpec, String> {
    s.parse()
}

#[derive(Subcommand)]
enum Command {
    // One variant per subcommand, in the order a user runs them.
    /// Aligned faces and a manifest from FF++, Celeb-DF, DFFD, DeepfakeBench or plain folders
    Prepare(commands::prepare::Args),
    /// Build the synthetic cross-domain benchmark (real registry photos + procedural forgeries)
    Synth(commands::synth::Args),
    /// Detect faces (MTCNN) in an image: boxes, scores, landmarks, aligned crops
    Faces(commands::faces::Args),
    /// Train DID, an ablation (no-dom, no-mi) or the BCE baseline on a manifest
    Train(commands::train::Args),
    /// Frame- and video-level AUC, EER, AP and ACC of a checkpoint on a manifest split
    Eval(commands::eval::Args),
    /// ROC, per-method metrics, domain confusion, t-SNE and attention maps of a checkpoint
    Report(commands::report::Args),
    /// Score images, videos or folders: faces found, aligned, P(fake) per face and file (JSON)
    Detect(commands::detect::Args),
    /// Serve the detector over HTTP: JSON API and a web page
    Serve(commands::serve::Args),
    /// Measure training or inference throughput (images/s) and peak memory
    Bench(commands::bench::Args),
    /// Train DID, its ablations and the BCE baseline on seen methods; test on seen and held-out ones
    Demo(commands::demo::Args),
    /// Inspect and validate dataset manifests
    #[command(subcommand)]
    Manifest(commands::manifest::ManifestCmd),
    /// Compute AUC, EER, AP and accuracy (frame and video level) from a scores file
    Metrics(commands::metrics::Args),
    /// Fetch registry weights, list them, or inspect a weight file
    #[command(subcommand)]
    Weights(commands::weights::WeightsCmd),
}

/// Exit status of a command that failed (as for clap's usage errors); `detect` also uses 0
/// for "all real" and 1 for "a fake found".
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    crossdf::alloc::tune_for_tensors();
    let cli = Cli::parse();
    let device = cli.device;
    let result: anyhow::Result<()> = match cli.command {
        Command::Detect(args) => match commands::detect::run(args, device) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
        Command::Prepare(args) => commands::prepare::run(args, device),
        Command::Synth(args) => commands::synth::run(args),
        Command::Faces(args) => commands::faces::run(args, device),
        Command::Train(args) => commands::train::run(args, device),
        Command::Eval(args) => commands::eval::run(args, device),
        Command::Report(args) => commands::report::run(args, device),
        Command::Serve(args) => commands::serve::run(args, device),
        Command::Bench(args) => commands::bench::run(args, device),
        Command::Demo(args) => commands::demo::run(args, device),
        Command::Manifest(cmd) => commands::manifest::run(cmd),
        Command::Metrics(args) => commands::metrics::run(args),
        Command::Weights(cmd) => commands::weights::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Library messages already end with their cause's text; print a cause only
            // when it adds something.
            let mut shown = e.to_string();
            eprintln!("error: {shown}");
            for cause in e.chain().skip(1) {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                }
                shown = text;
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}
