//! `crossdf prepare`: a dataset as its authors ship it -> aligned faces + manifest.jsonl.
use super::FacesArg;
use anyhow::Context;
use crossdf::face::mtcnn::Mtcnn;
use crossdf::media::FrameSelection;
use crossdf::prepare::{prepare, Layout, ListOptions, PrepareOptions, Progress};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LayoutArg {
    /// FaceForensics++ (original_sequences/, manipulated_sequences/, splits/*.json)
    Ffpp,
    /// Celeb-DF v2 (Celeb-real/, Celeb-synthesis/, YouTube-real/, List_of_testing_videos.txt)
    Celebdf,
    /// DFFD (<source>/{train,validation,test}/ images)
    Dffd,
    /// DeepfakeBench's dataset_json index of extracted frames (--root = its rgb_dir)
    Deepfakebench,
    /// DFDC (dfdc_train_part_*/metadata.json; test_videos/ with labels.csv)
    Dfdc,
    /// real/ and fake/<method>/ folders of videos, images or frame folders
    Folder,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_enum)]
    pub layout: LayoutArg,
    /// The dataset's folder, as its authors ship it
    #[arg(long)]
    pub root: PathBuf,
    /// Output folder: faces/, manifest.jsonl, skipped.jsonl; a second run resumes
    #[arg(long)]
    pub out: PathBuf,
    /// Evenly spaced frames per video
    #[arg(long, default_value_t = 32, conflicts_with = "every")]
    pub frames: usize,
    /// Every K-th frame instead of --frames
    #[arg(long, value_name = "K")]
    pub every: Option<usize>,
    /// FF++ / DeepfakeBench compression level
    #[arg(long, default_value = "c23")]
    pub quality: String,
    /// FF++ split JSONs folder (train.json, val.json, test.json) [default: <root>/splits]
    #[arg(long)]
    pub splits: Option<PathBuf>,
    /// DeepfakeBench index: a .json file or folder [default: <root>/dataset_json]
    #[arg(long)]
    pub index: Option<PathBuf>,
    /// Side of the aligned face crops, in pixels
    #[arg(long, default_value_t = 224)]
    pub size: u32,
    /// Context around the face (1.3 shows the whole head)
    #[arg(long, default_value_t = 1.3)]
    pub margin: f32,
    #[arg(long, value_enum, default_value = "largest")]
    pub faces: FacesArg,
    /// Faces with a shorter box side below this many frame pixels are skipped as too small
    #[arg(long, default_value_t = 40.0)]
    pub min_face: f32,
    /// Detections below this MTCNN score are ignored
    #[arg(long, default_value_t = 0.9)]
    pub min_prob: f32,
    /// Seed of the hashed splits (Celeb-DF val, DeepFakeDetection, folder)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Share of identities carved out as val where the authors give no val split
    #[arg(long, default_value_t = 0.1)]
    pub val_frac: f64,
    /// Share of identities put in test where the authors give no test split
    #[arg(long, default_value_t = 0.2)]
    pub test_frac: f64,
    /// Videos prepared in parallel
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Frames per MTCNN batch
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
}

pub fn run(a: Args, device: crossdf::device::DeviceSpec) -> anyhow::Result<()> {
    let layout = match a.layout {
        LayoutArg::Ffpp => Layout::Ffpp,
        LayoutArg::Celebdf => Layout::CelebDf,
        LayoutArg::Dffd => Layout::Dffd,
        LayoutArg::Deepfakebench => Layout::DeepfakeBench,
        LayoutArg::Dfdc => Layout::Dfdc,
        LayoutArg::Folder => Layout::Folder,
    };
    let opts = PrepareOptions {
        layout,
        list: ListOptions {
            quality: a.quality,
            splits: a.splits,
            index: a.index,
            seed: a.seed,
            val_frac: a.val_frac,
            test_frac: a.test_frac,
        },
        frames: match a.every {
            Some(k) => FrameSelection::Every(k.max(1)),
            None => FrameSelection::Even(a.frames.max(1)),
        },
        size: a.size,
        margin: a.margin,
        faces: a.faces.into(),
        min_face: a.min_face,
        min_prob: a.min_prob,
        jobs: a.jobs.max(1),
        batch: a.batch.max(1),
    };
    let device = device.resolve()?;
    let mtcnn = Mutex::new(Mtcnn::load(device).context("loading the MTCNN face detector")?);
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} videos, {msg}, {elapsed} elapsed, eta {eta}",
        )
        .expect("valid progress template"),
    );
    let frames = AtomicUsize::new(0);
    let summary = prepare(&a.root, &a.out, &opts, &mtcnn, &|p| match p {
        Progress::Total(n) => bar.set_length(n as u64),
        Progress::Done { frames: f } => {
            let n = frames.fetch_add(f, Ordering::Relaxed) + f;
            let rate = n as f64 / bar.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{rate:.1} frames/s"));
            bar.inc(1);
        }
    })
    .with_context(|| format!("preparing {} into {}", a.root.display(), a.out.display()))?;
    bar.finish_and_clear();
    let secs = summary.elapsed.as_secs_f64();
    println!(
        "{}: {} face images from {} videos/images ({} reused from an earlier run), {} frames \
         decoded in {:.1} s ({:.1} frames/s)",
        summary.manifest.display(),
        summary.records,
        summary.items,
        summary.reused,
        summary.frames_decoded,
        secs,
        summary.frames_decoded as f64 / secs.max(1e-9)
    );
    if !summary.renamed.is_empty() {
        println!(
            "{} sources shared a video id with another and were given their own:",
            summary.renamed.len()
        );
        for r in &summary.renamed {
            println!("  {}: `{}` -> `{}`", r.source, r.from, r.to);
        }
    }
    println!(
        "{} skipped (unreadable, no face, too small, ...): see {}",
        summary.skipped,
        summary.skipped_file.display()
    );
    Ok(())
}
