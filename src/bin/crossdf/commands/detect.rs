//! `crossdf detect`: P(fake) of images, videos or folders of them, as JSON.
use super::FacesArg;
use anyhow::Context;
use crossdf::detect::{self, DetectOptions, MediaScore, Verdict};
use crossdf::detector::Detector;
use crossdf::face::mtcnn::Mtcnn;
use crossdf::face::select::Selection;
use crossdf::media::FrameSelection;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(clap::Args)]
pub struct Args {
    /// Images, videos, or folders of them (searched recursively)
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Checkpoint file, or a run folder (its best.safetensors, else last)
    #[arg(long)]
    model: PathBuf,
    /// Write the results as JSON Lines (one line per file) instead of standard output
    #[arg(long)]
    json: Option<PathBuf>,
    /// P(fake) at or above this is called fake
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Evenly spaced frames per video
    #[arg(long, default_value_t = 32)]
    frames: usize,
    #[arg(long, value_enum, default_value = "largest")]
    faces: FacesArg,
    /// Faces with a shorter box side below this many pixels are ignored
    #[arg(long, default_value_t = 40.0)]
    min_face: f32,
    /// Detections below this MTCNN score are ignored
    #[arg(long, default_value_t = 0.9)]
    min_prob: f32,
    /// Side of the aligned crop (as `prepare --size`), before the model's own resize
    #[arg(long, default_value_t = 224)]
    align_size: u32,
    /// Context around the face (as `prepare --margin`)
    #[arg(long, default_value_t = 1.3)]
    margin: f32,
    /// cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// The options `detect` and `serve` share.
pub fn options(
    threshold: f64,
    frames: usize,
    faces: FacesArg,
    min_face: f32,
    min_prob: f32,
) -> DetectOptions {
    DetectOptions {
        selection: Selection {
            faces: faces.into(),
            min_prob,
            min_face,
        },
        frames: FrameSelection::Even(frames.max(1)),
        threshold,
        ..DetectOptions::default()
    }
}

fn summary_line(r: &MediaScore) -> String {
    match (r.verdict, r.score) {
        (Verdict::Error, _) => format!("{}: error: {}", r.path, r.error.as_deref().unwrap_or("")),
        (_, None) => format!("{}: no face in {} frame(s)", r.path, r.frames),
        (v, Some(s)) => format!(
            "{}: {} P(fake)={s:.4} ({} face(s), {} frame(s))",
            r.path,
            if v == Verdict::Fake { "FAKE" } else { "real" },
            r.faces.len(),
            r.frames
        ),
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let device = crossdf::device::parse(&a.device)?;
    let det = Detector::load(&a.model, device)?;
    let mtcnn = Mutex::new(Mtcnn::load(device).context("loading the MTCNN face detector")?);
    let mut opts = options(a.threshold, a.frames, a.faces, a.min_face, a.min_prob);
    opts.align_size = a.align_size;
    opts.margin = a.margin;
    let files = detect::collect_inputs(&a.inputs)?;
    anyhow::ensure!(
        !files.is_empty(),
        "no image or video files in the given inputs"
    );
    let mut lines = Vec::new();
    let mut errors = 0;
    for f in &files {
        let r = detect::detect_file(&det, device, &mtcnn, f, &opts);
        errors += (r.verdict == Verdict::Error) as usize;
        eprintln!("{}", summary_line(&r));
        lines.push(serde_json::to_string(&r)?);
    }
    let text = lines.join("\n") + "\n";
    match &a.json {
        Some(p) => crossdf::fsutil::write_atomic(p, text.as_bytes())?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    eprintln!(
        "{} file(s) scored with {} ({}); {} could not be read",
        files.len() - errors,
        det.path.display(),
        det.checkpoint_rule(),
        errors
    );
    Ok(())
}
