//! The prepare pipeline shared by all layouts: per item, decode the chosen frames, detect,
//! align, write the face PNGs, then record the item's manifest lines in a part file.
//!
//! Resuming: an item is done when its part file `parts/<video>.jsonl` exists. Every file is
//! written atomically and the part file last, so an interrupted run leaves no half-written
//! file and a second run redoes only unfinished items. `manifest.jsonl` and `skipped.jsonl`
//! are rebuilt from the parts at the end, in item order, so they come out identical.
use super::{shown, Item, Layout, ListOptions, Reason, Skip, Source};
use crate::error::{Error, Result};
use crate::face::align::DEFAULT_MARGIN;
use crate::face::{align_or_crop, FaceDetector};
use crate::fsutil::{write_atomic, write_atomic_with};
use crate::manifest::{Manifest, Record};
use crate::media::video::{decode_frames, probe, FrameSelection};
use image::RgbImage;
use rayon::prelude::*;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::face::select::Faces;
use crate::face::select::{Rejected, Selection};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrepareOptions {
    pub layout: Layout,
    pub list: ListOptions,
    pub frames: FrameSelection,
    /// Side of the aligned crops.
    pub size: u32,
    pub margin: f32,
    pub faces: Faces,
    /// Faces whose shorter box side is below this (pixels of the frame) are "too small".
    pub min_face: f32,
    /// Detections below this score are ignored.
    pub min_prob: f32,
    /// Items prepared in parallel.
    #[serde(skip)]
    pub jobs: usize,
    /// Frames per detector call.
    #[serde(skip)]
    pub batch: usize,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            layout: Layout::Folder,
            list: ListOptions::default(),
            frames: FrameSelection::default(),
            size: 224,
            margin: DEFAULT_MARGIN,
            faces: Faces::Largest,
            min_face: 40.0,
            min_prob: 0.9,
            jobs: 1,
            batch: 16,
        }
    }
}

/// Progress events for a bar: the total once, then one event per finished item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress {
    Total(usize),
    /// An item finished; `frames` were decoded for it (0 when reused from a previous run).
    Done {
        frames: usize,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub items: usize,
    /// Items taken from a previous run's part files.
    pub reused: usize,
    pub frames_decoded: usize,
    /// Manifest lines (face images; one per split the item belongs to).
    pub records: usize,
    pub skipped: usize,
    /// Ids changed because two sources mapped to one id (see `Layout::list`).
    pub renamed: Vec<super::Renamed>,
    pub manifest: PathBuf,
    pub skipped_file: PathBuf,
    pub elapsed: Duration,
}

/// The options file of an output folder: a second run must use the same ones.
const OPTIONS_FILE: &str = "prepare.json";

fn check_options(out: &Path, root: &Path, opts: &PrepareOptions) -> Result<()> {
    let want = serde_json::json!({ "root": root, "options": opts });
    let path = out.join(OPTIONS_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let have: Value = serde_json::from_str(&text)
            .map_err(|e| Error::json(format!("{}: bad JSON", path.display()), e))?;
        if have != want {
            return Err(Error::invalid(format!(
                "{}: this folder was prepared from another dataset or with other options \
                 ({}); use another --out folder",
                path.display(),
                have
            )));
        }
        return Ok(());
    }
    let text = serde_json::to_string_pretty(&want).expect("options serialise");
    write_atomic(&path, text.as_bytes())
}

