//! `crossdf metrics`: frame- and video-level metrics of a scores file written elsewhere.
use anyhow::Context;
use crossdf::metrics::{frame_and_video, read_scores};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Scores as JSON Lines: {"score": s, "label": 0|1, "video": "id"}
    #[arg(long)]
    pub scores: PathBuf,
    /// Also write both levels' metrics to this JSON file
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Name of the split the scores come from (only labels the output)
    #[arg(long, default_value = "unspecified")]
    pub split: String,
}

/// These scores did not come from a checkpoint this tool selected.
const CHECKPOINT_RULE: &str = "n/a (external scores)";

pub fn run(args: Args) -> anyhow::Result<()> {
    let records = read_scores(&args.scores)?;
    let results = frame_and_video(&records, &args.split, CHECKPOINT_RULE)
        .with_context(|| format!("metrics of {}", args.scores.display()))?;
    for r in &results {
        println!("{r}");
    }
    if let Some(out) = &args.json {
        let text = serde_json::to_string_pretty(&results)?;
        crossdf::fsutil::write_atomic(out, text.as_bytes())?;
    }
    Ok(())
}
