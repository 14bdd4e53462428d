//! `crossdf detect`: P(fake) of images, videos or folders of them, as JSON.
use super::FacesArg;
use anyhow::Context;
use crossdf::detect::{self, DetectOptions, MediaScore, Verdict};
use crossdf::detector::Detector;
use crossdf::face::mtcnn::Mtcnn;
use crossdf::face::select::Selection;
use crossdf::media::FrameSelection;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
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
    /// Print only the per-file summary lines, not the JSON (unless --json names a file)
    #[arg(long)]
    quiet: bool,
    /// Write each face's heat maps here as one PNG strip: the face, M_df, M_dom (for models
    /// that have them) and Grad-CAM of the score on the backbone's last map
    #[arg(long)]
    heatmap: Option<PathBuf>,
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
    /// Score at this input side instead of the model's trained one (the attention maps
    /// resample to any size)
    #[arg(long)]
    input_size: Option<u32>,
    /// Context around the face (as `prepare --margin`)
    #[arg(long, default_value_t = 1.3)]
    margin: f32,
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
            "{}: {} fakeness: {s:.4} (threshold {}, {} face(s) in {} frame(s))",
            r.path,
            if v == Verdict::Fake { "FAKE" } else { "real" },
            r.threshold,
            r.faces.len(),
            r.frames
        ),
    }
}

/// One PNG per face, `<n>_<stem>[.f<frame>].<face>.png` (n keeps files of one name apart).
fn write_heatmaps(dir: &Path, n: usize, file: &Path, r: &mut MediaScore) -> anyhow::Result<()> {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (i, face) in r.faces.iter_mut().enumerate() {
        let Some(heat) = face.heat.take() else {
            continue;
        };
        let frame = face.frame.map(|f| format!(".f{f}")).unwrap_or_default();
        let path = dir.join(format!("{n:04}_{stem}{frame}.{}.png", i + 1));
        crossdf::fsutil::write_png(&path, &crossdf::heatmap::strip(&heat, 160)?)?;
        face.heatmap = Some(path.display().to_string());
    }
    Ok(())
}

/// 0: every file was scored and is real; 1: at least one is fake; 2: no fake, but some file
/// could not be judged (unreadable, or no face), so "all real" cannot be said.
pub fn exit_code(results: &[MediaScore]) -> ExitCode {
    if results.iter().any(|r| r.verdict == Verdict::Fake) {
        ExitCode::from(1)
    } else if results.iter().all(|r| r.verdict == Verdict::Real) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

pub fn run(a: Args, device: crossdf::device::DeviceSpec) -> anyhow::Result<ExitCode> {
    let device = device.resolve()?;
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
    opts.heatmaps = a.heatmap.is_some();
    opts.input_size = a.input_size;
    if let Some(dir) = &a.heatmap {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut results = Vec::new();
    for (n, f) in files.iter().enumerate() {
        let mut r = detect::detect_file(&det, device, &mtcnn, f, &opts);
        if let Some(dir) = &a.heatmap {
            write_heatmaps(dir, n, f, &mut r)?;
        }
        eprintln!("{}", summary_line(&r));
        results.push(r);
    }
    let mut text = String::new();
    for r in &results {
        text += &serde_json::to_string(r)?;
        text.push('\n');
    }
    match &a.json {
        Some(p) => crossdf::fsutil::write_atomic(p, text.as_bytes())?,
        None if !a.quiet => std::io::stdout().write_all(text.as_bytes())?,
        None => {}
    }
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    eprintln!(
        "{} file(s) with {} ({}): {} fake, {} real, {} without a face, {} unreadable",
        files.len(),
        det.name(),
        det.checkpoint_rule(),
        count(Verdict::Fake),
        count(Verdict::Real),
        count(Verdict::NoFace),
        count(Verdict::Error),
    );
    Ok(exit_code(&results))
}
