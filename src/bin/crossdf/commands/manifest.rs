//! `crossdf manifest ...`: look at a dataset manifest before training on it.
use anyhow::bail;
use clap::{Args, Subcommand};
use crossdf::manifest::Manifest;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ManifestCmd {
    /// Validate a manifest (.jsonl or .csv) and print its counts per split, label and domain
    Check(CheckArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The manifest file
    pub file: PathBuf,
    /// Also check that every image file exists
    #[arg(long)]
    pub check_files: bool,
}

pub fn run(cmd: ManifestCmd) -> anyhow::Result<()> {
    match cmd {
        ManifestCmd::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let (manifest, errors) = Manifest::read_all_errors(&args.file)?;
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        bail!(
            "{}: {} malformed line(s)",
            args.file.display(),
            errors.len()
        );
    }
    if manifest.records.is_empty() {
        bail!("{}: no records (the file is empty)", args.file.display());
    }
    let summary = manifest.summary();
    println!("{}\n", args.file.display());
    println!("{summary}");
    println!("videos: {}", summary.total_videos);
    println!("domains: {}", manifest.domain_names().join(", "));
    if args.check_files {
        let missing = manifest.check_files();
        for e in &missing {
            eprintln!("{e}");
        }
        if !missing.is_empty() {
            bail!(
                "{}: {} image file(s) missing",
                args.file.display(),
                missing.len()
            );
        }
        println!("all {} image files exist", manifest.records.len());
    }
    Ok(())
}