/// Lists the dataset under `root` and prepares it into `out` (see the module docs).
pub fn prepare(
    root: &Path,
    out: &Path,
    opts: &PrepareOptions,
    detector: &dyn FaceDetector,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary> {
    let start = Instant::now();
    let listing = opts.layout.list(root, &opts.list)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    check_options(out, root, opts)?;
    progress(Progress::Total(listing.items.len()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .map_err(|e| Error::thread_pool(format!("cannot start {} worker threads", opts.jobs), e))?;
    let parts: Vec<Part> = pool.install(|| {
        listing
            .items
            .par_iter()
            .map(|item| {
                let part = load_or_prepare(item, root, out, opts, detector)?;
                progress(Progress::Done {
                    frames: part.frames_decoded,
                });
                Ok(part)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let mut summary = Summary {
        items: parts.len(),
        renamed: listing.renamed,
        ..Summary::default()
    };
    let mut records = Vec::new();
    let mut skipped = listing.skipped;
    for p in parts {
        summary.reused += p.reused as usize;
        summary.frames_decoded += p.frames_decoded;
        records.extend(p.records);
        skipped.extend(p.skipped);
    }
    summary.records = records.len();
    summary.skipped = skipped.len();
    summary.manifest = out.join("manifest.jsonl");
    summary.skipped_file = out.join("skipped.jsonl");
    write_skips(&summary.skipped_file, &skipped)?;
    Manifest::new(&summary.manifest, records).write(&summary.manifest)?;
    summary.elapsed = start.elapsed();
    Ok(summary)
}

/// One item's result.
struct Part {
    records: Vec<Record>,
    skipped: Vec<Skip>,
    frames_decoded: usize,
    reused: bool,
}

fn write_skips(path: &Path, skips: &[Skip]) -> Result<()> {
    write_atomic_with(path, |w| {
        for s in skips {
            serde_json::to_writer(&mut *w, s)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

fn read_skips(path: &Path) -> Result<Vec<Skip>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::Line {
                path: path.to_path_buf(),
                line: i + 1,
                msg: e.to_string(),
            })
        })
        .collect()
}

fn load_or_prepare(
    item: &Item,
    root: &Path,
    out: &Path,
    opts: &PrepareOptions,
    detector: &dyn FaceDetector,
) -> Result<Part> {
    let part = out.join("parts").join(format!("{}.jsonl", item.video));
    let part_skips = out
        .join("parts")
        .join(format!("{}.skipped.jsonl", item.video));
    if part.is_file() && part_skips.is_file() {
        return Ok(Part {
            records: Manifest::read(&part)?.records,
            skipped: read_skips(&part_skips)?,
            frames_decoded: 0,
            reused: true,
        });
    }
    let mut job = Job {
        item,
        root,
        out,
        opts,
        detector,
        records: Vec::new(),
        skipped: Vec::new(),
        frames_decoded: 0,
    };
    job.run()?;
    // The skips first: the records file is the "done" marker.
    write_skips(&part_skips, &job.skipped)?;
    Manifest::new(&part, job.records.clone()).write(&part)?;
    Ok(Part {
        records: job.records,
        skipped: job.skipped,
        frames_decoded: job.frames_decoded,
        reused: false,
    })
}

/// The work on one item.
struct Job<'a> {
    item: &'a Item,
    root: &'a Path,
    out: &'a Path,
    opts: &'a PrepareOptions,
    detector: &'a dyn FaceDetector,
    records: Vec<Record>,
    skipped: Vec<Skip>,
    frames_decoded: usize,
}

/// Reads an image file; a zero-byte or absent file is named as such.
fn read_image(path: &Path) -> Result<RgbImage, (Reason, String)> {
    let unreadable = |e: String| (Reason::Unreadable, e);
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => (Reason::Missing, "no such file".to_string()),
        _ => unreadable(e.to_string()),
    })?;
    if meta.len() == 0 {
        return Err(unreadable("empty file (0 bytes)".into()));
    }
    image::ImageReader::open(path)
        .map_err(|e| unreadable(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| unreadable(e.to_string()))?
        .decode()
        .map(|img| img.to_rgb8())
        .map_err(|e| unreadable(format!("cannot decode image: {e}")))
}

impl Job<'_> {
    fn skip(&mut self, path: &Path, frame: Option<u64>, reason: Reason, detail: String) {
        self.skipped.push(Skip {
            source: shown(self.root, path),
            video: Some(self.item.video.clone()),
            frame,
            reason,
            detail,
        });
    }

    fn run(&mut self) -> Result<()> {
        let batch_size = self.opts.batch.max(1);
        let mut batch: Vec<(u64, RgbImage)> = Vec::new();
        let item = self.item;
        match &item.source {
            Source::Video(path) => {
                let info = match probe(path) {
                    Ok(i) => i,
                    Err(e) => {
                        self.skip(path, None, Reason::Unreadable, e.to_string());
                        return Ok(());
                    }
                };
                let indices = self.opts.frames.indices(info.frames);
                // A detector or write error must stop the run; a decode error only skips.
                let mut own_error = None;
                let decoded = decode_frames(path, &info, &indices, |i, img| {
                    batch.push((i, img));
                    if batch.len() >= batch_size {
                        if let Err(e) = self.faces(std::mem::take(&mut batch)) {
                            own_error = Some(e);
                            return Err(Error::invalid("stopped"));
                        }
                    }
                    Ok(())
                });
                if let Some(e) = own_error {
                    return Err(e);
                }
                match decoded {
                    Err(e) => self.skip(path, None, Reason::Unreadable, e.to_string()),
                    Ok(report) => {
                        let why = report
                            .error
                            .unwrap_or_else(|| "the video ended before this frame".into());
                        for i in report.missing {
                            self.skip(path, Some(i), Reason::Unreadable, why.clone());
                        }
                    }
                }
            }
            Source::Image(path) => match read_image(path) {
                Ok(img) => batch.push((0, img)),
                Err((why, e)) => self.skip(path, None, why, e),
            },
            Source::Frames(paths) if paths.is_empty() => {
                let detail = "the dataset's index lists no frames for this video".to_string();
                self.skip(Path::new(&item.video), None, Reason::Missing, detail);
            }
            Source::Frames(paths) => {
                for i in self.opts.frames.indices(paths.len() as u64) {
                    let path = &paths[i as usize];
                    match read_image(path) {
                        Ok(img) => batch.push((i, img)),
                        Err((why, e)) => self.skip(path, Some(i), why, e),
                    }
                    if batch.len() >= batch_size {
                        self.faces(std::mem::take(&mut batch))?;
                    }
                }
            }
        }
        self.faces(batch)
    }

    /// Detects, aligns and writes the faces of a batch of frames.
    fn faces(&mut self, batch: Vec<(u64, RgbImage)>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.frames_decoded += batch.len();
        let (indices, frames): (Vec<u64>, Vec<RgbImage>) = batch.into_iter().unzip();
        // A batch holds frames of one size (extracted-frame folders can mix sizes).
        let mut found = Vec::with_capacity(frames.len());
        for group in frames.chunk_by(|a, b| a.dimensions() == b.dimensions()) {
            let dets = self.detector.detect_batch(group)?;
            if dets.len() != group.len() {
                return Err(Error::invalid(format!(
                    "the face detector returned {} results for {} frames",
                    dets.len(),
                    group.len()
                )));
            }
            found.extend(dets);
        }
        let source = self.item.source.path();
        for ((index, frame), dets) in indices.into_iter().zip(&frames).zip(found) {
            let selection = Selection {
                faces: self.opts.faces,
                min_prob: self.opts.min_prob,
                min_face: self.opts.min_face,
            };
            let kept = match selection.select(dets) {
                Ok(kept) => kept,
                Err(Rejected::NoFace) => {
                    let detail = "no face detected".into();
                    self.skip(&source, Some(index), Reason::NoFace, detail);
                    continue;
                }
                Err(Rejected::TooSmall { largest }) => {
                    let detail = format!(
                        "largest face {largest:.0} px, below --min-face {}",
                        self.opts.min_face
                    );
                    self.skip(&source, Some(index), Reason::TooSmall, detail);
                    continue;
                }
            };
            for (k, d) in kept.iter().enumerate() {
                let name = match self.opts.faces {
                    Faces::Largest => format!("{index:05}.png"),
                    Faces::All => format!("{index:05}_{k}.png"),
                };
                let rel = format!("faces/{}/{name}", self.item.video);
                let crop = align_or_crop(
                    frame,
                    d.bbox,
                    &d.landmarks,
                    self.opts.size,
                    self.opts.margin,
                );
                crate::fsutil::write_png(&self.out.join(&rel), &crop.image)?;
                for &split in &self.item.splits {
                    let mut r = Record::new(
                        &rel,
                        self.item.label,
                        &self.item.domain,
                        &self.item.video,
                        split,
                    );
                    r.extra.insert("frame".into(), index.into());
                    // The detector's box in frame pixels (0.1 px), to trace a crop back.
                    let bbox: Vec<f64> = d
                        .bbox
                        .iter()
                        .map(|&v| (v as f64 * 10.0).round() / 10.0)
                        .collect();
                    r.extra.insert("box".into(), bbox.into());
                    if self.opts.faces == Faces::All {
                        r.extra.insert("face".into(), k.into());
                    }
                    r.extra
                        .insert("source".into(), shown(self.root, &source).into());
                    self.records.push(r);
                }
            }
        }
        Ok(())
    }
}
