//! `crossdf weights check`: ImageNet top-5 of a photo with registry or user weights, to see
//! that a weight file loads into its backbone and means what it should.
use crossdf::backbone::{pretrained, BackboneKind};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Registry name (see `crossdf weights list`) or a weight file (.pth/.safetensors)
    pub weights: String,
    /// The photo to classify (read as BT.601 gray, centre square, 224x224: what DID sees)
    #[arg(long)]
    pub image: PathBuf,
    /// Backbone the file fits (required for a file; registry names carry theirs)
    #[arg(long)]
    pub backbone: Option<BackboneKind>,
    /// How many classes to print
    #[arg(long, default_value_t = 5)]
    pub top: usize,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let (file, kind) = pretrained::resolve(&a.weights, a.backbone)?;
    let preds = pretrained::check(kind, &file, &a.image, a.top)?;
    println!("{} on {} ({}):", kind, a.image.display(), file.display());
    for p in preds {
        println!("{:>7.3}  {:>4}  {}", p.prob, p.class, p.name);
    }
    Ok(())
}
